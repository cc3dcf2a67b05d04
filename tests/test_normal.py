"""The textbook oracle: the normal MLE is mean(x) and the biased variance."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxmle as jm
from jaxmle.likelihood import total_loglik

N = 5000


def _closed(x):
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean()
    return mu, np.sqrt(np.mean((x - mu) ** 2))


@pytest.fixture(scope="module", params=[(3.0, 2.0), (-1.5, 0.01), (250.0, 40.0)])
def sample(request):
    loc, scale = request.param
    return np.random.default_rng(5).normal(loc, scale, N)


@pytest.mark.parametrize(
    "method, rtol",
    [("auto", 1e-10), ("closed_form", 1e-10), ("newton", 1e-8), ("lbfgs", 1e-6), ("adam", 1e-4)],
)
def test_estimates_equal_closed_form(sample, method, rtol):
    res = jm.fit(jm.Normal(), sample, method=method)
    mu, sigma = _closed(sample)
    assert bool(res.converged), res.message
    assert float(res.params["loc"]) == pytest.approx(mu, rel=rtol)
    assert float(res.params["scale"]) ** 2 == pytest.approx(sigma**2, rel=rtol)
    expected_ll = -N / 2 * (np.log(2 * np.pi * sigma**2) + 1)
    assert float(res.loglik) == pytest.approx(expected_ll, rel=min(rtol, 1e-8))


def test_sgd_reaches_closed_form(sample):
    res = jm.fit("normal", sample, method="sgd")
    mu, sigma = _closed(sample)
    assert bool(res.converged)
    assert float(res.params["loc"]) == pytest.approx(mu, rel=1e-4)
    assert float(res.params["scale"]) == pytest.approx(sigma, rel=1e-4)


def test_observed_information_closed_form(sample):
    res = jm.fit("normal", sample)
    sigma = float(res.params["scale"])
    info = np.asarray(jm.observed_information("normal", res.params, sample))
    expected = np.diag([N / sigma**2, 2 * N / sigma**2])
    np.testing.assert_allclose(info, expected, rtol=1e-9, atol=1e-9 * expected.max())
    assert float(res.stderr["loc"]) == pytest.approx(sigma / np.sqrt(N), rel=1e-9)
    assert float(res.stderr["scale"]) == pytest.approx(sigma / np.sqrt(2 * N), rel=1e-9)


@pytest.fixture(scope="module")
def million_f32():
    x64 = np.random.default_rng(7).normal(-1.5, 0.01, 1_000_000)
    return x64.astype(np.float32)


def test_float32_million_samples_match_float64_reference(million_f32):
    x = million_f32
    mu, sigma = _closed(x)  # float64 reference on the same float32 values
    for method in ("auto", "newton"):
        res = jm.fit("normal", x, method=method)
        assert res.params["loc"].dtype == jnp.float32
        assert bool(res.converged), res.message
        assert float(res.params["loc"]) == pytest.approx(mu, rel=1e-4)
        assert float(res.params["scale"]) == pytest.approx(sigma, rel=1e-4)
    # The same test catches the one-pass formula: E[x^2] - E[x]^2 in float32.
    naive = np.mean(x * x, dtype=np.float32) - np.mean(x, dtype=np.float32) ** 2
    assert abs(np.sqrt(max(naive, 0.0)) / sigma - 1) > 1e-4


def test_float32_loglik_sum_is_accurate(million_f32):
    x = million_f32
    params = {"loc": -1.5, "scale": 0.01}
    ref = jm.Normal().logpdf(params, x.astype(np.float64)).sum()
    ours = total_loglik(
        jm.Normal(), {k: jnp.float32(v) for k, v in params.items()}, jnp.asarray(x), None
    )
    assert ours.dtype == jnp.float32
    assert float(ours) == pytest.approx(float(ref), rel=2e-6)


def test_fixed_loc_gives_root_mean_square_scale(sample):
    res = jm.fit("normal", sample, fixed={"loc": 0.0})
    assert res.method == "newton" and bool(res.converged)
    assert float(res.params["loc"]) == 0.0
    assert float(res.params["scale"]) == pytest.approx(np.sqrt(np.mean(sample**2)), rel=1e-9)
    assert res.free_names == ("scale",)
    assert "loc" not in res.stderr and res.cov.shape == (1, 1)
    assert res.n_params == 1
    assert float(res.stderr["scale"]) == pytest.approx(
        float(res.params["scale"]) / np.sqrt(2 * N), rel=1e-8
    )


def test_weights_equal_repeated_observations():
    rng = np.random.default_rng(8)
    x = rng.normal(2.0, 1.0, 300)
    w = rng.integers(0, 4, 300).astype(float)
    repeated = np.repeat(x, w.astype(int))
    a = jm.fit("normal", x, weights=w)
    b = jm.fit("normal", repeated)
    for k in ("loc", "scale"):
        assert float(a.params[k]) == pytest.approx(float(b.params[k]), rel=1e-12)
        assert float(a.stderr[k]) == pytest.approx(float(b.stderr[k]), rel=1e-10)
    assert float(a.loglik) == pytest.approx(float(b.loglik), rel=1e-12)
    assert float(a.n) == len(repeated)
