r"""The bootstrap: every replicate refitted in one vmapped program.

``kind="nonparametric"`` resamples the observations with replacement; it is
done by reweighting, each replicate's weights being the multinomial counts of
``N`` draws with probabilities :math:`w_i / \sum w` (scaled to the original
total weight), so the data never move. ``kind="parametric"`` draws ``N``
observations from the fitted model. The replicates are fitted by
:func:`jaxmle.fit_many`'s batch program (same method and fixed parameters,
started at the original estimate), so 1,000 replicates cost about one batched fit.

Intervals: ``"percentile"``, ``"basic"`` and ``"bca"`` (bias-corrected and
accelerated, Efron 1987), whose acceleration
:math:`a = \sum_i U_i^3 / (6 (\sum_i U_i^2)^{3/2})` comes from the empirical
influence of each observation on the estimate, :math:`U_i = e_j^T A^{-1} s_i`
(:math:`s_i` the per-sample score and :math:`A` the observed information):
the influence function of an M-estimator, with no jackknife refits. Where
BCa's bias correction :math:`z_0 = \Phi^{-1}(\#\{\theta^*_b < \hat\theta\}/B)`
or its acceleration is undefined (every replicate equal, every replicate on one
side of the estimate, :math:`a` not finite, or :math:`1 - a(z_0 + z_q) \le 0`),
the interval falls back to the percentile interval with a
:class:`~jaxmle.ModelWarning` naming the parameter and the datasets.

Honest failures: a fit that did not converge, was flagged by ``fit_many``, or
whose estimate is NaN or on the boundary of the parameter space (where the
bootstrap is not valid) is not bootstrapped: its replicates, standard errors
and intervals are NaN, with a :class:`~jaxmle.ConvergenceWarning` naming the
dataset and why. A replicate counts if its fit converged, or if its data are
degenerate with the estimate exactly on the boundary (a resample of 0 successes
has :math:`\hat p = 0`); a statistic of fewer than two replicates is NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.batch import datasets_per_call, free_dimension, run_batch
from jaxmle._engine.buckets import bucket_length
from jaxmle._engine.compile import jit_fit
from jaxmle._engine.plan import (
    FitOptions,
    as_key,
    check_fixed_init,
    key_for,
    make_plan,
    positive_int,
)
from jaxmle._engine.refit import RefitData
from jaxmle.families.base import Family, flatten_params
from jaxmle.inference.delta import Derived, on_boundary
from jaxmle.linalg import sym_solve
from jaxmle.progress import progress_bar
from jaxmle.status import ConvergenceWarning, ModelWarning, Status

__all__ = [
    "BootstrapResult",
    "ReplicateFits",
    "bootstrap",
    "not_refitted",
    "refit_replicates",
    "replicate_data",
]

KINDS = ("nonparametric", "parametric")
INTERVALS = ("percentile", "basic", "bca")


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap replicates of a fit.

    Attributes:
        replicates: ``{name: array}``, each ``(n,)`` (``(B, n)`` for a batch
            of fits), the refitted free parameters.
        estimate: the original estimates ``{name: value}``.
        converged: which replicates' fits converged (the others are left out
            of every statistic).
        kind: ``"nonparametric"`` or ``"parametric"``.
        params: the fit's parameters (all of them).
        family_name: the fitted family's name.
        batched: the replicates have a leading dataset axis.
        acceleration: ``acceleration(fn)``, BCa's acceleration for
            ``fn(params)`` (a parameter's name for the parameter itself).
    """

    replicates: dict[str, Any]
    estimate: dict[str, Any]
    converged: Any
    kind: str
    params: dict[str, Any] = field(repr=False)
    family_name: str = ""
    batched: bool = False
    acceleration: Callable[[Any], Any] = field(default=lambda fn: 0.0, repr=False)

    @property
    def stderr(self) -> dict[str, Any]:
        """The replicates' standard deviation per parameter (ddof 1)."""
        return {k: _nanstd(v, self.converged) for k, v in self.replicates.items()}

    def conf_int(self, level: float = 0.95, method: str = "bca") -> dict[str, tuple[Any, Any]]:
        """``{name: (lower, upper)}`` by ``method``: ``"percentile"``,
        ``"basic"`` or ``"bca"`` (default)."""
        return {k: self._interval(k, level, method) for k in self.replicates}

    def delta(self, fn: Callable[[dict], Any], level: float = 0.95, method: str = "bca") -> Derived:
        """Bootstrap standard error and interval of ``fn(params)``."""
        values = self._apply(fn)
        est = np.asarray(_apply_one(fn, self.params, self.batched))
        accel = self.acceleration(fn) if method == "bca" else 0.0
        where = (self.family_name, "fn(params)", self.batched)
        lo, hi = _interval(values, est, self.converged, accel, level, method, where)
        return Derived(est, _nanstd(values, self.converged), lo, hi, level, method)

    def _apply(self, fn):
        params = {k: np.asarray(v) for k, v in self.params.items()}
        reps = {k: np.asarray(v) for k, v in self.replicates.items()}
        batched = self.batched
        shape = next(iter(reps.values())).shape[: 2 if batched else 1]
        full = {
            k: reps[k] if k in reps else np.broadcast_to(
                np.expand_dims(params[k], 1) if batched else params[k],
                shape + np.shape(params[k])[1 if batched else 0 :],
            )
            for k in params
        }  # fmt: skip
        g = jax.vmap(lambda p: jnp.asarray(fn(p)))
        if batched:
            g = jax.vmap(g)
        return np.asarray(g({k: jnp.asarray(v) for k, v in full.items()}))

    def _interval(self, name, level, method):
        reps = np.asarray(self.replicates[name])
        est = np.asarray(self.estimate[name])
        accel = self.acceleration(name) if method == "bca" else 0.0
        where = (self.family_name, repr(name), self.batched)
        return _interval(reps, est, self.converged, accel, level, method, where)

    def __repr__(self) -> str:
        n = np.shape(self.converged)[-1]
        return f"BootstrapResult({self.kind}, {n} replicates, {self.family_name})"


class _Getter:
    """``params -> params[name]`` (hashable, so its program is compiled once)."""

    def __init__(self, name):
        self.name = name

    def __call__(self, params):
        return params[self.name]

    def __eq__(self, other):
        return isinstance(other, _Getter) and other.name == self.name

    def __hash__(self):
        return hash(("_Getter", self.name))


def _nanstd(v, ok):
    """The standard deviation (ddof 1) over the replicate axis of the
    replicates where ``ok``; NaN with fewer than two."""
    v = np.where(_expand(ok, np.asarray(v)), v, np.nan)
    axis = np.ndim(ok) - 1
    count = np.sum(~np.isnan(v), axis=axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: NaN
        sd = np.nanstd(v, axis=axis, ddof=1)
    return np.where(count >= 2, sd, np.nan)


def _expand(ok, v):
    ok = np.asarray(ok)
    return ok.reshape(ok.shape + (1,) * (v.ndim - ok.ndim))


def _apply_one(fn, params, batched):
    params = {k: jnp.asarray(v) for k, v in params.items()}
    if batched:
        return jax.vmap(lambda p: jnp.asarray(fn(p)))(params)
    return jnp.asarray(fn(params))


_NORMAL = NormalDist()
_ndtr = np.vectorize(_NORMAL.cdf, otypes=[float])
_ndtri = np.vectorize(lambda p: _NORMAL.inv_cdf(p) if 0.0 < p < 1.0 else np.nan, otypes=[float])


def _interval(reps, est, ok, accel, level, method, where=("", "", False)):
    """Per-dataset (leading axes) interval over the replicate axis; ``where``:
    ``(family name, quantity, batched)`` for the warnings."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if method not in INTERVALS:
        raise ValueError(f"unknown interval {method!r}; choose one of {', '.join(INTERVALS)}")
    reps = np.asarray(reps, float)
    ok = np.asarray(ok)
    reps = np.where(_expand(ok, reps), reps, np.nan)
    # rows (dataset, then the quantity's own axes) x replicates
    moved = np.moveaxis(reps, ok.ndim - 1, -1)
    shape = moved.shape[:-1]
    flat = moved.reshape(-1, moved.shape[-1])
    est = np.broadcast_to(np.asarray(est, float), shape).reshape(-1)
    count = np.sum(~np.isnan(flat), axis=1)
    alpha = (1.0 - level) / 2.0
    if method == "bca":  # a pair of quantile levels per row
        a = np.asarray(accel, float)
        a = np.broadcast_to(a.reshape(a.shape + (1,) * (len(shape) - a.ndim)), shape).reshape(-1)
        probs, why = _bca_levels(flat, est, a, alpha)
        _warn_fallback(why, count, shape, where)
        out = np.full((flat.shape[0], 2), np.nan)
        for i in np.flatnonzero(count >= 2):
            out[i] = np.nanquantile(flat[i], probs[i])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN
            out = np.nanquantile(flat, [alpha, 1.0 - alpha], axis=1).T
    out[count < 2] = np.nan  # fewer than two replicates: no interval
    lo, hi = out[:, 0].reshape(shape), out[:, 1].reshape(shape)
    if method == "basic":
        e = est.reshape(shape)
        lo, hi = 2 * e - hi, 2 * e - lo
    return lo, hi


def _bca_levels(flat, est, accel, alpha):
    r"""BCa's quantile levels per row, :math:`\Phi(z_0 + (z_0 + z_q) / (1 - a (z_0 + z_q)))`
    for :math:`q = \alpha, 1 - \alpha`, with :math:`z_0 = \Phi^{-1}((\#\{< \hat\theta\}
    + \#\{= \hat\theta\} / 2) / B)`; where they are undefined, the
    percentile levels and why (``""`` where defined)."""
    count = np.sum(~np.isnan(flat), axis=1)
    e = est[:, None]
    prop = (np.sum(flat < e, axis=1) + 0.5 * np.sum(flat == e, axis=1)) / np.maximum(count, 1)
    z0 = _ndtri(prop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        spread = np.nanmax(flat, axis=1) - np.nanmin(flat, axis=1)
    why = np.full(flat.shape[0], "", object)

    def undefined(mask, reason):
        why[mask & (why == "")] = reason

    undefined(spread == 0, "every replicate is equal")
    undefined(~np.isfinite(z0), "every replicate is on one side of the estimate: z0 is infinite")
    undefined(~np.isfinite(accel), "the acceleration is not finite")
    levels = []
    for q in (alpha, 1.0 - alpha):
        zq = _NORMAL.inv_cdf(q)
        with np.errstate(all="ignore"):
            d = 1.0 - accel * (z0 + zq)
            levels.append(_ndtr(z0 + (z0 + zq) / d))
        undefined(~(d > 0), "the acceleration is too large: 1 - a (z0 + z) <= 0")
    levels = np.stack(levels, 1)
    undefined(~np.all((levels >= 0) & (levels <= 1), axis=1), "its quantile levels are undefined")
    fallback = why != ""
    levels[fallback] = [alpha, 1.0 - alpha]
    return levels, why


def _warn_fallback(why, count, shape, where):
    """One :class:`ModelWarning` per reason BCa fell back to the percentile
    interval (rows with fewer than two replicates are NaN, not a fallback)."""
    family, quantity, batched = where
    per_dataset = int(np.prod(shape[1:])) if batched else max(int(np.prod(shape)), 1)
    for reason in sorted(set(why[(why != "") & (count >= 2)])):
        rows = np.flatnonzero((why == reason) & (count >= 2))
        datasets = sorted({int(r) // per_dataset for r in rows})
        at = f" for datasets {_listing([str(d) for d in datasets])}" if batched else ""
        warnings.warn(
            f"{family} bootstrap: the BCa interval of {quantity}{at} is undefined ({reason}); "
            "the percentile interval is given instead",
            ModelWarning,
            stacklevel=5,
        )


def _listing(items: list[str], most: int = 8) -> str:
    """``a, b, c`` (at most ``most`` items, then how many more)."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more


def _influence_factory(family, params, free, x, w, batched):
    """``accel(fn)``: BCa's acceleration for ``fn(params)`` (``None``: 0)."""

    def accel_one(params, xb, wb, fn):
        u_hat, unflatten = flatten_params(
            family.to_unconstrained({k: params[k] for k in free}), free
        )

        def full(u):
            return {**params, **family.to_constrained(unflatten(u))}

        def lp(u, xi):
            return family.logpdf(full(u), xi[None])[0]

        scores = jax.vmap(lambda xi: jax.grad(lp)(u_hat, xi))(xb)
        wts = jnp.ones(xb.shape[0], u_hat.dtype) if wb is None else wb
        scores = jnp.where(wts[:, None] > 0, scores, 0.0)

        def total(u):
            v = jax.vmap(lambda xi: lp(u, xi))(xb)
            return jnp.sum(jnp.where(wts > 0, wts * v, 0.0))

        info = -jax.hessian(total)(u_hat)
        grad_fn = jax.grad(lambda u: jnp.sum(jnp.asarray(fn(full(u)))))(u_hat)
        infl = scores @ sym_solve(info, grad_fn)
        num = jnp.sum(wts * infl**3)
        den = 6.0 * jnp.sum(wts * infl**2) ** 1.5
        return num / den

    cache = {}

    def accel(fn):
        if fn is None:
            return 0.0
        if isinstance(fn, str):  # a free parameter, by name: one program for all
            if "params" not in cache:
                cache["params"] = {k: accel(_Getter(k)) for k in free}
            return cache["params"][fn]
        prog = jax.jit(
            jax.vmap(lambda p, xb, wb: accel_one(p, xb, wb, fn)) if batched
            else (lambda p, xb, wb: accel_one(p, xb, wb, fn))
        )  # fmt: skip
        values = {k: jnp.asarray(v) for k, v in params.items()}
        return np.asarray(prog(values, jnp.asarray(x), None if w is None else jnp.asarray(w)))

    return accel


def _resampled_weights_body(key, w, m, n_obs, dtype):
    """``m`` rows of multinomial counts of ``n`` draws with probabilities
    ``w / sum(w)`` (uniform without weights), scaled to the total weight; ``n``
    is the number of observed rows (weight > 0), so weight-0 padding (shape
    buckets, ragged batches) neither is drawn nor adds draws."""
    if w is None:
        idx = jax.random.randint(key, (m, n_obs), 0, n_obs)
        counts = jax.vmap(lambda i: jnp.zeros(n_obs, dtype).at[i].add(1.0))(idx)
        return counts
    # inverse-cdf draws: O(n_obs log n_obs) per replicate
    cum = jnp.cumsum(w)
    total = cum[-1]
    n_draw = jnp.sum(w > 0)
    # side="right": a draw never lands on a weight-0 row (a flat step of cum).
    u = jax.random.uniform(key, (m, n_obs), dtype, 0.0, total)
    idx = jnp.searchsorted(cum, u, side="right")
    idx = jnp.clip(idx, 0, n_obs - 1)
    drawn = (jnp.arange(n_obs) < n_draw).astype(dtype)  # the first n_draw draws count
    counts = jax.vmap(lambda i: jnp.zeros(n_obs, dtype).at[i].add(drawn))(idx)
    return counts * (total / n_draw)


_resampled_weights = jit_fit(_resampled_weights_body, static_argnums=(2, 3, 4))


def _model_weights(w, m, n_obs, dtype):
    """Weights of a parametric replicate: each observed row (weight > 0) of
    ``w`` gets the mean weight, padding keeps weight 0."""
    if w is None:
        return None
    n_draw = jnp.sum(w > 0)
    row = jnp.where(w > 0, jnp.sum(w) / n_draw, 0.0).astype(dtype)
    return jnp.broadcast_to(row, (m, n_obs))


def _model_draws_body(family, params, key, m, n_obs, dtype):
    """``m`` replicates of ``n_obs`` observations drawn from the fitted model."""
    return family.sample(params, key, (m, n_obs)).astype(dtype)


# Compiled (and stored) once per family and shape: drawn eagerly, a sampler's
# operations each compile on their own, in every process.
_model_draws = jit_fit(_model_draws_body, static_argnums=(0, 3, 4, 5))


def not_refitted(
    params: Mapping[str, Any], free: tuple[str, ...], skip: Sequence[str], batched: bool
) -> tuple[str, ...]:
    """Per dataset (one for a single fit), why it gets no replicates: ``skip``'s
    reason, or an estimate that is not finite (``""``: it gets them)."""
    b_data = int(np.shape(next(iter(params.values())))[0]) if batched and params else 1
    reasons = list(np.broadcast_to(np.array(list(skip) or [""], object), (b_data,)))
    for d in range(b_data):
        finite = all(
            np.all(np.isfinite(np.asarray(params[k])[d] if batched else np.asarray(params[k])))
            for k in free
        )
        if not reasons[d] and not finite:
            reasons[d] = "its estimate is not finite"
    return tuple(str(r) for r in reasons)


def replicate_data(refit: RefitData) -> tuple[jax.Array, jax.Array | None]:
    """``refit``'s data and weights on the device, as replicates are made from
    them: a single fit's padding (its shape bucket) trimmed to the batch
    ladder (weight-0 rows at the end change no replicate, and cost one each in
    every replicate)."""
    x, w = refit.arrays()
    if w is not None and not refit.batched:
        wh = np.asarray(w)
        rows = bucket_length(int(np.flatnonzero(wh > 0)[-1]) + 1 if np.any(wh > 0) else 1)
        if rows < wh.shape[0]:
            x, w = np.asarray(x)[:rows], wh[:rows]
    return jnp.asarray(x), None if w is None else jnp.asarray(w)


class ReplicateFits(NamedTuple):
    """One compiled call's refitted replicates of one dataset
    (:func:`refit_replicates`); arrays have the call's ``per_call`` rows, of
    which the first ``size`` are replicates (the rest pad the call's shape).

    Attributes:
        dataset: the dataset of a batch they replicate (0 for a single fit).
        start: the index of the first of them among the dataset's replicates.
        size: how many replicates the call holds.
        x: their data on the device, ``(per_call, rows[, d])``: draws from the
            fitted model (parametric), or the data themselves (nonparametric:
            the replicates differ by their weights).
        w: their weights, ``(per_call, rows)`` (``None``: all 1).
        params: every parameter (fixed ones included) refitted, ``(per_call, ...)``.
        status: the refits' :class:`~jaxmle.status.Status` codes.
        counted: the replicates that count: converged, or degenerate with the
            estimate exactly on the boundary (a resample of 0 successes).
    """

    dataset: int
    start: int
    size: int
    x: jax.Array
    w: jax.Array | None
    params: dict[str, np.ndarray]
    status: np.ndarray
    counted: np.ndarray


def refit_replicates(
    family: Family,
    params: Mapping[str, Any],
    free: tuple[str, ...],
    method: str,
    refit: RefitData,
    *,
    n: int,
    kind: str,
    key: Any = 0,
    replicates_per_call: int | None = None,
    reasons: Sequence[str] = (),
    progress: bool | None = None,
    label: str = "",
) -> Iterator[ReplicateFits]:
    """Draw ``n`` replicates of each dataset of ``refit`` (kind
    ``"nonparametric"``: resampled observations, as multinomial weights;
    ``"parametric"``: draws of the fit at ``params``) and refit them with
    :func:`jaxmle.fit_many`'s batch program, the same method and fixed
    parameters, started at the estimate (unless it was a closed form).

    The one implementation of replicate refits: :func:`bootstrap` and the
    goodness-of-fit tests (:mod:`jaxmle.inference.gof`) consume its chunks.
    Arguments are checked here; the replicates are made as the returned
    iterator is consumed, ``replicates_per_call`` at a time, in dataset order,
    with the PRNG key split once per call. Datasets with a reason in
    ``reasons`` (see :func:`not_refitted`) get none. ``progress``: a bar over
    the replicates (:mod:`jaxmle.progress`; ``label`` before it, by default
    ``"<kind> bootstrap <family>"``), each call counted once its consumer
    asks for the next.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown bootstrap kind {kind!r}; choose one of {', '.join(KINDS)}")
    if replicates_per_call is not None:
        replicates_per_call = positive_int("replicates_per_call", replicates_per_call)
    return _replicate_chunks(
        family, params, free, method, refit, int(n), kind, as_key(key), replicates_per_call,
        tuple(reasons), progress, label or f"{kind} bootstrap {family.name}",
    )  # fmt: skip


def _replicate_chunks(
    family, params, free, method, refit, n, kind, key, per_call, reasons, progress, label
):
    x, w = replicate_data(refit)
    batched = refit.batched
    xs = x if batched else x[None]
    ws = None if w is None else (w if batched else w[None])
    b_data, n_obs = xs.shape[0], xs.shape[1]
    dtype = x.dtype
    params = {k: jnp.asarray(v) for k, v in params.items()}
    pb = params if batched else {k: v[None] for k, v in params.items()}
    per_call = datasets_per_call(xs.shape[1:], per_call, n)
    # The replicates are refitted as the original was (without a mini-batch
    # size: full-batch), from the original estimate unless it was a closed form.
    opts = refit.options
    options = FitOptions(
        method=opts.method if opts.optimizer is None else "auto",
        optimizer=opts.optimizer,
        max_iter=opts.max_iter,
        tol=opts.tol,
    )
    fixed, _ = check_fixed_init(family, refit.fixed or None, None, dtype)
    plan = make_plan(family, options, fixed, dtype)
    n_free = free_dimension(family, xs.shape[1:], dtype, fixed)
    refitted = [d for d in range(b_data) if not (d < len(reasons) and reasons[d])]
    bar = progress_bar(
        n * len(refitted), label, enabled=progress, unit="replicate",
        steps=-(-n // per_call) * len(refitted),
    )  # fmt: skip
    with bar:  # each call counted once the consumer asks for the next
        for d in refitted:
            xd = xs[d]
            wd = None if ws is None else ws[d]
            pd = {k: v[d] for k, v in pb.items()}
            init = None
            if (
                method != "closed_form"
                and opts.optimizer is None
                and np.all([np.all(np.isfinite(np.asarray(pd[k]))) for k in free])
            ):
                init = {k: np.asarray(pd[k]) for k in free}
            _, init_v = check_fixed_init(family, fixed, init, dtype)
            for start in range(0, n, per_call):
                m = min(per_call, n - start)
                key, sub = jax.random.split(key)
                # Every call draws and fits per_call replicates (one shape: one
                # program); the last call keeps the first m.
                if kind == "nonparametric":
                    wb = _resampled_weights(sub, wd, per_call, n_obs, dtype)
                    xb = jnp.broadcast_to(xd, (per_call, *xd.shape))
                else:
                    xb = _model_draws(family, pd, sub, per_call, n_obs, np.dtype(dtype))
                    wb = _model_weights(wd, per_call, n_obs, dtype)
                out = run_batch(
                    family, plan, xb, wb, init_v, fixed, key_for(plan, None), n_free, per_call
                )
                status = np.asarray(out.report.status)
                est = {k: np.asarray(v) for k, v in out.estimates.params.items()}
                # A degenerate resample (all values equal) counts when its
                # estimate is exactly on the boundary (0 successes: p = 0).
                exact = (status == Status.DEGENERATE) & on_boundary(family, est, free)
                counted = (status == Status.CONVERGED) | exact
                yield ReplicateFits(d, start, m, xb, wb, est, status, counted)
                bar.update(m)


def _warn_replicates(family, reasons, left_out, n, batched) -> None:
    """The warnings for datasets not bootstrapped and replicates left out."""
    what = "dataset {}" if batched else "the fit"
    skipped = [f"{what.format(d)} ({r})" for d, r in enumerate(reasons) if r]
    if skipped:
        warnings.warn(
            f"{family} bootstrap: not bootstrapped: {_listing(skipped)}; its replicates, "
            "standard errors and intervals are NaN",
            ConvergenceWarning,
            stacklevel=4,
        )
    if left_out.any():
        total = f"{int(left_out.sum())} of {n * len(reasons)}"
        idx = np.flatnonzero(left_out)
        at = f" (datasets {_listing([f'{d}: {left_out[d]}' for d in idx])})" if batched else ""
        few = [str(d) for d in idx if n - left_out[d] < 2]
        none = ""
        if few:
            none = (
                f"; fewer than two counted for {'datasets ' + _listing(few) if batched else 'it'}"
                ", whose statistics are NaN"
            )
        warnings.warn(
            f"{family} bootstrap: {total} replicate fits did not converge{at}; they are left "
            f"out of every statistic{none}",
            ConvergenceWarning,
            stacklevel=4,
        )


def bootstrap(
    family: Family,
    params: Mapping[str, Any],
    free: tuple[str, ...],
    method: str,
    refit: RefitData,
    n: int = 1000,
    kind: str = "nonparametric",
    key: Any = 0,
    replicates_per_call: int | None = None,
    *,
    skip: Sequence[str] = (),
    progress: bool | None = None,
) -> BootstrapResult:
    """Refit ``n`` bootstrap replicates of the fit at ``params`` (made by
    ``method``) of ``refit``'s data; each dataset of a batch gets its own
    ``n`` replicates. Called by :meth:`jaxmle.FitResult.bootstrap`.

    Args:
        family, params, free, method: the fit.
        refit: its data and options.
        n: the number of replicates.
        kind: ``"nonparametric"`` (resample the observations) or
            ``"parametric"`` (draw from the fitted model).
        key: a PRNG key or integer seed.
        replicates_per_call: replicates per compiled call (default: about
            ``2**24`` values at a time).
        skip: per dataset, why its fit is not to be bootstrapped (``""``: it
            is); those datasets, and any whose estimate is not finite, get NaN
            replicates with a :class:`~jaxmle.ConvergenceWarning`.
        progress: a progress bar over the replicates (:mod:`jaxmle.progress`).

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> x = np.random.default_rng(0).weibull(1.5, 1000)
        >>> boot = jm.fit("weibull", x).bootstrap(n=200, key=1)
        >>> boot.replicates["shape"].shape
        (200,)
    """
    batched = refit.batched
    reasons = not_refitted(params, free, skip, batched)
    chunks = refit_replicates(
        family, params, free, method, refit, n=n, kind=kind, key=key,
        replicates_per_call=replicates_per_call, reasons=reasons, progress=progress,
    )  # fmt: skip
    b_data = len(reasons)
    reps = {
        k: np.full((b_data, n, *np.shape(v)[1 if batched else 0 :]), np.nan, np.result_type(v))
        for k, v in ((k, np.asarray(params[k])) for k in free)
    }
    conv = np.zeros((b_data, n), bool)
    left_out = np.zeros(b_data, int)
    for c in chunks:
        rows = slice(c.start, c.start + c.size)
        for k in free:
            reps[k][c.dataset, rows] = c.params[k][: c.size]
        conv[c.dataset, rows] = c.counted[: c.size]
        missed = ~c.counted[: c.size] & (c.status[: c.size] != Status.INVALID_DATA)
        left_out[c.dataset] += int(np.sum(missed))
    _warn_replicates(family.name, reasons, left_out, n, batched)
    replicates = reps
    if not batched:
        replicates = {k: v[0] for k, v in replicates.items()}
        conv = conv[0]
    x, w = replicate_data(refit)
    estimate = {k: np.asarray(params[k]) for k in free}
    accel = _influence_factory(family, params, free, x, w, batched)
    return BootstrapResult(replicates, estimate, conv, kind, params, family.name, batched, accel)
