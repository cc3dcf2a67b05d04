"""``jm.fit``: validate, plan, route to the program, the stream or the shards,
build the :class:`~jaxmle.results.FitResult`.

How each path keeps the number of passes over the data small is described in
:mod:`jaxmle._engine.program`; host arrays too large for the device, memmaps
and iterables of chunks are streamed (:mod:`jaxmle._engine.streaming`);
sharded arrays are reduced shard by shard (:mod:`jaxmle._engine.sharding`).

Standard errors come from the observed information in the unconstrained
coordinates ``u`` at the estimate, carried to the constrained parameters by
the delta method (at the MLE this equals the inverse observed information in
the constrained parametrization, since the score vanishes there).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import optax

from jaxmle._engine.hosts import (
    LocalRows,
    check_global_weights,
    check_local_rows,
    spans_processes,
)
from jaxmle._engine.outcome import check_outcome
from jaxmle._engine.output import Estimates, finish, in_order, n_free_params
from jaxmle._engine.plan import (
    METHODS,
    FitOptions,
    check_fixed_init,
    check_support_params,
    key_for,
    make_plan,
)
from jaxmle._engine.program import (
    fit_finished_program,
    solve_finished_program,
    statistics_pass_program,
)
from jaxmle._engine.refit import RefitData
from jaxmle._engine.sharding import fit_sharded, is_sharded, shard_data
from jaxmle._engine.streaming import fit_stream, is_stream
from jaxmle._engine.validation import (
    check_data_values,
    free_names,
    pad_weights,
    prepare_data,
    validate_weights,
)
from jaxmle.families.base import Family
from jaxmle.families.censored import with_censoring
from jaxmle.families.registry import resolve
from jaxmle.inference.covariance import check_cov_type, with_cov_type
from jaxmle.results import FitResult
from jaxmle.status import ConvergenceWarning, ModelWarning

__all__ = ["METHODS", "fit"]

# A host array this long, fitted by sufficient statistics, is reduced chunk by
# chunk as it is copied: cheaper than one large device allocation and copy.
_STREAM_STATISTICS_MIN = 1 << 20
_MINIBATCH_METHODS = ("adam", "sgd")
_ALWAYS_WEIGHTED = 1 << 16


def _options(method, optimizer, max_iter, tol, chunk_size, batch_size, epochs) -> FitOptions:
    """The options, with ``batch_size``'s old meaning (the chunk size of exact
    passes, for methods that take no mini-batches) moved to ``chunk_size``."""
    stochastic = optimizer is not None or method in _MINIBATCH_METHODS
    if batch_size is not None and not stochastic:
        warnings.warn(
            "batch_size= for the chunk size of exact passes is deprecated; use "
            "chunk_size= (batch_size is the mini-batch size of method='adam'/'sgd')",
            DeprecationWarning,
            stacklevel=3,
        )
        if chunk_size is None:
            chunk_size = batch_size
        batch_size = None
    return FitOptions(method, optimizer, max_iter, tol, chunk_size, batch_size, epochs)


def fit(
    fam: Family | str,
    x: Any,
    *,
    weights: Any = None,
    method: str = "auto",
    optimizer: optax.GradientTransformation | None = None,
    init: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    max_iter: int | None = None,
    tol: float | None = None,
    chunk_size: int | None = None,
    batch_size: int | None = None,
    epochs: int | None = None,
    key: jax.Array | int | None = None,
    devices: Any = None,
    cov_type: str = "observed",
    progress: bool | None = None,
) -> FitResult:
    """Fit ``fam`` to the sample ``x`` by maximum likelihood.

    Args:
        fam: a family (``jm.Gamma()``), family class or registered name.
        x: the observations, never modified: a 1-D array (``(N, d)`` for
            multivariate families); a JAX array (kept where it is, sharded
            arrays are reduced shard by shard), a numpy array or ``np.memmap``
            (streamed to the device in chunks when large), or an iterable of
            chunks (see :mod:`jaxmle._engine.streaming`).
        weights: optional non-negative frequency weights, same length as ``x``.
        method: ``"auto"`` (closed form where the family has one, else
            Newton), ``"closed_form"``, ``"newton"`` (damped Newton with exact
            Hessians; on sufficient statistics for exponential families),
            ``"lbfgs"`` (``optax.lbfgs``), ``"adam"`` or ``"sgd"``.
        optimizer: any optax ``GradientTransformation``; it then does the
            steps (on standardized coordinates, see :mod:`jaxmle._engine.program`).
        init: starting values for some or all parameters.
        fixed: parameters held at given values; they get no standard error.
        max_iter: iteration budget (default by method).
        tol: gradient tolerance in units of the local curvature (default by
            method and dtype); the step tolerance is ``sqrt(tol)``.
        chunk_size: samples per chunk of every exact pass (bounded memory:
            the exact objective is accumulated chunk by chunk; a numpy array
            is then streamed to the device chunk by chunk).
        batch_size: the mini-batch size of a stochastic fit
            (``method="adam"``/``"sgd"`` or ``optimizer=``), polished by exact
            Newton passes. (Its old meaning, the chunk size of exact passes,
            is accepted with a ``DeprecationWarning``.)
        epochs: passes of a mini-batch fit (default 5).
        key: PRNG key (or integer seed) for the mini-batch shuffling.
        devices: a sequence of devices to shard the data over (each reduces
            its shard; the partial sums are combined).
        cov_type: the covariance behind ``cov`` and ``stderr``: ``"observed"``
            (inverse observed information, the default), ``"expected"``
            (inverse expected information) or ``"robust"`` (the sandwich
            estimator, valid under misspecification); see
            :mod:`jaxmle.inference.covariance`.
        progress: a progress bar of a streamed fit on stderr, over the
            chunks of every pass (the pass and chunk after the bar):
            ``None`` (default) on a terminal only, ``True`` always (needs
            tqdm), ``False`` never; see :mod:`jaxmle.progress`. An in-memory
            fit is one compiled program and shows none.

    Returns:
        A :class:`~jaxmle.results.FitResult`. A fit that did not converge has
        ``converged=False``, says why in ``message`` and warns with
        :class:`~jaxmle.status.ConvergenceWarning`.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> x = np.random.default_rng(0).gamma(2.0, 1 / 3.0, size=1000)
        >>> res = jm.fit("gamma", x)
        >>> bool(res.converged), round(float(res.params["shape"]), 1)
        (True, 2.0)
    """
    family = resolve(fam)
    check_cov_type(cov_type)
    options = _options(method, optimizer, max_iter, tol, chunk_size, batch_size, epochs)
    if isinstance(x, LocalRows):  # this host's part of data spread over processes
        return _fit_local_rows(family, x, weights, options, init, fixed, key, cov_type, progress)
    family, x = with_censoring(family, x)
    bounded = options.chunk_size is not None or options.batch_size is not None
    stats_from_host = (
        family.has_statistics
        and isinstance(x, np.ndarray)
        and x.shape[:1] >= (_STREAM_STATISTICS_MIN,)
        and method in ("auto", "newton")
        and optimizer is None
        and devices is None
    )
    if stats_from_host or is_stream(x, family, bounded):
        if cov_type != "observed":
            raise ValueError(
                f"cov_type={cov_type!r} needs the data in memory; streamed fits give the "
                "observed information (pass a JAX array to fit it in memory)"
            )
        streamed = fit_stream(family, x, weights, options, init, fixed, key, progress)
        return _result(
            family,
            streamed.plan.method,
            streamed.fixed,
            streamed.output,
            None,
            None,
            streamed.estimates,
        )

    # Lengths are rounded up to shape buckets (weight-0 padding): one program
    # serves every length in a bucket. Sharded data keep their shape.
    bucketed = devices is None and not is_sharded(x)
    xv, n_data = prepare_data(family, x, bucketed=bucketed)
    dtype = np.dtype(xv.dtype)
    if spans_processes(weights):
        w = check_global_weights(weights, n_data, dtype)
    else:
        w = validate_weights(weights, n_data, dtype)
    # Small data always carry weights, so that a length that fills its bucket
    # exactly shares the bucket's program; large data only when padded.
    w = pad_weights(w, n_data, xv.shape[0], dtype, always=bucketed and n_data <= _ALWAYS_WEIGHTED)
    if devices is not None:
        xv, w = shard_data(xv, w, devices)
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    if spans_processes(xv):  # each process checks its own rows; all raise the first error
        check_local_rows(
            xv, w, lambda rows, w_rows: check_support_params(family, fixed, init, rows, w_rows)
        )
    else:
        check_support_params(family, fixed, init, x, weights, dtype)
    plan = make_plan(family, options, fixed_v, dtype)
    # Parameters whose MLE is on the boundary of the support (pareto's scale =
    # min(x)) are held there by iterative fits, and reported as estimates.
    held = _boundary_holds(family, plan, fixed_v, xv, w, dtype)
    fit_fixed = {**held, **fixed_v}
    if held:
        plan = make_plan(family, options, fit_fixed, dtype)
        init_v = {k: v for k, v in init_v.items() if k not in held}
    key = key_for(plan, key)

    estimates = None
    if is_sharded(xv):
        out, n_invalid = fit_sharded(family, plan, xv, w, init_v, fit_fixed, key)
    elif plan.path == "statistics":
        sums, n_invalid, n, standard = statistics_pass_program(family, plan, xv, w)
        out, estimates = solve_finished_program(family, plan, sums, n, init_v, fit_fixed, standard)
    else:
        out, n_invalid, estimates = fit_finished_program(
            family, plan, xv, w, init_v, fit_fixed, key
        )
    if int(n_invalid) > 0:
        if spans_processes(xv):  # each process checks its own rows (counted from 0)
            check_local_rows(xv, None, lambda rows, _: check_data_values(family, rows))
        else:
            check_data_values(family, np.asarray(x))
        raise ValueError(  # (the host check above explains every case it knows)
            f"x has {int(n_invalid)} value(s) that the device found non-finite or outside "
            f"the support of {family.name} ({family.support.description})"
        )
    if is_sharded(xv):
        estimates = finish(family, fit_fixed, free_names(family, fit_fixed), out)
    estimates = _with_held(family, fixed_v, fit_fixed, estimates)
    out, estimates = check_outcome(family, out, estimates, xv, w, n_data)
    refit = RefitData(x=xv, w=w, fixed=fixed_v, options=options)
    n_held = sum(int(np.size(v)) for v in held.values())
    diagnosed = None if spans_processes(xv) else xv  # (the diagnoses read the data on the host)
    result = _result(family, plan.method, fixed_v, out, diagnosed, refit, estimates, n_held)
    return with_cov_type(result, fixed_v, xv, w, cov_type)


def _fit_local_rows(
    family: Family, x: LocalRows, weights, options, init, fixed, key, cov_type, progress
) -> FitResult:
    """``jm.fit`` of data spread over the processes of a ``jax.distributed``
    run, each streaming its own rows (``x.data``); the passes' sums are added
    over processes, so every process gets the same fit."""
    if weights is not None:
        raise TypeError("give the weights of local rows with them: local_rows(x, weights=...)")
    if cov_type != "observed":
        raise ValueError(
            f"cov_type={cov_type!r} needs the data in memory; fits of local rows give the "
            "observed information"
        )
    if options.batch_size is not None or options.optimizer is not None:
        raise ValueError(
            "local rows are fitted with exact passes (method='auto', 'newton' or "
            "'closed_form'); mini-batch and optax methods run on one process"
        )
    streamed = fit_stream(
        family, x.data, x.weights, options, init, fixed, key, progress, across_processes=True
    )
    return _result(
        family, streamed.plan.method, streamed.fixed, streamed.output, None, None,
        streamed.estimates,
    )  # fmt: skip


def _boundary_holds(family: Family, plan, fixed, x, w, dtype) -> dict[str, Any]:
    """``family.boundary_values`` of the parameters not fixed by the user, for
    an iterative fit (a closed form finds them itself)."""
    free = [k for k in family.boundary_params if k not in fixed]
    if not free or plan.path == "closed_form":
        return {}
    values = _boundary_program(family, x, w)
    return {k: np.asarray(values[k], dtype) for k in free if k in values}


def _boundary_values(family: Family, x, w):
    return family.boundary_values(x, w)


_boundary_program = jax.jit(_boundary_values, static_argnums=0)


def _with_held(family: Family, fixed, fit_fixed, est: Estimates) -> Estimates:
    """``est`` of a fit that held boundary parameters, as estimates of every
    free parameter: the held ones get NaN standard errors and covariances
    (the others' are conditional on them, as for a closed form)."""
    free, fit_free = free_names(family, fixed), free_names(family, fit_fixed)
    if free == fit_free:
        return est
    size = {k: int(np.size(est.params[k])) for k in free}
    stderr = {
        k: np.asarray(est.stderr[k]) if k in fit_free else np.full(size[k], np.nan).squeeze()
        for k in free
    }
    starts = np.cumsum([0] + [size[k] for k in free])
    rows = np.concatenate(
        [np.arange(starts[i], starts[i + 1]) for i, k in enumerate(free) if k in fit_free]
    )
    cov = np.full((starts[-1], starts[-1]), np.nan, np.asarray(est.cov).dtype)
    cov[np.ix_(rows, rows)] = np.asarray(est.cov)
    return est._replace(stderr={k: v.astype(cov.dtype) for k, v in stderr.items()}, cov=cov)


def _result(
    family, method, fixed, out, x_for_diagnose, refit, estimates=None, n_held: int = 0
) -> FitResult:
    """The :class:`FitResult` of a program's output (and its estimates, when
    the program finished them; ``n_held``: boundary parameters the fit held
    at their MLE, estimated all the same); warnings on the host."""
    free = free_names(family, fixed)
    if estimates is None:
        estimates = finish(family, fixed, free, out)
    else:
        estimates = in_order(family, free, estimates)
    result = FitResult.from_output(
        family, method, free, n_free_params(out.u_parts) + n_held, out, estimates, refit
    )
    if x_for_diagnose is not None:
        note = family.diagnose(result.params, x_for_diagnose)
        if note:
            warnings.warn(f"{family.name}: {note}", ModelWarning, stacklevel=3)
    if not bool(result.converged):
        warnings.warn(
            f"{family.name} fit ({method}) did not converge: {result.message}",
            ConvergenceWarning,
            stacklevel=3,
        )
    return result
