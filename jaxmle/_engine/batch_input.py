"""Many datasets as one rectangular batch: layout checks, ragged padding, masks.

A batch is ``X`` of shape ``(B, N)`` (``(B, N, d)`` for multivariate
families) and weights ``W`` of shape ``(B, N)``; a list of datasets of
different lengths is padded to the longest with a value of the same dataset
and weight 0, and a boolean mask becomes weights 0/1. Values are checked on
the device, in the batch program; what the compute dtype cannot hold is
checked here, on the host. :class:`Origin` says where each dataset came
from, so that messages name it as the user knows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.validation import as_numeric_array, convert, float_dtype, narrows
from jaxmle.families.base import Family

__all__ = ["Origin", "batch_arrays", "check_weight_array", "pad_ragged"]


@dataclass(frozen=True)
class Origin:
    """Where the datasets of a batch came from, for messages.

    Attributes:
        labels: the group label of each dataset (``fit_groups``), or ``None``:
            datasets are named by their index.
        rows: for groups, the rows of the user's long-format data that each
            dataset holds, in order (``None``: a dataset's own positions).
        values: for groups, the user's long-format data as given (quoted in
            messages; the datasets themselves may be converted copies).
    """

    labels: Sequence[Any] | None = None
    rows: Sequence[np.ndarray] | None = None
    values: np.ndarray | None = None

    @property
    def kind(self) -> str:
        """``"datasets"`` or ``"groups"``."""
        return "datasets" if self.labels is None else "groups"

    def label(self, i: int) -> str:
        """Dataset ``i`` as the user knows it: its index, or its group label."""
        if self.labels is None:
            return str(i)
        v = self.labels[i]
        return repr(v.item() if isinstance(v, np.generic) else v)

    def name(self, i: int) -> str:
        """``"dataset 2"`` or ``"group 'b'"``."""
        return f"{self.kind[:-1]} {self.label(i)}"

    def index(self, i: int) -> np.ndarray | None:
        """The user's row of each position of dataset ``i`` (``None``: the position)."""
        return None if self.rows is None else self.rows[i]


def batch_arrays(family: Family, X: Any, mask: Any, weights: Any, origin: Origin = Origin()):
    """``(X, W)`` as rectangular numpy/JAX arrays ``(B, N[, d])`` and ``(B, N)``
    (``W`` is ``None`` when there is neither mask nor weights nor padding)."""
    event = family.event_ndim
    if isinstance(X, (list, tuple)):
        if mask is not None:
            raise ValueError("mask= is for a padded array; a list of datasets is masked for you")
        return pad_ragged(family, X, weights, origin)
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
    if isinstance(xs, np.ndarray) and narrows(xs.dtype, float_dtype(xs)):
        _check_held(xs, float_dtype(xs), origin)
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


def _check_held(xs: np.ndarray, dtype: np.dtype, origin: Origin) -> None:
    """A ``ValueError`` naming the first dataset with values that ``dtype``
    cannot hold (the whole batch is checked at once; its datasets on failure)."""
    try:
        convert("x", xs, dtype)
    except ValueError:
        for i in range(xs.shape[0]):
            _convert_dataset(xs[i], dtype, origin, i)
        raise


def _convert_dataset(r: np.ndarray, dtype: np.dtype, origin: Origin, i: int) -> np.ndarray:
    try:
        return convert("x", r, dtype, index=origin.index(i))
    except ValueError as exc:
        raise ValueError(f"{origin.name(i)}: {exc}") from None


def check_weight_array(name: str, weights: Any, shape: Sequence[int], first: int = 0) -> np.ndarray:
    """``weights`` as float64 of ``shape`` ``(B, N)``; a ``ValueError`` naming
    the first dataset (counted from ``first``) and position of a value that is
    not finite and >= 0, quoted as given."""
    given = as_numeric_array(name, weights)
    w = given.astype(np.float64, copy=False)
    if w.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like x, got shape {w.shape}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        b, i = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite and >= 0; {int(bad.sum())} are not, first at "
            f"dataset {first + b}, position {i}: {float(given[b, i])!r}"
        )
    return w


def pad_ragged(family: Family, datasets, weights, origin: Origin = Origin()):
    """A list of datasets as one padded batch ``(B, N[, d])`` in the compute
    dtype, with weights (0 on the padding); values that dtype cannot hold
    raise a ``ValueError`` naming their dataset (``origin``)."""
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
        xs[i, : r.shape[0]] = _convert_dataset(r, dtype, origin, i)
        if 0 < r.shape[0] < n:
            xs[i, r.shape[0] :] = xs[i, 0]  # a value of the same dataset: padding stays valid
    ws = None
    if weights is not None:
        if not isinstance(weights, (list, tuple)) or len(weights) != len(rows):
            raise ValueError("weights for a list of datasets must be a list of the same length")
        ws = np.zeros((len(rows), n))
        for i, (wi, r) in enumerate(zip(weights, rows, strict=True)):
            w_row = as_numeric_array(f"weights[{i}]", wi)[None]
            wi = check_weight_array(f"weights[{i}]", w_row, (1, r.shape[0]), first=i)
            ws[i, : r.shape[0]] = wi[0]
    elif (lengths != n).any():
        ws = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float64)
    return xs, ws
