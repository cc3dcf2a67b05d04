"""Choosing the family: jm.select recovers the family that generated the data
(by AIC and BIC), records why candidates were skipped, reports the criteria of
the individual fits, and jm.select_many agrees with a loop of jm.select."""

from __future__ import annotations

import numpy as np
import pytest

import jaxmle as jm

CONTINUOUS = ["normal", "gamma", "weibull", "lognormal"]
COUNTS = ["poisson", "negative_binomial", "geometric"]
# (The negative binomial has no finite MLE for Poisson counts: r -> inf.)
UNDERDISPERSED = ["poisson", "geometric", jm.Binomial(n=30)]
UNIT = ["beta", "uniform", "normal"]

_CASES = [
    ("normal", CONTINUOUS, lambda rng: rng.normal(10.0, 2.0, 3000)),
    ("gamma", CONTINUOUS, lambda rng: rng.gamma(3.0, 2.0, 3000)),
    ("weibull", CONTINUOUS, lambda rng: 2.0 * rng.weibull(1.5, 3000)),
    ("lognormal", CONTINUOUS, lambda rng: rng.lognormal(0.5, 0.6, 3000)),
    ("beta", UNIT, lambda rng: rng.beta(2.0, 5.0, 3000)),
    ("poisson", UNDERDISPERSED, lambda rng: rng.poisson(4.0, 3000)),
    ("negative_binomial", COUNTS, lambda rng: rng.negative_binomial(3.0, 0.4, 3000)),
]


@pytest.mark.parametrize("truth, families, draw", _CASES, ids=[c[0] for c in _CASES])
def test_select_recovers_the_generating_family(truth, families, draw):
    x = draw(np.random.default_rng(20261130))
    for criterion in ("aic", "bic"):
        sel = jm.select(x, families, criterion=criterion)
        assert sel.best.family.name == truth, str(sel)
        assert sel.names[0] == truth and sel.criterion == criterion
        values = sel.values()
        assert np.all(np.diff(values[np.isfinite(values)]) >= 0)  # ranked
        assert sel.delta()[0] == 0 and sel.weights().sum() == pytest.approx(1.0)
        assert all(c.converged for c in sel), str(sel)
    best = sel[truth]
    if truth in ("poisson", "negative_binomial"):
        assert np.isfinite(best.chi2) and np.isnan(best.ks)
        skipped = dict(sel.skipped)
        if (x == 0).any():  # geometric counts from 1
            assert "support is the integers 1, 2, 3, ..." in skipped["geometric"]
    else:
        assert np.isfinite([best.ks, best.cvm, best.ad]).all() and np.isnan(best.chi2)
        assert best.ks == pytest.approx(best.fit.gof().ks, rel=1e-12)


def test_criteria_equal_the_individual_fits():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 1.5, 500)
    w = rng.integers(1, 4, 500).astype(float)
    sel = jm.select(x, ["gamma", "lognormal"], weights=w)
    n = w.sum()
    assert sel.n == n
    for name in ("gamma", "lognormal"):
        row, res = sel[name], jm.fit(name, x, weights=w)
        k, ll = res.n_params, float(res.loglik)
        assert row.loglik == pytest.approx(ll, rel=1e-12) and row.n_params == k == 2
        assert row.aic == pytest.approx(2 * k - 2 * ll, rel=1e-12)
        assert row.bic == pytest.approx(k * np.log(n) - 2 * ll, rel=1e-12)
        assert row.aicc == pytest.approx(float(res.aicc), rel=1e-12)
        assert row.params.keys() == res.params.keys()
        # select sorts the data (and weights) once for every candidate's gof.
        g = res.gof()
        for stat in ("ks", "cvm", "ad"):
            assert getattr(row, stat) == pytest.approx(getattr(g, stat), rel=1e-12), stat
    table = sel.to_table()
    assert list(table["family"]) == list(sel.names)
    assert table["aic"][0] == sel[0].aic and table["delta"][0] == 0
    df = sel.to_dataframe()
    assert list(df.index) == list(sel.names) and df.loc["gamma", "k"] == 2
    by_bic = jm.select(x, ["gamma", "lognormal"], weights=w, criterion="bic", gof=False)
    assert by_bic["gamma"].bic == pytest.approx(sel["gamma"].bic, rel=1e-12)
    assert np.isnan(by_bic["gamma"].ks)


def test_skipped_families_say_why():
    rng = np.random.default_rng(2)
    x = rng.normal(0.5, 1.0, 400)  # some values <= 0
    sel = jm.select(x, ["normal", "gamma", "beta", "binomial", jm.Categorical(k=3)])
    skipped = dict(sel.skipped)
    k = int((x <= 0).sum())
    assert f"support is x > 0, but {k} of 400 values are outside it" in skipped["gamma"]
    assert "support is 0 < x < 1" in skipped["beta"]
    assert "binomial needs the option n=" in skipped["binomial"]
    assert "the integers 0, 1, ..., 2" in skipped["categorical"]
    assert sel.names == ("normal",)
    with pytest.raises(KeyError, match="'gamma' was skipped: its support is x > 0"):
        sel["gamma"]
    text = str(sel)
    assert "skipped:" in text and "gamma: its support" in text and "rank" in text
    # Counts: densities are not compared with probabilities.
    counts = rng.poisson(3.0, 300)
    sel = jm.select(counts, ["poisson", "normal"])
    assert sel.names == ("poisson",) and "not comparable" in dict(sel.skipped)["normal"]
    # Nothing fits: no best.
    nothing = jm.select(-np.abs(x) - 1.0, ["gamma", "lognormal"])
    with pytest.raises(ValueError, match="no candidate family was fitted"):
        nothing.best  # noqa: B018


def test_bad_requests_say_what_is_wrong():
    x = np.random.default_rng(3).gamma(2.0, 1.0, 100)
    with pytest.raises(ValueError, match="criterion must be one of"):
        jm.select(x, ["gamma"], criterion="hqic")
    with pytest.raises(ValueError, match="families must be one of 'continuous'"):
        jm.select(x, "gama")
    with pytest.raises(ValueError, match="unknown family 'gama'"):
        jm.select(x, ["gama"])
    with pytest.raises(ValueError, match="more than once"):
        jm.select(x, ["gamma", jm.Gamma()])
    with pytest.raises(ValueError, match="families is empty"):
        jm.select(x, [])
    with pytest.raises(ValueError, match="1-D data"):
        jm.select(x.reshape(20, 5), ["gamma"])
    with pytest.raises(ValueError, match="non-finite"):
        jm.select(np.r_[x, np.nan], ["gamma"])


def test_select_many_agrees_with_a_loop():
    rng = np.random.default_rng(4)
    X = np.stack(
        [rng.gamma(2.0, 1.0, 400) for _ in range(3)]
        + [1.5 * rng.weibull(1.3, 400) for _ in range(3)]
        + [rng.normal(0.0, 1.0, 400)]  # outside the positive families' support
    )
    fams = ["gamma", "weibull", "normal"]
    many = jm.select_many(X, fams)
    assert len(many) == 7 and many.families == tuple(fams)
    assert many.aic.shape == (7, 3) and many.ks.shape == (7, 3)
    for i in range(7):
        one = jm.select(X[i], fams)
        assert many.best[i] == one.names[0]
        assert many[i].names == one.names
        for j, name in enumerate(fams):
            if name in one.names:
                assert many.aic[i, j] == pytest.approx(one[name].aic, rel=1e-9)
                assert many.bic[i, j] == pytest.approx(one[name].bic, rel=1e-9)
                assert many.ks[i, j] == pytest.approx(one[name].ks, rel=1e-6)
            else:
                assert np.isnan(many.aic[i, j]) and "outside the support" in many.notes[i, j]
                assert name in dict(many[i].skipped)
    assert set(many.best[:6]) <= {"gamma", "weibull"} and many.best[6] == "normal"
    assert many.fit("gamma").params["shape"].shape == (7,)
    df = many.to_dataframe()
    assert list(df.columns) == ["best", *(f"aic[{f}]" for f in fams)]
    assert "best in" in str(many)


def test_the_positive_group():
    x = np.random.default_rng(5).gamma(2.5, 1.0, 2000)
    sel = jm.select(x, "positive", gof=False)
    names = set(sel.names) | {s.family for s in sel.skipped}
    assert {"gamma", "weibull", "lognormal", "exponential", "pareto"} <= names
    assert not names & {"normal", "beta", "poisson", "student_t"}
    assert sel.best.family.name == "gamma", str(sel)
    assert all(reason for _, reason in sel.skipped)


def test_table_columns_stay_apart_for_wide_values():
    # A uniform and a pareto fitted to gamma data: a dAIC in the tens of
    # thousands and an infinite A^2 must not run into the next column.
    x = np.random.default_rng(4).gamma(3.0, 2.0, 20000)
    sel = jm.select(x, ["gamma", "uniform", "pareto"])
    lines = str(sel).splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert lines[header].split()[:10] == [
        "rank", "family", "k", "loglik", "AIC", "dAIC", "weight", "KS", "CvM", "AD",
    ]  # fmt: skip
    rows = lines[header + 1 : header + 4]
    assert [r.split()[1] for r in rows] == list(sel.names)
    deltas = sel.delta()
    for row, delta in zip(rows, deltas, strict=True):
        numbers = [float(t) for t in row.split()[2:10]]  # k ... AD, each parseable
        assert numbers[3] == pytest.approx(delta, abs=0.01)
    assert max(deltas) > 1e4
