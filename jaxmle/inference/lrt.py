"""The likelihood-ratio test between nested fits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LRTResult", "lrt"]


@dataclass(frozen=True)
class LRTResult:
    """A likelihood-ratio test: ``statistic = 2 (loglik_full - loglik_restricted)``,
    asymptotically chi-square with ``df`` degrees of freedom under the
    restricted model (Wilks); ``pvalue`` is its upper tail."""

    statistic: Any
    df: int
    pvalue: Any

    def __repr__(self) -> str:
        if np.ndim(self.statistic) == 0:
            stat, p = float(self.statistic), float(self.pvalue)
            return f"LRTResult(statistic={stat:.6g}, df={self.df}, pvalue={p:.4g})"
        return f"LRTResult(df={self.df}, {np.size(self.statistic)} tests)"


def lrt(restricted: Any, full: Any) -> LRTResult:
    """Likelihood-ratio test of a restricted fit against a fuller one.

    Both fits must be of the same data (equal ``n``); the restricted model is
    nested in the full one (for example ``fixed=`` parameters, or a family that
    is a special case). ``df = full.n_params - restricted.n_params``. Works on
    :func:`jaxmle.fit_many` results dataset by dataset.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> x = np.random.default_rng(0).gamma(1.0, 2.0, 500)
        >>> test = jm.lrt(jm.fit("exponential", x), jm.fit("gamma", x))
        >>> test.df, bool(test.pvalue > 0.01)
        (1, True)
    """
    from scipy import stats  # lazy: scipy's import costs ~0.3 s

    df = int(full.n_params) - int(restricted.n_params)
    if df <= 0:
        raise ValueError(
            f"the full model must have more free parameters than the restricted one "
            f"(got {full.n_params} and {restricted.n_params})"
        )
    n_r, n_f = np.asarray(restricted.n, float), np.asarray(full.n, float)
    if n_r.shape != n_f.shape or not np.allclose(n_r, n_f, rtol=1e-12, equal_nan=True):
        raise ValueError("the two fits are not of the same data (their n differ)")
    stat = 2.0 * (np.asarray(full.loglik, float) - np.asarray(restricted.loglik, float))
    stat = np.maximum(stat, 0.0)  # rounding below the restricted optimum
    return LRTResult(statistic=stat, df=df, pvalue=stats.chi2.sf(stat, df))
