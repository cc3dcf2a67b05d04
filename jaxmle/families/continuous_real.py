"""Continuous families on the real line (and the circle): Student's t, Cauchy,
Laplace, Gumbel, skew normal, von Mises and the generalized extreme value.

The cumulative distribution functions without a closed form are computed with
fixed-order Gauss-Legendre rules on intervals chosen from the integrand (so
they trace under ``jit`` and vectorize over the data):

* the skew normal's uses Owen's T function and, in the thin tail, a
  log-space quadrature of the density;
* the von Mises' integrates the density from the antipode of ``loc``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc, gammaln, i0e, i1e, log_ndtr, ndtr
from jax.scipy.stats import norm

from jaxmle.families import constraints as C, support as S
from jaxmle.families._math import EULER_GAMMA, HALF_LOG_2PI, PI_SQ_OVER_6, log1mexp, matrix
from jaxmle.families.base import Family, weighted_mean, weighted_quantile
from jaxmle.families.registry import register

__all__ = ["GEV", "Cauchy", "Gumbel", "Laplace", "SkewNormal", "StudentT", "VonMises"]

_LOG_2 = 0.6931471805599453
_LOG_PI = 1.1447298858494002
_LOG_2PI = 1.8378770664093453

# Gauss-Legendre nodes and weights on [0, 1] (64 points: exact to double
# precision for the smooth, at most e^-45-decaying integrands used below).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)
_GL_X, _GL_W = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W


def _gauss_legendre(v):
    """Nodes and weights shaped ``(1,) * v.ndim + (64,)``, to pair with ``v[..., None]``."""
    shape = (1,) * v.ndim + (-1,)
    return jnp.asarray(_GL_X, v.dtype).reshape(shape), jnp.asarray(_GL_W, v.dtype).reshape(shape)


def _robust_loc_scale(x, w, iqr_unit):
    """Median and IQR / ``iqr_unit``, falling back to the standard deviation."""
    med = weighted_quantile(x, w, 0.5)
    iqr = weighted_quantile(x, w, 0.75) - weighted_quantile(x, w, 0.25)
    m = weighted_mean(x, w)
    sd = jnp.sqrt(weighted_mean(jnp.square(x - m), w))
    scale = jnp.where(iqr > 0, iqr / iqr_unit, sd)
    return med, jnp.where(scale > 0, scale, 1.0)


# ---------------------------------------------------------------------------
# Student's t
# ---------------------------------------------------------------------------


def _stirling_correction(x):
    r""":math:`\log\Gamma(x) - [(x-\tfrac12)\log x - x + \tfrac12\log 2\pi]` for ``x >= 10``."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


_HALF_STEP_SHIFT = 10


@jax.custom_jvp
def _lgamma_half_step(a):
    r""":math:`\log\Gamma(a + \tfrac12) - \log\Gamma(a)` for ``a > 0``, without the
    cancellation of two ``gammaln`` for large ``a``: the recurrence
    :math:`\Gamma(y+1) = y\Gamma(y)` shifts ``a`` by 10, where Stirling's series
    holds to ~1e-14 (elementary operations only).

    Its derivatives, the differences of digamma and of trigamma, come from the
    same recurrence and series (not from differentiating this code, nor from
    XLA's much larger digamma and polygamma), which keeps the Hessian programs
    of the t families small and fast to compile."""
    a = jnp.asarray(a)
    shifted = a + _HALF_STEP_SHIFT
    lead = (1,) * jnp.ndim(a)
    halves = jnp.asarray([0.5, 0.0], shifted.dtype).reshape((*lead, 2))
    corr = _stirling_correction(shifted[..., None] + halves)
    asym = (
        shifted * jnp.log1p(0.5 / shifted)
        - 0.5
        + 0.5 * jnp.log(shifted)
        + corr[..., 0]
        - corr[..., 1]
    )
    steps = jnp.arange(_HALF_STEP_SHIFT, dtype=shifted.dtype).reshape((*lead, -1))
    return asym - jnp.sum(jnp.log1p(0.5 / (a[..., None] + steps)), axis=-1)


def _shifted(a):
    """``(a + 10, [a, a+1, ..., a+9])``: the recurrence shift of the half-step helpers."""
    a = jnp.asarray(a)
    steps = jnp.arange(_HALF_STEP_SHIFT, dtype=a.dtype).reshape((1,) * jnp.ndim(a) + (-1,))
    return a + _HALF_STEP_SHIFT, a[..., None] + steps


def _digamma_tail(x):
    """``digamma(x) - log(x)`` by its asymptotic series (``x >= 10``: ~1e-13)."""
    r = 1.0 / x
    r2 = r * r
    return -0.5 * r - r2 * (1 / 12 - r2 * (1 / 120 - r2 * (1 / 252 - r2 * (1 / 240 - r2 / 132))))


def _trigamma_series(x):
    """``trigamma(x)`` by its asymptotic series (``x >= 10``: ~1e-13)."""
    r = 1.0 / x
    r2 = r * r
    return r + r2 * (0.5 + r * (1 / 6 - r2 * (1 / 30 - r2 * (1 / 42 - r2 / 30))))


@jax.custom_jvp
def _digamma_half_step(a):
    """``digamma(a + 1/2) - digamma(a)``, the derivative of ``_lgamma_half_step``
    (the same recurrence and asymptotic series: elementary operations only)."""
    y, ai = _shifted(a)
    asym = jnp.log1p(0.5 / y) + _digamma_tail(y + 0.5) - _digamma_tail(y)
    return asym + jnp.sum(1.0 / ai - 1.0 / (ai + 0.5), axis=-1)


def _trigamma_half_step(a):
    """``trigamma(a + 1/2) - trigamma(a)``, the derivative of ``_digamma_half_step``."""
    y, ai = _shifted(a)
    asym = _trigamma_series(y + 0.5) - _trigamma_series(y)
    return asym + jnp.sum(1.0 / (ai + 0.5) ** 2 - 1.0 / ai**2, axis=-1)


@_lgamma_half_step.defjvp
def _lgamma_half_step_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    return _lgamma_half_step(a), _digamma_half_step(a) * da


@_digamma_half_step.defjvp
def _digamma_half_step_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    return _digamma_half_step(a), _trigamma_half_step(a) * da


_T5_Q75 = 0.7266868438004226  # upper quartile of the t distribution with 5 df


@register("student_t")
class StudentT(Family):
    r"""Student's t distribution with ``df`` :math:`\nu`, location :math:`\mu`
    and scale :math:`\sigma`.

    With :math:`z = (x-\mu)/\sigma`,

    .. math:: \log f(x) = \log\Gamma\left(\tfrac{\nu+1}{2}\right)
              - \log\Gamma\left(\tfrac{\nu}{2}\right) - \tfrac12\log(\nu\pi)
              - \log\sigma - \tfrac{\nu+1}{2}\log\left(1 + z^2/\nu\right)

    Parameters: ``df`` (:math:`\nu > 0`, degrees of freedom), ``loc``
    (:math:`\mu`, real), ``scale`` (:math:`\sigma > 0`). The ratio of gamma
    functions is computed without cancellation (the recurrence, then Stirling's
    series), so the density stays accurate as :math:`\nu \to \infty` (the
    normal limit, where the MLE of :math:`\nu` is infinite). The cdf uses the
    regularized incomplete beta function, on whichever of its two symmetric
    forms is accurate.
    ``init``: ``loc`` = median, ``df = 5`` and ``scale`` = IQR over the IQR of
    the standard t with 5 df. scipy: ``t(df=df, loc=loc, scale=scale)``.
    """

    name = "student_t"
    param_names = ("df", "loc", "scale")
    constraints = {"df": C.positive, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = (
        "Gamma((df+1)/2) / (Gamma(df/2) sqrt(df pi) scale) (1 + z^2/df)^(-(df+1)/2), "
        "z = (x-loc)/scale"
    )
    scipy_equivalent = "t(df=df, loc=loc, scale=scale)"

    def logpdf(self, params, x):
        df, scale = params["df"], params["scale"]
        z = (x - params["loc"]) / scale
        norm_const = _lgamma_half_step(0.5 * df) - 0.5 * (jnp.log(df) + _LOG_PI) - jnp.log(scale)
        return norm_const - 0.5 * (df + 1.0) * jnp.log1p(z * z / df)

    has_derivatives = True

    def derivative_terms(self, params, x):
        # r = x - loc, a = df scale^2 + r^2, b = 1 / a; with c = (df + 1) / 2,
        #   log f = D(df) + df log(scale) - c log(a),
        #   D(df) = log Gamma(c) - log Gamma(df / 2) + (df log(df) - log(pi)) / 2,
        # and r^2 b^2 = b - df scale^2 b^2, five sums give every derivative.
        r = x - params["loc"]
        b = 1.0 / (params["df"] * jnp.square(params["scale"]) + r * r)
        rb = r * b
        return -jnp.log(b), b, rb, b * b, rb * b

    def derivatives_from_terms(self, params, sums, n):
        nu, s = params["df"], params["scale"]
        log_a, sb, srb, sb2, srb2 = sums
        c = 0.5 * (nu + 1.0)
        s2 = s * s
        sr2b2 = sb - nu * s2 * sb2  # sum r^2 b^2
        half, log_nu, log_s = 0.5 * nu, jnp.log(nu), jnp.log(s)
        norm = _lgamma_half_step(half) + 0.5 * (nu * log_nu - _LOG_PI)  # D(df)
        d1 = 0.5 * (_digamma_half_step(half) + log_nu + 1.0)  # D'(df)
        d2 = 0.25 * _trigamma_half_step(half) + 0.5 / nu  # D''(df)
        value = n * (norm + nu * log_s) - c * log_a
        grad = {
            "df": n * (d1 + log_s) - 0.5 * log_a - c * s2 * sb,
            "loc": 2.0 * c * srb,
            "scale": n * nu / s - 2.0 * c * nu * s * sb,
        }
        hess = {
            ("df", "df"): n * d2 - s2 * sb + c * s2 * s2 * sb2,
            ("df", "loc"): srb - 2.0 * c * s2 * srb2,
            ("df", "scale"): n / s - (nu + 2.0 * c) * s * sb + 2.0 * c * nu * s * s2 * sb2,
            ("loc", "loc"): 2.0 * c * (2.0 * sr2b2 - sb),
            ("loc", "scale"): -4.0 * c * nu * s * srb2,
            ("scale", "scale"): -n * nu / s2 - 2.0 * c * nu * sb + 4.0 * c * nu * nu * s2 * sb2,
        }
        return value, grad, hess

    def _tail(self, params, x):
        """``(z, P(T > |z|))`` for the standardized ``z``."""
        df = params["df"]
        z = (x - params["loc"]) / params["scale"]
        z2 = z * z
        # P(T > |z|) = I_{df/(df+z^2)}(df/2, 1/2) / 2 = (1 - I_{z^2/(df+z^2)}(1/2, df/2)) / 2:
        # the first form where it is below 1/2, else the complement of the second.
        p = betainc(0.5 * df, 0.5, df / (df + z2))
        q = betainc(0.5, 0.5 * df, z2 / (df + z2))
        return z, 0.5 * jnp.where(p < 0.5, p, 1.0 - q)

    def cdf(self, params, x):
        z, tail = self._tail(params, x)
        return jnp.where(z < 0, tail, 1.0 - tail)

    def logcdf(self, params, x):
        z, tail = self._tail(params, x)
        return jnp.where(z < 0, jnp.log(tail), jnp.log1p(-tail))

    def logsf(self, params, x):
        z, tail = self._tail(params, x)
        return jnp.where(z > 0, jnp.log(tail), jnp.log1p(-tail))

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.t(key, params["df"], shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, 2.0 * _T5_Q75)
        return {"df": jnp.asarray(5.0, x.dtype), "loc": loc, "scale": scale}

    def expected_information(self, params):
        # Lange, Little and Taylor (1989, JASA 84:881), in scale rather than scale^2;
        # trigamma((df+1)/2) - trigamma(df/2) by _trigamma_half_step (no cancellation).
        nu, s = params["df"], params["scale"]
        nu1, nu3 = nu + 1.0, nu + 3.0
        i_dd = -0.25 * _trigamma_half_step(0.5 * nu) - (nu + 5.0) / (2.0 * nu * nu1 * nu3)
        i_ds = -2.0 / (s * nu1 * nu3)
        zero = jnp.zeros_like(i_dd)
        return matrix(
            [
                [i_dd, zero, i_ds],
                [zero, nu1 / (nu3 * s * s), zero],
                [i_ds, zero, 2.0 * nu / (nu3 * s * s)],
            ]
        )

    def scipy(self, params):
        from scipy import stats

        return stats.t(df=params["df"], loc=params["loc"], scale=params["scale"])


# ---------------------------------------------------------------------------
# Cauchy
# ---------------------------------------------------------------------------


@register("cauchy")
class Cauchy(Family):
    r"""Cauchy distribution with location :math:`\mu` and scale :math:`\gamma`.

    .. math:: \log f(x) = -\log(\pi\gamma) - \log\left(1 + z^2\right),
              \quad z = (x-\mu)/\gamma

    Parameters: ``loc`` (:math:`\mu`, the median), ``scale`` (:math:`\gamma > 0`,
    half the interquartile range). The cdf is
    :math:`\operatorname{atan2}(1, -z)/\pi`, accurate in both tails.
    ``init``: median and half the IQR. scipy: ``cauchy(loc=loc, scale=scale)``.
    """

    name = "cauchy"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "1 / (pi scale (1 + z^2)), z = (x-loc)/scale"
    scipy_equivalent = "cauchy(loc=loc, scale=scale)"

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return -_LOG_PI - jnp.log(params["scale"]) - jnp.log1p(z * z)

    def _z(self, params, x):
        return (x - params["loc"]) / params["scale"]

    def cdf(self, params, x):
        return jnp.arctan2(1.0, -self._z(params, x)) / jnp.pi

    def logcdf(self, params, x):
        return jnp.log(jnp.arctan2(1.0, -self._z(params, x))) - _LOG_PI

    def logsf(self, params, x):
        return jnp.log(jnp.arctan2(1.0, self._z(params, x))) - _LOG_PI

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.cauchy(key, shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, 2.0)  # the standard Cauchy's IQR is 2
        return {"loc": loc, "scale": scale}

    def expected_information(self, params):
        v = 0.5 / jnp.square(params["scale"])
        return jnp.diag(jnp.stack([v, v]))

    def scipy(self, params):
        from scipy import stats

        return stats.cauchy(loc=params["loc"], scale=params["scale"])


# ---------------------------------------------------------------------------
# Laplace
# ---------------------------------------------------------------------------


def _weighted_median_exact(x, w):
    """The midpoint of the interval of minimisers of ``sum w |x - m|``: the
    middle of the two central order statistics for an even count (exact, on all
    the data, unlike :func:`weighted_quantile`)."""
    order = jnp.argsort(x)
    xs = x[order]
    if w is None:
        cw = jnp.arange(1, x.shape[0] + 1, dtype=x.dtype)
    else:
        cw = jnp.cumsum(jnp.where(w > 0, w, 0.0)[order])
    half = 0.5 * cw[-1]
    last = x.shape[0] - 1
    lo = jnp.clip(jnp.searchsorted(cw, half, side="left"), 0, last)
    hi = jnp.clip(jnp.searchsorted(cw, half, side="right"), 0, last)
    return 0.5 * (xs[lo] + xs[hi])


@register("laplace")
class Laplace(Family):
    r"""Laplace (double exponential) distribution with location :math:`\mu` and
    scale :math:`b`.

    .. math:: \log f(x) = -\frac{|x-\mu|}{b} - \log(2b)

    Parameters: ``loc`` (:math:`\mu`, the median), ``scale`` (:math:`b > 0`).
    MLE (closed form): ``loc`` = the (weighted) sample median and ``scale`` =
    the mean absolute deviation from it. For an even count the likelihood is
    flat in ``loc`` between the two central order statistics; the closed form
    returns their midpoint (any point there has the same maximum). The
    likelihood is not differentiable in ``loc`` (its second derivative is zero
    almost everywhere), so iterative solvers generally do not converge in
    ``loc``: use the closed form (the default). For the same reason the
    observed information in ``loc`` is 0 and the Hessian-based standard errors
    are not meaningful (the asymptotic variance of the median is
    :math:`b^2/n`). scipy: ``laplace(loc=loc, scale=scale)``.
    """

    name = "laplace"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line
    has_closed_form = True

    density = "exp(-|x-loc|/scale) / (2 scale)"
    scipy_equivalent = "laplace(loc=loc, scale=scale)"

    def unit_information(self, params):
        # The log-density is not differentiable at x = loc, so the Hessian in
        # loc is zero almost everywhere; the expected information is
        # diag(1/scale^2, 1/scale^2) (the median's asymptotic variance b^2/n).
        d = 1.0 / params["scale"] ** 2
        return jnp.diag(jnp.stack([d, d]))

    def logpdf(self, params, x):
        return -jnp.abs(x - params["loc"]) / params["scale"] - jnp.log(2.0 * params["scale"])

    def _z(self, params, x):
        return (x - params["loc"]) / params["scale"]

    def cdf(self, params, x):
        z = self._z(params, x)
        half_tail = 0.5 * jnp.exp(-jnp.abs(z))
        return jnp.where(z < 0, half_tail, 1.0 - half_tail)

    def logcdf(self, params, x):
        z = self._z(params, x)
        return jnp.where(z < 0, z - _LOG_2, jnp.log1p(-0.5 * jnp.exp(-jnp.abs(z))))

    def logsf(self, params, x):
        z = self._z(params, x)
        return jnp.where(z > 0, -z - _LOG_2, jnp.log1p(-0.5 * jnp.exp(-jnp.abs(z))))

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.laplace(key, shape)

    def init(self, x, w):
        loc = weighted_quantile(x, w, 0.5)
        scale = weighted_mean(jnp.abs(x - loc), w)
        return {"loc": loc, "scale": jnp.where(scale > 0, scale, 1.0)}

    def closed_form(self, x, w):
        loc = _weighted_median_exact(x, w)
        return {"loc": loc, "scale": weighted_mean(jnp.abs(x - loc), w)}

    def scipy(self, params):
        from scipy import stats

        return stats.laplace(loc=params["loc"], scale=params["scale"])


# ---------------------------------------------------------------------------
# Gumbel
# ---------------------------------------------------------------------------


@register("gumbel")
class Gumbel(Family):
    r"""Gumbel distribution of maxima (right-skewed) with location :math:`\mu`
    and scale :math:`\beta`.

    .. math:: \log f(x) = -z - e^{-z} - \log\beta, \quad z = (x-\mu)/\beta

    cdf :math:`\exp(-e^{-z})`. Parameters: ``loc`` (:math:`\mu`, the mode),
    ``scale`` (:math:`\beta > 0`). ``init`` matches the moments:
    :math:`\mathrm{sd} = \pi\beta/\sqrt6`, :math:`\mathrm{mean} = \mu + \gamma_E\beta`.
    scipy: ``gumbel_r(loc=loc, scale=scale)``.
    """

    name = "gumbel"
    param_names = ("loc", "scale")
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "exp(-z - exp(-z)) / scale, z = (x-loc)/scale"
    scipy_equivalent = "gumbel_r(loc=loc, scale=scale)"

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return -z - jnp.exp(-z) - jnp.log(params["scale"])

    def _t(self, params, x):
        return jnp.exp(-(x - params["loc"]) / params["scale"])

    def cdf(self, params, x):
        return jnp.exp(-self._t(params, x))

    def logcdf(self, params, x):
        return -self._t(params, x)

    def logsf(self, params, x):
        return log1mexp(self._t(params, x))

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.gumbel(key, shape)

    def init(self, x, w):
        m = weighted_mean(x, w)
        sd = jnp.sqrt(weighted_mean(jnp.square(x - m), w))
        scale = jnp.where(sd > 0, sd * jnp.sqrt(6.0) / jnp.pi, 1.0)
        return {"loc": m - EULER_GAMMA * scale, "scale": scale}

    def expected_information(self, params):
        # With E = exp(-z) ~ Exp(1): E[E log E] = Gamma'(2) = 1 - gamma_E and
        # E[E log^2 E] = Gamma''(2) = (1 - gamma_E)^2 + pi^2/6 - 1 (as for the Weibull).
        v = 1.0 / jnp.square(params["scale"])
        c = 1.0 - EULER_GAMMA
        return matrix([[v, -c * v], [-c * v, (c * c + PI_SQ_OVER_6) * v]])

    def scipy(self, params):
        from scipy import stats

        return stats.gumbel_r(loc=params["loc"], scale=params["scale"])


# ---------------------------------------------------------------------------
# Skew normal
# ---------------------------------------------------------------------------


def _owens_t_unit(h, a):
    r"""Owen's :math:`T(h, a) = \frac{1}{2\pi}\int_0^a
    \frac{e^{-h^2(1+t^2)/2}}{1+t^2}\,dt` for ``0 <= a <= 1``.

    The Gaussian factor :math:`e^{-h^2 t^2/2}` is below :math:`e^{-50}` beyond
    :math:`t = 10/|h|`, so the rule runs over ``[0, min(a, 10/|h|)]``.
    """
    nodes, weights = _gauss_legendre(h)
    habs = jnp.abs(h)
    upper = jnp.minimum(a, 10.0 / jnp.maximum(habs, 1e-300))
    t = upper[..., None] * nodes
    one_t2 = 1.0 + t * t
    f = jnp.exp(-0.5 * (habs * habs)[..., None] * one_t2) / one_t2
    return upper * jnp.sum(f * weights, axis=-1) / (2.0 * jnp.pi)


def _owens_t(h, a):
    """Owen's T for any real ``a`` (odd in ``a``), by ``T(h, a) + T(ah, 1/a) =
    (Phi(h) + Phi(ah))/2 - Phi(h) Phi(ah)`` for ``|a| > 1``."""
    sign = jnp.sign(a)
    a = jnp.abs(a)
    big = a > 1.0
    a_inv = 1.0 / jnp.where(big, a, 1.0)
    direct = _owens_t_unit(h, jnp.where(big, 1.0, a))
    ph, pah = ndtr(h), ndtr(a * h)
    swapped = 0.5 * (ph + pah) - ph * pah - _owens_t_unit(a * h, a_inv)
    return sign * jnp.where(big, swapped, direct)


def _skewnorm_log_thin_tail(z, a):
    r""":math:`\log F(z)` for ``a > 0``, ``z < 0`` (the short tail, where
    :math:`\Phi(z) - 2T(z, a)` cancels): :math:`F(z) = 2\int_{-\infty}^z
    \varphi(t)\Phi(at)\,dt` in log space.

    :math:`g(t) = \log\varphi(t) + \log\Phi(at)` is concave with
    :math:`g'' \le -1`, and :math:`r = g'(z) > 0` here, so
    :math:`e^{g(z-s) - g(z)} \le e^{-rs - s^2/2}`: integrating ``s`` over
    ``[0, L]`` with :math:`rL + L^2/2 = 45` drops less than :math:`e^{-45}`.
    """
    nodes, weights = _gauss_legendre(z)
    log_mills = norm.logpdf(a * z) - log_ndtr(a * z)
    r = -z + a * jnp.exp(log_mills)
    length = 90.0 / (r + jnp.sqrt(r * r + 90.0))
    t = z[..., None] - length[..., None] * nodes
    g = norm.logpdf(t) + log_ndtr(a[..., None] * t)
    log_w = jnp.log(length)[..., None] + jnp.log(weights)
    return _LOG_2 + jax.scipy.special.logsumexp(g + log_w, axis=-1)


def _skewnorm_log_lower(z, a):
    """``log F(z)`` of the standard skew normal with shape ``a``, accurate
    relative to ``F`` (so for ``F`` up to about 1/2; beyond, use ``log1p(-sf)``)."""
    a = jnp.broadcast_to(a, z.shape)
    thin = (a > 0) & (z < 0)
    # Phi(z) - 2T(z, a): a sum of positive terms for a <= 0, and >= 1/2 - atan(a)/pi
    # for z >= 0: no cancellation outside the thin tail.
    via_owen = jnp.log(jnp.maximum(ndtr(z) - 2.0 * _owens_t(z, a), 0.0))
    z_thin = jnp.where(thin, z, -1.0)
    a_thin = jnp.where(thin, a, 1.0)
    return jnp.where(thin, _skewnorm_log_thin_tail(z_thin, a_thin), via_owen)


def _skewnorm_logcdf_std(z, a):
    """``log F(z; a)``: from the lower tail where ``F < 1/2``, else ``log1p(-sf)``
    with ``sf(z; a) = F(-z; -a)``."""
    lower = _skewnorm_log_lower(z, a)
    upper = _skewnorm_log_lower(-z, -a)
    return jnp.where(lower < -_LOG_2, lower, jnp.log1p(-jnp.exp(upper)))


def _moment_delta(skew):
    """``delta = shape / sqrt(1 + shape^2)`` matching a skewness (method of moments)."""
    g = jnp.abs(skew) ** (2.0 / 3.0)
    c = ((4.0 - jnp.pi) / 2.0) ** (2.0 / 3.0)
    delta = jnp.sign(skew) * jnp.sqrt(jnp.pi / 2.0 * g / (g + c))
    return jnp.clip(delta, -0.99, 0.99)


@register("skew_normal")
class SkewNormal(Family):
    r"""Skew normal distribution (Azzalini) with shape :math:`\alpha`, location
    :math:`\xi` and scale :math:`\omega`.

    With :math:`z = (x-\xi)/\omega`,

    .. math:: \log f(x) = \log 2 - \tfrac12 z^2 - \tfrac12\log 2\pi - \log\omega
              + \log\Phi(\alpha z)

    (``log_ndtr`` keeps the last term accurate far in the short tail).
    Parameters: ``shape`` (:math:`\alpha`, real; 0 is the normal, > 0 skews
    right), ``loc`` (:math:`\xi`), ``scale`` (:math:`\omega > 0`). The cdf is
    :math:`\Phi(z) - 2T(z, \alpha)` (Owen's T by Gauss-Legendre quadrature),
    and in the short tail a log-space quadrature of the density, so ``logcdf``
    and ``logsf`` (:math:`\log F(-z; -\alpha)`) keep their relative accuracy.
    ``init``: method of moments,
    :math:`|\delta| = \sqrt{\tfrac{\pi}{2} \tfrac{|g|^{2/3}}{|g|^{2/3} + ((4-\pi)/2)^{2/3}}}`
    from the sample skewness :math:`g` (clipped to :math:`|\delta| \le 0.99`),
    :math:`\alpha = \delta/\sqrt{1-\delta^2}`,
    :math:`\omega = \mathrm{sd}/\sqrt{1 - 2\delta^2/\pi}`,
    :math:`\xi = \mathrm{mean} - \omega\delta\sqrt{2/\pi}`.
    (At :math:`\alpha = 0` the information matrix is singular: near-symmetric
    data give a poorly determined shape.)
    scipy: ``skewnorm(a=shape, loc=loc, scale=scale)``.
    """

    name = "skew_normal"
    param_names = ("shape", "loc", "scale")
    constraints = {"shape": C.real, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "2 phi(z) Phi(shape z) / scale, z = (x-loc)/scale"
    scipy_equivalent = "skewnorm(a=shape, loc=loc, scale=scale)"

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return (
            _LOG_2
            - 0.5 * z * z
            - HALF_LOG_2PI
            - jnp.log(params["scale"])
            + log_ndtr(params["shape"] * z)
        )

    def _z(self, params, x):
        return (x - params["loc"]) / params["scale"]

    def logcdf(self, params, x):
        return _skewnorm_logcdf_std(self._z(params, x), params["shape"])

    def logsf(self, params, x):
        return _skewnorm_logcdf_std(-self._z(params, x), -params["shape"])

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def sample(self, params, key, shape=()):
        k0, k1 = jax.random.split(key)
        a = params["shape"]
        delta = a / jnp.sqrt(1.0 + a * a)
        u0 = jnp.abs(jax.random.normal(k0, shape))
        v = jax.random.normal(k1, shape)
        z = delta * u0 + v / jnp.sqrt(1.0 + a * a)
        return params["loc"] + params["scale"] * z

    def init(self, x, w):
        m = weighted_mean(x, w)
        d = x - m
        var = weighted_mean(d * d, w)
        sd = jnp.sqrt(var)
        safe_var = jnp.where(var > 0, var, 1.0)
        skew = weighted_mean(d * d * d, w) / safe_var**1.5
        delta = _moment_delta(jnp.where(var > 0, skew, 0.0))
        scale = jnp.where(sd > 0, sd, 1.0) / jnp.sqrt(1.0 - 2.0 * delta**2 / jnp.pi)
        return {
            "shape": delta / jnp.sqrt(1.0 - delta**2),
            "loc": m - scale * delta * jnp.sqrt(2.0 / jnp.pi),
            "scale": scale,
        }

    def scipy(self, params):
        from scipy import stats

        return stats.skewnorm(a=params["shape"], loc=params["loc"], scale=params["scale"])


# ---------------------------------------------------------------------------
# von Mises
# ---------------------------------------------------------------------------


def _vonmises_log_left(y, kappa):
    r""":math:`\log\int_{-\pi}^{y} f(t)\,dt` for ``-pi <= y <= 0`` (``f`` the
    density with ``loc = 0``), in log space.

    On ``[-pi, 0]`` the density increases; it is below :math:`e^{-45}` times
    :math:`f(y)` left of the ``lo`` with
    :math:`2\kappa(\sin^2(lo/2) - \sin^2(y/2)) = 45`, so the rule runs over ``[lo, y]``.
    """
    nodes, weights = _gauss_legendre(y)
    s2 = jnp.sin(0.5 * y) ** 2 + 22.5 / kappa
    lo = -2.0 * jnp.arcsin(jnp.sqrt(jnp.minimum(s2, 1.0)))
    length = y - lo
    t = lo[..., None] + length[..., None] * nodes
    log_f = -2.0 * kappa[..., None] * jnp.sin(0.5 * t) ** 2
    log_w = jnp.log(length)[..., None] + jnp.log(weights)
    log_norm = _LOG_2PI + jnp.log(i0e(kappa))
    return jax.scipy.special.logsumexp(log_f + log_w, axis=-1) - log_norm


@register("von_mises")
class VonMises(Family):
    r"""von Mises distribution (circular normal) with mean direction
    :math:`\mu` and concentration :math:`\kappa`; data are angles in radians
    in :math:`[-\pi, \pi]`.

    .. math:: \log f(x) = \kappa\cos(x-\mu) - \log(2\pi I_0(\kappa))
              = -2\kappa\sin^2\tfrac{x-\mu}{2} - \log(2\pi\,\mathrm{i0e}(\kappa))

    (the exponentially scaled Bessel function ``i0e`` avoids overflow).
    Parameters: ``loc`` (:math:`\mu`, real; the density is :math:`2\pi`-periodic
    in it, and the fitted value is reported as the solver left it; ``init``
    starts at the circular mean, in :math:`(-\pi, \pi]`), ``concentration``
    (:math:`\kappa > 0`; 0 is the uniform distribution on the circle).

    The cdf follows scipy's convention: it is the probability from the
    antipode :math:`\mu - \pi` up to ``x``, lifted so that
    ``cdf(x + 2 pi) = cdf(x) + 1`` (``cdf(loc) = 1/2``; a proper cdf for ``x``
    in :math:`[\mu-\pi, \mu+\pi]`, and ``logcdf``/``logsf`` are only defined
    there, NaN elsewhere as in scipy). It is a 64-point Gauss-Legendre rule in
    log space over the part of :math:`[\mu-\pi, x]` (or of the upper side) where
    the density is not negligible, accurate to double precision for every
    :math:`\kappa` (scipy switches to a normal approximation, with errors
    of up to ~1e-6, for :math:`\kappa \ge 50`).

    ``init``: the circular mean for ``loc`` and Best and Fisher's (1981)
    approximation of :math:`A_1^{-1}(\bar R)` from the mean resultant length
    :math:`\bar R`. scipy: ``vonmises(kappa=concentration, loc=loc)``.
    """

    name = "von_mises"
    param_names = ("loc", "concentration")
    constraints = {"loc": C.real, "concentration": C.positive}
    support = S.circle

    density = "exp(concentration cos(x-loc)) / (2 pi I0(concentration)), -pi <= x <= pi"
    scipy_equivalent = "vonmises(kappa=concentration, loc=loc)"

    def logpdf(self, params, x):
        kappa = params["concentration"]
        s = jnp.sin(0.5 * (x - params["loc"]))
        return -2.0 * kappa * s * s - _LOG_2PI - jnp.log(i0e(kappa))

    def _reduce(self, params, x):
        """``(y, turns)`` with ``x - loc = y + 2 pi turns``, ``y`` in ``[-pi, pi]``."""
        d = x - params["loc"]
        turns = jnp.round(d / (2.0 * jnp.pi))
        return d - 2.0 * jnp.pi * turns, turns

    def _log_tails(self, params, x):
        """``(y, turns, log P(Y <= -|y|))`` for the reduced angle ``y``."""
        y, turns = self._reduce(params, x)
        kappa = jnp.broadcast_to(params["concentration"], y.shape)
        return y, turns, _vonmises_log_left(-jnp.abs(y), kappa)

    def cdf(self, params, x):
        y, turns, log_tail = self._log_tails(params, x)
        tail = jnp.exp(log_tail)
        return jnp.where(y <= 0, tail, 1.0 - tail) + turns

    def logcdf(self, params, x):
        y, turns, log_tail = self._log_tails(params, x)
        inside = jnp.where(y <= 0, log_tail, jnp.log1p(-jnp.exp(log_tail)))
        return jnp.where(turns == 0, inside, jnp.log(self.cdf(params, x)))

    def logsf(self, params, x):
        y, turns, log_tail = self._log_tails(params, x)
        inside = jnp.where(y >= 0, log_tail, jnp.log1p(-jnp.exp(log_tail)))
        return jnp.where(turns == 0, inside, jnp.log1p(-self.cdf(params, x)))

    def sample(self, params, key, shape=()):
        # Best and Fisher's (1979) rejection sampler, all draws in parallel.
        kappa = params["concentration"]
        dtype = jnp.result_type(float)
        kappa_safe = jnp.maximum(kappa, 1e-5)
        r = 1.0 + jnp.sqrt(1.0 + 4.0 * kappa_safe**2)
        rho = (r - jnp.sqrt(2.0 * r)) / (2.0 * kappa_safe)
        # For tiny kappa, s = (1 + rho^2) / (2 rho) ~ 1 / kappa loses its digits.
        s = jnp.where(kappa_safe > 1e-4, (1.0 + rho * rho) / (2.0 * rho), 1.0 / kappa_safe)
        k_sign, key = jax.random.split(key)

        def cond(c):
            _, done, _, i = c
            return ~jnp.all(done) & (i < 100)

        def body(c):
            key, done, wv, i = c
            key, ku, kv = jax.random.split(key, 3)
            z = jnp.cos(jnp.pi * jax.random.uniform(ku, shape, dtype))
            w_new = (1.0 + s * z) / (s + z)
            y = kappa_safe * (s - w_new)
            v = jax.random.uniform(kv, shape, dtype)
            accept = (y * (2.0 - y) >= v) | (jnp.log(y / v) + 1.0 >= y)
            return key, done | accept, jnp.where(done, wv, w_new), i + 1

        init = (key, jnp.zeros(shape, bool), jnp.zeros(shape, dtype), 0)
        _, _, wv, _ = jax.lax.while_loop(cond, body, init)
        sign = jnp.where(jax.random.bernoulli(k_sign, 0.5, shape), 1.0, -1.0)
        theta = params["loc"] + sign * jnp.arccos(jnp.clip(wv, -1.0, 1.0))
        return jnp.remainder(theta + jnp.pi, 2.0 * jnp.pi) - jnp.pi

    def init(self, x, w):
        c = weighted_mean(jnp.cos(x), w)
        s = weighted_mean(jnp.sin(x), w)
        rbar = jnp.clip(jnp.sqrt(c * c + s * s), 1e-8, 1.0 - 1e-8)
        kappa = jnp.where(
            rbar < 0.53,
            2.0 * rbar + rbar**3 + 5.0 * rbar**5 / 6.0,
            jnp.where(
                rbar < 0.85,
                -0.4 + 1.39 * rbar + 0.43 / (1.0 - rbar),
                1.0 / (rbar**3 - 4.0 * rbar**2 + 3.0 * rbar),
            ),
        )
        return {"loc": jnp.arctan2(s, c), "concentration": kappa}

    def expected_information(self, params):
        # With A(k) = I1(k) / I0(k): the loc score k sin(x - loc) has variance
        # k^2 E[sin^2] = k A(k), and -d2/dk2 log f = A'(k) = 1 - A/k - A^2.
        kappa = params["concentration"]
        a = i1e(kappa) / i0e(kappa)
        return jnp.diag(jnp.stack([kappa * a, 1.0 - a / kappa - a * a]))

    def scipy(self, params):
        from scipy import stats

        return stats.vonmises(kappa=params["concentration"], loc=params["loc"])


# ---------------------------------------------------------------------------
# Generalized extreme value
# ---------------------------------------------------------------------------

_SERIES_EPS = 1e-4


def _log1p_ratio(u):
    """``log1p(u) / u`` (1 at ``u = 0``), smooth through 0 (double where)."""
    small = jnp.abs(u) < _SERIES_EPS
    u_big = jnp.where(small, 1.0, u)
    u_small = jnp.where(small, u, 0.0)
    series = 1.0 - u_small * (0.5 - u_small * (1.0 / 3.0 - 0.25 * u_small))
    return jnp.where(small, series, jnp.log1p(u_big) / u_big)


def _expm1_ratio(u):
    """``expm1(u) / u`` (1 at ``u = 0``), smooth through 0 (double where)."""
    small = jnp.abs(u) < _SERIES_EPS
    u_big = jnp.where(small, 1.0, u)
    u_small = jnp.where(small, u, 0.0)
    series = 1.0 + u_small * (0.5 + u_small * (1.0 / 6.0 + u_small / 24.0))
    return jnp.where(small, series, jnp.expm1(u_big) / u_big)


_PWM_SAMPLE = 8192


def _gev_pwm(x, w):
    """Hosking, Wallis and Wood's (1985) probability-weighted-moment estimates
    ``(shape, loc, scale)`` in the ``shape > 0`` = heavy-tail convention, from
    plotting positions on a strided subsample of at most ~8192 points."""
    stride = max(1, x.shape[0] // _PWM_SAMPLE)
    xs = x[::stride]
    ws = jnp.ones_like(xs) if w is None else jnp.where(w[::stride] > 0, w[::stride], 0.0)
    ws = jnp.where(jnp.sum(ws) > 0, ws, jnp.ones_like(ws))
    order = jnp.argsort(xs)
    xs, ws = xs[order], ws[order]
    total = jnp.sum(ws)
    p = (jnp.cumsum(ws) - 0.5 * ws) / total
    b0 = jnp.sum(ws * xs) / total
    b1 = jnp.sum(ws * p * xs) / total
    b2 = jnp.sum(ws * p * p * xs) / total
    l2 = 2.0 * b1 - b0
    denom = 3.0 * b2 - b0
    ratio = jnp.where((denom != 0) & (l2 != 0), l2 / jnp.where(denom != 0, denom, 1.0), 0.63)
    c = ratio - jnp.log(2.0) / jnp.log(3.0)
    k = jnp.clip(7.8590 * c + 2.9554 * c * c, -0.5, 0.5)  # Hosking's k = -shape
    g = jnp.exp(gammaln(1.0 + k))
    # (1 - 2^-k) / k and (g - 1) / k, smooth at k = 0
    one_minus_2k = _LOG_2 * _expm1_ratio(-k * _LOG_2)
    scale = l2 / (g * one_minus_2k)
    g_minus_1_over_k = jnp.where(
        jnp.abs(k) < 1e-6, -EULER_GAMMA, (g - 1.0) / jnp.where(k == 0, 1.0, k)
    )
    loc = b0 + scale * g_minus_1_over_k
    return -k, loc, scale


@register("gev")
class GEV(Family):
    r"""Generalized extreme value distribution with shape :math:`\xi`, location
    :math:`\mu` and scale :math:`\sigma`, in the statistics convention where
    :math:`\xi > 0` is heavy-tailed (Fréchet type), :math:`\xi = 0` the Gumbel
    and :math:`\xi < 0` bounded above (reversed Weibull).

    With :math:`z = (x-\mu)/\sigma` and
    :math:`L = \log(1 + \xi z)/\xi` (:math:`= z` at :math:`\xi = 0`),

    .. math:: F(x) = \exp\left(-(1 + \xi z)^{-1/\xi}\right) = \exp(-e^{-L}), \qquad
              \log f(x) = -\log\sigma - (1 + \xi)L - e^{-L}

    on :math:`1 + \xi z > 0`, and :math:`\log f = -\infty` outside: the support
    depends on the parameters, so the data are only checked to be real. ``L`` is
    computed as :math:`z \cdot \mathrm{log1p}(u)/u` with :math:`u = \xi z` and a
    series for :math:`|u| < 10^{-4}`, so the Gumbel limit and all the
    derivatives are exact and finite through :math:`\xi = 0`.
    Parameters: ``shape`` (:math:`\xi`, real), ``loc`` (:math:`\mu`, real),
    ``scale`` (:math:`\sigma > 0`). (For :math:`\xi < -1` the likelihood is
    unbounded; for :math:`\xi \le -1/2` the MLE is not regular.)

    ``init``: probability-weighted moments (Hosking, Wallis and Wood 1985),
    with :math:`\xi` clipped to :math:`[-1/2, 1/2]` and then shrunk toward 0
    until :math:`1 + \xi z \ge 1/2` on every observation, so the fit starts with
    a finite likelihood.

    scipy uses the opposite sign for the shape:
    ``genextreme(c=-shape, loc=loc, scale=scale)``.
    """

    name = "gev"
    param_names = ("shape", "loc", "scale")
    constraints = {"shape": C.real, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = (
        "t^(1+shape) exp(-t) / scale, t = (1 + shape z)^(-1/shape), z = (x-loc)/scale, "
        "on 1 + shape z > 0"
    )
    scipy_equivalent = "genextreme(c=-shape, loc=loc, scale=scale)"

    def _log_t(self, params, x):
        """``(inside, L)`` with ``L = log1p(xi z) / xi``; outside the support ``L``
        is -inf (below a lower bound) or +inf (above an upper bound)."""
        xi = params["shape"]
        z = (x - params["loc"]) / params["scale"]
        u = xi * z
        inside = u > -1.0
        lt = z * _log1p_ratio(jnp.where(inside, u, 0.0))
        outside = jnp.where(xi > 0, -jnp.inf, jnp.inf)
        return inside, jnp.where(inside, lt, outside)

    def logpdf(self, params, x):
        inside, lt = self._log_t(params, x)
        lt_safe = jnp.where(inside, lt, 0.0)
        val = -jnp.log(params["scale"]) - (1.0 + params["shape"]) * lt_safe - jnp.exp(-lt_safe)
        return jnp.where(inside, val, -jnp.inf)

    def cdf(self, params, x):
        return jnp.exp(-jnp.exp(-self._log_t(params, x)[1]))

    def logcdf(self, params, x):
        return -jnp.exp(-self._log_t(params, x)[1])

    def logsf(self, params, x):
        return log1mexp(jnp.exp(-self._log_t(params, x)[1]))

    def sample(self, params, key, shape=()):
        # Inverse cdf: x = loc + scale (E^-xi - 1) / xi with E ~ Exp(1).
        log_e = jnp.log(jax.random.exponential(key, shape))
        xi = params["shape"]
        return params["loc"] - params["scale"] * log_e * _expm1_ratio(-xi * log_e)

    def init(self, x, w):
        xi, loc, scale = _gev_pwm(x, w)
        scale = jnp.where(jnp.isfinite(scale) & (scale > 0), scale, 1.0)
        loc = jnp.where(jnp.isfinite(loc), loc, weighted_quantile(x, w, 0.5))
        xi = jnp.where(jnp.isfinite(xi), xi, 0.1)
        # Feasibility: 1 + xi z >= 1/2 on all data with positive weight.
        keep = jnp.ones(x.shape, bool) if w is None else w > 0
        z_min = jnp.min(jnp.where(keep, x, jnp.inf) - loc) / scale
        z_max = jnp.max(jnp.where(keep, x, -jnp.inf) - loc) / scale
        xi = jnp.where((xi > 0) & (z_min < 0), jnp.minimum(xi, -0.5 / z_min), xi)
        xi = jnp.where((xi < 0) & (z_max > 0), jnp.maximum(xi, -0.5 / z_max), xi)
        return {"shape": xi, "loc": loc, "scale": scale}

    def scipy(self, params):
        from scipy import stats

        return stats.genextreme(c=-params["shape"], loc=params["loc"], scale=params["scale"])
