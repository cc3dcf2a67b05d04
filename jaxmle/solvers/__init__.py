"""Solvers: minimisers of a smooth function of a flat vector, unaware of data.

* :mod:`~jaxmle.solvers.driver`: one bounded ``lax.while_loop`` for every
  first-order solver (``init``/``step``/termination), with any optax
  transformation plugged in by :mod:`~jaxmle.solvers.optax_solver`;
* :mod:`~jaxmle.solvers.newton`: damped Newton with exact Hessians.

Newton is not a driver solver, for one reason: its update is split from the
evaluation (:func:`newton_update` takes the value, gradient and Hessian at the
trial point), so the same update runs inside ``lax.while_loop``
(:func:`newton_minimize`) and in streamed fits, where each evaluation is a host
loop over chunks of data that no traced ``step(fun, state)`` can make.
"""

from jaxmle.solvers.driver import (
    Solver as Solver,
    SolverState as SolverState,
    iterative_solve as iterative_solve,
)
from jaxmle.solvers.newton import (
    NewtonState as NewtonState,
    curvature_scale as curvature_scale,
    newton_init as newton_init,
    newton_minimize as newton_minimize,
    newton_update as newton_update,
    scaled_gradient as scaled_gradient,
    value_grad_hessian as value_grad_hessian,
)
from jaxmle.solvers.optax_solver import (
    OptaxSolver as OptaxSolver,
    default_optimizer as default_optimizer,
    minibatch_steps as minibatch_steps,
    shuffled_batches as shuffled_batches,
)
