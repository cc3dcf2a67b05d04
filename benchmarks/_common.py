"""Helpers shared by the benchmark scripts: best-of timing, a description of the
machine the figures were measured on, and the folder the results go to.

``python benchmarks/_common.py`` prints the name of today's results folder for
this machine (``<date>-<machine slug>``, e.g. ``2026-11-26-gpu-h200``); the GPU
launchers use it to lay out their output the way ``benchmarks/results/`` is."""

from __future__ import annotations

import datetime
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def best(fn, repeat):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def machine() -> str:
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = f"{names[0]} x {len(names)}" if names else cpu
    except OSError:
        pass
    dev = jax.devices()[0]
    kind = getattr(dev, "device_kind", dev.platform)
    return (
        f"device: {dev.platform} ({kind}); host CPU: {cpu}; cores visible: {os.cpu_count()}; "
        f"python {platform.python_version()}, jax {jax.__version__}, numpy {np.__version__}"
    )


def machine_slug() -> str:
    """The machine part of a results folder's name, from JAX's first device:
    ``cpu-<cores>core`` on a CPU (``cpu-2core``: the core count sets the figures),
    else the platform and the device kind without its vendor (``NVIDIA H200`` on
    ``gpu``: ``gpu-h200``; ``TPU v4``: ``tpu-v4``)."""
    import jax

    dev = jax.devices()[0]
    if dev.platform == "cpu":
        return f"cpu-{os.cpu_count()}core"
    kind = str(getattr(dev, "device_kind", "") or "").lower()
    kind = re.sub(r"^(nvidia|amd|intel|google)\b", "", kind.strip())
    kind = re.sub(r"[^a-z0-9]+", "-", kind).strip("-")
    if kind.startswith(dev.platform):  # "TPU v4" on "tpu"
        kind = kind[len(dev.platform) :].strip("-")
    return f"{dev.platform}-{kind}" if kind else dev.platform


def run_name() -> str:
    """``<UTC date>-<machine slug>``, e.g. ``2026-11-26-gpu-h200``."""
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return f"{today}-{machine_slug()}"


def results_dir(out: str | os.PathLike | None = None) -> Path:
    """The folder a benchmark writes into, created if missing: ``out`` when given
    (``--out``), else ``benchmarks/results/<UTC date>-<machine slug>/``."""
    path = Path(out) if out is not None else RESULTS / run_name()
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    print(run_name())
