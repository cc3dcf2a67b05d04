r"""Diagnostic plots of fits, with matplotlib (the optional extra ``jaxmle[plot]``).

* :func:`diagnostics` (``res.plot()``): the 2x2 panel of R fitdistrplus'
  ``plot(fitdist)`` (the fitted density over a histogram, the empirical and
  fitted cdfs, Q-Q and P-P plots), or one ``kind`` of them, or the profile
  log-likelihood of each free parameter (``kind="profile"``);
* :func:`compare` (``jm.plot.compare([res1, res2])``): candidate fits of the
  same data overlaid (fitdistrplus' ``denscomp``, ``cdfcomp``, ``qqcomp``,
  ``ppcomp``);
* :func:`estimates` (``ManyFitResult.plot()``): the estimates of many
  datasets with their Wald intervals, one panel per free parameter.

Every function returns the matplotlib ``Figure`` (``fig.savefig(path)`` saves
it). matplotlib is imported when a plot is drawn, not with :mod:`jaxmle`.

**Plotting positions.** The :math:`i`-th smallest of :math:`n` observations
:math:`x_{(i)}` is plotted at :math:`p_i = (i - \tfrac12)/n`, the midpoint of
the empirical cdf's jump there: the Q-Q plot draws
:math:`(F^{-1}(p_i), x_{(i)})`, the P-P plot :math:`(F(x_{(i)}), p_i)`. With
weights :math:`w` (sorted with the data, :math:`W = \sum w`) the jump of
:math:`x_{(i)}` runs from :math:`\sum_{j<i} w_j / W` to
:math:`\sum_{j\le i} w_j / W` and :math:`p_i` is its midpoint. A discrete
sample is drawn per distinct value :math:`k` (its jump in the empirical cdf),
and its P-P abscissa is the fitted jump's midpoint,
:math:`(F(k - 1) + F(k))/2`.

**Long data.** The empirical cdf, Q-Q and P-P plots draw at most
:data:`MAX_POINTS` order statistics, at evenly spaced ranks with the first and
last included (not a random subsample: the tails are kept). Up to
:data:`EXACT_MAX` continuous observations (and any weighted sample) are
sorted; longer ones are summarized in one pass without a sort: the values
beyond the 0.2% and 99.8% quantiles of an evenly strided pilot are kept (and
sorted) exactly, those between are counted in :math:`2^{14}` equal bins, and
an order statistic inside a bin is interpolated in it (an error below
:math:`2^{-14}` of the central range). Histograms count all the data.
Discrete samples are counted per value (exact at any length).

**Censored data** (:class:`jaxmle.Censored`) are drawn with their
nonparametric MLE of the cdf: Kaplan-Meier (:func:`kaplan_meier`) for exact
and right-censored observations, with delayed entry; Turnbull's
self-consistency EM (:func:`turnbull`) where there are left- or
interval-censored ones (both with delayed entry). The Turnbull estimate puts
its mass on innermost intervals without saying where inside them; the plots
draw those intervals as grey boxes (cdf), vertical or horizontal segments
(Q-Q, P-P), and the histogram spreads their mass uniformly over them (an
unbounded interval over the stretch to the data's extreme bound).

**Ranges.** The density and cdf plots show the data's range, cut at
:math:`q_1 - 10\,\mathrm{IQR}` and :math:`q_3 + 10\,\mathrm{IQR}` for long
tails (the x label then says how much mass lies beyond); count data's range
also covers 99.8% of each fit's mass. The Q-Q and P-P plots show every point.
"""

from jaxmle.plot.draw import (
    KINDS as KINDS,
    compare as compare,
    diagnostics as diagnostics,
    estimates as estimates,
)
from jaxmle.plot.ecdf import (
    EXACT_MAX as EXACT_MAX,
    MAX_POINTS as MAX_POINTS,
    Empirical as Empirical,
    Steps as Steps,
    empirical as empirical,
    even_ranks as even_ranks,
    kaplan_meier as kaplan_meier,
    turnbull as turnbull,
)
from jaxmle.plot.fitted import (
    FitLike as FitLike,
    Model as Model,
    describe as describe,
    model as model,
)
from jaxmle.plot.profile_grid import Profile as Profile, profile as profile

__all__ = [
    "EXACT_MAX",
    "KINDS",
    "MAX_POINTS",
    "Empirical",
    "FitLike",
    "Model",
    "Profile",
    "Steps",
    "compare",
    "describe",
    "diagnostics",
    "empirical",
    "estimates",
    "even_ranks",
    "kaplan_meier",
    "model",
    "profile",
    "turnbull",
]
