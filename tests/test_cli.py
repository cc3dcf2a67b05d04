"""The command line: the demo, fitting a column of a file (CSV with a header,
TSV, whitespace, .npy, Parquet), JSON out, censored columns, fit-many, select,
and every error path: one line on stderr, exit status 2, no traceback."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import jaxmle as jm
from jaxmle.cli import main
from jaxmle.datafile import open_data, read_columns

GAMMA = np.random.default_rng(0).gamma(2.0, 1.5, 400)


def test_demo_prints_estimates_and_timings(capsys):
    assert main(["demo", "--n", "20000", "--datasets", "12", "--x64"]) == 0
    out = capsys.readouterr().out
    assert "Normal(loc=3, scale=2)" in out and "Weibull(shape=1.5, scale=2)" in out
    assert "12 of 12 converged" in out
    # fit_many's shape estimates equal scipy's MLE of each dataset.
    gap = next(ln for ln in out.splitlines() if "largest difference" in ln)
    assert float(gap.rsplit(" ", 1)[1]) < 1e-4
    assert "compile" in out and "cpu" in out
    # jaxmle's normal estimate equals the closed form printed beside it.
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("loc"))
    ours, closed, scipy_ = (float(v) for v in line.split()[1:4])
    assert ours == closed and abs(scipy_ - closed) < 1e-7


def write_csv(path, header, columns, delimiter=","):
    with open(path, "w") as f:
        if header:
            f.write(delimiter.join(header) + "\n")
        for row in zip(*columns, strict=True):
            f.write(delimiter.join(str(v) for v in row) + "\n")
    return str(path)


def run_json(capsys, argv):
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else None, captured.err


def test_fit_a_csv_column_with_a_header_gives_the_mle_as_json(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["id", "duration"], [range(400), GAMMA.tolist()])
    code, doc, err = run_json(capsys, ["fit", path, "-f", "gamma", "-c", "duration", "--x64"])
    assert code == 0, err
    res = jm.fit("gamma", GAMMA)
    a, _, scale = stats.gamma.fit(GAMMA, floc=0)
    assert doc["params"]["shape"] == pytest.approx(a, rel=1e-5)
    assert doc["params"]["rate"] == pytest.approx(1 / scale, rel=1e-5)
    assert doc["loglik"] == pytest.approx(float(res.loglik), rel=1e-12)
    assert doc["stderr"]["shape"] == pytest.approx(float(res.stderr["shape"]), rel=1e-9)
    lo, hi = res.conf_int()["shape"]
    assert doc["conf_int"]["intervals"]["shape"] == pytest.approx([float(lo), float(hi)])
    assert doc["aic"] == pytest.approx(float(res.aic)) and doc["bic"] == pytest.approx(
        float(res.bic)
    )
    assert doc["n"] == 400 and doc["converged"] is True and doc["input"]["rows"] == 400
    assert doc["versions"]["x64"] == "true" and doc["versions"]["numpy"] == np.__version__
    assert set(doc["timings"]) >= {"read_s", "fit_s"}
    # The table on a terminal (or a pipe): the same estimate, read back from the text.
    assert main(["fit", path, "--family", "gamma", "--column", "duration", "--x64"]) == 0
    out = capsys.readouterr().out
    shape_line = next(ln for ln in out.splitlines() if ln.startswith("shape"))
    assert float(shape_line.split()[1]) == pytest.approx(a, rel=1e-5)
    assert "400 rows" in out


def test_output_file_is_written_atomically_and_replaces_an_old_one(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["x"], [GAMMA.tolist()])
    out = tmp_path / "fit.json"
    out.write_text("old")
    assert main(["fit", path, "-f", "gamma", "--x64", "-o", str(out)]) == 0
    assert "shape" in capsys.readouterr().out  # the table still goes to stdout
    doc = json.loads(out.read_text())
    assert doc["family"] == "gamma" and doc["params"]["shape"] > 1.5
    assert sorted(os.listdir(tmp_path)) == ["d.csv", "fit.json"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # a new file's mode, not mkstemp's 0600
    # A failure (an unknown family) leaves the old output untouched.
    assert main(["fit", path, "-f", "gama", "-o", str(out)]) == 2
    assert json.loads(out.read_text()) == doc


@pytest.mark.parametrize("layout", ["tsv", "whitespace", "semicolon", "npy", "parquet"])
def test_every_file_format_gives_the_same_fit(tmp_path, capsys, layout):
    x = GAMMA[:200]
    other = np.arange(200.0)
    if layout == "tsv":
        path = write_csv(tmp_path / "d.tsv", ["n", "x"], [other, x.tolist()], "\t")
    elif layout == "whitespace":  # no header: columns are numbered from 1
        path = write_csv(tmp_path / "d.txt", None, [other, x.tolist()], "  ")
    elif layout == "semicolon":
        path = write_csv(tmp_path / "d.csv", ['"n"', '"x"'], [other, x.tolist()], ";")
    elif layout == "npy":
        path = str(tmp_path / "d.npy")
        np.save(path, np.stack([other, x], 1))
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        path = str(tmp_path / "d.parquet")
        pq.write_table(pa.table({"n": other, "x": x}), path)
    column = "2" if layout in ("whitespace", "npy") else "x"
    code, doc, err = run_json(capsys, ["fit", path, "-f", "gamma", "-c", column, "--x64"])
    assert code == 0, err
    assert doc["loglik"] == pytest.approx(float(jm.fit("gamma", x).loglik), rel=1e-12)


def test_missing_cells_are_reported_by_line_or_dropped(tmp_path, capsys):
    lines = ["x,w", "1.5,1", ",2", "2.5,1", "NA,1", "3.0,2"]
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(path), "-f", "gamma", "-c", "x"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"jaxmle: error: {path}: column 'x' has 2 missing cell(s) (lines 3, 5); "
        "pass --drop-missing to leave those rows out\n"
    )
    args = ["fit", str(path), "-f", "gamma", "-c", "x", "--weights", "w", "--drop-missing", "--x64"]
    code, doc, err = run_json(capsys, args)
    assert code == 0, err
    assert doc["input"]["dropped_missing"] == 2 and doc["n"] == 4.0  # weights 1 + 1 + 2
    ref = jm.fit("gamma", np.array([1.5, 2.5, 3.0]), weights=np.array([1.0, 1.0, 2.0]))
    assert doc["loglik"] == pytest.approx(float(ref.loglik), rel=1e-12)


def test_censored_columns_and_event_indicators(tmp_path, capsys):
    rng = np.random.default_rng(4)
    t = rng.weibull(1.5, 300) * 2.0
    c = rng.uniform(0.5, 4.0, 300)
    time_, event = np.minimum(t, c), (t <= c).astype(int)
    path = write_csv(tmp_path / "s.csv", ["time", "event"], [time_.tolist(), event.tolist()])
    args = ["fit", path, "-f", "weibull", "-c", "time", "--observed", "event", "--x64"]
    code, doc, err = run_json(capsys, args)
    assert code == 0, err
    ref = jm.fit("weibull", jm.Censored.from_events(time_, event))
    assert doc["params"]["shape"] == pytest.approx(float(ref.params["shape"]), rel=1e-9)
    # The same data as left/right bounds: an empty right bound is right-censored.
    right = [repr(float(v)) if e else "" for v, e in zip(time_, event, strict=True)]
    path2 = write_csv(tmp_path / "lr.csv", ["lo", "hi"], [time_.tolist(), right])
    args = ["fit", path2, "-f", "weibull", "--censor-left", "lo", "--censor-right", "hi", "--x64"]
    code, doc2, err = run_json(capsys, args)
    assert code == 0, err
    assert doc2["loglik"] == pytest.approx(doc["loglik"], rel=1e-12)


def test_fixed_parameters_and_profile_intervals(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["x"], [GAMMA.tolist()])
    args = ["fit", path, "-f", "weibull", "--fixed", "shape=2", "--ci", "profile", "--x64"]
    code, doc, err = run_json(capsys, args)
    assert code == 0, err
    ref = jm.fit("weibull", GAMMA, fixed={"shape": 2.0})
    assert doc["params"]["shape"] == 2.0 and doc["fixed"] == ["shape"]
    assert doc["params"]["scale"] == pytest.approx(float(ref.params["scale"]), rel=1e-9)
    lo, hi = ref.conf_int(method="profile")["scale"]
    assert doc["conf_int"]["method"] == "profile"
    assert doc["conf_int"]["intervals"]["scale"] == pytest.approx([float(lo), float(hi)], rel=1e-6)


def test_fit_many_fits_each_group(tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = rng.lognormal(0.0, 1.0, 300)
    g = np.array(["north", "south", "east"])[rng.integers(0, 3, 300)]
    path = write_csv(tmp_path / "g.csv", ["x", "site"], [x.tolist(), g.tolist()])
    args = ["fit-many", path, "-f", "lognormal", "-c", "x", "-g", "site", "--x64"]
    code, doc, err = run_json(capsys, args)
    assert code == 0, err
    rows = {r["group"]: r for r in doc["groups"]}
    assert sorted(rows) == ["east", "north", "south"]
    for label, r in rows.items():
        xs = np.log(x[g == label])
        assert r["loc"] == pytest.approx(xs.mean(), rel=1e-10)
        assert r["scale"] == pytest.approx(xs.std(), rel=1e-10)
        assert r["n"] == (g == label).sum() and r["converged"] is True
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 groups of site (3 converged" in out and "north" in out


def test_select_ranks_the_candidates(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["x"], [GAMMA.tolist()])
    args = ["select", path, "--families", "gamma", "lognormal", "exponential", "--x64"]
    code, doc, err = run_json(capsys, args)
    assert code == 0, err
    sel = jm.select(GAMMA, ["gamma", "lognormal", "exponential"])
    assert [c["family"] for c in doc["candidates"]] == [c.name for c in sel.candidates]
    assert doc["best"] == sel.candidates[0].name
    assert doc["candidates"][0]["aic"] == pytest.approx(sel.candidates[0].aic, rel=1e-12)
    assert doc["candidates"][0]["ks"] == pytest.approx(sel.candidates[0].ks, rel=1e-9)


def test_families_prints_the_parametrization_table(capsys):
    assert main(["families"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("gamma "))
    assert "shape, rate" in line and "gamma(a=shape, scale=1/rate)" in line
    assert main(["families", "--names"]) == 0
    assert capsys.readouterr().out.split() == jm.family_names()


def test_python_dash_m_runs_the_same_command_line():
    out = subprocess.run(
        [sys.executable, "-m", "jaxmle", "fit", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "--family" in out.stdout and "examples:" in out.stdout


# ---- the error paths, one by one: message and exit status ---------------------------


def error_of(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing file", "cannot read {dir}/nope.csv: no such file"),
        ("directory", "cannot read {dir}: it is a directory, not a data file"),
        ("empty file", "{dir}/empty.csv is empty"),
        ("header only", "{dir}/header.csv has a header (x, y) but no data rows"),
        ("non-numeric cell", "{dir}/words.csv, line 3, column 'x': 'abc' is not a number"),
        ("missing column", "{dir}/good.csv has no column 'z'; its columns are 'x', 'y'"),
        ("unknown family", "unknown family 'gama'"),
        ("output is the input", "--output {dir}/good.csv is the input file: choose another name"),
        ("plot is the input", "--plot {dir}/good.csv is the input file: choose another name"),
        ("ragged row", "{dir}/ragged.csv, line 3: 1 cell(s) where the header has 2"),
        ("several columns", "{dir}/good.csv has 2 columns ('x', 'y'); choose one with --column"),
        ("bad fixed", "--fixed 'shape': write NAME=VALUE, for example --fixed shape=2"),
        ("infinite value", "{dir}/inf.csv, line 3, column 'x': inf is not a finite number"),
        ("outside the support", "x has 1 value(s) outside the support"),
        ("bad npy", "cannot read {dir}/bad.npy as a .npy array"),
        ("no such folder", "--output {dir}/no/fit.json: the folder {dir}/no does not exist"),
    ],
)
def test_each_error_is_one_line_with_exit_status_2(tmp_path, capsys, case, expected):
    d = str(tmp_path)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("x,y\n")
    (tmp_path / "words.csv").write_text("x,y\n1.0,2\nabc,3\n")
    (tmp_path / "good.csv").write_text("x,y\n1.0,2\n2.0,3\n")
    (tmp_path / "ragged.csv").write_text("x,y\n1.0,2\n2.0\n")
    (tmp_path / "inf.csv").write_text("x\n1.0\ninf\n")
    (tmp_path / "neg.csv").write_text("x\n1.0\n-2.0\n")
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    good = f"{d}/good.csv"
    argv = {
        "missing file": ["fit", f"{d}/nope.csv", "-f", "gamma"],
        "directory": ["fit", d, "-f", "gamma"],
        "empty file": ["fit", f"{d}/empty.csv", "-f", "gamma"],
        "header only": ["fit", f"{d}/header.csv", "-f", "gamma", "-c", "x"],
        "non-numeric cell": ["fit", f"{d}/words.csv", "-f", "gamma", "-c", "x"],
        "missing column": ["fit", good, "-f", "gamma", "-c", "z"],
        "unknown family": ["fit", good, "-f", "gama", "-c", "x"],
        "output is the input": ["fit", good, "-f", "gamma", "-c", "x", "-o", good],
        "plot is the input": ["fit", good, "-f", "gamma", "-c", "x", "--plot", good],
        "ragged row": ["fit", f"{d}/ragged.csv", "-f", "gamma", "-c", "x"],
        "several columns": ["fit", good, "-f", "gamma"],
        "bad fixed": ["fit", good, "-f", "gamma", "-c", "x", "--fixed", "shape"],
        "infinite value": ["fit", f"{d}/inf.csv", "-f", "gamma"],
        "outside the support": ["fit", f"{d}/neg.csv", "-f", "gamma"],
        "bad npy": ["fit", f"{d}/bad.npy", "-f", "gamma"],
        "no such folder": ["fit", good, "-f", "gamma", "-c", "x", "-o", f"{d}/no/fit.json"],
    }[case]
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    code, err = error_of(capsys, argv)
    assert code == 2, err
    assert err.startswith("jaxmle: error: ") and err.count("\n") == 1, err
    assert expected.format(dir=d) in err, err
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["fit", "x.csv"], "the following arguments are required: -f/--family"),
        (["fit", "x.csv", "-f", "gamma", "--level", "2"], "argument --level: 2 is not in (0, 1)"),
        (["fit", "x.csv", "-f", "gamma", "--bogus"], "unrecognized arguments: --bogus"),
        (["fitt", "x.csv"], "invalid choice: 'fitt'"),
    ],
)
def test_bad_options_are_one_line_with_exit_status_2(capsys, argv, expected):
    code, err = error_of(capsys, argv)
    assert code == 2 and err.startswith("jaxmle: error: ") and err.count("\n") == 1, err
    assert expected in err and "--help" in err


def test_a_fit_that_did_not_converge_exits_1_with_its_reason(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["x"], [GAMMA.tolist()])
    code = main(["fit", path, "-f", "weibull", "--x64", "--json", "--max-iter", "1"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert code == 1 and doc["converged"] is False and doc["status"] != 0
    assert captured.err.startswith("jaxmle: the fit did not converge: ") and doc["message"]
    assert doc["conf_int"]["intervals"] == {}  # no intervals from a point that is no MLE


def test_warmup_compiles_the_buckets_ahead(capsys, compile_counter):
    argv = ["warmup", "--families", "lognormal", "beta", "--lengths", "300", "5000"]
    assert main([*argv, "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "lognormal" in out and "float64  buckets 4,096, 8,192" in out and "cache:" in out
    compile_counter.reset()
    rng = np.random.default_rng(1)
    for n in (700, 1000, 4097, 8000):  # in the warmed buckets: nothing left to compile
        assert bool(jm.fit("lognormal", rng.lognormal(0.0, 1.0, n)).converged)
        assert bool(jm.fit("beta", rng.beta(2.0, 3.0, n)).converged)
    assert compile_counter.compiles == 0, compile_counter.names


# ---- the reader on its own ------------------------------------------------------------


def test_chunked_reading_and_spilling_give_the_same_numbers(tmp_path):
    x = np.random.default_rng(5).normal(size=5000)
    path = write_csv(tmp_path / "d.csv", ["a", "x"], [np.arange(5000), x.tolist()])
    data = open_data(path)
    (whole,), _ = read_columns(data, ["x"])
    (chunked,), _ = read_columns(data, ["x"], text_block_bytes=4096)
    (spilled,), _ = read_columns(data, ["x"], text_block_bytes=4096, in_memory_bytes=8 * 1000)
    assert isinstance(spilled.values, np.memmap) and not isinstance(whole.values, np.memmap)
    np.testing.assert_array_equal(whole.values, x)
    np.testing.assert_array_equal(chunked.values, x)
    np.testing.assert_array_equal(spilled.values, x)
    # A spilled column streams through the fit to the in-memory fit's estimate.
    res_mem = jm.fit("normal", whole.values)
    res_map = jm.fit("normal", spilled.values, chunk_size=1024)
    assert float(res_map.params["scale"]) == pytest.approx(float(res_mem.params["scale"]), 1e-12)
    # A bad cell deep in a later chunk is found by its line number.
    lines = open(path).read().splitlines()
    lines[4001] = "7,oops"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 4002, column 'x': 'oops' is not a number"):
        read_columns(open_data(str(bad)), ["x"], text_block_bytes=4096)


def test_the_reader_never_modifies_the_input(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("x\n1.5\n2.5\n3.5\n")
    before = path.read_bytes()
    assert main(["fit", str(path), "-f", "gamma", "--x64", "-o", str(tmp_path / "f.json")]) == 0
    capsys.readouterr()
    assert path.read_bytes() == before


def test_the_readme_three_commands_fit_a_csv_column_to_json_and_a_figure(tmp_path, capsys):
    """The README's shell block: its `jaxmle fit` line, run as written (from a
    copy of the repository's example file), writes the JSON and the figure."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    block = next(
        b for b in re.findall(r"```bash\n(.*?)```", (root / "README.md").read_text(), re.S)
        if "jaxmle fit examples/" in b
    )  # fmt: skip
    lines = block.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("python3 -m venv .venv")
    argv = shlex.split(lines[1])
    assert argv[0] == ".venv/bin/jaxmle"
    (tmp_path / "examples").mkdir()
    shutil.copy(root / "examples" / "repair_times.csv", tmp_path / "examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(argv[1:]) == 0
        capsys.readouterr()
        doc = json.loads((tmp_path / "fit.json").read_text())
        png = (tmp_path / "fit.png").read_bytes()
    finally:
        os.chdir(cwd)
    hours = np.loadtxt(root / "examples" / "repair_times.csv", delimiter=",", skiprows=1,
                       usecols=2)  # fmt: skip
    a, _, scale = stats.gamma.fit(hours, floc=0)
    assert doc["params"]["shape"] == pytest.approx(a, rel=1e-4)  # float32 by default
    assert doc["params"]["rate"] == pytest.approx(1 / scale, rel=1e-4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


@pytest.mark.parametrize(
    "content, numbers, bad_line",
    [
        (b"x\r1.5\r2.5\r\rabc\r", None, 5),  # old Mac line ends: lines still counted
        (b"x\r\n1.5\r\n2.5\r\n", [1.5, 2.5], None),  # Windows
        (b"\xef\xbb\xbf1.5\n2.5\n", [1.5, 2.5], None),  # a byte-order mark, no header
        (b'"id","x"\n"a","1.5"\n"b","2.5"\n', [1.5, 2.5], None),  # quoted cells
        (b"# units: hours\nx\n\n1.5\n# a note\n2.5\n", [1.5, 2.5], None),  # comments
        (b"x\n1.5\n2.5\n" * 1 + b"2.5\n" * 3000 + b"oops\n", None, 3004),  # a later block
    ],
)
def test_line_ends_marks_quotes_and_comments(tmp_path, content, numbers, bad_line):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    data = open_data(str(path))
    name = data.columns[-1]
    if bad_line is None:
        (col,), _ = read_columns(data, [name], text_block_bytes=1024)
        np.testing.assert_array_equal(col.values, numbers)
    else:
        with pytest.raises(ValueError, match=rf"line {bad_line}, column 'x': '\w+' is not"):
            read_columns(data, [name], text_block_bytes=1024)
