"""A persistent compilation cache that users get without asking.

XLA compilation dominates an everyday session (a fit of 10^3-10^5 samples runs
in a millisecond and compiles in a few hundred). JAX can keep compiled
programs on disk across processes, but only when a cache directory is
configured, and the setting is global to the process. So, at jaxmle's first
compilation, **if the user has not configured a JAX compilation cache
themselves**, jaxmle turns JAX's on in a directory of its own:

* ``JAXMLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxmle/jax``, else
  ``~/.cache/jaxmle/jax``;
* ``JAXMLE_CACHE=0`` leaves JAX's settings alone (no cache);
* programs that took at least ``MIN_COMPILE_SECONDS`` to compile are stored.

Being JAX's global setting, it also caches the user's own programs from then
on. The directory holds XLA executables keyed by the program, the compile
options, the device and the JAX version (stale entries are never served);
delete it to clear it. ``jaxmle warmup`` fills it ahead of time.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

__all__ = ["MIN_COMPILE_SECONDS", "cache_dir", "cache_state", "ensure_cache"]

MIN_COMPILE_SECONDS = 0.05
_state = {"checked": False, "dir": None, "why": ""}


def cache_dir() -> Path:
    """Where jaxmle keeps JAX's compilation cache (whether or not it is on)."""
    env = os.environ.get("JAXMLE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jaxmle" / "jax"


def ensure_cache() -> str | None:
    """Turn JAX's persistent compilation cache on in :func:`cache_dir`, once,
    unless ``JAXMLE_CACHE=0`` or the user configured a cache; returns the
    directory in use (the user's, jaxmle's, or ``None``)."""
    if _state["checked"]:
        return _state["dir"]
    _state["checked"] = True
    configured = jax.config.jax_compilation_cache_dir
    if configured:
        _state["dir"] = configured
        return configured
    if os.environ.get("JAXMLE_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        _state["why"] = "JAXMLE_CACHE=0"
        return None
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        writable = os.access(path, os.W_OK | os.X_OK)
    except OSError:  # read-only home, a file in the way: run without a cache
        writable = False
    if not writable:
        _state["why"] = f"{path} cannot be created or written"
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    try:  # a compilation before this one may have found the cache off: look again
        from jax.experimental.compilation_cache import compilation_cache  # lazy: optional API

        compilation_cache.reset_cache()
    except Exception:  # pragma: no cover - older or newer JAX without it
        pass
    _state["dir"] = str(path)
    return _state["dir"]


def cache_state() -> str:
    """Where the cache is, or why it is off (after :func:`ensure_cache`)."""
    if _state["dir"]:
        return str(_state["dir"])
    return f"off ({_state['why'] or 'not enabled yet'})"
