"""How a fit ended: the :class:`Status` codes, their messages, and the warnings.

A bottom-layer module (it imports nothing from jaxmle): solvers write a
``Status`` into their state under ``jit``; results turn it into a message on
the host; entry points warn with :class:`ConvergenceWarning` or
:class:`ModelWarning`.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ConvergenceWarning", "ModelWarning", "Status", "status_message"]


class Status(IntEnum):
    """Outcome of a solve; stored as an integer array in results."""

    CONVERGED = 0
    MAX_ITER = 1
    NO_PROGRESS = 2
    NONFINITE = 3
    RUNNING = 4
    INVALID_DATA = 5  # fit_many(on_invalid="flag"): the dataset was not fitted
    DEGENERATE = 6  # valid but degenerate data (all values equal): no regular MLE
    OUT_OF_RANGE = 7  # an estimate under- or overflows the dtype's normal numbers


_MESSAGES = {
    Status.CONVERGED: "converged: gradient and step below tolerance",
    Status.MAX_ITER: "not converged: max_iter reached before the gradient and step were small",
    Status.NO_PROGRESS: (
        "not converged: no step decreased the objective (failed line search) "
        "while the gradient is not small"
    ),
    Status.NONFINITE: "not converged: the log-likelihood or its gradient became non-finite",
    Status.RUNNING: "running",
    Status.INVALID_DATA: "not fitted: invalid data (non-finite, outside the support or too few)",
    Status.DEGENERATE: (
        "not converged: degenerate data (all values equal); the MLE is on the boundary "
        "of the parameter space"
    ),
    Status.OUT_OF_RANGE: (
        "not converged: an estimate or the log-likelihood is beyond what the dtype "
        "represents (it under- or overflows, or the data differ by less than its "
        "precision); rescale the data, or fit in float64"
    ),
}


def status_message(status: int) -> str:
    """The readable message for a :class:`Status` code."""
    return _MESSAGES[Status(int(status))]


class ConvergenceWarning(UserWarning):
    """A fit ended without meeting its convergence test."""


class ModelWarning(UserWarning):
    """The fit ran, but the model is questionable for these data (for example
    a likelihood that is unbounded, so that no MLE exists)."""
