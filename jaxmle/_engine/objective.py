"""The log-likelihood as a function of the parameters.

* :func:`total_loglik` and friends: at constrained parameters, weighted, with
  accurate sums (float32 is the GPU default, and a naive running sum of 10^6
  float32 terms can lose four digits: every sum here is
  :func:`jaxmle.reduction.accurate_sum`);
* :class:`Objective`: the negative mean log-likelihood ``f(u)`` in the
  solver's flat unconstrained coordinates ``u``, with its value, gradient and
  Hessian in one chunked pass over the data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from jaxmle._engine.standardize import Standardization
from jaxmle._engine.validation import free_names, invalid_mask
from jaxmle.families.base import Family, flatten_params
from jaxmle.reduction import (
    accurate_sum,
    derivative_pass,
    explicit_derivative_pass,
    reduce_terms,
)

__all__ = [
    "Objective",
    "count_invalid",
    "loglik_terms",
    "observed_information_matrix",
    "total_loglik",
    "total_weight",
]


def loglik_terms(
    family: Family, params: Mapping[str, jax.Array], x: jax.Array, w: jax.Array | None
) -> jax.Array:
    """Per-observation weighted log-likelihood ``w_i * log f(x_i)``.

    Observations with weight 0 contribute exactly 0 (also where the density
    is not finite there), which is how masks and padding are expressed.
    """
    lp = family.logpdf(dict(params), x)
    if w is None:
        return lp
    return jnp.where(w > 0, w * lp, 0.0)


def total_loglik(
    family: Family, params: Mapping[str, jax.Array], x: jax.Array, w: jax.Array | None
) -> jax.Array:
    r""":math:`\ell(\theta) = \sum_i w_i \log f(x_i \mid \theta)`."""
    return accurate_sum(loglik_terms(family, params, x, w))


def total_weight(x: jax.Array, w: jax.Array | None) -> jax.Array:
    """The number of observations: ``len(x)``, or ``sum(w)`` with weights."""
    if w is None:
        return jnp.asarray(x.shape[0], dtype=x.dtype)
    return accurate_sum(w)


def observed_information_matrix(
    family: Family, params: Mapping[str, jax.Array], x, w, names: Sequence[str]
) -> jax.Array:
    r"""Traceable :math:`-\nabla^2 \ell` over the parameters ``names`` (others
    held at their values), flattened in that order."""
    free = {k: params[k] for k in names}
    flat, unravel = flatten_params(free, names)

    def ll(v):
        return total_loglik(family, {**params, **unravel(v)}, x, w)

    return -jax.hessian(ll)(flat)


def count_invalid(family: Family, x, chunk: int, reduce: Callable | None) -> jax.Array:
    """How many observations are non-finite or outside the support (one pass;
    none for rows checked on the host: ``Family.rows_checked``)."""
    if family.rows_checked:
        return jnp.zeros((), jnp.int32)
    count = reduce_terms(lambda d: invalid_mask(family, d).astype(jnp.int32), x, None, chunk=chunk)
    return count if reduce is None else reduce(count)


@dataclass(frozen=True)
class Objective:
    """The negative mean log-likelihood ``f(u)`` of a fit in flat unconstrained
    coordinates, with its one-pass derivatives.

    ``data`` is what the passes read: ``x``, or ``family.features(x)`` when
    precomputed. ``reduce`` combines per-device partial sums (identity on one
    device; ``psum`` inside ``shard_map``). ``standard``: the change of units
    applied to each chunk of ``x`` as it is read (the parameters are in those
    units; see :mod:`jaxmle._engine.standardize`).
    """

    family: Family
    fixed: Mapping[str, jax.Array]
    unflatten: Any
    data: Any
    w: jax.Array | None
    n: jax.Array
    chunk: int
    features_done: bool
    reduce: Any = None
    n_local: Any = None  # this device's summed weight (sharded fits), else n
    standard: Standardization | None = None

    @property
    def free(self) -> tuple[str, ...]:
        return free_names(self.family, self.fixed)

    def params(self, u):
        """All parameters (constrained) at ``u``."""
        return {**self.family.to_constrained(self.unflatten(u)), **self.fixed}

    def terms(self, u, d):
        """Per-sample log-densities at ``u`` of the data (or features) ``d``."""
        return self.family.logpdf_features(self.params(u), self._features(d))

    def _features(self, d):
        """The features of the chunk ``d`` (standardized first), or ``d`` itself
        when the features were made already."""
        if self.features_done:
            return d
        return self.family.features(d if self.standard is None else self.standard.apply(d))

    def derivatives(self, u, order=2):
        """``(f, grad f, hess f)`` (up to ``order``) in one pass: from the
        family's derivative terms where it has them, else autodiff."""
        if order and self.family.has_derivatives:
            sums = explicit_derivative_pass(
                self._derivative_terms, self._combine_terms, self._theta, u, self.data, self.w,
                n=self.n if self.n_local is None else self.n_local, order=order, chunk=self.chunk,
            )  # fmt: skip
        else:
            sums = derivative_pass(self.terms, u, self.data, self.w, order=order, chunk=self.chunk)
        if self.reduce is not None:
            sums = self.reduce(sums)
        return tuple(-s / self.n for s in sums)

    def value(self, u):
        return self.derivatives(u, order=0)[0]

    def _theta(self, u):
        """The free constrained parameters as a flat vector."""
        return flatten_params(self.family.to_constrained(self.unflatten(u)), self.free)[0]

    def _named(self, theta):
        return {**dict(zip(self.free, theta, strict=True)), **self.fixed}

    def _derivative_terms(self, theta, d):
        return self.family.derivative_terms(self._named(theta), self._features(d))

    def _combine_terms(self, theta, sums, n):
        """``(value, grad, hess)`` in the free parameters ``theta``."""
        free = self.free
        value, grad, hess = self.family.derivatives_from_terms(self._named(theta), sums, n)
        g = jnp.stack([grad[k] for k in free])
        h = jnp.stack(
            [jnp.stack([hess[(a, b) if i <= j else (b, a)] for j, b in enumerate(free)])
             for i, a in enumerate(free)]
        )  # fmt: skip
        return value, g, h
