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
)
from jaxmle.families.base import Family as Family
from jaxmle.families.continuous import (
    Exponential as Exponential,
    Gamma as Gamma,
    Logistic as Logistic,
    LogNormal as LogNormal,
    Normal as Normal,
    Weibull as Weibull,
)
from jaxmle.families.custom import Custom as Custom
from jaxmle.families.discrete import Bernoulli as Bernoulli, Poisson as Poisson
from jaxmle.families.mixture import Mixture as Mixture
from jaxmle.families.registry import (
    families as families,
    family as family,
    register as register,
    resolve as resolve,
)
from jaxmle.families.shifted import Shifted as Shifted
