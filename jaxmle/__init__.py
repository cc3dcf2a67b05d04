"""jaxmle: maximum-likelihood estimation on JAX.

>>> import jaxmle as jm
>>> res = jm.fit(jm.Normal(), [1.0, 2.0, 3.0, 4.0])
>>> float(res.params["loc"])
2.5

The public API is re-exported here; the modules below are layered (see the
README's architecture section): ``select`` (choosing the family) over the entry
points (``fit``, ``many``, ``likelihood``) over ``results`` over ``inference``
over the private engine (``_engine``) over ``solvers`` over ``families`` over
``reduction``/``status``.
"""

from jaxmle import (
    multihost as multihost,  # several processes with jax.distributed
    plot as plot,  # matplotlib loads on the first plot, not here
)

# Every family class (jm.Gamma, jm.StudentT, ...), the registry and the base.
from jaxmle.families import *  # noqa: F403
from jaxmle.families.base import CumulativeHazardFamily as CumulativeHazardFamily
from jaxmle.families.censored import Censored as Censored
from jaxmle.families.scipy_bridge import ScipyEquivalent as ScipyEquivalent
from jaxmle.fit import METHODS as METHODS, fit as fit
from jaxmle.inference import (
    BootstrapResult as BootstrapResult,
    ChiSquareBins as ChiSquareBins,
    Derived as Derived,
    GofResult as GofResult,
    LRTResult as LRTResult,
    lrt as lrt,
)
from jaxmle.likelihood import (
    fisher_information as fisher_information,
    information as information,
    loglik as loglik,
    observed_information as observed_information,
    score as score,
)
from jaxmle.many import fit_groups as fit_groups, fit_many as fit_many
from jaxmle.results import (
    FitResult as FitResult,
    GroupFits as GroupFits,
    ManyFitResult as ManyFitResult,
)
from jaxmle.select import (
    Candidate as Candidate,
    ManySelection as ManySelection,
    Selection as Selection,
    Skipped as Skipped,
    select as select,
    select_many as select_many,
)
from jaxmle.status import (
    ConvergenceWarning as ConvergenceWarning,
    ModelWarning as ModelWarning,
    Status as Status,
)

__version__ = "0.1.0"
