"""Distribution families: one module per group, plus the base and constraints.

Importing a family module registers its families with the registry.
"""

from jaxmle.families import (
    constraints as constraints,
    continuous_bounded as continuous_bounded,
    continuous_positive as continuous_positive,
    continuous_real as continuous_real,
    discrete_more as discrete_more,
    multivariate as multivariate,
    support as support,
)
from jaxmle.families.base import CumulativeHazardFamily as CumulativeHazardFamily, Family as Family
from jaxmle.families.continuous import (
    Exponential as Exponential,
    Gamma as Gamma,
    Logistic as Logistic,
    LogNormal as LogNormal,
    Normal as Normal,
    Weibull as Weibull,
)
from jaxmle.families.continuous_bounded import *  # noqa: F403  (temporary)
from jaxmle.families.continuous_positive import *  # noqa: F403
from jaxmle.families.continuous_real import *  # noqa: F403
from jaxmle.families.custom import Custom as Custom
from jaxmle.families.discrete import Bernoulli as Bernoulli, Poisson as Poisson
from jaxmle.families.discrete_more import *  # noqa: F403
from jaxmle.families.mixture import Mixture as Mixture
from jaxmle.families.multivariate import *  # noqa: F403
from jaxmle.families.registry import (
    families as family_names,
    family as family,
    family_class as family_class,
    register as register,
    resolve as resolve,
)
from jaxmle.families.shifted import Shifted as Shifted
