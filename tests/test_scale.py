"""Large-data machinery: chunked fused passes, sufficient statistics, bounded
memory, streamed (out-of-core) data, mini-batch fits, float32 accuracy and
several devices. Every check compares against an independent computation:
a direct sum, ``jax.hessian`` of the total, the in-memory fit, or float64."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxmle as jm
from jaxmle._engine.objective import Objective
from jaxmle.families.registry import resolve
from jaxmle.likelihood import total_loglik
from jaxmle.reduction import derivative_pass, reduce_terms

sys.path.insert(0, os.path.dirname(__file__))
from cases import CASES

RNG = np.random.default_rng(20261126)
X_WEIBULL = RNG.weibull(1.5, 5000) * 2.0
X_GAMMA = RNG.gamma(2.5, 1.5, 5000)


def _params_close(a, b, rtol):
    for k in a.params:
        np.testing.assert_allclose(np.asarray(a.params[k]), np.asarray(b.params[k]), rtol=rtol)


# ---- one pass ---------------------------------------------------------------


@pytest.mark.parametrize("n,chunk", [(1000, 1000), (1000, 64), (1000, 999), (1001, 10)])
def test_reduce_terms_equals_direct_sums(n, chunk):
    x = jnp.asarray(RNG.normal(size=n))
    w = jnp.asarray(RNG.integers(0, 3, size=n).astype(float))
    got = reduce_terms(lambda d: (d, d**2, jnp.stack([d, 1 + d], 1)), x, w, chunk=chunk)
    want = (jnp.sum(w * x), jnp.sum(w * x**2), jnp.sum(w[:, None] * jnp.stack([x, 1 + x], 1), 0))
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-12)


def test_float32_sums_keep_float32_accuracy():
    # 4e6 float32 terms of size ~1: a naive running sum loses ~3 digits.
    x64 = RNG.uniform(0.5, 1.5, 4_000_000)
    x32 = jnp.asarray(x64.astype(np.float32))
    exact = float(np.sum(x64.astype(np.float32).astype(np.float64)))
    got = float(reduce_terms(lambda d: d, x32, None, chunk=4096))
    assert abs(got - exact) / exact < 2e-7


@pytest.mark.parametrize("per_sample,chunk", [(True, 5000), (False, 777)])
def test_derivative_pass_matches_autodiff_of_the_total(per_sample, chunk):
    fam = resolve("student_t")
    x = jnp.asarray(RNG.standard_t(4, 5000))
    w = jnp.asarray(RNG.uniform(0, 2, 5000))
    u = jnp.array([1.2, 0.1, -0.2])

    def terms(v, d):
        return fam.logpdf({"df": jnp.exp(v[0]), "loc": v[1], "scale": jnp.exp(v[2])}, d)

    def total(v):
        return jnp.sum(w * terms(v, x))

    val, g, h = derivative_pass(terms, u, x, w, chunk=chunk, per_sample=per_sample)
    np.testing.assert_allclose(float(val), float(total(u)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), np.asarray(jax.grad(total)(u)), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(h), np.asarray(jax.hessian(total)(u)), rtol=1e-10)


_DERIV_CASES = [c for c in CASES if c.family().has_derivatives]


def test_the_closed_form_derivative_families():
    assert {c.name for c in _DERIV_CASES} >= {"weibull", "student_t"}


@pytest.mark.parametrize("case", _DERIV_CASES, ids=[c.label for c in _DERIV_CASES])
def test_derivative_terms_give_the_weighted_loglik_and_its_derivatives(case):
    fam = case.family()
    names = fam.param_names
    rng = np.random.default_rng(11)
    feats = fam.features(jnp.asarray(case.draw(rng, 300), dtype=jnp.float64))
    w = jnp.asarray(rng.uniform(0, 2, 300))
    for _ in range(3):
        theta = jnp.asarray([case.random_params(rng)[k] for k in names], jnp.float64)

        def total(t):
            return jnp.sum(w * fam.logpdf_features(dict(zip(names, t, strict=True)), feats))

        params = dict(zip(names, theta, strict=True))
        sums = tuple(jnp.sum(w * t) for t in fam.derivative_terms(params, feats))
        value, grad, hess = fam.derivatives_from_terms(params, sums, jnp.sum(w))
        jac, hes = jax.grad(total)(theta), jax.hessian(total)(theta)
        assert float(value) == pytest.approx(float(total(theta)), rel=1e-12)
        for i, a in enumerate(names):
            assert float(grad[a]) == pytest.approx(float(jac[i]), rel=1e-9, abs=1e-9)
            for j in range(i, len(names)):
                got = float(hess[(a, names[j])])
                assert got == pytest.approx(float(hes[i, j]), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name,fixed", [("student_t", True), ("weibull", False)])
def test_closed_form_and_autodiff_passes_agree(name, fixed):
    # One Newton pass (chunked, weighted, a parameter held fixed or not) through
    # logpdf_derivatives and the chain rule, against autodiff of the total.
    from jaxmle.families.base import flatten_params

    fam = resolve(name)
    x = jnp.asarray(X_WEIBULL if name == "weibull" else RNG.standard_t(4, 5000))
    w = jnp.asarray(RNG.uniform(0, 2, x.shape[0]))
    start = {
        "weibull": {"shape": 1.3, "scale": 2.2},
        "student_t": {"df": 3.0, "loc": 0.2, "scale": 1.1},
    }
    hold = {k: jnp.asarray(v) for k, v in list(start[name].items())[-1:]} if fixed else {}
    free = tuple(k for k in fam.param_names if k not in hold)
    u, unflatten = flatten_params(fam.to_unconstrained({k: start[name][k] for k in free}), free)
    obj = Objective(fam, hold, unflatten, x, w, jnp.sum(w), 777, False)

    def total(v):
        return -jnp.sum(w * fam.logpdf(obj.params(v), x)) / jnp.sum(w)

    val, g, h = obj.derivatives(u)
    np.testing.assert_allclose(float(val), float(total(u)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), np.asarray(jax.grad(total)(u)), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(np.asarray(h), np.asarray(jax.hessian(total)(u)), rtol=1e-9)


_STAT_CASES = [c for c in CASES if c.family().has_statistics]


def test_the_statistics_families():
    # Exponential families fit in one pass; the ones with a closed form use it
    # in memory and their statistics when streamed or with parameters fixed.
    assert {c.name for c in _STAT_CASES} >= {
        "gamma",
        "beta",
        "inverse_gamma",
        "chi2",
        "nakagami",
        "exponential",
        "poisson",
        "bernoulli",
        "geometric",
        "inverse_gaussian",
    }


@pytest.mark.parametrize("case", _STAT_CASES, ids=[c.label for c in _STAT_CASES])
def test_sufficient_statistics_give_the_log_likelihood(case):
    fam = case.family()
    rng = np.random.default_rng(7)
    xj = jnp.asarray(case.draw(rng, 500), dtype=jnp.float64)
    # about no centre, the median, and a poor one (any centre gives the same value)
    for centre in (None, jnp.median(xj), 3.0 * jnp.max(jnp.abs(xj))):
        sums = tuple(jnp.sum(t) for t in fam.statistics(xj, centre))
        for _ in range(3):
            p = {k: jnp.asarray(v, jnp.float64) for k, v in case.random_params(rng).items()}
            want = float(jnp.sum(fam.logpdf(p, xj)))
            got = float(fam.loglik_from_statistics(p, sums, jnp.asarray(500.0), centre))
            assert got == pytest.approx(want, rel=1e-11)
        start = fam.init_from_statistics(sums, jnp.asarray(500.0), centre)
        assert set(start) == set(fam.param_names)
        assert np.isfinite(float(jnp.sum(fam.logpdf(start, xj))))
    # The contract that lets the statistics pass double as the value check.
    outside = [np.nan, np.inf, -1.0, -2.5]
    outside += [0.0, 1.0] if case.name == "beta" else [0.5] if fam.support.discrete else []
    for bad in outside:
        if np.isfinite(bad) and bool(fam.support.contains(jnp.asarray([bad]))[0]):
            continue
        t = fam.statistics(jnp.asarray([bad], dtype=jnp.float64))
        assert not all(bool(jnp.all(jnp.isfinite(v))) for v in t), (case.name, bad)


# ---- passes per fit ----------------------------------------------------------


def test_statistics_fit_makes_one_pass_and_matches_scipy():
    res = jm.fit("gamma", X_GAMMA)
    assert int(res.n_passes) == 1 and bool(res.converged)
    a, _, scale = stats.gamma.fit(X_GAMMA, floc=0)
    ref = stats.gamma(a, scale=scale).logpdf(X_GAMMA).sum()
    assert float(res.loglik) >= ref - 1e-9 * abs(ref)
    assert float(res.loglik) == pytest.approx(res.to_scipy().logpdf(X_GAMMA).sum(), rel=1e-12)


def test_newton_fit_needs_few_passes():
    res = jm.fit("weibull", X_WEIBULL)
    # init + features + one pass per Newton step (quadratic convergence).
    assert bool(res.converged) and int(res.n_passes) <= 9
    c, _, scale = stats.weibull_min.fit(X_WEIBULL, floc=0)
    ref = stats.weibull_min(c, scale=scale).logpdf(X_WEIBULL).sum()
    assert float(res.loglik) >= ref - 1e-9 * abs(ref)


# ---- bounded memory: chunks inside jit ---------------------------------------


@pytest.mark.parametrize(
    "name,x",
    [("weibull", X_WEIBULL), ("gamma", X_GAMMA), ("student_t", RNG.standard_t(5, 5000))],
)
def test_chunk_size_gives_the_same_fit(name, x):
    full = jm.fit(name, jnp.asarray(x))
    chunked = jm.fit(name, jnp.asarray(x), chunk_size=333)
    _params_close(full, chunked, 1e-9)
    assert float(chunked.loglik) == pytest.approx(float(full.loglik), rel=1e-12)
    np.testing.assert_allclose(np.asarray(chunked.cov), np.asarray(full.cov), rtol=1e-7)


# ---- out-of-core: streamed sources ---------------------------------------------


def test_streamed_numpy_and_memmap_match_in_memory(tmp_path):
    ref = jm.fit("weibull", X_WEIBULL)
    streamed = jm.fit("weibull", X_WEIBULL, chunk_size=1024)
    _params_close(ref, streamed, 1e-9)
    path = tmp_path / "x.f64"
    X_WEIBULL.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r")
    from_disk = jm.fit("weibull", mm, chunk_size=700)
    _params_close(ref, from_disk, 1e-9)
    assert float(from_disk.loglik) == pytest.approx(float(ref.loglik), rel=1e-12)
    np.testing.assert_allclose(np.asarray(from_disk.cov), np.asarray(ref.cov), rtol=1e-7)
    assert int(from_disk.n) == X_WEIBULL.size


def test_chunk_iterables_lists_factories_and_generators():
    chunks = np.array_split(X_GAMMA, 7)
    ref = jm.fit("gamma", X_GAMMA)
    _params_close(ref, jm.fit("gamma", chunks), 1e-10)
    # A one-shot generator is enough for sufficient statistics (one pass) ...
    _params_close(ref, jm.fit("gamma", (c for c in chunks)), 1e-10)
    # ... but not for Newton, which needs a re-iterable source.
    wchunks = np.array_split(X_WEIBULL, 5)
    with pytest.raises(TypeError, match="one-shot iterator"):
        jm.fit("weibull", (c for c in wchunks))
    ref_w = jm.fit("weibull", X_WEIBULL)
    _params_close(ref_w, jm.fit("weibull", lambda: iter(wchunks)), 1e-9)
    # A closed-form family streams by Newton passes and lands on the closed form.
    x = RNG.normal(3.0, 2.0, 3000)
    res = jm.fit("normal", np.array_split(x, 4))
    assert float(res.params["loc"]) == pytest.approx(x.mean(), rel=1e-10)
    assert float(res.params["scale"]) == pytest.approx(x.std(), rel=1e-10)


def test_streamed_weights_and_bad_values():
    w = RNG.integers(0, 3, X_WEIBULL.size).astype(float)
    ref = jm.fit("weibull", X_WEIBULL, weights=w)
    _params_close(ref, jm.fit("weibull", X_WEIBULL, weights=w, chunk_size=999), 1e-9)
    bad = X_WEIBULL.copy()
    bad[3001] = -1.0
    with pytest.raises(ValueError, match=r"outside the support.*x\[3001\]"):
        jm.fit("weibull", bad, chunk_size=1000)  # in the fourth chunk: the data's row 3001
    assert X_WEIBULL[3001] > 0 and bad[3001] == -1.0  # the input was not touched
    with pytest.raises(ValueError, match="NaN"):
        jm.fit("gamma", [X_GAMMA[:10], np.array([1.0, np.nan])])


def test_device_side_validation_names_the_bad_values():
    x = jnp.asarray(X_WEIBULL).at[17].set(jnp.nan)
    with pytest.raises(ValueError, match=r"x\[17\]=nan"):
        jm.fit("weibull", x)
    with pytest.raises(ValueError, match=r"outside the support of gamma.*x\[2\]=-3.0"):
        jm.fit("gamma", jnp.asarray([1.0, 2.0, -3.0, 4.0]))


# ---- mini-batch stochastic fits, polished to the MLE -----------------------------


@pytest.mark.parametrize("source", ["device", "host"])
def test_minibatch_adam_is_polished_to_the_full_data_mle(source):
    x = X_WEIBULL if source == "host" else jnp.asarray(X_WEIBULL)
    ref = jm.fit("weibull", X_WEIBULL)
    res = jm.fit("weibull", x, method="adam", batch_size=256, epochs=2, key=1)
    assert bool(res.converged)
    _params_close(ref, res, 1e-7)
    # init, the scaling pass, 2 epochs, then a few exact Newton passes.
    assert 4 < int(res.n_passes) <= 12


# ---- float32 ---------------------------------------------------------------------


def test_float32_fits_of_ten_million_agree_with_float64():
    x64 = np.random.default_rng(3).weibull(1.5, 10_000_000) * 2.0
    x32 = jnp.asarray(x64.astype(np.float32))
    ref = jm.fit("weibull", jnp.asarray(x32, dtype=jnp.float64))
    got = jm.fit("weibull", x32)
    assert got.params["shape"].dtype == jnp.float32 and bool(got.converged)
    _params_close(ref, got, 1e-5)
    assert float(got.loglik) == pytest.approx(float(ref.loglik), rel=1e-6)
    y32 = jnp.asarray((x64 * 0.7).astype(np.float32))
    _params_close(jm.fit("gamma", jnp.asarray(y32, dtype=jnp.float64)), jm.fit("gamma", y32), 1e-5)


# ---- several devices ----------------------------------------------------------------

_SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxmle as jm

    assert len(jax.devices()) == 4, jax.devices()
    rng = np.random.default_rng(5)
    data = {
        "weibull": rng.weibull(1.5, 10_001) * 2.0,
        "gamma": rng.gamma(2.0, 1.5, 10_000),
        "normal": rng.normal(1.0, 2.0, 10_003),
        "student_t": rng.standard_t(5.0, 10_000),
    }
    mesh = Mesh(np.array(jax.devices()), ("data",))
    out = {}
    part = sys.argv[1]  # the test runs the script in two parts, on two workers
    for name, x in data.items() if part == "float64" else ():
        one = jm.fit(name, x)
        spread = jm.fit(name, x, devices=jax.devices())
        row = {"one": {k: float(v) for k, v in one.params.items()},
               "many": {k: float(v) for k, v in spread.params.items()},
               "ll": [float(one.loglik), float(spread.loglik)],
               "n": [float(one.n), float(spread.n)],
               "se": [[float(v) for v in one.stderr.values()],
                      [float(v) for v in spread.stderr.values()]]}
        if x.size % 4 == 0:
            xs = jax.device_put(x, NamedSharding(mesh, P("data")))
            row["array"] = {k: float(v) for k, v in jm.fit(name, xs).params.items()}
        out[name] = row
    # float32 closed-form families: Newton from the closed form on the shards,
    # with float32's tolerances (a float64 tolerance cannot be met in float32).
    f32 = {}
    for name in ("normal", "exponential", "lognormal") if part == "other" else ():
        x = np.abs(rng.normal(3.0, 1.0, 10_002)).astype(np.float32)
        one = jm.fit(name, x)
        spread = jm.fit(name, x, devices=jax.devices())
        f32[name] = {"one": {k: float(v) for k, v in one.params.items()},
                     "many": {k: float(v) for k, v in spread.params.items()},
                     "converged": bool(spread.converged),
                     "dtype": str(next(iter(spread.params.values())).dtype)}
    out["float32"] = f32
    # Extreme magnitudes and offsets: the shards fit in the global array's units.
    extreme = {}
    extremes = (("weibull", rng.weibull(1.5, 10_000) * 2e200),
                ("logistic", 1e9 + rng.logistic(size=10_000)),
                ("gamma", rng.gamma(2.0, 1.5, 10_000) * 1e-250))
    for name, x in extremes if part == "other" else ():
        one = jm.fit(name, x)
        spread = jm.fit(name, x, devices=jax.devices())
        extreme[name] = {"one": {k: float(v) for k, v in one.params.items()},
                         "many": {k: float(v) for k, v in spread.params.items()},
                         "converged": [bool(one.converged), bool(spread.converged)]}
    out["extreme"] = extreme
    # A second sharded fit of the same shapes compiles nothing; releasing
    # jaxmle's executables lets the sharded programs go too.
    from jaxmle._engine import compile as programs, sharding
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, *_, **__: compiles.append(event)
        if event == "/jax/core/compile/backend_compile_duration" else None
    )
    x = data["weibull"] if part == "float64" else extremes[0][1]
    jm.fit("weibull", x, devices=jax.devices())
    held = sharding._sharded_program.cache_info().currsize
    programs.release_executables()
    print(json.dumps(out))
    print(json.dumps({"compiles": len(compiles), "held": held,
                      "after": sharding._sharded_program.cache_info().currsize}))
    """
)


@pytest.mark.parametrize("part", ["float64", "other"])
def test_sharded_fits_match_one_device(part):
    flags = os.environ.get("XLA_FLAGS", "")  # the harness's fast-compile flag too
    env = dict(os.environ, XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=4")
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", _SHARDED_SCRIPT, part], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    *_, line, programs = proc.stdout.strip().splitlines()
    # One program per (family, plan) fitted: 4 families, or 3 float32 and 3 extreme ones.
    held = 4 if part == "float64" else 6
    assert json.loads(programs) == {"compiles": 0, "held": held, "after": 0}
    out = json.loads(line)
    assert sum(bool(v) for v in out.values()) == (4 if part == "float64" else 2), out.keys()
    for name, row in out.pop("extreme").items():
        assert row["converged"] == [True, True], name
        for k, v in row["one"].items():
            assert row["many"][k] == pytest.approx(v, rel=1e-9), (name, k)
    for name, row in out.pop("float32").items():
        assert row["dtype"] == "float32" and row["converged"], (name, row)
        for k, v in row["one"].items():
            assert row["many"][k] == pytest.approx(v, rel=2e-5), (name, k)
    for name, row in out.items():
        for k, v in row["one"].items():
            assert row["many"][k] == pytest.approx(v, rel=1e-9), (name, k)
            if "array" in row:
                assert row["array"][k] == pytest.approx(v, rel=1e-9), (name, k)
        assert row["ll"][1] == pytest.approx(row["ll"][0], rel=1e-12), name
        assert row["n"][1] == row["n"][0], name
        np.testing.assert_allclose(row["se"][1], row["se"][0], rtol=1e-7)


def test_total_loglik_reference_is_scipy():
    # The objective the passes reduce is the one scipy defines.
    p = {"shape": jnp.asarray(1.4), "scale": jnp.asarray(2.1)}
    got = float(total_loglik(resolve("weibull"), p, jnp.asarray(X_WEIBULL), None))
    assert got == pytest.approx(
        stats.weibull_min(1.4, scale=2.1).logpdf(X_WEIBULL).sum(), rel=1e-12
    )


def test_streamed_multivariate_and_row_numbers_of_bad_values():
    X = np.random.default_rng(4).multivariate_normal([1.0, -1.0], [[2.0, 0.5], [0.5, 1.0]], 300)
    ref = jm.fit("multivariate_normal", X)
    for streamed in (jm.fit("multivariate_normal", X, chunk_size=64),
                     jm.fit("multivariate_normal", [X[:150], X[150:]])):  # fmt: skip
        np.testing.assert_allclose(streamed.params["cov"], ref.params["cov"], rtol=1e-8)
    x = np.random.default_rng(5).weibull(1.5, 300)
    x[150] = -1.0
    with pytest.raises(ValueError, match=r"x\[150\]=-1.0"):
        jm.fit("weibull", x, chunk_size=100)
    with pytest.raises(ValueError, match=r"x\[150\]=-1.0"):
        jm.fit("weibull", [x[:120], x[120:]])
