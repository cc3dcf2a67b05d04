r"""Shape buckets: one compiled program serves every data length in a bucket.

A program is compiled per array shape, so a session that fits datasets of
many lengths would compile once per length. Lengths are rounded up to a short
ladder instead, and the extra rows are copies of the first observation with
weight 0 (the engine masks by weight: a weight-0 row contributes exactly 0).

The ladder, for ``n`` observations (rows):

* ``n <= 4096``: ``256``, ``1024``, ``4096`` (powers of 4): at most 4x the
  rows, at most 12,288 extra values (96 KiB in float64);
* ``4096 < n <= 2**20``: the next power of 2: at most 2x;
* ``n > 2**20``: four steps per octave, ``2**k * 2**(j/4)`` rounded up to a
  multiple of ``2**16``: at most 19% extra rows (25% just above ``2**20``).

Host (numpy) data are padded while they are copied to the device, at no extra
pass. A JAX array of ``BUCKET_DEVICE_BELOW`` rows or more is fitted at its own
shape: padding it would copy it, which costs as much as a pass over the data.

Batches of datasets (``fit_many``, bootstrap replicates) round the number of
datasets per compiled call up to a power of 2 (:func:`bucket_count`) and their
length to the ladder above.
"""

from __future__ import annotations

import math

__all__ = ["BUCKET_DEVICE_BELOW", "bucket_count", "bucket_length"]

BUCKET_DEVICE_BELOW = 1 << 18
_SMALL = (256, 1024, 4096)
_OCTAVE_FROM = 1 << 20
_STEPS_PER_OCTAVE = 4
_ROUND = 1 << 16


def bucket_length(n: int) -> int:
    """The bucket of ``n`` rows: the smallest ladder length ``>= n``."""
    if n < 1:
        raise ValueError(f"a bucket needs at least one row, got {n}")
    for size in _SMALL:
        if n <= size:
            return size
    if n <= _OCTAVE_FROM:
        return 1 << (n - 1).bit_length()
    octave = 1 << (n.bit_length() - 1)
    for j in range(1, _STEPS_PER_OCTAVE + 1):
        size = math.ceil(octave * 2.0 ** (j / _STEPS_PER_OCTAVE) / _ROUND) * _ROUND
        if n <= size:
            return size
    return 2 * octave  # unreachable: the last step is the next octave


def bucket_count(b: int) -> int:
    """The number of datasets (or replicates) per call for ``b``: the next power of 2."""
    if b < 1:
        raise ValueError(f"a bucket needs at least one dataset, got {b}")
    return 1 << (b - 1).bit_length()
