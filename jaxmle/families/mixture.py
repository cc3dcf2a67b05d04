r"""Finite mixtures of any families, fitted by the same engine as every family.

.. math:: f(x) = \sum_{k=1}^K w_k f_k(x \mid \theta_k), \qquad w \in \Delta^{K-1}

The log-density is a ``logsumexp`` over components; the weights live on the
simplex (additive log-ratio bijection), so Newton / L-BFGS work on the whole
parameter vector, not EM.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families import constraints as C
from jaxmle.families.base import Family, Params, weighted_quantile
from jaxmle.families.support import Support

__all__ = ["Mixture"]


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
        from jaxmle.families.registry import resolve

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
        self.support = Support(
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
