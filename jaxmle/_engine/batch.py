"""The fit program ``vmap``-ed over many datasets.

The single-dataset program (:func:`jaxmle._engine.program.fit_body`) is
``vmap``-ed over a leading batch axis, so every method (closed form,
sufficient statistics, Newton, L-BFGS, optax) runs on all datasets at once.
Iterative solvers loop until every dataset has converged; ``vmap`` turns the
loop's per-dataset condition into a select, so a dataset that has converged
stops changing and keeps its own iteration count.

Masked values (weight 0) contribute exactly 0 and are replaced by one of their
dataset's valid values, so no padding value can reach a derivative. Each
dataset's data are checked in the same program: non-finite values, values
outside the support and too few observations make it *invalid*; its slot is
refitted on a valid stand-in dataset and then set to NaN with status
``INVALID_DATA``, so one bad dataset never sinks the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.buckets import BUCKET_BELOW, bucket_count, bucket_length
from jaxmle._engine.compile import jit_fit
from jaxmle._engine.output import Estimates, SolverReport, finish_body
from jaxmle._engine.plan import FitPlan
from jaxmle._engine.program import fit_body
from jaxmle._engine.standardize import flushed_location, out_of_range
from jaxmle._engine.validation import float_dtype, free_names, invalid_mask
from jaxmle.families.base import Family, flatten_params
from jaxmle.status import Status

__all__ = [
    "BatchCheck",
    "BatchOutput",
    "batch_rows",
    "datasets_per_call",
    "device_data",
    "free_dimension",
    "pad_columns",
    "run_batch",
]

# Datasets per compiled call by default: about this many values (B x N) at once.
_VALUES_PER_CALL = 1 << 24


class BatchCheck(NamedTuple):
    """Per dataset: invalid values among the observed, observations, whether
    it was invalid (not fitted), and whether it was degenerate (valid, all
    values equal, no finite MLE)."""

    n_bad: jax.Array
    n_seen: jax.Array
    invalid: jax.Array
    degenerate: jax.Array


class BatchOutput(NamedTuple):
    """The fits of a batch: every array has a leading dataset axis."""

    estimates: Estimates
    loglik: jax.Array
    n: jax.Array
    n_passes: jax.Array
    report: SolverReport
    check: BatchCheck


def datasets_per_call(shape: tuple[int, ...], requested: int | None, b: int) -> int:
    """Datasets (or bootstrap replicates) per compiled call for ``b`` datasets
    of ``shape`` (one dataset's shape): ``requested``, else about ``2**24``
    values at a time, and no more than ``b`` rounded up to a power of 2 (the
    bucket of the number of datasets)."""
    if requested is not None:
        return int(requested)
    return min(max(1, _VALUES_PER_CALL // max(1, int(np.prod(shape)))), bucket_count(b))


def free_dimension(family: Family, row_shape: tuple[int, ...], dtype, fixed) -> int:
    """The number of free scalar parameters (unconstrained coordinates)."""
    free = free_names(family, fixed)
    row = jax.ShapeDtypeStruct(row_shape, dtype)
    u = jax.eval_shape(
        lambda x: flatten_params(family.to_unconstrained(family.init(x, None)), free)[0], row
    )
    return int(u.shape[0])


def _check_one(family: Family, x, w):
    """Per dataset: ``(n_bad, n_observed, total weight, all_equal, first_good)``."""
    bad = invalid_mask(family, x)
    seen = jnp.ones(x.shape[0], bool) if w is None else w > 0
    n_w = jnp.asarray(x.shape[0], x.dtype) if w is None else jnp.sum(w)
    n_bad = jnp.sum(bad & seen)
    good = seen & ~bad
    first = jnp.argmax(good)
    flat = x.reshape(x.shape[0], -1)
    lo = jnp.min(jnp.where(good[:, None], flat, jnp.inf), axis=0)
    hi = jnp.max(jnp.where(good[:, None], flat, -jnp.inf), axis=0)
    return n_bad, jnp.sum(seen), n_w, jnp.all(lo == hi), first


def _fill_masked(x, w, first):
    """``x`` with each weight-0 value replaced by its dataset's value at ``first``."""
    fill = jnp.take_along_axis(x, first.reshape((-1, 1) + (1,) * (x.ndim - 2)), axis=1)
    seen = (w > 0).reshape(w.shape + (1,) * (x.ndim - 2))
    return jnp.where(seen, x, fill)


@partial(jax.jit, static_argnums=0)
def _clean_program(family, x, w):
    """Masked (weight 0) values replaced by one of their dataset's valid values."""
    if w is None:
        return x
    _, _, _, _, first = jax.vmap(partial(_check_one, family))(x, w)
    return _fill_masked(x, w, first)


def device_data(family: Family, dtype, rows: int, x, w):
    """``(x, w)`` as device arrays padded to ``rows`` observations (weight 0)
    with masked values cleaned: a batch ``(B, N[, d])``, or one of its datasets."""
    one = x.ndim == 1 + family.event_ndim
    xd = jnp.asarray(x, dtype)
    wd = None if w is None else jnp.asarray(w, dtype)
    if one:
        xd, wd = xd[None], None if wd is None else wd[None]
    xd, wd = pad_columns(xd, wd, rows, dtype)
    if wd is not None:
        xd = _clean_program(family, xd, wd)
    return (xd[0], None if wd is None else wd[0]) if one else (xd, wd)


def _batch_body(family, plan, x, w, init, fixed, key, n_free) -> BatchOutput:
    """Check every dataset, stand in for the invalid ones, fit all, finish all."""
    n_bad, n_seen, n_w, all_equal, first = jax.vmap(partial(_check_one, family))(x, w)
    invalid = (n_bad > 0) | (n_seen < max(n_free, 1))
    if w is not None:  # masked values: one of the dataset's own valid values
        x = _fill_masked(x, w, first)
    donor = jnp.argmax(~invalid)  # a valid dataset stands in for the invalid ones
    sel = invalid.reshape((-1,) + (1,) * (x.ndim - 1))
    x = jnp.where(sel, x[donor], x)
    if w is not None:
        w = jnp.where(invalid[:, None], w[donor], w)

    out, _ = jax.vmap(lambda xb, wb: fit_body(family, plan, xb, wb, init, fixed, key))(x, w)
    free = free_names(family, fixed)
    est = jax.vmap(lambda o: finish_body(family, fixed, free, o))(out)

    # Invalid datasets: NaN estimates; degenerate ones keep theirs but are flagged.
    def blank(v):
        if not jnp.issubdtype(v.dtype, jnp.floating):
            return v
        return jnp.where(invalid.reshape((-1,) + (1,) * (v.ndim - 1)), jnp.nan, v)

    # Degenerate: all values equal, and several free parameters or a fit that
    # did not end at a finite, converged point (jm.fit's rule: a Poisson's
    # rate 0 for all-zero counts is a closed-form MLE on the boundary, a
    # normal's scale 0 is not).
    regular = (
        jnp.isfinite(out.loglik)
        & (out.report.status == Status.CONVERGED)
        & jax.tree.reduce(
            jnp.logical_and,
            jax.tree.map(
                lambda v: jnp.all(jnp.isfinite(v.reshape(v.shape[0], -1)), axis=1), est.params
            ),
        )
    )
    degenerate = ~invalid & all_equal & (~regular if n_free < 2 else True)
    fixed_vals = {k: jnp.broadcast_to(v, (x.shape[0], *v.shape)) for k, v in fixed.items()}
    est = jax.tree.map(blank, est)

    # A degenerate fit has no standard errors (no regular MLE): NaN, not 0.
    def unsure(v):
        return jnp.where(degenerate.reshape((-1,) + (1,) * (v.ndim - 1)), jnp.nan, v)

    # A standard error flushed to 0 below the smallest normal number: NaN.
    est = est._replace(
        params={**est.params, **fixed_vals},
        cov=unsure(est.cov),
        stderr={k: jnp.where(v == 0, jnp.nan, unsure(v)) for k, v in est.stderr.items()},
    )
    report = jax.tree.map(blank, out.report)
    status = jnp.where(degenerate, Status.DEGENERATE, report.status)
    beyond = jax.vmap(partial(out_of_range, family))(est.params) | ~jnp.isfinite(out.loglik)
    if out.standard is not None:
        flushed = partial(flushed_location, family)
        beyond = beyond | jax.vmap(flushed)(out.u_parts, est.params, out.standard.shift)
    status = jnp.where((status == Status.CONVERGED) & beyond, Status.OUT_OF_RANGE, status)
    report = report._replace(
        status=jnp.where(invalid, Status.INVALID_DATA, status).astype(jnp.int32),
        n_iter=jnp.where(invalid, 0, report.n_iter),
    )
    return BatchOutput(
        estimates=est,
        loglik=blank(out.loglik),
        n=jnp.where(invalid, n_w, out.n),
        n_passes=jnp.where(invalid, 0, out.n_passes),
        report=report,
        check=BatchCheck(n_bad, n_seen, invalid, degenerate),
    )


_batch_program = jit_fit(_batch_body, size_arg=2, static_argnums=(0, 1, 7))


def _host_chunk(a, idx, rows: int, dtype, fill_first: bool):
    """Rows ``idx`` of the host array ``a`` as an array of ``dtype``,
    padded along axis 1 to ``rows`` (with each row's first value, or zeros for
    weights): padding on the host compiles nothing per shape."""
    part = np.asarray(a[idx]).astype(dtype, copy=False)
    n = part.shape[1]
    if rows > n:
        tail_shape = (part.shape[0], rows - n, *part.shape[2:])
        tail = (
            np.broadcast_to(part[:, :1], tail_shape) if fill_first else np.zeros(tail_shape, dtype)
        )
        part = np.concatenate([part, tail], axis=1)
    return part


def pad_columns(x, w, rows: int, dtype):
    """``(x, w)`` of a batch ``(B, N[, d])`` padded to ``rows`` observations per
    dataset: copies of each dataset's first value with weight 0 (the batch
    program replaces masked values by a valid value of their dataset anyway)."""
    b, n = x.shape[0], x.shape[1]
    if rows == n:
        return x, w
    xp = jnp.concatenate([x, jnp.broadcast_to(x[:, :1], (b, rows - n, *x.shape[2:]))], axis=1)
    head = jnp.ones((b, n), dtype) if w is None else w
    wp = jnp.concatenate([head, jnp.zeros((b, rows - n), dtype)], axis=1)
    return xp, wp


def batch_rows(x: Any) -> int:
    """The observations per dataset a batch ``x`` is fitted with: its length
    rounded up to :func:`~jaxmle._engine.buckets.bucket_length`."""
    return bucket_length(x.shape[1])


def run_batch(
    family: Family,
    plan: FitPlan,
    xs: Any,
    ws: Any,
    init,
    fixed,
    key,
    n_free: int,
    per_call: int,
    rows: int | None = None,
    on_call: Callable[[int], None] | None = None,
) -> BatchOutput:
    """Fit every dataset of ``xs`` (``(B, N[, d])``, numpy or JAX; ``ws``
    weights ``(B, N)`` or ``None``), ``per_call`` datasets per compiled call
    (the last call padded by repeating its last dataset, so every call has one
    shape) and ``rows`` observations per dataset (weight-0 padding; default
    ``N``). Host data move to the device one call at a time; the output comes
    back to the host (numpy), where results and the bootstrap use it.
    ``on_call(k)`` is told the ``k`` datasets of each call once its output
    is on the host (a progress bar's ``update``)."""
    dtype = float_dtype(xs)
    b = xs.shape[0]
    rows = xs.shape[1] if rows is None else rows
    # Large device batches stay on the device (sliced and padded there);
    # everything else is assembled per call on the host, so that no eager
    # operation compiles a program per number of datasets or length.
    on_device = isinstance(xs, jax.Array) and xs.size >= BUCKET_BELOW
    if not on_device:  # one transfer of a small device batch, not one per call
        xs = np.asarray(xs)
        ws = None if ws is None else np.asarray(ws)
    parts = []
    for start in range(0, b, per_call):
        stop = min(start + per_call, b)
        idx = np.arange(start, start + per_call).clip(max=stop - 1)  # pad: repeat the last
        if on_device:
            xc = (xs if per_call == b and start == 0 else xs[idx]).astype(dtype)
            wc = None if ws is None else jnp.asarray(ws)[idx].astype(dtype)
            xc, wc = pad_columns(xc, wc, rows, dtype)
        else:
            xc = jax.device_put(_host_chunk(xs, idx, rows, dtype, True))
            wc = None
            if ws is not None or rows > xs.shape[1]:
                w_host = np.ones((per_call, xs.shape[1]), dtype) if ws is None else ws
                w_idx = np.arange(per_call) if ws is None else idx
                wc = jax.device_put(_host_chunk(w_host, w_idx, rows, dtype, False))
        out = jax.device_get(_batch_program(family, plan, xc, wc, init, fixed, key, n_free))
        parts.append(jax.tree.map(lambda a, k=stop - start: np.asarray(a)[:k], out))
        if on_call is not None:
            on_call(stop - start)
    if len(parts) == 1:
        return parts[0]
    return jax.tree.map(lambda *a: np.concatenate(a), *parts)
