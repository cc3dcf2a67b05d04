"""Drawing: the diagnostic panel and its kinds, the comparison of fits, the
estimates of many datasets (matplotlib, imported when a plot is drawn)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from jaxmle.status import Status

if TYPE_CHECKING:  # matplotlib is optional: only for the annotations
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
from jaxmle.plot.ecdf import Empirical, Steps, empirical_of
from jaxmle.plot.fitted import FitLike, Model, base_family, check_univariate, describe, model
from jaxmle.plot.profile_grid import profile

__all__ = [
    "KINDS",
    "compare",
    "diagnostics",
    "estimates",
]


KINDS = ("density", "cdf", "qq", "pp", "profile")
"""The ``kind`` values of :func:`diagnostics` (``None``: the 2x2 panel of the first four)."""

_PANEL = ("density", "cdf", "qq", "pp")
_GRID = 512  # points of a fitted density or cdf curve
_REACH = 10.0  # the density and cdf plots show at most q1 - 10 IQR .. q3 + 10 IQR
_HEADROOM = 1.2  # the density plot's top over its highest bar or curve: room for the legend
_MAX_BARS = 100  # discrete bars; wider ranges are grouped
_FIT_COLOR = "C3"
_DATA_COLOR = "0.15"
_MISSING = "plotting needs matplotlib: pip install 'jaxmle[plot]'"


def _pyplot() -> Any:
    """``matplotlib.pyplot``, or a ModuleNotFoundError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ModuleNotFoundError as err:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(_MISSING) from err
    return plt


# ---- drawing --------------------------------------------------------------------------------


class _Drawn(NamedTuple):
    """A fit to draw: its distribution, legend label and colour."""

    model: Model
    label: str
    color: str


class _Window(NamedTuple):
    """The x range of the density and cdf plots.

    Attributes:
        lo, hi: the data values shown (the histogram's bins span them).
        left, right: the axis limits (``lo``, ``hi`` padded).
        beyond: the fraction of the mass outside ``[lo, hi]``.
    """

    lo: float
    hi: float
    left: float
    right: float
    beyond: float


def _window(emp: Empirical, fits: Sequence[_Drawn]) -> _Window:
    r"""The data's range, cut at :math:`q_1 - 10\,\mathrm{IQR}` and
    :math:`q_3 + 10\,\mathrm{IQR}` where the data reach beyond (long tails:
    a lognormal's 10^7 draws, a Cauchy sample), so that the bulk is not
    squeezed into one bin; the Q-Q and P-P plots show every tail. Counts
    also show where the fits put 99.8% of their mass (a misfit's tail),
    within the data's range's width of it."""
    lo, hi = emp.lo, emp.hi
    q1, q3 = (float(v) for v in emp.quantile(np.array([0.25, 0.75])))
    if q3 > q1:
        lo, hi = max(lo, q1 - _REACH * (q3 - q1)), min(hi, q3 + _REACH * (q3 - q1))
    beyond = 0.0
    if (lo, hi) != (emp.lo, emp.hi):
        beyond = max(0.0, 1.0 - float(emp.histogram(np.array([lo, hi])).sum()))
    if emp.discrete:
        lo, hi = math.floor(lo), math.ceil(hi)
        span = hi - lo + 5
        for fit in fits:
            a, b = fit.model.ppf(np.array([0.001, 0.999]))
            if np.isfinite(a):
                lo = min(lo, max(int(a), lo - span))
            if np.isfinite(b):
                hi = max(hi, min(int(b), hi + span))
        return _Window(lo, hi, lo - 0.5, hi + 0.5, beyond)
    pad = 0.04 * (hi - lo) if hi > lo else max(1.0, abs(lo)) * 0.1
    return _Window(lo, hi, lo - pad, hi + pad, beyond)


def _xlabel(win: _Window) -> str:
    if win.beyond <= 0.0:
        return "x"
    return f"x    ({100 * win.beyond:.2g}% of the mass lies beyond this range)"


def _bin_edges(emp: Empirical, win: _Window) -> np.ndarray:
    """Histogram edges over the window: integer-centred bars for counts
    (grouped ``g`` at a time beyond :data:`_MAX_BARS` values); else as many
    equal bins as the larger of Freedman-Diaconis' (width ``2 IQR / n^(1/3)``)
    and Sturges' (``log2 n + 1``), from 5 to 100."""
    lo, hi = win.lo, win.hi
    if emp.discrete:
        count = int(hi - lo) + 1
        g = max(1, math.ceil(count / _MAX_BARS))
        return lo - 0.5 + g * np.arange(math.ceil(count / g) + 1)
    if not hi > lo:
        return np.array([lo - 0.5, lo + 0.5])
    n = max(emp.count, 2.0)
    q1, q3 = emp.quantile(np.array([0.25, 0.75]))
    fd = 2.0 * (q3 - q1) / n ** (1.0 / 3.0)
    bins_fd = math.ceil((hi - lo) / fd) if fd > 0 else 0
    bins = int(np.clip(max(bins_fd, math.ceil(math.log2(n)) + 1), 5, 100))
    return np.linspace(lo, hi, bins + 1)


def _density(ax: Axes, emp: Empirical, fits: Sequence[_Drawn]) -> None:
    """Bars of the data's mass per value (counts) or a histogram (density
    scale), and each fit's pmf (markers) or density (a curve), with room
    above for the legend."""
    win = _window(emp, fits)
    edges = _bin_edges(emp, win)
    mass = emp.histogram(edges)
    if emp.discrete:
        top = _bars(ax, emp, fits, edges, mass)
    else:
        top = _histogram(ax, emp, fits, edges, mass, win)
    ax.set_xlim(win.left, win.right)
    if top > 0:
        ax.set_ylim(0.0, _HEADROOM * top)
    ax.set_xlabel(_xlabel(win))
    if emp.discrete:
        _integer_ticks(ax.xaxis)


def _bars(
    ax: Axes, emp: Empirical, fits: Sequence[_Drawn], edges: np.ndarray, mass: np.ndarray
) -> float:
    """Observed frequencies as bars (of ``g`` values each on a long range:
    then mass per value), each fit's pmf as markers, shifted side by side
    when there are several; the highest value drawn."""
    g = float(edges[1] - edges[0])
    centres = 0.5 * (edges[:-1] + edges[1:])
    what = f"observed ({emp.label} mass)" if emp.censored else "observed"
    ax.bar(centres, mass / g, width=0.8 * g, color="0.82", edgecolor="0.45", label=what)
    top = float(np.max(mass / g, initial=0.0))
    shift = min(0.12, 0.6 / len(fits)) * g
    for i, fit in enumerate(fits):
        if g == 1:
            y = fit.model.pdf(centres)
        else:
            y = (fit.model.cdf(edges[1:] - 0.5) - fit.model.cdf(edges[:-1] - 0.5)) / g
        dx = (i - 0.5 * (len(fits) - 1)) * shift
        ms = 4.0 if centres.size <= 40 else 2.5
        ax.plot(centres + dx, y, "o-", color=fit.color, ms=ms, lw=0.9, label=fit.label)
        top = max(top, float(np.nanmax(y, initial=0.0)))
    ax.set_ylabel("probability" if g == 1 else f"probability per value ({g:g} per bar)")
    return top


def _histogram(
    ax: Axes,
    emp: Empirical,
    fits: Sequence[_Drawn],
    edges: np.ndarray,
    mass: np.ndarray,
    win: _Window,
) -> float:
    """The histogram on the density scale and each fit's density; the top of
    the plot (a density that goes to infinity is cut at 3 times the histogram)."""
    height = mass / np.diff(edges)
    what = f"{emp.label} mass" if emp.censored else "histogram"
    ax.stairs(height, edges, fill=True, color="0.85", label=what)
    ax.stairs(height, edges, color="0.5", lw=0.8)
    grid = np.linspace(win.left, win.right, _GRID)
    top = float(np.max(height, initial=0.0))
    for fit in fits:
        y = fit.model.pdf(grid)
        ax.plot(grid, y, color=fit.color, lw=1.6, label=fit.label)
        finite = y[np.isfinite(y)]
        if finite.size:
            top = max(top, float(min(finite.max(), 3.0 * max(top, 1e-300))))
    ax.set_ylabel("density")
    return top


def _cdf(ax: Axes, emp: Empirical, fits: Sequence[_Drawn]) -> None:
    """The empirical cdf (Turnbull intervals as grey boxes) and each fit's cdf."""
    win = _window(emp, fits)
    _empirical_steps(ax, emp.steps(), win, emp.label)
    if emp.discrete:
        k = np.arange(math.ceil(win.left), math.floor(win.right) + 1, dtype=float)
        xs = np.concatenate([[win.left], k, [win.right]])
        for fit in fits:
            ys = fit.model.cdf(np.concatenate([[win.left], k]))
            ys = np.concatenate([ys, ys[-1:]])
            ax.plot(xs, ys, drawstyle="steps-post", color=fit.color, lw=1.4, label=fit.label)
    else:
        grid = np.linspace(win.left, win.right, _GRID)
        for fit in fits:
            ax.plot(grid, fit.model.cdf(grid), color=fit.color, lw=1.6, label=fit.label)
    ax.set_xlim(win.left, win.right)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(_xlabel(win))
    ax.set_ylabel("cumulative probability")
    if emp.discrete:
        _integer_ticks(ax.xaxis)


def _integer_ticks(*axes: Any) -> None:
    """Ticks at whole numbers only (count data)."""
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.set_major_locator(MaxNLocator(integer=True))


def _empirical_steps(ax: Axes, s: Steps, win: _Window, label: str) -> None:
    """``s`` as a path through ``(left[k], before[k])`` and ``(right[k],
    after[k])``: a staircase of vertical jumps at points (boxes over Turnbull
    intervals, crossed by their diagonal), flat between jumps (between kept
    jumps of a long sample: straight). Unbounded ends are drawn at the axis'."""
    start, stop = min(win.left, float(np.min(s.points))), max(win.right, float(np.max(s.points)))
    left, right = np.clip(s.left, start, stop), np.clip(s.right, start, stop)
    xs = np.concatenate([[start], np.column_stack([left, right]).ravel(), [stop]])
    ys = np.concatenate([s.before[:1], np.column_stack([s.before, s.after]).ravel(), s.after[-1:]])
    ax.plot(xs, ys, color=_DATA_COLOR, lw=1.2, label=label, zorder=3)
    boxes = right > left
    if boxes.any():
        from matplotlib.collections import PolyCollection

        verts = [
            [(a, lo), (b, lo), (b, hi), (a, hi)]
            for a, b, lo, hi in zip(
                left[boxes], right[boxes], s.before[boxes], s.after[boxes], strict=True
            )
        ]
        boxes = PolyCollection(verts, facecolors="0.8", edgecolors="0.45", lw=0.6, zorder=2.5)
        ax.add_collection(boxes)


def _qq(ax: Axes, emp: Empirical, fits: Sequence[_Drawn]) -> None:
    """Empirical quantiles against each fit's at the plotting positions, with y = x."""
    s = emp.steps()
    lo_all, hi_all = [], []
    for fit in fits:
        theo = fit.model.ppf(s.mid)
        ok = np.isfinite(theo)
        ax.plot(theo[ok], s.points[ok], "o", ms=3, alpha=0.75, color=fit.color, label=fit.label)
        box = ok & (s.right > s.left)
        if box.any():
            lo_y, hi_y = _finite_span(s.left[box], s.right[box], emp)
            ax.vlines(theo[box], lo_y, hi_y, color=fit.color, lw=0.8, alpha=0.6)
        if ok.any():
            lo_all.append(min(theo[ok].min(), np.nanmin(s.points)))
            hi_all.append(max(theo[ok].max(), np.nanmax(s.points)))
    if lo_all:
        lo, hi = min(lo_all), max(hi_all)
        ax.plot([lo, hi], [lo, hi], color="0.4", lw=0.9, ls="--", zorder=0)
    ax.set_xlabel("theoretical quantiles")
    ax.set_ylabel("empirical quantiles")
    if emp.discrete:
        _integer_ticks(ax.xaxis, ax.yaxis)


def _finite_span(a: np.ndarray, b: np.ndarray, emp: Empirical) -> tuple[np.ndarray, np.ndarray]:
    return np.where(np.isfinite(a), a, emp.lo), np.where(np.isfinite(b), b, emp.hi)


def _pp(ax: Axes, emp: Empirical, fits: Sequence[_Drawn]) -> None:
    """Empirical probabilities at the plotting positions against each fit's cdf, with y = x."""
    s = emp.steps()
    for fit in fits:
        theo = _fitted_mid(fit.model, s.points, emp.discrete)
        ax.plot(theo, s.mid, "o", ms=3, alpha=0.75, color=fit.color, label=fit.label)
        box = s.right > s.left
        if box.any():
            ax.hlines(
                s.mid[box],
                fit.model.cdf(s.left[box]),
                fit.model.cdf(s.right[box]),
                color=fit.color,
                lw=0.8,
                alpha=0.6,
            )
    ax.plot([0, 1], [0, 1], color="0.4", lw=0.9, ls="--", zorder=0)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("theoretical probabilities")
    ax.set_ylabel("empirical probabilities")


def _fitted_mid(m: Model, x: np.ndarray, discrete: bool) -> np.ndarray:
    """The fitted cdf at ``x``; for counts the midpoint of its jump there,
    ``(F(x - 1) + F(x)) / 2``, as the empirical plotting position."""
    if not discrete:
        return m.cdf(x)
    return 0.5 * (m.cdf(x - 1.0) + m.cdf(x))


_TITLES = {
    "density": "Density and histogram",
    "cdf": "Empirical and fitted cdf",
    "qq": "Q-Q plot",
    "pp": "P-P plot",
}
_DRAW: dict[str, Callable[[Any, Empirical, Sequence[_Drawn]], None]] = {
    "density": _density,
    "cdf": _cdf,
    "qq": _qq,
    "pp": _pp,
}


def _title(kind: str, emp: Empirical) -> str:
    if kind == "density" and emp.discrete:
        return "Observed and fitted frequencies"
    return _TITLES[kind]


def _check_kind(kind: str | None, allowed: Sequence[str]) -> str | None:
    if kind is None or kind == "panel":
        return None
    if not isinstance(kind, str) or kind not in allowed:
        names = ", ".join(repr(k) for k in allowed)
        raise ValueError(
            f"unknown plot kind {kind!r}; choose one of {names} (or None for the 2x2 panel)"
        )
    return kind


def _n_text(emp: Empirical, res: FitLike) -> str:
    n = float(np.asarray(res.n)) if emp.censored else emp.total
    text = f"{int(n):,}" if float(n).is_integer() else f"{n:,.4g}"
    return f"weighted n = {text}" if emp.weighted else f"n = {text}"


def _draw_panel(fig: Figure, emp: Empirical, fits: Sequence[_Drawn], shared: bool) -> list:
    """The 2x2 panel: legends in the density and cdf plots, or (``shared``,
    several fits with long labels) one legend under the panel."""
    axes = fig.subplots(2, 2).ravel()
    for ax, kind in zip(axes, _PANEL, strict=True):
        _DRAW[kind](ax, emp, fits)
        ax.set_title(_title(kind, emp), fontsize=10)
    if not shared:
        _legend(axes[0], small=True)
        _legend(axes[1], small=True)
        return list(axes)
    found: dict[str, Any] = {}
    for ax in axes[:2]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(label, handle)
    ncol = 1 if max(len(k) for k in found) > 45 else min(len(found), 3)
    try:
        fig.legend(found.values(), found.keys(), loc="outside lower center", ncol=ncol, fontsize=8)
    except ValueError:  # matplotlib < 3.7: no "outside" placement
        fig.legend(found.values(), found.keys(), loc="lower center", ncol=ncol, fontsize=8)
    return list(axes)


def _wrap(label: str, width: int = 56) -> str:
    """A long legend label over several lines, broken after commas."""
    lines, line = [], ""
    for part in label.split(", "):
        if line and len(line) + len(part) + 2 > width:
            lines.append(line + ",")
            line = part
        else:
            line = f"{line}, {part}" if line else part
    return "\n".join([*lines, line])


def _legend(ax: Axes, small: bool = False) -> None:
    ax.legend(fontsize=7.5 if small else 8.5, frameon=True, framealpha=0.8)


def _new_figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    if fig is not None:
        return fig
    return _pyplot().figure(figsize=size, layout="constrained")


# ---- public API ----------------------------------------------------------------------------


def diagnostics(
    res: FitLike,
    kind: str | None = None,
    *,
    data: Any = None,
    ax: Axes | Sequence[Axes] | None = None,
    fig: Figure | None = None,
    level: float = 0.95,
) -> Figure:
    r"""Diagnostic plots of one fit (``res.plot()``).

    Args:
        res: a :class:`~jaxmle.FitResult` of a univariate family.
        kind: ``None`` for the 2x2 panel of fitdistrplus' ``plot(fitdist)``
            (density over a histogram, empirical and fitted cdfs, Q-Q, P-P),
            or one of ``"density"``, ``"cdf"``, ``"qq"``, ``"pp"`` (one plot),
            ``"profile"`` (the profile log-likelihood of each free parameter
            around the MLE, :math:`\ell_p - \hat\ell`, with the cutoff
            :math:`-\chi^2_{1,\text{level}}/2` whose crossings are the
            profile interval's ends).
        data: the data (a 1-D array, or :class:`~jaxmle.Censored`) for a fit
            that does not hold them (a streamed fit); else the fit's own.
        ax: the Axes to draw one ``kind`` on (``"profile"``: one Axes per free
            parameter); a new figure if ``None``.
        fig: the figure to draw the panel (or the profiles) in.
        level: the profile plot's confidence level.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: an unknown ``kind``, a multivariate family, a result
            without its data and no ``data=``.
    """
    kind = _check_kind(kind, KINDS)
    check_univariate(res.family)
    if kind == "profile":
        return _profile_figure(res, data, ax, fig, level)
    emp = empirical_of(res, data)
    m = model(res.family, res.params)
    fits = [_Drawn(m, f"fitted {base_family(res.family).name}", _FIT_COLOR)]
    heading = f"{m.label}    ({_n_text(emp, res)})"
    return _figure(kind, emp, fits, ax, fig, heading, f"\n{heading}", large=False)


def _figure(
    kind: str | None,
    emp: Empirical,
    fits: Sequence[_Drawn],
    ax: Any,
    fig: Figure | None,
    heading: str,
    subtitle: str,
    large: bool,
) -> Figure:
    """The 2x2 panel (``kind=None``, titled ``heading``; ``large``: room for a
    shared legend below it) or one ``kind`` on ``ax`` (its title followed by
    ``subtitle``)."""
    if kind is None:
        if ax is not None:
            raise ValueError("ax= draws one kind; the 2x2 panel takes fig=")
        fig = _new_figure(fig, (10.0, 8.8) if large else (9.0, 7.2))
        _draw_panel(fig, emp, fits, shared=large)
        fig.suptitle(heading, fontsize=11)
        return fig
    axis = _single_axes(ax, fig, (6.5, 4.8) if large else (6.0, 4.5))
    _DRAW[kind](axis, emp, fits)
    axis.set_title(f"{_title(kind, emp)}{subtitle}", fontsize=10)
    _legend(axis)
    return axis.figure


def _single_axes(ax: Any, fig: Figure | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        if isinstance(ax, (list, tuple, np.ndarray)):
            raise ValueError("ax= takes one Axes for this kind")
        return ax
    fig = _new_figure(fig, size)
    return fig.add_subplot()


def _profile_figure(res: FitLike, data: Any, ax: Any, fig: Figure | None, level: float) -> Figure:
    """One panel per free parameter: the profile, the cutoff, the MLE, and the
    interval where the profile crosses the cutoff (read off the grid)."""
    prof = profile(res, data)
    free = tuple(res.free_names)
    cut = -0.5 * NormalDist().inv_cdf(0.5 + 0.5 * level) ** 2
    if ax is not None:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != len(free):
            raise ValueError(
                f"ax= needs one Axes per free parameter ({len(free)}), got {len(axes)}"
            )
    else:
        cols = min(len(free), 3)
        rows = math.ceil(len(free) / cols)
        fig = _new_figure(fig, (3.6 * cols + 0.6, 3.2 * rows + 0.5))
        axes = list(np.atleast_1d(fig.subplots(rows, cols)).ravel())
        for extra in axes[len(free) :]:
            extra.remove()
    pct = f"{100 * level:g}%"
    for j, (axis, k) in enumerate(zip(axes, free, strict=False)):
        v, ll = prof.values[j], prof.loglik[j]
        ok = np.isfinite(ll) & np.isfinite(v)
        axis.plot(v[ok], ll[ok], "o-", color="C0", ms=3, lw=1.4, label="profile")
        axis.axhline(cut, color=_FIT_COLOR, ls="--", lw=1, label=f"{pct} cutoff")
        est = float(np.asarray(res.params[k]))
        axis.axvline(est, color="0.5", lw=0.8, ls=":", label="MLE")
        lo, hi = _crossings(v[ok], ll[ok], cut)
        ends = f"[{_end_text(lo)}, {_end_text(hi)}]"
        axis.set_title(f"{k} = {est:.4g}\n{pct} profile interval {ends}", fontsize=9.5)
        axis.set_xlabel(k)
        axis.set_ylabel("profile log-likelihood - max")
    _legend(axes[0], small=True)
    figure = axes[0].figure
    if ax is None:
        figure.suptitle(f"Profile log-likelihood: {describe(res.family, res.params)}", fontsize=11)
    return figure


def _crossings(v: np.ndarray, ll: np.ndarray, cut: float) -> tuple[float, float]:
    """Where the profile ``ll(v)`` (its maximum inside) falls to ``cut`` on
    each side, by linear interpolation between grid points; NaN where it
    stays above the cutoff on the grid."""
    if v.size < 2:
        return math.nan, math.nan
    top = int(np.argmax(ll))
    below = np.flatnonzero(ll < cut)
    left, right = below[below < top], below[below > top]
    lo = hi = math.nan
    if left.size:
        i = left[-1]
        lo = float(np.interp(cut, [ll[i], ll[i + 1]], [v[i], v[i + 1]]))
    if right.size:
        i = right[0]
        hi = float(np.interp(cut, [ll[i], ll[i - 1]], [v[i], v[i - 1]]))
    return lo, hi


def _end_text(v: float) -> str:
    return "beyond the grid" if math.isnan(v) else f"{v:.4g}"


def compare(
    results: Sequence[FitLike],
    kind: str | None = None,
    *,
    data: Any = None,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Candidate fits of the same data overlaid (fitdistrplus' ``denscomp``,
    ``cdfcomp``, ``qqcomp``, ``ppcomp``).

    Args:
        results: the fits (:class:`~jaxmle.FitResult`) of univariate families,
            all continuous or all discrete. The data drawn are ``data``, else
            the first result's.
        kind: ``None`` for a 2x2 panel of all four, or ``"density"``,
            ``"cdf"``, ``"qq"`` or ``"pp"``.
        data: the data, for fits that do not hold them.
        labels: legend labels (default: each family and its parameters).
        ax: the Axes for one ``kind``; fig: the figure for the panel.

    Returns:
        The matplotlib ``Figure``: one line (curve or markers) per result in
        each plot, labelled in the legend.
    """
    kind = _check_kind(kind, _PANEL)
    results = list(results)
    if not results:
        raise ValueError("compare needs at least one fit")
    for r in results:
        check_univariate(r.family)
    discrete = {bool(base_family(r.family).support.discrete) for r in results}
    if len(discrete) > 1:
        raise ValueError("compare draws fits of one kind of data: all continuous or all discrete")
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"labels: {len(labels)} for {len(results)} results")
    emp = empirical_of(results[0], data)
    fits = []
    for i, r in enumerate(results):
        m = model(r.family, r.params)
        label = _wrap(m.label) if labels is None else str(labels[i])
        fits.append(_Drawn(m, label, f"C{i % 10}"))
    n_text = _n_text(emp, results[0])
    heading = f"Fits compared    ({n_text})"
    return _figure(kind, emp, fits, ax, fig, heading, f": {len(results)} fits    ({n_text})", True)


def estimates(
    res: FitLike,
    *,
    params: Sequence[str] | None = None,
    level: float = 0.95,
    labels: Sequence[Any] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """The estimates of many datasets (``ManyFitResult.plot()``): one panel per
    free parameter (per element of a vector one), each dataset's estimate with
    its Wald interval ``estimate -/+ z stderr`` as an error bar, and a dotted
    line at the median over the converged fits; fits that did not converge
    are marked with a red cross.

    Args:
        res: a :class:`~jaxmle.ManyFitResult`.
        params: the parameters to draw (default: the free ones).
        level: the intervals' coverage.
        labels: a label per dataset for the x axis (default: its index).
        fig: the figure to draw in.
    """
    names = tuple(res.free_names if params is None else params)
    unknown = [k for k in names if k not in res.params]
    if unknown:
        raise ValueError(f"unknown parameters {unknown}; the family has {list(res.params)}")
    b = int(np.shape(res.loglik)[0]) if np.ndim(res.loglik) else 1
    if labels is not None and len(labels) != b:
        raise ValueError(f"labels: {len(labels)} for {b} datasets")
    z = NormalDist().inv_cdf(0.5 + 0.5 * level)
    columns = _estimate_columns(res, names, b)
    idx = np.arange(b)
    converged = np.asarray(res.status).reshape(b) == int(Status.CONVERGED)
    fig = _new_figure(fig, (max(6.0, min(14.0, 3.0 + 0.18 * b)), 0.6 + 2.3 * len(columns)))
    axes = np.atleast_1d(fig.subplots(len(columns), 1, sharex=True)).ravel()
    for axis, (name, est, se) in zip(axes, columns, strict=True):
        half = z * se
        axis.errorbar(
            idx,
            est,
            yerr=half,
            fmt="o",
            ms=3.5,
            lw=1,
            capsize=2,
            color="C0",
            label=f"estimate, {100 * level:g}% Wald interval",
        )
        bad = ~converged & np.isfinite(est)
        if bad.any():
            axis.plot(
                idx[bad], est[bad], "x", color=_FIT_COLOR, ms=7, mew=1.6, label="not converged"
            )
        ok = converged & np.isfinite(est)
        if ok.any():
            median = float(np.median(est[ok]))
            axis.axhline(median, color="0.5", lw=0.8, ls=":", zorder=0, label="median estimate")
        axis.set_ylabel(name)
    _legend(axes[0], small=True)
    last = axes[-1]
    last.set_xlabel("dataset")
    if labels is not None and b <= 60:
        last.set_xticks(
            idx,
            [str(v) for v in labels],
            rotation=45 if b > 8 else 0,
            ha="right" if b > 8 else "center",
        )
    elif b <= 30:
        last.set_xticks(idx)
    fig.suptitle(f"{base_family(res.family).name}: estimates of {b} datasets", fontsize=11)
    return fig


def _estimate_columns(
    res: FitLike, names: Sequence[str], b: int
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, estimates, stderr)`` per scalar element of each parameter."""
    out = []
    for k in names:
        est = np.asarray(res.params[k], float).reshape(b, -1)
        se = res.stderr.get(k)
        se = np.full(est.shape, np.nan) if se is None else np.asarray(se, float).reshape(b, -1)
        shape = np.shape(res.params[k])[1:]
        for j, pos in enumerate(np.ndindex(*shape)):
            label = k if not shape else f"{k}[{','.join(map(str, pos))}]"
            out.append((label, est[:, j], se[:, j]))
    return out
