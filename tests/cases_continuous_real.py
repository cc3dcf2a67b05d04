"""Cases for continuous_real.py: student_t, cauchy, laplace, gumbel,
skew_normal, von_mises, gev."""

from cases import Case
from scipy import stats

CASES = [
    Case(
        "student_t",
        {"df": 4.0, "loc": 1.0, "scale": 2.0},
        lambda r, n: 1.0 + 2.0 * r.standard_t(4.0, n),
        lambda r: {"df": r.uniform(1, 30), "loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        lambda x: stats.t(*stats.t.fit(x)),
    ),
    Case(
        "cauchy",
        {"loc": -0.5, "scale": 1.5},
        lambda r, n: -0.5 + 1.5 * r.standard_cauchy(n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        lambda x: stats.cauchy(*stats.cauchy.fit(x)),
    ),
    Case(
        "laplace",
        {"loc": 2.0, "scale": 0.7},
        lambda r, n: r.laplace(2.0, 0.7, n),
        lambda r: {"loc": r.normal(0, 3), "scale": r.uniform(0.2, 5)},
        lambda x: stats.laplace(*stats.laplace.fit(x)),
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
        lambda x: stats.gumbel_r(*stats.gumbel_r.fit(x)),
    ),
    Case(
        "skew_normal",
        {"shape": 4.0, "loc": -1.0, "scale": 2.0},
        lambda r, n: stats.skewnorm.rvs(4.0, -1.0, 2.0, size=n, random_state=r),
        # Points where the data (about -2 to 8) stay within ~6 scales: further
        # out in the thin tail scipy's cdf underflows to 0 (our logcdf stays finite).
        lambda r: {"shape": r.uniform(-3, 3), "loc": r.uniform(-1, 1), "scale": r.uniform(1.5, 4)},
        lambda x: stats.skewnorm(*stats.skewnorm.fit(x)),
    ),
    Case(
        "von_mises",
        {"loc": 0.5, "concentration": 3.0},
        lambda r, n: r.vonmises(0.5, 3.0, n),
        # Moderate concentrations: scipy's cdf series is accurate to ~1e-14
        # absolute only, so its logcdf far in a tail (a point near the antipode
        # of a random loc with a large kappa) loses relative accuracy.
        lambda r: {"loc": r.uniform(-1, 1), "concentration": r.uniform(0.2, 4)},
        lambda x: stats.vonmises(*stats.vonmises.fit(x, fscale=1)),
    ),
    Case(
        "gev",
        {"shape": 0.2, "loc": 0.0, "scale": 1.0},
        lambda r, n: stats.genextreme.rvs(-0.2, 0.0, 1.0, size=n, random_state=r),
        # The data lie above loc - scale/shape = -5; these points keep their
        # lower bound loc - scale/shape below -5.6, so every draw has a density.
        lambda r: {"shape": r.uniform(0, 0.15), "loc": r.uniform(-1, 1), "scale": r.uniform(1, 3)},
        lambda x: stats.genextreme(*stats.genextreme.fit(x)),
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
        lambda x: stats.genextreme(*stats.genextreme.fit(x)),
        id="gev_neg",
    ),
]
