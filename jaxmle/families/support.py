"""Supports of distributions: which data values a family can have produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Support",
    "binary",
    "nonnegative_integers",
    "nonnegative_reals",
    "positive_reals",
    "real_line",
]


@dataclass(frozen=True)
class Support:
    """The set of values a family assigns positive density (or mass) to.

    Attributes:
        description: the set in words, used in error messages.
        contains: elementwise numpy membership test on finite values.
        discrete: True for a count or binary support (integers only).
    """

    description: str
    contains: Callable[[np.ndarray], np.ndarray]
    discrete: bool = False

    def __repr__(self) -> str:
        return f"Support({self.description})"


real_line = Support("the real line", lambda x: np.ones(np.shape(x), dtype=bool))
positive_reals = Support("x > 0", lambda x: x > 0)
nonnegative_reals = Support("x >= 0", lambda x: x >= 0)
nonnegative_integers = Support(
    "the integers 0, 1, 2, ...", lambda x: (x >= 0) & (x == np.floor(x)), discrete=True
)
binary = Support("{0, 1}", lambda x: (x == 0) | (x == 1), discrete=True)
