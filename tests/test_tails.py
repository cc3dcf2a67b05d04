"""Log-cdf, log-survival and log interval probabilities far into both tails,
for every registered univariate family (the terms of a censored likelihood):
values against scipy (or, where scipy's own evaluation is the less accurate
one, an analytic reference, said at the family), their gradients and Hessians
in the parameters against central finite differences, and float32.

Points run from the 1e-300 quantile to the 1 - 1e-300 quantile (scipy's
``ppf``/``isf``), where every log value is a normal float. One compiled
program per family and check: many points per call (compile time dominates).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASES as _ALL_CASES
from scipy import integrate, special

import jaxmle as jm

_PROBS = np.array([1e-300, 1e-200, 1e-100, 1e-50, 1e-20, 1e-8, 1e-3, 0.1, 0.4])
_RTOL = 1e-12


def _univariate_cases():
    seen, out = set(), []
    for case in _ALL_CASES:
        if case.family().event_ndim == 0 and case.label not in seen:
            seen.add(case.label)
            out.append(pytest.param(case, id=case.label))
    return out


CASES = _univariate_cases()

# The skew normal is checked at shape 1, where F(z) = Phi(z)^2 exactly: scipy's
# skewnorm cdf (Owen's T) loses the thin tail's relative precision.
_PARAMS = {"skew_normal": {"shape": 1.0, "loc": -1.0, "scale": 2.0}}


def _params(case) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float64) for k, v in _PARAMS.get(case.name, case.params).items()}


def _jparams(params, dtype=jnp.float64):
    return {k: jnp.asarray(v, dtype) for k, v in params.items()}


# ---- references ----------------------------------------------------------------


def _scipy_reference(fam, params) -> Callable:
    """``x -> (log F, log S)`` from scipy: each tail by scipy's own log where it
    is below 1/2, the other by ``log1p(-tail)`` of the small one."""
    dist = fam.scipy(params)

    def ref(x):
        cdf, sf = dist.cdf(x), dist.sf(x)
        with np.errstate(divide="ignore"):
            log_cdf = np.where(cdf < 0.5, dist.logcdf(x), np.log1p(-sf))
            log_sf = np.where(sf < 0.5, dist.logsf(x), np.log1p(-cdf))
        return log_cdf, log_sf

    return ref


def _combine(log_lower, log_upper):
    """``(log F, log S)`` from two tails each accurate only where it is small."""
    with np.errstate(divide="ignore"):
        log_cdf = np.where(log_lower < -np.log(2), log_lower, np.log1p(-np.exp(log_upper)))
        log_sf = np.where(log_upper < -np.log(2), log_upper, np.log1p(-np.exp(log_lower)))
    return log_cdf, log_sf


def _from_log_sf(log_sf):
    """``(log F, log S)`` from an exact ``log S``: ``log F = log(-expm1(log S))``,
    or ``log1p(-S)`` where ``S`` is the small one."""
    with np.errstate(divide="ignore"):
        log_cdf = np.where(
            log_sf < -np.log(2), np.log1p(-np.exp(log_sf)), np.log(-np.expm1(log_sf))
        )
    return log_cdf, log_sf


def _loglogistic(p):
    # scipy's fisk sf is 1 - cdf (no relative precision in the upper tail).
    def ref(x):
        z = p["shape"] * np.log(x / p["scale"])
        return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)

    return ref


def _burr(p):
    # scipy's burr12 logcdf is log(cdf), cdf = 1 - (1 + x^c)^-k rounded near 0.
    return lambda x: _from_log_sf(-p["k"] * np.log1p((x / p["scale"]) ** p["c"]))


def _pareto(p):
    # log(x / scale) by log1p of the exact x - scale (scipy divides first).
    return lambda x: _from_log_sf(-p["alpha"] * np.log1p((x - p["scale"]) / p["scale"]))


def _uniform(p):
    # Each tail from its own end: (high - x) is exact near high (scipy's sf is 1 - u).
    def ref(x):
        w = p["high"] - p["low"]
        lower, upper = (x - p["low"]) / w, (p["high"] - x) / w
        with np.errstate(divide="ignore"):
            log_cdf = np.where(lower < 0.5, np.log(lower), np.log1p(-upper))
            log_sf = np.where(upper < 0.5, np.log(upper), np.log1p(-lower))
        return log_cdf, log_sf

    return ref


def _skew_normal(p):
    # Shape 1: F = Phi(z)^2, S = 1 - Phi(z)^2 = Phi(-z) (1 + Phi(z)).
    def ref(x):
        z = (x - p["loc"]) / p["scale"]
        log_cdf = 2 * special.log_ndtr(z)
        with np.errstate(divide="ignore"):
            lower = np.log1p(-np.exp(log_cdf))
        return log_cdf, np.where(z < 0, lower, special.log_ndtr(-z) + np.log1p(special.ndtr(z)))

    return ref


def _von_mises(p):
    # scipy's cdf series is accurate to ~1e-14 absolute only: integrate the
    # density over each tail instead (relative accuracy, in the reduced angle).
    kappa, loc = float(p["concentration"]), float(p["loc"])
    log_norm = np.log(2 * np.pi * special.i0e(kappa))

    def tail(a, b):
        value, _ = integrate.quad(
            lambda t: np.exp(kappa * (np.cos(t) - 1.0)), a, b, epsrel=2e-14, epsabs=0
        )
        return np.log(value) - log_norm

    def ref(x):
        y = np.asarray(x) - loc
        lower = np.array([tail(-np.pi, v) for v in y])
        upper = np.array([tail(v, np.pi) for v in y])
        return _combine(lower, upper)

    return ref


_REFERENCES = {
    "loglogistic": _loglogistic,
    "burr": _burr,
    "pareto": _pareto,
    "uniform": _uniform,
    "skew_normal": _skew_normal,
    "von_mises": _von_mises,
}


def _reference(case, fam, params):
    make = _REFERENCES.get(case.name)
    return make(params) if make else _scipy_reference(fam, params)


def _points(fam, params) -> np.ndarray:
    """Both tails' quantiles at ``_PROBS`` (their finite, distinct values)."""
    dist = fam.scipy(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = np.concatenate([dist.ppf(_PROBS), dist.isf(_PROBS), [dist.median()]])
    keep = np.isfinite(x) & (dist.cdf(x) > 0) & (dist.sf(x) > 0)  # scipy's isf can fail
    if fam.name == "von_mises":  # logcdf is defined on [loc - pi, loc + pi]
        keep &= np.abs(x - dist.kwds["loc"]) < np.pi
    return np.unique(x[keep])


def _assert_log_close(ours, ref, other, what):
    """Relative error of log values below 1e-12, where a value is ``-p`` for a
    tiny ``p`` of the other tail allowed ``p``'s conditioning, ``|log p|`` ulps."""
    ours, ref, other = map(np.asarray, (ours, ref, other))
    finite = np.isfinite(ref) & (ref != 0)
    assert np.array_equal(ours[~finite], ref[~finite]), (what, ours[~finite], ref[~finite])
    if not finite.any():
        return
    allowed = _RTOL * np.maximum(1.0, np.abs(np.where(np.isfinite(other), other, 0.0)) / 100.0)
    err = np.abs(ours[finite] - ref[finite]) / np.abs(ref[finite])
    worst = int(np.argmax(err / allowed[finite]))
    assert np.all(err <= allowed[finite]), (
        f"{what}: relative error {err[worst]:.2e} at {ours[finite][worst]!r} "
        f"(reference {ref[finite][worst]!r})"
    )


def _log_interval_reference(log_cdf, log_sf, lo, hi):
    """``log(F(hi) - F(lo))`` from reference tails, by the tail nearer the pair
    (the pairs' probabilities differ by large factors: no cancellation)."""
    upper = log_cdf[lo] > -np.log(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        via_sf = log_sf[lo] + np.log1p(-np.exp(log_sf[hi] - log_sf[lo]))
        via_cdf = log_cdf[hi] + np.log1p(-np.exp(log_cdf[lo] - log_cdf[hi]))
    return np.where(upper, via_sf, via_cdf)


# ---- values ------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(0, 3))
def _evaluate(fam, params, x, half):
    """``logcdf(x)``, ``logsf(x)`` and the interval probabilities of
    ``(x[i], x[half + i]]``."""
    intervals = fam.log_interval_probability(params, x[:half], x[half:])
    return fam.logcdf(params, x), fam.logsf(params, x), intervals


@pytest.mark.parametrize("case", CASES)
def test_log_tails_and_intervals_match_references(case):
    fam = case.family()
    params = _params(case)
    sorted_x = _points(fam, params)
    # Intervals between neighbouring points (their probabilities differ by
    # large factors: the tail probabilities of both ends matter), and one of
    # zero width; x lists the lower ends, then the upper ones, so that the
    # interval probabilities and the tails evaluate the family at the same
    # points (one evaluation in the compiled program).
    if len(sorted_x) % 2:
        sorted_x = np.r_[sorted_x, sorted_x[-1]]
    x = np.r_[sorted_x[0::2], sorted_x[1::2]]
    half = len(x) // 2
    ref_cdf, ref_sf = _reference(case, fam, params)(x)
    log_cdf, log_sf, log_int = map(
        np.asarray, _evaluate(fam, _jparams(params), jnp.asarray(x), half)
    )
    _assert_log_close(log_cdf, ref_cdf, ref_sf, f"{case.label} logcdf")
    _assert_log_close(log_sf, ref_sf, ref_cdf, f"{case.label} logsf")
    lo, hi = np.arange(half), np.arange(half, len(x))
    ref_int = _log_interval_reference(ref_cdf, ref_sf, lo, hi)
    empty = x[lo] == x[hi]
    assert np.all(log_int[empty] == -np.inf), "an empty interval has probability 0"
    # log(F(hi) - F(lo)) carries the tails' absolute errors, ~1e-14 |log F|,
    # amplified by 1/(1 - F(lo)/F(hi)) (the same for the reference).
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(ref_cdf[lo] > -np.log(2), ref_sf[lo] - ref_sf[hi], ref_cdf[hi] - ref_cdf[lo])
        size = np.maximum(np.abs(ref_cdf[lo]), np.abs(ref_sf[hi]))
        conditioning = 0.01 * size * (1.0 + 1.0 / np.expm1(np.maximum(gap, 1e-300)))
    _assert_log_close(
        log_int[~empty], ref_int[~empty], 100.0 * conditioning[~empty], f"{case.label} interval"
    )
    # The tails reach where a log(cdf) or log1p(-cdf) would have nothing left.
    assert np.min(log_cdf) < -600 or np.min(ref_cdf) > -600
    assert np.min(log_sf) < -600 or np.min(ref_sf) > -600


@pytest.mark.parametrize("name", ["normal", "poisson", "uniform"])
def test_interval_ends(name):
    """Reversed and empty intervals have probability 0; an infinite end gives the
    one-sided value."""
    case = next(c for c in _ALL_CASES if c.name == name)
    fam, params = case.family(), _jparams(_params(case))
    a, b = np.asarray(_points(fam, _params(case)))[[1, -2]]
    lo, hi = [b, a, -np.inf, a], [a, a, b, np.inf]
    log_cdf, log_sf, got = map(np.asarray, _evaluate(fam, params, jnp.asarray(lo + hi), 4))
    assert got[0] == -np.inf and got[1] == -np.inf
    np.testing.assert_allclose(got[2], log_cdf[6], rtol=1e-12)  # logcdf(b)
    np.testing.assert_allclose(got[3], log_sf[3], rtol=1e-12)  # logsf(a)


_DISCRETE = [p for p in CASES if p.values[0].family().support.discrete]


@pytest.mark.parametrize("case", _DISCRETE)
def test_discrete_intervals_are_sums_of_the_pmf(case):
    """``log_interval_probability(l - 1, r) = log P(l <= X <= r)``, with scipy's
    floor semantics for a non-integer end."""
    fam = case.family()
    params = _params(case)
    dist = fam.scipy(params)
    lo_int, hi_int = (np.array([0, 1, 2, 0]), np.array([2, 5, 2, 0]))
    lo_int = lo_int + (case.name == "geometric")
    hi_int = hi_int + (case.name == "geometric")
    lo, hi = lo_int - 1.0, hi_int + 0.5
    ref = np.array(
        [
            special.logsumexp(dist.logpmf(np.arange(a, b + 1)))
            for a, b in zip(lo_int, hi_int, strict=True)
        ]
    )
    ends = jnp.asarray(np.r_[lo, hi])
    log_int = np.asarray(_evaluate(fam, _jparams(params), ends, len(lo))[2])
    np.testing.assert_allclose(log_int, ref, rtol=1e-12, atol=1e-15)


# ---- derivatives -------------------------------------------------------------------


# Where an end of the support moves with the parameters, the points stay far
# enough from it for the finite differences' steps (1e-5 relative).
_DERIVATIVE_PROBS = {
    "gev": (1e-10, 1e-5),
    "gev_neg": (1e-5, 1e-3),
    "generalized_pareto-bounded": (1e-5, 1e-3),
    "pareto": (1e-12, 1e-6),  # x within 1e-16 of the scale is the scale itself
    "uniform": (1e-12, 1e-6),
    "inverse_gaussian": (1e-50, 1e-20),  # scipy's isf fails beyond
    "von_mises": (1e-3, 1e-2),  # the antipode bounds the reduced angle
    "half_normal": (1e-12, 1e-6),  # scipy's ppf is 0 below
    "beta": (1e-12, 1e-6),  # 1 - x below 1e-16 is 1
}


def _tail_terms(case, fam, params):
    """A censored-data log-likelihood at ``x = (l0, u1, l1, u0)``, two points of
    each tail (the 1e-100 and 1e-20 quantiles; for discrete families the two
    lowest and highest values): log F at the ``l``, log S at the ``u``, and the
    log interval probabilities of ``(l0, l1]`` and ``(u1, u0]``. All three
    evaluate the family at the same ``x`` (one tail evaluation in the program:
    XLA merges them, which keeps the second-order programs small)."""
    dist = fam.scipy({k: np.asarray(v) for k, v in params.items()})
    if fam.support.discrete:
        x = _points(fam, {k: np.asarray(v) for k, v in params.items()})
        x = np.r_[x[:2], x[-2:]] if len(x) >= 4 else np.r_[x[:1], x[:1], x[-1:], x[-1:]]
        low, high = x[:2], x[2:][::-1]
    else:
        probs = np.array(_DERIVATIVE_PROBS.get(case.label, (1e-100, 1e-20)))
        low, high = dist.ppf(probs), dist.isf(probs)
    x = jnp.asarray(np.r_[low[0], high[1], low[1], high[0]])
    is_low = jnp.asarray([True, False, True, False])

    def loglik(theta):
        p = {**params, **theta}
        log_cdf, log_sf = fam.logcdf(p, x), fam.logsf(p, x)
        intervals = fam.log_interval_probability(p, x[:2], x[2:])
        finite = jnp.isfinite(intervals)  # a repeated point of a small support
        return jnp.sum(jnp.where(is_low, log_cdf, log_sf)) + jnp.sum(
            jnp.where(finite, intervals, 0.0)
        )

    return loglik


def _free(case, params):
    """The parameters differentiated: all but the support's boundary ones
    (pareto's scale, uniform's bounds: the tails there are the boundary)."""
    skip = {"pareto": ("scale",), "uniform": ("low", "high")}.get(case.name, ())
    return {k: jnp.asarray(v) for k, v in params.items() if k not in skip}


# Derivative programs (second order, through the tail integrals) take seconds to
# compile each: by default one family per mechanism (the log-space incomplete
# gamma and beta, log Phi, the cumulative hazard, log1mexp_exp, atan tails,
# the von Mises quadrature, the table of a finite support); JAXMLE_TAILS_ALL=1
# runs every family (the long run: the skew normal's Owen's T and the inverse
# Gaussian's log_ndtr_gap take ~20 s each).
_DERIVATIVE_SAMPLE = {
    "normal",
    "cauchy",
    "gumbel",
    "gev",
    "exponential",
    "gamma",
    "weibull",
    "burr",
    "pareto",
    "generalized_pareto-bounded",
    "von_mises",
    "poisson",
    "negative_binomial",
    "geometric",
    "categorical",
}


def _sample(cases, names):
    if os.environ.get("JAXMLE_TAILS_ALL"):
        return cases
    return [p for p in cases if p.values[0].label in names]


@pytest.mark.parametrize("case", _sample(CASES, _DERIVATIVE_SAMPLE))
def test_gradient_and_hessian_in_the_tails_match_finite_differences(case):
    fam = case.family()
    params = _params(case)
    theta = _free(case, params)
    if not theta:
        pytest.skip("no parameter away from the support's boundary")
    loglik = _tail_terms(case, fam, _jparams(params))
    flat, unflatten = jm.families.base.flatten_params(theta, list(theta))

    def grad_and_value(v):
        value, grad = jax.value_and_grad(lambda u: loglik(unflatten(u)))(v)
        return grad, (value, grad)

    # One program: the Hessian, with the value and gradient as its aux output
    # (the finite differences evaluate it at shifted points).
    program = jax.jit(jax.jacfwd(grad_and_value, has_aux=True))
    hess, (value, grad) = program(flat)
    assert np.isfinite(float(value)), value
    assert np.all(np.isfinite(grad)) and np.all(np.isfinite(hess)), (grad, hess)
    step = 1e-5 * np.maximum(np.abs(np.asarray(flat)), 1e-2)
    fd_grad, fd_hess = [], []
    for i in range(flat.size):
        e = jnp.zeros_like(flat).at[i].set(step[i])
        (_, (vp, gp)), (_, (vm, gm)) = program(flat + e), program(flat - e)
        fd_grad.append((float(vp) - float(vm)) / (2 * step[i]))
        fd_hess.append((np.asarray(gp) - np.asarray(gm)) / (2 * step[i]))
    scale = np.abs(float(value)) / np.min(np.maximum(np.abs(np.asarray(flat)), 1e-2))
    np.testing.assert_allclose(np.asarray(grad), fd_grad, rtol=1e-6, atol=1e-9 * scale)
    np.testing.assert_allclose(hess, np.stack(fd_hess), rtol=1e-5, atol=1e-9 * scale**2)


# ---- float32 -----------------------------------------------------------------------


_FLOAT32_SAMPLE = {
    "normal",
    "gumbel",
    "student_t",
    "gamma",
    "weibull",
    "lognormal",
    "beta",
    "poisson",
    "binomial",
    "negative_binomial",
    "cauchy",
}


@pytest.mark.parametrize("case", _sample(CASES, _FLOAT32_SAMPLE))
def test_float32_is_finite_where_it_can_represent_the_answer(case):
    fam = case.family()
    params = _params(case)
    dist = fam.scipy(params)
    probs = np.array([1e-30, 1e-10, 1e-3, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = np.concatenate([dist.ppf(probs), dist.isf(probs)])
    tiny = np.finfo(np.float32).tiny
    x = x[np.isfinite(x) & ((x == 0) | ((np.abs(x) > 1e3 * tiny) & (np.abs(x) < 1e30)))]
    x = x[np.abs(x.astype(np.float32) - x) <= 1e-6 * np.abs(x)]  # representable points
    ref_cdf, ref_sf = _reference(case, fam, params)(x.astype(np.float32).astype(np.float64))
    x = x[: len(x) // 2 * 2]
    ref_cdf, ref_sf = ref_cdf[: len(x)], ref_sf[: len(x)]
    x32 = jnp.asarray(x, jnp.float32)
    log_cdf, log_sf, _ = _evaluate(fam, _jparams(params, jnp.float32), x32, len(x) // 2)
    assert log_cdf.dtype == jnp.float32 and log_sf.dtype == jnp.float32
    # Points where float32 can represent the answer: a log value below -1e-30
    # that a relative change of x by float32's rounding moves by less than the
    # tolerance (not so near an end of the support that moves with the
    # parameters, or the von Mises antipode, that x - loc itself is rounded away;
    # counts are exact in float32).
    reference = _reference(case, fam, params)
    shifted = [reference(x.astype(np.float32).astype(np.float64) * (1 + d)) for d in (-6e-8, 6e-8)]
    checked = 0
    for k, (ours, ref) in enumerate(((log_cdf, ref_cdf), (log_sf, ref_sf))):
        ours = np.asarray(ours, np.float64)
        with np.errstate(invalid="ignore"):
            stable = np.all([np.abs(v[k] - ref) <= 1e-4 * np.abs(ref) for v in shifted], axis=0)
        keep = np.isfinite(ref) & (ref < -1e-30) & (stable | fam.support.discrete)
        assert np.all(np.isfinite(ours[keep])), (ours, ref)
        np.testing.assert_allclose(ours[keep], ref[keep], rtol=2e-3)
        checked += int(np.sum(keep))
    assert checked >= 4, "float32 is checked at a few points in each tail"


def test_log_ndtr_pair_is_both_tails_of_one_evaluation():
    # (log Phi(z), log Phi(-z)) from the smaller tail: scipy's log_ndtr at
    # every z (its own evaluation is accurate there), and the derivative at
    # z = 0 from where the sign is chosen (abs would give 0 there).
    from jaxmle.families._special import log_ndtr_pair

    z = np.concatenate([-np.logspace(-8, 1.6, 40), [0.0], np.logspace(-8, 1.6, 40)])
    lower, upper = jax.jit(log_ndtr_pair)(jnp.asarray(z))
    np.testing.assert_allclose(lower, special.log_ndtr(z), rtol=4e-14)
    np.testing.assert_allclose(upper, special.log_ndtr(-z), rtol=4e-14)
    d_lower = jax.grad(lambda v: log_ndtr_pair(v)[0])(0.0)
    d_upper = jax.grad(lambda v: log_ndtr_pair(v)[1])(0.0)
    mills = np.sqrt(2.0 / np.pi)  # phi(0) / Phi(0)
    assert float(d_lower) == pytest.approx(mills, rel=1e-14)
    assert float(d_upper) == pytest.approx(-mills, rel=1e-14)
