"""Supports of distributions: which data values a family can have produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

__all__ = [
    "Support",
    "binary",
    "circle",
    "integers_up_to",
    "nonnegative_integers",
    "nonnegative_reals",
    "positive_integers",
    "positive_reals",
    "real_line",
    "real_vectors",
    "simplex_rows",
    "unit_interval",
]


@dataclass(frozen=True)
class Support:
    """The set of values a family assigns positive density (or mass) to.

    Attributes:
        description: the set in words, used in error messages.
        contains: elementwise membership test on finite values, written with
            ``jax.numpy`` so that it runs inside the fit on the device (and on
            numpy arrays on the host).
        discrete: True for a count or binary support (integers only).

    For multivariate families (``event_ndim == 1``), ``contains`` takes the
    ``(N, d)`` data and returns one bool per row.
    """

    description: str
    contains: Callable[[Any], Any]
    discrete: bool = False

    def __repr__(self) -> str:
        return f"Support({self.description})"


real_line = Support("the real line", lambda x: jnp.ones(jnp.shape(x), dtype=bool))
positive_reals = Support("x > 0", lambda x: x > 0)
nonnegative_reals = Support("x >= 0", lambda x: x >= 0)
nonnegative_integers = Support(
    "the integers 0, 1, 2, ...", lambda x: (x >= 0) & (x == jnp.floor(x)), discrete=True
)
binary = Support("{0, 1}", lambda x: (x == 0) | (x == 1), discrete=True)
unit_interval = Support("0 < x < 1", lambda x: (x > 0) & (x < 1))
circle = Support("-pi <= x <= pi (angles in radians)", lambda x: (x >= -jnp.pi) & (x <= jnp.pi))
positive_integers = Support(
    "the integers 1, 2, 3, ...", lambda x: (x >= 1) & (x == jnp.floor(x)), discrete=True
)


def integers_up_to(n: int) -> Support:
    """``{0, 1, ..., n}`` (a binomial with ``n`` trials)."""
    return Support(
        f"the integers 0, 1, ..., {n}",
        lambda x: (x >= 0) & (x <= n) & (x == jnp.floor(x)),
        discrete=True,
    )


real_vectors = Support("rows of finite reals", lambda x: jnp.all(jnp.isfinite(x), axis=-1))
simplex_rows = Support(
    "rows of positive numbers that sum to 1",
    lambda x: jnp.all(x > 0, axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1.0) < 1e-6),
)
