r"""Small symmetric matrices in plain XLA operations, without LAPACK.

A fit's linear algebra is on :math:`p \times p` matrices with :math:`p` the
number of parameters (2-10): a Newton direction, the inverse of the
information. On the CPU ``jnp.linalg`` calls LAPACK, whose custom calls make
programs larger, slower to compile, and need LAPACK initialized (with scipy
imported) before a stored program can run. Up to ``SMALL`` rows these
functions use the cyclic Jacobi eigenvalue method instead (Golub & Van Loan,
*Matrix Computations*, 4th ed., section 8.5): each rotation annihilates one
off-diagonal entry,

.. math:: J^T A J,\quad J = \begin{pmatrix} c & s \\ -s & c \end{pmatrix}
   \text{ in rows and columns } (i, j),\quad
   t = \frac{\operatorname{sign}\theta}{|\theta| + \sqrt{\theta^2 + 1}},\
   \theta = \frac{a_{jj} - a_{ii}}{2 a_{ij}},\ c = (1 + t^2)^{-1/2},\ s = t c,

and the sweeps converge quadratically; ``SWEEPS`` sweeps reach rounding
level for these sizes. The matrix is equilibrated by :math:`\sqrt{|a_{ii}|}`
first, so parameters of very different magnitudes do not matter. Larger
matrices go to ``jnp.linalg``.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["SMALL", "SWEEPS", "sym_eigh", "sym_inv", "sym_solve"]

SMALL = 12
SWEEPS = 12


def _equilibration(a: jax.Array) -> jax.Array:
    d = jnp.abs(jnp.diagonal(a))
    return jnp.where(jnp.isfinite(d) & (d > 0), jnp.sqrt(d), 1.0)


def _jacobi(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues and eigenvectors (columns) of symmetric ``a``."""
    p = a.shape[-1]
    pairs = np.array(list(itertools.combinations(range(p), 2)), dtype=np.int32)
    eye = jnp.eye(p, dtype=a.dtype)
    rows = jnp.arange(p)

    def rotate(carry, pair):
        m, v = carry
        i, j = pair[0], pair[1]
        aii, ajj, aij = m[i, i], m[j, j], m[i, j]
        zero = aij == 0
        theta = (ajj - aii) / (2.0 * jnp.where(zero, 1.0, aij))
        t = jnp.where(theta >= 0, 1.0, -1.0) / (jnp.abs(theta) + jnp.hypot(theta, 1.0))
        t = jnp.where(zero, 0.0, t)
        c = 1.0 / jnp.sqrt(1.0 + t * t)
        s = t * c
        ei = (rows == i).astype(a.dtype)
        ej = (rows == j).astype(a.dtype)
        rot = (
            eye
            + (c - 1.0) * (jnp.outer(ei, ei) + jnp.outer(ej, ej))
            + s * (jnp.outer(ei, ej) - jnp.outer(ej, ei))
        )
        m = rot.T @ m @ rot
        m = 0.5 * (m + m.T)
        return (m, v @ rot), None

    def sweep(_, carry):
        return jax.lax.scan(rotate, carry, pairs)[0]

    m, v = jax.lax.fori_loop(0, SWEEPS, sweep, (0.5 * (a + a.T), eye))
    return jnp.diagonal(m), v


def _eigh2(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""The 2 x 2 case in closed form: with :math:`m = (a_{11} + a_{22})/2`,
    :math:`r = \operatorname{hypot}((a_{11} - a_{22})/2, a_{12})`, the larger
    eigenvalue in magnitude is :math:`m \pm r`, the other
    :math:`\det a / \lambda_1` (no cancellation), and the eigenvectors are the
    rotation by :math:`\theta = \tfrac12 \operatorname{atan2}(2 a_{12}, a_{11} - a_{22})`."""
    p, q, r = a[0, 0], 0.5 * (a[0, 1] + a[1, 0]), a[1, 1]
    # Scaled to the largest entry, so that q * q and p * r cannot overflow.
    big_entry = jnp.maximum(jnp.maximum(jnp.abs(p), jnp.abs(q)), jnp.abs(r))
    s = jnp.where(jnp.isfinite(big_entry) & (big_entry > 0), big_entry, 1.0)
    p, q, r = p / s, q / s, r / s
    mean = 0.5 * (p + r)
    rad = jnp.hypot(0.5 * (p - r), q)
    big = jnp.where(mean >= 0, mean + rad, mean - rad)
    det = p * r - q * q
    small = jnp.where(big != 0, det / jnp.where(big != 0, big, 1.0), 0.0)
    upper, lower = jnp.where(mean >= 0, big, small), jnp.where(mean >= 0, small, big)
    theta = 0.5 * jnp.arctan2(2.0 * q, p - r)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    vec = jnp.stack([jnp.stack([cos, -sin]), jnp.stack([sin, cos])])
    return s * jnp.stack([upper, lower]), vec


def sym_eigh(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(eigenvalues, eigenvectors)`` of symmetric ``a`` (eigenvectors are
    the columns; no order). Closed form for 2 x 2, Jacobi up to ``SMALL``
    rows, else ``jnp.linalg.eigh``."""
    p = a.shape[-1]
    if p == 0:
        return a[..., 0], a
    if p == 1:
        return a[..., 0, :], jnp.ones_like(a)
    if p == 2:
        return _eigh2(a)
    if p > SMALL:
        return jnp.linalg.eigh(a)
    return _jacobi(a)


def sym_inv(a: jax.Array) -> jax.Array:
    """The inverse of symmetric ``a``, equilibrated: with ``D = sqrt|diag a|``,
    ``a^{-1} = D^{-1} (D^{-1} a D^{-1})^{-1} D^{-1}``. Singular: entries are
    ``inf``/``NaN``, as from an LU inverse."""
    p = a.shape[-1]
    if p == 0:
        return a
    if p > SMALL:
        return jnp.linalg.inv(a)
    d = _equilibration(a)
    lam, vec = sym_eigh(a / jnp.outer(d, d))
    inv = (vec / lam[None, :]) @ vec.T
    return 0.5 * (inv + inv.T) / jnp.outer(d, d)


def sym_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a^{-1} b`` for symmetric ``a`` (``b`` a vector or a matrix)."""
    if a.shape[-1] > SMALL:
        return jnp.linalg.solve(a, b)
    return sym_inv(a) @ b
