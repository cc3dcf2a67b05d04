"""Fit one dataset whose rows are spread over several processes (hosts).

Every process runs this script: it joins the run (``jm.multihost.initialize``),
holds only its own rows, and makes the same ``jm.fit`` calls; every process
gets the same estimates, equal to one process fitting all the rows.

One command on one machine (N local processes, JAX's CPU collectives)::

    python examples/multihost.py --processes 4

On a cluster, start one copy per host with its launcher:

* SLURM (JAX reads SLURM's environment)::

      srun --nodes 4 --ntasks-per-node 1 python examples/multihost.py --file data.npy

* Kubernetes: an indexed Job of 4 pods, each with
  ``JAX_COORDINATOR_ADDRESS=<pod 0's host name>:1234``, ``JAX_NUM_PROCESSES=4``
  and ``JAX_PROCESS_ID`` set from ``JOB_COMPLETION_INDEX``, running
  ``python examples/multihost.py --file /data/data.npy``.

With ``--file`` (a ``.npy`` file, or raw float64 values) each process
memory-maps the file and reads only its own row range; without it each
process draws its own rows of a Weibull sample.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--processes",
        type=int,
        help="start this many local processes (one machine); without it, this "
        "process is one of a run started by a launcher (srun, a Job)",
    )
    parser.add_argument("--family", default="weibull", help="the family to fit")
    parser.add_argument("--file", help="a .npy file or raw float64 values, read by rows")
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the drawn sample (no --file)"
    )
    parser.add_argument("--chunk-size", type=int, default=1 << 16, help="rows per streamed chunk")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for peers")
    return parser.parse_args(argv)


def _local_rows(args: argparse.Namespace, jm) -> tuple[np.ndarray, int]:
    """This process's rows (a memory map of its range of the file, or its own
    draws) and the total number of rows."""
    if args.file:
        if args.file.endswith(".npy"):
            whole = np.load(args.file, mmap_mode="r")
        else:
            whole = np.memmap(args.file, dtype=np.float64, mode="r")
        start, stop = jm.multihost.row_range(whole.shape[0])
        return whole[start:stop], whole.shape[0]
    start, stop = jm.multihost.row_range(args.rows)
    rng = np.random.default_rng([20261130, jm.multihost.process_index()])
    return 2.0 * rng.weibull(1.5, stop - start), args.rows


def worker(args: argparse.Namespace) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jaxmle as jm

    try:
        jm.multihost.initialize(timeout=args.timeout)
    except ValueError as exc:  # no launcher's environment: say how to start it
        raise SystemExit(
            f"{exc}\nStart it with --processes N (local processes), or under a launcher "
            "(srun, a Kubernetes Job) that sets the run's environment."
        ) from None
    me = jm.multihost.process_index()
    local, total = _local_rows(args, jm)

    # 1. One global array over every process's devices: one compiled program,
    #    each device reduces its shard, the partial sums are added across hosts.
    t0 = time.perf_counter()
    x, w = jm.multihost.global_rows(local)
    res = jm.fit(args.family, x, weights=w, progress=False)
    t_global = time.perf_counter() - t0

    # 2. Each process streams its own rows (a file larger than memory): the
    #    sums of every exact pass are added over the processes.
    t0 = time.perf_counter()
    streamed = jm.fit(args.family, jm.multihost.local_rows(local), chunk_size=args.chunk_size)
    t_stream = time.perf_counter() - t0

    if me == 0:
        print(
            f"{jm.multihost.process_count()} processes, {jax.device_count()} devices, "
            f"{total:,} rows ({local.shape[0]:,} on process 0)"
        )
        print(res.summary())
        print(f"\nglobal array: {t_global:.2f} s; streamed per process: {t_stream:.2f} s")
        for k in res.params:
            a, b = float(res.params[k]), float(streamed.params[k])
            gap = abs(a - b) / abs(a)
            print(f"  {k}: global {a:.12g}   streamed {b:.12g}   relative gap {gap:.1e}")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.processes is None:
        worker(args)
        return 0
    import jaxmle as jm

    same = ["--family", args.family, "--rows", str(args.rows)]
    same += ["--chunk-size", str(args.chunk_size), "--timeout", str(args.timeout)]
    same += ["--file", args.file] if args.file else []
    finished = jm.multihost.launch([os.path.abspath(__file__), *same], args.processes)
    failed = [f for f in finished if f.returncode != 0]
    for f in failed:
        state = "was stopped" if f.returncode is None else f"exited with status {f.returncode}"
        print(f"process {f.process} {state} after {f.seconds:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
