"""Any optax ``GradientTransformation`` as a solver for the fitting driver.

The transformation sees the objective (the negative mean log-likelihood in
standardized unconstrained coordinates) and its gradient; transformations
with a line search (``optax.lbfgs``) also get ``value`` and ``value_fn``, and
the value and gradient the line search already computed are reused.

:func:`minibatch_steps` is the mini-batch loop of stochastic fits (in memory
and streamed alike): one optax step per shuffled batch of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax

from jaxmle.solvers.driver import SolverState

__all__ = ["OptaxSolver", "default_optimizer", "minibatch_steps", "shuffled_batches"]


def default_optimizer(method: str) -> optax.GradientTransformation:
    """The optax transformation behind ``method="lbfgs" | "adam" | "sgd"``.

    Coordinates are standardized (unit Hessian diagonal at the start), so one
    learning rate suits every family. Adam's rate decays like ``1/sqrt(t)``
    so that it settles instead of circling the optimum at a fixed radius.
    """
    if method == "lbfgs":
        return optax.lbfgs()
    if method == "adam":
        schedule = lambda t: 0.1 / jnp.sqrt(1.0 + t / 50.0)  # noqa: E731
        return optax.adam(schedule)
    if method == "sgd":
        return optax.sgd(0.5, momentum=0.5)
    raise ValueError(f"no default optax optimizer for method {method!r}")


@dataclass(frozen=True)
class OptaxSolver:
    optimizer: optax.GradientTransformation

    def init(self, fun, z0, first):
        value, grad, _ = first
        return value, grad, self.optimizer.init(z0)

    def convergence_grad(self, grad, extra):
        return grad

    def step(self, fun, s: SolverState):
        tx = optax.with_extra_args_support(self.optimizer)
        updates, opt_state = tx.update(
            s.grad, s.extra, s.z, value=s.value, grad=s.grad, value_fn=fun
        )
        z = optax.apply_updates(s.z, updates).astype(s.z.dtype)
        if optax.tree_utils.tree_get(opt_state, "value") is not None:
            # optax.lbfgs: its line search already evaluated the new point.
            value, grad = optax.value_and_grad_from_state(fun)(z, state=opt_state)
        else:
            value, grad = jax.value_and_grad(fun)(z)
        no_progress = jnp.all(z == s.z)
        return z, value, grad, opt_state, no_progress


def shuffled_batches(key: jax.Array, n: int, batch: int) -> jax.Array:
    """Indices of ``n // batch`` mini-batches of ``batch`` rows, a random
    permutation of ``range(n)`` (the remainder left out), shape ``(n // batch, batch)``."""
    count = n // batch
    return jax.random.permutation(key, n)[: count * batch].reshape(count, batch)


def minibatch_steps(tx: optax.GradientTransformation, batch_loss, z, opt_state, batches):
    """One optax step per row of ``batches`` on ``batch_loss(z, indices)``
    (a ``lax.scan``); returns ``(z, opt_state)``."""

    def step(carry, idx):
        z, s = carry
        updates, s = tx.update(jax.grad(batch_loss)(z, idx), s, z)
        return (optax.apply_updates(z, updates).astype(z.dtype), s), None

    return jax.lax.scan(step, (z, opt_state), batches)[0]
