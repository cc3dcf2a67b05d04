"""jaxmle: maximum-likelihood estimation on JAX.

>>> import jaxmle as jm
>>> res = jm.fit(jm.Normal(), [1.0, 2.0, 3.0, 4.0])
>>> float(res.params["loc"])
2.5
"""

from jaxmle.batch_result import GroupFits as GroupFits, ManyFitResult as ManyFitResult
from jaxmle.families import (
    Bernoulli as Bernoulli,
    Custom as Custom,
    Exponential as Exponential,
    Family as Family,
    Gamma as Gamma,
    Logistic as Logistic,
    LogNormal as LogNormal,
    Mixture as Mixture,
    Normal as Normal,
    Poisson as Poisson,
    Shifted as Shifted,
    Weibull as Weibull,
    constraints as constraints,
    families as families,
    family as family,
    register as register,
)
from jaxmle.fit import (
    METHODS as METHODS,
    ConvergenceWarning as ConvergenceWarning,
    ModelWarning as ModelWarning,
    fit as fit,
)
from jaxmle.inference import information as information, lrt as lrt
from jaxmle.likelihood import (
    fisher_information as fisher_information,
    loglik as loglik,
    score as score,
)
from jaxmle.many import fit_groups as fit_groups, fit_many as fit_many
from jaxmle.result import FitResult as FitResult
from jaxmle.solvers import Status as Status

__version__ = "0.1.0"
