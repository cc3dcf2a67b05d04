"""Family-specific facts for circular.py: the von Mises fit across the +-pi cut,
and its cdf's convention and accuracy."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special, stats

import jaxmle as jm


def _p(**kw):
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in kw.items()}


def _np(v):
    return np.asarray(v, dtype=np.float64)


# von Mises --------------------------------------------------------------------


def test_von_mises_fit_across_the_pi_cut():
    x = np.random.default_rng(5).vonmises(3.0, 4.0, 1000)  # wraps around +-pi
    assert x.min() < -2.5 and x.max() > 2.5
    res = jm.fit("von_mises", x)
    assert bool(res.converged), res.message
    kappa, loc, _ = stats.vonmises.fit(x, fscale=1)
    assert np.cos(float(res.params["loc"]) - loc) == pytest.approx(1.0, abs=1e-12)
    assert float(res.params["concentration"]) == pytest.approx(kappa, rel=1e-7)
    ref = stats.vonmises(kappa, loc=loc).logpdf(x).sum()
    assert float(res.loglik) >= ref - 1e-10 * abs(ref)


@pytest.mark.parametrize("kappa", [0.3, 5.0, 200.0])
def test_von_mises_cdf_convention_and_accuracy(kappa):
    fam = jm.family("von_mises")
    p = _p(loc=0.7, concentration=kappa)
    assert float(fam.cdf(p, jnp.asarray([0.7]))[0]) == pytest.approx(0.5, abs=1e-14)
    # Lifted like scipy: cdf(x + 2 pi) = cdf(x) + 1.
    x = jnp.asarray([-1.0, 0.2, 1.5])
    np.testing.assert_allclose(
        _np(fam.cdf(p, x + 2 * np.pi)), _np(fam.cdf(p, x)) + 1.0, rtol=1e-13, atol=1e-14
    )

    # Against direct integration from the antipode of loc (scipy's own cdf uses
    # a normal approximation, good to ~1e-6 only, for kappa >= 50).
    def dens(t):
        return np.exp(kappa * special.cosm1(t)) / (2 * np.pi * special.i0e(kappa))

    for y in (-2.0, -0.4, -0.05, 0.1, 1.0):
        exact = integrate.quad(dens, -np.pi, min(y, 0.0), epsabs=0, epsrel=1e-13, limit=200)[0]
        if y > 0:
            exact = 0.5 + integrate.quad(dens, 0.0, y, epsabs=0, epsrel=1e-13, limit=200)[0]
        ours = float(fam.cdf(p, jnp.asarray([0.7 + y]))[0])
        assert ours == pytest.approx(exact, rel=1e-11, abs=1e-300)
