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
  a free location);
* :mod:`~jaxmle.families.custom`: families from a user's log-density.

Underneath: :mod:`~jaxmle.families.base` (the :class:`Family` abstraction),
:mod:`~jaxmle.families.constraints`, :mod:`~jaxmle.families.support`,
:mod:`~jaxmle.families.scipy_bridge` and :mod:`~jaxmle.families.registry`.
Importing this package imports every family module, which registers its
families.
"""

from jaxmle.families import constraints as constraints, support as support
from jaxmle.families.base import Family as Family
from jaxmle.families.bounded import Beta as Beta, Uniform as Uniform
from jaxmle.families.circular import VonMises as VonMises
from jaxmle.families.composite import Mixture as Mixture, Shifted as Shifted
from jaxmle.families.custom import Custom as Custom
from jaxmle.families.discrete import (
    Bernoulli as Bernoulli,
    BetaBinomial as BetaBinomial,
    Binomial as Binomial,
    Categorical as Categorical,
    Geometric as Geometric,
    NegativeBinomial as NegativeBinomial,
    Poisson as Poisson,
    ZeroInflatedPoisson as ZeroInflatedPoisson,
)
from jaxmle.families.multivariate import (
    Dirichlet as Dirichlet,
    MultivariateNormal as MultivariateNormal,
)
from jaxmle.families.positive import (
    Burr as Burr,
    ChiSquared as ChiSquared,
    Exponential as Exponential,
    Frechet as Frechet,
    Gamma as Gamma,
    GeneralizedPareto as GeneralizedPareto,
    HalfNormal as HalfNormal,
    InverseGamma as InverseGamma,
    InverseGaussian as InverseGaussian,
    LogLogistic as LogLogistic,
    LogNormal as LogNormal,
    Nakagami as Nakagami,
    Pareto as Pareto,
    Rayleigh as Rayleigh,
    Weibull as Weibull,
)
from jaxmle.families.real_line import (
    GEV as GEV,
    Cauchy as Cauchy,
    Gumbel as Gumbel,
    Laplace as Laplace,
    Logistic as Logistic,
    Normal as Normal,
    SkewNormal as SkewNormal,
    StudentT as StudentT,
)
from jaxmle.families.registry import (
    family as family,
    family_class as family_class,
    family_names as family_names,
    register as register,
    resolve as resolve,
)
from jaxmle.families.scipy_bridge import ScipyEquivalent as ScipyEquivalent

__all__ = [
    "GEV",
    "Bernoulli",
    "Beta",
    "BetaBinomial",
    "Binomial",
    "Burr",
    "Categorical",
    "Cauchy",
    "ChiSquared",
    "Custom",
    "Dirichlet",
    "Exponential",
    "Family",
    "Frechet",
    "Gamma",
    "GeneralizedPareto",
    "Geometric",
    "Gumbel",
    "HalfNormal",
    "InverseGamma",
    "InverseGaussian",
    "Laplace",
    "LogLogistic",
    "LogNormal",
    "Logistic",
    "Mixture",
    "MultivariateNormal",
    "Nakagami",
    "NegativeBinomial",
    "Normal",
    "Pareto",
    "Poisson",
    "Rayleigh",
    "ScipyEquivalent",
    "Shifted",
    "SkewNormal",
    "StudentT",
    "Uniform",
    "VonMises",
    "Weibull",
    "ZeroInflatedPoisson",
    "constraints",
    "family",
    "family_class",
    "family_names",
    "register",
    "resolve",
    "support",
]
