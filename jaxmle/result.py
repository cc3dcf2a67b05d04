"""FitResult: an immutable pytree with everything a statistician needs next."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families.base import Family
from jaxmle.solvers.driver import Status, status_message

__all__ = ["FitResult"]

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
_META_FIELDS = ("family", "method", "free_names", "n_params", "note", "cov_type")


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
    """

    params: dict[str, jax.Array]
    loglik: jax.Array
    n: jax.Array
    n_iter: jax.Array
    n_passes: jax.Array
    grad_norm: jax.Array
    step_norm: jax.Array
    status: jax.Array
    cov: jax.Array
    stderr: dict[str, jax.Array]
    family: Family
    method: str
    free_names: tuple[str, ...]
    n_params: int
    note: str = ""
    cov_type: str = "observed"

    # ---- derived quantities ----------------------------------------------

    @property
    def converged(self) -> jax.Array:
        """True where the solver's convergence test held (always for a closed form)."""
        return self.status == Status.CONVERGED

    @property
    def message(self) -> str:
        """A readable account of how the fit ended."""
        if np.ndim(self.status) != 0:
            raise TypeError("message of a batched result: index it first")
        if self.note:
            return f"{status_message(int(self.status))}: {self.note}"
        if self.method == "closed_form":
            msg = "closed-form MLE"
            bad = [k for k, v in self.stderr.items() if not np.all(np.isfinite(np.asarray(v)))]
            if bad:
                msg += (
                    f" (on a boundary of the parameter space or the data support: "
                    f"no finite standard error for {', '.join(bad)})"
                )
            return msg
        return status_message(int(self.status))

    @property
    def aic(self) -> jax.Array:
        """Akaike information criterion, ``2k - 2 loglik``."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    @property
    def bic(self) -> jax.Array:
        """Bayesian information criterion, ``k log n - 2 loglik``."""
        return self.n_params * jnp.log(self.n) - 2.0 * self.loglik

    @property
    def aicc(self) -> jax.Array:
        """AIC with the small-sample correction, ``AIC + 2k(k+1) / (n - k - 1)``."""
        k = self.n_params
        return self.aic + 2.0 * k * (k + 1) / (self.n - k - 1)

    @property
    def zvalues(self) -> dict[str, jax.Array]:
        """``estimate / stderr`` per free parameter (the Wald statistic for 0)."""
        return {k: self.params[k] / self.stderr[k] for k in self.free_names}

    @property
    def pvalues(self) -> dict[str, jax.Array]:
        """Two-sided Wald p-values of ``parameter = 0``, ``2 Phi(-|z|)``."""
        from jax.scipy.special import ndtr

        return {k: 2.0 * ndtr(-jnp.abs(z)) for k, z in self.zvalues.items()}

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
            from jaxmle.profile import profile_conf_int

            ctx = self._needs_data("profile intervals")
            x, w = ctx.arrays()
            return profile_conf_int(self, level, x, w, ctx.fixed, batched=ctx.batched)
        if method == "bootstrap":
            return self.bootstrap(**kwargs).conf_int(level, "bca")
        if method != "wald":
            raise ValueError(
                f"unknown conf_int method {method!r}; choose 'wald', 'profile' or 'bootstrap'"
            )
        from jax.scipy.special import ndtri

        z = float(ndtri(0.5 + level / 2.0))
        return {
            k: (self.params[k] - z * self.stderr[k], self.params[k] + z * self.stderr[k])
            for k in self.free_names
        }

    def delta(self, fn, level: float = 0.95):
        """Standard error and Wald interval of ``fn(params)`` by the delta method.

        ``fn`` maps the parameter dict to a scalar or array (for example a
        quantile, or the mean ``shape / rate``); see
        :class:`jaxmle.derived.Derived`. For a bootstrap interval use
        ``res.bootstrap().delta(fn)``.
        """
        from jaxmle.derived import delta_method

        return delta_method(self, fn, level)

    def bootstrap(self, n: int = 1000, kind: str = "nonparametric", key: Any = 0, **kwargs: Any):
        """Refit ``n`` bootstrap replicates in one vmapped program; see
        :func:`jaxmle.bootstrap.bootstrap`."""
        from jaxmle.bootstrap import bootstrap

        return bootstrap(self, n=n, kind=kind, key=key, **kwargs)

    def _needs_data(self, what: str):
        ctx = getattr(self, "_context", None)
        if ctx is None or ctx.x is None:
            raise ValueError(
                f"{what} refit the data, which this result does not hold (a streamed or "
                "transformed fit); refit with jm.fit on an in-memory array"
            )
        return ctx

    def to_scipy(self):
        """The fitted distribution as a frozen ``scipy.stats`` object."""
        return self.family.scipy({k: np.asarray(v) for k, v in self.params.items()})

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
