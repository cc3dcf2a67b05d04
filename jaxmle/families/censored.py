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
from functools import partial
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
        left, right = _as_bound("left", left), _as_bound("right", right)
        if left.shape != right.shape:
            raise ValueError(
                f"left and right must have the same length, got {left.shape[0]} and "
                f"{right.shape[0]}"
            )
        if left.shape[0] == 0:
            raise ValueError("Censored data are empty: left and right have no observations")
        survey = left.shape[0] >= _DEVICE_ROWS_FROM and entry is None and jax.config.jax_enable_x64
        if survey:
            # The device copies are the copies kept (on a CPU the host arrays
            # are views of them, read-only).
            lo, hi = jax.device_put((left, right))
            self.left, self.right = np.asarray(lo), np.asarray(hi)
        else:
            self.left, self.right = _frozen(np.array(left)), _frozen(np.array(right))
        self.entry = None if entry is None else _frozen(np.array(_as_bound("entry", entry)))
        self._rows: dict[Any, tuple[frozenset[int], Any]] = {}
        if self.entry is not None and self.entry.shape != self.left.shape:
            raise ValueError(
                f"entry must have one time per observation ({self.left.shape[0]}), got "
                f"{self.entry.shape[0]}"
            )
        self._kinds: np.ndarray | None = None
        self._counts: np.ndarray | None = None
        # The rows of every family whose support holds every finite bound
        # (made by the survey of long data; see _survey_body).
        self._rows_as_given: jax.Array | None = None
        if not (survey and self._survey(lo, hi)):
            self._check()

    def _survey(self, lo: jax.Array, hi: jax.Array) -> bool:
        """Long float64 data without entry times: the checks, the kinds present
        and the rows in one compiled pass (:func:`_survey_body`). ``False``
        where a row is refused or has a NaN bound (then :meth:`_check` names
        the rows, or recodes the NaN bounds)."""
        code, rows = _survey_program(lo, hi)
        code = int(code)
        if code & ((1 << _KIND_BITS) - 1):
            return False
        self._present = frozenset(k for k in Kind if code >> (_KIND_BITS + k) & 1)
        self._rows_as_given = rows
        return True

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
        row's kind is fixed (once: the arrays are read-only).

        A few vectorized passes: the masks of non-finite values are made only
        for a bound that has some (survival data: ``right`` only)."""
        lo, hi = self.left, self.right
        lo_nan, lo_inf, lo_wrong = _unbounded(lo, -np.inf)
        hi_nan, hi_inf, hi_wrong = _unbounded(hi, np.inf)
        if lo_nan is not None and hi_nan is not None:
            _refuse(lo_nan & hi_nan, "have both bounds NaN", "no information: drop them")
        if lo_wrong is not None:
            _refuse(lo_wrong, "have left = +inf", "no value is that large")
        if hi_wrong is not None:
            _refuse(hi_wrong, "have right = -inf", "no value is that small")
        if lo_inf is not None and hi_inf is not None:
            _refuse(lo_inf & hi_inf, "are unbounded on both sides", "no information")
        _refuse(lo > hi, "have left > right")
        if self.entry is not None:
            e = self.entry
            lo_unbounded = np.zeros(lo.shape, bool) if lo_inf is None else lo_inf
            _refuse(np.isnan(e) | (e == np.inf), "have a NaN or +inf entry time")
            _refuse(~lo_unbounded & (e > lo), "enter after their value was observed (entry > left)")
            _refuse(lo_unbounded & (e >= hi), "enter after their bound (entry >= right)")
        if lo_nan is not None and lo_nan.any():
            self.left = _frozen(np.where(lo_nan, -np.inf, lo))
        if hi_nan is not None and hi_nan.any():
            self.right = _frozen(np.where(hi_nan, np.inf, hi))
        # what each row says: INTERVAL (3) unless a bound is infinite (RIGHT
        # = 3 - 2: hi, LEFT = 3 - 1: lo; never both) or the bounds are equal
        # (EXACT = 0). In int8 arithmetic: masked assignments and np.where
        # cost ten times more on mixed rows.
        exact = self.left == self.right
        kind = np.full(lo.shape, Kind.INTERVAL, np.int8)
        counts = np.zeros(len(Kind), np.int64)
        if hi_inf is not None:
            kind -= np.int8(2) * hi_inf.view(np.int8)
            counts[Kind.RIGHT] = np.count_nonzero(hi_inf)
        if lo_inf is not None:
            kind -= lo_inf.view(np.int8)
            counts[Kind.LEFT] = np.count_nonzero(lo_inf)
        kind *= (~exact).view(np.int8)
        counts[Kind.EXACT] = np.count_nonzero(exact)
        counts[Kind.INTERVAL] = len(kind) - counts[: Kind.INTERVAL].sum()
        self._kinds = _frozen(kind)
        self._counts = counts
        self._present = frozenset(int(k) for k in np.flatnonzero(counts[: Kind.NONE]))

    @property
    def kinds(self) -> np.ndarray:
        """Each observation's :class:`Kind` (before a family's support recodes
        bounds at its ends)."""
        if self._kinds is None:  # the survey's: column 2 of its rows
            self._kinds = _frozen(np.asarray(self._rows_as_given[:, 2]).astype(np.int8))
        return self._kinds

    def counts(self) -> dict[str, int]:
        """How many observations of each kind."""
        if self._counts is None:
            self._counts = np.bincount(self.kinds, minlength=len(Kind))
        counts = self._counts
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
        arr = np.asarray(v, dtype=np.float64)  # not copied yet: see Censored.__init__
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers: {err}") from err
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def _unbounded(v: np.ndarray, end: float):
    """``(nan, unbounded, wrong)`` masks of a bound: NaN; unbounded (NaN or
    ``end``, the infinity on its open side); the other infinity.
    ``(None, None, None)`` where every value is finite (two passes then; four
    otherwise)."""
    nonfinite = ~np.isfinite(v)
    if not nonfinite.any():
        return None, None, None
    wrong = nonfinite & ((v < 0) if end > 0 else (v > 0))
    unbounded = nonfinite & ~wrong
    return unbounded & (v != end), unbounded, wrong


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
    rows_checked = True  # censored_rows makes them

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


def censored_rows(base: Family, data: Censored) -> tuple[CensoredFamily, Any]:
    """``(family, rows)`` of ``data`` under ``base``: bounds at or beyond the
    ends of the support recoded (module docstring), impossible observations
    refused with their rows named, the kinds present recorded in the
    family. Kept on ``data`` per family (the rows of one support are made
    once: ``select`` fits many families to the same data)."""
    if not isinstance(data, Censored):
        raise TypeError(f"expected jm.Censored data, got {type(data).__name__}")
    if base.event_ndim:
        raise ValueError(f"censored data of a multivariate family ({base.name})")
    key = (base.support, base.name, bool(jax.config.jax_enable_x64))
    if key not in data._rows:
        data._rows[key] = _make_rows(base, data)
    kinds, rows = data._rows[key]
    return CensoredFamily(base, kinds, entry=data.entry is not None), rows


def _make_rows(base: Family, data: Censored) -> tuple[frozenset[int], Any]:
    lo, hi = data.left, data.right  # NaN bounds are -inf / inf here
    if not base.support.discrete and _bounds_inside(base.support, data):
        # Every finite bound inside the support (survival times of a positive
        # family, any bound of a real-line one): the kinds stand as they are.
        present = data._present
        _refuse_unidentified(base, data, present)
        if data._rows_as_given is not None and jax.config.jax_enable_x64:
            return present, data._rows_as_given
        ref = _reference_point(base, lo, hi) if data.entry is not None else 0.0
        return present, _stack_rows(base, data, data.kinds, ref)
    kind = data.kinds
    contains = base.support.contains
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
    counts = np.bincount(new, minlength=len(Kind))
    if not counts[: Kind.NONE].any():
        raise ValueError(
            f"none of the {len(data)} censored observations says anything about {base.name}: "
            "every bound lies at or beyond the ends of its support"
        )
    present = frozenset(int(k) for k in np.flatnonzero(counts[: Kind.NONE]))
    _refuse_unidentified(base, data, present, new)
    return present, _stack_rows(base, data, new, ref)


# From this many rows the rows are stacked by a compiled program, on the
# device, from the bounds (the engine gives data this long their own shape,
# so the program serves the fit's length): a host stack of 10^6 rows costs
# more than the fit's passes. Shorter rows are stacked on the host (no
# program per length).
_DEVICE_ROWS_FROM = 1 << 18


def _bounds_inside(support: S.Support, data: Censored) -> bool:
    """Whether every finite bound of ``data`` lies inside ``support`` (then no
    bound needs recoding and no row is refused for its support)."""
    if support is S.real_line:
        return True
    bounds = [data.left]  # every lower bound is finite unless the row is left-censored
    if data._present & {Kind.LEFT, Kind.INTERVAL}:
        bounds.append(data.right)
    for v in bounds:
        inside = np.asarray(support.contains(v), bool)
        if not inside.all() and not np.all(inside | ~np.isfinite(v)):
            return False
    return True


def _refuse_unidentified(
    base: Family, data: Censored, present: frozenset[int], kind: np.ndarray | None = None
) -> None:
    """No MLE when the informative rows (of ``kind``, default ``data.kinds``)
    are all right- (or all left-) censored."""
    for side, one_sided, others in (
        ("right", Kind.RIGHT, "left- or interval-censored"),
        ("left", Kind.LEFT, "right- or interval-censored"),
    ):
        if not present - {one_sided}:
            kind = data.kinds if kind is None else kind
            raise ValueError(
                f"all informative observations ({int(np.sum(kind == one_sided))}) are "
                f"{side}-censored: the likelihood increases without limit as the distribution "
                f"moves {side}, so there is no MLE (at least one exact, {others} value is "
                "needed)"
            )


def _stack_rows(base: Family, data: Censored, kind: np.ndarray, ref: float) -> Any:
    """The rows ``[lo, hi, kind(, entry, delayed)]``: the bound a one-sided
    row has in both of its first columns, ``ref`` for rows of no information.
    A read-only host array, or (long data, float64) a device array."""
    entry, delayed = None, None
    if data.entry is not None:
        step = 1.0 if base.support.discrete else 0.0
        e = data.entry
        inside = np.isfinite(e) & np.asarray(base.support.contains(e - step if step else e), bool)
        entry, delayed = np.where(inside, e, ref), inside
    # Which columns need selecting (static: the common right-censored data
    # stack ``lo`` twice).
    upper = bool(np.any((kind == Kind.LEFT) | (kind == Kind.INTERVAL)))
    none = bool(np.any(kind == Kind.NONE))
    hi = data.right if upper else None
    if len(data) >= _DEVICE_ROWS_FROM and jax.config.jax_enable_x64:
        # float64 throughout (the bounds are float64): no value changes.
        return _rows_program(data.left, hi, kind, ref, entry, delayed, upper, none)
    rows = _rows_body(np, data.left, hi, kind, ref, entry, delayed, upper, none)
    rows.setflags(write=False)
    return rows


def _rows_body(xp, lo, hi, kind, ref, entry, delayed, upper: bool, none: bool):
    """The rows, with ``xp`` numpy (host) or ``jax.numpy`` (traced)."""
    first, second = lo, lo
    if upper:
        first = xp.where(kind == Kind.LEFT, hi, lo)
        second = xp.where((kind == Kind.LEFT) | (kind == Kind.INTERVAL), hi, lo)
    if none:
        first = xp.where(kind == Kind.NONE, ref, first)
        second = xp.where(kind == Kind.NONE, ref, second)
    columns = [first, second, kind.astype(lo.dtype)]
    if entry is not None:
        columns += [entry, delayed.astype(lo.dtype)]
    return xp.stack(columns, axis=1)


# The survey's code: bit i < _KIND_BITS a refused row or a NaN bound
# (_SURVEY_FLAGS), bit _KIND_BITS + k a row of kind k.
_KIND_BITS = 8


def _survey_body(lo, hi):
    """``(code, rows)`` of bounds as given: ``code`` ORs, over the rows, the
    checks of :meth:`Censored._check` (both bounds NaN, ``left = +inf``,
    ``right = -inf``, unbounded on both sides, ``left > right``, a NaN
    bound) and each row's kind; ``rows`` are valid only where no check bit is
    set (no recoding needed then)."""
    lo_nan, hi_nan = jnp.isnan(lo), jnp.isnan(hi)
    lo_inf, hi_inf = lo_nan | (lo == -jnp.inf), hi_nan | (hi == jnp.inf)
    kind = jnp.where(
        lo == hi,
        Kind.EXACT,
        jnp.where(hi_inf, Kind.RIGHT, jnp.where(lo_inf, Kind.LEFT, Kind.INTERVAL)),
    ).astype(jnp.int32)
    checks = (
        lo_nan & hi_nan, lo == jnp.inf, hi == -jnp.inf, lo_inf & hi_inf, lo > hi, lo_nan | hi_nan,
    )  # fmt: skip
    flags = jnp.left_shift(1, kind + _KIND_BITS)
    for bit, check in enumerate(checks):
        flags = flags | jnp.left_shift(check.astype(jnp.int32), bit)
    code = jax.lax.reduce(flags, np.int32(0), jax.lax.bitwise_or, (0,))
    upper = (kind == Kind.LEFT) | (kind == Kind.INTERVAL)
    rows = jnp.stack(
        [jnp.where(kind == Kind.LEFT, hi, lo), jnp.where(upper, hi, lo), kind.astype(lo.dtype)],
        axis=1,
    )
    return code, rows


_survey_program = jax.jit(_survey_body)
_rows_program = jax.jit(partial(_rows_body, jnp), static_argnums=(6, 7))


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
