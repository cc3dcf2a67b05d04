r"""Special functions, constants and quadrature shared by the family modules.

Private to :mod:`jaxmle.families` (the module name has the underscore); the
names inside are public, so a family module imports what it needs from here and
never another family module's internals.

* constants: :math:`\tfrac12\log 2\pi`, :math:`\gamma_E`, :math:`\pi^2/6`, ...;
* small stable helpers: :func:`log1mexp`, :func:`nan_unless`, :func:`matrix`;
* Stirling's series: :func:`stirling_correction`, and from it :func:`betaln`
  and the half-step gamma ratio :func:`lgamma_half_step` with its derivatives
  :func:`digamma_half_step`, :func:`trigamma_half_step`;
* :func:`gauss_legendre`, a fixed 64-point rule for the cdfs without a closed form.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

__all__ = [
    "EULER_GAMMA",
    "HALF_LOG_2PI",
    "LOG_2",
    "LOG_2PI",
    "LOG_PI",
    "PI_SQ_OVER_6",
    "betaln",
    "digamma_half_step",
    "gauss_legendre",
    "lgamma_half_step",
    "log1mexp",
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
        + stirling_correction(hi_m)
        - stirling_correction(s)
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
