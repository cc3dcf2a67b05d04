"""The profile log-likelihood of each free parameter on a grid around the MLE
(one compiled program per family and data shape), for ``kind="profile"``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.objective import Objective, total_weight
from jaxmle.families.base import flatten_params
from jaxmle.families.censored import Censored, censored_rows
from jaxmle.linalg import sym_inv
from jaxmle.reduction import default_chunk
from jaxmle.solvers import newton_minimize
from jaxmle.status import Status

if TYPE_CHECKING:  # matplotlib is optional: only for the annotations
    pass
from jaxmle.plot.fitted import FitLike, base_family, data_arrays

__all__ = [
    "Profile",
    "profile",
]


_PROFILE_POINTS = 21  # profile evaluations per parameter (odd: the MLE is one)
_PROFILE_SPAN = 3.0  # the profile's grid: MLE -/+ this many Wald standard errors (in u)

# ---- the profile log-likelihood ------------------------------------------------------------


class Profile(NamedTuple):
    r"""The profile log-likelihood of each free parameter on a grid around the MLE.

    Attributes:
        values: ``(p, G)`` parameter values (constrained), increasing.
        loglik: ``(p, G)`` :math:`\ell_p - \hat\ell` there (NaN where the
            profile fit failed).
    """

    values: np.ndarray
    loglik: np.ndarray


def _profile_body(family, free, fixed, params, x, w, chunk):
    r""":math:`\ell_p(\theta_j) - \hat\ell` for each free scalar parameter
    :math:`\theta_j` at :data:`_PROFILE_POINTS` points :math:`u_j = \hat u_j +
    s\,\mathrm{se}(\hat u_j)`, :math:`s \in [-3, 3]`, in the solver's
    unconstrained coordinates: each a damped Newton solve over the other
    coordinates from the MLE, all of them at once (``vmap``)."""
    u_hat, unflatten = flatten_params(family.to_unconstrained({k: params[k] for k in free}), free)
    p = u_hat.shape[0]
    n = total_weight(x, w)
    obj = Objective(family, fixed, unflatten, x, w, n, chunk, False)
    f_hat, _, h_hat = obj.derivatives(u_hat)
    se_u = jnp.sqrt(jnp.diag(sym_inv(n * h_hat)))
    f64 = u_hat.dtype == jnp.float64
    gtol, xtol = (1e-9, 1e-5) if f64 else (1e-5, 1e-3)
    grid = jnp.linspace(-_PROFILE_SPAN, _PROFILE_SPAN, _PROFILE_POINTS, dtype=u_hat.dtype)

    def one(j, s):
        t = u_hat[j] + s * se_u[j]
        m = (jnp.arange(p) != j).astype(u_hat.dtype)

        def vgh(v):
            f, g, h = obj.derivatives(v * m + t * (1 - m))
            return f, g * m, h * jnp.outer(m, m) + jnp.diag(1 - m)

        state = newton_minimize(vgh, u_hat * m + t * (1 - m), max_iter=50, gtol=gtol, xtol=xtol)
        u = state.u * m + t * (1 - m)
        theta = flatten_params(family.to_constrained(unflatten(u)), free)[0][j]
        ok = (state.status == Status.CONVERGED) & jnp.isfinite(state.value)
        return theta, jnp.where(ok, -n * (state.value - f_hat), jnp.nan)

    js = jnp.repeat(jnp.arange(p), _PROFILE_POINTS)
    ss = jnp.tile(grid, p)
    theta, ll = jax.vmap(one)(js, ss)
    return theta.reshape(p, -1), ll.reshape(p, -1)


_profile_program = jit_fit(_profile_body, size_arg=4, static_argnums=(0, 1, 6), to_host=True)


def profile(res: FitLike, data: Any = None) -> Profile:
    """:class:`Profile` of ``res``'s free parameters on its data (or ``data``).

    Costs about ``p * 21 * (a few)`` passes over the data, in one compiled
    program per family (the same for every dataset of a shape bucket)."""
    family, free = res.family, tuple(res.free_names)
    for k in free:
        if family.constraints[k].event_ndim:
            raise ValueError(
                f"profile plots are for scalar parameters; {k!r} of {family.name} is not"
            )
    if family.boundary_params:
        raise ValueError(
            f"profile plots need a regular MLE; {family.name}'s "
            f"{', '.join(family.boundary_params)} sits on the boundary of the support"
        )
    x, w = data_arrays(res, data)
    params = {k: np.asarray(v) for k, v in res.params.items()}
    refit = res.refit
    if data is None and refit is not None:
        fixed = refit.fixed
    else:
        fixed = {k: jnp.asarray(params[k]) for k in family.param_names if k not in free}
    if isinstance(data, Censored):
        family, x = censored_rows(base_family(family), data)
    dtype = np.asarray(x).dtype if np.issubdtype(np.asarray(x).dtype, np.floating) else float
    params = {k: np.asarray(v, dtype) for k, v in params.items()}
    theta, ll = _profile_program(
        family, free, fixed, params, jnp.asarray(x, dtype), w, default_chunk()
    )
    return Profile(np.asarray(theta), np.asarray(ll))
