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
        contains: elementwise numpy test that a value lies in the set.
    """

    name: str
    description: str
    forward: Callable[[jax.Array], jax.Array]
    inverse: Callable[[jax.Array], jax.Array]
    contains: Callable[[np.ndarray], np.ndarray]

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
