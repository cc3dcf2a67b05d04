"""Data at the extremes: magnitudes across the dtype's range, offsets that
swamp the spread, data that vary little, degenerate and subnormal data. A fit
is right (checked against closed forms computed on the host, scipy, or its own
fit of well-scaled data) or says it is not; never a confident wrong number."""

import warnings

import numpy as np
import pytest
from scipy import stats

import jaxmle as jm
from jaxmle.status import Status


def _quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jm.fit(*args, **kwargs)


def _normal_mle(x: np.ndarray) -> tuple[float, float]:
    """The normal MLE in extended precision on the host, scaled first."""
    s = float(np.max(np.abs(x)))
    y = np.asarray(x, np.longdouble) / s
    m = y.mean()
    return float(m * s), float(np.sqrt(np.mean((y - m) ** 2)) * s)


@pytest.mark.parametrize(
    "dtype, factor",
    [
        (np.float32, 1e-20),
        (np.float32, 1e18),
        (np.float32, 1e-30),
        (np.float64, 1e-160),
        (np.float64, 1e160),
        (np.float64, 1e-300),
        (np.float64, 1e300),
    ],
)
def test_normal_closed_form_at_any_magnitude(dtype, factor):
    z = np.random.default_rng(0).normal(size=1000)
    x = (z * factor).astype(dtype)
    res = jm.fit("normal", x)
    loc, scale = _normal_mle(x.astype(np.float64))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert bool(res.converged)
    assert float(res.params["scale"]) == pytest.approx(scale, rel=rtol)
    assert float(res.params["loc"]) == pytest.approx(loc, rel=rtol * 100, abs=rtol * scale)
    # Standard errors: sigma / sqrt(n) and sigma / sqrt(2n), finite and positive.
    n = x.size
    assert float(res.stderr["loc"]) == pytest.approx(scale / np.sqrt(n), rel=rtol * 10)
    assert float(res.stderr["scale"]) == pytest.approx(scale / np.sqrt(2 * n), rel=rtol * 10)
    # The log-likelihood: -n/2 (log(2 pi sigma^2) + 1), written to stay finite.
    ref = -0.5 * n * (np.log(2 * np.pi) + 2 * np.log(scale) + 1)
    assert float(res.loglik) == pytest.approx(ref, rel=rtol)


@pytest.mark.parametrize(
    "dtype, factor", [(np.float32, 1e37), (np.float32, 1e-30), (np.float64, 1e300)]
)
def test_exponential_at_any_magnitude(dtype, factor):
    e = np.random.default_rng(1).exponential(size=500)
    x = (e * factor).astype(dtype)
    res = jm.fit("exponential", x)
    rate = 1.0 / float(np.mean(x.astype(np.float64) / factor)) / factor
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert float(res.params["rate"]) == pytest.approx(rate, rel=rtol)
    se = rate / np.sqrt(x.size)
    if se < np.finfo(dtype).tiny:  # not a normal number of the dtype: no standard error
        assert np.isnan(float(res.stderr["rate"])) and "standard error" in res.message
    else:
        assert float(res.stderr["rate"]) == pytest.approx(se, rel=rtol * 10)


def test_inverse_gaussian_that_varies_little():
    # CV 1e-4 (float32) and 2e-13 (float64): the closed form's sum is computed
    # term by term non-negative, (x - m)^2 / (x m^2), not as sum(1/x) - n/m.
    x64 = np.random.default_rng(1).wald(100, 1e10, 10000)
    for x, rtol in [(x64.astype(np.float32), 1e-3), (x64, 1e-9)]:
        res = jm.fit("inverse_gaussian", x)
        xl = np.asarray(x, np.longdouble)
        m = xl.mean()
        shape = float(1 / np.mean((xl - m) ** 2 / (xl * m * m)))
        assert bool(res.converged)
        assert float(res.params["shape"]) == pytest.approx(shape, rel=rtol)
    lam = 2.5e27  # mean 100: CV = sqrt(mean / shape) = 2e-13
    x = np.random.default_rng(2).wald(100.0, lam, 5000)
    res = jm.fit("inverse_gaussian", x)
    xl = np.asarray(x, np.longdouble)
    m = xl.mean()
    exact = float(1 / np.mean((xl - m) ** 2 / (xl * m * m)))
    assert float(res.params["shape"]) == pytest.approx(exact, rel=1e-6)
    assert float(res.params["shape"]) == pytest.approx(lam, rel=0.1)


def _gamma_shape_mle(t: np.ndarray) -> float:
    """The gamma shape MLE of ``t`` on the host: ``log k - digamma(k) = s``
    with ``s = log mean(t) - mean(log t)`` taken about the median (no
    cancellation), solved with the asymptotic series of ``log k - digamma(k)``
    where the direct difference would cancel."""
    from scipy.optimize import brentq
    from scipy.special import digamma

    c = np.median(t)
    d = t / c - 1.0
    big_d = d.mean()
    s = np.mean(d - np.log1p(d)) - (big_d - np.log1p(big_d))

    def gap(log_k):
        k = np.exp(log_k)
        if k < 1e3:
            return np.log(k) - digamma(k) - s
        r = 1.0 / k
        return r / 2 + r**2 / 12 - r**4 / 120 + r**6 / 252 - s

    return float(np.exp(brentq(gap, -20.0, 80.0, xtol=1e-14)))


# The gamma-type families' sufficient statistics are taken about a centre of
# the data: with plain sums, log mean(x) - mean(log x) (5e-11 here) kept no
# digit, and these fits ended at max_iter with shapes of 1e141.
@pytest.mark.parametrize("route", [{}, {"chunk_size": 1000}, "many"])
@pytest.mark.parametrize("family", ["gamma", "inverse_gamma", "nakagami", "inverse_gaussian"])
def test_sufficient_statistics_of_data_that_vary_little(family, route):
    x = 100.0 * (1.0 + 1e-5 * np.random.default_rng(3).standard_normal(4000))
    if route == "many":
        res = jm.fit_many(family, [x, x[:3000]])[0]
    else:
        res = jm.fit(family, x, **route)
    assert bool(res.converged), res.message
    got = {k: float(v) for k, v in res.params.items()}
    if family == "inverse_gaussian":
        xl = np.asarray(x, np.longdouble)
        m = xl.mean()
        want = {"mean": float(m), "shape": float(1 / np.mean((xl - m) ** 2 / (xl * m * m)))}
    else:
        t = {"gamma": x, "inverse_gamma": 1.0 / x, "nakagami": x * x}[family]
        k = _gamma_shape_mle(t)
        mean_t = float(np.mean(np.asarray(t, np.longdouble)))
        want = {
            "gamma": {"shape": k, "rate": k / mean_t},
            "inverse_gamma": {"shape": k, "scale": k / mean_t},
            "nakagami": {"shape": k, "scale": np.sqrt(mean_t)},
        }[family]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k


def test_gamma_that_varies_too_little_says_so():
    """Beyond what float64 coordinates resolve (shape 1e14: the log-shape and
    log-rate Hessian is singular to 1e-15) the fit says it did not converge,
    and its estimate is the best point reached, of the right size."""
    x = 100.0 * (1.0 + 1e-7 * np.random.default_rng(3).standard_normal(4000))
    res = _quiet_fit("gamma", x)
    k = _gamma_shape_mle(x)
    rel = 1e-6 if bool(res.converged) else 0.1
    assert float(res.params["shape"]) == pytest.approx(k, rel=rel)
    assert float(res.params["shape"]) / float(res.params["rate"]) == pytest.approx(x.mean())


@pytest.mark.parametrize("family", ["logistic", "gumbel", "cauchy"])
@pytest.mark.parametrize("offset, factor", [(1e9, 1.0), (0.0, 1e150), (0.0, 1e-150), (1e12, 1e-3)])
def test_newton_families_are_equivariant_at_any_magnitude(family, offset, factor):
    # The fit of offset + factor * z is the image of the fit of z, converged.
    x = offset + factor * np.random.default_rng(3).logistic(size=1000)
    z = (x - offset) / factor  # (x - offset is exact: the data as represented)
    base = jm.fit(family, z)
    res = jm.fit(family, x)
    assert bool(res.converged), res.message
    assert float(res.params["scale"]) == pytest.approx(
        factor * float(base.params["scale"]), rel=1e-7
    )
    assert float(res.params["loc"]) == pytest.approx(
        offset + factor * float(base.params["loc"]), rel=1e-12, abs=1e-7 * factor
    )
    assert float(res.loglik) == pytest.approx(
        float(base.loglik) - z.size * np.log(factor), rel=1e-9, abs=1e-6
    )
    assert float(res.stderr["scale"]) == pytest.approx(
        factor * float(base.stderr["scale"]), rel=1e-5
    )


def test_gumbel_that_barely_varies_converges():
    # Seven equal values and one 1e-8 above: the MLE is the image of the fit
    # of [0]*7 + [1] (the scale ~1.2495e-9 of an mpmath reference).
    x = np.array([3.0] * 7 + [3.00000001])
    d = x[-1] - x[0]
    unit = jm.fit("gumbel", np.array([0.0] * 7 + [1.0]))
    res = jm.fit("gumbel", x)
    assert bool(res.converged), res.message
    assert float(res.params["scale"]) == pytest.approx(d * float(unit.params["scale"]), rel=1e-9)
    assert float(res.params["scale"]) == pytest.approx(1.2495222465e-9, rel=1e-9)
    assert float(res.params["loc"]) - 3.0 == pytest.approx(d * float(unit.params["loc"]), rel=1e-6)


def test_student_t_on_normal_data_reports_a_possible_loglik():
    # df runs off towards the normal limit (seeds 3-5): whether or not it
    # converges, the log-likelihood is the t's at the reported point, close to
    # the normal's supremum, never an impossible number.
    for seed in (3, 4):
        x = np.random.default_rng(seed).normal(size=30000)
        res = _quiet_fit("student_t", x)
        normal = jm.fit("normal", x)
        p = res.params
        at_point = stats.t(float(p["df"]), float(p["loc"]), float(p["scale"])).logpdf(x).sum()
        assert np.isfinite(float(res.loglik))
        assert float(res.loglik) == pytest.approx(at_point, rel=1e-9)
        assert abs(float(res.loglik) - float(normal.loglik)) < 1.0


@pytest.mark.parametrize(
    "family, x",
    [
        ("normal", np.array([3.0])),
        ("normal", np.full(10, 3.0)),
        ("normal", np.full(10, 1e9, np.float32)),
        ("weibull", np.full(10, 3.0)),
        ("gamma", np.full(10, 3.0)),
        ("logistic", np.full(5, -2.0)),
    ],
)
def test_degenerate_single_fits_say_so(family, x):
    # As fit_many flags them (it refuses a single value: too few): status
    # DEGENERATE, not converged.
    res = _quiet_fit(family, x)
    assert int(res.status) == Status.DEGENERATE
    assert not bool(res.converged)
    assert "degenerate" in res.message
    # No standard error (and no confident Wald interval) for a degenerate fit.
    assert all(np.isnan(float(v)) for v in res.stderr.values())
    assert all(np.isnan(float(v)).all() for pair in res.conf_int().values() for v in pair)


def test_constant_data_of_a_one_parameter_family_is_a_regular_fit():
    res = jm.fit("exponential", np.full(10, 4.0))
    assert bool(res.converged)
    assert float(res.params["rate"]) == pytest.approx(0.25, rel=1e-14)


def test_subnormal_values_are_refused_when_they_matter():
    with pytest.raises(ValueError, match=r"x\[0\]=1e-310.*subnormal"):
        jm.fit("lognormal", np.array([1e-310, 1.0, 2.0]))
    tiny = np.random.default_rng(0).normal(size=10) * 1e-310
    with pytest.raises(ValueError, match=r"10 subnormal value\(s\)"):
        jm.fit("normal", tiny)
    with pytest.raises(ValueError, match=r"x\[0\]=9.9999\d*e-41.*subnormal"):
        jm.fit("weibull", np.array([1e-40, 1.0, 2.0], np.float32))
    # Where they do not matter (a normal fit with one among normal numbers), the fit runs.
    res = jm.fit("normal", np.array([1e-310, 1.0, 2.0]))
    assert float(res.params["loc"]) == pytest.approx(1.0, rel=1e-15)


def test_params_in_the_family_order_everywhere():
    rng = np.random.default_rng(0)
    data = [2 * rng.weibull(1.5, 100), 2 * rng.weibull(2.0, 80)]
    order = ["shape", "scale"]
    assert list(jm.fit("weibull", data[0]).params) == order
    many = jm.fit_many("weibull", data)
    assert list(many.params) == order
    assert list(many[1].params) == order and list(many[1].stderr) == order
    x = np.concatenate(data)
    groups = jm.fit_groups("weibull", x, np.repeat(["a", "b"], [100, 80]))
    assert list(groups["b"].params) == order and list(groups["b"].stderr) == order
    shape, scale = groups["b"].params.values()
    ref = jm.fit("weibull", data[1])
    assert float(shape) == pytest.approx(float(ref.params["shape"]), rel=1e-10)
    assert float(scale) == pytest.approx(float(ref.params["scale"]), rel=1e-10)


@pytest.mark.parametrize("kappa", [1e4, 1e8, 1e10])
def test_von_mises_at_high_concentration_converges(kappa):
    # The MLE of kappa solves A(kappa) = Rbar; for large kappa A(k) ~ 1 - 1/(2k),
    # so kappa ~ 1 / (2 (1 - Rbar)), and its standard error is kappa sqrt(2/n).
    x = 1.0 + np.random.default_rng(0).vonmises(0.0, kappa, 1000)
    res = jm.fit("von_mises", x)
    assert bool(res.converged), res.message
    d = x - float(res.params["loc"])
    one_minus_rbar = np.mean(2 * np.sin(d / 2) ** 2)  # 1 - mean cos(d), no cancellation
    k_hat = float(res.params["concentration"])
    assert k_hat == pytest.approx(1 / (2 * one_minus_rbar), rel=1e-3)
    assert float(res.stderr["concentration"]) == pytest.approx(
        k_hat * np.sqrt(2 / x.size), rel=1e-2
    )
    assert float(res.params["loc"]) == pytest.approx(
        np.arctan2(np.sin(x).mean(), np.cos(x).mean()), abs=1e-12
    )


def test_streamed_fits_at_extreme_magnitudes():
    # Chunked Newton passes and streamed sufficient statistics work in the
    # units of the first chunk: the fit of c x is the image of the fit of x.
    rng = np.random.default_rng(0)
    w = 3 * rng.weibull(1.7, 20_000)
    base = jm.fit("weibull", w, chunk_size=4096)
    g = rng.gamma(2.5, 1 / 1.5, 1 << 20)  # a host array this long streams its statistics
    base_g = jm.fit("gamma", g)
    for c in (1e200, 1e-200):
        res = jm.fit("weibull", w * c, chunk_size=4096)
        assert bool(res.converged)
        assert float(res.params["scale"]) == pytest.approx(
            c * float(base.params["scale"]), rel=1e-10
        )
        assert float(res.params["shape"]) == pytest.approx(float(base.params["shape"]), rel=1e-10)
        assert float(res.stderr["scale"]) == pytest.approx(
            c * float(base.stderr["scale"]), rel=1e-8
        )
        assert float(res.loglik) == pytest.approx(
            float(base.loglik) - w.size * np.log(c), rel=1e-12
        )
        res_g = jm.fit("gamma", g * c)
        assert bool(res_g.converged)
        assert float(res_g.params["rate"]) == pytest.approx(
            float(base_g.params["rate"]) / c, rel=1e-10
        )
        assert float(res_g.params["shape"]) == pytest.approx(
            float(base_g.params["shape"]), rel=1e-10
        )


@pytest.mark.parametrize("shape", [-0.5, -0.2, 0.3])
def test_gev_with_a_fixed_shape_starts_inside_the_support(shape):
    # The start's scale widens until every observation is inside the support
    # of the fixed shape (it used to start outside and end non-finite).
    x = stats.genextreme.rvs(-0.1, loc=10, scale=2, size=30, random_state=np.random.default_rng(0))
    res = jm.fit("gev", x, fixed={"shape": shape})
    assert bool(res.converged), res.message
    ref = stats.genextreme.fit(x, f0=-shape)  # scipy's c is -shape
    assert float(res.loglik) >= stats.genextreme.logpdf(x, *ref).sum() - 1e-8
    assert float(res.params["loc"]) == pytest.approx(ref[1], rel=1e-4)
    assert float(res.params["scale"]) == pytest.approx(ref[2], rel=1e-4)


@pytest.mark.parametrize("dtype, unit", [(np.float32, 1e-38), (np.float64, 2e-308)])
def test_uniform_near_the_smallest_normal_number(dtype, unit):
    # The data's interquartile range (4e-39 in float32) is below the smallest
    # normal number, flushed to 0: the median looked far from the data and
    # became the shift, and x - shift of 3e-38 - 2.6e-38 flushed to 0 too, so
    # the fit said high = 2.6e-38. A shift is now at least 2 tiny / eps.
    x = (np.array([2.6, 1.2, 2.5, 2.9, 3.0]) * unit).astype(dtype)
    res = _quiet_fit("uniform", x)
    assert bool(res.converged), res.message
    assert float(res.params["low"]) == float(x.min())
    assert float(res.params["high"]) == float(x.max())
    many = jm.fit_many("uniform", x[None])
    assert float(many.params["high"][0]) == float(x.max())


@pytest.mark.parametrize(
    "x",
    [
        np.array([-3.07739445e-308, -4.70139131e-308, 3.25122160e-308]),
        np.array([2.04091912e-307, -2.55566503e-307, 4.18098847e-308]),
        np.array([-1.2009415e-37, 4.6837258e-38, 4.4199086e-38], np.float32),
    ],
)
def test_a_location_below_the_smallest_normal_number_says_so(x):
    # The mean (-1.5e-308, -3.2e-309, -9.7e-39) is below the dtype's smallest
    # normal number: the device flushes it to 0, which was reported as the
    # converged MLE (0.44 of the scale away, in the first). Now OUT_OF_RANGE.
    res = _quiet_fit("normal", x)
    assert int(res.status) == Status.OUT_OF_RANGE and not bool(res.converged)
    assert "beyond what the dtype represents" in res.message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.ConvergenceWarning)
        many = jm.fit_many("normal", x[None])
    assert int(many.status[0]) == Status.OUT_OF_RANGE
    # A mean that is exactly 0 is not flushed: a regular fit.
    sym = np.array([-1.0, 0.0, 1.0], x.dtype) * x.dtype.type(np.abs(x).max())
    assert bool(_quiet_fit("normal", sym).converged)
    assert bool(jm.fit_many("normal", sym[None]).converged[0])


@pytest.mark.parametrize(
    "dtype, centre, rtol", [(np.float64, 1e15, 1e-13), (np.float32, 3e4, 1e-5)]
)
def test_lognormal_of_data_a_few_ulps_apart(dtype, centre, rtol):
    # log x rounds to an ulp of log x (7e-15 at 1e15): the logs of data a few
    # hundred ulps apart lost 1% of their spread to it, and the log-likelihood
    # at the MLE (from the scale) exceeded the density's maximum. The closed
    # form now takes the logs about a centre (log1p of exact differences).
    eps = float(np.finfo(dtype).eps)
    rng = np.random.default_rng(0)
    cases = [centre * (1 + rng.integers(-400, 400, 200) * eps)]
    if dtype == np.float64:  # hypothesis' example
        cases.append(np.array([1.0000000000001258e15, 9.9999999999986788e14]))
    for x in cases:
        x = x.astype(dtype)
        res = jm.fit("lognormal", x)
        assert bool(res.converged), res.message
        xs = x.astype(np.float64)
        c = float(np.median(xs))
        logs = np.log1p((xs - c) / c)  # exact differences: every digit of the spread
        loc, scale = np.log(c) + logs.mean(), float(np.sqrt(np.mean((logs - logs.mean()) ** 2)))
        assert float(res.params["scale"]) == pytest.approx(scale, rel=rtol)
        assert float(res.params["loc"]) == pytest.approx(loc, rel=4 * eps)
        n = x.size
        at_mle = -n * (np.log(scale) + 0.5 + 0.5 * np.log(2 * np.pi)) - np.sum(np.log(xs))
        assert float(res.loglik) == pytest.approx(at_mle, rel=rtol, abs=rtol * n)
