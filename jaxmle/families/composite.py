r"""Families built from other families.

* :class:`Mixture`, finite mixtures of any families, fitted by the same engine
  as every family:

  .. math:: f(x) = \sum_{k=1}^K w_k f_k(x \mid \theta_k), \qquad w \in \Delta^{K-1}

  The log-density is a ``logsumexp`` over components; the weights live on the
  simplex (additive log-ratio bijection), so Newton / L-BFGS work on the whole
  parameter vector, not EM.

* :class:`Shifted`, a free location for any positive-support family (the
  three-parameter forms):

  .. math:: f(x \mid \theta, \mathrm{loc}) = f_0(x - \mathrm{loc} \mid \theta),
            \quad x \ge \mathrm{loc} \text{ (base on } x \ge 0)
            \text{ or } x > \mathrm{loc} \text{ (base on } x > 0)

  ``jm.Shifted(jm.Weibull())`` is scipy's ``weibull_min.fit(x)`` with a free
  ``loc``. Where the base density is finite and non-increasing at 0
  (exponential, half-normal, generalized Pareto) the MLE of ``loc`` is
  ``min(x)``, on the boundary (a closed form where the base has one). Where it
  is infinite at 0 (a Weibull or gamma with shape < 1) the likelihood grows
  without limit as ``loc -> min(x)`` and no MLE exists: ``fit`` then warns
  (``ModelWarning``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families import constraints as C, support as S
from jaxmle.families.base import Family, Params, weighted_mean, weighted_min, weighted_quantile
from jaxmle.families.registry import resolve

__all__ = ["Mixture", "Shifted"]

# Shifted.diagnose: a location within this fraction of the data's range below
# min(x) has run into the boundary; a base exponent at 0 below -tol is an
# infinite density there.
_EDGE = 1e-6
_EXPONENT_TOL = 1e-4


# ---------------------------------------------------------------------------
# Mixture
# ---------------------------------------------------------------------------


class Mixture(Family):
    """A mixture of ``K`` component families with weights on the simplex.

    Parameters are ``weights`` (a length-K vector) and each component's
    parameters with the component index appended: ``loc_0, scale_0, loc_1, ...``.

    Initialisation is data-driven: the data are cut at the weighted
    ``k/K`` quantiles and component ``k`` starts from its own ``init`` on the
    ``k``-th slice (equal weights). After the fit, exchangeable components
    (components of the same family) are put in a canonical order, increasing
    in their first parameter (then the second, ...), so label switching does
    not change the answer.

    Args:
        components: the component families (instances, classes or names).

    Example:
        >>> import numpy as np, jaxmle as jm
        >>> rng = np.random.default_rng(0)
        >>> x = np.concatenate([rng.normal(-2, 1, 600), rng.normal(3, 0.5, 400)])
        >>> res = jm.fit(jm.Mixture([jm.Normal(), jm.Normal()]), x)
        >>> [round(float(res.params[k]), 1) for k in ("loc_0", "loc_1")]
        [-2.0, 3.0]
    """

    def __init__(self, components: Sequence[Family | str]):
        comps = tuple(resolve(c) for c in components)
        if len(comps) < 2:
            raise ValueError(f"a mixture needs at least 2 components, got {len(comps)}")
        if any(c.event_ndim != 0 for c in comps):
            raise ValueError("mixtures of multivariate families are not supported yet")
        self.components = comps
        names = ["weights"]
        cons = {"weights": C.simplex}
        for i, comp in enumerate(comps):
            for p in comp.param_names:
                names.append(f"{p}_{i}")
                cons[f"{p}_{i}"] = comp.constraints[p]
        self.param_names = tuple(names)
        self.constraints = cons
        self.name = "mixture"
        self.reorders_params = True
        self.support = S.Support(
            " or ".join(sorted({c.support.description for c in comps})),
            lambda x: jnp.any(jnp.stack([c.support.contains(x) for c in comps]), axis=0),
            discrete=all(c.support.discrete for c in comps),
        )
        self.density = "sum_k weights[k] f_k(x | params_k)"

    def component_params(self, params: Params, k: int) -> Params:
        """The parameters of component ``k`` under their own names."""
        return {p: params[f"{p}_{k}"] for p in self.components[k].param_names}

    def component_logpdfs(self, params: Params, x: jax.Array) -> jax.Array:
        """``log w_k + log f_k(x)`` for each component, shape ``(N, K)``."""
        logw = jnp.log(params["weights"])
        cols = [
            logw[k] + comp.logpdf(self.component_params(params, k), x)
            for k, comp in enumerate(self.components)
        ]
        return jnp.stack(cols, axis=-1)

    def logpdf(self, params, x):
        return jax.scipy.special.logsumexp(self.component_logpdfs(params, x), axis=-1)

    def responsibilities(self, params: Params, x: jax.Array) -> jax.Array:
        """Posterior component probabilities of each observation, ``(N, K)``."""
        lp = self.component_logpdfs(params, x)
        return jnp.exp(lp - jax.scipy.special.logsumexp(lp, axis=-1, keepdims=True))

    def init(self, x, w):
        k_total = len(self.components)
        edges = [weighted_quantile(x, w, q) for q in np.linspace(0.0, 1.0, k_total + 1)]
        base = jnp.ones_like(x) if w is None else w
        start: Params = {"weights": jnp.full((k_total,), 1.0 / k_total, x.dtype)}
        for k, comp in enumerate(self.components):
            lo, hi = edges[k], edges[k + 1]
            inside = (x >= lo) & (x <= hi) if k == k_total - 1 else (x >= lo) & (x < hi)
            wk = jnp.where(inside, base, 0.0)
            # A slice with no weight (many ties) falls back to all the data.
            wk = jnp.where(jnp.sum(wk) > 0, wk, base)
            for p, v in comp.init(x, wk).items():
                start[f"{p}_{k}"] = v
        return start

    def canonicalize(self, params: Params) -> Params:
        """Order exchangeable components by their parameters (lexicographic)."""
        out = dict(params)
        groups: dict[type, list[int]] = {}
        for k, comp in enumerate(self.components):
            groups.setdefault((type(comp), tuple(sorted(vars(comp).items()))), []).append(k)
        weights = params["weights"]
        new_w = weights
        for idx in groups.values():
            if len(idx) < 2:
                continue
            comp = self.components[idx[0]]
            # Lexicographic key: sort by the last parameter first, stably,
            # ending with the first parameter.
            order = jnp.arange(len(idx))
            for p in reversed(comp.param_names):
                vals = jnp.stack([params[f"{p}_{k}"] for k in idx])[order]
                order = order[jnp.argsort(vals, stable=True)]
            src = jnp.asarray(idx)[order]
            for p in comp.param_names:
                stacked = jnp.stack([params[f"{p}_{k}"] for k in idx])
                reordered = stacked[order]
                for j, k in enumerate(idx):
                    out[f"{p}_{k}"] = reordered[j]
            new_w = new_w.at[jnp.asarray(idx)].set(weights[src])
        out["weights"] = new_w
        return out

    def __repr__(self) -> str:
        return f"Mixture([{', '.join(repr(c) for c in self.components)}])"

    def __eq__(self, other: object) -> bool:
        return type(other) is Mixture and self.components == other.components

    def __hash__(self) -> int:
        return hash((Mixture, self.components))


# ---------------------------------------------------------------------------
# Shifted
# ---------------------------------------------------------------------------


class Shifted(Family):
    r"""``base`` shifted by a free location parameter ``loc`` (the last parameter;
    named ``shift`` where the base family already has a ``loc``).

    .. math:: \log f(x \mid \theta, \mathrm{loc}) = \log f_0(x - \mathrm{loc} \mid \theta)

    on ``x >= loc`` where the base family allows ``x >= 0`` (its support is
    ``nonnegative_reals``: exponential, half-normal, generalized Pareto) and on
    ``x > loc`` otherwise (gamma, Weibull, lognormal, ...).

    Where the location's MLE lies (:math:`m = \min_i x_i`):

    * **Base on x >= 0**: the base density is finite at 0 and, for these
      families, non-increasing on :math:`[0, \infty)`, so for every
      :math:`\theta` the log-likelihood
      :math:`\sum_i \log f_0(x_i - \mathrm{loc} \mid \theta)` is
      non-decreasing in ``loc`` up to :math:`m`. The profile likelihood is
      therefore maximal at :math:`\mathrm{loc} = m`, on the boundary of the
      data support, and :math:`\hat\theta` is the base MLE on
      :math:`x - m` (an exact zero included). Where the base family has a
      closed form this is ``closed_form`` (the shifted exponential's
      :math:`\mathrm{loc} = m`, :math:`\mathrm{rate} = 1/\overline{(x - m)}`);
      ``loc`` is a boundary parameter like pareto's scale: no standard error
      (NaN), the others' computed with ``loc`` held at :math:`m`. Iterative
      fits (a base without a closed form, ``fixed=``, ``method="newton"``)
      approach :math:`m` without reaching it; ``fit`` then warns and tells
      how to get the exact MLE (``fixed={"loc": min(x)}``).
    * **Base on x > 0**: near 0 the base density behaves as :math:`z^{a}`
      (:math:`a = k - 1` for a gamma or Weibull of shape :math:`k`). For
      :math:`a > 0` it vanishes at 0 and the MLE of ``loc`` is interior, found
      by Newton (``jm.Shifted(jm.Weibull())`` is scipy's
      ``weibull_min.fit(x)``); for :math:`a < 0` (shape < 1) the density is
      infinite at 0, so the likelihood grows without limit as
      :math:`\mathrm{loc} \to m` and no MLE exists: ``fit`` warns
      (``ModelWarning``) and reports where the fit stopped.

    Args:
        base: a family whose support is ``x > 0`` or ``x >= 0`` (gamma,
            Weibull, lognormal, exponential, ...).
    """

    # Per instance: a closed form where the base's support is closed and the
    # base has one (see __init__).
    has_closed_form = False

    def __init__(self, base: Family | str):
        base = resolve(base)
        if base.support not in (S.positive_reals, S.nonnegative_reals) or base.event_ndim:
            raise ValueError(
                f"Shifted needs a family on x > 0 or x >= 0, got {base.name} "
                f"with support {base.support.description}"
            )
        # The shift is called loc, or shift where the base family already has
        # a loc (the lognormal's loc is the mean of log x).
        self.loc_name = "shift" if "loc" in base.param_names else "loc"
        self.base = base
        self.costly_cdf = base.costly_cdf
        self.name = f"shifted_{base.name}"
        self.param_names = (*base.param_names, self.loc_name)
        self.constraints = {**base.constraints, self.loc_name: C.real}
        self.support = S.real_line
        # A closed base support makes loc = min(x) attainable: the MLE there.
        self.closed_support = base.support == S.nonnegative_reals
        self.boundary_params = (self.loc_name,) if self.closed_support else ()
        # loc bounds the data from below: {name: (lower, closed)}.
        self.support_bound_params = {self.loc_name: (True, self.closed_support)}
        self.has_closed_form = self.closed_support and base.has_closed_form
        edge = ">=" if self.closed_support else ">"
        self.density = f"{base.name} density of (x - {self.loc_name}), x {edge} {self.loc_name}"

    def _base_params(self, params: Params) -> Params:
        return {k: params[k] for k in self.base.param_names}

    def logpdf(self, params, x):
        z = x - params[self.loc_name]
        inside = z >= 0 if self.closed_support else z > 0
        safe = jnp.where(inside, z, 1.0)  # keep the other branch's gradient finite
        return jnp.where(inside, self.base.logpdf(self._base_params(params), safe), -jnp.inf)

    def init(self, x, w):
        # Start below the sample minimum by a fraction of the spread, then fit
        # the base family to the shifted data.
        m = weighted_mean(x, w)
        sd = jnp.sqrt(weighted_mean((x - m) ** 2, w))
        xmin = weighted_min(x, w)
        loc = xmin - 0.25 * jnp.where(sd > 0, sd, 1.0)
        return {**self.base.init(x - loc, w), self.loc_name: loc}

    def boundary_values(self, x, w):
        # Where the base allows x >= 0, loc's MLE is min(x) (class docstring).
        return {self.loc_name: weighted_min(x, w)} if self.closed_support else {}

    def closed_form(self, x, w):
        # The profile likelihood is maximal at loc = min(x) (class docstring):
        # the base MLE on x - min(x).
        if not self.has_closed_form:
            return None
        loc = weighted_min(x, w)
        return {**self.base.closed_form(x - loc, w), self.loc_name: loc}

    def cdf(self, params, x):
        z = jnp.maximum(x - params[self.loc_name], 0.0)
        return self.base.cdf(self._base_params(params), z)

    def log_cdf_sf(self, params, x):
        z = jnp.maximum(x - params[self.loc_name], 0.0)
        return self.base.log_cdf_sf(self._base_params(params), z)

    def logcdf(self, params, x):
        return self.log_cdf_sf(params, x)[0]

    def logsf(self, params, x):
        return self.log_cdf_sf(params, x)[1]

    def sample(self, params, key, shape=()):
        return params[self.loc_name] + self.base.sample(self._base_params(params), key, shape)

    def scipy(self, params):
        frozen = self.base.scipy(self._base_params(params))
        kwds = dict(frozen.kwds)
        kwds["loc"] = kwds.get("loc", 0.0) + float(params[self.loc_name])
        return frozen.dist(*frozen.args, **kwds)

    def _exponent_at_zero(self, params: Params, z: Any) -> float:
        r"""The exponent :math:`a` of :math:`f_0(z) \sim c\, z^{a}` as
        :math:`z \to 0^+` at the base parameters of ``params``: negative where
        the density is infinite at 0 (gamma or Weibull shape < 1), 0 where it
        is finite and positive, positive where it vanishes.

        Estimated on the host as :math:`(\log f_0(2\epsilon) -
        \log f_0(\epsilon)) / \log 2` with :math:`\epsilon` a ``1e-9``
        fraction of the median of ``z`` (the shifted data).
        """
        z = np.asarray(z, dtype=float)
        ref = float(np.median(z[z > 0])) if np.any(z > 0) else 1.0
        eps = 1e-9 * ref
        lp = np.asarray(self.base.logpdf(self._base_params(params), jnp.asarray([eps, 2 * eps])))
        return float((lp[1] - lp[0]) / np.log(2.0))

    def diagnose(self, params, x):
        x = np.asarray(x)
        loc = float(params[self.loc_name])
        gap = float(np.min(x)) - loc
        # A fit that ran into loc = min(x) (Newton stops a few ulps short of it).
        at_edge = 0.0 < gap <= _EDGE * (float(np.ptp(x)) or 1.0)
        base_params = self._base_params(params)
        reached = ", ".join(f"{k}={float(v):.6g}" for k, v in params.items())
        notes = []
        if self.closed_support:
            if at_edge:
                exact = "fit with method='auto' and no fixed= (the closed form), or "
                exact = exact if self.has_closed_form else ""
                notes.append(
                    f"the MLE of {self.loc_name} is min(x) (the {self.base.name} density is "
                    "finite and non-increasing at 0, so the likelihood increases with "
                    f"{self.loc_name} up to min(x)); this iterative fit stopped {gap:.3g} below "
                    "it, so the other parameters are not at their MLE either. For the exact "
                    f"MLE {exact}hold {self.loc_name} at min(x): "
                    f"fixed={{'{self.loc_name}': min(x)}}"
                )
        else:
            a = self._exponent_at_zero(params, x - loc)
            if a < -_EXPONENT_TOL:
                where = (
                    f"the fit ran into {self.loc_name} = min(x) - {gap:.3g}"
                    if at_edge
                    else "this interior estimate is at best a local maximum"
                )
                notes.append(
                    f"the likelihood is unbounded: the {self.base.name} density is infinite "
                    f"at 0 for these parameters (it grows as z^{a:.3g} near 0), so the "
                    f"likelihood tends to infinity as {self.loc_name} approaches min(x) and "
                    f"no MLE exists; {where} ({reached}). Fix {self.loc_name} (fixed=...) "
                    "or fit the two-parameter family"
                )
            elif at_edge:
                notes.append(
                    f"the fit ran into {self.loc_name} = min(x) - {gap:.3g} ({reached}): the "
                    f"{self.base.name} density is finite at 0 for these parameters, so the "
                    f"likelihood increases with {self.loc_name} up to min(x), a point the "
                    f"support of {self.base.name} (x > 0) excludes: the supremum is not "
                    "attained and the other parameters are not at their MLE. Use a base "
                    "family on x >= 0 (the exponential for a gamma or Weibull of shape 1)"
                )
        base_note = self.base.diagnose(base_params, x - loc)
        if base_note:
            notes.append(base_note)
        return "; ".join(notes) or None

    def __repr__(self) -> str:
        return f"Shifted({self.base!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Shifted and self.base == other.base

    def __hash__(self) -> int:
        return hash((Shifted, self.base))
