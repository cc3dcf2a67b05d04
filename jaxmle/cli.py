"""The command line: ``jaxmle fit``, ``select``, ``fit-many``, ``families``,
``demo``, ``warmup`` (also ``python -m jaxmle``).

Files are read by :mod:`jaxmle.datafile`, results written by
:mod:`jaxmle.report` (JSON) and :mod:`jaxmle.plot` (figures). Every problem the
user can fix is one line on stderr (``jaxmle: error: ...``) and exit status 2,
never a traceback; outputs are written atomically and never over the input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

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
    from jaxmle.progress import progress_bar  # lazy: as above

    where = ensure_cache()
    if where is None:
        print(f"jaxmle: the program store is {cache_state()}: nothing to warm")
        return 1
    rng = np.random.default_rng(0)
    total = time.perf_counter()
    x64 = jax.config.jax_enable_x64
    lengths = sorted({fit_length(v) for v in args.lengths})
    steps = len(args.dtype) * len(args.families) * len(lengths)
    bar = progress_bar(steps, "warmup", enabled=args.progress, unit="program")
    later: list[str] = []
    try:
        for dtype in args.dtype:
            # float32 programs are those of a session without x64 (JAX's default).
            jax.config.update("jax_enable_x64", dtype == "float64")
            for name in args.families:
                family = jm.family(name)
                t0 = time.perf_counter()
                done = []
                for length in lengths:
                    bar.set_postfix_str(f"{name} {dtype} {length:,}")
                    x = _warmup_data(family, length - 1, rng, np.dtype(dtype))
                    if x is None:
                        bar.update(len(lengths) - len(done))
                        break
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        jm.fit(family, x).summary()
                    done.append(length)
                    bar.update()
                shown = ", ".join(f"{v:,}" for v in done) if done else "no data in its support"
                line = f"{name:<20} {dtype}  buckets {shown}  ({time.perf_counter() - t0:.1f} s)"
                if bar.shown:  # said when the bar is done (no lines through a bar)
                    later.append(line)
                else:
                    print(line)
    finally:
        bar.close()
        jax.config.update("jax_enable_x64", x64)
    for line in later:
        print(line)
    print(f"cache: {where} ({time.perf_counter() - total:.1f} s)")
    return 0


# ---- reading a data file ------------------------------------------------------------


class CliError(ValueError):
    """A problem the user can fix: one line on stderr, exit status 2."""


class FileData(NamedTuple):
    """What a command read from its data file.

    Attributes:
        x: the observations (or ``jm.Censored`` rows), in the compute dtype, or
            a ``np.memmap`` that the fit streams.
        weights: frequency weights, or ``None``.
        groups: a label per row (``fit-many``), or ``None``.
        column: what was fitted, for the report (``"x"``, ``"left..right"``).
        rows: rows read; dropped: rows left out for missing cells.
        read_s: seconds spent reading.
    """

    x: Any
    weights: Any
    groups: Any
    column: str
    rows: int
    dropped: int
    read_s: float


def _check_outputs(args: argparse.Namespace) -> None:
    """Output files: not the input, not each other, in a folder that exists."""
    outs = [(flag, getattr(args, dest, None)) for flag, dest in _OUTPUTS]
    outs = [(flag, p) for flag, p in outs if p]
    real_in = os.path.realpath(args.file)
    seen: dict[str, str] = {}
    for flag, p in outs:
        real = os.path.realpath(p)
        if real == real_in:
            raise CliError(f"{flag} {p} is the input file: choose another name")
        if real in seen:
            raise CliError(f"{flag} and {seen[real]} both write {p}")
        seen[real] = flag
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise CliError(f"{flag} {p}: the folder {os.path.dirname(p) or '.'} does not exist")
        if os.path.isdir(real):
            raise CliError(f"{flag} {p} is a directory")


_OUTPUTS = (("--output", "output"), ("--plot", "plot"))


def _write_atomic(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, then rename it
    over ``path``: a reader never sees half a file, a failure leaves none."""
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".jaxmle-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)  # read it back: the file gets an ordinary new file's mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(args: argparse.Namespace, *, group: str | None = None) -> FileData:
    """The observations (and weights, groups) that ``args`` asks for."""
    import numpy as np

    from jaxmle import Censored  # lazy: `jaxmle --help` starts without loading jax
    from jaxmle._engine.validation import convert, float_dtype  # lazy: as above
    from jaxmle.datafile import open_data, read_columns  # lazy: as above

    t0 = time.perf_counter()
    data = open_data(args.file)
    left, right = getattr(args, "censor_left", None), getattr(args, "censor_right", None)
    observed = getattr(args, "observed", None)
    if (left is None) != (right is None):
        raise CliError("--censor-left and --censor-right go together (a column each)")
    if left is not None and (args.column or observed):
        raise CliError("give either --column (with --observed) or --censor-left/--censor-right")
    numbers: list[str] = []
    if left is not None:
        numbers += [left, right]
    else:
        numbers.append(_pick_column(data, args.column))
        if observed:
            numbers.append(observed)
    if args.weights:
        numbers.append(args.weights)
    labels = [group] if group else []
    cols, dropped = read_columns(
        data, numbers, labels, allow_missing=(left, right) if left else (),
        drop_missing=args.drop_missing,
    )  # fmt: skip
    values = [c.values for c in cols]
    weights = values[len(numbers) - 1] if args.weights else None
    groups = values[-1] if group else None
    hint = "pass --x64 to compute in float64"
    if left is not None:
        x = Censored(values[0], values[1])
        column = f"{left}..{right} (censored)"
    elif observed:
        x = Censored.from_events(values[0], values[1])
        column = f"{numbers[0]} (event: {observed})"
    else:
        x, column = values[0], numbers[0]
        if not isinstance(x, np.memmap):  # a memmap is checked chunk by chunk as it streams
            try:
                x = convert("x", x, float_dtype(x), hint=hint)
            except ValueError as exc:
                raise CliError(f"{args.file}: {exc}") from None
    rows = len(cols[0].values)
    return FileData(x, weights, groups, column, rows, dropped, time.perf_counter() - t0)


def _pick_column(data, column: str | None) -> str:
    if column is not None:
        data.index(column)  # a clear error for a missing column
        return column
    if len(data.columns) != 1:
        shown = ", ".join(repr(c) for c in data.columns[:10])
        raise CliError(
            f"{data.path} has {len(data.columns)} columns ({shown}); choose one with --column"
        )
    return data.columns[0]


def _parse_fixed(items: Sequence[str] | None) -> dict[str, float]:
    fixed = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--fixed {item!r}: write NAME=VALUE, for example --fixed shape=2")
        try:
            fixed[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"--fixed {item!r}: {value!r} is not a number") from None
    return fixed


def _family(name: str):
    import jaxmle as jm  # lazy: as above

    return jm.family(name)


def _set_x64(args: argparse.Namespace) -> None:
    if getattr(args, "x64", False):
        import jax

        jax.config.update("jax_enable_x64", True)


# ---- commands ---------------------------------------------------------------------


def _fit(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _set_x64(args)
    import warnings

    import jax

    import jaxmle as jm  # lazy: as above
    from jaxmle.report import fit_record, versions  # lazy: as above

    family = _family(args.family)
    fixed = _parse_fixed(args.fixed)
    data = _read(args)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = jm.fit(
            family, data.x, weights=data.weights, method=args.method, fixed=fixed or None,
            max_iter=args.max_iter, progress=_progress(args),
        )  # fmt: skip
        res = jax.block_until_ready(res)
    fit_s = time.perf_counter() - t0
    converged = bool(res.converged)
    record = {
        "input": {
            "file": args.file, "column": data.column, "rows": data.rows,
            "dropped_missing": data.dropped,
        },
        **fit_record(res, args.level, args.ci if converged else "wald"),
        "warnings": [str(w.message) for w in caught],
        "timings": {"read_s": data.read_s, "fit_s": fit_s},
        "versions": versions(jm.__version__),
    }  # fmt: skip
    if args.plot:
        t0 = time.perf_counter()
        _save_plot(args.plot, lambda: res.plot(data=_plot_sample(data.x)))
        record["timings"]["plot_s"] = time.perf_counter() - t0
    _emit(args, record, lambda: _fit_text(args, data, res, fit_s))
    for w in caught:
        if not issubclass(w.category, jm.ConvergenceWarning):  # said once, below
            print(f"jaxmle: warning: {w.message}", file=sys.stderr)
    if not converged:
        print(f"jaxmle: the fit did not converge: {res.message}", file=sys.stderr)
    return 0 if converged else 1


def _fit_text(args, data: FileData, res, fit_s: float) -> str:
    dropped = f", {data.dropped:,} dropped for missing cells" if data.dropped else ""
    head = f"{args.file}, column {data.column}: {data.rows:,} rows{dropped}"
    times = f"read {data.read_s:.2f} s, fit {fit_s:.2f} s (compile included)"
    return f"{head}\n{res.summary(level=args.level)}\n{times}"


def _plot_sample(x):
    """Data for a plot of a streamed fit (whose result holds no data): a
    memmap's evenly spaced rows (the plot bins or subsamples anyway)."""
    import numpy as np

    if isinstance(x, np.memmap):
        step = max(1, x.shape[0] // 1_000_000)
        return np.asarray(x[::step])
    return None


def _save_plot(path: str, draw: Callable[[], Any]) -> None:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise CliError("--plot needs matplotlib: pip install 'jaxmle[plot]'") from None
    matplotlib.use("Agg")
    fig = draw()
    try:
        _write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format=_image_format(path)))
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def _image_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in ("png", "pdf", "svg", "jpg", "jpeg"):
        raise CliError(f"--plot {path}: name a .png, .pdf, .svg or .jpg file")
    return ext


def _emit(args: argparse.Namespace, record: Any, text: Callable[[], str]) -> None:
    """The result: JSON on stdout (``--json``), or the table on stdout and
    JSON into ``--output``."""
    doc = json.dumps(record, indent=2, allow_nan=False) + "\n"
    if args.output:
        _write_atomic(args.output, lambda tmp: Path(tmp).write_text(doc))
    if args.json:
        sys.stdout.write(doc)
    else:
        print(text())


def _select(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _set_x64(args)
    import jaxmle as jm  # lazy: as above
    from jaxmle.report import selection_record, versions  # lazy: as above

    families: Any = args.families
    if len(families) == 1 and families[0] in _FAMILY_GROUPS:
        families = families[0]
    data = _read(args)
    t0 = time.perf_counter()
    sel = jm.select(
        data.x, families, criterion=args.criterion, weights=data.weights,
        progress=_progress(args),
    )  # fmt: skip
    select_s = time.perf_counter() - t0
    if not sel.candidates:
        raise CliError(f"{args.file}: no candidate family could be fitted")
    record = {
        "input": {"file": args.file, "column": data.column, "rows": data.rows,
                  "dropped_missing": data.dropped},
        **selection_record(sel),
        "timings": {"read_s": data.read_s, "select_s": select_s},
        "versions": versions(jm.__version__),
    }  # fmt: skip
    if args.plot:
        top = [c.fit for c in sel.candidates[: args.plot_top]]
        _save_plot(args.plot, lambda: jm.plot.compare(top, data=_plot_sample(data.x)))
    _emit(args, record, lambda: f"{args.file}, column {data.column}: {data.rows:,} rows\n{sel}")
    return 0


_FAMILY_GROUPS = ("continuous", "positive", "discrete", "all")


def _fit_many(args: argparse.Namespace) -> int:
    _check_outputs(args)
    _set_x64(args)
    import numpy as np

    import jaxmle as jm  # lazy: as above
    from jaxmle.report import groups_record, text_table, versions  # lazy: as above

    family = _family(args.family)
    fixed = _parse_fixed(args.fixed)
    data = _read(args, group=args.group)
    t0 = time.perf_counter()
    fits = jm.fit_groups(
        family, data.x, data.groups, weights=data.weights, method=args.method,
        fixed=fixed or None, max_iter=args.max_iter, on_invalid="flag",
        progress=_progress(args),
    )  # fmt: skip
    fit_s = time.perf_counter() - t0
    rows = groups_record(fits)
    record = {
        "input": {"file": args.file, "column": data.column, "group": args.group,
                  "rows": data.rows, "dropped_missing": data.dropped},
        "family": family.name,
        "groups": rows,
        "timings": {"read_s": data.read_s, "fit_s": fit_s},
        "versions": versions(jm.__version__),
    }  # fmt: skip

    def text() -> str:
        table = fits.to_table()
        keys = [k for k in table if k not in ("n_iter", "message", "aic", "bic")]
        body = [[_scalar(table[k][i]) for k in keys] for i in range(len(fits))]
        ok = int(np.sum(table["converged"]))
        head = (
            f"{args.file}: {family.name} fitted to column {data.column} in {len(fits):,} "
            f"groups of {args.group} ({ok:,} converged; {fit_s:.2f} s, compile included)"
        )
        return f"{head}\n{text_table(keys, body)}"

    _emit(args, record, text)
    return 0 if all(r["converged"] for r in rows) else 1


def _scalar(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    return v


def _families(args: argparse.Namespace) -> int:
    from jaxmle.families.registry import family_table  # lazy: no jax import for --help
    from jaxmle.report import text_table  # lazy: as above

    rows = family_table()
    if args.names:
        print("\n".join(r.name for r in rows))
        return 0
    body = [
        [r.name, ", ".join(p for p, _ in r.params), r.support, r.scipy, r.closed_form] for r in rows
    ]
    print(text_table(["family", "parameters", "support", "scipy.stats", "closed form"], body))
    print("\njaxmle families --names: the names only; the README has the densities.")
    return 0


# ---- the parser ---------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``jaxmle: error: ...`` and where to
    find the usage, exit status 2 (argparse prints the whole usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"jaxmle: error: {message} (see: {self.prog} --help)\n")


_EXAMPLES = """\
examples:
  jaxmle fit data.csv --family gamma --column duration
  jaxmle fit data.csv -f weibull -c t --observed event --json
  jaxmle fit data.csv -f gamma -c x --output fit.json --plot fit.png
  jaxmle select data.csv -c x --families positive --plot candidates.png
  jaxmle fit-many data.csv -f lognormal -c x --group site --output fits.json
  jaxmle families

Files: CSV/TSV or other delimited text (header or not; the delimiter is
sniffed), .npy, Parquet (pip install 'jaxmle[parquet]'). Errors are one line
on stderr with exit status 2; a fit that did not converge exits with 1.
"""


def _data_options(p: argparse.ArgumentParser, *, column_help: str) -> None:
    p.add_argument("file", help="CSV/TSV/text, .npy or .parquet file")
    p.add_argument("-c", "--column", help=column_help)
    p.add_argument("--weights", metavar="COL", help="a column of frequency weights")
    p.add_argument(
        "--drop-missing", action="store_true",
        help="leave out rows with a missing cell (default: an error naming the lines)",
    )  # fmt: skip
    p.add_argument("--x64", action="store_true", help="compute in float64 (default float32)")


def _output_options(p: argparse.ArgumentParser, *, plot: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the JSON result to FILE")
    if plot:
        p.add_argument("--plot", metavar="PNG", help="save a diagnostic figure (.png/.pdf/.svg)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress", dest="progress", action="store_true", default=None,
        help="show a progress bar (default: on a terminal only)",
    )  # fmt: skip
    bar.add_argument("--no-progress", dest="progress", action="store_false")


def _progress(args: argparse.Namespace) -> bool | None:
    return getattr(args, "progress", None)


def _fit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--family", required=True, help="a registered name (jaxmle families)")
    p.add_argument("--method", default="auto", help="auto, newton, lbfgs, adam, ... (default auto)")
    p.add_argument("--max-iter", type=int, help="at most this many solver iterations")
    p.add_argument(
        "--fixed", action="append", metavar="NAME=VALUE",
        help="hold a parameter at a value (repeatable), e.g. --fixed loc=0",
    )  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxmle",
        description="Maximum-likelihood fits of distributions to data files, on JAX.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = sub.add_parser(
        "fit", help="fit a family to a column of a file", epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _data_options(fit, column_help="the column to fit (header name, or 1-based number)")
    _fit_options(fit)
    fit.add_argument(
        "--observed", metavar="COL", help="event indicator (1 observed, 0 right-censored)"
    )
    fit.add_argument(
        "--censor-left", metavar="COL", help="lower bounds of censored rows (empty: -inf)"
    )
    fit.add_argument(
        "--censor-right", metavar="COL", help="upper bounds (empty: +inf; equal: exact)"
    )
    fit.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    fit.add_argument("--ci", choices=["wald", "profile"], default="wald", help="interval method")
    _output_options(fit)
    fit.set_defaults(run=_fit)

    sel = sub.add_parser(
        "select", help="fit candidate families to a column and rank them",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EXAMPLES,
    )  # fmt: skip
    _data_options(sel, column_help="the column to fit (header name, or 1-based number)")
    sel.add_argument(
        "--families", nargs="+", default=["continuous"], metavar="NAME",
        help="names, or one group: continuous (default), positive, discrete, all",
    )  # fmt: skip
    sel.add_argument("--criterion", choices=["aic", "aicc", "bic"], default="aic")
    sel.add_argument("--plot-top", type=int, default=4, help="candidates in --plot (default 4)")
    _output_options(sel)
    sel.set_defaults(run=_select, observed=None, censor_left=None, censor_right=None)

    many = sub.add_parser(
        "fit-many", help="fit a family to each group of rows of a file (one program)",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EXAMPLES,
    )  # fmt: skip
    _data_options(many, column_help="the column to fit (header name, or 1-based number)")
    many.add_argument("-g", "--group", required=True, metavar="COL", help="the group label column")
    _fit_options(many)
    _output_options(many, plot=False)
    many.set_defaults(run=_fit_many, observed=None, censor_left=None, censor_right=None)

    demo = sub.add_parser(
        "demo", help="fit a normal and a Weibull to 10^6 samples, and 1,000 datasets at once"
    )
    demo.add_argument("--n", type=int, default=1_000_000, help="samples per fit")
    demo.add_argument("--datasets", type=int, default=1000, help="datasets for fit_many")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--x64", action="store_true", help="compute in float64")
    demo.set_defaults(run=_demo)

    fams = sub.add_parser("families", help="the registered families and their parameters")
    fams.add_argument("--names", action="store_true", help="the names only, one a line")
    fams.set_defaults(run=_families)

    warm = sub.add_parser(
        "warmup", help="fill the program store for the common families and lengths"
    )
    warm.add_argument("--families", nargs="+", default=list(WARMUP_FAMILIES))
    warm.add_argument("--lengths", type=int, nargs="+", default=list(WARMUP_LENGTHS))
    warm.add_argument(
        "--dtype", nargs="+", choices=["float32", "float64"], default=["float32", "float64"]
    )
    bar = warm.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None)
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    warm.set_defaults(run=_warmup)
    return parser


def _level(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1)")
    return v


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status: 0 done, 1 a fit did not
    converge, 2 bad input or options (one line on stderr), 130 interrupted."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        print(f"jaxmle: error: {text}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        print(f"jaxmle: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxmle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
