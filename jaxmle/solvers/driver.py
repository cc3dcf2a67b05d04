"""One driver for every iterative solver.

A solver supplies ``init(fun, z0, first) -> (value, grad, extra)`` (``first``:
the value, gradient and Hessian at ``z0``, already computed by the caller) and
``step(fun, state) -> (z, value, grad, extra, no_progress)``; the driver runs
the steps inside one bounded ``lax.while_loop`` and decides termination the
same way for all of them:

* **converged** when the gradient is small, ``max|g| <= gtol`` (as rescaled by
  the solver's ``convergence_grad``), *and* the last
  step was small, ``max|dz| <= xtol``;
* **max_iter** when the iteration budget is spent;
* **no_progress** when a step could not decrease the objective (a failed
  line search) while the gradient is not small;
* **nonfinite** when the objective or gradient stopped being finite (the last
  finite point is kept).

``fun`` is minimised; the fitting code gives it the negative mean
log-likelihood in standardized unconstrained coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from jaxmle.status import Status

__all__ = ["Solver", "SolverState", "iterative_solve"]


class SolverState(NamedTuple):
    z: jax.Array
    value: jax.Array
    grad: jax.Array
    n_iter: jax.Array
    step_norm: jax.Array
    status: jax.Array
    extra: Any


class Solver(Protocol):
    def init(
        self, fun: Callable, z0: jax.Array, first: tuple[jax.Array, jax.Array, jax.Array]
    ) -> tuple[jax.Array, jax.Array, Any]: ...

    def step(
        self, fun: Callable, state: SolverState
    ) -> tuple[jax.Array, jax.Array, jax.Array, Any, jax.Array]: ...

    def convergence_grad(self, grad: jax.Array, extra: Any) -> jax.Array:
        """The gradient as the convergence test sees it (solvers that know the
        local curvature rescale it; others return it unchanged)."""
        ...


def iterative_solve(
    solver: Solver,
    fun: Callable[[jax.Array], jax.Array],
    z0: jax.Array,
    first: tuple[jax.Array, jax.Array, jax.Array],
    *,
    max_iter: int,
    gtol: float,
    xtol: float,
) -> SolverState:
    """Minimise ``fun`` from ``z0`` with ``solver`` in one bounded while loop.

    ``first`` is ``(f, grad f, hess f)`` at ``z0``, which the caller has already
    evaluated: reusing it keeps one copy of the Hessian program in the compiled fit.
    """
    value, grad, extra = solver.init(fun, z0, first)
    state = SolverState(
        z=z0,
        value=value,
        grad=grad,
        n_iter=jnp.asarray(0, jnp.int32),
        step_norm=jnp.asarray(jnp.inf, z0.dtype),
        status=jnp.asarray(Status.RUNNING, jnp.int32),
        extra=extra,
    )

    def cond(s: SolverState) -> jax.Array:
        return s.status == Status.RUNNING

    def body(s: SolverState) -> SolverState:
        z, v, g, ex, no_progress = solver.step(fun, s)
        finite = jnp.isfinite(v) & jnp.all(jnp.isfinite(g)) & jnp.all(jnp.isfinite(z))
        step_norm = jnp.max(jnp.abs(z - s.z))
        g_small = jnp.max(jnp.abs(solver.convergence_grad(g, ex))) <= gtol
        n_iter = s.n_iter + 1
        status = jnp.select(
            [
                ~finite,
                g_small & ((step_norm <= xtol) | no_progress),
                no_progress,
                n_iter >= max_iter,
            ],
            [Status.NONFINITE, Status.CONVERGED, Status.NO_PROGRESS, Status.MAX_ITER],
            Status.RUNNING,
        ).astype(jnp.int32)
        keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
        return SolverState(
            z=keep(z, s.z),
            value=keep(v, s.value),
            grad=keep(g, s.grad),
            n_iter=n_iter,
            step_norm=step_norm,
            status=status,
            extra=jax.tree.map(keep, ex, s.extra),
        )

    return jax.lax.while_loop(cond, body, state)
