"""Goodness of fit: the EDF statistics against scipy.stats, the chi-square of
discrete fits against scipy.stats.chisquare on an independent implementation of
the binning rule, weights, the parametric-bootstrap p-values (uniform under the
null, small under the wrong family), batches, and bad requests."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm
from jaxmle.inference import sorted_cdf
from jaxmle.inference.gof import MIN_EXPECTED, _replicate_refit, _statistics

N = 300


def _known_params(res: jm.FitResult) -> tuple[object, dict[str, float]]:
    """The fitted distribution as scipy's ``goodness_of_fit`` takes it: the
    distribution and every one of its parameters (shapes, loc, scale)."""
    frozen = res.to_scipy()
    kw = {k: float(v) for k, v in frozen.kwds.items()}
    kw.setdefault("loc", 0.0)
    kw.setdefault("scale", 1.0)
    return frozen.dist, kw


_DRAWS = {
    "normal": lambda rng, n: rng.normal(1.0, 2.0, n),
    "gamma": lambda rng, n: rng.gamma(2.5, 1.5, n),
    "weibull": lambda rng, n: 3.0 * rng.weibull(1.7, n),
    "lognormal": lambda rng, n: rng.lognormal(0.3, 0.8, n),
    "logistic": lambda rng, n: rng.logistic(-1.0, 0.5, n),
    "beta": lambda rng, n: rng.beta(2.0, 5.0, n),
}


@pytest.mark.parametrize("name", list(_DRAWS))
def test_edf_statistics_equal_scipy(name):
    x = _DRAWS[name](np.random.default_rng(11), N)
    res = jm.fit(name, x)
    g = res.gof()
    dist, known = _known_params(res)
    for stat in ("ks", "cvm", "ad"):
        want = stats.goodness_of_fit(
            dist, x, known_params=known, statistic=stat, n_mc_samples=9, rng=0
        ).statistic
        assert getattr(g, stat) == pytest.approx(want, rel=1e-10, abs=1e-13), stat
    frozen = res.to_scipy()
    assert g.ks == pytest.approx(stats.kstest(x, frozen.cdf).statistic, rel=1e-10)
    assert g.cvm == pytest.approx(stats.cramervonmises(x, frozen.cdf).statistic, rel=1e-10)
    assert not g.discrete and g.chi2 is None and g.ks_pvalue is None and g.n == N
    assert g.n_params == 2 and g.n_boot == 0 and g.note == ""


# Families whose cdf is an incomplete gamma or beta integral or Owen's T (one
# of each kind; chi2, nakagami, inverse_gamma share the gamma's, student_t the
# beta's): on
# long data their cdf comes from the density integrated between the sorted
# observations (jaxmle.inference.sorted_cdf), checked against exact anchors.
_COSTLY = {
    "gamma": lambda rng, n: rng.gamma(0.7, 1.5, n),  # a density infinite at 0
    "skew_normal": lambda rng, n: stats.skewnorm.rvs(4.0, size=n, random_state=rng),
    "beta": lambda rng, n: rng.beta(0.8, 3.0, n),
}


@pytest.mark.parametrize("name", list(_COSTLY))
def test_long_data_statistics_by_quadrature_equal_scipy(name):
    n = sorted_cdf.MIN_ROWS + 4321
    x = _COSTLY[name](np.random.default_rng(12), n)
    res = jm.fit(name, x)
    fam = res.family
    assert fam.costly_cdf and sorted_cdf.uses_quadrature(fam, n)
    params = {k: jnp.asarray(v) for k, v in res.params.items()}
    xs = jnp.sort(jnp.asarray(x))
    # The quadrature passed its checks (no fallback) and equals the exact cdf.
    log_f, log_s, ok = jax.jit(lambda p, v: sorted_cdf._quadrature(fam, p, v))(params, xs)
    assert bool(ok)
    exact_f, exact_s = jax.jit(fam.log_cdf_sf)(params, xs)
    np.testing.assert_allclose(log_f, exact_f, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(log_s, exact_s, rtol=1e-12, atol=1e-14)
    g = res.gof()
    frozen = res.to_scipy()
    want_ad = -n - np.mean(
        np.arange(1, 2 * n, 2) * (frozen.logcdf(np.sort(x)) + frozen.logsf(np.sort(x))[::-1])
    )
    assert g.ad == pytest.approx(want_ad, rel=1e-9)
    assert g.ks == pytest.approx(stats.kstest(x, frozen.cdf).statistic, rel=1e-10)
    assert g.cvm == pytest.approx(stats.cramervonmises(x, frozen.cdf).statistic, rel=1e-9)


def test_quadrature_that_fails_its_check_gives_the_exact_statistics():
    # Two clusters far apart: the density across the gap between them (x e^-x
    # from 2 to 1000) is beyond a three-point rule, so a block's check fails
    # and the statistics come from the exact cdf at every point.
    rng = np.random.default_rng(13)
    half = sorted_cdf.MIN_ROWS // 2 + 100
    x = np.sort(np.concatenate([rng.uniform(1.0, 2.0, half), rng.uniform(1000.0, 1001.0, half)]))
    fam = jm.family("gamma")
    batch = {"shape": jnp.asarray([2.0]), "rate": jnp.asarray([1.0])}
    xs = jnp.asarray(x)[None]
    quadrature = jax.jit(lambda p, v: sorted_cdf.batch_log_cdf_sf(fam, p, v))
    assert not bool(quadrature(batch, xs)[2])
    got = _statistics(fam, batch, xs, None, 2, presorted=True)
    # The exact statistics, with the gamma(2) cdf in closed form: S = (1 + x) e^-x.
    log_s = np.log1p(x) - x
    log_f = np.log(-np.expm1(log_s))
    n = x.shape[0]
    f = np.exp(log_f)
    mid = (np.arange(1, n + 1) - 0.5) / n
    want_ks = np.max(np.maximum(np.arange(1, n + 1) / n - f, f - np.arange(n) / n))
    want_cvm = np.sum((f - mid) ** 2) + 1.0 / (12 * n)
    want_ad = -n - np.mean(np.arange(1, 2 * n, 2) * (log_f + log_s[::-1]))
    assert float(got.ks[0]) == pytest.approx(want_ks, rel=1e-12)
    assert float(got.cvm[0]) == pytest.approx(want_cvm, rel=1e-10)
    assert float(got.ad[0]) == pytest.approx(want_ad, rel=1e-10)


def test_integer_weights_give_the_statistics_of_the_repeated_rows():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 1.0, 120)
    w = rng.integers(0, 4, 120).astype(float)
    res = jm.fit("gamma", x, weights=w)
    g = res.gof()
    rows = np.repeat(x, w.astype(int))  # ties included
    dist, known = _known_params(res)
    for stat in ("ks", "cvm", "ad"):
        want = stats.goodness_of_fit(
            dist, rows, known_params=known, statistic=stat, n_mc_samples=9, rng=0
        ).statistic
        assert getattr(g, stat) == pytest.approx(want, rel=1e-10), stat
    assert g.n == w.sum()
    # The bootstrap's replicates are sum(w) unit-weight draws, as the repeated rows'.
    rep, note = _replicate_refit(res.refit)
    wr = np.asarray(rep.w)
    assert note == "" and wr.sum() == w.sum() and set(np.unique(wr)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.sort(np.asarray(rep.x)[wr > 0]), np.sort(rows))


def test_non_integer_weights_use_the_weighted_edf():
    # Scaling every weight by c leaves the EDF and the MLE as they are: D is
    # unchanged, W^2 = n int (F_n - F)^2 dF and A^2 scale with n = sum(w).
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    w = rng.integers(1, 4, 200).astype(float)
    c = 0.37
    g1, gc = jm.fit("normal", x, weights=w).gof(), jm.fit("normal", x, weights=c * w).gof()
    assert gc.ks == pytest.approx(g1.ks, rel=1e-12)
    assert gc.cvm == pytest.approx(c * g1.cvm, rel=1e-10)
    assert gc.ad == pytest.approx(c * g1.ad, rel=1e-10)
    assert "weighted EDF" in gc.note and g1.note == ""


def _reference_bins(x, frozen, n_params):
    """The binning rule of jaxmle.inference.gof written independently, with
    scipy's cdf: a bin ends at an observed value once it and the tail above
    it both expect >= 5."""
    values, counts = np.unique(x, return_counts=True)
    n = len(x)
    cuts, start = [], -np.inf

    def cdf(v):
        return 0.0 if v == -np.inf else float(frozen.cdf(v))

    for v in values:
        if n * (cdf(v) - cdf(start)) >= MIN_EXPECTED and n * frozen.sf(v) >= MIN_EXPECTED:
            cuts.append(float(v))
            start = v
    lower = np.array([-np.inf, *cuts])
    upper = np.array([*cuts, np.inf])
    pairs = list(zip(lower, upper, strict=True))
    observed = np.array([counts[(values > a) & (values <= b)].sum() for a, b in pairs])
    expected = n * np.array([(1.0 if b == np.inf else cdf(b)) - cdf(a) for a, b in pairs])
    return lower, upper, observed, expected


@pytest.mark.parametrize(
    "name, draw",
    [
        ("poisson", lambda rng: rng.poisson(3.5, 600)),
        ("negative_binomial", lambda rng: rng.negative_binomial(2.0, 0.3, 600)),
    ],
)
def test_chi_square_of_discrete_fits_equals_scipy(name, draw):
    x = draw(np.random.default_rng(5)).astype(float)
    res = jm.fit(name, x)
    g = res.gof()
    frozen = res.to_scipy()
    lower, upper, observed, expected = _reference_bins(x, frozen, res.n_params)
    np.testing.assert_array_equal(g.bins.lower, lower)
    np.testing.assert_array_equal(g.bins.upper, upper)
    np.testing.assert_array_equal(g.bins.observed, observed)
    np.testing.assert_allclose(g.bins.expected, expected, rtol=1e-10)
    assert np.all(g.bins.expected >= MIN_EXPECTED) and len(upper) >= 4
    want = stats.chisquare(observed, expected, ddof=res.n_params)
    assert g.chi2 == pytest.approx(want.statistic, rel=1e-10)
    assert g.chi2_pvalue == pytest.approx(want.pvalue, rel=1e-9)
    assert g.df == len(upper) - 1 - res.n_params
    assert g.discrete and g.ks is None and g.chi2_boot_pvalue is None
    text = str(g)
    assert "Pearson chi-square" in text and f"df = {g.df}" in text and ">= " in text


def test_bootstrap_pvalues_are_uniform_under_the_null():
    # 200 normal samples, each fitted and given its own bootstrap p-value (49
    # refitted replicates each); under the null the p-values are U(0, 1).
    rng = np.random.default_rng(2026)
    many = jm.fit_many("normal", rng.normal(3.0, 2.0, size=(200, 200)))
    g = many.gof(n_boot=49, key=7)
    assert g.batched and len(g) == 200 and np.all(g.n_counted == 49)
    for p in (g.ks_pvalue, g.cvm_pvalue, g.ad_pvalue):
        assert np.all((p > 0) & (p <= 1))
        assert stats.kstest(p, "uniform").pvalue > 1e-3
    # The batch's statistics are each dataset's own.
    one = many[17].gof()
    assert g.ks[17] == pytest.approx(one.ks, rel=1e-12)
    assert g.ad[17] == pytest.approx(one.ad, rel=1e-12)


def test_bootstrap_pvalues_are_small_for_the_wrong_family():
    x = np.random.default_rng(8).lognormal(0.0, 0.5, 500)
    g = jm.fit("normal", x).gof(n_boot=99, key=1)
    assert g.ks_pvalue <= 0.02 and g.cvm_pvalue <= 0.02 and g.ad_pvalue <= 0.02
    assert g.n_counted == 99 and g.n_boot == 99
    right = jm.fit("lognormal", x).gof(n_boot=99, key=1)
    assert min(right.ks_pvalue, right.cvm_pvalue, right.ad_pvalue) > 0.02
    text = str(g)
    assert "bootstrap, 99 refits" in text and "Anderson-Darling" in text


def test_discrete_bootstrap_pvalue_and_a_wrong_family():
    rng = np.random.default_rng(9)
    over = rng.negative_binomial(2.0, 0.3, 300).astype(float)  # overdispersed counts
    wrong = jm.fit("poisson", over).gof(n_boot=49, key=0)
    assert wrong.chi2_boot_pvalue == pytest.approx(1 / 50) and wrong.chi2_pvalue < 1e-6
    right = jm.fit("poisson", rng.poisson(4.67, 300)).gof(n_boot=49, key=0)
    assert right.chi2_boot_pvalue > 0.02 and right.n_counted == 49


def test_failed_replicate_refits_are_left_out_and_counted():
    def logpdf(p, x):
        return jax.scipy.stats.norm.logpdf(x, p["loc"], p["scale"])

    def sample(p, key, shape):  # about a fifth of the replicates hold a NaN
        k1, k2 = jax.random.split(key)
        z = p["loc"] + p["scale"] * jax.random.normal(k1, shape)
        bad = jax.random.uniform(k2, shape[:1]) < 0.2
        return jnp.where(bad[:, None] & (jnp.arange(shape[1]) == 0)[None, :], jnp.nan, z)

    fam = jm.Custom(
        logpdf,
        {"loc": "real", "scale": "positive"},
        name="flaky_normal",
        cdf=lambda p, x: jax.scipy.stats.norm.cdf(x, p["loc"], p["scale"]),
        sample=sample,
    )
    x = np.random.default_rng(1).normal(size=60)
    g = jm.fit(fam, x).gof(n_boot=64, key=3)
    left = 64 - g.n_counted
    assert 3 < left < 30 and f"{left} of 64 replicate refits failed" in g.note
    assert 0 < g.ks_pvalue <= 1


def test_batches_flag_what_they_cannot_test():
    rng = np.random.default_rng(12)
    data = [rng.gamma(2.0, 1.0, 80), np.full(30, 2.5), rng.gamma(3.0, 1.0, 50)]
    with pytest.warns(jm.ConvergenceWarning):
        many = jm.fit_many("gamma", data)
    g = many.gof()
    assert np.isnan(g.ks[1]) and "not tested" in g.note[1] and g.note[0] == ""
    assert g.ks[0] == pytest.approx(many[0].gof().ks, rel=1e-12)
    assert g.cvm[2] == pytest.approx(many[2].gof().cvm, rel=1e-12)
    assert "datasets" in str(g) and "dataset 1" in str(g)


def test_bad_requests_say_what_is_wrong():
    x = np.random.default_rng(0).normal(size=100)
    res = jm.fit("normal", x)
    for bad in (1, 2.5, True, "100"):
        with pytest.raises(ValueError, match="n_boot must be an integer >= 2"):
            res.gof(n_boot=bad)
    with pytest.warns(jm.ConvergenceWarning):
        flat = jm.fit("normal", np.full(10, 3.0))
    with pytest.raises(ValueError, match="not a regular MLE: not converged: degenerate"):
        flat.gof()
    with pytest.warns(jm.ConvergenceWarning):
        short = jm.fit("gamma", np.abs(x) + 0.1, max_iter=1)
    with pytest.raises(ValueError, match="gamma fit that is not a regular MLE: not converged"):
        short.gof()
    mvn = jm.fit("multivariate_normal", np.random.default_rng(1).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="multivariate_normal is multivariate"):
        mvn.gof()
    # No cdf (a mixture), no data (a streamed fit): the checks come before any work.
    with pytest.raises(ValueError, match="mixture has none"):
        dataclasses.replace(res, family=jm.Mixture([jm.Normal(), jm.Normal()])).gof()
    with pytest.raises(ValueError, match="goodness of fit needs the data"):
        dataclasses.replace(res, refit=None).gof()
