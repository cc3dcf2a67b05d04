"""``fit_many`` and ``fit_groups``: thousands of datasets in one compiled program.

The single-dataset fit program (:func:`jaxmle.fit.fit_body`) is ``vmap``-ed
over a leading batch axis, so every method (closed form, sufficient
statistics, Newton, L-BFGS, optax) runs on all datasets at once. Iterative
solvers loop until every dataset has converged; ``vmap`` turns the loop's
per-dataset condition into a select, so a dataset that has converged stops
changing and keeps its own iteration count.

Ragged data are padded to a rectangle and masked by weight 0 (a masked value
contributes exactly 0 and is replaced by one of its dataset's valid values,
so no padding value can reach a derivative). Each dataset's data are checked
in the same program: non-finite values, values outside the support and too few
observations make it *invalid*; with ``on_invalid="flag"`` its slot is refitted
on a valid stand-in dataset and then set to NaN with ``converged=False``, so
one bad dataset never sinks the batch.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxmle.batch_result import GroupFits, ManyFitResult
from jaxmle.families.base import Family
from jaxmle.families.registry import resolve
from jaxmle.fit import (
    ConvergenceWarning,
    _as_key,
    _finish_body,
    _make_plan,
    check_fixed_init,
    fit_body,
    jit_fit,
)
from jaxmle.result import _DATA_FIELDS
from jaxmle.solvers.driver import Status
from jaxmle.validation import _as_numeric_array, check_data_values, float_dtype, invalid_mask

__all__ = ["fit_groups", "fit_many"]

ON_INVALID = ("raise", "flag")
# Datasets per program by default: about this many values (B x N) at once.
_CHUNK_VALUES = 1 << 24


def fit_many(
    fam: Family | str,
    X: Any,
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
    chunk_size: int | None = None,
    cov_type: str = "observed",
) -> ManyFitResult:
    """Fit ``fam`` to each of many datasets, in one compiled program.

    Args:
        fam: a family, family class or registered name.
        X: the datasets: an array ``(B, N)`` (``(B, N, d)`` for multivariate
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
        chunk_size: datasets per compiled call (default: about ``2**24 / N``);
            results do not depend on it. Host (numpy) data are moved to the
            device one chunk at a time.
        cov_type: ``"observed"``, ``"expected"`` or ``"robust"``, as in
            :func:`jaxmle.fit`.

    Returns:
        A :class:`~jaxmle.batch_result.ManyFitResult`; ``res[i]`` is the
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
    from jaxmle import inference
    from jaxmle.fit import FitContext

    family = resolve(fam)
    inference.check_cov_type(cov_type)
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be 'raise' or 'flag', got {on_invalid!r}")
    xs, ws = _batch_arrays(family, X, mask, weights)
    dtype = float_dtype(xs)
    b = xs.shape[0]
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    plan = _make_plan(family, method, optimizer, fixed_v, max_iter, tol, dtype, None, None)
    if chunk_size is None:
        chunk_size = max(1, _CHUNK_VALUES // max(1, int(np.prod(xs.shape[1:]))))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    elif chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = min(int(chunk_size), b)
    n_free = _free_dimension(family, xs, fixed_v)
    key = _as_key(None)

    parts = []
    for start in range(0, b, chunk_size):
        stop = min(start + chunk_size, b)
        idx = np.arange(start, start + chunk_size).clip(max=stop - 1)  # pad: repeat the last
        xc = _take(xs, idx, dtype)
        wc = None if ws is None else _take(ws, idx, dtype)
        out = _many_program(family, plan, xc, wc, init_v, fixed_v, key, n_free)
        parts.append(jax.tree.map(lambda a, k=stop - start: a[:k], out))
    out = parts[0] if len(parts) == 1 else jax.tree.map(lambda *a: jnp.concatenate(a), *parts)
    result = _result(family, plan.method, fixed_v, out, xs, ws, on_invalid, n_free)
    prepare = partial(_device_data, family, dtype)
    if cov_type != "observed":
        x_dev, w_dev = prepare(xs, ws)
        cov, stderr = inference.covariance_many(
            family, fixed_v, result.params, x_dev, w_dev, cov_type
        )
        stderr = {k: stderr[k] for k in result.free_names}  # jit sorts dict keys
        result = dataclasses.replace(result, cov=cov, stderr=stderr, cov_type=cov_type)
    context = FitContext(
        x=xs, w=ws, fixed=fixed_v, method=method, optimizer=optimizer,
        max_iter=max_iter, tol=tol, batched=True, prepare=prepare,
    )  # fmt: skip
    return context.attach(result)


def _device_data(family, dtype, x, w):
    """``(x, w)`` as device arrays with masked values cleaned: a batch
    ``(B, N[, d])``, or one of its datasets."""
    xd = jnp.asarray(x, dtype)
    wd = None if w is None else jnp.asarray(w, dtype)
    if wd is None:
        return xd, None
    if xd.ndim == 2 + family.event_ndim:
        return _clean_program(family, xd, wd), wd
    return _clean_program(family, xd[None], wd[None])[0], wd


@partial(jax.jit, static_argnums=0)
def _clean_program(family, x, w):
    """Masked (weight 0) values replaced by one of their dataset's valid values."""
    if w is None:
        return x
    _, _, _, _, first = jax.vmap(partial(_check_one, family))(x, w)
    return _fill_masked(x, w, first)


def _fill_masked(x, w, first):
    """``x`` with each weight-0 value replaced by its dataset's value at ``first``."""
    fill = jnp.take_along_axis(x, first.reshape((-1, 1) + (1,) * (x.ndim - 2)), axis=1)
    seen = (w > 0).reshape(w.shape + (1,) * (x.ndim - 2))
    return jnp.where(seen, x, fill)


def fit_groups(
    fam: Family | str, values: Any, groups: Any, *, weights: Any = None, **kwargs: Any
) -> GroupFits:
    """Fit ``fam`` separately to each group of long-format data.

    Args:
        fam: a family, family class or registered name.
        values: the observations, ``(N,)`` (``(N, d)`` for multivariate
            families), for example a DataFrame column.
        groups: a label per observation (integers, strings, ...), ``(N,)``.
        weights: optional frequency weights, ``(N,)``.
        **kwargs: passed to :func:`fit_many` (``method``, ``fixed``,
            ``on_invalid``, ...).

    Returns:
        A :class:`~jaxmle.batch_result.GroupFits`: ``{label: FitResult}`` in
        sorted label order, with ``.batch`` (the :class:`ManyFitResult`) and
        ``to_table()`` / ``to_dataframe()``.
    """
    family = resolve(fam)
    vals = _as_numeric_array("values", values)
    lab = np.asarray(groups)
    if lab.ndim != 1 or lab.shape[0] != vals.shape[0]:
        raise ValueError(
            f"groups must have shape ({vals.shape[0]},) like values, got shape {lab.shape}"
        )
    if vals.shape[0] == 0:
        raise ValueError("values is empty: at least one observation is needed")
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
        w = _as_numeric_array("weights", weights)
        if w.shape != (vals.shape[0],):
            raise ValueError(f"weights must have shape ({vals.shape[0]},), got shape {w.shape}")
        ws = np.split(w[order], cuts)
    return GroupFits(labels, fit_many(family, xs, weights=ws, **kwargs))


# ---- input ---------------------------------------------------------------------


def _batch_arrays(family: Family, X, mask, weights):
    """``(X, W)`` as rectangular numpy/JAX arrays ``(B, N[, d])`` and ``(B, N)``
    (``W`` is ``None`` when there is neither mask nor weights nor padding)."""
    event = family.event_ndim
    if isinstance(X, (list, tuple)):
        if mask is not None:
            raise ValueError("mask= is for a padded array; a list of datasets is masked for you")
        return _pad_ragged(family, X, weights)
    if isinstance(X, jax.Array):
        xs = X
        if not jnp.issubdtype(xs.dtype, jnp.number) or jnp.iscomplexobj(xs):
            raise TypeError(f"X must hold real numbers, got dtype {xs.dtype}")
    else:
        xs = _as_numeric_array("X", X)
    want = 2 + event
    if xs.ndim != want:
        shape = "(B, N)" if event == 0 else "(B, N, d)"
        hint = "; for one dataset use jm.fit" if xs.ndim == want - 1 else ""
        raise ValueError(
            f"X must have shape {shape}: B datasets of N observations, got shape {xs.shape}{hint}"
        )
    if xs.shape[0] == 0 or xs.shape[1] == 0:
        raise ValueError(f"X is empty (shape {xs.shape}): at least one dataset and observation")
    ws = None
    if weights is not None:
        ws = _check_weight_array("weights", weights, xs.shape[:2])
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"mask must be boolean (True = observed), got dtype {m.dtype}")
        if m.shape != xs.shape[:2]:
            raise ValueError(f"mask must have shape {xs.shape[:2]} like X, got shape {m.shape}")
        ws = m.astype(np.float64) if ws is None else np.where(m, ws, 0.0)
    return xs, ws


def _check_weight_array(name, weights, shape):
    w = _as_numeric_array(name, weights).astype(np.float64, copy=False)
    if w.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like X, got shape {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        b, i = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite and >= 0; {int(bad.sum())} are not, first at "
            f"dataset {b}, position {i}: {w[b, i]!r}"
        )
    return w


def _pad_ragged(family: Family, datasets, weights):
    event = family.event_ndim
    rows = [_as_numeric_array(f"X[{i}]", a) for i, a in enumerate(datasets)]
    if not rows:
        raise ValueError("X is an empty list: at least one dataset is needed")
    for i, r in enumerate(rows):
        if r.ndim != 1 + event:
            shape = "(n_i,)" if event == 0 else "(n_i, d)"
            raise ValueError(f"X[{i}] must have shape {shape}, got shape {r.shape}")
    if event and len({r.shape[1:] for r in rows}) > 1:
        raise ValueError("the datasets' observations differ in dimension d")
    lengths = np.array([r.shape[0] for r in rows])
    n = max(1, int(lengths.max()))
    dtype = float_dtype(np.empty(0, np.result_type(*[r.dtype for r in rows])))
    xs = np.zeros((len(rows), n, *rows[0].shape[1:]), dtype)
    for i, r in enumerate(rows):
        xs[i, : r.shape[0]] = r
        if 0 < r.shape[0] < n:
            xs[i, r.shape[0] :] = r[0]  # a value of the same dataset: padding stays valid
    ws = None
    if weights is not None:
        if not isinstance(weights, (list, tuple)) or len(weights) != len(rows):
            raise ValueError("weights for a list of datasets must be a list of the same length")
        ws = np.zeros((len(rows), n))
        for i, (wi, r) in enumerate(zip(weights, rows, strict=True)):
            wi = _check_weight_array(f"weights[{i}]", np.asarray(wi)[None], (1, r.shape[0]))
            ws[i, : r.shape[0]] = wi[0]
    elif (lengths != n).any():
        ws = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float64)
    return xs, ws


def _take(a, idx, dtype):
    if isinstance(a, jax.Array):
        part = a if idx.shape[0] == a.shape[0] and (idx == np.arange(a.shape[0])).all() else a[idx]
        return part.astype(dtype)
    return jnp.asarray(np.asarray(a[idx]).astype(dtype, copy=False))


# ---- the program ---------------------------------------------------------------


def _free_dimension(family: Family, xs, fixed) -> int:
    """The number of free scalar parameters (unconstrained coordinates)."""
    from jaxmle.families.base import flatten_params

    free = tuple(k for k in family.param_names if k not in fixed)
    row = jax.ShapeDtypeStruct(xs.shape[1:], float_dtype(xs))
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


def _many_body(family, plan, x, w, init, fixed, key, n_free):
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

    raw = jax.vmap(lambda xb, wb: fit_body(family, plan, xb, wb, init, fixed, key))(x, w)
    raw.pop("n_invalid")
    free = tuple(k for k in family.param_names if k not in fixed)
    est = jax.vmap(lambda u, h, n, e: _finish_body(family, fixed, free, u, h, n, e))(
        raw.pop("u_parts"), raw.pop("hess_u"), raw["n"], raw.pop("exact")
    )
    est.pop("n_params")
    out = {**raw, **est}

    # Invalid datasets: NaN estimates; degenerate ones keep theirs but are flagged.
    def blank(v):
        if not jnp.issubdtype(v.dtype, jnp.floating):
            return v
        return jnp.where(invalid.reshape((-1,) + (1,) * (v.ndim - 1)), jnp.nan, v)

    fixed_vals = {k: jnp.broadcast_to(v, (x.shape[0], *v.shape)) for k, v in fixed.items()}
    out = {k: (v if k == "n" else jax.tree.map(blank, v)) for k, v in out.items()}
    out["params"] = {**out["params"], **fixed_vals}
    finite = jnp.isfinite(out["loglik"]) & jax.tree.reduce(
        jnp.logical_and,
        jax.tree.map(lambda v: jnp.all(jnp.isfinite(v.reshape(v.shape[0], -1)), axis=1), est),
    )
    degenerate = ~invalid & all_equal & ~finite
    status = jnp.where(degenerate, Status.DEGENERATE, out["status"])
    out["status"] = jnp.where(invalid, Status.INVALID_DATA, status).astype(jnp.int32)
    out["n"] = jnp.where(invalid, n_w, out["n"])
    out["n_iter"] = jnp.where(invalid, 0, out["n_iter"])
    out["n_passes"] = jnp.where(invalid, 0, out["n_passes"])
    return out, {"n_bad": n_bad, "n_seen": n_seen, "invalid": invalid, "degenerate": degenerate}


_many_program = jit_fit(_many_body, size_arg=2, static_argnums=(0, 1, 7))


# ---- the result ----------------------------------------------------------------


def _result(family, method, fixed_v, out, xs, ws, on_invalid, n_free) -> ManyFitResult:
    out, check = out
    invalid = np.asarray(check["invalid"])
    n_bad, n_seen = np.asarray(check["n_bad"]), np.asarray(check["n_seen"])
    notes = [""] * invalid.shape[0]
    for i in np.flatnonzero(invalid):
        notes[i] = _invalid_note(family, xs, ws, int(i), int(n_bad[i]), int(n_seen[i]), n_free)
    for i in np.flatnonzero(np.asarray(check["degenerate"])):
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
    free = tuple(k for k in family.param_names if k not in fixed_v)
    out["params"] = {k: out["params"][k] for k in family.param_names}
    out["stderr"] = {k: out["stderr"][k] for k in free}
    res = ManyFitResult(
        **{k: out[k] for k in _DATA_FIELDS},
        family=family,
        method=method,
        free_names=free,
        n_params=n_free,
        notes=tuple(notes),
    )
    status = np.asarray(res.status)
    failed = np.flatnonzero(~np.isin(status, [Status.CONVERGED, Status.INVALID_DATA]))
    if failed.size:
        shown = ", ".join(map(str, failed[:5])) + (", ..." if failed.size > 5 else "")
        warnings.warn(
            f"{family.name}: {failed.size} of {status.size} fits did not converge "
            f"(datasets {shown}); see res.messages",
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
