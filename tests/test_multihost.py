"""Several processes of one ``jax.distributed`` run on this machine (JAX's CPU
collectives), each holding only its own rows: every process gets the same
estimates as one process fitting all the data; bad data are named with the
process and the row; a process that dies or never joins makes the others stop
with an error, never hang. The processes run tests/multihost_worker.py."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from multihost_worker import (
    BAD_ROW,
    FAMILIES,
    N_ROWS,
    gamma_datasets,
    weibull_sample,
)

import jaxmle as jm

WORKER = os.path.join(os.path.dirname(__file__), "multihost_worker.py")
# The workers compile for their own device layout: the store is not shared.
ENV = {"JAXMLE_CACHE": "0", "JAXMLE_PROGRESS": "0"}


def _run(tmp_path, scenario: str, processes: int, data_file=None, timeout=60, budget=300):
    args = [WORKER, scenario, str(tmp_path)] + ([str(data_file)] if data_file else [])
    env = {**ENV, "JAXMLE_TEST_TIMEOUT": str(timeout)}
    return jm.multihost.launch(args, processes, timeout=budget, capture=True, env=env)


def _found(tmp_path, finished) -> list[dict]:
    for f in finished:
        assert f.returncode == 0, f"process {f.process} failed:\n{f.stderr[-4000:]}"
    return [json.loads((tmp_path / f"{f.process}.json").read_text()) for f in finished]


@pytest.fixture(scope="module")
def references():
    """Single-process fits of all the data (float64)."""
    x = weibull_sample()
    fits = {name: jm.fit(name, x) for name in ("gamma", "weibull", "student_t")}
    fits["fit_many"] = jm.fit_many("gamma", gamma_datasets())
    return fits


def _assert_same(found: dict, ref, rtol=1e-10):
    for k, v in ref.params.items():
        np.testing.assert_allclose(found["params"][k], np.asarray(v), rtol=rtol, err_msg=k)
        np.testing.assert_allclose(
            found["stderr"][k], np.asarray(ref.stderr[k]), rtol=1e-8, err_msg=k
        )
    np.testing.assert_allclose(found["loglik"], np.asarray(ref.loglik), rtol=1e-12)
    assert np.all(found["converged"])


def _check_fits(found: list[dict], references, processes: int, families):
    assert [f["process"] for f in found] == list(range(processes))
    assert all(f["processes"] == processes and f["devices"] == processes for f in found)
    # Uneven rows were padded with weight-0 rows to a common count.
    assert found[0]["global_rows"] == -(-N_ROWS // processes) * processes
    assert all(f["compiles_of_a_second_fit"] == 0 for f in found)
    for name in families:
        for f in found:
            _assert_same(f[name], references[name])
        # Every process holds the bitwise-same numbers.
        assert all(f[name] == found[0][name] for f in found), name


@pytest.mark.processes
def test_two_processes_fit_stream_and_report_bad_data(tmp_path, references):
    data = tmp_path / "weibull.f64"
    weibull_sample().tofile(data)
    found = _found(tmp_path, _run(tmp_path, "full", 2, data))
    _check_fits(found, references, 2, (*FAMILIES["full"], "fit_many"))
    # Each process streamed its own row range of the file; the sums of every
    # pass were added over the processes.
    for f in found:
        _assert_same(f["stream_weibull"], references["weibull"], rtol=1e-9)
        _assert_same(f["stream_gamma"], references["gamma"])
    # Bad data on process 1 only: every process raises, naming it and the row.
    for f in found:
        for key in ("bad_global", "bad_stream"):
            assert f[key].startswith("ValueError: process 1 (host "), f[key]
            assert f"x[{BAD_ROW}]=-1.0" in f[key] and "outside the support" in f[key]
        # The smallest value lies on one process: that process is named.
        at = int(np.argmin(weibull_sample()))
        holder = int(at >= jm.multihost.row_range(N_ROWS, process=0, processes=2)[1])
        assert f["bad_fixed"].startswith(f"ValueError: process {holder} (host "), f["bad_fixed"]
        assert "fixed 'low'=" in f["bad_fixed"], f["bad_fixed"]
        assert "outside the support of uniform" in f["bad_fixed"]
        # Dataset 4 is the first of process 1's datasets (8 over 2 processes).
        assert "datasets are invalid (datasets 4)" in f["bad_many"]
        assert "x[3]=nan" in f["bad_many"]
        assert f["flagged_converged"] == [True] * 4 + [False] + [True] * 3


@pytest.mark.processes
def test_four_processes(tmp_path, references):
    found = _found(tmp_path, _run(tmp_path, "fits", 4))
    _check_fits(found, references, 4, FAMILIES["fits"])


@pytest.mark.processes
def test_a_process_that_dies_or_never_joins_stops_the_others(tmp_path):
    # Both at once (each mostly waits for its timeout): a run whose process 1
    # dies after joining, and a process 0 whose partner never starts.
    alone = tmp_path / "alone"
    alone.mkdir()
    env = {
        **os.environ,
        **ENV,
        "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{jm.multihost.free_port()}",
        "JAX_NUM_PROCESSES": "2",
        "JAX_PROCESS_ID": "0",
        "JAXMLE_TEST_TIMEOUT": "3",
    }
    start = time.monotonic()
    never = subprocess.Popen(
        [sys.executable, WORKER, "fits", str(alone)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        finished = _run(tmp_path, "die", 2, timeout=4, budget=120)
        _, stderr = never.communicate(timeout=120)
    finally:
        never.kill()
    never_seconds = time.monotonic() - start
    # Process 1 died; JAX's heartbeat check ended the survivor, with its message.
    assert finished[1].returncode == 3
    survivor = finished[0]
    assert survivor.returncode not in (0, None), survivor.stderr[-2000:]
    assert survivor.seconds < 60
    assert "unhealthy" in survivor.stderr or "heartbeat" in survivor.stderr.lower()
    # The process left alone stopped after the registration timeout.
    assert never.returncode != 0
    assert never_seconds < 60
    assert "RegisterTask" in stderr or "Deadline" in stderr, stderr[-2000:]
    assert not (alone / "0.json").exists()


def test_row_range_and_launch_checks():
    assert [jm.multihost.row_range(10, process=p, processes=4) for p in range(4)] == [
        (0, 2),
        (2, 5),
        (5, 7),
        (7, 10),
    ]
    assert jm.multihost.row_range(7) == (0, 7)  # one process holds every row
    with pytest.raises(ValueError, match="process 4 is not one of the 4"):
        jm.multihost.row_range(10, process=4, processes=4)
    with pytest.raises(ValueError, match="n_rows must be a non-negative integer"):
        jm.multihost.row_range(-1)
    with pytest.raises(ValueError, match="processes must be a positive integer"):
        jm.multihost.launch(["-c", "pass"], 0)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        jm.multihost.initialize("127.0.0.1:1", 1, 0, timeout=0)


def test_one_process_local_rows_and_global_rows_are_ordinary_fits():
    """Without a distributed run the same calls fit this process's data."""
    x = weibull_sample()[:5000]
    ref = jm.fit("weibull", x)
    streamed = jm.fit("weibull", jm.multihost.local_rows(x), chunk_size=1024)
    np.testing.assert_allclose(streamed.params["shape"], ref.params["shape"], rtol=1e-9)
    xs, ws = jm.multihost.global_rows(x[:4999])
    assert ws is None and xs.shape == (4999,)
    with pytest.raises(ValueError, match="this process has no rows"):
        jm.multihost.global_rows(np.zeros(0))
    with pytest.raises(ValueError, match="local weights must have shape"):
        jm.multihost.global_rows(x, np.ones(3))
    with pytest.raises(TypeError, match="give the weights of local rows with them"):
        jm.fit("weibull", jm.multihost.local_rows(x), weights=np.ones(x.size))
    bad = x.copy()
    bad[11] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or inf\) at x\[11\]"):
        jm.fit("weibull", jm.multihost.local_rows(bad), chunk_size=1024)


@pytest.mark.processes
def test_the_example_runs_as_local_processes():
    """examples/multihost.py, as the README runs it (smaller): one command
    starts the processes; the global and the streamed fits agree."""
    example = os.path.join(os.path.dirname(__file__), "..", "examples", "multihost.py")
    proc = subprocess.run(
        [sys.executable, example, "--processes", "2", "--rows", "20000", "--chunk-size", "8192"],
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 processes, 2 devices, 20,000 rows (10,000 on process 0)" in proc.stdout
    gaps = [float(line.rsplit(" ", 1)[1]) for line in proc.stdout.splitlines() if "gap" in line]
    assert len(gaps) == 2 and max(gaps) < 1e-9, proc.stdout
