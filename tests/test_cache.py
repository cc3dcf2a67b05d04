"""jaxmle's program store: on by default in its own folder, off with
JAXMLE_CACHE=0 or an unwritable folder, JAX's global settings untouched; a
second process loads every stored program and traces, lowers and compiles
nothing (JAX's monitoring events); a damaged file is compiled anew; programs
of a user's own family are not stored."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

import jaxmle as jm

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    events = {"traces": 0, "lowerings": 0, "compiles": 0}
    names = {"/jax/core/compile/jaxpr_trace_duration": "traces",
             "/jax/core/compile/jaxpr_to_mlir_module_duration": "lowerings",
             "/jax/core/compile/backend_compile_duration": "compiles"}
    jax.monitoring.register_event_duration_secs_listener(
        lambda e, d, **kw: events.__setitem__(names[e], events[names[e]] + 1)
        if e in names else None
    )
    import numpy as np
    import jaxmle as jm
    import jaxmle._engine.cache as store
    from jaxmle._engine.cache import cache_state
    if os.environ.get("NO_EXECUTABLES"):  # as on a backend other than the CPU
        store.stores_executables = lambda: False
    x = np.random.default_rng(0).weibull(1.5, 3000)
    if os.environ.get("CUSTOM"):
        import jax.numpy as jnp
        fam = jm.Custom(
            lambda p, x: -jnp.log(p["scale"]) - 0.5 * ((x - p["loc"]) / p["scale"]) ** 2,
            {"loc": "real", "scale": "positive"},
        )
        res = jm.fit(fam, x)
    else:
        res = jm.fit("weibull", x)
        res.summary()
        res.conf_int(method="profile")
    print(json.dumps({"store": cache_state(), "jax_dir": jax.config.jax_compilation_cache_dir,
                      "ok": bool(res.converged),
                      "params": [float(v) for v in res.params.values()], **events}))
    """
)


def _run(**env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXMLE_", "JAX_COMP"))}
    env.update(JAX_PLATFORMS="cpu", **env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_every_program_and_compiles_nothing(tmp_path):
    cache = tmp_path / "cache"
    first = _run(JAXMLE_CACHE_DIR=str(cache))
    assert first["ok"] and first["store"] == str(cache / "programs")
    assert first["jax_dir"] is None  # JAX's own (global) cache is left alone
    assert first["compiles"] >= 2
    stored = list((cache / "programs").glob("*.bin"))
    assert len(stored) >= 2  # the fit (finish included) and the profile interval
    second = _run(JAXMLE_CACHE_DIR=str(cache))
    assert second["ok"] and second["params"] == first["params"]
    assert second["traces"] == second["lowerings"] == second["compiles"] == 0, second
    assert len(list((cache / "programs").glob("*.bin"))) == len(stored)


def test_a_damaged_program_file_is_compiled_anew(tmp_path):
    cache = tmp_path / "cache"
    first = _run(JAXMLE_CACHE_DIR=str(cache))
    for path in (cache / "programs").glob("*.bin"):
        path.write_bytes(path.read_bytes()[:100])  # cut short
    again = _run(JAXMLE_CACHE_DIR=str(cache))
    assert again["ok"] and again["compiles"] == first["compiles"]
    np.testing.assert_allclose(again["params"], first["params"], rtol=0, atol=0)
    third = _run(JAXMLE_CACHE_DIR=str(cache))  # the rewritten files are served
    assert third["compiles"] == 0 and third["params"] == first["params"]


def test_store_off_and_unwritable_folder(tmp_path):
    ours = tmp_path / "ours"
    off = _run(JAXMLE_CACHE="0", JAXMLE_CACHE_DIR=str(ours))
    assert off["ok"] and off["store"].startswith("off (JAXMLE_CACHE=0") and not ours.exists()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    res = _run(JAXMLE_CACHE_DIR=str(blocked / "cache"))
    assert res["ok"] and res["store"].startswith("off (") and "cannot be created" in res["store"]


def test_a_users_own_family_is_not_stored(tmp_path):
    cache = tmp_path / "cache"
    first = _run(JAXMLE_CACHE_DIR=str(cache), CUSTOM="1")
    assert first["ok"]
    # Only the programs whose static arguments have a stable identity (none
    # here: the family holds the user's functions) would be on disk.
    assert list((cache / "programs").glob("*.bin")) == []
    second = _run(JAXMLE_CACHE_DIR=str(cache), CUSTOM="1")
    assert second["compiles"] == first["compiles"] and second["params"] == first["params"]


def test_a_process_with_several_devices_loads_programs_for_one(tmp_path):
    """Loaded programs run on the one device they were compiled for (the
    loader would otherwise spread them over every device)."""
    cache = tmp_path / "cache"
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env = {"JAXMLE_CACHE_DIR": str(cache), "XLA_FLAGS": flags}
    first = _run(**env)
    second = _run(**env)
    assert second["ok"] and second["compiles"] == 0 and second["params"] == first["params"]


def test_other_backends_get_jaxs_own_cache(tmp_path):
    """Where executables are not stored (backends other than the CPU), JAX's
    persistent cache is turned on in the folder's ``xla/`` instead."""
    cache = tmp_path / "cache"
    res = _run(JAXMLE_CACHE_DIR=str(cache), NO_EXECUTABLES="1")
    assert res["ok"] and res["jax_dir"] == str(cache / "xla") == res["store"]
    assert not (cache / "programs").exists() and any((cache / "xla").iterdir())


def test_threads_compiling_at_once_get_their_own_outputs():
    """Programs with packed outputs compiled by several threads at once each
    unpack their own layout (it once came from a shared list)."""
    from concurrent.futures import ThreadPoolExecutor

    from jaxmle._engine.compile import jit_fit

    def body(x):
        return {"total": x.sum(), "doubled": 2.0 * x, "count": x.shape[0] + 0 * x[0]}

    prog = jit_fit(body, to_host=True, name="tests.test_cache.threads")
    sizes = [37, 41, 43, 47, 53, 59, 61, 67]
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda n: prog(np.arange(n, dtype=np.float64)), sizes))
    for n, out in zip(sizes, outs, strict=True):
        assert out["doubled"].shape == (n,) and float(out["total"]) == n * (n - 1) / 2
        assert float(out["count"]) == n


_FLAG_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_threefry_partitionable", sys.argv[1] == "1")
    import numpy as np, jaxmle as jm
    r = jm.fit("normal", np.random.default_rng(0).normal(size=200))
    print(json.dumps(np.asarray(r.bootstrap(n=5, key=1).replicates["loc"]).tolist()))
    """
)


def test_a_jax_setting_that_changes_programs_is_in_the_key(tmp_path):
    """A store filled under one ``jax_threefry_partitionable`` value never
    serves a process with the other (its draws differ)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXMLE_", "JAX_COMP"))}
    env["JAX_PLATFORMS"] = "cpu"

    def run(flag, **extra):
        proc = subprocess.run(
            [sys.executable, "-c", _FLAG_SCRIPT, flag], env={**env, **extra},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    shared = str(tmp_path / "cache")
    run("1", JAXMLE_CACHE_DIR=shared)
    assert run("0", JAXMLE_CACHE_DIR=shared) == run("0", JAXMLE_CACHE="0")


def test_the_store_keeps_to_its_size_by_evicting_the_least_recently_used(tmp_path, monkeypatch):
    from jaxmle._engine import cache as store

    monkeypatch.setenv("JAXMLE_CACHE_MAX_MB", "0.25")  # 256 KiB
    files = []
    for i in range(5):  # 100 KiB each, used at times 1000, 2000, ...
        f = tmp_path / f"p{i}.bin"
        f.write_bytes(b"x" * 100 * 1024)
        os.utime(f, (1000.0 * (i + 1), 1000.0 * (i + 1)))
        files.append(f)
    os.utime(files[0], (9000.0, 9000.0))  # the oldest, loaded again lately
    store._evict(tmp_path, keep=files[4])
    assert sorted(f.name for f in tmp_path.glob("*.bin")) == ["p0.bin", "p4.bin"]
    # The one just stored stays even when it alone is over the limit.
    monkeypatch.setenv("JAXMLE_CACHE_MAX_MB", "0.01")
    store._evict(tmp_path, keep=files[4])
    assert [f.name for f in tmp_path.glob("*.bin")] == ["p4.bin"]
    monkeypatch.setenv("JAXMLE_CACHE_MAX_MB", "lots")  # unreadable: the default
    assert store.max_bytes() == 2048 * 2**20


def test_executables_in_memory_are_bounded_and_reloaded_from_the_store(
    monkeypatch, compile_counter
):
    """Past MAX_RESIDENT executables the least recently used one is let go
    (XLA:CPU maps ~20 regions per executable; a process may map 65,530); a
    later call loads it from the store: the same numbers, nothing compiled."""
    from jaxmle._engine import compile as programs

    rng = np.random.default_rng(8)
    data = [rng.gamma(2.0, 1.0, n) for n in (300, 5000, 20000)]
    first = [jm.fit("weibull", x) for x in data]
    assert programs.resident_count() >= 3
    programs.release_executables()
    monkeypatch.setattr(programs, "MAX_RESIDENT", 2)
    compile_counter.reset()
    again = [jm.fit("weibull", x) for x in data]  # loaded, evicted down to 2
    assert programs.resident_count() == 2
    third = [jm.fit("weibull", x) for x in data]  # loaded again
    assert programs.resident_count() == 2
    assert compile_counter.compiles == 0, compile_counter.names
    for a, b, c in zip(first, again, third, strict=True):
        assert float(a.params["shape"]) == float(b.params["shape"]) == float(c.params["shape"])
    programs.release_executables()
    assert programs.resident_count() == 0
