"""``fit_many`` and ``fit_groups``: thousands of datasets in one compiled program.

The datasets are checked for layout and padded here; the batch program
(:mod:`jaxmle._engine.batch`) checks their values, fits them all at once and
flags the invalid ones; the notes and the errors are made here, on the host.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import jax
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
from jaxmle._engine.batch_input import Origin, batch_arrays
from jaxmle._engine.hosts import (
    gather_rows,
    gather_texts,
    local_block,
    raise_first_error,
    spans_processes,
)
from jaxmle._engine.plan import (
    FitOptions,
    check_fixed_init,
    check_support_params,
    key_for,
    make_plan,
    positive_int,
    support_violation,
)
from jaxmle._engine.refit import RefitData
from jaxmle._engine.validation import (
    as_numeric_array,
    check_data_values,
    convert,
    float_dtype,
    free_names,
    locate,
)
from jaxmle.families.base import Family
from jaxmle.families.censored import with_censoring
from jaxmle.families.registry import resolve
from jaxmle.inference.covariance import check_cov_type, with_cov_type
from jaxmle.progress import progress_bar
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
    progress: bool | None = None,
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
        progress: a progress bar over the datasets on stderr, when they are
            fitted in several calls: ``None`` (default) on a terminal only,
            ``True`` always (needs tqdm), ``False`` never; see
            :mod:`jaxmle.progress`.

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
    family, x = with_censoring(resolve(fam), x)
    options = dict(
        mask=mask,
        weights=weights,
        method=method,
        optimizer=optimizer,
        init=init,
        fixed=fixed,
        max_iter=max_iter,
        tol=tol,
        on_invalid=on_invalid,
        datasets_per_call=datasets_per_call,
        cov_type=cov_type,
        chunk_size=chunk_size,
        progress=progress,
    )
    if spans_processes(x):
        return _fit_many_across_processes(family, x, **options)
    return _fit_many(family, x, Origin(), **options)


def _fit_many_across_processes(
    family: Family, x: jax.Array, *, mask: Any, weights: Any, on_invalid: str, **options: Any
) -> ManyFitResult:
    """:func:`fit_many` of a global array whose datasets (first axis) are
    spread over the processes of a ``jax.distributed`` run: each process fits
    its own datasets, then the results are gathered, so every process holds
    all of them in the datasets' order (``refit`` is not kept: each process
    holds only its own data). Invalid datasets are named in every process."""
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be 'raise' or 'flag', got {on_invalid!r}")
    local_x, index = local_block(x)

    def local_of(name: str, a: Any) -> Any:
        if a is None:
            return None
        if not spans_processes(a) or a.shape[:2] != x.shape[:2]:
            raise TypeError(
                f"{name} of datasets spread over processes must be a global array like x, "
                f"shape {x.shape[:2]}"
            )
        return local_block(a)[0]

    def fit_local() -> ManyFitResult:  # (an error of one process is raised in all of them)
        return _fit_many(
            family,
            local_x,
            Origin(),
            mask=local_of("mask", mask),
            weights=local_of("weights", weights),
            on_invalid="flag",
            **options,
        )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        local = raise_first_error(fit_local)
    for w in caught:  # (the convergence warning is made again below, with global indices)
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    leaves, treedef = jax.tree.flatten(local)
    order = np.argsort(gather_rows(index.astype(np.int32)), kind="stable")
    leaves = [np.asarray(a)[order] for a in gather_rows(leaves)]
    notes = [n for texts in gather_texts(list(local.note)) for n in texts]
    result = dataclasses.replace(
        jax.tree.unflatten(treedef, leaves), note=tuple(notes[i] for i in order), refit=None
    )
    status = np.asarray(result.status)
    invalid = np.flatnonzero(status == Status.INVALID_DATA)
    if invalid.size and on_invalid == "raise":
        raise _invalid_error(Origin(), invalid, status.size, result.note)
    _warn_unconverged(family, Origin(), status, stacklevel=4)
    return result


def _fit_many(
    family: Family,
    x: Any,
    origin: Origin,
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
    progress: bool | None = None,
) -> ManyFitResult:
    """:func:`fit_many` of datasets that came from ``origin`` (named in messages)."""
    check_cov_type(cov_type)
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be 'raise' or 'flag', got {on_invalid!r}")
    if chunk_size is not None:
        warnings.warn(
            "fit_many(chunk_size=) is deprecated: it counts datasets; use datasets_per_call=",
            DeprecationWarning,
            stacklevel=3,
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
    xs, ws = batch_arrays(family, x, mask, weights, origin)
    dtype = float_dtype(xs)
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    given = _given(x, xs, ws, origin)
    hit = support_violation(family, fixed, init, xs, ws, dtype)
    if hit is not None:  # name the first dataset it puts outside the support
        i = int(np.flatnonzero(hit[1].any(axis=1))[0])
        data, w, index = given(i)
        check_support_params(
            family, fixed, init, data, w, dtype, index=index, where=f"{origin.name(i)}: "
        )
    options = FitOptions(method=method, optimizer=optimizer, max_iter=max_iter, tol=tol)
    plan = make_plan(family, options, fixed_v, dtype)
    rows = batch_rows(xs)  # the shape bucket of the datasets' length
    per_call = calls_of((rows, *xs.shape[2:]), datasets_per_call, xs.shape[0])
    n_free = free_dimension(family, xs.shape[1:], dtype, fixed_v)
    b = xs.shape[0]
    bar = progress_bar(
        b, f"fit_many {family.name}", enabled=progress, unit="dataset", steps=-(-b // per_call)
    )
    with bar:
        out = run_batch(
            family, plan, xs, ws, init_v, fixed_v, key_for(plan, None), n_free, per_call, rows,
            on_call=bar.update,
        )  # fmt: skip
    prepare = partial(device_data, family, dtype, rows)
    refit = RefitData(xs, ws, fixed_v, options, batched=True, prepare=prepare)
    result = _result(family, plan.method, fixed_v, out, on_invalid, n_free, refit, origin, given)
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
            ``on_invalid``, ``progress``, ...).

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
    origin = Origin(labels, np.split(order, cuts), vals)
    # What the compute dtype cannot hold, by the rows of x (the groups get
    # converted copies, so it is checked once).
    xs = np.split(convert("x", vals, float_dtype(vals))[order], cuts)
    ws = None
    if weights is not None:
        w = as_numeric_array("weights", weights)
        if w.shape != (vals.shape[0],):
            raise ValueError(f"weights must have shape ({vals.shape[0]},), got shape {w.shape}")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            first = origin.label(int(inverse[np.argmax(bad)]))
            raise ValueError(
                f"weights must be finite and >= 0; {int(bad.sum())} are not: "
                f"{locate(bad, w, name='weights')} (the first in group {first})"
            )
        ws = np.split(w[order], cuts)
    return GroupFits(labels, _fit_many(family, xs, origin, weights=ws, **kwargs))


Given = Callable[[int], tuple[Any, Any, Any]]


def _given(x: Any, xs: Any, ws: Any, origin: Origin) -> Given:
    """``given(i)``: dataset ``i`` as the user gave it (to quote its values),
    its weights and the user's rows of its positions (``None``: positions)."""

    def given(i: int) -> tuple[Any, Any, Any]:
        if origin.values is not None:
            data = origin.values[origin.rows[i]]
        elif isinstance(x, (list, tuple)):
            data = np.asarray(x[i])
        else:
            data = xs[i]
        w = None if ws is None else np.asarray(ws[i])[: len(data)]
        return data, w, origin.index(i)

    return given


def _shown(origin: Origin, which: np.ndarray) -> str:
    return ", ".join(origin.label(int(i)) for i in which[:5]) + (", ..." if which.size > 5 else "")


def _result(
    family: Family,
    method: str,
    fixed_v: dict,
    out: BatchOutput,
    on_invalid: str,
    n_free: int,
    refit: RefitData,
    origin: Origin,
    given: Given,
) -> ManyFitResult:
    """The :class:`ManyFitResult`, with a note for each invalid or degenerate
    dataset; raises for invalid ones unless ``on_invalid == "flag"``."""
    check = out.check
    invalid = np.asarray(check.invalid)
    n_bad, n_seen = np.asarray(check.n_bad), np.asarray(check.n_seen)
    notes = [""] * invalid.shape[0]
    for i in np.flatnonzero(invalid):
        notes[i] = _invalid_note(family, given(int(i)), int(n_bad[i]), int(n_seen[i]), n_free)
    for i in np.flatnonzero(np.asarray(check.degenerate)):
        data, w, _ = given(int(i))
        row = np.asarray(data)
        row = row if w is None else row[w > 0]
        notes[i] = f"every observation equals {np.array2string(row[0], precision=6)}"
    if invalid.any() and on_invalid == "raise":
        raise _invalid_error(origin, np.flatnonzero(invalid), invalid.size, notes)
    free = free_names(family, fixed_v)
    res = ManyFitResult.from_output(
        family, method, free, n_free, out, out.estimates, refit, note=tuple(notes)
    )
    _warn_unconverged(family, origin, np.asarray(res.status), stacklevel=5)
    return res


def _invalid_error(origin: Origin, bad: np.ndarray, total: int, notes) -> ValueError:
    """The error for the invalid datasets ``bad`` of ``total``."""
    kind = origin.kind
    return ValueError(
        f"{bad.size} of {total} {kind} are invalid ({kind} {_shown(origin, bad)}); "
        f"{origin.name(int(bad[0]))}: {notes[bad[0]]}. Fix or drop them, or pass "
        "on_invalid='flag' to fit the others and get NaN for these"
    )


def _warn_unconverged(family: Family, origin: Origin, status: np.ndarray, stacklevel: int):
    """A :class:`ConvergenceWarning` naming the fits that did not converge."""
    failed = np.flatnonzero(~np.isin(status, [Status.CONVERGED, Status.INVALID_DATA]))
    if failed.size:
        warnings.warn(
            f"{family.name}: {failed.size} of {status.size} fits did not converge "
            f"({origin.kind} {_shown(origin, failed)}); see res.message",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )


def _invalid_note(family, given: tuple[Any, Any, Any], n_bad, n_seen, n_free) -> str:
    """Why a dataset is invalid: its first bad values, as given and located in
    the user's data (weight-0 positions are not data and are not reported)."""
    if n_bad:
        data, w, index = given
        row = np.asarray(data)
        index = np.arange(row.shape[0]) if index is None else np.asarray(index)
        if w is not None:
            seen = w > 0
            row, index = row[seen], index[seen]
        try:
            check_data_values(family, row, index=index)
        except ValueError as exc:
            return str(exc)
        return f"{n_bad} invalid value(s)"
    need = max(n_free, 1)
    return f"too few observations: {n_seen} < {need} (the free parameters)"
