"""The command line: the README's demo and fitting a file."""

import numpy as np

from jaxmle.cli import main


def test_demo_prints_estimates_and_timings(capsys):
    assert main(["demo", "--n", "20000", "--x64"]) == 0
    out = capsys.readouterr().out
    assert "Normal(loc=3, scale=2)" in out and "Gamma(shape=2.5, rate=1.5)" in out
    assert "compile" in out and "cpu" in out
    # jaxmle's normal estimate equals the closed form printed beside it.
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("loc"))
    ours, closed, scipy_ = (float(v) for v in line.split()[1:4])
    assert ours == closed and abs(scipy_ - closed) < 1e-7


def test_fit_a_file(tmp_path, capsys):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(0).gamma(2.0, 1.0, 500))
    assert main(["fit", "gamma", str(path), "--x64"]) == 0
    assert "shape" in capsys.readouterr().out
    assert main(["fit", "gama", str(path)]) == 2
    assert "Did you mean 'gamma'" in capsys.readouterr().err
