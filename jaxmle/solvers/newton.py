r"""Damped Newton with exact Hessians: one pass over the data per iteration.

The loop body evaluates the objective, its gradient and its Hessian at a
*trial* point :math:`u + \alpha d` (one fused pass, the only copy of the
derivative program in the compiled loop) and then decides:

* **accept** when the Armijo condition
  :math:`f(u + \alpha d) \le f(u) + c\,\alpha\, g^\top d + \epsilon_f` holds
  (:math:`\epsilon_f`, a few ulps of :math:`|f|`, tolerates float32 noise near
  the optimum); the new point's Hessian gives the next direction, so a full
  Newton step costs exactly one pass;
* **backtrack** otherwise, halving :math:`\alpha`; after ``_MAX_HALVINGS``
  halvings it retries once along the diagonally scaled steepest-descent
  direction, and then gives up (``NO_PROGRESS``).

The direction is the Newton direction :math:`-H^{-1} g` where :math:`H` is
positive definite, and :math:`-|H|^{-1} g` otherwise (eigenvalues replaced by
their absolute values, floored relative to the largest): a descent direction
that still uses the curvature. The convergence test is scale-free: the
gradient and the proposed step, both in units of the local curvature
(:math:`g_j / \sqrt{H_{jj}}` and :math:`d_j \sqrt{H_{jj}}`), must be below
``gtol`` and ``xtol``. It is checked at each accepted point before stepping,
so a converged fit stops without spending another pass; a point whose
gradient is below ``gtol**0.8`` is within the quadratic range, and the last
Newton step from it is taken without a pass to confirm it (the value there
from the quadratic model, the Hessian of the point it started from: they
differ by about the gradient, relatively). Coordinates marked
as ``limits`` (log-parameters) that have run off to a limit of their range
(a Student t's df towards the normal; see ``_tested``) are held where they
are and left out of the test: their gradient and curvature are rounding
noise there.

The same :func:`newton_update` drives the in-memory loop (inside
``lax.while_loop``) and the streamed fits (a host loop over passes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.linalg import sym_eigh
from jaxmle.status import Status

__all__ = [
    "NewtonState",
    "curvature_scale",
    "newton_init",
    "newton_minimize",
    "newton_update",
    "scaled_gradient",
    "value_grad_hessian",
]

_ARMIJO_C = 1e-4
_MAX_HALVINGS = 40
_EIG_FLOOR = 1e-13
_NOISE_ULPS = 256.0
# A gradient below gtol**0.8 (1e-8 in float64, 1e-4 in float32) is in the
# quadratic range: the last Newton step needs no confirming pass.
_LAST_STEP_POWER = 0.8


def value_grad_hessian(fun, z):
    """``(f(z), grad f(z), hess f(z))`` from one forward-over-reverse program."""

    def grad_with_value(z):
        v, g = jax.value_and_grad(fun)(z)
        return g, (v, g)

    hess, (value, grad) = jax.jacfwd(grad_with_value, has_aux=True)(z)
    return value, grad, 0.5 * (hess + hess.T)


class NewtonState(NamedTuple):
    u: jax.Array  # the accepted point
    value: jax.Array
    grad: jax.Array
    hess: jax.Array
    direction: jax.Array
    alpha: jax.Array
    fallback: jax.Array  # the direction is the steepest-descent retry
    n_iter: jax.Array  # accepted steps
    n_evals: jax.Array  # passes (value, gradient and Hessian evaluations)
    step_norm: jax.Array  # the proposed step at u, in local curvature units
    status: jax.Array

    def trial(self) -> jax.Array:
        """The point the next pass evaluates."""
        return self.u + self.alpha * self.direction


def curvature_scale(hess: jax.Array) -> jax.Array:
    """``sqrt(diag H)``, with 1 where that is not a positive finite number."""
    d = jnp.diag(hess)
    return jnp.where(jnp.isfinite(d) & (d > 0), jnp.sqrt(jnp.abs(d)), 1.0)


def newton_direction(grad: jax.Array, hess: jax.Array, scale: jax.Array) -> jax.Array:
    """``-|H|^{-1} g`` (``= -H^{-1} g`` where ``H`` is positive definite), with
    ``H`` equilibrated by ``scale = sqrt(diag H)`` before the eigendecomposition."""
    lam, vec = sym_eigh(hess / jnp.outer(scale, scale))
    lam = jnp.maximum(jnp.abs(lam), _EIG_FLOOR * jnp.maximum(jnp.max(jnp.abs(lam)), 1.0))
    return -(vec @ ((vec.T @ (grad / scale)) / lam)) / scale


def scaled_gradient(grad: jax.Array, hess: jax.Array) -> jax.Array:
    """The gradient in units of the local curvature, ``g_j / sqrt(H_jj)``."""
    return grad / curvature_scale(hess)


def _tested(
    u: jax.Array, grad: jax.Array, hess: jax.Array, limits: tuple[bool, ...] | None
) -> jax.Array:
    """The coordinates the solver moves and tests: all but the ``limits`` at a
    limit of their range, where the parameter is beyond ``eps^(-1/4)``
    (``|log| > 9``, about 8,000, in float64), its gradient is below
    ``sqrt(eps)`` and its curvature below ``eps^(1/4)``: a Student t's df
    there is the normal limit, with a gradient and curvature of rounding
    noise (the curvature's noise grows with df; a gamma's shape
    or a von Mises concentration of 1e8 keep a curvature near 1/2; a
    mixture component's scale shrinking onto a spike of equal values keeps a
    gradient: an unbounded likelihood, not a limit)."""
    if limits is None or not any(limits):
        return jnp.ones(hess.shape[0], bool)
    eps = float(jnp.finfo(hess.dtype).eps)
    flat = (jnp.diag(hess) < eps**0.25) & (jnp.abs(grad) < eps**0.5)
    far = jnp.abs(u) > 0.25 * float(np.log(1.0 / eps))
    return ~(jnp.asarray(limits) & far & flat)


def newton_init(u0: jax.Array) -> NewtonState:
    """A state whose first pass evaluates ``u0`` (accepted unconditionally
    when finite: the objective there is compared with ``+inf``)."""
    p = u0.shape[0]
    dt = u0.dtype
    return NewtonState(
        u=u0,
        value=jnp.asarray(jnp.inf, dt),
        grad=jnp.zeros(p, dt),
        hess=jnp.eye(p, dtype=dt),
        direction=jnp.zeros(p, dt),
        alpha=jnp.asarray(1.0, dt),
        fallback=jnp.asarray(False),
        n_iter=jnp.asarray(-1, jnp.int32),
        n_evals=jnp.asarray(0, jnp.int32),
        step_norm=jnp.asarray(jnp.inf, dt),
        status=jnp.asarray(Status.RUNNING, jnp.int32),
    )


def newton_update(
    s: NewtonState,
    value: jax.Array,
    grad: jax.Array,
    hess: jax.Array,
    *,
    max_iter: int,
    gtol: float,
    xtol: float,
    limits: tuple[bool, ...] | None = None,
) -> NewtonState:
    """Advance ``s`` given the objective, gradient and Hessian at ``s.trial()``
    (``limits``: which coordinates may run off to a limit; see the module
    docstring)."""
    dt = s.u.dtype
    first = s.n_evals == 0
    finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad)) & jnp.all(jnp.isfinite(hess))
    eps_f = 8.0 * jnp.finfo(dt).eps * (jnp.abs(s.value) + 1.0)
    armijo = value <= s.value + _ARMIJO_C * s.alpha * (s.grad @ s.direction) + eps_f
    # Next to the optimum a step decreases f by less than f's rounding noise (a
    # mean of large cancelling sums): a step that keeps f within a wider noise
    # band and halves the scaled gradient is progress as well.
    noise_f = _NOISE_ULPS * jnp.finfo(dt).eps * (jnp.abs(s.value) + 1.0)
    g_old = jnp.max(jnp.abs(scaled_gradient(s.grad, s.hess)))
    g_new = jnp.max(jnp.abs(scaled_gradient(grad, hess)))
    settles = (value <= s.value + noise_f) & (g_new <= 0.5 * g_old)
    accept = finite & (first | armijo | settles)

    # The current point: the trial if accepted, else the old one.
    pick = lambda a, r: jnp.where(accept, a, r)  # noqa: E731
    u, f, g, h = pick(s.trial(), s.u), pick(value, s.value), pick(grad, s.grad), pick(hess, s.hess)
    # Coordinates at a limit are held where they are: their gradient and
    # curvature are rounding noise, and steps along them only fail.
    tested = _tested(u, g, h, limits)
    g = jnp.where(tested, g, 0.0)
    h_move = jnp.where(tested[:, None] & tested[None, :], h, jnp.eye(h.shape[0], dtype=dt))
    scale = curvature_scale(h_move)
    d_newton = newton_direction(g, h_move, scale)
    step = jnp.max(jnp.abs(d_newton * scale))
    g_scaled = jnp.max(jnp.abs(g / scale))
    # At the resolution of the floating-point coordinates: the Newton step is
    # within a few ulps of u, so no representable point is better; the
    # gradient left is the rounding of u (a gamma's log-rate of 18 moves in
    # steps of 4e-15, a gradient of 4e-10 in curvature units at shape 1e10).
    ulps = 4.0 * jnp.finfo(dt).eps * jnp.maximum(jnp.abs(u), 1.0)
    at_resolution = jnp.all(jnp.abs(d_newton) <= ulps) & (g_scaled <= gtol**0.5)
    g_small = (g_scaled <= gtol) | at_resolution
    # Close enough that Newton converges quadratically: the step from here
    # leaves a gradient of order g^2, far below gtol, so it is taken without
    # a pass to confirm it (the value by the quadratic model; the Hessian is
    # this point's, within g of the next one's).
    last_step = accept & ~g_small & (g_scaled <= gtol**_LAST_STEP_POWER) & (step <= xtol)
    n_iter = s.n_iter + accept.astype(jnp.int32)

    # Rejected: halve the step; after _MAX_HALVINGS, retry once along the
    # scaled steepest-descent direction; then give up.
    alpha = jnp.where(accept, 1.0, 0.5 * s.alpha).astype(dt)
    exhausted = ~accept & (alpha < 2.0**-_MAX_HALVINGS)
    d_steep = -g / scale**2
    d_steep = d_steep / jnp.maximum(1.0, jnp.max(jnp.abs(d_steep * scale)))
    give_up = exhausted & s.fallback

    status = jnp.select(
        [
            first & ~finite,
            (accept & g_small & (step <= xtol)) | last_step,
            give_up,
            accept & (n_iter >= max_iter),
            s.n_evals + 1 >= max_iter * 4 + 2 * _MAX_HALVINGS,
        ],
        [
            Status.NONFINITE,
            Status.CONVERGED,
            jnp.where(g_small, Status.CONVERGED, Status.NO_PROGRESS),
            Status.MAX_ITER,
            Status.MAX_ITER,
        ],
        Status.RUNNING,
    ).astype(jnp.int32)
    return NewtonState(
        u=jnp.where(last_step, u + d_newton, u),
        value=jnp.where(last_step, f + 0.5 * (g @ d_newton), f),
        grad=g,
        hess=h,
        direction=jnp.where(accept, d_newton, jnp.where(exhausted, d_steep, s.direction)),
        alpha=jnp.where(exhausted, 1.0, alpha).astype(dt),
        fallback=~accept & (s.fallback | exhausted),
        n_iter=n_iter,
        n_evals=s.n_evals + 1,
        step_norm=pick(step, s.step_norm),
        status=status,
    )


def newton_minimize(
    vgh: Callable[[jax.Array], tuple[jax.Array, jax.Array, jax.Array]],
    u0: jax.Array,
    *,
    max_iter: int,
    gtol: float,
    xtol: float,
    limits: tuple[bool, ...] | None = None,
) -> NewtonState:
    """Minimise the function whose ``(value, grad, hess)`` is ``vgh`` from ``u0``
    in one ``lax.while_loop`` with one evaluation of ``vgh`` per iteration."""

    def body(s: NewtonState) -> NewtonState:
        value, grad, hess = vgh(s.trial())
        return newton_update(
            s, value, grad, hess, max_iter=max_iter, gtol=gtol, xtol=xtol, limits=limits
        )

    return jax.lax.while_loop(lambda s: s.status == Status.RUNNING, body, newton_init(u0))
