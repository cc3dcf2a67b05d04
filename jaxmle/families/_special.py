r"""Special functions, constants and quadrature shared by the family modules.

Private to :mod:`jaxmle.families` (the module name has the underscore); the
names inside are public, so a family module imports what it needs from here and
never another family module's internals.

* constants: :math:`\tfrac12\log 2\pi`, :math:`\gamma_E`, :math:`\pi^2/6`, ...;
* small stable helpers: :func:`log1mexp`, :func:`nan_unless`, :func:`matrix`;
* Stirling's series: :func:`stirling_correction`, and from it :func:`betaln`
  and the half-step gamma ratio :func:`lgamma_half_step` with its derivatives
  :func:`digamma_half_step`, :func:`trigamma_half_step`;
* :func:`gauss_legendre`, a fixed 64-point rule for the cdfs without a closed form;
* log-space tails (the log-cdf and log-survival functions, accurate in both
  tails and twice differentiable in every argument): :func:`log_tails`,
  :func:`log_complement`, :func:`log1mexp_exp`, :func:`log_softplus`,
  :func:`log_ndtr_accurate`, and the regularized incomplete gamma and beta
  functions in log space, :func:`log_gammainc_pair` and
  :func:`log_betainc_pair`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, ndtr, xlogy

__all__ = [
    "EULER_GAMMA",
    "HALF_LOG_2PI",
    "LOG_2",
    "LOG_2PI",
    "LOG_PI",
    "PI_SQ_OVER_6",
    "betaln",
    "digamma_half_step",
    "expm1mx",
    "gauss_legendre",
    "k_log_k_minus_lgamma",
    "lgamma_half_step",
    "log1mexp",
    "log1mexp_exp",
    "log_betainc_pair",
    "log_complement",
    "log_gammainc_pair",
    "log_ndtr_accurate",
    "log_ndtr_gap",
    "log_positive",
    "log_softplus",
    "log_tails",
    "matrix",
    "nan_unless",
    "stirling_correction",
    "trigamma_half_step",
]

HALF_LOG_2PI = 0.9189385332046727  # 0.5 * log(2 * pi)
EULER_GAMMA = 0.5772156649015329
PI_SQ_OVER_6 = 1.6449340668482264  # pi^2 / 6 = trigamma(1)
LOG_2 = 0.6931471805599453
LOG_PI = 1.1447298858494002
LOG_2PI = 1.8378770664093453


def log1mexp(t: jax.Array) -> jax.Array:
    r"""``log(1 - exp(-t))`` for ``t > 0``, accurate for small and large ``t``.

    Uses ``log(-expm1(-t))`` for ``t < log 2`` and ``log1p(-exp(-t))`` above
    (Maechler, "Accurately computing log(1 - exp(-|a|))", 2012).
    """
    t = jnp.asarray(t)
    small = t < jnp.log(2.0)
    safe_small = jnp.where(small, t, 1.0)
    safe_large = jnp.where(small, 1.0, t)
    return jnp.where(small, jnp.log(-jnp.expm1(-safe_small)), jnp.log1p(-jnp.exp(-safe_large)))


@jax.custom_jvp
def _log(x):
    return jnp.log(x)


@_log.defjvp
def _log_jvp(primals, tangents):
    # d log x = dx e^{-log x}: differentiated again, this gives products of
    # O(1) ratios dx/x, where the quotient rule's x^-2 overflows for x < 1e-154.
    (x,), (dx,) = primals, tangents
    value = jnp.log(x)
    return value, dx * jnp.exp(-value)


def log_positive(x: jax.Array) -> jax.Array:
    """``log x`` for ``x > 0`` and ``-inf`` for ``x <= 0`` (a point below a support
    that starts at 0), with a finite gradient there; its second derivative
    stays finite for ``x`` down to 1e-300 (where autodiff of ``log`` squares
    ``x``, which underflows): a log of a sum of tiny probabilities keeps a
    finite Hessian."""
    positive = x > 0
    outside = jnp.where(x <= 0, -jnp.inf, x)  # NaN stays NaN
    return jnp.where(positive, _log(jnp.where(positive, x, 1.0)), outside)


def log_complement(log_p: jax.Array) -> jax.Array:
    r""":math:`\log(1 - p)` from :math:`\log p \le 0`: ``log1mexp(-log_p)``, with
    ``-inf`` at ``log_p = 0`` (and a finite gradient where that is not selected)."""
    inside = log_p < 0
    return jnp.where(inside, log1mexp(-jnp.where(inside, log_p, -1.0)), -jnp.inf)


def log_tails(log_lower: jax.Array, log_upper: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""``(log F, log S)`` from two direct evaluations of the tails, each accurate
    relative to its own value (so only where it is small):

    .. math:: \log F = \begin{cases} \log F & F < \tfrac12 \\
              \log(1 - S) & \text{else,} \end{cases}\qquad
              \log S = \begin{cases} \log S & S < \tfrac12 \\
              \log(1 - F) & \text{else.} \end{cases}

    Near 1 the value comes from the other, small tail, so :math:`\log F = -10^{-20}`
    keeps its digits where :math:`\log(\text{nearly } 1)` would lose them all."""
    # Where a tail is used through its complement it is below ~1/2, so
    # log1p(-exp(.)) is accurate there (on -1, a safe value, elsewhere).
    lower_small = log_lower < -LOG_2
    upper_small = log_upper < -LOG_2
    from_upper = jnp.log1p(-jnp.exp(jnp.where(lower_small, -1.0, log_upper)))
    from_lower = jnp.log1p(-jnp.exp(jnp.where(upper_small, -1.0, log_lower)))
    log_cdf = jnp.where(lower_small, log_lower, from_upper)
    log_sf = jnp.where(upper_small, log_upper, from_lower)
    return log_cdf, log_sf


_LOG1MEXP_EXP_SERIES = -20.0


def log1mexp_exp(log_t: jax.Array) -> jax.Array:
    r""":math:`\log(1 - e^{-t})` from :math:`\log t`: a log-cdf from the log of
    its cumulative hazard :math:`t = -\log S`, accurate for every :math:`\log t`,
    also where :math:`t` itself would underflow:

    .. math:: \log(1 - e^{-t}) = \log t - \tfrac t2 + O(t^2) \quad (\log t < -20),

    and :func:`log1mexp` of :math:`t = e^{\log t}` above (``-inf`` at ``t = 0``,
    0 at ``t = inf``)."""
    small = log_t < _LOG1MEXP_EXP_SERIES
    ls = jnp.where(small, log_t, _LOG1MEXP_EXP_SERIES)
    ll = jnp.where(small, 0.0, log_t)
    return jnp.where(small, ls - 0.5 * jnp.exp(ls), log1mexp(jnp.exp(ll)))


def log_softplus(z: jax.Array) -> jax.Array:
    r""":math:`\log\log(1 + e^z)`, accurate where :math:`e^z` underflows:
    :math:`z - e^z/2` below ``z = -20`` (the next term is below :math:`e^{2z}/3`)."""
    small = z < _LOG1MEXP_EXP_SERIES
    zs = jnp.where(small, z, _LOG1MEXP_EXP_SERIES)
    zl = jnp.where(small, 0.0, z)
    return jnp.where(small, zs - 0.5 * jnp.exp(zs), jnp.log(jax.nn.softplus(zl)))


_NDTR_ASYMPTOTIC = -37.0  # ndtr(z) is a normal (not subnormal) float above this
_NDTR_TERMS = 9


def _ndtr_series(z):
    r""":math:`s(z) = \sum_{k=0}^{8} (-1)^k (2k-1)!!\,z^{-2k}`, with
    :math:`\Phi(z) = \varphi(z)\,s(z)/(-z)` to double precision for ``z < -37``."""
    r = 1.0 / (z * z)
    series = jnp.ones_like(r)
    for k in range(_NDTR_TERMS - 1, 0, -1):
        series = 1.0 - (2 * k - 1) * r * series
    return series


def log_ndtr_gap(a: jax.Array, b: jax.Array) -> jax.Array:
    r""":math:`\log\frac{\Phi(-a)\,e^{a^2/2}}{\Phi(-b)\,e^{b^2/2}}` for ``a <= b``
    without the cancellation of the :math:`a^2/2` and :math:`b^2/2` terms:
    beyond ``a = 37`` it is :math:`\log(1 + (b - a)/a) + \log s(-a) - \log s(-b)`
    (:func:`_ndtr_series`), positive and accurate however large ``a`` is."""
    far = a > -_NDTR_ASYMPTOTIC
    a_far = jnp.where(far, a, 1.0 - _NDTR_ASYMPTOTIC)
    b_far = jnp.where(far, b, 1.0 - _NDTR_ASYMPTOTIC)
    asymptotic = (
        jnp.log1p((b_far - a_far) / a_far)
        + jnp.log(_ndtr_series(-a_far))
        - jnp.log(_ndtr_series(-b_far))
    )
    a_near = jnp.where(far, 0.0, a)
    b_near = jnp.where(far, 0.0, b)
    direct = (log_ndtr_accurate(-a_near) + 0.5 * a_near * a_near) - (
        log_ndtr_accurate(-b_near) + 0.5 * b_near * b_near
    )
    return jnp.where(far, asymptotic, direct)


def _log_ndtr_and_mills(z):
    """``(log Phi(z), phi(z) / Phi(z))`` (see :func:`log_ndtr_accurate`)."""
    neg = z < 0
    far = z < _NDTR_ASYMPTOTIC
    z_up = jnp.where(neg, 1.0, z)
    z_mid = jnp.where(neg & ~far, z, -1.0)
    z_far = jnp.where(far, z, _NDTR_ASYMPTOTIC - 1.0)
    series = _ndtr_series(z_far)
    asymptotic = -0.5 * z_far * z_far - jnp.log(-z_far) - HALF_LOG_2PI + jnp.log(series)
    inner = jnp.where(far, asymptotic, jnp.log(ndtr(z_mid)))
    value = jnp.where(neg, inner, jnp.log1p(-ndtr(-z_up)))
    z_near = jnp.where(far, 0.0, z)
    mills = jnp.where(far, -z_far / series, jnp.exp(-0.5 * z_near * z_near - HALF_LOG_2PI - value))
    return value, mills


@jax.custom_jvp
def log_ndtr_accurate(z: jax.Array) -> jax.Array:
    r""":math:`\log\Phi(z)` to a few ulps for every ``z`` (``jax.scipy.special.log_ndtr``
    loses up to 2e-11 of it on :math:`-38 < z < -20` and ~1e-7 on :math:`1 < z < 8`):

    * :math:`z \ge 0`: :math:`\log(1 - \Phi(-z))` (``log1p``);
    * :math:`-37 \le z < 0`: :math:`\log\Phi(z)` (``ndtr`` is accurate to an ulp,
      relative, down to its underflow);
    * :math:`z < -37`: :math:`-\tfrac{z^2}2 - \log(-z) - \tfrac12\log 2\pi
      + \log s(z)`, :math:`s(z) = \sum_{k=0}^{8} (-1)^k (2k-1)!!\,z^{-2k}` (the
      first term left out is below 1e-19 there).

    Its derivative is the inverse Mills ratio :math:`\varphi(z)/\Phi(z)`, taken in
    log space (:math:`-z/s(z)` far out): autodiff of :math:`\log\Phi` would
    square :math:`\Phi`, which underflows from :math:`z \approx -27` on."""
    return _log_ndtr_and_mills(z)[0]


@log_ndtr_accurate.defjvp
def _log_ndtr_accurate_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    value, mills = _log_ndtr_and_mills(z)
    return value, mills * dz


def log_ndtr_pair(z: jax.Array) -> tuple[jax.Array, jax.Array]:
    r""":math:`(\log\Phi(z), \log\Phi(-z))` from one evaluation: the smaller tail
    :math:`\log\Phi(-|z|)` by :func:`log_ndtr_accurate`, the other as
    :math:`\log(1 - \Phi(-|z|))` (``log1p``; accurate, the small tail being at
    most :math:`\tfrac12`). Half the work of two calls; the sign is chosen by
    ``where`` (not ``abs``), so the derivative at :math:`z = 0` is right."""
    negative = z < 0
    small = log_ndtr_accurate(jnp.where(negative, z, -z))
    large = jnp.log1p(-jnp.exp(small))
    return jnp.where(negative, small, large), jnp.where(negative, large, small)


_EXPM1MX_SERIES = 0.05


@jax.custom_jvp
def expm1mx(w: jax.Array) -> jax.Array:
    r""":math:`e^w - 1 - w` without cancellation: its Taylor series
    :math:`\sum_{n=2}^{9} w^n/n!` for :math:`|w| < 0.05` (the rest is below
    1e-17 of it; above, ``expm1(w) - w`` loses under 5e-15 of it). Its
    derivative is ``expm1`` (a custom rule: the series is never
    differentiated, which keeps Hessian programs small)."""
    small = jnp.abs(w) < _EXPM1MX_SERIES
    ws = jnp.where(small, w, 0.0)
    wl = jnp.where(small, 1.0, w)
    series = jnp.ones_like(ws)
    for n in range(9, 2, -1):
        series = 1.0 + ws / n * series
    return jnp.where(small, 0.5 * ws * ws * series, jnp.expm1(wl) - wl)


@expm1mx.defjvp
def _expm1mx_jvp(primals, tangents):
    (w,), (dw,) = primals, tangents
    return expm1mx(w), jnp.expm1(w) * dw


def nan_unless(ok):
    """``0`` where ``ok``, NaN elsewhere: a sufficient statistic that makes the
    sums non-finite for data outside the support (see ``Family.statistics``)."""
    return jnp.where(ok, 0.0, jnp.nan)


def matrix(rows) -> jax.Array:
    """A ``(p, p)`` array from nested lists of scalars (arrays or Python numbers,
    which keep the arrays' dtype): the families' expected-information matrices."""
    return jnp.stack([jnp.stack([jnp.asarray(v) for v in row]) for row in rows])


# ---------------------------------------------------------------------------
# Stirling's series and what is built on it
# ---------------------------------------------------------------------------

_STIRLING_MIN = 10.0  # betaln uses the Stirling forms for arguments >= this


def stirling_correction(x: jax.Array) -> jax.Array:
    r"""The Stirling remainder :math:`\log\Gamma(x) - [(x-\tfrac12)\log x - x + \tfrac12\log 2\pi]`
    for ``x >= 10`` (absolute error below 2e-14 there)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))


def k_log_k_minus_lgamma(k: jax.Array) -> jax.Array:
    r""":math:`k\log k - k - \log\Gamma(k)` (Stirling's form for ``k >= 10``, where
    the direct one cancels: :math:`\tfrac12\log(k / 2\pi) - \delta(k)`)."""
    big = jnp.where(
        k >= _STIRLING_MIN, k, _STIRLING_MIN
    )  # not maximum: its tie splits the gradient
    asym = 0.5 * jnp.log(big) - HALF_LOG_2PI - stirling_correction(big)
    direct = xlogy(k, k) - k - gammaln(k)
    return jnp.where(k >= _STIRLING_MIN, asym, direct)


def betaln(a: jax.Array, b: jax.Array) -> jax.Array:
    r""":math:`\log B(a, b)` for ``a, b > 0``, accurate when either argument is large
    (``jax.scipy.special.betaln`` loses up to ~1e-6 absolute in float64).

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
    # Clamped by where, not minimum/maximum: at a tie (an argument of exactly
    # 10) those split the gradient in half between their two arguments.
    lo_s = jnp.where(lo < _STIRLING_MIN, lo, _STIRLING_MIN)
    hi_s = jnp.where(hi < _STIRLING_MIN, hi, _STIRLING_MIN)
    small = gammaln(lo_s) + gammaln(hi_s) - gammaln(lo_s + hi_s)

    # Only hi large.
    hi_m = jnp.where(hi_large, hi, _STIRLING_MIN)
    s = lo_s + hi_m
    mixed = (
        gammaln(lo_s)
        - (hi_m - 0.5) * jnp.log1p(lo_s / hi_m)
        - lo_s * jnp.log(s)
        + lo_s
        + stirling_correction(hi_m)
        - stirling_correction(s)
    )

    # Both large.
    lo_l = jnp.where(both_large, lo, _STIRLING_MIN)
    t = lo_l + hi_m
    # log(hi / t): log1p only for a small argument (XLA's log1p is off by up to
    # ~100 ulps on (-0.5, -0.1); log(hi / t) is exact to an ulp there).
    log_hi_frac = jnp.where(lo_l < 0.1 * t, jnp.log1p(-lo_l / t), jnp.log(hi_m / t))
    large = (
        HALF_LOG_2PI
        - 0.5 * jnp.log(t)
        + (lo_l - 0.5) * jnp.log(lo_l / t)
        + (hi_m - 0.5) * log_hi_frac
        + stirling_correction(lo_l)
        + stirling_correction(hi_m)
        - stirling_correction(t)
    )
    return jnp.where(both_large, large, jnp.where(hi_large, mixed, small))


_HALF_STEP_SHIFT = 10


@jax.custom_jvp
def lgamma_half_step(a):
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
    corr = stirling_correction(shifted[..., None] + halves)
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
def digamma_half_step(a):
    """``digamma(a + 1/2) - digamma(a)``, the derivative of :func:`lgamma_half_step`
    (the same recurrence and asymptotic series: elementary operations only)."""
    y, ai = _shifted(a)
    asym = jnp.log1p(0.5 / y) + _digamma_tail(y + 0.5) - _digamma_tail(y)
    return asym + jnp.sum(1.0 / ai - 1.0 / (ai + 0.5), axis=-1)


def trigamma_half_step(a):
    """``trigamma(a + 1/2) - trigamma(a)``, the derivative of :func:`digamma_half_step`."""
    y, ai = _shifted(a)
    asym = _trigamma_series(y + 0.5) - _trigamma_series(y)
    return asym + jnp.sum(1.0 / (ai + 0.5) ** 2 - 1.0 / ai**2, axis=-1)


@lgamma_half_step.defjvp
def _lgamma_half_step_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    return lgamma_half_step(a), digamma_half_step(a) * da


@digamma_half_step.defjvp
def _digamma_half_step_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    return digamma_half_step(a), trigamma_half_step(a) * da


# ---------------------------------------------------------------------------
# Quadrature
# ---------------------------------------------------------------------------

# Gauss-Legendre nodes and weights on [0, 1] (64 points: exact to double
# precision for the smooth, at most e^-45-decaying integrands of the cdfs).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)
_GL_X, _GL_W = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W


def gauss_legendre(v):
    """Nodes and weights on [0, 1] shaped ``(1,) * v.ndim + (64,)``, in ``v``'s
    dtype, to pair with ``v[..., None]``."""
    shape = (1,) * v.ndim + (-1,)
    return jnp.asarray(_GL_X, v.dtype).reshape(shape), jnp.asarray(_GL_W, v.dtype).reshape(shape)


# ---------------------------------------------------------------------------
# Log-space tail integrals: the regularized incomplete gamma and beta functions
# ---------------------------------------------------------------------------

#: A tail integral is cut where its log-integrand is this far below its maximum
#: (the rest is below e^-50 of the integral, far below double rounding).
_CUT_DEPTH = 50.0
_CUT_NEWTON_STEPS = 3


def _newton_cut(phi, dphi, target, start):
    r"""The point ``w`` beyond ``start``'s side of the maximum where the concave
    ``phi`` equals ``target``, by Newton from ``start``, a point beyond it
    (:math:`\phi(\text{start}) \le \text{target}`). On that side :math:`-\phi` is
    convex and monotone, so every step stays beyond the root and approaches
    it: the cut never truncates the integral."""
    w = start
    for _ in range(_CUT_NEWTON_STEPS):
        d = dphi(w)
        ok = d != 0
        w_new = w - (phi(w) - target) / jnp.where(ok, d, 1.0)
        w = jnp.where(ok & jnp.isfinite(w_new), w_new, w)
    return w


def _log_tail_integrals(phi, dphi, params, w0, left_bound, right_bound):
    r"""``(log L, log U)``: :math:`L = \int_{-\infty}^{w_0} e^{\phi}` and
    :math:`U = \int_{w_0}^{\infty} e^{\phi}` for a concave ``phi`` with maximum
    :math:`\phi(0) = 0`, each accurate relative to its own value however far
    :math:`w_0` (finite) is in either tail.

    ``phi(w, *params)`` and ``dphi`` (its derivative in ``w``) are elementwise,
    with ``params`` shaped like ``w0``. Each range is cut where :math:`\phi` is
    :data:`_CUT_DEPTH` below its maximum on the range (at the mode or at
    :math:`w_0`): ``left_bound(y, *params)`` and ``right_bound`` give distances
    from the mode beyond which :math:`\phi < -y`, and on the tail side of
    :math:`w_0` concavity gives :math:`w_0 + T/|\phi'(w_0)|`; Newton brings the
    cut in from the nearer of the two (:func:`_newton_cut`). The cuts carry no
    gradient: what lies beyond them is below :math:`e^{-50}` of the integral.

    Each integral is a 64-point Gauss-Legendre rule on either side of the
    range's maximum (at :math:`\min(w_0, 0)`, resp. :math:`\max(w_0, 0)`), in
    units of :math:`e^{\phi}` there (nothing under- or overflows; a panel of
    length 0 adds 0); the four panels and the two maxima are one evaluation of
    ``phi``, which keeps the derivative programs small."""
    ps = tuple(jax.lax.stop_gradient(p)[..., None] for p in params)
    w = jax.lax.stop_gradient(w0)

    def phi_s(v):
        return phi(v, *ps)

    def dphi_s(v):
        return dphi(v, *ps)

    # Both cuts at once: [..., 0] below the range's maximum, [..., 1] above.
    peaks = jnp.stack([jnp.minimum(w, 0.0), jnp.maximum(w, 0.0)], axis=-1)
    targets = phi_s(peaks) - _CUT_DEPTH
    ws = w[..., None]
    slope = dphi_s(ws)
    from_mode = jnp.stack(
        [
            -left_bound(-targets[..., 0], *(p[..., 0] for p in ps)),
            right_bound(-targets[..., 1], *(p[..., 0] for p in ps)),
        ],
        axis=-1,
    )
    side = jnp.asarray([-1.0, 1.0], w.dtype).reshape((1,) * w.ndim + (2,))
    beyond_w = side * ws > 0  # w0 lies on that side of the mode
    from_w = ws - _CUT_DEPTH / jnp.where(beyond_w, slope, -side)
    starts = jnp.where(beyond_w, side * jnp.minimum(side * from_mode, side * from_w), from_mode)
    cuts = _newton_cut(phi_s, dphi_s, targets, starts)
    cuts = jax.lax.stop_gradient(
        jnp.stack([jnp.minimum(cuts[..., 0], w), jnp.maximum(cuts[..., 1], w)], -1)
    )

    # Panels [cut_lo, m_lo], [m_lo, w0], [w0, m_hi], [m_hi, cut_hi]; m = the peaks.
    m_lo, m_hi = jnp.minimum(w0, 0.0), jnp.maximum(w0, 0.0)
    ends = jnp.stack([cuts[..., 0], m_lo, w0, m_hi, cuts[..., 1]], axis=-1)
    a, b = ends[..., :-1], ends[..., 1:]
    nodes, weights = gauss_legendre(a)  # (..., 1, 64) after the panel axis
    t = a[..., None] + (b - a)[..., None] * nodes
    points = jnp.concatenate([t.reshape((*t.shape[:-2], -1)), jnp.stack([m_lo, m_hi], -1)], -1)
    values = phi(points, *(p[..., None] for p in params))
    tops = values[..., -2:]
    panel_tops = jnp.repeat(tops, 2, axis=-1)[..., None]  # each panel's reference
    f = jnp.exp(values[..., :-2].reshape(t.shape) - panel_tops)
    sums = (b - a) * jnp.sum(weights * f, axis=-1)
    return (
        tops[..., 0] + jnp.log(sums[..., 0] + sums[..., 1]),
        tops[..., 1] + jnp.log(sums[..., 2] + sums[..., 3]),
    )


def _finite_tails(w0, compute):
    r"""``compute(w0)`` on finite ``w0`` (0 substituted elsewhere, so the
    gradients stay finite), and the limits ``(-inf, 0)`` at :math:`w_0 = -\infty`
    and ``(0, -inf)`` at :math:`+\infty` (NaN stays NaN)."""
    finite = jnp.isfinite(w0)
    lower, upper = compute(jnp.where(finite, w0, 0.0))
    at_lower = jnp.where(w0 > 0, 0.0, jnp.where(w0 < 0, -jnp.inf, w0))
    at_upper = jnp.where(w0 > 0, -jnp.inf, jnp.where(w0 < 0, 0.0, w0))
    return jnp.where(finite, lower, at_lower), jnp.where(finite, upper, at_upper)


def _gamma_phi(w, a):
    return -a * expm1mx(w)


def _gamma_dphi(w, a):
    return -a * jnp.expm1(w)


def _gamma_left_bound(y, a):
    # e^w - 1 - w >= |w| - 1 for w < 0, and >= w^2/4 while |w| <= 1.5.
    y = y / a
    quad = 2.0 * jnp.sqrt(y)
    return jnp.where(quad <= 1.5, quad, y + 1.0)


def _gamma_right_bound(y, a):
    # e^w - 1 - w >= w^2/2 for w > 0, and >= y at w = log(1 + 2y) once y >= 1.3.
    y = y / a
    return jnp.minimum(jnp.sqrt(2.0 * y), jnp.where(y >= 1.3, jnp.log1p(2.0 * y), jnp.inf))


def log_gammainc_pair(a: jax.Array, log_x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""``(log P(a, x), log Q(a, x))``, the regularized lower and upper incomplete
    gamma functions in log space, from :math:`\log x` (``-inf`` for ``x = 0``):
    each accurate relative to its own value in both tails (also where
    ``gammainc`` underflows), and twice differentiable in ``a`` and ``x``
    (``jax.scipy.special.gammainc`` has no second derivative in ``a``).

    In the log variable :math:`v = \log t` the integrand :math:`t^{a-1}e^{-t}\,dt
    = e^{av - e^v}\,dv` is log-concave with its mode at :math:`\log a`; with
    :math:`w = v - \log a`,

    .. math:: P(a, x) = \frac{a^a e^{-a}}{\Gamma(a)} \int_{-\infty}^{\log(x/a)}
              e^{\phi(w)}\,dw, \qquad \phi(w) = -a\,(e^w - 1 - w)

    (:func:`expm1mx`, :func:`k_log_k_minus_lgamma`), and :math:`Q` the same
    integral from :math:`\log(x/a)` up, both by :func:`_log_tail_integrals`. Use
    each where it is below 1/2 and the complement of the other above
    (:func:`log_tails`)."""
    a, log_x = jnp.broadcast_arrays(jnp.asarray(a), jnp.asarray(log_x))

    def compute(w0):
        lower, upper = _log_tail_integrals(
            _gamma_phi, _gamma_dphi, (a,), w0, _gamma_left_bound, _gamma_right_bound
        )
        norm = k_log_k_minus_lgamma(a)
        return lower + norm, upper + norm

    return _finite_tails(log_x - jnp.log(a), compute)


_EXP_MAX = 700.0  # e^w is finite below this in float64 (float32 saturates to inf: the
# branch above is then the one taken)


def _log_bernoulli_mgf(p, w):
    r""":math:`\log(1 - p + p e^w)` for :math:`0 < p \le 1/2`: ``log1p(p expm1(w))``
    (no cancellation near ``w = 0``), and :math:`w + \log p` above ``w = 700``
    (the rest, :math:`\log(1 + (1-p)e^{-w}/p)`, is below 1e-300 there)."""
    far = w > _EXP_MAX
    return jnp.where(far, w + jnp.log(p), jnp.log1p(p * jnp.expm1(jnp.minimum(w, _EXP_MAX))))


def _beta_phi(w, a, b):
    # a w - (a+b) log(1 - p + p e^w), p = a/(a+b), is symmetric under
    # (a, b, w) -> (b, a, -w): it is evaluated with the smaller of a, b first,
    # so that p <= 1/2 (the linear terms, which cancel, are then the smaller).
    s = a + b
    swap = a > b
    small = jnp.where(swap, b, a)
    w = jnp.where(swap, -w, w)
    return small * w - s * _log_bernoulli_mgf(small / s, w)


def _beta_dphi(w, a, b):
    return a - (a + b) * jax.nn.sigmoid(w + jnp.log(a) - jnp.log(b))


def _beta_left_bound(y, a, b):
    # For w < 0, phi(w) <= a w + (a+b) log(1 + a/b).
    return (y + (a + b) * jnp.log1p(a / b)) / a


def _beta_right_bound(y, a, b):
    # For w > 0, phi(w) <= -b w + (a+b) log(1 + b/a).
    return (y + (a + b) * jnp.log1p(b / a)) / b


def log_betainc_pair(a: jax.Array, b: jax.Array, logit_x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""``(log I_x(a, b), log(1 - I_x(a, b)))``, the regularized incomplete beta
    function and its complement in log space, from :math:`\log(x / (1-x))`
    (so that ``x`` within an ulp of 0 or 1, or beyond, loses nothing): each
    accurate relative to its own value in both tails, and twice
    differentiable in ``a``, ``b`` and ``x`` (``jax.scipy.special.betainc``
    has no derivative in ``a`` and ``b``).

    In the logit variable :math:`v = \log(t/(1-t))` the integrand
    :math:`t^{a-1}(1-t)^{b-1}\,dt = \sigma(v)^a\sigma(-v)^b\,dv` is log-concave
    with its mode at :math:`\log(a/b)`; with :math:`w = v - \log(a/b)` and
    :math:`p = a/(a+b)`,

    .. math:: I_x(a, b) = \frac{p^a (1-p)^b}{B(a, b)} \int_{-\infty}^{w_0}
              e^{\phi(w)}\,dw, \qquad \phi(w) = a w - (a + b)\log(1 - p + p e^w),

    and the complement the same integral from :math:`w_0` up, both by
    :func:`_log_tail_integrals`."""
    a, b, logit_x = jnp.broadcast_arrays(jnp.asarray(a), jnp.asarray(b), jnp.asarray(logit_x))

    def compute(w0):
        lower, upper = _log_tail_integrals(
            _beta_phi, _beta_dphi, (a, b), w0, _beta_left_bound, _beta_right_bound
        )
        # log(p^a (1-p)^b) - log B(a, b), the logs by log1p (no rounding of a/(a+b)).
        norm = -a * jnp.log1p(b / a) - b * jnp.log1p(a / b) - betaln(a, b)
        return lower + norm, upper + norm

    return _finite_tails(logit_x - (jnp.log(a) - jnp.log(b)), compute)
