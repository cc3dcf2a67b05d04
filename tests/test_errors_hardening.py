"""Errors name the right place and quote the user's values: rows of the whole
stream, group labels and the user's rows, values the compute dtype cannot
hold, and fixed or init values that put the data outside the support."""

import jax
import numpy as np
import pytest

import jaxmle as jm
from jaxmle.cli import main

RNG = np.random.default_rng(11)
GAMMA = RNG.gamma(2.0, 1.0, 20_000)  # four chunks of 5,000
X8 = np.array([2, 2, 4, 4, 4, 4, 4, 8.0])


@pytest.fixture
def float32_mode():
    """jax_enable_x64 off (the GPU and CLI default) for one test."""
    jax.config.update("jax_enable_x64", False)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", True)


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---- streamed data: the row in the whole data, and the chunk ---------------------


def test_memmap_and_chunked_arrays_name_the_row_of_the_whole_data(tmp_path):
    bad = GAMMA.copy()
    bad[15_000] = np.nan
    path = tmp_path / "x.f64"
    bad.tofile(path)
    mm = np.memmap(path, dtype=np.float64, mode="r")
    for x in (mm, bad):
        msg = _error(jm.fit, "gamma", x, chunk_size=4096)  # row 2712 of the fourth part
        assert "x[15000]=nan" in msg and "x[2712]" not in msg
        assert "chunk" not in msg  # an array has no chunks of the user's
    assert np.isnan(mm[15_000]) and np.isnan(bad[15_000])  # not touched


def test_chunks_name_the_chunk_and_the_row_of_the_stream():
    bad = GAMMA.copy()
    bad[15_000] = -1.0
    chunks = np.split(bad, 4)
    listed = _error(jm.fit, "weibull", chunks)  # Newton: re-read to explain
    assert "x[15000]=-1.0" in listed and "chunk 3 of the stream, from x[15000]" in listed
    bad[15_000], bad[19_999] = 1.0, np.nan  # in the last chunk of a one-shot iterator
    once = _error(jm.fit, "gamma", iter(np.split(bad, 4)))
    assert "x[19999]=nan" in once and "chunk 3 of the stream, from x[15000]" in once
    bad[19_999], bad[7_000] = 1.0, np.inf  # in a middle chunk of a one-shot iterator
    once = _error(jm.fit, "gamma", iter(np.split(bad, 4)))
    assert "x[7000]=inf" in once and "chunk 1 of the stream, from x[5000]" in once


# ---- fit_groups and fit_many: the group label and the user's row -----------------


def test_fit_groups_names_the_group_and_the_row_of_x():
    x = np.arange(1.0, 41.0)
    groups = np.tile(["a", "b", "c", "d"], 10)  # row r is in group "abcd"[r % 4]
    x[33] = np.nan  # group "b", its 9th value
    msg = _error(jm.fit_groups, "gamma", x, groups)
    assert msg.startswith("1 of 4 groups are invalid (groups 'b'); group 'b': ")
    assert "x[33]=nan" in msg and "x[8]" not in msg and "dataset" not in msg
    res = jm.fit_groups("gamma", x, groups, on_invalid="flag")
    assert "x[33]=nan" in res["b"].message and bool(res["a"].converged)
    w = np.ones(40)
    w[18] = -2.0  # group "c"
    msg = _error(jm.fit_groups, "gamma", np.arange(1.0, 41.0), groups, weights=w)
    assert "weights[18]=-2.0" in msg and "group 'c'" in msg
    # Integer labels are named as given; x is not touched.
    x[33] = -5.0
    msg = _error(jm.fit_groups, "gamma", x, np.arange(40) % 4 + 10)
    assert "group 11: " in msg and "x[33]=-5.0" in msg and x[33] == -5.0


def test_fit_many_names_the_dataset_and_its_position():
    xs = [GAMMA[:30], GAMMA[30:50], np.r_[GAMMA[50:60], np.nan]]
    msg = _error(jm.fit_many, "gamma", xs)
    assert "(datasets 2); dataset 2: " in msg and "x[10]=nan" in msg
    ws = [np.ones(30), np.ones(20), np.r_[np.ones(10), -1.0]]
    msg = _error(jm.fit_many, "gamma", [GAMMA[:30], GAMMA[30:50], GAMMA[50:61]], weights=ws)
    assert "weights[2]" in msg and "dataset 2, position 10: -1.0" in msg


# ---- values the compute dtype cannot hold ----------------------------------------


def test_float64_data_that_float32_cannot_hold_are_quoted_as_given(float32_mode):
    x = np.array([1e-50, 1.0, 2.0, 1e39, 3.0, 1e-40])
    before = x.copy()
    msg = _error(jm.fit, "gamma", x)
    assert msg.startswith("x has 3 value(s) that float32 cannot hold: ")
    assert "x[0]=1e-50 underflows to 0" in msg and "x[3]=1e+39 overflows to inf" in msg
    assert "x[5]=1e-40 underflows to 0" in msg  # a float32 subnormal: flushed on the device
    assert "jax.config.update('jax_enable_x64', True)" in msg
    np.testing.assert_array_equal(x, before)
    # Whatever the family: the data are not what the user gave.
    assert "x[1]=1e-45" in _error(jm.fit, "normal", np.array([0.0, 1e-45, 1.0]))
    msg = _error(jm.fit, "normal", np.array([1.0, 2.0, 3.0]), weights=np.array([1.0, 1e39, 1.0]))
    assert "weights[1]=1e+39 overflows to inf" in msg
    # Zeros, infinities and float32 data are what they are: the usual messages.
    assert "x[0]=0.0" in _error(jm.fit, "gamma", np.array([0.0, 1.0, 2.0]))
    assert "x[1]=inf" in _error(jm.fit, "gamma", np.array([1.0, np.inf, 2.0]))


def test_values_float32_cannot_hold_in_streams_and_batches(float32_mode):
    chunks = [np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 1e-50, 2.0])]
    msg = _error(jm.fit, "gamma", chunks)
    assert "x[5]=1e-50 underflows to 0" in msg and "chunk 1 of the stream, from x[3]" in msg
    msg = _error(jm.fit_many, "gamma", chunks)
    assert msg.startswith("dataset 1: ") and "x[2]=1e-50 underflows to 0" in msg
    msg = _error(jm.fit_many, "gamma", np.array([[1.0, 2.0, 3.0], [2.0, 1e39, 1.0]]))
    assert msg.startswith("dataset 1: ") and "x[1]=1e+39 overflows to inf" in msg
    msg = _error(jm.fit_groups, "gamma", np.array([1.0, 2, 3, 1e-50, 4, 5]), [1, 2, 1, 2, 1, 2])
    assert "x[3]=1e-50 underflows to 0" in msg  # the row of x, not of its group


def test_cli_says_which_file_and_how_to_compute_in_float64(tmp_path, capsys, float32_mode):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("1e-50\n1.0\n2.0\n")
    assert main(["fit", str(tiny), "-f", "gamma"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"jaxmle: error: {tiny}: x has 1 value(s) that float32 cannot hold")
    assert "x[0]=1e-50 underflows to 0" in err and "pass --x64" in err
    words = tmp_path / "words.txt"
    words.write_text("1.0\nabc\n")
    assert main(["fit", str(words), "-f", "gamma"]) == 2
    assert f"{words}, line 2, column '1': 'abc' is not a number" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["fit", str(empty), "-f", "gamma"]) == 2
    assert f"{empty} is empty" in capsys.readouterr().err
    wide = tmp_path / "wide.csv"
    wide.write_text("1,2\n3,4\n")
    assert main(["fit", str(wide), "-f", "gamma"]) == 2
    assert "has 2 columns ('1', '2'); choose one with --column" in capsys.readouterr().err
    missing = tmp_path / "missing.txt"
    assert main(["fit", str(missing), "-f", "gamma"]) == 2
    assert f"cannot read {missing}: no such file" in capsys.readouterr().err


# ---- fixed and init values that put the data outside the support -----------------


@pytest.mark.parametrize(
    "fam, fixed, param, shown",
    [
        (jm.Shifted("exponential"), {"loc": 3.0}, "loc", "x[0]=2.0, x[1]=2.0; "),
        (jm.Shifted("gamma"), {"loc": 2.0}, "loc", "x[0]=2.0, x[1]=2.0; "),  # x > loc
        ("uniform", {"low": 2.5}, "low", "x[0]=2.0, x[1]=2.0; "),
        ("uniform", {"high": 7.5}, "high", "x[7]=8.0; "),
        ("pareto", {"scale": 3.0}, "scale", "x[0]=2.0, x[1]=2.0; "),
    ],
)
def test_fixed_values_that_exclude_data_are_refused(fam, fixed, param, shown):
    msg = _error(jm.fit, fam, X8, fixed=fixed)
    value = fixed[param]
    assert msg.startswith(f"fixed {param!r}={value!r} puts ") and shown in msg
    assert "-inf whatever the other parameters" in msg
    extreme = "max(x) = 8.0" if param == "high" else "min(x) = 2.0"
    assert extreme in msg and "let it be estimated" in msg


def test_init_values_outside_the_support_and_what_still_fits():
    msg = _error(jm.fit, "uniform", X8, init={"low": 3.0})
    assert msg.startswith("init 'low'=3.0 puts 2 observation(s)") and "x[0]=2.0" in msg
    assert "leave it out of init" in msg
    msg = _error(jm.fit, jm.Shifted("weibull"), X8, init={"loc": 5.0})
    assert "init 'loc'=5.0" in msg and "x[0]=2.0, x[1]=2.0, x[2]=4.0" in msg
    # On the boundary (a closed end) or beyond the data: a fit, finite.
    res = jm.fit("uniform", X8, init={"low": 2.0})
    assert float(res.params["high"]) == 8.0 and bool(res.converged)
    for scale in (2.0, 1.5):
        res = jm.fit("pareto", X8, fixed={"scale": scale})
        assert bool(res.converged) and np.isfinite(float(res.loglik))
    # Rows of weight 0 are not data: they do not count.
    w = np.r_[0.0, 0.0, np.ones(6)]
    res = jm.fit("pareto", X8, weights=w, fixed={"scale": 4.0})
    ref = jm.fit("pareto", X8[2:], fixed={"scale": 4.0})
    assert float(res.params["alpha"]) == pytest.approx(float(ref.params["alpha"]), rel=1e-9)


def test_fixed_values_outside_the_support_in_batches_and_streams():
    xs = [X8 + 5.0, X8 + 1.0, X8]
    msg = _error(jm.fit_many, jm.Shifted("gamma"), xs, fixed={"loc": 2.5})
    assert msg.startswith("dataset 2: fixed 'loc'=2.5 puts 2 observation(s)")
    assert "x[0]=2.0, x[1]=2.0" in msg
    values = np.r_[X8 + 5.0, X8]
    labels = np.repeat(["north", "south"], 8)
    msg = _error(jm.fit_groups, "uniform", values, labels, fixed={"high": 12.0})
    assert msg.startswith("group 'north': fixed 'high'=12.0 puts 1 observation(s)")
    assert "x[7]=13.0" in msg
    x = GAMMA + 1.0
    x[15_000] = 0.5
    msg = _error(jm.fit, jm.Shifted("gamma"), x, fixed={"loc": 0.75}, chunk_size=4096)
    assert "x[15000]=0.5" in msg and "min(x) = 0.5" in msg


def test_fixed_and_init_are_checked_together():
    with pytest.raises(ValueError, match=r"cov must be \(2, 2\)"):
        jm.fit("multivariate_normal", np.ones((5, 2)), fixed={"mean": [0.0, 0.0]},
               init={"cov": np.eye(3)})  # fmt: skip
