r"""Shape buckets: one compiled program serves every data length in a bucket.

A program is compiled per array shape, so a session that fits datasets of
many lengths would compile once per length. Lengths are rounded up to a short
ladder instead, and the extra rows are copies of the first observation with
weight 0 (the engine masks by weight: a weight-0 row contributes exactly 0).

The ladder of a single fit (:func:`fit_length`), for ``n`` observations:

* ``n <= FIT_MIN = 4096``: ``4096``. A fit of a few hundred values costs
  a few microseconds more at 4096 rows, and one program then serves every
  small dataset of a session (a compile costs 0.1-0.9 s): at most 32 KiB
  extra in float64;
* from there on, the batch ladder below.

The ladder of a batch of datasets (``fit_many``, bootstrap replicates, where
padding is paid per dataset), for ``n`` observations (rows):

* ``n <= 4096``: ``256``, ``1024``, ``4096`` (powers of 4): at most 4x the
  rows, at most 12,288 extra values (96 KiB in float64);
* ``4096 < n < 2**18``: the next power of 2: at most 2x (at most 1 MiB
  extra in float64);
* ``n >= BUCKET_BELOW = 2**18``: the data keep their own shape. A pass over
  them costs milliseconds, and padding would cost a copy and a weighted pass
  on every fit, for the sake of a compilation that repeated fits of one
  length do not need.

Host (numpy) data are padded while they are copied to the device; a small JAX
array makes the round trip through the host (no compiled program per length).

Batches of datasets (``fit_many``, bootstrap replicates) round the number of
datasets per compiled call up to a power of 2 (:func:`bucket_count`) and their
length to the ladder above.
"""

from __future__ import annotations

__all__ = ["BUCKET_BELOW", "FIT_MIN", "bucket_count", "bucket_length", "fit_length"]

BUCKET_BELOW = 1 << 18
FIT_MIN = 4096
_SMALL = (256, 1024, 4096)


def fit_length(n: int) -> int:
    """The bucket of a single fit of ``n`` rows: ``FIT_MIN`` up to it, then
    :func:`bucket_length`."""
    return max(bucket_length(n), FIT_MIN) if n < BUCKET_BELOW else bucket_length(n)


def bucket_length(n: int) -> int:
    """The bucket of ``n`` rows: the smallest ladder length ``>= n`` (``n``
    itself from ``BUCKET_BELOW`` on)."""
    if n < 1:
        raise ValueError(f"a bucket needs at least one row, got {n}")
    if n >= BUCKET_BELOW:
        return n
    for size in _SMALL:
        if n <= size:
            return size
    return 1 << (n - 1).bit_length()


def bucket_count(b: int) -> int:
    """The number of datasets (or replicates) per call for ``b``: the next power of 2."""
    if b < 1:
        raise ValueError(f"a bucket needs at least one dataset, got {b}")
    return 1 << (b - 1).bit_length()
