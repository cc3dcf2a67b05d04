"""jaxmle: maximum-likelihood estimation on JAX.

>>> import jaxmle as jm
>>> res = jm.fit(jm.Normal(), [1.0, 2.0, 3.0, 4.0])
>>> float(res.params["loc"])
2.5
"""

from jaxmle.families import (
    Bernoulli as Bernoulli,
)
from jaxmle.families import (
    Exponential as Exponential,
)
from jaxmle.families import (
    Family as Family,
)
from jaxmle.families import (
    Gamma as Gamma,
)
from jaxmle.families import (
    Logistic as Logistic,
)
from jaxmle.families import (
    LogNormal as LogNormal,
)
from jaxmle.families import (
    Normal as Normal,
)
from jaxmle.families import (
    Poisson as Poisson,
)
from jaxmle.families import (
    Weibull as Weibull,
)
from jaxmle.families import (
    constraints as constraints,
)
from jaxmle.families import (
    families as families,
)
from jaxmle.families import (
    family as family,
)
from jaxmle.families import (
    register as register,
)
from jaxmle.fit import METHODS as METHODS
from jaxmle.fit import ConvergenceWarning as ConvergenceWarning
from jaxmle.fit import fit as fit
from jaxmle.likelihood import (
    fisher_information as fisher_information,
)
from jaxmle.likelihood import (
    loglik as loglik,
)
from jaxmle.likelihood import (
    score as score,
)
from jaxmle.result import FitResult as FitResult
from jaxmle.solvers import Status as Status

__version__ = "0.1.0"
