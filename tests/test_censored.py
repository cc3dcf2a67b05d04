"""Censored and truncated data: fits equal the exact optimum of the censored
(or truncated) log-likelihood, written independently here with scipy.stats
and maximized with scipy.optimize; scipy's own CensoredData fits; inference
after a censored fit; clear errors for impossible data."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, stats

import jaxmle as jm

RNG = np.random.default_rng(20261130)


def censored_loglik(dist, lo, hi, entry=None, discrete=False):
    """The censored log-likelihood of frozen scipy ``dist`` (fitdistrplus'
    convention; counts: inclusive bounds), written directly."""
    lo_inf, hi_inf = ~np.isfinite(lo), ~np.isfinite(hi)
    exact = ~lo_inf & ~hi_inf & (lo == hi)
    right, left = hi_inf & ~lo_inf, lo_inf & ~hi_inf
    inter = ~exact & ~right & ~left
    one = 1.0 if discrete else 0.0
    logf = dist.logpmf if discrete else dist.logpdf
    total = logf(lo[exact]).sum() + dist.logsf(lo[right] - one).sum()
    total += dist.logcdf(hi[left]).sum()
    total += np.log(dist.cdf(hi[inter]) - dist.cdf(lo[inter] - one)).sum()
    if entry is not None:
        total -= dist.logsf(entry - one).sum()
    return float(total)


def direct_optimum(make, start, lo, hi, entry=None, discrete=False):
    """Maximize :func:`censored_loglik` over ``make(theta)`` (unconstrained
    theta) with scipy.optimize: Nelder-Mead, then BFGS."""

    def nll(theta):
        try:
            v = -censored_loglik(make(theta), lo, hi, entry, discrete)
        except (ValueError, FloatingPointError):
            return np.inf
        return v if np.isfinite(v) else np.inf

    with np.errstate(all="ignore"):
        r = optimize.minimize(nll, start, method="Nelder-Mead",
                              options=dict(xatol=1e-6, fatol=1e-9, maxiter=2000))  # fmt: skip
        r = optimize.minimize(nll, r.x, method="BFGS", options=dict(gtol=1e-8))
    return r.x, -r.fun


def _right_censored_weibull(n, seed=0):
    rng = np.random.default_rng(seed)
    t = 2.0 * rng.weibull(1.5, n)
    c = rng.uniform(0, 4, n)
    return np.minimum(t, c), t <= c


# ---- the exact optimum ---------------------------------------------------------------


def test_right_censored_weibull_is_the_exact_optimum_and_beats_scipy():
    d, seen = _right_censored_weibull(2000)
    res = jm.fit("weibull", jm.Censored.from_events(d, seen))
    assert bool(res.converged)
    lo, hi = d, np.where(seen, d, np.inf)
    theta, best = direct_optimum(
        lambda t: stats.weibull_min(np.exp(t[0]), scale=np.exp(t[1])), [0.0, 0.5], lo, hi
    )
    np.testing.assert_allclose([res.params["shape"], res.params["scale"]], np.exp(theta), rtol=1e-6)
    mine = censored_loglik(
        stats.weibull_min(float(res.params["shape"]), scale=float(res.params["scale"])), lo, hi
    )
    assert float(res.loglik) == pytest.approx(mine, rel=1e-12)
    assert mine >= best - 1e-8 * abs(best)
    # scipy's CensoredData fit reaches no more
    cd = stats.CensoredData.right_censored(d, ~seen)
    k, _, s = stats.weibull_min.fit(cd, floc=0)
    assert mine >= censored_loglik(stats.weibull_min(k, scale=s), lo, hi) - 1e-8 * abs(mine)


def test_left_right_and_interval_censored_lognormal():
    rng = np.random.default_rng(1)
    v = rng.lognormal(1.0, 0.6, 600)
    lo, hi = v.copy(), v.copy()
    lo[:100] = -np.inf  # below a detection limit of 2
    hi[:100] = 2.0
    v2 = v[100:200]
    lo[100:200], hi[100:200] = np.floor(v2), np.floor(v2) + 1.0  # read to the unit
    hi[200:260] = np.inf  # still running at their value
    lo[100:200] = np.where(lo[100:200] == 0, -np.inf, lo[100:200])
    data = jm.Censored(lo, hi)
    zeros = int(np.sum(np.floor(v2) == 0))  # read as 0: below 1, left-censored
    assert data.counts() == {
        "exact": 340,
        "right": 60,
        "left": 100 + zeros,
        "interval": 100 - zeros,
    }
    res = jm.fit("lognormal", data)
    assert bool(res.converged)
    theta, best = direct_optimum(
        lambda t: stats.lognorm(np.exp(t[1]), scale=np.exp(t[0])), [0.5, 0.0], lo, hi
    )
    np.testing.assert_allclose(
        [res.params["loc"], np.log(res.params["scale"])], theta, rtol=1e-6, atol=1e-7
    )
    assert float(res.loglik) == pytest.approx(best, rel=1e-10)
    # scipy's CensoredData with the same observations
    cd = jm.Censored.from_scipy(
        stats.CensoredData(
            uncensored=v[260:],
            left=hi[:100],
            right=lo[200:260],
            interval=np.stack([lo[100:200], hi[100:200]], axis=1),
        )
    )
    again = jm.fit("lognormal", cd)
    assert float(again.loglik) == pytest.approx(float(res.loglik), rel=1e-12)


def test_censored_counts_use_inclusive_bounds():
    rng = np.random.default_rng(2)
    k = rng.poisson(4.0, 500).astype(float)
    lo, hi = k.copy(), k.copy()
    hi[:80] = np.inf  # at least k
    lo[80:160], hi[80:160] = k[80:160] - 1, k[80:160] + 2  # somewhere in [k-1, k+2]
    lo[80:160] = np.maximum(lo[80:160], 0)
    res = jm.fit("poisson", jm.Censored(lo, hi))
    assert bool(res.converged)
    theta, best = direct_optimum(lambda t: stats.poisson(np.exp(t[0])), [1.0], lo, hi,
                                 discrete=True)  # fmt: skip
    assert float(res.params["rate"]) == pytest.approx(np.exp(theta[0]), rel=1e-6)
    assert float(res.loglik) == pytest.approx(best, rel=1e-10)


def test_delayed_entry():
    rng = np.random.default_rng(3)
    t = 3.0 * rng.weibull(2.0, 4000)
    entry = rng.uniform(0, 2, 4000)
    keep = t > entry  # units that failed before entering are never seen
    t, entry = t[keep], entry[keep]
    c = entry + rng.uniform(0.5, 4, t.size)
    d, seen = np.minimum(t, c), t <= c
    res = jm.fit("weibull", jm.Censored.from_events(d, seen, entry=entry))
    lo, hi = d, np.where(seen, d, np.inf)
    theta, best = direct_optimum(
        lambda p: stats.weibull_min(np.exp(p[0]), scale=np.exp(p[1])), [0.5, 1.0], lo, hi, entry
    )
    np.testing.assert_allclose([res.params["shape"], res.params["scale"]], np.exp(theta), rtol=1e-6)
    assert float(res.loglik) == pytest.approx(best, rel=1e-10)
    # and ignoring the entry times is biased: a different fit
    naive = jm.fit("weibull", jm.Censored.from_events(d, seen))
    assert abs(float(naive.params["scale"]) - float(res.params["scale"])) > 0.02


# ---- weights, batches, inference -------------------------------------------------------


def test_integer_weights_equal_repeated_rows_and_fit_many_a_loop():
    d, seen = _right_censored_weibull(300, seed=4)
    w = np.random.default_rng(5).integers(1, 4, d.size)
    weighted = jm.fit("weibull", jm.Censored.from_events(d, seen), weights=w)
    repeated = jm.fit("weibull", jm.Censored.from_events(np.repeat(d, w), np.repeat(seen, w)))
    for k in ("shape", "scale"):
        assert float(weighted.params[k]) == pytest.approx(float(repeated.params[k]), rel=1e-9)
        assert float(weighted.stderr[k]) == pytest.approx(float(repeated.stderr[k]), rel=1e-7)
    data = [jm.Censored.from_events(*_right_censored_weibull(m, seed=m)) for m in (150, 220, 90)]
    many = jm.fit_many("weibull", data)
    for i, dat in enumerate(data):
        one = jm.fit("weibull", dat)
        assert float(many.loglik[i]) == pytest.approx(float(one.loglik), rel=1e-10)
        assert float(many.params["shape"][i]) == pytest.approx(float(one.params["shape"]), rel=1e-7)


def test_standard_errors_profile_and_bootstrap_after_a_censored_fit():
    d, seen = _right_censored_weibull(800, seed=6)
    res = jm.fit("weibull", jm.Censored.from_events(d, seen))
    lo, hi = d, np.where(seen, d, np.inf)

    def ll(p):
        return censored_loglik(stats.weibull_min(p[0], scale=p[1]), lo, hi)

    # the observed information by central differences of the scipy log-likelihood
    p = np.array([float(res.params["shape"]), float(res.params["scale"])])
    h = 1e-4 * p
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (ll(p + ei + ej) - ll(p + ei - ej) - ll(p - ei + ej) + ll(p - ei - ej)) / (
                4 * h[i] * h[j]
            )
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose([res.stderr["shape"], res.stderr["scale"]], se, rtol=1e-4)
    # profile interval ends: the log-likelihood drops by chi2(1, 0.95) / 2 there
    lower, upper = res.conf_int(method="profile")["shape"]
    drop = stats.chi2.ppf(0.95, 1) / 2
    for end in (float(lower), float(upper)):
        prof = optimize.minimize_scalar(
            lambda s, end=end: -ll([end, s]), bounds=(0.5 * p[1], 2 * p[1]), method="bounded",
            options=dict(xatol=1e-10),
        )  # fmt: skip
        assert -prof.fun == pytest.approx(float(res.loglik) - drop, abs=1e-5)
    # delta method: the median lifetime scale (log 2)^(1/shape), its gradient by hand
    median = res.delta(lambda q: q["scale"] * jnp.log(2.0) ** (1.0 / q["shape"]))
    k, lam = p
    grad = np.array([-lam * np.log(2.0) ** (1 / k) * np.log(np.log(2.0)) / k**2,
                     np.log(2.0) ** (1 / k)])  # fmt: skip
    cov = np.asarray(res.cov)
    assert float(median.estimate) == pytest.approx(lam * np.log(2.0) ** (1 / k), rel=1e-12)
    assert float(median.stderr) == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-8)
    boot = res.bootstrap(200, key=0)
    assert 0.5 < float(boot.stderr["shape"]) / float(res.stderr["shape"]) < 1.5
    with pytest.raises((NotImplementedError, ValueError), match="censor"):
        res.bootstrap(20, kind="parametric", key=0)


def test_lrt_of_nested_censored_fits():
    d, seen = _right_censored_weibull(600, seed=7)
    data = jm.Censored.from_events(d, seen)
    big = jm.fit("weibull", data)
    small = jm.fit("weibull", data, fixed={"shape": 1.0})
    test = jm.lrt(small, big)
    assert float(test.statistic) == pytest.approx(2 * (float(big.loglik) - float(small.loglik)))
    assert float(test.pvalue) < 1e-6  # shape 1.5 data: not exponential


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "left, right, match",
    [
        ([1.0, 3.0, 2.0], [2.0, 1.0, 2.0], "left > right: rows 1"),
        ([1.0, np.nan], [2.0, np.nan], "both bounds NaN: rows 1"),
        ([1.0, 2.0], [2.0], "same length"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
        ([], [], "empty"),
        ([np.inf, 1.0], [np.inf, 1.0], r"left = \+inf: rows 0"),
    ],
)
def test_bad_censored_data_name_the_rows(left, right, match):
    with pytest.raises(ValueError, match=match):
        jm.Censored(left, right)


def test_data_without_information_are_refused():
    with pytest.raises(ValueError, match="right-censored"):
        jm.fit("weibull", jm.Censored([1.0, 2.0], [np.inf, np.inf]))
    with pytest.raises(ValueError, match="says anything"):
        jm.fit("weibull", jm.Censored([0.0, -1.0], [np.inf, np.inf]))
    with pytest.raises(ValueError, match="outside the support"):
        jm.fit("weibull", jm.Censored([-1.0, 2.0], [-1.0, 3.0]))
    with pytest.raises(ValueError, match="entry > left"):
        jm.Censored([1.0, 2.0], [1.0, 2.0], entry=[0.5, 2.5])
    with pytest.raises(ValueError, match="0/1"):
        jm.Censored.from_events([1.0, 2.0], [1, 2])


def test_inputs_are_not_modified():
    lo = np.array([1.0, np.nan, 2.0])
    hi = np.array([1.0, 3.0, np.nan])
    before = (lo.copy(), hi.copy())
    jm.fit("exponential", jm.Censored(lo, hi))
    np.testing.assert_array_equal(lo, before[0])
    np.testing.assert_array_equal(hi, before[1])


# ---- truncated families ----------------------------------------------------------------


def test_truncated_normal_matches_a_direct_optimization_and_integrates_to_one():
    x = RNG.normal(0.3, 1.2, 6000)
    x = x[(x > 0.5) & (x <= 2.5)]
    fam = jm.Truncated("normal", low=0.5, high=2.5)
    res = jm.fit(fam, x)
    assert bool(res.converged)

    def nll(t):
        m, s = t[0], np.exp(t[1])
        mass = stats.norm.cdf(2.5, m, s) - stats.norm.cdf(0.5, m, s)
        return -(stats.norm.logpdf(x, m, s).sum() - x.size * np.log(mass))

    r = optimize.minimize(nll, [1.0, 0.0], method="Nelder-Mead",
                          options=dict(xatol=1e-6, fatol=1e-9, maxiter=2000))  # fmt: skip
    r = optimize.minimize(nll, r.x, method="BFGS", options=dict(gtol=1e-8))
    np.testing.assert_allclose(
        [res.params["loc"], np.log(res.params["scale"])], r.x, rtol=1e-5, atol=1e-6
    )
    assert float(res.loglik) == pytest.approx(-r.fun, rel=1e-10)
    dens = lambda t: float(np.exp(fam.logpdf(res.params, np.array([t]))[0]))  # noqa: E731
    assert integrate.quad(dens, 0.5, 2.5)[0] == pytest.approx(1.0, abs=1e-10)
    cdf = np.asarray(fam.cdf(res.params, np.array([0.5, 1.0, 2.5])))
    m, s = float(res.params["loc"]), float(res.params["scale"])
    ref = stats.truncnorm((0.5 - m) / s, (2.5 - m) / s, m, s).cdf([0.5, 1.0, 2.5])
    np.testing.assert_allclose(cdf, ref, atol=1e-12)
    draws = np.asarray(fam.sample(res.params, jax.random.key(1), (2000,)))
    assert draws.min() > 0.5 and draws.max() <= 2.5


def test_zero_truncated_poisson_solves_its_score_equation():
    k = RNG.poisson(1.3, 6000)
    k = k[k >= 1]
    res = jm.fit(jm.Truncated("poisson", low=1), k)
    lam = float(res.params["rate"])
    # score: mean(k) = lam / (1 - exp(-lam))
    assert lam / -np.expm1(-lam) == pytest.approx(k.mean(), rel=1e-9)
    with pytest.raises(ValueError, match="outside the support"):
        jm.fit(jm.Truncated("poisson", low=1), np.array([0.0, 1.0, 2.0]))


def test_truncated_exponential_is_memoryless():
    x = 2.0 + RNG.exponential(0.5, 3000)
    res = jm.fit(jm.Truncated("exponential", low=2.0), x)
    assert float(res.params["rate"]) == pytest.approx(1 / np.mean(x - 2.0), rel=1e-8)


def test_truncated_bounds_are_checked():
    with pytest.raises(ValueError, match="low < high"):
        jm.Truncated("normal", low=2.0, high=1.0)
    with pytest.raises(TypeError, match="number"):
        jm.Truncated("normal", low="a")
    # a bound at the support's end truncates nothing
    x = RNG.exponential(2.0, 500)
    plain, trunc = jm.fit("exponential", x), jm.fit(jm.Truncated("exponential", low=0.0), x)
    assert float(trunc.params["rate"]) == pytest.approx(float(plain.params["rate"]), rel=1e-9)


def test_warnings_free_fit():
    d, seen = _right_censored_weibull(500, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jm.fit("gamma", jm.Censored.from_events(d, seen))


def test_select_ranks_families_on_censored_data_and_gof_says_why_not():
    d, seen = _right_censored_weibull(3000, seed=9)
    data = jm.Censored.from_events(d, seen)
    sel = jm.select(data, ["weibull", "lognormal", "exponential", "normal", "poisson"])
    assert sel.best.family.base.name == "weibull"
    fitted = {c.name: c for c in sel.candidates}
    assert fitted["weibull"].aic == pytest.approx(2 * 2 - 2 * float(jm.fit("weibull", data).loglik))
    assert {s.family for s in sel.skipped} == {"poisson"}  # not integers
    with pytest.raises(ValueError, match="censored"):
        sel.best.gof()


# ---- long data: the compiled survey (checks, kinds and rows in one pass) ---------------

LONG = (1 << 18) + 7  # from here on the survey runs (float64)


def _long_mixed(seed=3):
    """Long lognormal data of every kind: exact, right-, left- and interval-censored."""
    rng = np.random.default_rng(seed)
    t = rng.lognormal(0.3, 0.7, LONG)
    which = rng.integers(0, 4, LONG)
    lo = np.where(which == 2, -np.inf, np.where(which == 3, np.floor(t), t))
    hi = np.where(which == 1, np.inf, np.where(which == 3, np.floor(t) + 1.0, t))
    lo = np.where(which == 1, t * rng.uniform(0.2, 1.0, LONG), lo)  # censoring times
    hi = np.where(which == 2, t * rng.uniform(1.0, 3.0, LONG), hi)
    return lo, hi, which


def test_long_data_kinds_rows_and_fit_equal_the_host_path():
    lo, hi, which = _long_mixed()
    data = jm.Censored(lo, hi)
    assert data._rows_as_given is not None  # the survey ran
    expected = np.array([0, 1, 2, 3])[which]  # exact, right, left, interval
    np.testing.assert_array_equal(data.kinds, expected)
    assert data.counts() == {
        "exact": int(np.sum(which == 0)), "right": int(np.sum(which == 1)),
        "left": int(np.sum(which == 2)), "interval": int(np.sum(which == 3)),
    }  # fmt: skip
    # The same data, short enough for the host path, piece by piece: the
    # long fit's log-likelihood is the sum of the pieces' at its estimate.
    res = jm.fit("lognormal", data)
    assert res.converged
    dist = stats.lognorm(float(res.params["scale"]), scale=np.exp(float(res.params["loc"])))
    assert float(res.loglik) == pytest.approx(censored_loglik(dist, lo, hi), rel=1e-12)
    # Its score vanishes: the direct log-likelihood is maximal there.
    mu, s = float(res.params["loc"]), float(res.params["scale"])
    for d_mu, d_s in ((1e-4, 0.0), (-1e-4, 0.0), (0.0, 1e-4), (0.0, -1e-4)):
        moved = stats.lognorm(s + d_s, scale=np.exp(mu + d_mu))
        assert censored_loglik(moved, lo, hi) < float(res.loglik)
    # A positive family whose support excludes some bounds recodes on the host.
    shifted = jm.Censored(lo - 1.0, hi - 1.0)
    assert jm.fit("normal", shifted).converged
    negative = which == 0  # exact values below 0
    with pytest.raises(ValueError, match="exact values outside the support of weibull"):
        jm.fit("weibull", jm.Censored(np.where(negative, -lo, lo), np.where(negative, -hi, hi)))


def test_long_data_errors_name_the_rows_and_nan_bounds_are_recoded():
    lo, hi, _ = _long_mixed()
    rows = np.flatnonzero(np.isfinite(lo) & np.isfinite(hi))[[60_000, 130_000]]
    bad = lo.copy()
    bad[rows] = hi[rows] + 1.0
    with pytest.raises(ValueError, match=f"left > right: rows {rows[0]}, {rows[1]}"):
        jm.Censored(bad, hi)
    with pytest.raises(ValueError, match=r"right = -inf: rows 5\b"):
        jm.Censored(lo, np.where(np.arange(LONG) == 5, -np.inf, hi))
    # NaN for an unbounded side: the same kinds and the same fit as +-inf.
    nan_lo, nan_hi = np.where(np.isinf(lo), np.nan, lo), np.where(np.isinf(hi), np.nan, hi)
    a, b = jm.Censored(nan_lo, nan_hi), jm.Censored(lo, hi)
    np.testing.assert_array_equal(a.kinds, b.kinds)
    assert np.isneginf(a.left[np.isinf(lo)]).all() and np.isposinf(a.right[np.isinf(hi)]).all()


def test_long_right_censored_weibull_is_the_profile_likelihood_root():
    """Newton from the subsample's start, its last step taken without a
    confirming pass, lands on the root of the profile score in the shape
    (solved here in numpy by bisection to 1e-14)."""
    t, seen = _right_censored_weibull(LONG, seed=11)
    res = jm.fit("weibull", jm.Censored.from_events(t, seen))
    assert res.converged
    logt, d = np.log(t), seen.sum()

    def profile_score(k):  # d/dk of the log-likelihood with the scale profiled out
        e = np.exp(k * (logt - logt.max()))
        return d / k + logt[seen].sum() - d * (e @ logt) / e.sum()

    k_root = optimize.brentq(profile_score, 0.5, 5.0, xtol=1e-14, rtol=1e-15)
    scale = (np.exp(k_root * logt).sum() / d) ** (1 / k_root)
    assert float(res.params["shape"]) == pytest.approx(k_root, rel=1e-9)
    assert float(res.params["scale"]) == pytest.approx(scale, rel=1e-9)
    assert int(res.n_passes) <= 5  # features + at most four derivative passes
