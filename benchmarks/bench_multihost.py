"""Fits over several processes: the same total rows held by 1, 2 and 4 local
processes of one ``jax.distributed`` run (``jm.multihost.launch``), float64.

For each process count P and family (gamma: sufficient statistics; Weibull
and Student t: Newton), every process builds the global array of its rows
(``jm.multihost.global_rows``) and fits it:

* **first fit**: the first ``jm.fit`` of the process, compilation included;
* **warm fit**: best of ``--repeat`` further fits (the same program);
* **streamed**: a warm ``jm.fit(fam, jm.multihost.local_rows(rows))`` of the
  Weibull, each process streaming its own rows in chunks of 2^16;
* **gap to 1 process**: the largest relative difference of the estimates from
  the 1-process run (every process's; they are identical).

The bytes exchanged per pass are read from the compiled program (XLA's
optimized HLO of process 0, dumped): every ``all-reduce`` inside the Newton
loop runs once per pass, the ones outside once per fit. On one machine the
processes share its cores (2 here), so more processes cannot be faster:
the figures show what the exchange costs, not the speed-up of real hosts,
which each bring their own cores and memory bandwidth.

Results go to ``benchmarks/results/<date>-<machine>/bench_multihost.md``.

    python benchmarks/bench_multihost.py [--rows 2000000] [--processes 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FAMILIES = ("gamma", "weibull", "student_t")
_SIZES = {"f64": 8, "f32": 4, "s64": 8, "s32": 4, "u64": 8, "u32": 4, "pred": 1, "f16": 2}


def _sample(rows: int) -> np.ndarray:
    return 2.0 * np.random.default_rng(7).weibull(1.5, rows)


def worker(out: str, rows: int, repeat: int) -> None:
    """One process of a run: time its fits, write ``<out>/<process>.json``."""
    dump = os.path.join(out, "hlo")
    if os.environ.get("JAX_PROCESS_ID") == "0":  # process 0's compiled programs, as text
        flags = f"--xla_dump_to={dump} --xla_dump_hlo_as_text"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    import jax

    jax.config.update("jax_enable_x64", True)
    import jaxmle as jm

    jm.multihost.initialize(timeout=300)
    start, stop = jm.multihost.row_range(rows)
    local = _sample(rows)[start:stop]
    t0 = time.perf_counter()
    x, w = jm.multihost.global_rows(local)
    x.block_until_ready()
    found: dict = {"build": time.perf_counter() - t0, "fits": {}}
    for name in FAMILIES:
        t0 = time.perf_counter()
        res = jm.fit(name, x, weights=w, progress=False)
        first = time.perf_counter() - t0
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = jm.fit(name, x, weights=w, progress=False)
            warm.append(time.perf_counter() - t0)
        found["fits"][name] = {
            "first": first,
            "warm": min(warm),
            "passes": int(res.n_passes),
            "params": {k: float(v) for k, v in res.params.items()},
        }
    part = jm.multihost.local_rows(local)
    jm.fit("weibull", part, chunk_size=1 << 16, progress=False)
    t0 = time.perf_counter()
    streamed = jm.fit("weibull", part, chunk_size=1 << 16, progress=False)
    found["streamed"] = {
        "warm": time.perf_counter() - t0,
        "passes": int(streamed.n_passes),
        "params": {k: float(v) for k, v in streamed.params.items()},
    }
    with open(os.path.join(out, f"{jm.multihost.process_index()}.json"), "w") as f:
        json.dump(found, f)


def _bytes(shape: str) -> int:
    """Bytes of an HLO shape such as ``(f64[2,2]{1,0}, f64[])``."""
    total = 0
    for kind, dims in re.findall(r"\b([a-z]+\d*)\[([\d,]*)\]", shape):
        n = int(np.prod([int(d) for d in dims.split(",") if d])) if dims else 1
        total += n * _SIZES.get(kind, 8)
    return total


def exchanged(dump: str) -> list[tuple[str, int, int]]:
    """The all-reduces of the sharded fit programs in an HLO dump: per program,
    the shapes exchanged in every pass, the bytes per pass (inside the Newton
    loop) and per fit (outside it)."""
    programs = []
    for path in sorted(Path(dump).glob("*jit_local*after_optimizations.txt")):
        shapes, per_pass, per_fit = [], 0, 0
        for line in path.read_text().splitlines():
            m = re.search(r"=\s*(.+?)\s+all-reduce(?:-start)?\(", line)
            if m:
                if "/while/" in line:
                    shapes.append(re.sub(r"\{[\d,]*\}", "", m.group(1)))
                    per_pass += _bytes(m.group(1))
                else:
                    per_fit += _bytes(m.group(1))
        programs.append((" ".join(shapes), per_pass, per_fit))
    return programs


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=2e6, help="total rows (all processes)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=None, help="results folder")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = int(args.rows)
    if args.worker:
        worker(args.worker, rows, args.repeat)
        return
    from _common import machine, results_dir

    import jaxmle as jm

    runs = {}
    programs = {}
    for p in args.processes:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            finished = jm.multihost.launch(
                [__file__, "--worker", tmp, "--rows", str(rows), "--repeat", str(args.repeat)],
                p,
                capture=True,
                env={"JAXMLE_CACHE": "0", "JAXMLE_PROGRESS": "0"},
            )
            wall = time.perf_counter() - t0
            for f in finished:
                if f.returncode != 0:
                    raise SystemExit(f"{p} processes: process {f.process} failed:\n{f.stderr}")
            runs[p] = [json.loads(Path(tmp, f"{i}.json").read_text()) for i in range(p)]
            runs[p][0]["wall"] = wall
            programs[p] = exchanged(os.path.join(tmp, "hlo"))
        print(f"{p} process(es): {wall:.1f} s", flush=True)

    base = runs[args.processes[0]][0]
    lines = [
        "# bench_multihost: one fit over several processes",
        "",
        f"{machine()}",
        "",
        f"Total rows: {rows:,} (float64), split evenly; the processes share this machine's "
        f"{os.cpu_count()} cores. Times in seconds, of process 0; gap: the largest relative "
        f"difference of any process's estimates from the {args.processes[0]}-process run.",
        "",
        "| processes | family | first fit (compile incl.) | warm fit | passes | gap |",
        "|---|---|---|---|---|---|",
    ]

    def gap(found: dict, ref: dict) -> float:
        return max(abs(found[k] - ref[k]) / abs(ref[k]) for k in ref)

    for p, found in runs.items():
        for name in FAMILIES:
            fit = found[0]["fits"][name]
            worst = max(gap(f["fits"][name]["params"], base["fits"][name]["params"]) for f in found)
            lines.append(
                f"| {p} | {name} | {fit['first']:.2f} | {fit['warm']:.3f} | {fit['passes']} "
                f"| {worst:.1e} |"
            )
        s = found[0]["streamed"]
        worst = max(gap(f["streamed"]["params"], base["fits"]["weibull"]["params"]) for f in found)
        lines.append(
            f"| {p} | weibull, streamed per process | | {s['warm']:.3f} | {s['passes']} "
            f"| {worst:.1e} |"
        )
    lines += [
        "",
        "Bytes all-reduced by the compiled sharded fit programs (process 0's optimized HLO; "
        "per pass: inside the Newton loop, per fit: outside it):",
        "",
        "| processes | program | exchanged every pass | bytes per pass | bytes per fit |",
        "|---|---|---|---|---|",
    ]
    for p, found in programs.items():
        # One program per family, compiled in the order the families are fitted.
        names = FAMILIES if len(found) == len(FAMILIES) else [f"#{i}" for i in range(len(found))]
        for name, (shapes, per_pass, per_fit) in zip(names, found, strict=True):
            lines.append(f"| {p} | {name} | `{shapes or '-'}` | {per_pass} | {per_fit} |")
        if not found:
            lines.append(f"| {p} | (one process: no sharded program) | - | 0 | 0 |")
    lines += [
        "",
        "The processes share this machine's cores, so more processes cannot be faster here: "
        "the warm times show what the exchange costs (a gloo all-reduce of the sums per "
        "pass, and the gather of the count and validity flags once per fit). On real hosts "
        "each brings its own cores and memory bandwidth and exchanges the same few bytes "
        "per pass, whatever its rows.",
        "",
        "Command: `python benchmarks/bench_multihost.py "
        + f"--rows {rows} --processes {' '.join(map(str, args.processes))}`",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    path = results_dir(args.out) / "bench_multihost.md"
    path.write_text(text)
    print(f"written: {path}")


if __name__ == "__main__":
    main()
