"""Continuous families on a bounded support: beta (on (0, 1)) and uniform
(on [low, high], a support that depends on the parameters).

Also holds :func:`betaln`, an accurate ``log B(a, b)`` (``jax.scipy.special.betaln``
loses up to ~1e-6 absolute in float64), used here and by the beta-binomial.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, gammaln, polygamma, xlog1py, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._math import HALF_LOG_2PI, matrix
from jaxmle.families.base import Family, weighted_mean
from jaxmle.families.registry import register

__all__ = ["Beta", "Uniform", "betaln"]

_STIRLING_MIN = 10.0  # the Stirling series below is used for arguments >= this


def _lgamma_correction(x: jax.Array) -> jax.Array:
    r"""The Stirling remainder :math:`\log\Gamma(x) - [(x-\tfrac12)\log x - x + \tfrac12\log 2\pi]`
    for ``x >= 10`` (absolute error below 2e-14 there)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def betaln(a: jax.Array, b: jax.Array) -> jax.Array:
    r""":math:`\log B(a, b)` for ``a, b > 0``, accurate when either argument is large.

    ``gammaln(a) + gammaln(b) - gammaln(a + b)`` cancels catastrophically for
    large arguments; where they are >= 10 the Stirling forms are combined first
    (as in TOMS 708):

    * both large: :math:`\tfrac12\log 2\pi - \tfrac12\log(a+b) + (a-\tfrac12)\log\tfrac{a}{a+b}
      + (b-\tfrac12)\log\tfrac{b}{a+b} + \delta(a) + \delta(b) - \delta(a+b)`;
    * only ``hi`` large: :math:`\log\Gamma(lo) - (hi-\tfrac12)\log(1 + lo/hi)
      - lo\log(hi+lo) + lo + \delta(hi) - \delta(hi+lo)`,

    with :math:`\delta` the Stirling remainder. Every branch is evaluated on
    clamped arguments, so gradients stay finite.
    """
    a, b = jnp.asarray(a), jnp.asarray(b)
    lo, hi = jnp.minimum(a, b), jnp.maximum(a, b)
    both_large = lo >= _STIRLING_MIN
    hi_large = hi >= _STIRLING_MIN

    # Both small: the plain gammaln form is exact to a few ulps of O(10) terms.
    lo_s, hi_s = jnp.minimum(lo, _STIRLING_MIN), jnp.minimum(hi, _STIRLING_MIN)
    small = gammaln(lo_s) + gammaln(hi_s) - gammaln(lo_s + hi_s)

    # Only hi large.
    hi_m = jnp.maximum(hi, _STIRLING_MIN)
    s = lo_s + hi_m
    mixed = (
        gammaln(lo_s)
        - (hi_m - 0.5) * jnp.log1p(lo_s / hi_m)
        - lo_s * jnp.log(s)
        + lo_s
        + _lgamma_correction(hi_m)
        - _lgamma_correction(s)
    )

    # Both large.
    lo_l = jnp.maximum(lo, _STIRLING_MIN)
    t = lo_l + hi_m
    # log(hi / t): log1p only for a small argument (XLA's log1p is off by up to
    # ~100 ulps on (-0.5, -0.1); log(hi / t) is exact to an ulp there).
    log_hi_frac = jnp.where(lo_l < 0.1 * t, jnp.log1p(-lo_l / t), jnp.log(hi_m / t))
    large = (
        HALF_LOG_2PI
        - 0.5 * jnp.log(t)
        + (lo_l - 0.5) * jnp.log(lo_l / t)
        + (hi_m - 0.5) * log_hi_frac
        + _lgamma_correction(lo_l)
        + _lgamma_correction(hi_m)
        - _lgamma_correction(t)
    )
    return jnp.where(both_large, large, jnp.where(hi_large, mixed, small))


@register("beta")
class Beta(Family):
    r"""Beta distribution on the open unit interval.

    .. math:: \log f(x) = (\alpha-1)\log x + (\beta-1)\log(1-x) - \log B(\alpha, \beta),
              \quad 0 < x < 1

    Parameters: ``alpha`` (:math:`\alpha > 0`) and ``beta`` (:math:`\beta > 0`),
    the shape parameters. No closed form; ``init`` matches the mean :math:`m`
    and variance :math:`v`: with :math:`c = m(1-m)/v - 1`, ``alpha = m c`` and
    ``beta = (1 - m) c`` (:math:`c` kept positive).
    scipy: ``beta(a=alpha, b=beta)``.
    """

    name = "beta"
    param_names = ("alpha", "beta")
    constraints = {"alpha": C.positive, "beta": C.positive}
    support = S.unit_interval

    density = "x^(alpha-1) (1-x)^(beta-1) / B(alpha, beta), 0 < x < 1"
    scipy_equivalent = "beta(a=alpha, b=beta)"

    def logpdf(self, params, x):
        a, b = params["alpha"], params["beta"]
        return xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)

    def cdf(self, params, x):
        return betainc(params["alpha"], params["beta"], jnp.clip(x, 0.0, 1.0))

    def logcdf(self, params, x):
        return jnp.log(self.cdf(params, x))

    def logsf(self, params, x):
        # I_{1-x}(beta, alpha) keeps the relative precision of a small upper tail.
        return jnp.log(betainc(params["beta"], params["alpha"], jnp.clip(1.0 - x, 0.0, 1.0)))

    def sample(self, params, key, shape=()):
        return jax.random.beta(key, params["alpha"], params["beta"], shape)

    has_statistics = True

    def statistics(self, x):
        return (jnp.log(x), jnp.log1p(-x), x, jnp.square(x))

    def loglik_from_statistics(self, params, sums, n):
        a, b = params["alpha"], params["beta"]
        return (a - 1.0) * sums[0] + (b - 1.0) * sums[1] - n * betaln(a, b)

    def init_from_statistics(self, sums, n):
        m = sums[2] / n
        return _beta_moments_start(m, jnp.maximum(sums[3] / n - m * m, 0.0))

    def init(self, x, w):
        m = weighted_mean(x, w)
        return _beta_moments_start(m, weighted_mean(jnp.square(x - m), w))

    def expected_information(self, params):
        a, b = params["alpha"], params["beta"]
        t = polygamma(1, a + b)
        return matrix([[polygamma(1, a) - t, -t], [-t, polygamma(1, b) - t]])

    def scipy(self, params):
        from scipy import stats

        return stats.beta(a=params["alpha"], b=params["beta"])


def _beta_moments_start(m, v):
    """Method-of-moments beta parameters from the mean ``m`` and variance ``v``."""
    # v < m (1 - m) for data inside (0, 1), so c > 0 up to rounding.
    c = jnp.where(v > 0, m * (1.0 - m) / jnp.where(v > 0, v, 1.0) - 1.0, 1.0)
    c = jnp.maximum(c, 1e-3)
    return {"alpha": m * c, "beta": (1.0 - m) * c}


def _observed_range(x, w):
    """``(min, max)`` of the observations with positive weight."""
    if w is None:
        return jnp.min(x), jnp.max(x)
    return jnp.min(jnp.where(w > 0, x, jnp.inf)), jnp.max(jnp.where(w > 0, x, -jnp.inf))


@register("uniform")
class Uniform(Family):
    r"""Continuous uniform distribution on :math:`[a, b]`.

    .. math:: \log f(x) = -\log(b - a), \quad a \le x \le b

    Parameters: ``low`` (:math:`a`) and ``high`` (:math:`b`), both real.
    Parameter constraints are per-parameter bijections, so ``a < b`` cannot
    be one of them: instead the log-density is ``-inf`` wherever ``high <= low``
    or ``x`` lies outside ``[low, high]``, which the fitter never accepts.

    MLE (closed form, on the boundary of the parameter space): ``low = min(x)``,
    ``high = max(x)`` over the observations with positive weight. The score
    does not vanish there, so Newton cannot "converge" to it and the
    standard errors are not finite (the information matrix is singular).
    ``init`` returns that same point, which is feasible because the density
    includes its endpoints (so fits with one bound fixed start at the MLE of
    the other). scipy: ``uniform(loc=low, scale=high-low)``.
    """

    name = "uniform"
    param_names = ("low", "high")
    constraints = {"low": C.real, "high": C.real}
    support = S.real_line
    has_closed_form = True
    boundary_params = ("low", "high")

    density = "1 / (high - low), low <= x <= high"
    scipy_equivalent = "uniform(loc=low, scale=high-low)"

    def _width(self, params):
        width = params["high"] - params["low"]
        # Safe width: the log below stays finite (and so does its gradient).
        return width > 0, jnp.where(width > 0, width, 1.0)

    def logpdf(self, params, x):
        valid, width = self._width(params)
        inside = valid & (x >= params["low"]) & (x <= params["high"])
        return jnp.where(inside, -jnp.log(width), -jnp.inf)

    def cdf(self, params, x):
        valid, width = self._width(params)
        return jnp.where(valid, jnp.clip((x - params["low"]) / width, 0.0, 1.0), jnp.nan)

    def logsf(self, params, x):
        valid, width = self._width(params)
        return jnp.where(valid, jnp.log(jnp.clip((params["high"] - x) / width, 0.0, 1.0)), jnp.nan)

    def sample(self, params, key, shape=()):
        u = jax.random.uniform(key, shape)
        return params["low"] + (params["high"] - params["low"]) * u

    def diagnose(self, params, x):
        if not float(params["high"]) > float(params["low"]):
            return (
                "every observation has the same value: the likelihood grows without "
                "bound as high - low -> 0, so no MLE exists"
            )
        return None

    def init(self, x, w):
        low, high = _observed_range(x, w)
        # One distinct value: any interval around it will do.
        pad = jnp.where(high > low, 0.0, jnp.maximum(jnp.abs(low), 1.0) * 1e-3)
        return {"low": low - pad, "high": high + pad}

    def closed_form(self, x, w):
        low, high = _observed_range(x, w)
        return {"low": low, "high": high}

    def scipy(self, params):
        from scipy import stats

        return stats.uniform(loc=params["low"], scale=params["high"] - params["low"])
