"""Distribution families: one module per group, plus the base and constraints."""

from jaxmle.families import constraints as constraints
from jaxmle.families.base import Family as Family
from jaxmle.families.continuous import (
    Exponential as Exponential,
)
from jaxmle.families.continuous import (
    Gamma as Gamma,
)
from jaxmle.families.continuous import (
    Logistic as Logistic,
)
from jaxmle.families.continuous import (
    LogNormal as LogNormal,
)
from jaxmle.families.continuous import (
    Normal as Normal,
)
from jaxmle.families.continuous import (
    Weibull as Weibull,
)
from jaxmle.families.discrete import Bernoulli as Bernoulli
from jaxmle.families.discrete import Poisson as Poisson
from jaxmle.families.registry import (
    families as families,
)
from jaxmle.families.registry import (
    family as family,
)
from jaxmle.families.registry import (
    register as register,
)
from jaxmle.families.registry import (
    resolve as resolve,
)
