"""Screening inside the cycle, on the real GEO snapshot: conjunctions become
events with an update history; a second cycle over the same window updates
the same events instead of creating new ones; the events CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from db.models import Event, EventUpdate
from monitor.config import load_settings
from monitor.cycle import run_cycle
from monitor.ingest import ingest_paths

CISLUNAR = str(Path(sys.executable).parent / "cislunar")
AT = datetime(2026, 8, 22, tzinfo=timezone.utc)


def test_same_encounter_over_two_cycles_is_one_event_with_history(Session, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("CISLUNAR_CDM_DIR", str(tmp_path / "cdm"))
    ingest_paths(Session, [data_dir / "catalog" / "celestrak_geo_2026-08-22.txt"])
    settings = load_settings(None, {})
    # 50 km: GEO-belt crossings as well as the co-located clusters (which
    # become proximity events, not conjunctions).
    first = run_cycle(Session, AT, 12.0, 60.0, settings=settings, conjunction_km=50.0)
    assert first.screening["conjunctions"] >= 1 and first.screening["proximity_events"] >= 1
    n_new = first.screening["new_events"]
    second = run_cycle(Session, AT, 12.0, 60.0, settings=settings, conjunction_km=50.0)
    assert second.screening["new_events"] == 0
    assert second.screening["conjunctions"] == first.screening["conjunctions"]
    sightings = first.screening["new_events"] + first.screening["updated_events"]
    assert second.screening["updated_events"] == sightings
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == n_new
        assert s.scalar(select(func.count()).select_from(EventUpdate)) == 2 * sightings
        ev = s.scalars(select(Event).where(Event.kind == "conjunction")).first()
        assert ev.element_set_id is not None and ev.other_element_set_id is not None
        assert ev.first_run_id == first.run_id and ev.last_run_id == second.run_id
        assert ev.miss_km <= 50.0
        n_conj_events = s.scalar(select(func.count()).select_from(Event).where(Event.kind == "conjunction"))
    # one CDM per conjunction event per cycle (minima of one pair within
    # 30 min are one encounter)
    cdms = sorted((tmp_path / "cdm").glob("*.cdm"))
    assert len(cdms) == 2 * n_conj_events
    assert "CCSDS_CDM_VERS" in cdms[0].read_text()


def test_events_cli_json_fields(sqlite_url, data_dir, tmp_path):
    env = dict(os.environ, CISLUNAR_DB_URL=sqlite_url, CISLUNAR_CDM_DIR=str(tmp_path / "cdm"))
    subprocess.run([CISLUNAR, "ingest", str(data_dir / "catalog" / "celestrak_geo_2026-08-22.txt")], env=env, check=True, capture_output=True)
    subprocess.run([CISLUNAR, "cycle", "--at", "2026-08-22T00:00:00Z", "--horizon", "6", "--conjunction-km", "50"],
                   env=env, check=True, capture_output=True)
    out = subprocess.run([CISLUNAR, "events", "--json", "--kind", "conjunction"], env=env, check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    assert doc["count"] >= 1
    ev = doc["events"][0]
    assert {"id", "kind", "object", "other", "region", "tca", "start", "end", "miss_km", "relative_speed_km_s", "pc"} <= set(ev)
    assert ev["kind"] == "conjunction" and isinstance(ev["object"], int) and isinstance(ev["other"], int)
    assert ev["tca"].endswith("Z") and ev["miss_km"] <= 50.0
    by_object = subprocess.run([CISLUNAR, "events", "--json", "--object", str(ev["other"])], env=env, check=True,
                               capture_output=True, text=True)
    assert any(e["id"] == ev["id"] for e in json.loads(by_object.stdout)["events"])


def _omm_json(norad, epoch, mean_motion, mean_anomaly):
    return {
        "OBJECT_NAME": "TEST GEO", "OBJECT_ID": "2020-001A", "EPOCH": epoch, "MEAN_MOTION": mean_motion,
        "ECCENTRICITY": 0.0002, "INCLINATION": 0.05, "RA_OF_ASC_NODE": 80.0, "ARG_OF_PERICENTER": 200.0,
        "MEAN_ANOMALY": mean_anomaly, "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": norad,
        "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 100, "BSTAR": 0.0, "MEAN_MOTION_DOT": 0.0, "MEAN_MOTION_DDOT": 0.0,
    }


def test_manoeuvre_between_successive_element_sets_is_an_event_with_dv(SqliteSession, tmp_path, monkeypatch):
    """A GEO object whose second element set has a semi-major axis ~140 km
    higher than its first predicts: a manoeuvre with dv ~ n*da/2 ~ 5 m/s
    (vis-viva, near-circular).  An object with one element set: no event."""
    monkeypatch.setenv("CISLUNAR_CDM_DIR", str(tmp_path / "cdm"))
    n0 = 1.00273
    first = _omm_json(90010, "2026-08-20T00:00:00.000000", n0, 10.0)
    # one day later: mean anomaly advanced by the old mean motion, new mean motion lower by 0.005 rev/day
    second = _omm_json(90010, "2026-08-21T00:00:00.000000", n0 - 0.005, (10.0 + 360.0 * n0) % 360.0)
    lone = _omm_json(90011, "2026-08-21T00:00:00.000000", n0, 100.0)
    f = tmp_path / "sets.json"
    f.write_text(json.dumps([first, second, lone]))
    reports = ingest_paths(SqliteSession, [f])
    assert reports[0].new == 3 and not reports[0].rejections
    rep = run_cycle(SqliteSession, datetime(2026, 8, 21, 1, tzinfo=timezone.utc), 2.0, 60.0,
                    settings=load_settings(None, {}), conjunction_km=5.0)
    assert rep.screening["manoeuvres"] == 1
    with SqliteSession() as s:
        ev = s.scalars(select(Event).where(Event.kind == "manoeuvre")).one()
        details = json.loads(ev.details_json)
    # da from the mean-motion change: a = (mu/n^2)^(1/3); dv ~ n da / 2
    import math

    mu = 398600.4418
    n1, n2 = (x * 2 * math.pi / 86400.0 for x in (n0, n0 - 0.005))
    da_km = (mu / n2**2) ** (1 / 3) - (mu / n1**2) ** (1 / 3)
    dv_expected_km_s = n1 * da_km / 2.0
    assert 100.0 < da_km < 200.0
    assert abs(details["dv_sma_km_s"] - dv_expected_km_s) < 0.3 * dv_expected_km_s
    assert ev.relative_speed_km_s > 0.0


def test_events_marked_gone_and_seen_again_are_reused(SqliteSession, data_dir, tmp_path, monkeypatch):
    """Cycles over the same window at different thresholds: events that
    disappear are marked gone, and when seen again the same event (same
    fingerprint) is updated rather than a duplicate inserted."""
    monkeypatch.setenv("CISLUNAR_CDM_DIR", str(tmp_path / "cdm"))
    ingest_paths(SqliteSession, [data_dir / "catalog" / "celestrak_geo_2026-08-22.txt"])
    settings = load_settings(None, {})
    wide = run_cycle(SqliteSession, AT, 6.0, 60.0, settings=settings, conjunction_km=50.0)
    narrow = run_cycle(SqliteSession, AT, 6.0, 60.0, settings=settings, conjunction_km=5.0)
    assert narrow.screening["gone_events"] >= 1
    again = run_cycle(SqliteSession, AT, 6.0, 60.0, settings=settings, conjunction_km=50.0)
    assert again.status == "ok" and again.screening["new_events"] == 0
    with SqliteSession() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == wide.screening["new_events"]
        assert s.scalar(select(func.count()).select_from(Event).where(Event.status == "gone")) == 0


def test_oem_covariance_is_used_near_its_epoch_and_default_elsewhere(data_dir):
    """A conjunction involving an OEM object uses the OEM's covariance block
    nearest the TCA (CCSDS 502.0-B-2 COVARIANCE section, EME2000 here:
    inertial, used as is); farther than 6 h from any block, the documented
    default by regime and element-set age applies."""
    from types import SimpleNamespace

    import numpy as np

    from monitor.screening_stage import oem_covariance_at
    from propagators.parsing.oem import parse_oem

    path = data_dir / "ccsds" / "oem" / "oempy_v2_sample04_with_covariance.oem"
    text = path.read_text()
    seg = parse_oem(text, source=str(path)).segments[0]
    assert seg.covariances
    es = SimpleNamespace(format="oem-kvn", raw_text=text, payload_json=json.dumps({"segment": 0}), source=str(path))
    block = seg.covariances[0]
    from propagators.timeutil import datetimes_utc

    when = datetimes_utc(block.epoch)[0]
    r, v = np.array([7000.0, 0, 0]), np.array([0, 7.5, 0])
    cov, src = oem_covariance_at(es, when, r, v)
    np.testing.assert_array_equal(cov, block.matrix)
    assert src.startswith("OEM covariance (EME2000)")
    from datetime import timedelta

    far, src_far = oem_covariance_at(es, when + timedelta(days=30), r, v)
    assert far is None and "default" in src_far
