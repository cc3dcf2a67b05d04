"""The empirical distribution a plot draws: sorted or summarized samples,
counts of discrete ones, Kaplan-Meier and Turnbull estimates of censored ones
(see :mod:`jaxmle.plot` for the plotting positions and the long-data summary)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from jaxmle.families.base import Family
from jaxmle.families.censored import Censored, CensoredFamily, Kind, censored_rows

if TYPE_CHECKING:  # matplotlib is optional: only for the annotations
    pass
from jaxmle.plot.fitted import FitLike, base_family, data_arrays

__all__ = [
    "EXACT_MAX",
    "MAX_POINTS",
    "Empirical",
    "Steps",
    "empirical",
    "empirical_of",
    "even_ranks",
    "kaplan_meier",
    "turnbull",
]


MAX_POINTS = 2000
"""The most points an empirical cdf, Q-Q or P-P plot draws (per fit)."""

EXACT_MAX = 1 << 20
"""Continuous samples up to this many observations are sorted; longer ones
are summarized in one pass (module docstring)."""

_FINE_BINS = 1 << 14  # bins between the tails of a long sample
_TAIL = 0.002  # the fraction of a long sample kept exactly at each end
_PILOT = 1 << 16  # the strided pilot that places the tails
_CHUNK = 1 << 16  # values per step of the one-pass summary (cache-sized)

# ---- the empirical distribution ------------------------------------------------------------


class Steps(NamedTuple):
    r"""An empirical cdf as at most :data:`MAX_POINTS` jumps: over
    ``[left[k], right[k]]`` it rises from ``before[k]`` to ``after[k]``
    (a point where ``left == right``; inside a Turnbull interval the estimate
    does not say where). Between kept jumps (a long sample) it is drawn flat,
    then rising at the next kept one.

    ``mid`` is each jump's plotting position, :math:`(i - \tfrac12)/n` for the
    :math:`i`-th of :math:`n` unweighted observations.
    """

    left: np.ndarray
    right: np.ndarray
    before: np.ndarray
    after: np.ndarray

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.before + self.after)

    @property
    def points(self) -> np.ndarray:
        """Where each jump is drawn as a point: a Turnbull interval's middle, or
        its finite end if it is unbounded."""
        left, right = self.left, self.right
        with np.errstate(invalid="ignore"):
            mid = 0.5 * (left + right)
        return np.where(np.isneginf(left), right, np.where(np.isposinf(right), left, mid))

    def subsample(self, most: int = MAX_POINTS) -> Steps:
        """At most ``most`` of the jumps, at evenly spaced ranks (the first and last kept)."""
        idx = even_ranks(self.left.size, most)
        return Steps(*(a[idx] for a in self))


def even_ranks(count: int, most: int = MAX_POINTS) -> np.ndarray:
    """0-based indices of at most ``most`` evenly spaced ranks among ``count``
    ordered values, the first and the last included:
    ``round(k (count - 1) / (most - 1))`` for ``k = 0 .. most - 1``."""
    if count <= most:
        return np.arange(count)
    return np.unique(np.rint(np.linspace(0.0, count - 1.0, most)).astype(np.int64))


class Empirical:
    """The data's distribution as the plots draw it (see the subclasses).

    Attributes:
        label: what it is, for legends (``"empirical"``, ``"Kaplan-Meier"``...).
        total: the total mass: the number of observations (the sum of the
            weights), 1 for a censored data's NPMLE.
        count: the number of observations, for the histogram's bin rule.
        weighted: the observations carry (non-unit) weights.
        lo, hi: the smallest and largest finite values (bounds) of the data.
        discrete: count data (drawn as bars and steps).
    """

    label: str = "empirical"
    total: float
    count: float
    lo: float
    hi: float
    discrete: bool = False
    censored: bool = False
    weighted: bool = False

    def steps(self) -> Steps:
        """At most :data:`MAX_POINTS` jumps of the empirical cdf."""
        raise NotImplementedError

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """The fraction of the mass in each bin ``[edges[i], edges[i + 1])``."""
        raise NotImplementedError

    def quantile(self, p: np.ndarray) -> np.ndarray:
        """Empirical quantiles (approximate where the data are binned)."""
        raise NotImplementedError


class _Sorted(Empirical):
    """A sample sorted by value, with its weights (for a discrete sample: its
    distinct values and their weighted counts)."""

    def __init__(self, xs: np.ndarray, ws: np.ndarray | None, discrete: bool):
        self.xs = xs
        self.ws = np.ones(xs.size) if ws is None else ws
        self.cw = np.cumsum(self.ws)
        self.total = self.count = float(self.cw[-1])
        self.lo, self.hi = float(xs[0]), float(xs[-1])
        self.discrete = discrete

    def steps(self) -> Steps:
        idx = even_ranks(self.xs.size)
        x = self.xs[idx]
        after = self.cw[idx] / self.total
        before = (self.cw[idx] - self.ws[idx]) / self.total
        return Steps(x, x, before, after)

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        return np.histogram(self.xs, edges, weights=self.ws)[0] / self.total

    def quantile(self, p: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.cw, np.asarray(p) * self.total, side="left")
        return self.xs[np.clip(i, 0, self.xs.size - 1)]


class _Binned(Empirical):
    """A long continuous sample in one pass (module docstring): the values
    below ``a`` and above ``b`` sorted, ``counts`` in equal bins between."""

    def __init__(self, a: float, b: float, counts: np.ndarray, low: np.ndarray, high: np.ndarray):
        self.a, self.b, self.counts = a, b, counts
        self.low, self.high = low, high
        self.cum = np.cumsum(counts)
        self.n = int(self.cum[-1]) + low.size + high.size
        self.total = self.count = float(self.n)
        self.lo = float(low[0]) if low.size else a
        self.hi = float(high[-1]) if high.size else b

    def value_at_rank(self, r: np.ndarray) -> np.ndarray:
        """The order statistics of (1-based) ranks ``r``: exact in the tails,
        interpolated inside a bin of the central range."""
        r = np.asarray(r, np.int64)
        n_low, n_mid = self.low.size, int(self.cum[-1])
        q = np.clip(r - n_low, 1, max(n_mid, 1))
        j = np.clip(np.searchsorted(self.cum, q, side="left"), 0, self.counts.size - 1)
        inside = (q - (self.cum[j] - self.counts[j]) - 0.5) / np.maximum(self.counts[j], 1)
        width = (self.b - self.a) / self.counts.size
        out = np.clip(self.a + (j + inside) * width, self.a, self.b)
        out = np.where(r <= n_low, self.low[np.clip(r - 1, 0, max(n_low - 1, 0))], out)
        k = r - n_low - n_mid - 1
        top = self.high[np.clip(k, 0, max(self.high.size - 1, 0))] if self.high.size else out
        return np.where(k >= 0, top, out)

    def steps(self) -> Steps:
        r = even_ranks(self.n) + 1
        x = self.value_at_rank(r)
        return Steps(x, x, (r - 1.0) / self.n, r / self.n)

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        width = (self.b - self.a) / self.counts.size
        centres = self.a + (np.arange(self.counts.size) + 0.5) * width
        mass = np.histogram(centres, edges, weights=self.counts)[0]
        mass = mass + np.histogram(self.low, edges)[0] + np.histogram(self.high, edges)[0]
        return mass / self.total

    def quantile(self, p: np.ndarray) -> np.ndarray:
        r = np.clip(np.ceil(np.asarray(p) * self.n), 1, self.n)
        return self.value_at_rank(r)


class _Npmle(Empirical):
    """The nonparametric MLE of censored data: masses on points and (Turnbull)
    innermost intervals ``[left, right]`` (for counts, the integers between)."""

    censored = True

    def __init__(
        self, steps: Steps, count: float, lo: float, hi: float, discrete: bool, label: str
    ):
        self.all_steps = steps
        self.mass = steps.after - steps.before
        self.total, self.count = 1.0, count
        self.lo, self.hi = lo, hi
        self.discrete = discrete
        self.label = label

    def steps(self) -> Steps:
        return self.all_steps.subsample()

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """The mass of each interval spread uniformly over it (an unbounded end
        cut at the data's extreme bound; a count's over its integers)."""
        s, half = self.all_steps, 0.5 if self.discrete else 0.0
        left = np.where(np.isfinite(s.left), s.left, self.lo) - half
        right = np.where(np.isfinite(s.right), s.right, self.hi) + half
        point = right <= left
        out = np.histogram(left[point], edges, weights=self.mass[point])[0].astype(float)
        spread = ~point
        if spread.any():  # uniform over each interval: the mass of each bin is its overlap
            a, b, m = left[spread, None], right[spread, None], self.mass[spread, None]
            at_edges = m * np.clip((edges[None, :] - a) / (b - a), 0.0, 1.0)
            out += np.diff(at_edges.sum(axis=0))
        return out

    def quantile(self, p: np.ndarray) -> np.ndarray:
        s = self.all_steps
        i = np.clip(np.searchsorted(s.after, np.asarray(p), side="left"), 0, s.after.size - 1)
        x = s.points[i]
        return np.where(np.isfinite(x), x, np.where(x > 0, self.hi, self.lo))


# ---- building the empirical distribution ---------------------------------------------------


def empirical(family: Family, x: Any, w: Any = None) -> Empirical:
    """The data's empirical distribution: ``x`` the values (or the censored
    rows of a :class:`~jaxmle.families.censored.CensoredFamily`), ``w`` their
    weights (rows of weight 0 are padding and are dropped)."""
    x = np.asarray(x)
    if w is not None:
        w = np.asarray(w, float)
        keep = w > 0
        if not keep.all():
            x, w = x[keep], w[keep]
        if np.all(w == 1.0):
            w = None
    emp = _empirical(family, x, w)
    emp.weighted = w is not None
    return emp


def _empirical(family: Family, x: np.ndarray, w: np.ndarray | None) -> Empirical:
    discrete = bool(base_family(family).support.discrete)
    if isinstance(family, CensoredFamily):
        return _censored(x, w, discrete)
    if x.ndim != 1:
        raise ValueError(f"plots need 1-D data, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("no data to plot")
    if discrete:
        return _counted(x, w)
    if w is None and x.size > EXACT_MAX:
        binned = _summarize(x)
        if binned is not None:
            return binned
    order = np.argsort(x, kind="stable") if w is not None else None
    xs = np.sort(x) if order is None else x[order]
    return _Sorted(xs.astype(float), None if w is None else w[order], discrete=False)


def _counted(x: np.ndarray, w: np.ndarray | None) -> _Sorted:
    """A discrete sample as its distinct values and their (weighted) counts:
    by ``bincount`` over the range (one pass) when it is short, else by a sort."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo <= 1 << 22 and np.all(x == np.rint(x)):
        counts = np.zeros(int(hi - lo) + 1)
        for start in range(0, x.size, _CHUNK):
            c = x[start : start + _CHUNK]
            wc = None if w is None else w[start : start + _CHUNK]
            counts += np.bincount((c - lo).astype(np.intp), weights=wc, minlength=counts.size)
        k = np.flatnonzero(counts)
        return _Sorted(lo + k.astype(float), counts[k], discrete=True)
    values, inverse = np.unique(x, return_inverse=True)
    return _Sorted(values.astype(float), np.bincount(inverse, weights=w), discrete=True)


def _summarize(x: np.ndarray) -> _Binned | None:
    """One pass over a long continuous sample (module docstring); ``None``
    where its central range is a single value (ties: sort it instead)."""
    n = x.size
    pilot = np.sort(x[:: max(1, n // _PILOT)])
    a = float(pilot[int(_TAIL * (pilot.size - 1))])
    b = float(pilot[math.ceil((1.0 - _TAIL) * (pilot.size - 1))])
    if not a < b:
        return None
    scale = _FINE_BINS / (b - a)
    counts = np.zeros(_FINE_BINS, np.int64)
    low, high = [], []
    # Buffers reused by every chunk: no allocation in the loop.
    buf, idx = np.empty(_CHUNK), np.empty(_CHUNK, np.intp)
    below_buf, above_buf = np.empty(_CHUNK, bool), np.empty(_CHUNK, bool)
    for start in range(0, n, _CHUNK):
        c = x[start : start + _CHUNK]
        k = c.size
        f, i = buf[:k], idx[:k]
        np.subtract(c, a, out=f)
        np.multiply(f, scale, out=f)
        np.minimum(np.maximum(f, 0.0, out=f), _FINE_BINS - 1.0, out=f)  # tails: end bins
        np.copyto(i, f, casting="unsafe")
        counts += np.bincount(i, minlength=_FINE_BINS)
        below, above = np.less(c, a, out=below_buf[:k]), np.greater(c, b, out=above_buf[:k])
        if below.any():
            low.append(c[below])
        if above.any():
            high.append(c[above])
    low_v = np.sort(np.concatenate(low)) if low else np.empty(0)
    high_v = np.sort(np.concatenate(high)) if high else np.empty(0)
    counts[0] -= low_v.size  # every value below a was counted in bin 0,
    counts[-1] -= high_v.size  # every value above b in the last
    return _Binned(a, b, counts, low_v.astype(float), high_v.astype(float))


def _censored(rows: np.ndarray, w: np.ndarray | None, discrete: bool) -> _Npmle:
    """The NPMLE of censored rows ``[lo, hi, kind(, entry, delayed)]``
    (:mod:`jaxmle.families.censored`): Kaplan-Meier for exact and
    right-censored rows, else Turnbull; rows of no information are left out."""
    kind = rows[:, 2].astype(int)
    keep = kind != Kind.NONE
    rows, kind = rows[keep], kind[keep]
    w = None if w is None else w[keep]
    if rows.shape[0] == 0:
        raise ValueError("the censored data hold no informative observation to plot")
    entry = None
    if rows.shape[1] >= 5:
        entry = np.where(rows[:, 4] > 0, rows[:, 3], -np.inf)
    left = np.where(kind == Kind.LEFT, -np.inf, rows[:, 0])
    right = np.where(
        kind == Kind.RIGHT, np.inf, np.where(kind == Kind.EXACT, rows[:, 0], rows[:, 1])
    )
    bounds = np.concatenate([left, right])
    bounds = bounds[np.isfinite(bounds)]
    lo, hi = float(bounds.min()), float(bounds.max())
    count = float(rows.shape[0] if w is None else w.sum())
    if np.all((kind == Kind.EXACT) | (kind == Kind.RIGHT)):
        steps = kaplan_meier(
            rows[:, 0], kind == Kind.EXACT, entry=entry, weights=w, discrete=discrete
        )
        return _Npmle(steps, count, lo, hi, discrete, "Kaplan-Meier")
    steps = turnbull(left, right, discrete=discrete, entry=entry, weights=w)
    return _Npmle(steps, count, lo, hi, discrete, "Turnbull NPMLE")


def kaplan_meier(
    time: Any, observed: Any, *, entry: Any = None, weights: Any = None, discrete: bool = False
) -> Steps:
    r"""The Kaplan-Meier estimate of the cdf, :math:`\hat F = 1 - \hat S`, as its jumps.

    .. math:: \hat S(t) = \prod_{t_j \le t} \left(1 - \frac{d_j}{r_j}\right),

    with :math:`d_j` the (weighted) events at the distinct event time
    :math:`t_j` and :math:`r_j` the (weighted) number at risk there: the
    observations with ``time >= t_j`` (a censoring at :math:`t_j` counts as
    at risk) that entered before :math:`t_j`.

    Args:
        time: event or censoring times (a censored value exceeds its time).
        observed: 1/True where the event happened at ``time``.
        entry: delayed-entry (left-truncation) times, ``-inf`` for none: the
            observation is at risk only after it (counts: from it on).
        weights: frequency weights.
        discrete: count data: a count censored at :math:`l` says
            :math:`X \ge l` (a censoring at :math:`l - 1` in the convention
            above), an entry at :math:`t_0` says :math:`X \ge t_0`.

    Returns:
        :class:`Steps` at the event times (points), all of them.
    """
    seen = np.asarray(observed, bool)
    t = np.asarray(time, float) - np.where(seen | (not discrete), 0.0, 1.0)
    w = np.ones(t.size) if weights is None else np.asarray(weights, float)
    times = np.unique(t[seen])
    if times.size == 0:
        raise ValueError("no event to estimate a Kaplan-Meier curve from (every value is censored)")
    d = np.bincount(np.searchsorted(times, t[seen]), weights=w[seen], minlength=times.size)
    order = np.argsort(t, kind="stable")
    cw = np.concatenate([[0.0], np.cumsum(w[order])])
    at_risk = cw[-1] - cw[np.searchsorted(t[order], times, side="left")]  # time >= t_j
    if entry is not None:  # minus those who enter at or after t_j
        e = np.asarray(entry, float) - (1.0 if discrete else 0.0)
        eo = np.argsort(e, kind="stable")
        ce = np.concatenate([[0.0], np.cumsum(w[eo])])
        at_risk = at_risk - (ce[-1] - ce[np.searchsorted(e[eo], times, side="left")])
    surv = np.cumprod(1.0 - d / np.maximum(at_risk, np.finfo(float).tiny))
    after = 1.0 - surv
    before = np.concatenate([[0.0], after[:-1]])
    return Steps(times, times, before, after)


def turnbull(
    left: Any,
    right: Any,
    *,
    discrete: bool = False,
    entry: Any = None,
    weights: Any = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> Steps:
    r"""Turnbull's nonparametric MLE of the cdf of interval-censored data.

    Observation :math:`i` says :math:`X_i \in A_i` (``left == right``: the
    point; ``left`` -inf: :math:`X \le r`; ``right`` +inf: :math:`X > l`;
    else :math:`l < X \le r`; for counts, :math:`l \le X \le r`). The NPMLE
    puts its mass :math:`p_j` on the innermost intervals :math:`I_j` (a left
    end immediately followed by a right end among all the ends), and the EM
    of Turnbull (1976) iterates the self-consistency equations

    .. math:: p_j \propto \sum_i w_i \left(\frac{\alpha_{ij} p_j}{\sum_k \alpha_{ik} p_k}
              + \frac{(1 - \beta_{ij}) p_j}{\sum_k \beta_{ik} p_k}\right),

    :math:`\alpha_{ij} = [I_j \subseteq A_i]`, :math:`\beta_{ij} = [I_j
    \subseteq (e_i, \infty)]` for an entry time :math:`e_i` (the second term
    accounts for the truncated units never seen; without entry times it is
    0). Every :math:`A_i` covers a contiguous run of the :math:`I_j`, so an
    iteration is a few cumulative sums, :math:`O(n + m)`. The innermost
    intervals come from the censoring bounds only.

    Args:
        left, right: the bounds (NaN as ``-inf`` / ``+inf``).
        discrete: count data (inclusive bounds).
        entry: left-truncation times (``-inf``: none).
        weights: frequency weights.
        max_iter, tol: the EM stops when the estimated cdf changes by at
            most ``tol`` anywhere, or after ``max_iter`` iterations (the EM
            converges slowly: on 10^5 wide intervals, 500 iterations leave
            the cdf within about 1e-3 of its limit, enough for a plot).

    Returns:
        :class:`Steps` over the innermost intervals with mass (for counts,
        ``[left, right]`` are the integers the mass may sit on).
    """
    lv, rv = np.asarray(left, float), np.asarray(right, float)
    lv, rv = np.where(np.isnan(lv), -np.inf, lv), np.where(np.isnan(rv), np.inf, rv)
    w = np.ones(lv.size) if weights is None else np.asarray(weights, float)
    runs = _innermost(lv, rv, None if entry is None else np.asarray(entry, float), discrete)
    p = _self_consistency(runs, w, max_iter, tol)
    keep = p > 1e-12 * p.max()
    after = np.cumsum(p)[keep]
    before = after - p[keep]
    return Steps(runs.left[keep], runs.right[keep], before, after)


class _Runs(NamedTuple):
    """Turnbull's innermost intervals ``[left, right]`` (for counts: the
    integers between) and, per observation, the run of them its set covers,
    ``first .. last``, and the first inside its truncation set (``None``:
    no entry times)."""

    left: np.ndarray
    right: np.ndarray
    first: np.ndarray
    last: np.ndarray
    entered: np.ndarray | None


def _innermost(lv: np.ndarray, rv: np.ndarray, entry: np.ndarray | None, discrete: bool) -> _Runs:
    """The innermost intervals of the sets ``A_i`` (:func:`turnbull`).

    Ends are ``(value, type)`` keys, sorted by value then type: a closed left
    end (0) before a closed right end (1) before an open left end (2) at the
    same value. A value is ``[x, x]`` (a count: ``(x - 1, x]``), an interval
    ``(l, r]`` (counts: ``(l - 1, r]``), a truncation set ``(e, inf)``
    (counts, ``X >= e``: ``(e - 1, inf)``). An innermost interval is a left
    end directly followed by a right end in that order."""
    n, one = lv.size, 1.0 if discrete else 0.0
    unbounded = np.isneginf(lv)
    values = [np.where(unbounded, -np.inf, lv - one), rv]
    types = [np.where(unbounded | ((lv == rv) & ~discrete), 0, 2), np.ones(n, np.int64)]
    if entry is not None:
        none = np.isneginf(entry)
        values.append(np.where(none, -np.inf, entry - one))
        types.append(np.where(none, 0, 2))
    kv, kt = np.concatenate(values), np.concatenate(types)
    order = np.lexsort((kt, kv))
    sv, st = kv[order], kt[order]
    new = np.concatenate([[True], (sv[1:] != sv[:-1]) | (st[1:] != st[:-1])])
    rank = np.empty(kv.size, np.int64)
    rank[order] = np.cumsum(new) - 1  # equal keys, equal ranks
    ends = np.flatnonzero(order < 2 * n)  # the sets' ends, not the entry times
    is_left = st[ends] != 1
    k = np.flatnonzero(is_left[:-1] & ~is_left[1:])
    a, b = ends[k], ends[k + 1]
    l_rank, r_rank = rank[order[a]], rank[order[b]]
    first = np.searchsorted(l_rank, rank[:n], side="left")
    last = np.searchsorted(r_rank, rank[n : 2 * n], side="right") - 1
    entered = None if entry is None else np.searchsorted(l_rank, rank[2 * n :], side="left")
    left = np.where(st[a] == 2, sv[a] + one, sv[a])
    return _Runs(left, sv[b], first, last, entered)


def _self_consistency(runs: _Runs, w: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """Turnbull's EM (:func:`turnbull`) on the runs: each sum over a run is a
    difference of cumulative sums, each sum over the observations whose run
    covers ``j`` a cumulative sum of +/- at the runs' ends."""
    m = runs.left.size
    tiny = np.finfo(float).tiny
    p = np.full(m, 1.0 / m)
    for _ in range(max_iter):
        cum = np.concatenate([[0.0], np.cumsum(p)])
        v = w / np.maximum(cum[runs.last + 1] - cum[runs.first], tiny)
        d = (
            p
            * np.cumsum(np.bincount(runs.first, v, m + 1) - np.bincount(runs.last + 1, v, m + 1))[
                :m
            ]
        )
        if runs.entered is not None:  # the units truncated away: sum over entered > j
            u = w / np.maximum(cum[-1] - cum[runs.entered], tiny)
            d = d + p * (u.sum() - np.cumsum(np.bincount(runs.entered, u, m + 1))[:m])
        new_p = d / d.sum()
        done = np.max(np.abs(np.cumsum(new_p - p))) <= tol
        p = new_p
        if done:
            break
    return p


def empirical_of(res: FitLike, data: Any) -> Empirical:
    x, w = data_arrays(res, data)
    family = res.family
    if isinstance(x, Censored):
        family, x = censored_rows(base_family(family), x)
    return empirical(family, np.asarray(x), w)
