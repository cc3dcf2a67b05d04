"""Command line: ``jaxmle demo``, ``jaxmle families``, ``jaxmle fit``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _device_description() -> str:
    import jax

    d = jax.devices()[0]
    kind = getattr(d, "device_kind", "") or d.platform
    return f"{d.platform} ({kind}), {len(jax.devices())} device(s), jax {jax.__version__}"


def _timed_fit(fam, x, **kw):
    """Fit twice: the first call compiles and runs, the second only runs."""
    import jax

    import jaxmle as jm  # lazy: `jaxmle --help` starts without loading jax

    t0 = time.perf_counter()
    res = jax.block_until_ready(jm.fit(fam, x, **kw))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = jax.block_until_ready(jm.fit(fam, x, **kw))
    run = time.perf_counter() - t0
    return res, max(first - run, 0.0), run


def _demo(args: argparse.Namespace) -> int:
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import numpy as np
    from scipy import stats

    import jaxmle as jm  # lazy: `jaxmle --help` starts without loading jax

    dtype = np.float64 if args.x64 else np.float32
    rng = np.random.default_rng(args.seed)
    n = args.n
    print(f"jaxmle {jm.__version__} demo on {_device_description()}")
    print(
        f"data: {n:,} samples, computing in {np.dtype(dtype).name}"
        " (log-likelihoods are re-evaluated in float64 by scipy.stats to compare)\n"
    )

    # Normal: the closed form is the oracle.
    x = rng.normal(3.0, 2.0, size=n).astype(dtype)
    res, compile_s, run_s = _timed_fit("normal", x)
    x64 = x.astype(np.float64)
    mu = x64.mean()
    sigma = np.sqrt(np.mean((x64 - mu) ** 2))
    t0 = time.perf_counter()
    sp_loc, sp_scale = stats.norm.fit(x64)
    sp_s = time.perf_counter() - t0
    print(f"Normal(loc=3, scale=2) fit by {res.method}")
    print(f"  {'':8}{'jaxmle':>16}{'closed form':>16}{'scipy.stats':>16}")
    print(f"  {'loc':8}{float(res.params['loc']):>16.8f}{mu:>16.8f}{sp_loc:>16.8f}")
    print(f"  {'scale':8}{float(res.params['scale']):>16.8f}{sigma:>16.8f}{sp_scale:>16.8f}")
    ll_closed = -n / 2 * (np.log(2 * np.pi * sigma**2) + 1)
    ll_ours = stats.norm.logpdf(x64, float(res.params["loc"]), float(res.params["scale"])).sum()
    print(f"  log-likelihood at the estimate {ll_ours:.4f}  (closed form {ll_closed:.4f})")
    print(f"  jaxmle's own {np.dtype(dtype).name} sum: {float(res.loglik):.4f}")
    print(
        f"  fit {run_s * 1e3:.1f} ms + compile {compile_s * 1e3:.0f} ms;"
        f" scipy.stats.norm.fit {sp_s * 1e3:.1f} ms\n"
    )

    # Gamma: no closed form; Newton against scipy's own MLE.
    y = rng.gamma(2.5, 1 / 1.5, size=n).astype(dtype)
    res, compile_s, run_s = _timed_fit("gamma", y)
    y64 = y.astype(np.float64)
    t0 = time.perf_counter()
    a, _, scale = stats.gamma.fit(y64, floc=0)
    sp_s = time.perf_counter() - t0
    sp_ll = stats.gamma.logpdf(y64, a, scale=scale).sum()
    print(
        f"Gamma(shape=2.5, rate=1.5) fit by {res.method} "
        f"({int(res.n_iter)} iterations, {res.message})"
    )
    print(f"  {'':8}{'jaxmle':>16}{'std. err.':>12}{'scipy.stats':>16}")
    print(
        f"  {'shape':8}{float(res.params['shape']):>16.8f}"
        f"{float(res.stderr['shape']):>12.2e}{a:>16.8f}"
    )
    print(
        f"  {'rate':8}{float(res.params['rate']):>16.8f}"
        f"{float(res.stderr['rate']):>12.2e}{1 / scale:>16.8f}"
    )
    ll_ours = res.to_scipy().logpdf(y64).sum()
    print(f"  log-likelihood at the estimate {ll_ours:.4f}  (at scipy's: {sp_ll:.4f})")
    print(f"  jaxmle's own {np.dtype(dtype).name} sum: {float(res.loglik):.4f}")
    print(
        f"  fit {run_s * 1e3:.1f} ms + compile {compile_s * 1e3:.0f} ms;"
        f" scipy.stats.gamma.fit(floc=0) {sp_s * 1e3:.1f} ms\n"
    )
    print(res.summary())
    return 0


def _fit_file(args: argparse.Namespace) -> int:
    import numpy as np

    import jaxmle as jm  # lazy: `jaxmle --help` starts without loading jax

    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    data = np.loadtxt(args.path, delimiter="," if args.path.endswith(".csv") else None, ndmin=1)
    if data.ndim != 1:
        raise SystemExit(f"{args.path}: expected one column of numbers, got shape {data.shape}")
    res = jm.fit(args.family, data, method=args.method)
    print(res.summary())
    return 0 if bool(res.converged) else 1


def _families(args: argparse.Namespace) -> int:
    from jaxmle.families import family_names  # lazy: no jax import for --help

    print("\n".join(family_names()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxmle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit a normal and a gamma to 10^6 samples")
    demo.add_argument("--n", type=int, default=1_000_000, help="samples per fit")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--x64", action="store_true", help="compute in float64")
    demo.set_defaults(run=_demo)

    fams = sub.add_parser("families", help="list the registered families")
    fams.set_defaults(run=_families)

    fitp = sub.add_parser("fit", help="fit a family to a one-column text or CSV file")
    fitp.add_argument("family")
    fitp.add_argument("path")
    fitp.add_argument("--method", default="auto")
    fitp.add_argument("--x64", action="store_true", help="compute in float64")
    fitp.set_defaults(run=_fit_file)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError) as exc:
        print(f"jaxmle: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
