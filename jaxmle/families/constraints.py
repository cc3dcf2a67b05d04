"""Parameter constraints as bijections between R and a parameter's valid set.

Solvers work on unconstrained reals ``u``; users see constrained values
``theta = forward(u)``. Each constraint also knows how to check a user-supplied
value (``contains``) and how to describe itself in error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Constraint", "positive", "real", "unit_interval"]


@dataclass(frozen=True)
class Constraint:
    """A bijection ``forward: R -> S`` with its inverse and a membership test.

    Attributes:
        name: short name used in messages ("real", "positive", ...).
        description: the set in words or symbols, e.g. "(0, inf)".
        forward: maps unconstrained ``u`` to the constrained value.
        inverse: maps a constrained value back to ``u``.
        contains: numpy test that a value lies in the set (elementwise for
            scalar constraints, one bool for a vector or matrix).
        event_ndim: 0 for a scalar parameter, 1 for a vector, 2 for a matrix.
    """

    name: str
    description: str
    forward: Callable[[jax.Array], jax.Array]
    inverse: Callable[[jax.Array], jax.Array]
    contains: Callable[[np.ndarray], np.ndarray]
    event_ndim: int = 0

    def __repr__(self) -> str:
        return f"constraints.{self.name}"


def _identity(u: jax.Array) -> jax.Array:
    return u


def _logit(p: jax.Array) -> jax.Array:
    # log(p) - log1p(-p) keeps precision for p near 0 and near 1.
    return jnp.log(p) - jnp.log1p(-p)


real = Constraint(
    name="real",
    description="(-inf, inf)",
    forward=_identity,
    inverse=_identity,
    contains=lambda v: np.isfinite(v),
)

# exp/log rather than softplus: the log-parametrization makes scale and rate
# parameters equivariant (a rescaling of the data is a shift in u), which keeps
# Newton's Hessian well conditioned whatever the units of the data.
positive = Constraint(
    name="positive",
    description="(0, inf)",
    forward=jnp.exp,
    inverse=jnp.log,
    contains=lambda v: np.isfinite(v) & (v > 0),
)

unit_interval = Constraint(
    name="unit_interval",
    description="(0, 1)",
    forward=jax.nn.sigmoid,
    inverse=_logit,
    contains=lambda v: (v > 0) & (v < 1),
)


def greater_than(lower: float) -> Constraint:
    """``(lower, inf)`` through ``lower + exp(u)``."""
    return Constraint(
        name=f"greater_than({lower:g})",
        description=f"({lower:g}, inf)",
        forward=lambda u: lower + jnp.exp(u),
        inverse=lambda v: jnp.log(v - lower),
        contains=lambda v: np.isfinite(v) & (v > lower),
    )


def interval(low: float, high: float) -> Constraint:
    """``(low, high)`` through a scaled sigmoid."""
    width = high - low
    return Constraint(
        name=f"interval({low:g}, {high:g})",
        description=f"({low:g}, {high:g})",
        forward=lambda u: low + width * jax.nn.sigmoid(u),
        inverse=lambda v: _logit((v - low) / width),
        contains=lambda v: (v > low) & (v < high),
    )


real_vector = Constraint(
    name="real_vector",
    description="a vector of finite reals",
    forward=_identity,
    inverse=_identity,
    contains=lambda v: bool(np.all(np.isfinite(v))),
    event_ndim=1,
)


def _simplex_forward(u: jax.Array) -> jax.Array:
    # Additive log-ratio: K-1 free logits against a last category pinned at 0.
    return jax.nn.softmax(jnp.concatenate([u, jnp.zeros((*u.shape[:-1], 1), u.dtype)], -1))


def _simplex_inverse(p: jax.Array) -> jax.Array:
    logp = jnp.log(p)
    return logp[..., :-1] - logp[..., -1:]


simplex = Constraint(
    name="simplex",
    description="probabilities > 0 that sum to 1",
    forward=_simplex_forward,
    inverse=_simplex_inverse,
    contains=lambda v: bool(
        np.ndim(v) == 1 and np.all(v > 0) and abs(float(np.sum(v)) - 1.0) < 1e-6
    ),
    event_ndim=1,
)


def _tril_size_to_dim(m: int) -> int:
    d = round((np.sqrt(8 * m + 1) - 1) / 2)
    if d * (d + 1) // 2 != m:
        raise ValueError(f"{m} is not a triangular number")
    return d


def _cholesky_forward(u: jax.Array) -> jax.Array:
    # u holds the d(d+1)/2 lower-triangular entries row by row; the diagonal
    # goes through exp so that it is positive.
    d = _tril_size_to_dim(u.shape[-1])
    rows, cols = np.tril_indices(d)
    vals = jnp.where(jnp.asarray(rows == cols), jnp.exp(u), u)
    return jnp.zeros((*u.shape[:-1], d, d), u.dtype).at[..., rows, cols].set(vals)


def _cholesky_inverse(chol: jax.Array) -> jax.Array:
    d = chol.shape[-1]
    rows, cols = np.tril_indices(d)
    vals = chol[..., rows, cols]
    return jnp.where(jnp.asarray(rows == cols), jnp.log(vals), vals)


def _is_lower_cholesky(v) -> bool:
    v = np.asarray(v)
    return bool(
        v.ndim == 2
        and v.shape[0] == v.shape[1]
        and np.all(np.isfinite(v))
        and np.allclose(v, np.tril(v))
        and np.all(np.diag(v) > 0)
    )


lower_cholesky = Constraint(
    name="lower_cholesky",
    description="lower-triangular matrices with a positive diagonal",
    forward=_cholesky_forward,
    inverse=_cholesky_inverse,
    contains=_is_lower_cholesky,
    event_ndim=2,
)


def _gram(chol: jax.Array) -> jax.Array:
    # Full float32 precision: the GPU's default matmul precision (TF32) loses
    # enough digits here to stall a float32 Newton fit of a covariance.
    return jnp.matmul(chol, jnp.swapaxes(chol, -1, -2), precision=jax.lax.Precision.HIGHEST)


def _is_positive_definite(v) -> bool:
    v = np.asarray(v, dtype=float)
    if v.ndim != 2 or v.shape[0] != v.shape[1] or not np.all(np.isfinite(v)):
        return False
    if not np.allclose(v, v.T, rtol=1e-8, atol=1e-12 * np.abs(v).max()):
        return False
    return bool(np.all(np.linalg.eigvalsh(v) > 0))


positive_definite = Constraint(
    name="positive_definite",
    description="symmetric positive-definite matrices",
    forward=lambda u: _gram(_cholesky_forward(u)),
    inverse=lambda cov: _cholesky_inverse(jnp.linalg.cholesky(cov)),
    contains=_is_positive_definite,
    event_ndim=2,
)
