r"""Functions of the parameters: estimate, standard error and interval.

By the delta method, :math:`\widehat{\mathrm{var}}\, g(\hat\theta) = \nabla g^T
\hat\Sigma \nabla g` with :math:`\hat\Sigma` the fit's covariance (of its
``cov_type``) and the gradient by autodiff; by the bootstrap, the spread of
:math:`g` over the refitted replicates (:mod:`jaxmle.inference.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from jaxmle.families.base import Family, flatten_params

__all__ = ["Derived", "delta_method", "on_boundary"]


@dataclass(frozen=True)
class Derived:
    """A derived quantity: ``estimate``, ``stderr`` and the interval
    ``(lower, upper)`` at ``level``, by ``method`` (``"delta"``,
    ``"percentile"``, ``"bca"`` or ``"basic"``). Arrays follow ``fn``'s output
    shape (with a leading dataset axis for :func:`jaxmle.fit_many` results)."""

    estimate: Any
    stderr: Any
    lower: Any
    upper: Any
    level: float
    method: str

    def conf_int(self) -> tuple[Any, Any]:
        return self.lower, self.upper

    def __repr__(self) -> str:
        if np.ndim(self.estimate) == 0:
            return (
                f"Derived(estimate={float(self.estimate):.6g}, stderr={float(self.stderr):.4g}, "
                f"{100 * self.level:g}% CI ({self.method}) = [{float(self.lower):.6g}, "
                f"{float(self.upper):.6g}])"
            )
        return f"Derived(shape {np.shape(self.estimate)}, method={self.method!r})"


def _value_and_jacobian(fn: Callable, params, free):
    theta, unflatten = flatten_params({k: params[k] for k in free}, free)

    def g(t):
        return jnp.asarray(fn({**params, **unflatten(t)}))

    return g(theta), jax.jacobian(g)(theta)


def delta_method(
    params: Mapping[str, Any],
    free: tuple[str, ...],
    cov: Any,
    fn: Callable[[dict], Any],
    level: float = 0.95,
    *,
    batched: bool = False,
) -> Derived:
    """:class:`Derived` for ``fn(params)`` of a fit with covariance ``cov`` of
    the ``free`` parameters (or of each fit of a batch when ``batched``)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    params = {k: jnp.asarray(v) for k, v in params.items()}

    def one(p, cov):
        est, jac = _value_and_jacobian(fn, p, free)
        jac2 = jac.reshape(est.size, -1)
        se = jnp.sqrt(jnp.einsum("ip,pq,iq->i", jac2, cov, jac2)).reshape(est.shape)
        return est, se

    if batched:
        est, se = jax.vmap(one)(params, cov)
    else:
        est, se = one(params, cov)
    z = ndtri(0.5 + 0.5 * level)
    return Derived(est, se, est - z * se, est + z * se, level, "delta")


def on_boundary(family: Family, params: Mapping[str, Any], free: tuple[str, ...]) -> np.ndarray:
    """Where an estimate sits exactly on the boundary of its parameter's set:
    a scalar free parameter that is not NaN and not inside its constraint's
    open set (Poisson's ``rate = 0``, Bernoulli's ``p`` = 0 or 1, a shape at
    ``inf``), so that its unconstrained coordinate is infinite. Elementwise
    over the leading (dataset, replicate) axes; host numpy, no compilation."""
    out = np.asarray(False)  # broadcasts against any batch shape
    for k in free:
        constraint = family.constraints[k]
        if constraint.event_ndim == 0:
            v = np.asarray(params[k])
            out = out | (~np.isnan(v) & ~np.asarray(constraint.contains(v), bool))
    return out
