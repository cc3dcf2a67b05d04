"""jaxmle.linalg (Jacobi, no LAPACK) against numpy's LAPACK results."""

import jax
import numpy as np
import pytest

from jaxmle.linalg import SMALL, sym_eigh, sym_inv, sym_solve

RNG = np.random.default_rng(7)


def _symmetric(p, cond, signs=False):
    q, _ = np.linalg.qr(RNG.normal(size=(p, p)))
    lam = np.geomspace(1.0, cond, p)
    if signs:
        lam = lam * RNG.choice([-1.0, 1.0], p)
    return (q * lam) @ q.T


@pytest.mark.parametrize("p", [1, 2, 3, 5, 9, SMALL])
@pytest.mark.parametrize("signs", [False, True])
def test_eigenvalues_and_inverse_match_lapack(p, signs):
    for cond in (1.0, 1e3, 1e8):
        a = _symmetric(p, cond, signs)
        lam, vec = jax.jit(sym_eigh)(a)
        ref = np.linalg.eigvalsh(a)
        np.testing.assert_allclose(np.sort(lam), ref, rtol=0, atol=1e-13 * np.abs(ref).max())
        np.testing.assert_allclose(vec.T @ vec, np.eye(p), atol=1e-13)
        np.testing.assert_allclose(vec @ np.diag(lam) @ vec.T, a, atol=1e-12 * np.abs(a).max())
        inv = np.linalg.inv(a)
        np.testing.assert_allclose(jax.jit(sym_inv)(a), inv, atol=cond * 1e-14 * np.abs(inv).max())
        b = RNG.normal(size=p)
        np.testing.assert_allclose(
            sym_solve(a, b), inv @ b, atol=cond * 1e-13 * np.abs(inv @ b).max()
        )


def test_inverse_is_equilibrated_and_handles_nan_and_empty():
    # Parameters 20 orders of magnitude apart: exact to rounding after equilibration.
    a = np.array([[1e40, 1e19], [1e19, 3.0]])
    np.testing.assert_allclose(sym_inv(a), np.linalg.inv(a), rtol=1e-12)
    assert np.isnan(np.asarray(sym_inv(np.array([[np.nan, 1.0], [1.0, 2.0]])))).all()
    assert sym_inv(np.zeros((0, 0))).shape == (0, 0)
    # Larger than SMALL: LAPACK's result.
    big = _symmetric(SMALL + 2, 10.0)
    np.testing.assert_allclose(sym_inv(big), np.linalg.inv(big), rtol=1e-10, atol=1e-12)


def test_under_vmap():
    mats = np.stack([_symmetric(4, 100.0) for _ in range(6)])
    np.testing.assert_allclose(jax.vmap(sym_inv)(mats), np.linalg.inv(mats), rtol=1e-10, atol=1e-12)


def test_two_by_two_does_not_overflow():
    # Tiny diagonal next to a unit off-diagonal: equilibration makes the
    # off-diagonal 1e200, whose square overflows unless the 2x2 is rescaled.
    a = np.array([[1e-200, 1.0], [1.0, 1e-200]])
    np.testing.assert_allclose(sym_inv(a), np.linalg.inv(a), atol=1e-15)
    lam, _ = sym_eigh(np.array([[1e300, 1e300], [1e300, -1e300]]))
    np.testing.assert_allclose(np.sort(lam), [-np.sqrt(2) * 1e300, np.sqrt(2) * 1e300], rtol=1e-15)
