"""Censored-data fits: jaxmle against scipy.stats (``CensoredData``), lifelines
and reliability, in one run (float64).

Cases (``--cases``):

* ``weibull-right`` / ``lognormal-right``: right-censored data (uniform
  censoring times, about 40% censored) at N = 1e4, 1e5, 1e6 (``--sizes``):
  ``jm.fit(fam, jm.Censored.from_events(t, seen))``; scipy's
  ``weibull_min.fit(CensoredData, floc=0)`` / ``lognorm.fit``; lifelines'
  ``WeibullFitter`` / ``LogNormalFitter``; reliability's ``Fit_Weibull_2P`` /
  ``Fit_Lognormal_2P``.
* ``weibull-interval``: interval-censored data (inspections every 0.5) at
  N = 1e5: scipy and lifelines' ``fit_interval_censoring``.
* ``many``: ``jm.fit_many`` of B right-censored Weibull datasets of N
  (``--many 10000x1000``) against a loop of lifelines' ``WeibullFitter``
  (timed on the first datasets for ``--loop-seconds``, extrapolated).
* ``select``: ``jm.select`` of the ``"continuous"`` group (every univariate
  continuous family whose support holds the data, with KS/CvM/AD) on
  ``--select-size`` (1e6) gamma values: cold (a fresh process with an empty
  program store, every program compiled; jax's import apart), in another
  fresh process with the store that filled, and warm (in this process), with
  each family's warm fit and goodness-of-fit times.

For each: the time of a warm call (the best of ``--repeat``; jaxmle's first
call minus that is its compile time, reported apart), and the log-likelihood
each reached, all evaluated by the same scipy code at each tool's estimate;
``gap`` is jaxmle's minus the best peer's (>= 0: jaxmle at least as high).
Peers that are not installed are skipped (``pip install lifelines
reliability``, the ``bench`` extra). Writes ``bench_censored.json`` and
``.md`` into ``benchmarks/results/<date>-<machine>/``.

Run: ``python benchmarks/bench_censored.py`` (quick:
``--sizes 10000 --many 200x1000``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
import warnings

import numpy as np
from _common import best as _best, machine as _machine, results_dir as _results_dir

CASES = ("weibull-right", "lognormal-right", "weibull-interval", "many", "select")


def _draw(kind: str, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of the censored sample (hi = inf: right-censored)."""
    if kind == "lognormal":
        t = rng.lognormal(0.5, 0.8, n)
        c = rng.uniform(0.0, 5.0, n)
    else:
        t = 2.0 * rng.weibull(1.5, n)
        c = rng.uniform(0.0, 4.0, n)
    d = np.minimum(t, c)
    return d, np.where(t <= c, d, np.inf)


def _interval(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Weibull values read at inspections every 0.5 (the first: left-censored)."""
    t = 2.0 * rng.weibull(1.5, n)
    lo = np.floor(t / 0.5) * 0.5
    return np.where(lo == 0, -np.inf, lo), lo + 0.5


def censored_loglik(dist, lo, hi) -> float:
    """The censored log-likelihood of frozen scipy ``dist``."""
    exact = lo == hi
    right = ~np.isfinite(hi)
    left = ~np.isfinite(lo)
    inter = ~exact & ~right & ~left
    total = dist.logpdf(lo[exact]).sum() + dist.logsf(lo[right]).sum()
    total += dist.logcdf(hi[left]).sum()
    total += np.log(dist.cdf(hi[inter]) - dist.cdf(lo[inter])).sum()
    return float(total)


def _frozen(fam: str, p: dict):
    from scipy import stats

    if fam == "weibull":
        return stats.weibull_min(p["shape"], scale=p["scale"])
    return stats.lognorm(p["s"], scale=np.exp(p["mu"]))


# ---- the tools ---------------------------------------------------------------------------


def _jaxmle(fam, lo, hi):
    import jaxmle as jm

    data = jm.Censored(lo, hi)
    res = jm.fit(fam, data)
    p = {k: float(v) for k, v in res.params.items()}
    if fam == "lognormal":
        return {"mu": p["loc"], "s": p["scale"]}
    return p


def _scipy(fam, lo, hi):
    from scipy import stats

    exact = lo == hi
    cd = stats.CensoredData(
        uncensored=lo[exact],
        left=hi[~np.isfinite(lo)],
        right=lo[~np.isfinite(hi)],
        interval=np.stack([lo, hi], 1)[~exact & np.isfinite(lo) & np.isfinite(hi)],
    )
    if fam == "weibull":
        c, _, scale = stats.weibull_min.fit(cd, floc=0)
        return {"shape": c, "scale": scale}
    s, _, scale = stats.lognorm.fit(cd, floc=0)
    return {"mu": float(np.log(scale)), "s": s}


def _lifelines(fam, lo, hi):
    from lifelines import LogNormalFitter, WeibullFitter

    fitter = WeibullFitter() if fam == "weibull" else LogNormalFitter()
    if np.all(np.isfinite(lo) & ((lo == hi) | ~np.isfinite(hi))):
        fitter.fit(lo, event_observed=np.isfinite(hi))
    else:
        fitter.fit_interval_censoring(np.where(np.isfinite(lo), lo, 0.0), hi)
    if fam == "weibull":
        return {"shape": float(fitter.rho_), "scale": float(fitter.lambda_)}
    return {"mu": float(fitter.mu_), "s": float(fitter.sigma_)}


def _reliability(fam, lo, hi):
    from reliability.Fitters import Fit_Lognormal_2P, Fit_Weibull_2P

    if not np.all(np.isfinite(lo) & ((lo == hi) | ~np.isfinite(hi))):
        return None  # right-censored data only
    kw = dict(
        failures=lo[lo == hi],
        right_censored=lo[~np.isfinite(hi)],
        show_probability_plot=False,
        print_results=False,
    )
    if fam == "weibull":
        f = Fit_Weibull_2P(**kw)
        return {"shape": float(f.beta), "scale": float(f.alpha)}
    f = Fit_Lognormal_2P(**kw)
    return {"mu": float(f.mu), "s": float(f.sigma)}


PEERS = {"scipy": _scipy, "lifelines": _lifelines, "reliability": _reliability}


def _installed(name: str) -> bool:
    try:
        __import__({"scipy": "scipy", "lifelines": "lifelines", "reliability": "reliability"}[name])
    except ImportError:
        return False
    return True


# ---- cases -------------------------------------------------------------------------------


def run_fit_case(fam: str, kind: str, n: int, args) -> dict:
    rng = np.random.default_rng(n)
    lo, hi = _interval(n, rng) if kind == "interval" else _draw(fam, n, rng)
    t0 = time.perf_counter()
    p = _jaxmle(fam, lo, hi)
    first = time.perf_counter() - t0
    warm, p = _best(lambda: _jaxmle(fam, lo, hi), args.repeat)
    row = {
        "case": f"{fam}-{kind}",
        "n": n,
        "censored": float(np.mean(lo != hi)),
        "jaxmle_s": warm,
        "jaxmle_compile_s": max(first - warm, 0.0),
        "jaxmle_loglik": censored_loglik(_frozen(fam, p), lo, hi),
        "peers": {},
    }
    for name, fn in PEERS.items():
        if not _installed(name) or name in args.skip:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, q = _best(lambda fn=fn: fn(fam, lo, hi), 1 if n >= 10**6 else args.repeat)
        if q is None:
            continue
        row["peers"][name] = {"s": t, "loglik": censored_loglik(_frozen(fam, q), lo, hi)}
        print(f"  {name}: {t:.3g} s", file=sys.stderr)
    print(f"{row['case']} n={n}: jaxmle {warm:.3g} s (+{row['jaxmle_compile_s']:.2f} s compile)",
          file=sys.stderr)  # fmt: skip
    return row


def run_many(b: int, n: int, args) -> dict:
    import jax

    import jaxmle as jm

    rng = np.random.default_rng(7)
    data = []
    for _ in range(b):
        lo, hi = _draw("weibull", n, rng)
        data.append((lo, hi))
    cens = [jm.Censored(lo, hi) for lo, hi in data]
    t0 = time.perf_counter()
    res = jm.fit_many("weibull", cens)
    jax.block_until_ready(res.params)
    first = time.perf_counter() - t0
    warm, res = _best(lambda: jm.fit_many("weibull", cens), args.repeat)
    row = {"case": "many-weibull-right", "b": b, "n": n, "jaxmle_s": warm,
           "jaxmle_compile_s": max(first - warm, 0.0),
           "converged": float(np.mean(np.asarray(res.converged)))}  # fmt: skip
    if _installed("lifelines") and "lifelines" not in args.skip:
        count, t0 = 0, time.perf_counter()
        lls = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while count < b and (count < 20 or time.perf_counter() - t0 < args.loop_seconds):
                lo, hi = data[count]
                q = _lifelines("weibull", lo, hi)
                lls.append(
                    censored_loglik(_frozen("weibull", q), lo, hi) - float(res.loglik[count])
                )
                count += 1
        per = (time.perf_counter() - t0) / count
        row["lifelines_loop_s"] = per * b
        row["lifelines_timed"] = count
        row["loglik_gap_max"] = float(max(lls))  # lifelines minus jaxmle; <= 0 is good
    print(f"many {b}x{n}: jaxmle {warm:.3g} s", file=sys.stderr)
    return row


_COLD_SELECT = """
import os, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jaxmle as jm
x = np.random.default_rng(5).gamma(3.0, 2.0, int(sys.argv[1]))
t0 = time.perf_counter()
sel = jm.select(x, "continuous")
print(time.perf_counter() - t0)
"""


def _cold_select(n: int) -> tuple[float, float]:
    """The first ``select`` in a fresh process with an empty program store
    (every program compiled), then in another fresh process with the store
    that one filled: seconds each, the import of jax and jaxmle apart."""
    import os
    import subprocess
    import tempfile

    times = []
    with tempfile.TemporaryDirectory() as store:
        env = {**os.environ, "JAXMLE_CACHE_DIR": store}
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COLD_SELECT, str(n)], env=env, check=True,
                capture_output=True, text=True,
            )  # fmt: skip
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def run_select(n: int, args) -> dict:
    import jax.numpy as jnp

    import jaxmle as jm

    cold, stored = _cold_select(n)
    x = np.random.default_rng(5).gamma(3.0, 2.0, n)
    sel = jm.select(x, "continuous")
    warm = []
    for _ in range(max(2, args.repeat // 2)):
        t0 = time.perf_counter()
        sel = jm.select(x, "continuous")
        warm.append(time.perf_counter() - t0)
    # Per family, warm: fit and goodness of fit apart (on the data sorted once,
    # as select does).
    ordered = (jnp.asarray(np.sort(x)), None)
    per = {}
    for c in sel:
        res = jm.fit(c.fit.family, x)
        res.gof(sorted_data=ordered)
        t0 = time.perf_counter()
        res = jm.fit(c.fit.family, x)
        float(res.loglik)
        t1 = time.perf_counter()
        res.gof(sorted_data=ordered)
        per[c.name] = {"fit_s": t1 - t0, "gof_s": time.perf_counter() - t1,
                       "passes": int(res.n_passes)}  # fmt: skip
    row = {"case": "select", "n": n, "families": len(sel.candidates),
           "skipped": len(sel.skipped), "cold_s": cold, "stored_s": stored, "warm_s": min(warm),
           "best": sel.best.family.name, "per_family": per}  # fmt: skip
    print(f"select n={n}: {len(sel.candidates)} families, cold {cold:.1f} s, fresh process with "
          f"the store {stored:.1f} s, warm {min(warm):.2f} s", file=sys.stderr)  # fmt: skip
    return row


# ---- report ------------------------------------------------------------------------------


def write(rows, args, machine: str) -> None:
    out = _results_dir(args.out)
    payload = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "rows": rows,
    }
    (out / "bench_censored.json").write_text(json.dumps(payload, indent=1))
    lines = [
        "# bench_censored",
        "",
        f"{machine}",
        "",
        f"Command: `{payload['command']}`",
        "",
        "Times of a warm call (compile apart); `ratio`: the peer's time over jaxmle's; "
        "`gap`: jaxmle's log-likelihood minus the peer's (>= 0: jaxmle at least as high).",
        "",
        "| case | N | censored | jaxmle s | compile s | peer | peer s | ratio | gap |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for r in rows:
        if "peers" not in r:  # many, select: their own sections below
            continue
        for name, p in r["peers"].items():
            gap = r["jaxmle_loglik"] - p["loglik"]
            ratio = p["s"] / r["jaxmle_s"]
            lines.append(
                f"| {r['case']} | {r['n']:.0e} | {r['censored']:.0%} | {r['jaxmle_s']:.3g} | "
                f"{r['jaxmle_compile_s']:.2f} | {name} | {p['s']:.3g} | {ratio:.1f}x | {gap:.2e} |"
            )
            ok = gap >= -1e-8 * abs(p["loglik"])
            verdicts.append((f"loglik >= {name}'s - 1e-8 rel ({r['case']}, N={r['n']})", ok))
            if r["case"] == "weibull-right" and r["n"] >= 10**6 and name in ("scipy", "lifelines"):
                verdicts.append((f"weibull-right N=1e6 >= 50x {name} ({ratio:.0f}x)", ratio >= 50))
    for r in rows:
        if not r["case"].startswith("many"):
            continue
        compile_s, conv = r["jaxmle_compile_s"], r["converged"]
        lines += [
            "",
            f"fit_many {r['b']} x {r['n']}: {r['jaxmle_s']:.3g} s (+{compile_s:.2f} s compile), "
            f"{conv:.0%} converged",
        ]
        if "lifelines_loop_s" in r:
            ratio = r["lifelines_loop_s"] / r["jaxmle_s"]
            lines.append(
                f"lifelines loop: {r['lifelines_loop_s']:.3g} s (timed on {r['lifelines_timed']}, "
                f"extrapolated): {ratio:.0f}x; worst lifelines loglik minus jaxmle's: "
                f"{r['loglik_gap_max']:.2e}"
            )
            if r["b"] >= 10000:
                verdicts.append((f"fit_many {r['b']}x{r['n']} >= 200x lifelines ({ratio:.0f}x)",
                                 ratio >= 200))  # fmt: skip
    for r in rows:
        if r["case"] != "select":
            continue
        fit_total = sum(v["fit_s"] for v in r["per_family"].values())
        gof_total = sum(v["gof_s"] for v in r["per_family"].values())
        lines += [
            "",
            f"select, {r['families']} continuous families ({r['skipped']} skipped) on "
            f"{r['n']:.0e} gamma values: cold {r['cold_s']:.1f} s (a fresh process, empty "
            f"program store: every program compiled), {r['stored_s']:.1f} s in another fresh "
            f"process with the store that filled, warm {r['warm_s']:.2f} s "
            f"(fits {fit_total:.2f} s, goodness of fit {gof_total:.2f} s); best: {r['best']}",
            "",
            "| family | fit s (warm) | passes | gof s (warm) |",
            "|---|---|---|---|",
        ]
        per = r["per_family"].items()
        lines += [f"| {k} | {v['fit_s']:.3f} | {v['passes']} | {v['gof_s']:.3f} |" for k, v in per]
        verdicts.append((f"select {r['families']} families cold < 20 s ({r['cold_s']:.1f} s)",
                         r["cold_s"] < 20))  # fmt: skip
        verdicts.append((f"select warm < 2 s ({r['warm_s']:.2f} s)", r["warm_s"] < 2))
    lines += ["", "## Targets", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'} {what}" for what, ok in verdicts]
    (out / "bench_censored.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    ap.add_argument("--sizes", nargs="+", type=int, default=[10**4, 10**5, 10**6])
    ap.add_argument("--interval-size", type=int, default=10**5)
    ap.add_argument("--many", default="10000x1000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loop-seconds", type=float, default=30.0)
    ap.add_argument("--skip", nargs="*", default=[], help="peers to leave out")
    ap.add_argument("--select-size", type=int, default=10**6)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    rows = []
    for case in args.cases:
        if case == "many":
            b, n = (int(v) for v in args.many.split("x"))
            rows.append(run_many(b, n, args))
        elif case == "select":
            rows.append(run_select(args.select_size, args))
        elif case == "weibull-interval":
            rows.append(run_fit_case("weibull", "interval", args.interval_size, args))
        else:
            fam = case.split("-")[0]
            rows += [run_fit_case(fam, "right", n, args) for n in args.sizes]
    write(rows, args, _machine())


if __name__ == "__main__":
    main()
