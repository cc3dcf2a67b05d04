"""Validate user input before any computation, with messages that say what is
wrong, where, and what to do. Inputs are never modified: arrays are copied or
converted, never written to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.buckets import BUCKET_BELOW, fit_length
from jaxmle.families.base import Family

__all__ = [
    "X64_HINT",
    "as_numeric_array",
    "check_data_values",
    "convert",
    "float_dtype",
    "free_names",
    "invalid_mask",
    "locate",
    "narrows",
    "pad_weights",
    "prepare_data",
    "validate_data",
    "validate_params",
    "validate_partial_params",
    "validate_weights",
]

#: What to do when the compute dtype cannot hold the data (the CLI says ``--x64``).
X64_HINT = "enable float64 with jax.config.update('jax_enable_x64', True)"


def float_dtype(x: Any = None) -> np.dtype:
    """The float dtype to compute in: the data's own float dtype (float16 is
    promoted to float32), else float64 under ``jax_enable_x64``, else float32."""
    default = np.dtype(np.float64) if jax.config.jax_enable_x64 else np.dtype(np.float32)
    if x is not None:
        dt = np.dtype(x.dtype)
        if dt == np.float32 or (dt == np.float64 and jax.config.jax_enable_x64):
            return dt
        if dt == np.float16 or dt == jnp.bfloat16:
            return np.dtype(np.float32)
    return default


def _label(name: str, pos: tuple[int, ...], first_row: int, index: Any) -> str:
    """``name[row]`` (``name[row, j]`` inside a row) for the position ``pos``,
    the row counted in the user's data (``index[p]`` or ``first_row + p``)."""
    row = int(index[pos[0]]) if index is not None else first_row + int(pos[0])
    return f"{name}[{', '.join(map(str, (row, *pos[1:])))}]"


def _show(v: Any) -> str:
    return repr(float(v)) if np.ndim(v) == 0 else np.array2string(np.asarray(v), precision=6)


def locate(
    mask: np.ndarray,
    values: np.ndarray,
    *,
    name: str = "x",
    first_row: int = 0,
    index: Any = None,
    limit: int = 5,
) -> str:
    """The first ``limit`` positions where ``mask`` (one flag per row) is set,
    as ``x[row]=value`` with the rows of the user's data: ``index[p]`` for
    position ``p`` where ``index`` is given (a group's rows), else
    ``first_row + p`` (a chunk that starts at ``first_row``)."""
    idx = np.flatnonzero(mask)
    shown = ", ".join(
        f"{_label(name, (i,), first_row, index)}={_show(values[i])}" for i in idx[:limit]
    )
    more = f", ... ({idx.size - limit} more)" if idx.size > limit else ""
    return f"{shown}{more}"


def _in_chunk(chunk: int | None, first_row: int) -> str:
    return "" if chunk is None else f" (in chunk {chunk} of the stream, from x[{first_row}])"


def as_numeric_array(name: str, a: Any) -> np.ndarray:
    """``a`` as a numpy array of real numbers (a ``TypeError`` naming ``name`` if not)."""
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists, objects numpy cannot convert
        raise TypeError(f"{name} could not be converted to a numeric array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    return arr


def _checked_layout(family: Family, x: Any) -> np.ndarray | jax.Array:
    """``x`` as an array of the right rank, non-empty and numeric (values unchecked)."""
    if isinstance(x, jax.Array):
        arr = x
        if not (jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_):
            raise TypeError(f"x must hold real numbers, got dtype {arr.dtype}")
        if jnp.issubdtype(arr.dtype, jnp.complexfloating):
            raise TypeError(f"x must be real, got complex dtype {arr.dtype}")
    else:
        arr = as_numeric_array("x", x)
    want = 1 + family.event_ndim
    if arr.ndim != want:
        expected = (
            "(N,): one dataset of N observations"
            if want == 1
            else ("(N, d): N observations of dimension d")
        )
        hint = "; for many datasets at once use jm.fit_many" if arr.ndim == want + 1 else ""
        raise ValueError(
            f"x must have shape {expected} for {family.name}, got shape {arr.shape}{hint}"
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"x is empty (shape {arr.shape}): at least one observation is needed")
    return arr


def narrows(source: Any, target: Any) -> bool:
    """Whether converting floats of dtype ``source`` to ``target`` can
    overflow or underflow (float64 data computed in float32, ...)."""
    source, target = np.dtype(source), np.dtype(target)
    if source.kind != "f" or target.kind != "f":
        return False
    return bool(np.finfo(source).max > np.finfo(target).max)


_BLOCK = 1 << 16


def _suspect(v: np.ndarray, tiny: float) -> np.ndarray:
    """Converted values that may have lost the original: 0, subnormal or
    infinite (NaN is neither)."""
    mag = np.abs(v)
    return (mag < tiny) | (mag == np.inf)


def convert(
    name: str,
    a: np.ndarray,
    dtype: Any,
    *,
    first_row: int = 0,
    index: Any = None,
    chunk: int | None = None,
    hint: str = X64_HINT,
) -> np.ndarray:
    """``a`` as ``dtype`` (``a`` itself where it already is), or a ``ValueError``
    naming the values of ``a`` that ``dtype`` cannot hold: finite values that
    overflow to inf, and non-zero values that underflow to 0 or to a subnormal
    (which XLA flushes to 0 on CPU and GPU). Quotes the original values, at the
    rows of the user's data (see :func:`locate`). Checked only where the
    conversion narrows (:func:`narrows`), with a few vectorized passes."""
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore"):
        out = a.astype(dtype, copy=False)
    if not narrows(a.dtype, dtype):
        return out
    tiny = np.finfo(dtype).tiny
    flat = out.reshape(-1)
    # In cache-sized blocks: about the cost of the conversion itself.
    if not any(_suspect(flat[i : i + _BLOCK], tiny).any() for i in range(0, flat.size, _BLOCK)):
        return out
    suspect = _suspect(out, tiny)
    lost = np.zeros(a.shape, bool)
    src = a[suspect]
    lost[suspect] = np.isfinite(src) & (src != 0)
    if not lost.any():
        return out
    where = np.argwhere(lost)
    items = [
        f"{_label(name, tuple(pos), first_row, index)}={_show(a[tuple(pos)])} "
        + ("overflows to inf" if np.isinf(out[tuple(pos)]) else "underflows to 0")
        for pos in where[:5]
    ]
    more = f", ... ({len(where) - 5} more)" if len(where) > 5 else ""
    raise ValueError(
        f"{name} has {len(where)} value(s) that {dtype.name} cannot hold: "
        f"{', '.join(items)}{more}{_in_chunk(chunk, first_row)} ({dtype.name} is the compute "
        f"dtype; {hint}, or rescale the data)"
    )


def check_data_values(
    family: Family,
    x: Any,
    *,
    first_row: int = 0,
    index: Any = None,
    chunk: int | None = None,
) -> None:
    """Raise a ``ValueError`` naming the values of ``x`` that the compute dtype
    cannot hold (:func:`convert`), that are not finite, or that lie outside the
    family's support (on the host; used to explain a failed device check).
    Values are quoted as given and located in the user's data: ``x`` starts at
    row ``first_row`` (a streamed chunk, number ``chunk`` of an iterable of
    chunks) or its rows are ``index`` (a group of ``fit_groups``)."""
    arr = np.asarray(x)
    where = dict(first_row=first_row, index=index)
    vals = convert("x", arr, float_dtype(arr), chunk=chunk, **where)
    bad = ~np.isfinite(vals)
    if family.event_ndim:
        bad = bad.reshape(bad.shape[0], -1).any(axis=1)
    if bad.any():
        raise ValueError(
            f"x has {int(bad.sum())} observation(s) with non-finite values (NaN or inf) at "
            f"{locate(bad, arr, **where)}{_in_chunk(chunk, first_row)}; drop or impute them"
        )
    # The device flushes subnormals to 0: check what it sees.
    subnormal = (vals != 0) & (np.abs(vals) < np.finfo(vals.dtype).tiny)
    seen = np.where(subnormal, np.zeros((), vals.dtype), vals) if subnormal.any() else vals
    outside = ~np.asarray(family.support.contains(seen), dtype=bool)
    if outside.any():
        flushed = ""
        if (subnormal.reshape(outside.shape[0], -1).any(axis=1) & outside).any():
            fix = f"{X64_HINT} or " if vals.dtype != np.float64 else ""
            flushed = (
                f"; values below {np.finfo(vals.dtype).tiny:.3g} are subnormal in "
                f"{vals.dtype.name} and flushed to 0 on the device ({fix}rescale the data)"
            )
        raise ValueError(
            f"x has {int(outside.sum())} value(s) outside the support of "
            f"{family.name} ({family.support.description}): "
            f"{locate(outside, arr, **where)}{_in_chunk(chunk, first_row)}{flushed}"
        )


def invalid_mask(family: Family, x: jax.Array) -> jax.Array:
    """Traceable: ``True`` for each observation that is not finite or lies
    outside the family's support (rows, for multivariate data)."""
    finite = jnp.isfinite(x)
    if family.event_ndim:
        finite = jnp.all(finite.reshape(finite.shape[0], -1), axis=1)
    # What the density sees: non-finite values aside, subnormals as 0 (XLA
    # flushes them in arithmetic, though not always in comparisons).
    seen = jnp.where(finite_values(x), x, 0)
    return ~(finite & family.support.contains(seen))


def finite_values(x: jax.Array) -> jax.Array:
    """Traceable: finite and not subnormal (subnormals count as 0)."""
    return jnp.isfinite(x) & (jnp.abs(x) >= jnp.finfo(x.dtype).tiny)


def prepare_data(family: Family, x: Any, *, bucketed: bool = False) -> tuple[Any, int]:
    """``(x, n)``: ``x`` as a float array of shape ``(N,)`` or ``(N, d)`` (a JAX
    array as given, else a host numpy array),
    checked for type, shape and emptiness, and ``n`` its number of observations;
    its *values* are checked on the device inside the fit (:func:`invalid_mask`),
    fused with the first pass over the data, and explained by
    :func:`check_data_values` when that check fails.

    With ``bucketed``, the rows are padded to :func:`~jaxmle._engine.buckets.fit_length`
    with copies of the first row (give them weight 0: :func:`pad_weights`) on
    the host, while they are copied (data of ``BUCKET_BELOW`` rows or more keep
    their shape, ``N == n``). A JAX array in the compute dtype that is not
    padded is used as it is (no copy)."""
    arr = _checked_layout(family, x)
    dtype = float_dtype(arr)
    n = arr.shape[0]
    on_device = isinstance(arr, jax.Array)
    rows = fit_length(n) if bucketed else n
    if on_device and rows == n:
        return (arr if arr.dtype == dtype else arr.astype(dtype)), n
    # Padded on the host (a small device array makes the round trip): no
    # compiled program per length.
    host = convert("x", np.asarray(arr), dtype)
    if rows > n:
        padded = np.empty((rows, *host.shape[1:]), dtype)
        padded[:n] = host
        padded[n:] = host[:1]
        host = padded
    # Small data stay on the host: the compiled program's call copies them to
    # the device (a separate device_put costs more; jnp.asarray would compile
    # a program). Large data move once, for the fit and every refit after it.
    return (host if rows < BUCKET_BELOW else jax.device_put(host)), n


def pad_weights(w: Any, n: int, rows: int, dtype, *, always: bool = False) -> Any:
    """Weights for ``rows`` rows of which the first ``n`` are the data: ``w``
    (or ones), then zeros; ``w`` itself when ``rows == n``, unless ``always``
    (then ones for ``None``: a length that fills its bucket exactly runs the
    bucket's weighted program too). Made on the host and, below
    ``BUCKET_BELOW`` rows, left there (as :func:`prepare_data` leaves the data)."""
    if rows == n and (w is not None or not always):
        return w if w is None or rows < BUCKET_BELOW else jax.device_put(w)
    head = np.ones(n, dtype) if w is None else np.asarray(w, dtype)
    return np.concatenate([head, np.zeros(rows - n, dtype)])


def validate_data(family: Family, x: Any) -> jax.Array:
    """Check ``x`` for ``family`` and return it as a float JAX array of shape
    ``(N,)`` (univariate) or ``(N, d)`` (multivariate families).

    Raises:
        TypeError: not numeric.
        ValueError: wrong shape, empty, NaN/inf, or outside the family's support
            (the message gives how many observations and the first offending ones).
    """
    arr = _checked_layout(family, x)
    check_data_values(family, arr)
    return prepare_data(family, arr)[0]


def validate_weights(w: Any, n: int, dtype: np.dtype) -> np.ndarray | None:
    """Check frequency weights: shape ``(n,)``, finite, >= 0, not all zero; a
    host array of ``dtype`` (a copy where ``w`` was of another type)."""
    if w is None:
        return None
    arr = as_numeric_array("weights", w)
    if arr.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) like x, got shape {arr.shape}")
    vals = convert("weights", arr, dtype)
    bad = ~np.isfinite(vals)
    if bad.any():
        raise ValueError(
            f"weights has {int(bad.sum())} non-finite value(s): {locate(bad, arr, name='weights')}"
        )
    neg = vals < 0
    if neg.any():
        raise ValueError(
            f"weights must be >= 0; {int(neg.sum())} negative: {locate(neg, arr, name='weights')}"
        )
    if not (vals > 0).any():
        raise ValueError("weights are all zero: no observation is left to fit")
    return vals


def _check_value(family: Family, name: str, value: Any, what: str, dtype) -> jax.Array:
    con = family.constraints[name]
    kind = ("a number", "a vector", "a matrix")[con.event_ndim]
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{what} {name!r} must be {kind}, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} {name!r} must be {kind}, got {value!r}") from None
    if arr.ndim != con.event_ndim:
        if con.event_ndim == 0:
            raise ValueError(f"{what} {name!r} must be a scalar, got shape {arr.shape}")
        raise ValueError(f"{what} {name!r} must be {kind}, got shape {arr.shape}")
    if not bool(np.all(con.contains(arr))):
        shown = repr(float(arr)) if arr.ndim == 0 else np.array2string(arr, precision=6)
        raise ValueError(
            f"{what} {name!r}={shown} is outside its valid set {con.description} for {family.name}"
        )
    return jnp.asarray(arr, dtype=dtype)


def free_names(family: Family, fixed: Mapping[str, Any]) -> tuple[str, ...]:
    """The estimated (not fixed) parameters, in the family's order."""
    return tuple(k for k in family.param_names if k not in fixed)


def validate_partial_params(
    family: Family, params: Mapping[str, Any] | None, what: str, dtype
) -> dict[str, jax.Array]:
    """Check a mapping of some of ``family``'s parameters (``fixed=``, ``init=``)."""
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(
            f"{what} must be a dict of parameter name -> value, got {type(params).__name__}"
        )
    unknown = [k for k in params if k not in family.param_names]
    if unknown:
        raise ValueError(
            f"{what} names unknown parameter(s) {unknown} for {family.name}; "
            f"its parameters are {list(family.param_names)}"
        )
    checked = {
        k: _check_value(family, k, params[k], what, dtype)
        for k in family.param_names
        if k in params
    }
    family.check_params(checked)
    return checked


def validate_params(family: Family, params: Mapping[str, Any], dtype) -> dict[str, jax.Array]:
    """Check a complete parameter mapping for ``family``."""
    checked = validate_partial_params(family, params, "params", dtype)
    missing = [k for k in family.param_names if k not in checked]
    if missing:
        raise ValueError(
            f"params is missing {missing} for {family.name}; it needs {list(family.param_names)}"
        )
    return checked
