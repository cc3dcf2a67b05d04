"""``jax.jit`` for fit programs, with the compile policy for small data.

XLA:CPU's fusion emitters generate loops up to ~1.6x faster but compile about
twice as slowly. Where compilation dominates (small data, and the O(1)
parameter-space programs) the classic emitters are used; from
``FAST_CODE_FROM`` samples on, a pass costs more than compiling it: XLA's
defaults.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jaxmle._engine.cache import ensure_cache

__all__ = ["FAST_CODE_FROM", "compiler_options", "jit_fit"]

_FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}
FAST_CODE_FROM = 1 << 19


@functools.cache
def compiler_options() -> dict[str, Any] | None:
    """Fast-compile options for the default backend (``None``: XLA's defaults).
    ``JAXMLE_FAST_COMPILE=0`` turns them off."""
    if jax.default_backend() != "cpu" or os.environ.get("JAXMLE_FAST_COMPILE", "1") == "0":
        return None
    try:  # older XLA versions do not know the option
        jax.jit(lambda v: v + 1, compiler_options=_FAST_COMPILE)(np.zeros(1))
    except Exception:
        return None
    return _FAST_COMPILE


class FitProgram:
    """``jax.jit`` of a fit program, compiled with :func:`compiler_options`
    unless positional argument ``size_arg`` (the data) has at least
    ``FAST_CODE_FROM`` values. ``cache_size()`` counts its compiled variants."""

    def __init__(self, fn: Callable, *, size_arg: int | None = None, **jit_kwargs: Any):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.size_arg = size_arg
        self.jit_kwargs = jit_kwargs
        self.compiled: dict[bool, Any] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ensure_cache()
        large = self.size_arg is not None and args[self.size_arg].size >= FAST_CODE_FROM
        if large not in self.compiled:
            opts = None if large else compiler_options()
            self.compiled[large] = jax.jit(self.fn, compiler_options=opts, **self.jit_kwargs)
        return self.compiled[large](*args, **kwargs)

    def cache_size(self) -> int:
        """The number of programs compiled so far (all shapes and options)."""
        return sum(c._cache_size() for c in self.compiled.values())


def jit_fit(fn: Callable, *, size_arg: int | None = None, **jit_kwargs: Any) -> FitProgram:
    """:class:`FitProgram` of ``fn`` (``jit_kwargs`` go to ``jax.jit``)."""
    return FitProgram(fn, size_arg=size_arg, **jit_kwargs)
