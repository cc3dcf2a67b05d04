r"""Truncated families: a family restricted to an interval, renormalized.

With known, fixed bounds :math:`a < b`,

.. math:: \log f_T(x \mid \theta) = \log f(x \mid \theta) - \log P_\theta(a < X \le b),
          \quad a < x \le b,

(for a count family the bounds are inclusive, :math:`a \le x \le b`, and the
mass is :math:`P(a - 1 < X \le b)`). The mass is computed in log space from
the nearer tail (:meth:`~jaxmle.families.base.Family.log_interval_probability`),
so a truncation far in a tail keeps its digits. A bound at or beyond the
end of the base family's support truncates nothing and is dropped (a
zero-truncated Poisson is ``Truncated("poisson", low=1)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families import support as S
from jaxmle.families.base import Family, Params
from jaxmle.families.registry import resolve

__all__ = ["Truncated"]

_MAX_REDRAWS = 10_000


class Truncated(Family):
    """``base`` truncated to ``low < x <= high`` (``low <= x <= high`` for counts).

    Args:
        base: a univariate family (or its name).
        low, high: the known bounds (``-inf``/``inf``: none on that side).

    The parameters are the base family's; fitted like any family. Example:

    >>> import numpy as np, jaxmle as jm
    >>> x = np.random.default_rng(0).normal(size=20000)
    >>> res = jm.fit(jm.Truncated("normal", low=0.5), x[x > 0.5])
    >>> round(float(res.params["scale"]), 1)
    1.0
    """

    def __init__(self, base: Family | str, low: float = -math.inf, high: float = math.inf):
        base = resolve(base)
        if base.event_ndim:
            raise ValueError(f"Truncated needs a univariate family, got {base.name}")
        low, high = _bound("low", low), _bound("high", high)
        if not low < high:
            raise ValueError(f"Truncated needs low < high, got low={low}, high={high}")
        self.base = base
        self.costly_cdf = base.costly_cdf
        self.low, self.high = low, high
        step = 1.0 if base.support.discrete else 0.0
        # A bound truncates only where the base family has mass beyond it.
        self.has_low = math.isfinite(low) and _contains(base, low - step)
        self.has_high = math.isfinite(high) and _contains(base, high) and _beyond(base, high)
        self.step = step
        self.name = f"truncated_{base.name}"
        self.param_names = base.param_names
        self.constraints = base.constraints
        self.density = f"{base.name} density renormalized on {self._range()}"
        lo_ok = (lambda x: x >= low) if step else (lambda x: x > low)
        self.support = S.Support(
            f"{base.support.description}, {self._range()}",
            lambda x: base.support.contains(x) & lo_ok(x) & (x <= high),
            discrete=base.support.discrete,
        )

    def _range(self) -> str:
        if self.step:
            return f"{self.low:g} <= x <= {self.high:g}"
        return f"{self.low:g} < x <= {self.high:g}"

    def log_mass(self, params: Params) -> jax.Array:
        """``log P(low < X <= high)`` under the base family."""
        base, lo = self.base, self.low - self.step
        if self.has_low and self.has_high:
            return base.log_interval_probability(params, lo, self.high)
        if self.has_low:
            return base.logsf(params, jnp.asarray(lo))
        if self.has_high:
            return base.logcdf(params, jnp.asarray(self.high))
        return jnp.zeros(())

    def logpdf(self, params, x):
        return self.base.logpdf(params, x) - self.log_mass(params)

    def cdf(self, params, x):
        return jnp.exp(self.logcdf(params, x))

    def logcdf(self, params, x):
        """``log P(low < X <= x) - log mass`` (0 above ``high``, -inf below ``low``)."""
        x = jnp.clip(x, self.low, self.high)
        below = x <= self.low
        inner = jnp.where(below, self.high, x)
        if self.has_low:
            part = self.base.log_interval_probability(params, self.low - self.step, inner)
        else:
            part = self.base.logcdf(params, inner)
        return jnp.where(below, -jnp.inf, part - self.log_mass(params))

    def logsf(self, params, x):
        """``log P(x < X <= high) - log mass``."""
        x = jnp.clip(x, self.low, self.high)
        above = x >= self.high
        inner = jnp.where(above, self.low, x)
        if self.has_high:
            part = self.base.log_interval_probability(params, inner, self.high)
        else:
            part = self.base.logsf(params, inner)
        return jnp.where(above, -jnp.inf, part - self.log_mass(params))

    def init(self, x, w):
        return self.base.init(x, w)

    def init_with_fixed(self, x, w, fixed):
        return self.base.init_with_fixed(x, w, fixed)

    def sample(self, params, key, shape=()):
        """Draws of the base family kept where inside, the others redrawn (up to
        ``_MAX_REDRAWS`` rounds; draws still outside then are NaN)."""
        inside = self.support.contains

        def draw(k):
            return self.base.sample(params, k, shape)

        def redraw(state):
            i, k, x = state
            k, sub = jax.random.split(k)
            return i + 1, k, jnp.where(inside(x), x, draw(sub))

        def outside(state):
            i, _, x = state
            return (i < _MAX_REDRAWS) & ~jnp.all(inside(x))

        key, sub = jax.random.split(key)
        _, _, x = jax.lax.while_loop(outside, redraw, (0, key, draw(sub)))
        return jnp.where(inside(x), x, jnp.nan)

    def check_params(self, params: Mapping[str, Any]) -> None:
        self.base.check_params(params)

    def diagnose(self, params, x):
        return self.base.diagnose(params, x)

    def scipy(self, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError(
            f"{self.name} has no scipy.stats equivalent here (scipy >= 1.15 has "
            f"scipy.stats.truncate(dist, lb, ub) for its new distribution classes)"
        )

    def __repr__(self) -> str:
        return f"Truncated({self.base!r}, low={self.low!r}, high={self.high!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Truncated
            and self.base == other.base
            and (self.low, self.high) == (other.low, other.high)
        )

    def __hash__(self) -> int:
        return hash((Truncated, self.base, self.low, self.high))


def _bound(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"Truncated: {name} must be a number, got {type(v).__name__}")
    v = float(v)
    if math.isnan(v):
        raise ValueError(f"Truncated: {name} is NaN")
    return v


def _contains(base: Family, v: float) -> bool:
    return bool(np.asarray(base.support.contains(np.asarray([v])))[0])


def _beyond(base: Family, v: float) -> bool:
    """Whether the base support has values above ``v`` (a finite upper end at
    or below ``v`` truncates nothing)."""
    probe = [v + d for d in (1e-9 * max(1.0, abs(v)), 1.0, abs(v) + 1.0)]
    return any(_contains(base, p) for p in probe)
