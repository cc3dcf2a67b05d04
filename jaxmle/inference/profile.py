r"""Profile-likelihood confidence intervals (as MINUIT's MINOS).

For a free scalar parameter :math:`\theta_j` the interval at ``level`` is
:math:`\{\theta_j : 2(\hat\ell - \ell_p(\theta_j)) \le q\}`, with
:math:`q = \chi^2_{1,\mathrm{level}}` and the profile log-likelihood
:math:`\ell_p(\theta_j) = \max_{\theta_{-j}} \ell(\theta)` (every other
parameter re-optimized). It is invariant under reparametrization, so it is
found in the solver's unconstrained coordinate :math:`u_j` and mapped back: a
scale's interval never crosses 0, a probability's stays in (0, 1).

Each end solves :math:`|r(t)| = \sqrt q` on its side of :math:`\hat u_j`, for
the signed root :math:`r(t) = \mathrm{sign}(t - \hat u_j)\sqrt{2(\hat\ell -
\ell_p(t))}`, which is close to linear in :math:`t`: from the Wald end,
outwards by secants until the end is bracketed, then by regula falsi (Illinois);
a profile fit that fails (a warm start outside a parameter-dependent support,
as the GEV's) shrinks the step back towards the last converged one instead of
ending the search. Each evaluation of :math:`\ell_p` is a damped Newton solve
over the other coordinates, warm-started from the nearest converged one, and
the program holds one copy of it (no derivative of :math:`\ell_p`, so no extra
pass). All :math:`2p` ends are solved at once (``vmap``), and under
``fit_many`` for every dataset at once.

Every end comes with an :class:`EndStatus`, and :func:`profile_conf_int` says
what was not found: an end the profile never reaches (the likelihood stays
within :math:`q/2` of its maximum as the parameter runs off to its boundary)
is that boundary (``inf``, ``0``, ...) with a :class:`~jaxmle.ModelWarning`;
an end that could not be found is NaN with a
:class:`~jaxmle.ConvergenceWarning` naming the parameter, the side and the
dataset. An MLE on the boundary of the parameter space gets its one-sided
interval: all-zero Poisson counts give :math:`[0, q / (2n)]`
(:math:`2 n \lambda = q`), Bernoulli 0 of :math:`n` gives
:math:`[0, 1 - e^{-q / (2n)}]` (:math:`n \log(1 - p) = -q/2`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtri

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.objective import Objective, total_weight
from jaxmle._engine.refit import RefitData
from jaxmle.families.base import Family, flatten_params
from jaxmle.linalg import sym_inv
from jaxmle.reduction import default_chunk
from jaxmle.solvers import newton_minimize
from jaxmle.status import ConvergenceWarning, ModelWarning, Status

__all__ = ["EndStatus", "profile_bounds_u", "profile_conf_int"]

_MAX_STEPS = 60  # profile evaluations per end
# An end still inside the interval this many Wald standard errors (in u) from
# the MLE, or z^2 if more, counts as unbounded: a profile as flat as
# exp(-rate) in log(rate) with one observation, 2(k - 1) at k standard
# errors, is past z^2 there.
_FAR = 20.0


class EndStatus(IntEnum):
    """How the search for one end of a profile interval ended."""

    FOUND = 0  # the profile crosses the cutoff there
    UNBOUNDED = 1  # the profile stays above the cutoff up to the parameter's boundary
    BOUNDARY = 2  # the MLE is on this side's boundary: the end is the boundary
    FAILED = 3  # the profile fits failed where the end should be
    NOT_FOUND = 4  # no end within the search's steps
    SKIPPED = 5  # no estimate to profile (a flagged fit)


_RUNNING = -1


class _Search(NamedTuple):
    """One end's search. ``in``: the last point inside the interval (its
    profile within the cutoff, its fit converged); ``out``: the nearest point
    past the end, or whose profile fit failed (``g_out`` NaN); ``pp``: the
    inside point before ``in``. ``g = sqrt(2 n (f - f_hat)) - z`` (negative
    inside); ``w_*``: the Illinois-weighted ``g`` of the bracket's ends."""

    k: jax.Array
    t: jax.Array  # the point evaluated next
    t_in: jax.Array
    g_in: jax.Array
    u_in: jax.Array
    has_in: jax.Array
    t_pp: jax.Array
    g_pp: jax.Array
    has_pp: jax.Array
    t_out: jax.Array
    g_out: jax.Array
    u_out: jax.Array
    has_out: jax.Array
    w_in: jax.Array
    w_out: jax.Array
    last: jax.Array  # the end the last evaluation replaced: 1 inside, -1 outside, 0 none
    delta: jax.Array  # the step when there is no better one
    t_end: jax.Array
    code: jax.Array


def profile_bounds_u(family: Family, fixed, u_hat, unflatten, x, w, level, chunk):
    r"""``(ends, status, reached)``, each ``(p, 2)`` (lower, upper) in ``u``
    for every free coordinate, one dataset (traceable; ``u_hat`` the MLE, NaN
    for no estimate): the ends, their :class:`EndStatus` codes, and the
    farthest point found inside the interval (the MLE if none).

    Each end is a root of :math:`g(t) = |r(t)| - z` on its side of
    :math:`\hat u_j`, bracketed between a point inside the interval and one
    past it (or one where the profile fit failed), then found by regula falsi
    with the Illinois modification (bisection towards a failed point). Until
    bracketed, the search steps outwards by the secant through the last two
    inside points, within a step that doubles while the fits succeed and
    halves back towards the last good point when one fails; each profile fit
    is warm-started from the nearest converged one. An MLE on the boundary of
    the parameter space (:math:`\hat u_j = \pm\infty`: Poisson's rate 0)
    has that boundary as one end, and the search for the other starts at
    :math:`t = 0` and moves towards the boundary until inside.
    """
    p = u_hat.shape[0]
    n = total_weight(x, w)
    obj = Objective(family, fixed, unflatten, x, w, n, chunk, False)
    f_hat, _, h_hat = obj.derivatives(u_hat)
    se_u = jnp.sqrt(jnp.diag(sym_inv(n * h_hat)))
    z = ndtri(0.5 + 0.5 * level)
    dt = u_hat.dtype
    # Tolerances by precision: float64's, or float32's (which cannot meet them).
    f64 = dt == jnp.float64
    gtol, xtol = (1e-9, 1e-5) if f64 else (1e-5, 1e-3)
    close_tol, width_tol = (1e-7, 1e-10) if f64 else (1e-4, 1e-5)
    flat_tol = 1e-6 if f64 else 1e-3
    active = jnp.all(~jnp.isnan(u_hat)) & jnp.isfinite(f_hat)

    def inner(j, t, v0):
        """min over the coordinates other than j of f(u) with u_j = t."""
        m = (jnp.arange(p) != j).astype(dt)

        def vgh(v):
            f, g, h = obj.derivatives(v * m + t * (1 - m))
            return f, g * m, h * jnp.outer(m, m) + jnp.diag(1 - m)

        v0 = jnp.where(m > 0, v0, 0.0)  # v0[j] may be the MLE's infinite coordinate
        state = newton_minimize(vgh, v0 + t * (1 - m), max_iter=50, gtol=gtol, xtol=xtol)
        u = state.u * m + t * (1 - m)
        return u, state.value, state.status == Status.CONVERGED

    def one_end(j, side):
        uj = u_hat[j]
        regular = jnp.isfinite(uj)
        scale = jnp.where(jnp.isfinite(se_u[j]) & (se_u[j] > 0), se_u[j], 1.0)
        scale = jnp.where(regular, scale, 1.0)
        far_dist = jnp.maximum(_FAR, z * z) * scale
        ref = jnp.where(regular, uj, 0.0)
        nan = jnp.asarray(jnp.nan, dt)
        false = jnp.asarray(False)
        toward_boundary = side * uj == jnp.inf  # the MLE is on this side's boundary
        code0 = jnp.where(
            ~active, EndStatus.SKIPPED, jnp.where(toward_boundary, EndStatus.BOUNDARY, _RUNNING)
        )
        start = _Search(
            k=jnp.asarray(0),
            t=jnp.where(regular, uj + side * z * scale, 0.0),  # the Wald end, or 0
            t_in=ref,
            g_in=-z,
            u_in=u_hat,
            has_in=regular,  # the MLE: r = 0
            t_pp=ref,
            g_pp=-z,
            has_pp=false,
            t_out=ref,
            g_out=nan,
            u_out=u_hat,
            has_out=false,
            w_in=-z,
            w_out=nan,
            last=jnp.asarray(0, jnp.int32),
            delta=jnp.where(regular, z * scale, 1.0),
            t_end=jnp.where(code0 == EndStatus.BOUNDARY, uj, nan),
            code=code0.astype(jnp.int32),
        )

        def body(c: _Search) -> _Search:
            use_out = c.has_out & jnp.isfinite(c.g_out)
            use_out &= ~c.has_in | (jnp.abs(c.t - c.t_out) < jnp.abs(c.t - c.t_in))
            u, f, fit_ok = inner(j, c.t, jnp.where(use_out, c.u_out, c.u_in))
            ok = fit_ok & jnp.isfinite(f)
            g = jnp.sqrt(jnp.maximum(2.0 * n * (f - f_hat), 0.0)) - z
            is_in = ok & (g < 0)
            is_out = ~is_in
            g_known = jnp.where(ok, g, nan)
            # Illinois: the end kept twice in a row has its weight halved.
            w_in = jnp.where(is_in, g, jnp.where(c.last == -1, 0.5 * c.w_in, c.w_in))
            w_out = jnp.where(is_out, g_known, jnp.where(c.last == 1, 0.5 * c.w_out, c.w_out))
            pick_in = lambda new, old: jnp.where(is_in, new, old)  # noqa: E731
            pick_out = lambda new, old: jnp.where(is_out, new, old)  # noqa: E731
            t_pp, g_pp = pick_in(c.t_in, c.t_pp), pick_in(c.g_in, c.g_pp)
            has_pp = pick_in(c.has_in, c.has_pp)
            t_in, g_in, u_in = pick_in(c.t, c.t_in), pick_in(g, c.g_in), pick_in(u, c.u_in)
            has_in = c.has_in | is_in
            t_out, g_out = pick_out(c.t, c.t_out), pick_out(g_known, c.g_out)
            u_out = jnp.where(is_out & ok, u, c.u_out)
            has_out = c.has_out | is_out
            known_out = has_out & jnp.isfinite(g_out)
            grow = jnp.minimum(2.0 * c.delta, far_dist)
            delta = jnp.where(ok, grow, jnp.where(c.has_in, 0.5 * jnp.abs(c.t - c.t_in), c.delta))

            # The next point: regula falsi in a bracket whose far end is
            # known; towards a failed end, bisection after a failure, else the
            # extrapolation capped at that end (a retry from a nearer start);
            # outwards, the secant through the last two inside points; with no
            # inside point yet, a step towards the boundary.
            mid = 0.5 * (t_in + t_out)
            denom = w_out - w_in
            rf = t_in - w_in * (t_out - t_in) / jnp.where(denom == 0, 1.0, denom)
            rf_ok = (side * (rf - t_in) > 0) & (side * (t_out - rf) > 0) & (denom != 0)
            slope = (g_in - g_pp) / (side * (t_in - t_pp))
            good = has_pp & jnp.isfinite(slope) & (slope > 0)
            step = jnp.minimum(jnp.where(good, -g_in / jnp.where(good, slope, 1.0), delta), delta)
            ext = t_in + side * step
            capped = jnp.where(side * (ext - t_out) < 0, ext, t_out)
            toward_failed = jnp.where(is_in, capped, mid)
            t_next = jnp.select(
                [has_in & known_out, has_in & has_out, has_in],
                [jnp.where(rf_ok, rf, mid), toward_failed, ext],
                t_out - side * delta,
            )

            close = ok & (jnp.abs(g) <= close_tol * z)
            collapsed = has_in & has_out & (jnp.abs(t_out - t_in) <= width_tol * scale)
            far = has_in & ~has_out & (side * (t_in - ref) > far_dist)
            # Flat: outwards from the last inside point, not past a known end,
            # the profile's slope is below flat_tol of the Wald slope 1 / se:
            # it has reached its limit (the parameter is numerically at its
            # boundary, as a zero-inflation probability of 1e-30).
            dt_in = side * (c.t - c.t_in)
            rel_slope = jnp.abs(g - c.g_in) * scale / jnp.where(dt_in > 0, dt_in, 1.0)
            unbracketed = ~(c.has_out & jnp.isfinite(c.g_out))
            far |= is_in & c.has_in & unbracketed & (dt_in > 0) & (rel_slope <= flat_tol)
            k = c.k + 1
            code = jnp.select(
                [close, collapsed & known_out, collapsed, far, k >= _MAX_STEPS],
                [EndStatus.FOUND, EndStatus.FOUND, EndStatus.FAILED, EndStatus.UNBOUNDED,
                 EndStatus.NOT_FOUND],
                _RUNNING,
            ).astype(jnp.int32)  # fmt: skip
            t_end = jnp.select(
                [close, collapsed & known_out, far], [c.t, t_in, side * jnp.inf], nan
            )
            return _Search(
                k, t_next, t_in, g_in, u_in, has_in, t_pp, g_pp, has_pp, t_out, g_out, u_out,
                has_out, w_in, w_out, jnp.where(is_in, 1, -1).astype(jnp.int32), delta, t_end, code,
            )  # fmt: skip

        end = jax.lax.while_loop(lambda c: c.code == _RUNNING, body, start)
        return end.t_end, end.code, jnp.where(end.has_in, end.t_in, nan)

    js = jnp.repeat(jnp.arange(p), 2)
    sides = jnp.tile(jnp.array([-1.0, 1.0], dt), p)
    ends, codes, reached = jax.vmap(one_end)(js, sides)
    return ends.reshape(p, 2), codes.reshape(p, 2), reached.reshape(p, 2)


def _free_unflatten(family, params, free):
    u_hat, unflatten = flatten_params(family.to_unconstrained({k: params[k] for k in free}), free)
    return u_hat, unflatten


def _interval_program_body(family, free, fixed, params, x, w, level, chunk):
    u_hat, unflatten = _free_unflatten(family, params, free)
    ends_u, codes, reached_u = profile_bounds_u(family, fixed, u_hat, unflatten, x, w, level, chunk)

    def constrained(t):  # (p, 2) in u -> {name: (lower, upper)}
        return {
            k: tuple(family.to_constrained(unflatten(u_hat.at[j].set(t[j, i])))[k] for i in (0, 1))
            for j, k in enumerate(free)
        }

    return constrained(ends_u), codes, constrained(reached_u)


_interval_program = jit_fit(
    _interval_program_body, size_arg=4, static_argnums=(0, 1, 7), to_host=True
)
_interval_program_many = jit_fit(
    jax.vmap(_interval_program_body, in_axes=(None, None, None, 0, 0, 0, None, None)),
    size_arg=4,
    static_argnums=(0, 1, 7),
    name=f"{__name__}._interval_program_many",
    to_host=True,
)

_SIDES = ("lower", "upper")
_WHY = {
    EndStatus.FAILED: "the profile fits failed to converge where the end should be",
    EndStatus.NOT_FOUND: f"the search did not reach it in {_MAX_STEPS} steps",
}


def profile_conf_int(
    family: Family,
    params: Mapping[str, jax.Array],
    free: tuple[str, ...],
    refit: RefitData,
    level: float,
    *,
    skip: Sequence[str] = (),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (lower, upper)}`` profile-likelihood intervals for every free
    parameter (in ``free``'s order) of the fit at ``params`` of ``refit``'s
    data (a batch of fits of its datasets when ``refit.batched``).

    ``skip``: per dataset, why its fit has no estimate to profile (``""``:
    it has one); those datasets' intervals are NaN, with a
    :class:`~jaxmle.ConvergenceWarning`, as are ends that are not found
    (see :class:`EndStatus`).
    """
    for k in free:
        if family.constraints[k].event_ndim:
            raise ValueError(
                f"profile intervals are for scalar parameters; {k!r} of {family.name} is "
                "not (use method='wald' or 'bootstrap')"
            )
    if family.boundary_params:
        raise ValueError(
            f"profile intervals need a regular MLE; {family.name}'s "
            f"{', '.join(family.boundary_params)} sits on the boundary of the support"
        )
    params = {k: np.asarray(v) for k, v in params.items()}
    batch = np.shape(params[free[0]])
    reasons = np.array(list(skip) or [""], object)
    reasons = np.broadcast_to(reasons, (int(np.prod(batch)),)).reshape(batch)
    blocked = reasons != ""
    if blocked.any():  # no estimate: NaN in, NaN out (the search skips it)
        params = {k: np.where(blocked, np.nan, v) if k in free else v for k, v in params.items()}
    chunk = default_chunk()
    lvl = np.asarray(level, np.asarray(params[free[0]]).dtype)
    program = _interval_program_many if refit.batched else _interval_program
    x, w = refit.arrays()
    out, codes, reached = program(family, free, refit.fixed, params, x, w, lvl, chunk)
    _warn_ends(family, free, level, np.asarray(codes), reached, reasons, refit.batched)
    return {k: tuple(np.asarray(v) for v in out[k]) for k in free}  # jit sorts dict keys


def _warn_ends(family, free, level, codes, reached, reasons, batched) -> None:
    """The warnings for what the search did not find (``codes``: ``(..., p,
    2)``; ``reached``: the farthest points found inside each interval)."""
    codes = codes.reshape(-1, len(free), 2)
    reasons = np.asarray(reasons, object).reshape(-1)
    skipped = np.all(codes == EndStatus.SKIPPED, axis=(1, 2))
    if skipped.any():
        what = "dataset {}" if batched else "the fit"
        items = [
            f"{what.format(i)} ({reasons[i] or 'no finite estimate'})"
            for i in np.flatnonzero(skipped)
        ]
        warnings.warn(
            f"{family.name} profile intervals: no estimate to profile for {_listing(items)}; "
            "its intervals are NaN",
            ConvergenceWarning,
            stacklevel=4,
        )
    for j, k in enumerate(free):
        for side, name in enumerate(_SIDES):
            c = codes[:, j, side]
            inside = np.asarray(reached[k][side]).reshape(-1)
            for status, why in _WHY.items():
                idx = np.flatnonzero(c == status)
                if idx.size:
                    tag = " (dataset {})" if batched else ""
                    beyond = _listing([f"{inside[i]:.6g}{tag.format(i)}" for i in idx])
                    warnings.warn(
                        f"{family.name} profile interval of {k!r}{_for(idx, batched)}: the "
                        f"{name} end was not found ({why}); it is NaN (the interval reaches at "
                        f"least {beyond}). Use method='wald' or 'bootstrap' for this parameter",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
            idx = np.flatnonzero(c == EndStatus.UNBOUNDED)
            if idx.size:
                warnings.warn(
                    f"{family.name} profile interval of {k!r}{_for(idx, batched)}: the "
                    f"likelihood stays within chi2/2 of its maximum as {k!r} runs to its "
                    f"{name} boundary, so the data do not bound it at level {level:g}: the "
                    f"{name} end is that boundary",
                    ModelWarning,
                    stacklevel=4,
                )


def _for(idx: np.ndarray, batched: bool) -> str:
    return f" for datasets {_listing([str(i) for i in idx])}" if batched else ""


def _listing(items: list[str], most: int = 8) -> str:
    """``a, b, c`` (at most ``most`` items, then how many more)."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more
