"""Distribution families, one module per kind of support.

* :mod:`~jaxmle.families.real_line`: normal, logistic, Student's t, Cauchy,
  Laplace, Gumbel, skew normal, generalized extreme value;
* :mod:`~jaxmle.families.positive`: exponential, gamma, Weibull, lognormal,
  inverse Gaussian, half-normal, Rayleigh, log-logistic, inverse gamma,
  Nakagami, chi-squared, Frechet, Burr, Pareto, generalized Pareto;
* :mod:`~jaxmle.families.bounded`: beta, uniform;
* :mod:`~jaxmle.families.circular`: von Mises;
* :mod:`~jaxmle.families.discrete`: Poisson, Bernoulli, binomial, geometric,
  negative binomial, zero-inflated Poisson, categorical, beta-binomial;
* :mod:`~jaxmle.families.multivariate`: multivariate normal, Dirichlet;
* :mod:`~jaxmle.families.composite`: families built from families (mixtures,
  a free location); :mod:`~jaxmle.families.truncated`: a family renormalized
  on an interval;
* :mod:`~jaxmle.families.censored`: censored observations (``Censored``) and
  their likelihood, a family of rows (``CensoredFamily``);
* :mod:`~jaxmle.families.custom`: families from a user's log-density.

Underneath: :mod:`~jaxmle.families.base` (the :class:`Family` abstraction),
:mod:`~jaxmle.families.constraints`, :mod:`~jaxmle.families.support`,
:mod:`~jaxmle.families.scipy_bridge` and :mod:`~jaxmle.families.registry`.
Importing this package imports every family module, which registers its
families.
"""

# Each family module lists its families in ``__all__``: a new family is exported
# here and at the top level (``jm.<Class>``) by being listed in its own module.
from jaxmle.families import (
    bounded,
    circular,
    composite,
    constraints as constraints,
    custom,
    discrete,
    multivariate,
    positive,
    real_line,
    support as support,
    truncated,
)
from jaxmle.families.base import Family as Family
from jaxmle.families.bounded import *  # noqa: F403
from jaxmle.families.circular import *  # noqa: F403
from jaxmle.families.composite import *  # noqa: F403
from jaxmle.families.custom import *  # noqa: F403
from jaxmle.families.discrete import *  # noqa: F403
from jaxmle.families.multivariate import *  # noqa: F403
from jaxmle.families.positive import *  # noqa: F403
from jaxmle.families.real_line import *  # noqa: F403
from jaxmle.families.registry import (
    family as family,
    family_class as family_class,
    family_names as family_names,
    register as register,
    resolve as resolve,
)
from jaxmle.families.scipy_bridge import ScipyEquivalent as ScipyEquivalent
from jaxmle.families.truncated import *  # noqa: F403

#: The names of the family classes, module by module.
FAMILY_CLASSES = tuple(
    name
    for module in (
        real_line,
        positive,
        bounded,
        circular,
        discrete,
        multivariate,
        composite,
        truncated,
        custom,
    )
    for name in module.__all__
    if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), Family)
)

__all__ = [
    *FAMILY_CLASSES,
    "Family",
    "ScipyEquivalent",
    "constraints",
    "family",
    "family_class",
    "family_names",
    "register",
    "resolve",
    "support",
]
