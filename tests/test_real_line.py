"""Family-specific facts for real_line.py: parametrization conventions,
closed forms, limits and tails that the registry-driven tests do not reach."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import jaxmle as jm
from jaxmle.families._special import lgamma_half_step


def _p(**kw):
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in kw.items()}


def _np(v):
    return np.asarray(v, dtype=np.float64)


# GEV ------------------------------------------------------------------------


def test_gev_shape_is_minus_scipy_c_and_the_support_follows_it():
    fam = jm.family("gev")
    x = np.array([-3.0, -1.0, 0.0, 2.0, 40.0, 1e6])
    heavy = _p(shape=0.3, loc=1.0, scale=2.0)  # lower bound 1 - 2/0.3 = -5.67
    ref = stats.genextreme(c=-0.3, loc=1.0, scale=2.0)
    np.testing.assert_allclose(_np(fam.logpdf(heavy, x)), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(_np(fam.logsf(heavy, x)), ref.logsf(x), rtol=1e-12)
    # Heavy right tail: sf(x) ~ (shape z)^(-1/shape).
    z = (1e6 - 1.0) / 2.0
    assert float(fam.logsf(heavy, jnp.asarray([1e6]))[0]) == pytest.approx(
        -np.log(0.3 * z) / 0.3, rel=1e-4
    )
    below = jnp.asarray([-6.0])
    assert float(fam.logpdf(heavy, below)[0]) == -np.inf
    assert float(fam.cdf(heavy, below)[0]) == 0.0
    assert float(fam.logsf(heavy, below)[0]) == 0.0

    bounded = _p(shape=-0.3, loc=1.0, scale=2.0)  # upper bound 1 + 2/0.3 = 7.67
    above = jnp.asarray([8.0])
    assert float(fam.logpdf(bounded, above)[0]) == -np.inf
    assert float(fam.cdf(bounded, above)[0]) == 1.0
    assert float(fam.logsf(bounded, above)[0]) == -np.inf
    assert float(fam.logcdf(bounded, above)[0]) == 0.0


def test_gev_is_smooth_through_the_gumbel_limit():
    fam = jm.family("gev")
    x = jnp.asarray(np.linspace(-2.0, 8.0, 21))
    gumbel = stats.gumbel_r(loc=0.5, scale=1.5).logpdf(np.asarray(x))
    np.testing.assert_allclose(
        _np(fam.logpdf(_p(shape=0.0, loc=0.5, scale=1.5), x)), gumbel, rtol=1e-14
    )
    # Both sides of the series switch (|shape z| = 1e-4) agree with scipy.
    for shape in (-2e-5, -1e-5, 1e-9, 1e-5, 2e-5, 1e-3):
        ref = stats.genextreme(c=-shape, loc=0.5, scale=1.5).logpdf(np.asarray(x))
        np.testing.assert_allclose(
            _np(fam.logpdf(_p(shape=shape, loc=0.5, scale=1.5), x)), ref, rtol=1e-12
        )

    # The score in the shape at exactly 0 is finite and matches differences.
    def total(shape):
        return jnp.sum(fam.logpdf({**_p(loc=0.5, scale=1.5), "shape": shape}, x))

    grad = float(jax.grad(total)(jnp.asarray(0.0)))
    hess = float(jax.grad(jax.grad(total))(jnp.asarray(0.0)))
    h = 1e-4  # most points use log1p there, a few the series: both are checked
    fd = (float(total(jnp.asarray(h))) - float(total(jnp.asarray(-h)))) / (2 * h)
    fd2 = (float(total(jnp.asarray(h))) - 2 * float(total(0.0)) + float(total(-h))) / h**2
    assert np.isfinite(grad) and np.isfinite(hess)
    assert grad == pytest.approx(fd, rel=1e-5)
    assert hess == pytest.approx(fd2, rel=1e-5)


def test_gev_init_is_feasible_despite_outliers_and_ignores_zero_weights():
    fam = jm.family("gev")
    rng = np.random.default_rng(3)
    body = stats.genextreme.rvs(0.3, size=400, random_state=rng)  # bounded above at 3.33
    for x in (np.append(body, 80.0), np.append(body, -80.0), np.append(body, [-80.0, 80.0])):
        start = fam.init(jnp.asarray(x), None)
        assert np.isfinite(float(jnp.sum(fam.logpdf(start, jnp.asarray(x)))))
    # A zero-weight point far out does not constrain the start.
    x = np.append(body, -1e6)
    w = np.append(np.ones_like(body), 0.0)
    start = fam.init(jnp.asarray(x), jnp.asarray(w))
    assert np.isfinite(float(jnp.sum(fam.logpdf(start, jnp.asarray(body)))))
    assert float(start["shape"]) < 0  # the body's bounded upper tail is kept


# Laplace ----------------------------------------------------------------------


def test_laplace_closed_form_is_the_median_and_mean_absolute_deviation():
    fam = jm.family("laplace")
    odd = np.array([3.0, -1.0, 7.0, 0.5, 2.0])
    cf = fam.closed_form(jnp.asarray(odd), None)
    assert float(cf["loc"]) == 2.0
    assert float(cf["scale"]) == pytest.approx(np.mean(np.abs(odd - 2.0)), rel=1e-15)

    even = np.array([3.0, -1.0, 7.0, 0.5])
    cf = fam.closed_form(jnp.asarray(even), None)
    assert float(cf["loc"]) == 1.75  # midpoint of 0.5 and 3: any point between is an MLE
    assert float(cf["scale"]) == pytest.approx(np.mean(np.abs(even - 1.75)), rel=1e-15)

    # Integer weights act as repetitions; zero weights drop points.
    x = np.array([0.0, 1.0, 2.0, 10.0, 50.0])
    w = np.array([1.0, 3.0, 1.0, 1.0, 0.0])
    cf = fam.closed_form(jnp.asarray(x), jnp.asarray(w))
    rep = np.array([0.0, 1.0, 1.0, 1.0, 2.0, 10.0])
    assert float(cf["loc"]) == 1.0
    assert float(cf["scale"]) == pytest.approx(np.mean(np.abs(rep - 1.0)), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_laplace_median_by_bisection_equals_numpy_on_ties_weights_and_any_magnitude(dtype):
    # The exact median is found by bisection over the values' bits, not a
    # sort: every order of magnitude, negative values, ties, zero weights.
    fam = jm.family("laplace")
    median = jax.jit(lambda x, w: fam.closed_form(x, w)["loc"])
    rng = np.random.default_rng(21)
    big = 1e300 if dtype == np.float64 else 1e30
    eps = 4 * float(np.finfo(dtype).eps)
    for n in (1, 2, 3, 4, 7, 1001):
        for scale in (1.0 / big, 1.0, big):
            x = (rng.normal(size=n) * scale).astype(dtype)
            x[: n // 3] = x[0]  # ties
            w = rng.integers(0, 4, n).astype(dtype)
            w[0] = 1.0
            rows = np.sort(np.repeat(x, w.astype(int)))
            k = rows.shape[0]
            want = 0.5 * (rows[(k - 1) // 2].astype(float) + rows[k // 2].astype(float))
            loc = median(jnp.asarray(x), jnp.asarray(w))
            assert loc.dtype == dtype
            assert float(loc) == pytest.approx(want, rel=eps, abs=0.0)
            unweighted = float(median(jnp.asarray(x), jnp.ones(n, dtype)))
            assert unweighted == pytest.approx(float(np.median(x.astype(float))), rel=eps)


def test_laplace_closed_form_maximizes_the_likelihood():
    fam = jm.family("laplace")
    x = np.random.default_rng(4).laplace(1.0, 2.0, 301)
    cf = fam.closed_form(jnp.asarray(x), None)
    best = float(jnp.sum(fam.logpdf(cf, jnp.asarray(x))))
    loc, scale = stats.laplace.fit(x)
    assert best >= stats.laplace(loc, scale).logpdf(x).sum() - 1e-9 * abs(best)
    for dl, ds in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)]:
        p = {"loc": cf["loc"] + dl, "scale": cf["scale"] * (1 + ds)}
        assert float(jnp.sum(fam.logpdf(p, jnp.asarray(x)))) < best


# Skew normal ------------------------------------------------------------------


def test_skew_normal_tails_match_exact_identities():
    fam = jm.family("skew_normal")
    z = np.array([-35.0, -12.0, -3.0, 0.0, 2.0, 9.0])
    # shape = 1: F(z) = Phi(z)^2 exactly; the left tail is the thin one.
    one = _p(shape=1.0, loc=0.0, scale=1.0)
    np.testing.assert_allclose(_np(fam.logcdf(one, z)), 2 * special.log_ndtr(z), rtol=1e-12)
    # shape = -1: sf(z) = Phi(-z)^2.
    minus = _p(shape=-1.0, loc=0.0, scale=1.0)
    np.testing.assert_allclose(_np(fam.logsf(minus, z)), 2 * special.log_ndtr(-z), rtol=1e-12)
    # shape = 0 is the normal.
    zero = _p(shape=0.0, loc=0.0, scale=1.0)
    np.testing.assert_allclose(_np(fam.logcdf(zero, z)), special.log_ndtr(z), rtol=1e-12)
    np.testing.assert_allclose(_np(fam.logsf(zero, z)), special.log_ndtr(-z), rtol=1e-12)


def test_skew_normal_init_clips_delta_for_too_skewed_data():
    fam = jm.family("skew_normal")
    x = np.random.default_rng(6).exponential(1.0, 5000)  # skewness 2 > 0.9953 (the maximum)
    start = fam.init(jnp.asarray(x), None)
    assert float(start["shape"]) == pytest.approx(0.99 / np.sqrt(1 - 0.99**2), rel=1e-12)
    assert np.isfinite(float(jnp.sum(fam.logpdf(start, jnp.asarray(x)))))


# Student t, Cauchy --------------------------------------------------------------


def test_student_t_normalizer_stays_accurate_for_large_df():
    a = np.array([1e-3, 0.5, 2.0, 9.5, 10.5, 60.0])
    np.testing.assert_allclose(
        _np(lgamma_half_step(jnp.asarray(a))),
        special.gammaln(a + 0.5) - special.gammaln(a),
        rtol=1e-13,
    )
    fam = jm.family("student_t")
    x = np.linspace(-4.0, 4.0, 9)
    got = _np(fam.logpdf(_p(df=1e12, loc=0.0, scale=1.0), x))
    np.testing.assert_allclose(got, stats.norm.logpdf(x), rtol=1e-11, atol=1e-11)


def test_cauchy_tails_keep_relative_accuracy():
    fam = jm.family("cauchy")
    p = _p(loc=0.0, scale=1.0)
    big = 1e12
    assert float(fam.cdf(p, jnp.asarray([-big]))[0]) == pytest.approx(1 / (np.pi * big), rel=1e-12)
    assert float(fam.logsf(p, jnp.asarray([big]))[0]) == pytest.approx(
        -np.log(np.pi * big), rel=1e-13
    )
