"""Every registered family against scipy.stats: logpdf, score, fitted optimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASES, IDS

import jaxmle as jm

N_FIT = 2000


def _frozen(fam, params):
    return fam.scipy({k: np.float64(v) for k, v in params.items()})


def _scipy_logpdf(dist, x):
    return dist.logpmf(x) if hasattr(dist.dist, "logpmf") else dist.logpdf(x)


def test_registry_lists_every_case():
    assert set(IDS) <= set(jm.families())
    for name in IDS:
        fam = jm.family(name)
        assert fam.name == name
        assert fam == jm.family(name) and hash(fam) == hash(jm.family(name))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logpdf_matches_scipy(case):
    rng = np.random.default_rng(11)
    fam = jm.family(case.name)
    for _ in range(5):
        params = case.random_params(rng)
        x = case.draw(rng, 50)
        ours = np.asarray(fam.logpdf({k: jnp.asarray(v) for k, v in params.items()}, x))
        ref = _scipy_logpdf(_frozen(fam, params), x)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
        total = float(jm.loglik(fam, params, x))
        assert total == pytest.approx(ref.sum(), rel=1e-11)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logpdf_jit_and_vmap_over_params(case):
    rng = np.random.default_rng(12)
    fam = jm.family(case.name)
    x = case.draw(rng, 20)
    plist = [case.random_params(rng) for _ in range(4)]
    stacked = {k: jnp.asarray([p[k] for p in plist]) for k in fam.param_names}
    out = jax.jit(jax.vmap(lambda p: jnp.sum(fam.logpdf(p, x))))(stacked)
    ref = [_scipy_logpdf(_frozen(fam, p), x).sum() for p in plist]
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_score_matches_central_differences(case):
    rng = np.random.default_rng(13)
    fam = jm.family(case.name)
    x = case.draw(rng, 200)
    params = case.random_params(rng)
    score = jm.score(fam, params, x)
    assert list(score) == list(fam.param_names)
    for k in fam.param_names:
        h = 1e-6 * max(1.0, abs(params[k]))
        up = float(jm.loglik(fam, {**params, k: params[k] + h}, x))
        dn = float(jm.loglik(fam, {**params, k: params[k] - h}, x))
        fd = (up - dn) / (2 * h)
        assert float(score[k]) == pytest.approx(fd, rel=1e-5, abs=1e-5 * (1 + abs(up) / 100))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_information_matches_central_differences_of_score(case):
    rng = np.random.default_rng(14)
    fam = jm.family(case.name)
    x = case.draw(rng, 200)
    params = case.random_params(rng)
    info = np.asarray(jm.fisher_information(fam, params, x))
    p = len(fam.param_names)
    assert info.shape == (p, p)
    np.testing.assert_allclose(info, info.T, rtol=1e-12)
    for j, k in enumerate(fam.param_names):
        h = 1e-5 * max(1.0, abs(params[k]))
        up = jm.score(fam, {**params, k: params[k] + h}, x)
        dn = jm.score(fam, {**params, k: params[k] - h}, x)
        for i, name in enumerate(fam.param_names):
            fd = -(float(up[name]) - float(dn[name])) / (2 * h)
            assert info[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(info).max())


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def fitted(request):
    case = request.param
    x = case.draw(np.random.default_rng(21), N_FIT)
    return case, x, jm.fit(case.name, x)


def _reference_loglik(case, fam, x):
    if case.scipy_fit is not None:
        return _scipy_logpdf(case.scipy_fit(x), x).sum()
    closed = fam.closed_form(jnp.asarray(x), None)
    return _scipy_logpdf(_frozen(fam, closed), x).sum()


def test_fit_reaches_scipy_optimum(fitted):
    case, x, res = fitted
    fam = jm.family(case.name)
    assert bool(res.converged), res.message
    ref = _reference_loglik(case, fam, x)
    assert float(res.loglik) >= ref - 1e-6 * abs(ref)
    # The reported log-likelihood is the scipy log-likelihood at our estimate.
    ours = _scipy_logpdf(res.to_scipy(), x).sum()
    assert float(res.loglik) == pytest.approx(ours, rel=1e-11)


def test_score_vanishes_at_the_mle(fitted):
    case, x, res = fitted
    score = jm.score(case.name, res.params, x)
    for k in res.free_names:
        # score * stderr is dimensionless: the z-statistic scale of the score.
        assert abs(float(score[k]) * float(res.stderr[k])) < 1e-6, k


def test_estimates_near_truth_within_standard_errors(fitted):
    case, _, res = fitted
    for k, true in case.params.items():
        z = (float(res.params[k]) - true) / float(res.stderr[k])
        assert abs(z) < 5, (k, z)


def test_cov_is_inverse_information_at_the_mle(fitted):
    case, x, res = fitted
    info = np.asarray(jm.fisher_information(case.name, res.params, x))
    ref = np.linalg.inv(info)
    np.testing.assert_allclose(np.asarray(res.cov), ref, rtol=1e-6, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_newton_from_init_agrees_with_auto(case):
    fam = jm.family(case.name)
    x = case.draw(np.random.default_rng(21), N_FIT)
    auto = jm.fit(fam, x)
    newton = jm.fit(fam, x, method="newton")
    assert newton.method == "newton" and bool(newton.converged), newton.message
    for k in fam.param_names:
        assert float(newton.params[k]) == pytest.approx(float(auto.params[k]), rel=1e-8)
    assert float(newton.loglik) == pytest.approx(float(auto.loglik), rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_init_is_inside_constraints_and_near_mle(case):
    fam = jm.family(case.name)
    x = jnp.asarray(case.draw(np.random.default_rng(22), N_FIT))
    start = fam.init(x, None)
    for k in fam.param_names:
        assert bool(fam.constraints[k].contains(np.asarray(start[k]))), k
        assert float(start[k]) == pytest.approx(case.params[k], rel=0.3), k
