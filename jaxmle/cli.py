"""Command line: ``jaxmle demo``, ``jaxmle families``, ``jaxmle fit``,
``jaxmle warmup``."""

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

    # Weibull: no closed form; Newton on all the samples, against scipy's MLE.
    y = (2.0 * rng.weibull(1.5, size=n)).astype(dtype)
    res, compile_s, run_s = _timed_fit("weibull", y)
    y64 = y.astype(np.float64)
    t0 = time.perf_counter()
    c, _, scale = stats.weibull_min.fit(y64, floc=0)
    sp_s = time.perf_counter() - t0
    sp_ll = stats.weibull_min.logpdf(y64, c, scale=scale).sum()
    print(
        f"Weibull(shape=1.5, scale=2) fit by {res.method} "
        f"({int(res.n_iter)} iterations, {res.message})"
    )
    print(f"  {'':8}{'jaxmle':>16}{'std. err.':>12}{'scipy.stats':>16}")
    print(
        f"  {'shape':8}{float(res.params['shape']):>16.8f}"
        f"{float(res.stderr['shape']):>12.2e}{c:>16.8f}"
    )
    print(
        f"  {'scale':8}{float(res.params['scale']):>16.8f}"
        f"{float(res.stderr['scale']):>12.2e}{scale:>16.8f}"
    )
    ll_ours = res.to_scipy().logpdf(y64).sum()
    print(f"  log-likelihood at the estimate {ll_ours:.4f}  (at scipy's: {sp_ll:.4f})")
    print(
        f"  fit {run_s * 1e3:.1f} ms + compile {compile_s * 1e3:.0f} ms;"
        f" scipy.stats.weibull_min.fit(floc=0) {sp_s * 1e3:.1f} ms"
        f" ({sp_s / max(run_s, 1e-9):.0f}x the fit)\n"
    )

    # Many datasets at once: one compiled program for all of them.
    b, m = args.datasets, 1000
    data = (2.0 * rng.weibull(1.5, size=(b, m))).astype(dtype)
    t0 = time.perf_counter()
    many = jax.block_until_ready(jm.fit_many("weibull", data))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    many = jax.block_until_ready(jm.fit_many("weibull", data))
    run_many = time.perf_counter() - t0
    timed = min(b, 50)
    t0 = time.perf_counter()
    shapes = [stats.weibull_min.fit(row, floc=0)[0] for row in data[:timed].astype(np.float64)]
    sp_many = (time.perf_counter() - t0) * b / timed
    gap = np.max(np.abs(np.asarray(many.params["shape"][:timed]) - np.asarray(shapes)))
    print(f"fit_many: {b:,} Weibull datasets of {m:,} samples")
    print(
        f"  {int(np.sum(many.converged)):,} of {b:,} converged; fit_many {run_many * 1e3:.1f} ms"
        f" + compile {max(first - run_many, 0.0) * 1e3:.0f} ms; a scipy.stats loop"
        f" {sp_many * 1e3:.0f} ms ({timed} fits timed, scaled to {b:,})"
    )
    print(f"  largest difference from scipy's shape estimates: {gap:.1e}\n")
    print(res.summary())
    return 0


def _fit_file(args: argparse.Namespace) -> int:
    import jaxmle as jm  # lazy: `jaxmle --help` starts without loading jax

    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    data = _read_column(args.path)
    res = jm.fit(args.family, data, method=args.method)
    print(res.summary())
    return 0 if bool(res.converged) else 1


def _read_column(path: str):
    """The numbers of a one-column text or CSV file, in the compute dtype; a
    ``ValueError`` naming the file and what is wrong with it (unreadable, not
    numbers, not one column, empty, values the compute dtype cannot hold)."""
    import warnings

    import numpy as np

    from jaxmle._engine.validation import convert, float_dtype  # lazy: as above

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: said below
            data = np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=1)
    except FileNotFoundError:
        raise ValueError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # loadtxt counts rows from 0, after comments and blank lines
        raise ValueError(f"{path}: {exc}") from None
    if data.ndim != 1:
        raise ValueError(f"{path}: expected one column of numbers, got shape {data.shape}")
    if data.size > 1 and _one_row_of_several(path):
        raise ValueError(
            f"{path}: expected one column of numbers, got one row of {data.size} values "
            "(write one value per line)"
        )
    if data.size == 0:
        raise ValueError(f"{path} holds no numbers")
    try:
        return convert("x", data, float_dtype(data), hint="pass --x64 to compute in float64")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _one_row_of_several(path: str) -> bool:
    """Whether the file's numbers sit on one line (``np.loadtxt`` with
    ``ndmin=1`` reads a row as a column)."""
    with open(path, errors="replace") as f:
        lines = [ln for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    return len(lines) == 1


def _families(args: argparse.Namespace) -> int:
    from jaxmle.families import family_names  # lazy: no jax import for --help

    print("\n".join(family_names()))
    return 0


WARMUP_FAMILIES = (
    "normal",
    "lognormal",
    "exponential",
    "gamma",
    "weibull",
    "student_t",
    "logistic",
    "beta",
    "poisson",
    "negative_binomial",
)
WARMUP_LENGTHS = (4096, 8192, 16384, 32768, 65536)


def _warmup_data(family, n: int, rng, dtype):
    """``n`` values inside ``family``'s support (compilation depends only on
    shapes, so any valid data will do), or ``None``."""
    import numpy as np

    candidates = (
        rng.normal(0.0, 1.0, n),
        rng.gamma(2.0, 1.0, n),
        rng.beta(2.0, 3.0, n),
        rng.poisson(3.0, n).astype(float),
        rng.integers(0, 2, n).astype(float),
    )
    for c in candidates:
        if bool(np.all(np.asarray(family.support.contains(c)))):
            return c.astype(dtype)
    return None


def _warmup(args: argparse.Namespace) -> int:
    """Compile the programs of the common families and shape buckets now, so
    that they come from the program store later (a cluster image, CI)."""
    import warnings

    import jax
    import numpy as np

    import jaxmle as jm  # lazy: `jaxmle --help` starts without loading jax
    from jaxmle._engine.buckets import fit_length  # lazy: as above
    from jaxmle._engine.cache import cache_state, ensure_cache  # lazy: as above

    where = ensure_cache()
    if where is None:
        print(f"jaxmle: the program store is {cache_state()}: nothing to warm")
        return 1
    rng = np.random.default_rng(0)
    total = time.perf_counter()
    x64 = jax.config.jax_enable_x64
    try:
        for dtype in args.dtype:
            # float32 programs are those of a session without x64 (JAX's default).
            jax.config.update("jax_enable_x64", dtype == "float64")
            for name in args.families:
                family = jm.family(name)
                t0 = time.perf_counter()
                done = []
                for length in sorted({fit_length(v) for v in args.lengths}):
                    x = _warmup_data(family, length - 1, rng, np.dtype(dtype))
                    if x is None:
                        break
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        jm.fit(family, x).summary()
                    done.append(length)
                shown = ", ".join(f"{v:,}" for v in done) if done else "no data in its support"
                print(f"{name:<20} {dtype}  buckets {shown}  ({time.perf_counter() - t0:.1f} s)")
    finally:
        jax.config.update("jax_enable_x64", x64)
    print(f"cache: {where} ({time.perf_counter() - total:.1f} s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxmle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="fit a normal and a Weibull to 10^6 samples, and 1,000 datasets at once"
    )
    demo.add_argument("--n", type=int, default=1_000_000, help="samples per fit")
    demo.add_argument("--datasets", type=int, default=1000, help="datasets for fit_many")
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

    warm = sub.add_parser(
        "warmup", help="fill the program store for the common families and lengths"
    )
    warm.add_argument("--families", nargs="+", default=list(WARMUP_FAMILIES))
    warm.add_argument("--lengths", type=int, nargs="+", default=list(WARMUP_LENGTHS))
    warm.add_argument(
        "--dtype", nargs="+", choices=["float32", "float64"], default=["float32", "float64"]
    )
    warm.set_defaults(run=_warmup)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError) as exc:
        print(f"jaxmle: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
