"""Family-specific facts for positive.py: parametrizations against
scipy's moments, closed forms against textbook formulas, the generalized Pareto
through shape = 0, and feasible starts on awkward data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm
from jaxmle.families import family_class, support as S

# Every registered family on x > 0 or x >= 0 (read from the registry).
NAMES = [
    n
    for n in jm.family_names()
    if getattr(family_class(n), "support", None) in (S.positive_reals, S.nonnegative_reals)
]


def _p(**kw):
    return {k: jnp.asarray(v, jnp.float64) for k, v in kw.items()}


def test_inverse_gaussian_mapping_has_the_right_mean_and_variance():
    mean, shape = 1.7, 4.2
    dist = jm.family("inverse_gaussian").scipy({"mean": mean, "shape": shape})
    assert dist.mean() == pytest.approx(mean, rel=1e-12)
    assert dist.var() == pytest.approx(mean**3 / shape, rel=1e-12)


def test_nakagami_scale_is_sqrt_omega():
    # Omega = E[x^2] = scale^2, whatever the shape.
    dist = jm.family("nakagami").scipy({"shape": 0.8, "scale": 2.5})
    assert dist.moment(2) == pytest.approx(2.5**2, rel=1e-10)


def test_loglogistic_and_frechet_and_burr_cdfs_are_the_stated_formulas():
    x = jnp.asarray([0.3, 1.0, 2.5, 7.0])
    xn = np.asarray(x)
    got = jm.family("loglogistic").cdf(_p(shape=2.2, scale=1.4), x)
    np.testing.assert_allclose(got, 1 / (1 + (xn / 1.4) ** -2.2), rtol=1e-13)
    got = jm.family("frechet").cdf(_p(shape=1.8, scale=0.9), x)
    np.testing.assert_allclose(got, np.exp(-((xn / 0.9) ** -1.8)), rtol=1e-13)
    got = jm.family("burr").cdf(_p(c=2.5, k=0.7, scale=1.3), x)
    np.testing.assert_allclose(got, 1 - (1 + (xn / 1.3) ** 2.5) ** -0.7, rtol=1e-13)


def test_closed_forms_are_the_textbook_estimators():
    rng = np.random.default_rng(3)
    x = rng.wald(2.0, 5.0, 500)
    cf = jm.family("inverse_gaussian").closed_form(jnp.asarray(x), None)
    assert float(cf["mean"]) == pytest.approx(x.mean(), rel=1e-12)
    assert float(cf["shape"]) == pytest.approx(len(x) / np.sum(1 / x - 1 / x.mean()), rel=1e-12)
    y = np.abs(rng.normal(0, 3.0, 500))
    cf = jm.family("half_normal").closed_form(jnp.asarray(y), None)
    assert float(cf["scale"]) == pytest.approx(np.sqrt(np.mean(y**2)), rel=1e-12)
    cf = jm.family("rayleigh").closed_form(jnp.asarray(y), None)
    assert float(cf["scale"]) == pytest.approx(np.sqrt(np.mean(y**2) / 2), rel=1e-12)


def test_pareto_closed_form_ignores_zero_weights_and_is_the_maximum():
    rng = np.random.default_rng(4)
    x = 2.0 * np.exp(rng.exponential(size=300) / 1.5)
    fam = jm.family("pareto")
    cf = fam.closed_form(jnp.asarray(x), None)
    assert float(cf["scale"]) == x.min()
    assert float(cf["alpha"]) == pytest.approx(1 / np.mean(np.log(x / x.min())), rel=1e-12)
    # A zero-weight point below the rest does not move the estimate.
    xw = np.concatenate([[0.5], x])
    w = np.concatenate([[0.0], np.ones_like(x)])
    cfw = fam.closed_form(jnp.asarray(xw), jnp.asarray(w))
    for k in cf:
        assert float(cfw[k]) == pytest.approx(float(cf[k]), rel=1e-12)
    # Any feasible neighbour has a lower log-likelihood.
    ll = lambda a, s: float(jm.loglik(fam, {"alpha": a, "scale": s}, x))  # noqa: E731
    a_hat, s_hat = float(cf["alpha"]), float(cf["scale"])
    for a, s in [(a_hat * 1.01, s_hat), (a_hat * 0.99, s_hat), (a_hat, s_hat * 0.999)]:
        assert ll(a, s) < ll(a_hat, s_hat)
    assert np.isneginf(
        float(fam.logpdf(_p(alpha=a_hat, scale=s_hat), jnp.asarray([0.9 * s_hat]))[0])
    )


def test_rayleigh_rejects_zero_but_half_normal_accepts_it():
    with pytest.raises(ValueError, match="outside the support"):
        jm.fit("rayleigh", [0.0, 1.0, 2.0])
    assert np.isfinite(float(jm.loglik("half_normal", {"scale": 1.0}, [0.0, 1.0])))


def _gpd_total(xi, sigma, x):
    fam = jm.family("generalized_pareto")
    return jnp.sum(fam.logpdf({"shape": xi, "scale": sigma}, x))


def test_generalized_pareto_is_smooth_through_shape_zero():
    x = jnp.asarray([0.0, 0.2, 1.0, 3.0, 6.0])
    sigma = jnp.asarray(1.5)
    z = np.asarray(x) / 1.5
    # log f = -log s - z + xi (z^2/2 - z) + xi^2 (z^2/2 - z^3/3) + O(xi^3)
    at0 = -np.log(1.5) - z
    d1 = z * z / 2 - z
    d2 = z * z - 2 * z**3 / 3
    fam = jm.family("generalized_pareto")
    np.testing.assert_allclose(fam.logpdf(_p(shape=0.0, scale=1.5), x), at0, rtol=1e-14)
    np.testing.assert_allclose(
        fam.logpdf(_p(shape=1e-9, scale=1.5), x), at0 + 1e-9 * d1, rtol=1e-14
    )
    value = jax.jit(_gpd_total)
    grad = jax.jit(jax.grad(_gpd_total))
    hess = jax.jit(jax.grad(jax.grad(_gpd_total)))
    g, h = grad(jnp.asarray(0.0), sigma, x), hess(jnp.asarray(0.0), sigma, x)
    assert float(g) == pytest.approx(d1.sum(), rel=1e-13)
    assert float(h) == pytest.approx(d2.sum(), rel=1e-12)
    # Across the switch between the series and log1p(t)/t (|t| = 0.05), the
    # value, gradient and Hessian agree with finite differences of each other.
    for xi in (0.05 / 4.0, -0.05 / 4.0):  # t = xi * 6 / 1.5 at the switch
        for f in (value, grad, hess):
            lo, hi = f(jnp.asarray(xi - 1e-9), sigma, x), f(jnp.asarray(xi + 1e-9), sigma, x)
            assert float(hi) == pytest.approx(float(lo), rel=1e-7, abs=1e-7)
    # The exponential limit matches scipy's genpareto(c=0).
    np.testing.assert_allclose(
        fam.logsf(_p(shape=0.0, scale=1.5), x), stats.genpareto(0.0, scale=1.5).logsf(x)
    )


def test_generalized_pareto_outside_the_support():
    fam = jm.family("generalized_pareto")
    p = _p(shape=-0.5, scale=1.0)  # support [0, 2]
    x = jnp.asarray([-1.0, 0.5, 2.5])
    lp = np.asarray(fam.logpdf(p, x))
    assert np.isneginf(lp[0]) and np.isfinite(lp[1]) and np.isneginf(lp[2])
    np.testing.assert_allclose(fam.cdf(p, x), [0.0, 1 - 0.75**2, 1.0], rtol=1e-14)
    np.testing.assert_array_equal(np.asarray(fam.logsf(p, x))[[0, 2]], [0.0, -np.inf])
    np.testing.assert_array_equal(np.asarray(fam.logcdf(p, x))[[0, 2]], [-np.inf, 0.0])
    # The gradient of the in-support terms stays finite next to -inf terms.
    g = jax.grad(lambda q: jnp.sum(jnp.where(x > 0, fam.logpdf(q, jnp.abs(x) * 0.5), 0.0)))(p)
    assert all(np.isfinite(float(v)) for v in g.values())


def test_generalized_pareto_warns_where_no_mle_exists():
    fam = jm.family("generalized_pareto")
    assert fam.diagnose({"shape": -0.3, "scale": 1.0}, np.ones(3)) is None
    assert "unbounded" in fam.diagnose({"shape": -1.2, "scale": 1.0}, np.ones(3))
    assert "not regular" in fam.diagnose({"shape": -0.7, "scale": 1.0}, np.ones(3))


AWKWARD = {
    "uniform": lambda r: r.uniform(0.0, 1.0, 400) + 1e-9,
    "heavy_tail": lambda r: np.exp(r.exponential(size=400) / 0.4),
    "tiny": lambda r: 1e-7 * r.gamma(2.0, 1.0, 400),
    "huge": lambda r: 1e7 * r.gamma(0.5, 1.0, 400),
    "near_constant": lambda r: 5.0 + 1e-6 * r.random(400),
}


@pytest.mark.parametrize("data", list(AWKWARD), ids=list(AWKWARD))
@pytest.mark.parametrize("name", NAMES)
def test_init_is_feasible_on_awkward_data_with_weights(name, data):
    fam = jm.family(name)
    r = np.random.default_rng(8)
    x = jnp.asarray(AWKWARD[data](r))
    w = jnp.asarray(r.integers(0, 3, x.shape[0]).astype(float))
    for weights in (None, w):
        start = fam.init(x, weights)
        for k in fam.param_names:
            assert bool(fam.constraints[k].contains(np.asarray(start[k]))), (k, start)
        lp = fam.logpdf(start, x)
        kept = np.ones(x.shape[0], bool) if weights is None else np.asarray(weights) > 0
        assert np.all(np.isfinite(np.asarray(lp)[kept])), (start, data)
