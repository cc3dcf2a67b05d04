"""Compiled fit programs: one executable per (program, static arguments,
input shapes), kept in memory and in jaxmle's program store on disk.

:class:`FitProgram` wraps a function like ``jax.jit`` (with ``static_argnums``),
but dispatches itself: the first call with new static arguments or input
shapes looks for the executable in the store (:mod:`jaxmle._engine.cache`) and
only compiles (``jit(...).lower(...).compile()``) when it is not there, then
stores it. A later process therefore skips tracing, lowering and XLA
compilation alike. Calls inside an outer trace (a user's ``jit`` or ``vmap``)
go to ``jax.jit`` as usual.

XLA:CPU's fusion emitters generate loops up to ~1.6x faster but compile about
twice as slowly. Where compilation dominates (small data, and the O(1)
parameter-space programs) the classic emitters are used; from
``FAST_CODE_FROM`` samples on, a pass costs more than compiling it: XLA's
defaults.

**Executables in memory are bounded.** XLA:CPU maps ~20 memory regions per
executable it loads, and Linux allows a process 65,530 by default
(``vm.max_map_count``): past ~3,000 executables a compile or a load fails
inside LLVM and the process dies. jaxmle keeps at most ``MAX_RESIDENT``
executables of its programs in memory (the least recently used one is let
go: a later call loads it again from the store, in milliseconds), so a long
session that fits many families, lengths and dtypes stays far from that limit.
``release_executables()`` lets all of them go.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxmle._engine.cache import (
    environment_fingerprint,
    load_program,
    store_program,
    traced_config,
)

__all__ = [
    "FAST_CODE_FROM",
    "MAX_RESIDENT",
    "FitProgram",
    "compiler_options",
    "jit_fit",
    "on_release",
    "release_executables",
    "resident_count",
]

_FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}
FAST_CODE_FROM = 1 << 19
# Executables of all FitPrograms held in memory at once (module docstring).
MAX_RESIDENT = 1024
# (program, key) of every executable held, least recently used first.
_RESIDENT: OrderedDict[tuple[FitProgram, tuple], None] = OrderedDict()
_RESIDENT_LOCK = threading.Lock()


def compiler_options() -> dict[str, Any] | None:
    """Fast-compile options for the default backend (``None``: XLA's defaults).
    ``JAXMLE_FAST_COMPILE=0`` turns them off; an XLA that does not know them
    compiles with its defaults (see :meth:`FitProgram._compile`)."""
    if jax.default_backend() != "cpu" or os.environ.get("JAXMLE_FAST_COMPILE", "1") == "0":
        return None
    return _FAST_COMPILE


class _Unstable(Exception):
    """A static argument with no identity that holds across processes."""


def _identity(obj: Any) -> str:
    """A text that identifies ``obj`` across processes: plain values by
    ``repr``, containers item by item, and objects of jaxmle's own classes
    (families, plans) by class and options; :class:`_Unstable` for anything
    else (a function, a user's class, an optax optimizer)."""
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        return f"{type(obj).__name__}:{obj!r}"
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return f"{type(obj).__name__}:{obj.item()!r}"
    if isinstance(obj, np.dtype):
        return f"dtype:{obj.str}"
    if isinstance(obj, (tuple, list)):
        return f"{type(obj).__name__}[{','.join(_identity(v) for v in obj)}]"
    if isinstance(obj, (frozenset, set)):
        return f"{type(obj).__name__}{{{','.join(sorted(_identity(v) for v in obj))}}}"
    if isinstance(obj, dict):
        items = sorted((_identity(k), _identity(v)) for k, v in obj.items())
        return "dict{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    cls = type(obj)
    if not cls.__module__.startswith("jaxmle."):
        raise _Unstable(f"{cls.__module__}.{cls.__qualname__}")
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    elif hasattr(obj, "__dict__"):
        fields = vars(obj)
    else:
        raise _Unstable(f"{cls.__module__}.{cls.__qualname__}")
    return f"{cls.__module__}.{cls.__qualname__}({_identity(fields)})"


@functools.cache
def _default_device():
    return jax.devices()[0]


def _leaf_signature(leaf: Any) -> tuple:
    if isinstance(leaf, jax.core.Tracer):
        raise _Unstable("traced")
    if isinstance(leaf, jax.Array) and leaf.sharding.device_set != {_default_device()}:
        raise _Unstable("sharded, or on another device")
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    if shape is None or dtype is None:  # a Python scalar: weakly typed
        return ("py", type(leaf).__name__)
    return (shape, dtype, getattr(leaf, "weak_type", False))


class _Layout(NamedTuple):
    """Where each output leaf lies in the packed buffers (one per dtype)."""

    tree: Any
    leaves: tuple[tuple[int, int, int, tuple[int, ...]], ...]  # buffer, start, stop, shape


def _packed(fn: Callable, sink: list) -> Callable:
    """``fn`` with its outputs packed into one flat buffer per dtype (its
    :class:`_Layout` appended to ``sink`` when traced)."""

    @functools.wraps(fn)
    def run(*args):
        leaves, tree = jax.tree.flatten(fn(*args))
        dtypes: list = []
        parts: list[list] = []
        filled: list[int] = []  # values in each buffer so far
        where = []
        for leaf in leaves:
            dt = np.dtype(leaf.dtype)
            if dt not in dtypes:
                dtypes.append(dt)
                parts.append([])
                filled.append(0)
            g = dtypes.index(dt)
            size = int(np.prod(leaf.shape))
            where.append((g, filled[g], filled[g] + size, tuple(leaf.shape)))
            filled[g] += size
            parts[g].append(leaf.reshape(-1))
        sink.append(_Layout(tree, tuple(where)))
        return tuple(jax.numpy.concatenate(p) for p in parts)

    return run


class _HostExecutable:
    """An executable whose packed outputs come back as numpy leaves (one
    transfer per dtype instead of one per leaf)."""

    def __init__(self, compiled, layout: _Layout):
        self.compiled = compiled
        self.layout = layout

    def __call__(self, *args):
        buffers = [np.asarray(b) for b in self.compiled(*args)]
        leaves = [buffers[g][a:b].reshape(shape) for g, a, b, shape in self.layout.leaves]
        return self.layout.tree.unflatten(leaves)


class FitProgram:
    """A function compiled once per (static arguments, input shapes and
    dtypes), like ``jax.jit(fn, static_argnums=...)``, with its executables
    kept in memory and in jaxmle's program store. The data (positional
    argument ``size_arg``) decides the compile options (see the module
    docstring). With ``to_host``, outputs come back as numpy arrays, moved in
    one transfer per dtype (for O(p) results). ``cache_size()`` counts the
    executables in memory."""

    def __init__(
        self,
        fn: Callable,
        *,
        size_arg: int | None = None,
        static_argnums=(),
        name: str | None = None,
        to_host: bool = False,
    ):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.to_host = to_host
        self.name = name or f"{fn.__module__}.{fn.__qualname__}"
        self.size_arg = size_arg
        self.static_argnums = tuple(
            (static_argnums,) if isinstance(static_argnums, int) else static_argnums
        )
        self.jitted: dict[bool, Any] = {}
        self.executables: dict[tuple, Any] = {}

    def _jit(self, large: bool):
        """``jax.jit`` of the function itself (calls inside an outer trace)."""
        if large not in self.jitted:
            opts = None if large else compiler_options()
            self.jitted[large] = jax.jit(
                self.fn, compiler_options=opts, static_argnums=self.static_argnums
            )
        return self.jitted[large]

    def _lower(self, args: tuple, opts, sink: list):
        # A fresh function object each time: JAX then traces it anew (its trace
        # cache would skip the body, and with it the layout, for inputs that
        # trace alike), and the layout lands in this compile's own list (safe
        # when threads compile at once).
        fn = _packed(self.fn, sink) if self.to_host else self.fn
        return jax.jit(fn, compiler_options=opts, static_argnums=self.static_argnums).lower(*args)

    def _compile(self, large: bool, args: tuple):
        """``(executable, lowered, layout)``, compiled in this process."""
        sink: list[_Layout] = []
        lowered = self._lower(args, None if large else compiler_options(), sink)
        try:
            compiled = lowered.compile()
        except Exception:
            if large or compiler_options() is None:
                raise
            # An XLA that does not know the fast-compile options: its defaults.
            lowered = self._lower(args, None, sink)
            compiled = lowered.compile()
        layout = sink[-1] if self.to_host else None
        return compiled, lowered, layout

    def __call__(self, *args: Any) -> Any:
        large = self.size_arg is not None and np.size(args[self.size_arg]) >= FAST_CODE_FROM
        static = tuple(args[i] for i in self.static_argnums)
        dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        leaves, treedef = jax.tree.flatten(dynamic)
        try:
            signature = tuple(_leaf_signature(leaf) for leaf in leaves)
        except _Unstable:  # in a user's jit or vmap, or sharded: an ordinary jit call
            return self._jit(large)(*args)
        key = (large, traced_config(), static, treedef, signature)
        executable = self.executables.get(key)
        if executable is None:
            executable = self._load_or_compile(large, static, treedef, signature, args)
            with _RESIDENT_LOCK:
                self.executables[key] = executable
                _RESIDENT[(self, key)] = None
                while len(_RESIDENT) > MAX_RESIDENT:
                    (program, old), _ = _RESIDENT.popitem(last=False)
                    program.executables.pop(old, None)
        else:
            with _RESIDENT_LOCK:
                if (self, key) in _RESIDENT:
                    _RESIDENT.move_to_end((self, key))
        return executable(*dynamic)

    def _store_key(self, large, static, treedef, signature) -> str | None:
        try:
            static_id = _identity(static)
        except _Unstable:
            return None
        text = "\n".join(
            [
                self.name,
                f"static={static_id}",
                f"tree={treedef}",
                f"signature={signature}",
                f"options={None if large else compiler_options()}",
                f"to_host={self.to_host}",
                environment_fingerprint(),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def _load_or_compile(self, large, static, treedef, signature, args):
        store_key = self._store_key(large, static, treedef, signature)
        if store_key is not None:
            payload = load_program(store_key)
            if payload is not None:
                try:
                    return _host_side(*_deserialize(payload))
                except Exception:  # a file from elsewhere, cut short: compile anew
                    pass
        compiled, lowered, layout = self._compile(large, args)
        if store_key is not None:
            try:  # (the module's text, ~10 ms, only for a program that is stored)
                payload = _serialize(compiled, "lapack" in lowered.as_text(), layout)
            except Exception:  # a backend that cannot serialize: keep it in memory
                payload = None
            if payload is not None:
                store_program(store_key, payload)
        return _host_side(compiled, layout)

    def cache_size(self) -> int:
        """The number of executables in memory (all shapes and options)."""
        return len(self.executables)


def resident_count() -> int:
    """The executables of all :class:`FitProgram` s held in memory."""
    return len(_RESIDENT)


_RELEASE_HOOKS: list[Callable[[], None]] = []


def on_release(hook: Callable[[], None]) -> Callable[[], None]:
    """Have :func:`release_executables` call ``hook`` too: a module that keeps
    compiled programs of its own (the sharded fits' ``jax.jit`` functions)
    lets them go with the others."""
    _RELEASE_HOOKS.append(hook)
    return hook


def release_executables() -> None:
    """Let every executable held in memory go (later calls load them again
    from the program store, or compile them where it is off), those of the
    modules registered with :func:`on_release` included."""
    with _RESIDENT_LOCK:
        for program, key in _RESIDENT:
            program.executables.pop(key, None)
        _RESIDENT.clear()
    for hook in _RELEASE_HOOKS:
        hook()


def _host_side(compiled, layout: _Layout | None):
    return compiled if layout is None else _HostExecutable(compiled, layout)


def _serialize(compiled, uses_lapack: bool, layout: _Layout | None) -> bytes:
    from jax.experimental import serialize_executable  # lazy: only to store

    payload, in_tree, out_tree = serialize_executable.serialize(compiled)
    blob = (uses_lapack, payload, in_tree, out_tree, layout)
    return pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL)


@functools.cache
def _prepare_runtime() -> None:
    """Initialize what XLA:CPU executables call but only lowering sets up:
    LAPACK's kernels (a loaded program that solves a system would crash)."""
    try:
        from jaxlib import lapack  # lazy: CPU only

        lapack.prepare_lapack_call("potrf_ffi", np.dtype(np.float64))
    except Exception:  # another jaxlib: lowering a Cholesky initializes them too
        import jax.numpy as jnp

        jax.jit(jnp.linalg.cholesky).lower(np.eye(2, dtype=np.float32))


def _deserialize(blob: bytes):
    from jax.experimental import serialize_executable  # lazy: only to load

    uses_lapack, payload, in_tree, out_tree, layout = pickle.loads(blob)
    if uses_lapack:
        _prepare_runtime()
    # On the one device the program was compiled for (by default the loader
    # would spread it over every device of the backend).
    compiled = serialize_executable.deserialize_and_load(
        payload, in_tree, out_tree, execution_devices=[_default_device()]
    )
    return compiled, layout


def jit_fit(
    fn: Callable,
    *,
    size_arg: int | None = None,
    static_argnums=(),
    name: str | None = None,
    to_host: bool = False,
) -> FitProgram:
    """:class:`FitProgram` of ``fn`` (``name``: its name in the program store,
    by default the function's module and qualified name; ``to_host``: numpy
    outputs)."""
    return FitProgram(
        fn, size_arg=size_arg, static_argnums=static_argnums, name=name, to_host=to_host
    )
