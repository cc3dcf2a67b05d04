"""The functional core: log-likelihood, score and observed information at
given (constrained) parameters."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import jax

from jaxmle.families.base import flatten_params
from jaxmle.families.registry import resolve
from jaxmle.objective import total_loglik
from jaxmle.validation import validate_data, validate_params, validate_weights

__all__ = ["fisher_information", "loglik", "observed_information", "score"]


def _prepare(fam, params, x, weights):
    family = resolve(fam)
    xv = validate_data(family, x)
    w = validate_weights(weights, xv.shape[0], xv.dtype)
    p = validate_params(family, params, xv.dtype)
    return family, p, xv, w


def loglik(fam, params: Mapping[str, Any], x, weights=None) -> jax.Array:
    r"""Total log-likelihood :math:`\sum_i w_i \log f(x_i \mid \theta)`.

    Example:
        >>> import jaxmle as jm
        >>> float(jm.loglik("exponential", {"rate": 2.0}, [0.5]))  # log 2 - 1
        -0.30685...
    """
    family, p, xv, w = _prepare(fam, params, x, weights)
    return _loglik_jit(family, p, xv, w)


def score(fam, params: Mapping[str, Any], x, weights=None) -> dict[str, jax.Array]:
    r"""The score :math:`\nabla_\theta \ell(\theta)`, a dict like ``params``."""
    family, p, xv, w = _prepare(fam, params, x, weights)
    g = _score_jit(family, p, xv, w)
    return {k: g[k] for k in family.param_names}  # jit sorts dict keys


def fisher_information(fam, params: Mapping[str, Any], x, weights=None) -> jax.Array:
    r"""Observed information :math:`-\nabla^2_\theta \ell(\theta)`.

    A ``(p, p)`` matrix over the parameters in the family's ``param_names``
    order (the constrained, user-facing parametrization).
    """
    family, p, xv, w = _prepare(fam, params, x, weights)
    return _information_jit(family, p, xv, w)


def observed_information(family, params, x, w, names) -> jax.Array:
    """Traceable ``-hessian`` of the log-likelihood over the parameters ``names``
    (others held at their values), flattened in that order."""
    free = {k: params[k] for k in names}
    flat, unravel = flatten_params(free, names)

    def ll(v):
        return total_loglik(family, {**params, **unravel(v)}, x, w)

    return -jax.hessian(ll)(flat)


@partial(jax.jit, static_argnums=0)
def _loglik_jit(family, p, x, w):
    return total_loglik(family, p, x, w)


@partial(jax.jit, static_argnums=0)
def _score_jit(family, p, x, w):
    return jax.grad(lambda q: total_loglik(family, q, x, w))(p)


@partial(jax.jit, static_argnums=0)
def _information_jit(family, p, x, w):
    return observed_information(family, p, x, w, family.param_names)
