"""The typed output of a fit program, and the estimates made from it.

Every path (in memory, batched, streamed, sharded) ends in a
:class:`FitOutput`; :func:`finish` (one compiled program per family and
parameter layout, shared by every data size) turns its unconstrained point and
Hessian into :class:`Estimates`: the parameters, their covariance by the delta
method, and standard errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.standardize import Standardization
from jaxmle.families import constraints as C
from jaxmle.families.base import Family, flatten_params
from jaxmle.linalg import sym_inv
from jaxmle.solvers.newton import NewtonState, scaled_gradient

__all__ = [
    "Estimates",
    "FitOutput",
    "SolverReport",
    "estimates_at",
    "finish",
    "finish_body",
    "finish_program",
    "in_order",
    "log_coordinates",
    "n_free_params",
    "newton_report",
]


class SolverReport(NamedTuple):
    """How the solver ended (arrays, so that they can be ``vmap``-ed)."""

    n_iter: jax.Array
    grad_norm: jax.Array  # max |g| in units of the local curvature
    step_norm: jax.Array
    status: jax.Array  # a jaxmle.status.Status code


class FitOutput(NamedTuple):
    """What a fit program returns, before the estimates are made.

    ``u_parts`` is the estimate in unconstrained coordinates (``{free name:
    array}``), ``hess_u`` the Hessian there of the negative mean
    log-likelihood, ``exact`` the constrained estimate where it is known more
    exactly than by mapping ``u`` back (a closed form), else ``None``.
    """

    u_parts: dict[str, jax.Array]
    hess_u: jax.Array
    exact: dict[str, jax.Array] | None
    loglik: jax.Array
    n: jax.Array
    n_passes: jax.Array
    report: SolverReport
    standard: Standardization | None = None


class Estimates(NamedTuple):
    """The parameters (fixed ones included, in the family's order), the
    covariance of the free ones (constrained parametrization) and their
    standard errors."""

    params: dict[str, jax.Array]
    cov: jax.Array
    stderr: dict[str, jax.Array]


def newton_report(state: NewtonState) -> SolverReport:
    """The :class:`SolverReport` of a finished Newton solve."""
    return SolverReport(
        n_iter=jnp.maximum(state.n_iter, 0),
        grad_norm=jnp.max(jnp.abs(scaled_gradient(state.grad, state.hess))),
        step_norm=state.step_norm,
        status=state.status,
    )


def n_free_params(u_parts: Mapping[str, Any]) -> int:
    """The number of free scalar parameters (the dimension of ``u``)."""
    return int(sum(np.size(v) for v in jax.tree.leaves(u_parts)))


# The curvature, per observation, of the negative mean log-likelihood along a
# log-parameter below which the parameter is at a limit of its range (a Student
# t's df, a negative binomial's r running off towards the normal and Poisson
# limits: the curvature falls as 1/df^2): it gets no standard error, and the
# others' are those with it held (as for a boundary parameter). eps^(3/4):
# 2e-12 in float64, 6e-6 in float32 (where rounding hides smaller curvatures).
_FLAT_POWER = 0.75


def log_coordinates(family: Family, free, u_parts) -> tuple[bool, ...]:
    """Which coordinates of ``u`` are logs of positive parameters: those that
    may run off to a limit of their range (a Student t's df), held by Newton
    (its ``limits``) and by the covariance below."""
    return tuple(
        bool(family.constraints[k] is C.positive)
        for k in free
        for _ in range(int(np.size(u_parts[k])))
    )


def _cov_with_limits(family, free, u_parts, jac, info_u, n):
    """``J info_u^{-1} J^T``, with parameters at a limit held (see
    ``_FLAT_POWER``; ``n``: the number of observations behind ``info_u``)."""
    logs = log_coordinates(family, free, u_parts)
    if not any(logs):
        return jac @ sym_inv(info_u) @ jac.T
    floor = n * float(np.finfo(info_u.dtype).eps) ** _FLAT_POWER
    flat = jnp.asarray(logs) & ~(jnp.diag(info_u) > floor)
    keep = ~flat
    both = keep[:, None] & keep[None, :]
    held = jnp.where(both, info_u, jnp.eye(info_u.shape[0], dtype=info_u.dtype))
    cov_u = jnp.where(both, sym_inv(held), 0.0)
    # A parameter is held with its own unconstrained coordinates (blocks by name).
    c_parts = family.to_constrained(u_parts)
    c_names = np.concatenate([np.full(np.size(c_parts[k]), i) for i, k in enumerate(free)])
    u_names = np.concatenate([np.full(np.size(u_parts[k]), i) for i, k in enumerate(free)])
    owner = c_names[:, None] == u_names[None, :]
    touched = jnp.any(jnp.asarray(owner) & flat[None, :], axis=1)
    return jnp.where(touched[:, None] | touched[None, :], jnp.nan, jac @ cov_u @ jac.T)


def _delta_method_cov(family, free, unflatten, u_hat, jac, info_u, n):
    """``J info_u^{-1} J^T``; parameters whose MLE sits on a boundary of the
    support (``family.boundary_params``, e.g. pareto's scale = min(x)) are held
    at the estimate: the others' covariance comes from the rest of the
    information matrix, and theirs is NaN (no regular standard error exists)."""
    boundary = [k for k in free if k in family.boundary_params]
    if not boundary:
        return _cov_with_limits(family, free, unflatten(u_hat), jac, info_u, n)
    u_parts = unflatten(u_hat)
    u_keep = np.concatenate([np.full(np.size(u_parts[k]), k not in boundary) for k in free])
    c_parts = family.to_constrained(u_parts)
    c_keep = np.concatenate([np.full(np.size(c_parts[k]), k not in boundary) for k in free])
    idx = np.flatnonzero(u_keep)
    sub = jac[:, idx] @ sym_inv(info_u[np.ix_(idx, idx)]) @ jac[:, idx].T
    mask = np.outer(c_keep, c_keep)
    return jnp.where(mask, sub, jnp.nan)


def estimates_at(
    family: Family, fixed, free, unflatten, u_hat, hess_u, n, estimate=None
) -> Estimates:
    """Parameters, covariance and standard errors at the estimate ``u_hat``,
    where ``hess_u`` is the Hessian of the negative mean log-likelihood
    (``estimate``: the constrained values, when known more exactly than by
    mapping ``u_hat`` back, as for a closed form). Traceable."""
    if estimate is None:
        estimate = family.to_constrained(unflatten(u_hat))
    params = {k: (fixed[k] if k in fixed else estimate[k]) for k in family.param_names}
    # Delta method: cov(theta) = J (n H_u)^{-1} J^T with J = d theta / d u.
    jac = jax.jacobian(lambda u: flatten_params(family.to_constrained(unflatten(u)), free)[0])(
        u_hat
    )
    unit_info = family.unit_information(estimate | fixed)
    if unit_info is None:
        cov = _delta_method_cov(family, free, unflatten, u_hat, jac, n * hess_u, n)
    else:  # a non-smooth likelihood: the expected information instead
        idx = np.array([family.param_names.index(k) for k in free])
        cov = sym_inv(n * unit_info[np.ix_(idx, idx)])
    _, unflatten_free = flatten_params(params, free)
    stderr = unflatten_free(jnp.sqrt(jnp.diag(cov)))
    return Estimates(params, cov, stderr)


def finish_body(family: Family, fixed, free, out: FitOutput) -> Estimates:
    """:class:`Estimates` from a program's output, in the data's units
    (traceable; ``fixed`` in the data's units)."""
    std = out.standard
    fixed_s = fixed if std is None else std.params_in(family, fixed)
    u_hat, unflatten = flatten_params(out.u_parts, free)
    est = estimates_at(family, fixed_s, free, unflatten, u_hat, out.hess_u, out.n, out.exact)
    if std is None:
        return est
    return Estimates(*std.estimates_out(family, est.params, est.cov, est.stderr, fixed))


def _finish_arrays(family, fixed, free, out):
    return finish_body(family, fixed, free, out)


# A program of its own, compiled once per family and parameter layout and
# shared by every data size (and by streamed and sharded fits).
finish_program = jit_fit(_finish_arrays, static_argnums=(0, 2))


def finish(family: Family, fixed, free, out: FitOutput) -> Estimates:
    """:class:`Estimates` of ``out`` (host entry: the compiled finish program)."""
    est = finish_program(family, fixed, free, out)
    return in_order(family, free, est)


def in_order(family: Family, free, est: Estimates) -> Estimates:
    """``est`` with its parameters in the family's order (a compiled program
    returns dicts with sorted keys)."""
    return Estimates(
        params={k: est.params[k] for k in family.param_names},
        cov=est.cov,
        stderr={k: est.stderr[k] for k in free},
    )
