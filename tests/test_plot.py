"""The plots (jaxmle.plot): what each figure draws, checked against the data and scipy.

Figures are rendered with the Agg backend; each test reads the artists back
(lines, bars, error bars, labels) and compares their numbers with what they
should show: the fitted density is scipy's, the Q-Q points are the order
statistics against the fitted quantiles at (i - 1/2)/n, the bars the observed
frequencies, the censored ecdf a Kaplan-Meier computed by hand.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from scipy import stats

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import jaxmle as jm
from jaxmle import plot as jp
from jaxmle.plot import ecdf as plot_ecdf


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def gamma_data():
    return np.random.default_rng(0).gamma(2.0, 1.5, 400)


@pytest.fixture(scope="module")
def gamma_fit(gamma_data):
    return jm.fit("gamma", gamma_data)


def _line(ax, label):
    lines = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(lines) == 1, [ln.get_label() for ln in ax.get_lines()]
    return lines[0]


def _points(ax):
    """The marker-only lines (Q-Q / P-P points)."""
    return [ln for ln in ax.get_lines() if ln.get_linestyle() == "None"]


def test_panel_has_four_labelled_plots(gamma_fit):
    fig = gamma_fit.plot()
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["Density and histogram", "Empirical and fitted cdf", "Q-Q plot", "P-P plot"]
    labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
    assert labels == [
        ("x", "density"),
        ("x", "cumulative probability"),
        ("theoretical quantiles", "empirical quantiles"),
        ("theoretical probabilities", "empirical probabilities"),
    ]
    head = fig.get_suptitle()
    assert "gamma" in head and "shape = " in head and "rate = " in head and "n = 400" in head


def test_density_is_scipys_pdf_over_the_histogram(gamma_fit, gamma_data):
    fig = gamma_fit.plot("density")
    (ax,) = fig.axes
    line = _line(ax, "fitted gamma")
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y, gamma_fit.to_scipy().pdf(x), rtol=1e-6, atol=0)
    hist = next(p for p in ax.patches if p.get_label() == "histogram")
    heights, edges, _ = hist.get_data()
    np.testing.assert_allclose(heights, np.histogram(gamma_data, edges, density=True)[0])
    assert edges[0] == gamma_data.min() and edges[-1] == gamma_data.max()
    assert "gamma: shape = " in ax.get_title()


def test_qq_points_are_order_statistics_at_plotting_positions(gamma_fit, gamma_data):
    (ax,) = gamma_fit.plot("qq").axes
    (pts,) = _points(ax)
    n = gamma_data.size
    p = (np.arange(1, n + 1) - 0.5) / n
    np.testing.assert_array_equal(pts.get_ydata(), np.sort(gamma_data))
    np.testing.assert_allclose(pts.get_xdata(), gamma_fit.to_scipy().ppf(p), rtol=1e-12)


def test_pp_and_cdf_steps(gamma_fit, gamma_data):
    (ax,) = gamma_fit.plot("pp").axes
    (pts,) = _points(ax)
    xs = np.sort(gamma_data)
    n = xs.size
    np.testing.assert_allclose(pts.get_xdata(), gamma_fit.to_scipy().cdf(xs), rtol=1e-12)
    np.testing.assert_allclose(pts.get_ydata(), (np.arange(1, n + 1) - 0.5) / n)
    (ax,) = gamma_fit.plot("cdf").axes
    ecdf = _line(ax, "empirical")
    # through (x_(i), (i - 1)/n) and (x_(i), i/n): vertical jumps, flat between
    np.testing.assert_array_equal(ecdf.get_xdata()[1:-1], np.repeat(xs, 2))
    np.testing.assert_allclose(ecdf.get_ydata()[1:-1:2], np.arange(n) / n)
    np.testing.assert_allclose(ecdf.get_ydata()[2:-1:2], np.arange(1, n + 1) / n)
    fitted = _line(ax, "fitted gamma")
    np.testing.assert_allclose(fitted.get_ydata(), gamma_fit.to_scipy().cdf(fitted.get_xdata()))


def test_discrete_fit_draws_frequency_bars_and_pmf():
    k = np.random.default_rng(1).poisson(3.0, 300)
    res = jm.fit("poisson", k)
    fig = res.plot()
    ax = fig.axes[0]
    assert ax.get_title() == "Observed and fitted frequencies"
    bars = ax.patches
    centres = np.array([b.get_x() + b.get_width() / 2 for b in bars])
    lo, hi = res.to_scipy().ppf([0.001, 0.999])  # the bars cover the data and the fit
    np.testing.assert_array_equal(centres, np.arange(min(k.min(), lo), max(k.max(), hi) + 1))
    observed = np.bincount(k, minlength=int(centres[-1]) + 1)[centres.astype(int)] / k.size
    np.testing.assert_allclose([b.get_height() for b in bars], observed)
    values = np.arange(k.min(), k.max() + 1)
    pmf = _line(ax, "fitted poisson")
    np.testing.assert_allclose(pmf.get_ydata(), res.to_scipy().pmf(pmf.get_xdata()), rtol=1e-6)
    # the Q-Q plot: one point per distinct value, at the middle of its ecdf jump
    (pts,) = _points(fig.axes[2])
    counts = np.bincount(k)[values]
    mid = (np.cumsum(counts) - counts / 2) / k.size
    np.testing.assert_array_equal(pts.get_ydata(), values)
    np.testing.assert_allclose(pts.get_xdata(), res.to_scipy().ppf(mid))


def test_kaplan_meier_by_hand():
    t = np.array([2.0, 3.5, 4.0, 6.0, 7.5, 9.0])
    seen = np.array([1, 1, 0, 1, 0, 1])
    # at risk 6, 5, 3, 1 at the events 2, 3.5, 6, 9: S = 5/6, 4/6, 4/6 * 2/3, 0
    surv = np.array([5 / 6, 4 / 6, 4 / 6 * 2 / 3, 0.0])
    km = jp.kaplan_meier(t, seen)
    np.testing.assert_array_equal(km.left, [2.0, 3.5, 6.0, 9.0])
    np.testing.assert_allclose(km.after, 1 - surv)
    np.testing.assert_allclose(km.before, np.concatenate([[0.0], 1 - surv[:-1]]))
    # the observation at 6 enters at 3: not at risk at t = 2 (5 are), at risk at 3.5 (5 are)
    entry = np.array([0.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    km = jp.kaplan_meier(t, seen, entry=entry)
    np.testing.assert_allclose(1 - km.after[:2], [4 / 5, 4 / 5 * 4 / 5])

    res = jm.fit("weibull", jm.Censored.from_events(t, seen))
    fig = res.plot()
    line = _line(fig.axes[1], "Kaplan-Meier")
    steps = line.get_ydata()[1:-1].reshape(-1, 2)  # (before, after) at each event
    np.testing.assert_allclose(steps[:, 1], 1 - surv)
    np.testing.assert_array_equal(line.get_xdata()[1:-1:2], [2.0, 3.5, 6.0, 9.0])


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("delayed", [False, True])
def test_turnbull_of_right_censored_data_is_kaplan_meier(discrete, delayed):
    rng = np.random.default_rng(8)
    t = rng.poisson(5.0, 40).astype(float) if discrete else rng.exponential(5.0, 40)
    seen = rng.uniform(size=40) < 0.7
    seen[np.argmax(t)] = True  # (else Turnbull puts the rest of the mass beyond it)
    entry = np.where(rng.uniform(size=40) < 0.3, np.minimum(t, 1.0), -np.inf) if delayed else None
    km = jp.kaplan_meier(t, seen, entry=entry, discrete=discrete)
    tb = jp.turnbull(t, np.where(seen, t, np.inf), entry=entry, discrete=discrete, tol=1e-14)
    np.testing.assert_allclose(tb.after, km.after, atol=1e-9)
    np.testing.assert_array_equal(tb.left, km.left)


def test_turnbull_innermost_intervals():
    # (0, 1], (0.5, 2], (1.5, 3]: innermost [0.5, 1] and [1.5, 2], half the mass each
    tb = jp.turnbull([0.0, 0.5, 1.5], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tb.left, [0.5, 1.5])
    np.testing.assert_array_equal(tb.right, [1.0, 2.0])
    np.testing.assert_allclose(tb.after, [0.5, 1.0], atol=1e-8)


def test_interval_censored_fit_is_drawn_with_turnbull_boxes():
    rng = np.random.default_rng(2)
    lo = np.floor(rng.weibull(1.5, 120) * 5.0)
    res = jm.fit("weibull", jm.Censored(lo, lo + 1.0))
    fig = res.plot()
    cdf_ax = fig.axes[1]
    _line(cdf_ax, "Turnbull NPMLE")
    assert len(cdf_ax.collections) == 1  # the boxes over the innermost intervals
    qq = _points(fig.axes[2])[0]
    assert np.all(np.isfinite(qq.get_xdata())) and np.all(np.isfinite(qq.get_ydata()))


def test_compare_one_line_per_fit_with_family_legends(gamma_fit, gamma_data):
    fits = [gamma_fit, jm.fit("exponential", gamma_data), jm.fit("lognormal", gamma_data)]
    (ax,) = jp.compare(fits, "density").axes
    curves = [ln for ln in ax.get_lines()]
    assert len(curves) == 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for name, curve in zip(["gamma", "exponential", "lognormal"], curves, strict=True):
        assert curve.get_label().startswith(f"{name}: ")
        assert curve.get_label() in legend
    for fit, curve in zip(fits, curves, strict=True):
        np.testing.assert_allclose(curve.get_ydata(), fit.to_scipy().pdf(curve.get_xdata()))
    (ax,) = jp.compare(fits, "qq", labels=["a", "b", "c"]).axes
    assert [ln.get_label() for ln in _points(ax)] == ["a", "b", "c"]
    assert len(jp.compare(fits).axes) == 4


def test_many_view_one_errorbar_per_dataset():
    x = np.random.default_rng(3).normal(1.0, 2.0, size=(6, 50))
    many = jm.fit_many("normal", x)
    fig = many.plot()
    assert [ax.get_ylabel() for ax in fig.axes] == ["loc", "scale"]
    z = stats.norm.ppf(0.975)
    for ax, k in zip(fig.axes, ["loc", "scale"], strict=True):
        (bars,) = ax.containers
        points, _, (segments,) = bars.lines
        np.testing.assert_allclose(points.get_ydata(), many.params[k])
        ends = np.array([seg[:, 1] for seg in segments.get_segments()])
        assert ends.shape == (6, 2)
        np.testing.assert_allclose(ends[:, 1] - ends[:, 0], 2 * z * many.stderr[k])
    with pytest.raises(ValueError, match=r"res\[i\]\.plot"):
        many.plot("density")


def test_long_data_are_capped_at_evenly_spaced_ranks():
    x = np.random.default_rng(4).normal(size=10**6)
    res = jm.fit("normal", x[:1000])
    (ax,) = res.plot("qq", data=x).axes
    (pts,) = _points(ax)
    y = pts.get_ydata()
    assert y.size == jp.MAX_POINTS
    xs = np.sort(x)
    ranks = np.rint(np.linspace(0, x.size - 1, jp.MAX_POINTS)).astype(int)
    np.testing.assert_array_equal(y, xs[ranks])  # the tails are kept: min and max
    (ax,) = res.plot("cdf", data=x).axes
    assert _line(ax, "empirical").get_xdata().size == 2 * jp.MAX_POINTS + 2


def test_binned_summary_of_long_data(monkeypatch):
    monkeypatch.setattr(plot_ecdf, "EXACT_MAX", 1000)
    x = np.random.default_rng(5).standard_t(3, 200_000)
    emp = jp.empirical(jm.Normal(), x)
    assert type(emp).__name__ == "_Binned"
    xs = np.sort(x)
    s = emp.steps()
    ranks = np.rint(np.linspace(0, x.size - 1, jp.MAX_POINTS)).astype(int)
    tail = x.size // 1000  # 0.2% at each end is exact
    exact = (ranks < tail) | (ranks >= x.size - tail)
    np.testing.assert_array_equal(s.left[exact], xs[ranks[exact]])
    central = xs[tail], xs[-tail]
    width = (central[1] - central[0]) / 2**14
    np.testing.assert_allclose(s.left, xs[ranks], atol=2 * width)
    edges = np.linspace(xs[0], xs[-1], 30)
    np.testing.assert_allclose(
        emp.histogram(edges), np.histogram(x, edges)[0] / x.size, atol=20 / x.size
    )


def test_weighted_fit_uses_weighted_histogram_and_ecdf():
    x = np.array([1.0, 2.0, 2.5, 3.0, 4.0, 6.0])
    w = np.array([1.0, 3.0, 2.0, 0.5, 1.0, 2.5])
    res = jm.fit("gamma", x, weights=w)
    fig = res.plot()
    hist = next(p for p in fig.axes[0].patches if p.get_label() == "histogram")
    heights, edges, _ = hist.get_data()
    np.testing.assert_allclose(heights, np.histogram(x, edges, weights=w, density=True)[0])
    (pts,) = _points(fig.axes[2])
    mid = (np.cumsum(w) - w / 2) / w.sum()
    np.testing.assert_allclose(pts.get_xdata(), res.to_scipy().ppf(mid))
    assert "weighted n = 10" in fig.get_suptitle()


def test_streamed_fit_takes_data(gamma_fit, gamma_data):
    streamed = dataclasses.replace(gamma_fit, refit=None)
    with pytest.raises(ValueError, match="data="):
        streamed.plot()
    (ax,) = streamed.plot("qq", data=gamma_data).axes
    np.testing.assert_array_equal(_points(ax)[0].get_ydata(), np.sort(gamma_data))
    with pytest.raises(ValueError, match="non-finite"):
        streamed.plot(data=np.array([1.0, np.nan]))


def test_profile_is_the_normal_profile_likelihood():
    x = np.random.default_rng(6).normal(1.0, 2.0, 200)
    res = jm.fit("normal", x)
    fig = res.plot("profile")
    assert [ax.get_xlabel() for ax in fig.axes] == ["loc", "scale"]
    n, mu, s = x.size, float(res.params["loc"]), float(res.params["scale"])
    curve = _line(fig.axes[0], "profile")
    m = curve.get_xdata()
    np.testing.assert_allclose(
        curve.get_ydata(), -n / 2 * np.log1p((m - mu) ** 2 / s**2), rtol=1e-6, atol=1e-8
    )
    curve = _line(fig.axes[1], "profile")
    sig = curve.get_xdata()
    expected = -n * np.log(sig / s) - n * s**2 / (2 * sig**2) + n / 2
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-6, atol=1e-8)
    cut = _line(fig.axes[0], "95% cutoff")
    np.testing.assert_allclose(cut.get_ydata(), -stats.chi2.ppf(0.95, 1) / 2)
    assert "95% profile interval [" in fig.axes[0].get_title()


def test_bad_input_messages(gamma_fit):
    with pytest.raises(ValueError, match="'density', 'cdf', 'qq', 'pp', 'profile'"):
        gamma_fit.plot("nope")
    with pytest.raises(ValueError, match="'density', 'cdf', 'qq', 'pp'"):
        jp.compare([gamma_fit], "profile")
    with pytest.raises(ValueError, match="fig="):
        gamma_fit.plot(ax=plt.figure().add_subplot())
    mvn = dataclasses.replace(gamma_fit, family=jm.family("multivariate_normal"))
    with pytest.raises(ValueError, match="univariate"):
        mvn.plot()
    with pytest.raises(ValueError, match="univariate"):
        jp.compare([mvn])


def test_own_model_without_scipy():
    """A mixture has no scipy.stats equivalent: its density is the family's,
    its quantiles the cdf's bisection."""
    fam = jm.Mixture([jm.Normal(), jm.Normal()])
    params = {
        "weights": np.array([0.3, 0.7]),
        "loc_0": np.array(-1.0),
        "scale_0": np.array(0.5),
        "loc_1": np.array(2.0),
        "scale_1": np.array(1.0),
    }
    m = jp.model(fam, params)
    x = np.linspace(-3, 5, 7)
    ref = 0.3 * stats.norm.pdf(x, -1, 0.5) + 0.7 * stats.norm.pdf(x, 2, 1)
    np.testing.assert_allclose(m.pdf(x), ref, rtol=1e-10)
    p = np.array([0.01, 0.3, 0.5, 0.99])
    np.testing.assert_allclose(m.cdf(m.ppf(p)), p, atol=1e-10)


def test_selection_plot_compares_the_top_candidates(gamma_data):
    sel = jm.select(gamma_data, families=["gamma", "weibull", "normal"])
    (ax,) = sel.plot("cdf", top=2).axes
    fitted = [ln.get_label() for ln in ax.get_lines() if ln.get_label() != "empirical"]
    assert [label.split(":")[0] for label in fitted] == list(sel.names[:2])


def test_import_without_matplotlib(monkeypatch, gamma_fit):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'jaxmle\[plot\]'"):
        gamma_fit.plot()
    code = "import sys; sys.modules['matplotlib'] = None; import jaxmle; print(jaxmle.plot.KINDS)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "density" in out.stdout
