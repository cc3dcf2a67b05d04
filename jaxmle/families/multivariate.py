"""Multivariate families: multivariate normal, Dirichlet.

These families have ``event_ndim = 1``: the data are ``(N, d)`` (one
observation per row) and ``logpdf`` returns one value per row, shape ``(N,)``.
The dimension ``d`` is known only from the data, so ``init`` and
``closed_form`` build parameters of the data's dimension, and ``logpdf``
rejects parameters of another dimension with a ``ValueError`` (shapes are
static under ``jit``, so this check costs nothing at run time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln, xlogy

from jaxmle.families import constraints as C, support as S
from jaxmle.families._special import HALF_LOG_2PI
from jaxmle.families.base import Family, Params, weighted_mean
from jaxmle.families.registry import register
from jaxmle.families.scipy_bridge import ScipyEquivalent
from jaxmle.families.units import Equivariance

__all__ = ["Dirichlet", "MultivariateNormal", "ScipyDirichletRows", "positive_vector"]

_HIGHEST = jax.lax.Precision.HIGHEST  # no reduced-precision (TF32/bf16) matmuls
_BLOCK = 1024  # rows per block of the sums over rows (cf. reduction.accurate_sum)

positive_vector = C.Constraint(
    name="positive_vector",
    description="a vector of positive finite reals",
    forward=jnp.exp,
    inverse=jnp.log,
    contains=lambda v: bool(np.ndim(v) == 1 and np.all(np.isfinite(v)) and np.all(v > 0)),
    event_ndim=1,
)


def _check_dim(family: str, name: str, value: jax.Array, x: jax.Array) -> None:
    """Raise if a parameter's (static) last axis does not match the data's dimension."""
    if value.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{family} parameter {name!r} has shape {tuple(value.shape)} but the data have "
            f"dimension d={x.shape[-1]} (x of shape {tuple(x.shape)})"
        )


def _scatter(c: jax.Array, w: jax.Array | None) -> jax.Array:
    """``sum_i w_i c_i c_i^T`` over the rows of ``c`` (``(N, d)`` -> ``(d, d)``).

    Summed by blocks of rows, then over the blocks, like ``accurate_sum``, with
    full-precision matmuls, so that float32 keeps its digits for large ``N``
    without building an ``(N, d, d)`` array.
    """
    cw = c if w is None else jnp.where(w[:, None] > 0, w[:, None] * c, 0.0)
    n, d = c.shape
    n_blocks = -(-n // _BLOCK)
    pad = [(0, n_blocks * _BLOCK - n), (0, 0)]
    cb = jnp.pad(c, pad).reshape(n_blocks, -1, d)
    cwb = jnp.pad(cw, pad).reshape(n_blocks, -1, d)
    return jnp.sum(jnp.einsum("bni,bnj->bij", cwb, cb, precision=_HIGHEST), axis=0)


def _blocked_rows_matmul(c: jax.Array, m: jax.Array) -> jax.Array:
    """``c @ m`` for ``c`` of shape ``(N, d)``, computed by blocks of rows.

    The result is the plain product; the blocks are for its gradient. With one
    ``(N, d) @ (d, k)`` product, the gradient with respect to ``m`` is a single
    matrix product contracting the ``N`` rows, whose float32 rounding error grows
    with ``N`` (on CPU, N = 2e5: errors of 5e-5 in the gradient of the mean
    log-likelihood with respect to ``cov``, and a float32 Newton fit 4e-5 off the
    closed form; 1e-7 and 2e-7 with blocks). Broadcasting ``m`` over blocks of
    1024 rows makes that gradient a product within each block, then a sum over
    the blocks (the two-level sum of ``reduction.accurate_sum``).
    """
    (n, d), k = c.shape, m.shape[-1]
    n_blocks = -(-n // _BLOCK)
    cb = jnp.pad(c, [(0, n_blocks * _BLOCK - n), (0, 0)]).reshape(n_blocks, -1, d)
    mb = jnp.broadcast_to(m, (n_blocks, d, k))
    out = jnp.einsum("bnd,bdk->bnk", cb, mb, precision=_HIGHEST)
    return out.reshape(-1, k)[:n]


def _mvn_mle(x: jax.Array, w: jax.Array | None) -> Params:
    # Two passes about a data row (x - x0 is exact for data near x0), so float32
    # keeps the covariance when |mean| >> sd: the mean of x - x0 is small, and
    # its rounding no longer enters the centred values.
    x0 = x[0]
    d = x - x0[None, :]
    shift = weighted_mean(d, w)
    n = x.shape[0] if w is None else jnp.sum(w)
    cov = _scatter(d - shift[None, :], w) / n
    return {"mean": x0 + shift, "cov": 0.5 * (cov + cov.T)}


@register
class MultivariateNormal(Family):
    r"""Multivariate normal distribution in :math:`\mathbb{R}^d`.

    .. math:: \log f(x) = -\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)
              - \tfrac12 \log\det\Sigma - \tfrac d2 \log 2\pi

    Parameters: ``mean`` (:math:`\mu`, a real vector of length ``d``) and
    ``cov`` (:math:`\Sigma`, a symmetric positive-definite ``d x d`` matrix).
    The fitter works on the ``d(d+1)/2`` entries of the Cholesky factor
    :math:`L` of :math:`\Sigma = L L^\top` (diagonal through ``exp``).
    ``logpdf`` works with :math:`L` (``jnp.linalg.cholesky`` of the
    symmetrized ``cov``): :math:`L^{-1}` by a triangular solve, the whitened
    rows :math:`z_i = L^{-1}(x_i - \mu)` by blocks of rows (accurate float32
    gradients for large ``N``), :math:`\log\det\Sigma = 2\sum_k \log L_{kk}`.

    MLE (closed form): ``mean = mean(x)`` and the biased sample covariance
    ``cov = mean((x - mean)(x - mean)^T)`` (weighted with frequency weights).
    It exists when the (weighted) rows span :math:`\mathbb{R}^d` (at least
    ``d + 1`` points in general position). ``init`` is the closed form, with
    ``1e-6 * trace(cov) / d`` added to the diagonal where it is singular.
    There is no ``cdf``.
    """

    name = "multivariate_normal"
    param_names = ("mean", "cov")
    constraints = {"mean": C.real_vector, "cov": C.positive_definite}
    support = S.real_vectors
    event_ndim = 1
    density = "exp(-(x-mean)' cov^-1 (x-mean) / 2) / sqrt((2 pi)^d det(cov)), x in R^d"
    scipy_equivalent = ScipyEquivalent("multivariate_normal", mean="mean", cov="cov")
    # per column: mean_k -> a_k + b_k mean_k, cov_jk -> b_j b_k cov_jk
    equivariance = Equivariance(location=("mean",), scale={"cov": 2})

    def logpdf(self, params, x):
        mean, cov = params["mean"], params["cov"]
        d = x.shape[-1]
        _check_dim(self.name, "mean", mean, x)
        _check_dim(self.name, "cov", cov, x)
        chol = jnp.linalg.cholesky(0.5 * (cov + cov.T))
        chol_inv = solve_triangular(chol, jnp.eye(d, dtype=chol.dtype), lower=True)
        z = _blocked_rows_matmul(x - mean[None, :], chol_inv.T)  # rows z_i = L^-1 (x_i - mean)
        half_logdet = jnp.sum(jnp.log(jnp.diag(chol)))
        return -0.5 * jnp.sum(z * z, axis=1) - half_logdet - d * HALF_LOG_2PI

    def cdf(self, params, x):
        raise NotImplementedError(
            "multivariate_normal has no cdf: multivariate cdfs are out of scope"
        )

    def sample(self, params, key, shape=()):
        mean, cov = params["mean"], params["cov"]
        d = mean.shape[-1]
        chol = jnp.linalg.cholesky(0.5 * (cov + cov.T))
        eps = jax.random.normal(key, (*shape, d), dtype=mean.dtype)
        return mean.reshape((1,) * len(shape) + (d,)) + jnp.matmul(eps, chol.T, precision=_HIGHEST)

    def init(self, x, w):
        mle = _mvn_mle(x, w)
        cov = mle["cov"]
        d = cov.shape[0]
        trace = jnp.trace(cov)
        diag_chol = jnp.diag(jnp.linalg.cholesky(cov))  # NaN where not positive definite
        eps = jnp.finfo(cov.dtype).eps
        singular = ~jnp.all(jnp.isfinite(diag_chol) & (diag_chol**2 > eps * trace / d))
        ridge = jnp.where(trace > 0, 1e-6 * trace / d, 1.0)  # 1.0: all rows equal
        cov = jnp.where(singular, cov + ridge * jnp.eye(d, dtype=cov.dtype), cov)
        return {"mean": mle["mean"], "cov": cov}

    def closed_form(self, x, w):
        return _mvn_mle(x, w)

    def loglik_at_mle(self, estimate, n):
        # At the MLE the quadratic forms sum to n d: -n/2 (d log 2 pi + log det cov + d),
        # exact where the mean's rounding (float32 far from 0) would shift a pass's value.
        cov = estimate["cov"]
        d = cov.shape[-1]
        half_logdet = jnp.sum(jnp.log(jnp.diag(jnp.linalg.cholesky(0.5 * (cov + cov.T)))))
        return -n * (d * HALF_LOG_2PI + half_logdet + 0.5 * d)

    def check_params(self, params: Mapping[str, Any]) -> None:
        if "mean" in params and "cov" in params:
            d = np.shape(params["mean"])[0]
            if np.shape(params["cov"]) != (d, d):
                raise ValueError(
                    f"multivariate_normal: cov must be ({d}, {d}) to match mean of length {d}, "
                    f"got shape {np.shape(params['cov'])}"
                )


class ScipyDirichletRows:
    """``scipy.stats.dirichlet(alpha)`` taking data as rows, like jaxmle.

    scipy's frozen Dirichlet wants ``x`` of shape ``(d, N)`` (one observation
    per *column*); this thin wrapper takes ``(N, d)`` (or one ``(d,)`` point)
    in ``logpdf``/``pdf`` and forwards everything else (``mean``, ``cov``,
    ``var``, ``entropy``, ``rvs``, ``alpha``...) to the frozen distribution,
    available as ``.frozen``.
    """

    def __init__(self, alpha):
        from scipy import stats

        self.alpha = np.asarray(alpha, dtype=np.float64)
        self.frozen = stats.dirichlet(self.alpha)

    def logpdf(self, x):
        x = np.asarray(x)
        return self.frozen.logpdf(x.T if x.ndim == 2 else x)

    def pdf(self, x):
        x = np.asarray(x)
        return self.frozen.pdf(x.T if x.ndim == 2 else x)

    def __getattr__(self, name):
        if name == "frozen":  # not set yet (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.frozen, name)

    def __repr__(self) -> str:
        return f"ScipyDirichletRows(alpha={np.array2string(self.alpha, precision=6)})"


@register
class Dirichlet(Family):
    r"""Dirichlet distribution on the simplex :math:`\{x_k > 0, \sum_k x_k = 1\}`.

    .. math:: \log f(x) = \log\Gamma\Big(\sum_k \alpha_k\Big)
              - \sum_k \log\Gamma(\alpha_k) + \sum_k (\alpha_k - 1)\log x_k

    Parameter: ``concentration`` (:math:`\alpha`, a vector of ``d >= 2``
    positive reals, fitted as :math:`\log\alpha`). Data: rows on the simplex.

    No closed form; ``init`` matches moments: with :math:`m_k` the mean and
    :math:`v_k` the variance of column :math:`k`, a Dirichlet has
    :math:`\sum_k v_k = \sum_k m_k(1-m_k) / (s+1)`, :math:`s = \sum_k\alpha_k`,
    so :math:`\hat s = \sum_k m_k(1-m_k) / \sum_k v_k - 1` and
    :math:`\hat\alpha = \hat s\, m` (pooling the columns, which is steadier
    than one column's formula).
    scipy's ``dirichlet`` takes ``x`` transposed, ``(d, N)``; :meth:`scipy`
    therefore returns a :class:`ScipyDirichletRows` wrapper whose
    ``logpdf``/``pdf`` take rows.
    """

    name = "dirichlet"
    param_names = ("concentration",)
    constraints = {"concentration": positive_vector}
    support = S.simplex_rows
    event_ndim = 1
    density = "Gamma(sum_k a_k) / prod_k Gamma(a_k) * prod_k x_k^(a_k - 1), x on the simplex"
    scipy_equivalent = ScipyEquivalent.hand_written(
        "dirichlet(alpha=concentration), x transposed (via a rows wrapper)"
    )

    def logpdf(self, params, x):
        a = params["concentration"]
        _check_dim(self.name, "concentration", a, x)
        if x.shape[-1] < 2:
            raise ValueError(
                f"dirichlet needs rows of dimension d >= 2, got x of shape {tuple(x.shape)}"
            )
        log_norm = gammaln(jnp.sum(a)) - jnp.sum(gammaln(a))
        return log_norm + jnp.sum(xlogy(a[None, :] - 1.0, x), axis=-1)

    def cdf(self, params, x):
        raise NotImplementedError("dirichlet has no cdf: multivariate cdfs are out of scope")

    def sample(self, params, key, shape=()):
        a = params["concentration"]
        return jax.random.dirichlet(key, a, shape, dtype=a.dtype)

    def init(self, x, w):
        m = weighted_mean(x, w)
        v = weighted_mean(jnp.square(x - m[None, :]), w)
        total_v = jnp.sum(v)
        s = jnp.sum(m * (1.0 - m)) / jnp.where(total_v > 0, total_v, 1.0) - 1.0
        # s <= 0 only by sampling noise at tiny precisions; equal rows give s = inf.
        s = jnp.where(total_v > 0, jnp.clip(s, 1e-3, 1e8), 1.0)
        return {"concentration": s * m}

    def scipy(self, params):
        return ScipyDirichletRows(params["concentration"])
