"""Family-specific facts for discrete.py: options, parametrization
conventions, closed forms against the textbook formulas, and tails."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm


@pytest.mark.parametrize("name, option", [("binomial", "n"), ("beta_binomial", "n")])
def test_trials_option_is_required_and_validated(name, option):
    with pytest.raises(TypeError, match=f"{option}="):
        jm.family(name)
    with pytest.raises(TypeError, match="integer"):
        jm.family(name, **{option: 2.5})
    with pytest.raises(TypeError, match="integer"):
        jm.family(name, **{option: True})
    with pytest.raises(ValueError, match=">= 1"):
        jm.family(name, **{option: 0})
    fam = jm.family(name, **{option: np.int64(7)})
    assert fam.n == 7 and type(fam.n) is int
    assert fam == jm.family(name, **{option: 7}) and hash(fam) == hash(jm.family(name, n=7))
    assert fam != jm.family(name, **{option: 8})
    assert "n=7" in repr(fam) and "0, 1, ..., 7" in fam.support.description


def test_categorical_option_and_probs_shape():
    with pytest.raises(TypeError, match="k="):
        jm.family("categorical")
    with pytest.raises(ValueError, match=">= 2"):
        jm.family("categorical", k=1)
    fam = jm.family("categorical", k=3)
    assert fam.support.description == "the integers 0, 1, ..., 2"
    with pytest.raises(ValueError, match="3 entries"):
        jm.loglik(fam, {"probs": [0.5, 0.5]}, [0.0, 1.0])
    with pytest.raises(ValueError, match="outside the support"):
        jm.fit(fam, [0.0, 1.0, 3.0])


def test_binomial_support_depends_on_n():
    with pytest.raises(ValueError, match=r"x\[1\]=4.0"):
        jm.fit(jm.family("binomial", n=3), [1.0, 4.0])


def test_binomial_closed_form_with_weights():
    x = np.array([0.0, 3.0, 5.0, 5.0, 2.0])
    w = np.array([1.0, 2.0, 0.0, 1.0, 0.5])
    res = jm.fit(jm.family("binomial", n=5), x, weights=w)
    # p = (weighted successes) / (weighted trials) = (6 + 5 + 1) / (4.5 * 5)
    p = 12.0 / 22.5
    assert float(res.params["p"]) == pytest.approx(p, rel=1e-14)
    assert float(res.stderr["p"]) == pytest.approx(math.sqrt(p * (1 - p) / 22.5), rel=1e-10)


def test_geometric_counts_trials_including_the_success():
    fam = jm.family("geometric")
    p = {"p": jnp.asarray(0.25)}
    # P(X = 1) = p: the support starts at 1, like scipy.stats.geom.
    assert float(jnp.exp(fam.logpdf(p, jnp.array([1.0]))[0])) == pytest.approx(0.25, rel=1e-15)
    assert float(fam.logpdf(p, jnp.array([0.0]))[0]) == -np.inf
    res = jm.fit(fam, [1.0, 2.0, 4.0, 1.0])
    assert float(res.params["p"]) == pytest.approx(0.5, rel=1e-14)  # 1 / mean


def test_negative_binomial_parametrization():
    fam = jm.family("negative_binomial")
    r, p = 2.5, 0.4
    k = jnp.arange(0.0, 400.0)
    pmf = np.exp(np.asarray(fam.logpdf({"r": jnp.asarray(r), "p": jnp.asarray(p)}, k)))
    assert pmf.sum() == pytest.approx(1.0, rel=1e-12)
    # Failures before the r-th success: mean r (1 - p) / p, variance r (1 - p) / p^2.
    mean = (k * pmf).sum()
    assert float(mean) == pytest.approx(r * (1 - p) / p, rel=1e-12)
    assert float(((k - mean) ** 2 * pmf).sum()) == pytest.approx(r * (1 - p) / p**2, rel=1e-10)


def test_negative_binomial_is_accurate_in_the_poisson_limit():
    # r -> inf with the mean fixed: gammaln(x + r) - gammaln(r) would lose ~8 digits.
    r = 1e9
    fam = jm.family("negative_binomial")
    params = {"r": jnp.asarray(r), "p": jnp.asarray(r / (r + 3.0))}
    x = jnp.arange(0.0, 12.0)
    ours = np.asarray(fam.logpdf(params, x))
    expected = stats.poisson.logpmf(np.arange(12), 3.0)
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-8)


def test_zero_inflated_poisson_pmf():
    fam = jm.family("zero_inflated_poisson")
    params = {"rate": jnp.asarray(2.0), "pi": jnp.asarray(0.25)}
    pmf = np.exp(np.asarray(fam.logpdf(params, jnp.arange(0.0, 60.0))))
    assert pmf[0] == pytest.approx(0.25 + 0.75 * math.exp(-2.0), rel=1e-14)
    assert pmf[3] == pytest.approx(0.75 * math.exp(-2.0) * 8 / 6, rel=1e-14)
    assert pmf.sum() == pytest.approx(1.0, rel=1e-14)
    dist = fam.scipy({"rate": 2.0, "pi": 0.25})
    assert dist.mean() == pytest.approx(1.5, rel=1e-14)
    assert dist.var() == pytest.approx(1.5 * (1 + 0.5), rel=1e-14)


def test_zero_inflated_poisson_recovers_the_zero_fraction():
    rng = np.random.default_rng(3)
    x = np.where(rng.random(5000) < 0.4, 0.0, rng.poisson(2.5, 5000))
    res = jm.fit("zero_inflated_poisson", x)
    # The MLE satisfies mean(x) = (1 - pi) rate and P(0) = observed zero fraction.
    rate, pi = float(res.params["rate"]), float(res.params["pi"])
    assert (1 - pi) * rate == pytest.approx(x.mean(), rel=1e-8)
    assert pi + (1 - pi) * math.exp(-rate) == pytest.approx(np.mean(x == 0), rel=1e-8)


def test_categorical_closed_form_is_the_weighted_frequencies():
    fam = jm.family("categorical", k=4)
    x = np.array([0.0, 1.0, 1.0, 2.0, 0.0, 3.0])
    w = np.array([1.0, 2.0, 1.0, 0.5, 0.0, 0.5])
    res = jm.fit(fam, x, weights=w)
    np.testing.assert_allclose(
        np.asarray(res.params["probs"]), [1 / 5, 3 / 5, 0.1, 0.1], rtol=1e-14
    )
    newton = jm.fit(fam, x, weights=w, method="newton")
    np.testing.assert_allclose(np.asarray(newton.params["probs"]), [0.2, 0.6, 0.1, 0.1], rtol=1e-8)
    assert res.n_params == 3  # k - 1 free log-ratios


def test_categorical_unobserved_category_is_zero_on_the_boundary():
    res = jm.fit(jm.family("categorical", k=3), [0.0, 1.0, 1.0])
    np.testing.assert_allclose(np.asarray(res.params["probs"]), [1 / 3, 2 / 3, 0.0], rtol=1e-14)
    assert float(res.loglik) == pytest.approx(math.log(1 / 3) + 2 * math.log(2 / 3), rel=1e-14)
    assert "boundary" in res.message


def test_beta_binomial_tails_keep_relative_precision():
    fam = jm.family("beta_binomial", n=40)
    params = {"alpha": jnp.asarray(2.0), "beta": jnp.asarray(30.0)}
    k = np.arange(41.0)
    logpmf = np.asarray(fam.logpdf(params, jnp.asarray(k)))
    # Upper tail P(X > 35) is ~1e-30: summed directly from the pmf.
    direct = np.log(np.sum(np.exp(logpmf[36:])))
    assert float(fam.logsf(params, jnp.array([35.0]))[0]) == pytest.approx(direct, rel=1e-12)
    assert float(fam.logcdf(params, jnp.array([0.0]))[0]) == pytest.approx(logpmf[0], rel=1e-14)
    ref = stats.betabinom(40, 2.0, 30.0)
    np.testing.assert_allclose(np.exp(logpmf), ref.pmf(k), rtol=1e-10)


def test_beta_binomial_with_one_trial_is_bernoulli():
    fam = jm.family("beta_binomial", n=1)
    x = np.array([0.0, 1.0, 1.0, 1.0])
    start = fam.init(jnp.asarray(x), None)
    a, b = float(start["alpha"]), float(start["beta"])
    assert a > 0 and b > 0
    p = jnp.exp(fam.logpdf({"alpha": jnp.asarray(a), "beta": jnp.asarray(b)}, jnp.array([1.0])))
    assert float(p[0]) == pytest.approx(a / (a + b), rel=1e-14)
