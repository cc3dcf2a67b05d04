"""Families on the circle: the von Mises distribution of angles.

Its cdf has no closed form: a fixed-order Gauss-Legendre rule integrates the
density from the antipode of ``loc``, in log space (so it traces under ``jit``
and vectorizes over the data).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import i0e, i1e

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import LOG_2PI, gauss_legendre
from jaxmle.families.base import Family, weighted_mean
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent

__all__ = ["VonMises"]


def _vonmises_log_left(y, kappa):
    r""":math:`\log\int_{-\pi}^{y} f(t)\,dt` for ``-pi <= y <= 0`` (``f`` the
    density with ``loc = 0``), in log space.

    On ``[-pi, 0]`` the density increases; it is below :math:`e^{-45}` times
    :math:`f(y)` left of the ``lo`` with
    :math:`2\kappa(\sin^2(lo/2) - \sin^2(y/2)) = 45`, so the rule runs over ``[lo, y]``.
    """
    nodes, weights = gauss_legendre(y)
    s2 = jnp.sin(0.5 * y) ** 2 + 22.5 / kappa
    # The lower end carries no gradient: it is -pi (fixed in the reduced angle)
    # or a cut beyond which the density is below e^-45 of f(y).
    lo = jax.lax.stop_gradient(-2.0 * jnp.arcsin(jnp.sqrt(jnp.minimum(s2, 1.0))))
    length = y - lo
    t = lo[..., None] + length[..., None] * nodes
    log_f = -2.0 * kappa[..., None] * jnp.sin(0.5 * t) ** 2
    log_w = jnp.log(length)[..., None] + jnp.log(weights)
    log_norm = LOG_2PI + log_i0e(kappa)
    return jax.scipy.special.logsumexp(log_f + log_w, axis=-1) - log_norm


# I0(k) ~ e^k / sqrt(2 pi k) sum_j a_j / k^j, a_j = ((2j-1)!!)^2 / (j! 8^j):
# from k = 1000 on, six terms are exact to double precision.
_I0_SERIES = (1.0 / 8, 9.0 / 128, 75.0 / 1024, 3675.0 / 32768, 59535.0 / 262144)
_ASYMPTOTIC_FROM = 1000.0
_ASYMPTOTIC_INFO_FROM = 1e4


def log_i0e(kappa: jax.Array) -> jax.Array:
    r""":math:`\log(I_0(\kappa) e^{-\kappa})`, with its derivatives accurate at
    every :math:`\kappa`: the asymptotic series from ``_ASYMPTOTIC_FROM`` on
    (autodiff of ``log(i0e)`` there differences nearly equal numbers and
    loses the curvature that a fit of a concentration of 1e8 needs)."""
    large = kappa > _ASYMPTOTIC_FROM
    big = jnp.where(large, kappa, _ASYMPTOTIC_FROM)
    small = jnp.where(large, _ASYMPTOTIC_FROM, kappa)
    inv = 1.0 / big
    series = 0.0
    for a in reversed(_I0_SERIES):
        series = (series + a) * inv
    asymptotic = -0.5 * (LOG_2PI + jnp.log(big)) + jnp.log1p(series)
    return jnp.where(large, asymptotic, jnp.log(i0e(small)))


@register
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
    :math:`\bar R`.
    """

    name = "von_mises"
    param_names = ("loc", "concentration")
    constraints = {"loc": C.real, "concentration": C.positive}
    support = S.circle

    density = "exp(concentration cos(x-loc)) / (2 pi I0(concentration)), -pi <= x <= pi"
    scipy_equivalent = ScipyEquivalent("vonmises", kappa="concentration", loc="loc")

    def logpdf(self, params, x):
        kappa = params["concentration"]
        s = jnp.sin(0.5 * (x - params["loc"]))
        return -2.0 * kappa * s * s - LOG_2PI - log_i0e(kappa)

    def _reduce(self, params, x):
        """``(y, turns)`` with ``x - loc = y + 2 pi turns``, ``y`` in ``[-pi, pi]``."""
        d = x - params["loc"]
        turns = jnp.round(d / (2.0 * jnp.pi))
        return d - 2.0 * jnp.pi * turns, turns

    def _log_tails(self, params, x):
        """``(y, turns, log P(Y <= -|y|))`` for the reduced angle ``y``."""
        y, turns = self._reduce(params, x)
        kappa = jnp.broadcast_to(params["concentration"], y.shape)
        # -|y| by where, not abs: the derivative at y = 0 keeps the lower side's sign.
        return y, turns, _vonmises_log_left(jnp.where(y <= 0, y, -y), kappa)

    def cdf(self, params, x):
        y, turns, log_tail = self._log_tails(params, x)
        tail = jnp.exp(log_tail)
        return jnp.where(y <= 0, tail, 1.0 - tail) + turns

    def log_cdf_sf(self, params, x):
        # The tail below 1/2 and log1p(-tail) for the other side; outside
        # [loc - pi, loc + pi] the lifted cdf (NaN logs, as in scipy).
        y, turns, log_tail = self._log_tails(params, x)
        tail = jnp.exp(log_tail)
        near = jnp.log1p(-tail)
        lifted = jnp.where(y <= 0, tail, 1.0 - tail) + turns
        log_cdf = jnp.where(turns == 0, jnp.where(y <= 0, log_tail, near), jnp.log(lifted))
        log_sf = jnp.where(turns == 0, jnp.where(y >= 0, log_tail, near), jnp.log1p(-lifted))
        return log_cdf, log_sf

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

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
        # For large k, A'(k) = 1/(2k^2) + 1/(4k^3) + O(k^-4) (the three terms
        # above cancel to it, losing every digit near k ~ 1e8).
        kappa = params["concentration"]
        a = i1e(kappa) / i0e(kappa)
        large = kappa > _ASYMPTOTIC_INFO_FROM
        big = jnp.where(large, kappa, _ASYMPTOTIC_INFO_FROM)
        a_prime = jnp.where(large, 0.5 / big**2 + 0.25 / big**3, 1.0 - a / kappa - a * a)
        return jnp.diag(jnp.stack([kappa * a, a_prime]))
