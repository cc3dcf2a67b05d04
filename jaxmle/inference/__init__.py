r"""Uncertainty after a fit, computed from (family, parameters, free names,
refit data), never from the entry points above:

* :mod:`~jaxmle.inference.covariance`: information matrices and the
  ``observed`` / ``expected`` / ``robust`` covariances;
* :mod:`~jaxmle.inference.profile`: profile-likelihood intervals;
* :mod:`~jaxmle.inference.bootstrap`: bootstrap replicates and intervals;
* :mod:`~jaxmle.inference.gof`: goodness of fit (EDF statistics, chi-square,
  bootstrap p-values);
* :mod:`~jaxmle.inference.delta`: functions of the parameters (delta method);
* :mod:`~jaxmle.inference.lrt`: the likelihood-ratio test.
"""

from jaxmle.inference.bootstrap import BootstrapResult as BootstrapResult
from jaxmle.inference.covariance import COV_TYPES as COV_TYPES
from jaxmle.inference.delta import Derived as Derived
from jaxmle.inference.gof import ChiSquareBins as ChiSquareBins, GofResult as GofResult
from jaxmle.inference.lrt import LRTResult as LRTResult, lrt as lrt
