"""fit_many and fit_groups: every dataset's fit equals its own jm.fit.

Each check compares the batched program against independent single fits (or
closed forms): estimates, standard errors, log-likelihoods and iteration
counts, for every solver path, ragged and grouped data, and bad datasets.
"""

from __future__ import annotations

import os
import sys
import warnings

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import special

import jaxmle as jm
from jaxmle import Status

RNG = np.random.default_rng(5)
B, N = 12, 150
X_WEIBULL = RNG.weibull(RNG.uniform(0.8, 3.0, (B, 1)), (B, N)) * RNG.uniform(0.5, 2, (B, 1))
X_GAMMA = RNG.gamma(RNG.uniform(0.7, 4.0, (B, 1)), 1.0, (B, N))
X_NORMAL = RNG.normal(RNG.normal(size=(B, 1)), 2.0, (B, N))


def _same_fit(batch, single, rtol):
    for k in single.params:
        np.testing.assert_allclose(batch.params[k], single.params[k], rtol=rtol, atol=1e-12)
    for k in single.stderr:
        np.testing.assert_allclose(batch.stderr[k], single.stderr[k], rtol=max(rtol, 1e-7))
    assert float(batch.loglik) == pytest.approx(float(single.loglik), rel=rtol)
    assert float(batch.n) == pytest.approx(float(single.n), rel=1e-12)


def test_weibull_batch_equals_single_fits_and_keeps_each_iteration_count():
    res = jm.fit_many("weibull", X_WEIBULL)
    assert isinstance(res, jm.ManyFitResult) and len(res) == B
    assert res.params["shape"].shape == (B,) and res.cov.shape == (B, 2, 2)
    assert res.aic.shape == res.bic.shape == res.converged.shape == (B,)
    iters = set()
    for i in range(B):
        single = jm.fit("weibull", X_WEIBULL[i])
        _same_fit(res[i], single, 1e-9)
        # A converged dataset stops changing while the others iterate.
        assert int(res.n_iter[i]) == int(single.n_iter)
        iters.add(int(single.n_iter))
        assert res[i].message == single.message
    assert len(iters) > 1  # the datasets really needed different iteration counts
    # res[i] holds its own dataset: it can refit it (here: bootstrap it).
    assert res[3].bootstrap(n=20, key=0).replicates["shape"].shape == (20,)
    assert res[-1].params["shape"] == res[B - 1].params["shape"]
    with pytest.raises(IndexError, match="out of range"):
        res[B]


@pytest.mark.parametrize(
    "name,X,method,rtol",
    [
        ("normal", X_NORMAL, "auto", 1e-12),  # closed form
        ("gamma", X_GAMMA, "auto", 1e-9),  # sufficient statistics
        ("weibull", X_WEIBULL[:4], "lbfgs", 1e-7),
        ("normal", X_NORMAL, "adam", 1e-6),
    ],
)
def test_every_solver_path_under_fit_many(name, X, method, rtol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jm.ConvergenceWarning)
        res = jm.fit_many(name, X, method=method)
        for i in (0, len(X) - 1):
            single = jm.fit(name, X[i], method=method)
            for k in single.params:
                np.testing.assert_allclose(res.params[k][i], single.params[k], rtol=rtol)
    # And every fit is the MLE: against scipy's own fit on one dataset.
    if name == "gamma":
        from scipy import stats

        a, _, scale = stats.gamma.fit(X[3], floc=0)
        assert float(res.params["shape"][3]) == pytest.approx(a, rel=1e-5)
        assert float(res.params["rate"][3]) == pytest.approx(1 / scale, rel=1e-5)
    if name == "normal":
        np.testing.assert_allclose(res.params["loc"], X.mean(1), rtol=1e-4, atol=1e-4)


def test_an_optax_optimizer_fixed_parameters_and_weights():
    w = RNG.integers(0, 3, (B, N)).astype(float)
    res = jm.fit_many("weibull", X_WEIBULL, weights=w, fixed={"scale": 1.3})
    for i in (1, 7):
        single = jm.fit("weibull", X_WEIBULL[i], weights=w[i], fixed={"scale": 1.3})
        _same_fit(res[i], single, 1e-9)
    assert np.all(np.asarray(res.params["scale"]) == 1.3) and set(res.stderr) == {"shape"}
    opt = jm.fit_many("normal", X_NORMAL[:4], optimizer=optax.adam(0.05), max_iter=3000)
    np.testing.assert_allclose(opt.params["loc"], X_NORMAL[:4].mean(1), rtol=1e-4)


def test_ragged_lists_and_masks_equal_the_unpadded_fits():
    sizes = [3, 40, 150, 77, 9]
    xs = [RNG.gamma(2.0, 1.5, n) for n in sizes]
    res = jm.fit_many("gamma", xs)
    _same_fit(res[2], jm.fit("gamma", xs[2]), 1e-9)  # N = 150, like X_GAMMA's rows
    for i, x in enumerate(xs):  # each dataset's own MLE: the score vanishes there
        a, b = float(res.params["shape"][i]), float(res.params["rate"][i])
        score = [np.log(b) + np.mean(np.log(x)) - special.digamma(a), a / b - np.mean(x)]
        np.testing.assert_allclose(score, 0.0, atol=1e-9)
    # The same as a pre-padded array with a mask, whatever the padding holds.
    padded = np.full((len(xs), max(sizes)), np.nan)
    mask = np.zeros(padded.shape, bool)
    for i, x in enumerate(xs):
        padded[i, : x.size], mask[i, : x.size] = x, True
    before = padded.copy()
    masked = jm.fit_many("gamma", padded, mask=mask)
    np.testing.assert_array_equal(padded, before)  # the input is not modified
    np.testing.assert_allclose(masked.params["shape"], res.params["shape"], rtol=1e-12)
    np.testing.assert_allclose(masked.n, sizes)
    # Ragged with weights: weights per dataset.
    ws = [RNG.uniform(0.5, 2, n) for n in sizes]
    weighted = jm.fit_many("weibull", xs, weights=ws)
    _same_fit(weighted[2], jm.fit("weibull", xs[2], weights=ws[2]), 1e-9)


def test_fit_groups_with_string_and_integer_labels():
    values = RNG.gamma(2.0, 1.0, 600)
    labels = RNG.choice(np.array(["north", "south", "east"]), 600)
    fits = jm.fit_groups("gamma", values, labels)
    assert list(fits) == ["east", "north", "south"] and len(fits) == 3
    for lab in fits:  # each group's own MLE: the score vanishes there
        x = values[labels == lab]
        a, b = float(fits[lab].params["shape"]), float(fits[lab].params["rate"])
        score = [np.log(b) + np.mean(np.log(x)) - special.digamma(a), a / b - np.mean(x)]
        np.testing.assert_allclose(score, 0.0, atol=1e-9)
        assert float(fits[lab].n) == x.size
    ids = RNG.integers(10, 14, 600)
    by_id = jm.fit_groups("normal", values, ids)
    assert list(by_id) == [10, 11, 12, 13]
    assert float(by_id[np.int64(12)].params["loc"]) == pytest.approx(values[ids == 12].mean())
    table = by_id.to_table()
    np.testing.assert_array_equal(table["group"], [10, 11, 12, 13])
    np.testing.assert_allclose(table["loc"], [values[ids == g].mean() for g in range(10, 14)])
    with pytest.raises(KeyError, match="no group"):
        by_id[99]
    pd = pytest.importorskip("pandas")
    df = jm.fit_groups("normal", pd.Series(values), pd.Series(labels)).to_dataframe()
    assert list(df.index) == ["east", "north", "south"] and "se_scale" in df.columns


def test_bad_datasets_raise_with_their_indices_or_are_flagged():
    X = X_WEIBULL.copy()
    X[2, 10] = np.nan
    X[5, 0] = -1.0
    X[9, 3] = np.inf
    with pytest.raises(ValueError, match=r"3 of 12 datasets are invalid \(datasets 2, 5, 9\)"):
        jm.fit_many("weibull", X)
    res = jm.fit_many("weibull", X, on_invalid="flag")
    bad = [2, 5, 9]
    assert np.all(np.isnan(np.asarray(res.params["shape"])[bad]))
    assert not np.any(np.asarray(res.converged)[bad])
    assert np.all(np.asarray(res.status)[bad] == Status.INVALID_DATA)
    assert "x[10]=nan" in res.message[2] and "x[0]=-1.0" in res.message[5]
    assert "non-finite" in res[9].message
    for i in (0, 3, 11):  # the others are fitted normally
        _same_fit(res[i], jm.fit("weibull", X[i]), 1e-9)
    table = res.to_table()
    assert table["converged"].sum() == B - 3 and np.isnan(table["shape"][bad]).all()


def test_too_few_points_and_degenerate_data_are_flagged_not_crashed_on():
    xs = [RNG.weibull(1.5, 30), np.array([2.0]), RNG.weibull(1.5, 50)]
    with pytest.raises(ValueError, match="too few observations: 1 < 2"):
        jm.fit_many("weibull", xs)
    res = jm.fit_many("weibull", xs, on_invalid="flag")
    assert list(np.asarray(res.converged)) == [True, False, True]
    datasets = [RNG.normal(size=20), np.full(8, 3.5), RNG.normal(size=9)]
    with pytest.warns(jm.ConvergenceWarning, match="1 of 3 fits did not converge"):
        deg = jm.fit_many("normal", datasets)
    assert int(deg.status[1]) == Status.DEGENERATE and not bool(deg.converged[1])
    assert "every observation equals 3.5" in deg.message[1]
    assert float(deg.params["loc"][1]) == 3.5
    assert bool(deg.converged[0]) and bool(deg.converged[2])
    _same_fit(deg[2], jm.fit("normal", datasets[2]), 1e-12)


def test_chunks_of_datasets_give_the_same_results():
    whole = jm.fit_many("weibull", X_WEIBULL)
    parts = jm.fit_many("weibull", X_WEIBULL, datasets_per_call=5)  # 5 + 5 + 2 (padded)
    for k in whole.params:
        np.testing.assert_allclose(parts.params[k], whole.params[k], rtol=1e-12)
    np.testing.assert_array_equal(parts.n_iter, whole.n_iter)
    host = jm.fit_many("gamma", X_GAMMA, datasets_per_call=4)
    np.testing.assert_allclose(host.params["shape"], jm.fit_many("gamma", X_GAMMA).params["shape"])


def test_multivariate_datasets():
    X = RNG.multivariate_normal([1.0, -1.0], [[1.0, 0.3], [0.3, 2.0]], (4, 300))
    res = jm.fit_many("multivariate_normal", X)
    assert res.params["mean"].shape == (4, 2)
    for i in range(4):
        np.testing.assert_allclose(res.params["mean"][i], X[i].mean(0), rtol=1e-10)
        single = jm.fit("multivariate_normal", X[i])
        np.testing.assert_allclose(res[i].loglik, single.loglik, rtol=1e-10)
    assert res.to_table()["mean[1]"].shape == (4,)


def test_float32_batches_agree_with_float64():
    r64 = jm.fit_many("weibull", X_WEIBULL)
    r32 = jm.fit_many("weibull", jnp.asarray(X_WEIBULL, jnp.float32))
    assert r32.params["shape"].dtype == jnp.float32
    np.testing.assert_allclose(r32.params["shape"], r64.params["shape"], rtol=2e-5)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"x must have shape \(B, N\).*for one dataset use jm.fit"):
        jm.fit_many("gamma", X_GAMMA[0])
    with pytest.raises(ValueError, match="on_invalid must be"):
        jm.fit_many("gamma", X_GAMMA, on_invalid="skip")
    with pytest.raises(TypeError, match="mask must be boolean"):
        jm.fit_many("gamma", X_GAMMA, mask=np.ones(X_GAMMA.shape))
    with pytest.raises(ValueError, match=r"mask must have shape \(12, 150\)"):
        jm.fit_many("gamma", X_GAMMA, mask=np.ones((12, 3), bool))
    w = np.ones(X_GAMMA.shape)
    w[4, 7] = -1
    with pytest.raises(ValueError, match="dataset 4, position 7"):
        jm.fit_many("gamma", X_GAMMA, weights=w)
    with pytest.raises(ValueError, match="empty list"):
        jm.fit_many("gamma", [])
    with pytest.raises(ValueError, match="datasets_per_call"):
        jm.fit_many("gamma", X_GAMMA, datasets_per_call=0)
    with pytest.raises(ValueError, match=r"groups must have shape \(5,\)"):
        jm.fit_groups("gamma", np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match="missing labels"):
        jm.fit_groups("gamma", np.ones(3), np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="unknown"):
        jm.fit_many("no_such_family", X_GAMMA)


sys.path.insert(0, os.path.dirname(__file__))
from cases import CASES, IDS  # noqa: E402


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_family_under_fit_many(case):
    fam = case.family()
    # The datasets have test_families' shape, so the single fits reuse its
    # compiled programs (from the shared program store).
    rng = np.random.default_rng(3)
    X = np.stack([case.draw(rng, case.n_fit) for _ in range(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = jm.fit_many(fam, X, **case.fit_kwargs)
        for i in (0, 1):
            single = jm.fit(fam, X[i], **case.fit_kwargs)
            assert int(res.status[i]) == int(single.status), res.message[i]
            assert float(res.loglik[i]) == pytest.approx(float(single.loglik), rel=1e-9)
            for k in fam.param_names:
                np.testing.assert_allclose(res.params[k][i], single.params[k], rtol=1e-5, atol=1e-8)


def test_composite_families_under_fit_many():
    x = np.concatenate([RNG.normal(-2, 0.5, (3, 200)), RNG.normal(2, 1.0, (3, 300))], axis=1)
    fam = jm.Mixture([jm.Normal(), jm.Normal()])
    res = jm.fit_many(fam, x)
    for i in range(3):
        single = jm.fit(fam, x[i])
        assert float(res.loglik[i]) == pytest.approx(float(single.loglik), rel=1e-9)
        np.testing.assert_allclose(res.params["weights"][i], single.params["weights"], rtol=1e-6)
    # A shifted exponential's MLE sits at loc = min(x): fit_many ends there.
    xs = RNG.exponential(2.0, (3, 100)) + 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shifted = jm.fit_many(jm.Shifted(jm.Exponential()), xs)
    np.testing.assert_allclose(shifted.params["loc"], xs.min(1), rtol=1e-6)
