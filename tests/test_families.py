"""Every registered family against scipy.stats: logpdf, cdf, score, sampling,
and the fitted optimum. Cases come from tests/cases_*.py; the scipy
distribution of each from the family's own ``scipy_equivalent``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASES as _ALL_CASES
from scipy import stats

import jaxmle as jm

CASES = [pytest.param(c, id=c.label) for c in _ALL_CASES]
IDS = None


def _where(pred):
    return [p for p in CASES if pred(p.values[0])]


def _jparams(params):
    return {k: jnp.asarray(v) for k, v in params.items()}


def _scipy(fam, params):
    return fam.scipy({k: np.asarray(v, dtype=np.float64) for k, v in params.items()})


def _is_discrete(dist) -> bool:
    return hasattr(dist, "pmf") or hasattr(getattr(dist, "dist", None), "logpmf")


def _scipy_logpdf(dist, x):
    if fam_is_multivariate(x):
        return dist.logpdf(x)
    return dist.logpmf(x) if _is_discrete(dist) else dist.logpdf(x)


def fam_is_multivariate(x) -> bool:
    return np.ndim(x) == 2


def _total(fam, params, x):
    return float(jnp.sum(fam.logpdf(_jparams(params), jnp.asarray(x))))


def test_registry_has_every_case_and_every_family_a_case():
    names = {c.name for c in _ALL_CASES}
    assert names == set(jm.family_names())
    for case in _ALL_CASES:
        fam = case.family()
        assert fam.name == case.name
        assert fam == case.family() and hash(fam) == hash(case.family())
        assert fam.density and fam.scipy_equivalent, "documented in the table"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_scipy_mapping_is_declared_once(case):
    """``scipy()`` follows from the declaration, unless the declaration says it
    is hand-written; a declaration reads only parameters and options."""
    fam = case.family()
    decl = fam.scipy_equivalent
    written = type(fam).scipy is not jm.Family.scipy
    if decl.dist is None:
        assert written, "a hand-written declaration needs a scipy() method"
        assert decl.names == frozenset() and not decl.args
    else:
        assert not written, "scipy() would state the mapping a second time"
        assert callable(getattr(stats, decl.dist))
        assert decl.names <= set(fam.param_names) | set(vars(fam)), decl.names
        assert decl.text.startswith(f"{decl.dist}(")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logpdf_matches_scipy(case):
    rng = np.random.default_rng(11)
    fam = case.family()
    for _ in range(5):
        params = case.random_params(rng)
        x = case.draw(rng, 200)  # the size the score tests use: one compile
        ours = np.asarray(fam.logpdf(_jparams(params), jnp.asarray(x)))
        assert ours.shape == (200,)
        ref = _scipy_logpdf(_scipy(fam, params), x)
        np.testing.assert_allclose(ours, ref, rtol=case.rtol, atol=case.rtol * 0.1)
        total = float(jm.loglik(fam, params, x))
        assert total == pytest.approx(ref.sum(), rel=case.rtol * 10)


@pytest.mark.parametrize("case", _where(lambda c: c.family().event_ndim == 0))
def test_cdf_logcdf_logsf_match_scipy(case):
    rng = np.random.default_rng(15)
    fam = case.family()
    for _ in range(3):
        params = case.random_params(rng)
        x = case.draw(rng, 50)
        dist = _scipy(fam, params)
        p = _jparams(params)
        tol = max(case.rtol, 1e-8)
        np.testing.assert_allclose(np.asarray(fam.cdf(p, x)), dist.cdf(x), rtol=tol, atol=1e-12)
        np.testing.assert_allclose(
            np.asarray(fam.logsf(p, x)), dist.logsf(x), rtol=10 * tol, atol=1e-10
        )
        np.testing.assert_allclose(
            np.asarray(fam.logcdf(p, x)), dist.logcdf(x), rtol=10 * tol, atol=1e-10
        )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sample_follows_the_distribution(case):
    fam = case.family()
    params = _jparams(case.params)
    draws = np.asarray(jax.jit(lambda k: fam.sample(params, k, (20000,)))(jax.random.key(0)))
    dist = _scipy(fam, case.params)
    if draws.ndim == 2:  # multivariate: compare means
        # scipy's frozen multivariate normal has mean/cov attributes, not methods.
        mean, cov = (v() if callable(v) else v for v in (dist.mean, dist.cov))
        ref = np.asarray(mean)
        sd = np.sqrt(np.diag(np.atleast_2d(np.asarray(cov))))
        assert np.all(np.abs(draws.mean(0) - ref) < 5 * sd / np.sqrt(20000))
    elif _is_discrete(dist):
        assert abs(draws.mean() - dist.mean()) < 5 * dist.std() / np.sqrt(20000)
    else:
        assert stats.kstest(draws, dist.cdf).pvalue > 1e-4


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logpdf_jit_and_vmap_over_params(case):
    rng = np.random.default_rng(12)
    fam = case.family()
    x = jnp.asarray(case.draw(rng, 20))
    plist = [case.random_params(rng) for _ in range(4)]
    stacked = {k: jnp.asarray(np.stack([np.asarray(p[k]) for p in plist])) for k in fam.param_names}
    out = jax.jit(jax.vmap(lambda p: jnp.sum(fam.logpdf(p, x))))(stacked)
    ref = [_scipy_logpdf(_scipy(fam, p), np.asarray(x)).sum() for p in plist]
    np.testing.assert_allclose(np.asarray(out), ref, rtol=case.rtol * 10)


def _perturbed(params, k, idx, h):
    v = np.array(params[k], dtype=np.float64, copy=True)
    v[idx] += h
    return {**params, k: v}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_score_matches_central_differences(case):
    rng = np.random.default_rng(13)
    fam = case.family()
    x = case.draw(rng, 200)
    params = case.random_params(rng)
    score = jm.score(fam, params, x)
    assert list(score) == list(fam.param_names)
    for k in fam.param_names:
        for idx in np.ndindex(np.shape(params[k])):
            h = 1e-6 * max(1.0, abs(float(np.asarray(params[k])[idx])))
            up = _total(fam, _perturbed(params, k, idx, h), x)
            dn = _total(fam, _perturbed(params, k, idx, -h), x)
            fd = (up - dn) / (2 * h)
            got = float(np.asarray(score[k])[idx])
            assert got == pytest.approx(fd, rel=1e-5, abs=1e-5 * (1 + abs(up) / 100)), (k, idx)


@pytest.mark.parametrize("case", _where(lambda c: all(np.ndim(v) == 0 for v in c.params.values())))
def test_information_matches_central_differences_of_score(case):
    rng = np.random.default_rng(14)
    fam = case.family()
    x = case.draw(rng, 200)
    params = case.random_params(rng)
    info = np.asarray(jm.observed_information(fam, params, x))
    p = len(fam.param_names)
    assert info.shape == (p, p)
    np.testing.assert_allclose(info, info.T, rtol=1e-10)
    grad = jax.jit(jax.grad(lambda q: jnp.sum(fam.logpdf(q, jnp.asarray(x)))))
    for j, k in enumerate(fam.param_names):
        h = 1e-5 * max(1.0, abs(params[k]))
        up = grad(_jparams({**params, k: params[k] + h}))
        dn = grad(_jparams({**params, k: params[k] - h}))
        for i, name in enumerate(fam.param_names):
            fd = -(float(up[name]) - float(dn[name])) / (2 * h)
            assert info[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(info).max())


# Parameters whose MLE is an extreme of the data (a support boundary): no
# information, so no standard error (NaN, named in the message).
_BOUNDARY_PARAMS = {"uniform": frozenset({"low", "high"}), "pareto": frozenset({"scale"})}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit(case):
    """One fit per case (its compiled program is reused by every check below)."""
    fam = case.family()
    x = case.draw(np.random.default_rng(21), case.n_fit)
    res = jm.fit(fam, x, **case.fit_kwargs)
    assert bool(res.converged), res.message

    # Reaches scipy's optimum (or, where scipy cannot fit, beats the truth and
    # the closed form); the reported log-likelihood is scipy's at our estimate.
    if case.scipy_fit is not None:
        refs = [_scipy_logpdf(case.scipy_mle(x), x).sum()]
    else:
        refs = [_scipy_logpdf(_scipy(fam, case.params), x).sum()]
        if fam.has_closed_form:
            refs.append(_scipy_logpdf(_scipy(fam, fam.closed_form(jnp.asarray(x), None)), x).sum())
    for ref in refs:
        assert float(res.loglik) >= ref - 1e-6 * abs(ref)
    ours = _scipy_logpdf(res.to_scipy(), x).sum()
    assert float(res.loglik) == pytest.approx(ours, rel=1e-10)

    # Estimates within 5 standard errors of the truth, with every standard
    # error finite and positive (a NaN or 0 would make any estimate pass).
    # Only a parameter whose MLE is a data extreme (min or max) has none: it
    # is then within a few spacings of the truth, O(range / n).
    boundary = _BOUNDARY_PARAMS.get(case.label, frozenset())
    for k in res.free_names:
        est, se = np.asarray(res.params[k]), np.asarray(res.stderr[k])
        err = est - np.asarray(case.params[k])
        if k in boundary:
            assert np.all(np.isnan(se)), (k, se)
            assert "no finite standard error" in res.message, res.message
            assert np.all(np.abs(err) < 20 * np.ptp(x) / len(x)), (k, err)
            continue
        assert np.all(np.isfinite(se)) and np.all(se > 0), (k, se)
        assert np.all(np.abs(err / se) < 5), (k, err / se)

    # The score vanishes at an interior MLE (score * stderr is dimensionless).
    smooth = not case.boundary_mle and fam.unit_information(res.params) is None
    if smooth and all(fam.constraints[k].event_ndim == 0 for k in res.free_names):
        score = jm.score(fam, res.params, x)
        for k in res.free_names:
            assert abs(float(score[k]) * float(res.stderr[k])) < 1e-6, k

    # cov is the inverse observed information (delta method at the MLE).
    if smooth and all(np.ndim(v) == 0 for v in res.params.values()) and not case.fit_kwargs:
        info = np.asarray(jm.observed_information(fam, res.params, x))
        ref = np.linalg.inv(info)
        np.testing.assert_allclose(
            np.asarray(res.cov), ref, rtol=1e-6, atol=1e-12 * np.abs(ref).max()
        )

    # The closed form is what Newton finds from the family's init.
    if fam.has_closed_form and not case.boundary_mle:
        newton = jm.fit(fam, x, method="newton", **case.fit_kwargs)
        assert bool(newton.converged), newton.message
        for k in fam.param_names:
            np.testing.assert_allclose(
                np.asarray(newton.params[k]), np.asarray(res.params[k]), rtol=1e-7, atol=1e-9
            )
        assert float(newton.loglik) == pytest.approx(float(res.loglik), rel=1e-11)

    # Any parameter can be held fixed: at its MLE the others stay at theirs.
    held = fam.param_names[-1]
    if case.check_fixed:
        fixed = {held: np.asarray(res.params[held])}
        sub = jm.fit(fam, x, fixed=fixed)
        assert bool(sub.converged), sub.message
        assert held not in sub.free_names and held not in sub.stderr
        np.testing.assert_array_equal(np.asarray(sub.params[held]), fixed[held])
        assert float(sub.loglik) == pytest.approx(float(res.loglik), rel=1e-9)
        for k in sub.free_names:
            np.testing.assert_allclose(
                np.asarray(sub.params[k]), np.asarray(res.params[k]), rtol=1e-5, atol=1e-8
            )


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_is_inside_constraints(case):
    fam = case.family()
    x = jnp.asarray(case.draw(np.random.default_rng(22), case.n_fit))
    start = fam.init(x, None)
    assert set(start) == set(fam.param_names)
    for k in fam.param_names:
        assert bool(np.all(fam.constraints[k].contains(np.asarray(start[k])))), k
    assert np.isfinite(_total(fam, start, x))
