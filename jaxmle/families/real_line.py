"""Continuous families on the whole real line: normal, logistic, Student's t,
Cauchy, Laplace, Gumbel, skew normal and the generalized extreme value.

The skew normal's cdf has no closed form: it uses Owen's T function and, in the
thin tail, a log-space quadrature of the density, both by fixed-order
Gauss-Legendre rules on intervals chosen from the integrand (so they trace under
``jit`` and vectorize over the data).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, log_ndtr, ndtr
from jax.scipy.stats import norm

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import (
    EULER_GAMMA,
    HALF_LOG_2PI,
    LOG_2,
    LOG_PI,
    PI_SQ_OVER_6,
    digamma_half_step,
    gauss_legendre,
    lgamma_half_step,
    log1mexp_exp,
    log_betainc_pair,
    log_ndtr_accurate,
    log_ndtr_pair,
    log_positive,
    log_tails,
    matrix,
    trigamma_half_step,
)
from jaxmle.families.base import Family, Params, weighted_mean, weighted_quantile
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent
from jaxmle.families.units import Equivariance

__all__ = ["GEV", "Cauchy", "Gumbel", "Laplace", "Logistic", "Normal", "SkewNormal", "StudentT"]


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


_SHIFT_SAMPLE = 64


def central_value(v: jax.Array, w: jax.Array | None) -> jax.Array:
    """The mean of an evenly strided subsample of at most 64 finite values
    with positive weight (0 if there is none): a value near the mean, at no
    pass over the data (the second pass is centred on the exact mean, so this
    only needs to be near it for the first pass's sum)."""
    stride = max(1, v.shape[0] // _SHIFT_SAMPLE)
    sub = v[::stride][:_SHIFT_SAMPLE]
    keep = jnp.isfinite(sub)
    if w is not None:
        keep = keep & (w[::stride][:_SHIFT_SAMPLE] > 0)
    count = jnp.sum(keep)
    k = jnp.sum(jnp.where(keep, sub, 0.0)) / jnp.maximum(count, 1)
    return jnp.where(jnp.isfinite(k), k, 0.0).astype(v.dtype)


def _normal_mle(v: jax.Array, w: jax.Array | None) -> Params:
    r"""Mean and (biased) standard deviation in two passes, the first about
    a shift :math:`k` near the mean (:func:`central_value`), exact to rounding in
    float32 however large :math:`|\mu| / \sigma`:

    .. math:: d = \overline{v - k},\quad m = \mathrm{fl}(k + d),\quad
       \delta = (m - k) - d,\quad \hat\sigma^2 = \overline{(v - m)^2} - \delta^2

    (:math:`\delta` is the rounding of :math:`m`, which a float32 mean of
    values near 3e6 rounds to 0.25). Two single-output reductions: XLA:CPU
    runs a fused two-output reduction several times slower than two passes."""
    k = central_value(v, w)
    d = weighted_mean(v - k, w)
    loc = k + d
    delta = (loc - k) - d
    var = jnp.maximum(weighted_mean(jnp.square(v - loc), w) - jnp.square(delta), 0.0)
    return {"loc": loc, "scale": jnp.sqrt(var)}


# ---------------------------------------------------------------------------
# Normal, logistic
# ---------------------------------------------------------------------------


@register
class Normal(Family):
    r"""Normal distribution.

    .. math:: \log f(x) = -\tfrac12 \left(\tfrac{x-\mu}{\sigma}\right)^2
              - \log\sigma - \tfrac12\log 2\pi

    Parameters: ``loc`` (:math:`\mu`, real), ``scale`` (:math:`\sigma > 0`).
    MLE: ``loc = mean(x)``, ``scale**2 = mean((x - mean(x))**2)``.
    """

    name = "normal"
    exponential_family = True
    closed_form_checks_values = True
    param_names = ("loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line
    density = "exp(-(x-loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))"
    scipy_equivalent = ScipyEquivalent("norm", loc="loc", scale="scale")

    def logpdf(self, params: Params, x: jax.Array) -> jax.Array:
        z = (x - params["loc"]) / params["scale"]
        return -0.5 * z * z - jnp.log(params["scale"]) - HALF_LOG_2PI

    def cdf(self, params, x):
        return ndtr((x - params["loc"]) / params["scale"])

    def log_cdf_sf(self, params, x):
        return log_ndtr_pair((x - params["loc"]) / params["scale"])

    def logcdf(self, params, x):
        return log_ndtr_accurate((x - params["loc"]) / params["scale"])

    def logsf(self, params, x):
        return log_ndtr_accurate((params["loc"] - x) / params["scale"])

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.normal(key, shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, _IQR_NORMAL)
        return {"loc": loc, "scale": scale}

    def closed_form(self, x, w):
        return _normal_mle(x, w)

    def loglik_at_mle(self, estimate, n):
        return -0.5 * n * (jnp.log(2.0 * jnp.pi * jnp.square(estimate["scale"])) + 1.0)

    def expected_information(self, params):
        v = 1.0 / jnp.square(params["scale"])
        return jnp.diag(jnp.stack([v, 2.0 * v]))


@register
class Logistic(Family):
    r"""Logistic distribution with location :math:`\mu` and scale :math:`s`.

    With :math:`z = (x-\mu)/s`,

    .. math:: \log f(x) = -z - 2\log(1 + e^{-z}) - \log s
              = -\operatorname{softplus}(z) - \operatorname{softplus}(-z) - \log s,

    the symmetric softplus form, which never overflows for large :math:`|z|`.
    """

    name = "logistic"
    param_names = ("loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "exp(-z) / (scale (1 + exp(-z))^2), z = (x-loc)/scale"
    scipy_equivalent = ScipyEquivalent("logistic", loc="loc", scale="scale")

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


# ---------------------------------------------------------------------------
# Student's t
# ---------------------------------------------------------------------------


_T5_Q75 = 0.7266868438004226  # upper quartile of the t distribution with 5 df


# A Student t fit beyond this df is indistinguishable from the normal.
_NORMAL_LIKE_DF = 1e4


@register
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
    the standard t with 5 df.
    """

    costly_cdf = True

    name = "student_t"
    param_names = ("df", "loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"df": C.positive, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = (
        "Gamma((df+1)/2) / (Gamma(df/2) sqrt(df pi) scale) (1 + z^2/df)^(-(df+1)/2), "
        "z = (x-loc)/scale"
    )
    scipy_equivalent = ScipyEquivalent("t", df="df", loc="loc", scale="scale")

    def logpdf(self, params, x):
        df, scale = params["df"], params["scale"]
        z = (x - params["loc"]) / scale
        norm_const = lgamma_half_step(0.5 * df) - 0.5 * (jnp.log(df) + LOG_PI) - jnp.log(scale)
        return norm_const - 0.5 * (df + 1.0) * jnp.log1p(z * z / df)

    def derivative_terms(self, params, x):
        # r = x - loc, a = df scale^2 + r^2, b = 1 / a, c = (df + 1) / 2 and
        # L = log(1 + r^2 / (df scale^2)) = log(a) - log(df scale^2):
        #   log f = R(df) - (log df + log pi) / 2 - log(scale) - c L,
        # R(df) = log Gamma(c) - log Gamma(df / 2). Written with L, not log(a),
        # the value has no terms of size df log(df) that cancel (they would
        # swamp it as df grows towards the normal limit); the gradient uses
        # the sum of r^2 b = 1 - df scale^2 b directly, for the same reason
        # (from sum b, the scale's gradient would be a difference of two terms
        # of size n df / scale); r^2 b^2 = b - df scale^2 b^2 in the Hessian,
        # whose relative accuracy is all Newton needs.
        nu, s = params["df"], params["scale"]
        r = x - params["loc"]
        b = 1.0 / (nu * jnp.square(s) + r * r)
        rb = r * b
        return jnp.log1p(jnp.square(r / s) / nu), b, rb, b * b, rb * b, r * rb

    def derivatives_from_terms(self, params, sums, n):
        nu, s = params["df"], params["scale"]
        s_log1p, sb, srb, sb2, srb2, sr2b = sums
        c = 0.5 * (nu + 1.0)
        s2 = s * s
        sr2b2 = sb - nu * s2 * sb2  # sum r^2 b^2
        half, log_nu, log_s = 0.5 * nu, jnp.log(nu), jnp.log(s)
        d2 = 0.25 * trigamma_half_step(half) + 0.5 / nu  # D''(df), D = R + (df log df - log pi)/2
        value = n * (lgamma_half_step(half) - 0.5 * (log_nu + LOG_PI) - log_s) - c * s_log1p
        # c s^2 sum b = (c / df)(n - sum r^2 b): the gradients without terms
        # that cancel to a part in df.
        grad = {
            "df": 0.5 * n * (digamma_half_step(half) - 1.0 / nu) - 0.5 * s_log1p + c * sr2b / nu,
            "loc": 2.0 * c * srb,
            "scale": (2.0 * c * sr2b - n) / s,
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

    def diagnose(self, params, x):
        df = float(params["df"])
        if df > _NORMAL_LIKE_DF:
            return (
                f"df={df:.3g}: the data are no heavier-tailed than a normal's, so the MLE "
                "of df is infinite or beyond any practical value (the normal is the limit "
                "df -> inf); df gets no standard error where its curvature vanishes, and "
                "loc and scale's are those with df held; fit jm.Normal() for these data"
            )
        return None

    def _log_tail(self, params, x):
        r"""``(z, log P(T > |z|))`` for the standardized ``z``:
        :math:`P(T > |z|) = \tfrac12 I_{\nu/(\nu+z^2)}(\nu/2, 1/2)`, whose
        logit argument is :math:`\log\nu - 2\log|z|` (exact however far out
        ``z`` is; :func:`log_betainc_pair`)."""
        df = params["df"]
        z = (x - params["loc"]) / params["scale"]
        zero = z == 0
        log_abs_z = jnp.log(jnp.abs(jnp.where(zero, 1.0, z)))
        log_i, _ = log_betainc_pair(0.5 * df, 0.5, jnp.log(df) - 2.0 * log_abs_z)
        return z, jnp.where(zero, -LOG_2, log_i - LOG_2)

    def log_cdf_sf(self, params, x):
        # The tail below 1/2 and its complement log1p(-tail), by the sign of z.
        z, log_tail = self._log_tail(params, x)
        near = jnp.log1p(-jnp.exp(log_tail))
        return jnp.where(z < 0, log_tail, near), jnp.where(z > 0, log_tail, near)

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.t(key, params["df"], shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, 2.0 * _T5_Q75)
        return {"df": jnp.asarray(5.0, x.dtype), "loc": loc, "scale": scale}

    def expected_information(self, params):
        # Lange, Little and Taylor (1989, JASA 84:881), in scale rather than scale^2;
        # trigamma((df+1)/2) - trigamma(df/2) by trigamma_half_step (no cancellation).
        nu, s = params["df"], params["scale"]
        nu1, nu3 = nu + 1.0, nu + 3.0
        i_dd = -0.25 * trigamma_half_step(0.5 * nu) - (nu + 5.0) / (2.0 * nu * nu1 * nu3)
        i_ds = -2.0 / (s * nu1 * nu3)
        zero = jnp.zeros_like(i_dd)
        return matrix(
            [
                [i_dd, zero, i_ds],
                [zero, nu1 / (nu3 * s * s), zero],
                [i_ds, zero, 2.0 * nu / (nu3 * s * s)],
            ]
        )


# ---------------------------------------------------------------------------
# Cauchy
# ---------------------------------------------------------------------------


@register
class Cauchy(Family):
    r"""Cauchy distribution with location :math:`\mu` and scale :math:`\gamma`.

    .. math:: \log f(x) = -\log(\pi\gamma) - \log\left(1 + z^2\right),
              \quad z = (x-\mu)/\gamma

    Parameters: ``loc`` (:math:`\mu`, the median), ``scale`` (:math:`\gamma > 0`,
    half the interquartile range). The cdf is
    :math:`\operatorname{atan2}(1, -z)/\pi`, accurate in both tails.
    ``init``: median and half the IQR.
    """

    name = "cauchy"
    param_names = ("loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "1 / (pi scale (1 + z^2)), z = (x-loc)/scale"
    scipy_equivalent = ScipyEquivalent("cauchy", loc="loc", scale="scale")

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return -LOG_PI - jnp.log(params["scale"]) - jnp.log1p(z * z)

    def _z(self, params, x):
        return (x - params["loc"]) / params["scale"]

    def cdf(self, params, x):
        return jnp.arctan2(1.0, -self._z(params, x)) / jnp.pi

    def log_cdf_sf(self, params, x):
        # Each tail as log(atan(scale / |x - loc|)) beyond one scale (no z^2, so
        # the derivatives do not overflow at 1e300 scales), atan2 within.
        loc, scale = params["loc"], params["scale"]
        z = self._z(params, x)
        far = jnp.abs(z) > 1.0
        gap = jnp.where(far, jnp.abs(x - loc), scale)
        far_tail = log_positive(jnp.arctan(scale / gap)) - LOG_PI
        z_near = jnp.where(far, 0.0, z)
        # Beyond one scale on the other side a tail is above 1/2: 0 marks it
        # (log_tails then takes the complement of the small one).
        lower_far = jnp.where(z < 0, far_tail, 0.0)
        upper_far = jnp.where(z > 0, far_tail, 0.0)
        lower = jnp.where(far, lower_far, jnp.log(jnp.arctan2(1.0, -z_near)) - LOG_PI)
        upper = jnp.where(far, upper_far, jnp.log(jnp.arctan2(1.0, z_near)) - LOG_PI)
        return log_tails(lower, upper)

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.cauchy(key, shape)

    def init(self, x, w):
        loc, scale = _robust_loc_scale(x, w, 2.0)  # the standard Cauchy's IQR is 2
        return {"loc": loc, "scale": scale}

    def expected_information(self, params):
        v = 0.5 / jnp.square(params["scale"])
        return jnp.diag(jnp.stack([v, v]))


# ---------------------------------------------------------------------------
# Laplace
# ---------------------------------------------------------------------------


def _order_key(v: jax.Array) -> jax.Array:
    """The float ``v`` as a signed integer of its width, in the same order
    (``-0.0`` and ``0.0`` both 0)."""
    ints = jnp.int64 if v.dtype == jnp.float64 else jnp.int32
    bits = jax.lax.bitcast_convert_type(v, ints)
    return jnp.where(bits < 0, jnp.iinfo(ints).min - bits, bits)


def _from_order_key(k: jax.Array, dtype) -> jax.Array:
    """The inverse of :func:`_order_key`."""
    bits = jnp.where(k < 0, jnp.iinfo(k.dtype).min - k, k)
    return jax.lax.bitcast_convert_type(bits, dtype)


def _weighted_median_exact(x, w):
    r"""The midpoint of the interval of minimisers of ``sum w |x - m|``: the
    middle of the two central order statistics for an even count (exact, on all
    the data, unlike :func:`weighted_quantile`).

    No sort (on a CPU, sorting :math:`10^6` values costs ~50 passes over them):
    the lower end is the smallest value :math:`v` with :math:`W(x \le v) \ge
    W/2`, found by bisection over the values' order (their bits as integers),
    one weighted count per step, 64 steps in float64; the upper end is the next
    value with positive weight where :math:`W(x \le v) = W/2` exactly, else
    the same value."""
    weights = jnp.ones(x.shape, x.dtype) if w is None else jnp.where(w > 0, w, 0.0)
    half = 0.5 * jnp.sum(weights)
    seen = weights > 0
    keys_lo = _order_key(jnp.min(jnp.where(seen, x, jnp.inf)))
    keys_hi = _order_key(jnp.max(jnp.where(seen, x, -jnp.inf)))

    def below(key):  # W(x <= value of key)
        return jnp.sum(jnp.where(x <= _from_order_key(key, x.dtype), weights, 0.0))

    def step(_, bounds):
        lo, hi = bounds  # below(lo) < half <= below(hi)
        mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)  # floor((lo + hi) / 2), no overflow
        up = below(mid) >= half
        return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

    bits = 8 * x.dtype.itemsize + 1
    _, key = jax.lax.fori_loop(0, bits, step, (keys_lo - 1, keys_hi))
    lower = _from_order_key(key, x.dtype)
    above = jnp.min(jnp.where(seen & (x > lower), x, jnp.inf))
    upper = jnp.where(below(key) > half, lower, above)
    return 0.5 * (lower + upper)


@register
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
    :math:`b^2/n`).
    """

    name = "laplace"
    param_names = ("loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line
    density = "exp(-|x-loc|/scale) / (2 scale)"
    scipy_equivalent = ScipyEquivalent("laplace", loc="loc", scale="scale")

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
        return jnp.where(z < 0, z - LOG_2, jnp.log1p(-0.5 * jnp.exp(-jnp.abs(z))))

    def logsf(self, params, x):
        z = self._z(params, x)
        return jnp.where(z > 0, -z - LOG_2, jnp.log1p(-0.5 * jnp.exp(-jnp.abs(z))))

    def sample(self, params, key, shape=()):
        return params["loc"] + params["scale"] * jax.random.laplace(key, shape)

    def init(self, x, w):
        loc = weighted_quantile(x, w, 0.5)
        scale = weighted_mean(jnp.abs(x - loc), w)
        return {"loc": loc, "scale": jnp.where(scale > 0, scale, 1.0)}

    def closed_form(self, x, w):
        loc = _weighted_median_exact(x, w)
        return {"loc": loc, "scale": weighted_mean(jnp.abs(x - loc), w)}


# ---------------------------------------------------------------------------
# Gumbel
# ---------------------------------------------------------------------------


@register
class Gumbel(Family):
    r"""Gumbel distribution of maxima (right-skewed) with location :math:`\mu`
    and scale :math:`\beta`.

    .. math:: \log f(x) = -z - e^{-z} - \log\beta, \quad z = (x-\mu)/\beta

    cdf :math:`\exp(-e^{-z})`. Parameters: ``loc`` (:math:`\mu`, the mode),
    ``scale`` (:math:`\beta > 0`). ``init`` matches the moments:
    :math:`\mathrm{sd} = \pi\beta/\sqrt6`, :math:`\mathrm{mean} = \mu + \gamma_E\beta`.
    """

    name = "gumbel"
    param_names = ("loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "exp(-z - exp(-z)) / scale, z = (x-loc)/scale"
    scipy_equivalent = ScipyEquivalent("gumbel_r", loc="loc", scale="scale")

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
        return log1mexp_exp(-(x - params["loc"]) / params["scale"])

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


# ---------------------------------------------------------------------------
# Skew normal
# ---------------------------------------------------------------------------


def _owens_t_unit(h, a):
    r"""Owen's :math:`T(h, a) = \frac{1}{2\pi}\int_0^a
    \frac{e^{-h^2(1+t^2)/2}}{1+t^2}\,dt` for ``0 <= a <= 1``.

    The Gaussian factor :math:`e^{-h^2 t^2/2}` is below :math:`e^{-50}` beyond
    :math:`t = 10/|h|`, so the rule runs over ``[0, min(a, 10/|h|)]``.
    """
    nodes, weights = gauss_legendre(h)
    habs = jnp.abs(h)
    upper = jnp.minimum(a, 10.0 / jnp.maximum(habs, 1e-300))
    t = upper[..., None] * nodes
    half_h2 = 0.5 * habs * habs
    # e^{-h^2/2} factored out: the integrand stays a normal float (no
    # subnormal rounding where T itself is near 1e-300).
    f = jnp.exp(-half_h2[..., None] * t * t) / (1.0 + t * t)
    return jnp.exp(-half_h2) * upper * jnp.sum(f * weights, axis=-1) / (2.0 * jnp.pi)


def _owens_t(h, a):
    r"""Owen's T for any real ``a`` (odd in ``a``), by :math:`T(h, a) + T(ah, 1/a) =
    \tfrac12(\Phi(h) + \Phi(ah)) - \Phi(h)\Phi(ah)` for ``|a| > 1``, written
    :math:`\tfrac12(\Phi(h)\Phi(-ah) + \Phi(-h)\Phi(ah))`: a sum of products of
    positive terms, so the small values of the tails keep their digits."""
    sign = jnp.sign(a)
    a = jnp.abs(a)
    big = a > 1.0
    a_inv = 1.0 / jnp.where(big, a, 1.0)
    direct = _owens_t_unit(h, jnp.where(big, 1.0, a))
    ah = a * h
    products = 0.5 * (ndtr(h) * ndtr(-ah) + ndtr(-h) * ndtr(ah))
    swapped = products - _owens_t_unit(ah, a_inv)
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
    nodes, weights = gauss_legendre(z)
    log_mills = norm.logpdf(a * z) - log_ndtr(a * z)
    r = -z + a * jnp.exp(log_mills)
    length = 90.0 / (r + jnp.sqrt(r * r + 90.0))
    t = z[..., None] - length[..., None] * nodes
    g = norm.logpdf(t) + log_ndtr(a[..., None] * t)
    log_w = jnp.log(length)[..., None] + jnp.log(weights)
    return LOG_2 + jax.scipy.special.logsumexp(g + log_w, axis=-1)


def _skewnorm_log_lower(z, a):
    """``log F(z)`` of the standard skew normal with shape ``a``, accurate
    relative to ``F`` (so for ``F`` up to about 1/2; beyond, :func:`log_tails`
    takes ``log1p(-sf)``)."""
    a = jnp.broadcast_to(a, z.shape)
    thin = (a > 0) & (z < 0)
    # Phi(z) - 2T(z, a): a sum of positive terms for a <= 0, and >= 1/2 - atan(a)/pi
    # for z >= 0: no cancellation outside the thin tail.
    # (On a safe point, z = a = 0, in the thin tail, where this cancels to 0.)
    z_owen, a_owen = jnp.where(thin, 0.0, z), jnp.where(thin, 0.0, a)
    via_owen = log_positive(ndtr(z_owen) - 2.0 * _owens_t(z_owen, a_owen))
    z_thin = jnp.where(thin, z, -1.0)
    a_thin = jnp.where(thin, a, 1.0)
    return jnp.where(thin, _skewnorm_log_thin_tail(z_thin, a_thin), via_owen)


def _moment_delta(skew):
    """``delta = shape / sqrt(1 + shape^2)`` matching a skewness (method of moments)."""
    g = jnp.abs(skew) ** (2.0 / 3.0)
    c = ((4.0 - jnp.pi) / 2.0) ** (2.0 / 3.0)
    delta = jnp.sign(skew) * jnp.sqrt(jnp.pi / 2.0 * g / (g + c))
    return jnp.clip(delta, -0.99, 0.99)


@register
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
    """

    costly_cdf = True

    name = "skew_normal"
    param_names = ("shape", "loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"shape": C.real, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = "2 phi(z) Phi(shape z) / scale, z = (x-loc)/scale"
    scipy_equivalent = ScipyEquivalent("skewnorm", a="shape", loc="loc", scale="scale")

    def logpdf(self, params, x):
        z = (x - params["loc"]) / params["scale"]
        return (
            LOG_2
            - 0.5 * z * z
            - HALF_LOG_2PI
            - jnp.log(params["scale"])
            + log_ndtr(params["shape"] * z)
        )

    def _z(self, params, x):
        return (x - params["loc"]) / params["scale"]

    def log_cdf_sf(self, params, x):
        # sf(z; a) = F(-z; -a): each tail's direct form where it is small.
        z, a = self._z(params, x), params["shape"]
        return log_tails(_skewnorm_log_lower(z, a), _skewnorm_log_lower(-z, -a))

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

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
    one_minus_2k = LOG_2 * _expm1_ratio(-k * LOG_2)
    scale = l2 / (g * one_minus_2k)
    g_minus_1_over_k = jnp.where(
        jnp.abs(k) < 1e-6, -EULER_GAMMA, (g - 1.0) / jnp.where(k == 0, 1.0, k)
    )
    loc = b0 + scale * g_minus_1_over_k
    return -k, loc, scale


@register
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

    scipy's ``genextreme`` uses the opposite sign for the shape.
    """

    name = "gev"
    param_names = ("shape", "loc", "scale")
    equivariance = Equivariance(location=("loc",), scale={"scale": 1})
    constraints = {"shape": C.real, "loc": C.real, "scale": C.positive}
    support = S.real_line

    density = (
        "t^(1+shape) exp(-t) / scale, t = (1 + shape z)^(-1/shape), z = (x-loc)/scale, "
        "on 1 + shape z > 0"
    )
    scipy_equivalent = ScipyEquivalent("genextreme", c="-shape", loc="loc", scale="scale")

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
        return log1mexp_exp(-self._log_t(params, x)[1])

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

    def init_with_fixed(self, x, w, fixed):
        # A fixed shape (a profile point): widen the scale until 1 + xi z >= 1/2
        # on every observation (a fixed loc or scale: the shape adapts, as in init).
        start = self.init(x, w)
        if "shape" not in fixed or "scale" in fixed:
            return start
        xi = fixed["shape"]
        loc = fixed.get("loc", start["loc"])
        keep = jnp.ones(x.shape, bool) if w is None else w > 0
        reach = jnp.max(jnp.where(keep, -xi * (x - loc), -jnp.inf))  # max of -xi (x - loc)
        return {**start, "scale": jnp.maximum(start["scale"], 2.0 * reach)}
