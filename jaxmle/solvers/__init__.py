"""Solvers that plug into the one fitting driver."""

from jaxmle.solvers.driver import (
    SolverState as SolverState,
    Status as Status,
    iterative_solve as iterative_solve,
    status_message as status_message,
)
from jaxmle.solvers.newton import Newton as Newton
from jaxmle.solvers.optax_solver import (
    OptaxSolver as OptaxSolver,
    default_optimizer as default_optimizer,
)
