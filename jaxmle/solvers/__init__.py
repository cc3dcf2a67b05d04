"""Solvers that plug into the one fitting driver."""

from jaxmle.solvers.driver import (
    SolverState as SolverState,
    Status as Status,
    iterative_solve as iterative_solve,
    status_message as status_message,
)
from jaxmle.solvers.newton import (
    NewtonState as NewtonState,
    newton_minimize as newton_minimize,
    newton_update as newton_update,
)
from jaxmle.solvers.optax_solver import (
    OptaxSolver as OptaxSolver,
    default_optimizer as default_optimizer,
)
