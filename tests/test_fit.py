"""fit(): methods, fixed parameters, weights, optimizers, results, compilation."""

import dataclasses

import jax
import numpy as np
import optax
import pytest

import jaxmle as jm
from jaxmle._engine.program import (
    SUBSAMPLE_FROM,
    fit_finished_program,
    solve_finished_program,
    statistics_pass_program,
)
from jaxmle.likelihood import total_loglik


@pytest.fixture(scope="module")
def gamma_data():
    return np.random.default_rng(3).gamma(2.5, 1 / 1.5, 3000)


def test_gamma_fixed_shape_has_closed_form_rate(gamma_data):
    res = jm.fit("gamma", gamma_data, fixed={"shape": 2.0})
    assert float(res.params["rate"]) == pytest.approx(2.0 / gamma_data.mean(), rel=1e-9)
    assert res.free_names == ("rate",)


def test_weibull_fixed_shape_has_closed_form_scale(gamma_data):
    k = 1.3
    res = jm.fit("weibull", gamma_data, fixed={"shape": k})
    expected = np.mean(gamma_data**k) ** (1 / k)
    assert float(res.params["scale"]) == pytest.approx(expected, rel=1e-9)


def test_weighted_gamma_equals_repeated(gamma_data):
    x = gamma_data[:400]
    w = np.random.default_rng(4).integers(0, 3, 400)
    a = jm.fit("gamma", x, weights=w)
    b = jm.fit("gamma", np.repeat(x, w))
    for k in ("shape", "rate"):
        assert float(a.params[k]) == pytest.approx(float(b.params[k]), rel=1e-8)
        assert float(a.stderr[k]) == pytest.approx(float(b.stderr[k]), rel=1e-6)


@pytest.mark.parametrize("method", ["newton", "lbfgs", "adam", "sgd"])
def test_every_method_reaches_the_gamma_mle(gamma_data, method):
    ref = jm.fit("gamma", gamma_data, method="newton")
    res = jm.fit("gamma", gamma_data, method=method)
    assert bool(res.converged), res.message
    assert res.method == method
    tol = {"newton": 1e-10, "lbfgs": 1e-6, "adam": 1e-4, "sgd": 1e-4}[method]
    for k in ("shape", "rate"):
        assert float(res.params[k]) == pytest.approx(float(ref.params[k]), rel=tol)


@pytest.mark.parametrize(
    "optimizer", [optax.adam(0.05), optax.sgd(0.3), optax.lbfgs()], ids=["adam", "sgd", "lbfgs"]
)
def test_any_optax_transformation(gamma_data, optimizer):
    ref = jm.fit("gamma", gamma_data)
    res = jm.fit("gamma", gamma_data, optimizer=optimizer)
    assert res.method == "optax" and bool(res.converged)
    assert float(res.params["shape"]) == pytest.approx(float(ref.params["shape"]), rel=1e-4)


def test_newton_falls_back_where_hessian_is_indefinite(gamma_data):
    fam = jm.Gamma()
    start = {"shape": 0.02, "rate": 1.0}
    u = jax.numpy.log(jax.numpy.array([start["shape"], start["rate"]]))

    def negll(v):
        return -total_loglik(
            fam,
            {"shape": jax.numpy.exp(v[0]), "rate": jax.numpy.exp(v[1])},
            jax.numpy.asarray(gamma_data),
            None,
        )

    assert np.linalg.eigvalsh(np.asarray(jax.jit(jax.hessian(negll))(u))).min() < 0
    res = jm.fit(fam, gamma_data, method="newton", init=start)
    ref = jm.fit(fam, gamma_data)
    assert bool(res.converged)
    assert float(res.params["shape"]) == pytest.approx(float(ref.params["shape"]), rel=1e-9)


def test_unconverged_fit_says_so(gamma_data):
    with pytest.warns(jm.ConvergenceWarning, match="max_iter"):
        res = jm.fit("gamma", gamma_data, method="newton", init={"shape": 50.0}, max_iter=1)
    assert not bool(res.converged)
    assert int(res.n_iter) == 1
    assert res.status == jm.Status.MAX_ITER
    assert "not converged" in res.message
    assert "not converged" in res.summary()


def test_second_fit_with_same_shapes_does_not_recompile(gamma_data):
    rng = np.random.default_rng(9)
    jm.fit("weibull", gamma_data, fixed={"scale": 1.0})
    jm.fit("gamma", gamma_data, fixed={"rate": 1.0})
    programs = (fit_finished_program, statistics_pass_program, solve_finished_program)
    before = [p.cache_size() for p in programs]
    for _ in range(2):
        other = rng.gamma(3.0, 1.0, gamma_data.shape[0])
        res = jm.fit(jm.Gamma(), other, fixed={"rate": float(rng.uniform(0.5, 2))})
        assert bool(res.converged)
        res = jm.fit("weibull", other, fixed={"scale": float(rng.uniform(0.5, 2))})
        assert bool(res.converged)
    assert [p.cache_size() for p in programs] == before
    # The solve (finish included) does not depend on the data's length: a
    # length in another bucket compiles only its pass.
    longer = np.concatenate([gamma_data] * (20_000 // gamma_data.shape[0] + 1))
    jm.fit("gamma", longer, fixed={"rate": 1.0})
    assert statistics_pass_program.cache_size() == before[1] + 1
    assert solve_finished_program.cache_size() == before[2]


def test_result_is_an_immutable_pytree(gamma_data):
    res = jm.fit("gamma", gamma_data)
    doubled = jax.tree.map(lambda a: 2 * a, res)
    assert isinstance(doubled, jm.FitResult)
    assert float(doubled.loglik) == pytest.approx(2 * float(res.loglik))
    assert doubled.family == res.family and doubled.method == res.method
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.loglik = 0.0
    jitted = jax.jit(lambda r: r.loglik + 1.0)(res)
    assert float(jitted) == pytest.approx(float(res.loglik) + 1.0)


def test_information_criteria_and_intervals(gamma_data):
    res = jm.fit("gamma", gamma_data)
    ll, n = float(res.loglik), len(gamma_data)
    assert float(res.aic) == pytest.approx(4 - 2 * ll)
    assert float(res.bic) == pytest.approx(2 * np.log(n) - 2 * ll)
    ci = res.conf_int(0.95)
    for k in ("shape", "rate"):
        lo, hi = (float(v) for v in ci[k])
        assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * float(res.stderr[k]), rel=1e-9)
        assert lo < float(res.params[k]) < hi
    with pytest.raises(ValueError, match="level"):
        res.conf_int(1.5)


def test_summary_reads_like_a_table(gamma_data):
    res = jm.fit("gamma", gamma_data, fixed={"rate": 1.5})
    text = res.summary()
    assert "Gamma(shape, rate)" in text and "newton" in text and "n = 3,000" in text
    assert f"{float(res.params['shape']):.8g}" in text
    assert "(fixed)" in text.splitlines()[-1]
    assert f"{float(res.loglik):.6f}" in text


def test_to_scipy_reproduces_the_fit(gamma_data):
    res = jm.fit("gamma", gamma_data)
    dist = res.to_scipy()
    assert dist.mean() == pytest.approx(float(res.params["shape"] / res.params["rate"]), rel=1e-12)
    assert dist.logpdf(gamma_data).sum() == pytest.approx(float(res.loglik), rel=1e-12)


def test_family_given_as_class_instance_or_name(gamma_data):
    a = jm.fit(jm.Gamma, gamma_data)
    b = jm.fit("Gamma", gamma_data)
    assert float(a.loglik) == float(b.loglik)


def test_boundary_mle_is_reported():
    res = jm.fit("poisson", np.zeros(10))
    assert float(res.params["rate"]) == 0.0 and float(res.loglik) == 0.0
    assert "boundary" in res.message


def test_nonsmooth_likelihood_uses_expected_information():
    # Laplace: the Hessian in loc is 0 almost everywhere; the median's
    # asymptotic standard error is scale / sqrt(n), and the scale's too.
    x = np.random.default_rng(6).laplace(1.0, 2.0, 2001)
    res = jm.fit("laplace", x)
    b = float(res.params["scale"])
    assert float(res.stderr["loc"]) == pytest.approx(b / np.sqrt(2001), rel=1e-10)
    assert float(res.stderr["scale"]) == pytest.approx(b / np.sqrt(2001), rel=1e-10)


def test_boundary_parameter_gets_no_standard_error():
    # Pareto: scale = min(x) is on the support boundary; alpha's standard error
    # is alpha / sqrt(n) with the scale held at its estimate.
    x = 1.5 * (1 + np.random.default_rng(7).pareto(2.5, 2000))
    res = jm.fit("pareto", x)
    assert float(res.params["scale"]) == x.min()
    assert np.isnan(float(res.stderr["scale"]))
    alpha = float(res.params["alpha"])
    assert float(res.stderr["alpha"]) == pytest.approx(alpha / np.sqrt(2000), rel=1e-8)
    assert "no finite standard error for scale" in res.message


@pytest.mark.parametrize("name", ["normal", "lognormal", "exponential"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loglik_at_the_mle_needs_no_pass(name, weighted):
    """``loglik_at_mle`` (the closed form of the maximized log-likelihood)
    equals a pass of the log-density at the estimate, and scipy's."""
    from jaxmle.families import family_class

    rng = np.random.default_rng(3)
    x = rng.lognormal(0.3, 0.8, 777)
    w = rng.integers(0, 4, 777).astype(float) if weighted else None
    res = jm.fit(name, x, weights=w)
    fam = family_class(name)()
    by_pass = float(jm.loglik(fam, res.params, x, weights=w))
    scipy_ll = float(np.sum((1.0 if w is None else w) * res.to_scipy().logpdf(x)))
    n = float(np.sum(w)) if weighted else float(x.size)
    assert fam.loglik_at_mle(res.params, n) is not None
    np.testing.assert_allclose(float(res.loglik), by_pass, rtol=1e-12)
    np.testing.assert_allclose(float(res.loglik), scipy_ll, rtol=1e-12)


def test_normal_closed_form_is_one_pass_and_exact_far_from_zero_in_float32():
    """The normal's one shifted pass: float32 data at 3e6 + N(0, 1) give the
    MLE of those float32 values (computed exactly in float64) to 1e-5."""
    import jax.numpy as jnp

    # 300,000 values (above the buckets, no weights): the finite estimate
    # vouches for every value, so the count of invalid values costs no pass.
    x32 = (3e6 + np.random.default_rng(5).normal(0.0, 1.0, 300_000)).astype(np.float32)
    exact = x32.astype(np.float64)
    res = jm.fit("normal", jnp.asarray(x32))
    assert int(res.n_passes) == 1
    np.testing.assert_allclose(float(res.params["loc"]), exact.mean(), rtol=1e-7)
    np.testing.assert_allclose(float(res.params["scale"]), exact.std(), rtol=1e-5)
    # A NaN still costs a pass and an error naming it.
    bad = exact.copy()
    bad[123] = np.nan
    with pytest.raises(ValueError, match="123"):
        jm.fit("normal", bad)


@pytest.mark.parametrize("name,bad", [("normal", np.nan), ("lognormal", -1.0), ("gamma", -1.0)])
def test_an_invalid_value_in_a_weight_0_row_is_an_error(name, bad):
    """Every row is checked, weighted 0 or not (the closed forms' finite
    estimate vouches only for the rows it uses)."""
    x = np.random.default_rng(8).lognormal(0.0, 1.0, 300)
    w = np.ones(300)
    x[3], w[3] = bad, 0.0
    with pytest.raises(ValueError, match=r"x\[3\]"):
        jm.fit(name, x, weights=w)


def test_long_data_start_from_a_subsample_unless_the_caller_gives_the_start():
    # From 2**18 rows on, Newton starts from the MLE of a 2**16-row subsample
    # (the moment start is poor for data of another family); a start the
    # caller gives for every free parameter is used as it is.
    assert SUBSAMPLE_FROM == 1 << 18
    x = np.random.default_rng(8).gamma(3.0, 2.0, SUBSAMPLE_FROM)
    res = jm.fit("logistic", x)
    assert res.converged
    at_mle = jm.fit("logistic", x, init={k: float(v) for k, v in res.params.items()})
    assert at_mle.converged and at_mle.n_iter == 0
    for k, v in res.params.items():
        assert float(at_mle.params[k]) == pytest.approx(float(v), rel=1e-10)
    # The subsample's MLE is within its sampling error of the full one:
    # Newton needs a few passes from it.
    assert res.n_passes <= 5


def test_long_data_subsample_start_outside_the_support_falls_back_to_the_family_start():
    # A generalized Pareto fitted to gamma data ends its support (-scale/shape,
    # shape < 0) just above the largest value. The subsample's MLE ends below
    # the full data's maximum (the subsample does not hold it): Newton then
    # starts from the family's start on all the values, which holds every one.
    from scipy import stats

    x = np.random.default_rng(8).gamma(3.0, 2.0, SUBSAMPLE_FROM)
    res = jm.fit("generalized_pareto", x)
    assert res.converged
    shape, scale = float(res.params["shape"]), float(res.params["scale"])
    assert shape < 0 and -scale / shape > x.max()
    c, _, s = stats.genpareto.fit(x, floc=0.0)
    peer = stats.genpareto(c, 0.0, s).logpdf(x).sum()
    assert float(res.loglik) >= peer - 1e-8 * abs(peer)
