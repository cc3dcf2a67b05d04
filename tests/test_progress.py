"""Progress bars (:mod:`jaxmle.progress`): shown on stderr with ``progress=True``,
quiet with ``False`` and, off a terminal, with the default ``None``; the counts
they end on; and the work is the same with or without them: identical results,
no extra compilation."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import jaxmle as jm
from jaxmle import progress
from jaxmle.progress import ProgressBar, progress_bar, resolve

pytest.importorskip("tqdm")

RNG = np.random.default_rng(20260611)
WEIBULL_CHUNKS = [RNG.weibull(1.5, 200) * 2.0 for _ in range(3)]
GAMMA = RNG.gamma(2.0, 1.5, 300)
GAMMA_MANY = RNG.gamma(2.0, 1.5, (10, 40))


@pytest.fixture(autouse=True)
def _no_setting(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)


def _last(err: str) -> str:
    """The bar's last drawn state (tqdm redraws a line with ``\\r``)."""
    lines = [s for s in re.split(r"[\r\n]", err) if s.strip()]
    assert lines, "no bar was written"
    return lines[-1]


def _same_params(a, b):
    assert a.params.keys() == b.params.keys()
    for k in a.params:
        np.testing.assert_array_equal(np.asarray(a.params[k]), np.asarray(b.params[k]))


# ---- the module ---------------------------------------------------------------------


def test_resolve_rules(monkeypatch):
    assert resolve(False) is False
    assert resolve(True) is True
    assert resolve(True, steps=1) is True  # asked for: shown whatever the work
    assert resolve(None) is False  # pytest's stderr is not a terminal
    monkeypatch.setenv(progress.ENV, "1")
    assert resolve(None) is True
    assert resolve(None, steps=1) is False  # one step: nothing to watch
    assert resolve(None, steps=2) is True
    with progress_bar(3, "outer", enabled=True):
        assert resolve(None) is False  # no bar inside a shown bar
        assert resolve(True) is True
    assert resolve(None) is True
    monkeypatch.setenv(progress.ENV, "0")
    assert resolve(None) is False
    assert resolve(True) is True
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        resolve("yes")


def test_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'jaxmle\[progress\]'"):
        progress_bar(3, "x", enabled=True)
    monkeypatch.setenv(progress.ENV, "1")
    bar = progress_bar(3, "x")  # auto: quiet, no error
    assert not bar.shown
    assert capsys.readouterr().err == ""


def test_bar_text_and_quiet_stand_in(capsys):
    with progress_bar(4, "warmup", enabled=True, unit="program") as bar:
        assert bar.shown
        for name in ("a", "b", "c", "d"):
            bar.set_postfix_str(name)
            bar.update()
        assert bar.n == 4
    last = _last(capsys.readouterr().err)
    assert "warmup" in last and "4/4" in last and "d" in last
    quiet = ProgressBar()
    with quiet:
        quiet.update(3)
        quiet.set_postfix_str("x")
        quiet.set_description("y")
        quiet.set_total(5)
    assert not quiet.shown and quiet.n == 0
    assert capsys.readouterr().err == ""


# ---- where bars appear ----------------------------------------------------------------


def test_streamed_newton_fit(capsys, compile_counter):
    quiet = jm.fit("weibull", WEIBULL_CHUNKS, progress=False)
    assert capsys.readouterr().err == ""
    compile_counter.reset()
    shown = jm.fit("weibull", WEIBULL_CHUNKS, progress=True)
    assert compile_counter.compiles == 0  # the bar compiles nothing
    _same_params(quiet, shown)
    passes = int(shown.n_passes)
    assert passes >= 2
    last = _last(capsys.readouterr().err)
    # Chunks over every pass, the pass and its chunk after the bar.
    assert f"fit weibull: {3 * passes}chunk" in last
    assert f"pass {passes}, chunk 3/3" in last
    jm.fit("weibull", WEIBULL_CHUNKS)  # default: quiet off a terminal
    assert capsys.readouterr().err == ""


def test_streamed_statistics_fit_has_a_total(capsys):
    quiet = jm.fit("gamma", GAMMA, chunk_size=64, progress=False)
    shown = jm.fit("gamma", GAMMA, chunk_size=64, progress=True)
    _same_params(quiet, shown)
    last = _last(capsys.readouterr().err)
    assert "fit gamma: 100%" in last and "5/5" in last and "pass 1, chunk 5/5" in last
    # Chunks from a function: their number is learnt by the pass.
    jm.fit("gamma", lambda: iter(np.array_split(GAMMA, 4)), progress=True)
    last = _last(capsys.readouterr().err)
    assert "4chunk" in last and "chunk 4/?" in last


def test_fit_many_in_several_calls(capsys, compile_counter):
    quiet = jm.fit_many("gamma", GAMMA_MANY, datasets_per_call=4, progress=False)
    assert capsys.readouterr().err == ""
    compile_counter.reset()
    shown = jm.fit_many("gamma", GAMMA_MANY, datasets_per_call=4, progress=True)
    assert compile_counter.compiles == 0
    _same_params(quiet, shown)
    last = _last(capsys.readouterr().err)
    assert "fit_many gamma: 100%" in last and "10/10" in last
    jm.fit_many("gamma", GAMMA_MANY, datasets_per_call=4)
    assert capsys.readouterr().err == ""


def test_bootstrap_and_gof(capsys, compile_counter):
    res = jm.fit("gamma", GAMMA)
    quiet = res.bootstrap(n=12, key=3, replicates_per_call=4, progress=False)
    assert capsys.readouterr().err == ""
    compile_counter.reset()
    shown = res.bootstrap(n=12, key=3, replicates_per_call=4, progress=True)
    assert compile_counter.compiles == 0
    for k in quiet.replicates:
        np.testing.assert_array_equal(quiet.replicates[k], shown.replicates[k])
    last = _last(capsys.readouterr().err)
    assert "nonparametric bootstrap gamma: 100%" in last and "12/12" in last
    g = res.gof(n_boot=8, key=3, replicates_per_call=4, progress=True)
    assert g.n_counted == 8
    last = _last(capsys.readouterr().err)
    assert "gof gamma: 100%" in last and "8/8" in last
    res.bootstrap(n=12, key=3, replicates_per_call=4)
    res.gof(n_boot=8, key=3, replicates_per_call=4)
    assert capsys.readouterr().err == ""


def test_select_over_families(capsys):
    families = ["gamma", "weibull", "poisson"]  # poisson: skipped, not counted
    quiet = jm.select(GAMMA, families, gof=False, progress=False)
    assert capsys.readouterr().err == ""
    shown = jm.select(GAMMA, families, gof=False, progress=True)
    assert shown.names == quiet.names and len(shown.skipped) == 1
    for a, b in zip(quiet, shown, strict=True):
        _same_params(a.fit, b.fit)
    last = _last(capsys.readouterr().err)
    assert "select: 100%" in last and "2/2" in last
    sel = jm.select_many(GAMMA_MANY[:3], ["gamma", "weibull"], gof=False, progress=True)
    assert sel.aic.shape == (3, 2)
    assert "2/2" in _last(capsys.readouterr().err)
    jm.select(GAMMA, families, gof=False)
    assert capsys.readouterr().err == ""
