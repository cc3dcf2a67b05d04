"""jaxmle.fit against scipy.stats fits, in the same run.

For gamma and Weibull (location fixed at 0 in scipy, as jaxmle's families have
no location) at N = 1e5 and 1e6, measures:

* jaxmle fit time without compilation (best of ``--repeat`` calls of
  ``jm.fit`` after a first call that compiled; validation and transfer included),
* compile time (first call minus a steady-state call),
* the time of one jitted log-likelihood pass at the estimate, and the ratio
  fit / pass (the machine-independent figure),
* scipy.stats' ``fit`` time (best of ``--repeat``),
* the log-likelihood each reached, both evaluated in float64 by scipy at the
  respective estimates, and the ratio scipy time / jaxmle time.

Writes a markdown table with the machine it ran on, ``bench_fit_<dtype>.md``, into
``benchmarks/results/<date>-<machine>/`` (``--out`` names another folder, or a
``.md`` file).

Run: ``python benchmarks/bench_fit.py`` (``--dtype float32`` for the GPU default).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import best as _best, machine as _machine, results_dir as _results_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default benchmarks/results/<date>-<machine>/) or a .md file",
    )
    args = parser.parse_args()

    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from scipy import stats

    import jaxmle as jm
    from jaxmle.likelihood import total_loglik

    families = {
        "gamma": (
            lambda r, n: r.gamma(2.5, 1 / 1.5, n),
            lambda x: stats.gamma.fit(x, floc=0),
            lambda x, p: stats.gamma.logpdf(x, p[0], loc=p[1], scale=p[2]).sum(),
        ),
        "weibull": (
            lambda r, n: 3.0 * r.weibull(1.7, n),
            lambda x: stats.weibull_min.fit(x, floc=0),
            lambda x, p: stats.weibull_min.logpdf(x, p[0], loc=p[1], scale=p[2]).sum(),
        ),
    }
    rows = []
    rng = np.random.default_rng(0)
    for name, (draw, scipy_fit, scipy_ll) in families.items():
        for n in args.sizes:
            x64 = draw(rng, n)
            x = x64.astype(args.dtype)
            fam = jm.family(name)

            t0 = time.perf_counter()
            jax.block_until_ready(jm.fit(fam, x))
            first = time.perf_counter() - t0
            fit_s, res = _best(lambda: jax.block_until_ready(jm.fit(fam, x)), args.repeat)  # noqa: B023
            compile_s = max(first - fit_s, 0.0)

            xd = jnp.asarray(x)
            ll_fn = jax.jit(lambda p, xd: total_loglik(fam, p, xd, None))  # noqa: B023
            jax.block_until_ready(ll_fn(res.params, xd))
            pass_s, _ = _best(
                lambda: jax.block_until_ready(ll_fn(res.params, xd)),  # noqa: B023
                max(10, args.repeat),
            )

            sp_repeat = 1 if n >= 10**7 else args.repeat
            sp_s, sp = _best(lambda: scipy_fit(x64), sp_repeat)  # noqa: B023
            sp_ll = scipy_ll(x64, sp)
            ours = res.to_scipy()
            our_ll = ours.logpdf(x64).sum()
            rows.append(
                {
                    "family": name,
                    "n": n,
                    "method": f"{res.method} ({int(res.n_iter)} it.)",
                    "converged": bool(res.converged),
                    "fit_ms": fit_s * 1e3,
                    "compile_ms": compile_s * 1e3,
                    "pass_ms": pass_s * 1e3,
                    "scipy_ms": sp_s * 1e3,
                    "ll": our_ll,
                    "sp_ll": sp_ll,
                }
            )
            r = rows[-1]
            print(
                f"{name:8s} n={n:>9,d} jaxmle {r['fit_ms']:9.1f} ms (compile {r['compile_ms']:7.0f}"
                f" ms, {r['fit_ms'] / r['pass_ms']:6.1f} passes)  scipy {r['scipy_ms']:9.1f} ms"
                f"  speed-up x{r['scipy_ms'] / r['fit_ms']:6.2f}"
                f"  loglik {our_ll:.6f} vs {sp_ll:.6f}",
                flush=True,
            )

    import jaxmle

    lines = [
        f"# bench_fit: jaxmle {jaxmle.__version__} vs scipy.stats ({args.dtype})",
        "",
        f"Machine: {_machine()}",
        "",
        f"Command: `python benchmarks/bench_fit.py --dtype {args.dtype}`"
        f" (best of {args.repeat}, scipy once at n >= 1e7; compile = first call minus steady call;"
        " log-likelihoods evaluated in float64 by scipy at each estimate)",
        "",
        "| family | n | jaxmle method | converged | jaxmle fit (ms) | compile (ms) "
        "| one loglik pass (ms) | fit / pass | scipy fit (ms) | scipy / jaxmle "
        "| loglik jaxmle | loglik scipy | jaxmle - scipy |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['n']:,} | {r['method']} | {r['converged']} "
            f"| {r['fit_ms']:.1f} | {r['compile_ms']:.0f} | {r['pass_ms']:.2f} "
            f"| {r['fit_ms'] / r['pass_ms']:.1f} | {r['scipy_ms']:.1f} "
            f"| {r['scipy_ms'] / r['fit_ms']:.2f} | {r['ll']:.4f} | {r['sp_ll']:.4f} "
            f"| {r['ll'] - r['sp_ll']:+.2e} |"
        )
    if args.out is not None and args.out.suffix == ".md":
        out = args.out
        out.parent.mkdir(parents=True, exist_ok=True)
    else:
        out = _results_dir(args.out) / f"bench_fit_{args.dtype}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
