"""Small numerically stable helpers shared by the families."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["EULER_GAMMA", "HALF_LOG_2PI", "PI_SQ_OVER_6", "log1mexp", "matrix"]

HALF_LOG_2PI = 0.9189385332046727  # 0.5 * log(2 * pi)
EULER_GAMMA = 0.5772156649015329
PI_SQ_OVER_6 = 1.6449340668482264  # pi^2 / 6 = trigamma(1)


def log1mexp(t: jax.Array) -> jax.Array:
    r"""``log(1 - exp(-t))`` for ``t > 0``, accurate for small and large ``t``.

    Uses ``log(-expm1(-t))`` for ``t < log 2`` and ``log1p(-exp(-t))`` above
    (Maechler, "Accurately computing log(1 - exp(-|a|))", 2012).
    """
    t = jnp.asarray(t)
    small = t < jnp.log(2.0)
    safe_small = jnp.where(small, t, 1.0)
    safe_large = jnp.where(small, 1.0, t)
    return jnp.where(small, jnp.log(-jnp.expm1(-safe_small)), jnp.log1p(-jnp.exp(-safe_large)))


def nan_unless(ok):
    """``0`` where ``ok``, NaN elsewhere: a sufficient statistic that makes the
    sums non-finite for data outside the support (see ``Family.statistics``)."""
    import jax.numpy as jnp

    return jnp.where(ok, 0.0, jnp.nan)


def matrix(rows) -> jax.Array:
    """A ``(p, p)`` array from nested lists of scalars (arrays or Python numbers,
    which keep the arrays' dtype): the families' expected-information matrices."""
    return jnp.stack([jnp.stack([jnp.asarray(v) for v in row]) for row in rows])
