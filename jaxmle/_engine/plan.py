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
from typing import Any, NamedTuple

import jax
import numpy as np

from jaxmle._engine.validation import float_dtype, locate, validate_partial_params
from jaxmle.families.base import Family
from jaxmle.families.bounded import Uniform
from jaxmle.families.composite import Shifted
from jaxmle.families.positive import Pareto
from jaxmle.reduction import default_chunk
from jaxmle.solvers import default_optimizer

__all__ = [
    "METHODS",
    "FitOptions",
    "FitPlan",
    "GivenBound",
    "SupportBound",
    "as_key",
    "bounding_params",
    "check_fixed_init",
    "check_support_params",
    "key_for",
    "make_plan",
    "newton_plan",
    "positive_int",
    "support_bounds",
    "support_violation",
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
    if fixed_v and init_v:  # checks that need parameters from both mappings
        family.check_params({**fixed_v, **init_v})
    return fixed_v, init_v


class SupportBound(NamedTuple):
    """A parameter that bounds the data support by itself: the data lie above
    it (``lower``) or below it, and may equal it where ``closed``."""

    lower: bool
    closed: bool


def support_bounds(family: Family) -> dict[str, SupportBound]:
    """The parameters of ``family`` that bound its data support by themselves.

    A family declares them as ``support_bound_params``, ``{name: (lower,
    closed)}``, which wins over what is known here for the built-in families
    that may not (yet) declare them: the uniform's ``low`` and ``high``, a
    shifted family's location and the Pareto's ``scale``."""
    known: dict[str, SupportBound] = {}
    if isinstance(family, Uniform):
        known = {"low": SupportBound(True, True), "high": SupportBound(False, True)}
    elif isinstance(family, Shifted):
        known = {family.loc_name: SupportBound(True, False)}
    elif isinstance(family, Pareto):
        known = {"scale": SupportBound(True, True)}
    declared = getattr(family, "support_bound_params", None) or {}
    return {**known, **{k: SupportBound(*v) for k, v in declared.items()}}


class GivenBound(NamedTuple):
    """A ``fixed`` or ``init`` (``what``) value of a parameter that bounds the support."""

    what: str
    name: str
    value: float
    bound: SupportBound


def bounding_params(family: Family, fixed: Any, init: Any) -> list[GivenBound]:
    """The given ``fixed`` and ``init`` values of parameters that bound the
    support (:func:`support_bounds`), fixed ones first; usually none."""
    if family.event_ndim:
        return []
    bounds = support_bounds(family)
    return [
        GivenBound(what, k, float(np.asarray(v, np.float64)), bounds[k])
        for what, given in (("fixed", fixed), ("init", init))
        for k, v in (given or {}).items()
        if k in bounds
    ]


def support_violation(
    family: Family, fixed: Any, init: Any, x: Any, w: Any, dtype: Any
) -> tuple[GivenBound, np.ndarray] | None:
    """The first given parameter that puts data outside the support, and the
    mask of those data (elementwise, any shape: a batch too), or ``None``.
    Compared in the compute ``dtype``, as the fit would; rows of weight 0 are
    not data."""
    given = bounding_params(family, fixed, init)
    if not given:
        return None
    with np.errstate(over="ignore"):
        vals = np.asarray(x).astype(dtype, copy=False)
    keep = None if w is None else np.asarray(w) > 0
    for item in given:
        bound = item.bound
        v = np.asarray(item.value).astype(dtype)
        if bound.lower:
            out = vals < v if bound.closed else vals <= v
        else:
            out = vals > v if bound.closed else vals >= v
        if keep is not None:
            out &= keep
        if out.any():
            return item, out
    return None


def check_support_params(
    family: Family,
    fixed: Any,
    init: Any,
    x: Any,
    w: Any = None,
    dtype: Any = None,
    *,
    first_row: int = 0,
    index: Any = None,
    where: str = "",
) -> None:
    """Raise a ``ValueError`` where a ``fixed`` or ``init`` value of a
    parameter that bounds the support (:func:`support_bounds`) puts data ``x``
    (weights ``w``) outside it: the log-likelihood would be -inf for every
    value of the other parameters (fixed), or at the fit's start (init).
    Names the parameter, its value and the first offending data as given, in
    the rows of the user's data (``first_row``, ``index`` as in
    :func:`~jaxmle._engine.validation.locate`); ``where`` prefixes the message
    (the dataset of a batch). Costs nothing unless such a parameter is given."""
    if not bounding_params(family, fixed, init):
        return
    arr = np.asarray(x)
    dtype = float_dtype(arr) if dtype is None else dtype
    hit = support_violation(family, fixed, init, arr, w, dtype)
    if hit is None:
        return
    (what, name, value, bound), out = hit
    op = (">" if bound.lower else "<") + ("=" if bound.closed else "")
    keep = np.isfinite(arr) & (True if w is None else np.asarray(w) > 0)
    at = np.flatnonzero(keep)[np.argmin(arr[keep]) if bound.lower else np.argmax(arr[keep])]
    extreme = f"{'min' if bound.lower else 'max'}(x) = {float(arr[at])!r}"
    side = "below" if bound.lower else "above"
    if bound.closed:
        side = "at most" if bound.lower else "at least"
    consequence = (
        "the log-likelihood is -inf whatever the other parameters"
        if what == "fixed"
        else "the fit would start where the log-likelihood is -inf"
    )
    remedy = "let it be estimated" if what == "fixed" else "leave it out of init"
    raise ValueError(
        f"{where}{what} {name!r}={value!r} puts {int(out.sum())} observation(s) outside the "
        f"support of {family.name} (x {op} {name}): "
        f"{locate(out, arr, first_row=first_row, index=index)}; {consequence}. Give a "
        f"{name} {side} {extreme}, or {remedy}"
    )


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
