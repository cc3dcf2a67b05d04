"""Discrete univariate families: Poisson, Bernoulli."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammainc, gammaincc, gammaln, xlog1py, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._math import nan_unless
from jaxmle.families.base import Family, weighted_mean
from jaxmle.families.registry import register

__all__ = ["Bernoulli", "Poisson"]


def _shrunk_mean(x, w):
    """``(sum x + 1/2) / (n + 1)``: the mean pulled off the boundary, for ``init``."""
    n = x.shape[0] if w is None else jnp.sum(w)
    return (weighted_mean(x, w) * n + 0.5) / (n + 1.0)


@register("poisson")
class Poisson(Family):
    r"""Poisson distribution with rate :math:`\lambda`.

    .. math:: \log p(x) = x\log\lambda - \lambda - \log\Gamma(x+1),
              \quad x = 0, 1, 2, \ldots

    (``xlogy`` makes ``x = 0`` exact at any rate.) MLE: ``rate = mean(x)``.
    scipy: ``poisson(mu=rate)``.
    """

    name = "poisson"
    param_names = ("rate",)
    constraints = {"rate": C.positive}
    support = S.nonnegative_integers
    has_closed_form = True

    density = "rate^x exp(-rate) / x!, x = 0, 1, 2, ..."
    scipy_equivalent = "poisson(mu=rate)"

    def logpdf(self, params, x):
        rate = params["rate"]
        return xlogy(x, rate) - rate - gammaln(x + 1.0)

    def cdf(self, params, x):
        k = jnp.floor(x)
        return jnp.where(k < 0, 0.0, gammaincc(jnp.maximum(k, 0.0) + 1.0, params["rate"]))

    def logsf(self, params, x):
        k = jnp.floor(x)
        return jnp.where(k < 0, 0.0, jnp.log(gammainc(jnp.maximum(k, 0.0) + 1.0, params["rate"])))

    def sample(self, params, key, shape=()):
        return jax.random.poisson(key, params["rate"], shape).astype(jnp.result_type(float))

    def init(self, x, w):
        return {"rate": _shrunk_mean(x, w)}

    def closed_form(self, x, w):
        return {"rate": weighted_mean(x, w)}

    has_statistics = True

    def statistics(self, x):
        return (x, gammaln(x + 1.0), nan_unless((x >= 0) & (x == jnp.floor(x))))

    def loglik_from_statistics(self, params, sums, n):
        rate = params["rate"]
        return xlogy(sums[0], rate) - n * rate - sums[1]

    def init_from_statistics(self, sums, n):
        return {"rate": (sums[0] + 0.5) / (n + 1.0)}

    def expected_information(self, params):
        return jnp.reshape(1.0 / params["rate"], (1, 1))

    def scipy(self, params):
        from scipy import stats

        return stats.poisson(mu=params["rate"])


@register("bernoulli")
class Bernoulli(Family):
    r"""Bernoulli distribution with success probability :math:`p`.

    .. math:: \log p(x) = x\log p + (1-x)\log(1-p), \quad x \in \{0, 1\}

    (``xlogy``/``xlog1py`` make ``p`` in {0, 1} exact.) MLE: ``p = mean(x)``.
    scipy: ``bernoulli(p)``.
    """

    name = "bernoulli"
    param_names = ("p",)
    constraints = {"p": C.unit_interval}
    support = S.binary
    has_closed_form = True

    density = "p^x (1-p)^(1-x), x in {0, 1}"
    scipy_equivalent = "bernoulli(p=p)"

    def logpdf(self, params, x):
        p = params["p"]
        return xlogy(x, p) + xlog1py(1.0 - x, -p)

    def cdf(self, params, x):
        return jnp.where(x < 0, 0.0, jnp.where(x < 1, 1.0 - params["p"], 1.0))

    def sample(self, params, key, shape=()):
        return jax.random.bernoulli(key, params["p"], shape).astype(jnp.result_type(float))

    def init(self, x, w):
        return {"p": _shrunk_mean(x, w)}

    def closed_form(self, x, w):
        return {"p": weighted_mean(x, w)}

    has_statistics = True

    def statistics(self, x):
        return (x, nan_unless((x == 0) | (x == 1)))

    def loglik_from_statistics(self, params, sums, n):
        p = params["p"]
        return xlogy(sums[0], p) + xlog1py(n - sums[0], -p)

    def init_from_statistics(self, sums, n):
        return {"p": (sums[0] + 0.5) / (n + 1.0)}

    def expected_information(self, params):
        p = params["p"]
        return jnp.reshape(1.0 / (p * (1.0 - p)), (1, 1))

    def support_values(self):
        return jnp.arange(2, dtype=jnp.result_type(float))

    def scipy(self, params):
        from scipy import stats

        return stats.bernoulli(p=params["p"])
