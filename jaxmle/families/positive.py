"""Continuous families on the positive half-line: exponential, gamma, Weibull,
lognormal, inverse Gaussian, half-normal, Rayleigh, log-logistic, inverse gamma,
Nakagami, chi-squared, Frechet, Burr XII, Pareto and generalized Pareto."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import (
    erf,
    erfc,
    gammainc,
    gammaln,
    polygamma,
    xlogy,
)

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import (
    EULER_GAMMA,
    HALF_LOG_2PI,
    LOG_2,
    PI_SQ_OVER_6,
    k_log_k_minus_lgamma,
    log1mexp,
    log1mexp_exp,
    log_gammainc_pair,
    log_ndtr_accurate,
    log_ndtr_gap,
    log_positive,
    log_softplus,
    log_tails,
    matrix,
    nan_unless,
)
from jaxmle.families.base import (
    CumulativeHazardFamily,
    Family,
    Params,
    weighted_max,
    weighted_mean,
    weighted_mean_var,
    weighted_min,
    weighted_quantile,
)
from jaxmle.families.real_line import Logistic, Normal, central_value
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent
from jaxmle.families.units import Equivariance

__all__ = [
    "Burr",
    "ChiSquared",
    "Exponential",
    "Frechet",
    "Gamma",
    "GeneralizedPareto",
    "HalfNormal",
    "InverseGamma",
    "InverseGaussian",
    "LogLogistic",
    "LogNormal",
    "Nakagami",
    "Pareto",
    "Rayleigh",
    "Weibull",
]


_HALF_LOG_2_OVER_PI = -0.22579135264472744  # 0.5 * log(2 / pi)


@register
class Exponential(Family):
    r"""Exponential distribution with rate :math:`\lambda`.

    .. math:: \log f(x) = \log\lambda - \lambda x, \quad x \ge 0

    MLE: ``rate = 1 / mean(x)``.
    """

    name = "exponential"
    exponential_family = True
    param_names = ("rate",)
    equivariance = Equivariance(scale={"rate": -1})
    constraints = {"rate": C.positive}
    support = S.nonnegative_reals
    density = "rate exp(-rate x), x >= 0"
    scipy_equivalent = ScipyEquivalent("expon", scale="1/rate")

    def logpdf(self, params, x):
        rate = params["rate"]
        return jnp.log(rate) - rate * x

    def cdf(self, params, x):
        return -jnp.expm1(-params["rate"] * jnp.maximum(x, 0.0))

    def logcdf(self, params, x):
        return log1mexp_exp(jnp.log(params["rate"]) + log_positive(x))

    def logsf(self, params, x):
        return -params["rate"] * jnp.maximum(x, 0.0)

    def log_interval_probability(self, params, lo, hi):
        r""":math:`\log(e^{-\lambda lo} - e^{-\lambda hi}) = -\lambda lo +
        \log(1 - e^{-\lambda (hi - lo)})` (ends clipped at 0; ``-inf`` where
        ``hi <= lo``), with no cancellation at any distance."""
        rate = params["rate"]
        lo, hi = jnp.maximum(lo, 0.0), jnp.maximum(hi, 0.0)
        width = hi - lo
        ok = width > 0
        value = -rate * lo + log1mexp(rate * jnp.where(ok, width, 1.0))
        return jnp.where(ok, value, -jnp.inf)

    def sample(self, params, key, shape=()):
        return jax.random.exponential(key, shape) / params["rate"]

    def init(self, x, w):
        med = weighted_quantile(x, w, 0.5)
        return {"rate": jnp.where(med > 0, jnp.log(2.0) / med, 1.0 / weighted_mean(x, w))}

    def closed_form(self, x, w):
        return {"rate": 1.0 / weighted_mean(x, w)}

    def loglik_at_mle(self, estimate, n):
        return n * (jnp.log(estimate["rate"]) - 1.0)  # rate * sum(w x) = n

    def statistics(self, x, centre=None):
        return (x, nan_unless(x >= 0))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        return n * jnp.log(params["rate"]) - params["rate"] * sums[0]

    def init_from_statistics(self, sums, n, centre=None):
        return {"rate": n / sums[0]}

    def expected_information(self, params):
        return jnp.reshape(1.0 / jnp.square(params["rate"]), (1, 1))


def _minka_start(mean_x, mean_logx) -> Params:
    """Minka's approximation to the gamma MLE from ``mean(x)`` and ``mean(log x)``."""
    return _minka_from_gap(jnp.log(mean_x) - mean_logx, mean_x)


def _minka_from_gap(s, mean_x) -> Params:
    """Minka's approximation from ``s = log mean(x) - mean(log x)``."""
    s = jnp.maximum(s, 1e-6)  # s >= 0 by Jensen; 0 only for constant data
    shape = (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    return {"shape": shape, "rate": shape / mean_x}


# Gamma log-likelihoods from statistics taken about a centre ``c``.
#
# With ``d = t / c - 1`` the sums ``S1 = sum d`` and ``S2 = sum (d - log1p d)``
# (each term >= 0) give ``sum t = c (n + S1)`` and ``sum log t = n log c + S1 -
# S2``, and with ``r = log(rate c / shape)`` the gamma log-likelihood of ``t``,
#
#   n (k log k - k - log Gamma(k)) - k [n (e^r - 1 - r) + S1 (e^r - 1) + S2]
#     - sum log t,
#
# has no terms of size ``k log k`` that cancel: data that vary by 1e-6 (shape
# 1e12) keep every digit of ``log mean(t) - mean(log t) = S2/n - (D - log1p D)``,
# ``D = S1 / n``, where ``log mean(t) - mean(log t)`` from plain sums keeps none.


def _positive_centre(centre, like):
    """The centre of positive data (1 where none is given or it is not usable)."""
    if centre is None:
        return jnp.ones((), jnp.result_type(like))
    return jnp.where((centre > 0) & jnp.isfinite(centre), centre, 1.0)


def _log_ratio(r):
    """``log r`` for ``r = t / c``, accurate both near 1 (``log1p(r - 1)``) and
    far below it, where ``r - 1`` has lost ``r``'s digits: there ``-log1p(1/r -
    1)`` (one ``log1p`` per value either way)."""
    small = r < 0.5
    lg = jnp.log1p(jnp.where(small, 1.0 / r - 1.0, r - 1.0))
    return jnp.where(small, -lg, lg)


def _centred_gamma_statistics(t, c):
    """``(d, d - log(1 + d))``, ``d = t / c - 1``: non-finite unless ``t > 0``."""
    r = t / c
    return r - 1.0, (r - 1.0) - _log_ratio(r)


def _gamma_loglik_centred(k, log_rate, s1, s2, n, c):
    """The gamma(``k``, rate) log-likelihood of ``t`` from its centred sums."""
    r = log_rate + jnp.log(c) - jnp.log(k)
    em = jnp.expm1(r)
    sum_log_t = n * jnp.log(c) + s1 - s2
    return n * k_log_k_minus_lgamma(k) - k * (n * (em - r) + s1 * em + s2) - sum_log_t


def _gamma_start_centred(s1, s2, n, c) -> Params:
    """Minka's start from the centred sums."""
    big_d = s1 / n
    gap = s2 / n - (big_d - jnp.log1p(big_d))
    return _minka_from_gap(gap, c * (1.0 + big_d))


@register
class Gamma(Family):
    r"""Gamma distribution with shape :math:`\alpha` and rate :math:`\beta`.

    .. math:: \log f(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x
              - \log\Gamma(\alpha), \quad x > 0

    No closed form; ``init`` uses Minka's approximation to the shape MLE,
    :math:`\hat\alpha \approx (3 - s + \sqrt{(s-3)^2 + 24 s}) / (12 s)` with
    :math:`s = \log\bar x - \overline{\log x}`, and ``rate = shape / mean(x)``.
    """

    costly_cdf = True

    name = "gamma"
    param_names = ("shape", "rate")
    equivariance = Equivariance(scale={"rate": -1})
    constraints = {"shape": C.positive, "rate": C.positive}
    support = S.positive_reals

    density = "rate^shape x^(shape-1) exp(-rate x) / Gamma(shape), x > 0"
    scipy_equivalent = ScipyEquivalent("gamma", a="shape", scale="1/rate")

    def logpdf(self, params, x):
        a, b = params["shape"], params["rate"]
        return a * jnp.log(b) + xlogy(a - 1.0, x) - b * x - gammaln(a)

    def cdf(self, params, x):
        return gammainc(params["shape"], params["rate"] * jnp.maximum(x, 0.0))

    def log_cdf_sf(self, params, x):
        log_rx = jnp.log(params["rate"]) + log_positive(x)
        return log_tails(*log_gammainc_pair(params["shape"], log_rx))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return jax.random.gamma(key, params["shape"], shape) / params["rate"]

    def init(self, x, w):
        return _minka_start(weighted_mean(x, w), weighted_mean(jnp.log(x), w))

    def statistics(self, x, centre=None):
        return _centred_gamma_statistics(x, _positive_centre(centre, x))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        c = _positive_centre(centre, n)
        return _gamma_loglik_centred(params["shape"], jnp.log(params["rate"]), *sums, n, c)

    def init_from_statistics(self, sums, n, centre=None):
        return _gamma_start_centred(*sums, n, _positive_centre(centre, n))

    def expected_information(self, params):
        a, b = params["shape"], params["rate"]
        return matrix([[polygamma(1, a), -1.0 / b], [-1.0 / b, a / (b * b)]])


@register
class Weibull(CumulativeHazardFamily):
    r"""Weibull distribution with shape :math:`k` and scale :math:`\lambda`.

    .. math:: \log f(x) = \log k - \log\lambda + (k-1)\log(x/\lambda)
              - (x/\lambda)^k, \quad x > 0

    ``init`` matches the moments of ``log x`` (a Gumbel variable):
    :math:`\mathrm{sd}(\log x) = \pi / (k\sqrt6)`,
    :math:`\mathrm{E}\log x = \log\lambda - \gamma_E / k`.
    """

    name = "weibull"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "(shape/scale) (x/scale)^(shape-1) exp(-(x/scale)^shape), x > 0"
    scipy_equivalent = ScipyEquivalent("weibull_min", c="shape", scale="scale")

    def logpdf(self, params, x):
        return self.logpdf_features(params, jnp.log(x))

    def features(self, x):
        return jnp.log(x)

    def logpdf_features(self, params, logx):
        k, lam = params["shape"], params["scale"]
        log_ratio = logx - jnp.log(lam)
        return jnp.log(k) - jnp.log(lam) + (k - 1.0) * log_ratio - jnp.exp(k * log_ratio)

    def logsf_features(self, params, logx):
        return -jnp.exp(params["shape"] * (logx - jnp.log(params["scale"])))

    def init_right_censored(self, logx, event, w):
        # The shape from all times, then the scale's MLE at that shape:
        # scale^k = sum x^k / (number of events).
        k = self.init_features(logx, w)["shape"]
        top = jnp.max(logx)
        ww = jnp.ones_like(logx) if w is None else w
        log_sum = jnp.log(jnp.sum(ww * jnp.exp(k * (logx - top))))
        log_scale = top + (log_sum - jnp.log(jnp.sum(ww * event))) / k
        return {"shape": k, "scale": jnp.exp(log_scale)}

    # log h = log k - log scale + (k - 1) t: the sum of t and n (the events)
    event_terms = (0,)

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

    def log_cum_hazard(self, params, x):
        return params["shape"] * (log_positive(x) - jnp.log(params["scale"]))

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


def _lognormal_mle_about_a_centre(x, w) -> Params:
    """The lognormal MLE from ``log x = log c + log1p((x - c) / c)``, ``c`` near
    the data: exact to rounding for ``x`` near ``c`` (``x - c`` is exact
    there); farther values, or ones outside the support, take ``log x - log c``."""
    c = central_value(x, w)
    c = jnp.where(c > 0, c, 1.0)
    d = (x - c) / c
    near = jnp.abs(d) < 0.5
    logs = jnp.where(near, jnp.log1p(jnp.where(near, d, 0.0)), jnp.log(x) - jnp.log(c))
    est = Normal().closed_form(logs, w)
    return {"loc": jnp.log(c) + est["loc"], "scale": est["scale"]}


@register
class LogNormal(Family):
    r"""Log-normal distribution: ``log x ~ Normal(loc, scale)``.

    .. math:: \log f(x) = -\tfrac12 \left(\tfrac{\log x-\mu}{\sigma}\right)^2
              - \log\sigma - \log x - \tfrac12\log 2\pi, \quad x > 0

    Parameters: ``loc`` (mean of ``log x``), ``scale`` (sd of ``log x``).
    """

    name = "lognormal"
    exponential_family = True
    closed_form_checks_values = True
    param_names = ("loc", "scale")
    equivariance = Equivariance(log_location=("loc",))
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.positive_reals
    density = "exp(-(log x-loc)^2 / (2 scale^2)) / (x scale sqrt(2 pi)), x > 0"
    scipy_equivalent = ScipyEquivalent("lognorm", s="scale", scale="exp(loc)")

    def logpdf(self, params, x):
        logx = jnp.log(x)
        return Normal().logpdf(params, logx) - logx

    def cdf(self, params, x):
        return Normal().cdf(params, jnp.log(x))

    def log_cdf_sf(self, params, x):
        return Normal().log_cdf_sf(params, jnp.log(x))

    def logcdf(self, params, x):
        return Normal().logcdf(params, jnp.log(x))

    def logsf(self, params, x):
        return Normal().logsf(params, jnp.log(x))

    def sample(self, params, key, shape=()):
        return jnp.exp(Normal().sample(params, key, shape))

    def init(self, x, w):
        return Normal().init(jnp.log(x), w)

    def closed_form(self, x, w):
        plain = Normal().closed_form(jnp.log(x), w)
        # log x rounds to an ulp of log x, eps |log x|: the scale's relative error
        # is up to eps (1 + |loc|) / scale, all of it for data a few ulps apart
        # (1e15 +- 1e2: a scale of 1e-13, of which that rounding is 3%). Below
        # (1 + |loc|) / 256 (where that error would exceed 256 ulps), the logs
        # are taken about a centre instead (two logs and a select a value: for
        # those data only, as XLA:CPU runs that several times slower than one).
        tight = plain["scale"] < (1.0 + jnp.abs(plain["loc"])) / 256.0
        return jax.lax.cond(tight, lambda: _lognormal_mle_about_a_centre(x, w), lambda: plain)

    def loglik_at_mle(self, estimate, n):
        # The normal's of log x, less the Jacobian sum(w log x) = n * loc.
        return Normal().loglik_at_mle(estimate, n) - n * estimate["loc"]

    def expected_information(self, params):
        # log x is normal and the Jacobian term -log x is free of the parameters.
        return Normal().expected_information(params)


@register
class InverseGaussian(Family):
    r"""Inverse Gaussian (Wald) distribution with mean :math:`\mu` and shape :math:`\lambda`.

    .. math:: \log f(x) = \tfrac12\log\lambda - \tfrac12\log 2\pi - \tfrac32\log x
              - \frac{\lambda (x-\mu)^2}{2\mu^2 x}, \quad x > 0

    Parameters: ``mean`` (:math:`\mu > 0`, the mean), ``shape``
    (:math:`\lambda > 0`; the variance is :math:`\mu^3/\lambda`).
    MLE: ``mean = mean(x)``, ``1/shape = mean(1/x - 1/mean(x))``, computed as
    ``mean((x - m)^2 / (x m^2))`` (the same sum, term by term non-negative:
    no cancellation when the data vary little).
    ``init`` matches moments instead (``shape = mean**3 / var``), so the
    iterative solvers have work to do.
    """

    costly_cdf = True

    name = "inverse_gaussian"
    exponential_family = True
    param_names = ("mean", "shape")
    equivariance = Equivariance(scale={"mean": 1, "shape": 1})
    constraints = {"mean": C.positive, "shape": C.positive}
    support = S.positive_reals
    density = "sqrt(shape / (2 pi x^3)) exp(-shape (x-mean)^2 / (2 mean^2 x)), x > 0"
    scipy_equivalent = ScipyEquivalent("invgauss", mu="mean/shape", scale="shape")

    def logpdf(self, params, x):
        mu, lam = params["mean"], params["shape"]
        return (
            0.5 * jnp.log(lam)
            - HALF_LOG_2PI
            - 1.5 * jnp.log(x)
            - lam * jnp.square(x - mu) / (2.0 * mu * mu * x)
        )

    def _terms(self, params, x):
        # F(x) = Phi(a) + exp(2 lam / mu) Phi(-b).
        mu, lam = params["mean"], params["shape"]
        r = jnp.sqrt(lam / x)
        return r * (x / mu - 1.0), r * (x / mu + 1.0), 2.0 * lam / mu

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def log_cdf_sf(self, params, x):
        # F = Phi(a) + exp(c) Phi(-b), and 1 - F = Phi(-a) - exp(c) Phi(-b)
        # = Phi(-a) (1 - exp(-t)), t > 0; each used in its own tail.
        # t = log Phi(-a) - c - log Phi(-b), where c = (b^2 - a^2)/2 cancels
        # exactly (log_ndtr_gap: the upper tail keeps its digits at any x).
        a, b, c = self._terms(params, x)
        lower = jnp.logaddexp(log_ndtr_accurate(a), c + log_ndtr_accurate(-b))
        t = log_ndtr_gap(a, b)
        ok = t > 0
        upper = log_ndtr_accurate(-a) + log1mexp(jnp.where(ok, t, 1.0))
        return log_tails(lower, jnp.where(ok, upper, -jnp.inf))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        # Michael, Schucany & Haas (1976), with the root written without
        # cancellation: mu (1 + r - sqrt(r^2 + 2r)) = mu / (1 + r + sqrt(r^2 + 2r)).
        mu, lam = params["mean"], params["shape"]
        k_norm, k_unif = jax.random.split(key)
        r = mu * jnp.square(jax.random.normal(k_norm, shape)) / (2.0 * lam)
        root = mu / (1.0 + r + jnp.sqrt(r * (r + 2.0)))
        u = jax.random.uniform(k_unif, shape)
        return jnp.where(u * (mu + root) <= mu, root, mu * mu / root)

    def init(self, x, w):
        m, v = weighted_mean_var(x, w)
        shape = jnp.where(v > 0, m**3 / v, 1.0 / m)
        return {"mean": m, "shape": shape}

    def closed_form(self, x, w):
        m = weighted_mean(x, w)
        return {"mean": m, "shape": 1.0 / weighted_mean(jnp.square((x - m) / m) / x, w)}

    # Statistics about the centre c, d = x / c - 1: S1 = sum d, S2 = sum d^2 / (1 + d)
    # = sum (x - c)^2 / (c x) (terms >= 0) and sum log x. With delta = (c - mu) / c,
    #   sum (x - mu)^2 / x = c [S2 + 2 delta (S1 - S2) + delta^2 (n - S1 + S2)],
    # where plain sums (sum x - 2 n mu + mu^2 sum 1/x) cancel to nothing when
    # the data vary little.
    def statistics(self, x, centre=None):
        r = x / _positive_centre(centre, x)  # 1 + d, with all of r's digits
        d = r - 1.0
        return (d, d * d / r, jnp.log(x))

    def _quad(self, mu, sums, n, c):
        """``sum (x - mu)^2 / x`` from the centred sums."""
        s1, s2, _ = sums
        delta = (c - mu) / c
        return c * (s2 + 2.0 * delta * (s1 - s2) + delta * delta * (n - s1 + s2))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        mu, lam = params["mean"], params["shape"]
        quad = self._quad(mu, sums, n, _positive_centre(centre, n))
        return n * (0.5 * jnp.log(lam) - HALF_LOG_2PI) - 1.5 * sums[2] - lam * quad / (2 * mu * mu)

    def init_from_statistics(self, sums, n, centre=None):
        c = _positive_centre(centre, n)
        m = c * (1.0 + sums[0] / n)
        mean_quad = self._quad(m, sums, n, c) / (n * m * m)
        return {"mean": m, "shape": 1.0 / jnp.maximum(mean_quad, 1e-12 / m)}

    def expected_information(self, params):
        mu, lam = params["mean"], params["shape"]
        return jnp.diag(jnp.stack([lam / mu**3, 0.5 / jnp.square(lam)]))


@register
class HalfNormal(Family):
    r"""Half-normal distribution: ``|Z| * scale`` with ``Z ~ N(0, 1)``.

    .. math:: \log f(x) = \tfrac12\log\tfrac{2}{\pi} - \log\sigma
              - \frac{x^2}{2\sigma^2}, \quad x \ge 0

    Parameters: ``scale`` (:math:`\sigma > 0`). MLE: ``scale**2 = mean(x**2)``.
    ``init`` uses the median, :math:`\sigma = \mathrm{med}(x) / \Phi^{-1}(3/4)`.
    """

    name = "half_normal"
    exponential_family = True
    param_names = ("scale",)
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"scale": C.positive}
    support = S.nonnegative_reals
    density = "sqrt(2/pi) / scale exp(-x^2 / (2 scale^2)), x >= 0"
    scipy_equivalent = ScipyEquivalent("halfnorm", scale="scale")

    _MEDIAN_UNIT = 0.6744897501960817  # median of |N(0, 1)|

    def logpdf(self, params, x):
        s = params["scale"]
        return _HALF_LOG_2_OVER_PI - jnp.log(s) - 0.5 * jnp.square(x / s)

    def cdf(self, params, x):
        return erf(jnp.maximum(x, 0.0) / (params["scale"] * jnp.sqrt(2.0)))

    def log_cdf_sf(self, params, x):
        # log erf(z) near 0 (log1p(-erfc(z)) above, double where: both finite),
        # and log(2 Phi(-x/scale)) for the upper tail.
        z = jnp.maximum(x, 0.0) / (params["scale"] * jnp.sqrt(2.0))
        small = z < 1.0
        lower = jnp.where(
            small,
            log_positive(erf(jnp.where(small, z, 0.5))),
            jnp.log1p(-erfc(jnp.where(small, 2.0, z))),
        )
        return log_tails(lower, LOG_2 + log_ndtr_accurate(-jnp.maximum(x, 0.0) / params["scale"]))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return params["scale"] * jnp.abs(jax.random.normal(key, shape))

    def init(self, x, w):
        med = weighted_quantile(x, w, 0.5)
        rms = jnp.sqrt(weighted_mean(jnp.square(x), w))
        return {"scale": jnp.where(med > 0, med / self._MEDIAN_UNIT, rms)}

    def closed_form(self, x, w):
        return {"scale": jnp.sqrt(weighted_mean(jnp.square(x), w))}

    def expected_information(self, params):
        # -d2/ds2 log f = 3 x^2 / s^4 - 1 / s^2 and E[x^2] = s^2.
        return jnp.reshape(2.0 / jnp.square(params["scale"]), (1, 1))


@register
class Rayleigh(CumulativeHazardFamily):
    r"""Rayleigh distribution with scale :math:`\sigma`.

    .. math:: \log f(x) = \log x - 2\log\sigma - \frac{x^2}{2\sigma^2}, \quad x > 0

    (The density vanishes at 0, so the support is ``x > 0``: a 0 in the data
    would make the log-likelihood ``-inf``.) MLE: ``scale**2 = mean(x**2) / 2``.
    ``init`` uses the median, :math:`\sigma = \mathrm{med}(x)/\sqrt{2\log 2}`.
    """

    name = "rayleigh"
    exponential_family = True
    param_names = ("scale",)
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"scale": C.positive}
    support = S.positive_reals
    density = "x / scale^2 exp(-x^2 / (2 scale^2)), x > 0"
    scipy_equivalent = ScipyEquivalent("rayleigh", scale="scale")

    def logpdf(self, params, x):
        s = params["scale"]
        return jnp.log(x) - 2.0 * jnp.log(s) - 0.5 * jnp.square(x / s)

    def log_cum_hazard(self, params, x):
        return 2.0 * (log_positive(x) - jnp.log(params["scale"])) - LOG_2

    def sample(self, params, key, shape=()):
        return params["scale"] * jnp.sqrt(2.0 * jax.random.exponential(key, shape))

    def init(self, x, w):
        med = weighted_quantile(x, w, 0.5)
        return {"scale": med / jnp.sqrt(2.0 * jnp.log(2.0))}

    def closed_form(self, x, w):
        return {"scale": jnp.sqrt(0.5 * weighted_mean(jnp.square(x), w))}

    def expected_information(self, params):
        # -d2/ds2 log f = 3 x^2 / s^4 - 2 / s^2 and E[x^2] = 2 s^2.
        return jnp.reshape(4.0 / jnp.square(params["scale"]), (1, 1))


def _loglogistic_z(params, x):
    """``shape * log(x / scale)``: ``log x`` standardized as a logistic variable
    (``-inf`` for ``x <= 0``)."""
    return params["shape"] * (log_positive(x) - jnp.log(params["scale"]))


@register
class LogLogistic(Family):
    r"""Log-logistic (Fisk) distribution with shape :math:`\beta` and scale :math:`\alpha`.

    :math:`F(x) = 1 / (1 + (x/\alpha)^{-\beta})`, i.e. ``log x`` is logistic
    with location :math:`\log\alpha` and scale :math:`1/\beta`. With
    :math:`z = \beta\log(x/\alpha)`,

    .. math:: \log f(x) = \log\beta - \log x - \operatorname{softplus}(z)
              - \operatorname{softplus}(-z), \quad x > 0

    Parameters: ``shape`` (:math:`\beta > 0`), ``scale`` (:math:`\alpha > 0`,
    the median). ``init`` fits the logistic to ``log x`` by median and
    interquartile range.
    """

    name = "loglogistic"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "(shape/scale) (x/scale)^(shape-1) / (1 + (x/scale)^shape)^2, x > 0"
    scipy_equivalent = ScipyEquivalent("fisk", c="shape", scale="scale")

    def logpdf(self, params, x):
        z = _loglogistic_z(params, x)
        return jnp.log(params["shape"]) - jnp.log(x) - jax.nn.softplus(z) - jax.nn.softplus(-z)

    def cdf(self, params, x):
        return jax.nn.sigmoid(_loglogistic_z(params, x))

    def logcdf(self, params, x):
        return -jax.nn.softplus(-_loglogistic_z(params, x))

    def logsf(self, params, x):
        return -jax.nn.softplus(_loglogistic_z(params, x))

    def sample(self, params, key, shape=()):
        return params["scale"] * jnp.exp(jax.random.logistic(key, shape) / params["shape"])

    def init(self, x, w):
        start = Logistic().init(jnp.log(x), w)
        return {"shape": 1.0 / start["scale"], "scale": jnp.exp(start["loc"])}

    def expected_information(self, params):
        # log x is logistic(loc = log(scale), scale = 1/shape): the logistic's
        # diag(1/(3 s^2), (pi^2 + 3)/(9 s^2)) through that reparametrization.
        b, a = params["shape"], params["scale"]
        return jnp.diag(jnp.stack([(jnp.pi**2 + 3.0) / (9.0 * b * b), jnp.square(b / a) / 3.0]))


@register
class InverseGamma(Family):
    r"""Inverse gamma distribution: ``1/x ~ Gamma(shape, rate=scale)``.

    .. math:: \log f(x) = \alpha\log\beta - \log\Gamma(\alpha) - (\alpha+1)\log x
              - \beta / x, \quad x > 0

    Parameters: ``shape`` (:math:`\alpha > 0`), ``scale`` (:math:`\beta > 0`).
    ``init`` fits the gamma to ``1/x`` with Minka's approximation (see
    :class:`Gamma`).
    """

    costly_cdf = True

    name = "inverse_gamma"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "scale^shape x^(-shape-1) exp(-scale/x) / Gamma(shape), x > 0"
    scipy_equivalent = ScipyEquivalent("invgamma", a="shape", scale="scale")

    def logpdf(self, params, x):
        a, b = params["shape"], params["scale"]
        return a * jnp.log(b) - gammaln(a) - (a + 1.0) * jnp.log(x) - b / x

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def log_cdf_sf(self, params, x):
        # F(x) = Q(shape, scale / x) and S(x) = P(shape, scale / x).
        log_arg = jnp.log(params["scale"]) - log_positive(x)
        log_p, log_q = log_gammainc_pair(params["shape"], log_arg)
        return log_tails(log_q, log_p)

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return params["scale"] / jax.random.gamma(key, params["shape"], shape)

    def init(self, x, w):
        start = Gamma().init(1.0 / x, w)
        return {"shape": start["shape"], "scale": start["rate"]}

    # 1/x ~ Gamma(shape, rate=scale): the gamma's centred statistics of t = 1/x
    # (about 1/centre), and log f(x) = log g(t) + 2 log t.
    def statistics(self, x, centre=None):
        return _centred_gamma_statistics(1.0 / x, 1.0 / _positive_centre(centre, x))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        c = 1.0 / _positive_centre(centre, n)
        s1, s2 = sums
        gamma = _gamma_loglik_centred(params["shape"], jnp.log(params["scale"]), s1, s2, n, c)
        return gamma + 2.0 * (n * jnp.log(c) + s1 - s2)

    def init_from_statistics(self, sums, n, centre=None):
        start = _gamma_start_centred(*sums, n, 1.0 / _positive_centre(centre, n))
        return {"shape": start["shape"], "scale": start["rate"]}

    def expected_information(self, params):
        a, b = params["shape"], params["scale"]
        return matrix([[polygamma(1, a), -1.0 / b], [-1.0 / b, a / (b * b)]])


@register
class Nakagami(Family):
    r"""Nakagami distribution with shape :math:`m` and scale :math:`s = \sqrt\Omega`.

    ``x**2 ~ Gamma(shape=m, rate=m/s**2)``: :math:`\Omega = s^2 = E[x^2]`.

    .. math:: \log f(x) = \log 2 + m\log m - \log\Gamma(m) - \log s
              + (2m-1)\log(x/s) - m (x/s)^2, \quad x > 0

    Parameters: ``shape`` (:math:`m > 0`; the textbook restricts it to
    :math:`m \ge 1/2`, scipy does not and neither does this family), ``scale``
    (:math:`s = \sqrt\Omega > 0`). The log-likelihood is the gamma
    log-likelihood of ``x**2`` plus a term free of the parameters, so the MLE
    has ``scale**2 = mean(x**2)`` and ``init`` is Minka's gamma approximation
    on ``x**2``.
    """

    costly_cdf = True

    name = "nakagami"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "2 shape^shape / Gamma(shape) / scale (x/scale)^(2 shape-1) exp(-shape (x/scale)^2)"
    scipy_equivalent = ScipyEquivalent("nakagami", nu="shape", scale="scale")

    def logpdf(self, params, x):
        m, s = params["shape"], params["scale"]
        log_ratio = jnp.log(x) - jnp.log(s)
        return (
            LOG_2
            + xlogy(m, m)
            - gammaln(m)
            - jnp.log(s)
            + (2.0 * m - 1.0) * log_ratio
            - m * jnp.exp(2.0 * log_ratio)
        )

    def cdf(self, params, x):
        m = params["shape"]
        return gammainc(m, m * jnp.square(jnp.maximum(x, 0.0) / params["scale"]))

    def log_cdf_sf(self, params, x):
        # F(x) = P(m, m (x / scale)^2), from log(m) + 2 log(x / scale).
        m = params["shape"]
        log_arg = jnp.log(m) + 2.0 * (log_positive(x) - jnp.log(params["scale"]))
        return log_tails(*log_gammainc_pair(m, log_arg))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        m = params["shape"]
        return params["scale"] * jnp.sqrt(jax.random.gamma(key, m, shape) / m)

    def init(self, x, w):
        y = jnp.square(x)
        return {"shape": Gamma().init(y, w)["shape"], "scale": jnp.sqrt(weighted_mean(y, w))}

    # x^2 ~ Gamma(m, rate m / s^2): the gamma's centred statistics of t = x^2
    # (about centre^2), and log f(x) = log 2 + log g(t) + (1/2) log t.
    def statistics(self, x, centre=None):
        t = jnp.where(x > 0, jnp.square(x), jnp.nan)  # x <= 0 is outside the support
        return _centred_gamma_statistics(t, jnp.square(_positive_centre(centre, x)))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        m, c = params["shape"], jnp.square(_positive_centre(centre, n))
        s1, s2 = sums
        log_rate = jnp.log(m) - 2.0 * jnp.log(params["scale"])
        gamma = _gamma_loglik_centred(m, log_rate, s1, s2, n, c)
        return n * LOG_2 + gamma + 0.5 * (n * jnp.log(c) + s1 - s2)

    def init_from_statistics(self, sums, n, centre=None):
        c = jnp.square(_positive_centre(centre, n))
        start = _gamma_start_centred(*sums, n, c)
        return {"shape": start["shape"], "scale": jnp.sqrt(c * (1.0 + sums[0] / n))}

    def expected_information(self, params):
        # d2/dm ds log f = 2 (x^2/s^2 - 1) / s has mean 0 since E[x^2] = s^2.
        m, s = params["shape"], params["scale"]
        return jnp.diag(jnp.stack([polygamma(1, m) - 1.0 / m, 4.0 * m / (s * s)]))


@register
class ChiSquared(Family):
    r"""Chi-squared distribution with :math:`k` degrees of freedom (real, > 0).

    .. math:: \log f(x) = (k/2 - 1)\log x - x/2 - (k/2)\log 2 - \log\Gamma(k/2),
              \quad x > 0

    Parameters: ``df`` (:math:`k > 0`). ``init``: ``df = mean(x)`` (the
    mean of a chi-squared is its degrees of freedom).
    """

    costly_cdf = True

    name = "chi2"
    param_names = ("df",)
    constraints = {"df": C.positive}
    support = S.positive_reals

    density = "x^(df/2-1) exp(-x/2) / (2^(df/2) Gamma(df/2)), x > 0"
    scipy_equivalent = ScipyEquivalent("chi2", df="df")

    def logpdf(self, params, x):
        h = 0.5 * params["df"]
        return xlogy(h - 1.0, x) - 0.5 * x - h * LOG_2 - gammaln(h)

    def cdf(self, params, x):
        return gammainc(0.5 * params["df"], 0.5 * jnp.maximum(x, 0.0))

    def log_cdf_sf(self, params, x):
        return log_tails(*log_gammainc_pair(0.5 * params["df"], log_positive(x) - LOG_2))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return 2.0 * jax.random.gamma(key, 0.5 * params["df"], shape)

    def init(self, x, w):
        return {"df": weighted_mean(x, w)}

    def statistics(self, x, centre=None):
        return (jnp.log(x), x)

    def loglik_from_statistics(self, params, sums, n, centre=None):
        h = 0.5 * params["df"]
        return (h - 1.0) * sums[0] - 0.5 * sums[1] - n * (h * LOG_2 + gammaln(h))

    def init_from_statistics(self, sums, n, centre=None):
        return {"df": sums[1] / n}

    def expected_information(self, params):
        return jnp.reshape(0.25 * polygamma(1, 0.5 * params["df"]), (1, 1))


@register
class Frechet(Family):
    r"""Frechet (inverse Weibull) distribution with shape :math:`\alpha` and scale :math:`s`.

    :math:`F(x) = \exp(-(x/s)^{-\alpha})`, i.e. ``1/x`` is Weibull with shape
    :math:`\alpha` and scale :math:`1/s`.

    .. math:: \log f(x) = \log\alpha - \log s - (1+\alpha)\log(x/s)
              - (x/s)^{-\alpha}, \quad x > 0

    Parameters: ``shape`` (:math:`\alpha > 0`), ``scale`` (:math:`s > 0`).
    ``init`` fits the Weibull to ``1/x`` by the moments of ``log x`` (see
    :class:`Weibull`).
    """

    name = "frechet"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "(shape/scale) (x/scale)^(-1-shape) exp(-(x/scale)^-shape), x > 0"
    scipy_equivalent = ScipyEquivalent("invweibull", c="shape", scale="scale")

    def logpdf(self, params, x):
        a, s = params["shape"], params["scale"]
        log_ratio = jnp.log(x) - jnp.log(s)
        return jnp.log(a) - jnp.log(s) - (1.0 + a) * log_ratio - jnp.exp(-a * log_ratio)

    def _log_neg_logcdf(self, params, x):
        """``log(-log F(x)) = -shape log(x / scale)`` (``+inf`` for ``x <= 0``)."""
        return -params["shape"] * (log_positive(x) - jnp.log(params["scale"]))

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        return -jnp.exp(self._log_neg_logcdf(params, x))

    def logsf(self, params, x):
        return log1mexp_exp(self._log_neg_logcdf(params, x))

    def sample(self, params, key, shape=()):
        e = jax.random.exponential(key, shape)
        return params["scale"] * jnp.exp(-jnp.log(e) / params["shape"])

    def init(self, x, w):
        start = Weibull().init(1.0 / x, w)
        return {"shape": start["shape"], "scale": 1.0 / start["scale"]}

    def expected_information(self, params):
        # 1/x is Weibull(shape, 1/scale): its information through scale -> 1/scale.
        a, s = params["shape"], params["scale"]
        c = 1.0 - EULER_GAMMA
        return matrix([[(c * c + PI_SQ_OVER_6) / (a * a), c / s], [c / s, jnp.square(a / s)]])


@register
class Burr(Family):
    r"""Burr type XII distribution with shapes :math:`c, k` and scale :math:`s`.

    :math:`F(x) = 1 - (1 + (x/s)^c)^{-k}`. With :math:`z = c\log(x/s)`,

    .. math:: \log f(x) = \log c + \log k - \log x + z
              - (k+1)\operatorname{softplus}(z), \quad x > 0

    Parameters: ``c`` (:math:`c > 0`), ``k`` (:math:`k > 0`), ``scale``
    (:math:`s > 0`). With ``k = 1`` it is the log-logistic, which gives
    ``init``: ``c`` and ``scale`` (the median) from the log-logistic start on
    ``log x``, and ``k = 1``. The likelihood has a long, flat ridge (``c``
    against ``k``), which Newton follows with exact Hessians.
    """

    name = "burr"
    param_names = ("c", "k", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"c": C.positive, "k": C.positive, "scale": C.positive}
    support = S.positive_reals

    density = "c k / scale (x/scale)^(c-1) (1 + (x/scale)^c)^(-k-1), x > 0"
    scipy_equivalent = ScipyEquivalent("burr12", c="c", d="k", scale="scale")

    def _z(self, params, x):
        return params["c"] * (log_positive(x) - jnp.log(params["scale"]))

    def logpdf(self, params, x):
        c, k = params["c"], params["k"]
        z = self._z(params, x)
        return jnp.log(c) + jnp.log(k) - jnp.log(x) + z - (k + 1.0) * jax.nn.softplus(z)

    def logsf(self, params, x):
        return -params["k"] * jax.nn.softplus(self._z(params, x))

    def cdf(self, params, x):
        return -jnp.expm1(self.logsf(params, x))

    def logcdf(self, params, x):
        # log(1 - S) from log(-log S) = log k + log softplus(z): accurate where
        # -log S underflows.
        return log1mexp_exp(jnp.log(params["k"]) + log_softplus(self._z(params, x)))

    def sample(self, params, key, shape=()):
        # Inverse cdf: (x/s)^c = (1-U)^(-1/k) - 1 = expm1(E/k), E ~ Exp(1).
        e = jax.random.exponential(key, shape)
        return params["scale"] * jnp.exp(jnp.log(jnp.expm1(e / params["k"])) / params["c"])

    def init(self, x, w):
        start = LogLogistic().init(x, w)
        return {"c": start["shape"], "k": jnp.ones_like(start["shape"]), "scale": start["scale"]}


@register
class Pareto(Family):
    r"""Pareto (type I) distribution with tail index :math:`\alpha` and scale :math:`s`.

    .. math:: \log f(x) = \log\alpha + \alpha\log s - (\alpha+1)\log x,
              \quad x \ge s

    and :math:`-\infty` below ``scale``. Parameters: ``alpha``
    (:math:`\alpha > 0`), ``scale`` (:math:`s > 0`, the lower end of the
    support). MLE (on the support boundary): ``scale = min(x)``,
    ``alpha = 1 / mean(log(x / scale))`` (weighted: over the observations of
    positive weight). ``init`` puts ``scale`` just below ``min(x)`` (a factor
    ``1 - 1e-3``), so the start is feasible; iterative solvers then approach
    but cannot land on the boundary, so ``method="auto"`` uses the closed form.
    """

    name = "pareto"
    param_names = ("alpha", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"alpha": C.positive, "scale": C.positive}
    support = S.positive_reals
    boundary_params = ("scale",)

    density = "alpha scale^alpha / x^(alpha+1), x >= scale"
    scipy_equivalent = ScipyEquivalent("pareto", b="alpha", scale="scale")

    def _log_ratio(self, params, x):
        """``log(x / scale)``, by ``log1p`` within a factor 2 of the scale
        (``x - scale`` is exact there: the lower tail keeps its digits)."""
        d = (x - params["scale"]) / params["scale"]
        near = jnp.abs(d) < 1.0
        far = log_positive(jnp.where(near, 1.0, x)) - jnp.log(params["scale"])
        return jnp.where(near, jnp.log1p(jnp.where(near, d, 0.0)), far)

    def logpdf(self, params, x):
        a = params["alpha"]
        inside = x >= params["scale"]
        # log f = log(alpha) - log(scale) - (alpha + 1) log(x / scale)
        value = jnp.log(a) - jnp.log(params["scale"]) - (a + 1.0) * self._log_ratio(params, x)
        return jnp.where(inside, value, -jnp.inf)

    def logsf(self, params, x):
        t = params["alpha"] * self._log_ratio(params, x)
        return jnp.where(x >= params["scale"], -t, 0.0)

    def cdf(self, params, x):
        return -jnp.expm1(self.logsf(params, x))

    def logcdf(self, params, x):
        # From log(alpha log(x / scale)): near the scale, where alpha log(x /
        # scale) is tiny, its derivatives stay well scaled.
        above = x > params["scale"]
        log_ratio = self._log_ratio(params, jnp.where(above, x, 2.0 * params["scale"]))
        value = log1mexp_exp(jnp.log(params["alpha"]) + log_positive(log_ratio))
        return jnp.where(above, value, -jnp.inf)

    def sample(self, params, key, shape=()):
        return params["scale"] * jnp.exp(jax.random.exponential(key, shape) / params["alpha"])

    def _alpha_given_scale(self, x, w, scale):
        return 1.0 / weighted_mean(jnp.log(x) - jnp.log(scale), w)

    def init(self, x, w):
        scale = weighted_min(x, w) * (1.0 - 1e-3)
        return {"alpha": self._alpha_given_scale(x, w, scale), "scale": scale}

    def boundary_values(self, x, w):
        return {"scale": weighted_min(x, w)}

    def closed_form(self, x, w):
        scale = weighted_min(x, w)
        return {"alpha": self._alpha_given_scale(x, w, scale), "scale": scale}


_LOG1P_RATIO_SWITCH = 0.05
_LOG1P_RATIO_TERMS = 14  # |t|^14 / 15 < 1e-19 below the switch


def _log1p_ratio(t: jax.Array) -> jax.Array:
    """``log1p(t) / t`` with its limit 1 at ``t = 0``, for ``t > -1``.

    A Taylor series near 0 (where the direct quotient's derivatives cancel
    catastrophically) and the quotient elsewhere; the double ``where`` keeps
    value, gradient and Hessian finite on both branches.
    """
    small = jnp.abs(t) < _LOG1P_RATIO_SWITCH
    ts = jnp.where(small, t, 0.0)
    tl = jnp.where(small, 1.0, t)
    series = jnp.zeros_like(ts)
    for j in range(_LOG1P_RATIO_TERMS, -1, -1):  # sum_j (-t)^j / (j + 1), Horner
        series = 1.0 / (j + 1.0) - ts * series
    return jnp.where(small, series, jnp.log1p(tl) / tl)


def _expm1_ratio(s: jax.Array) -> jax.Array:
    """``expm1(s) / s`` with its limit 1 at ``s = 0``."""
    small = jnp.abs(s) < 1e-8
    ss = jnp.where(small, 1.0, s)
    return jnp.where(small, 1.0 + 0.5 * s, jnp.expm1(ss) / ss)


@register
class GeneralizedPareto(Family):
    r"""Generalized Pareto distribution (location 0), shape :math:`\xi`, scale :math:`\sigma`.

    :math:`F(x) = 1 - (1 + \xi x/\sigma)^{-1/\xi}` (the exponential
    :math:`1 - e^{-x/\sigma}` at :math:`\xi = 0`). With :math:`z = x/\sigma`,
    :math:`t = \xi z`,

    .. math:: \log f(x) = -\log\sigma - \log(1+t) - z\,\frac{\log(1+t)}{t},
              \quad x \ge 0,\ 1 + t > 0

    and :math:`-\infty` elsewhere: for :math:`\xi < 0` the support is
    :math:`0 \le x < -\sigma/\xi`. :math:`\log(1+t)/t` is evaluated by its
    Taylor series near :math:`t = 0`, so the density, its gradient and its
    Hessian are smooth and finite through :math:`\xi = 0`.

    Parameters: ``shape`` (:math:`\xi`, real), ``scale`` (:math:`\sigma > 0`).
    ``init`` matches moments, :math:`\xi = (1 - \bar x^2/s^2)/2`,
    :math:`\sigma = \bar x(1-\xi)`, with :math:`\xi \ge -0.9` and, for
    :math:`\xi < 0`, :math:`\sigma` raised until the upper end of the support
    is at least ``1.05 * max(x)``. (For :math:`\xi < -1` the likelihood is
    unbounded; the MLE is regular for :math:`\xi > -1/2`.)
    """

    name = "generalized_pareto"
    param_names = ("shape", "scale")
    equivariance = Equivariance(scale={"scale": 1})
    constraints = {"shape": C.real, "scale": C.positive}
    support = S.nonnegative_reals

    density = "(1/scale) (1 + shape x/scale)^(-1/shape - 1), x >= 0, 1 + shape x/scale > 0"
    scipy_equivalent = ScipyEquivalent("genpareto", c="shape", scale="scale")

    def _parts(self, params, x):
        """``(inside, z, t)`` with ``t`` replaced by 0 outside the support."""
        z = x / params["scale"]
        t = params["shape"] * z
        inside = (x >= 0) & (t > -1.0)
        return inside, z, jnp.where(inside, t, 0.0)

    def _cum_hazard(self, z, t):
        # -log(1 - F) = log1p(t) / xi = z * log1p(t) / t
        return z * _log1p_ratio(t)

    def logpdf(self, params, x):
        inside, z, t = self._parts(params, x)
        value = -jnp.log(params["scale"]) - jnp.log1p(t) - self._cum_hazard(z, t)
        return jnp.where(inside, value, -jnp.inf)

    def logsf(self, params, x):
        inside, z, t = self._parts(params, x)
        return jnp.where(inside, -self._cum_hazard(z, t), jnp.where(x < 0, 0.0, -jnp.inf))

    def cdf(self, params, x):
        return -jnp.expm1(self.logsf(params, x))

    def logcdf(self, params, x):
        # From log H = log z + log(log1p(t) / t) (log1mexp_exp): near 0, where
        # H is tiny, its derivatives stay well scaled.
        inside, z, t = self._parts(params, x)
        positive = inside & (z > 0)
        log_h = log_positive(jnp.where(positive, z, 1.0)) + jnp.log(_log1p_ratio(t))
        value = log1mexp_exp(log_h)
        return jnp.where(positive, value, jnp.where(x > 0, 0.0, -jnp.inf))

    def sample(self, params, key, shape=()):
        # Inverse cdf: x = sigma (U^-xi - 1) / xi = sigma E expm1(xi E) / (xi E).
        e = jax.random.exponential(key, shape)
        return params["scale"] * e * _expm1_ratio(params["shape"] * e)

    def init(self, x, w):
        m, v = weighted_mean_var(x, w)
        xi = jnp.where(v > 0, 0.5 * (1.0 - m * m / v), 0.0)
        xi = jnp.clip(xi, -0.9, 0.45)
        sigma = m * (1.0 - xi)
        sigma = jnp.where(xi < 0, jnp.maximum(sigma, -1.05 * xi * weighted_max(x, w)), sigma)
        return {"shape": xi, "scale": sigma}

    def diagnose(self, params, x):
        shape = float(params["shape"])
        if shape <= -1.0:
            return (
                f"shape={shape:.3g} <= -1: the likelihood is unbounded as the upper end "
                "of the support, -scale/shape, approaches max(x), so no MLE exists"
            )
        if shape < -0.5:
            return (
                f"shape={shape:.3g} < -0.5: the MLE is not regular there (the support "
                "ends at the data), so the standard errors are unreliable"
            )
        return None
