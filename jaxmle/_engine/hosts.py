"""Fits whose data are spread over several processes (hosts).

Every process of a ``jax.distributed`` run calls the same jaxmle function with
its own rows; the small partial sums of every pass are exchanged so that each
process holds the same totals and takes the same steps. This module has the
exchange primitives, all built on JAX's own collectives
(:mod:`jax.experimental.multihost_utils`):

* :func:`sum_over_processes`: the element-wise sum of a pytree over processes,
  added in process order on the host, so every process gets the bitwise-same
  total (the per-pass exchange of a per-host streamed fit: O(p^2) numbers);
* :func:`gather_rows`: the concatenation over processes of arrays with a
  leading row axis (the per-dataset results of ``fit_many``);
* :func:`gather_texts`: every process's list of messages, so that an error
  found on one host is raised, with the host named, in all of them (a process
  that raised alone would leave the others waiting in a collective);
* :func:`local_block`: this process's rows of a global array sharded along
  its first axis, with their global row numbers.

With one process every function is the identity (no collective runs).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import jax
import numpy as np
from jax.experimental import multihost_utils

from jaxmle._engine.validation import convert, locate

__all__ = [
    "LocalRows",
    "broadcast_from_first",
    "check_global_weights",
    "check_local_rows",
    "gather_counts",
    "gather_rows",
    "gather_texts",
    "local_block",
    "process_count",
    "process_index",
    "raise_first_error",
    "spans_processes",
    "sum_over_processes",
]


_T = TypeVar("_T")


class LocalRows(NamedTuple):
    """This process's part of a dataset whose rows are spread over the
    processes of a ``jax.distributed`` run (see :func:`jaxmle.multihost.local_rows`).

    ``data`` is anything :func:`jaxmle.fit` streams (a numpy array or memmap,
    a list of chunks, a function returning a fresh iterator of chunks);
    ``weights`` its frequency weights or ``None``."""

    data: Any
    weights: Any = None


def process_count() -> int:
    """The number of processes of the ``jax.distributed`` run (1 without one)."""
    return jax.process_count()


def process_index() -> int:
    """This process's index in the ``jax.distributed`` run (0 without one)."""
    return jax.process_index()


def spans_processes(x: Any) -> bool:
    """Whether ``x`` is a JAX array with shards in other processes."""
    return isinstance(x, jax.Array) and not x.is_fully_addressable


def _allgather(tree: Any) -> Any:
    """``tree`` of every process, stacked along a new leading process axis (numpy)."""
    return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=False))


def sum_over_processes(tree: Any) -> Any:
    """The sum over processes of a pytree of equally shaped arrays, identical
    in every process (gathered, then added in process order)."""
    if process_count() == 1:
        return tree
    stacked = _allgather(jax.tree.map(np.asarray, tree))

    def total(a: np.ndarray) -> np.ndarray:
        out = a[0].copy()
        for part in a[1:]:
            out = out + part
        return out

    return jax.tree.map(total, stacked)


def broadcast_from_first(x: np.ndarray) -> np.ndarray:
    """Process 0's ``x`` in every process (``x`` of the same shape and dtype
    everywhere)."""
    if process_count() == 1:
        return x
    return np.asarray(multihost_utils.broadcast_one_to_all(np.asarray(x)))


def gather_counts(n: int) -> np.ndarray:
    """Every process's count ``n`` (an ``int64`` array indexed by process),
    exchanged as two 31-bit halves (JAX without ``jax_enable_x64`` has no
    64-bit integers to send)."""
    if process_count() == 1:
        return np.asarray([n], np.int64)
    halves = _allgather(np.asarray([n >> 31, n & (2**31 - 1)], np.int32)).astype(np.int64)
    return (halves[:, 0] << 31) + halves[:, 1]


def gather_rows(tree: Any) -> Any:
    """Arrays with a leading row axis, concatenated over processes in process
    order (the row counts may differ between processes)."""
    if process_count() == 1:
        return tree
    leaves, treedef = jax.tree.flatten(jax.tree.map(np.asarray, tree))
    counts = gather_counts(leaves[0].shape[0] if leaves else 0)
    most = int(counts.max())
    padded = [
        np.concatenate([a, np.zeros((most - a.shape[0], *a.shape[1:]), a.dtype)]) for a in leaves
    ]
    stacked = _allgather(padded)
    joined = [np.concatenate([s[p, : counts[p]] for p in range(len(counts))]) for s in stacked]
    return jax.tree.unflatten(treedef, joined)


def gather_texts(texts: list[str]) -> list[list[str]]:
    """Every process's list of strings (equal lengths), indexed by process."""
    if process_count() == 1:
        return [list(texts)]
    codes = [np.frombuffer(t.encode(), np.uint8) for t in texts]
    all_lengths = _allgather(np.asarray([c.size for c in codes], np.int32))
    width = max(1, int(all_lengths.max()) if all_lengths.size else 1)
    table = np.zeros((len(texts), width), np.uint8)
    for i, c in enumerate(codes):
        table[i, : c.size] = c
    tables = _allgather(table)
    return [
        [bytes(tables[p, i, : all_lengths[p, i]]).decode() for i in range(len(texts))]
        for p in range(tables.shape[0])
    ]


def local_block(x: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """This process's rows of ``x`` (a global array sharded along its first
    axis) and their row numbers in ``x``, in row order (a row held by several
    local devices is taken once)."""
    blocks: dict[int, np.ndarray] = {}
    for shard in x.addressable_shards:
        rows = shard.index[0] if shard.index else slice(None)
        start, stop, _ = rows.indices(x.shape[0])
        if start not in blocks and stop > start:
            blocks[start] = np.asarray(shard.data)
    starts = sorted(blocks)
    if not starts:
        return np.zeros((0, *x.shape[1:]), x.dtype), np.zeros(0, np.int64)
    data = np.concatenate([blocks[s] for s in starts])
    index = np.concatenate([np.arange(s, s + blocks[s].shape[0]) for s in starts])
    return data, index


def raise_first_error(check: Callable[[], _T]) -> _T:
    """Run ``check`` (which raises ``ValueError`` or ``TypeError`` on bad
    local input) in every process and raise the first process's error in all
    of them, naming that process and its host; return what ``check`` returned
    when no process found one. Every process must call it (it exchanges the
    messages)."""
    if process_count() == 1:
        return check()
    kind, message, result = "", "", None
    try:
        result = check()
    except (ValueError, TypeError) as exc:
        kind, message = type(exc).__name__, str(exc) or type(exc).__name__
    found = gather_texts([kind, message, socket.gethostname()])
    for p, (name, text, host) in enumerate(found):
        if name:
            error = TypeError if name == "TypeError" else ValueError
            raise error(f"process {p} (host {host}): {text}")
    return result


def check_local_rows(
    x: jax.Array, w: jax.Array | None, check: Callable[[np.ndarray, np.ndarray | None], None]
) -> None:
    """``check(rows, weights)`` on each process's own rows of the global array
    ``x`` (and of its weights ``w``), rows counted from 0 within the process;
    every process raises the first error (:func:`raise_first_error`)."""
    rows, _ = local_block(x)
    w_rows = None if w is None else local_block(w)[0]
    raise_first_error(lambda: check(rows, w_rows))


def check_global_weights(w: jax.Array, n: int, dtype: np.dtype) -> jax.Array:
    """Frequency weights given as a global array over several processes:
    shape ``(n,)``, finite and ``>= 0`` (checked by each process on its own
    rows, reported with the process and the row), not all zero; ``w`` in
    ``dtype``."""
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) like x, got shape {w.shape}")
    values, index = local_block(w)

    def check() -> None:
        vals = convert("weights", values, dtype)
        for bad, what in ((~np.isfinite(vals), "non-finite"), (vals < 0, "negative")):
            if bad.any():
                raise ValueError(
                    f"weights has {int(bad.sum())} {what} value(s): "
                    f"{locate(bad, values, name='weights', index=index)}"
                )

    raise_first_error(check)
    if not float(sum_over_processes(np.asarray(values, np.float64).sum())) > 0:
        raise ValueError("weights are all zero: no observation is left to fit")
    return w.astype(dtype)
