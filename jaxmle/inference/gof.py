r"""Goodness of fit of a fitted distribution, with p-values by a parametric
bootstrap that refits every replicate.

**Continuous families**: the EDF statistics of the data :math:`x_{(1)} \le
\dots \le x_{(n)}` against the fitted cdf, :math:`F_i = F(x_{(i)}; \hat\theta)`,

.. math::

    D = \max_i \max\Big(\frac in - F_i,\; F_i - \frac{i-1}n\Big)
    \qquad\text{(Kolmogorov-Smirnov)}

    W^2 = \frac1{12n} + \sum_i \Big(F_i - \frac{2i-1}{2n}\Big)^2
    \qquad\text{(Cramér-von Mises)}

    A^2 = -n - \frac1n \sum_i (2i-1)\big(\log F_i + \log(1 - F_{n+1-i})\big)
    \qquad\text{(Anderson-Darling)},

the conventions of ``scipy.stats.kstest``, ``scipy.stats.cramervonmises`` and
``scipy.stats.goodness_of_fit`` (whose ``statistic="ad"`` is this :math:`A^2`,
computed from ``logcdf`` and ``logsf`` as here: ``scipy/stats/_fit.py``,
``_anderson_darling``; ``scipy.stats.anderson`` uses the same formula). The
logarithms come from the family's ``logcdf`` and ``logsf`` (stable forms where
the family has them), so no :math:`\log 0` arises from rounding; :math:`A^2` is
infinite only where the fitted cdf is exactly 0 or 1 at an observation (the
Pareto's scale at :math:`\min x`, the uniform's ends), as in scipy.

*Weights.* With frequency weights :math:`w_i` (:math:`n = \sum w_i`) the
statistics are those of the weighted EDF :math:`F_n(x) = \sum_{x_i \le x}
w_i / n`: :math:`D = \sup |F_n - F|`, :math:`W^2 = n \int (F_n - F)^2 dF` and
:math:`A^2 = n \int (F_n - F)^2 / (F(1 - F)) dF`, integrated exactly. With
:math:`C_i` the cumulative weight through the :math:`i`-th smallest observation
and :math:`m_i = (C_{i-1} + C_i) / (2n)`,

.. math::

    D = \max_i \max\Big(\frac{C_i}n - F_i,\; F_i - \frac{C_{i-1}}n\Big), \quad
    W^2 = \sum_i \Big(w_i (F_i - m_i)^2 + \frac{w_i^3}{12 n^2}\Big), \quad
    A^2 = -n - 2 \sum_i w_i \big(m_i \log F_i + (1 - m_i) \log(1 - F_i)\big).

With all :math:`w_i = 1` these are the formulas above; with integer weights they
equal the statistics of the data with each row repeated :math:`w_i` times (ties
included); non-integer weights give the weighted EDF's statistics.

**Discrete families**: Pearson's :math:`X^2 = \sum_j (O_j - E_j)^2 / E_j` on
bins of consecutive values with every expected count :math:`E_j \ge 5`. The
bins are formed left to right over the distinct observed values :math:`v`: a
bin ends at :math:`v` once its expected count :math:`n P(c < X \le v)` (since
the previous end :math:`c`) is at least 5 and so is the expected count above
it, :math:`n P(X > v)`; the first bin takes the lower tail (:math:`X \le v`),
the last one the upper tail (:math:`X > c`), so the expected counts sum to
:math:`n`. Degrees of freedom: bins - 1 - the number of free parameters; the
asymptotic p-value is :math:`P(\chi^2_{df} \ge X^2)` (none for
:math:`df < 1`).

**P-values.** Without ``n_boot`` the EDF statistics get none: the textbook
distributions of :math:`D`, :math:`W^2` and :math:`A^2` (``kstest``'s p-value,
say) assume the parameters are known, and with estimated parameters they are
far too large. ``n_boot`` replicates are drawn from the fitted distribution
(``family.sample``, the data's size), each refitted by the batch program
(:func:`jaxmle.inference.bootstrap.refit_replicates`, the same method and fixed
parameters), and each replicate's statistics are computed against its own
refitted cdf: :math:`p = (1 + \#\{T^* \ge T\}) / (1 + B)`, :math:`B` the
replicates whose refit counted (the others are excluded and counted in the
note). With integer frequency weights a replicate is :math:`n = \sum w_i`
unit-weight draws (the null distribution of the expanded data); with other
weights it keeps the data's rows, each with their mean weight (approximate).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle._engine.buckets import bucket_length
from jaxmle._engine.compile import jit_fit
from jaxmle._engine.refit import RefitData
from jaxmle.families.base import Family
from jaxmle.families.censored import CensoredFamily
from jaxmle.inference.bootstrap import not_refitted, refit_replicates, replicate_data
from jaxmle.inference.sorted_cdf import batch_log_cdf_sf

__all__ = [
    "MIN_EXPECTED",
    "ChiSquareBins",
    "EdfStatistics",
    "GofResult",
    "Pearson",
    "check_family",
    "edf_of_sorted",
    "edf_statistics",
    "goodness_of_fit",
    "pearson_statistic",
]

#: The smallest expected count of a chi-square bin.
MIN_EXPECTED = 5.0

# Integer weights are written out as repeated rows for the bootstrap's
# replicates up to this many rows per dataset (beyond: the mean-weight rows).
_EXPAND_MAX = 1 << 24


# ---- the statistics (traceable, one dataset) ------------------------------------------


class EdfStatistics(NamedTuple):
    """The EDF statistics of one dataset (arrays with a leading dataset axis
    from the batch program)."""

    ks: jax.Array
    cvm: jax.Array
    ad: jax.Array


def _sorted(x: jax.Array, w: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """``x`` sorted, and its weights in the same order (ones for ``None``): one
    sort of both (an argsort and two gathers cost about twice as much)."""
    if w is None:
        return jnp.sort(x), jnp.ones(x.shape, x.dtype)
    xs, ws = jax.lax.sort((x, w), num_keys=1)
    return xs, ws


def edf_statistics(family: Family, params: Mapping[str, Any], x: jax.Array, w) -> EdfStatistics:
    """Kolmogorov-Smirnov, Cramér-von Mises and Anderson-Darling statistics of
    ``x`` (weights ``w``, ``None``: all 1; weight-0 rows are not data) against
    ``family``'s cdf at ``params``; the formulas of the module docstring."""
    xs, ws = _sorted(x, w)
    log_f, log_s = family.log_cdf_sf(params, xs)
    return edf_of_sorted(log_f, log_s, None if w is None else ws)


def edf_of_sorted(log_f: jax.Array, log_s: jax.Array, ws: jax.Array | None) -> EdfStatistics:
    r"""The statistics of sorted data from the fitted ``log F`` and ``log S`` at
    each row and the rows' weights ``ws`` in the same order (``None``: all 1).

    With :math:`m_i = (C_{i-1} + C_i)/(2n)`, :math:`D = \max_i (|F_i - m_i| +
    w_i/(2n))` (the larger of :math:`C_i/n - F_i` and :math:`F_i - C_{i-1}/n`),
    and the two sums are one reduction of a stacked array: XLA:CPU runs
    several reductions of one pass as a multi-output loop about five times
    slower than one."""
    if ws is None:
        n = jnp.asarray(log_f.shape[0], log_f.dtype)
        cum = jnp.arange(1, log_f.shape[0] + 1, dtype=log_f.dtype)
        ws = jnp.ones((), log_f.dtype)
        seen = jnp.ones((), bool)
    else:
        n = jnp.sum(ws)
        cum = jnp.cumsum(ws)
        seen = ws > 0
    before = cum - ws  # exact for integer weights: (i - 1)
    f = jnp.exp(log_f)
    # (2i - 1) / (2n) and (2n - 2i + 1) / (2n), exact in integers before the division.
    mid = (cum + before) / (2.0 * n)
    upper = ((n - cum) + (n - before)) / (2.0 * n)
    ks = jnp.max(jnp.where(seen, jnp.abs(f - mid) + ws / (2.0 * n), -jnp.inf))
    terms = jnp.stack(
        [
            jnp.where(seen, ws * jnp.square(f - mid) + ws**3 / (12.0 * n * n), 0.0),
            jnp.where(seen, ws * (mid * log_f + upper * log_s), 0.0),
        ]
    )
    cvm, ad_sum = jnp.sum(terms, axis=-1)
    return EdfStatistics(ks, cvm, -n - 2.0 * ad_sum)


class Pearson(NamedTuple):
    """Pearson's chi-square of one dataset, and (``details``) its bins: per
    position of the sorted data, whether a bin ends there and that bin's
    observed and expected counts; the last bin (above the last end) apart."""

    chi2: jax.Array
    n_bins: jax.Array
    pvalue: jax.Array
    value: jax.Array | None = None
    ends: jax.Array | None = None
    observed: jax.Array | None = None
    expected: jax.Array | None = None
    tail_observed: jax.Array | None = None
    tail_expected: jax.Array | None = None


def pearson_statistic(
    family: Family, params: Mapping[str, Any], x: jax.Array, w, n_params, details: bool = False
) -> Pearson:
    """Pearson's chi-square of ``x`` (weights ``w``) against ``family``'s pmf at
    ``params``, on the bins of the module docstring (every expected count
    ``>= MIN_EXPECTED``), with ``bins - 1 - n_params`` degrees of freedom and
    the asymptotic p-value (NaN for fewer than one degree of freedom).

    One ``lax.scan`` over the sorted data carries the current bin's start,
    with ``P(c < X <= v) = F(v) - F(c)`` and ``P(X > v) = 1 - F(v)``: one
    evaluation of the cdf (often an incomplete beta or gamma function, the
    cost of the statistic). The probabilities it uses are at least
    ``MIN_EXPECTED / n`` and the cdf's absolute error is about one rounding
    unit, so their relative error stays below ``n`` rounding units."""
    xs, ws = _sorted(x, w)
    n = jnp.sum(ws)
    cum = jnp.cumsum(ws)
    f = family.cdf(params, xs)
    last = jnp.append(xs[1:] != xs[:-1], True)  # the last row of its value
    zero = jnp.zeros((), x.dtype)

    def step(carry, row):
        f_cut, cum_cut, cum_value, stat, bins = carry
        f_v, cum_v, end = row
        e = n * (f_v - f_cut)
        o = cum_v - cum_cut
        # A bin ends at an observed value (weight > 0) with enough expected counts
        # in it and above it.
        close = end & (cum_v > cum_value) & (e >= MIN_EXPECTED) & (n * (1.0 - f_v) >= MIN_EXPECTED)
        stat = stat + jnp.where(close, jnp.square(o - e) / jnp.where(close, e, 1.0), 0.0)
        carry = (
            jnp.where(close, f_v, f_cut),
            jnp.where(close, cum_v, cum_cut),
            jnp.where(end, cum_v, cum_value),
            stat,
            bins + close.astype(jnp.int32),
        )
        return carry, (close, o, e)

    init = (zero, zero, zero, zero, jnp.zeros((), jnp.int32))
    (f_cut, cum_cut, _, stat, bins), (ends, obs, exp) = jax.lax.scan(step, init, (f, cum, last))
    tail_e, tail_o = n * (1.0 - f_cut), n - cum_cut
    chi2 = stat + jnp.square(tail_o - tail_e) / tail_e
    bins = bins + 1
    df = bins - 1 - n_params
    p = jax.scipy.special.gammaincc(jnp.maximum(df, 1).astype(x.dtype) / 2.0, chi2 / 2.0)
    p = jnp.where(df >= 1, p, jnp.nan)
    if not details:
        return Pearson(chi2, bins, p)
    return Pearson(chi2, bins, p, xs, ends, obs, exp, tail_o, tail_e)


def _edf_body(family, params, x, w, presorted, exact):
    """The EDF statistics of a batch, and whether they stand: each dataset
    sorted (unless ``presorted``), the fitted cdf at its rows exactly, or
    (unless ``exact``) by :func:`batch_log_cdf_sf`'s checked quadrature where
    the cdf is costly and the data long."""
    if presorted:
        xs, ws = x, w
    elif w is None:
        xs, ws = jax.vmap(jnp.sort)(x), None
    else:
        xs, ws = jax.vmap(_sorted)(x, w)
    if exact:
        log_f, log_s = jax.vmap(family.log_cdf_sf)(params, xs)
        ok = jnp.asarray(True)
    else:
        log_f, log_s, ok = batch_log_cdf_sf(family, params, xs)
    if ws is None:
        return jax.vmap(lambda lf, ls: edf_of_sorted(lf, ls, None))(log_f, log_s), ok
    return jax.vmap(edf_of_sorted)(log_f, log_s, ws), ok


def _pearson_body(family, params, x, w, n_params, details):
    if w is None:
        return jax.vmap(lambda p, xb: pearson_statistic(family, p, xb, None, n_params, details))(
            params, x
        )
    return jax.vmap(lambda p, xb, wb: pearson_statistic(family, p, xb, wb, n_params, details))(
        params, x, w
    )


# One program per family and shape (the data's; the replicates'), in the program store.
_edf_program = jit_fit(_edf_body, size_arg=2, static_argnums=(0, 4, 5), to_host=True)
_pearson_program = jit_fit(_pearson_body, size_arg=2, static_argnums=(0, 5), to_host=True)


# ---- the result -----------------------------------------------------------------------


class ChiSquareBins(NamedTuple):
    """The bins of a discrete fit's chi-square: bin ``j`` holds the values in
    ``(lower[j], upper[j]]`` (``lower[0] = -inf``, ``upper[-1] = inf``)."""

    lower: np.ndarray
    upper: np.ndarray
    observed: np.ndarray
    expected: np.ndarray

    def labels(self) -> list[str]:
        """``"<= 1"``, ``"2"``, ``"3-4"``, ``">= 9"``: each bin's values (integers)."""
        out = []
        for a, b in zip(self.lower.tolist(), self.upper.tolist(), strict=True):
            if a == -np.inf:
                out.append(f"<= {b:g}" if b != np.inf else "all")
            elif b == np.inf:
                out.append(f">= {a + 1:g}")
            elif b == a + 1:
                out.append(f"{b:g}")
            else:
                out.append(f"{a + 1:g}-{b:g}")
        return out


@dataclasses.dataclass(frozen=True)
class GofResult:
    r"""Goodness of fit of a fitted distribution (:meth:`jaxmle.FitResult.gof`).

    A continuous fit has the EDF statistics (``ks``, ``cvm``, ``ad``; the
    chi-square fields are ``None``), a discrete fit Pearson's chi-square
    (``chi2``, ``df``, ``chi2_pvalue``, ``bins``; the EDF fields are ``None``);
    see :mod:`jaxmle.inference.gof` for the formulas. The ``*_pvalue`` fields
    of the EDF statistics and ``chi2_boot_pvalue`` are parametric-bootstrap
    p-values, :math:`(1 + \#\{T^* \ge T\}) / (1 + B)`, ``None`` without
    ``n_boot``; ``chi2_pvalue`` is the asymptotic :math:`\chi^2_{df}` p-value.
    For a batch of fits (:func:`jaxmle.fit_many`) every statistic is an array
    with one value per dataset, NaN where the fit did not converge (``note``
    says why).

    Attributes:
        family_name: the fitted family.
        discrete: which kind of statistics it holds.
        n: the number of observations (the sum of the weights).
        n_params: the number of free parameters (estimated from the data).
        ks, cvm, ad: Kolmogorov-Smirnov :math:`D`, Cramér-von Mises
            :math:`W^2`, Anderson-Darling :math:`A^2`.
        ks_pvalue, cvm_pvalue, ad_pvalue: their bootstrap p-values.
        chi2, df, chi2_pvalue: Pearson's :math:`X^2`, its degrees of freedom
            (bins - 1 - ``n_params``) and asymptotic p-value (NaN for
            ``df < 1``).
        chi2_boot_pvalue: the bootstrap p-value of :math:`X^2`.
        bins: the chi-square's bins with observed and expected counts (a
            single discrete fit).
        n_boot: the bootstrap replicates drawn (0: none).
        n_counted: the replicates whose refit counted (per dataset for a batch).
        batched: the fields have a leading dataset axis.
        note: what to know (replicates left out, weights, fits not tested);
            a tuple, one per dataset, for a batch.
    """

    family_name: str
    discrete: bool
    n: Any
    n_params: int
    ks: Any = None
    cvm: Any = None
    ad: Any = None
    ks_pvalue: Any = None
    cvm_pvalue: Any = None
    ad_pvalue: Any = None
    chi2: Any = None
    df: Any = None
    chi2_pvalue: Any = None
    chi2_boot_pvalue: Any = None
    bins: ChiSquareBins | None = None
    n_boot: int = 0
    n_counted: Any = None
    batched: bool = False
    note: str | tuple[str, ...] = ""

    def __len__(self) -> int:
        if not self.batched:
            raise TypeError("len() of a single fit's goodness of fit")
        return int(np.shape(self.n)[0])

    def _rows(self) -> list[tuple[str, Any, Any]]:
        """(name, statistic, bootstrap p-value) of each statistic it holds."""
        if self.discrete:
            return [("Pearson chi-square", self.chi2, self.chi2_boot_pvalue)]
        return [
            ("Kolmogorov-Smirnov D", self.ks, self.ks_pvalue),
            ("Cramer-von Mises W^2", self.cvm, self.cvm_pvalue),
            ("Anderson-Darling A^2", self.ad, self.ad_pvalue),
        ]

    def __str__(self) -> str:
        boot = f"bootstrap, {self.n_boot} refits" if self.n_boot else "gof(n_boot=...)"
        k = self.n_params
        head = f"goodness of fit: {self.family_name}, {k} parameter{'s' * (k != 1)} estimated"
        if self.batched:
            return self._batch_str(head)
        lines = [f"{head}, n = {_count(self.n)}", ""]
        lines.append(f"{'statistic':<24}{'value':>12}   p-value ({boot})")
        for name, value, p in self._rows():
            lines.append(f"{name:<24}{float(value):>12.6g}   {_p(p)}")
        if self.discrete:
            asym = _p(self.chi2_pvalue) if np.isfinite(self.chi2_pvalue) else "none (df < 1)"
            lines.append(f"{'':<24}{'df':>12} = {int(self.df)}, asymptotic p-value {asym}")
            if self.bins is not None:
                lines += ["", f"{'bin':<14}{'observed':>12}{'expected':>12}"]
                rows = zip(self.bins.labels(), self.bins.observed, self.bins.expected, strict=True)
                for label, o, e in rows:
                    lines.append(f"{label:<14}{_count(o):>12}{float(e):>12.2f}")
        elif not self.n_boot:
            lines.append(
                "(no p-values without the bootstrap: the textbook ones assume known parameters)"
            )
        if self.note:
            lines += ["", f"note: {self.note}"]
        return "\n".join(lines)

    def _batch_str(self, head: str) -> str:
        b = len(self)
        rows = self._rows()
        lines = [f"{head}, {b} datasets", ""]
        cols = "".join(f"{name.split()[-1]:>12}{'p':>8}" for name, _, _ in rows)
        lines.append(f"{'dataset':<8}{cols}")
        shown = list(range(b)) if b <= 10 else [*range(5), -1, *range(b - 3, b)]
        for i in shown:
            if i < 0:
                lines.append("...")
                continue
            cells = "".join(
                f"{float(np.asarray(v)[i]):>12.5g}"
                + (f"{float(np.asarray(p)[i]):>8.3f}" if p is not None else f"{'-':>8}")
                for _, v, p in rows
            )
            lines.append(f"{i:<8}{cells}")
        notes = [f"dataset {i}: {t}" for i, t in enumerate(self.note) if t]
        if notes:
            lines += ["", *notes[:5], *(["..."] if len(notes) > 5 else [])]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table
        printer.text(str(self))

    def __repr__(self) -> str:
        if self.batched:
            return f"GofResult({self.family_name}: {len(self)} datasets)"
        stats = ", ".join(f"{name.split()[-1]}={float(v):.6g}" for name, v, _ in self._rows())
        return f"GofResult({self.family_name}: {stats}; n_boot={self.n_boot})"


def _count(v: Any) -> str:
    v = float(v)
    return f"{int(v):,}" if v.is_integer() else f"{v:,.3f}"


def _p(p: Any) -> str:
    if p is None:
        return "-"
    p = float(p)
    if p == 0.0:  # below the compute dtype's smallest number (float32: 1e-45)
        return "0 (underflow)"
    return "nan" if np.isnan(p) else f"{p:.4g}"


# ---- the test -------------------------------------------------------------------------


def check_family(family: Family) -> None:
    """A ``ValueError`` naming ``family`` if it cannot be tested: multivariate,
    or without a cdf."""
    if isinstance(family, CensoredFamily):
        raise ValueError(
            "KS, Cramer-von Mises and Anderson-Darling statistics are not defined here for "
            "censored data (fitdistrplus' gofstat gives only AIC and BIC for censored fits: "
            "res.aic, res.bic; compare families with jm.select)"
        )
    if family.event_ndim != 0:
        raise ValueError(
            f"goodness of fit needs a univariate family; {family.name} is multivariate "
            "(its observations are vectors)"
        )
    if type(family).cdf is Family.cdf:
        raise ValueError(f"goodness of fit needs the fitted cdf, and {family.name} has none")


def _statistics(
    family: Family, params, x, w, n_params: int, details: bool = False, presorted: bool = False
):
    """The statistics of a batch ``x`` ``(B, rows)`` at ``params`` (leading
    axis ``B``; ``presorted``: each row of ``x`` is sorted, continuous
    families): :class:`EdfStatistics` or :class:`Pearson`, numpy."""
    try:
        if family.support.discrete:
            k = np.asarray(n_params, np.int32)
            return _pearson_program(family, params, x, w, k, details)
        stats, ok = _edf_program(family, params, x, w, presorted, False)
        if not ok:  # a quadrature block failed its check: every point exactly
            stats, _ = _edf_program(family, params, x, w, presorted, True)
        return stats
    except NotImplementedError as exc:
        raise ValueError(f"goodness of fit needs the fitted cdf: {exc}") from None


def _bins(p: Pearson) -> ChiSquareBins:
    """The bins of one dataset's :class:`Pearson` with details (host arrays)."""
    ends = np.asarray(p.ends, bool)
    upper = np.asarray(p.value)[ends]
    lower = np.concatenate([[-np.inf], upper])
    return ChiSquareBins(
        lower=lower,
        upper=np.concatenate([upper, [np.inf]]),
        observed=np.concatenate([np.asarray(p.observed)[ends], [float(p.tail_observed)]]),
        expected=np.concatenate([np.asarray(p.expected)[ends], [float(p.tail_expected)]]),
    )


def _replicate_refit(refit: RefitData) -> tuple[RefitData, str]:
    """The refit data replicates are drawn like: integer frequency weights
    written out as repeated rows (unit weights, padded to the batch ladder);
    otherwise ``refit`` itself (with a note for non-integer weights)."""
    x, w = replicate_data(refit)
    if w is None:
        return refit, ""
    wh = np.asarray(w)
    if np.all((wh == 0) | (wh == 1)):
        return refit, ""
    approx = "the replicates keep the data's rows, each with their mean weight"
    if not np.all(wh == np.round(wh)):
        return refit, approx
    counts = np.round(wh).astype(np.int64).reshape(-1, wh.shape[-1])
    sizes = counts.sum(axis=1)
    if sizes.max() > _EXPAND_MAX:
        return refit, f"the weights sum to more than {_EXPAND_MAX} rows: {approx}"
    xh = np.asarray(x).reshape(counts.shape)
    rows = bucket_length(int(sizes.max()))
    xe = np.empty((counts.shape[0], rows), xh.dtype)
    we = np.zeros((counts.shape[0], rows), wh.dtype)
    for d in range(counts.shape[0]):
        rep = np.repeat(xh[d], counts[d], axis=0)
        xe[d, : rep.shape[0]] = rep
        xe[d, rep.shape[0] :] = rep[:1] if rep.shape[0] else xh[d, :1]
        we[d, : rep.shape[0]] = 1.0
    if not refit.batched:
        xe, we = xe[0], we[0]
    return dataclasses.replace(refit, x=jnp.asarray(xe), w=jnp.asarray(we), prepare=None), ""


def goodness_of_fit(
    family: Family,
    params: Mapping[str, Any],
    free: tuple[str, ...],
    method: str,
    n_params: int,
    refit: RefitData,
    *,
    n_boot: int | None = None,
    key: Any = 0,
    replicates_per_call: int | None = None,
    skip: Sequence[str] = (),
    sorted_data: tuple[Any, Any] | None = None,
    progress: bool | None = None,
) -> GofResult:
    """The goodness of fit of the fit at ``params`` (made by ``method``, with
    ``n_params`` free parameters) of ``refit``'s data. Called by
    :meth:`jaxmle.FitResult.gof`.

    Args:
        family, params, free, method, n_params: the fit.
        refit: its data and options.
        n_boot: bootstrap replicates for the p-values (``None``: none).
        key: a PRNG key or integer seed for the replicates.
        replicates_per_call: replicates per compiled call (default: about
            ``2**24`` values at a time); results do not depend on it.
        skip: per dataset, why its fit is not to be tested (``""``: it is).
        sorted_data: ``(x, w)``, the data sorted by value with their weights
            (``None``: unweighted), for a single continuous fit without
            ``n_boot``: the statistics skip their sort.
        progress: a progress bar over the ``n_boot`` replicates
            (:mod:`jaxmle.progress`).

    Raises:
        ValueError: a multivariate family, a family without a cdf (or, with
            ``n_boot``, a sampler), ``n_boot`` not an integer >= 2, or a
            single fit that ``skip`` rules out (not converged, degenerate).
    """
    check_family(family)
    if n_boot is not None and (
        isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2
    ):
        raise ValueError(f"n_boot must be an integer >= 2 (or None), got {n_boot!r}")
    batched = refit.batched
    reasons = not_refitted(params, free, skip, batched)
    if not batched and reasons[0]:
        raise ValueError(
            f"goodness of fit of a {family.name} fit that is not a regular MLE: {reasons[0]}"
        )
    if sorted_data is not None:
        if batched or n_boot is not None or family.support.discrete:
            raise ValueError(
                "sorted_data is for a single continuous fit's statistics without n_boot"
            )
        x, w = (None if v is None else jnp.asarray(v) for v in sorted_data)
    else:
        x, w = replicate_data(refit)
    xs = x if batched else x[None]
    ws = None if w is None else (w if batched else w[None])
    bad = np.array([bool(r) for r in reasons])
    batch = {k: np.asarray(v) if batched else np.asarray(v)[None] for k, v in params.items()}
    first = int(np.argmin(bad))  # a dataset to test (if any) stands in for the others
    pb = {k: _stand_in(v, bad, v[first]) for k, v in batch.items()}
    discrete = bool(family.support.discrete)
    stats = _statistics(
        family, pb, xs, ws, n_params, details=discrete and not batched,
        presorted=sorted_data is not None,
    )  # fmt: skip
    names = ("chi2",) if discrete else ("ks", "cvm", "ad")
    values = {k: np.where(bad, np.nan, np.asarray(getattr(stats, k), float)) for k in names}
    notes = [f"not tested: {r}" if r else "" for r in reasons]
    extra = {}
    if discrete:
        df = np.asarray(stats.n_bins) - 1 - n_params
        extra = dict(
            df=np.where(bad, -1, df),
            chi2_pvalue=np.where(bad, np.nan, np.asarray(stats.pvalue, float)),
            bins=None if batched else _bins(jax.tree.map(lambda v: np.asarray(v)[0], stats)),
        )
    pvalues: dict[str, Any] = {}
    counted = None
    weight_note = _weight_note(w)
    if n_boot is not None:
        rep_refit, draw_note = _replicate_refit(refit)
        weight_note = "; ".join(filter(None, [weight_note, draw_note]))
        exceed = {k: np.zeros(len(reasons), np.int64) for k in names}
        counted = np.zeros(len(reasons), np.int64)
        chunks = refit_replicates(
            family, params, free, method, rep_refit, n=int(n_boot), kind="parametric",
            key=key, replicates_per_call=replicates_per_call, reasons=reasons,
            progress=progress, label=f"gof {family.name}",
        )  # fmt: skip
        try:
            for c in chunks:
                own = {k: np.asarray(v)[c.dataset] for k, v in pb.items()}
                rp = {k: _stand_in(v, ~c.counted, own[k]) for k, v in c.params.items()}
                t = _statistics(family, rp, c.x, c.w, n_params)
                star = {k: np.asarray(getattr(t, k))[: c.size] for k in names}
                ok = c.counted[: c.size] & ~np.any([np.isnan(v) for v in star.values()], axis=0)
                counted[c.dataset] += int(ok.sum())
                for k in names:
                    exceed[k][c.dataset] += int(np.sum(ok & (star[k] >= values[k][c.dataset])))
        except NotImplementedError as exc:
            raise ValueError(f"the bootstrap of goodness of fit needs a sampler: {exc}") from None
        for k in names:
            p = (1.0 + exceed[k]) / (1.0 + counted)
            name = "chi2_boot_pvalue" if k == "chi2" else f"{k}_pvalue"
            pvalues[name] = np.where(bad | (counted == 0), np.nan, p)
        for d, r in enumerate(reasons):
            left = int(n_boot) - int(counted[d])
            if not r and left:
                notes[d] = f"{left} of {n_boot} replicate refits failed and are left out"
    if weight_note:
        notes = ["; ".join(filter(None, [t, weight_note])) for t in notes]
    n = np.full(len(reasons), float(xs.shape[1])) if ws is None else np.asarray(ws).sum(axis=1)
    fields = dict(n=n, **{k: values[k] for k in names}, **extra, **pvalues, n_counted=counted)
    if not batched:
        fields = {k: _scalar(v) for k, v in fields.items()}
    return GofResult(
        family_name=family.name,
        discrete=discrete,
        n_params=int(n_params),
        n_boot=int(n_boot or 0),
        batched=batched,
        note=tuple(notes) if batched else notes[0],
        **fields,
    )


def _stand_in(v: Any, out: np.ndarray, value: Any) -> np.ndarray:
    """``v`` (leading axis: datasets or replicates) with the rows ``out`` set to
    ``value``: the statistics of a fit that failed are not used, and its
    parameters (an overflowing gamma shape, say) can make the cdf's series
    iterate for minutes, so they are computed at a valid stand-in."""
    v = np.asarray(v)
    return np.where(out.reshape((-1,) + (1,) * (v.ndim - 1)), np.asarray(value, v.dtype), v)


def _weight_note(w: Any) -> str:
    if w is None:
        return ""
    wh = np.asarray(w)
    return "" if np.all(wh == np.round(wh)) else "non-integer weights: the weighted EDF"


def _scalar(v: Any) -> Any:
    """Dataset 0 of a field, as a Python number (``None`` and bins as they are)."""
    if v is None or isinstance(v, ChiSquareBins):
        return v
    v = np.asarray(v)[0]
    return int(v) if np.issubdtype(v.dtype, np.integer) else float(v)
