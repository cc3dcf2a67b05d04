"""The log-likelihood as a function of parameters: weighted, accurate sums.

float32 is the GPU default, and a naive running sum of 10^6 float32 terms can
lose four digits. :func:`accurate_sum` sums in blocks (a two-level pairwise
sum), so the rounding error grows like ``block + n / block`` ulps instead of
``n``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxmle.families.base import Family

__all__ = ["accurate_sum", "loglik_terms", "total_loglik", "total_weight"]

_BLOCK = 1024


def accurate_sum(v: jax.Array) -> jax.Array:
    """Sum over axis 0 by blocks of 1024, then over the block sums."""
    n = v.shape[0]
    if n <= _BLOCK:
        return jnp.sum(v, axis=0)
    n_blocks = -(-n // _BLOCK)
    padded = jnp.pad(v, [(0, n_blocks * _BLOCK - n)] + [(0, 0)] * (v.ndim - 1))
    blocks = padded.reshape((n_blocks, _BLOCK, *v.shape[1:]))
    return jnp.sum(jnp.sum(blocks, axis=1), axis=0)


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
