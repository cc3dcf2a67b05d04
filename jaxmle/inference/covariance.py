r"""Uncertainty after a fit: information matrices, covariance choices, tests.

Everything is computed in the solver's unconstrained coordinates :math:`u`
(where every parametrization, simplexes and Cholesky factors included, is a
plain vector) and carried to the constrained parameters :math:`\theta` by the
delta method, :math:`\Sigma_\theta = J \Sigma_u J^T` with
:math:`J = \partial\theta/\partial u`:

* ``"observed"``: :math:`\Sigma_u = A^{-1}`, :math:`A = -\nabla^2_u \ell(\hat u)`
  (the autodiff Hessian of the total log-likelihood);
* ``"expected"``: :math:`\Sigma_u = (n\,\mathcal I_u)^{-1}` with the expected
  information of one observation :math:`\mathcal I_u = J^T \mathcal I_\theta J`
  from the family's closed form (``Family.expected_information``), else an
  exact sum over a finite support (``Family.support_values``), else an
  average of :math:`-\nabla^2_u \log f(X)` over ``2**14`` draws from the
  fitted model (a Monte Carlo estimate: about 1% noise);
* ``"robust"``: the sandwich :math:`\Sigma_u = A^{-1} B A^{-1}` with
  :math:`B = \sum_i w_i s_i s_i^T` from the per-sample scores
  :math:`s_i = \nabla_u \log f(x_i)` (``vmap`` of ``grad``): valid when the
  model is misspecified (Huber, White).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.objective import observed_information_matrix
from jaxmle._engine.validation import free_names
from jaxmle.families.base import Family, flatten_params
from jaxmle.linalg import sym_inv

__all__ = [
    "COV_TYPES",
    "INFORMATION_KINDS",
    "PARAMETRIZATIONS",
    "check_cov_type",
    "covariance",
    "covariance_for",
    "covariance_many",
    "information_program",
    "with_cov_type",
]

COV_TYPES = ("observed", "expected", "robust")
INFORMATION_KINDS = ("observed", "expected")
PARAMETRIZATIONS = ("constrained", "unconstrained")
_MC_DRAWS = 1 << 14


def check_cov_type(cov_type: Any) -> str:
    """``cov_type``, or a ``ValueError`` listing the choices."""
    if not isinstance(cov_type, str) or cov_type not in COV_TYPES:
        raise ValueError(f"unknown cov_type {cov_type!r}; choose one of {', '.join(COV_TYPES)}")
    return cov_type


def _coordinates(family: Family, params, free):
    """``(u_hat, theta(u))``: the unconstrained point and the map to the flat
    free constrained parameters."""
    u_hat, unflatten = flatten_params(family.to_unconstrained({k: params[k] for k in free}), free)

    def theta(u):
        return flatten_params(family.to_constrained(unflatten(u)), free)[0]

    def full(u):
        return {**params, **family.to_constrained(unflatten(u))}

    return u_hat, theta, full


def _observed_u(family, full, u_hat, x, w):
    def total(u):
        lp = family.logpdf(full(u), x)
        return jnp.sum(lp if w is None else jnp.where(w > 0, w * lp, 0.0))

    return -jax.hessian(total)(u_hat)


def _scores_u(family, full, u_hat, x):
    def one(xi):
        return jax.grad(lambda u: family.logpdf(full(u), xi[None])[0])(u_hat)

    return jax.vmap(one)(x)


def _expected_u(family, params, free, theta, full, u_hat, dtype):
    """The expected information of one observation in ``u``."""
    closed = family.expected_information(params)
    if closed is not None:
        idx = np.array([family.param_names.index(k) for k in free])
        jac = jax.jacfwd(theta)(u_hat)
        info = jnp.asarray(closed, dtype)[np.ix_(idx, idx)]
        return jac.T @ info @ jac

    def neg_hessian(xi):
        return -jax.hessian(lambda u: family.logpdf(full(u), xi[None])[0])(u_hat)

    values = family.support_values()
    if values is not None:
        values = jnp.asarray(values, dtype)
        prob = jnp.exp(family.logpdf(params, values))
        return jnp.einsum("k,kij->ij", prob, jax.vmap(neg_hessian)(values))
    draws = family.sample(params, jax.random.key(0), (_MC_DRAWS,)).astype(dtype)
    return jnp.mean(jax.vmap(neg_hessian)(draws), axis=0)


def covariance_u(family, fixed, params, x, w, n, cov_type: str):
    """``(u_hat, cov_u, jac)``: the covariance in ``u`` of the chosen type and
    ``J = d theta / d u`` at the estimate (traceable)."""
    free = free_names(family, fixed)
    u_hat, theta, full = _coordinates(family, params, free)
    jac = jax.jacfwd(theta)(u_hat)
    forced = family.unit_information(params)  # non-smooth log-density (Laplace)
    if cov_type == "expected" or forced is not None:
        info = n * _expected_u(family, params, free, theta, full, u_hat, u_hat.dtype)
    else:
        info = _observed_u(family, full, u_hat, x, w)
    inv = sym_inv(info)
    if cov_type != "robust":
        return u_hat, inv, jac
    s = _scores_u(family, full, u_hat, x)
    if w is not None:
        s = jnp.where(w[:, None] > 0, s, 0.0)
        meat = (s * w[:, None]).T @ s
    else:
        meat = s.T @ s
    return u_hat, inv @ meat @ inv, jac


def covariance(family, fixed, params, x, w, n, cov_type: str):
    """``(cov, stderr)`` of the free constrained parameters (traceable)."""
    free = free_names(family, fixed)
    _, cov_u, jac = covariance_u(family, fixed, params, x, w, n, cov_type)
    cov = jac @ cov_u @ jac.T
    _, unflatten_free = flatten_params({k: params[k] for k in free}, free)
    return cov, unflatten_free(jnp.sqrt(jnp.diag(cov)))


def _covariance_body(family, fixed_names, fixed, params, x, w, cov_type):
    n = jnp.asarray(x.shape[0], x.dtype) if w is None else jnp.sum(w)
    return covariance(family, fixed, params, x, w, n, cov_type)


_covariance_program = jit_fit(_covariance_body, size_arg=4, static_argnums=(0, 1, 6))


def _check_regular(family, cov_type):
    if family.boundary_params and cov_type != "observed":
        raise ValueError(
            f"cov_type={cov_type!r} is not available for {family.name}, whose MLE of "
            f"{', '.join(family.boundary_params)} sits on the boundary of the support"
        )


def covariance_for(family, fixed, params, x, w, cov_type):
    """Host entry: the ``cov_type`` covariance of a single fit."""
    _check_regular(family, cov_type)
    return _covariance_program(family, tuple(sorted(fixed)), fixed, params, x, w, cov_type)


def _covariance_many_body(family, fixed_names, fixed, params, x, w, cov_type):
    def one(p, xb, wb):
        n = jnp.asarray(xb.shape[0], xb.dtype) if wb is None else jnp.sum(wb)
        return covariance(family, fixed, p, xb, wb, n, cov_type)

    return jax.vmap(one)(params, x, w)


_covariance_many_program = jit_fit(_covariance_many_body, size_arg=4, static_argnums=(0, 1, 6))


def covariance_many(family, fixed, params, x, w, cov_type):
    """Host entry: the ``cov_type`` covariance of every fit of a batch."""
    _check_regular(family, cov_type)
    return _covariance_many_program(
        family, tuple(sorted(fixed)), fixed, dict(params), x, w, cov_type
    )


def _information_body(family, p, x, w, kind: str, parametrization: str) -> jax.Array:
    """The ``kind`` information of the whole sample at ``p`` in ``parametrization``
    (``"constrained"``: flattened in ``param_names`` order; ``"unconstrained"``)."""
    names = family.param_names
    n = jnp.asarray(x.shape[0], x.dtype) if w is None else jnp.sum(w)
    u_hat, theta, full = _coordinates(family, p, names)
    if parametrization == "unconstrained":
        if kind == "observed":
            return _observed_u(family, full, u_hat, x, w)
        return n * _expected_u(family, p, names, theta, full, u_hat, u_hat.dtype)
    if kind == "observed":
        return observed_information_matrix(family, p, x, w, names)
    closed = family.expected_information(p)
    if closed is not None:
        return n * jnp.asarray(closed, x.dtype)
    # theta-space from u-space: I_theta = J^{-T} I_u J^{-1} (J square here).
    jac = jax.jacfwd(theta)(u_hat)
    info_u = n * _expected_u(family, p, names, theta, full, u_hat, u_hat.dtype)
    inv_jac = jnp.linalg.pinv(jac)
    return inv_jac.T @ info_u @ inv_jac


information_program = jit_fit(_information_body, size_arg=2, static_argnums=(0, 4, 5))


def with_cov_type(result: Any, fixed, x, w, cov_type: str, *, batched: bool = False) -> Any:
    """``result`` (a fit of ``x``, or a batch of fits of its rows when
    ``batched``) with ``cov`` and ``stderr`` of ``cov_type`` (``"observed"``:
    unchanged)."""
    if cov_type == "observed":
        return result
    program = covariance_many if batched else covariance_for
    cov, stderr = jax.device_get(program(result.family, fixed, result.params, x, w, cov_type))
    stderr = {k: np.asarray(stderr[k]) for k in result.free_names}  # jit sorts dict keys
    cov = np.asarray(cov)
    return dataclasses.replace(result, cov=cov, stderr=stderr, cov_type=cov_type)
