"""Continuous univariate families: normal, lognormal, exponential, gamma,
Weibull, logistic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammainc, gammaincc, gammaln, log_ndtr, ndtr, polygamma, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._math import (
    EULER_GAMMA,
    HALF_LOG_2PI,
    PI_SQ_OVER_6,
    log1mexp,
    matrix,
    nan_unless,
)
from jaxmle.families.base import (
    CumulativeHazardFamily,
    Family,
    Params,
    weighted_mean,
    weighted_quantile,
)
from jaxmle.families.registry import register

__all__ = ["Exponential", "Gamma", "LogNormal", "Logistic", "Normal", "Weibull"]

_IQR_NORMAL = 1.3489795003921634  # interquartile range of N(0, 1)


def _robust_loc_scale(v: jax.Array, w: jax.Array | None, iqr_unit: float):
    """Median and IQR-based scale, falling back to the standard deviation."""
    med = weighted_quantile(v, w, 0.5)
    iqr = weighted_quantile(v, w, 0.75) - weighted_quantile(v, w, 0.25)
    m = weighted_mean(v, w)
    sd = jnp.sqrt(weighted_mean((v - m) ** 2, w))
    scale = jnp.where(iqr > 0, iqr / iqr_unit, sd)
    scale = jnp.where(scale > 0, scale, 1.0)
    return med, scale


def _normal_mle(v: jax.Array, w: jax.Array | None) -> Params:
    # Two passes: centre first, so float32 keeps the variance when |mean| >> sd.
    loc = weighted_mean(v, w)
    scale = jnp.sqrt(weighted_mean(jnp.square(v - loc), w))
    return {"loc": loc, "scale": scale}


@register("normal")
class Normal(Family):
    r"""Normal distribution.

    .. math:: \log f(x) = -\tfrac12 \left(\tfrac{x-\mu}{\sigma}\right)^2
              - \log\sigma - \tfrac12\log 2\pi

    Parameters: ``loc`` (:math:`\mu`, real), ``scale`` (:math:`\sigma > 0`).
    MLE: ``loc = mean(x)``, ``scale**2 = mean((x - mean(x))**2)``.
    scipy: ``norm(loc=loc, scale=scale)``.
    """

    name = "normal"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line
    has_closed_form = True
    density = "exp(-(x-loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))"
    scipy_equivalent = "norm(loc=loc, scale=scale)"

    def logpdf(self, params: Params, x: jax.Array) -> jax.Array:
        z = (x - params["loc"]) / params["scale"]
        return -0.5 * z * z - jnp.log(params["scale"]) - HALF_LOG_2PI

    def cdf(self, params, x):
        return ndtr((x - params["loc"]) / params["scale"])

    def logcdf(self, params, x):
        return log_ndtr((x - params["loc"]) / params["scale"])

    def logsf(self, params, x):
        return log_ndtr((params["loc"] - x) / params["scale"])

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.normal(key, shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, _IQR_NORMAL)
        return {"loc": loc, "scale": scale}

    def closed_form(self, x, w):
        return _normal_mle(x, w)

    def expected_information(self, params):
        v = 1.0 / jnp.square(params["scale"])
        return jnp.diag(jnp.stack([v, 2.0 * v]))

    def scipy(self, params: Mapping[str, Any]):
        from scipy import stats

        return stats.norm(loc=params["loc"], scale=params["scale"])


@register("lognormal")
class LogNormal(Family):
    r"""Log-normal distribution: ``log x ~ Normal(loc, scale)``.

    .. math:: \log f(x) = -\tfrac12 \left(\tfrac{\log x-\mu}{\sigma}\right)^2
              - \log\sigma - \log x - \tfrac12\log 2\pi, \quad x > 0

    Parameters: ``loc`` (mean of ``log x``), ``scale`` (sd of ``log x``).
    scipy: ``lognorm(s=scale, scale=exp(loc))``.
    """

    name = "lognormal"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.positive_reals
    has_closed_form = True

    density = "exp(-(log x-loc)^2 / (2 scale^2)) / (x scale sqrt(2 pi)), x > 0"
    scipy_equivalent = "lognorm(s=scale, scale=exp(loc))"

    def logpdf(self, params, x):
        logx = jnp.log(x)
        return Normal().logpdf(params, logx) - logx

    def cdf(self, params, x):
        return Normal().cdf(params, jnp.log(x))

    def logcdf(self, params, x):
        return Normal().logcdf(params, jnp.log(x))

    def logsf(self, params, x):
        return Normal().logsf(params, jnp.log(x))

    def sample(self, params, key, shape=()):
        return jnp.exp(Normal().sample(params, key, shape))

    def init(self, x, w):
        return Normal().init(jnp.log(x), w)

    def closed_form(self, x, w):
        return _normal_mle(jnp.log(x), w)

    def expected_information(self, params):
        # log x is normal and the Jacobian term -log x is free of the parameters.
        return Normal().expected_information(params)

    def scipy(self, params):
        from scipy import stats

        return stats.lognorm(s=params["scale"], scale=jnp.exp(params["loc"]))


@register("exponential")
class Exponential(Family):
    r"""Exponential distribution with rate :math:`\lambda`.

    .. math:: \log f(x) = \log\lambda - \lambda x, \quad x \ge 0

    MLE: ``rate = 1 / mean(x)``. scipy: ``expon(scale=1/rate)``.
    """

    name = "exponential"
    param_names = ("rate",)
    constraints = {"rate": C.positive}
    support = S.nonnegative_reals
    has_closed_form = True

    density = "rate exp(-rate x), x >= 0"
    scipy_equivalent = "expon(scale=1/rate)"

    def logpdf(self, params, x):
        rate = params["rate"]
        return jnp.log(rate) - rate * x

    def cdf(self, params, x):
        return -jnp.expm1(-params["rate"] * x)

    def logcdf(self, params, x):
        return log1mexp(params["rate"] * x)

    def logsf(self, params, x):
        return -params["rate"] * x

    def sample(self, params, key, shape=()):
        return jax.random.exponential(key, shape) / params["rate"]

    def init(self, x, w):
        med = weighted_quantile(x, w, 0.5)
        return {"rate": jnp.where(med > 0, jnp.log(2.0) / med, 1.0 / weighted_mean(x, w))}

    def closed_form(self, x, w):
        return {"rate": 1.0 / weighted_mean(x, w)}

    has_statistics = True

    def statistics(self, x):
        return (x, nan_unless(x >= 0))

    def loglik_from_statistics(self, params, sums, n):
        return n * jnp.log(params["rate"]) - params["rate"] * sums[0]

    def init_from_statistics(self, sums, n):
        return {"rate": n / sums[0]}

    def expected_information(self, params):
        return jnp.reshape(1.0 / jnp.square(params["rate"]), (1, 1))

    def scipy(self, params):
        from scipy import stats

        return stats.expon(scale=1.0 / params["rate"])


def _minka_start(mean_x, mean_logx) -> Params:
    """Minka's approximation to the gamma MLE from ``mean(x)`` and ``mean(log x)``."""
    s = jnp.log(mean_x) - mean_logx
    s = jnp.maximum(s, 1e-6)  # s >= 0 by Jensen; 0 only for constant data
    shape = (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    return {"shape": shape, "rate": shape / mean_x}


@register("gamma")
class Gamma(Family):
    r"""Gamma distribution with shape :math:`\alpha` and rate :math:`\beta`.

    .. math:: \log f(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x
              - \log\Gamma(\alpha), \quad x > 0

    No closed form; ``init`` uses Minka's approximation to the shape MLE,
    :math:`\hat\alpha \approx (3 - s + \sqrt{(s-3)^2 + 24 s}) / (12 s)` with
    :math:`s = \log\bar x - \overline{\log x}`, and ``rate = shape / mean(x)``.
    scipy: ``gamma(a=shape, scale=1/rate)``.
    """

    name = "gamma"
    param_names = ("shape", "rate")
    constraints = {"shape": C.positive, "rate": C.positive}
    support = S.positive_reals

    density = "rate^shape x^(shape-1) exp(-rate x) / Gamma(shape), x > 0"
    scipy_equivalent = "gamma(a=shape, scale=1/rate)"

    def logpdf(self, params, x):
        a, b = params["shape"], params["rate"]
        return a * jnp.log(b) + xlogy(a - 1.0, x) - b * x - gammaln(a)

    def cdf(self, params, x):
        return gammainc(params["shape"], params["rate"] * x)

    def logsf(self, params, x):
        return jnp.log(gammaincc(params["shape"], params["rate"] * x))

    def sample(self, params, key, shape=()):
        return jax.random.gamma(key, params["shape"], shape) / params["rate"]

    def init(self, x, w):
        return _minka_start(weighted_mean(x, w), weighted_mean(jnp.log(x), w))

    has_statistics = True

    def statistics(self, x):
        return (x, jnp.log(x))

    def loglik_from_statistics(self, params, sums, n):
        a, b = params["shape"], params["rate"]
        sum_x, sum_logx = sums
        return n * (a * jnp.log(b) - gammaln(a)) + (a - 1.0) * sum_logx - b * sum_x

    def init_from_statistics(self, sums, n):
        return _minka_start(sums[0] / n, sums[1] / n)

    def expected_information(self, params):
        a, b = params["shape"], params["rate"]
        return matrix([[polygamma(1, a), -1.0 / b], [-1.0 / b, a / (b * b)]])

    def scipy(self, params):
        from scipy import stats

        return stats.gamma(a=params["shape"], scale=1.0 / params["rate"])


@register("weibull")
class Weibull(CumulativeHazardFamily):
    r"""Weibull distribution with shape :math:`k` and scale :math:`\lambda`.

    .. math:: \log f(x) = \log k - \log\lambda + (k-1)\log(x/\lambda)
              - (x/\lambda)^k, \quad x > 0

    ``init`` matches the moments of ``log x`` (a Gumbel variable):
    :math:`\mathrm{sd}(\log x) = \pi / (k\sqrt6)`,
    :math:`\mathrm{E}\log x = \log\lambda - \gamma_E / k`.
    scipy: ``weibull_min(c=shape, scale=scale)``.
    """

    name = "weibull"
    param_names = ("shape", "scale")
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "(shape/scale) (x/scale)^(shape-1) exp(-(x/scale)^shape), x > 0"
    scipy_equivalent = "weibull_min(c=shape, scale=scale)"

    def logpdf(self, params, x):
        return self.logpdf_features(params, jnp.log(x))

    def features(self, x):
        return jnp.log(x)

    def logpdf_features(self, params, logx):
        k, lam = params["shape"], params["scale"]
        log_ratio = logx - jnp.log(lam)
        return jnp.log(k) - jnp.log(lam) + (k - 1.0) * log_ratio - jnp.exp(k * log_ratio)

    has_derivatives = True

    def derivative_terms(self, params, logx):
        # t = log(x / scale) and e = (x / scale)^shape: one exp per sample.
        t = logx - jnp.log(params["scale"])
        e = jnp.exp(params["shape"] * t)
        et = e * t
        return t, e, et, et * t

    def derivatives_from_terms(self, params, sums, n):
        k, lam = params["shape"], params["scale"]
        st, s0, s1, s2 = sums  # sum t, sum e, sum e t, sum e t^2
        value = n * (jnp.log(k) - jnp.log(lam)) + (k - 1.0) * st - s0
        grad = {"shape": n / k + st - s1, "scale": k * (s0 - n) / lam}
        hess = {
            ("shape", "shape"): -n / (k * k) - s2,
            ("shape", "scale"): (s0 + k * s1 - n) / lam,
            ("scale", "scale"): -k * ((k + 1.0) * s0 - n) / (lam * lam),
        }
        return value, grad, hess

    def cum_hazard(self, params, x):
        return (x / params["scale"]) ** params["shape"]

    def sample(self, params, key, shape=()):
        return params["scale"] * jax.random.weibull_min(key, 1.0, params["shape"], shape)

    def init(self, x, w):
        return self.init_features(jnp.log(x), w)

    def init_features(self, logx, w):
        # One pass: moments of log x shifted by one of its values (no cancellation
        # of a large mean).
        d = logx - jax.lax.stop_gradient(logx[0])
        m1, m2 = weighted_mean(d, w), weighted_mean(d * d, w)
        m = m1 + logx[0]
        sd = jnp.sqrt(jnp.maximum(m2 - m1 * m1, 0.0))
        k = jnp.where(sd > 0, jnp.pi / (jnp.sqrt(6.0) * sd), 1.0)
        return {"shape": k, "scale": jnp.exp(m + EULER_GAMMA / k)}

    def expected_information(self, params):
        # With E = (x/scale)^shape ~ Exp(1): E[E log E] = Gamma'(2) = 1 - gamma_E and
        # E[E log^2 E] = Gamma''(2) = (1 - gamma_E)^2 + pi^2/6 - 1.
        k, lam = params["shape"], params["scale"]
        c = 1.0 - EULER_GAMMA
        return matrix(
            [[(c * c + PI_SQ_OVER_6) / (k * k), -c / lam], [-c / lam, jnp.square(k / lam)]]
        )

    def scipy(self, params):
        from scipy import stats

        return stats.weibull_min(c=params["shape"], scale=params["scale"])


@register("logistic")
class Logistic(Family):
    r"""Logistic distribution with location :math:`\mu` and scale :math:`s`.

    With :math:`z = (x-\mu)/s`,

    .. math:: \log f(x) = -z - 2\log(1 + e^{-z}) - \log s
              = -\operatorname{softplus}(z) - \operatorname{softplus}(-z) - \log s,

    the symmetric softplus form, which never overflows for large :math:`|z|`.
    scipy: ``logistic(loc=loc, scale=scale)``.
    """

    name = "logistic"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "exp(-z) / (scale (1 + exp(-z))^2), z = (x-loc)/scale"
    scipy_equivalent = "logistic(loc=loc, scale=scale)"

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return -jax.nn.softplus(z) - jax.nn.softplus(-z) - jnp.log(params["scale"])

    def cdf(self, params, x):
        return jax.nn.sigmoid((x - params["loc"]) / params["scale"])

    def logcdf(self, params, x):
        return -jax.nn.softplus(-(x - params["loc"]) / params["scale"])

    def logsf(self, params, x):
        return -jax.nn.softplus((x - params["loc"]) / params["scale"])

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.logistic(key, shape)

    def init(self, x, w):
        # The logistic's interquartile range is 2 s log 3.
        loc, scale = _robust_loc_scale(x, w, 2.0 * jnp.log(3.0))
        return {"loc": loc, "scale": scale}

    def expected_information(self, params):
        # loc: the score is (2F - 1)/s with F ~ U(0, 1), so 1/(3 s^2); scale:
        # (pi^2 + 3)/(9 s^2) (Johnson, Kotz and Balakrishnan, Continuous Univariate
        # Distributions vol. 2, ch. 23).
        v = 1.0 / jnp.square(params["scale"])
        return jnp.diag(jnp.stack([v / 3.0, (jnp.pi**2 + 3.0) / 9.0 * v]))

    def scipy(self, params):
        from scipy import stats

        return stats.logistic(loc=params["loc"], scale=params["scale"])
