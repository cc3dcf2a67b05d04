"""Discrete univariate families: Poisson, Bernoulli, binomial, geometric,
negative binomial, zero-inflated Poisson, categorical, beta-binomial.

Data are floats holding integers (validation checks the support); the
log-densities are log-pmfs, and ``sample`` returns floats. Families with a
number of trials or categories take it as a required constructor option,
``jm.family("binomial", n=10)``, and their support depends on it.
"""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaincc, gammaln, xlog1py, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import (
    HALF_LOG_2PI,
    betaln,
    log1mexp,
    log_betainc_pair,
    log_gammainc_pair,
    log_positive,
    log_tails,
    nan_unless,
)
from jaxmle.families.base import Family, weighted_mean, weighted_mean_var
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent

__all__ = [
    "Bernoulli",
    "BetaBinomial",
    "Binomial",
    "Categorical",
    "Geometric",
    "NegativeBinomial",
    "Poisson",
    "ZeroInflatedPoisson",
]


def _count_option(family: str, option: str, value, minimum: int) -> int:
    """Validate a required integer option (trials, categories) and return it as an int."""
    if value is None:
        raise TypeError(
            f"{family} needs the option {option}= (an integer >= {minimum}), "
            f'e.g. jm.family("{family}", {option}=10)'
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{family}: {option} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{family}: {option} must be >= {minimum}, got {value}")
    return int(value)


@functools.cache
def _integers_up_to(n: int) -> S.Support:
    # Cached so that a family's support is one object per n.
    return S.integers_up_to(n)


def _n_obs(x, w):
    return x.shape[0] if w is None else jnp.sum(w)


def _shrunk_mean(x, w):
    """``(sum x + 1/2) / (n + 1)``: the mean pulled off the boundary (never 0), for ``init``."""
    n = _n_obs(x, w)
    return (weighted_mean(x, w) * n + 0.5) / (n + 1.0)


def _log_choose(n, k):
    r""":math:`\log\binom{n}{k} = -\log(n+1) - \log B(n-k+1, k+1)` for ``0 <= k <= n``
    (``k`` outside is clamped: callers mask it), accurate for large ``n``."""
    k = jnp.clip(k, 0.0, n)
    return -jnp.log(n + 1.0) - betaln(n - k + 1.0, k + 1.0)


_SADDLE_FROM = 15.0


def _count_tails(k, inner, log_lower, log_upper, above_all: bool = False):
    r"""``(log P(X <= k), log P(X > k))`` of a count: the two tails where ``inner``
    (:func:`log_tails`), ``(-inf, 0)`` below the support (``k < 0``) and
    ``(0, -inf)`` above it (``k`` past the last value, where ``above_all``)."""
    log_cdf, log_sf = log_tails(log_lower, log_upper)
    below = k < 0
    log_cdf = jnp.where(inner, log_cdf, jnp.where(below, -jnp.inf, 0.0))
    log_sf = jnp.where(inner, log_sf, jnp.where(below, 0.0, -jnp.inf))
    return log_cdf, log_sf


def _stirling_error(k: jax.Array) -> jax.Array:
    """``log Gamma(k+1) - (k+1/2) log k + k - log(2 pi)/2`` for ``k >= 15``
    (its asymptotic series; the next term is below 1e-14 there)."""
    r = 1.0 / (k * k)
    return (1.0 / 12 - r * (1.0 / 360 - r * (1.0 / 1260 - r / 1680))) / k


@register
class Poisson(Family):
    r"""Poisson distribution with rate :math:`\lambda`.

    .. math:: \log p(x) = x\log\lambda - \lambda - \log\Gamma(x+1),
              \quad x = 0, 1, 2, \ldots

    (``xlogy`` makes ``x = 0`` exact at any rate.) MLE: ``rate = mean(x)``.
    From ``x = 15`` on, the same value in Loader's saddle-point form,

    .. math:: \log p(x) = -\tfrac12\log(2\pi x) - s(x) - \left(x\log\tfrac{x}{\lambda}
              + \lambda - x\right),

    with Stirling's error :math:`s(x) = \log\Gamma(x+1) - (x+\tfrac12)\log x + x -
    \tfrac12\log 2\pi` by its series: the three terms of size :math:`x\log x`
    that cancel in the first form (losing every digit of a count of ``1e15``,
    or overflowing) never appear.
    """

    name = "poisson"
    exponential_family = True
    param_names = ("rate",)
    constraints = {"rate": C.positive}
    support = S.nonnegative_integers
    density = "rate^x exp(-rate) / x!, x = 0, 1, 2, ..."
    scipy_equivalent = ScipyEquivalent("poisson", mu="rate")

    def logpdf(self, params, x):
        rate = params["rate"]
        direct = xlogy(x, rate) - rate - gammaln(x + 1.0)
        large = x >= _SADDLE_FROM
        k = jnp.where(large, x, _SADDLE_FROM)
        d = k - rate
        # x log(x / rate) + rate - x, with log(x / rate) by log1p near 1.
        near = jnp.abs(d) < 0.5 * rate
        log_ratio = jnp.where(near, jnp.log1p(d / rate), jnp.log(k / rate))
        deviance = k * log_ratio - d
        saddle = -HALF_LOG_2PI - 0.5 * jnp.log(k) - _stirling_error(k) - deviance
        return jnp.where(large, saddle, direct)

    def cdf(self, params, x):
        k = jnp.floor(x)
        return jnp.where(k < 0, 0.0, gammaincc(jnp.maximum(k, 0.0) + 1.0, params["rate"]))

    def log_cdf_sf(self, params, x):
        # P(X <= k) = Q(k + 1, rate) and P(X > k) = P(k + 1, rate).
        k = jnp.floor(x)
        log_p, log_q = log_gammainc_pair(jnp.maximum(k, 0.0) + 1.0, jnp.log(params["rate"]))
        return _count_tails(k, k >= 0, log_q, log_p)

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return jax.random.poisson(key, params["rate"], shape).astype(jnp.result_type(float))

    def init(self, x, w):
        return {"rate": _shrunk_mean(x, w)}

    def closed_form(self, x, w):
        return {"rate": weighted_mean(x, w)}

    def statistics(self, x, centre=None):
        return (x, gammaln(x + 1.0), nan_unless((x >= 0) & (x == jnp.floor(x))))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        rate = params["rate"]
        return xlogy(sums[0], rate) - n * rate - sums[1]

    def init_from_statistics(self, sums, n, centre=None):
        return {"rate": (sums[0] + 0.5) / (n + 1.0)}

    def expected_information(self, params):
        return jnp.reshape(1.0 / params["rate"], (1, 1))


@register
class Bernoulli(Family):
    r"""Bernoulli distribution with success probability :math:`p`.

    .. math:: \log p(x) = x\log p + (1-x)\log(1-p), \quad x \in \{0, 1\}

    (``xlogy``/``xlog1py`` make ``p`` in {0, 1} exact.) MLE: ``p = mean(x)``.
    """

    name = "bernoulli"
    exponential_family = True
    param_names = ("p",)
    constraints = {"p": C.unit_interval}
    support = S.binary
    density = "p^x (1-p)^(1-x), x in {0, 1}"
    scipy_equivalent = ScipyEquivalent("bernoulli", p="p")

    def logpdf(self, params, x):
        p = params["p"]
        return xlogy(x, p) + xlog1py(1.0 - x, -p)

    def cdf(self, params, x):
        return jnp.where(x < 0, 0.0, jnp.where(x < 1, 1.0 - params["p"], 1.0))

    def log_cdf_sf(self, params, x):
        p = params["p"]
        k = jnp.floor(x)
        return _count_tails(k, k == 0, jnp.log1p(-p), jnp.log(p))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return jax.random.bernoulli(key, params["p"], shape).astype(jnp.result_type(float))

    def init(self, x, w):
        return {"p": _shrunk_mean(x, w)}

    def closed_form(self, x, w):
        return {"p": weighted_mean(x, w)}

    def statistics(self, x, centre=None):
        return (x, nan_unless((x == 0) | (x == 1)))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        p = params["p"]
        return xlogy(sums[0], p) + xlog1py(n - sums[0], -p)

    def init_from_statistics(self, sums, n, centre=None):
        return {"p": (sums[0] + 0.5) / (n + 1.0)}

    def expected_information(self, params):
        p = params["p"]
        return jnp.reshape(1.0 / (p * (1.0 - p)), (1, 1))

    def support_values(self):
        return jnp.arange(2, dtype=jnp.result_type(float))


@register
class Binomial(Family):
    r"""Binomial distribution: successes in ``n`` independent trials.

    .. math:: \log p(x) = \log\binom{n}{x} + x\log p + (n-x)\log(1-p),
              \quad x = 0, 1, \ldots, n

    Parameter: ``p`` (success probability in (0, 1)). Option: ``n``, the
    number of trials (a positive integer, required): ``Binomial(n=10)``.
    MLE: ``p = mean(x) / n``.
    """

    name = "binomial"
    exponential_family = True
    param_names = ("p",)
    constraints = {"p": C.unit_interval}
    density = "C(n, x) p^x (1-p)^(n-x), x = 0, 1, ..., n (option n: trials)"
    scipy_equivalent = ScipyEquivalent("binom", n="n", p="p")

    def __init__(self, n: int | None = None):
        self.n = _count_option("binomial", "n", n, 1)

    @property
    def support(self):
        return _integers_up_to(self.n)

    def logpdf(self, params, x):
        p, n = params["p"], float(self.n)
        k = jnp.clip(x, 0.0, n)
        lp = _log_choose(n, k) + xlogy(k, p) + xlog1py(n - k, -p)
        return jnp.where((x >= 0) & (x <= n), lp, -jnp.inf)

    def log_cdf_sf(self, params, x):
        # P(X <= k) = I_{1-p}(n-k, k+1) for 0 <= k < n, with logit(1-p) = log(1-p) - log p.
        p, n = params["p"], float(self.n)
        k = jnp.floor(x)
        kc = jnp.clip(k, 0.0, n - 1.0)  # masked outside [0, n)
        log_i, log_1mi = log_betainc_pair(n - kc, kc + 1.0, jnp.log1p(-p) - jnp.log(p))
        return _count_tails(k, (k >= 0) & (k < n), log_i, log_1mi)

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        draws = jax.random.binomial(key, float(self.n), params["p"], shape)
        return draws.astype(jnp.result_type(float))

    def init(self, x, w):
        # (successes + 1/2) / (trials + 1): off the boundary when all x are 0 or n.
        trials = _n_obs(x, w) * self.n
        return {"p": (weighted_mean(x, w) * _n_obs(x, w) + 0.5) / (trials + 1.0)}

    def closed_form(self, x, w):
        return {"p": weighted_mean(x, w) / self.n}

    def expected_information(self, params):
        p = params["p"]
        return jnp.reshape(self.n / (p * (1.0 - p)), (1, 1))

    def support_values(self):
        return jnp.arange(self.n + 1, dtype=jnp.result_type(float))


@register
class Geometric(Family):
    r"""Geometric distribution: the number of trials up to and including the
    first success.

    .. math:: \log p(x) = (x-1)\log(1-p) + \log p, \quad x = 1, 2, 3, \ldots

    Parameter: ``p`` (success probability in (0, 1)). MLE: ``p = 1 / mean(x)``.
    The support starts at 1, as scipy's does.
    """

    name = "geometric"
    exponential_family = True
    param_names = ("p",)
    constraints = {"p": C.unit_interval}
    support = S.positive_integers
    density = "(1-p)^(x-1) p, x = 1, 2, 3, ..."
    scipy_equivalent = ScipyEquivalent("geom", p="p")

    def logpdf(self, params, x):
        p = params["p"]
        lp = xlog1py(jnp.maximum(x, 1.0) - 1.0, -p) + jnp.log(p)
        return jnp.where(x >= 1, lp, -jnp.inf)

    def _log_survival(self, params, x):
        # log P(X > k) = k log(1 - p) for k >= 1 (and 0 for k < 1).
        k = jnp.maximum(jnp.floor(x), 0.0)
        return k * jnp.log1p(-params["p"])

    def cdf(self, params, x):
        return -jnp.expm1(self._log_survival(params, x))

    def logcdf(self, params, x):
        t = -self._log_survival(params, x)
        return jnp.where(t > 0, log1mexp(jnp.where(t > 0, t, 1.0)), -jnp.inf)

    def logsf(self, params, x):
        return self._log_survival(params, x)

    def sample(self, params, key, shape=()):
        return jax.random.geometric(key, params["p"], shape).astype(jnp.result_type(float))

    def init(self, x, w):
        # (n + 1/2) / (sum x + 1): strictly below 1 even when every x is 1.
        n = _n_obs(x, w)
        return {"p": (n + 0.5) / (weighted_mean(x, w) * n + 1.0)}

    def closed_form(self, x, w):
        return {"p": 1.0 / weighted_mean(x, w)}

    def statistics(self, x, centre=None):
        return (x, nan_unless((x >= 1) & (x == jnp.floor(x))))

    def loglik_from_statistics(self, params, sums, n, centre=None):
        p = params["p"]
        return xlog1py(sums[0] - n, -p) + n * jnp.log(p)

    def init_from_statistics(self, sums, n, centre=None):
        return {"p": (n + 0.5) / (sums[0] + 1.0)}

    def expected_information(self, params):
        # -d2/dp2 log p(x) = (x - 1)/(1 - p)^2 + 1/p^2 and E[x - 1] = (1 - p)/p.
        p = params["p"]
        return jnp.reshape(1.0 / (p * p * (1.0 - p)), (1, 1))


@register
class NegativeBinomial(Family):
    r"""Negative binomial distribution: failures before the ``r``-th success.

    .. math:: \log p(x) = \log\Gamma(x+r) - \log\Gamma(r) - \log x!
              + r\log p + x\log(1-p), \quad x = 0, 1, 2, \ldots

    computed as :math:`-\log(x+r) - \log B(r, x+1) + \ldots`, which stays
    accurate for large ``r`` (the Poisson limit). Parameters: ``r`` (the
    number of successes, a real :math:`r > 0`) and ``p`` (success probability
    in (0, 1)); the mean is :math:`r(1-p)/p` and the variance :math:`r(1-p)/p^2`.
    No closed form; ``init`` matches the moments, ``p = m / v``,
    ``r = m^2 / (v - m)``, falling back to ``r = 100`` for data that are not
    over-dispersed (``v <= m``).
    """

    name = "negative_binomial"
    param_names = ("r", "p")
    constraints = {"r": C.positive, "p": C.unit_interval}
    support = S.nonnegative_integers

    density = "Gamma(x+r) / (Gamma(r) x!) p^r (1-p)^x, x = 0, 1, 2, ..."
    scipy_equivalent = ScipyEquivalent("nbinom", n="r", p="p")

    def logpdf(self, params, x):
        r, p = params["r"], params["p"]
        k = jnp.maximum(x, 0.0)
        log_coef = -jnp.log(k + r) - betaln(r, k + 1.0)
        lp = log_coef + r * jnp.log(p) + xlog1py(k, -p)
        return jnp.where(x >= 0, lp, -jnp.inf)

    def log_cdf_sf(self, params, x):
        # P(X <= k) = I_p(r, k+1) for k >= 0, with logit(p) = log p - log(1-p).
        r, p = params["r"], params["p"]
        k = jnp.floor(x)
        kc = jnp.maximum(k, 0.0)
        log_i, log_1mi = log_betainc_pair(r, kc + 1.0, jnp.log(p) - jnp.log1p(-p))
        return _count_tails(k, k >= 0, log_i, log_1mi)

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        # Gamma-Poisson mixture: rate ~ Gamma(r, scale=(1-p)/p).
        r, p = params["r"], params["p"]
        k1, k2 = jax.random.split(key)
        rate = jax.random.gamma(k1, r, shape) * ((1.0 - p) / p)
        return jax.random.poisson(k2, rate, shape).astype(jnp.result_type(float))

    def init(self, x, w):
        m = _shrunk_mean(x, w)
        _, v = weighted_mean_var(x, w)
        over = v > m * (1.0 + 1e-3)
        r = jnp.where(over, m * m / jnp.where(over, v - m, 1.0), 100.0)
        r = jnp.clip(r, 1e-3, 100.0)
        return {"r": r, "p": r / (r + m)}


@register
class ZeroInflatedPoisson(Family):
    r"""Zero-inflated Poisson: a structural zero with probability :math:`\pi`,
    else a Poisson(:math:`\lambda`) count.

    .. math:: p(0) = \pi + (1-\pi) e^{-\lambda}, \qquad
              p(x) = (1-\pi) \frac{\lambda^x e^{-\lambda}}{x!}, \quad x = 1, 2, \ldots

    with :math:`\log p(0)` evaluated as
    ``logaddexp(log pi, log1p(-pi) - rate)``. Parameters: ``rate``
    (:math:`\lambda > 0`) and ``pi`` (:math:`\pi \in (0, 1)`). No closed form;
    ``init`` matches moments: :math:`\mathrm{E}[X(X-1)] / \mathrm{E}[X] = \lambda`
    and :math:`\pi = 1 - \bar x / \lambda` (kept inside [0.01, 0.99]).
    scipy has no ZIP: ``scipy(params)`` returns a frozen
    ``scipy.stats.rv_discrete`` subclass built here (exact pmf, cdf, sf and
    moments from ``scipy.stats.poisson``).
    """

    name = "zero_inflated_poisson"
    param_names = ("rate", "pi")
    constraints = {"rate": C.positive, "pi": C.unit_interval}
    support = S.nonnegative_integers

    density = "pi [x = 0] + (1-pi) rate^x exp(-rate) / x!, x = 0, 1, 2, ..."
    scipy_equivalent = ScipyEquivalent.hand_written(
        "no scipy.stats equivalent (an rv_discrete subclass built by jaxmle)"
    )

    def logpdf(self, params, x):
        rate, pi = params["rate"], params["pi"]
        log_keep = jnp.log1p(-pi)
        poisson = xlogy(x, rate) - rate - gammaln(jnp.maximum(x, 0.0) + 1.0)
        zero = jnp.logaddexp(jnp.log(pi), log_keep - rate)
        return jnp.where(x == 0, zero, jnp.where(x > 0, log_keep + poisson, -jnp.inf))

    def log_cdf_sf(self, params, x):
        # F(k) = pi + (1 - pi) Q(k + 1, rate) and S(k) = (1 - pi) P(k + 1, rate).
        rate, pi = params["rate"], params["pi"]
        k = jnp.floor(x)
        log_p, log_q = log_gammainc_pair(jnp.maximum(k, 0.0) + 1.0, jnp.log(rate))
        log_keep = jnp.log1p(-pi)
        lower = jnp.logaddexp(jnp.log(pi), log_keep + log_q)
        return _count_tails(k, k >= 0, lower, log_keep + log_p)

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        k1, k2 = jax.random.split(key)
        counts = jax.random.poisson(k1, params["rate"], shape)
        keep = jax.random.bernoulli(k2, 1.0 - params["pi"], shape)
        return jnp.where(keep, counts, 0).astype(jnp.result_type(float))

    def init(self, x, w):
        m = _shrunk_mean(x, w)
        factorial2 = weighted_mean(x * (x - 1.0), w)  # E[X(X-1)] = (1 - pi) rate^2
        rate = jnp.maximum(factorial2 / m, m)
        return {"rate": rate, "pi": jnp.clip(1.0 - m / rate, 0.01, 0.99)}

    def scipy(self, params):
        return _zip_scipy()(params["rate"], params["pi"])


@functools.cache
def _zip_scipy():
    """The scipy.stats distribution object of the zero-inflated Poisson (built once)."""
    from scipy import stats  # scipy is optional at run time

    class zipoisson_gen(stats.rv_discrete):
        """Zero-inflated Poisson, shapes ``rate`` and ``pi``."""

        def _argcheck(self, rate, pi):
            return (rate > 0) & (pi > 0) & (pi < 1)

        def _logpmf(self, k, rate, pi):
            keep = np.log1p(-pi) + stats.poisson.logpmf(k, rate)
            return np.where(k == 0, np.logaddexp(np.log(pi), keep), keep)

        def _pmf(self, k, rate, pi):
            return np.exp(self._logpmf(k, rate, pi))

        def _cdf(self, k, rate, pi):
            return pi + (1.0 - pi) * stats.poisson.cdf(k, rate)

        def _sf(self, k, rate, pi):
            return (1.0 - pi) * stats.poisson.sf(k, rate)

        def _logsf(self, k, rate, pi):
            return np.log1p(-pi) + stats.poisson.logsf(k, rate)

        def _rvs(self, rate, pi, size=None, random_state=None):
            counts = random_state.poisson(rate, size)
            return np.where(random_state.random(size) < pi, 0, counts)

        def _stats(self, rate, pi):
            mean = (1.0 - pi) * rate
            var = mean * (1.0 + pi * rate)
            return mean, var, None, None

    return zipoisson_gen(a=0, name="zipoisson", shapes="rate, pi")


@register
class Categorical(Family):
    r"""Categorical distribution over ``k`` categories labelled 0, ..., k-1.

    .. math:: \log p(x) = \log p_x, \quad x = 0, 1, \ldots, k-1

    Parameter: ``probs``, a vector of ``k`` probabilities on the simplex
    (fitted through ``k - 1`` free log-ratios against the last category).
    Option: ``k``, the number of categories (an integer >= 2, required):
    ``Categorical(k=4)``. Data are the category indices, a 1-D array.

    MLE (closed form): the weighted category frequencies. A category never
    observed gets probability 0, on the boundary of the simplex: the closed
    form returns it as is (its log-ratio is ``-inf`` and the standard errors
    are not finite); ``init`` uses ``(count + 1/2) / (n + k/2)``, strictly
    inside. ``logpdf`` reads ``log probs[x]`` without renormalising.
    """

    name = "categorical"
    param_names = ("probs",)
    constraints = {"probs": C.simplex}
    density = "probs[x], x = 0, 1, ..., k-1 (option k: categories)"
    scipy_equivalent = ScipyEquivalent.hand_written("rv_discrete(values=(arange(k), probs))")

    def __init__(self, k: int | None = None):
        self.k = _count_option("categorical", "k", k, 2)

    @property
    def support(self):
        return _integers_up_to(self.k - 1)

    def check_params(self, params):
        probs = params.get("probs")
        if probs is not None and probs.shape != (self.k,):
            raise ValueError(
                f"categorical(k={self.k}): probs must have {self.k} entries, got shape "
                f"{tuple(probs.shape)}"
            )

    def _index(self, x):
        valid = (x >= 0) & (x <= self.k - 1) & (x == jnp.floor(x))
        return valid, jnp.clip(x, 0, self.k - 1).astype(jnp.int32)

    def logpdf(self, params, x):
        valid, idx = self._index(x)
        return jnp.where(valid, jnp.log(params["probs"])[idx], -jnp.inf)

    def _tails(self, params, x):
        probs = params["probs"]
        k = jnp.floor(x)
        idx = jnp.clip(k, 0, self.k - 1).astype(jnp.int32)
        lower = jnp.cumsum(probs)[idx]
        # P(X > j) summed from the top, exact where it is small.
        above = jnp.concatenate([jnp.cumsum(probs[::-1])[::-1][1:], jnp.zeros(1, probs.dtype)])
        return k, lower, above[idx]

    def cdf(self, params, x):
        k, lower, _ = self._tails(params, x)
        return jnp.where(k < 0, 0.0, jnp.where(k >= self.k - 1, 1.0, lower))

    def log_cdf_sf(self, params, x):
        k, lower, upper = self._tails(params, x)
        inner = (k >= 0) & (k < self.k - 1)
        return _count_tails(k, inner, log_positive(lower), log_positive(upper))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        draws = jax.random.categorical(key, jnp.log(params["probs"]), shape=shape)
        return draws.astype(jnp.result_type(float))

    def _frequencies(self, x, w):
        onehot = (x[:, None] == jnp.arange(self.k, dtype=x.dtype)[None, :]).astype(x.dtype)
        return weighted_mean(onehot, w)

    def init(self, x, w):
        n = _n_obs(x, w)
        return {"probs": (self._frequencies(x, w) * n + 0.5) / (n + 0.5 * self.k)}

    def closed_form(self, x, w):
        return {"probs": self._frequencies(x, w)}

    def support_values(self):
        return jnp.arange(self.k, dtype=jnp.result_type(float))

    def scipy(self, params):
        from scipy import stats  # scipy is optional at run time

        probs = np.asarray(params["probs"], dtype=np.float64)
        return stats.rv_discrete(values=(np.arange(self.k), probs / probs.sum()))


@register
class BetaBinomial(Family):
    r"""Beta-binomial distribution: a binomial with ``n`` trials whose success
    probability is Beta(:math:`\alpha, \beta`).

    .. math:: \log p(x) = \log\binom{n}{x} + \log B(x+\alpha, n-x+\beta)
              - \log B(\alpha, \beta), \quad x = 0, 1, \ldots, n

    Parameters: ``alpha`` and ``beta`` (both > 0). Option: ``n``, the number
    of trials (a positive integer, required): ``BetaBinomial(n=10)``. The
    cdf sums the pmf over ``0..n`` (a cumulative log-sum-exp, so both tails
    keep their relative precision). No closed form; ``init`` matches moments:
    mean :math:`n\mu` and variance :math:`n\mu(1-\mu)(1 + (n-1)\rho)` with
    :math:`\rho = 1/(\alpha+\beta+1)` (kept in [0.001, 0.9]).
    """

    name = "beta_binomial"
    param_names = ("alpha", "beta")
    constraints = {"alpha": C.positive, "beta": C.positive}

    density = "C(n, x) B(x+alpha, n-x+beta) / B(alpha, beta), x = 0, 1, ..., n (option n: trials)"
    scipy_equivalent = ScipyEquivalent("betabinom", n="n", a="alpha", b="beta")

    def __init__(self, n: int | None = None):
        self.n = _count_option("beta_binomial", "n", n, 1)

    @property
    def support(self):
        return _integers_up_to(self.n)

    def logpdf(self, params, x):
        a, b, n = params["alpha"], params["beta"], float(self.n)
        k = jnp.clip(x, 0.0, n)
        lp = _log_choose(n, k) + betaln(k + a, n - k + b) - betaln(a, b)
        return jnp.where((x >= 0) & (x <= n), lp, -jnp.inf)

    def _log_tails(self, params, x):
        """``log P(X <= k)`` and ``log P(X > k)`` from the pmf table over ``0..n``."""
        support = jnp.arange(self.n + 1, dtype=jnp.result_type(x, jnp.float32))
        table = self.logpdf(params, support)
        log_lower = jax.lax.cumlogsumexp(table)
        log_upper = jnp.concatenate(
            [jax.lax.cumlogsumexp(table, reverse=True)[1:], jnp.full(1, -jnp.inf, table.dtype)]
        )
        k = jnp.floor(x)
        idx = jnp.clip(k, 0, self.n).astype(jnp.int32)
        lower = jnp.where(k < 0, -jnp.inf, jnp.where(k >= self.n, 0.0, log_lower[idx]))
        upper = jnp.where(k < 0, 0.0, log_upper[idx])
        return lower, upper

    def cdf(self, params, x):
        return jnp.exp(self._log_tails(params, x)[0])

    def logcdf(self, params, x):
        return self._log_tails(params, x)[0]

    def logsf(self, params, x):
        return self._log_tails(params, x)[1]

    def sample(self, params, key, shape=()):
        k1, k2 = jax.random.split(key)
        p = jax.random.beta(k1, params["alpha"], params["beta"], shape)
        draws = jax.random.binomial(k2, float(self.n), p, shape)
        return draws.astype(jnp.result_type(float))

    def init(self, x, w):
        n = float(self.n)
        trials = _n_obs(x, w) * n
        mu = (weighted_mean(x, w) * _n_obs(x, w) + 0.5) / (trials + 1.0)
        _, v = weighted_mean_var(x, w)
        binomial_var = n * mu * (1.0 - mu)
        rho = (v / binomial_var - 1.0) / max(n - 1.0, 1.0)
        rho = jnp.clip(rho, 1e-3, 0.9) if self.n > 1 else jnp.asarray(0.5, mu.dtype)
        total = 1.0 / rho - 1.0  # alpha + beta
        return {"alpha": mu * total, "beta": (1.0 - mu) * total}

    def support_values(self):
        return jnp.arange(self.n + 1, dtype=jnp.result_type(float))
