r"""Fits in well-scaled units: data of any magnitude, the same estimates.

A family that declares how its parameters follow a change of units
(:class:`~jaxmle.families.units.Equivariance`) is fitted to

.. math:: y = (x - a) / b,

where ``b = 2^e`` is the power of two just above the spread of the data
(clamped so that ``b`` and ``1/b`` are normal numbers) and ``a`` (families
with a location) is 0 unless the data sit far from zero compared with
their spread (``1e9 + N(0, 1)``): then the median of 63 evenly spaced rows
when it exceeds 16 times their interquartile range (nearest the bulk, heavy
tails included), else their midrange when it exceeds 16 times their
half-range, and at least ``2 tiny / eps`` in magnitude. Both choices make
the transformation exact in floating point for the values that set them
(``x - a`` is exact when ``a/2 <= x <= 2a``, Sterbenz's lemma, as no such
difference then falls below the smallest normal number ``tiny``, and
dividing by a power of two only moves the exponent; values far outside
lose at most the last digit), so the fit of
``y`` is the fit of ``x`` carried out where no sum overflows or underflows,
where a location of ``1e9`` does not swallow a scale of ``1``, and where the
solver's tolerances mean the same at every magnitude. The estimates map back
exactly as the family declares (``loc -> a + b loc``, ``scale -> b scale``,
``rate -> rate / b``, ``log-location -> loc + log b``), their covariance by
the diagonal Jacobian of that map, and the log-likelihood changes by
``-n log b``. Closed forms and sufficient statistics read data of ordinary
magnitude as given (:meth:`Standardization.needed`): XLA:CPU's fused sums
over ``c x`` run up to three times slower than over ``x``.

Everything here traces inside the fit program: ``a`` and ``e`` are arrays,
so one program serves every dataset. Up to ``_WHOLE`` values (padding
included) the range is the data's own; above, that of a static strided
subsample of ``_SUBSAMPLE`` values (no extra pass over large data: any
``b`` within a few orders of magnitude of the spread serves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families.base import Family

__all__ = ["Standardization", "flushed_location", "out_of_range", "standardization"]

_SUBSAMPLE = 1024
_WHOLE = 1 << 18
_OFFSET = 16.0
_CENTRE = 63


class Standardization(NamedTuple):
    """``y = (x - shift) * 2**-exponent``: the data's change of units."""

    shift: jax.Array  # a
    exponent: jax.Array  # e (int32): b = 2**e
    centre: jax.Array  # a robust centre of y (sufficient statistics are taken about it)

    def identity(self) -> Standardization:
        """No change of units (``a = 0``, ``b = 1``), the centre in the data's units."""
        b = self._power(1, self.centre.dtype)
        return Standardization(
            shift=jnp.zeros_like(self.shift),
            exponent=jnp.zeros_like(self.exponent),
            centre=self.shift.astype(self.centre.dtype) + self.centre * b,
        )

    def apply(self, x: jax.Array) -> jax.Array:
        """``(x - a) / b`` (exact; per column for multivariate data)."""
        lead = (1,) * (x.ndim - self.shift.ndim)
        shift = self.shift.astype(x.dtype).reshape(lead + self.shift.shape)
        return (x - shift) * self._power(-1, x.dtype).reshape(lead + self.shift.shape)

    def needed(self, dtype) -> jax.Array:
        """Whether the data are offset or far enough from unit magnitude
        (``|e|`` above an eighth of the dtype's exponent range) that a closed
        form computed on them as given could lose digits, overflow or
        underflow (the closed-form path standardizes only then: its sums over
        a standardized copy cost a pass more)."""
        limit = np.finfo(dtype).maxexp // 8
        return jnp.any(self.shift != 0) | jnp.any(jnp.abs(self.exponent) > limit)

    def log_scale(self, dtype) -> jax.Array:
        """``log b`` (univariate data: the shift of a log-location)."""
        return self.exponent.astype(dtype) * np.log(2.0).astype(dtype)

    def log_jacobian(self, n) -> jax.Array:
        """``n log|det B|``, with ``B`` the change of units of one
        observation (``b``, or ``diag(b_1..b_d)`` for rows): the
        standardized log-likelihood minus this is the data's."""
        return n * jnp.sum(self.log_scale(jnp.result_type(n)))

    def _power(self, p: int, dtype) -> jax.Array:
        """``b**p`` (exact: a power of two; a vector for multivariate data)."""
        return jnp.ldexp(jnp.ones((), dtype), p * self.exponent)

    def _scale_of(self, power: int, value) -> jax.Array:
        """The factor ``theta_x / theta_y`` of a parameter with this
        ``power``: ``b**power``, or for a matrix of multivariate data (a
        covariance, ``power`` 2) ``b_i**(power/2) b_j**(power/2)``."""
        dtype = jnp.result_type(value)
        if jnp.ndim(value) < 2 or self.exponent.ndim == 0:
            return self._power(power, dtype)
        half = self._power(power // 2, dtype)
        return half[:, None] * half[None, :]

    def _factor(self, family: Family, name: str, value) -> jax.Array:
        """``d theta_x / d theta_y`` for the parameter ``name`` (``value``:
        its shape and dtype)."""
        eq = family.equivariance
        if name in eq.location:
            return self._power(1, jnp.result_type(value))
        if name in eq.scale:
            return self._scale_of(eq.scale[name], value)
        return jnp.ones((), jnp.result_type(value))

    def params_in(self, family: Family, params: Mapping[str, Any]) -> dict[str, jax.Array]:
        """``params`` (in the data's units) in the standardized units."""
        eq = family.equivariance
        out = {}
        for k, v in params.items():
            v = jnp.asarray(v)
            if k in eq.location:
                v = (v - self.shift.astype(v.dtype)) * self._power(-1, v.dtype)
            elif k in eq.scale:
                v = v / self._scale_of(eq.scale[k], v)
            elif k in eq.log_location:
                v = v - self.log_scale(v.dtype)
            out[k] = v
        return out

    def params_out(self, family: Family, params: Mapping[str, Any]) -> dict[str, jax.Array]:
        """``params`` (standardized units) in the data's units."""
        eq = family.equivariance
        out = {}
        for k, v in params.items():
            if k in eq.location:
                v = self.shift.astype(v.dtype) + v * self._power(1, v.dtype)
            elif k in eq.scale:
                v = v * self._scale_of(eq.scale[k], v)
            elif k in eq.log_location:
                v = v + self.log_scale(v.dtype)
            out[k] = v
        return out

    def estimates_out(
        self, family: Family, params, cov, stderr, fixed: Mapping[str, Any]
    ) -> tuple[dict, jax.Array, dict]:
        """``(params, cov, stderr)`` in the data's units: parameters mapped back
        (fixed ones as given), the covariance ``D C D`` with ``D`` the diagonal
        Jacobian of the map, the standard errors ``|D| se`` (``stderr``: the
        free parameters, in ``cov``'s order)."""
        mapped = self.params_out(family, params)
        mapped = {k: (fixed[k] if k in fixed else mapped[k]) for k in params}
        factors = {
            k: jnp.broadcast_to(self._factor(family, k, v).astype(cov.dtype), jnp.shape(v))
            for k, v in stderr.items()
        }
        d = jnp.concatenate([f.reshape(-1) for f in factors.values()])
        stderr = {k: v * factors[k] for k, v in stderr.items()}
        return mapped, cov * jnp.outer(d, d), stderr


def standardization(
    family: Family, x: jax.Array, w: jax.Array | None = None
) -> Standardization | None:
    """The change of units for ``x`` (traced), or ``None`` for a family that
    declares no equivariance.

    ``b`` is the power of two with ``spread / b`` in ``[1/2, 1)``, where the
    spread is the largest ``|x - a|`` over the data or their subsample (see
    the module docstring). ``a`` is the median of ``_CENTRE`` evenly spaced
    observations (before any weight-0 padding) where it exceeds 16 times
    their interquartile range, else the midrange where it exceeds 16 times
    the half-range (an offset that swamps the spread), else 0. Non-finite values
    are ignored (the fit reports them); data without spread (constant) take
    ``b`` from ``|x|``, or 1. Rows of a multivariate family (``x`` of shape
    ``(n, d)``) get units per column: ``a`` and ``e`` of shape ``(d,)``.
    """
    eq = family.equivariance
    if eq is None or x.ndim != 1 + family.event_ndim or family.event_ndim > 1:
        return None
    if family.event_ndim:
        shift, e, centre = jax.vmap(_units, in_axes=(None, 1, None))(eq.shifts, x, w)
    else:
        shift, e, centre = _units(eq.shifts, x, w)
    return Standardization(shift=shift, exponent=e, centre=centre)


def _units(shifts: bool, x: jax.Array, w: jax.Array | None):
    """``(a, e, centre of y)`` of one column of data (see :func:`standardization`)."""
    n = x.shape[0]
    sub = x if n <= _WHOLE else x[:: n // _SUBSAMPLE]
    finite = jnp.isfinite(sub)
    hi = jnp.max(jnp.where(finite, sub, -jnp.inf))
    lo = jnp.min(jnp.where(finite, sub, jnp.inf))
    ok = jnp.any(finite)
    zero = jnp.zeros((), x.dtype)
    centre, iqr = _robust_centre(x, w)
    info = jnp.finfo(x.dtype)
    if shifts:
        # hi - lo overflows only for data spanning more than the dtype's range
        # (then halves, which lose nothing there); halves of values near the
        # smallest normal number would be flushed to 0.
        diff = hi - lo
        wide = ~jnp.isfinite(diff)
        mid = jnp.where(wide, 0.5 * hi + 0.5 * lo, lo + 0.5 * diff)
        half_range = jnp.where(wide, 0.5 * hi - 0.5 * lo, 0.5 * diff)
        mid, half_range = jnp.where(ok, mid, zero), jnp.where(ok, half_range, zero)
        # x - a is exact for x in [a/2, 2a] only where no difference is below the
        # smallest normal number (flushed to 0: values a few ulps from a of
        # 2e-38 in float32 would all become a): |a| >= 2 tiny / eps, where
        # ulp(a/2) >= tiny. (An interquartile range or half-range below the
        # smallest normal number, flushed to 0, makes any such a look far.)
        exact = 2.0 * info.tiny / info.eps
        far = (jnp.abs(centre) > _OFFSET * iqr) & (jnp.abs(centre) >= exact)
        off = (jnp.abs(mid) > _OFFSET * half_range) & (jnp.abs(mid) >= exact)
        # The median first: nearer the bulk of heavy-tailed data than the midrange.
        shift = jnp.where(far & ok, centre, jnp.where(off, mid, zero))
        spread = jnp.maximum(jnp.abs(hi - shift), jnp.abs(lo - shift))
        spread = jnp.where(ok & (half_range > 0), spread, jnp.abs(mid))
    else:
        shift = zero
        spread = jnp.where(ok, jnp.maximum(jnp.abs(hi), jnp.abs(lo)), zero)
    _, e = jnp.frexp(jnp.where(spread > 0, spread, jnp.ones((), x.dtype)))
    # b and 1/b both normal numbers (data within a few binades of the largest
    # float keep values up to 16 after the change).
    e = jnp.clip(e, info.minexp + 2, info.maxexp - 4).astype(jnp.int32)
    centre_y = (centre - shift) * jnp.ldexp(jnp.ones((), x.dtype), -e)
    return shift, e, centre_y


def _robust_centre(x: jax.Array, w: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """``(median, interquartile range)`` of ``_CENTRE`` observations evenly
    spaced over the rows before the weight-0 padding of a shape bucket
    (non-finite ones count as the first row's value: the fit reports them)."""
    n = x.shape[0]
    if w is None:
        rows = jnp.asarray(n)
    else:
        rows = jnp.max(jnp.where(w > 0, jnp.arange(n), -1)) + 1
    rows = jnp.maximum(rows, 1)
    idx = (jnp.arange(_CENTRE) * rows) // _CENTRE
    pick = x[idx]
    pick = jnp.sort(jnp.where(jnp.isfinite(pick), pick, x[0]))
    q1, q2, q3 = pick[_CENTRE // 4], pick[_CENTRE // 2], pick[(3 * _CENTRE) // 4]
    return q2, q3 - q1


def out_of_range(family: Family, params: Mapping[str, Any], xp: Any = jnp) -> Any:
    """Whether an estimate (one dataset's) of a family with units left the dtype's normal
    numbers: a scale or rate that under- or overflowed to 0 or inf (or below
    the smallest normal number), a location that overflowed. ``xp``: ``jnp``
    (traced, per dataset of a batch) or ``numpy`` (one result, on the host)."""
    eq = family.equivariance
    bad = xp.asarray(False)
    if eq is None:
        return bad
    for k in (*eq.scale, *eq.location):
        v = params[k]
        bad = bad | ~xp.all(xp.isfinite(v))
        if k in eq.scale:
            # a scale, or the variances on a covariance's diagonal
            size = v if v.ndim < 2 else xp.diagonal(v, axis1=-2, axis2=-1)
            bad = bad | xp.any(xp.abs(size) < xp.finfo(v.dtype).tiny)
    return bad


def flushed_location(
    family: Family, fitted: Mapping[str, Any], params: Mapping[str, Any], shift, xp: Any = jnp
) -> Any:
    """Whether a location estimate, non-zero in the fit's units (``fitted``:
    the free parameters there, unconstrained: a real location's value is its
    own coordinate), came back as exactly 0 from ``a + b loc`` with ``a = 0``
    (``shift``: ``a``, or ``None`` where the fit has no units): its
    value in the data's units is below the dtype's smallest normal number,
    and the device flushed it to 0 (data near that number whose mean nearly
    cancels). With ``a != 0`` (at least ``2 tiny / eps``) what is flushed is
    below half an ulp of ``a``: rounding. ``xp`` as for :func:`out_of_range`."""
    eq = family.equivariance
    bad = xp.asarray(False)
    if eq is None or shift is None:
        return bad
    for k in eq.location:
        if k in fitted and family.constraints[k].name in ("real", "real_vector"):
            zero = (params[k] == 0) & (shift == 0)
            bad = bad | xp.any(zero & (xp.asarray(fitted[k]) != 0))
    return bad
