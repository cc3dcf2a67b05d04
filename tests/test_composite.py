"""Mixtures, custom families and location-shifted families, end to end."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm


def _em_normal_mixture(x, locs, scales, weights, iters=5000, tol=1e-13):
    """A plain EM for a K-component normal mixture: the reference optimum."""
    locs, scales, weights = (np.array(v, dtype=float) for v in (locs, scales, weights))
    prev = -np.inf
    for _ in range(iters):
        dens = weights * stats.norm.pdf(x[:, None], locs, scales)
        ll = np.log(dens.sum(1)).sum()
        resp = dens / dens.sum(1, keepdims=True)
        nk = resp.sum(0)
        weights = nk / len(x)
        locs = (resp * x[:, None]).sum(0) / nk
        scales = np.sqrt((resp * (x[:, None] - locs) ** 2).sum(0) / nk)
        if ll - prev < tol:
            break
        prev = ll
    return locs, scales, weights, ll


@pytest.fixture(scope="module")
def two_normals():
    rng = np.random.default_rng(1)
    return np.concatenate([rng.normal(-2.0, 1.0, 700), rng.normal(2.5, 0.6, 500)])


def test_mixture_matches_reference_em(two_normals):
    x = two_normals
    res = jm.fit(jm.Mixture([jm.Normal(), jm.Normal()]), x)
    assert bool(res.converged), res.message
    locs, scales, weights, ll = _em_normal_mixture(x, [-1, 1], [1, 1], [0.5, 0.5])
    order = np.argsort(locs)
    for k, j in enumerate(order):
        assert float(res.params[f"loc_{k}"]) == pytest.approx(locs[j], rel=1e-5)
        assert float(res.params[f"scale_{k}"]) == pytest.approx(scales[j], rel=1e-5)
        assert float(res.params["weights"][k]) == pytest.approx(weights[j], rel=1e-5)
    assert float(res.loglik) == pytest.approx(ll, rel=1e-10)
    assert float(res.loglik) >= ll - 1e-9 * abs(ll)
    assert res.n_params == 5  # one free weight, two locs, two scales
    assert float(np.sum(res.params["weights"])) == pytest.approx(1.0, rel=1e-12)


def test_mixture_label_switching_gives_the_same_answer(two_normals):
    fam = jm.Mixture([jm.Normal(), jm.Normal()])
    a = jm.fit(fam, two_normals)
    swapped = {"loc_0": 2.5, "scale_0": 0.6, "loc_1": -2.0, "scale_1": 1.0}
    b = jm.fit(fam, two_normals, init=swapped)
    for k in fam.param_names:
        np.testing.assert_allclose(np.asarray(a.params[k]), np.asarray(b.params[k]), rtol=1e-7)
    np.testing.assert_allclose(np.asarray(a.cov), np.asarray(b.cov), rtol=1e-5, atol=1e-12)
    assert float(a.params["loc_0"]) < float(a.params["loc_1"])


def test_mixture_of_different_families_and_responsibilities():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.exponential(0.5, 600), rng.gamma(20.0, 0.5, 400)])
    fam = jm.Mixture([jm.Exponential(), jm.Gamma()])
    res = jm.fit(fam, x)
    assert bool(res.converged), res.message
    assert float(res.params["weights"][0]) == pytest.approx(0.6, abs=0.05)
    assert float(res.params["shape_1"] / res.params["rate_1"]) == pytest.approx(10.0, rel=0.05)
    resp = np.asarray(fam.responsibilities(res.params, jnp.asarray(x)))
    np.testing.assert_allclose(resp.sum(1), 1.0, rtol=1e-12)
    assert resp[:600, 0].mean() > 0.95 and resp[600:, 1].mean() > 0.95


def test_ill_posed_mixture_reports_non_convergence():
    # A spike of identical values lets one component's scale go to 0: the
    # likelihood is unbounded and there is no MLE.
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0.0, 1.0, 60), np.full(40, 5.0)])
    with pytest.warns(jm.ConvergenceWarning):
        res = jm.fit(jm.Mixture([jm.Normal(), jm.Normal()]), x, max_iter=60)
    assert not bool(res.converged)
    assert "not converged" in res.message


def test_mixture_validation():
    with pytest.raises(ValueError, match="at least 2 components"):
        jm.Mixture([jm.Normal()])
    with pytest.raises(ValueError, match="unknown family"):
        jm.Mixture(["normal", "nromal_x"])


def _gompertz_logpdf(p, x):
    b, eta = p["rate"], p["shape"]
    return jnp.log(b * eta) + eta + b * x - eta * jnp.exp(b * x)


GOMPERTZ = jm.Custom(
    _gompertz_logpdf, {"shape": "positive", "rate": "positive"}, name="gompertz", support="positive"
)


def test_custom_family_fits_like_a_built_in():
    x = stats.gompertz(c=0.5, scale=1 / 1.3).rvs(2000, random_state=1)
    res = jm.fit(GOMPERTZ, x)
    assert bool(res.converged), res.message
    c, loc, scale = stats.gompertz.fit(x, floc=0)
    ref = stats.gompertz(c, loc, scale).logpdf(x).sum()
    assert float(res.loglik) >= ref - 1e-6 * abs(ref)
    assert float(res.params["shape"]) == pytest.approx(c, rel=1e-3)
    assert float(res.params["rate"]) == pytest.approx(1 / scale, rel=1e-3)
    info = np.asarray(jm.observed_information(GOMPERTZ, res.params, x))
    np.testing.assert_allclose(np.asarray(res.cov), np.linalg.inv(info), rtol=1e-6)
    held = jm.fit(GOMPERTZ, x, fixed={"rate": 1.3}, method="lbfgs")
    assert bool(held.converged) and held.free_names == ("shape",)
    with pytest.raises(ValueError, match="outside the support of gompertz"):
        jm.fit(GOMPERTZ, [1.0, -1.0])


def test_custom_family_options_are_checked():
    with pytest.raises(ValueError, match="unknown constraint 'postive'"):
        jm.Custom(_gompertz_logpdf, {"shape": "postive"})
    with pytest.raises(TypeError, match="callable"):
        jm.Custom(None, {"shape": "positive"})
    with pytest.raises(ValueError, match="unknown support"):
        jm.Custom(_gompertz_logpdf, {"shape": "positive"}, support="reals")


def _model_warnings(caught):
    return [str(w.message) for w in caught if issubclass(w.category, jm.ModelWarning)]


def test_shifted_exponential_is_the_exact_boundary_mle():
    # The example: loc = min(x) = 2, rate = 1 / mean(x - 2) = 1 / 2, and
    # loglik = n (log rate - 1) = 8 (log 0.5 - 1); scipy's expon.fit agrees.
    x = np.array([2, 2, 4, 4, 4, 4, 4, 8.0])
    fam = jm.Shifted(jm.Exponential())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(fam, x)
    assert not _model_warnings(caught)
    assert bool(res.converged) and res.method == "closed_form"
    assert float(res.params["loc"]) == 2.0
    assert float(res.params["rate"]) == pytest.approx(0.5, rel=1e-14)
    assert float(res.loglik) == pytest.approx(8 * (np.log(0.5) - 1.0), rel=1e-14)
    ref = stats.expon.logpdf(x, *stats.expon.fit(x)).sum()
    assert ref == pytest.approx(-13.545177444479563, rel=1e-12)
    assert float(res.loglik) >= ref - 1e-12 * abs(ref)
    assert res.to_scipy().logpdf(x).sum() == pytest.approx(float(res.loglik), rel=1e-12)
    # loc is on the boundary (no standard error, named); rate's is computed with
    # loc held at min(x): information n / rate^2.
    assert np.isnan(res.stderr["loc"]) and "no finite standard error for loc" in res.message
    assert float(res.stderr["rate"]) == pytest.approx(0.5 / np.sqrt(8), rel=1e-10)
    assert res.n_params == 2
    # The support is closed: an observation at loc has density rate.
    at_loc = fam.logpdf({"rate": jnp.asarray(0.5), "loc": jnp.asarray(2.0)}, jnp.asarray([2.0]))
    assert float(at_loc[0]) == pytest.approx(np.log(0.5), rel=1e-14)
    # Weights: a zero-weight row below the rest is not data (loc = 4, rate = 1/2).
    w = np.array([0, 0, 1, 1, 1, 1, 1, 1.0])
    res_w = jm.fit(fam, x, weights=w)
    assert float(res_w.params["loc"]) == 4.0
    assert float(res_w.params["rate"]) == pytest.approx(6 / 4, rel=1e-14)


@pytest.mark.parametrize(
    "base, scipy_dist, draw",
    [
        (jm.Exponential(), stats.expon, lambda r: 3 + r.exponential(2.0, 500)),
        (jm.HalfNormal(), stats.halfnorm, lambda r: -1 + np.abs(r.normal(0.0, 2.0, 500))),
    ],
    ids=["exponential", "half_normal"],
)
def test_shifted_boundary_mle_matches_scipy(base, scipy_dist, draw):
    # Base density finite and non-increasing at 0: the MLE is loc = min(x) and
    # the base MLE on x - min(x) (scipy's expon.fit and halfnorm.fit, exact).
    x = draw(np.random.default_rng(6))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(jm.Shifted(base), x)
    assert not _model_warnings(caught)
    assert bool(res.converged)
    loc, scale = scipy_dist.fit(x)
    assert loc == x.min() and float(res.params["loc"]) == x.min()
    ref = scipy_dist.logpdf(x, loc, scale).sum()
    assert float(res.loglik) >= ref - 1e-12 * abs(ref)
    assert float(res.loglik) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(res.to_scipy().kwds["scale"], scale, rtol=1e-12)
    assert np.isnan(res.stderr["loc"]) and np.isfinite(res.stderr[base.param_names[0]])


@pytest.mark.parametrize(
    "base, scipy_dist, draw",
    [
        (jm.Weibull(), stats.weibull_min, lambda r: 5 + 3 * r.weibull(2.0, 2000)),
        (jm.Gamma(), stats.gamma, lambda r: 5 + r.gamma(3.0, 2.0, 2000)),
        (jm.LogNormal(), stats.lognorm, lambda r: 1 + r.lognormal(0.5, 0.4, 2000)),
    ],
    ids=["weibull", "gamma", "lognormal"],
)
def test_shifted_matches_scipy_three_parameter_fit(base, scipy_dist, draw):
    # Base density vanishing at 0 (shape > 1, lognormal): an interior MLE, at
    # least as high as scipy's, with a finite standard error for loc and no warning.
    x = draw(np.random.default_rng(4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(jm.Shifted(base), x)
    assert not _model_warnings(caught)
    assert bool(res.converged), res.message
    ref = scipy_dist(*scipy_dist.fit(x)).logpdf(x).sum()
    assert float(res.loglik) >= ref - 1e-6 * abs(ref)
    name = res.family.loc_name
    assert float(res.params[name]) < x.min()
    assert np.isfinite(res.stderr[name]) and float(res.stderr[name]) > 0
    if "shape" in res.params:
        assert float(res.params["shape"]) > 1.0
    assert res.to_scipy().logpdf(x).sum() == pytest.approx(float(res.loglik), rel=1e-10)
    # The support is open: an observation at loc has density 0 (log 0 = -inf).
    at_loc = res.family.logpdf(res.params, jnp.asarray([float(res.params[name])]))
    assert float(at_loc[0]) == -np.inf


def test_shifted_warns_where_the_likelihood_is_unbounded():
    # Weibull shape < 1: the density is infinite at 0, the likelihood grows
    # without limit as loc -> min(x); the warning says so and where the fit stopped.
    x = 5 + 3 * np.random.default_rng(5).weibull(0.7, 2000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(jm.Shifted(jm.Weibull()), x, max_iter=40)
    model = _model_warnings(caught)
    assert len(model) == 1 and "unbounded" in model[0]
    assert f"shape={float(res.params['shape']):.6g}" in model[0]
    assert float(res.params["shape"]) < 1.0
    assert float(x.min() - res.params["loc"]) < 1e-6 * np.ptp(x)


def test_shifted_iterative_fit_holds_loc_at_its_boundary_mle():
    # The generalized Pareto has no closed form: Newton cannot land on
    # loc = min(x), so the fit holds loc there (family.boundary_values) and
    # fits the rest; loc is still an estimate (counted in n_params, NaN
    # standard error), and the fit equals the one with loc fixed at min(x),
    # at or above scipy's optimum. The same for method="newton" on the
    # shifted exponential: the closed form's answer.
    x = 3 + np.random.default_rng(6).exponential(2.0, 500)
    fam = jm.Shifted(jm.GeneralizedPareto())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(fam, x)
    assert not _model_warnings(caught)
    assert bool(res.converged), res.message
    assert float(res.params["loc"]) == x.min()
    assert np.isnan(float(res.stderr["loc"])) and res.n_params == 3
    held = jm.fit(fam, x, fixed={"loc": x.min()})
    assert float(res.loglik) == pytest.approx(float(held.loglik), rel=1e-12)
    for k in ("shape", "scale"):
        assert float(res.params[k]) == pytest.approx(float(held.params[k]), rel=1e-9)
        assert float(res.stderr[k]) == pytest.approx(float(held.stderr[k]), rel=1e-6)
    ref = stats.genpareto(*stats.genpareto.fit(x)).logpdf(x).sum()
    assert float(res.loglik) >= ref - 1e-6 * abs(ref)
    expon = jm.Shifted(jm.Exponential())
    newton, closed = jm.fit(expon, x, method="newton"), jm.fit(expon, x)
    assert float(newton.params["loc"]) == x.min() == float(closed.params["loc"])
    assert float(newton.params["rate"]) == pytest.approx(float(closed.params["rate"]), rel=1e-10)
    assert newton.n_params == closed.n_params == 2


def test_shifted_needs_a_positive_family():
    with pytest.raises(ValueError, match="x > 0 or x >= 0"):
        jm.Shifted(jm.Normal())


def test_user_families_are_registrable(monkeypatch):
    from jaxmle.families import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # undone after

    @jm.register("gompertz")  # a jm.Custom subclass has no class-level name: this gives it one
    class Gompertz(jm.Custom):
        def __init__(self):
            super().__init__(
                _gompertz_logpdf,
                {"shape": "positive", "rate": "positive"},
                name="gompertz",
                support="positive",
            )

    assert Gompertz.name == "gompertz" and "gompertz" in jm.family_names()
    assert type(jm.family("gompertz")) is Gompertz

    @jm.register  # a subclass that names itself
    class HalfCauchy(jm.Family):
        name = "half_cauchy_test"
        param_names = ("scale",)
        constraints = {"scale": jm.constraints.positive}
        support = jm.families.support.nonnegative_reals
        scipy_equivalent = jm.families.ScipyEquivalent("halfcauchy", scale="scale")

        def logpdf(self, params, x):
            s = params["scale"]
            return jnp.log(2.0 / jnp.pi) - jnp.log(s) - jnp.log1p((x / s) ** 2)

    fam = jm.family("half_cauchy_test")
    x = np.array([0.1, 0.5, 2.0])
    np.testing.assert_allclose(
        np.asarray(fam.logpdf({"scale": jnp.asarray(1.5)}, jnp.asarray(x))),
        fam.scipy({"scale": 1.5}).logpdf(x),
        rtol=1e-12,
    )
    assert not HalfCauchy.has_closed_form

    with pytest.raises(ValueError, match="already registered"):
        jm.register(type("Other", (jm.Normal,), {}))  # inherits the name "normal"
    with pytest.raises(TypeError, match="no name"):
        jm.register(type("Nameless", (jm.Family,), {}))
    with pytest.raises(ValueError, match="is named 'normal'"):
        jm.register("other")(type("Other", (jm.Normal,), {}))
    with pytest.raises(ValueError, match="1/"):
        jm.families.ScipyEquivalent("expon", scale="1/rate.x")
