r"""A fitted cdf at many sorted points, from its density integrated across the gaps.

The EDF statistics (:mod:`jaxmle.inference.gof`) need :math:`\log F` and
:math:`\log S = \log(1 - F)` at every observation. Where the family's cdf is an
iterative special function (the incomplete gamma and beta integrals of the
gamma, chi-square, Nakagami, inverse-gamma, Student t and beta families, Owen's
T of the skew normal) that costs seconds per :math:`10^6` values on a CPU,
while the density costs milliseconds. At sorted points
:math:`x_{(1)} \le \dots \le x_{(n)}` the cdf follows from a few exact values
and the density:

.. math::

    F(x_{(i)}) = F(a_k) + \sum_{a_k \le x_{(m)} < x_{(i)}} I_m, \qquad
    S(x_{(i)}) = S(a_{k+1}) + \sum_{x_{(i)} \le x_{(m)} < a_{k+1}} I_m, \qquad
    I_m = \int_{x_{(m)}}^{x_{(m+1)}} f(t)\,dt,

with anchors :math:`a_k = x_{(s + kM)}` every ``BLOCK`` points, where ``F`` and
``S`` are computed exactly (the family's ``log_cdf_sf``), and each gap's integral
by three-point Gauss-Legendre quadrature (exact for polynomials of degree 5; the
gaps between :math:`10^6` sorted values are a small fraction of the density's
scale). Every term is positive, so neither sum cancels: ``F`` keeps its relative
accuracy in the lower tail and ``S`` in the upper one, as the exact functions do;
:math:`\log F` is taken as :math:`\log(1 - S)` where ``S`` is the smaller (and the
other way round).

The ``EDGE`` smallest and largest points, where the gaps are widest and a density
may be singular (a gamma shape below 1 at 0), are evaluated exactly. The result is
checked, not trusted: the integrals of each block must carry the exact value at its
anchor into the exact value at the next,

.. math:: \big|\log(F(a_k) + T_k) - \log F(a_{k+1})\big| \le \tau, \qquad
          \big|\log(S(a_{k+1}) + T_k) - \log S(a_k)\big| \le \tau,

:math:`T_k` the block's sum of integrals and :math:`\tau = 2^{12}\epsilon`
(:math:`9 \cdot 10^{-13}` in float64). Where any block of any dataset fails (a
density that underflows, a mode between two far-apart points), the caller
evaluates every point exactly instead, so the result is either the
quadrature's, checked, or the exact one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families.base import Family

__all__ = ["BLOCK", "EDGE", "MIN_ROWS", "batch_log_cdf_sf", "uses_quadrature"]

#: Points between two anchors (exact evaluations) of the cdf.
BLOCK = 512
#: The smallest and largest points evaluated exactly.
EDGE = 512
#: Below this many points per dataset the cdf is evaluated exactly everywhere.
MIN_ROWS = 1 << 15

# The three-point Gauss-Legendre rule on [-1, 1].
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(3)


def uses_quadrature(family: Family, rows: int) -> bool:
    """Whether the cdf of ``family`` at ``rows`` sorted points per dataset is
    computed by quadrature (a costly cdf, and enough points for it to pay)."""
    return bool(family.costly_cdf) and rows >= MIN_ROWS


def _layout(n: int) -> tuple[int, int, int]:
    """``(start, stop, blocks)``: the quadrature covers points ``start..stop-1``
    in ``blocks`` blocks of ``BLOCK`` (the last one padded)."""
    start, stop = EDGE, n - EDGE
    return start, stop, -(-(stop - start) // BLOCK)


def _gap_integrals(family: Family, params: Mapping[str, Any], a: jax.Array, b: jax.Array):
    r""":math:`\int_a^b f`, elementwise, by three-point Gauss-Legendre."""
    half = 0.5 * (b - a)
    mid = a + half
    total = 0.0
    for t, w in zip(_NODES.tolist(), _WEIGHTS.tolist(), strict=True):
        total = total + w * jnp.exp(family.logpdf(params, mid + t * half))
    return half * total


def _agrees(a: jax.Array, b: jax.Array, tol: float) -> jax.Array:
    """Whether every ``a`` is within ``tol`` of ``b`` (equal infinities agree)."""
    return jnp.all((a == b) | (jnp.abs(a - b) <= tol))


def _quadrature(family: Family, params: Mapping[str, Any], xs: jax.Array):
    """``(log F, log S, ok)`` at the sorted ``xs`` of one dataset (module
    docstring): the exact values at the edges and anchors, the quadrature's
    between them, and whether every block passed its check."""
    n = xs.shape[0]
    start, stop, blocks = _layout(n)
    dtype = xs.dtype
    tol = 4096.0 * float(jnp.finfo(dtype).eps)
    # Points of the quadrature, padded with the last one (zero gaps).
    idx = jnp.minimum(start + jnp.arange(blocks * BLOCK), stop - 1)
    pts = xs[idx]
    nxt = xs[jnp.minimum(idx + 1, stop - 1)]
    gaps = _gap_integrals(family, params, pts, nxt).reshape(blocks, BLOCK)
    anchors = xs[jnp.minimum(start + BLOCK * jnp.arange(blocks + 1), stop - 1)]
    exact_f, exact_s = family.log_cdf_sf(params, jnp.concatenate([xs[:start], xs[stop:], anchors]))
    edge_f, edge_s = exact_f[: 2 * EDGE], exact_s[: 2 * EDGE]
    anchor_f, anchor_s = exact_f[2 * EDGE :], exact_s[2 * EDGE :]
    # F from the block's left anchor, S from its right one: S(a_{k+1}) plus the
    # block's total less what lies before the point (relative error a few
    # rounding units: the total is at most about S(a_{k+1}) at the last block).
    before = jnp.cumsum(jnp.pad(gaps[:, :-1], ((0, 0), (1, 0))), axis=1)
    total = before[:, -1] + gaps[:, -1]
    f = jnp.exp(anchor_f[:-1, None]) + before
    s = jnp.exp(anchor_s[1:, None]) + (total[:, None] - before)
    log_total = jnp.log(total)
    ok = _agrees(jnp.logaddexp(anchor_f[:-1], log_total), anchor_f[1:], tol) & _agrees(
        jnp.logaddexp(anchor_s[1:], log_total), anchor_s[:-1], tol
    )
    # Each log from the smaller of F and S: log F = log(1 - S) where S < F.
    upper = s < f
    small = jnp.where(upper, s, f)
    log_small, log_large = jnp.log(small), jnp.log1p(-small)
    log_f = jnp.where(upper, log_large, log_small)
    log_s = jnp.where(upper, log_small, log_large)
    inner = stop - start
    log_f = jnp.concatenate([edge_f[:EDGE], log_f.reshape(-1)[:inner], edge_f[EDGE:]])
    log_s = jnp.concatenate([edge_s[:EDGE], log_s.reshape(-1)[:inner], edge_s[EDGE:]])
    return log_f, log_s, ok


def batch_log_cdf_sf(
    family: Family, params: Mapping[str, Any], xs: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(log F, log S, ok)`` of ``family`` at ``params`` (leading axis:
    datasets) at the sorted rows of ``xs`` ``(B, n)``: by the checked
    quadrature of the module docstring where :func:`uses_quadrature`, else
    exactly; ``ok`` is false where any block of any dataset failed its check,
    and the caller then evaluates every point exactly (a program of its own,
    compiled only when needed: the special function compiles once per
    program)."""
    if not uses_quadrature(family, xs.shape[1]):
        log_f, log_s = jax.vmap(family.log_cdf_sf)(params, xs)
        return log_f, log_s, jnp.asarray(True)
    log_f, log_s, ok = jax.vmap(lambda p, x: _quadrature(family, p, x))(params, xs)
    return log_f, log_s, jnp.all(ok)
