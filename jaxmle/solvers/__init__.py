"""Solvers that plug into the one fitting driver."""

from jaxmle.solvers.driver import (
    SolverState as SolverState,
)
from jaxmle.solvers.driver import (
    Status as Status,
)
from jaxmle.solvers.driver import (
    iterative_solve as iterative_solve,
)
from jaxmle.solvers.driver import (
    status_message as status_message,
)
from jaxmle.solvers.newton import Newton as Newton
from jaxmle.solvers.optax_solver import (
    OptaxSolver as OptaxSolver,
)
from jaxmle.solvers.optax_solver import (
    default_optimizer as default_optimizer,
)
