"""One process of the multi-process tests (tests/test_multihost.py).

Started by ``jm.multihost.launch`` (which sets the coordinator's address, the
process count and this process's id in the environment) as
``python tests/multihost_worker.py SCENARIO OUT_DIR [DATA_FILE]``; writes what
it found to ``OUT_DIR/<process>.json``. Every process generates the same
data from fixed seeds (:func:`weibull_sample`, :func:`gamma_datasets`) and
keeps only its own rows.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

N_ROWS = 40_001  # not a multiple of 2 or 4: the processes hold different counts
N_DATASETS, DATASET_ROWS = 8, 300
BAD_ROW = 7  # of the last process's rows
# Gamma (sufficient statistics), Weibull (Newton), Student t (Newton, 3 parameters).
FAMILIES = {"full": ("gamma", "weibull", "student_t"), "fits": ("gamma", "weibull"), "die": ()}


def weibull_sample() -> np.ndarray:
    return 2.0 * np.random.default_rng(11).weibull(1.7, N_ROWS)


def gamma_datasets() -> np.ndarray:
    return np.random.default_rng(12).gamma(2.5, 1.5, (N_DATASETS, DATASET_ROWS))


def _values(res) -> dict:
    return {
        "params": {k: np.asarray(v).tolist() for k, v in res.params.items()},
        "stderr": {k: np.asarray(v).tolist() for k, v in res.stderr.items()},
        "loglik": np.asarray(res.loglik).tolist(),
        "converged": np.asarray(res.converged).tolist(),
    }


def _error(fn) -> str:
    try:
        fn()
    except (ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def main(scenario: str, out_dir: str, data_file: str | None = None) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jaxmle as jm

    timeout = float(os.environ.get("JAXMLE_TEST_TIMEOUT", "60"))
    jm.multihost.initialize(timeout=timeout)
    me, count = jm.multihost.process_index(), jm.multihost.process_count()
    found: dict = {"process": me, "processes": count, "devices": jax.device_count()}
    if scenario == "die" and me == count - 1:
        os._exit(3)  # a process that dies after joining, before the fits

    x = weibull_sample()
    start, stop = jm.multihost.row_range(N_ROWS)
    local = x[start:stop]
    xs, ws = jm.multihost.global_rows(local)
    found["global_rows"] = int(xs.shape[0])
    for name in FAMILIES[scenario]:
        found[name] = _values(jm.fit(name, xs, weights=ws, progress=False))
    if FAMILIES[scenario]:  # a second fit of the same shapes compiles nothing
        compiles = []
        jax.monitoring.register_event_duration_secs_listener(
            lambda event, *_, **__: (
                compiles.append(event)
                if event == "/jax/core/compile/backend_compile_duration"
                else None
            )
        )
        jm.fit(FAMILIES[scenario][-1], xs, weights=ws, progress=False)
        found["compiles_of_a_second_fit"] = len(compiles)

    # Datasets split over the processes: a global (B, N) array.
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

    mesh = Mesh(np.array(jax.devices()), ("data",))
    first, last = jm.multihost.row_range(N_DATASETS)
    X = jax.make_array_from_process_local_data(
        NamedSharding(mesh, P("data")), gamma_datasets()[first:last]
    )
    if scenario != "die":
        found["fit_many"] = _values(jm.fit_many("gamma", X, progress=False))

    if data_file is not None:  # each process streams its own row range of a file
        on_disk = np.memmap(data_file, dtype=np.float64, mode="r")[start:stop]
        rows = jm.multihost.local_rows(on_disk)
        found["stream_weibull"] = _values(jm.fit("weibull", rows, chunk_size=8192))
        found["stream_gamma"] = _values(jm.fit("gamma", rows, chunk_size=8192))

    if scenario == "full":  # bad values on the last process only
        bad = local.copy()
        if me == count - 1:
            bad[BAD_ROW] = -1.0
        xb, wb = jm.multihost.global_rows(bad)
        found["bad_global"] = _error(lambda: jm.fit("weibull", xb, weights=wb))
        # A fixed bound of the support above the smallest value (on one process).
        low = {"low": float(x.min()) + 1e-6}
        found["bad_fixed"] = _error(lambda: jm.fit("uniform", xs, weights=ws, fixed=low))
        found["bad_stream"] = _error(
            lambda: jm.fit("weibull", jm.multihost.local_rows(bad), chunk_size=8192)
        )
        Xb = gamma_datasets()[first:last].copy()
        if me == count - 1:
            Xb[0, 3] = np.nan
        Xbs = jax.make_array_from_process_local_data(NamedSharding(mesh, P("data")), Xb)
        found["bad_many"] = _error(lambda: jm.fit_many("gamma", Xbs, progress=False))
        flagged = jm.fit_many("gamma", Xbs, on_invalid="flag", progress=False)
        found["flagged_converged"] = np.asarray(flagged.converged).tolist()

    with open(os.path.join(out_dir, f"{me}.json"), "w") as f:
        json.dump(found, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
