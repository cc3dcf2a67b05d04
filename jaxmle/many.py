"""``fit_many`` and ``fit_groups``: thousands of datasets in one compiled program.

The datasets are checked for layout and padded here; the batch program
(:mod:`jaxmle._engine.batch`) checks their values, fits them all at once and
flags the invalid ones; the notes and the errors are made here, on the host.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax

from jaxmle._engine.batch import (
    BatchOutput,
    batch_rows,
    datasets_per_call as calls_of,
    device_data,
    free_dimension,
    run_batch,
)
from jaxmle._engine.batch_input import batch_arrays
from jaxmle._engine.plan import (
    FitOptions,
    check_fixed_init,
    key_for,
    make_plan,
    positive_int,
)
from jaxmle._engine.refit import RefitData
from jaxmle._engine.validation import (
    as_numeric_array,
    check_data_values,
    float_dtype,
    free_names,
    invalid_mask,
)
from jaxmle.families.base import Family
from jaxmle.families.registry import resolve
from jaxmle.inference.covariance import check_cov_type, with_cov_type
from jaxmle.results import GroupFits, ManyFitResult
from jaxmle.status import ConvergenceWarning, Status

__all__ = ["ON_INVALID", "fit_groups", "fit_many"]

ON_INVALID = ("raise", "flag")


def fit_many(
    fam: Family | str,
    x: Any,
    *,
    mask: Any = None,
    weights: Any = None,
    method: str = "auto",
    optimizer: optax.GradientTransformation | None = None,
    init: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    max_iter: int | None = None,
    tol: float | None = None,
    on_invalid: str = "raise",
    datasets_per_call: int | None = None,
    cov_type: str = "observed",
    chunk_size: int | None = None,
) -> ManyFitResult:
    """Fit ``fam`` to each of many datasets, in one compiled program.

    Args:
        fam: a family, family class or registered name.
        x: the datasets: an array ``(B, N)`` (``(B, N, d)`` for multivariate
            families), or a list of ``B`` arrays of different lengths
            (padded and masked for you).
        mask: optional boolean ``(B, N)``: ``False`` marks padding (pre-padded
            ragged data).
        weights: optional frequency weights like ``X`` (a list for a list).
        method, optimizer, init, fixed, max_iter, tol: as in
            :func:`jaxmle.fit`; ``init`` and ``fixed`` apply to every dataset.
        on_invalid: ``"raise"`` (default): a ``ValueError`` naming the invalid
            datasets (non-finite values, values outside the support, fewer
            observations than free parameters); ``"flag"``: their slots come
            back with NaN estimates, ``converged=False`` and a note, and all
            other datasets are fitted normally.
        datasets_per_call: datasets per compiled call (default: about
            ``2**24 / N``); results do not depend on it. Host (numpy) data are
            moved to the device one call's datasets at a time.
        cov_type: ``"observed"``, ``"expected"`` or ``"robust"``, as in
            :func:`jaxmle.fit`.
        chunk_size: deprecated name of ``datasets_per_call``.

    Returns:
        A :class:`~jaxmle.results.ManyFitResult`; ``res[i]`` is the
        ``i``-th dataset's :class:`~jaxmle.FitResult`. Degenerate but valid
        data (all values equal, where no regular MLE exists) are flagged with
        ``converged=False`` and a note.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> X = np.random.default_rng(0).gamma(2.0, 1.0, size=(100, 500))
        >>> res = jm.fit_many("gamma", X)
        >>> len(res), res.params["shape"].shape, bool(res.converged.all())
        (100, (100,), True)
    """
    family = resolve(fam)
    check_cov_type(cov_type)
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be 'raise' or 'flag', got {on_invalid!r}")
    if chunk_size is not None:
        warnings.warn(
            "fit_many(chunk_size=) is deprecated: it counts datasets; use datasets_per_call=",
            DeprecationWarning,
            stacklevel=2,
        )
        datasets_per_call = datasets_per_call or chunk_size
    if datasets_per_call is not None:
        if isinstance(datasets_per_call, bool) or not isinstance(
            datasets_per_call, (int, np.integer)
        ):
            raise TypeError(
                f"datasets_per_call must be a positive integer, got {datasets_per_call!r}"
            )
        datasets_per_call = positive_int("datasets_per_call", datasets_per_call)
    xs, ws = batch_arrays(family, x, mask, weights)
    dtype = float_dtype(xs)
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    options = FitOptions(method=method, optimizer=optimizer, max_iter=max_iter, tol=tol)
    plan = make_plan(family, options, fixed_v, dtype)
    rows = batch_rows(xs)  # the shape bucket of the datasets' length
    per_call = calls_of((rows, *xs.shape[2:]), datasets_per_call, xs.shape[0])
    n_free = free_dimension(family, xs.shape[1:], dtype, fixed_v)
    out = run_batch(
        family, plan, xs, ws, init_v, fixed_v, key_for(plan, None), n_free, per_call, rows
    )
    prepare = partial(device_data, family, dtype, rows)
    refit = RefitData(xs, ws, fixed_v, options, batched=True, prepare=prepare)
    result = _result(family, plan.method, fixed_v, out, xs, ws, on_invalid, n_free, refit)
    if cov_type == "observed":
        return result
    x_dev, w_dev = prepare(xs, ws)
    return with_cov_type(result, fixed_v, x_dev, w_dev, cov_type, batched=True)


def fit_groups(
    fam: Family | str, x: Any, groups: Any, *, weights: Any = None, **kwargs: Any
) -> GroupFits:
    """Fit ``fam`` separately to each group of long-format data.

    Args:
        fam: a family, family class or registered name.
        x: the observations, ``(N,)`` (``(N, d)`` for multivariate
            families), for example a DataFrame column.
        groups: a label per observation (integers, strings, ...), ``(N,)``.
        weights: optional frequency weights, ``(N,)``.
        **kwargs: passed to :func:`fit_many` (``method``, ``fixed``,
            ``on_invalid``, ...).

    Returns:
        A :class:`~jaxmle.results.GroupFits`: ``{label: FitResult}`` in
        sorted label order, with ``.batch`` (the :class:`ManyFitResult`) and
        ``to_table()`` / ``to_dataframe()``.
    """
    family = resolve(fam)
    vals = as_numeric_array("x", x)
    lab = np.asarray(groups)
    if lab.ndim != 1 or lab.shape[0] != vals.shape[0]:
        raise ValueError(f"groups must have shape ({vals.shape[0]},) like x, got shape {lab.shape}")
    if vals.shape[0] == 0:
        raise ValueError("x is empty: at least one observation is needed")
    if lab.dtype == object and any(v is None or v != v for v in lab.tolist()):
        raise ValueError("groups has missing labels (None or NaN); drop or label those rows")
    if lab.dtype.kind == "f" and np.isnan(lab).any():
        raise ValueError("groups has missing labels (NaN); drop or label those rows")
    try:
        labels, inverse = np.unique(lab, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            f"groups labels must be sortable (all numbers or all strings): {exc}"
        ) from None
    order = np.argsort(inverse, kind="stable")
    cuts = np.cumsum(np.bincount(inverse, minlength=labels.shape[0]))[:-1]
    xs = np.split(vals[order], cuts)
    ws = None
    if weights is not None:
        w = as_numeric_array("weights", weights)
        if w.shape != (vals.shape[0],):
            raise ValueError(f"weights must have shape ({vals.shape[0]},), got shape {w.shape}")
        ws = np.split(w[order], cuts)
    return GroupFits(labels, fit_many(family, xs, weights=ws, **kwargs))


def _result(family, method, fixed_v, out: BatchOutput, xs, ws, on_invalid, n_free, refit):
    check = out.check
    invalid = np.asarray(check.invalid)
    n_bad, n_seen = np.asarray(check.n_bad), np.asarray(check.n_seen)
    notes = [""] * invalid.shape[0]
    for i in np.flatnonzero(invalid):
        notes[i] = _invalid_note(family, xs, ws, int(i), int(n_bad[i]), int(n_seen[i]), n_free)
    for i in np.flatnonzero(np.asarray(check.degenerate)):
        row = np.asarray(xs[i])
        row = row if ws is None else row[np.asarray(ws[i]) > 0]
        notes[i] = f"every observation equals {np.array2string(row[0], precision=6)}"
    if invalid.any() and on_invalid == "raise":
        bad = np.flatnonzero(invalid)
        shown = ", ".join(map(str, bad[:5])) + (", ..." if bad.size > 5 else "")
        raise ValueError(
            f"{bad.size} of {invalid.size} datasets are invalid (datasets {shown}); "
            f"dataset {bad[0]}: {notes[bad[0]]}. Fix or drop them, or pass "
            "on_invalid='flag' to fit the others and get NaN for these"
        )
    free = free_names(family, fixed_v)
    res = ManyFitResult.from_output(
        family, method, free, n_free, out, out.estimates, refit, note=tuple(notes)
    )
    status = np.asarray(res.status)
    failed = np.flatnonzero(~np.isin(status, [Status.CONVERGED, Status.INVALID_DATA]))
    if failed.size:
        shown = ", ".join(map(str, failed[:5])) + (", ..." if failed.size > 5 else "")
        warnings.warn(
            f"{family.name}: {failed.size} of {status.size} fits did not converge "
            f"(datasets {shown}); see res.message",
            ConvergenceWarning,
            stacklevel=3,
        )
    return res


def _invalid_note(family, xs, ws, i, n_bad, n_seen, n_free) -> str:
    if n_bad:
        row = np.asarray(xs[i])
        if ws is not None:  # unobserved entries: not reported, positions kept
            seen = np.asarray(ws[i]) > 0
            ok = seen & ~np.asarray(invalid_mask(family, jnp.asarray(row)))
            if ok.any():
                fill = row[np.argmax(ok)]
                row = np.where(seen.reshape(seen.shape + (1,) * (row.ndim - 1)), row, fill)
            else:
                row = row[seen]
        try:
            check_data_values(family, row)
        except ValueError as exc:
            return str(exc)
        return f"{n_bad} invalid value(s)"
    need = max(n_free, 1)
    return f"too few observations: {n_seen} < {need} (the free parameters)"
