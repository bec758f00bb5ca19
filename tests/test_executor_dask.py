"""The executor interface: a Dask ``LocalCluster`` (2 worker processes on
loopback) gives bit-for-bit the SGP4 states and exactly the conjunction
table of the in-process run.

Catalogue: the 152 real TLEs packaged in ssa-data-benchmarks (July 2026;
several have decayed by the test epoch, so the batch holds SGP4 error rows
with NaN states), plus 31 "twins": every fifth element set as OMM mean
elements (the ``sgp4init`` path) with the mean anomaly advanced by 0.01 deg,
i.e. 0.7-7 km along-track behind its TLE object.  The twins are close
approaches built in: each pair stays within the threshold all day, so the
table holds minima in every screening window and ``at_window_edge`` rows at
both ends of the horizon, exactly what a wrong window split would drop,
duplicate or invent.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from monitor.executor import ADDRESS_ENV, KIND_ENV, DaskExecutor, Executor, make_executor
from propagators.datadir import packaged_tle_json_path
from propagators.errors import ConfigError
from propagators.parsing.detect import parse_packaged_tle_json
from propagators.timeutil import parse_iso_utc, time_grid

THRESHOLD_KM = 10.0


@pytest.fixture(scope="module")
def catalogue():
    path = packaged_tle_json_path()
    parsed = parse_packaged_tle_json(path.read_text(), source=str(path))
    assert not parsed.rejections
    tles = parsed.records
    twins = [
        dataclasses.replace(e, format="omm-json", line1=None, line2=None,
                            mean_anomaly_deg=(e.mean_anomaly_deg + 0.01) % 360.0)
        for e in tles[::5]
    ]
    t = time_grid(parse_iso_utc("2026-07-20T00:00:00Z"), parse_iso_utc("2026-07-21T00:00:00Z"), 60.0)
    return tles + twins, t, (t - t[0]).sec


@pytest.fixture(scope="module")
def reference(catalogue):
    elements, t, t_s = catalogue
    with make_executor("inprocess") as ex:
        res = ex.propagate_sgp4(elements, t, "GCRS")
        table = ex.screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM)
    return res, table


@pytest.fixture(scope="module")
def dask_executor():
    ex = make_executor("local", n_workers=2, threads_per_worker=1, processes=True)
    yield ex
    ex.close()


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_reference_is_a_real_case(catalogue, reference):
    elements, t, _ = catalogue
    res, table = reference
    assert res.r_km.shape == (len(elements), len(t), 3)
    assert (res.error_code != 0).any() and np.isnan(res.r_km).any()  # decayed objects in the batch
    assert len(table) > 100
    assert table["at_window_edge"].any() and (~table["at_window_edge"]).any()


def test_local_cluster_has_two_workers(dask_executor):
    assert isinstance(dask_executor, DaskExecutor)
    assert len(dask_executor.client.nthreads()) == 2
    assert dask_executor.client.scheduler.address.startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize("frame", ["GCRS", "TEME", "ITRS"])
def test_sgp4_states_bitwise(catalogue, dask_executor, frame):
    elements, t, _ = catalogue
    ours = dask_executor.propagate_sgp4(elements, t, frame)
    ref = Executor().propagate_sgp4(elements, t, frame)
    assert ours.frame == ref.frame == frame
    assert _same_bytes(ours.r_km, ref.r_km)
    assert _same_bytes(ours.v_km_s, ref.v_km_s)
    assert _same_bytes(ours.error_code, ref.error_code)


def test_screening_table_identical(catalogue, reference, dask_executor):
    _, _, t_s = catalogue
    res, table = reference
    assert dask_executor._n_parts(len(t_s) - 1) == 4  # 2 threads x 2 windows: three shared samples
    ours = dask_executor.screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM)
    assert _same_bytes(ours, table)


def test_screening_watch_mode_identical(catalogue, reference, dask_executor):
    _, _, t_s = catalogue
    res, _ = reference
    watch = np.arange(0, res.r_km.shape[0], 7)
    ref = Executor().screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM, watch=watch)
    ours = dask_executor.screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM, watch=watch)
    assert len(ref) > 0
    assert _same_bytes(ours, ref)


def test_many_small_parts_identical(catalogue, reference, dask_executor):
    """Uneven object chunks of 2-3 and windows of a few samples (one event
    can sit on a shared sample): still the same bytes."""
    elements, t, t_s = catalogue
    res, table = reference
    fine = DaskExecutor(dask_executor.client, chunks_per_thread=37, kind="local")  # shares the client
    ours = fine.propagate_sgp4(elements, t, "GCRS")
    assert _same_bytes(ours.r_km, res.r_km) and _same_bytes(ours.v_km_s, res.v_km_s)
    assert _same_bytes(fine.screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM), table)


def test_remote_scheduler_by_address(catalogue, reference, dask_executor, monkeypatch):
    """``CISLUNAR_DASK_ADDRESS`` selects a scheduler reached over TCP (here
    the local cluster's own scheduler)."""
    elements, t, t_s = catalogue
    res, table = reference
    monkeypatch.delenv(KIND_ENV, raising=False)
    monkeypatch.setenv(ADDRESS_ENV, dask_executor.client.scheduler.address)
    remote = make_executor()
    try:
        assert remote.kind == "address"
        ours = remote.propagate_sgp4(elements[:40], t, "GCRS")
        assert _same_bytes(ours.r_km, res.r_km[:40])
        assert _same_bytes(remote.screen(res.r_km, res.v_km_s, t_s, threshold_km=THRESHOLD_KM), table)
    finally:
        remote.close()  # closes its client only; the cluster is the fixture's
    assert len(dask_executor.client.nthreads()) == 2


def test_repeated_identical_calls(catalogue, dask_executor):
    """Back-to-back calls with the same inputs: scattered data gets fresh
    keys (``hash=False``), so releasing one call's data cannot race with the
    next call's scatter of identical data (dask/distributed#3703)."""
    elements, t, _ = catalogue
    short = t[:5]
    ref = Executor().propagate_sgp4(elements[:12], short, "GCRS")
    r = np.zeros((3, 5, 3))
    for _ in range(15):
        ours = dask_executor.propagate_sgp4(elements[:12], short, "GCRS")
        assert _same_bytes(ours.r_km, ref.r_km)
        assert len(dask_executor.screen(r, r, np.arange(5.0), threshold_km=1.0)) == 3  # 3 pairs at 0 km, start edge


def test_bad_input_raises_on_the_client(catalogue, dask_executor):
    _, t, t_s = catalogue
    r = np.zeros((3, len(t_s), 3))
    with pytest.raises(ConfigError, match="threshold_km"):
        dask_executor.screen(r, r, t_s, threshold_km=-1.0)
    with pytest.raises(ConfigError, match="shape"):
        dask_executor.screen(r[:, :-1], r[:, :-1], t_s)
    with pytest.raises(ConfigError, match="MeanElements"):
        dask_executor.propagate_sgp4(["1 25544U ..."], t)
    empty = dask_executor.propagate_sgp4([], t)
    assert empty.r_km.shape == (0, len(t), 3)


def test_make_executor_kinds(monkeypatch):
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    monkeypatch.delenv(KIND_ENV, raising=False)
    ex = make_executor()
    assert type(ex) is Executor and ex.kind == "inprocess"
    with pytest.raises(ConfigError, match="executor kind"):
        make_executor("threads")
    with pytest.raises(ConfigError, match=ADDRESS_ENV):
        make_executor("address")
    monkeypatch.setenv(KIND_ENV, "address")  # asks for a scheduler but names none
    with pytest.raises(ConfigError, match=ADDRESS_ENV):
        make_executor()
    monkeypatch.setenv(KIND_ENV, "cluster")
    with pytest.raises(ConfigError, match=KIND_ENV):
        make_executor()
