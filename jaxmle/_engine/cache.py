"""jaxmle's persistent store of compiled programs.

XLA compilation dominates an everyday session (a fit of 10^3-10^5 samples runs
in a millisecond; tracing, lowering and compiling it take a few hundred). JAX's
own persistent cache saves only the XLA step, and only once a cache directory
is configured, globally for the process. jaxmle keeps **whole executables**
instead: a program compiled once is serialized (``jax.experimental.
serialize_executable``) to a file of its own, named by a hash of everything that
decides the program, and a later process loads it without tracing, lowering or
compiling anything. JAX's global settings are left alone.

* The folder: ``JAXMLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxmle``, else
  ``~/.cache/jaxmle``; programs go to its ``programs/`` subfolder.
* ``JAXMLE_CACHE=0`` turns the store off; a folder that cannot be created or
  written turns it off too (the fit runs, compiling as usual).
* A program's file name hashes the program's function, its static arguments
  (families and plans, by class and options), the shapes and dtypes of its
  inputs, the compile options, and the environment: the versions of jax,
  jaxlib and jaxmle's own source, the backend and its devices, the host CPU's
  features, ``XLA_FLAGS`` and the JAX settings that change a traced program
  (x64, the PRNG implementation, threefry partitioning, rank promotion,
  matmul precision). A change to any of them gives a
  new name, so a stale program is never served. Programs whose static arguments
  have no stable identity (a user's custom family, an optax optimizer) are
  compiled per process and not stored.
* Whole executables are stored on the CPU backend, where jaxmle tests that a
  loaded program runs (XLA:CPU's serialized executables call LAPACK, whose
  kernels jaxmle initializes before the first load). On other backends jaxmle
  turns on JAX's own persistent cache in ``cache_dir() / "xla"`` instead,
  unless you configured one yourself; that setting is global to the process.
* The store keeps to ``JAXMLE_CACHE_MAX_MB`` mebibytes (default 2048; a
  program takes 20-400 KiB), removing the programs used least recently (a
  load marks a program used). Delete the folder to clear it; ``jaxmle warmup``
  fills it ahead of time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import sys
import tempfile
from pathlib import Path

import jax

__all__ = [
    "cache_dir",
    "cache_state",
    "ensure_cache",
    "environment_fingerprint",
    "load_program",
    "max_bytes",
    "program_dir",
    "store_program",
    "stores_executables",
]

_state = {"checked": False, "dir": None, "why": ""}


def cache_dir() -> Path:
    """jaxmle's cache folder (whether or not the store is on)."""
    env = os.environ.get("JAXMLE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxmle"


def program_dir() -> Path:
    """Where compiled programs are kept: ``cache_dir() / "programs"``."""
    return cache_dir() / "programs"


def ensure_cache() -> str | None:
    """The folder in use, created on the first call (on a backend other than
    the CPU, that of JAX's persistent cache); ``None`` when the store is off
    (``JAXMLE_CACHE=0``, or a folder that cannot be written)."""
    if _state["checked"]:
        return _state["dir"]
    _state["checked"] = True
    if os.environ.get("JAXMLE_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        _state["why"] = "JAXMLE_CACHE=0"
        return None
    if not stores_executables():
        return _enable_jax_cache()
    path = program_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
    except OSError:  # read-only home, a file in the way: run without a cache
        writable = False
    if not writable:
        _state["why"] = f"{path} cannot be created or written"
        return None
    _state["dir"] = str(path)
    return _state["dir"]


def stores_executables() -> bool:
    """Whether whole executables are stored (the CPU backend; see above)."""
    return jax.default_backend() == "cpu"


def _enable_jax_cache() -> str | None:
    configured = jax.config.jax_compilation_cache_dir
    if configured:  # the user's own: used as it is
        _state["dir"] = configured
        return configured
    path = cache_dir() / "xla"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        _state["why"] = f"{path} cannot be created"
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
    try:  # a compilation before this one may have found the cache off: look again
        from jax.experimental.compilation_cache import compilation_cache  # lazy: optional API

        compilation_cache.reset_cache()
    except Exception:  # pragma: no cover - older or newer JAX without it
        pass
    _state["dir"] = str(path)
    return _state["dir"]


def cache_state() -> str:
    """Where the store is, or why it is off (after :func:`ensure_cache`)."""
    if _state["dir"]:
        return str(_state["dir"])
    return f"off ({_state['why'] or 'not enabled yet'})"


def _cpu_features() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _source_hash() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _static_environment() -> str:
    import jaxlib

    parts = [
        f"python={sys.version}",
        f"jax={jax.__version__}",
        f"jaxlib={jaxlib.__version__}",
        f"machine={platform.machine()}",
        f"cpu={_cpu_features()}",
        f"xla_flags={os.environ.get('XLA_FLAGS', '')}",
        f"jaxmle={_source_hash()}",
    ]
    return "\n".join(parts)


#: JAX settings that change what a program traces or compiles to.
_TRACED_FLAGS = (
    "jax_enable_x64",
    "jax_default_prng_impl",
    "jax_threefry_partitionable",
    "jax_numpy_rank_promotion",
    "jax_default_matmul_precision",
)


def traced_config() -> tuple:
    """The values of the JAX settings that change a traced program (part of
    every program's key, in memory and on disk)."""
    return tuple(getattr(jax.config, name, None) for name in _TRACED_FLAGS)


def environment_fingerprint() -> str:
    """Everything outside a program that decides its executable (see the
    module docstring); the backend part is read on each call, since the x64
    setting and the default backend may change within a process."""
    devices = jax.devices()
    client = devices[0].client
    return "\n".join(
        [
            _static_environment(),
            f"backend={jax.default_backend()} {client.platform_version}",
            f"devices={len(devices)}x{devices[0].device_kind}",
            f"config={traced_config()}",
        ]
    )


def _path(key: str) -> Path | None:
    folder = ensure_cache()  # on other backends: turns on JAX's cache instead
    if folder is None or not stores_executables():
        return None
    return Path(folder) / f"{key}.bin"


def load_program(key: str) -> bytes | None:
    """The stored bytes of program ``key``, or ``None``."""
    path = _path(key)
    if path is None:
        return None
    try:
        payload = path.read_bytes()
    except OSError:
        return None
    try:  # marks it used: the store evicts the least recently used first
        os.utime(path)
    except OSError:
        pass
    return payload


def max_bytes() -> int:
    """The store's size limit: ``JAXMLE_CACHE_MAX_MB`` mebibytes (default 2048)."""
    try:
        return int(float(os.environ.get("JAXMLE_CACHE_MAX_MB", "2048")) * 2**20)
    except ValueError:
        return 2048 * 2**20


def store_program(key: str, payload: bytes) -> None:
    """Store program ``key`` atomically (a temporary file, then a rename),
    then keep the store under :func:`max_bytes` by removing the programs used
    least recently; a failure to write leaves the store as it was."""
    path = _path(key)
    if path is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
        return
    _evict(path.parent, keep=path)


def _evict(folder: Path, keep: Path) -> None:
    """Remove the least recently used programs until the folder holds at most
    :func:`max_bytes` (never ``keep``, the one just stored)."""
    try:
        stats = [(f, f.stat()) for f in folder.glob("*.bin")]
    except OSError:  # another process removed a file meanwhile: next time
        return
    files = [(st.st_mtime, st.st_size, f) for f, st in stats]
    total, limit = sum(size for _, size, _ in files), max_bytes()
    for _, size, f in sorted(files, key=lambda t: t[0]):
        if total <= limit:
            break
        if f == keep:
            continue
        try:
            f.unlink()
            total -= size
        except OSError:
            pass
