r"""Choosing the family: fit every candidate, rank them by an information criterion.

:func:`select` fits each candidate family whose support contains the data
(:func:`jaxmle.fit`) and ranks the fits by AIC, AICc or BIC,

.. math:: \mathrm{AIC} = 2k - 2\ell(\hat\theta), \qquad
          \mathrm{BIC} = k \log n - 2\ell(\hat\theta),

with :math:`k` free parameters and :math:`n` observations (the sum of the
weights); converged fits first, the smallest criterion on top. Each row also
carries the goodness of fit of :meth:`jaxmle.FitResult.gof` (KS, CvM and AD
for continuous families, Pearson's chi-square for discrete ones) and the
criterion's weight :math:`e^{-\Delta_j/2} / \sum_i e^{-\Delta_i/2}`
(:math:`\Delta_j` the difference from the best; Akaike weights for AIC).
:func:`select_many` does the same for many datasets at once, one
:func:`jaxmle.fit_many` batch program per family.

A candidate is skipped, with the reason recorded, when the data are outside its
support, when it needs options (binomial's ``n``: pass an instance,
``jm.Binomial(n=10)``), when it is multivariate, or when its fit raised.
Densities and probabilities are not comparable: where a discrete family's
support holds the data (counts), continuous candidates are skipped (they stay
in the ranking of non-integer data, where the discrete ones are skipped).

Groups (``families=`` as a string), from the registry at call time:

* ``"continuous"``: the univariate families with a continuous support;
* ``"positive"``: those whose support is the positive (or non-negative) reals;
* ``"discrete"``: the univariate families of counts (the ones that need an
  option, whose support is finite, are listed as skipped);
* ``"all"``: every registered family.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from jaxmle._engine.validation import as_numeric_array, check_data_values
from jaxmle.families.base import Family
from jaxmle.families.censored import Censored, censored_rows
from jaxmle.families.registry import family as make_family, family_class, family_names, resolve
from jaxmle.fit import fit
from jaxmle.inference.gof import GofResult
from jaxmle.many import fit_many
from jaxmle.progress import progress_bar
from jaxmle.results import FitResult, ManyFitResult, as_dataframe
from jaxmle.status import Status

__all__ = [
    "CRITERIA",
    "GROUPS",
    "Candidate",
    "ManySelection",
    "Selection",
    "Skipped",
    "candidate_families",
    "select",
    "select_many",
]

GROUPS = ("continuous", "positive", "discrete", "all")
CRITERIA = ("aic", "aicc", "bic")

# Points every positive-reals support holds, and one it does not.
_POSITIVE_PROBES = np.array([1e-300, 1e-12, 0.5, 1.0, 2.0, 1e12, 1e300])


class Skipped(NamedTuple):
    """A candidate family that was not fitted, and why."""

    family: str
    reason: str


class Candidate(NamedTuple):
    """One fitted candidate of a :class:`Selection` (a row of its table).

    Attributes:
        name: the family's name.
        fit: its :class:`~jaxmle.FitResult`.
        loglik, n_params, aic, aicc, bic: from the fit.
        converged: whether the fit converged (non-converged rows rank last).
        ks, cvm, ad: the EDF statistics of :meth:`~jaxmle.FitResult.gof`
            (continuous families; NaN otherwise or where not computed).
        chi2, chi2_pvalue: Pearson's chi-square and its asymptotic p-value
            (discrete families; NaN otherwise).
        note: warnings of the fit and of its goodness of fit (``""``: none).
    """

    name: str
    fit: FitResult
    loglik: float
    n_params: int
    aic: float
    aicc: float
    bic: float
    converged: bool
    ks: float = math.nan
    cvm: float = math.nan
    ad: float = math.nan
    chi2: float = math.nan
    chi2_pvalue: float = math.nan
    note: str = ""

    @property
    def params(self) -> dict[str, np.ndarray]:
        """The fitted parameters, ``{name: value}``."""
        return self.fit.params

    def criterion(self, name: str) -> float:
        """The value of ``name`` (``"aic"``, ``"aicc"`` or ``"bic"``)."""
        return float(getattr(self, _criterion(name)))


def _criterion(name: Any) -> str:
    if name not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(map(repr, CRITERIA))}, got {name!r}")
    return name


def _rank_key(criterion: str):
    def key(c: Candidate):
        v = c.criterion(criterion)
        return (not c.converged, v if math.isfinite(v) else math.inf, c.name)

    return key


@dataclasses.dataclass(frozen=True)
class Selection:
    """The candidates of :func:`select`, ranked by ``criterion``: converged
    fits first, then by the criterion (smallest first).

    ``sel.best`` is the winner's :class:`~jaxmle.FitResult`, ``sel["gamma"]``
    (or ``sel[0]``) a :class:`Candidate`, ``print(sel)`` the table, and
    :meth:`to_table` / :meth:`to_dataframe` its columns.

    Attributes:
        candidates: the fitted candidates, ranked.
        skipped: the candidates not fitted, with the reasons.
        criterion: ``"aic"``, ``"aicc"`` or ``"bic"``.
        n: the number of observations (the sum of the weights).
    """

    candidates: tuple[Candidate, ...]
    skipped: tuple[Skipped, ...]
    criterion: str
    n: float

    @property
    def best(self) -> FitResult:
        """The top candidate's fit."""
        if not self.candidates:
            raise ValueError(
                "no candidate family was fitted: "
                + "; ".join(f"{s.family}: {s.reason}" for s in self.skipped[:5])
            )
        return self.candidates[0].fit

    @property
    def names(self) -> tuple[str, ...]:
        """The fitted families' names, ranked."""
        return tuple(c.name for c in self.candidates)

    def values(self) -> np.ndarray:
        """The criterion of each candidate, ranked."""
        return np.array([c.criterion(self.criterion) for c in self.candidates], float)

    def delta(self) -> np.ndarray:
        """Each candidate's criterion minus the best converged one's (NaN for
        the non-converged)."""
        v = self.values()
        ok = np.array([c.converged for c in self.candidates], bool) & np.isfinite(v)
        if not ok.any():
            return np.full(v.shape, np.nan)
        return np.where(ok, v - v[ok].min(), np.nan)

    def weights(self) -> np.ndarray:
        r"""The criterion's weights :math:`e^{-\Delta_j/2} / \sum_i e^{-\Delta_i/2}`
        over the converged candidates (Akaike weights for AIC; 0 for the others)."""
        d = self.delta()
        e = np.where(np.isfinite(d), np.exp(-0.5 * np.nan_to_num(d, nan=np.inf)), 0.0)
        total = e.sum()
        return e / total if total > 0 else e

    def __getitem__(self, key: str | int) -> Candidate:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.candidates[key]
        for c in self.candidates:
            if c.name == key:
                return c
        for s in self.skipped:
            if s.family == key:
                raise KeyError(f"{key!r} was skipped: {s.reason}")
        raise KeyError(f"no candidate named {key!r}; fitted: {', '.join(self.names)}")

    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def to_table(self) -> dict[str, np.ndarray]:
        """One row per fitted candidate, ranked, as numpy columns: ``family``,
        ``params`` (text), ``loglik``, ``k``, ``aic``, ``aicc``, ``bic``,
        ``delta`` (of the criterion), ``weight``, ``ks``, ``cvm``, ``ad``,
        ``chi2``, ``chi2_pvalue``, ``converged``, ``note``."""
        cs = self.candidates

        def col(name, dtype=float):
            return np.array([getattr(c, name) for c in cs], dtype)

        return {
            "family": np.array([c.name for c in cs], object),
            "params": np.array([_params_text(c.fit) for c in cs], object),
            "loglik": col("loglik"),
            "k": col("n_params", int),
            "aic": col("aic"),
            "aicc": col("aicc"),
            "bic": col("bic"),
            "delta": self.delta(),
            "weight": self.weights(),
            "ks": col("ks"),
            "cvm": col("cvm"),
            "ad": col("ad"),
            "chi2": col("chi2"),
            "chi2_pvalue": col("chi2_pvalue"),
            "converged": col("converged", bool),
            "note": np.array([c.note for c in cs], object),
        }

    def to_dataframe(self):
        """:meth:`to_table` as a ``pandas.DataFrame`` indexed by family (needs pandas)."""
        return as_dataframe(self.to_table(), index_column="family")

    def plot(
        self,
        kind: str | None = None,
        *,
        top: int = 4,
        data: Any = None,
        ax: Any = None,
        fig: Any = None,
    ):
        """The ``top`` ranked converged candidates overlaid on the data (needs
        matplotlib): :func:`jaxmle.plot.compare` of their fits (those of the
        winner's kind of data, continuous or discrete). Returns the ``Figure``."""
        # lazy: the plots are an optional extra, loaded when first drawn
        from jaxmle import plot

        fits = [c.fit for c in self.candidates if c.converged]
        if not fits:
            raise ValueError("no converged candidate to plot")
        kinds = [getattr(f.family, "base", f.family).support.discrete for f in fits]
        fits = [f for f, k in zip(fits, kinds, strict=True) if k == kinds[0]][: max(1, int(top))]
        return plot.compare(fits, kind, data=data, ax=ax, fig=fig)

    def __str__(self) -> str:
        crit = self.criterion.upper()
        lines = [
            f"family selection by {crit}: n = {_count(self.n)}, {len(self.candidates)} fitted, "
            f"{len(self.skipped)} skipped",
            "",
        ]
        continuous = any(np.isfinite(c.ks) for c in self.candidates)
        discrete = any(np.isfinite(c.chi2) for c in self.candidates)
        # Every column after the name starts with a space: wide values (a
        # dAIC of 2e6, an A^2 of 1e5) never run into their neighbours.
        head = f"{'rank':<5}{'family':<22}{'k':>3} {'loglik':>14} {crit:>14} {'d' + crit:>10}"
        head += f" {'weight':>7}"
        if continuous:
            head += f" {'KS':>8} {'CvM':>8} {'AD':>8}"
        if discrete:
            head += f" {'chi2':>9} {'p':>7}"
        lines.append(head + "  parameters")
        delta, weight = self.delta(), self.weights()
        for i, c in enumerate(self.candidates):
            rank = str(i + 1) if c.converged else "-"
            row = (
                f"{rank:<5}{c.name:<22}{c.n_params:>3} {c.loglik:>14.4f}"
                f" {c.criterion(self.criterion):>14.4f} {_num(delta[i], '.2f'):>10}"
                f" {_num(weight[i], '.3f'):>7}"
            )
            if continuous:
                row += "".join(f" {_num(v, '.4g'):>8}" for v in (c.ks, c.cvm, c.ad))
            if discrete:
                row += f" {_num(c.chi2, '.3g'):>9} {_num(c.chi2_pvalue, '.3f'):>7}"
            row += "  " + _params_text(c.fit)
            lines.append(row + ("" if c.converged else " (not converged)"))
        notes = [f"  {c.name}: {c.note}" for c in self.candidates if c.note]
        if notes:
            lines += ["", "notes:", *notes]
        if self.skipped:
            lines += ["", "skipped:", *(f"  {s.family}: {s.reason}" for s in self.skipped)]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table
        printer.text(str(self))

    def __repr__(self) -> str:
        top = self.candidates[0].name if self.candidates else None
        return (
            f"Selection(by {self.criterion}: best {top!r} of {len(self.candidates)} fitted, "
            f"{len(self.skipped)} skipped)"
        )


@dataclasses.dataclass(frozen=True)
class ManySelection:
    """The candidates of :func:`select_many`: per dataset and family, the
    criteria as arrays ``(B, F)`` (columns in the order of ``families``), and
    per dataset the best family.

    ``sel[i]`` is dataset ``i``'s :class:`Selection`; ``sel.fit(name)`` a
    family's :class:`~jaxmle.ManyFitResult`.

    Attributes:
        families: the fitted families' names (the columns).
        fits: their :class:`~jaxmle.ManyFitResult` s, in that order.
        skipped: the families not fitted at all, with the reasons.
        criterion: ``"aic"``, ``"aicc"`` or ``"bic"``.
        loglik, aic, aicc, bic: ``(B, F)``; NaN where a dataset is outside a
            family's support or not comparable (see :mod:`jaxmle.select`).
        n_params: ``(F,)`` free parameters per family.
        converged: ``(B, F)``.
        ks, cvm, ad, chi2: ``(B, F)`` goodness of fit (NaN where it does not apply).
        best: ``(B,)`` the best family's name per dataset (``""``: none converged).
        best_index: ``(B,)`` its column (-1: none).
        notes: ``(B, F)`` why an entry is NaN or not converged (``""``: nothing).
    """

    families: tuple[str, ...]
    fits: tuple[ManyFitResult, ...]
    skipped: tuple[Skipped, ...]
    criterion: str
    loglik: np.ndarray
    aic: np.ndarray
    aicc: np.ndarray
    bic: np.ndarray
    n_params: np.ndarray
    converged: np.ndarray
    ks: np.ndarray
    cvm: np.ndarray
    ad: np.ndarray
    chi2: np.ndarray
    chi2_pvalue: np.ndarray
    best: np.ndarray
    best_index: np.ndarray
    notes: np.ndarray

    def __len__(self) -> int:
        return int(self.best.shape[0])

    def values(self) -> np.ndarray:
        """The criterion, ``(B, F)``."""
        return getattr(self, self.criterion)

    def fit(self, name: str) -> ManyFitResult:
        """A family's :class:`~jaxmle.ManyFitResult`."""
        if name not in self.families:
            raise KeyError(f"no candidate named {name!r}; fitted: {', '.join(self.families)}")
        return self.fits[self.families.index(name)]

    def __getitem__(self, i: int) -> Selection:
        """Dataset ``i``'s :class:`Selection` (its rows from the batch fits)."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index a ManySelection with an integer, got {type(i).__name__}")
        b = len(self)
        if not -b <= i < b:
            raise IndexError(f"dataset index {i} is out of range for {b} datasets")
        i = int(i) % b
        rows, skipped = [], list(self.skipped)
        for j, name in enumerate(self.families):
            if not np.isfinite(self.loglik[i, j]) and self.notes[i, j]:
                skipped.append(Skipped(name, str(self.notes[i, j])))
                continue
            rows.append(
                _candidate(
                    name,
                    self.fits[j][i],
                    ks=self.ks[i, j],
                    cvm=self.cvm[i, j],
                    ad=self.ad[i, j],
                    chi2=self.chi2[i, j],
                    chi2_pvalue=self.chi2_pvalue[i, j],
                    note=str(self.notes[i, j]),
                )
            )
        rows.sort(key=_rank_key(self.criterion))
        n = float(self.fits[0][i].n) if self.fits else math.nan
        return Selection(tuple(rows), tuple(skipped), self.criterion, n)

    def to_table(self) -> dict[str, np.ndarray]:
        """One row per dataset: ``best``, then the criterion of each family
        (``aic[gamma]``, ...)."""
        cols: dict[str, np.ndarray] = {"best": self.best}
        for j, name in enumerate(self.families):
            cols[f"{self.criterion}[{name}]"] = self.values()[:, j]
        return cols

    def to_dataframe(self):
        """:meth:`to_table` as a ``pandas.DataFrame`` (needs pandas)."""
        return as_dataframe(self.to_table())

    def __str__(self) -> str:
        names, counts = np.unique(self.best[self.best != ""], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        lines = [
            f"family selection by {self.criterion.upper()} over {len(self)} datasets: "
            f"{len(self.families)} families fitted, {len(self.skipped)} skipped",
            "",
            f"{'family':<22}{'best in':>9}{'median ' + self.criterion.upper():>16}",
        ]
        wins = dict(zip(names.tolist(), counts.tolist(), strict=True))
        ranked = [str(names[k]) for k in order] + [f for f in self.families if f not in wins]
        for name in ranked:
            col = self.values()[:, self.families.index(name)]
            med = np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else math.nan
            lines.append(f"{name:<22}{wins.get(name, 0):>9}{_num(med, '.4f'):>16}")
        none = int(np.sum(self.best == ""))
        if none:
            lines.append(f"{'(none converged)':<22}{none:>9}")
        if self.skipped:
            lines += ["", "skipped:", *(f"  {s.family}: {s.reason}" for s in self.skipped)]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table
        printer.text(str(self))

    def __repr__(self) -> str:
        return (
            f"ManySelection(by {self.criterion}: {len(self)} datasets, "
            f"{len(self.families)} families)"
        )


# ---- the candidates --------------------------------------------------------------------


def _kind(fam: Family) -> str:
    if fam.event_ndim != 0:
        return "multivariate"
    return "discrete" if fam.support.discrete else "continuous"


def _positive(fam: Family) -> bool:
    contains = fam.support.contains
    return bool(np.all(np.asarray(contains(_POSITIVE_PROBES)))) and not bool(
        np.asarray(contains(np.array([-1.0]))).any()
    )


def _in_group(fam: Family, group: str) -> bool:
    kind = _kind(fam)
    if group == "all":
        return True
    if group == "discrete":
        return kind == "discrete"
    return kind == "continuous" and (group == "continuous" or _positive(fam))


def candidate_families(families: Any = "continuous") -> tuple[list[Family], list[Skipped]]:
    """The candidate families of ``families`` (a group name, or a sequence of
    families, family classes or registered names), and the registered ones
    that cannot be made without options (with the reason)."""
    if isinstance(families, str):
        if families not in GROUPS:
            raise ValueError(
                f"families must be one of {', '.join(map(repr, GROUPS))} or a list of "
                f"families, got {families!r}"
            )
        out, skipped = [], []
        for name in family_names():
            try:
                fam = make_family(name)
            except (TypeError, ValueError) as exc:  # needs options (binomial's n)
                finite = family_class(name).support_values is not Family.support_values
                if families == "all" or (families == "discrete") == finite:
                    skipped.append(Skipped(name, str(exc)))
                continue
            if _in_group(fam, families):
                out.append(fam)
        return out, skipped
    if isinstance(families, (Family, type)) or not isinstance(families, Sequence):
        raise TypeError(
            f"families must be a group name or a list of families, got {type(families).__name__}"
        )
    if not families:
        raise ValueError("families is empty: give at least one candidate")
    out, skipped = [], []
    for f in families:
        try:
            out.append(resolve(f))
        except (TypeError, ValueError) as exc:
            # A registered family that needs options (binomial's n) is skipped;
            # anything else (an unknown name, not a family) is the caller's error.
            name = f if isinstance(f, str) else getattr(f, "name", None)
            if not (isinstance(name, str) and name in family_names()):
                raise
            skipped.append(Skipped(name, str(exc)))
    if len(set(out)) != len(out):
        twice = sorted({repr(f) for f in out if out.count(f) > 1})
        raise ValueError(f"families lists {', '.join(twice)} more than once")
    return out, skipped


def _labels(fams: Sequence[Family]) -> list[str]:
    """Each family's name, or its ``repr`` where several share a name
    (binomials with different ``n``)."""
    names = [f.name for f in fams]
    return [n if names.count(n) == 1 else repr(f) for n, f in zip(names, fams, strict=True)]


def _checked_data(x: Any, weights: Any) -> tuple[np.ndarray, np.ndarray | None]:
    arr = as_numeric_array("x", x)
    if arr.ndim != 1:
        raise ValueError(f"select takes 1-D data (one sample), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("x is empty: at least one observation is needed")
    w = None if weights is None else as_numeric_array("weights", weights)
    if w is not None and w.shape != arr.shape:
        raise ValueError(f"weights must have shape {arr.shape} like x, got shape {w.shape}")
    seen = arr if w is None else arr[np.asarray(w) > 0]
    if not np.all(np.isfinite(seen)):
        raise ValueError(
            f"x has {int(np.sum(~np.isfinite(seen)))} non-finite value(s); drop or impute them"
        )
    return arr, w


def _support_reason(fam: Family, x: np.ndarray, w: np.ndarray | None) -> str:
    """Why ``fam`` cannot have produced ``x`` (``""``: it can): "its support is
    x > 0, but 3 of 100 values are outside it (the first: x[7] = -0.2)"."""
    if fam.event_ndim != 0:
        return f"{fam.name} is multivariate (its observations are vectors)"
    seen = np.ones(x.shape, bool) if w is None else np.asarray(w) > 0
    try:  # the values the compute dtype holds, as the fit will see them
        check_data_values(fam, x[seen])
    except ValueError:
        inside = np.asarray(fam.support.contains(x), bool)
        outside = seen & ~inside
        if not outside.any():  # not a support problem: the check's own message
            try:
                check_data_values(fam, x[seen])
            except ValueError as exc:
                return str(exc)
        i = int(np.argmax(outside))
        return (
            f"its support is {fam.support.description}, but {int(outside.sum())} of "
            f"{int(seen.sum())} values are outside it (the first: x[{i}] = {x[i]:g})"
        )
    return ""


_NOT_COMPARABLE = (
    "a density is not comparable with the probabilities of the discrete candidates, "
    "whose support holds these data"
)


def _params_text(res: FitResult) -> str:
    return ", ".join(
        f"{k}={np.array2string(np.asarray(v), precision=4)}" for k, v in res.params.items()
    )


def _gof_fields(g: GofResult | None) -> dict[str, Any]:
    if g is None:
        return {}
    if g.discrete:
        return dict(chi2=g.chi2, chi2_pvalue=g.chi2_pvalue)
    return dict(ks=g.ks, cvm=g.cvm, ad=g.ad)


def _candidate(name: str, res: FitResult, **extra: Any) -> Candidate:
    return Candidate(
        name=name,
        fit=res,
        loglik=float(res.loglik),
        n_params=int(res.n_params),
        aic=float(res.aic),
        aicc=float(res.aicc),
        bic=float(res.bic),
        converged=bool(res.converged),
        **{k: float(v) if k != "note" else v for k, v in extra.items()},
    )


def _messages(caught: list) -> str:
    seen: list[str] = []
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def select(
    x: Any,
    families: Any = "continuous",
    *,
    criterion: str = "aic",
    weights: Any = None,
    gof: bool = True,
    progress: bool | None = None,
) -> Selection:
    """Fit each candidate family to the sample ``x`` and rank them.

    Args:
        x: the observations, a 1-D array, or :class:`~jaxmle.Censored` data
            (then without goodness-of-fit statistics: not defined here for
            censored data).
        families: a group, ``"continuous"`` (default), ``"positive"``,
            ``"discrete"`` or ``"all"``, or a list of families, family classes
            or registered names (``["gamma", "weibull", jm.Binomial(n=10)]``).
        criterion: ``"aic"`` (default), ``"aicc"`` or ``"bic"``.
        weights: optional frequency weights, as in :func:`jaxmle.fit`.
        gof: compute each fit's goodness-of-fit statistics (no p-values; call
            ``sel[name].fit.gof(n_boot=...)`` for those).
        progress: a progress bar over the candidate families on stderr (the
            family being fitted after it): ``None`` (default) on a terminal
            only, ``True`` always (needs tqdm), ``False`` never; see
            :mod:`jaxmle.progress`.

    Returns:
        A :class:`Selection`: the candidates ranked (converged fits first,
        then by ``criterion``), ``.best`` the winner's fit, ``.skipped`` the
        families not fitted and why. The fits' warnings become the rows' notes.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> x = np.random.default_rng(0).gamma(3.0, 2.0, 2000)
        >>> sel = jm.select(x, ["gamma", "weibull", "lognormal", "normal"])
        >>> sel.best.family.name, sel.names[:2]
        ('gamma', ('gamma', 'weibull'))
    """
    criterion = _criterion(criterion)
    censored = isinstance(x, Censored)
    if censored:  # checked by each family's censored rows
        arr, w = x, None if weights is None else as_numeric_array("weights", weights)
        gof = False  # KS, CvM and AD are not defined for censored data here
    else:
        arr, w = _checked_data(x, weights)
    fams, skipped = candidate_families(families)
    reasons = [
        _censored_reason(fam, arr) if censored else _support_reason(fam, arr, w) for fam in fams
    ]
    counts = any(_kind(f) == "discrete" and not r for f, r in zip(fams, reasons, strict=True))
    # The data sorted once, for every candidate's EDF statistics.
    ordered = _sorted_data(arr, w) if gof and not censored else None
    reasons = [
        _NOT_COMPARABLE if not r and counts and _kind(f) == "continuous" else r
        for f, r in zip(fams, reasons, strict=True)
    ]
    n_fit = reasons.count("")
    rows = []
    bar = progress_bar(n_fit, "select", enabled=progress, unit="family", steps=n_fit)
    with bar:
        for fam, label, reason in zip(fams, _labels(fams), reasons, strict=True):
            if reason:
                skipped.append(Skipped(label, reason))
                continue
            bar.set_postfix_str(label)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    res = fit(fam, arr, weights=w, progress=False)
                except (ValueError, TypeError, NotImplementedError, FloatingPointError) as exc:
                    skipped.append(Skipped(label, f"the fit failed: {exc}"))
                    bar.update()
                    continue
                g = None
                if gof and bool(res.converged):
                    try:
                        g = res.gof(sorted_data=None if _kind(fam) == "discrete" else ordered)
                    except ValueError as exc:
                        warnings.warn(f"no goodness of fit: {exc}", stacklevel=1)
            note = "; ".join(filter(None, [_messages(caught), g.note if g is not None else ""]))
            rows.append(_candidate(label, res, **_gof_fields(g), note=note))
            bar.update()
    rows.sort(key=_rank_key(criterion))
    n = float(np.sum(w)) if w is not None else float(len(arr))
    return Selection(tuple(rows), tuple(skipped), criterion, n)


def _sorted_data(x: np.ndarray, w: np.ndarray | None) -> tuple[Any, Any]:
    """``x`` sorted and its weights in the same order, on the device."""
    if w is None:
        return jnp.asarray(np.sort(x)), None
    order = np.argsort(x, kind="stable")
    return jnp.asarray(x[order]), jnp.asarray(np.asarray(w)[order])


def _censored_reason(fam: Family, data: Censored) -> str:
    """Why ``fam`` cannot be fitted to the censored ``data`` (``""``: it can)."""
    if fam.event_ndim != 0:
        return f"{fam.name} is multivariate (its observations are vectors)"
    try:
        censored_rows(fam, data)
    except ValueError as exc:
        return str(exc)
    return ""


def select_many(
    datasets: Any,
    families: Any = "continuous",
    *,
    criterion: str = "aic",
    weights: Any = None,
    gof: bool = True,
    progress: bool | None = None,
) -> ManySelection:
    """:func:`select` for many datasets at once: each candidate family is fitted
    to every dataset by one :func:`jaxmle.fit_many` batch program.

    Args:
        datasets: an array ``(B, N)``, or a list of ``B`` 1-D arrays of
            different lengths (as :func:`jaxmle.fit_many` takes them).
        families, criterion, gof, progress: as in :func:`select` (the bar
            counts the candidate families, each fitted to every dataset).
        weights: optional frequency weights like ``datasets``.

    Returns:
        A :class:`ManySelection`: the criteria ``(B, F)`` of every family on
        every dataset (NaN where the dataset is outside the family's support,
        or the family not comparable), the best family per dataset, and
        ``sel[i]``, dataset ``i``'s :class:`Selection`; it ranks as
        :func:`select` on that dataset does.

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> X = np.random.default_rng(0).weibull(3.0, size=(20, 2000))
        >>> sel = jm.select_many(X, ["gamma", "weibull", "lognormal"], gof=False)
        >>> list(np.unique(sel.best)), sel.aic.shape
        (['weibull'], (20, 3))
    """
    criterion = _criterion(criterion)
    fams, skipped = candidate_families(families)
    fitted: list[tuple[Family, ManyFitResult, str]] = []
    labels = {}
    n_fit = sum(fam.event_ndim == 0 for fam in fams)
    bar = progress_bar(n_fit, "select_many", enabled=progress, unit="family", steps=n_fit)
    with bar:
        for fam, label in zip(fams, _labels(fams), strict=True):
            labels[fam] = label
            if fam.event_ndim != 0:
                skipped.append(Skipped(label, _support_reason(fam, np.zeros(1), None)))
                continue
            bar.set_postfix_str(label)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    res = fit_many(
                        fam, datasets, weights=weights, on_invalid="flag", progress=False
                    )
                except (ValueError, TypeError, NotImplementedError, FloatingPointError) as exc:
                    skipped.append(Skipped(label, f"the fit failed: {exc}"))
                    bar.update()
                    continue
            fitted.append((fam, res, _messages(caught)))
            bar.update()
    if not fitted:
        raise ValueError(
            "no candidate family was fitted: "
            + "; ".join(f"{s.family}: {s.reason}" for s in skipped[:5])
        )
    b = len(fitted[0][1])
    f = len(fitted)
    nan = np.full((b, f), np.nan)
    cols = {k: nan.copy() for k in ("loglik", "aic", "aicc", "bic", "ks", "cvm", "ad", "chi2")}
    cols["chi2_pvalue"] = nan.copy()
    converged = np.zeros((b, f), bool)
    notes = np.full((b, f), "", object)
    valid = np.zeros((b, f), bool)
    for j, (_, res, caught) in enumerate(fitted):
        status = np.asarray(res.status)
        valid[:, j] = status != Status.INVALID_DATA
        for k in ("loglik", "aic", "aicc", "bic"):
            cols[k][:, j] = np.asarray(getattr(res, k), float)
        converged[:, j] = np.asarray(res.converged)
        for i in range(b):
            notes[i, j] = res.note[i] if res.note else ""
        if gof and np.any(converged[:, j]):
            try:
                g = res.gof()
            except ValueError:  # no cdf: no statistics
                g = None
            for k, v in _gof_fields(g).items():
                cols[k][:, j] = np.asarray(v, float)
        if caught:
            for i in np.flatnonzero(~converged[:, j] & valid[:, j]):
                notes[i, j] = notes[i, j] or caught
    # Per dataset: where a discrete family's support holds it, continuous ones
    # are not comparable.
    discrete = np.array([_kind(fam) == "discrete" for fam, _, _ in fitted])
    counts = (valid & discrete[None, :]).any(axis=1)
    hide = (counts[:, None] & ~discrete[None, :]) | ~valid
    for i, j in zip(*np.nonzero(counts[:, None] & ~discrete[None, :] & valid), strict=True):
        notes[i, j] = _NOT_COMPARABLE
    for k in cols:
        cols[k][hide] = np.nan
    converged &= ~hide
    value = np.where(converged & np.isfinite(cols[criterion]), cols[criterion], np.inf)
    best_index = np.where(np.isfinite(value).any(axis=1), np.argmin(value, axis=1), -1)
    names = tuple(labels[fam] for fam, _, _ in fitted)
    best = np.array([names[j] if j >= 0 else "" for j in best_index], object)
    return ManySelection(
        families=names,
        fits=tuple(res for _, res, _ in fitted),
        skipped=tuple(skipped),
        criterion=criterion,
        n_params=np.array([res.n_params for _, res, _ in fitted]),
        converged=converged,
        best=best,
        best_index=best_index,
        notes=notes,
        **cols,
    )


# ---- presentation ------------------------------------------------------------------


def _num(v: Any, fmt: str) -> str:
    """``v`` formatted; ``-`` for NaN (not computed), ``inf`` for an infinite
    statistic (A^2 where the fitted cdf is 0 or 1 at an observation)."""
    v = float(v)
    return "-" if math.isnan(v) else format(v, fmt) if math.isfinite(v) else str(v)


def _count(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.3f}"
