"""The static part of a fit: the user's options, the defaults, and the plan.

:class:`FitOptions` is what the user asked for (kept by a result, so that
profile intervals and the bootstrap refit the same way); :func:`make_plan`
turns it, with the family, the fixed parameters and the dtype, into a
:class:`FitPlan`: the path (``closed_form``, ``statistics``, ``newton``,
``optax``, ``minibatch``), the chunk size and the tolerances. Changing a plan
compiles a new program; plans are hashable static arguments of ``jit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import jax
import numpy as np

from jaxmle._engine.validation import validate_partial_params
from jaxmle.families.base import Family
from jaxmle.reduction import default_chunk
from jaxmle.solvers import default_optimizer

__all__ = [
    "METHODS",
    "FitOptions",
    "FitPlan",
    "as_key",
    "check_fixed_init",
    "key_for",
    "make_plan",
    "newton_plan",
    "positive_int",
]

METHODS = ("auto", "closed_form", "newton", "lbfgs", "adam", "sgd")

# (float64, float32) gradient tolerances in units of the local curvature.
GTOL = {
    "newton": (1e-10, 1e-5),
    "lbfgs": (1e-9, 1e-5),
    "first_order": (1e-6, 1e-4),
}
MAX_ITER = {"newton": 100, "lbfgs": 1000, "first_order": 20000}
DEFAULT_EPOCHS = 5
_MINIBATCH_METHODS = ("adam", "sgd", "optax")


@dataclass(frozen=True)
class FitOptions:
    """How the user asked for a fit to be made (``None``: the default).

    ``chunk_size`` bounds the samples per chunk of every exact pass;
    ``batch_size`` is the mini-batch size of a stochastic (``adam``/``sgd``/
    optax) fit.
    """

    method: str = "auto"
    optimizer: Any = None
    max_iter: int | None = None
    tol: float | None = None
    chunk_size: int | None = None
    batch_size: int | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class FitPlan:
    """The static part of a fit: changing it compiles a new program.

    ``path`` is one of ``closed_form``, ``statistics``, ``newton``, ``optax``,
    ``minibatch``; ``chunk`` is the samples per chunk of every pass.
    """

    method: str
    path: str
    chunk: int
    max_iter: int = 0
    gtol: float = 0.0
    xtol: float = 0.0
    optimizer: Any = None
    precompute: bool = False
    batch_size: int = 0
    epochs: int = 0
    polish_gtol: float = 0.0
    polish_max_iter: int = 0
    stat_chunk: int | None = None  # chunks of value-only passes (None: fused, see reduction)


def positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int``, or a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _newton_tol(dtype: Any) -> float:
    return GTOL["newton"][1 if np.dtype(dtype) != np.float64 else 0]


def make_plan(family: Family, options: FitOptions, fixed: Mapping[str, Any], dtype) -> FitPlan:
    """The plan of a fit of ``family`` with ``options``; raises a
    ``ValueError``/``TypeError`` for options that do not go together."""
    method, optimizer = options.method, options.optimizer
    max_iter, tol = options.max_iter, options.tol
    batch_size, epochs = options.batch_size, options.epochs
    if optimizer is not None:
        if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
            raise TypeError(
                "optimizer must be an optax GradientTransformation (with init and "
                f"update), got {type(optimizer).__name__}"
            )
        if method not in ("auto", "optax"):
            raise ValueError(f"give either method={method!r} or optimizer=, not both")
        method = "optax"
    elif not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    chunk_size = None
    if options.chunk_size is not None:
        chunk_size = positive_int("chunk_size", options.chunk_size)
    if batch_size is not None:
        batch_size = positive_int("batch_size", batch_size)
        if method not in _MINIBATCH_METHODS:
            raise ValueError(
                "batch_size= is the mini-batch size of method='adam' or 'sgd' (or "
                "optimizer=); to bound the memory of exact passes use chunk_size="
            )
    if epochs is not None:
        epochs = positive_int("epochs", epochs)
        if method not in _MINIBATCH_METHODS or batch_size is None:
            raise ValueError(
                "epochs= applies to mini-batch fits: method='adam' or 'sgd' "
                "(or optimizer=) with batch_size="
            )
    # Exact passes of a mini-batch fit go in chunks of the mini-batch size
    # unless chunk_size says otherwise.
    chunk = chunk_size or batch_size or default_chunk()
    f32 = dtype != np.float64

    if method == "auto":
        method = "closed_form" if family.has_closed_form and not fixed else "newton"
    if method == "closed_form":
        if not family.has_closed_form:
            raise ValueError(f"{family.name} has no closed-form MLE; use method='newton' or 'auto'")
        if fixed:
            raise ValueError(
                "method='closed_form' cannot hold parameters fixed; use method='newton'"
            )
        return FitPlan("closed_form", "closed_form", chunk)

    kind = method if method in ("newton", "lbfgs") else "first_order"
    max_iter = MAX_ITER[kind] if max_iter is None else positive_int("max_iter", max_iter)
    if tol is None:
        tol = GTOL[kind][1 if f32 else 0]
    if not isinstance(tol, (int, float, np.floating)) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if method in ("lbfgs", "adam", "sgd"):
        optimizer = default_optimizer(method)
    common = dict(max_iter=max_iter, gtol=float(tol), xtol=float(np.sqrt(tol)))
    if method == "newton":
        path = "statistics" if family.has_statistics else "newton"
        # Features (log x, ...) are kept for the whole fit unless memory is bounded.
        precompute = chunk_size is None and type(family).features is not Family.features
        return FitPlan("newton", path, chunk, precompute=precompute, **common)
    if batch_size is not None:
        return FitPlan(
            method,
            "minibatch",
            chunk,
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=epochs or DEFAULT_EPOCHS,
            polish_gtol=_newton_tol(dtype),
            polish_max_iter=MAX_ITER["newton"],
            **common,
        )
    return FitPlan(method, "optax", chunk, optimizer=optimizer, **common)


def newton_plan(plan: FitPlan, family: Family, dtype) -> FitPlan:
    """A closed-form ``plan`` as Newton (on sufficient statistics where the
    family has them), for data that are never in one place at once (streamed
    or sharded); the tolerances are Newton's defaults for ``dtype``."""
    if plan.path != "closed_form":
        return plan
    gtol = _newton_tol(dtype)
    path = "statistics" if family.has_statistics else "newton"
    return replace(
        plan,
        method="newton",
        path=path,
        max_iter=MAX_ITER["newton"],
        gtol=gtol,
        xtol=float(np.sqrt(gtol)),
    )


def check_fixed_init(family: Family, fixed: Any, init: Any, dtype) -> tuple[dict, dict]:
    """Validate ``fixed=`` and ``init=`` together."""
    fixed_v = validate_partial_params(family, fixed, "fixed", dtype)
    init_v = validate_partial_params(family, init, "init", dtype)
    if len(fixed_v) == len(family.param_names):
        raise ValueError(
            "every parameter is fixed: there is nothing to fit (use jm.loglik to "
            "evaluate the log-likelihood at given parameters)"
        )
    both = sorted(set(fixed_v) & set(init_v))
    if both:
        raise ValueError(f"parameter(s) {both} are both fixed and given an init value")
    return fixed_v, init_v


def key_for(plan: FitPlan, key: Any) -> jax.Array | None:
    """The PRNG key a fit program needs: ``as_key(key)`` for a mini-batch fit
    (the shuffling), else ``None`` (making a key compiles a small program)."""
    return as_key(key) if plan.path == "minibatch" else None


def as_key(key: Any) -> jax.Array:
    """A PRNG key from a key, an integer seed or ``None`` (seed 0)."""
    if key is None:
        return jax.random.key(0)
    if isinstance(key, (int, np.integer)):
        return jax.random.key(int(key))
    return key
