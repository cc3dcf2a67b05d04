"""Closed-form expected (Fisher) information of one observation,
``Family.expected_information``, against an independent computation, and the
finite supports of ``Family.support_values``.

* continuous families: adaptive quadrature (scipy's ``quad_vec``) of scipy's
  density times ``-hessian(logpdf)`` (autodiff), over the support split at the
  median (laplace: times the outer product of the score, ``E[s s^T]``, as its
  log-density is flat in ``loc`` almost everywhere);
* discrete families: exact sums of scipy's pmf times the same over the
  support (infinite ones truncated where the tail mass is below 1e-25).

The closed forms agree with these to ~1e-14 at the case points; the tolerance is 1e-9.

Cases (a true parameter point per family) come from tests/cases_*.py.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASES
from scipy import integrate

from jaxmle.families import Family, family_class, family_names, support as S


def _defines(name, *methods):
    """Whether the registered family ``name`` defines one of ``methods`` itself
    (not the ``Family`` default)."""
    cls = family_class(name)
    return any(getattr(cls, m) is not getattr(Family, m) for m in methods)


# Every family with a closed form written out (laplace's comes from its
# unit_information), read from the registry: a family that defines one gets
# these tests. None for pareto and uniform (MLE on the support boundary),
# negative_binomial (the r-r entry is an infinite series), and the families
# without a standard closed form (burr, gev, generalized_pareto, skew_normal,
# zero_inflated_poisson, the vector-parameter families).
CLOSED_FORM = {n for n in family_names() if _defines(n, "expected_information", "unit_information")}
FINITE_SUPPORT = {n for n in family_names() if _defines(n, "support_values")}


def _params(case, dtype=jnp.float64):
    return {k: jnp.asarray(v, dtype) for k, v in case.params.items()}


def _info(case):
    return case.family().expected_information(_params(case))


# Selected by abstract evaluation (eval_shape: no computation at collection).
_WITH_INFO = [
    c for c in CASES if jax.eval_shape(c.family().expected_information, _params(c)) is not None
]
_WITH_SUPPORT = [c for c in CASES if c.family().support_values() is not None]


def test_families_with_closed_forms():
    assert {c.name for c in _WITH_INFO} == CLOSED_FORM
    assert {c.name for c in _WITH_SUPPORT} == FINITE_SUPPORT


def _smooth(fam, params):
    """Whether ``logpdf`` is twice differentiable almost everywhere with
    ``E[-H] = I`` (not laplace's, flat in ``loc``: only its score is used)."""
    return fam.unit_information(params) is None


def _derivatives(fam, params):
    """``x -> -hessian`` (or, where not ``_smooth``, ``score score^T``) of
    ``logpdf`` in the parameters at the scalar ``x``, jitted."""
    names = fam.param_names
    theta = jnp.stack([params[n] for n in names])

    def logf(th, x):
        return fam.logpdf(dict(zip(names, th, strict=True)), x[None])[0]

    if _smooth(fam, params):
        return jax.jit(lambda x: -jax.hessian(logf)(theta, x))

    @jax.jit
    def outer_score(x):
        s = jax.grad(logf)(theta, x)
        return jnp.outer(s, s)

    return outer_score


def _expectation_continuous(case):
    """``E[-H]`` (or ``E[s s^T]``) by quadrature of scipy's density."""
    fam, params = case.family(), _params(case)
    derivs = _derivatives(fam, params)
    dist = fam.scipy(case.params)
    p = len(fam.param_names)

    def integrand(x):
        with np.errstate(over="ignore"):
            w = dist.pdf(x)
        if w == 0.0:  # far tails: the derivatives may overflow there
            return np.zeros((p, p))
        return w * np.asarray(derivs(jnp.asarray(x, jnp.float64)))

    if fam.support is S.circle:  # scipy's von Mises density is periodic
        lo, hi = case.params["loc"] - np.pi, case.params["loc"] + np.pi
    else:
        lo, hi = dist.support()
    mid = float(dist.median())
    total = 0.0
    for a, b in ((lo, mid), (mid, hi)):
        val, _ = integrate.quad_vec(integrand, a, b, epsabs=0.0, epsrel=1e-10, limit=500)
        total = total + val
    return total


def _expectation_discrete(case):
    """``E[-H]`` (or ``E[s s^T]``) by exact summation of the pmf over the support."""
    fam, params = case.family(), _params(case)
    values = fam.support_values()
    dist = fam.scipy(case.params)
    if values is None:  # infinite: stop where the tail mass is below 1e-25
        grid = np.arange(max(dist.support()[0], 0), 100_000)
        stop = grid[np.argmax(dist.logsf(grid) < np.log(1e-25))] + 10
        values = jnp.arange(grid[0], stop, dtype=jnp.float64)
    derivs = jax.vmap(_derivatives(fam, params))(values)
    pmf = dist.pmf(np.asarray(values))
    return np.tensordot(pmf, np.asarray(derivs), axes=(0, 0))


@pytest.mark.parametrize("case", _WITH_INFO, ids=[c.label for c in _WITH_INFO])
def test_expected_information_matches_expectation(case):
    fam = case.family()
    info = np.asarray(_info(case))
    p = len(fam.param_names)
    assert info.shape == (p, p)
    np.testing.assert_array_equal(info, info.T)
    assert np.all(np.linalg.eigvalsh(info) > 0)

    if fam.support.discrete:
        expect = _expectation_discrete(case)
    else:
        expect = _expectation_continuous(case)
    np.testing.assert_allclose(info, expect, rtol=1e-9, atol=1e-9 * np.max(np.abs(info)))


@pytest.mark.parametrize("case", _WITH_INFO, ids=[c.label for c in _WITH_INFO])
def test_expected_information_traces(case):
    """It traces under jit (no Python branching on parameter values) and under
    vmap over parameter points, and float32 parameters give float32 (checked
    abstractly, without compiling or running)."""
    fam = case.family()
    p = len(fam.param_names)
    params = _params(case)
    out = jax.eval_shape(jax.jit(fam.expected_information), params)
    assert (out.shape, out.dtype) == ((p, p), jnp.float64)
    batch = {k: jnp.stack([v, 2.0 * v]) for k, v in params.items()}
    assert jax.eval_shape(jax.vmap(fam.expected_information), batch).shape == (2, p, p)
    out32 = jax.eval_shape(fam.expected_information, _params(case, jnp.float32))
    assert out32.dtype == jnp.float32


@pytest.mark.parametrize("case", _WITH_SUPPORT, ids=[c.label for c in _WITH_SUPPORT])
def test_support_values_cover_the_support(case):
    fam = case.family()
    values = fam.support_values()
    assert values.ndim == 1 and jnp.issubdtype(values.dtype, jnp.floating)
    assert bool(jnp.all(fam.support.contains(values)))
    assert len(np.unique(np.asarray(values))) == values.shape[0]
    assert abs(np.sum(fam.scipy(case.params).pmf(np.asarray(values))) - 1.0) < 1e-12
