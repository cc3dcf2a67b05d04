"""Continuous families on a bounded support: beta (on (0, 1)) and uniform
(on [low, high], a support that depends on the parameters)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc, polygamma, xlog1py, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import betaln, log_betainc_pair, log_positive, log_tails, matrix
from jaxmle.families.base import Family, weighted_max, weighted_mean, weighted_min
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent
from jaxmle.families.units import Equivariance

__all__ = ["Beta", "Uniform"]


@register
class Beta(Family):
    r"""Beta distribution on the open unit interval.

    .. math:: \log f(x) = (\alpha-1)\log x + (\beta-1)\log(1-x) - \log B(\alpha, \beta),
              \quad 0 < x < 1

    Parameters: ``alpha`` (:math:`\alpha > 0`) and ``beta`` (:math:`\beta > 0`),
    the shape parameters. No closed form; ``init`` matches the mean :math:`m`
    and variance :math:`v`: with :math:`c = m(1-m)/v - 1`, ``alpha = m c`` and
    ``beta = (1 - m) c`` (:math:`c` kept positive).
    """

    costly_cdf = True

    name = "beta"
    param_names = ("alpha", "beta")
    constraints = {"alpha": C.positive, "beta": C.positive}
    support = S.unit_interval

    density = "x^(alpha-1) (1-x)^(beta-1) / B(alpha, beta), 0 < x < 1"
    scipy_equivalent = ScipyEquivalent("beta", a="alpha", b="beta")

    def logpdf(self, params, x):
        a, b = params["alpha"], params["beta"]
        return xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - betaln(a, b)

    def cdf(self, params, x):
        return betainc(params["alpha"], params["beta"], jnp.clip(x, 0.0, 1.0))

    def log_cdf_sf(self, params, x):
        # From logit(x) = log x - log(1 - x): -inf at or below 0, +inf at or above 1.
        logit = log_positive(x) - log_positive(1.0 - x)
        return log_tails(*log_betainc_pair(params["alpha"], params["beta"], logit))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return jax.random.beta(key, params["alpha"], params["beta"], shape)

    def statistics(self, x, centre=None):
        return (jnp.log(x), jnp.log1p(-x), x, jnp.square(x))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        a, b = params["alpha"], params["beta"]
        return (a - 1.0) * sums[0] + (b - 1.0) * sums[1] - n * betaln(a, b)

    def init_from_statistics(self, sums, n, centre=None):
        m = sums[2] / n
        return _beta_moments_start(m, jnp.maximum(sums[3] / n - m * m, 0.0))

    def init(self, x, w):
        m = weighted_mean(x, w)
        return _beta_moments_start(m, weighted_mean(jnp.square(x - m), w))

    def expected_information(self, params):
        a, b = params["alpha"], params["beta"]
        t = polygamma(1, a + b)
        return matrix([[polygamma(1, a) - t, -t], [-t, polygamma(1, b) - t]])


def _beta_moments_start(m, v):
    """Method-of-moments beta parameters from the mean ``m`` and variance ``v``."""
    # v < m (1 - m) for data inside (0, 1), so c > 0 up to rounding.
    c = jnp.where(v > 0, m * (1.0 - m) / jnp.where(v > 0, v, 1.0) - 1.0, 1.0)
    c = jnp.maximum(c, 1e-3)
    return {"alpha": m * c, "beta": (1.0 - m) * c}


@register
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
    the other).
    """

    name = "uniform"
    param_names = ("low", "high")
    equivariance = Equivariance(location=("low", "high"))
    constraints = {"low": C.real, "high": C.real}
    support = S.real_line
    boundary_params = ("low", "high")

    density = "1 / (high - low), low <= x <= high"
    scipy_equivalent = ScipyEquivalent("uniform", loc="low", scale="high-low")

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

    def log_cdf_sf(self, params, x):
        # Each tail from its own end ((high - x) is exact near high).
        valid, width = self._width(params)
        lower = log_positive(jnp.minimum((x - params["low"]) / width, 1.0))
        upper = log_positive(jnp.minimum((params["high"] - x) / width, 1.0))
        log_cdf, log_sf = log_tails(lower, upper)
        return jnp.where(valid, log_cdf, jnp.nan), jnp.where(valid, log_sf, jnp.nan)

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def log_interval_probability(self, params, lo, hi):
        r""":math:`\log\frac{\min(hi, b) - \max(lo, a)}{b - a}` (``-inf`` for an
        empty intersection)."""
        valid, width = self._width(params)
        length = jnp.minimum(hi, params["high"]) - jnp.maximum(lo, params["low"])
        return jnp.where(valid, log_positive(length / width), jnp.nan)

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
        low, high = weighted_min(x, w), weighted_max(x, w)
        # One distinct value: any interval around it will do.
        pad = jnp.where(high > low, 0.0, jnp.maximum(jnp.abs(low), 1.0) * 1e-3)
        return {"low": low - pad, "high": high + pad}

    def boundary_values(self, x, w):
        return {"low": weighted_min(x, w), "high": weighted_max(x, w)}

    def closed_form(self, x, w):
        return self.boundary_values(x, w)
