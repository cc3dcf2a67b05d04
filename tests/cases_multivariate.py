"""Cases for the multivariate families (multivariate.py)."""

import numpy as np
from cases import Case

_MVN_MEAN = np.array([1.0, -2.0, 0.5])
_MVN_COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])


def _random_cov(r, d=3):
    a = r.normal(size=(d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    return 0.5 * (cov + cov.T)


def _dirichlet_rows(alpha):
    def draw(r, n):
        x = r.dirichlet(alpha, n)
        return x / x.sum(axis=1, keepdims=True)  # rows sum to 1 to the last bit

    return draw


_ALPHA = np.array([2.0, 5.0, 1.5, 3.0])

CASES = [
    Case(
        "multivariate_normal",
        {"mean": _MVN_MEAN, "cov": _MVN_COV},
        lambda r, n: r.multivariate_normal(_MVN_MEAN, _MVN_COV, n),
        lambda r: {"mean": r.normal(0, 2, 3), "cov": _random_cov(r)},
        {},
        check_fixed=True,
    ),
    Case(
        "dirichlet",
        {"concentration": _ALPHA},
        _dirichlet_rows(_ALPHA),
        # alpha >= 0.5 so that scipy (and numpy's draws) stay clear of x = 0.
        lambda r: {"concentration": r.uniform(0.5, 8.0, 4)},
        None,  # scipy.stats.dirichlet has no fit
    ),
]
