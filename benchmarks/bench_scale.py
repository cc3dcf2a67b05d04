"""jaxmle.fit as the sample grows: time, passes and accuracy against scipy.stats.

For each family (normal and gamma: sufficient statistics / closed form; weibull
and student_t: iterative), each dtype (float64, float32) and each N (1e4 to 1e8
by default), measures:

1. the fit time from a JAX array already on the device (the headline; best of
   ``--repeat`` calls after a first, compiling one; once at N >= 1e7),
2. the fit time from the numpy array (conversion / streaming included; float64
   rows with N >= 1e6 only: the like-for-like comparison with scipy),
3. the compile time (first call minus the best steady-state call),
4. ``n_passes``, the passes over the data the fit reports,
5. the time of one jitted log-likelihood pass on the same array, and the
   machine-independent ratio fit time / pass time,
6. scipy.stats' ``fit`` on the float64 numpy array (up to ``--scipy-max-n``,
   and ``--scipy-max-n-t`` for student_t, whose ``t.fit`` is very slow), and
   the speed-ups scipy time / jaxmle time (from the JAX array, from numpy),
7. the log-likelihoods reached, both evaluated in float64 by scipy at the
   respective estimates (jaxmle's float32 estimates too), and their difference
   (positive: jaxmle higher),
8. whether jaxmle's fit converged.

Sizes whose float64 data would exceed 40% of the available RAM are skipped (and
said so). Writes, into ``benchmarks/results/<date>-<machine>/`` (``--out`` names
another folder, ``--out-prefix`` the files' path without suffix),
``bench_scale.json`` (machine, versions, command, rows), ``.md`` (a table and
PASS/FAIL against the project's targets) and ``.png`` (log-log plot of time
against N; needs matplotlib).

Run: ``python benchmarks/bench_scale.py`` (the full run, meant for a GPU), or a
quick one such as
``python benchmarks/bench_scale.py --sizes 10000 100000 --families gamma weibull
--dtypes float64``.

Absolute times only mean something on the GPU the benchmark targets; on a CPU
the ratios (fit / pass, passes, speed-up against scipy on the same host) are the
portable figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from _common import best as _best, machine as _machine, results_dir as _results_dir

FAMILIES = ("normal", "gamma", "weibull", "student_t")
DTYPES = ("float64", "float32")
DEFAULT_SIZES = (10**4, 10**5, 10**6, 10**7, 10**8)
TARGETS_HEADING = "## Targets (float64 rows; compile: every row)"
NUMPY_MIN_N = 10**6  # the fit from numpy is timed from this N on (float64 rows)


def _mem_available() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where unreadable)."""
    try:
        with open("/proc/meminfo") as fh:
            for ln in fh:
                if ln.startswith("MemAvailable:"):
                    return int(ln.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _n_text(n: int) -> str:
    """``1e7`` for a power of ten, else ``12,345``."""
    k = round(math.log10(n)) if n > 0 else 0
    return f"1e{k}" if 10**k == n else f"{n:,}"


def _size(text: str) -> int:
    """An N given as ``100000`` or ``1e5``."""
    value = float(text)
    if not value.is_integer() or value < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(value)


def _families():
    """name -> (draw(rng, n), scipy fit(x), scipy frozen distribution from that fit)."""
    from scipy import stats

    return {
        "normal": (
            lambda r, n: r.normal(1.0, 2.0, n),
            stats.norm.fit,
            lambda p: stats.norm(loc=p[0], scale=p[1]),
        ),
        "gamma": (
            lambda r, n: r.gamma(2.0, 1.5, n),
            lambda x: stats.gamma.fit(x, floc=0),
            lambda p: stats.gamma(p[0], loc=p[1], scale=p[2]),
        ),
        "weibull": (
            lambda r, n: 2.0 * r.weibull(1.5, n),
            lambda x: stats.weibull_min.fit(x, floc=0),
            lambda p: stats.weibull_min(p[0], loc=p[1], scale=p[2]),
        ),
        "student_t": (
            lambda r, n: 1.5 * r.standard_t(5.0, n) + 0.5,
            stats.t.fit,
            lambda p: stats.t(p[0], loc=p[1], scale=p[2]),
        ),
    }


def _f(v) -> float | None:
    """A JSON-safe float (None for missing or non-finite)."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _run_case(name, fam, dtype, n, x64, xnp, scipy_info, args, jax, jnp, total_loglik):
    """Measure one (family, dtype, N) row; ``scipy_info`` is shared by the dtypes of an N."""
    import jaxmle as jm

    repeat = 1 if n >= 10**7 else args.repeat
    row = {"family": name, "dtype": dtype, "n": n, "repeat": repeat}

    xj = jax.block_until_ready(jnp.asarray(xnp))

    def fit_jax():
        return jax.block_until_ready(jm.fit(name, xj, method="auto"))

    t0 = time.perf_counter()
    fit_jax()
    first_s = time.perf_counter() - t0
    fit_s, res = _best(fit_jax, repeat)
    row["fit_ms"] = fit_s * 1e3
    row["compile_s"] = max(first_s - fit_s, 0.0)
    row["first_call_s"] = first_s
    row["method"] = res.method
    row["n_iter"] = int(res.n_iter)
    row["n_passes"] = int(res.n_passes)
    row["converged"] = bool(res.converged)
    row["message"] = str(res.message)
    row["params"] = {k: float(v) for k, v in res.params.items()}
    row["loglik_reported"] = _f(res.loglik)

    row["fit_numpy_ms"] = None
    if dtype == "float64" and n >= NUMPY_MIN_N:

        def fit_np():
            return jax.block_until_ready(jm.fit(name, xnp, method="auto"))

        fit_np()  # its own compilation (the numpy path may stream in chunks)
        row["fit_numpy_ms"] = _best(fit_np, repeat)[0] * 1e3

    ll_fn = jax.jit(lambda p, x: total_loglik(fam, p, x, None))
    jax.block_until_ready(ll_fn(res.params, xj))
    pass_s, _ = _best(lambda: jax.block_until_ready(ll_fn(res.params, xj)), 10 if n < 10**7 else 3)
    row["pass_ms"] = pass_s * 1e3
    row["fit_over_pass"] = fit_s / pass_s if pass_s > 0 else None

    row["scipy_ms"] = scipy_info.get("scipy_ms")
    row["scipy_skipped"] = scipy_info.get("skipped")
    row["loglik_scipy"] = scipy_info.get("loglik")
    row["loglik_jaxmle"] = None
    row["loglik_diff"] = None
    row["speedup_jax"] = None
    row["speedup_numpy"] = None
    if row["scipy_ms"] is not None:
        row["speedup_jax"] = row["scipy_ms"] / row["fit_ms"]
        if row["fit_numpy_ms"] is not None:
            row["speedup_numpy"] = row["scipy_ms"] / row["fit_numpy_ms"]
        ours = fam.scipy({k: np.float64(v) for k, v in row["params"].items()})
        row["loglik_jaxmle"] = _f(ours.logpdf(x64).sum())
        if row["loglik_jaxmle"] is not None and row["loglik_scipy"] is not None:
            row["loglik_diff"] = row["loglik_jaxmle"] - row["loglik_scipy"]
    return row


def _scipy_case(name, n, x64, args, scipy_fit, scipy_dist):
    limit = args.scipy_max_n_t if name == "student_t" else args.scipy_max_n
    if n > limit:
        return {"skipped": f"skipped (N > {_n_text(limit)})"}
    repeat = 1 if n >= 10**6 else args.repeat
    sp_s, sp = _best(lambda: scipy_fit(x64), repeat)
    ll = scipy_dist(sp).logpdf(x64).sum()
    return {"scipy_ms": sp_s * 1e3, "loglik": _f(ll), "params": [float(v) for v in sp]}


def _fmt(v, spec, missing="–"):
    return missing if v is None else format(v, spec)


def _ratio(v, missing="–"):
    """A ratio with about three significant figures, never in exponent form."""
    if v is None:
        return missing
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _progress(r) -> str:
    if r.get("error"):
        return f"{r['family']:9s} {r['dtype']} n={r['n']:>11,d}  ERROR {r['error']}"
    sp = r["scipy_skipped"] or f"{r['scipy_ms']:.1f} ms (x{_ratio(r['speedup_jax'])})"
    return (
        f"{r['family']:9s} {r['dtype']} n={r['n']:>11,d}  fit {r['fit_ms']:9.2f} ms"
        f"  numpy {_fmt(r['fit_numpy_ms'], '9.2f', '        –')} ms"
        f"  compile {r['compile_s']:6.2f} s  passes {r['n_passes']:3d}"
        f"  fit/pass {_fmt(r['fit_over_pass'], '6.1f')}  scipy {sp}"
        f"  dll {_fmt(r['loglik_diff'], '+.2e')}  conv {r['converged']}"
    )


def _table(rows) -> list[str]:
    lines = [
        "| family | dtype | N | fit ms (jax array) | fit ms (numpy) | compile s | passes "
        "| pass ms | fit/pass | scipy ms | speed-up vs scipy (jax array) "
        "| speed-up vs scipy (numpy) | loglik jaxmle - scipy | converged |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("error"):
            lines.append(
                f"| {r['family']} | {r['dtype']} | {r['n']:,} | error: {r['error']} "
                "| | | | | | | | | | |"
            )
            continue
        sp = r["scipy_skipped"] or _fmt(r["scipy_ms"], ".1f")
        lines.append(
            f"| {r['family']} | {r['dtype']} | {r['n']:,} | {r['fit_ms']:.2f} "
            f"| {_fmt(r['fit_numpy_ms'], '.2f')} | {r['compile_s']:.2f} | {r['n_passes']} "
            f"| {r['pass_ms']:.3f} | {_ratio(r['fit_over_pass'])} | {sp} "
            f"| {_ratio(r['speedup_jax'])} | {_ratio(r['speedup_numpy'])} "
            f"| {_fmt(r['loglik_diff'], '+.2e')} | {r['converged']} |"
        )
    return lines


def _targets(rows) -> list[str]:
    """PASS/FAIL against the project's targets, for the rows that were run."""
    ok_rows = [r for r in rows if not r.get("error")]

    def row(fam, n):
        for r in ok_rows:
            if r["family"] == fam and r["dtype"] == "float64" and r["n"] == n:
                return r
        return None

    out = []

    def check(label, cond, detail):
        if cond is None:
            out.append(f"- n/a: {label} ({detail})")
        else:
            out.append(f"- {'PASS' if cond else 'FAIL'}: {label} ({detail})")

    r = row("weibull", 10**7)
    if r is not None:
        sj, d, ll = r["speedup_jax"], r["loglik_diff"], r["loglik_scipy"]
        if sj is None:
            check("weibull N=1e7 float64: scipy/jaxmle >= 30", None, r["scipy_skipped"])
        else:
            check("weibull N=1e7 float64: scipy/jaxmle (jax array) >= 30", sj >= 30, f"{sj:.1f}")
        if d is not None and ll is not None:
            check(
                "weibull N=1e7 float64: loglik jaxmle - scipy >= -1e-6 |loglik|",
                d >= -1e-6 * abs(ll),
                f"{d:+.2e} vs {-1e-6 * abs(ll):.2e}",
            )
    r = row("student_t", 10**6)
    if r is not None:
        sj = r["speedup_jax"]
        if sj is None:
            check("student_t N=1e6 float64: scipy/jaxmle >= 50", None, r["scipy_skipped"])
        else:
            check("student_t N=1e6 float64: scipy/jaxmle (jax array) >= 50", sj >= 50, f"{sj:.1f}")
    r = row("gamma", 10**7)
    if r is not None:
        sj, sn, fp = r["speedup_jax"], r["speedup_numpy"], r["fit_over_pass"]
        if sj is None:
            check("gamma N=1e7 float64: scipy/jaxmle >= 5", None, r["scipy_skipped"])
        else:
            check("gamma N=1e7 float64: scipy/jaxmle (jax array) >= 5", sj >= 5, f"{sj:.1f}")
        if fp is not None:
            check("gamma N=1e7 float64: fit/pass <= 2", fp <= 2, f"{fp:.1f}")
        if sn is not None:
            check("gamma N=1e7 float64: scipy/jaxmle (numpy) >= 1", sn >= 1, f"{sn:.2f}")
    for r in ok_rows:
        fp = r["fit_over_pass"]
        if r["family"] == "weibull" and r["dtype"] == "float64" and r["n"] >= 10**6 and fp:
            check(f"weibull N={_n_text(r['n'])} float64: fit/pass <= 10", fp <= 10, f"{fp:.1f}")
    for fam in dict.fromkeys(r["family"] for r in ok_rows):
        worst = max((r for r in ok_rows if r["family"] == fam), key=lambda r: r["compile_s"])
        check(
            f"{fam}: compile < 1 s for every row",
            worst["compile_s"] < 1.0,
            f"max {worst['compile_s']:.2f} s at {worst['dtype']} N={worst['n']:,}",
        )
    if not out:
        out.append("- no row that a target refers to was run")
    return out


def _plot(rows, path: Path) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot"
    ok_rows = [r for r in rows if not r.get("error")]
    fams = list(dict.fromkeys(r["family"] for r in ok_rows))
    if not fams:
        return "no rows to plot"
    ncol = min(2, len(fams))
    nrow = math.ceil(len(fams) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 4.2 * nrow), squeeze=False)
    colors = {"float64": "C0", "float32": "C1"}
    for ax, fam in zip(axes.flat, fams, strict=False):
        fam_rows = [r for r in ok_rows if r["family"] == fam]
        for dt in dict.fromkeys(r["dtype"] for r in fam_rows):
            rr = sorted((r for r in fam_rows if r["dtype"] == dt), key=lambda r: r["n"])
            ns = [r["n"] for r in rr]
            c = colors.get(dt, None)
            ax.plot(ns, [r["fit_ms"] for r in rr], "-o", color=c, label=f"jaxmle fit {dt}")
            ax.plot(ns, [r["pass_ms"] for r in rr], ":", color=c, label=f"one pass {dt}")
        sp = sorted({r["n"]: r["scipy_ms"] for r in fam_rows if r["scipy_ms"] is not None}.items())
        if sp:
            ax.plot(*zip(*sp, strict=True), "--s", color="k", label="scipy fit (float64)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(fam)
        ax.set_xlabel("N")
        ax.set_ylabel("time (ms)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(fams) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"wrote {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_size, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--max-n", type=_size, default=10**8, help="skip sizes above this")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--repeat", type=int, default=3, help="best of (once at N >= 1e7)")
    parser.add_argument("--scipy-max-n", type=_size, default=10**7)
    parser.add_argument("--scipy-max-n-t", type=_size, default=10**6, help="for student_t")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="results folder (default benchmarks/results/<date>-<machine>/)"
    )
    parser.add_argument(
        "--out-prefix", type=Path, default=None, help="path of the files without suffix"
    )
    args = parser.parse_args()

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import scipy

    import jaxmle as jm
    from jaxmle.likelihood import total_loglik

    dev = jax.devices()[0]
    platform_name = dev.platform
    prefix = args.out_prefix or _results_dir(args.out) / "bench_scale"
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    machine = _machine()
    print(machine, flush=True)

    notes = []
    avail = _mem_available()
    sizes = []
    for n in sorted(dict.fromkeys(args.sizes)):
        if n > args.max_n:
            notes.append(f"N = {n:,} skipped: above --max-n {args.max_n:,}")
        elif avail is not None and 8 * n > 0.4 * avail:
            notes.append(
                f"N = {n:,} skipped: its float64 data ({8 * n / 2**30:.1f} GiB) exceeds 40% of"
                f" the available RAM ({avail / 2**30:.1f} GiB)"
            )
        else:
            sizes.append(n)
    for note in notes:
        print(note, flush=True)

    specs = _families()
    rows = []
    for name in args.families:
        draw, scipy_fit, scipy_dist = specs[name]
        fam = jm.family(name)
        for n in sizes:
            x64 = draw(np.random.default_rng(args.seed), n)
            try:
                scipy_info = _scipy_case(name, n, x64, args, scipy_fit, scipy_dist)
            except Exception as exc:  # keep the run going; report it
                scipy_info = {"skipped": f"error: {type(exc).__name__}: {exc}"}
            for dtype in args.dtypes:
                xnp = x64 if dtype == "float64" else x64.astype(np.float32)
                try:
                    row = _run_case(
                        name, fam, dtype, n, x64, xnp, scipy_info, args, jax, jnp, total_loglik
                    )
                except Exception as exc:  # e.g. out of device memory at the largest N
                    row = {
                        "family": name,
                        "dtype": dtype,
                        "n": n,
                        "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                    }
                row["scipy_params"] = scipy_info.get("params")
                rows.append(row)
                print(_progress(row), flush=True)
                del xnp
            del x64

    meta = {
        "machine": machine,
        "device_kind": getattr(dev, "device_kind", platform_name),
        "platform": platform_name,
        "jax": jax.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "jaxmle": jm.__version__,
        "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "notes": notes,
        "rows": [{k: (_f(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    }
    prefix.parent.mkdir(parents=True, exist_ok=True)
    json_path = prefix.with_name(prefix.name + ".json")
    json_path.write_text(json.dumps(meta, indent=1) + "\n")

    lines = [
        f"# bench_scale: jaxmle {jm.__version__} fits as N grows, against scipy.stats",
        "",
        f"Machine: {machine}",
        "",
        f"Command: `{command}` ({meta['timestamp_utc']}; best of {args.repeat}, once at"
        " N >= 1e7 and for scipy at N >= 1e6; compile = first call minus steady call;"
        " log-likelihoods evaluated in float64 by scipy at each estimate; absolute times"
        " are only meaningful on the target GPU, the ratios are portable)",
        "",
        *([f"- {note}" for note in notes] + [""] if notes else []),
        *_table(rows),
        "",
        TARGETS_HEADING,
        "",
        *_targets(rows),
        "",
    ]
    md_path = prefix.with_name(prefix.name + ".md")
    md_path.write_text("\n".join(lines))
    print("\n" + "\n".join(lines[lines.index(TARGETS_HEADING) :]), flush=True)
    print(f"wrote {json_path}\nwrote {md_path}", flush=True)
    print(_plot(rows, prefix.with_name(prefix.name + ".png")), flush=True)


if __name__ == "__main__":
    main()
