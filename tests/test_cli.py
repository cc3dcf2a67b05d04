"""The command line: the README's demo and fitting a file."""

import numpy as np

from jaxmle.cli import main


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


def test_fit_a_file(tmp_path, capsys):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(0).gamma(2.0, 1.0, 500))
    assert main(["fit", "gamma", str(path), "--x64"]) == 0
    assert "shape" in capsys.readouterr().out
    assert main(["fit", "gama", str(path)]) == 2
    assert "Did you mean 'gamma'" in capsys.readouterr().err


def test_warmup_compiles_the_buckets_ahead(capsys, compile_counter):
    argv = ["warmup", "--families", "lognormal", "beta", "--lengths", "300", "5000"]
    assert main([*argv, "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "lognormal" in out and "float64  buckets 4,096, 8,192" in out and "cache:" in out
    compile_counter.reset()
    rng = np.random.default_rng(1)
    import jaxmle as jm

    for n in (700, 1000, 4097, 8000):  # in the warmed buckets: nothing left to compile
        assert bool(jm.fit("lognormal", rng.lognormal(0.0, 1.0, n)).converged)
        assert bool(jm.fit("beta", rng.beta(2.0, 3.0, n)).converged)
    assert compile_counter.compiles == 0, compile_counter.names
