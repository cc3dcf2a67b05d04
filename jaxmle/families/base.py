"""The family abstraction: a log-density with named, constrained parameters.

A family is a small immutable, hashable object, so it can be a static argument
of ``jax.jit``. A concrete family supplies only:

* ``name``, ``param_names`` and ``constraints`` (one :class:`Constraint` per
  parameter), and its data ``support``;
* ``logpdf(params, x)``: the elementwise log-density (log-pmf if discrete);
* ``init(x, w)``: a robust starting point (moments or quantiles);
* optionally ``closed_form(x, w)``: the exact MLE, and ``scipy_equivalent``:
  the equivalent ``scipy.stats`` distribution, declared once as data (see
  :mod:`jaxmle.families.scipy_bridge`), from which ``scipy(params)`` follows.

Everything else (fitting, standard errors, summaries) is generic. A fact is
stated once: the registry reads ``name`` (see :func:`~jaxmle.families.registry.register`),
and ``has_closed_form``, ``has_statistics`` and ``has_derivatives`` follow from
which methods a family defines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from jaxmle.families._special import LOG_2, log1mexp, log1mexp_exp
from jaxmle.families.constraints import Constraint
from jaxmle.families.scipy_bridge import ScipyEquivalent
from jaxmle.families.support import Support
from jaxmle.families.units import Equivariance
from jaxmle.reduction import accurate_sum

__all__ = [
    "CumulativeHazardFamily",
    "Family",
    "Params",
    "flatten_params",
    "weighted_max",
    "weighted_mean",
    "weighted_mean_var",
    "weighted_min",
    "weighted_quantile",
]

Params = dict[str, jax.Array]


def flatten_params(params: Mapping[str, Any], names: Sequence[str]):
    """Concatenate ``params[k]`` for ``k`` in ``names`` (in that order, unlike
    ``ravel_pytree``, which sorts dict keys) and return ``(flat, unflatten)``."""
    arrays = [jnp.asarray(params[k]) for k in names]
    shapes = [a.shape for a in arrays]
    sizes = [a.size for a in arrays]
    flat = jnp.concatenate([a.reshape(-1) for a in arrays]) if arrays else jnp.zeros((0,))

    def unflatten(v: jax.Array) -> Params:
        out, start = {}, 0
        for k, shape, size in zip(names, shapes, sizes, strict=True):
            out[k] = v[start : start + size].reshape(shape)
            start += size
        return out

    return flat, unflatten


def weighted_mean(v: jax.Array, w: jax.Array | None) -> jax.Array:
    """Mean over axis 0 of ``v`` with optional frequency weights ``w`` of shape
    ``(N,)`` (accurate in float32; works for ``(N, ...)`` arrays)."""
    if w is None:
        return accurate_sum(v) / v.shape[0]
    wb = w.reshape(w.shape + (1,) * (v.ndim - 1))
    return accurate_sum(jnp.where(wb > 0, wb * v, 0.0)) / accurate_sum(w)


def weighted_mean_var(v: jax.Array, w: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """Mean and (biased) variance over axis 0, centred first for accuracy."""
    m = weighted_mean(v, w)
    return m, weighted_mean(jnp.square(v - m), w)


def weighted_min(v: jax.Array, w: jax.Array | None) -> jax.Array:
    """``min(v)`` over the observations with positive weight."""
    return jnp.min(v) if w is None else jnp.min(jnp.where(w > 0, v, jnp.inf))


def weighted_max(v: jax.Array, w: jax.Array | None) -> jax.Array:
    """``max(v)`` over the observations with positive weight."""
    return jnp.max(v) if w is None else jnp.max(jnp.where(w > 0, v, -jnp.inf))


_QUANTILE_SAMPLE = 8192


def weighted_quantile(v: jax.Array, w: jax.Array | None, q: float) -> jax.Array:
    """The ``q``-quantile of ``v`` under frequency weights ``w``, for starting values.

    Computed on an evenly strided subsample of at most ~8192 points (exact for
    smaller data), so a starting value never costs a sort of millions of points.
    """
    stride = max(1, v.shape[0] // _QUANTILE_SAMPLE)
    v = v[::stride]
    if w is None:
        return jnp.quantile(v, q)
    w = w[::stride]
    order = jnp.argsort(v)
    cw = jnp.cumsum(jnp.where(w > 0, w, 0.0)[order])
    # Strided weights can be all zero for a sparse mask: fall back to equal weights.
    cw = jnp.where(cw[-1] > 0, cw, jnp.arange(1, v.shape[0] + 1, dtype=v.dtype))
    idx = jnp.searchsorted(cw, q * cw[-1])
    return v[order][jnp.clip(idx, 0, v.shape[0] - 1)]


class Family:
    """Base class of every distribution family.

    A family is a plain class whose instances carry only static options (for
    example the number of trials of a binomial); equality and hashing go by
    class and options, so instances are usable as static ``jit`` arguments.

    Class attributes a family declares:
        name: registry name (snake_case); ``@register`` reads it.
        param_names: parameter names, in order.
        constraints: ``{param: Constraint}``; each constraint's ``event_ndim``
            says whether the parameter is a scalar (0), vector (1) or matrix (2).
        support: the data support, used by validation.
        event_ndim: 0 for univariate data ``x.shape == (N,)``, 1 for
            multivariate data ``x.shape == (N, d)``.
        reorders_params: whether ``canonicalize`` may permute the estimate
            (label switching in mixtures).
        boundary_params: parameters whose MLE lies on the boundary of the data
            support (pareto's scale = min(x)); they get no standard error and the
            others' are computed with them held at the estimate, which
            ``boundary_values(x, w)`` gives (iterative fits hold them there).
        density: the density as plain-text math, for the parametrization table.
        scipy_equivalent: the :class:`ScipyEquivalent` declaration that
            ``scipy(params)``, the table and the tests read; ``None``: none.
        exponential_family: a regular exponential family whose MLE is its
            closed form: at the MLE the observed information equals ``n``
            times ``expected_information`` (the score vanishes, and in the
            natural parameters the Hessian does not depend on the data), so a
            closed-form fit takes the information from that formula instead of
            a derivative pass over the data (tested for every such family).
        equivariance: how the parameters follow a change of the data's units
            (:class:`~jaxmle.families.units.Equivariance`); the engine then
            fits data of any magnitude in well-scaled units. ``None``: none
            (discrete, bounded and circular families).
        closed_form_checks_values: the closed form's estimate is non-finite
            whenever a value with positive weight is NaN, infinite or outside
            the support (the normal's sums, the lognormal's ``log x``), so a
            finite estimate needs no separate pass to check the values.
        start_from_subsample: on long data (``2**18`` rows or more) Newton
            starts from the MLE of an evenly spaced subsample of ``2**16`` rows
            rather than from ``init`` (:func:`jaxmle._engine.program.fit_body`).
            ``init`` (moments, quantiles) is consistent only for data from the
            family: not for censored data, not for the wrong candidates of a
            selection, where Newton from it needs up to twice the passes; from
            the subsample's MLE (within about ``2**-8`` of the full one) it
            needs a few. Not used where the caller gives the start, nor where
            the subsample's MLE leaves the data's smallest or largest value
            outside the support (``init`` on all the values instead). On by
            default; a family may turn it off.
        costly_cdf: the cdf is an iterative special function (an incomplete
            gamma or beta integral, Owen's T) that costs far more than the
            density; the EDF statistics on long data then integrate the density
            between the sorted observations
            (:mod:`jaxmle.inference.sorted_cdf`).
        rows_checked: the data are rows made and checked on the host (censored
            rows), finite and inside the support by construction: the fit
            skips its pass over them to count invalid values.

    Derived, not declared (set for each subclass from the methods it defines):
        has_closed_form: ``closed_form`` is defined (returns the exact MLE).
        has_statistics: ``statistics`` (and its companions) are defined.
        has_derivatives: ``derivative_terms`` (and its companion) are defined.
    """

    name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    constraints: ClassVar[Mapping[str, Constraint]]
    support: ClassVar[Support]
    event_ndim: ClassVar[int] = 0
    has_closed_form: ClassVar[bool] = False
    density: ClassVar[str] = ""
    scipy_equivalent: ClassVar[ScipyEquivalent | None] = None
    reorders_params: ClassVar[bool] = False
    boundary_params: ClassVar[tuple[str, ...]] = ()
    exponential_family: ClassVar[bool] = False
    closed_form_checks_values: ClassVar[bool] = False
    start_from_subsample: ClassVar[bool] = True
    costly_cdf: ClassVar[bool] = False
    rows_checked: ClassVar[bool] = False
    equivariance: ClassVar[Equivariance | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive the ``has_...`` flags from the methods the subclass defines
        (unless its body sets a flag itself)."""
        super().__init_subclass__(**kwargs)
        for flag, method in _CAPABILITIES.items():
            if flag not in vars(cls):
                setattr(cls, flag, getattr(cls, method) is not getattr(Family, method))

    def logpdf(self, params: Params, x: jax.Array) -> jax.Array:
        """Log-density (log-pmf if discrete) of each observation, shape ``(N,)``."""
        raise NotImplementedError

    def init(self, x: jax.Array, w: jax.Array | None) -> Params:
        """A robust starting point, inside the constraints, from the data.

        ``w`` are frequency weights (``None``: all 1); a row of weight 0 is not
        data (a mask, or the padding of a shape bucket), so use the weighted
        helpers of this module (``weighted_mean``, ``weighted_quantile``, ...)."""
        raise NotImplementedError

    def init_with_fixed(
        self, x: jax.Array, w: jax.Array | None, fixed: Mapping[str, jax.Array]
    ) -> Params:
        """A starting point where some parameters are held at ``fixed``: the
        other parameters of :meth:`init` (a family whose support depends on
        its parameters adapts them, so that every observation is inside)."""
        return self.init(x, w)

    def init_right_censored(
        self, feats: Any, event: jax.Array, w: jax.Array | None
    ) -> Params | None:
        """A start for right-censored data from ``feats = features(x)``
        (``event``: 1 where ``x`` is the value, 0 where the value exceeds
        ``x``), or ``None`` (the default: ``init`` on the values and censoring
        times alike)."""
        return None

    def closed_form(self, x: jax.Array, w: jax.Array | None) -> Params | None:
        """The exact MLE, or ``None`` where the family has none."""
        return None

    def cdf(self, params: Params, x: jax.Array) -> jax.Array:
        """``P(X <= x)`` elementwise (univariate families)."""
        raise NotImplementedError(f"{self.name} has no cdf")

    def logcdf(self, params: Params, x: jax.Array) -> jax.Array:
        """``log P(X <= x)``; families override this with a stable form."""
        return jnp.log(self.cdf(params, x))

    def logsf(self, params: Params, x: jax.Array) -> jax.Array:
        """``log P(X > x)``; families override this with a stable form."""
        return jnp.log1p(-self.cdf(params, x))

    def log_cdf_sf(self, params: Params, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(logcdf, logsf)`` at once; families whose two tails share their work
        (one incomplete gamma or beta integral gives both) override this, and
        :meth:`log_interval_probability` calls it once for both ends."""
        return self.logcdf(params, x), self.logsf(params, x)

    def log_interval_probability(self, params: Params, lo: jax.Array, hi: jax.Array) -> jax.Array:
        r""":math:`\log P(lo < X \le hi) = \log(F(hi) - F(lo))`, elementwise, from
        the tail nearer to the interval, so that neither tail's rounding cancels:

        .. math:: \log P = \begin{cases}
              \log S(lo) + \log\left(1 - e^{\log S(hi) - \log S(lo)}\right)
                  & F(lo) > \tfrac12 \text{ (both points in the upper half)} \\
              \log F(hi) + \log\left(1 - e^{\log F(lo) - \log F(hi)}\right)
                  & \text{else,}
              \end{cases}

        with ``logsf`` and ``logcdf`` accurate in their own tails (an interval
        at 50 scales keeps its digits) and ``-inf`` where ``hi <= lo`` or
        :math:`F(hi) = F(lo)`. Discrete families take scipy's semantics,
        :math:`F(k) = P(X \le \lfloor k \rfloor)`, so ``lo = l - 1`` gives
        :math:`\log P(l \le X \le r)` for integers. An infinite end gives the
        one-sided value (``lo = -inf``: ``logcdf(hi)``). Branches are chosen
        with ``where`` on safe inputs, so it traces under ``jit`` and ``vmap``
        and its gradient is finite wherever the value is.
        """
        lo, hi = jnp.broadcast_arrays(jnp.asarray(lo), jnp.asarray(hi))
        log_f, log_s = self.log_cdf_sf(params, jnp.concatenate([lo.ravel(), hi.ravel()]))
        n = lo.size
        log_f_lo, log_f_hi = log_f[:n].reshape(lo.shape), log_f[n:].reshape(lo.shape)
        log_s_lo, log_s_hi = log_s[:n].reshape(lo.shape), log_s[n:].reshape(lo.shape)
        upper = log_f_lo > -LOG_2
        return _log_difference(
            jnp.where(upper, log_s_lo, log_f_hi), jnp.where(upper, log_s_hi, log_f_lo), hi > lo
        )

    def sample(self, params: Params, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        """Draw ``shape`` independent observations (``shape + event shape``)."""
        raise NotImplementedError(f"{self.name} has no sampler")

    def scipy(self, params: Mapping[str, Any]) -> Any:
        """The frozen ``scipy.stats`` distribution with these parameters, as
        ``scipy_equivalent`` declares it."""
        if self.scipy_equivalent is None or self.scipy_equivalent.dist is None:
            raise NotImplementedError(f"{self.name} has no scipy.stats equivalent")
        return self.scipy_equivalent.freeze(params, vars(self))

    def canonicalize(self, params: Params) -> Params:
        """A canonical representative of equivalent parameter points (mixtures
        sort their exchangeable components); used when ``reorders_params``."""
        return params

    def diagnose(self, params: Mapping[str, Any], x: Any) -> str | None:
        """A warning about the fitted model (e.g. an unbounded likelihood),
        or ``None``; called by ``fit`` on the host after the fit."""
        return None

    def boundary_values(self, x: jax.Array, w: jax.Array | None) -> Params:
        """The MLE of each of ``boundary_params`` (a function of the data
        alone, such as ``min(x)``); iterative fits hold them there, since no
        gradient step lands on the boundary of the support."""
        return {}

    def unit_information(self, params: Params) -> jax.Array | None:
        """The expected information of one observation, ``(p, p)`` in
        ``param_names`` order, for families whose log-likelihood is not twice
        differentiable at the MLE (Laplace's median); ``None`` (the default)
        means the observed information (the autodiff Hessian) is used."""
        return None

    def expected_information(self, params: Params) -> jax.Array | None:
        r"""The expected (Fisher) information of one observation,
        :math:`\mathcal I(\theta) = -\mathrm E_\theta[\nabla^2_\theta \log f(X)]`,
        ``(p, p)`` in ``param_names`` order (constrained, scalar parameters), in
        closed form; ``None`` (the default) where none is written out, and
        :mod:`jaxmle.inference` then sums over a finite support
        (:meth:`support_values`) or averages over draws from the fitted model."""
        return self.unit_information(params)

    def support_values(self) -> jax.Array | None:
        """Every value of a finite support (``(K,)`` or ``(K, d)``), for exact
        expected information by summation; ``None`` (the default): infinite or
        continuous support."""
        return None

    def check_params(self, params: Mapping[str, Any]) -> None:
        """Extra, family-specific checks of user-given parameters (raise
        ``ValueError``); the constraints are already checked."""

    # Fast paths for large data (optional) ----------------------------------

    #: Whether the log-likelihood depends on the data only through ``n`` and
    #: the sums of ``statistics(x)`` (an exponential family): a fit then makes
    #: one pass over the data and solves on those sums in O(1) per iteration.
    #: Set by defining ``statistics`` (see ``__init_subclass__``).
    has_statistics: ClassVar[bool] = False

    def loglik_at_mle(self, estimate: Params, n: jax.Array) -> jax.Array | None:
        r"""The maximized total log-likelihood from the closed-form estimate
        and :math:`n = \sum_i w_i` alone, where the sums it needs are fixed by
        the estimate (the normal's: :math:`-\tfrac n2 (\log 2\pi\hat\sigma^2 + 1)`);
        ``None``: a pass over the data computes it. Tested against that pass."""
        return None

    def statistics(self, x: jax.Array, centre: jax.Array | None = None) -> tuple[jax.Array, ...]:
        r"""Per-sample sufficient statistics :math:`T(x_i)`, each of shape ``(N,)``.

        ``centre``: a value near the bulk of the data, the same for every
        chunk, shard and pass of one fit (the median of a few rows, in the
        fit's units; ``None`` for a family with no units). Families whose
        log-likelihood depends on a difference of sums that cancel when the
        data vary little (the gamma's :math:`\logar x - \overline{\log x}`)
        take their statistics about it; the others ignore it.

        Contract: some statistic is non-finite (NaN or inf) for every value
        that is NaN, infinite or outside the support, so that the sums alone
        tell whether the data are valid (``log x`` for ``x > 0``)."""
        raise NotImplementedError(f"{self.name} has no sufficient statistics")

    def loglik_from_statistics(
        self,
        params: Params,
        sums: tuple[jax.Array, ...],
        n: jax.Array,
        centre: jax.Array | None = None,
    ) -> jax.Array:
        r"""The total log-likelihood from :math:`n = \sum_i w_i` and
        ``sums`` :math:`= \sum_i w_i T(x_i)` (taken about ``centre``)."""
        raise NotImplementedError(f"{self.name} has no sufficient statistics")

    def init_from_statistics(
        self, sums: tuple[jax.Array, ...], n: jax.Array, centre: jax.Array | None = None
    ) -> Params:
        """A starting point from the sufficient statistics (like ``init``)."""
        raise NotImplementedError(f"{self.name} has no sufficient statistics")

    def features(self, x: jax.Array) -> Any:
        """Parameter-free per-sample transforms of the data (for example
        ``log x``), computed once per fit instead of once per pass; a pytree of
        arrays with leading axis ``N``. The default is ``x`` itself."""
        return x

    def init_features(self, feats: Any, w: jax.Array | None) -> Params | None:
        """``init`` from ``features(x)`` (cheaper where the features are what
        ``init`` would compute), or ``None`` (the default): use ``init``."""
        return None

    def logpdf_features(self, params: Params, feats: Any) -> jax.Array:
        """``logpdf`` from ``features(x)``; the default is ``logpdf(params, feats)``."""
        return self.logpdf(params, feats)

    def logsf_features(self, params: Params, feats: Any) -> jax.Array:
        """``logsf`` from ``features(x)`` (right-censored observations); the
        default is ``logsf(params, feats)``."""
        return self.logsf(params, feats)

    #: Whether the family writes its log-likelihood's derivatives out
    #: (``derivative_terms`` and ``derivatives_from_terms``): Newton's passes
    #: then sum a few per-sample terms instead of autodiff's derivatives.
    #: Set by defining ``derivative_terms`` (see ``__init_subclass__``).
    has_derivatives: ClassVar[bool] = False
    #: Which :meth:`derivative_terms` come from the log-hazard (``log h``)
    #: part of ``log f = log h - H`` of a cumulative-hazard family: weighted
    #: by the event indicator, with ``n`` the number of events, the terms give
    #: the right-censored log-likelihood ``sum_events log h - sum_all H``
    #: (:class:`~jaxmle.families.censored.CensoredFamily`). ``None``: not so
    #: written.
    event_terms: ClassVar[tuple[int, ...] | None] = None

    def derivative_terms(self, params: Params, feats: Any) -> tuple[jax.Array, ...]:
        r"""Per-sample terms :math:`t(x_i; \theta)`, each ``(N,)``, whose
        weighted sums :math:`S = \sum_i w_i t(x_i; \theta)` (with
        :math:`n = \sum_i w_i`) give the log-likelihood and its first and
        second derivatives at :math:`\theta` (:meth:`derivatives_from_terms`).

        Few terms sharing their transcendental functions make a Newton pass
        a few elementwise operations per sample: for the Weibull
        :math:`(t, e, e t, e t^2)` with :math:`t = \log(x/\lambda)`,
        :math:`e = (x/\lambda)^k`, against autodiff's six longer ones.
        """
        raise NotImplementedError(f"{self.name} has no closed-form derivatives")

    def derivatives_from_terms(
        self, params: Params, sums: tuple[jax.Array, ...], n: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array], dict[tuple[str, str], jax.Array]]:
        r"""``(value, grad, hess)`` of :math:`\sum_i w_i \log f(x_i)` from the
        sums of :meth:`derivative_terms`: ``grad[a]`` is the derivative in
        parameter ``a`` and ``hess[(a, b)]`` the second derivative, for every
        pair with ``a`` at or before ``b`` in ``param_names`` (constrained,
        scalar parameters). Linear in ``(sums, n)``, so partial sums from
        several devices combine. Tested against autodiff for every family
        that has it."""
        raise NotImplementedError(f"{self.name} has no closed-form derivatives")

    # Generic helpers -------------------------------------------------------

    def to_unconstrained(self, params: Mapping[str, Any]) -> Params:
        return {k: self.constraints[k].inverse(jnp.asarray(v)) for k, v in params.items()}

    def to_constrained(self, u: Mapping[str, Any]) -> Params:
        return {k: self.constraints[k].forward(v) for k, v in u.items()}

    def __repr__(self) -> str:
        opts = "".join(f"; {k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"{type(self).__name__}({', '.join(self.param_names)}{opts})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(vars(self).items()))))


#: ``has_...`` flag -> the method whose definition sets it (Family.__init_subclass__).
_CAPABILITIES = {
    "has_closed_form": "closed_form",
    "has_statistics": "statistics",
    "has_derivatives": "derivative_terms",
}


class CumulativeHazardFamily(Family):
    r"""A family whose distribution is given by its cumulative hazard
    :math:`H(x) = -\log S(x)`: ``cdf``, ``logcdf`` and ``logsf`` follow stably,

    .. math:: F = -\operatorname{expm1}(-H), \quad \log F = \log(1 - e^{-H}),
              \quad \log S = -H,

    with :math:`\log F` from :math:`\log H` (:func:`log1mexp_exp`), so it stays
    accurate where :math:`H` underflows. A subclass defines ``cum_hazard`` or
    ``log_cum_hazard`` (or both); each defaults to the other.
    """

    def cum_hazard(self, params: Params, x: jax.Array) -> jax.Array:
        r""":math:`H(x) = -\log S(x)`; by default ``exp(log_cum_hazard)``."""
        return jnp.exp(self.log_cum_hazard(params, x))

    def log_cum_hazard(self, params: Params, x: jax.Array) -> jax.Array:
        r""":math:`\log H(x)`; by default ``log(cum_hazard)``."""
        return jnp.log(self.cum_hazard(params, x))

    def cdf(self, params, x):
        return -jnp.expm1(-self.cum_hazard(params, x))

    def logcdf(self, params, x):
        return log1mexp_exp(self.log_cum_hazard(params, x))

    def logsf(self, params, x):
        return -self.cum_hazard(params, x)


def _log_difference(log_a: jax.Array, log_b: jax.Array, valid: jax.Array) -> jax.Array:
    r""":math:`\log(a - b) = \log a + \log(1 - e^{\log b - \log a})` for
    :math:`0 \le b \le a`, and ``-inf`` where ``valid`` is false or
    :math:`b = a` (on safe inputs there, so the gradient stays finite)."""
    gap = log_a - log_b
    ok = valid & (gap > 0) & jnp.isfinite(log_a)
    value = jnp.where(ok, log_a, 0.0) + log1mexp(jnp.where(ok, gap, 1.0))
    return jnp.where(ok, value, -jnp.inf)
