"""Fuzzing ``jm.fit`` and the command line's file reader with random and
adversarial input (hypothesis): random bytes, CSV-ish text, NaN/inf, huge,
tiny and subnormal numbers, empty data, wrong shapes, object arrays, strings.

The contract, whatever the input: the outcome is either

- a result: finite estimates inside the parameter space, a finite
  log-likelihood that is the density at the estimates, standard errors finite
  and positive (or NaN with the reason in the message), and the estimate is
  a maximum (nearby points score lower); or ``converged=False`` with a message;
- or a ``ValueError``/``TypeError`` with a message;

never another exception, never a crash or a hang, and the inputs are never
modified. The command line exits 0 (converged), 1 (not converged) or 2 (one
line on stderr, no traceback), or stops with a one-line message.

Time is bounded: a fit is a bounded loop, hypothesis' deadline catches a slow
example, and a watchdog ends the process (with every thread's traceback) if an
example hangs. The CI profile is brief; ``JAXMLE_PROPERTY_PROFILE=large`` runs
far more examples over more families.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import math
import os
import pickle
import tempfile
import warnings
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import jaxmle as jm
from jaxmle.cli import main

pytestmark = pytest.mark.fuzz

LARGE = os.environ.get("JAXMLE_PROPERTY_PROFILE", "ci") == "large"

FUZZ = settings(
    # A first example per family compiles its programs (a few seconds on a
    # loaded CPU); a slow example beyond this is a failure in itself.
    deadline=timedelta(seconds=60 if LARGE else 30),
    derandomize=not LARGE,  # CI runs the same examples every time
    database=None,
    print_blob=True,
    max_examples=2000 if LARGE else 60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HANG_SECONDS = 300  # the watchdog: far beyond any fit of these few values

# Few families keep the compiled programs few (one per family and dtype, all
# lengths <= 4,096 share a bucket): a closed form, Newton on statistics,
# Newton on the data, a discrete family. The large profile adds more.
FAMILIES = ["normal", "gamma", "weibull", "poisson"]
if LARGE:
    FAMILIES += ["logistic", "student_t", "beta", "pareto", "uniform", "exponential", "lognormal"]

NAN, INF = float("nan"), float("inf")
SPECIAL = st.sampled_from(
    [
        *(0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, 5e-324, 2.2250738585072014e-308, 1e-310),
        *(1e300, 1.7976931348623157e308, -1e300, NAN, INF, -INF, 3.4e38, 1.2e-38, 1e-45),
    ]
)
ANY_FLOAT = SPECIAL | st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS):
    """End the process with every thread's traceback if the block hangs."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# ---- strategies -----------------------------------------------------------------------


@st.composite
def adversarial_samples(draw, where="anywhere"):
    """1-D float samples that are valid data for some family: (nearly)
    constant, a few ulps apart, far from 0, spanning decades at once; scaled
    ``"anywhere"`` in the dtype's range, to its ``"ends"`` (subnormals, the
    last decades below the largest float) or to its ``"interior"`` (every
    non-zero magnitude between 10 times the smallest normal float and a tenth
    of the largest)."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = ["normal", "gamma", "counts", "decades", "constant", "ulps", "two"]
    kind = draw(st.sampled_from(kinds))
    if kind == "normal":
        base = rng.normal(0.0, 1.0, n)
    elif kind == "gamma":
        base = rng.gamma(draw(st.floats(0.05 if where != "interior" else 0.5, 20.0)), 1.0, n)
    elif kind == "counts":
        base = rng.poisson(draw(st.floats(0.0, 50.0)), n).astype(np.float64)
    elif kind == "decades":  # positive values spread over many decades
        base = rng.uniform(1.0, 10.0, n) * 10.0 ** rng.integers(-12, 1, n)
    elif kind == "constant":
        base = np.ones(n)
    elif kind == "ulps":  # values a few ulps apart
        base = 1.0 + rng.integers(0, 4, n) * np.finfo(np.float64).eps
    else:
        base = np.where(rng.random(n) < 0.5, 1.0, 2.0)
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    info = np.finfo(dtype)
    lo, hi = int(np.log10(info.smallest_subnormal)), int(np.log10(info.max))
    tiny = int(np.log10(info.tiny))
    ends = st.sampled_from([lo, lo + 2, tiny - 2, tiny, tiny + 1, hi - 2, hi - 1, hi])
    inside = st.integers(tiny + 14, hi - 3)
    ranges = {"anywhere": ends | st.integers(lo, hi), "ends": ends, "interior": inside}
    exponent = draw(ranges[where])
    offset = draw(st.sampled_from([0.0, 0.0, 0.0, 1e6, -1e8, 1e15]))
    with np.errstate(all="ignore"):
        x = (base * 10.0**exponent + offset).astype(dtype)
    if where == "interior":
        mags = np.abs(x[x != 0])
        assume(np.all(mags >= 10 * info.tiny) and np.all(mags <= info.max / 10))
    return x


def numpy_arrays():
    dtypes = st.sampled_from(
        [
            *(np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_),
            *(np.complex128, np.dtype("<U3"), np.dtype("datetime64[s]"), np.dtype("m8[ms]")),
        ]
    )
    return hnp.arrays(dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))


def object_arrays():
    items = st.lists(ANY_FLOAT | st.text(max_size=3) | st.none() | st.integers(), max_size=8)
    return items.map(lambda v: np.array([*v, None], dtype=object)[:-1] if v else np.array([]))


def python_values():
    return st.one_of(
        st.lists(ANY_FLOAT, max_size=12),
        st.lists(st.text(max_size=4), max_size=6),
        st.lists(st.lists(ANY_FLOAT, max_size=3), max_size=4),  # ragged
        st.lists(st.integers(-(2**70), 2**70), max_size=6),  # beyond int64
        st.none(),
        st.text(max_size=8),
        st.binary(max_size=8),
        ANY_FLOAT,
        st.dictionaries(st.text(max_size=2), ANY_FLOAT, max_size=2),
        st.tuples(ANY_FLOAT, st.text(max_size=2)),
    )


DATA = st.one_of(adversarial_samples(), numpy_arrays(), object_arrays(), python_values())


def weights_for(x):
    try:
        n = len(x)
    except TypeError:  # a scalar, a 0-d array
        n = 1
    return st.one_of(
        st.none(),
        st.none(),
        hnp.arrays(np.float64, n, elements=st.integers(0, 3).map(float)),
        hnp.arrays(np.float64, n, elements=ANY_FLOAT),
        hnp.arrays(np.float64, st.integers(0, n + 2), elements=st.floats(0, 3)),
        st.lists(st.text(max_size=2), max_size=3),
    )


INIT = st.one_of(
    st.none(),
    st.none(),
    st.dictionaries(st.sampled_from(["loc", "scale", "shape", "rate", "nope"]), ANY_FLOAT),
)


# ---- the contract of a result ---------------------------------------------------------


def _as_scipy_data(x, w):
    x = np.asarray(x)
    w = np.ones(x.shape[0]) if w is None else np.asarray(w, np.float64)
    return x.astype(np.float64), w


def _scipy_loglik(dist, x, w) -> float:
    discrete = hasattr(dist, "pmf") or hasattr(getattr(dist, "dist", None), "logpmf")
    with np.errstate(all="ignore"):
        per = dist.logpmf(x) if discrete else dist.logpdf(x)
        return float(np.sum(np.where(w > 0, w * per, 0.0)))


def _ulp_step(v, to) -> np.ndarray:
    """``v`` (in its own float dtype) moved one ulp towards ``to``, as float64."""
    a = np.asarray(v)
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    return np.nextafter(a, a.dtype.type(to) * np.inf).astype(np.float64)


def check_result(res: jm.FitResult, fam, x, w) -> None:
    message = res.message
    assert isinstance(message, str) and message.strip(), "a result always says how it ended"
    if not bool(res.converged):
        return  # honest: not converged, and says why
    for k, v in res.params.items():
        v = np.asarray(v, np.float64)
        assert np.all(np.isfinite(v)), (k, v, message)
        inside = bool(np.all(np.asarray(fam.constraints[k].contains(v))))
        # An MLE on the boundary of the parameter space (a Poisson rate of 0)
        # is reported as such.
        assert inside or "boundary" in message, (k, v, message)
    assert np.isfinite(float(res.loglik)), (float(res.loglik), message)
    for k in res.free_names:
        se = np.asarray(res.stderr[k], np.float64)
        ok = np.isfinite(se) & (se > 0)
        # A NaN standard error comes with the reason; never a 0 or an inf.
        assert np.all(ok | np.isnan(se)), (k, se, message)
        if not np.all(ok):
            assert "standard error" in message, (k, se, message)
    xs, ws = _as_scipy_data(x, w)
    finite_x = np.all(np.isfinite(xs)) and np.all(np.abs(xs[ws > 0]) < 1e300)
    if fam.event_ndim or not finite_x:
        return
    # The log-likelihood is the density at the estimate, where scipy can say:
    # a log-pmf of large counts loses digits (x log x cancels against log x!,
    # in scipy too: test_poisson_loglik_of_large_counts checks ours), and
    # where the estimate's last bit moves the density (data a few ulps apart)
    # rounding the estimate changes it: that spread is allowed.
    single = np.asarray(x).dtype in (np.float32, np.float16)  # computed in float32
    eps = float(np.finfo(np.float32 if single else np.float64).eps)
    top = float(np.max(np.abs(xs)))
    if hasattr(res.to_scipy(), "pmf") and top * np.log1p(top) * eps > 1e-6:
        return
    params = {q: np.asarray(p, np.float64) for q, p in res.params.items()}
    ref = _scipy_loglik(fam.scipy(params), xs, ws)
    if not np.isfinite(ref):
        return
    # How much the density moves when an estimate moves by one ulp of its
    # dtype, or every observation by one ulp of the data's: the rounding that
    # the comparison must allow.
    nudged = [
        _scipy_loglik(fam.scipy({**params, k: _ulp_step(res.params[k], to)}), xs, ws)
        for k in res.free_names
        for to in (-1, 1)
    ]
    if not hasattr(res.to_scipy(), "pmf"):  # counts stay counts
        nudged += [_scipy_loglik(fam.scipy(params), _ulp_step(x, to), ws) for to in (-1, 1)]
    rounding = max(abs(v - ref) for v in nudged) if np.all(np.isfinite(nudged)) else np.inf
    tol = 1e-4 if single else 1e-8
    ll = float(res.loglik)
    allowed = tol * (abs(ref) + float(np.sum(ws))) + 2 * rounding
    assert abs(ll - ref) <= allowed, (ll, ref, allowed, message)
    # The estimate is a maximum: every parameter moved by 1e-3 (relative, or
    # absolute at 0) scores no higher.
    slack = tol / 100 * (abs(ref) + float(np.sum(ws))) + 2 * rounding
    for k in res.free_names:
        if k in {"low", "high"} or (fam.name == "pareto" and k == "scale"):
            continue  # a data extreme: outward lowers the density, inward leaves the support
        v = float(params[k])
        for h in (-1e-3, 1e-3):
            moved = {**params, k: np.asarray(v * (1 + h) if v else h)}
            if bool(np.all(np.asarray(fam.constraints[k].contains(moved[k])))):
                other = _scipy_loglik(fam.scipy(moved), xs, ws)
                assert not other > ref + slack, (k, v, h, other, ref, message)


def run_fit(fam, x, w=None, init=None) -> jm.FitResult | None:
    """Fit under the contract: the result, or None for a clear error."""
    before = pickle.dumps((x, w, init))
    try:
        with watchdog(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = jm.fit(fam, x, weights=w, init=init)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        event(f"{type(exc).__name__}")
        return None
    finally:
        assert pickle.dumps((x, w, init)) == before, "the input was modified"
    event("converged" if bool(res.converged) else "not converged")
    check_result(res, jm.family(fam), x, w)
    return res


# ---- jm.fit -----------------------------------------------------------------------------


@FUZZ
@given(fam=st.sampled_from(FAMILIES), data=st.data())
def test_fit_of_any_input_is_a_result_or_a_clear_error(fam, data):
    x = data.draw(DATA, label="x")
    w = data.draw(weights_for(x), label="weights")
    init = data.draw(INIT, label="init")
    run_fit(fam, x, w, init)


def _scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(u, e)`` with ``x = u * 2**e`` exactly and ``max |u|`` in [0.5, 1):
    sums of ``u`` and of its squares cannot overflow."""
    top = float(np.max(np.abs(x)))
    e = int(np.frexp(top)[1]) if top > 0 else 0
    return np.ldexp(x, -e), e


def _mean_rms(v: np.ndarray) -> tuple[float, float]:
    u, e = _scaled(v)
    mean = math.fsum(u) / len(u)
    rms = math.sqrt(math.fsum((u - mean) ** 2) / len(u))
    return float(np.ldexp(mean, e)), float(np.ldexp(rms, e))


def _oracle(name: str, x: np.ndarray) -> dict[str, float]:
    """The exact MLE of the closed-form families, in float64 from exactly
    rounded sums (math.fsum) of the power-of-2-scaled data."""
    xs = x.astype(np.float64)
    mean, rms = _mean_rms(xs)
    u, e = _scaled(xs)
    with np.errstate(all="ignore"):
        if name == "normal":
            return {"loc": mean, "scale": rms}
        if name == "exponential":
            return {"rate": 1.0 / mean}
        if name == "poisson":
            return {"rate": mean}
        if name == "half_normal":
            return {"scale": float(np.ldexp(math.sqrt(math.fsum(u**2) / len(u)), e))}
        if name == "uniform":
            return {"low": float(xs.min()), "high": float(xs.max())}
        if name == "lognormal":
            loc, scale = _mean_rms(np.log(xs))
            return {"loc": loc, "scale": scale}
    raise AssertionError(name)


ORACLE_FAMILIES = ("normal", "exponential", "half_normal", "uniform", "poisson", "lognormal")

# Library defects these tests found (the issue "never a confident wrong
# number"): the fixed ones are plain tests now (closed forms at the top of
# the range, subnormal counts, standard errors that underflow, equal logs);
# a case still open is marked, strictly in CI (a strict mark fails once the
# case passes: remove it when its fix lands).
KNOWN_AT_THE_ENDS: dict[str, str] = {}


def check_closed_form(fam: str, x: np.ndarray) -> None:
    """A clear refusal, an honest non-convergence, or the exact MLE to the
    dtype's rounding."""
    res = run_fit(fam, x)
    if res is None or not bool(res.converged):
        return
    want = _oracle(fam, x)
    eps = float(np.finfo(x.dtype).eps)
    xs = x.astype(np.float64)
    mean_abs = _mean_rms(np.abs(xs))[0]
    mean_log = 1.0 + _mean_rms(np.abs(np.log(xs)))[0] if fam == "lognormal" else 0.0
    for k, v in want.items():
        got = float(res.params[k])
        assert np.isfinite(v), f"{k}: the MLE is {v} (not representable), yet converged={got}"
        # 64 ulps of the estimate; a location (a mean of values that cancel)
        # and a scale (of values a few ulps apart) also a few ulps of the
        # data's magnitude (of log x for the lognormal: an ulp of x is an
        # absolute eps in log x).
        allowed = 64 * eps * abs(v)
        if k in ("loc", "scale"):
            allowed += 8 * eps * (mean_log if fam == "lognormal" else mean_abs)
        assert abs(got - v) <= allowed, (k, got, v, allowed)


@FUZZ
@pytest.mark.parametrize("fam", ORACLE_FAMILIES)
@given(x=adversarial_samples("interior"))
def test_closed_forms_are_exact_across_the_range(fam, x):
    check_closed_form(fam, x)


@FUZZ
@pytest.mark.parametrize(
    "fam",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=not LARGE, reason=KNOWN_AT_THE_ENDS[f]))
        if f in KNOWN_AT_THE_ENDS
        else f
        for f in ORACLE_FAMILIES
    ],
)
@given(x=adversarial_samples("ends"))
def test_closed_forms_at_the_ends_of_the_range(fam, x):
    """Subnormal values and values within a decade of the largest float."""
    check_closed_form(fam, x)


@FUZZ
@given(fam=st.sampled_from(FAMILIES), x=adversarial_samples())
def test_valid_data_at_any_magnitude(fam, x):
    """Data in (or near) the family's support: a result or a clear refusal,
    under the contract (an estimate that is a maximum)."""
    run_fit(fam, x)


# ---- the command line's file reader -------------------------------------------------------


TOKENS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(1e-320, 1e308).map(lambda v: f"{v:g}"),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(
        [
            *("nan", "inf", "-inf", "1e999", "-1e999", "5e-324", "1e-400", "0x1p3", "1_000"),
            *("+-1", "", " ", "abc", "1.2.3", "#", "# comment", "1,5", '"3"', "\x00", "١٢", "1e"),
        ]
    ),
)


@st.composite
def csvish(draw):
    rows = draw(st.lists(st.lists(TOKENS, min_size=1, max_size=3), max_size=12))
    sep = draw(st.sampled_from([",", " ", "\t", ";", ", "]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(sep.join(r) for r in rows) + draw(st.sampled_from(["", end]))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), "replace")


FILES = st.one_of(st.binary(max_size=400), csvish(), st.just(b""), st.just(b"\n\n"))


def run_cli(family: str, content: bytes, suffix: str) -> tuple[int | str, str, str]:
    """``main(["fit", path, "-f", family])`` under the contract: the exit status
    (``"stop"`` for a ``SystemExit`` with a message, which Python prints to
    stderr before it exits with status 1), stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data" + suffix)
        with open(path, "wb") as f:
            f.write(content)
        try:
            with (
                watchdog(),
                warnings.catch_warnings(),
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                warnings.simplefilter("ignore")
                code = main(["fit", path, "-f", family])
        except SystemExit as stop:  # a one-line message, non-zero exit
            assert isinstance(stop.code, str) and stop.code.strip(), stop.code
            assert "\n" not in stop.code.strip(), stop.code
            code = "stop"
            err.write(stop.code)
        with open(path, "rb") as f:
            assert f.read() == content, "the file was modified"
    return code, out.getvalue(), err.getvalue()


@FUZZ
@given(
    family=st.sampled_from(FAMILIES), content=FILES, suffix=st.sampled_from([".csv", ".txt", ""])
)
def test_cli_fit_of_any_file_exits_cleanly(family, content, suffix):
    code, out, err = run_cli(family, content, suffix)
    event(f"exit {code}")
    assert code in (0, 1, 2, "stop"), code
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jaxmle: error: "), err
        assert "Traceback" not in err
    if code in (0, 1):  # the summary, converged or not
        assert "log-likelihood" in out, out


def test_cli_reads_what_numpy_reads_and_fits_it(tmp_path):
    """The reader is not fuzzed into rejecting everything: a well-formed
    column (with a blank line and a comment) gives numpy's numbers' fit."""
    x = np.random.default_rng(3).gamma(2.0, 1.5, 300)
    path = tmp_path / "x.csv"
    path.write_text("# durations\n" + "\n".join(repr(float(v)) for v in x) + "\n\n")
    code, out, err = run_cli("gamma", path.read_bytes(), ".csv")
    assert code == 0, err
    res = jm.fit("gamma", x)
    shape = next(ln for ln in out.splitlines() if ln.strip().startswith("shape"))
    assert float(shape.split()[1]) == pytest.approx(float(res.params["shape"]), rel=1e-4)


# ---- known defects: minimal reproducers (remove a mark when its fix lands) ----------------


def _fit_or_refuse(name, x):
    """The result, or None for a ValueError (a clear refusal is acceptable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return jm.fit(name, x)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "name, dtype",
    [
        *[
            (f, np.float64)
            for f in ("normal", "laplace", "lognormal", "exponential", "half_normal", "rayleigh")
        ],
        *[(f, np.float64) for f in ("uniform", "inverse_gaussian", "pareto")],
        ("poisson", np.float64),
        *[(f, np.float32) for f in ("normal", "uniform", "exponential")],
    ],
)
def test_closed_forms_near_the_largest_float(name, dtype):
    """These gave converged=True with NaN/inf estimates, until fixed."""
    top = float(np.finfo(dtype).max)
    x = np.array([0.56, 0.84, 0.28], dtype) * dtype(top)  # 1e308, 1.5e308, 5e307 in float64
    res = _fit_or_refuse(name, x)
    if res is not None and bool(res.converged):
        for k, v in res.params.items():
            assert np.all(np.isfinite(np.asarray(v))), (k, v, res.message)
        assert np.isfinite(float(res.loglik)), res.message


def test_multivariate_normal_near_the_largest_float():
    x = np.array([[1e308, 5e307], [1.5e308, 1.5e308], [5e307, 1e308]])
    res = _fit_or_refuse("multivariate_normal", x)
    if res is not None and bool(res.converged):
        for k, v in res.params.items():
            assert np.all(np.isfinite(np.asarray(v))), (k, v, res.message)


@pytest.mark.parametrize(
    "name, x, want",
    [
        # 1e-310 and 2e-308 are subnormal: flushed to 0, the rate came out 1e308.
        pytest.param(
            "exponential",
            np.array([3e-308, 1e-310, 2e-308]),
            {"rate": 3 / 5.01e-308},
            id="exponential-subnormal",
        ),
        # Squares of these underflow (float32: scale 0 with converged=True, once).
        pytest.param(
            "half_normal",
            np.array([1.21e-38], np.float32),
            {"scale": 1.21e-38},
            id="half_normal-float32-tiny",
        ),
        # No subnormal value at all (loc came out 0, once).
        pytest.param(
            "normal",
            np.array([3.45e-308, 8.2e-308]),
            {"loc": 5.825e-308, "scale": 2.375e-308},
            id="normal-near-tiny",
        ),
    ],
)
def test_closed_forms_near_the_smallest_normal_float(name, x, want):
    res = _fit_or_refuse(name, x)
    if res is not None:
        for k, v in want.items():
            assert float(res.params[k]) == pytest.approx(v, rel=1e-6), (k, res.message)


@pytest.mark.parametrize("tiny", [1e-310, 1.24e-322])
def test_poisson_rejects_a_subnormal_count(tiny):
    # 1e-310 is not a count; flushed to 0 on the device, it is taken for one.
    with pytest.raises(ValueError):
        jm.fit("poisson", np.array([1.0, tiny, 2.0]))


def _poisson_loglik(k: np.ndarray) -> float:
    """The maximized Poisson log-likelihood of large counts ``k`` (rate =
    their mean), by Stirling's series for log k! (error below 1e-9 here)."""
    k = k.astype(np.float64)
    rate = _mean_rms(k)[0]
    terms = k * np.log1p((rate - k) / k) + (k - rate) - 0.5 * np.log(2 * np.pi * k) - 1 / (12 * k)
    return math.fsum(terms)


@pytest.mark.parametrize(
    "counts",
    [
        np.array([1e6], np.float32),
        np.array([1.2573022e15]),
        np.array([1.83431007e305, 2.63769797e305]),
    ],
    ids=["1e6-float32", "1e15", "1e305"],
)
def test_poisson_loglik_of_large_counts(counts):
    """The log-pmf cancels (x log x - log x! - x): it gave -7.0 for -7.83 at
    [1e6] in float32, -16.0 for -18.30 at [1.2573e15], NaN at 1e305."""
    res = jm.fit("poisson", counts)
    assert float(res.loglik) == pytest.approx(_poisson_loglik(counts), rel=1e-6, abs=1e-3)


@pytest.mark.parametrize(
    "name, x",
    [
        # scale 0 and stderr 0 with converged=True, until fixed.
        pytest.param("logistic", np.array([3.45584192e-308, 8.21618144e-308]), id="logistic"),
        pytest.param("normal", np.array([3.45584192e-308, 8.21618144e-308]), id="normal"),
        pytest.param(
            "normal", np.array([1.2573022e-38, -1.3210486e-38], np.float32), id="normal-float32"
        ),
        pytest.param(
            "uniform", np.array([1.2101408e-38, 1.3993689e-38], np.float32), id="uniform-float32"
        ),
    ],
)
def test_fits_near_the_smallest_normal_float(name, x):
    res = _fit_or_refuse(name, x)
    if res is not None and bool(res.converged):
        check_result(res, jm.family(name), x, None)


def test_cli_refuses_a_row_for_a_column():
    """It read a one-row CSV as a column of observations (np.loadtxt with
    ndmin=1) and fitted it."""
    code, out, err = run_cli("normal", b"1.5,2.5,4.0\n", ".csv")
    assert code != 0 and "column" in err.lower() + out.lower(), (code, out, err)


def test_lognormal_of_values_with_equal_logs():
    x = np.array([0.1, np.nextafter(0.1, 1.0)])
    res = _fit_or_refuse("lognormal", x)
    if res is not None and bool(res.converged):
        check_result(res, jm.family("lognormal"), x, None)
