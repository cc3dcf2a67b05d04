"""The log-likelihood as a function of parameters: weighted, accurate sums.

float32 is the GPU default, and a naive running sum of 10^6 float32 terms can
lose four digits: every sum here is :func:`jaxmle.reduction.accurate_sum`.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxmle.families.base import Family
from jaxmle.reduction import accurate_sum

__all__ = ["accurate_sum", "loglik_terms", "total_loglik", "total_weight"]


def loglik_terms(
    family: Family, params: Mapping[str, jax.Array], x: jax.Array, w: jax.Array | None
) -> jax.Array:
    """Per-observation weighted log-likelihood ``w_i * log f(x_i)``.

    Observations with weight 0 contribute exactly 0 (also where the density
    is not finite there), which is how masks and padding are expressed.
    """
    lp = family.logpdf(dict(params), x)
    if w is None:
        return lp
    return jnp.where(w > 0, w * lp, 0.0)


def total_loglik(
    family: Family, params: Mapping[str, jax.Array], x: jax.Array, w: jax.Array | None
) -> jax.Array:
    r""":math:`\ell(\theta) = \sum_i w_i \log f(x_i \mid \theta)`."""
    return accurate_sum(loglik_terms(family, params, x, w))


def total_weight(x: jax.Array, w: jax.Array | None) -> jax.Array:
    """The number of observations: ``len(x)``, or ``sum(w)`` with weights."""
    if w is None:
        return jnp.asarray(x.shape[0], dtype=x.dtype)
    return accurate_sum(w)
