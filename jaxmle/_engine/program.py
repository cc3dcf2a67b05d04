"""The fit of one in-memory dataset, traced as one program.

The cost of a fit is the number of passes over the data times the cost of a
pass, and every path here keeps the first factor small:

* **closed form** (normal, exponential, ...): the estimate, then one pass for
  the information at the estimate;
* **sufficient statistics** (gamma, beta, inverse gamma): one pass reduces the
  data to ``n`` and the sums of ``family.statistics(x)``; Newton then runs on
  those sums at O(1) cost per iteration (two programs: only the pass depends
  on the data's shape);
* **Newton** (every other family): one fused pass per iteration computes the
  value, gradient and Hessian (:func:`jaxmle.reduction.derivative_pass`), on
  ``family.features(x)`` computed once (``log x`` for a Weibull);
* **optax** (``lbfgs``, ``adam``, ``sgd`` or any transformation): full-batch
  steps on standardized coordinates ``z = D (u - u0)``, ``D = sqrt(diag H(u0))``
  (unit curvature at the start, so one learning rate fits every family), or,
  with a mini-batch size, shuffled mini-batch epochs followed by exact Newton
  passes that land on the full-data MLE.

Every pass is chunked (``plan.chunk`` samples at a time, inside the compiled
program), so memory beyond the data is bounded. Data values are checked on
the device in the first pass (the count of invalid values is returned beside
the output).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.compile import jit_fit
from jaxmle._engine.objective import Objective, count_invalid, total_loglik, total_weight
from jaxmle._engine.output import (
    FitOutput,
    SolverReport,
    finish_body,
    log_coordinates,
    newton_report,
)
from jaxmle._engine.plan import FitPlan
from jaxmle._engine.standardize import Standardization, standardization
from jaxmle._engine.validation import free_names
from jaxmle.families.base import Family, flatten_params, weighted_max, weighted_min
from jaxmle.reduction import reduce_terms
from jaxmle.solvers import (
    OptaxSolver,
    curvature_scale,
    iterative_solve,
    minibatch_steps,
    newton_minimize,
    scaled_gradient,
    shuffled_batches,
    value_grad_hessian,
)
from jaxmle.status import Status

__all__ = [
    "canonical_point",
    "fit_body",
    "fit_finished_program",
    "solve_finished_program",
    "solve_statistics",
    "statistics_pass",
    "statistics_pass_program",
]


def statistics_pass(
    family: Family, plan: FitPlan, x, w, reduce=None, standard=None, transform=True
):
    """``(sums of family.statistics, n_invalid)`` in one pass over ``x`` (of
    the standardized data ``standard.apply(x)`` when given, about its
    centre; ``transform=False``: ``standard`` is the identity, whose
    transformation the pass skips)."""
    combine = (lambda v: v) if reduce is None else reduce
    centre = None if standard is None else standard.centre

    def stats(d):
        if standard is not None and transform:
            d = standard.apply(d)
        return family.statistics(d, centre)

    sums = combine(reduce_terms(stats, x, w, chunk=plan.stat_chunk))
    if w is None:
        # Statistics are non-finite for any value outside the support (a
        # family contract, tested), so the value check costs no pass.
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(t)) for t in sums]))
        return sums, jnp.where(finite, 0, 1)
    return sums, count_invalid(family, x, plan.chunk, reduce)


def solve_statistics(
    family: Family, plan: FitPlan, sums, n, init, fixed, standard: Standardization | None = None
) -> FitOutput:
    """Newton on the sufficient statistics: O(1) per iteration, no data.
    ``sums`` are of the standardized data when ``standard`` is given (``init``
    and ``fixed`` in the data's units)."""
    free = free_names(family, fixed)
    if standard is not None:
        init, fixed = standard.params_in(family, init), standard.params_in(family, fixed)
    centre = None if standard is None else standard.centre
    start = {**family.init_from_statistics(sums, n, centre), **init}
    start = {k: jnp.asarray(start[k], n.dtype) for k in free}
    u0, unflatten = flatten_params(family.to_unconstrained(start), free)

    def f_stats(u):
        params = {**family.to_constrained(unflatten(u)), **fixed}
        return -family.loglik_from_statistics(params, sums, n, centre) / n

    state = newton_minimize(
        partial(value_grad_hessian, f_stats),
        u0,
        max_iter=plan.max_iter,
        gtol=plan.gtol,
        xtol=plan.xtol,
    )
    return FitOutput(
        u_parts=unflatten(state.u),
        hess_u=state.hess,
        exact=None,
        loglik=-n * state.value - _log_jacobian(standard, n),
        n=n,
        n_passes=jnp.asarray(1, jnp.int32),
        report=newton_report(state),
        standard=standard,
    )


def _log_jacobian(standard: Standardization | None, n):
    """``n log b``: the standardized log-likelihood minus this is the data's."""
    return 0.0 if standard is None else standard.log_jacobian(n)


def _statistics_pass_body(family, plan, x, w):
    sums, n_invalid, standard = _units_if_needed(family, plan, x, w, standardization(family, x, w))
    return sums, n_invalid, total_weight(x, w), standard


def _units_if_needed(family: Family, plan: FitPlan, x, w, standard):
    """``(sums, n_invalid, standard)`` of the statistics pass, over the
    standardized data only where :meth:`Standardization.needed` (XLA:CPU
    runs the fused sums of ``(y, log y)`` three times slower for ``y = c x``
    than for ``x``): elsewhere over the data as given, with identity units."""
    if standard is None:
        return (*statistics_pass(family, plan, x, w), None)
    identity = standard.identity()
    return jax.lax.cond(
        standard.needed(x.dtype),
        lambda: (*statistics_pass(family, plan, x, w, None, standard), standard),
        lambda: (*statistics_pass(family, plan, x, w, None, identity, transform=False), identity),
    )


# ``(sums, n_invalid, n, standard)``: the data-dependent half of a statistics fit.
statistics_pass_program = jit_fit(
    _statistics_pass_body, size_arg=2, static_argnums=(0, 1), to_host=True
)


def canonical_point(family: Family, free, unflatten, u_hat):
    """``u`` of the canonical representative of ``u_hat`` (label switching in
    mixtures: ``family.canonicalize``)."""
    canonical = family.canonicalize(family.to_constrained(unflatten(u_hat)))
    return flatten_params(family.to_unconstrained({k: canonical[k] for k in free}), free)[0]


def fit_body(family: Family, plan: FitPlan, x, w, init, fixed, key, reduce=None, standard=None):
    """The whole fit of ``family`` to in-memory data: ``(FitOutput, n_invalid)``.

    ``reduce`` (set by :mod:`jaxmle._engine.sharding` inside ``shard_map``)
    sums partial results across devices; ``None`` on one device.

    The fit is made in standardized units (:mod:`jaxmle._engine.standardize`):
    ``xs = (x - a) / b``, exact, with ``init`` and ``fixed`` mapped alike; the
    output says so (its ``standard``) and its log-likelihood is the data's.
    On one device the units come from ``x``; sharded fits pass ``standard``,
    made from the global array.
    """
    combine = (lambda v: v) if reduce is None else reduce
    free = free_names(family, fixed)
    n_here = total_weight(x, w)
    n = combine(n_here)
    n_local = None if reduce is None else n_here
    exact = None
    if reduce is None:
        standard = standardization(family, x, w)

    if plan.path == "statistics":
        if reduce is None:
            sums, n_invalid, standard = _units_if_needed(family, plan, x, w, standard)
        else:
            sums, n_invalid = statistics_pass(family, plan, x, w, reduce, standard)
        return solve_statistics(family, plan, sums, n, init, fixed, standard), n_invalid
    x_data = x  # the values as given: the support check reads these
    if standard is not None:
        x = standard.apply(x)
        init, fixed = standard.params_in(family, init), standard.params_in(family, fixed)
    if plan.path == "closed_form":
        estimate = _closed_form(family, x_data, w, standard)
        u_hat, unflatten = flatten_params(family.to_unconstrained(estimate), free)
        exact = estimate
        if family.closed_form_checks_values and reduce is None and w is None:
            # A finite estimate vouches for the values (every row counts: no
            # weights, so none is left out of the estimate); else count them.
            finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in estimate.values()]))
            n_invalid = jax.lax.cond(
                finite,
                lambda: jnp.asarray(0, jnp.int32),
                lambda: count_invalid(family, x_data, plan.chunk, None).astype(jnp.int32),
            )
            passes = 1
        else:
            n_invalid = count_invalid(family, x_data, plan.chunk, reduce)
            passes = 2
        if family.exponential_family:
            # At the MLE of a regular exponential family the observed information
            # is n times the expected one: no derivative pass over the data.
            hess_u = _expected_hessian_u(family, free, unflatten, u_hat, estimate)
            at_mle = family.loglik_at_mle(estimate, n)
            if at_mle is None:
                loglik = combine(total_loglik(family, estimate, x, w))
                passes = passes + 1
            else:
                loglik = at_mle
            grad_norm = jnp.where(jnp.all(jnp.isfinite(hess_u)), 0.0, jnp.nan).astype(x.dtype)
        else:
            obj = Objective(
                family, fixed, unflatten, x_data, w, n, plan.chunk, False, reduce, n_local, standard
            )
            value, grad_u, hess_u = obj.derivatives(u_hat)
            passes = passes + 1
            # The information pass gave the value too; where u is not finite (an
            # estimate on the boundary of the parameter space) a pass at the
            # constrained estimate gives it instead. (Under vmap both run.)
            at_mle = family.loglik_at_mle(estimate, n)
            loglik = (
                at_mle
                if at_mle is not None
                else jax.lax.cond(
                    jnp.isfinite(value),
                    lambda: -n * value,
                    lambda: combine(total_loglik(family, {**estimate, **fixed}, x, w)),
                )
            )
            grad_norm = jnp.max(jnp.abs(scaled_gradient(grad_u, hess_u)))
        report = SolverReport(
            n_iter=jnp.asarray(0, jnp.int32),
            grad_norm=grad_norm,
            step_norm=jnp.asarray(0.0, x.dtype),
            status=jnp.asarray(Status.CONVERGED, jnp.int32),
        )
    else:
        n_invalid = count_invalid(family, x_data, plan.chunk, reduce)
        # The passes read the data as given and standardize each chunk (no
        # standardized copy of the data), or the features made once.
        data = family.features(x) if plan.precompute else x_data
        # Long data: Newton starts from a subsample's MLE (unless the caller
        # gave the start of every free parameter).
        given = all(k in init for k in free)
        rows = _subsample_rows(family, x_data) if reduce is None and not given else None
        # The start itself from the subsample only for rows made on the host
        # (censored data: every start holds them; a Kaplan-Meier start sorts);
        # a family whose support moves with its parameters (a generalized
        # Pareto's upper end) starts from all the values, holding every one.
        on_rows = rows is not None and family.rows_checked
        part = partial(jax.tree.map, lambda a: a[rows]) if on_rows else (lambda t: t)
        start_w = None if w is None else part(w)
        first = family.init_features(part(data), start_w) if plan.precompute else None
        if first is None:
            xs = part(x)
            guess = (
                family.init_with_fixed(xs, start_w, fixed) if fixed else family.init(xs, start_w)
            )
        start = {**(guess if first is None else first), **init}
        start = {k: jnp.asarray(start[k], x.dtype) for k in free}
        u0, unflatten = flatten_params(family.to_unconstrained(start), free)
        units = None if plan.precompute else standard
        obj = Objective(
            family, fixed, unflatten, data, w, n, plan.chunk, plan.precompute, reduce, n_local,
            units,
        )  # fmt: skip
        passes = int(not family.rows_checked) + int(plan.precompute)
        if plan.path == "newton":
            limits = log_coordinates(family, free, unflatten(u0))
            if rows is not None:
                u0 = _subsample_fit(plan, obj, rows, u0, limits, x_data, w)
            state = newton_minimize(
                obj.derivatives, u0, max_iter=plan.max_iter, gtol=plan.gtol, xtol=plan.xtol,
                limits=limits,
            )  # fmt: skip
            u_hat, hess_u, value = state.u, state.hess, state.value
            report = newton_report(state)
            passes = passes + state.n_evals
        else:
            u_hat, hess_u, value, report, more = _optax_path(plan, obj, u0, key)
            passes = passes + more
        if family.reorders_params:  # label switching: move to the canonical point
            u_hat = canonical_point(family, free, unflatten, u_hat)
            _, _, hess_u = obj.derivatives(u_hat)
            passes = passes + 1
        # f is the negative mean log-likelihood (canonicalizing a mixture keeps it).
        loglik = -n * value

    out = FitOutput(
        u_parts=unflatten(u_hat),
        hess_u=hess_u,
        exact=exact,
        loglik=loglik - _log_jacobian(standard, n),
        n=n,
        n_passes=jnp.asarray(passes, jnp.int32),
        report=report,
        standard=standard,
    )
    return out, n_invalid


# Newton on long data (``Family.start_from_subsample``) starts from the MLE of
# an evenly spaced subsample of about this many rows: its iterations cost a few
# percent of a pass each, and it lands within the sampling error
# (~1/sqrt(rows)) of the full-data MLE, from where Newton needs two or three
# passes (from a moment start on data of another family, up to twice as many).
SUBSAMPLE_ROWS = 1 << 16
SUBSAMPLE_FROM = 1 << 18


def _subsample_rows(family: Family, x) -> slice | None:
    """Every ``s``-th row (about ``SUBSAMPLE_ROWS``), for long data of a
    family that starts from a subsample; else ``None``."""
    n_rows = x.shape[0]
    if not family.start_from_subsample or n_rows < SUBSAMPLE_FROM:
        return None
    stride = n_rows // SUBSAMPLE_ROWS
    return slice(0, stride * SUBSAMPLE_ROWS, stride)


def _subsample_fit(plan: FitPlan, obj: Objective, rows: slice, u0, limits, x, w):
    """Newton from ``u0`` on the ``rows`` of the objective's data; its
    estimate, or ``u0`` where that fit does not end finite or (univariate
    data ``x``) leaves the smallest or largest value outside the support: a
    generalized Pareto's upper end fitted below the data's maximum, which
    the subsample did not hold (``u0``, the family's start, holds every
    value)."""
    data = jax.tree.map(lambda a: a[rows], obj.data)
    sub_w = None if obj.w is None else obj.w[rows]
    n = total_weight(jax.tree.leaves(data)[0], sub_w)
    sub = dataclasses.replace(obj, data=data, w=sub_w, n=n, n_local=None)
    state = newton_minimize(
        sub.derivatives, u0, max_iter=plan.max_iter, gtol=plan.gtol, xtol=plan.xtol,
        limits=limits,
    )  # fmt: skip
    usable = jnp.all(jnp.isfinite(state.u)) & jnp.isfinite(state.value) & (n > 0)
    if x.ndim == 1:
        ends = jnp.stack([weighted_min(x, w), weighted_max(x, w)])
        ends = ends if obj.standard is None else obj.standard.apply(ends)
        terms = obj.family.logpdf_features(obj.params(state.u), obj.family.features(ends))
        usable = usable & jnp.all(jnp.isfinite(terms))
    return jnp.where(usable, state.u, u0)


def _closed_form(family: Family, x, w, standard: Standardization | None):
    """The closed-form estimate in the fit's units: computed on the
    standardized data where :meth:`Standardization.needed`, else on the data
    as given and mapped (exactly: no shift, a power of two), so that data of
    ordinary magnitude are read once, with no standardized copy."""

    def on(v):
        return {k: jnp.asarray(e, x.dtype) for k, e in family.closed_form(v, w).items()}

    if standard is None:
        return on(x)
    return jax.lax.cond(
        standard.needed(x.dtype),
        lambda: on(standard.apply(x)),
        lambda: standard.params_in(family, on(x)),
    )


def _fit_finished_body(family: Family, plan: FitPlan, x, w, init, fixed, key):
    out, n_invalid = fit_body(family, plan, x, w, init, fixed, key)
    return out, n_invalid, finish_body(family, fixed, free_names(family, fixed), out)


def _solve_finished_body(family: Family, plan: FitPlan, sums, n, init, fixed, standard=None):
    out = solve_statistics(family, plan, sums, n, init, fixed, standard)
    return out, finish_body(family, fixed, free_names(family, fixed), out)


# One program per fit, finishing included (estimates, covariance, standard
# errors): a process that loads a fit from the program store loads one
# executable (two for a statistics fit, whose data-free solve is shared by
# every length and by streamed fits), and its O(p) outputs come back to the
# host in one transfer per dtype.
fit_finished_program = jit_fit(_fit_finished_body, size_arg=2, static_argnums=(0, 1), to_host=True)
solve_finished_program = jit_fit(_solve_finished_body, static_argnums=(0, 1), to_host=True)


def _expected_hessian_u(family: Family, free, unflatten, u_hat, estimate):
    """``J^T I J``: the Hessian in ``u`` of the negative mean log-likelihood at
    the MLE from the expected information ``I`` of one observation (constrained
    parameters) and ``J = d theta / d u`` (the score term vanishes at the MLE)."""
    jac = jax.jacfwd(lambda u: flatten_params(family.to_constrained(unflatten(u)), free)[0])(u_hat)
    idx = np.array([family.param_names.index(k) for k in free])
    info = jnp.asarray(family.expected_information(estimate), u_hat.dtype)[np.ix_(idx, idx)]
    return jac.T @ info @ jac


def _optax_path(plan: FitPlan, obj: Objective, u0, key):
    """Full-batch optax steps, or mini-batch epochs then Newton polishing.

    Returns ``(u_hat, hess_u, value, report, passes)``.
    """
    value0, grad0, hess0 = obj.derivatives(u0)
    scale = curvature_scale(hess0)
    solver = OptaxSolver(plan.optimizer)
    if plan.path == "minibatch":
        z_sgd = _minibatch_epochs(plan, obj, u0, scale, key)
        state = newton_minimize(
            obj.derivatives,
            u0 + z_sgd / scale,
            max_iter=plan.polish_max_iter,
            gtol=plan.polish_gtol,
            xtol=float(np.sqrt(plan.polish_gtol)),
        )
        report = newton_report(state)
        return state.u, state.hess, state.value, report, 1 + plan.epochs + state.n_evals
    state = iterative_solve(
        solver,
        lambda z: obj.value(u0 + z / scale),
        jnp.zeros_like(u0),
        (value0, grad0 / scale, hess0 / jnp.outer(scale, scale)),
        max_iter=plan.max_iter,
        gtol=plan.gtol,
        xtol=plan.xtol,
    )
    u_hat = u0 + state.z / scale
    _, _, hess_u = obj.derivatives(u_hat)
    report = SolverReport(
        n_iter=state.n_iter,
        grad_norm=jnp.max(jnp.abs(solver.convergence_grad(state.grad, state.extra))),
        step_norm=state.step_norm,
        status=state.status,
    )
    # Each step evaluates the objective and gradient once (line searches more).
    return u_hat, hess_u, state.value, report, 2 + state.n_iter


def _minibatch_epochs(plan: FitPlan, obj: Objective, u0, scale, key: Any):
    """``plan.epochs`` shuffled passes of mini-batch optax steps on the
    standardized coordinates; returns the final ``z``.

    Each step follows an unbiased estimate of the full-data objective: the
    batch's weighted log-likelihood scaled by ``N / batch_size``.
    """
    data = obj.data
    n_total = jax.tree.leaves(data)[0].shape[0]
    b = min(plan.batch_size, n_total)
    tx = plan.optimizer

    def batch_value(z, idx):
        part = jax.tree.map(lambda a: a[idx], data)
        wb = None if obj.w is None else obj.w[idx]
        u = u0 + z / scale
        terms = obj.terms(u, part)
        if wb is not None:
            terms = jnp.where(wb > 0, wb * terms, 0.0)
        return -jnp.sum(terms) * (n_total / b) / obj.n

    def epoch(carry, k):
        z, opt_state = carry
        batches = shuffled_batches(k, n_total, b)
        return minibatch_steps(tx, batch_value, z, opt_state, batches), None

    z0 = jnp.zeros_like(u0)
    (z, _), _ = jax.lax.scan(epoch, (z0, tx.init(z0)), jax.random.split(key, plan.epochs))
    return z
