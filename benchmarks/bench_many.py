"""jaxmle.fit_many on B datasets of N samples against Python loops.

For each family (gamma and weibull with floc=0, normal) and each B x N grid
(1,000 x 1,000; 10,000 x 1,000; 100,000 x 100 by default), measures in one
run, float64:

1. ``jm.fit_many(fam, X)`` on a JAX array ``(B, N)``: the best of ``--repeat``
   calls after a first, compiling one; compile = first call minus best call;
2. a Python loop of ``scipy.stats`` fits (``gamma.fit(x, floc=0)``,
   ``weibull_min.fit(x, floc=0)``, ``norm.fit(x)``) over the datasets;
3. a Python loop of ``jm.fit`` over the datasets (compiled once, then timed);
4. accuracy: the largest relative difference between ``fit_many``'s and the
   single ``jm.fit``'s estimates, and the mean log-likelihood of ``fit_many``'s
   estimates minus scipy's (both evaluated by scipy; positive: jaxmle higher).

The loops are timed on the first datasets only, until ``--loop-seconds`` have
passed (at least 20 datasets), and extrapolated to B: the table says how many
were timed. Writes ``bench_many.json`` (machine, versions, command, rows) and
``.md`` (table and PASS/FAIL against the targets) into
``benchmarks/results/<date>-<machine>/`` (``--out`` names another folder,
``--out-prefix`` the files' path without suffix).

Run: ``python benchmarks/bench_many.py`` or, quickly,
``python benchmarks/bench_many.py --grids 1000x1000 --families gamma``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import best as _best, machine as _machine, results_dir as _results_dir

FAMILIES = ("gamma", "weibull", "normal")
DEFAULT_GRIDS = ("1000x1000", "10000x1000", "100000x100")


def _draw(name: str, rng: np.random.Generator, b: int, n: int) -> np.ndarray:
    if name == "gamma":
        shape = rng.uniform(0.5, 5.0, (b, 1))
        return rng.gamma(shape, 1.0, (b, n)) * rng.uniform(0.5, 2.0, (b, 1))
    if name == "weibull":
        shape = rng.uniform(0.7, 3.0, (b, 1))
        return rng.weibull(shape, (b, n)) * rng.uniform(0.5, 2.0, (b, 1))
    return rng.normal(rng.normal(size=(b, 1)), rng.uniform(0.5, 2.0, (b, 1)), (b, n))


def _scipy_fit(name: str, x: np.ndarray):
    from scipy import stats

    if name == "gamma":
        a, _, scale = stats.gamma.fit(x, floc=0)
        return stats.gamma(a, scale=scale)
    if name == "weibull":
        c, _, scale = stats.weibull_min.fit(x, floc=0)
        return stats.weibull_min(c, scale=scale)
    loc, scale = stats.norm.fit(x)
    return stats.norm(loc, scale)


def _timed_loop(fn, b: int, seconds: float, min_count: int = 20):
    """Run ``fn(i)`` for i = 0, 1, ... until ``seconds`` pass (at least
    ``min_count`` calls, at most ``b``); return (seconds per call, count, outputs)."""
    outs = []
    t0 = time.perf_counter()
    for i in range(b):
        outs.append(fn(i))
        if i + 1 >= min_count and time.perf_counter() - t0 > seconds:
            break
    return (time.perf_counter() - t0) / len(outs), len(outs), outs


def run_case(name: str, b: int, n: int, args) -> dict:
    import jax
    import jax.numpy as jnp

    import jaxmle as jm

    rng = np.random.default_rng(args.seed)
    x_np = _draw(name, rng, b, n)
    X = jax.block_until_ready(jnp.asarray(x_np))

    def many():
        res = jm.fit_many(name, X)
        jax.block_until_ready(res.params)
        return res

    t0 = time.perf_counter()
    many()
    first = time.perf_counter() - t0
    fit_s, res = _best(many, args.repeat)
    row = {
        "family": name,
        "B": b,
        "N": n,
        "fit_many_s": fit_s,
        "compile_s": max(first - fit_s, 0.0),
        "converged": int(np.sum(np.asarray(res.converged))),
        "max_iter_used": int(np.max(np.asarray(res.n_iter))),
    }

    sp_per, sp_count, sp_fits = _timed_loop(
        lambda i: _scipy_fit(name, x_np[i]), b, args.loop_seconds
    )
    row.update(scipy_loop_s=sp_per * b, scipy_timed=sp_count)

    rows_j = [jnp.asarray(x_np[i]) for i in range(min(b, 2000))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jm.fit(name, rows_j[0])  # compile once

        def one(i):
            r = jm.fit(name, rows_j[i] if i < len(rows_j) else jnp.asarray(x_np[i]))
            jax.block_until_ready(r.params)
            return r

        jm_per, jm_count, jm_fits = _timed_loop(one, b, args.loop_seconds)
    row.update(jm_loop_s=jm_per * b, jm_timed=jm_count)

    rel = 0.0
    for i, single in enumerate(jm_fits):
        for k in single.params:
            a, e = float(res.params[k][i]), float(single.params[k])
            rel = max(rel, abs(a - e) / max(abs(e), 1e-300))
    row["max_rel_diff_vs_fit"] = rel
    params = {k: np.asarray(v) for k, v in res.params.items()}
    dll = []
    for i, sp in enumerate(sp_fits):
        mine = res.family.scipy({k: params[k][i] for k in params})
        dll.append(float(np.sum(mine.logpdf(x_np[i])) - np.sum(sp.logpdf(x_np[i]))))
    row["mean_dloglik_vs_scipy"] = float(np.mean(dll))
    row["min_dloglik_vs_scipy"] = float(np.min(dll))
    row["speedup_vs_scipy"] = row["scipy_loop_s"] / fit_s
    row["speedup_vs_jm_loop"] = row["jm_loop_s"] / fit_s
    return row


def _targets(rows):
    def find(fam, b, n):
        return next((r for r in rows if (r["family"], r["B"], r["N"]) == (fam, b, n)), None)

    out = []
    w = find("weibull", 1000, 1000)
    if w:
        speed, rel = w["speedup_vs_scipy"], w["max_rel_diff_vs_fit"]
        out.append(("weibull 1000x1000: >= 50x the scipy loop", speed >= 50, f"{speed:.0f}x"))
        label = "weibull 1000x1000: estimates equal single jm.fit to 1e-8"
        out.append((label, rel <= 1e-8, f"{rel:.1e}"))
    g = find("gamma", 1000, 1000)
    if g:
        speed = g["speedup_vs_scipy"]
        out.append(("gamma 1000x1000: >= 5x the scipy loop", speed >= 5, f"{speed:.1f}x"))
    big = find("weibull", 100000, 100)
    if big:
        done = f"{big['converged']:,} of 100,000 converged in {big['fit_many_s']:.2f} s"
        out.append(("weibull 100000x100 completes", big["converged"] > 0, done))
    return out


def write(rows, args, machine: str, prefix: Path) -> None:
    import jax

    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    command = "python benchmarks/bench_many.py " + shlex.join(sys.argv[1:])
    payload = {
        "machine": machine,
        "jax": jax.__version__,
        "command": command.strip(),
        "date": stamp,
        "rows": rows,
    }
    prefix.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    lines = [
        "# bench_many: jaxmle.fit_many against Python loops",
        "",
        f"Machine: {machine}",
        "",
        f"Command: `{command.strip()}` ({stamp}; float64; fit_many from a JAX array, best of "
        f"{args.repeat}, compile apart; loops timed on the first datasets for about "
        f"{args.loop_seconds:g} s and extrapolated to B: 'timed' says how many)",
        "",
        "| family | B x N | fit_many s | compile s | converged | scipy loop s (timed) "
        "| jm.fit loop s (timed) | vs scipy | vs jm.fit loop | max rel diff vs jm.fit "
        "| mean / min loglik - scipy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['B']:,} x {r['N']:,} | {r['fit_many_s']:.3f} "
            f"| {r['compile_s']:.2f} | {r['converged']:,} "
            f"| {r['scipy_loop_s']:.2f} ({r['scipy_timed']:,}) "
            f"| {r['jm_loop_s']:.2f} ({r['jm_timed']:,}) | {r['speedup_vs_scipy']:.1f}x "
            f"| {r['speedup_vs_jm_loop']:.0f}x | {r['max_rel_diff_vs_fit']:.1e} "
            f"| {r['mean_dloglik_vs_scipy']:+.1e} / {r['min_dloglik_vs_scipy']:+.1e} |"
        )
    lines += ["", "## Targets (set for a 2-core CPU, float64)", ""]
    lines += [
        f"- {'PASS' if ok else 'FAIL'}: {label} ({value})" for label, ok, value in _targets(rows)
    ]
    prefix.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("wrote", prefix.with_suffix(".json"), "and", prefix.with_suffix(".md"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument(
        "--grids", nargs="+", default=list(DEFAULT_GRIDS), help="BxN, e.g. 1000x1000"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="results folder (default benchmarks/results/<date>-<machine>/)"
    )
    parser.add_argument("--out-prefix", default=None, help="path of the files without suffix")
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    machine = _machine()
    print(machine)
    rows = []
    for grid in args.grids:
        b, n = (int(float(v)) for v in grid.lower().split("x"))
        for name in args.families:
            row = run_case(name, b, n, args)
            rows.append(row)
            print(
                f"{name:8s} {b:>7,} x {n:<6,} fit_many {row['fit_many_s']:8.3f} s "
                f"(compile {row['compile_s']:.2f} s)  scipy loop {row['scipy_loop_s']:9.2f} s "
                f"[{row['scipy_timed']}]  jm.fit loop {row['jm_loop_s']:8.2f} s  "
                f"x{row['speedup_vs_scipy']:.1f} vs scipy  rel {row['max_rel_diff_vs_fit']:.1e}  "
                f"dll {row['mean_dloglik_vs_scipy']:+.1e}",
                flush=True,
            )
    if args.out_prefix:
        prefix = Path(args.out_prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
    else:
        prefix = _results_dir(args.out) / "bench_many"
    write(rows, args, machine, prefix)


if __name__ == "__main__":
    main()
