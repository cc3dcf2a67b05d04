"""Strict harness: float64 by default (float32 is tested with float32 data),
and implicit rank promotion is an error, so accidental broadcasting fails.

The test session's processes (pytest-xdist workers) share one jaxmle program
store (``JAXMLE_CACHE_DIR`` in the temporary folder), since they compile many
of the same programs; its keys cover the program, its inputs, jaxmle's source
and the environment, so it never serves stale code, and loading stored
programs is exercised throughout the suite."""

import os
import tempfile

# Tests compile far more programs than they run long loops: unoptimized LLVM
# code generation halves XLA:CPU compile times (the programs are the same).
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
).strip()

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
os.environ.setdefault("JAXMLE_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxmle-tests"))


# ---- compilation counting (JAX's monitoring events, not timings) ------------------

import collections  # noqa: E402

import pytest  # noqa: E402

_EVENTS = collections.Counter()
_TRACE = "/jax/core/compile/jaxpr_trace_duration"
_COMPILE = "/jax/core/compile/backend_compile_duration"


_NAMES: list = []


def _listen(event, duration, **kwargs):
    if event in (_TRACE, _COMPILE):
        _EVENTS[event] += 1
        _NAMES.append((event.rsplit("/", 1)[-1], kwargs.get("fun_name")))


jax.monitoring.register_event_duration_secs_listener(_listen)


class CompileCounter:
    """``traces`` and ``compiles`` since the counter was made (or ``reset``)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self._start = collections.Counter(_EVENTS)
        self._first = len(_NAMES)

    @property
    def names(self) -> list:
        """``(event, function)`` of each trace and compile since the reset."""
        return _NAMES[self._first :]

    @property
    def traces(self) -> int:
        return _EVENTS[_TRACE] - self._start[_TRACE]

    @property
    def compiles(self) -> int:
        return _EVENTS[_COMPILE] - self._start[_COMPILE]


@pytest.fixture
def compile_counter():
    return CompileCounter()


# ---- executables in memory --------------------------------------------------------
#
# XLA:CPU maps ~20 memory regions per loaded executable and Linux allows 65,530 per
# process by default: a test worker that kept every program of half the suite died
# inside LLVM (a segfault in a compile, an abort in a load). When a module ends with
# more than RELEASE_FROM regions mapped, jaxmle's and JAX's executables are let go
# (later modules load what they need from the program store); a module that leaves
# more than FAIL_FROM mapped fails its teardown.

RELEASE_FROM = 30_000
FAIL_FROM = 56_000


def _mapped_regions() -> int:
    try:
        with open("/proc/self/maps") as f:
            return sum(1 for _ in f)
    except OSError:  # not Linux
        return 0


@pytest.fixture(autouse=True, scope="module")
def _release_executables_when_many_are_mapped():
    yield
    regions = _mapped_regions()
    if regions > RELEASE_FROM:
        from jaxmle._engine.compile import release_executables

        release_executables()
        jax.clear_caches()
    assert regions < FAIL_FROM, f"{regions} memory regions mapped after this module"


# ---- scheduling -------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Tests that start several processes run first: they are the longest, and
    a long test at the end of a worker's queue would stretch the whole run."""
    items.sort(key=lambda item: item.get_closest_marker("processes") is None)
