"""Inference after a fit: bootstrap, profile intervals and sandwich covariances,
against what users run instead, in one run (float64).

1. 1,000 bootstrap replicates of a 1,000-sample Weibull fit: ``res.bootstrap``
   (first call with compile, then the best of ``--repeat``) against a Python
   loop of ``scipy.stats.weibull_min.fit`` on resampled data (timed on
   ``--loop`` replicates and extrapolated to 1,000; as R's ``bootdist`` does);
2. profile-likelihood intervals of both parameters: one fit, and 1,000 fits
   at once under ``fit_many``;
3. the fit with standard errors against statsmodels' ``GenericLikelihoodModel``
   (Newton), and their standard errors side by side.

Writes ``bench_inference.{json,md}`` into ``benchmarks/results/<date>-<machine>/``
(``--out`` names another folder, ``--out-prefix`` the files' path without suffix).
Run: ``python benchmarks/bench_inference.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from _common import best as _best, machine as _machine, results_dir as _results_dir


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop", type=int, default=50, help="scipy bootstrap replicates timed")
    parser.add_argument(
        "--out", default=None, help="results folder (default benchmarks/results/<date>-<machine>/)"
    )
    parser.add_argument("--out-prefix", default=None, help="path of the files without suffix")
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    from scipy import stats

    import jaxmle as jm

    try:
        from statsmodels.base.model import GenericLikelihoodModel
    except ImportError:  # the comparison row is then left out
        GenericLikelihoodModel = None

    machine = _machine()
    print(machine)
    rng = np.random.default_rng(0)
    x = rng.weibull(1.5, 1000) * 2.0
    xj = jax.numpy.asarray(x)
    rows = {}

    res = jm.fit("weibull", xj)
    t0 = time.perf_counter()
    boot = res.bootstrap(n=1000, key=0)
    first = time.perf_counter() - t0
    steady, boot = _best(lambda: res.bootstrap(n=1000, key=1), args.repeat)
    t0 = time.perf_counter()
    for _ in range(args.loop):
        xb = x[rng.integers(0, x.size, x.size)]
        stats.weibull_min.fit(xb, floc=0)
    scipy_per = (time.perf_counter() - t0) / args.loop
    rows["bootstrap_1000x1000_weibull"] = {
        "jaxmle_s": steady,
        "jaxmle_first_call_s": first,
        "scipy_loop_s": scipy_per * 1000,
        "scipy_timed": args.loop,
        "speedup": scipy_per * 1000 / steady,
        "stderr_boot": {k: float(v) for k, v in boot.stderr.items()},
        "stderr_observed": {k: float(v) for k, v in res.stderr.items()},
    }

    t0 = time.perf_counter()
    res.conf_int(method="profile")
    first = time.perf_counter() - t0
    steady, _ = _best(lambda: jax.block_until_ready(res.conf_int(method="profile")), args.repeat)
    X = rng.weibull(1.5, (1000, 1000)) * 2.0
    many = jm.fit_many("weibull", X)
    t0 = time.perf_counter()
    many.conf_int(method="profile")
    many_first = time.perf_counter() - t0
    many_steady, _ = _best(
        lambda: jax.block_until_ready(many.conf_int(method="profile")), args.repeat
    )
    rows["profile_intervals_weibull"] = {
        "one_fit_s": steady,
        "one_fit_first_call_s": first,
        "fit_many_1000x1000_s": many_steady,
        "fit_many_first_call_s": many_first,
    }

    sm_s, sm_bse = float("nan"), []
    if GenericLikelihoodModel is not None:

        class Weibull(GenericLikelihoodModel):
            def loglike(self, p):
                return stats.weibull_min(p[0], scale=p[1]).logpdf(self.endog).sum()

        def sm_fit():
            m = Weibull(x, exog=np.ones((x.size, 1)))
            return m.fit(start_params=[1.0, 1.0], method="newton", disp=0)

        sm_s, sm = _best(sm_fit, args.repeat)
        sm_bse = [float(v) for v in sm.bse]
    jm_s, _ = _best(lambda: jax.block_until_ready(jm.fit("weibull", xj).stderr), args.repeat)
    rob_s, _ = _best(
        lambda: jax.block_until_ready(jm.fit("weibull", xj, cov_type="robust").stderr),
        args.repeat,
    )
    rows["fit_with_stderr_weibull_1000"] = {
        "jaxmle_s": jm_s,
        "jaxmle_robust_s": rob_s,
        "statsmodels_s": sm_s,
        "speedup": sm_s / jm_s,
        "stderr_jaxmle": [float(v) for v in res.stderr.values()],
        "stderr_statsmodels": sm_bse,
    }
    for k, v in rows.items():
        print(k, json.dumps(v))

    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    command = ("python benchmarks/bench_inference.py " + shlex.join(sys.argv[1:])).strip()
    if args.out_prefix:
        prefix = Path(args.out_prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
    else:
        prefix = _results_dir(args.out) / "bench_inference"
    payload = {"machine": machine, "command": command, "date": stamp, "rows": rows}
    prefix.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    b, p, f = (
        rows["bootstrap_1000x1000_weibull"],
        rows["profile_intervals_weibull"],
        rows["fit_with_stderr_weibull_1000"],
    )
    lines = [
        "# bench_inference: bootstrap, profile intervals and standard errors",
        "",
        f"Machine: {machine}",
        "",
        f"Command: `{command}` ({stamp}; float64; best of {args.repeat}, compile apart "
        "unless said)",
        "",
        "| task | jaxmle | first call (compile) | reference | speed-up |",
        "|---|---:|---:|---:|---:|",
        f"| 1,000 bootstrap refits of a 1,000-sample Weibull | {b['jaxmle_s']:.3f} s "
        f"| {b['jaxmle_first_call_s']:.2f} s | scipy loop {b['scipy_loop_s']:.1f} s "
        f"({b['scipy_timed']} timed) | {b['speedup']:.0f}x |",
        f"| profile intervals, one Weibull fit (n = 1,000) | {p['one_fit_s']:.3f} s "
        f"| {p['one_fit_first_call_s']:.2f} s | – | – |",
        f"| profile intervals, 1,000 Weibull fits (fit_many) | {p['fit_many_1000x1000_s']:.3f} s "
        f"| {p['fit_many_first_call_s']:.2f} s | – | – |",
        f"| Weibull fit + standard errors (n = 1,000) | {f['jaxmle_s'] * 1e3:.1f} ms "
        f"| – | statsmodels {f['statsmodels_s'] * 1e3:.1f} ms | {f['speedup']:.0f}x |",
        f"| the same, robust (sandwich) | {f['jaxmle_robust_s'] * 1e3:.1f} ms | – | – | – |",
        "",
        f"Standard errors (shape, scale): jaxmle {f['stderr_jaxmle']}, statsmodels "
        f"{f['stderr_statsmodels']}; bootstrap {b['stderr_boot']}.",
    ]
    prefix.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("wrote", prefix.with_suffix(".json"), "and", prefix.with_suffix(".md"))


if __name__ == "__main__":
    main()
