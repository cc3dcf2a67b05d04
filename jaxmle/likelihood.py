"""The functional core at given (constrained) parameters: log-likelihood,
score, information matrices.

The entry points validate their input; :func:`total_loglik` is the traceable
core they share (no validation: for use inside ``jit``, e.g. in benchmarks).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import jax

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.objective import observed_information_matrix, total_loglik
from jaxmle._engine.validation import validate_data, validate_params, validate_weights
from jaxmle.families.base import Family
from jaxmle.families.censored import with_censoring
from jaxmle.families.registry import resolve
from jaxmle.inference.covariance import (
    INFORMATION_KINDS,
    PARAMETRIZATIONS,
    information_program,
)

__all__ = [
    "fisher_information",
    "information",
    "loglik",
    "observed_information",
    "score",
    "total_loglik",
]


def _prepare(fam, params, x, weights):
    family, x = with_censoring(resolve(fam), x)
    xv = validate_data(family, x)
    w = validate_weights(weights, xv.shape[0], xv.dtype)
    p = validate_params(family, params, xv.dtype)
    return family, p, xv, w


def loglik(fam: Family | str, params: Mapping[str, Any], x: Any, weights: Any = None) -> jax.Array:
    r"""Total log-likelihood :math:`\sum_i w_i \log f(x_i \mid \theta)`.

    Example:
        >>> import jaxmle as jm
        >>> float(jm.loglik("exponential", {"rate": 2.0}, [0.5]))  # log 2 - 1
        -0.30685...
    """
    family, p, xv, w = _prepare(fam, params, x, weights)
    return _loglik_jit(family, p, xv, w)


def score(
    fam: Family | str, params: Mapping[str, Any], x: Any, weights: Any = None
) -> dict[str, jax.Array]:
    r"""The score :math:`\nabla_\theta \ell(\theta)`, a dict like ``params``."""
    family, p, xv, w = _prepare(fam, params, x, weights)
    g = _score_jit(family, p, xv, w)
    return {k: g[k] for k in family.param_names}  # jit sorts dict keys


def observed_information(
    fam: Family | str, params: Mapping[str, Any], x: Any, weights: Any = None
) -> jax.Array:
    r"""Observed information :math:`-\nabla^2_\theta \ell(\theta)`.

    A ``(p, p)`` matrix over the parameters in the family's ``param_names``
    order (the constrained, user-facing parametrization).
    """
    family, p, xv, w = _prepare(fam, params, x, weights)
    return _information_jit(family, p, xv, w)


def fisher_information(
    fam: Family | str, params: Mapping[str, Any], x: Any, weights: Any = None
) -> jax.Array:
    """Deprecated: the *observed* information; use :func:`observed_information`
    (or :func:`information` with ``kind="expected"`` for Fisher's)."""
    warnings.warn(
        "jm.fisher_information is deprecated: it returns the observed information "
        "-hessian(loglik); use jm.observed_information (or jm.information(..., "
        "kind='expected') for the expected/Fisher information)",
        DeprecationWarning,
        stacklevel=2,
    )
    return observed_information(fam, params, x, weights)


def information(
    fam: Family | str,
    params: Any,
    x: Any,
    *,
    kind: str = "observed",
    parametrization: str = "constrained",
    weights: Any = None,
) -> jax.Array:
    r"""The information matrix of the whole sample at ``params``.

    Args:
        fam: a family, family class or registered name.
        params: ``{name: value}`` (all parameters).
        x: the observations.
        kind: ``"observed"`` (:math:`-\nabla^2 \ell`, autodiff) or
            ``"expected"`` (:math:`n\,\mathcal I`, see
            :mod:`jaxmle.inference.covariance`).
        parametrization: ``"constrained"`` (the parameters as given; flattened in
            ``param_names`` order) or ``"unconstrained"`` (the solver's ``u``).
        weights: optional frequency weights.

    In the constrained parametrization the observed information includes the
    score's curvature term; at the MLE both parametrizations are related by
    :math:`I_u = J^T I_\theta J`.
    """
    if kind not in INFORMATION_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose 'observed' or 'expected'")
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(
            f"unknown parametrization {parametrization!r}; choose 'constrained' or 'unconstrained'"
        )
    family, p, xv, w = _prepare(fam, params, x, weights)
    return information_program(family, p, xv, w, kind, parametrization)


def _loglik_body(family, p, x, w):
    return total_loglik(family, p, x, w)


def _score_body(family, p, x, w):
    return jax.grad(lambda q: total_loglik(family, q, x, w))(p)


def _information_body(family, p, x, w):
    return observed_information_matrix(family, p, x, w, family.param_names)


_loglik_jit = jit_fit(_loglik_body, size_arg=2, static_argnums=0)
_score_jit = jit_fit(_score_body, size_arg=2, static_argnums=0)
_information_jit = jit_fit(_information_body, size_arg=2, static_argnums=0)
