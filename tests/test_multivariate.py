"""Multivariate normal and Dirichlet: textbook closed forms, standard errors,
shapes and messages, and the Dirichlet against scipy's beta fit (d = 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])
N = 2000


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).multivariate_normal(MEAN, COV, N)


@pytest.fixture(scope="module")
def closed(x):
    return jm.fit("multivariate_normal", x, method="closed_form")


def test_closed_form_is_sample_mean_and_biased_covariance(x, closed):
    np.testing.assert_allclose(np.asarray(closed.params["mean"]), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(closed.params["cov"]), np.cov(x.T, bias=True), rtol=1e-12, atol=1e-14
    )
    # loglik at the MLE: -n/2 (d log 2 pi + log det S + d)
    d = x.shape[1]
    expected = -N / 2 * (d * np.log(2 * np.pi) + np.linalg.slogdet(np.cov(x.T, bias=True))[1] + d)
    assert float(closed.loglik) == pytest.approx(expected, rel=1e-12)


def test_weighted_closed_form_equals_repeated_rows(x):
    fam = jm.family("multivariate_normal")
    w = np.random.default_rng(4).integers(0, 4, N).astype(float)  # zeros included
    weighted = fam.closed_form(jnp.asarray(x), jnp.asarray(w))
    repeated = np.repeat(x, w.astype(int), axis=0)
    np.testing.assert_allclose(np.asarray(weighted["mean"]), repeated.mean(0), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(weighted["cov"]), np.cov(repeated.T, bias=True), rtol=1e-11, atol=1e-14
    )
    np.testing.assert_allclose(
        np.asarray(weighted["cov"]), np.cov(x.T, fweights=w.astype(int), bias=True), rtol=1e-11
    )


def test_closed_form_keeps_float32_digits_far_from_the_origin():
    # |mean| >> sd and N > one block of the scatter sum: two passes keep the digits.
    x64 = np.random.default_rng(5).multivariate_normal([1e3, -5e2], [[1.0, 0.3], [0.3, 0.5]], 5000)
    est = jm.family("multivariate_normal").closed_form(jnp.asarray(x64, jnp.float32), None)
    assert est["cov"].dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(est["cov"]), np.cov(x64.T, bias=True), rtol=1e-3)


def test_standard_errors_at_the_mle(closed):
    cov = np.asarray(closed.params["cov"])
    se_mean = np.asarray(closed.stderr["mean"])
    np.testing.assert_allclose(se_mean, np.sqrt(np.diag(cov) / N), rtol=1e-9)
    # Asymptotic variance of the normal MLE of a covariance entry: (s_ij^2 + s_ii s_jj) / n.
    expected = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / N)
    np.testing.assert_allclose(np.asarray(closed.stderr["cov"]), expected, rtol=1e-8)
    assert closed.n_params == 3 + 6  # mean + the free entries of a symmetric 3 x 3


def test_newton_from_a_far_start_reaches_the_closed_form(x, closed):
    start = {"mean": np.zeros(3), "cov": np.eye(3)}
    res = jm.fit("multivariate_normal", x, method="newton", init=start)
    assert bool(res.converged), res.message
    assert int(res.n_iter) > 0
    for k in ("mean", "cov"):
        np.testing.assert_allclose(
            np.asarray(res.params[k]), np.asarray(closed.params[k]), rtol=1e-7, atol=1e-9
        )


def test_sampler_reproduces_the_covariance():
    fam = jm.family("multivariate_normal")
    p = {"mean": jnp.asarray(MEAN), "cov": jnp.asarray(COV)}
    draws = np.asarray(fam.sample(p, jax.random.key(1), (40000,)))
    assert draws.shape == (40000, 3)
    # sd of a sample covariance entry ~ sqrt((s_ij^2 + s_ii s_jj) / n) <= 0.015 here
    np.testing.assert_allclose(np.cov(draws.T), COV, atol=0.06)


def test_summary_prints_vector_and_matrix_entries(closed):
    text = closed.summary()
    rows = [line.split()[0] for line in text.splitlines()[5:]]
    assert rows == [f"mean[{i}]" for i in range(3)] + [
        f"cov[{i},{j}]" for i in range(3) for j in range(3)
    ]
    line = next(t for t in text.splitlines() if t.startswith("cov[1,0]"))
    assert float(line.split()[1]) == pytest.approx(float(closed.params["cov"][1, 0]), rel=1e-6)


def test_shape_messages():
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        jm.loglik("multivariate_normal", {"mean": [0.0], "cov": [[1.0]]}, np.zeros(5))
    with pytest.raises(ValueError, match="dimension d=3"):
        jm.loglik("multivariate_normal", {"mean": np.zeros(2), "cov": np.eye(2)}, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"cov must be \(3, 3\)"):
        jm.loglik("multivariate_normal", {"mean": np.zeros(3), "cov": np.eye(2)}, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="positive-definite"):
        jm.loglik(
            "multivariate_normal",
            {"mean": np.zeros(2), "cov": [[1.0, 2.0], [2.0, 1.0]]},
            np.zeros((5, 2)),
        )
    with pytest.raises(ValueError, match="outside the support of dirichlet"):
        jm.loglik("dirichlet", {"concentration": [1.0, 1.0]}, [[0.5, 0.6]])
    with pytest.raises(ValueError, match="d >= 2"):
        jm.loglik("dirichlet", {"concentration": [1.0]}, [[1.0]])
    with pytest.raises(ValueError, match="concentration"):
        jm.loglik("dirichlet", {"concentration": [1.0, -1.0]}, [[0.5, 0.5]])


def test_cdf_is_out_of_scope():
    p = {"mean": jnp.zeros(2), "cov": jnp.eye(2)}
    with pytest.raises(NotImplementedError, match="out of scope"):
        jm.family("multivariate_normal").cdf(p, jnp.zeros((3, 2)))


def test_scipy_wrapper_takes_rows():
    alpha = np.array([2.0, 0.7, 3.5])
    x = np.random.default_rng(6).dirichlet(alpha, 10)
    dist = jm.family("dirichlet").scipy({"concentration": alpha})
    ref = stats.dirichlet(alpha)
    np.testing.assert_allclose(dist.logpdf(x), ref.logpdf(x.T), rtol=1e-14)
    np.testing.assert_allclose(dist.pdf(x[0]), ref.pdf(x[0]), rtol=1e-14)
    np.testing.assert_allclose(dist.mean(), alpha / alpha.sum(), rtol=1e-14)
    assert np.asarray(dist.cov()).shape == (3, 3)


def test_dirichlet_with_two_columns_is_scipys_beta_fit():
    y = np.random.default_rng(8).beta(0.8, 2.5, N)
    res = jm.fit("dirichlet", np.column_stack([y, 1.0 - y]))
    assert bool(res.converged), res.message
    a, b, _, _ = stats.beta.fit(y, floc=0, fscale=1)
    ref = stats.beta(a, b).logpdf(y).sum()
    assert float(res.loglik) >= ref - 1e-9 * abs(ref)
    np.testing.assert_allclose(np.asarray(res.params["concentration"]), [a, b], rtol=1e-3)
    # and the Dirichlet density of (y, 1 - y) is the beta density of y
    np.testing.assert_allclose(
        np.asarray(res.to_scipy().logpdf(np.column_stack([y, 1.0 - y]))),
        stats.beta(*np.asarray(res.params["concentration"])).logpdf(y),
        rtol=1e-10,
    )


def test_dirichlet_moment_init():
    alpha = np.array([2.0, 5.0, 1.5])
    x = jnp.asarray(np.random.default_rng(9).dirichlet(alpha, 200_000))
    start = np.asarray(jm.family("dirichlet").init(x, None)["concentration"])
    np.testing.assert_allclose(start, alpha, rtol=0.03)
