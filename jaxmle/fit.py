"""``fit``: validate, choose a solver, run it under jit, build the FitResult.

The cost of a fit is the number of passes over the data times the cost of a
pass, and every path here keeps the first factor small:

* **closed form** (normal, exponential, ...): the estimate, then one pass for
  the information at the estimate;
* **sufficient statistics** (gamma, beta, inverse gamma): one pass reduces the
  data to ``n`` and the sums of ``family.statistics(x)``; Newton then runs on
  those sums at O(1) cost per iteration;
* **Newton** (every other family): one fused pass per iteration computes the
  value, gradient and Hessian (:func:`jaxmle.reduction.derivative_pass`), on
  ``family.features(x)`` computed once (``log x`` for a Weibull);
* **optax** (``lbfgs``, ``adam``, ``sgd`` or any transformation): full-batch
  steps on standardized coordinates ``z = D (u - u0)``, ``D = sqrt(diag H(u0))``
  (unit curvature at the start, so one learning rate fits every family), or,
  with ``batch_size``, shuffled mini-batch epochs followed by exact Newton
  passes that land on the full-data MLE.

Every pass is chunked (``batch_size`` samples at a time, inside the compiled
program), so memory beyond the data is bounded. Data values are checked on the
device in the first pass; host arrays too large for the device, memmaps and
iterables of chunks are streamed (:mod:`jaxmle.streaming`); sharded arrays are
reduced shard by shard (:mod:`jaxmle.sharding`).

Standard errors come from the observed information in the unconstrained
coordinates ``u`` at the estimate, carried to the constrained parameters by
the delta method (at the MLE this equals the inverse observed information in
the constrained parametrization, since the score vanishes there).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxmle.families.base import Family, flatten_params
from jaxmle.families.registry import resolve
from jaxmle.objective import total_loglik, total_weight
from jaxmle.reduction import (
    default_chunk,
    derivative_pass,
    explicit_derivative_pass,
    reduce_terms,
)
from jaxmle.result import FitResult
from jaxmle.solvers import OptaxSolver, Status, default_optimizer, iterative_solve
from jaxmle.solvers.newton import (
    curvature_scale,
    newton_minimize,
    scaled_gradient,
    value_grad_hessian,
)
from jaxmle.validation import (
    check_data_values,
    invalid_mask,
    prepare_data,
    validate_partial_params,
    validate_weights,
)

__all__ = ["METHODS", "ConvergenceWarning", "ModelWarning", "fit", "fit_body"]

METHODS = ("auto", "closed_form", "newton", "lbfgs", "adam", "sgd")

# (float64, float32) gradient tolerances in units of the local curvature.
_GTOL = {
    "newton": (1e-10, 1e-5),
    "lbfgs": (1e-9, 1e-5),
    "first_order": (1e-6, 1e-4),
}
_MAX_ITER = {"newton": 100, "lbfgs": 1000, "first_order": 20000}
_DEFAULT_EPOCHS = 5
# A host array this long, fitted by sufficient statistics, is reduced chunk by
# chunk as it is copied: cheaper than one large device allocation and copy.
_STREAM_STATISTICS_MIN = 1 << 20


# XLA:CPU's fusion emitters generate loops up to ~1.6x faster but compile about
# twice as slowly. Where compilation dominates (small data, and the O(1)
# parameter-space programs) the classic emitters are used; from
# _FAST_CODE_FROM samples on, a pass costs more than compiling it: XLA's defaults.
_FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False}
_FAST_CODE_FROM = 1 << 19


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


def jit_fit(fn, *, size_arg: int | None = None, **kw):
    """``jax.jit`` of a fit program, compiled with :func:`compiler_options`
    unless positional argument ``size_arg`` (the data) has at least
    ``_FAST_CODE_FROM`` values."""
    compiled: dict[bool, Any] = {}

    @functools.wraps(fn)
    def call(*args, **kwargs):
        large = size_arg is not None and args[size_arg].size >= _FAST_CODE_FROM
        if large not in compiled:
            opts = None if large else compiler_options()
            compiled[large] = jax.jit(fn, compiler_options=opts, **kw)
        return compiled[large](*args, **kwargs)

    call._cache_size = lambda: sum(c._cache_size() for c in compiled.values())
    return call


class ConvergenceWarning(UserWarning):
    """A fit ended without meeting its convergence test."""


class ModelWarning(UserWarning):
    """The fit ran, but the model is questionable for these data (for example
    a likelihood that is unbounded, so that no MLE exists)."""


@dataclass(frozen=True)
class _Plan:
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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _make_plan(family, method, optimizer, fixed, max_iter, tol, dtype, batch_size, epochs) -> _Plan:
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
    if batch_size is not None:
        batch_size = _positive_int("batch_size", batch_size)
    if epochs is not None:
        epochs = _positive_int("epochs", epochs)
        if method not in ("adam", "sgd", "optax") or batch_size is None:
            raise ValueError(
                "epochs= applies to mini-batch fits: method='adam' or 'sgd' "
                "(or optimizer=) with batch_size="
            )
    chunk = batch_size or default_chunk()
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
        return _Plan("closed_form", "closed_form", chunk)

    kind = method if method in ("newton", "lbfgs") else "first_order"
    max_iter = _MAX_ITER[kind] if max_iter is None else _positive_int("max_iter", max_iter)
    if tol is None:
        tol = _GTOL[kind][1 if f32 else 0]
    if not isinstance(tol, (int, float, np.floating)) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if method in ("lbfgs", "adam", "sgd"):
        optimizer = default_optimizer(method)
    common = dict(max_iter=max_iter, gtol=float(tol), xtol=float(np.sqrt(tol)))
    if method == "newton":
        path = "statistics" if family.has_statistics else "newton"
        # Features (log x, ...) are kept for the whole fit unless memory is bounded.
        precompute = batch_size is None and type(family).features is not Family.features
        return _Plan("newton", path, chunk, precompute=precompute, **common)
    if batch_size is not None and method in ("adam", "sgd", "optax"):
        return _Plan(
            method,
            "minibatch",
            chunk,
            optimizer=optimizer,
            batch_size=batch_size,
            epochs=epochs or _DEFAULT_EPOCHS,
            polish_gtol=_GTOL["newton"][1 if f32 else 0],
            polish_max_iter=_MAX_ITER["newton"],
            **common,
        )
    return _Plan(method, "optax", chunk, optimizer=optimizer, **common)


def fit(
    fam: Family | str,
    x: Any,
    *,
    weights: Any = None,
    method: str = "auto",
    optimizer: optax.GradientTransformation | None = None,
    init: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    max_iter: int | None = None,
    tol: float | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    key: jax.Array | int | None = None,
    devices: Any = None,
    cov_type: str = "observed",
) -> FitResult:
    """Fit ``fam`` to the sample ``x`` by maximum likelihood.

    Args:
        fam: a family (``jm.Gamma()``), family class or registered name.
        x: the observations, never modified: a 1-D array (``(N, d)`` for
            multivariate families); a JAX array (kept where it is, sharded
            arrays are reduced shard by shard), a numpy array or ``np.memmap``
            (streamed to the device in chunks when large), or an iterable of
            chunks (see :func:`jaxmle.streaming.fit_stream`).
        weights: optional non-negative frequency weights, same length as ``x``.
        method: ``"auto"`` (closed form where the family has one, else
            Newton), ``"closed_form"``, ``"newton"`` (damped Newton with exact
            Hessians; on sufficient statistics for exponential families),
            ``"lbfgs"`` (``optax.lbfgs``), ``"adam"`` or ``"sgd"``.
        optimizer: any optax ``GradientTransformation``; it then does the
            steps (on the standardized coordinates described in this module).
        init: starting values for some or all parameters.
        fixed: parameters held at given values; they get no standard error.
        max_iter: iteration budget (default by method).
        tol: gradient tolerance in units of the local curvature (default by
            method and dtype); the step tolerance is ``sqrt(tol)``.
        batch_size: samples per chunk of every pass (bounded memory: the
            exact objective is accumulated chunk by chunk). With
            ``method="adam"``/``"sgd"`` it is the mini-batch size of a
            stochastic fit, polished by exact Newton passes.
        epochs: passes of a mini-batch fit (default 5).
        key: PRNG key (or integer seed) for the mini-batch shuffling.
        devices: a sequence of devices to shard the data over (each reduces
            its shard; the partial sums are combined).
        cov_type: the covariance behind ``cov`` and ``stderr``: ``"observed"``
            (inverse observed information, the default), ``"expected"``
            (inverse expected information) or ``"robust"`` (the sandwich
            estimator, valid under misspecification); see
            :mod:`jaxmle.inference`.

    Returns:
        A :class:`FitResult`. A fit that did not converge has
        ``converged=False``, says why in ``message`` and warns with
        :class:`ConvergenceWarning`.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> x = np.random.default_rng(0).gamma(2.0, 1 / 3.0, size=1000)
        >>> res = jm.fit("gamma", x)
        >>> bool(res.converged), round(float(res.params["shape"]), 1)
        (True, 2.0)
    """
    from jaxmle import inference, sharding, streaming

    family = resolve(fam)
    inference.check_cov_type(cov_type)
    stats_from_host = (
        family.has_statistics
        and isinstance(x, np.ndarray)
        and x.shape[:1] >= (_STREAM_STATISTICS_MIN,)
        and method in ("auto", "newton")
        and optimizer is None
        and devices is None
    )
    if stats_from_host or streaming.is_stream(x, family, batch_size):
        if cov_type != "observed":
            raise ValueError(
                f"cov_type={cov_type!r} needs the data in memory; streamed fits give the "
                "observed information (pass a JAX array to fit it in memory)"
            )
        return streaming.fit_stream(
            family,
            x,
            weights=weights,
            method=method,
            optimizer=optimizer,
            init=init,
            fixed=fixed,
            max_iter=max_iter,
            tol=tol,
            batch_size=batch_size,
            epochs=epochs,
            key=key,
        )
    xv = prepare_data(family, x)
    dtype = np.dtype(xv.dtype)
    w = validate_weights(weights, xv.shape[0], dtype)
    n_data = xv.shape[0]
    if devices is not None:
        xv, w = sharding.shard_data(xv, w, devices)
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    plan = _make_plan(family, method, optimizer, fixed_v, max_iter, tol, dtype, batch_size, epochs)
    key = _as_key(key)

    if sharding.is_sharded(xv):
        out = sharding.fit_sharded(fit_body, family, plan, xv, w, init_v, fixed_v, key)
    elif plan.path == "statistics":
        sums, n_invalid, n = _statistics_pass(family, plan, xv, w)
        out = {**_solve_statistics(family, plan, sums, n, init_v, fixed_v), "n_invalid": n_invalid}
    else:
        out = _fit_program(family, plan, xv, w, init_v, fixed_v, key)
    if int(out.pop("n_invalid")) > 0:
        check_data_values(family, x if not isinstance(x, jax.Array) else np.asarray(xv)[:n_data])
    result = finish_result(family, plan.method, fixed_v, finish_outputs(family, fixed_v, out), xv)
    context = FitContext(
        x=xv, w=w, fixed=fixed_v, method=method, optimizer=optimizer,
        max_iter=max_iter, tol=tol,
    )  # fmt: skip
    if cov_type != "observed":
        cov, stderr = inference.covariance_for(family, fixed_v, result.params, xv, w, cov_type)
        stderr = {k: stderr[k] for k in result.free_names}  # jit sorts dict keys
        result = dataclasses.replace(result, cov=cov, stderr=stderr, cov_type=cov_type)
    return context.attach(result)


@dataclass(frozen=True)
class FitContext:
    """What a result needs to refit its data (profile intervals, bootstrap,
    robust covariances): kept beside the result, not in its pytree."""

    x: Any
    w: Any
    fixed: Mapping[str, Any]
    method: str
    optimizer: Any
    max_iter: int | None
    tol: float | None
    batched: bool = False  # fit_many: x and w have a leading dataset axis
    prepare: Any = None  # (x, w) -> device arrays ready to refit (None: as they are)

    def arrays(self):
        """``(x, w)`` on the device, ready to refit (made when first needed, so
        a batch streamed to the device in chunks is not held there whole)."""
        return (self.x, self.w) if self.prepare is None else self.prepare(self.x, self.w)

    def attach(self, result):
        object.__setattr__(result, "_context", self)
        return result


def check_fixed_init(family, fixed, init, dtype):
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


def _as_key(key):
    if key is None:
        return jax.random.key(0)
    if isinstance(key, (int, np.integer)):
        return jax.random.key(int(key))
    return key


def finish_result(family, method, fixed_v, out, x_for_diagnose) -> FitResult:
    """The program's outputs as a :class:`FitResult`; warnings on the host."""
    free = tuple(k for k in family.param_names if k not in fixed_v)
    n_params = int(out.pop("n_params"))
    # jit returns dicts with sorted keys: restore the family's parameter order.
    out["params"] = {k: out["params"][k] for k in family.param_names}
    out["stderr"] = {k: out["stderr"][k] for k in free}
    result = FitResult(family=family, method=method, free_names=free, n_params=n_params, **out)
    if x_for_diagnose is not None:
        note = family.diagnose(result.params, x_for_diagnose)
        if note:
            warnings.warn(f"{family.name}: {note}", ModelWarning, stacklevel=3)
    if not bool(result.converged):
        warnings.warn(
            f"{family.name} fit ({method}) did not converge: {result.message}",
            ConvergenceWarning,
            stacklevel=3,
        )
    return result


def _delta_method_cov(family, free, unflatten, u_hat, jac, info_u):
    """``J info_u^{-1} J^T``; parameters whose MLE sits on a boundary of the
    support (``family.boundary_params``, e.g. pareto's scale = min(x)) are held
    at the estimate: the others' covariance comes from the rest of the
    information matrix, and theirs is NaN (no regular standard error exists)."""
    boundary = [k for k in free if k in family.boundary_params]
    if not boundary:
        return jac @ jnp.linalg.inv(info_u) @ jac.T
    u_parts = unflatten(u_hat)
    u_keep = np.concatenate([np.full(np.size(u_parts[k]), k not in boundary) for k in free])
    c_parts = family.to_constrained(u_parts)
    c_keep = np.concatenate([np.full(np.size(c_parts[k]), k not in boundary) for k in free])
    idx = np.flatnonzero(u_keep)
    sub = jac[:, idx] @ jnp.linalg.inv(info_u[np.ix_(idx, idx)]) @ jac[:, idx].T
    mask = np.outer(c_keep, c_keep)
    return jnp.where(mask, sub, jnp.nan)


@dataclass(frozen=True)
class Objective:
    """The negative mean log-likelihood ``f(u)`` of a fit in flat unconstrained
    coordinates, with its one-pass derivatives.

    ``data`` is what the passes read: ``x``, or ``family.features(x)`` when
    precomputed. ``reduce`` combines per-device partial sums (identity on one
    device; ``psum`` inside ``shard_map``).
    """

    family: Family
    fixed: Mapping[str, jax.Array]
    unflatten: Any
    data: Any
    w: jax.Array | None
    n: jax.Array
    chunk: int
    features_done: bool
    reduce: Any = None
    n_local: Any = None  # this device's summed weight (sharded fits), else n

    def params(self, u):
        return {**self.family.to_constrained(self.unflatten(u)), **self.fixed}

    def _terms(self, u, d):
        feats = d if self.features_done else self.family.features(d)
        return self.family.logpdf_features(self.params(u), feats)

    def _combine(self, sums):
        return sums if self.reduce is None else self.reduce(sums)

    def derivatives(self, u, order=2):
        """``(f, grad f, hess f)`` (up to ``order``) in one pass: from the
        family's derivative terms where it has them, else autodiff."""
        if order and self.family.has_derivatives:
            sums = explicit_derivative_pass(
                self._derivative_terms, self._combine_terms, self._theta, u, self.data, self.w,
                n=self.n if self.n_local is None else self.n_local, order=order, chunk=self.chunk,
            )  # fmt: skip
        else:
            sums = derivative_pass(self._terms, u, self.data, self.w, order=order, chunk=self.chunk)
        return tuple(-s / self.n for s in self._combine(sums))

    @property
    def _free(self) -> tuple[str, ...]:
        return tuple(k for k in self.family.param_names if k not in self.fixed)

    def _theta(self, u):
        """The free constrained parameters as a flat vector."""
        return flatten_params(self.family.to_constrained(self.unflatten(u)), self._free)[0]

    def _named(self, theta):
        return {**dict(zip(self._free, theta, strict=True)), **self.fixed}

    def _derivative_terms(self, theta, d):
        feats = d if self.features_done else self.family.features(d)
        return self.family.derivative_terms(self._named(theta), feats)

    def _combine_terms(self, theta, sums, n):
        """``(value, grad, hess)`` in the free parameters ``theta``."""
        free = self._free
        value, grad, hess = self.family.derivatives_from_terms(self._named(theta), sums, n)
        g = jnp.stack([grad[k] for k in free])
        h = jnp.stack(
            [jnp.stack([hess[(a, b) if i <= j else (b, a)] for j, b in enumerate(free)])
             for i, a in enumerate(free)]
        )  # fmt: skip
        return value, g, h

    def value(self, u):
        return self.derivatives(u, order=0)[0]


def _count_invalid(family, x, chunk, reduce):
    count = reduce_terms(lambda d: invalid_mask(family, d).astype(jnp.int32), x, None, chunk=chunk)
    return count if reduce is None else reduce(count)


def statistics_pass(family: Family, plan: _Plan, x, w, reduce=None):
    """``(sums of family.statistics, n_invalid)`` in one pass over ``x``."""
    combine = (lambda v: v) if reduce is None else reduce
    sums = combine(reduce_terms(family.statistics, x, w, chunk=plan.stat_chunk))
    if w is None:
        # Statistics are non-finite for any value outside the support (a
        # family contract, tested), so the value check costs no pass.
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(t)) for t in sums]))
        return sums, jnp.where(finite, 0, 1)
    return sums, _count_invalid(family, x, plan.chunk, reduce)


def solve_statistics(family: Family, plan: _Plan, sums, n, init, fixed) -> dict[str, Any]:
    """Newton on the sufficient statistics: O(1) per iteration, no data."""
    free = tuple(k for k in family.param_names if k not in fixed)
    start = {**family.init_from_statistics(sums, n), **init}
    start = {k: jnp.asarray(start[k], n.dtype) for k in free}
    u0, unflatten = flatten_params(family.to_unconstrained(start), free)

    def f_stats(u):
        params = {**family.to_constrained(unflatten(u)), **fixed}
        return -family.loglik_from_statistics(params, sums, n) / n

    state = newton_minimize(
        partial(value_grad_hessian, f_stats),
        u0,
        max_iter=plan.max_iter,
        gtol=plan.gtol,
        xtol=plan.xtol,
    )
    return {
        "u_parts": unflatten(state.u),
        "hess_u": state.hess,
        "exact": None,
        "loglik": -n * state.value,
        "n": n,
        "n_passes": jnp.asarray(1, jnp.int32),
        **_newton_info(state),
    }


# The two halves of a sufficient-statistics fit are separate programs: only the
# pass depends on the data's shape, the solve is compiled once per family.
def _statistics_pass_body(family, plan, x, w):
    return (*statistics_pass(family, plan, x, w), total_weight(x, w))


_statistics_pass = jit_fit(_statistics_pass_body, size_arg=2, static_argnums=(0, 1))
_solve_statistics = jit_fit(solve_statistics, static_argnums=(0, 1))


def fit_body(family: Family, plan: _Plan, x, w, init, fixed, key, reduce=None):
    """The whole fit of ``family`` to in-memory data (traced as one program).

    ``reduce`` (set by :mod:`jaxmle.sharding` inside ``shard_map``) sums
    partial results across devices; ``None`` on one device.
    """
    combine = (lambda v: v) if reduce is None else reduce
    free = tuple(k for k in family.param_names if k not in fixed)
    n_here = total_weight(x, w)
    n = combine(n_here)
    n_local = None if reduce is None else n_here
    passes = 0
    exact = None

    if plan.path == "statistics":
        sums, n_invalid = statistics_pass(family, plan, x, w, reduce)
        return {**solve_statistics(family, plan, sums, n, init, fixed), "n_invalid": n_invalid}
    n_invalid = _count_invalid(family, x, plan.chunk, reduce)
    if plan.path == "closed_form":
        estimate = {k: jnp.asarray(v, x.dtype) for k, v in family.closed_form(x, w).items()}
        u_hat, unflatten = flatten_params(family.to_unconstrained(estimate), free)
        obj = Objective(family, fixed, unflatten, x, w, n, plan.chunk, False, reduce, n_local)
        _, grad_u, hess_u = obj.derivatives(u_hat)
        exact = estimate
        loglik = combine(total_loglik(family, {**estimate, **fixed}, x, w))  # u may be infinite
        passes = 2
        info = {
            "n_iter": jnp.asarray(0, jnp.int32),
            "grad_norm": jnp.max(jnp.abs(scaled_gradient(grad_u, hess_u))),
            "step_norm": jnp.asarray(0.0, x.dtype),
            "status": jnp.asarray(Status.CONVERGED, jnp.int32),
        }
    else:
        data = family.features(x) if plan.precompute else x
        first = family.init_features(data, w) if plan.precompute else None
        start = {**(family.init(x, w) if first is None else first), **init}
        start = {k: jnp.asarray(start[k], x.dtype) for k in free}
        u0, unflatten = flatten_params(family.to_unconstrained(start), free)
        obj = Objective(
            family, fixed, unflatten, data, w, n, plan.chunk, plan.precompute, reduce, n_local
        )
        passes = 1 + int(plan.precompute)
        if plan.path == "newton":
            state = newton_minimize(
                obj.derivatives, u0, max_iter=plan.max_iter, gtol=plan.gtol, xtol=plan.xtol
            )
            u_hat, hess_u, value = state.u, state.hess, state.value
            info = _newton_info(state)
            passes = passes + state.n_evals
        else:
            u_hat, hess_u, value, info, more = _optax_path(plan, obj, u0, key)
            passes = passes + more
        if family.reorders_params:  # label switching: move to the canonical point
            canonical = family.canonicalize(family.to_constrained(unflatten(u_hat)))
            u_hat, _ = flatten_params(
                family.to_unconstrained({k: canonical[k] for k in free}), free
            )
            _, _, hess_u = obj.derivatives(u_hat)
            passes = passes + 1
        # f is the negative mean log-likelihood (canonicalizing a mixture keeps it).
        loglik = -n * value

    return {
        "u_parts": unflatten(u_hat),
        "hess_u": hess_u,
        "exact": exact,
        "loglik": loglik,
        "n": n,
        "n_passes": jnp.asarray(passes, jnp.int32),
        "n_invalid": n_invalid,
        **info,
    }


def _finish_body(family, fixed, free, u_parts, hess_u, n, estimate):
    """Estimates, covariance and standard errors from the solver's output: a
    program of its own, compiled once per family and parameter layout and
    shared by every data size (and by streamed and sharded fits)."""
    u_hat, unflatten = flatten_params(u_parts, free)
    return estimate_outputs(family, fixed, free, unflatten, u_hat, hess_u, n, estimate)


_finish_program = jit_fit(_finish_body, static_argnums=(0, 2))


def finish_outputs(family, fixed, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn a fit program's raw output into the FitResult fields."""
    free = tuple(k for k in family.param_names if k not in fixed)
    est = _finish_program(
        family, fixed, free, raw.pop("u_parts"), raw.pop("hess_u"), raw["n"], raw.pop("exact")
    )
    return {**raw, **est}


def estimate_outputs(
    family, fixed, free, unflatten, u_hat, hess_u, n, estimate=None
) -> dict[str, Any]:
    """Parameters, covariance and standard errors at the estimate ``u_hat``,
    where ``hess_u`` is the Hessian of the negative mean log-likelihood
    (``estimate``: the constrained values, when known more exactly than by
    mapping ``u_hat`` back, as for a closed form)."""
    if estimate is None:
        estimate = family.to_constrained(unflatten(u_hat))
    params = {k: (fixed[k] if k in fixed else estimate[k]) for k in family.param_names}
    # Delta method: cov(theta) = J (n H_u)^{-1} J^T with J = d theta / d u.
    jac = jax.jacobian(lambda u: flatten_params(family.to_constrained(unflatten(u)), free)[0])(
        u_hat
    )
    unit_info = family.unit_information(estimate | fixed)
    if unit_info is None:
        cov = _delta_method_cov(family, free, unflatten, u_hat, jac, n * hess_u)
    else:  # a non-smooth likelihood: the expected information instead
        idx = np.array([family.param_names.index(k) for k in free])
        cov = jnp.linalg.inv(n * unit_info[np.ix_(idx, idx)])
    _, unflatten_free = flatten_params(params, free)
    stderr = unflatten_free(jnp.sqrt(jnp.diag(cov)))
    return {"params": params, "cov": cov, "stderr": stderr, "n_params": u_hat.shape[0]}


_fit_program = jit_fit(fit_body, size_arg=2, static_argnums=(0, 1))


def _newton_info(state) -> dict[str, jax.Array]:
    return {
        "n_iter": jnp.maximum(state.n_iter, 0),
        "grad_norm": jnp.max(jnp.abs(scaled_gradient(state.grad, state.hess))),
        "step_norm": state.step_norm,
        "status": state.status,
    }


def _optax_path(plan: _Plan, obj: Objective, u0, key):
    """Full-batch optax steps, or mini-batch epochs then Newton polishing.

    Returns ``(u_hat, hess_u, value, info, passes)``.
    """
    value0, grad0, hess0 = obj.derivatives(u0)
    scale = curvature_scale(hess0)
    solver = OptaxSolver(plan.optimizer)
    if plan.path == "minibatch":
        z_sgd = _minibatch_epochs(plan, obj, u0, scale, key)
        state = newton_minimize(
            obj.derivatives,
            u0 + z_sgd / scale,
            max_iter=plan.polish_max_iter,
            gtol=plan.polish_gtol,
            xtol=float(np.sqrt(plan.polish_gtol)),
        )
        info = _newton_info(state)
        return state.u, state.hess, state.value, info, 1 + plan.epochs + state.n_evals
    state = iterative_solve(
        solver,
        lambda z: obj.value(u0 + z / scale),
        jnp.zeros_like(u0),
        (value0, grad0 / scale, hess0 / jnp.outer(scale, scale)),
        max_iter=plan.max_iter,
        gtol=plan.gtol,
        xtol=plan.xtol,
    )
    u_hat = u0 + state.z / scale
    _, _, hess_u = obj.derivatives(u_hat)
    info = {
        "n_iter": state.n_iter,
        "grad_norm": jnp.max(jnp.abs(solver.convergence_grad(state.grad, state.extra))),
        "step_norm": state.step_norm,
        "status": state.status,
    }
    # Each step evaluates the objective and gradient once (line searches more).
    return u_hat, hess_u, state.value, info, 2 + state.n_iter


def _minibatch_epochs(plan: _Plan, obj: Objective, u0, scale, key):
    """``plan.epochs`` shuffled passes of mini-batch optax steps on the
    standardized coordinates; returns the final ``z``.

    Each step follows an unbiased estimate of the full-data objective: the
    batch's weighted log-likelihood scaled by ``N / batch_size``.
    """
    data = obj.data
    n_total = jax.tree.leaves(data)[0].shape[0]
    b = min(plan.batch_size, n_total)
    n_batches = n_total // b
    tx = plan.optimizer

    def batch_value(z, idx):
        part = jax.tree.map(lambda a: a[idx], data)
        wb = None if obj.w is None else obj.w[idx]
        u = u0 + z / scale
        terms = obj._terms(u, part)
        if wb is not None:
            terms = jnp.where(wb > 0, wb * terms, 0.0)
        return -jnp.sum(terms) * (n_total / b) / obj.n

    def epoch(carry, k):
        z, opt_state = carry
        perm = jax.random.permutation(k, n_total)[: n_batches * b].reshape(n_batches, b)

        def step(c, idx):
            z, s = c
            g = jax.grad(batch_value)(z, idx)
            upd, s = tx.update(g, s, z)
            return (optax.apply_updates(z, upd).astype(z.dtype), s), None

        (z, opt_state), _ = jax.lax.scan(step, (z, opt_state), perm)
        return (z, opt_state), None

    z0 = jnp.zeros_like(u0)
    (z, _), _ = jax.lax.scan(epoch, (z0, tx.init(z0)), jax.random.split(key, plan.epochs))
    return z
