"""Inference on bad fits is honest: never a confident wrong number.

Profile intervals are checked against closed forms (boundary MLEs) and against
brute-force profiles (scipy's optimizer over the other parameters at fixed
values of one); the bootstrap and BCa against hand computations; flagged fits
give NaN with a warning that names the dataset, ends that cannot be found give
NaN or the boundary with a warning that names the parameter and side."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize, stats

import jaxmle as jm

Q95 = stats.chi2.ppf(0.95, 1)


def _gev_sample(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return stats.genextreme.rvs(-0.1, loc=10.0, scale=2.0, size=n, random_state=rng)


def _gev_deviance(x, loglik_hat, j, value, start):
    """2 (l_hat - l_p(value)) for the GEV with parameter j (shape, loc, scale)
    held at value, the others optimized by scipy (Nelder-Mead from start)."""

    def nll(free):
        theta = np.insert(free, j, value)
        xi, mu, s = theta
        if s <= 0:
            return np.inf
        return -np.sum(stats.genextreme.logpdf(x, -xi, loc=mu, scale=s))

    best = np.inf
    for s0 in start:
        with np.errstate(invalid="ignore"):  # inf - inf in a simplex outside the support
            r = optimize.minimize(
                nll, np.delete(s0, j), method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
            )  # fmt: skip
        best = min(best, r.fun)
    return 2.0 * (loglik_hat + best)


@pytest.mark.parametrize("seed,n", [(0, 30), (2, 50)])
def test_gev_profile_ends_are_found_and_match_a_brute_force_profile(seed, n):
    # These samples used to give NaN lower ends for the shape, with no warning:
    # the profile fits started outside the parameter-dependent support.
    x = _gev_sample(seed, n)
    res = jm.fit("gev", x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = res.conf_int(0.95, method="profile")
    assert tuple(ci) == ("shape", "loc", "scale")
    theta = np.array([float(v) for v in res.params.values()])
    ll = float(res.loglik)
    for j, k in enumerate(ci):
        lo, hi = (float(v) for v in ci[k])
        assert np.isfinite(lo) and np.isfinite(hi) and lo < theta[j] < hi, (k, lo, hi)
        width = hi - lo
        for end, side in ((lo, -1.0), (hi, 1.0)):
            starts = [theta, np.where(np.arange(3) == 2, theta * 1.3, theta)]
            # The cutoff is crossed at the end, and not before it (a grid
            # between the MLE and the end stays inside).
            d_in = _gev_deviance(x, ll, j, end - side * 1e-4 * width, starts)
            d_out = _gev_deviance(x, ll, j, end + side * 1e-4 * width, starts)
            assert d_in < Q95 < d_out, (k, end, d_in, d_out)
            for f in (0.25, 0.5, 0.75):
                assert _gev_deviance(x, ll, j, theta[j] + f * (end - theta[j]), starts) < Q95


def test_boundary_mles_get_their_one_sided_profile_intervals():
    # (rtol 1e-6: an end is found to |r - z| <= 1e-7 z, r the signed root.)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n, level in ((20, 0.95), (7, 0.8)):
            q = stats.chi2.ppf(level, 1)
            # All-zero Poisson counts: 2 n rate = q.
            ci = jm.fit("poisson", np.zeros(n)).conf_int(level, method="profile")["rate"]
            np.testing.assert_allclose([float(v) for v in ci], [0.0, q / (2 * n)], rtol=1e-6)
            # Bernoulli 0 of n: n log(1 - p) = -q / 2; n of n: n log p = -q / 2.
            zero = jm.fit("bernoulli", np.zeros(n)).conf_int(level, method="profile")["p"]
            np.testing.assert_allclose(
                [float(v) for v in zero], [0.0, -np.expm1(-q / (2 * n))], rtol=1e-6
            )
            one = jm.fit("bernoulli", np.ones(n)).conf_int(level, method="profile")["p"]
            np.testing.assert_allclose(
                [float(v) for v in one], [np.exp(-q / (2 * n)), 1.0], rtol=1e-6
            )
    # Under fit_many the all-zero datasets are closed-form MLEs on the boundary,
    # as single fits, with the same one-sided intervals.
    many = jm.fit_many("poisson", [np.zeros(20), np.zeros(35), np.arange(12.0) % 3])
    assert list(np.asarray(many.converged)) == [True, True, True]
    assert int(jm.fit("poisson", np.zeros(20)).status) == int(many.status[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = many.conf_int(method="profile")["rate"]
    np.testing.assert_allclose(lo[:2], [0.0, 0.0])
    np.testing.assert_allclose(hi[:2], [Q95 / 40, Q95 / 70], rtol=1e-6)
    single = jm.fit("poisson", np.arange(12.0) % 3).conf_int(method="profile")["rate"]
    np.testing.assert_allclose([lo[2], hi[2]], [float(v) for v in single], rtol=1e-9)


def test_an_unbounded_profile_end_is_the_boundary_with_a_warning():
    # Poisson-like counts fitted by a zero-inflated Poisson: the profile of pi
    # stays within q/2 of its maximum down to pi = 0 (the Poisson's likelihood),
    # so the lower end is 0 and the warning says why; the upper end solves
    # 2 (l_hat - l_p(pi)) = q for the profile over the rate (scipy's).
    x = np.random.default_rng(5).poisson(2.0, 60).astype(float)
    res = jm.fit("zero_inflated_poisson", x)
    lr_poisson = 2 * (float(res.loglik) - float(jm.fit("poisson", x).loglik))
    assert lr_poisson < Q95
    with pytest.warns(jm.ModelWarning, match="'pi'.*lower boundary.*lower end is that boundary"):
        ci = res.conf_int(0.95, method="profile")
    assert float(ci["pi"][0]) == 0.0

    def deviance(pi):
        def nll(log_rate):
            lam = np.exp(log_rate)
            p0 = np.log(pi + (1 - pi) * np.exp(-lam))
            return -np.sum(np.where(x == 0, p0, np.log1p(-pi) + stats.poisson.logpmf(x, lam)))

        best = optimize.minimize_scalar(nll, bracket=(0.0, 1.0), tol=1e-12).fun
        return 2 * (float(res.loglik) + best) - Q95

    hi = optimize.brentq(deviance, float(res.params["pi"]), 0.9, xtol=1e-12)
    assert float(ci["pi"][1]) == pytest.approx(hi, rel=1e-6)


def test_profile_of_a_flagged_dataset_is_nan_with_a_warning():
    rng = np.random.default_rng(3)
    X = rng.normal(1.0, 2.0, (3, 40))
    X[1] = 2.5  # degenerate: all equal, the likelihood is unbounded as scale -> 0
    X[2, 7] = np.nan  # invalid: flagged, not fitted
    with pytest.warns(jm.ConvergenceWarning, match="did not converge"):
        many = jm.fit_many("normal", X, on_invalid="flag")
    with pytest.warns(jm.ConvergenceWarning) as record:
        ci = many.conf_int(method="profile")
    (msg,) = [str(w.message) for w in record]
    assert "dataset 1 (not converged: degenerate data" in msg
    assert "dataset 2 (not fitted: invalid data" in msg and "its intervals are NaN" in msg
    assert tuple(ci) == ("loc", "scale")
    for k, (lo, hi) in ci.items():
        assert np.all(np.isnan(lo[1:])) and np.all(np.isnan(hi[1:])), k
    # Dataset 0 is unaffected: the exact profile of a normal's loc.
    x = X[0]
    s = x.std()
    half = s * np.sqrt(np.exp(Q95 / len(x)) - 1)
    np.testing.assert_allclose(
        [ci["loc"][0][0], ci["loc"][1][0]], [x.mean() - half, x.mean() + half], rtol=1e-9
    )
    # res[i] of a flagged dataset says the same as a single fit.
    with pytest.warns(jm.ConvergenceWarning, match=r"the fit \(not fitted: invalid data"):
        one = many[2].conf_int(method="profile")
    assert all(np.isnan(float(v)) for lo_hi in one.values() for v in lo_hi)


# ---- the bootstrap -------------------------------------------------------------


def test_bootstrap_of_flagged_fits_is_nan_with_a_warning():
    rng = np.random.default_rng(3)
    X = rng.normal(1.0, 2.0, (3, 40))
    X[1] = 2.5  # degenerate
    X[2, 7] = np.nan  # invalid
    with pytest.warns(jm.ConvergenceWarning, match="did not converge"):
        many = jm.fit_many("normal", X, on_invalid="flag")
    with pytest.warns(jm.ConvergenceWarning) as record:
        boot = many.bootstrap(n=64, key=0)
    (msg,) = [str(w.message) for w in record]
    assert "not bootstrapped" in msg and "dataset 1 (not converged: degenerate data" in msg
    assert "dataset 2 (not fitted: invalid data" in msg
    assert boot.converged[0].all() and not boot.converged[1:].any()
    for k in ("loc", "scale"):
        assert np.all(np.isnan(boot.replicates[k][1:]))
        se = boot.stderr[k]
        assert np.isnan(se[1:]).all()
        assert se[0] == pytest.approx(np.std(boot.replicates[k][0], ddof=1), rel=1e-12)
        for method in ("percentile", "basic", "bca"):
            lo, hi = boot.conf_int(0.9, method)[k]
            assert np.isnan(lo[1:]).all() and np.isnan(hi[1:]).all(), method
            assert np.isfinite(lo[0]) and np.isfinite(hi[0]), method
    pct = boot.conf_int(0.9, "percentile")["loc"]
    np.testing.assert_allclose(
        [pct[0][0], pct[1][0]], np.quantile(boot.replicates["loc"][0], [0.05, 0.95])
    )
    # A single fit with NaN parameters (res[i] of the invalid dataset).
    with pytest.warns(jm.ConvergenceWarning, match=r"the fit \(not fitted: invalid data"):
        ci = many[2].conf_int(method="bootstrap", n=16, key=1)
    assert all(np.isnan(float(v)) for lo_hi in ci.values() for v in lo_hi)


def test_bootstrap_of_a_boundary_estimate_is_refused_with_a_warning():
    # All-zero counts: every resample is all zero; the bootstrap is not valid
    # at the boundary (it used to crash in numpy for BCa).
    res = jm.fit("poisson", np.zeros(20))
    with pytest.warns(jm.ConvergenceWarning, match="boundary of the parameter space"):
        ci = res.conf_int(method="bootstrap", n=16, key=0)
    assert np.isnan(float(ci["rate"][0])) and np.isnan(float(ci["rate"][1]))


def test_bootstrap_counts_replicates_whose_estimate_is_on_the_boundary():
    # 1 success in 10: a resample has 0 successes (p* = 0, exact, flagged
    # degenerate by the batch) with probability 0.9^10; those replicates are
    # real, and leaving them out used to bias the bootstrap upwards.
    x = (np.arange(10) == 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        boot = jm.fit("bernoulli", x).bootstrap(n=2000, key=1)
    p = boot.replicates["p"]
    assert boot.converged.all()
    assert np.mean(p == 0) == pytest.approx(0.9**10, abs=4 * np.sqrt(0.35 * 0.65 / 2000))
    assert float(boot.stderr["p"]) == pytest.approx(np.sqrt(0.1 * 0.9 / 10), rel=0.1)


def _bca_by_hand(reps, est, a, level):
    z0 = stats.norm.ppf(np.mean(reps < est) + 0.5 * np.mean(reps == est))
    zq = stats.norm.ppf([(1 - level) / 2, (1 + level) / 2])
    adj = stats.norm.cdf(z0 + (z0 + zq) / (1 - a * (z0 + zq)))
    return np.quantile(reps, adj)


def test_bca_falls_back_to_the_percentile_interval_where_it_is_undefined():
    rng = np.random.default_rng(9)
    reps = rng.normal(0.0, 1.0, (5, 400)) + np.array([[0.0], [5.0], [0.0], [0.0], [0.0]])
    est = np.array([0.1, 0.0, 0.1, 0.1, 0.1])  # dataset 1: every replicate above it
    ok = np.ones((5, 400), bool)
    ok[4, 1:] = False  # dataset 4: one replicate counts, too few for anything
    accel = np.array([0.05, 0.0, np.nan, 5.0, 0.0])
    boot = jm.BootstrapResult(
        {"loc": reps}, {"loc": est}, ok, "nonparametric", {"loc": est}, "normal", True,
        lambda fn: accel,
    )  # fmt: skip
    with pytest.warns(jm.ModelWarning) as record:
        lo, hi = boot.conf_int(0.9, "bca")["loc"]
    text = " | ".join(str(w.message) for w in record)
    assert "for datasets 1 is undefined (every replicate is on one side" in text
    assert "for datasets 2 is undefined (the acceleration is not finite)" in text
    assert "for datasets 3 is undefined (the acceleration is too large" in text
    assert "percentile interval is given instead" in text and "datasets 4" not in text
    np.testing.assert_allclose([lo[0], hi[0]], _bca_by_hand(reps[0], 0.1, 0.05, 0.9))
    for d in (1, 2, 3):
        np.testing.assert_allclose([lo[d], hi[d]], np.quantile(reps[d], [0.05, 0.95]))
    assert np.isnan(lo[4]) and np.isnan(hi[4])
    # One fit, a NaN acceleration: this used to raise inside numpy.
    single = jm.BootstrapResult(
        {"loc": reps[0]}, {"loc": 0.1}, ok[0], "nonparametric", {"loc": 0.1}, "normal",
        acceleration=lambda fn: np.nan,
    )  # fmt: skip
    with pytest.warns(jm.ModelWarning, match="'loc' is undefined"):
        got = single.conf_int(0.9, "bca")["loc"]
    np.testing.assert_allclose(got, np.quantile(reps[0], [0.05, 0.95]))


def test_bca_of_identical_replicates_is_their_value_with_a_warning():
    res = jm.fit("poisson", np.full(15, 3.0))  # every resample is all 3s
    boot = res.bootstrap(n=32, key=0)
    assert np.all(boot.replicates["rate"] == 3.0) and float(boot.stderr["rate"]) == 0.0
    with pytest.warns(jm.ModelWarning, match="'rate' is undefined \\(every replicate is equal"):
        lo, hi = boot.conf_int(0.95, "bca")["rate"]
    assert float(lo) == float(hi) == 3.0


# ---- parameter order -------------------------------------------------------------


def test_inference_dicts_follow_the_family_order():
    x = _gev_sample(4, 60)
    gev = jm.fit("gev", x)
    order = ("shape", "loc", "scale")
    boot = gev.bootstrap(n=16, key=0)
    for d in (boot.replicates, boot.estimate, boot.stderr, boot.conf_int(0.9, "percentile")):
        assert tuple(d) == order
    for method in ("wald", "profile"):
        assert tuple(gev.conf_int(method=method)) == order
    fixed = jm.fit("gev", x, fixed={"loc": 10.0})
    assert tuple(fixed.conf_int(method="profile")) == ("shape", "scale")
    many = jm.fit_many("weibull", np.random.default_rng(1).weibull(1.5, (3, 50)))
    mboot = many.bootstrap(n=16, key=0)
    for d in (mboot.replicates, mboot.stderr, mboot.conf_int(0.9, "basic")):
        assert tuple(d) == ("shape", "scale")
    for method in ("wald", "profile"):
        assert tuple(many.conf_int(method=method)) == ("shape", "scale")
