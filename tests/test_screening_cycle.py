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
    first = run_cycle(Session, AT, 12.0, 60.0, settings=settings, conjunction_km=5.0)
    assert first.screening["conjunctions"] >= 1
    n_new = first.screening["new_events"]
    assert n_new == first.screening["conjunctions"] + first.screening["region_events"]
    second = run_cycle(Session, AT, 12.0, 60.0, settings=settings, conjunction_km=5.0)
    assert second.screening["new_events"] == 0
    assert second.screening["updated_events"] == n_new
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == n_new
        assert s.scalar(select(func.count()).select_from(EventUpdate)) == 2 * n_new
        ev = s.scalars(select(Event).where(Event.kind == "conjunction")).first()
        assert ev.element_set_id is not None and ev.other_element_set_id is not None
        assert ev.first_run_id == first.run_id and ev.last_run_id == second.run_id
        assert ev.miss_km <= 5.0
    cdms = sorted((tmp_path / "cdm").glob("*.cdm"))
    assert len(cdms) == 2 * first.screening["conjunctions"]
    assert "CCSDS_CDM_VERS" in cdms[0].read_text()


def test_events_cli_json_fields(sqlite_url, data_dir, tmp_path):
    env = dict(os.environ, CISLUNAR_DB_URL=sqlite_url, CISLUNAR_CDM_DIR=str(tmp_path / "cdm"))
    subprocess.run([CISLUNAR, "ingest", str(data_dir / "catalog" / "celestrak_geo_2026-08-22.txt")], env=env, check=True, capture_output=True)
    subprocess.run([CISLUNAR, "cycle", "--at", "2026-08-22T00:00:00Z", "--horizon", "6", "--conjunction-km", "10"],
                   env=env, check=True, capture_output=True)
    out = subprocess.run([CISLUNAR, "events", "--json", "--kind", "conjunction"], env=env, check=True, capture_output=True, text=True)
    doc = json.loads(out.stdout)
    assert doc["count"] >= 1
    ev = doc["events"][0]
    assert {"id", "kind", "object", "other", "region", "tca", "start", "end", "miss_km", "relative_speed_km_s", "pc"} <= set(ev)
    assert ev["kind"] == "conjunction" and isinstance(ev["object"], int) and isinstance(ev["other"], int)
    assert ev["tca"].endswith("Z") and ev["miss_km"] <= 10.0
    by_object = subprocess.run([CISLUNAR, "events", "--json", "--object", str(ev["other"])], env=env, check=True,
                               capture_output=True, text=True)
    assert any(e["id"] == ev["id"] for e in json.loads(by_object.stdout)["events"])
