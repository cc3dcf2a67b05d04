"""``fit``: validate, choose a solver, run it under jit, build the FitResult.

All fits share one program: start from the family's ``init`` (or the user's),
move to unconstrained coordinates ``u`` (each parameter through its
constraint's bijection), standardize them as ``z = D (u - u0)`` with
``D = sqrt(diag H(u0))`` (the Hessian of the negative mean log-likelihood at the
start, so every coordinate has unit curvature there), and minimise with the
chosen solver inside one ``lax.while_loop``. Standard errors come from the
observed information in ``u`` at the estimate, carried to the constrained
parameters by the delta method (at the MLE this equals the inverse of the
observed information in the constrained parametrization, since the score
vanishes there).
"""

from __future__ import annotations

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
from jaxmle.result import FitResult
from jaxmle.solvers import Newton, OptaxSolver, Status, default_optimizer, iterative_solve
from jaxmle.solvers.newton import value_grad_hessian
from jaxmle.validation import validate_data, validate_partial_params, validate_weights

__all__ = ["METHODS", "ConvergenceWarning", "ModelWarning", "fit"]

METHODS = ("auto", "closed_form", "newton", "lbfgs", "adam", "sgd")

# (float64, float32) gradient tolerances in standardized coordinates.
_GTOL = {
    "newton": (1e-10, 1e-5),
    "lbfgs": (1e-9, 1e-5),
    "first_order": (1e-6, 1e-4),
}
_MAX_ITER = {"newton": 100, "lbfgs": 1000, "first_order": 20000}


class ConvergenceWarning(UserWarning):
    """A fit ended without meeting its convergence test."""


class ModelWarning(UserWarning):
    """The fit ran, but the model is questionable for these data (for example
    a likelihood that is unbounded, so that no MLE exists)."""


@dataclass(frozen=True)
class _Plan:
    """The static part of a fit: changing it compiles a new program."""

    method: str
    max_iter: int = 0
    gtol: float = 0.0
    xtol: float = 0.0
    optimizer: Any = None


def _make_plan(family, method, optimizer, fixed, max_iter, tol, dtype) -> _Plan:
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

    if method == "auto":
        method = "closed_form" if family.has_closed_form and not fixed else "newton"
    if method == "closed_form":
        if not family.has_closed_form:
            raise ValueError(f"{family.name} has no closed-form MLE; use method='newton' or 'auto'")
        if fixed:
            raise ValueError(
                "method='closed_form' cannot hold parameters fixed; use method='newton'"
            )
        return _Plan("closed_form")

    kind = method if method in ("newton", "lbfgs") else "first_order"
    if max_iter is None:
        max_iter = _MAX_ITER[kind]
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if tol is None:
        tol = _GTOL[kind][0 if dtype == np.float64 else 1]
    if not isinstance(tol, (int, float, np.floating)) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if method in ("lbfgs", "adam", "sgd"):
        optimizer = default_optimizer(method)
    return _Plan(method, int(max_iter), float(tol), float(np.sqrt(tol)), optimizer)


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
) -> FitResult:
    """Fit ``fam`` to the 1-D sample ``x`` by maximum likelihood.

    Args:
        fam: a family (``jm.Gamma()``), family class or registered name.
        x: the observations (array-like, 1-D). Never modified.
        weights: optional non-negative frequency weights, same shape as ``x``.
        method: ``"auto"`` (closed form where the family has one, else
            Newton), ``"closed_form"``, ``"newton"`` (damped Newton with exact
            Hessians, L-BFGS steps where the Hessian is not definite),
            ``"lbfgs"`` (``optax.lbfgs``), ``"adam"`` or ``"sgd"``.
        optimizer: any optax ``GradientTransformation``; it then does the
            steps (on the standardized coordinates described in this module).
        init: starting values for some or all parameters.
        fixed: parameters held at given values; they get no standard error.
        max_iter: iteration budget (default by method).
        tol: gradient tolerance in standardized coordinates (default by
            method and dtype); the step tolerance is ``sqrt(tol)``.

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
    family = resolve(fam)
    xv = validate_data(family, x)
    dtype = xv.dtype
    w = validate_weights(weights, xv.shape[0], dtype)
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
    plan = _make_plan(family, method, optimizer, fixed_v, max_iter, tol, np.dtype(dtype))

    out = _fit_program(family, plan, xv, w, init_v, fixed_v)
    free = tuple(k for k in family.param_names if k not in fixed_v)
    n_params = int(out.pop("n_params"))
    # jit returns dicts with sorted keys: restore the family's parameter order.
    out["params"] = {k: out["params"][k] for k in family.param_names}
    out["stderr"] = {k: out["stderr"][k] for k in free}
    result = FitResult(family=family, method=plan.method, free_names=free, n_params=n_params, **out)
    note = family.diagnose(result.params, xv)
    if note:
        warnings.warn(f"{family.name}: {note}", ModelWarning, stacklevel=2)
    if not bool(result.converged):
        warnings.warn(
            f"{family.name} fit ({plan.method}) did not converge: {result.message}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def _standardizing_scale(hess: jax.Array) -> jax.Array:
    """``sqrt(diag H)``, with 1 where that is not a positive finite number."""
    d = jnp.diag(hess)
    return jnp.where(jnp.isfinite(d) & (d > 0), jnp.sqrt(jnp.abs(d)), 1.0)


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


def _solver(plan: _Plan):
    if plan.method == "newton":
        return Newton()
    return OptaxSolver(plan.optimizer)


@partial(jax.jit, static_argnums=(0, 1))
def _fit_program(family: Family, plan: _Plan, x, w, init, fixed) -> dict[str, Any]:
    free = tuple(k for k in family.param_names if k not in fixed)
    n = total_weight(x, w)

    def negative_mean_loglik(u_flat, unflatten):
        params = {**family.to_constrained(unflatten(u_flat)), **fixed}
        return -total_loglik(family, params, x, w) / n

    if plan.method == "closed_form":
        estimate = {k: jnp.asarray(v, x.dtype) for k, v in family.closed_form(x, w).items()}
        u_hat, unflatten = flatten_params(family.to_unconstrained(estimate), free)
        f = partial(negative_mean_loglik, unflatten=unflatten)
        _, grad_u, hess_u = value_grad_hessian(f, u_hat)
        grad_norm = jnp.max(jnp.abs(grad_u / _standardizing_scale(hess_u)))
        n_iter = jnp.asarray(0, jnp.int32)
        step_norm = jnp.asarray(0.0, x.dtype)
        status = jnp.asarray(Status.CONVERGED, jnp.int32)
    else:
        start = {**family.init(x, w), **init}
        start = {k: jnp.asarray(start[k], x.dtype) for k in free}
        u0, unflatten = flatten_params(family.to_unconstrained(start), free)
        f = partial(negative_mean_loglik, unflatten=unflatten)
        value0, grad0, hess0 = value_grad_hessian(f, u0)
        scale = _standardizing_scale(hess0)
        solver = _solver(plan)
        state = iterative_solve(
            solver,
            lambda z: f(u0 + z / scale),
            jnp.zeros_like(u0),
            (value0, grad0 / scale, hess0 / jnp.outer(scale, scale)),
            max_iter=plan.max_iter,
            gtol=plan.gtol,
            xtol=plan.xtol,
        )
        u_hat = u0 + state.z / scale
        if family.reorders_params:  # label switching: move to the canonical point
            canonical = family.canonicalize(family.to_constrained(unflatten(u_hat)))
            u_hat, _ = flatten_params(
                family.to_unconstrained({k: canonical[k] for k in free}), free
            )
            hess_u = jax.hessian(f)(u_hat)
        elif isinstance(solver, Newton):  # the last Hessian is at the estimate
            hess_u = state.extra.hess * jnp.outer(scale, scale)
        else:
            hess_u = jax.hessian(f)(u_hat)
        grad_norm = jnp.max(jnp.abs(solver.convergence_grad(state.grad, state.extra)))
        n_iter, step_norm, status = state.n_iter, state.step_norm, state.status
        # f is the negative mean log-likelihood (canonicalizing a mixture keeps it).
        loglik = -n * state.value
        estimate = family.to_constrained(unflatten(u_hat))

    params = {k: (fixed[k] if k in fixed else estimate[k]) for k in family.param_names}
    if plan.method == "closed_form":  # direct: u may be infinite on a boundary
        loglik = total_loglik(family, params, x, w)
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
    return {
        "params": params,
        "loglik": loglik,
        "n": n,
        "n_iter": n_iter,
        "grad_norm": grad_norm,
        "step_norm": step_norm,
        "status": status,
        "cov": cov,
        "stderr": stderr,
        "n_params": u_hat.shape[0],
    }
