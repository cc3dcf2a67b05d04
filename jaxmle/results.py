"""Results: immutable pytrees with everything a statistician needs next.

A result holds host (numpy) arrays, fetched from the device once when it is
made: every accessor (``aic``, ``pvalues``, Wald ``conf_int``, ``summary``,
``to_scipy``, ``to_table``, ``res[i]``) works on these O(p) numbers with numpy
and compiles nothing.

* :class:`FitResult`: one fit (:func:`jaxmle.fit`);
* :class:`ManyFitResult`: many fits (:func:`jaxmle.fit_many`), every array
  field with a leading dataset axis; ``res[i]`` is the ``i``-th ``FitResult``;
* :class:`GroupFits`: ``{group label: FitResult}`` (:func:`jaxmle.fit_groups`).

A result holds the link back to its data, ``refit``
(:class:`~jaxmle._engine.refit.RefitData`, as statsmodels' ``results.model``),
so that profile intervals and the bootstrap can refit.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator, Mapping
from statistics import NormalDist
from typing import Any

import jax
import numpy as np

from jaxmle._engine.batch import BatchOutput
from jaxmle._engine.output import Estimates, FitOutput
from jaxmle._engine.refit import RefitData
from jaxmle.families.base import Family
from jaxmle.inference.bootstrap import BootstrapResult, bootstrap
from jaxmle.inference.delta import Derived, delta_method, on_boundary
from jaxmle.inference.gof import GofResult, check_family, goodness_of_fit
from jaxmle.inference.profile import profile_conf_int
from jaxmle.status import Status, status_message

__all__ = ["FitResult", "GroupFits", "ManyFitResult", "as_dataframe"]

_DATA_FIELDS = (
    "params",
    "loglik",
    "n",
    "n_iter",
    "n_passes",
    "grad_norm",
    "step_norm",
    "status",
    "cov",
    "stderr",
)
_META_FIELDS = ("family", "method", "free_names", "n_params", "note", "cov_type", "refit")


_CONVERGED = int(Status.CONVERGED)  # a plain int: numpy compares with an enum slowly


def _on_host(tree: Any) -> Any:
    """``tree`` with numpy leaves (one ``device_get`` for those on a device)."""
    leaves, treedef = jax.tree.flatten(tree)
    if not all(isinstance(v, np.ndarray) for v in leaves):
        leaves = [np.asarray(v) for v in jax.device_get(leaves)]
    return treedef.unflatten(leaves)


@dataclasses.dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`jaxmle.fit`.

    Attributes:
        params: the MLE, ``{name: value}`` in the family's parameter order
            (fixed parameters included, at their fixed values).
        loglik: the total (weighted) log-likelihood at ``params``.
        n: the number of observations (the sum of the weights if weighted).
        n_iter: solver iterations (0 for a closed form).
        n_passes: passes over the data the fit made (the starting point, each
            objective/derivative evaluation, the information at the estimate,
            mini-batch epochs); the cost of a fit is about this many
            log-likelihood evaluations.
        grad_norm: ``max |g|`` of the negative mean log-likelihood's gradient in
            the solver's standardized unconstrained coordinates at the end.
        step_norm: ``max |dz|`` of the last step in those coordinates.
        status: a :class:`jaxmle.solvers.Status` code; see ``message``.
        cov: inverse observed information of the free parameters, in
            ``free_names`` order (constrained parametrization).
        stderr: ``{name: sqrt(cov[i, i])}`` for each free parameter; fixed
            parameters get none.
        family: the fitted family.
        method: the method that produced the fit.
        free_names: the estimated (not fixed) parameters, in order.
        n_params: the number of free scalar parameters (the dimension of the
            unconstrained space: a K-simplex counts K - 1), used by AIC/BIC.
        note: what was wrong with the data, for a dataset of
            :func:`jaxmle.fit_many` that was flagged (empty otherwise).
        cov_type: the covariance behind ``cov``/``stderr``: ``"observed"``,
            ``"expected"`` or ``"robust"`` (see :mod:`jaxmle.inference`).
        refit: the data and options of the fit, for profile intervals and the
            bootstrap (``None`` for a streamed fit, whose data are not held).
    """

    params: dict[str, np.ndarray]
    loglik: np.ndarray
    n: np.ndarray
    n_iter: np.ndarray
    n_passes: np.ndarray
    grad_norm: np.ndarray
    step_norm: np.ndarray
    status: np.ndarray
    cov: np.ndarray
    stderr: dict[str, np.ndarray]
    family: Family
    method: str
    free_names: tuple[str, ...]
    n_params: int
    note: str = ""
    cov_type: str = "observed"
    refit: RefitData | None = None

    @classmethod
    def from_output(
        cls,
        family: Family,
        method: str,
        free_names: tuple[str, ...],
        n_params: int,
        output: FitOutput | BatchOutput,
        estimates: Estimates,
        refit: RefitData | None = None,
        note: Any = "",
    ) -> FitResult:
        """The result of a fit program's output (one fit, or a batch of fits
        for a :class:`ManyFitResult`) and its estimates, with the parameters
        in the family's order."""
        report = output.report
        # One transfer of every number a result holds (none where the program
        # returned host arrays); no device work after it.
        fields = _on_host(
            dict(
                params=estimates.params,
                loglik=output.loglik,
                n=output.n,
                n_iter=report.n_iter,
                n_passes=output.n_passes,
                grad_norm=report.grad_norm,
                step_norm=report.step_norm,
                status=report.status,
                cov=estimates.cov,
                stderr=estimates.stderr,
            )
        )
        # Tree operations sort dict keys: the family's order is restored here.
        fields["params"] = {k: fields["params"][k] for k in family.param_names}
        fields["stderr"] = {k: fields["stderr"][k] for k in free_names}
        return cls(
            **fields,
            family=family,
            method=method,
            free_names=free_names,
            n_params=n_params,
            note=note,
            refit=refit,
        )

    # ---- derived quantities ----------------------------------------------

    @property
    def converged(self) -> np.ndarray:
        """True where the solver's convergence test held (always for a closed form)."""
        return self.status == _CONVERGED

    @property
    def message(self) -> str:
        """A readable account of how the fit ended."""
        if np.ndim(self.status) != 0:
            raise TypeError("message of a batched result: index it first")
        if self.note:
            return f"{status_message(int(self.status))}: {self.note}"
        if self.status != _CONVERGED:
            return status_message(int(self.status))
        msg = "closed-form MLE" if self.method == "closed_form" else status_message(_CONVERGED)
        bad = [k for k, v in self.stderr.items() if not np.all(np.isfinite(np.asarray(v)))]
        if bad:
            msg += (
                " (on a boundary or at a limit of the parameter space, on the data "
                "support's boundary, or below the dtype's smallest normal number: no finite "
                f"standard error for {', '.join(bad)})"
            )
        return msg

    @property
    def aic(self) -> np.ndarray:
        """Akaike information criterion, ``2k - 2 loglik``."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> np.ndarray:
        """Bayesian information criterion, ``k log n - 2 loglik``."""
        return self.n_params * np.log(self.n) - 2.0 * self.loglik

    @property
    def aicc(self) -> np.ndarray:
        """AIC with the small-sample correction, ``AIC + 2k(k+1) / (n - k - 1)``
        (infinite when ``n <= k + 1``: too few observations for the correction)."""
        k = self.n_params
        room = np.asarray(self.n, float) - k - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            extra = np.where(room > 0, 2.0 * k * (k + 1) / np.where(room > 0, room, 1.0), np.inf)
        return self.aic + extra

    @property
    def zvalues(self) -> dict[str, np.ndarray]:
        """``estimate / stderr`` per free parameter (the Wald statistic for 0)."""
        return {k: self.params[k] / self.stderr[k] for k in self.free_names}

    @property
    def pvalues(self) -> dict[str, np.ndarray]:
        """Two-sided Wald p-values of ``parameter = 0``, ``2 Phi(-|z|) = erfc(|z| / sqrt 2)``."""
        return {k: _erfc(np.abs(z) / np.sqrt(2.0)) for k, z in self.zvalues.items()}

    def conf_int(
        self, level: float = 0.95, method: str = "wald", **kwargs: Any
    ) -> dict[str, tuple[Any, Any]]:
        """Confidence intervals ``{name: (lower, upper)}`` for the free parameters.

        Args:
            level: coverage in (0, 1).
            method: ``"wald"`` (``estimate -/+ z stderr``, from ``cov_type``'s
                covariance), ``"profile"`` (profile likelihood, as MINOS: the
                other parameters re-optimized; respects the constraints; see
                :mod:`jaxmle.profile`) or ``"bootstrap"`` (BCa intervals from
                :meth:`bootstrap`, whose keyword arguments ``kwargs`` takes).
        """
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
            raise TypeError(f"level must be a number in (0, 1), got {level!r}")
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        if method == "profile":
            refit = self._refit_data("profile intervals")
            skip = self._not_inferable("profile")
            return profile_conf_int(
                self.family, self.params, self.free_names, refit, level, skip=skip
            )
        if method == "bootstrap":
            return self.bootstrap(**kwargs).conf_int(level, "bca")
        if method != "wald":
            raise ValueError(
                f"unknown conf_int method {method!r}; choose 'wald', 'profile' or 'bootstrap'"
            )
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        return {
            k: (self.params[k] - z * self.stderr[k], self.params[k] + z * self.stderr[k])
            for k in self.free_names
        }

    def delta(self, fn, level: float = 0.95) -> Derived:
        """Standard error and Wald interval of ``fn(params)`` by the delta method.

        ``fn`` maps the parameter dict to a scalar or array (for example a
        quantile, or the mean ``shape / rate``); see
        :class:`jaxmle.inference.delta.Derived`. For a bootstrap interval use
        ``res.bootstrap().delta(fn)``.
        """
        batched = np.ndim(self.loglik) > 0
        return delta_method(self.params, self.free_names, self.cov, fn, level, batched=batched)

    def bootstrap(
        self,
        n: int = 1000,
        kind: str = "nonparametric",
        key: Any = 0,
        replicates_per_call: int | None = None,
        chunk_size: int | None = None,
        *,
        progress: bool | None = None,
    ) -> BootstrapResult:
        """Refit ``n`` bootstrap replicates in one vmapped program.

        Args:
            n: the number of replicates.
            kind: ``"nonparametric"`` (resample the observations) or
                ``"parametric"`` (draw from the fitted model).
            key: a PRNG key or integer seed.
            replicates_per_call: replicates per compiled call (default: about
                ``2**24`` values at a time); results do not depend on it.
            chunk_size: deprecated name of ``replicates_per_call``.
            progress: a progress bar over the replicates on stderr, when they
                are refitted in several calls: ``None`` (default) on a terminal
                only, ``True`` always (needs tqdm), ``False`` never; see
                :mod:`jaxmle.progress`.

        See :mod:`jaxmle.inference.bootstrap`.
        """
        if chunk_size is not None:
            warnings.warn(
                "bootstrap(chunk_size=) is deprecated: it counts replicates; use "
                "replicates_per_call=",
                DeprecationWarning,
                stacklevel=2,
            )
            replicates_per_call = replicates_per_call or chunk_size
        refit = self._refit_data("the bootstrap")
        return bootstrap(
            self.family, self.params, self.free_names, self.method, refit,
            n=n, kind=kind, key=key, replicates_per_call=replicates_per_call,
            skip=self._not_inferable("bootstrap"), progress=progress,
        )  # fmt: skip

    def gof(
        self,
        n_boot: int | None = None,
        key: Any = 0,
        replicates_per_call: int | None = None,
        *,
        sorted_data: tuple[Any, Any] | None = None,
        progress: bool | None = None,
    ) -> GofResult:
        r"""Goodness of fit of the fitted distribution to the data it was fitted to.

        A continuous family gets the Kolmogorov-Smirnov :math:`D`, Cramér-von
        Mises :math:`W^2` and Anderson-Darling :math:`A^2` statistics of the
        data against the fitted cdf (``scipy.stats.goodness_of_fit``'s
        conventions); a discrete family Pearson's chi-square on bins with
        every expected count at least 5, its degrees of freedom (bins - 1 -
        free parameters) and asymptotic p-value. Weighted data: the weighted
        EDF (integer weights: the statistics of the rows repeated). See
        :mod:`jaxmle.inference.gof` for the formulas and the binning rule.

        Without ``n_boot`` the EDF statistics get no p-values: the textbook
        ones (``kstest``'s, the tables of :math:`W^2` and :math:`A^2`) assume
        known parameters and are far too large when the parameters were
        estimated from the same data. ``n_boot`` draws that many datasets of
        the data's size from the fit, refits each (one batch program), and
        compares each replicate's statistics, against its own refitted cdf,
        with the data's: :math:`p = (1 + \#\{T^* \ge T\}) / (1 + B)`.
        Replicates whose refit failed are left out (``note`` counts them).

        Args:
            n_boot: bootstrap replicates for the p-values (``None``: none; a
                few hundred resolve p near 0.05, 1000 is usual).
            key: a PRNG key or integer seed for the replicates.
            replicates_per_call: replicates per compiled call (default:
                about ``2**24`` values at a time); results do not depend on it.
            sorted_data: ``(x, w)``, this fit's data sorted by value and its
                weights in the same order (``w``: ``None`` without weights),
                where the caller has them: the statistics then skip their own
                sort (:func:`jaxmle.select` sorts once for every candidate).
                A single continuous fit without ``n_boot``.
            progress: a progress bar over the ``n_boot`` replicates on
                stderr, when they are refitted in several calls: ``None``
                (default) on a terminal only, ``True`` always (needs tqdm),
                ``False`` never; see :mod:`jaxmle.progress`.

        Returns:
            A :class:`~jaxmle.inference.gof.GofResult` (``print`` it for a
            table). For a :class:`ManyFitResult`, every field has one value per
            dataset, NaN (with a note) where the fit is not a converged MLE.

        Raises:
            ValueError: a single fit that did not converge or is degenerate
                (no MLE to test), a multivariate family or one without a cdf
                (or, with ``n_boot``, a sampler), a result without its data
                (a streamed fit).

        Example:
            >>> import numpy as np, jaxmle as jm
            >>> x = np.random.default_rng(0).gamma(2.0, 1.0, 500)
            >>> g = jm.fit("gamma", x).gof(n_boot=200, key=1)
            >>> g.ks < 0.1, g.ad_pvalue > 0.05
            (True, True)
        """
        check_family(self.family)
        refit = self._refit_data("goodness of fit", needs="needs the data")
        return goodness_of_fit(
            self.family, self.params, self.free_names, self.method, self.n_params, refit,
            n_boot=n_boot, key=key, replicates_per_call=replicates_per_call,
            skip=self._not_inferable("gof"), sorted_data=sorted_data, progress=progress,
        )  # fmt: skip

    def _refit_data(self, what: str, needs: str = "refit the data") -> RefitData:
        if self.refit is None or self.refit.x is None:
            raise ValueError(
                f"{what} {needs}, which this result does not hold (a streamed or "
                "transformed fit); refit with jm.fit on an in-memory array"
            )
        return self.refit

    def _not_inferable(self, method: str) -> tuple[str, ...]:
        """Per dataset (one for a single fit), why its fit cannot carry
        ``method``'s inference (``""`` where it can). A profile needs the
        maximum of a finite likelihood: a converged fit, or a degenerate one
        whose estimate is exactly on the boundary of the parameter space (it
        gets its one-sided interval); the bootstrap needs a converged fit with
        a finite estimate inside the parameter space; goodness of fit a
        converged fit with a finite estimate."""
        status = np.asarray(self.status).reshape(-1)
        b = status.shape[0]
        notes = (self.note,) if isinstance(self.note, str) else tuple(self.note)
        notes = notes or ("",) * b
        nan, finite = np.zeros(b, bool), np.ones(b, bool)
        for k in self.free_names:
            v = np.asarray(self.params[k], float).reshape(b, -1)
            nan |= np.isnan(v).any(1)
            finite &= np.isfinite(v).all(1)
        edge = np.broadcast_to(on_boundary(self.family, self.params, self.free_names), b)
        edge = np.asarray(edge).reshape(b)
        loglik = np.isfinite(np.asarray(self.loglik, float)).reshape(b)
        out = []
        for i in range(b):
            s = Status(int(status[i]))
            why = status_message(s) + (f": {notes[i]}" if notes[i] else "")
            exact = method == "profile" and edge[i] and loglik[i] and not nan[i]
            if s == Status.CONVERGED or (s == Status.DEGENERATE and exact):
                why = ""
            if not why and nan[i]:
                why = "its estimate is NaN"
            if not why and not loglik[i]:
                why = "its log-likelihood is not finite"
            if not why and method == "bootstrap" and edge[i]:
                why = (
                    "its estimate is on the boundary of the parameter space, where the "
                    "bootstrap is not valid; use conf_int(method='profile')"
                )
            if not why and method in ("bootstrap", "gof") and not finite[i]:
                why = "its estimate is not finite"
            out.append(why)
        return tuple(out)

    def to_scipy(self):
        """The fitted distribution as a frozen ``scipy.stats`` object."""
        return self.family.scipy({k: np.asarray(v) for k, v in self.params.items()})

    def plot(
        self,
        kind: str | None = None,
        *,
        data: Any = None,
        ax: Any = None,
        fig: Any = None,
        level: float = 0.95,
    ):
        """Diagnostic plots (needs matplotlib: ``pip install 'jaxmle[plot]'``).

        ``kind=None``: the 2x2 panel of fitdistrplus' ``plot(fitdist)``
        (density over a histogram, empirical and fitted cdfs, Q-Q, P-P); or
        one of ``"density"``, ``"cdf"``, ``"qq"``, ``"pp"``, ``"profile"``.
        ``data``: the data of a fit that does not hold them (a streamed fit).
        Returns the matplotlib ``Figure``; see :func:`jaxmle.plot.diagnostics`.
        """
        # lazy: the plots are an optional extra, loaded when first drawn
        from jaxmle import plot

        return plot.diagnostics(self, kind, data=data, ax=ax, fig=fig, level=level)

    # ---- presentation ----------------------------------------------------

    def summary(self, level: float = 0.95) -> str:
        """A printable table: estimates, standard errors, Wald CIs, fit statistics."""
        if np.ndim(self.loglik) != 0:
            raise TypeError("summary of a batched result: index it first")
        ci = self.conf_int(level)
        n = float(self.n)
        n_txt = f"{int(n):,}" if n.is_integer() else f"{n:,.3f}"
        pct = f"{100 * level:g}%"
        status = self.message
        if self.method != "closed_form":
            status += f" (iterations: {int(self.n_iter)}, passes: {int(self.n_passes)}, "
            status += f"gradient norm: {float(self.grad_norm):.2e})"
        lines = [
            f"jaxmle fit: {self.family!r}    method: {self.method}    n = {n_txt}"
            f"    covariance: {self.cov_type}",
            status,
            f"log-likelihood: {float(self.loglik):.6f}    AIC: {float(self.aic):.4f}"
            f"    AICc: {float(self.aicc):.4f}    BIC: {float(self.bic):.4f}",
            "",
            f"{'parameter':<12}{'estimate':>16}{'std. err.':>12}{'z':>10}{'P>|z|':>10}"
            f"   {pct + ' CI (Wald)':<30}",
        ]
        zv, pv = self.zvalues, self.pvalues
        for k in self.family.param_names:
            est = np.asarray(self.params[k])
            free = k in self.free_names
            se, z, p = (np.asarray(d[k]) for d in (self.stderr, zv, pv)) if free else (0, 0, 0)
            lo, hi = (np.asarray(v) for v in ci[k]) if free else (None, None)
            for idx in np.ndindex(est.shape):
                label = k + ("" if not idx else "[" + ",".join(map(str, idx)) + "]")
                if free:
                    lines.append(
                        f"{label:<12}{est[idx]:>16.8g}{se[idx]:>12.4g}{z[idx]:>10.3f}"
                        f"{p[idx]:>10.3g}   [{lo[idx]:.6g}, {hi[idx]:.6g}]"
                    )
                else:
                    lines.append(f"{label:<12}{est[idx]:>16.8g}{'(fixed)':>12}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if np.ndim(self.loglik) != 0:
            return f"FitResult(batched over {np.shape(self.loglik)}, family={self.family!r})"
        est = ", ".join(
            f"{k}={np.array2string(np.asarray(v), precision=6)}" for k, v in self.params.items()
        )
        return (
            f"FitResult({self.family.name}: {est}; loglik={float(self.loglik):.6f}, "
            f"converged={bool(self.converged)}, method={self.method!r})"
        )


jax.tree_util.register_dataclass(
    FitResult, data_fields=list(_DATA_FIELDS), meta_fields=list(_META_FIELDS)
)


@dataclasses.dataclass(frozen=True)
class ManyFitResult(FitResult):
    """The fits of :func:`jaxmle.fit_many`: a :class:`FitResult` whose array
    fields (``params``, ``loglik``, ``n``, ``converged``, ``n_iter``,
    ``grad_norm``, ``cov``, ``stderr``, ``aic``, ``bic``, ...) have a leading
    axis over the ``B`` datasets.

    ``res[i]`` is the ``i``-th dataset's ordinary :class:`FitResult`,
    ``len(res) == B``, and :meth:`to_table` / :meth:`to_dataframe` give one
    row per dataset. The fields have the names of a single result's, per
    dataset: ``note`` a tuple, ``message`` a list.

    Attributes:
        note: per dataset, what was wrong with its data (``""`` for none):
            set for datasets flagged by ``on_invalid="flag"`` and for
            degenerate data.
    """

    note: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(np.shape(self.loglik)[0])

    def __getitem__(self, i: int) -> FitResult:
        b = len(self)
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"index a ManyFitResult with an integer, got {type(i).__name__}")
        if not -b <= i < b:
            raise IndexError(f"dataset index {i} is out of range for {b} datasets")
        i = int(i) % b
        data = {k: _row(getattr(self, k), i) for k in _DATA_FIELDS}
        meta = {k: getattr(self, k) for k in _META_FIELDS if k not in ("note", "refit")}
        note = self.note[i] if self.note else ""
        refit = self.refit
        if refit is not None and refit.batched:  # res[i] can refit its own dataset
            refit = refit.dataset(i)
        return FitResult(**data, **meta, note=note, refit=refit)

    def __iter__(self) -> Iterator[FitResult]:
        return (self[i] for i in range(len(self)))

    @property
    def message(self) -> list[str]:
        """How each dataset's fit ended (with the data problem, if any)."""
        status = np.asarray(self.status)
        notes = self.note or ("",) * len(self)
        closed = self.method == "closed_form"
        base = [
            "closed-form MLE" if closed and s == Status.CONVERGED else status_message(s)
            for s in status
        ]
        return [f"{m}: {n}" if n else m for m, n in zip(base, notes, strict=True)]

    @property
    def messages(self) -> list[str]:
        """Deprecated name of :attr:`message` (a list, one per dataset)."""
        warnings.warn(
            "ManyFitResult.messages is deprecated; use .message (one per dataset)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.message

    @property
    def notes(self) -> tuple[str, ...]:
        """Deprecated name of :attr:`note` (a tuple, one per dataset)."""
        warnings.warn(
            "ManyFitResult.notes is deprecated; use .note (one per dataset)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.note

    def to_table(self) -> dict[str, np.ndarray]:
        """One row per dataset as a dict of numpy columns: the estimates
        (vector parameters get one column per element, ``name[i]``), their
        standard errors (``se_<name>``), ``loglik``, ``n``, ``aic``, ``bic``,
        ``converged``, ``n_iter`` and ``message``."""
        cols: dict[str, np.ndarray] = {}
        for k, v in self.params.items():
            cols.update(_columns(k, np.asarray(v)))
        for k, v in self.stderr.items():
            cols.update(_columns(f"se_{k}", np.asarray(v)))
        cols["loglik"] = np.asarray(self.loglik)
        cols["n"] = np.asarray(self.n)
        cols["aic"] = np.asarray(self.aic)
        cols["bic"] = np.asarray(self.bic)
        cols["converged"] = np.asarray(self.converged)
        cols["n_iter"] = np.asarray(self.n_iter)
        cols["message"] = np.asarray(self.message, dtype=object)
        return cols

    def to_dataframe(self, index: Any = None):
        """:meth:`to_table` as a ``pandas.DataFrame`` (needs pandas)."""
        return as_dataframe(self.to_table(), index=index)

    def plot(
        self,
        kind: str | None = None,
        *,
        params: Any = None,
        level: float = 0.95,
        labels: Any = None,
        fig: Any = None,
        **kwargs: Any,
    ):
        """The estimates of every dataset with their Wald intervals, one panel
        per free parameter (needs matplotlib); see :func:`jaxmle.plot.estimates`.
        A dataset's own diagnostics: ``res[i].plot(kind)``."""
        if kind not in (None, "estimates") or kwargs:
            raise ValueError(
                "a ManyFitResult plots its estimates (kind='estimates'); for one "
                "dataset's diagnostics use res[i].plot(kind=...)"
            )
        # lazy: the plots are an optional extra, loaded when first drawn
        from jaxmle import plot

        return plot.estimates(self, params=params, level=level, labels=labels, fig=fig)

    def summary(self, level: float = 0.95) -> str:
        """A short account of the batch: counts, and the estimates' spread."""
        status = np.asarray(self.status)
        lines = [
            f"jaxmle fit_many: {self.family!r}    method: {self.method}    datasets: {len(self)}",
            f"converged: {int(np.sum(status == Status.CONVERGED))}    "
            f"invalid: {int(np.sum(status == Status.INVALID_DATA))}    "
            f"degenerate: {int(np.sum(status == Status.DEGENERATE))}    "
            f"other: {int(np.sum(~np.isin(status, _ACCOUNTED)))}",
            "",
            f"{'parameter':<12}{'median':>14}{'min':>14}{'max':>14}",
        ]
        for k, v in self.params.items():
            v = np.asarray(v).reshape(len(self), -1)
            for j in range(v.shape[1]):
                col = v[:, j][np.isfinite(v[:, j])]
                label = k if v.shape[1] == 1 else f"{k}[{j}]"
                if col.size:
                    lines.append(
                        f"{label:<12}{np.median(col):>14.6g}{col.min():>14.6g}{col.max():>14.6g}"
                    )
        return "\n".join(lines)

    def __repr__(self) -> str:
        ok = int(np.sum(np.asarray(self.converged)))
        return (
            f"ManyFitResult({self.family.name}: {len(self)} datasets, {ok} converged, "
            f"method={self.method!r})"
        )


_erfc = np.vectorize(math.erfc, otypes=[float])


def _row(value: Any, i: int) -> Any:
    """Dataset ``i`` of a batched field (dicts keep their key order, which
    ``jax.tree.map`` would sort)."""
    if isinstance(value, dict):
        return {k: v[i] for k, v in value.items()}
    return value[i]


_ACCOUNTED = [Status.CONVERGED, Status.INVALID_DATA, Status.DEGENERATE]


def _columns(name: str, v: np.ndarray) -> dict[str, np.ndarray]:
    if v.ndim == 1:
        return {name: v}
    flat = v.reshape(v.shape[0], -1)
    idx = list(np.ndindex(v.shape[1:]))
    return {f"{name}[{','.join(map(str, i))}]": flat[:, j] for j, i in enumerate(idx)}


jax.tree_util.register_dataclass(
    ManyFitResult, data_fields=list(_DATA_FIELDS), meta_fields=list(_META_FIELDS)
)


class GroupFits(Mapping):
    """The fits of :func:`jaxmle.fit_groups`: ``{group label: FitResult}``.

    ``fits.batch`` is the underlying :class:`ManyFitResult` (datasets in the
    order of ``fits.labels``, the sorted distinct labels), and
    :meth:`to_table` / :meth:`to_dataframe` add a ``group`` column.
    """

    def __init__(self, labels: np.ndarray, batch: ManyFitResult):
        self.labels = labels
        self.batch = batch
        self._index = {_key(lab): i for i, lab in enumerate(labels.tolist())}

    def __getitem__(self, label: Any) -> FitResult:
        try:
            return self.batch[self._index[_key(label)]]
        except (KeyError, TypeError):
            raise KeyError(f"no group labelled {label!r}") from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.labels.tolist())

    def __len__(self) -> int:
        return len(self.labels)

    def to_table(self) -> dict[str, np.ndarray]:
        return {"group": self.labels, **self.batch.to_table()}

    def to_dataframe(self):
        df = self.batch.to_dataframe(index=self.labels)
        df.index.name = "group"
        return df

    def __repr__(self) -> str:
        return f"GroupFits({len(self)} groups: {self.batch!r})"


def _key(label: Any) -> Any:
    """A hashable lookup key: numpy scalars as Python scalars."""
    return label.item() if isinstance(label, np.generic) else label


def as_dataframe(table: Mapping[str, Any], *, index: Any = None, index_column: str | None = None):
    """A ``to_table()`` dict as a ``pandas.DataFrame`` (``index``: its index;
    ``index_column``: a column made the index); an ImportError that says how
    to install pandas."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "to_dataframe needs pandas (pip install 'jaxmle[pandas]'); "
            "to_table() gives the same columns as numpy arrays"
        ) from None
    df = pd.DataFrame(table, index=index)
    return df.set_index(index_column) if index_column is not None else df
