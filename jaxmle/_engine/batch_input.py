"""Many datasets as one rectangular batch: layout checks, ragged padding, masks.

A batch is ``X`` of shape ``(B, N)`` (``(B, N, d)`` for multivariate
families) and weights ``W`` of shape ``(B, N)``; a list of datasets of
different lengths is padded to the longest with a value of the same dataset
and weight 0, and a boolean mask becomes weights 0/1. Values are checked on
the device, in the batch program.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.validation import as_numeric_array, float_dtype
from jaxmle.families.base import Family

__all__ = ["batch_arrays", "check_weight_array", "pad_ragged"]


def batch_arrays(family: Family, X: Any, mask: Any, weights: Any):
    """``(X, W)`` as rectangular numpy/JAX arrays ``(B, N[, d])`` and ``(B, N)``
    (``W`` is ``None`` when there is neither mask nor weights nor padding)."""
    event = family.event_ndim
    if isinstance(X, (list, tuple)):
        if mask is not None:
            raise ValueError("mask= is for a padded array; a list of datasets is masked for you")
        return pad_ragged(family, X, weights)
    if isinstance(X, jax.Array):
        xs = X
        if not jnp.issubdtype(xs.dtype, jnp.number) or jnp.iscomplexobj(xs):
            raise TypeError(f"x must hold real numbers, got dtype {xs.dtype}")
    else:
        xs = as_numeric_array("x", X)
    want = 2 + event
    if xs.ndim != want:
        shape = "(B, N)" if event == 0 else "(B, N, d)"
        hint = "; for one dataset use jm.fit" if xs.ndim == want - 1 else ""
        raise ValueError(
            f"x must have shape {shape}: B datasets of N observations, got shape {xs.shape}{hint}"
        )
    if xs.shape[0] == 0 or xs.shape[1] == 0:
        raise ValueError(f"x is empty (shape {xs.shape}): at least one dataset and observation")
    ws = None
    if weights is not None:
        ws = check_weight_array("weights", weights, xs.shape[:2])
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"mask must be boolean (True = observed), got dtype {m.dtype}")
        if m.shape != xs.shape[:2]:
            raise ValueError(f"mask must have shape {xs.shape[:2]} like x, got shape {m.shape}")
        ws = m.astype(np.float64) if ws is None else np.where(m, ws, 0.0)
    return xs, ws


def check_weight_array(name, weights, shape):
    w = as_numeric_array(name, weights).astype(np.float64, copy=False)
    if w.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like x, got shape {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        b, i = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite and >= 0; {int(bad.sum())} are not, first at "
            f"dataset {b}, position {i}: {w[b, i]!r}"
        )
    return w


def pad_ragged(family: Family, datasets, weights):
    event = family.event_ndim
    rows = [as_numeric_array(f"x[{i}]", a) for i, a in enumerate(datasets)]
    if not rows:
        raise ValueError("x is an empty list: at least one dataset is needed")
    for i, r in enumerate(rows):
        if r.ndim != 1 + event:
            shape = "(n_i,)" if event == 0 else "(n_i, d)"
            raise ValueError(f"x[{i}] must have shape {shape}, got shape {r.shape}")
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
            wi = check_weight_array(f"weights[{i}]", np.asarray(wi)[None], (1, r.shape[0]))
            ws[i, : r.shape[0]] = wi[0]
    elif (lengths != n).any():
        ws = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float64)
    return xs, ws
