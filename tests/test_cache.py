"""The persistent compilation cache: on by default in jaxmle's own directory,
off with JAXMLE_CACHE=0, the user's own cache respected; a second process
compiles nothing that the first one stored (JAX's monitoring events)."""

import json
import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    if os.environ.get("USER_CACHE"):
        jax.config.update("jax_compilation_cache_dir", os.environ["USER_CACHE"])
    events = {"hits": 0, "compiles": 0}
    jax.monitoring.register_event_listener(
        lambda e, **kw: events.__setitem__("hits", events["hits"] + 1)
        if e == "/jax/compilation_cache/cache_hits" else None
    )
    jax.monitoring.register_event_duration_secs_listener(
        lambda e, d, **kw: events.__setitem__("compiles", events["compiles"] + 1)
        if e == "/jax/core/compile/backend_compile_duration" else None
    )
    import numpy as np
    import jaxmle as jm
    res = jm.fit("weibull", np.random.default_rng(0).weibull(1.5, 3000))
    print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "ok": bool(res.converged),
                      **events}))
    """
)


def _run(tmp_path, **env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAXMLE_", "JAX_COMP"))}
    env.update(JAX_PLATFORMS="cpu", **env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_cache_is_on_in_jaxmles_directory_and_serves_a_second_process(tmp_path):
    cache = tmp_path / "cache"
    first = _run(tmp_path, JAXMLE_CACHE_DIR=str(cache))
    assert first["ok"] and first["dir"] == str(cache)
    stored = sorted(p.name for p in cache.iterdir())
    # The fit program was stored (programs that compile in under
    # MIN_COMPILE_SECONDS, such as the small finish program on a fast run, may not be).
    assert any("fit_body" in s for s in stored), stored
    assert first["hits"] == 0
    second = _run(tmp_path, JAXMLE_CACHE_DIR=str(cache))
    assert second["ok"] and second["hits"] >= len(stored) >= 1  # all served from the disk


def test_cache_off_and_users_own_cache(tmp_path):
    ours = tmp_path / "ours"
    off = _run(tmp_path, JAXMLE_CACHE="0", JAXMLE_CACHE_DIR=str(ours))
    assert off["ok"] and off["dir"] is None and not ours.exists()
    user = tmp_path / "user"
    mine = _run(tmp_path, JAXMLE_CACHE_DIR=str(ours), USER_CACHE=str(user))
    assert mine["ok"] and mine["dir"] == str(user) and not ours.exists()


def test_an_unwritable_cache_folder_turns_the_cache_off(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    res = _run(tmp_path, JAXMLE_CACHE_DIR=str(blocked / "jax"))
    assert res["ok"] and res["dir"] is None
