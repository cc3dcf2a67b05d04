"""An everyday session, timed as a user lives it: compile time counted.

Each scenario runs in a fresh Python process (import excluded from the times),
three ways:

* **cold**: an empty jaxmle program store (``JAXMLE_CACHE_DIR`` in a new
  temporary folder): every program is traced and compiled;
* **warm cache**: a second process on the cache the cold one filled;
* **again**: the same work a second time in the warm-cache process (the
  programs in memory).

beside scipy.stats doing the same fits in the same process. Scenarios:

* ``loop50``: ``jm.fit("weibull", x)`` on 50 datasets of lengths 200-5,000,
  one after another (scipy: ``weibull_min.fit(x, floc=0)``);
* ``select12``: 12 candidate families for positive data on one 10,000-sample
  dataset, then the lowest AIC (scipy: the same 12 ``fit(x, floc=0)``);
* ``first_fit``: the first Weibull fit of 1,000 samples in the process;
* ``next_length``: then the same fit at n = 1,001;
* ``summary``: ``summary()``, ``pvalues`` and Wald ``conf_int()`` of a fresh result;
* ``profile``: the first profile interval of the Weibull fit, then that of
  another dataset in the same bucket;
* ``normal_pass``: the normal's closed form at 1e6 and 1e7 from a JAX array,
  against one jitted log-likelihood pass over the same array; and the fixed
  per-call overhead (a normal fit of 100 values, median of 300 calls);
* ``compile_report``: trace, lowering and compile time of each of the 12
  families' first fit (JAX's monitoring events).

Writes ``bench_session.json`` and ``bench_session.md`` (with the issue's
targets, PASS/FAIL) into ``benchmarks/results/<date>-<machine>/``.

Run: ``python benchmarks/bench_session.py`` (float64, about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import machine as _machine, results_dir

POSITIVE_12 = {
    "exponential": "expon",
    "gamma": "gamma",
    "weibull": "weibull_min",
    "lognormal": "lognorm",
    "inverse_gaussian": "invgauss",
    "half_normal": "halfnorm",
    "rayleigh": "rayleigh",
    "loglogistic": "fisk",
    "inverse_gamma": "invgamma",
    "nakagami": "nakagami",
    "frechet": "invweibull",
    "burr": "burr12",
}


_EVENT_KINDS = {
    "jaxpr_trace_duration": "trace",
    "jaxpr_to_mlir_module_duration": "lower",
    "backend_compile_duration": "compile",
}


def _now() -> float:
    return time.perf_counter()


def scenario(name: str) -> dict:
    """Run one scenario in this process; returns its timings (seconds)."""
    import warnings

    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from scipy import stats

    import jaxmle as jm

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    out: dict = {}
    if name == "loop50":
        lengths = rng.integers(200, 5001, 50)
        data = [2.0 * rng.weibull(1.5, int(n)) for n in lengths]
        for round_ in ("first", "again"):
            t0 = _now()
            for x in data:
                jm.fit("weibull", x).params["shape"].item()
            out[round_] = _now() - t0
        t0 = _now()
        for x in data:
            stats.weibull_min.fit(x, floc=0)
        out["scipy"] = _now() - t0
    elif name == "select12":
        x = rng.gamma(2.0, 1.5, 10_000)
        for round_ in ("first", "again"):
            t0 = _now()
            fits = {f: jm.fit(f, x) for f in POSITIVE_12}
            best = min(fits, key=lambda f: float(fits[f].aic))
            out[round_] = _now() - t0
        out["best"] = best
        t0 = _now()
        for dist in POSITIVE_12.values():
            getattr(stats, dist).fit(x, floc=0)
        out["scipy"] = _now() - t0
    elif name == "first_fit":
        x = 2.0 * rng.weibull(1.5, 1001)
        t0 = _now()
        jm.fit("weibull", x[:1000]).params["shape"].item()
        out["first"] = _now() - t0
        t0 = _now()
        jm.fit("weibull", x).params["shape"].item()
        out["next_length"] = _now() - t0
        t0 = _now()
        stats.weibull_min.fit(x, floc=0)
        out["scipy"] = _now() - t0
    elif name == "summary":
        res = jm.fit("weibull", 2.0 * rng.weibull(1.5, 1000))
        t0 = _now()
        res.summary()
        _ = res.pvalues, res.conf_int()
        out["first"] = _now() - t0
    elif name == "profile":
        res = jm.fit("weibull", 2.0 * rng.weibull(1.5, 1000))
        t0 = _now()
        res.conf_int(method="profile")
        out["first"] = _now() - t0
        res = jm.fit("weibull", 2.0 * rng.weibull(1.5, 900))
        t0 = _now()
        res.conf_int(method="profile")
        out["again"] = _now() - t0
    elif name == "compile_report":
        # Trace, lowering and XLA compile per family (JAX's monitoring events),
        # the first fit of each family in this process.
        events: dict = {}

        def listen(event, duration, **kw):
            kind = event.rsplit("/", 1)[-1]
            if kind in _EVENT_KINDS:
                events[kind] = events.get(kind, 0.0) + duration

        jax.monitoring.register_event_duration_secs_listener(listen)
        x = rng.gamma(2.0, 1.5, 10_000)
        for fam in POSITIVE_12:
            events.clear()
            t0 = _now()
            _ = jm.fit(fam, x).params
            out[fam] = {"total": _now() - t0, **{_EVENT_KINDS[k]: v for k, v in events.items()}}
    elif name == "normal_pass":
        import jax.numpy as jnp

        from jaxmle.likelihood import total_loglik

        fam = jm.Normal()
        one_pass = jax.jit(lambda p, x: total_loglik(fam, p, x, None))
        for n in (1_000_000, 10_000_000):
            x = jnp.asarray(rng.normal(3.0, 2.0, n))
            p = {"loc": jnp.asarray(3.0), "scale": jnp.asarray(2.0)}
            jax.block_until_ready(one_pass(p, x))
            jm.fit(fam, x)
            fit_t, pass_t = [], []
            for _ in range(5):
                t0 = _now()
                jm.fit(fam, x).params["loc"].item()
                fit_t.append(_now() - t0)
                t0 = _now()
                jax.block_until_ready(one_pass(p, x))
                pass_t.append(_now() - t0)
            out[f"fit_{n}"] = min(fit_t)
            out[f"pass_{n}"] = min(pass_t)
        # Fixed per-call overhead: a fit whose work is negligible (the normal's
        # closed form on 100 values), median of 300 calls.
        small = rng.normal(3.0, 2.0, 100)
        jm.fit(fam, small)
        times = []
        for _ in range(300):
            t0 = _now()
            jm.fit(fam, small).params["loc"].item()
            times.append(_now() - t0)
        out["overhead"] = float(np.median(times))
    else:
        raise ValueError(f"unknown scenario {name!r}")
    return out


SCENARIOS = (
    "loop50",
    "select12",
    "first_fit",
    "summary",
    "profile",
    "normal_pass",
    "compile_report",
)


def _run_child(name: str, cache: str) -> dict:
    env = dict(os.environ, JAXMLE_CACHE_DIR=cache)
    env.pop("JAXMLE_CACHE", None)
    cmd = [sys.executable, __file__, "--scenario", name]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _targets(rows: dict) -> list[tuple[str, bool, str]]:
    loop, sel = rows["loop50"], rows["select12"]
    first, summ, prof = rows["first_fit"], rows["summary"], rows["profile"]
    normal = rows["normal_pass"]["warm"]

    def sec(v):
        return f"{v:.2f} s"

    def ms(v):
        return f"{v * 1e3:.1f} ms"

    checks = [
        ("50 Weibull fits, cold <= 2 s", loop["cold"]["first"], 2.0, sec),
        ("50 Weibull fits, warm cache <= 0.5 s", loop["warm"]["first"], 0.5, sec),
        ("12 families, cold <= 3 s", sel["cold"]["first"], 3.0, sec),
        ("12 families, warm cache <= 0.6 s", sel["warm"]["first"], 0.6, sec),
        ("first fit, warm cache <= 100 ms", first["warm"]["first"], 0.1, ms),
        ("summary/pvalues/conf_int <= 5 ms", summ["cold"]["first"], 0.005, ms),
        ("first profile interval, cold <= 0.4 s", prof["cold"]["first"], 0.4, sec),
        ("profile interval, bucket compiled <= 20 ms", prof["cold"]["again"], 0.02, ms),
    ]
    out = [(label, value <= limit, fmt(value)) for label, value, limit, fmt in checks]
    again, scipy_t = loop["warm"]["again"], loop["warm"]["scipy"]
    out.insert(
        2,
        (
            "50 Weibull fits again <= scipy's loop",
            again <= scipy_t,
            f"{sec(again)} vs {sec(scipy_t)}",
        ),
    )
    for n in (1_000_000, 10_000_000):
        ratio = normal[f"fit_{n}"] / normal[f"pass_{n}"]
        out.append((f"normal closed form at {n:.0e} <= 2x one pass", ratio <= 2.0, f"{ratio:.1f}x"))
    over = normal["overhead"]
    out.append(("fixed per-call overhead <= 0.3 ms", over <= 3e-4, ms(over)))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, help="run one scenario (internal)")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument(
        "--out", default=None, help="results folder (default benchmarks/results/<date>-<machine>/)"
    )
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(scenario(args.scenario)))
        return

    import jax

    machine = _machine()
    print(machine)
    rows: dict = {}
    for name in args.only:
        with tempfile.TemporaryDirectory() as cache:
            cold = _run_child(name, cache)
            warm = _run_child(name, cache)
        rows[name] = {"cold": cold, "warm": warm}
        print(f"{name:12s} cold {json.dumps(cold)}\n{'':12s} warm {json.dumps(warm)}", flush=True)
    folder = results_dir(args.out)
    payload = {
        "machine": machine,
        "jax": jax.__version__,
        "command": "python benchmarks/bench_session.py " + " ".join(argv or sys.argv[1:]),
        "rows": rows,
    }
    (folder / "bench_session.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "# bench_session: an everyday session, compile time counted",
        "",
        f"Machine: {machine}",
        "",
        f"Command: `{payload['command'].strip()}` (float64; each scenario in a fresh process,",
        "import excluded; *cold*: empty jaxmle cache; *warm*: a second process on that cache;",
        "*again*: the same work repeated in the warm process; scipy.stats in the same process)",
        "",
        "| scenario | jaxmle cold (s) | jaxmle warm cache (s) | again, same process (s) "
        "| scipy (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        c, w = r["cold"], r["warm"]
        if name == "compile_report":
            continue
        if name == "normal_pass":
            for n in (1_000_000, 10_000_000):
                lines.append(
                    f"| normal closed form, n = {n:.0e}: fit / one pass | | "
                    f"{w[f'fit_{n}'] * 1e3:.2f} ms / {w[f'pass_{n}'] * 1e3:.2f} ms | | |"
                )
            lines.append(
                f"| per-call overhead (normal, n = 100, median of 300) | | "
                f"{w['overhead'] * 1e3:.2f} ms | | |"
            )
            continue
        if name == "first_fit":
            lines.append(
                f"| first Weibull fit (n = 1,000) | {c['first']:.3f} | {w['first']:.3f} | | "
                f"{w['scipy']:.4f} |"
            )
            lines.append(
                f"| then n = 1,001 | {c['next_length']:.4f} | {w['next_length']:.4f} | | |"
            )
            continue
        again = f"{w['again']:.4f}" if "again" in w else ""
        scipy_t = f"{w['scipy']:.3f}" if "scipy" in w else ""
        lines.append(f"| {name} | {c['first']:.4f} | {w['first']:.4f} | {again} | {scipy_t} |")
    if "compile_report" in rows:
        lines += [
            "",
            "## Where a first fit's time goes, per family (10,000 samples, fresh process)",
            "",
            "Seconds; trace, lowering (to MLIR) and XLA compile from JAX's monitoring events",
            "(with a warm store the programs are loaded: no trace, lowering or compile).",
            "",
            "| family | cold: total | trace | lower | compile | warm cache: total | trace "
            "| lower | compile |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for fam in POSITIVE_12:
            c, w = rows["compile_report"]["cold"][fam], rows["compile_report"]["warm"][fam]
            cells = [
                f"{r.get(k, 0.0):.3f}"
                for r in (c, w)
                for k in ("total", "trace", "lower", "compile")
            ]
            lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    if set(rows) == set(SCENARIOS):
        lines += ["", "## Targets (issue 12)", ""]
        lines += [f"- {'PASS' if ok else 'FAIL'}: {label} ({v})" for label, ok, v in _targets(rows)]
    (folder / "bench_session.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-30:]))
    print("wrote", folder / "bench_session.json", "and", folder / "bench_session.md")


if __name__ == "__main__":
    main()
