r"""Fits in well-scaled units: data of any magnitude, the same estimates.

A family that declares how its parameters follow a change of units
(:class:`~jaxmle.families.units.Equivariance`) is fitted to

.. math:: y = (x - a) / b,

where ``b = 2^e`` is the power of two just above the spread of the data
(clamped so that ``b`` and ``1/b`` are normal numbers) and ``a`` (families
with a location) is 0 unless the data sit far from zero compared with
their spread (``1e9 + N(0, 1)``): then their midrange, or for heavy tails
the median of 63 evenly spaced rows when it exceeds 16 times their
interquartile range. Both choices make the transformation exact in floating
point for the values that set them (``x - a`` is exact when ``a/2 <= x <=
2a``, Sterbenz's lemma, and dividing by a power of two only moves the
exponent; values far outside lose at most the last digit), so the fit of
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

__all__ = ["Standardization", "out_of_range", "standardization"]

_SUBSAMPLE = 1024
_WHOLE = 1 << 18
_OFFSET = 16.0
_CENTRE = 63


class Standardization(NamedTuple):
    """``y = (x - shift) * 2**-exponent``: the data's change of units."""

    shift: jax.Array  # a
    exponent: jax.Array  # e (int32): b = 2**e

    def apply(self, x: jax.Array) -> jax.Array:
        """``(x - a) / b`` (exact)."""
        return (x - self.shift.astype(x.dtype)) * self._power(-1, x.dtype)

    def needed(self, dtype) -> jax.Array:
        """Whether the data are offset or far enough from unit magnitude
        (``|e|`` above an eighth of the dtype's exponent range) that a closed
        form computed on them as given could lose digits, overflow or
        underflow (the closed-form path standardizes only then: its sums over
        a standardized copy cost a pass more)."""
        limit = np.finfo(dtype).maxexp // 8
        return (self.shift != 0) | (jnp.abs(self.exponent) > limit)

    def log_scale(self, dtype) -> jax.Array:
        """``log b``: the standardized log-likelihood minus ``n log b`` is the data's."""
        return self.exponent.astype(dtype) * np.log(2.0).astype(dtype)

    def _power(self, p: int, dtype) -> jax.Array:
        """``b**p`` (exact: a power of two)."""
        return jnp.ldexp(jnp.ones((), dtype), p * self.exponent)

    def _factor(self, family: Family, name: str, dtype) -> jax.Array:
        """``d theta_x / d theta_y`` for the parameter ``name``."""
        eq = family.equivariance
        if name in eq.location:
            return self._power(1, dtype)
        if name in eq.scale:
            return self._power(eq.scale[name], dtype)
        return jnp.ones((), dtype)

    def params_in(self, family: Family, params: Mapping[str, Any]) -> dict[str, jax.Array]:
        """``params`` (in the data's units) in the standardized units."""
        eq = family.equivariance
        out = {}
        for k, v in params.items():
            v = jnp.asarray(v)
            if k in eq.location:
                v = (v - self.shift.astype(v.dtype)) * self._power(-1, v.dtype)
            elif k in eq.scale:
                v = v * self._power(-eq.scale[k], v.dtype)
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
                v = v * self._power(eq.scale[k], v.dtype)
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
        factors = {k: self._factor(family, k, cov.dtype) for k in stderr}
        d = jnp.concatenate(
            [jnp.broadcast_to(f, (np.size(stderr[k]),)) for k, f in factors.items()]
        )
        stderr = {k: v * factors[k] for k, v in stderr.items()}
        return mapped, cov * jnp.outer(d, d), stderr


def standardization(
    family: Family, x: jax.Array, w: jax.Array | None = None
) -> Standardization | None:
    """The change of units for ``x`` (traced), or ``None`` for a family that
    declares no equivariance (or multivariate data).

    ``b`` is the power of two with ``spread / b`` in ``[1/2, 1)``, where the
    spread is the largest ``|x - a|`` over the data or their subsample (see
    the module docstring). ``a`` is the median of ``_CENTRE`` evenly spaced
    observations (before any weight-0 padding) where it exceeds 16 times
    their interquartile range or 16 times the data's half-range (an offset
    that swamps the spread, heavy tails included), else 0. Non-finite values
    are ignored (the fit reports them); data without spread (constant) take
    ``b`` from ``|x|``, or 1.
    """
    eq = family.equivariance
    if eq is None or family.event_ndim or x.ndim != 1:
        return None
    n = x.shape[0]
    sub = x if n <= _WHOLE else x[:: n // _SUBSAMPLE]
    finite = jnp.isfinite(sub)
    hi = jnp.max(jnp.where(finite, sub, -jnp.inf))
    lo = jnp.min(jnp.where(finite, sub, jnp.inf))
    ok = jnp.any(finite)
    zero = jnp.zeros((), x.dtype)
    if eq.shifts:
        # hi - lo overflows only for data spanning more than the dtype's range
        # (then halves, which lose nothing there); halves of values near the
        # smallest normal number would be flushed to 0.
        diff = hi - lo
        wide = ~jnp.isfinite(diff)
        mid = jnp.where(wide, 0.5 * hi + 0.5 * lo, lo + 0.5 * diff)
        half_range = jnp.where(wide, 0.5 * hi - 0.5 * lo, 0.5 * diff)
        mid, half_range = jnp.where(ok, mid, zero), jnp.where(ok, half_range, zero)
        centre, iqr = _robust_centre(x, w)
        far = jnp.abs(centre) > _OFFSET * iqr
        shift = jnp.where(
            jnp.abs(mid) > _OFFSET * half_range, mid, jnp.where(far & ok, centre, zero)
        )
        spread = jnp.maximum(jnp.abs(hi - shift), jnp.abs(lo - shift))
        spread = jnp.where(ok & (half_range > 0), spread, jnp.abs(mid))
    else:
        shift = zero
        spread = jnp.where(ok, jnp.maximum(jnp.abs(hi), jnp.abs(lo)), zero)
    _, e = jnp.frexp(jnp.where(spread > 0, spread, jnp.ones((), x.dtype)))
    # b and 1/b both normal numbers (data within a few binades of the largest
    # float keep values up to 16 after the change).
    info = jnp.finfo(x.dtype)
    e = jnp.clip(e, info.minexp + 2, info.maxexp - 4)
    return Standardization(shift=shift, exponent=e.astype(jnp.int32))


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
    """Whether an estimate of a family with units left the dtype's normal
    numbers: a scale or rate that under- or overflowed to 0 or inf (or below
    the smallest normal number), a location that overflowed. ``xp``: ``jnp``
    (traced, per dataset of a batch) or ``numpy`` (one result, on the host)."""
    eq = family.equivariance
    bad = xp.asarray(False)
    if eq is None:
        return bad
    for k in (*eq.scale, *eq.location):
        v = params[k]
        bad = bad | ~xp.isfinite(v)
        if k in eq.scale:
            bad = bad | (xp.abs(v) < xp.finfo(v.dtype).tiny)
    return bad
