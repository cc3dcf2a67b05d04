r"""Damped Newton with exact autodiff Hessians and an L-BFGS fallback.

Each iteration computes the value, gradient and Hessian of the objective in one
pass over the data (``jax.jacfwd`` of ``jax.value_and_grad``), takes the Newton
direction :math:`d = -H^{-1} g` where :math:`H` is positive definite (a
Cholesky factorisation succeeds), and otherwise the L-BFGS direction built from
the past steps (steepest descent if that is not a descent direction either).
A backtracking line search halves the step until the Armijo condition

.. math:: f(z + \alpha d) \le f(z) + c\,\alpha\, g^\top d + \epsilon_f

holds, where :math:`\epsilon_f` is a few ulps of :math:`|f|`: near the optimum
float32 sums are noisy at that level, and demanding a strict decrease there
would stall a converged fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxmle.solvers.driver import SolverState

__all__ = ["Newton", "value_grad_hessian"]

_ARMIJO_C = 1e-4
_MAX_HALVINGS = 50


def value_grad_hessian(fun, z):
    """``(f(z), grad f(z), hess f(z))`` from one forward-over-reverse program."""

    def grad_with_value(z):
        v, g = jax.value_and_grad(fun)(z)
        return g, (v, g)

    hess, (value, grad) = jax.jacfwd(grad_with_value, has_aux=True)(z)
    return value, grad, 0.5 * (hess + hess.T)


class _NewtonExtra(NamedTuple):
    hess: jax.Array
    lbfgs_state: optax.OptState
    lbfgs_dir: jax.Array


def backtracking(fun, z, value, grad, direction):
    """Largest ``alpha = 2**-k`` meeting the (noise-tolerant) Armijo condition.

    Returns ``(alpha, found)``.
    """
    slope = grad @ direction
    eps_f = 8.0 * jnp.finfo(z.dtype).eps * (jnp.abs(value) + 1.0)

    def cond(c):
        alpha, v_new, k = c
        ok = jnp.isfinite(v_new) & (v_new <= value + _ARMIJO_C * alpha * slope + eps_f)
        return ~ok & (k < _MAX_HALVINGS)

    def body(c):
        alpha, _, k = c
        alpha = 0.5 * alpha
        return alpha, fun(z + alpha * direction), k + 1

    one = jnp.asarray(1.0, z.dtype)
    alpha, v_new, _ = jax.lax.while_loop(cond, body, (one, fun(z + direction), 0))
    found = jnp.isfinite(v_new) & (v_new <= value + _ARMIJO_C * alpha * slope + eps_f)
    return alpha, found


@dataclass(frozen=True)
class Newton:
    """Damped Newton / L-BFGS hybrid for the fitting driver."""

    memory_size: int = 10

    def _lbfgs(self):
        return optax.scale_by_lbfgs(memory_size=self.memory_size)

    def init(self, fun, z0, first):
        value, grad, hess = first
        tx = self._lbfgs()
        lstate = tx.init(z0)
        ldir, lstate = tx.update(grad, lstate, z0)
        return value, grad, _NewtonExtra(hess, lstate, ldir)

    def convergence_grad(self, grad, extra):
        """``g / sqrt(diag H)`` at the current point: the gradient in units of
        the local curvature, whatever point the coordinates were standardized at."""
        d = jnp.diag(extra.hess)
        return jnp.where(d > 0, grad / jnp.sqrt(jnp.abs(d)), grad)

    def step(self, fun, s: SolverState):
        z, g, ex = s.z, s.grad, s.extra
        chol = jnp.linalg.cholesky(ex.hess)
        d_newton = -jax.scipy.linalg.cho_solve((chol, True), g)
        newton_ok = jnp.all(jnp.isfinite(d_newton)) & (g @ d_newton < 0)
        # Fallback: the L-BFGS direction, or steepest descent (at most unit
        # length) where that is not a descent direction either.
        d_quasi = -ex.lbfgs_dir
        d_steep = -g / jnp.maximum(1.0, jnp.max(jnp.abs(g)))
        d_quasi = jnp.where(g @ d_quasi < 0, d_quasi, d_steep)

        first = jnp.where(newton_ok, d_newton, d_quasi)
        # A Newton step that no step length can rescue (a nearly singular
        # Hessian far from the optimum) is retried along the fallback
        # direction: a loop of at most two line searches, so that the
        # objective appears once in the compiled program.
        n_tries = jnp.where(newton_ok, 2, 1)

        def untried(c):
            tries, _, _, found = c
            return ~found & (tries < n_tries)

        def search(c):
            tries = c[0]
            direction = jnp.where(tries == 0, first, d_quasi)
            alpha, found = backtracking(fun, z, s.value, g, direction)
            return tries + 1, direction, alpha, found

        init = (jnp.asarray(0), first, jnp.asarray(0.0, z.dtype), jnp.asarray(False))
        _, direction, alpha, found = jax.lax.while_loop(untried, search, init)
        z_new = jnp.where(found, z + alpha * direction, z)
        value, grad, hess = value_grad_hessian(fun, z_new)
        ldir, lstate = self._lbfgs().update(grad, ex.lbfgs_state, z_new)
        return z_new, value, grad, _NewtonExtra(hess, lstate, ldir), ~found
