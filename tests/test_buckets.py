"""Shape buckets: one compiled program per (family, path, dtype, bucket), the
padding masked by weight 0, the same estimates with and without it.
Compilations are counted with JAX's monitoring events, never timed."""

import jax
import numpy as np
import pytest
from cases import CASES

import jaxmle as jm
from jaxmle._engine.buckets import FIT_MIN, bucket_count, bucket_length, fit_length

RNG = np.random.default_rng(21)
ONE_DEVICE = [jax.devices()[0]]  # devices= fits keep the data's own shape: no padding


def test_the_ladder():
    assert [bucket_length(n) for n in (1, 256, 257, 1024, 1025, 4096, 4097)] == [
        256, 256, 1024, 1024, 4096, 4096, 8192,
    ]  # fmt: skip
    assert bucket_length(100_000) == 131_072 and bucket_length(200_000) == 1 << 18
    for n in (1 << 18, 1_000_000, 10**7):  # large data keep their own shape
        assert bucket_length(n) == n
    assert [bucket_count(b) for b in (1, 2, 3, 5, 8, 9, 1000)] == [1, 2, 4, 8, 8, 16, 1024]
    with pytest.raises(ValueError):
        bucket_length(0)
    # A single fit: one bucket for every small dataset, then the same ladder.
    assert [fit_length(n) for n in (1, 300, 4096, 4097, 8192, 8193, 100_000)] == [
        FIT_MIN, FIT_MIN, FIT_MIN, 8192, 8192, 16384, 131_072,
    ]  # fmt: skip
    assert fit_length(1 << 18) == 1 << 18


def test_lengths_in_one_bucket_share_one_program(compile_counter):
    x = RNG.weibull(1.5, 4096) * 2.0
    jm.fit("weibull", x[:1500])  # compiles the 4096 bucket's programs
    compile_counter.reset()
    for n in (200, 1337, 3000, 4096):
        res = jm.fit("weibull", x[:n])
        assert bool(res.converged) and float(res.n) == n
    assert compile_counter.compiles == 0 and compile_counter.traces == 0, compile_counter.names
    # The counter does count: a program never seen before compiles.
    jax.jit(lambda v: v * 2.718281828 + 0.5772156649)(np.zeros(3))
    assert compile_counter.compiles == 1


def test_profile_and_bootstrap_reuse_the_bucket(compile_counter):
    x = RNG.gamma(2.0, 1.5, 900)
    jm.fit("gamma", x[:850]).conf_int(method="profile")
    jm.fit("gamma", x[:850]).bootstrap(n=100, key=0)
    compile_counter.reset()
    res = jm.fit("gamma", x[:880])
    ci = res.conf_int(method="profile")
    boot = res.bootstrap(n=120, key=1)  # 100 and 120 replicates: one bucket (128)
    assert compile_counter.compiles == 0, compile_counter.names
    assert ci["shape"][0] < res.params["shape"] < ci["shape"][1]
    assert boot.replicates["shape"].shape == (120,) and boot.converged.all()


_PADDED_CASES = [c for c in CASES if c.family().event_ndim == 0 and not c.slow_compile]


@pytest.mark.parametrize("case", _PADDED_CASES, ids=lambda c: c.id or c.name)
def test_padding_does_not_change_the_estimates(case):
    fam = case.family()
    x = case.draw(np.random.default_rng(5), 1000)  # padded to 4096 with weight 0
    padded = jm.fit(fam, x, **case.fit_kwargs)
    exact = jm.fit(fam, x, devices=ONE_DEVICE, **case.fit_kwargs)
    assert int(padded.status) == int(exact.status)
    assert float(padded.loglik) == pytest.approx(float(exact.loglik), rel=1e-12, abs=1e-9)
    # Closed forms and sufficient statistics agree to rounding; Newton from the
    # family's init stops within its tolerance (gradient 1e-10 in units of the
    # curvature) of the optimum, and the padded start differs slightly (weighted
    # quantiles).
    rtol = 1e-12 if padded.method == "closed_form" or fam.has_statistics else 1e-10
    for k in fam.param_names:
        np.testing.assert_allclose(padded.params[k], exact.params[k], rtol=rtol, atol=1e-300)
    for k in padded.free_names:
        np.testing.assert_allclose(padded.stderr[k], exact.stderr[k], rtol=1e-6)


def test_fit_many_buckets_datasets_and_lengths(compile_counter):
    X = RNG.gamma(2.0, 1.0, size=(7, 300))
    ref = jm.fit_many("gamma", X)
    compile_counter.reset()
    five = jm.fit_many("gamma", X[:5, :270])  # 5 -> 8 datasets, 270 -> 1024 rows
    assert compile_counter.compiles == 0, compile_counter.names
    for i in range(5):
        one = jm.fit("gamma", X[i, :270])
        assert float(five.params["shape"][i]) == pytest.approx(
            float(one.params["shape"]), rel=1e-12
        )
    assert len(ref) == 7 and len(five) == 5
    # Ragged lists land in the same buckets.
    compile_counter.reset()
    ragged = jm.fit_many("gamma", [X[0, :260], X[1, :299], X[2], X[3], X[4, :5], X[5]])
    assert compile_counter.compiles == 0, compile_counter.names
    assert float(ragged.n[0]) == 260 and float(ragged.n[2]) == 300


_EXPONENTIAL = [c for c in CASES if c.family().exponential_family]


def test_the_exponential_families_are_declared():
    names = {c.name for c in _EXPONENTIAL}
    assert {"normal", "lognormal", "exponential", "poisson", "bernoulli"} <= names
    for c in _EXPONENTIAL:
        assert c.family().has_closed_form, c.name


@pytest.mark.parametrize("case", _EXPONENTIAL, ids=lambda c: c.id or c.name)
def test_exponential_families_information_at_the_mle_is_the_expected_one(case):
    # The closed-form fit skips the derivative pass: its covariance must equal
    # the inverse observed information (autodiff Hessian of the log-likelihood).
    fam = case.family()
    x = case.draw(np.random.default_rng(8), 3000)
    res = jm.fit(fam, x, devices=ONE_DEVICE)  # unpadded
    assert res.method == "closed_form" and float(res.grad_norm) == 0.0
    obs = np.asarray(jm.observed_information(fam, res.params, x))
    want_cov = np.linalg.inv(obs)
    scale = np.max(np.abs(want_cov))
    np.testing.assert_allclose(np.asarray(res.cov), want_cov, rtol=1e-8, atol=1e-12 * scale)
    want = float(jm.loglik(fam, res.params, x))
    assert float(res.loglik) == pytest.approx(want, rel=1e-12)


def test_bootstrap_never_draws_a_weight_0_row():
    from jaxmle.inference.bootstrap import _resampled_weights

    w = np.ones(256, np.float32)
    w[0] = 0.0
    for seed in range(8):
        counts = np.asarray(_resampled_weights(jax.random.key(seed), w, 4096, 256, np.float32))
        assert (counts[:, 0] == 0).all()
        np.testing.assert_allclose(counts.sum(axis=1), 255.0, rtol=1e-5)
