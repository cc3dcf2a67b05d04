"""Cases for real_line.py: normal, logistic, student_t, cauchy, laplace, gumbel,
skew_normal, gev."""

from cases import Case
from scipy import stats

CASES = [
    Case(
        "normal",
        {"loc": 1.5, "scale": 2.0},
        lambda r, n: r.normal(1.5, 2.0, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        {},
        check_fixed=True,
    ),
    Case(
        "logistic",
        {"loc": -1.0, "scale": 0.5},
        lambda r, n: r.logistic(-1.0, 0.5, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 4)},
        {},
    ),
    Case(
        "student_t",
        {"df": 4.0, "loc": 1.0, "scale": 2.0},
        lambda r, n: 1.0 + 2.0 * r.standard_t(4.0, n),
        lambda r: {"df": r.uniform(1, 30), "loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        {},
        check_fixed=True,
    ),
    Case(
        "cauchy",
        {"loc": -0.5, "scale": 1.5},
        lambda r, n: -0.5 + 1.5 * r.standard_cauchy(n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        {},
    ),
    Case(
        "laplace",
        {"loc": 2.0, "scale": 0.7},
        lambda r, n: r.laplace(2.0, 0.7, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        {},
        # The log-likelihood is piecewise linear in loc (|x - loc|): its score
        # jumps at every observation, and its observed information in loc is 0,
        # so loc gets no Hessian-based standard error (NaN) and the
        # score-times-stderr check cannot apply. The MLE is the closed form (the
        # median, a kink for an odd count); Newton only matches it here because
        # with an even count the start (the interpolated median) already lies on
        # the flat top of the likelihood.
        boundary_mle=True,
    ),
    Case(
        "gumbel",
        {"loc": 1.0, "scale": 2.0},
        lambda r, n: r.gumbel(1.0, 2.0, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        {},
    ),
    Case(
        "skew_normal",
        {"shape": 4.0, "loc": -1.0, "scale": 2.0},
        lambda r, n: stats.skewnorm.rvs(4.0, -1.0, 2.0, size=n, random_state=r),
        # Points where the data (about -2 to 8) stay within ~6 scales: further
        # out in the thin tail scipy's cdf underflows to 0 (our logcdf stays finite).
        lambda r: {"shape": r.uniform(-3, 3), "loc": r.uniform(-1, 1), "scale": r.uniform(1.5, 4)},
        {},
        check_fixed=True,
    ),
    Case(
        "gev",
        {"shape": 0.2, "loc": 0.0, "scale": 1.0},
        lambda r, n: stats.genextreme.rvs(-0.2, 0.0, 1.0, size=n, random_state=r),
        # The data lie above loc - scale/shape = -5; these points keep their
        # lower bound loc - scale/shape below -5.6, so every draw has a density.
        lambda r: {"shape": r.uniform(0, 0.15), "loc": r.uniform(-1, 1), "scale": r.uniform(1, 3)},
        {},
        check_fixed=True,
    ),
    Case(
        "gev",
        {"shape": -0.2, "loc": 0.0, "scale": 1.0},
        lambda r, n: stats.genextreme.rvs(0.2, 0.0, 1.0, size=n, random_state=r),
        # The data lie below loc + scale/|shape| = 5; these points keep their
        # upper bound above 5.6.
        lambda r: {
            "shape": r.uniform(-0.15, 0),
            "loc": r.uniform(-1, 1),
            "scale": r.uniform(1, 3),
        },
        {},
        id="gev_neg",
        check_fixed=True,
    ),
]
