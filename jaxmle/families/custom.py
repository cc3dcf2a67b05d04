"""User-defined families from a log-density and a dict of constraints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxmle.families import constraints as C, support as S
from jaxmle.families.base import Family, Params, weighted_mean, weighted_quantile

__all__ = ["Custom"]

_CONSTRAINTS = {
    "real": C.real,
    "positive": C.positive,
    "unit_interval": C.unit_interval,
    "simplex": C.simplex,
}
_SUPPORTS = {
    "real": S.real_line,
    "positive": S.positive_reals,
    "nonnegative": S.nonnegative_reals,
    "unit_interval": S.unit_interval,
    "nonnegative_integers": S.nonnegative_integers,
    "positive_integers": S.positive_integers,
    "binary": S.binary,
}
_LOCATION_WORDS = ("loc", "mu", "mean", "location", "center", "centre")
_SCALE_WORDS = ("scale", "sigma", "sd", "std", "width")


def _lookup(table: Mapping[str, Any], value: Any, kind: str, cls: type) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value in table:
        return table[value]
    raise ValueError(
        f"unknown {kind} {value!r}; give a jaxmle {cls.__name__} or one of {sorted(table)}"
    )


class Custom(Family):
    r"""A family from your own log-density.

    It gets every feature a built-in family gets: ``jm.fit`` with every
    method, fixed parameters, weights, standard errors, summaries.

    Args:
        logpdf: ``logpdf(params, x) -> (N,)`` log-density of each observation,
            written with ``jax.numpy`` (it is differentiated and jit-compiled).
        constraints: ``{param: constraint}`` in parameter order; a constraint
            is a :class:`~jaxmle.families.constraints.Constraint` or one of
            ``"real"``, ``"positive"``, ``"unit_interval"``, ``"simplex"``.
        name: a name for messages and summaries.
        support: the data support (a :class:`Support` or one of ``"real"``,
            ``"positive"``, ``"nonnegative"``, ``"unit_interval"``,
            ``"nonnegative_integers"``, ``"positive_integers"``, ``"binary"``);
            data outside it are rejected before fitting. Default: real.
        init: starting values, a dict or ``init(x, w) -> dict``. Default: a
            heuristic by constraint and name: location-like reals (``loc``,
            ``mu``, ``mean``...) start at the median, other reals at 0;
            scale-like positives (``scale``, ``sigma``...) at the IQR-based
            standard deviation, other positives at 1; probabilities at 1/2.
            Give ``init`` whenever those are poor starting points. A function
            must use the weights ``w`` (``None`` or an array like ``x``): rows
            of weight 0 are not data (masks, and the padding of shape buckets,
            which repeats the first observation), e.g. ``jm.families.base.
            weighted_mean(x, w)`` rather than ``jnp.mean(x)``.
        cdf: optional ``cdf(params, x)``.
        sample: optional ``sample(params, key, shape)``.

    Example:
        >>> import jax.numpy as jnp, numpy as np, jaxmle as jm
        >>> def gompertz_logpdf(p, x):   # a distribution jaxmle does not ship
        ...     b, eta = p["rate"], p["shape"]
        ...     return jnp.log(b * eta) + eta + b * x - eta * jnp.exp(b * x)
        >>> fam = jm.Custom(gompertz_logpdf, {"shape": "positive", "rate": "positive"},
        ...                 name="gompertz", support="positive")
        >>> x = np.random.default_rng(0).gumbel(size=500) ** 2 + 0.1
        >>> bool(jm.fit(fam, x).converged)
        True
    """

    def __init__(
        self,
        logpdf: Callable[[Params, jax.Array], jax.Array],
        constraints: Mapping[str, Any],
        *,
        name: str = "custom",
        support: Any = "real",
        init: Mapping[str, Any] | Callable | None = None,
        cdf: Callable | None = None,
        sample: Callable | None = None,
    ):
        if not callable(logpdf):
            raise TypeError(f"logpdf must be callable, got {type(logpdf).__name__}")
        if not isinstance(constraints, Mapping) or not constraints:
            raise TypeError("constraints must be a non-empty dict of parameter name -> constraint")
        self.name = str(name)
        self._logpdf = logpdf
        self.param_names = tuple(constraints)
        self.constraints = {
            k: _lookup(_CONSTRAINTS, v, "constraint", C.Constraint) for k, v in constraints.items()
        }
        self.support = _lookup(_SUPPORTS, support, "support", S.Support)
        if init is not None and not (callable(init) or isinstance(init, Mapping)):
            raise TypeError("init must be a dict of starting values or a function init(x, w)")
        self._init = init
        self._cdf = cdf
        self._sample = sample
        self.density = f"user-defined ({getattr(logpdf, '__name__', 'logpdf')})"

    def logpdf(self, params, x):
        return self._logpdf(params, x)

    def init(self, x, w):
        start = self._default_init(x, w)
        if callable(self._init):
            start.update(self._init(x, w))
        elif self._init is not None:
            start.update({k: jnp.asarray(v, x.dtype) for k, v in self._init.items()})
        return start

    def _default_init(self, x, w) -> Params:
        med = weighted_quantile(x, w, 0.5)
        iqr = weighted_quantile(x, w, 0.75) - weighted_quantile(x, w, 0.25)
        m = weighted_mean(x, w)
        sd = jnp.sqrt(weighted_mean((x - m) ** 2, w))
        spread = jnp.where(iqr > 0, iqr / 1.349, jnp.where(sd > 0, sd, 1.0))
        start = {}
        for k, con in self.constraints.items():
            low = k.lower()
            if con is C.real:
                start[k] = med if any(s in low for s in _LOCATION_WORDS) else jnp.zeros_like(m)
            elif con is C.positive:
                is_scale = any(s in low for s in _SCALE_WORDS)
                start[k] = spread if is_scale else jnp.ones_like(m)
            else:
                # The centre of the constraint's set: forward(0) of the right shape.
                start[k] = con.forward(jnp.zeros((), x.dtype))
        return start

    def cdf(self, params, x):
        if self._cdf is None:
            raise NotImplementedError(f"{self.name}: no cdf was given to jm.Custom")
        return self._cdf(params, x)

    def sample(self, params, key, shape=()):
        if self._sample is None:
            raise NotImplementedError(f"{self.name}: no sample was given to jm.Custom")
        return self._sample(params, key, shape)

    def __repr__(self) -> str:
        return f"Custom[{self.name}]({', '.join(self.param_names)})"

    # Functions and dicts are not hashable by value: a custom family is equal
    # only to itself (build it once and reuse it, so fits are compiled once).
    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)
