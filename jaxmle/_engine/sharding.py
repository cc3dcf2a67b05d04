"""Fits over data sharded across several devices.

Each device runs the fit's passes over its own shard and the partial sums
(value, gradient, Hessian, sufficient statistics, counts) are added across
devices with ``psum`` inside ``shard_map``; the small solver state is then
identical everywhere, so every device takes the same steps. Only the
O(p^2) partial sums cross devices, once per pass.

Give the data as a ``jax.Array`` sharded along its first axis (for example
``jax.device_put(x, NamedSharding(mesh, P("data")))``), or pass
``devices=jax.devices()`` to ``jm.fit``, which shards it evenly (padding with
zero-weight copies of the first observation). On several hosts (every
process joined by :func:`jaxmle.multihost.initialize`), the global array of
:func:`jaxmle.multihost.global_rows` spans every host's devices; the fit is
the same program, compiled once per (family, plan, mesh) and input shapes.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxmle._engine.compile import on_release
from jaxmle._engine.output import FitOutput
from jaxmle._engine.plan import FitPlan, newton_plan
from jaxmle._engine.program import fit_body
from jaxmle._engine.standardize import Standardization, standardization
from jaxmle._engine.validation import free_names
from jaxmle.families.base import Family

__all__ = ["fit_sharded", "is_sharded", "shard_data"]

_AXIS = "data"


def _shard_map(fn, mesh, in_specs, out_specs):
    if hasattr(jax, "shard_map"):  # jax >= 0.6
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_vma=False)
    from jax.experimental.shard_map import shard_map

    return shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=False)


def is_sharded(x: Any) -> bool:
    """Whether ``x`` is a JAX array spread over more than one device."""
    return isinstance(x, jax.Array) and len(x.sharding.device_set) > 1


def shard_data(x: jax.Array, w: jax.Array | None, devices: Any):
    """``(x, w)`` split evenly along the first axis over ``devices``.

    Where ``N`` is not a multiple of the device count, ``x`` is padded with
    copies of its first observation that get weight 0.
    """
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError("devices must be a non-empty sequence of jax devices (jax.devices())")
    if len(devices) == 1:
        return jax.device_put(x, devices[0]), w
    mesh = Mesh(np.array(devices), (_AXIS,))
    n, k = x.shape[0], len(devices)
    if n % k or w is not None:
        w = jnp.ones(n, x.dtype) if w is None else w
    if n % k:
        pad = k - n % k
        x = jnp.concatenate([x, jnp.broadcast_to(x[:1], (pad, *x.shape[1:]))])
        w = jnp.concatenate([w, jnp.zeros(pad, w.dtype)])
    sharding = NamedSharding(mesh, P(_AXIS))
    return jax.device_put(x, sharding), (None if w is None else jax.device_put(w, sharding))


def _mesh_of(x: jax.Array) -> tuple[Mesh, str]:
    sh = x.sharding
    if isinstance(sh, NamedSharding) and len(sh.spec) > 0 and sh.spec[0] is not None:
        axis = sh.spec[0]
        if isinstance(axis, tuple):
            raise ValueError("data sharded over several mesh axes: shard its first axis over one")
        return sh.mesh, axis
    devices = sorted(sh.device_set, key=lambda d: d.id)
    return Mesh(np.array(devices), (_AXIS,)), _AXIS


def _in_data_units(family: Family, method: str, x, w, std: Standardization | None):
    """``family.closed_form`` or ``family.init`` computed in the fit's units
    and returned in the data's (no sum over raw data of extreme magnitude)."""
    fn = getattr(family, method)
    if std is None:
        return fn(x, w)
    return std.params_out(family, fn(std.apply(x), w))


def fit_sharded(
    family: Family, plan: FitPlan, x: jax.Array, w, init, fixed, key
) -> tuple[FitOutput, jax.Array]:
    """Run the fit program with each device reducing its shard:
    ``(FitOutput, n_invalid)``.

    The starting point (the family's ``init``, or the closed form) is
    computed on the global array first, so every device starts, and stays,
    at the same point.
    """
    if plan.path in ("optax", "minibatch"):
        raise ValueError(
            "sharded data are fitted with method='newton', 'closed_form' or 'auto'; "
            f"method={plan.method!r} runs on one device"
        )
    mesh, axis = _mesh_of(x)
    n_dev = mesh.devices.size
    if x.shape[0] % n_dev:
        raise ValueError(f"x has {x.shape[0]} rows, not a multiple of its {n_dev} shards")
    sharding = NamedSharding(mesh, P(axis))
    if w is None:
        w = jnp.ones(x.shape[0], x.dtype)
    w = jax.device_put(w, sharding)

    free = free_names(family, fixed)
    # The fit's units, from the global array (every device uses the same).
    std = _standardization(family, x)
    if plan.path == "closed_form":  # Newton from the closed form on the global array
        estimate = _in_data_units_program(family, "closed_form", x, w, std)
        init = {k: estimate[k] for k in free}
        plan = newton_plan(plan, family, x.dtype)
        if plan.path == "statistics":  # the start is the estimate: Newton on the data
            plan = replace(plan, path="newton")
    elif plan.path == "newton":
        start = _in_data_units_program(family, "init", x, w, std)
        init = {**{k: start[k] for k in free}, **init}
    init = {k: jnp.asarray(v, x.dtype) for k, v in init.items()}
    return _sharded_program(family, plan, mesh, axis)(x, w, (init, fixed, key, std))


_standardization = jax.jit(standardization, static_argnums=0)
_in_data_units_program = jax.jit(_in_data_units, static_argnums=(0, 1))


@functools.lru_cache(maxsize=64)
def _sharded_program(family: Family, plan: FitPlan, mesh: Mesh, axis: str):
    """The fit program over ``mesh``, each device reducing its shard of the
    data: one jitted function per (family, plan, mesh), so a second fit of the
    same shapes runs the executable compiled by the first. The starting
    values, fixed values, key and units are arguments (the same on every
    device), not constants of the program."""

    def psum(tree):
        return jax.tree.map(lambda t: jax.lax.psum(t, axis), tree)

    def local(xs, ws, given):
        init, fixed, key, std = given
        return fit_body(family, plan, xs, ws, init, fixed, key, reduce=psum, standard=std)

    return jax.jit(_shard_map(local, mesh, in_specs=(P(axis), P(axis), P()), out_specs=P()))


on_release(_sharded_program.cache_clear)  # (bounded with jaxmle's other executables)
