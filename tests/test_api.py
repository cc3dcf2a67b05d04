"""The public API has no traps: every family class at the top level, no
function shadowing a subpackage, one meaning per keyword (old meanings
accepted with a DeprecationWarning), the same field names on single and batch
results, every result type exported, refit data that survive pytree and
dataclass operations."""

import dataclasses
import types

import jax
import numpy as np
import pytest

import jaxmle as jm

RNG = np.random.default_rng(11)
X = RNG.weibull(1.5, 400) * 2.0
XS = RNG.gamma(2.0, 1.0, size=(6, 80))


def test_every_registered_family_class_is_top_level():
    names = jm.family_names()
    assert len(names) >= 36
    for name in names:
        cls = jm.family_class(name)
        assert getattr(jm, cls.__name__) is cls, name
        assert cls.name == name


def test_families_is_the_subpackage_not_a_function():
    assert isinstance(jm.families, types.ModuleType)
    assert jm.families.__name__ == "jaxmle.families"


def test_fisher_information_is_a_deprecated_alias_of_observed_information():
    p = {"shape": 1.4, "scale": 2.1}
    obs = np.asarray(jm.observed_information("weibull", p, X))
    with pytest.warns(DeprecationWarning, match="observed_information"):
        old = np.asarray(jm.fisher_information("weibull", p, X))
    np.testing.assert_array_equal(old, obs)
    # The observed information is -hessian(loglik): check one entry by differences.
    h = 1e-5
    ll = lambda s: float(jm.loglik("weibull", {"shape": s, "scale": 2.1}, X))  # noqa: E731
    second = (ll(1.4 + h) - 2 * ll(1.4) + ll(1.4 - h)) / h**2
    assert obs[0, 0] == pytest.approx(-second, rel=1e-4)


def test_batch_size_for_chunks_is_deprecated_for_chunk_size():
    ref = jm.fit("weibull", jax.numpy.asarray(X), chunk_size=97)
    with pytest.warns(DeprecationWarning, match="chunk_size"):
        old = jm.fit("weibull", jax.numpy.asarray(X), batch_size=97)
    for k in ref.params:
        assert float(old.params[k]) == float(ref.params[k])
    with pytest.raises(ValueError, match="epochs= applies to mini-batch fits"):
        jm.fit("weibull", X, method="newton", chunk_size=10, epochs=2)


def test_fit_many_counts_datasets_with_datasets_per_call():
    ref = jm.fit_many("gamma", XS, datasets_per_call=4)
    with pytest.warns(DeprecationWarning, match="datasets_per_call"):
        old = jm.fit_many("gamma", XS, chunk_size=4)
    np.testing.assert_array_equal(np.asarray(old.params["shape"]), np.asarray(ref.params["shape"]))
    one = jm.fit("gamma", XS[2])
    assert float(ref.params["shape"][2]) == pytest.approx(float(one.params["shape"]), rel=1e-9)


def test_single_and_batch_results_share_field_names():
    many = jm.fit_many("gamma", XS)
    single = many[0]
    names = {f.name for f in dataclasses.fields(jm.FitResult)}
    assert {f.name for f in dataclasses.fields(jm.ManyFitResult)} == names
    assert isinstance(single.message, str) and isinstance(single.note, str)
    assert len(many.message) == len(many) and many.message[0] == single.message
    assert len(many.note) == len(many)
    with pytest.warns(DeprecationWarning):
        assert many.messages == many.message
    with pytest.warns(DeprecationWarning):
        assert many.notes == many.note


def test_batch_params_keep_the_family_order():
    many = jm.fit_many("weibull", RNG.weibull(1.5, size=(3, 60)))
    assert tuple(many.params) == ("shape", "scale")
    assert tuple(many[1].params) == ("shape", "scale")
    assert tuple(many.stderr) == ("shape", "scale")


def test_refit_data_survive_replace_and_tree_map():
    res = jm.fit("weibull", X)
    ref = res.conf_int(method="profile")
    replaced = dataclasses.replace(res, note="copied")
    mapped = jax.tree.map(lambda a: a, res)
    assert replaced.refit is res.refit and mapped.refit is res.refit
    for other in (replaced, mapped):
        got = other.conf_int(method="profile")
        for k, (lo, hi) in ref.items():
            assert float(got[k][0]) == pytest.approx(float(lo), rel=1e-12)
            assert float(got[k][1]) == pytest.approx(float(hi), rel=1e-12)
    # The profile interval contains the estimate and is wider than nothing.
    for k, (lo, hi) in ref.items():
        assert float(lo) < float(res.params[k]) < float(hi)


def test_result_types_are_exported():
    res = jm.fit("weibull", X)
    assert isinstance(res.delta(lambda p: p["scale"] * 2.0), jm.Derived)
    with pytest.warns(DeprecationWarning, match="replicates_per_call"):
        boot = res.bootstrap(n=20, key=3, chunk_size=7)
    assert isinstance(boot, jm.BootstrapResult)
    again = res.bootstrap(n=20, key=3, replicates_per_call=7)
    np.testing.assert_array_equal(boot.replicates["shape"], again.replicates["shape"])
    test = jm.lrt(jm.fit("weibull", X, fixed={"shape": 1.0}), res)
    assert isinstance(test, jm.LRTResult) and test.df == 1
    assert isinstance(jm.fit_many("gamma", XS), jm.ManyFitResult)
    assert isinstance(jm.fit_groups("gamma", XS.ravel(), np.repeat(np.arange(6), 80)), jm.GroupFits)


def test_accessors_compile_nothing(compile_counter):
    res = jm.fit("weibull", RNG.weibull(1.3, 321) * 1.7)
    many = jm.fit_many("gamma", XS)
    compile_counter.reset()
    text = res.summary()
    values = (res.aic, res.bic, res.aicc, res.pvalues, res.zvalues, res.conf_int(), res.to_scipy())
    table = many.to_table()
    one = many[3]
    one.summary(), many.summary(), one.conf_int(0.9), repr(res), repr(many)
    assert compile_counter.traces == 0 and compile_counter.compiles == 0
    assert "Weibull(shape, scale)" in text and len(values) == 7 and table["loglik"].shape == (6,)
    # The host numbers are the right ones: a Wald interval and a p-value by hand.
    from scipy import stats

    se, est = float(res.stderr["shape"]), float(res.params["shape"])
    lo, hi = res.conf_int(0.95)["shape"]
    assert float(lo) == pytest.approx(est - stats.norm.ppf(0.975) * se, rel=1e-14)
    assert float(hi) == pytest.approx(est + stats.norm.ppf(0.975) * se, rel=1e-14)
    p = 2 * stats.norm.sf(abs(est / se))
    assert float(res.pvalues["shape"]) == pytest.approx(p, rel=1e-12, abs=1e-300)
    assert float(res.bic) == pytest.approx(2 * np.log(321) - 2 * float(res.loglik), rel=1e-14)
