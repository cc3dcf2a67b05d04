r"""Censored observations and their likelihood.

An observation known only to lie in a set contributes the probability of that
set (fitdistrplus' convention for ``left`` and ``right``):

=====================  ==================  =====================================
``left``, ``right``    kind                log-likelihood term
=====================  ==================  =====================================
``l == r``             exact               :math:`\log f(l)`
``l`` NaN or -inf      left-censored       :math:`\log F(r)` (value :math:`\le r`)
``r`` NaN or +inf      right-censored      :math:`\log S(l)` (value :math:`\ge l`)
``l < r``              interval-censored   :math:`\log(F(r) - F(l))`
=====================  ==================  =====================================

For a count family the bounds are inclusive: :math:`P(X \ge l) = S(l - 1)`,
:math:`P(l \le X \le r) = F(r) - F(l - 1)`. With per-observation left
truncation (delayed entry at :math:`t_0`, a unit observed only if it
survived to :math:`t_0`) every term loses :math:`\log S(t_0)`.

:class:`Censored` holds such data (numpy arrays, checked, never modified);
:func:`censored_rows` turns it into the rows of a :class:`CensoredFamily`,
the family whose "observations" are those rows, so that every fit path,
``fit_many``, and the inference after a fit (standard errors by autodiff,
profile intervals, bootstrap, delta, lrt) treat censored data as any other.

Rows are ``[lo, hi, kind]`` (``[lo, hi, kind, entry, delayed]`` with entry
times), every value strictly inside the base family's support (bounds at or
beyond its ends carry no information and are recoded on the host: an
interval ``(0, r]`` of a positive family is left-censored at ``r``; a
right-censoring time of 0 says nothing), so every branch of the likelihood
is finite where it is evaluated and its gradient too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families import support as S
from jaxmle.families.base import Family, Params
from jaxmle.families.registry import resolve

__all__ = ["Censored", "CensoredFamily", "Kind", "censored_rows", "with_censoring"]


class Kind(IntEnum):
    """What an observation says about its value."""

    EXACT = 0  # value = lo
    RIGHT = 1  # value >= lo
    LEFT = 2  # value <= hi
    INTERVAL = 3  # lo < value <= hi (lo <= value <= hi for counts)
    NONE = 4  # no information (a bound at or beyond the support's end)


class Censored:
    """Censored (and optionally left-truncated) observations.

    Args:
        left, right: the bounds of each observation, 1-D and of equal length
            (fitdistrplus' ``left``/``right``): ``left == right`` an exact
            value; ``left`` NaN or ``-inf``: left-censored (the value is at
            most ``right``); ``right`` NaN or ``+inf``: right-censored (at least
            ``left``); otherwise interval-censored (between them).
        entry: optional entry (left-truncation) times, one per observation: a
            unit enters the study at ``entry`` and is observed only because it
            survived that long (delayed entry). ``0`` or below the support's
            lower end: no truncation.

    The arrays are copied; the originals are never modified. Use it as the
    data argument of :func:`jaxmle.fit` and :func:`jaxmle.fit_many`.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> t = np.array([2.0, 3.5, 4.0, 6.0, 7.5]); seen = np.array([1, 1, 0, 1, 0])
        >>> data = jm.Censored.from_events(t, seen)
        >>> data.counts()
        {'exact': 3, 'right': 2, 'left': 0, 'interval': 0}
    """

    def __init__(self, left: Any, right: Any, entry: Any = None):
        self.left = _as_bound("left", left)
        self.right = _as_bound("right", right)
        if self.left.shape != self.right.shape:
            raise ValueError(
                f"left and right must have the same length, got {self.left.shape[0]} and "
                f"{self.right.shape[0]}"
            )
        if self.left.shape[0] == 0:
            raise ValueError("Censored data are empty: left and right have no observations")
        self.entry = None if entry is None else _as_bound("entry", entry)
        self._rows: dict[Any, tuple[frozenset[int], np.ndarray]] = {}
        if self.entry is not None and self.entry.shape != self.left.shape:
            raise ValueError(
                f"entry must have one time per observation ({self.left.shape[0]}), got "
                f"{self.entry.shape[0]}"
            )
        self._check()

    @classmethod
    def from_events(cls, durations: Any, observed: Any, entry: Any = None) -> Censored:
        """lifelines' convention: ``durations`` with an event flag ``observed``
        (1/True: the event happened at that time; 0/False: right-censored
        there)."""
        t = _as_bound("durations", durations)
        seen = np.asarray(observed)
        if seen.shape != t.shape:
            raise ValueError(
                f"observed must have one flag per duration ({t.shape[0]}), got shape {seen.shape}"
            )
        if seen.dtype != bool:
            ok = np.isin(seen, (0, 1))
            if not ok.all():
                bad = np.flatnonzero(~ok)[:5].tolist()
                raise ValueError(f"observed must be 0/1 or boolean; rows {bad} are not")
            seen = seen.astype(bool)
        return cls(t, np.where(seen, t, np.inf), entry)

    @classmethod
    def from_scipy(cls, data: Any) -> Censored:
        """From a ``scipy.stats.CensoredData`` (scipy >= 1.11): its exact values,
        left-, right- and interval-censored observations, in that order."""
        try:
            exact = np.asarray(data._uncensored, dtype=float)
            left = np.asarray(data._left, dtype=float)
            right = np.asarray(data._right, dtype=float)
            interval = np.asarray(data._interval, dtype=float).reshape(-1, 2)
        except AttributeError as err:
            raise TypeError(
                f"from_scipy expects a scipy.stats.CensoredData, got {type(data).__name__}"
            ) from err
        lo = np.concatenate([exact, np.full(left.size, -np.inf), right, interval[:, 0]])
        hi = np.concatenate([exact, left, np.full(right.size, np.inf), interval[:, 1]])
        return cls(lo, hi)

    def _check(self) -> None:
        """Refuse impossible rows; then NaN bounds become -inf / +inf and each
        row's kind is fixed (once: the arrays are read-only)."""
        lo, hi = self.left, self.right
        lo_nan, hi_nan = np.isnan(lo), np.isnan(hi)
        both = lo_nan & hi_nan
        _refuse(both, "have both bounds NaN", "no information: drop them")
        lo_inf = lo_nan | (lo == -np.inf)
        hi_inf = hi_nan | (hi == np.inf)
        _refuse(lo == np.inf, "have left = +inf", "no value is that large")
        _refuse(hi == -np.inf, "have right = -inf", "no value is that small")
        _refuse(lo_inf & hi_inf, "are unbounded on both sides", "no information")
        _refuse(lo > hi, "have left > right")
        if self.entry is not None:
            e = self.entry
            _refuse(np.isnan(e) | (e == np.inf), "have a NaN or +inf entry time")
            _refuse(~lo_inf & (e > lo), "enter after their value was observed (entry > left)")
            _refuse(lo_inf & (e >= hi), "enter after their bound (entry >= right)")
        if lo_nan.any() or hi_nan.any():
            self.left = _frozen(np.where(lo_nan, -np.inf, lo))
            self.right = _frozen(np.where(hi_nan, np.inf, hi))
        # what each row says: INTERVAL unless a bound is infinite (RIGHT: hi,
        # LEFT: lo) or the bounds are equal (EXACT)
        table = np.array([Kind.INTERVAL, Kind.RIGHT, Kind.LEFT, Kind.INTERVAL], np.int8)
        kind = table[hi_inf.view(np.int8) + 2 * lo_inf.view(np.int8)]
        self._kinds = _frozen(np.where(self.left == self.right, np.int8(Kind.EXACT), kind))

    @property
    def kinds(self) -> np.ndarray:
        """Each observation's :class:`Kind` (before a family's support recodes
        bounds at its ends)."""
        return self._kinds

    def counts(self) -> dict[str, int]:
        """How many observations of each kind."""
        counts = np.bincount(self._kinds, minlength=len(Kind))
        return {
            "exact": int(counts[Kind.EXACT]),
            "right": int(counts[Kind.RIGHT]),
            "left": int(counts[Kind.LEFT]),
            "interval": int(counts[Kind.INTERVAL]),
        }

    def __len__(self) -> int:
        return int(self.left.shape[0])

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.counts().items() if v)
        entry = ", with entry times" if self.entry is not None else ""
        return f"Censored({len(self)} observations: {parts}{entry})"


def _as_bound(name: str, v: Any) -> np.ndarray:
    if isinstance(v, (str, bytes)) or v is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(v).__name__}")
    try:
        arr = np.array(v, dtype=np.float64)  # a copy: the caller's array stays as it is
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers: {err}") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return _frozen(arr)


def _frozen(arr: np.ndarray) -> np.ndarray:
    """``arr``, read-only (the data of a :class:`Censored` do not change)."""
    arr.setflags(write=False)
    return arr


def _refuse(mask: np.ndarray, what: str, advice: str = "") -> None:
    """A ``ValueError`` naming the rows where ``mask`` holds."""
    if np.any(mask):
        rows = np.flatnonzero(mask)
        shown = ", ".join(str(int(i)) for i in rows[:8]) + (", ..." if rows.size > 8 else "")
        advice = f" ({advice})" if advice else ""
        raise ValueError(f"{rows.size} censored observation(s) {what}: rows {shown}{advice}")


class CensoredFamily(Family):
    """The likelihood of censored rows (module docstring) under ``base``.

    A family of its own whose data are the rows :func:`censored_rows` makes:
    the parameters, constraints and scipy mapping are ``base``'s. ``kinds``
    (static) are the kinds present in the data, so that right-censored data
    evaluate only the density and the survival function; ``entry``: the rows
    carry entry times."""

    event_ndim = 1

    def __init__(self, base: Family | str, kinds: frozenset[int], entry: bool = False):
        base = resolve(base)
        if base.event_ndim:
            raise ValueError(f"censored data of a multivariate family ({base.name})")
        self.base = base
        self.kinds = frozenset(int(k) for k in kinds)
        self.entry = bool(entry)
        self.name = f"{base.name} (censored)"
        self.param_names = base.param_names
        self.constraints = base.constraints
        self.scipy_equivalent = base.scipy_equivalent
        self.density = base.density
        self.discrete = base.support.discrete
        # Right-censored data of a family whose derivative terms split into
        # log-hazard and cumulative-hazard parts (the Weibull): Newton's
        # passes from those terms, weighted by the event indicator.
        self.has_derivatives = (
            base.has_derivatives
            and base.event_terms is not None
            and self.kinds <= {Kind.EXACT, Kind.RIGHT}
            and not self.entry
        )
        width = 5 if self.entry else 3
        self.support = S.Support(
            f"censored rows of {base.support.description}",
            lambda rows: jnp.all(jnp.isfinite(rows), axis=-1) & (rows.shape[-1] == width),
            discrete=False,
        )

    # -- the likelihood -----------------------------------------------------------

    def logpdf(self, params, rows):
        base, kinds = self.base, self.kinds
        lo, hi, kind = rows[:, 0], rows[:, 1], rows[:, 2]
        one = 1.0 if self.discrete else 0.0  # counts: P(X >= l) = S(l - 1)
        term = jnp.zeros_like(lo)
        if Kind.EXACT in kinds:
            term = jnp.where(kind == Kind.EXACT, base.logpdf(params, lo), term)
        # Every branch is evaluated on every row: where a row is of another
        # kind, at points inside the support (``hi`` is, for every row).
        if Kind.RIGHT in kinds:
            right = kind == Kind.RIGHT
            term = jnp.where(right, base.logsf(params, jnp.where(right, lo - one, hi)), term)
        if Kind.LEFT in kinds:
            term = jnp.where(kind == Kind.LEFT, base.logcdf(params, hi), term)
        if Kind.INTERVAL in kinds:
            a, b = _interval_pair(lo, hi, kind, one)
            inside = base.log_interval_probability(params, a, b)
            term = jnp.where(kind == Kind.INTERVAL, inside, term)
        if self.entry:
            delayed = rows[:, 4] > 0
            entry = jnp.where(delayed, rows[:, 3] - one, hi)
            term = term - jnp.where(delayed, base.logsf(params, entry), 0.0)
        return term

    def features(self, rows):
        """Where Newton runs on derivative terms: the base family's features of
        ``lo`` and the event indicator, made once per fit; else the rows."""
        if not self.has_derivatives:
            return rows
        return self.base.features(rows[:, 0]), (rows[:, 2] == Kind.EXACT).astype(rows.dtype)

    def init_features(self, feats, w):
        if not self.has_derivatives:
            return None
        f, event = feats
        return self.base.init_right_censored(f, event, w)

    def logpdf_features(self, params, feats):
        if not self.has_derivatives:
            return self.logpdf(params, feats)
        f, event = feats
        exact = self.base.logpdf_features(params, f)
        return jnp.where(event > 0, exact, self.base.logsf_features(params, f))

    def derivative_terms(self, params, feats):
        """The base family's terms, its log-hazard terms weighted by the event
        indicator ``d``, and ``d`` (its sum is the number of events)."""
        f, event = feats
        terms = self.base.derivative_terms(params, f)
        events = self.base.event_terms
        weighted = tuple(t * event if i in events else t for i, t in enumerate(terms))
        return (*weighted, event)

    def derivatives_from_terms(self, params, sums, n):
        return self.base.derivatives_from_terms(params, tuple(sums[:-1]), sums[-1])

    def init(self, rows, w):
        # Right-censored data: the base family's own start where it has one;
        # else its start on a pseudo-sample (_pseudo_sample).
        lo, kind = rows[:, 0], rows[:, 2]
        if self.kinds <= {Kind.EXACT, Kind.RIGHT} and not self.entry:
            event = (kind == Kind.EXACT).astype(rows.dtype)
            start = self.base.init_right_censored(self.base.features(lo), event, w)
            if start is not None:
                return start
        return self.base.init(self._pseudo_sample(rows), w)

    def init_with_fixed(self, rows, w, fixed):
        return self.base.init_with_fixed(self._pseudo_sample(rows), w, fixed)

    def _pseudo_sample(self, rows):
        """One value per row for a start: exact values, the bound of one-sided
        observations, the midpoint of intervals (floored for counts)."""
        lo, hi, kind = rows[:, 0], rows[:, 1], rows[:, 2]
        y = jnp.where(kind == Kind.INTERVAL, 0.5 * (lo + hi), jnp.where(kind == Kind.LEFT, hi, lo))
        return jnp.floor(y) if self.discrete else y

    def cdf(self, params, x):
        return self.base.cdf(params, x)

    def logcdf(self, params, x):
        return self.base.logcdf(params, x)

    def logsf(self, params, x):
        return self.base.logsf(params, x)

    def sample(self, params, key, shape=()):
        raise NotImplementedError(
            f"{self.name}: simulating censored data needs a censoring model; use the "
            "nonparametric bootstrap (parametric=False), or sample the base family "
            f"({self.base.name})"
        )

    def scipy(self, params: Mapping[str, Any]) -> Any:
        return self.base.scipy(params)

    def check_params(self, params: Mapping[str, Any]) -> None:
        self.base.check_params(params)

    def diagnose(self, params, x):
        return None

    def unit_information(self, params: Params) -> jax.Array | None:
        return None  # the expected information depends on the censoring

    def expected_information(self, params: Params) -> jax.Array | None:
        return None

    def __repr__(self) -> str:
        return f"CensoredFamily({self.base!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is CensoredFamily
            and self.base == other.base
            and self.kinds == other.kinds
            and self.entry == other.entry
        )

    def __hash__(self) -> int:
        return hash((CensoredFamily, self.base, self.kinds, self.entry))


def _interval_pair(lo, hi, kind, one):
    """``(a, b)`` with ``log P(a < X <= b)`` the interval rows' term (``a = lo
    - one``); elsewhere the first interval row's, or ``(min hi, max hi)``
    where there is none (a dataset of a batch): a proper interval inside the
    support, so that the branch not taken has a finite value and gradient."""
    is_interval = kind == Kind.INTERVAL
    first = jnp.argmax(is_interval)
    has = jnp.any(is_interval)
    a0 = jnp.where(has, lo[first] - one, jnp.min(hi))
    b0 = jnp.where(has, hi[first], jnp.max(hi))
    return jnp.where(is_interval, lo - one, a0), jnp.where(is_interval, hi, b0)


def censored_rows(base: Family, data: Censored) -> tuple[CensoredFamily, np.ndarray]:
    """``(family, rows)`` of ``data`` under ``base``: bounds at or beyond the
    ends of the support recoded (module docstring), impossible observations
    refused with their rows named, the kinds present recorded in the
    family. Kept on ``data`` per family (the rows of one support are made
    once: ``select`` fits many families to the same data)."""
    if not isinstance(data, Censored):
        raise TypeError(f"expected jm.Censored data, got {type(data).__name__}")
    if base.event_ndim:
        raise ValueError(f"censored data of a multivariate family ({base.name})")
    key = (base.support, base.name)
    if key not in data._rows:
        data._rows[key] = _make_rows(base, data)
    kinds, rows = data._rows[key]
    return CensoredFamily(base, kinds, entry=data.entry is not None), rows


def _make_rows(base: Family, data: Censored) -> tuple[frozenset[int], np.ndarray]:
    contains = base.support.contains
    kind, lo, hi = data.kinds, data.left, data.right  # NaN bounds are -inf / inf here
    exact = kind == Kind.EXACT
    off_grid = exact & ~np.asarray(contains(lo), bool)
    _refuse(off_grid, f"are exact values outside the support of {base.name} "
            f"({base.support.description})")  # fmt: skip
    ref = _reference_point(base, lo, hi)
    step = 1.0 if base.support.discrete else 0.0
    # A lower bound says something only where a value below it is possible
    # (for counts, where l - 1 is in the support); an upper bound, where a
    # value above it is.
    lo_fin, hi_fin = np.isfinite(lo), np.isfinite(hi)
    # (contains is elementwise: non-finite bounds are masked by *_fin)
    lo_info = lo_fin & np.asarray(contains(lo - step if step else lo), bool)
    hi_info = hi_fin & np.asarray(contains(hi), bool)
    _refuse(
        ~exact & lo_fin & ~lo_info & (lo > ref),
        f"have a lower bound at or beyond the upper end of the support of {base.name} "
        f"({base.support.description})",
    )
    _refuse(
        ~exact & hi_fin & ~hi_info & (hi < ref),
        f"have an upper bound below the support of {base.name} ({base.support.description})",
    )
    if base.support.discrete:
        _refuse(
            (lo_fin & (lo != np.floor(lo))) | (hi_fin & (hi != np.floor(hi))),
            f"have bounds that are not integers ({base.name} is a count family)",
        )
    # what the bounds say: neither, lo only, hi only, both
    table = np.array([Kind.NONE, Kind.RIGHT, Kind.LEFT, Kind.INTERVAL], np.int8)
    new = table[lo_info.view(np.int8) + 2 * hi_info.view(np.int8)]
    new = np.where(exact, np.int8(Kind.EXACT), new)
    present = np.array(
        [exact.any(), (lo_info & ~hi_info & ~exact).any(), (hi_info & ~lo_info & ~exact).any(),
         (lo_info & hi_info & ~exact).any(), (~lo_info & ~hi_info & ~exact).any()]
    )  # fmt: skip
    if not present[: Kind.NONE].any():
        raise ValueError(
            f"none of the {len(data)} censored observations says anything about {base.name}: "
            "every bound lies at or beyond the ends of its support"
        )
    if not present[[Kind.EXACT, Kind.LEFT, Kind.INTERVAL]].any():
        raise ValueError(
            f"all informative observations ({int(np.sum(new == Kind.RIGHT))}) are "
            "right-censored: the likelihood increases without limit as the distribution "
            "moves right, so there is no MLE (at least one exact, left- or "
            "interval-censored value is needed)"
        )
    if not present[[Kind.EXACT, Kind.RIGHT, Kind.INTERVAL]].any():
        raise ValueError(
            f"all informative observations ({int(np.sum(new == Kind.LEFT))}) are "
            "left-censored: the likelihood increases without limit as the distribution "
            "moves left, so there is no MLE (at least one exact, right- or "
            "interval-censored value is needed)"
        )
    first = np.where(new == Kind.LEFT, hi, lo)
    second = np.where(hi_info & (new != Kind.EXACT), hi, lo)
    columns = [first, second, new.astype(np.float64)]
    if data.entry is not None:
        e = data.entry
        delayed = np.isfinite(e) & np.asarray(contains(e - step if step else e), bool)
        columns += [np.where(delayed, e, ref), delayed.astype(np.float64)]
    rows = np.stack(columns, axis=1)
    none = new == Kind.NONE
    if none.any():
        rows[none, :2] = ref
    rows.setflags(write=False)
    kinds = frozenset(int(k) for k in np.flatnonzero(present[: Kind.NONE]))
    return kinds, rows


def _reference_point(base: Family, lo, hi) -> float:
    """A value inside the support, from the data: the median of (up to 4,096
    evenly spaced) finite bounds that the support contains."""
    vals = np.concatenate([lo[:: max(1, lo.size // 2048)], hi[:: max(1, hi.size // 2048)]])
    vals = vals[np.isfinite(vals)]
    inside = vals[np.asarray(base.support.contains(vals), bool)] if vals.size else vals
    if inside.size == 0:
        vals = np.concatenate([lo, hi])
        vals = vals[np.isfinite(vals)]
        inside = vals[np.asarray(base.support.contains(vals), bool)] if vals.size else vals
    if inside.size == 0:
        raise ValueError(
            f"none of the {lo.size} censored observations says anything about {base.name}: "
            f"no bound lies in its support ({base.support.description})"
        )
    mid = float(np.median(inside))
    return float(np.floor(mid)) if base.support.discrete else mid


def with_censoring(family: Family, x: Any) -> tuple[Family, Any]:
    """``(family, data)`` for a fit: :class:`Censored` data (or a list of them,
    for ``fit_many``) as the rows of a :class:`CensoredFamily` of ``family``
    (one family for the whole list: the kinds of all of them); other data as
    given."""
    if isinstance(x, Censored):
        return censored_rows(family, x)
    if isinstance(x, (list, tuple)) and x and any(isinstance(d, Censored) for d in x):
        if not all(isinstance(d, Censored) for d in x):
            raise TypeError(
                "a list of datasets mixes jm.Censored and plain arrays: pass every dataset "
                "as jm.Censored (exact values: jm.Censored(x, x))"
            )
        entries = {d.entry is not None for d in x}
        if len(entries) > 1:
            raise ValueError("some censored datasets have entry times and others not")
        parts = []
        for i, d in enumerate(x):
            try:
                parts.append(censored_rows(family, d))
            except ValueError as err:
                raise ValueError(f"dataset {i}: {err}") from None
        kinds = frozenset().union(*(f.kinds for f, _ in parts))
        return CensoredFamily(family, kinds, entry=entries.pop()), [r for _, r in parts]
    return family, x
