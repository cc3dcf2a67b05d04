r"""A free location for any positive-support family (the three-parameter forms).

.. math:: f(x \mid \theta, \mathrm{loc}) = f_0(x - \mathrm{loc} \mid \theta),
          \quad x > \mathrm{loc}

``jm.Shifted(jm.Weibull())`` is scipy's ``weibull_min.fit(x)`` with a free
``loc``. Its likelihood is bounded only where the base density stays bounded at
its lower end: a Weibull or gamma with shape < 1, for example, has a density
that tends to infinity there, so the likelihood grows without limit as
``loc -> min(x)`` and no MLE exists. ``fit`` then warns (``ModelWarning``).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jaxmle.families import constraints as C, support as S
from jaxmle.families.base import Family, Params, weighted_mean

__all__ = ["Shifted"]


class Shifted(Family):
    """``base`` shifted by a free location parameter ``loc`` (the last parameter;
    named ``shift`` where the base family already has a ``loc``).

    Args:
        base: a family whose support is ``x > 0`` or ``x >= 0`` (gamma,
            Weibull, lognormal, exponential, ...).
    """

    def __init__(self, base: Family | str):
        from jaxmle.families.registry import resolve

        base = resolve(base)
        if base.support not in (S.positive_reals, S.nonnegative_reals) or base.event_ndim:
            raise ValueError(
                f"Shifted needs a family on x > 0 or x >= 0, got {base.name} "
                f"with support {base.support.description}"
            )
        # The shift is called loc, or shift where the base family already has
        # a loc (the lognormal's loc is the mean of log x).
        self.loc_name = "shift" if "loc" in base.param_names else "loc"
        self.base = base
        self.name = f"shifted_{base.name}"
        self.param_names = (*base.param_names, self.loc_name)
        self.constraints = {**base.constraints, self.loc_name: C.real}
        self.support = S.real_line
        self.density = f"{base.name} density of (x - loc), x > loc"

    def _base_params(self, params: Params) -> Params:
        return {k: params[k] for k in self.base.param_names}

    def logpdf(self, params, x):
        z = x - params[self.loc_name]
        inside = z > 0
        safe = jnp.where(inside, z, 1.0)  # keep the other branch's gradient finite
        return jnp.where(inside, self.base.logpdf(self._base_params(params), safe), -jnp.inf)

    def init(self, x, w):
        # Start below the sample minimum by a fraction of the spread, then fit
        # the base family to the shifted data.
        m = weighted_mean(x, w)
        sd = jnp.sqrt(weighted_mean((x - m) ** 2, w))
        xmin = jnp.min(x if w is None else jnp.where(w > 0, x, jnp.inf))
        loc = xmin - 0.25 * jnp.where(sd > 0, sd, 1.0)
        return {**self.base.init(x - loc, w), self.loc_name: loc}

    def cdf(self, params, x):
        z = jnp.maximum(x - params[self.loc_name], 0.0)
        return self.base.cdf(self._base_params(params), z)

    def logsf(self, params, x):
        z = jnp.maximum(x - params[self.loc_name], 0.0)
        return self.base.logsf(self._base_params(params), z)

    def sample(self, params, key, shape=()):
        return params[self.loc_name] + self.base.sample(self._base_params(params), key, shape)

    def scipy(self, params):
        frozen = self.base.scipy(self._base_params(params))
        kwds = dict(frozen.kwds)
        kwds["loc"] = kwds.get("loc", 0.0) + float(params[self.loc_name])
        return frozen.dist(*frozen.args, **kwds)

    def diagnose(self, params, x):
        x = np.asarray(x)
        gap = float(np.min(x) - np.asarray(params[self.loc_name]))
        spread = float(np.ptp(x)) or 1.0
        shape = params.get("shape")
        if gap <= 1e-6 * spread or (shape is not None and float(shape) < 1.0):
            return (
                "the likelihood may be unbounded as loc approaches min(x) "
                f"(fitted loc is {gap:.3g} below min(x)"
                + (f", shape={float(shape):.3g} < 1" if shape is not None else "")
                + f"): the three-parameter MLE may not exist; fix {self.loc_name} (fixed=...) "
                "or fit the two-parameter family"
            )
        return None

    def __repr__(self) -> str:
        return f"Shifted({self.base!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Shifted and self.base == other.base

    def __hash__(self) -> int:
        return hash((Shifted, self.base))
