"""Helpers shared by the benchmark scripts: best-of timing and a description
of the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import time

import numpy as np


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
