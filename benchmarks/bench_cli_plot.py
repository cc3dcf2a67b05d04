"""Where users meet jaxmle on long data: reading a column of a CSV file, and
drawing a fit's diagnostic panel, as the sample grows.

For each N (default 10^5, 10^6, 10^7 and, for the plot, 10^8):

* **read**: ``jaxmle.datafile`` reading the ``x`` column of a two-column CSV file
  with a header (chunks of 2^18 lines, every cell checked) beside
  ``numpy.loadtxt`` (the same column, no checks) and, where installed,
  ``pandas.read_csv`` (C parser): seconds per million rows;
* **plot**: ``res.plot()`` of a gamma fit on N values in memory (the 2x2 panel:
  histogram of all the data, ECDF/Q-Q/P-P at most 2,000 order statistics from
  a sort up to 2^20 values and a one-pass summary beyond), and saving it as a
  110-dpi PNG, timed apart (the save does not depend on N). Best of
  ``--repeat`` runs after a first (warm) one.

The fits themselves are not timed here (bench_scale.py does that). Results go
to ``benchmarks/results/<date>-<machine>/bench_cli_plot.md``.

    python benchmarks/bench_cli_plot.py [--read 1e5 1e6 1e7] [--plot 1e6 1e7 1e8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _common import best, machine, results_dir

import jaxmle as jm
from jaxmle.datafile import open_data, read_columns


def bench_read(n: int, repeat: int) -> list[str]:
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 1.5, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        np.savetxt(path, np.column_stack([np.arange(n), x]), delimiter=",", header="id,x",
                   comments="", fmt=["%d", "%.10g"])  # fmt: skip
        size = os.path.getsize(path) / 2**20
        ours, cols = best(lambda: read_columns(open_data(path), ["x"])[0][0].values, repeat)
        assert np.allclose(cols, x, rtol=1e-9)
        numpy_s, ref = best(lambda: np.loadtxt(path, delimiter=",", skiprows=1, usecols=1), repeat)
        assert np.array_equal(ref, cols)
        try:
            import pandas as pd

            pandas_s, _ = best(lambda: pd.read_csv(path, usecols=["x"])["x"].to_numpy(), repeat)
            pandas_text = f"{pandas_s / n * 1e6:.2f}"
        except ModuleNotFoundError:
            pandas_text = "n/a"
    per = 1e6 / n
    row = f"| {n:.0e} | {size:.0f} MiB | {ours * per:.2f} | {numpy_s * per:.2f} | {pandas_text} |"
    return [row]


def bench_plot(n: int, repeat: int) -> list[str]:
    x = np.random.default_rng(1).gamma(2.0, 1.5, n)
    res = jm.fit("gamma", x)
    plt.close(res.plot(data=x))  # warm: the fitted model's programs, matplotlib's fonts
    draw_s, fig = best(lambda: res.plot(data=x), repeat)  # data=: a 1e8 fit is streamed
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        fig.savefig(os.path.join(tmp, "panel.png"), dpi=110)
        save_s = time.perf_counter() - t0
    plt.close("all")
    return [f"| {n:.0e} | {draw_s:.3f} | {save_s:.3f} | {draw_s + save_s:.3f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--read", type=float, nargs="*", default=[1e5, 1e6, 1e7])
    parser.add_argument("--plot", type=float, nargs="*", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args()
    lines = [f"# bench_cli_plot\n\n{machine()}\n", "## Reading a CSV column (s per 10^6 rows)\n"]
    lines += ["| rows | file | jaxmle.datafile | numpy.loadtxt | pandas.read_csv |",
              "|---|---|---|---|---|"]  # fmt: skip
    for n in args.read:
        lines += bench_read(int(n), args.repeat)
        print(lines[-1], flush=True)
    lines += ["\n## res.plot() of a gamma fit (s)\n", "| N | draw | save PNG | total |",
              "|---|---|---|---|"]  # fmt: skip
    for n in args.plot:
        lines += bench_plot(int(n), args.repeat)
        print(lines[-1], flush=True)
    out = results_dir(args.out) / "bench_cli_plot.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
