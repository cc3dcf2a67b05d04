"""Cases for the first eight families (continuous.py, discrete.py)."""

from cases import Case
from scipy import stats

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
