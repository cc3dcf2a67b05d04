"""Fits to data that do not sit in device memory: host arrays, memmaps and
iterables of chunks, streamed to the device one chunk at a time.

Every pass sends the data chunk by chunk (``chunk_size`` rows, default
:func:`jaxmle.reduction.default_chunk`) and adds the chunk's partial sums on the
device; JAX dispatches asynchronously, so the next chunk is read and copied
while the device works on the current one. Device memory holds one or two
chunks whatever the size of the data. Three solvers run this way:

* **sufficient statistics** (gamma, beta, ...): one pass, then Newton on the sums.
  One-shot iterators (generators) are fine here.
* **Newton**: exact value, gradient and Hessian of the full-data
  log-likelihood in one pass per iteration (the same update as in memory).
  The source must be re-iterable: an array, a memmap, a list of chunks, or a
  function returning a fresh iterator of chunks.
* **mini-batch** (``method="adam"``/``"sgd"``): ``epochs`` passes of optax
  steps over shuffled mini-batches (chunk order and rows within each chunk
  permuted with ``key``), then exact Newton passes from there ("polishing"),
  so the result is the full-data MLE; ``n_passes`` counts all passes.

Data values are checked on the device in every pass; the first offending
chunk is explained on the host.

**Several processes** (``across_processes``, :func:`jaxmle.multihost.local_rows`):
each process of a ``jax.distributed`` run streams its own rows; after every
pass the O(p^2) sums (value, gradient, Hessian or sufficient statistics, the
count, the number of bad values) are added over processes
(:mod:`jaxmle._engine.hosts`), and the fit's units and starting point come
from process 0's first chunk, so every process holds the same totals and
takes the same steps. Bad values are reported by the process that holds them,
with its host and its row, in every process.

Progress (``progress=``, :mod:`jaxmle.progress`): one bar per fit counts the
chunks of every pass as they are dispatched (no wait for the device), with the
pass and the chunk within it after the bar (``pass 3, chunk 5/10``); its total
is known for a one-pass statistics fit of an array, memmap or list of chunks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.hosts import broadcast_from_first, raise_first_error, sum_over_processes
from jaxmle._engine.output import Estimates, FitOutput, newton_report
from jaxmle._engine.plan import (
    FitOptions,
    FitPlan,
    as_key,
    bounding_params,
    check_fixed_init,
    check_support_params,
    make_plan,
    newton_plan,
)
from jaxmle._engine.program import canonical_point, solve_finished_program
from jaxmle._engine.standardize import Standardization, standardization
from jaxmle._engine.validation import (
    check_data_values,
    convert,
    float_dtype,
    free_names,
    invalid_mask,
)
from jaxmle.families.base import Family, flatten_params
from jaxmle.progress import ProgressBar, progress_bar
from jaxmle.reduction import default_chunk, derivative_pass, reduce_terms
from jaxmle.solvers import (
    curvature_scale,
    minibatch_steps,
    newton_init,
    newton_update,
    shuffled_batches,
)
from jaxmle.status import Status

__all__ = ["ChunkSource", "Part", "StreamFit", "fit_stream", "is_stream"]

_STATISTICS_ROWS = 1 << 20
# Host arrays bigger than this share of the device's memory are streamed.
_DEVICE_SHARE = 0.5


def _device_bytes() -> float:
    return _bytes_limit(jax.devices()[0])


@functools.cache
def _bytes_limit(device) -> float:
    """The device's memory limit (fixed for its lifetime; read once)."""
    try:
        stats = device.memory_stats() or {}
    except Exception:  # backends without memory statistics
        stats = {}
    return float(stats.get("bytes_limit", np.inf))


def is_stream(x: Any, family: Family, bounded: bool) -> bool:
    """Whether ``jm.fit`` streams ``x`` instead of copying it to the device.

    Streamed: memmaps, iterables of arrays (chunks), functions returning such
    an iterator, and numpy arrays that are larger than half the device memory
    or come with a chunk or mini-batch size (``bounded``: bounded device memory).
    """
    if isinstance(x, jax.Array):
        return False
    if isinstance(x, np.memmap) or callable(x) or isinstance(x, Iterator):
        return True
    if isinstance(x, np.ndarray):
        return bounded or x.nbytes > _DEVICE_SHARE * _device_bytes()
    # A list of arrays is a list of chunks; nested Python lists are one array.
    return (
        isinstance(x, (list, tuple))
        and len(x) > 0
        and all(isinstance(c, (np.ndarray, jax.Array)) for c in x)
        and all(np.ndim(c) == 1 + family.event_ndim for c in x)
    )


class Part(NamedTuple):
    """Rows of a data source, in the compute dtype (``x``, not padded) and as
    given (``given``, quoted in messages): they begin at row ``start`` of the
    whole data, inside the source's chunk ``chunk`` (``None`` for an array or
    memmap, which has no chunks of its own)."""

    x: np.ndarray
    given: np.ndarray
    start: int
    chunk: int | None

    def check(self, family: Family) -> None:
        """Raise the ``ValueError`` that names the part's bad values, if any."""
        check_data_values(family, self.given, first_row=self.start, chunk=self.chunk)


class ChunkSource:
    """Chunks of ``rows`` rows of a data source, as float host arrays with
    weights (padded to exactly ``rows`` with weight-0 copies of a valid row,
    so every chunk has one shape and one compiled program)."""

    def __init__(self, family: Family, x: Any, weights: Any, rows: int):
        self.family = family
        self.rows = rows
        self.weights = None if weights is None else np.asarray(weights)
        if isinstance(x, np.ndarray):
            if x.ndim != 1 + family.event_ndim:
                raise ValueError(
                    f"x must have {1 + family.event_ndim} dimension(s) for {family.name}, "
                    f"got shape {x.shape}"
                )
            if x.shape[0] == 0:
                raise ValueError("x is empty: at least one observation is needed")
            if self.weights is not None and self.weights.shape != (x.shape[0],):
                raise ValueError(
                    f"weights must have shape ({x.shape[0]},) like x, got {self.weights.shape}"
                )
            self.factory: Callable[[], Iterable] = lambda: (
                x[i : i + rows] for i in range(0, x.shape[0], rows)
            )
            self.reiterable = True
            self.indexable = x
        else:
            if weights is not None:
                raise ValueError("weights are supported for array data only, not for chunks")
            self.indexable = None
            if callable(x):
                self.factory, self.reiterable = x, True
            elif isinstance(x, Iterator):
                self.factory, self.reiterable = (lambda it=x: it), False
            else:
                self.factory, self.reiterable = (lambda: iter(x)), True
        self.dtype: np.dtype | None = None
        self._used = False

    def as_float(self, c: Any, start: int = 0, chunk: int | None = None) -> np.ndarray:
        """The chunk ``c`` (number ``chunk``, from row ``start`` of the data)
        as a host array in the compute dtype (fixed by the first chunk)."""
        arr = np.asarray(c)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
        ):
            raise TypeError(f"chunks must hold real numbers, got dtype {arr.dtype}")
        if arr.ndim != 1 + self.family.event_ndim:
            raise ValueError(
                f"each chunk must have {1 + self.family.event_ndim} dimension(s) for "
                f"{self.family.name}, got shape {arr.shape}"
            )
        if self.dtype is None:
            self.dtype = float_dtype(arr)
        return convert("x", arr, self.dtype, first_row=start, chunk=chunk)

    def parts(self) -> Iterator[Part]:
        """The data in parts of at most ``rows`` rows, with where they are."""
        if self._used and not self.reiterable:
            raise TypeError(
                "this fit needs several passes over the data, but x is a one-shot "
                "iterator: pass a list of chunks, an array or memmap, or a function "
                "that returns a fresh iterator of chunks"
            )
        self._used = True
        start = 0
        chunked = self.indexable is None  # an array's slices are not the user's chunks
        for number, raw in enumerate(self.factory()):
            chunk = number if chunked else None
            arr = self.as_float(raw, start, chunk)
            given = np.asarray(raw)
            for j in range(0, arr.shape[0], self.rows):
                part = arr[j : j + self.rows]
                yield Part(part, given[j : j + self.rows], start, chunk)
                start += part.shape[0]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """``(x_chunk, w_chunk, n_real)``, each padded to ``rows`` rows."""
        for part in self.parts():
            yield self.padded(part.x, part.start)

    def padded(self, part: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, int]:
        """``(rows, weights, n_real)`` for the rows ``part`` that begin at row
        ``start`` of the data, padded to ``self.rows`` with weight-0 copies."""
        m = part.shape[0]
        if self.weights is not None:
            w = self.weights[start : start + m].astype(self.dtype)
        else:
            w = np.ones(m, self.dtype)
        if m < self.rows:
            pad = self.rows - m
            part = np.concatenate([part, np.repeat(part[:1], pad, axis=0)])
            w = np.concatenate([w, np.zeros(pad, self.dtype)])
        return part, w, m


_T = TypeVar("_T")


class _Meter:
    """The progress of a streamed fit: ``bar`` counts the chunks of every pass
    (``per_pass`` of them; ``None`` until a pass has counted them), and shows
    the pass and the chunk within it after the bar."""

    def __init__(self, bar: ProgressBar | None = None, per_pass: int | None = None):
        self.bar = ProgressBar() if bar is None else bar
        self.per_pass = per_pass
        self.passes = 0

    def counted(self, chunks: Iterable[_T], label: str = "") -> Iterator[_T]:
        """One pass over ``chunks``: each is counted when the loop that reads
        it asks for the next one (after its program was dispatched)."""
        self.passes += 1
        head = f"pass {self.passes}" + (f" ({label})" if label else "")
        done = 0
        for chunk in chunks:
            yield chunk
            done += 1
            if self.bar.shown:
                of = "?" if self.per_pass is None else self.per_pass
                self.bar.set_postfix_str(f"{head}, chunk {done}/{of}", refresh=False)
                self.bar.update()
        if self.per_pass is None:
            self.per_pass = done


def _parts_per_pass(source: ChunkSource, x: Any) -> int | None:
    """The parts of one pass over ``source`` (``None``: known after a pass)."""
    rows = source.rows
    if source.indexable is not None:
        return -(-source.indexable.shape[0] // rows)
    if isinstance(x, (list, tuple)):
        return sum(-(-int(np.shape(c)[0]) // rows) for c in x)
    return None


# ---- per-chunk programs (compiled once per family, chunk shape and plan) ----


def _units(std: Standardization | None, xc):
    """The chunk in the fit's units."""
    return xc if std is None else std.apply(xc)


@partial(jax.jit, static_argnums=0)
def _chunk_statistics(family, std, stat_units, xc, wc):
    centre = None if stat_units is None else stat_units.centre
    sums = reduce_terms(lambda d: family.statistics(_units(std, d), centre), xc, wc)
    # Statistics are non-finite outside the support (the Family contract).
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(t)) for t in sums]))
    n = xc.shape[0] if wc is None else jnp.sum(wc)
    return sums, jnp.asarray(n, xc.dtype), jnp.where(finite, 0, 1)


@partial(jax.jit, static_argnums=(0, 1))
def _chunk_derivatives(family, order, u, template, fixed, std, xc, wc):
    free = free_names(family, fixed)
    _, unflatten = flatten_params(template, free)

    def terms(v, d):
        return family.logpdf(family.to_constrained(unflatten(v)) | fixed, _units(std, d))

    out = derivative_pass(terms, u, xc, wc, order=order)
    bad = invalid_mask(family, xc)
    if wc is None:
        return out, jnp.asarray(xc.shape[0], xc.dtype), jnp.sum(bad)
    return out, jnp.sum(wc), jnp.sum(bad & (wc > 0))


@jax.jit
def _kahan_add(acc, comp, t):
    y = jax.tree.map(jnp.subtract, t, comp)
    s = jax.tree.map(jnp.add, acc, y)
    comp = jax.tree.map(lambda s_, a, y_: (s_ - a) - y_, s, acc, y)
    return s, comp


def _stream_sum(
    source: ChunkSource,
    program: Callable,
    meter: _Meter | None = None,
    across_processes: bool = False,
) -> tuple[Any, Any]:
    """Sum ``program(x_chunk, w_chunk) -> (sums, n, n_bad)`` over all chunks,
    compensated on the device (one pass of ``meter``), and over the processes
    when ``across_processes``; raise on invalid data, naming the first bad
    values by their row in the whole data (and their chunk; and their process)."""
    meter = _Meter() if meter is None else meter
    acc = comp = None
    # A one-shot iterator cannot be read again to explain bad values: each
    # part's count is read one part late (the device keeps a part queued) and
    # the first bad part is kept on the host.
    pending: tuple[Part, Any] | None = None
    suspect: Part | None = None
    for part in meter.counted(source.parts()):
        xc, wc, m = source.padded(part.x, part.start)
        # Unweighted full chunks need no weight array (nor its copy).
        full = m == xc.shape[0] and source.weights is None
        out = program(jnp.asarray(xc), None if full else jnp.asarray(wc))
        if acc is None:
            acc, comp = out, jax.tree.map(jnp.zeros_like, out)
        else:
            acc, comp = _kahan_add(acc, comp, out)
        if not source.reiterable and suspect is None:
            if pending is not None and int(pending[1]) > 0:
                suspect = pending[0]
            pending = (part, out[2])
    if suspect is None and pending is not None and int(pending[1]) > 0:
        suspect = pending[0]
    sums, n, bad = jax.tree.map(jnp.subtract, acc, comp)
    local_bad = int(bad)
    if across_processes:
        sums, n, bad = jax.tree.map(jnp.asarray, sum_over_processes((sums, n, bad)))

    def explain() -> None:
        if local_bad == 0:
            return
        if source.reiterable:  # explain the first offending part, by the data's rows
            for part in source.parts():
                part.check(source.family)
        elif suspect is not None:
            suspect.check(source.family)
        raise ValueError(
            f"x has {local_bad} value(s) that are NaN, infinite or outside the support of "
            f"{source.family.name} ({source.family.support.description})"
        )

    if int(bad) > 0:
        (raise_first_error if across_processes else _call)(explain)
        raise ValueError(f"x has {int(bad)} invalid value(s)")  # (explained above)
    return sums, n


def _call(fn: Callable[[], _T]) -> _T:
    return fn()


class StreamFit(NamedTuple):
    """A streamed fit: its output, the plan it ran, the validated fixed values,
    and its estimates where the program finished them (statistics fits)."""

    output: FitOutput
    plan: FitPlan
    fixed: dict[str, jax.Array]
    estimates: Estimates | None = None


class _Prepared(NamedTuple):
    """A streamed fit, checked and planned before its passes."""

    source: ChunkSource
    first: np.ndarray
    plan: FitPlan
    fixed: dict[str, jax.Array]
    init: dict[str, jax.Array]
    one_pass: bool


def fit_stream(
    family: Family,
    x: Any,
    weights: Any,
    options: FitOptions,
    init: Any,
    fixed: Any,
    key: Any,
    progress: bool | None = None,
    across_processes: bool = False,
) -> StreamFit:
    """``jm.fit`` on a streamed source; see the module docstring (``progress``:
    a bar over the chunks of every pass, see :mod:`jaxmle.progress`;
    ``across_processes``: ``x`` is this process's part of the data)."""
    # Across processes, an error of one process is raised in all, never alone.
    source, first, plan, fixed_v, init_v, one_pass = (
        raise_first_error if across_processes else _call
    )(lambda: _prepare(family, x, weights, options, init, fixed))
    if across_processes:  # the same units and start everywhere: process 0's chunk
        first = _first_of_process_zero(first, source.rows)
    per_pass = _parts_per_pass(source, x)
    bar = progress_bar(
        per_pass if one_pass else None,
        f"fit {family.name}",
        enabled=progress,
        unit="chunk",
        steps=per_pass if one_pass else None,
    )
    with bar:
        return _fit_passes(
            family, x, source, plan, first, np.dtype(source.dtype), init_v, fixed_v, key,
            _Meter(bar, per_pass), across_processes,
        )  # fmt: skip


def _first_of_process_zero(first: np.ndarray, rows: int) -> np.ndarray:
    """Process 0's first chunk, in every process (padded to ``rows`` rows for
    the exchange, which needs one shape everywhere)."""
    buffer = np.concatenate([first, np.repeat(first[:1], rows - first.shape[0], axis=0)])
    length = broadcast_from_first(np.asarray(first.shape[0], np.int32))
    return broadcast_from_first(buffer)[: int(length)]


def _prepare(family: Family, x: Any, weights: Any, options: FitOptions, init, fixed) -> _Prepared:
    """The source, its first chunk and the plan of a streamed fit, with the
    data's layout, the fixed and starting values checked."""
    # One pass of sufficient statistics costs a dispatch per chunk: bigger chunks.
    rows = options.chunk_size or options.batch_size
    rows = rows or (_STATISTICS_ROWS if family.has_statistics else default_chunk())
    source = ChunkSource(family, x, weights, rows)
    if source.reiterable:
        raw_first = next(iter(source.factory()), None)
    else:  # peek at a one-shot iterator, then put the chunk back
        raw_first = next(x, None)
        source.factory = lambda first=raw_first, rest=x: _prepend(first, rest)
    if raw_first is None:
        raise ValueError("x has no chunks: at least one observation is needed")
    given_first = np.asarray(raw_first)[:rows]
    first = source.as_float(given_first, 0, None if source.indexable is not None else 0)
    dtype = np.dtype(source.dtype)
    fixed_v, init_v = check_fixed_init(family, fixed, init, dtype)
    # Fixed or init values that bound the support: a pass over the data (a
    # one-shot iterator is read once, by the fit: its first chunk only).
    parts = source.parts() if source.reiterable else [Part(first, given_first, 0, 0)]
    for part in parts if bounding_params(family, fixed, init) else ():
        w_part = None if source.weights is None else source.weights[part.start :][: len(part.x)]
        check_support_params(family, fixed, init, part.given, w_part, dtype, first_row=part.start)
    plan = make_plan(family, options, fixed_v, dtype)
    if plan.path == "optax":
        raise ValueError(
            f"method={plan.method!r} needs the data in memory (a JAX array, no chunk_size=); "
            "streamed or chunked data are fitted with method='newton' (exact passes) or "
            "'adam'/'sgd' with a mini-batch batch_size="
        )
    plan = newton_plan(plan, family, dtype)  # closed forms need the data at once
    one_pass = plan.path == "statistics"
    if not one_pass and not source.reiterable:
        raise TypeError(
            f"fitting {family.name} needs several passes over the data, but x is a "
            "one-shot iterator: pass a list of chunks, an array or memmap, or a "
            "function that returns a fresh iterator of chunks"
        )
    return _Prepared(source, first, plan, fixed_v, init_v, one_pass)


def _fit_passes(
    family, x, source, plan, first, dtype, init_v, fixed_v, key, meter, across_processes
) -> StreamFit:
    """The passes of :func:`fit_stream` over ``source`` (counted by ``meter``;
    summed over processes when ``across_processes``)."""
    passes = 0
    # The fit's units (:mod:`jaxmle._engine.standardize`), from the first chunk.
    units = _first_units(family, jnp.asarray(first))
    std = units
    if units is not None and not bool(units.needed(dtype)):
        std = None  # data of ordinary magnitude: read as given (faster fused passes)

    if plan.path == "statistics":
        # Statistics about the centre of the first chunk, in the fit's units.
        stat_units = units if std is not None or units is None else units.identity()
        program = partial(_chunk_statistics, family, std, stat_units)
        sums, n = _stream_sum(source, program, meter, across_processes)
        out, estimates = solve_finished_program(family, plan, sums, n, init_v, fixed_v, stat_units)
        return StreamFit(out, plan, fixed_v, estimates)
    free = free_names(family, fixed_v)
    # Start from the family's init on the first chunk (in the fit's units).
    init_s, fixed_s = init_v, fixed_v
    if std is not None:
        init_s, fixed_s = std.params_in(family, init_v), std.params_in(family, fixed_v)
    start = {**family.init(_units(std, jnp.asarray(first)), None), **init_s}
    start = {k: jnp.asarray(start[k], dtype) for k in free}
    u_start = family.to_unconstrained(start)  # the layout of u (a Cholesky factor's, ...)
    u0, unflatten = flatten_params(u_start, free)

    def full_pass(u, order=2):
        program = partial(_chunk_derivatives, family, order, u, u_start, fixed_s, std)
        return _stream_sum(source, program, meter, across_processes)

    if plan.path == "minibatch":
        u0 = _stream_minibatch(
            family, plan, source, x, u0, u_start, fixed_s, full_pass, key, std, meter
        )
        passes += plan.epochs + 1
        settings = (plan.polish_max_iter, plan.polish_gtol, float(np.sqrt(plan.polish_gtol)))
    else:
        settings = (plan.max_iter, plan.gtol, plan.xtol)
    state, more, n = _stream_newton(full_pass, u0, *settings)
    passes += more
    if family.reorders_params:
        u_c = canonical_point(family, free, unflatten, state.u)
        (_, _, h), n = full_pass(u_c)
        state = state._replace(u=u_c, hess=-h / n)
        passes += 1

    out = FitOutput(
        u_parts=unflatten(state.u),
        hess_u=state.hess,
        exact=None,
        loglik=-n * state.value - (0.0 if std is None else std.log_jacobian(n)),
        n=n,
        n_passes=jnp.asarray(passes, jnp.int32),
        report=newton_report(state),
        standard=std,
    )
    return StreamFit(out, plan, fixed_v)


# The change of units of a stream, from its first chunk (one small program).
_first_units = jax.jit(standardization, static_argnums=0)


def _prepend(first: np.ndarray, rest: Iterator) -> Iterator:
    yield first
    yield from rest


# Compiled once per shape and settings (not once per fit).
_newton_update = jax.jit(newton_update, static_argnames=("max_iter", "gtol", "xtol"))


def _stream_newton(full_pass, u0, max_iter, gtol, xtol):
    """The Newton update of :mod:`jaxmle.solvers.newton`, one streamed pass per
    step; returns ``(state, passes, n)``."""
    update = partial(_newton_update, max_iter=max_iter, gtol=gtol, xtol=xtol)
    state = newton_init(u0)
    passes, n = 0, None
    while int(state.status) == Status.RUNNING:
        (value, grad, hess), n = full_pass(state.trial())
        passes += 1
        state = update(state, -value / n, -grad / n, -hess / n)
    return state, passes, n


def _stream_minibatch(family, plan, source, x, u0, template, fixed, full_pass, key, std, meter):
    """Mini-batch optax epochs over the streamed chunks (each a pass of
    ``meter``); returns the point to polish."""
    (_, _, hess0), n = full_pass(u0)
    scale = curvature_scale(-hess0 / n)
    tx = plan.optimizer
    b = min(plan.batch_size, source.rows)
    key = as_key(key)
    free = free_names(family, fixed)
    _, unflatten = flatten_params(template, free)

    @jax.jit
    def chunk_steps(z, opt_state, xc, wc, k):
        def batch_value(z, idx):
            u = u0 + z / scale
            lp = family.logpdf(family.to_constrained(unflatten(u)) | fixed, _units(std, xc[idx]))
            wb = wc[idx]
            return -jnp.sum(jnp.where(wb > 0, wb * lp, 0.0)) * (n / b) / n

        batches = shuffled_batches(k, xc.shape[0], b)
        return minibatch_steps(tx, batch_value, z, opt_state, batches)

    z = jnp.zeros_like(u0)
    opt_state = tx.init(z)
    listed = isinstance(x, (list, tuple))
    for epoch, e_key in enumerate(jax.random.split(key, plan.epochs), 1):
        order_key, row_key = jax.random.split(e_key)
        if source.indexable is not None:  # array or memmap: chunks in random order
            rows, total = source.rows, source.indexable.shape[0]
            starts = np.asarray(jax.random.permutation(order_key, -(-total // rows))) * rows
            stream = (_array_chunk(source, int(s)) for s in starts)
        elif listed:  # a list of chunks: visit them in random order
            order = np.asarray(jax.random.permutation(order_key, len(x)))
            sub = ChunkSource(family, [x[i] for i in order], None, source.rows)
            stream = iter(sub)
        else:  # a chunk iterator factory: its own order, rows shuffled within chunks
            stream = iter(source)
        for i, (xc, wc, _) in enumerate(meter.counted(stream, f"epoch {epoch}/{plan.epochs}")):
            z, opt_state = chunk_steps(
                z, opt_state, jnp.asarray(xc), jnp.asarray(wc), jax.random.fold_in(row_key, i)
            )
    return u0 + z / scale


def _array_chunk(source: ChunkSource, start: int):
    x = source.indexable
    return source.padded(source.as_float(x[start : start + source.rows], start), start)
