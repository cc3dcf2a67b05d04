"""One list of families for the registry-driven tests: how to draw data, a
parameter point, and scipy's fit for the same model (``None``: use the closed
form, as scipy.stats has no fit for that family)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, float]  # a true parameter point (data are drawn from it)
    draw: Callable[[np.random.Generator, int], np.ndarray]
    random_params: Callable[[np.random.Generator], dict[str, float]]
    scipy_fit: Callable[[np.ndarray], Any] | None  # -> frozen scipy distribution


CASES = [
    Case(
        "normal",
        {"loc": 1.5, "scale": 2.0},
        lambda r, n: r.normal(1.5, 2.0, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        lambda x: stats.norm(*stats.norm.fit(x)),
    ),
    Case(
        "lognormal",
        {"loc": 0.3, "scale": 0.8},
        lambda r, n: r.lognormal(0.3, 0.8, n),
        lambda r: {"loc": r.normal(0, 1), "scale": r.uniform(0.2, 2)},
        lambda x: stats.lognorm(*stats.lognorm.fit(x, floc=0)),
    ),
    Case(
        "exponential",
        {"rate": 0.7},
        lambda r, n: r.exponential(1 / 0.7, n),
        lambda r: {"rate": r.uniform(0.1, 5)},
        lambda x: stats.expon(*stats.expon.fit(x, floc=0)),
    ),
    Case(
        "gamma",
        {"shape": 2.5, "rate": 1.5},
        lambda r, n: r.gamma(2.5, 1 / 1.5, n),
        lambda r: {"shape": r.uniform(0.3, 8), "rate": r.uniform(0.2, 5)},
        lambda x: stats.gamma(*stats.gamma.fit(x, floc=0)),
    ),
    Case(
        "weibull",
        {"shape": 1.7, "scale": 3.0},
        lambda r, n: 3.0 * r.weibull(1.7, n),
        lambda r: {"shape": r.uniform(0.4, 6), "scale": r.uniform(0.3, 5)},
        lambda x: stats.weibull_min(*stats.weibull_min.fit(x, floc=0)),
    ),
    Case(
        "logistic",
        {"loc": -1.0, "scale": 0.5},
        lambda r, n: r.logistic(-1.0, 0.5, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 4)},
        lambda x: stats.logistic(*stats.logistic.fit(x)),
    ),
    Case(
        "poisson",
        {"rate": 3.2},
        lambda r, n: r.poisson(3.2, n).astype(float),
        lambda r: {"rate": r.uniform(0.1, 20)},
        None,
    ),
    Case(
        "bernoulli",
        {"p": 0.3},
        lambda r, n: (r.random(n) < 0.3).astype(float),
        lambda r: {"p": r.uniform(0.02, 0.98)},
        None,
    ),
]

IDS = [c.name for c in CASES]
