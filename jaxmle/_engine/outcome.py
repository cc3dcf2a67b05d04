"""What a single fit's outcome is, checked on the host after the program:
the statuses that need the data or the O(p) results as a whole.

* ``DEGENERATE``: every value (of positive weight) is the same and there are
  several free parameters, or the fit did not end at a finite, converged
  point (as ``fit_many`` flags such datasets, on the device);
* ``OUT_OF_RANGE``: a converged fit's estimate or log-likelihood left the
  dtype's normal numbers (a location below the smallest one comes back as 0);
* standard errors of exactly 0 (flushed or on a boundary) become NaN;
* subnormal values that the fit depends on are refused with a ``ValueError``.

The common case, a regular fit, is decided in one look at the O(p) numbers
(:func:`check_outcome`); only irregular fits look at the data.
"""

from __future__ import annotations

import math

import numpy as np

from jaxmle._engine.output import Estimates, FitOutput
from jaxmle._engine.standardize import flushed_location, out_of_range
from jaxmle._engine.validation import locate
from jaxmle.families.base import Family
from jaxmle.status import Status

__all__ = ["check_outcome"]


def check_outcome(
    family: Family, out: FitOutput, est: Estimates, x, w, n_data: int
) -> tuple[FitOutput, Estimates]:
    """``(out, est)`` with the statuses and standard errors above set (``x``,
    ``w``: the data as fitted, ``n_data`` rows before the bucket's padding)."""
    _near_subnormal(out, x, n_data, family.support.discrete)
    if _regular(family, out, est) and not _flushed(family, out, est):
        return out, est
    out, est = _flag_degenerate(out, est, x, w, n_data)
    return _flag_out_of_range(family, out, est), _underflowed_stderr(est)


def _regular(family: Family, out: FitOutput, est: Estimates) -> bool:
    """A converged fit with a finite log-likelihood, finite estimates within
    the dtype's range and finite, non-zero standard errors: nothing for the
    degenerate, out-of-range and underflow checks to do (the common case,
    decided in one look at the O(p) numbers, as Python floats where scalar)."""
    if int(out.report.status) != Status.CONVERGED or not math.isfinite(float(out.loglik)):
        return False
    for v in est.stderr.values():
        if np.size(v) == 1:
            if not (math.isfinite(float(v)) and float(v) != 0.0):
                return False
        elif not (np.isfinite(v) & (np.asarray(v) != 0)).all():
            return False
    params = {k: np.asarray(v) for k, v in est.params.items()}
    if not all(np.isfinite(v).all() for v in params.values()):
        return False
    return not bool(out_of_range(family, params, np))


def _flag_degenerate(
    out: FitOutput, estimates: Estimates, x, w, n_data: int
) -> tuple[FitOutput, Estimates]:
    """``out`` with the status ``DEGENERATE`` where every value (of positive
    weight) is the same and there are several free parameters, or the fit did
    not end at a finite, converged point (a normal's scale 0, a Weibull's
    shape running off to infinity), as ``fit_many`` flags such datasets; a
    one-parameter family's MLE of constant data (an exponential's rate
    ``1/x``, a Poisson's rate 0) stays as it is."""
    report = out.report
    finished = (
        int(report.status) == Status.CONVERGED
        and np.isfinite(np.asarray(out.loglik))
        and all(np.all(np.isfinite(np.asarray(v))) for v in estimates.params.values())
    )
    # Two or more free parameters cannot all be estimated from one value: such
    # a fit ends with one of them held at a limit (no standard error).
    several = sum(int(np.size(v)) for v in estimates.stderr.values()) >= 2
    stderr_finite = all(np.all(np.isfinite(np.asarray(v))) for v in estimates.stderr.values())
    held = several and not stderr_finite
    if finished and not held:
        return out, estimates
    values = np.asarray(x[:n_data])
    if not finished:
        _refuse_subnormal(values)  # all flushed to 0 on the device, or enough to matter
    if w is not None:
        values = values[np.asarray(w[:n_data]) > 0]
    if values.size == 0 or not np.all(values == values[:1]):
        return out, estimates
    status = np.asarray(Status.DEGENERATE, np.asarray(report.status).dtype)
    return out._replace(report=report._replace(status=status)), _no_stderr(estimates)


def _refuse_subnormal(values: np.ndarray) -> None:
    """Raise a ``ValueError`` naming the subnormal values (below the dtype's
    smallest normal number, flushed to 0 on the device), if any."""
    if values.dtype.kind != "f":
        return
    tiny = np.finfo(values.dtype).tiny
    subnormal = (values != 0) & (np.abs(values) < tiny)
    if subnormal.any():
        raise ValueError(
            f"x has {int(subnormal.sum())} subnormal value(s) ({locate(subnormal, values)}), "
            f"smaller in magnitude than {values.dtype.name}'s smallest normal number "
            f"{tiny:.3g}: the device flushes them to 0, and this fit depends on them; "
            "rescale the data (multiply by a power of ten)"
        )


_SUBNORMAL_LOOK = 1 << 18


def _near_subnormal(out: FitOutput, x, n_data: int, discrete: bool) -> None:
    """Data whose spread lies within the dtype's precision of its smallest
    normal number (the fit's units say so, at no cost): there a subnormal
    value flushed to 0 changes the estimate, so refuse any."""
    std = out.standard
    if std is None:
        # A count or binary family reads a subnormal as the count 0: refuse it
        # (host data of ordinary size: one vectorized look).
        if isinstance(x, np.ndarray) and n_data <= _SUBNORMAL_LOOK and discrete:
            _refuse_subnormal(np.asarray(x[:n_data]))
        return
    info = np.finfo(np.asarray(std.shift).dtype)
    if int(np.min(std.exponent)) < info.minexp + info.nmant + 8:
        _refuse_subnormal(np.asarray(x[:n_data]))


def _flag_out_of_range(family: Family, out: FitOutput, est: Estimates) -> FitOutput:
    """``out`` with the status ``OUT_OF_RANGE`` where a converged fit's
    estimate or log-likelihood left the dtype's normal numbers (an MLE of
    ``1e-309`` in float64 comes back as 0; a uniform's width of a subnormal
    number, as 0)."""
    report = out.report
    if int(report.status) != Status.CONVERGED:
        return out
    params = {k: np.asarray(v) for k, v in est.params.items()}
    finite = np.all(np.isfinite(np.asarray(out.loglik)))
    if finite and not bool(out_of_range(family, params, np)) and not _flushed(family, out, est):
        return out
    status = np.asarray(Status.OUT_OF_RANGE, np.asarray(report.status).dtype)
    return out._replace(report=report._replace(status=status))


def _flushed(family: Family, out: FitOutput, est: Estimates) -> bool:
    """Whether a location estimate was flushed to 0 (:func:`flushed_location`;
    the fit's units are read only where a location is exactly 0)."""
    eq, std = family.equivariance, out.standard
    if eq is None or std is None:
        return False
    params = {k: np.asarray(v) for k, v in est.params.items()}
    if not any(np.any(params[k] == 0) for k in eq.location):
        return False
    fitted = {k: np.asarray(v) for k, v in out.u_parts.items() if k in eq.location}
    return bool(flushed_location(family, fitted, params, np.asarray(std.shift), np))


def _underflowed_stderr(est: Estimates) -> Estimates:
    """``est`` with NaN for a standard error of exactly 0: one below the
    dtype's smallest normal number is flushed to 0 on the device, and an
    estimate on a boundary (a Bernoulli's p = 0) has no regular one; 0 would
    claim an exact estimate."""
    stderr = {k: np.asarray(v) for k, v in est.stderr.items()}
    zero = {k: v == 0 for k, v in stderr.items()}
    if not any(np.any(z) for z in zero.values()):
        return est
    return est._replace(
        stderr={k: np.where(zero[k], np.nan, v).astype(v.dtype) for k, v in stderr.items()}
    )


def _no_stderr(est: Estimates) -> Estimates:
    """``est`` with NaN covariance and standard errors (a degenerate fit has
    no regular MLE: no standard error is meaningful)."""
    nan = {k: np.full_like(np.asarray(v), np.nan) for k, v in est.stderr.items()}
    return est._replace(cov=np.full_like(np.asarray(est.cov), np.nan), stderr=nan)
