"""The fitted distribution on the host (pdf/pmf, cdf, quantiles) and the
data a plot reads of a result (:class:`FitLike`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from jaxmle.families.base import Family
from jaxmle.families.censored import Censored, CensoredFamily
from jaxmle.families.composite import Mixture

if TYPE_CHECKING:  # matplotlib is optional: only for the annotations
    pass

__all__ = [
    "FitLike",
    "Model",
    "base_family",
    "check_univariate",
    "data_arrays",
    "describe",
    "model",
]


class FitLike(Protocol):
    """What the plots read from a :class:`~jaxmle.FitResult` (or a
    :class:`~jaxmle.ManyFitResult`, every array with a dataset axis)."""

    family: Family
    params: Mapping[str, Any]
    free_names: tuple[str, ...]
    stderr: Mapping[str, Any]
    loglik: Any
    n: Any
    status: Any
    refit: Any


# ---- the fitted distribution on the host ------------------------------------------------


class Model(NamedTuple):
    """A fitted univariate distribution on the host, as the plots draw it.

    Attributes:
        pdf: the density (the pmf of a discrete family) at host points.
        cdf: ``P(X <= x)``.
        ppf: the quantile function (the smallest ``x`` with ``cdf(x) >= p``).
        discrete: a count family.
        label: the family and its parameters, for titles and legends.
    """

    pdf: Callable[[np.ndarray], np.ndarray]
    cdf: Callable[[np.ndarray], np.ndarray]
    ppf: Callable[[np.ndarray], np.ndarray]
    discrete: bool
    label: str


def base_family(family: Family) -> Family:
    """The family the data follow (a censored family's base)."""
    return family.base if isinstance(family, CensoredFamily) else family


def check_univariate(family: Family) -> None:
    base = base_family(family)
    if base.event_ndim != 0:
        raise ValueError(
            f"plots are for univariate families; {base.name} is multivariate (its "
            "observations are vectors): plot each margin's fit instead"
        )


def describe(family: Family, params: Mapping[str, Any]) -> str:
    """``"gamma: shape = 2.01, rate = 0.987"``: the family and its parameter values."""
    return f"{base_family(family).name}: {_param_text(params)}"


def _param_text(params: Mapping[str, Any]) -> str:
    parts = []
    for k, v in params.items():
        a = np.asarray(v, float)
        text = f"{float(a):.4g}" if a.ndim == 0 else np.array2string(a, precision=3)
        parts.append(f"{k} = {text}")
    return ", ".join(parts)


def model(family: Family, params: Mapping[str, Any]) -> Model:
    """The fitted distribution on the host: scipy's frozen distribution where
    the family declares one (``family.scipy``), else the family's own
    log-density and cdf (a mixture, a truncated or a custom family) with the
    quantile function by bisection on the cdf."""
    check_univariate(family)
    base = base_family(family)
    host = {k: np.asarray(v) for k, v in params.items()}
    discrete = bool(base.support.discrete)
    label = describe(base, host)
    try:
        frozen = base.scipy(host)
    except NotImplementedError:
        frozen = None
    if frozen is not None:
        pdf = frozen.pmf if discrete else frozen.pdf
        return Model(pdf, frozen.cdf, frozen.ppf, discrete, label)
    if isinstance(base, Mixture):
        return _mixture_model(base, host, discrete, label)
    return _own_model(base, host, discrete, label)


def _mixture_model(family: Mixture, host: Mapping[str, Any], discrete: bool, label: str) -> Model:
    r"""A finite mixture from its components' models: :math:`f = \sum_k w_k f_k`,
    :math:`F = \sum_k w_k F_k`, quantiles by bisection on :math:`F`."""
    weights = np.asarray(host["weights"], float)
    parts = [model(c, family.component_params(host, k)) for k, c in enumerate(family.components)]

    def pdf(x: np.ndarray) -> np.ndarray:
        return sum(w * m.pdf(x) for w, m in zip(weights, parts, strict=True))

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.clip(sum(w * m.cdf(x) for w, m in zip(weights, parts, strict=True)), 0.0, 1.0)

    def ppf(p: np.ndarray) -> np.ndarray:
        return _bisect_ppf(cdf, np.asarray(p, float), discrete)

    return Model(pdf, cdf, ppf, discrete, label)


@partial(jax.jit, static_argnums=(0, 1))
def _family_call(family: Family, name: str, params: Mapping[str, Any], x: jax.Array) -> jax.Array:
    """``family.<name>(params, x)``, compiled once per family and length."""
    return getattr(family, name)(params, x)


def _padded_call(family: Family, name: str, params: Mapping[str, Any], x: np.ndarray) -> np.ndarray:
    """:func:`_family_call` on ``x`` padded (with its first value) to a power
    of two, at least 512, so that a few programs serve every plot."""
    size = max(512, 1 << max(0, int(x.size - 1).bit_length()))
    padded = np.concatenate([x, np.full(size - x.size, x[0] if x.size else 0.0)])
    return np.asarray(_family_call(family, name, params, jnp.asarray(padded)))[: x.size]


def _own_model(family: Family, host: Mapping[str, Any], discrete: bool, label: str) -> Model:
    """The family's own log-density and cdf, compiled (the quantile bisection
    calls the cdf dozens of times)."""
    params = {k: jnp.asarray(v) for k, v in host.items()}

    def pdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float).ravel()
        inside = np.asarray(family.support.contains(x), bool)
        safe = np.where(inside, x, x[inside][0] if inside.any() else 0.0)
        return np.where(inside, np.exp(_padded_call(family, "logpdf", params, safe)), 0.0)

    def cdf(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        try:
            out = _padded_call(family, "cdf", params, x.ravel()).reshape(x.shape)
        except NotImplementedError:
            raise ValueError(
                f"{family.name} has no cdf: only kind='density' (and 'profile') can be drawn"
            ) from None
        return np.clip(out, 0.0, 1.0)

    def ppf(p: np.ndarray) -> np.ndarray:
        return _bisect_ppf(cdf, np.asarray(p, float), discrete)

    return Model(pdf, cdf, ppf, discrete, label)


def _bisect_ppf(
    cdf: Callable[[np.ndarray], np.ndarray], p: np.ndarray, discrete: bool
) -> np.ndarray:
    """The smallest ``x`` with ``cdf(x) >= p`` by bisection (integers where
    ``discrete``), from a bracket that doubles outwards from ``[-1, 1]``."""
    lo, hi = np.full(p.shape, -1.0), np.full(p.shape, 1.0)
    for _ in range(1100):  # up to about 2**1024: past float64's range
        low, high = cdf(lo) >= p, cdf(hi) < p
        if not (low.any() or high.any()):
            break
        lo = np.where(low, 2.0 * lo - 1.0, lo)
        hi = np.where(high, 2.0 * hi + 1.0, hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if discrete:
            mid = np.floor(mid)
        up = cdf(mid) >= p
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
        width = hi - lo
        if np.all(width <= (1.0 if discrete else 1e-12 * np.maximum(1.0, np.abs(hi)))):
            break
    return hi


def data_arrays(res: FitLike, data: Any) -> tuple[Any, Any]:
    """``(x, w)``: ``data`` if given (a 1-D array or :class:`~jaxmle.Censored`),
    else the data the fit holds; a ValueError for a fit that holds none."""
    if data is not None:
        if isinstance(data, Censored):
            return data, None
        arr = np.asarray(data, float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"data= must be a non-empty 1-D array, got shape {arr.shape}")
        # A finite sum is a cheap proof that every value is finite (one read, no mask).
        bad = 0 if np.isfinite(np.sum(arr)) else int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise ValueError(f"data= has {bad} non-finite value(s) (NaN or inf); drop them")
        return arr, None
    refit = res.refit
    if refit is None or refit.x is None:
        raise ValueError(
            "this result does not hold its data (a streamed fit): pass them as data= "
            "(an array, or jm.Censored) to plot it"
        )
    if refit.batched:
        raise ValueError("a batch of fits: plot one dataset's fit, res[i].plot()")
    return refit.x, refit.w
