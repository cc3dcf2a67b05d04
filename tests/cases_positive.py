"""Cases for the families on the positive half-line (positive.py)."""

import numpy as np
from cases import Case

# scipy's own MLE with its location pinned at 0, as in our parametrizations.
NO_LOC = {"floc": 0}


def _gpd_draw(xi, sigma):
    # Inverse cdf: sigma * expm1(xi E) / xi with E ~ Exp(1).
    return lambda r, n: sigma * np.expm1(xi * r.exponential(size=n)) / xi


CASES = [
    Case(
        "exponential",
        {"rate": 0.7},
        lambda r, n: r.exponential(1 / 0.7, n),
        lambda r: {"rate": r.uniform(0.1, 5)},
        NO_LOC,
    ),
    Case(
        "gamma",
        {"shape": 2.5, "rate": 1.5},
        lambda r, n: r.gamma(2.5, 1 / 1.5, n),
        lambda r: {"shape": r.uniform(0.3, 8), "rate": r.uniform(0.2, 5)},
        NO_LOC,
        check_fixed=True,
    ),
    Case(
        "weibull",
        {"shape": 1.7, "scale": 3.0},
        lambda r, n: 3.0 * r.weibull(1.7, n),
        lambda r: {"shape": r.uniform(0.4, 6), "scale": r.uniform(0.3, 5)},
        NO_LOC,
        check_fixed=True,
    ),
    Case(
        "lognormal",
        {"loc": 0.3, "scale": 0.8},
        lambda r, n: r.lognormal(0.3, 0.8, n),
        lambda r: {"loc": r.normal(0, 1), "scale": r.uniform(0.2, 2)},
        NO_LOC,
    ),
    Case(
        "inverse_gaussian",
        {"mean": 1.5, "shape": 3.0},
        lambda r, n: r.wald(1.5, 3.0, n),
        lambda r: {"mean": r.uniform(0.3, 4), "shape": r.uniform(0.5, 10)},
        NO_LOC,
        check_fixed=True,
    ),
    Case(
        "half_normal",
        {"scale": 2.0},
        lambda r, n: np.abs(r.normal(0.0, 2.0, n)),
        lambda r: {"scale": r.uniform(0.2, 5)},
        NO_LOC,
    ),
    Case(
        "rayleigh",
        {"scale": 1.3},
        lambda r, n: r.rayleigh(1.3, n),
        lambda r: {"scale": r.uniform(0.2, 5)},
        NO_LOC,
    ),
    Case(
        "loglogistic",
        {"shape": 3.0, "scale": 2.0},
        lambda r, n: 2.0 * np.exp(r.logistic(0.0, 1 / 3.0, n)),
        lambda r: {"shape": r.uniform(0.5, 8), "scale": r.uniform(0.2, 5)},
        NO_LOC,
        check_fixed=True,
    ),
    Case(
        "inverse_gamma",
        {"shape": 3.0, "scale": 2.0},
        lambda r, n: 2.0 / r.gamma(3.0, 1.0, n),
        lambda r: {"shape": r.uniform(0.5, 8), "scale": r.uniform(0.2, 5)},
        NO_LOC,
    ),
    Case(
        "nakagami",
        {"shape": 1.5, "scale": 2.0},
        lambda r, n: 2.0 * np.sqrt(r.gamma(1.5, 1 / 1.5, n)),
        lambda r: {"shape": r.uniform(0.3, 6), "scale": r.uniform(0.3, 5)},
        NO_LOC,
    ),
    Case(
        "chi2",
        {"df": 4.5},
        lambda r, n: r.chisquare(4.5, n),
        lambda r: {"df": r.uniform(0.5, 20)},
        {**NO_LOC, "fscale": 1.0},
    ),
    Case(
        "frechet",
        {"shape": 2.5, "scale": 1.5},
        lambda r, n: 1.5 * r.exponential(size=n) ** (-1 / 2.5),
        # Moderate points: far out, (x/scale)^-shape reaches 1e7 and scipy's logcdf
        # (and logpdf) underflow to -inf where ours stay finite and correct.
        lambda r: {"shape": r.uniform(0.5, 4), "scale": r.uniform(0.5, 3)},
        NO_LOC,
    ),
    Case(
        "burr",
        {"c": 3.0, "k": 1.5, "scale": 2.0},
        lambda r, n: 2.0 * np.expm1(r.exponential(size=n) / 1.5) ** (1 / 3.0),
        lambda r: {"c": r.uniform(0.5, 6), "k": r.uniform(0.3, 4), "scale": r.uniform(0.3, 5)},
        NO_LOC,
        check_fixed=True,
    ),
    Case(
        "pareto",
        {"alpha": 2.5, "scale": 1.5},
        lambda r, n: 1.5 * np.exp(r.exponential(size=n) / 2.5),
        # scale below the smallest possible draw, 1.5, so the data are in the support.
        lambda r: {"alpha": r.uniform(0.3, 6), "scale": r.uniform(0.2, 1.49)},
        NO_LOC,
        boundary_mle=True,
    ),
    Case(
        "generalized_pareto",
        {"shape": 0.25, "scale": 2.0},
        _gpd_draw(0.25, 2.0),
        # shape >= 0: the draws are unbounded.
        lambda r: {"shape": r.uniform(0.0, 0.8), "scale": r.uniform(0.3, 5)},
        NO_LOC,
        id="generalized_pareto-heavy",
    ),
    Case(
        "generalized_pareto",
        {"shape": -0.3, "scale": 2.0},
        _gpd_draw(-0.3, 2.0),
        # Draws end at 2 / 0.3 = 6.67; every random point's support reaches past 8.
        lambda r: {"shape": r.uniform(-0.25, 0.5), "scale": r.uniform(2.2, 5)},
        NO_LOC,
        id="generalized_pareto-bounded",
    ),
]
