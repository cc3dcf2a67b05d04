"""Fits over several processes (hosts) with ``jax.distributed``.

Every process runs the same script: it joins the run with :func:`initialize`,
holds only its own rows, and calls the same jaxmle function. Three ways to
give the rows, all giving every process the same estimates as one process
fitting all the data:

* **a global array** (``jm.fit(fam, x, weights=w)`` with
  ``x, w = global_rows(local_x)``): each device reduces its shard and the
  O(p^2) partial sums of every pass travel between devices and hosts (a
  ``psum`` in one compiled program, over the interconnect; on CPU, over JAX's
  gloo collectives);
* **local rows streamed** (``jm.fit(fam, local_rows(memmap), chunk_size=...)``):
  each process streams its own part of a file larger than memory, and the
  sums of every pass are added over processes on the host;
* **many datasets** (``jm.fit_many(fam, X)`` with ``X`` a global array
  sharded along its dataset axis): each process fits its own datasets, then
  the results are gathered, so every process holds all of them.

Bad data are reported, in every process, with the process, its host and the
row. A process that dies or never joins makes the others stop with JAX's
error ("tasks are unhealthy", "Deadline Exceeded") after ``timeout`` seconds:
:func:`initialize` sets JAX's registration and heartbeat timeouts.

>>> import jaxmle as jm
>>> jm.multihost.row_range(10, process=1, processes=4)
(2, 5)
"""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxmle._engine.hosts import (
    LocalRows,
    gather_counts,
    process_count,
    process_index,
    raise_first_error,
)

__all__ = [
    "Finished",
    "LocalRows",
    "free_port",
    "global_rows",
    "initialize",
    "launch",
    "local_rows",
    "process_count",
    "process_index",
    "row_range",
]


def _use_cpu_collectives() -> None:
    """JAX's CPU collectives between processes (gloo), where this JAX has
    them and none was chosen (GPUs and TPUs have their own)."""
    try:
        if jax.config.jax_cpu_collectives_implementation in (None, "none"):
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except AttributeError:  # older JAX: a boolean flag
        try:
            jax.config.update("jax_cpu_enable_gloo_collectives", True)
        except AttributeError:
            pass


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    timeout: float = 120.0,
    local_device_ids: Any = None,
) -> None:
    """Join this process to a ``jax.distributed`` run (call it first, before
    any other JAX call).

    Unset arguments are read from the environment: ``JAX_COORDINATOR_ADDRESS``
    (``host:port`` of process 0), ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``
    (set them in a Kubernetes indexed Job, for example from
    ``JOB_COMPLETION_INDEX``), else JAX's cluster detection (SLURM's
    ``srun``, Open MPI, Cloud TPU).

    Args:
        coordinator_address: ``"host:port"`` of process 0's coordinator.
        num_processes: the number of processes in the run.
        process_id: this process's index, ``0 .. num_processes - 1``.
        timeout: seconds to wait for every process to join, and for a
            process that stopped answering (heartbeats) before the others stop
            with an error instead of waiting for it.
        local_device_ids: the local devices this process uses (default all).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    _use_cpu_collectives()
    seconds = max(1, round(timeout))
    options = {
        "initialization_timeout": seconds,
        "heartbeat_timeout_seconds": seconds,
        "shutdown_timeout_seconds": seconds,
    }
    accepted = inspect.signature(jax.distributed.initialize).parameters
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes if num_processes is not None else _env_int("JAX_NUM_PROCESSES"),
        process_id=process_id if process_id is not None else _env_int("JAX_PROCESS_ID"),
        local_device_ids=local_device_ids,
        **{k: v for k, v in options.items() if k in accepted},
    )


def row_range(n_rows: int, *, process: int | None = None, processes: int | None = None):
    """``(start, stop)``: this process's even share of ``n_rows`` rows (rows
    ``start .. stop - 1``), e.g. the part of a file it reads."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 0:
        raise ValueError(f"n_rows must be a non-negative integer, got {n_rows!r}")
    p = process_index() if process is None else int(process)
    k = process_count() if processes is None else int(processes)
    if not 0 <= p < k:
        raise ValueError(f"process {p} is not one of the {k} processes")
    return int(n_rows) * p // k, int(n_rows) * (p + 1) // k


def local_rows(x: Any, weights: Any = None) -> LocalRows:
    """Mark ``x`` as this process's rows of data spread over the processes,
    for :func:`jaxmle.fit` to stream (a numpy array or memmap, a list of
    chunks, a function returning a fresh iterator of chunks; ``weights`` for
    an array). Every process must call ``jm.fit`` with its own rows and the
    same family and options."""
    return LocalRows(x, weights)


def global_rows(local_x: Any, local_weights: Any = None) -> tuple[jax.Array, jax.Array | None]:
    """``(x, w)``: one global array of every process's rows, sharded over all
    devices of all processes along its first axis, and its weights.

    Processes may hold different numbers of rows: each is padded to the
    largest (rounded up to a multiple of its devices) with copies of its first
    row of weight 0, so ``w`` is given whenever padding was needed or
    ``local_weights`` was. Every process must call it (it exchanges the row
    counts)."""
    rows = np.asarray(local_x)
    weights = None if local_weights is None else np.asarray(local_weights)

    def check() -> None:
        if rows.ndim == 0 or rows.shape[0] == 0:
            raise ValueError(f"this process has no rows (local x of shape {rows.shape})")
        if weights is not None and weights.shape != rows.shape[:1]:
            raise ValueError(
                f"local weights must have shape {rows.shape[:1]} like the local x, "
                f"got {weights.shape}"
            )

    raise_first_error(check)
    counts = gather_counts(rows.shape[0])
    n_local_devices = jax.local_device_count()
    most = -(-int(counts.max()) // n_local_devices) * n_local_devices
    if weights is None and (counts == most).all():
        w = None
    else:
        w = np.ones(rows.shape[0], rows.dtype if rows.dtype.kind == "f" else np.float64)
        if weights is not None:
            w = weights.astype(w.dtype)
        w = np.concatenate([w, np.zeros(most - rows.shape[0], w.dtype)])
    pad = np.repeat(rows[:1], most - rows.shape[0], axis=0)
    rows = np.concatenate([rows, pad])
    mesh = Mesh(np.array(jax.devices()), ("data",))
    sharding = NamedSharding(mesh, P("data"))
    n = most * process_count()
    x = jax.make_array_from_process_local_data(sharding, rows, (n, *rows.shape[1:]))
    if w is None:
        return x, None
    return x, jax.make_array_from_process_local_data(sharding, w, (n,))


class Finished(NamedTuple):
    """A process started by :func:`launch`: its index, exit status (``None``
    if it was stopped), seconds it ran, and its output where captured."""

    process: int
    returncode: int | None
    seconds: float
    stdout: str = ""
    stderr: str = ""


def free_port() -> int:
    """A TCP port free on this machine now (for a local coordinator)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(
    args: Sequence[str],
    processes: int,
    *,
    timeout: float = 600.0,
    grace: float = 10.0,
    capture: bool = False,
    env: dict[str, str] | None = None,
) -> list[Finished]:
    """Run ``python args...`` as ``processes`` local processes of one
    ``jax.distributed`` run (a stand-in for ``srun`` on one machine).

    Each gets ``JAX_COORDINATOR_ADDRESS`` (a free local port),
    ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``, which :func:`initialize`
    reads. Once one process fails, the others get ``grace`` seconds to end
    (they stop by themselves when the run's heartbeat timeout passes), then
    are stopped; all are stopped after ``timeout`` seconds. Nothing is left
    running when this returns.

    Returns:
        One :class:`Finished` per process, in process order.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be a positive integer, got {processes!r}")
    base = {**os.environ, **(env or {})}
    base["JAX_COORDINATOR_ADDRESS"] = f"127.0.0.1:{free_port()}"
    base["JAX_NUM_PROCESSES"] = str(processes)
    with tempfile.TemporaryDirectory(prefix="jaxmle-launch-") as folder:
        outs = []
        running = []
        start = time.monotonic()
        for i in range(processes):
            streams = (None, None)
            if capture:
                streams = tuple(open(os.path.join(folder, f"{i}.{k}"), "w+") for k in "oe")
            outs.append(streams)
            running.append(
                subprocess.Popen(
                    [sys.executable, *args],
                    env={**base, "JAX_PROCESS_ID": str(i)},
                    stdout=streams[0],
                    stderr=streams[1],
                )
            )
        ended: dict[int, float] = {}
        failed_at = None
        try:
            while len(ended) < processes:
                now = time.monotonic()
                for i, proc in enumerate(running):
                    if i not in ended and proc.poll() is not None:
                        ended[i] = now - start
                        if proc.returncode != 0 and failed_at is None:
                            failed_at = now
                if now - start > timeout or (failed_at is not None and now - failed_at > grace):
                    break
                time.sleep(0.05)
        finally:
            for i, proc in enumerate(running):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                elif i not in ended:  # ended on its own after the last look
                    ended[i] = time.monotonic() - start
        results = []
        for i, proc in enumerate(running):
            text = ["", ""]
            for k, stream in enumerate(outs[i]):
                if stream is not None:
                    stream.seek(0)
                    text[k] = stream.read()
                    stream.close()
            code = proc.returncode if i in ended else None
            seconds = ended.get(i, time.monotonic() - start)
            results.append(Finished(i, code, seconds, *text))
        return results
