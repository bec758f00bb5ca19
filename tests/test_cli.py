"""The ``cislunar`` command as a user runs it: a subprocess, a real
migrated database, exit codes and JSON fields from the interface contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CISLUNAR = str(Path(sys.executable).parent / "cislunar")


def run(args, db_url, check_rc=None, env_extra=None):
    env = dict(os.environ, CISLUNAR_DB_URL=db_url)
    env.update(env_extra or {})
    proc = subprocess.run([CISLUNAR, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr + proc.stdout
    return proc


@pytest.fixture
def cli_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run(["db", "upgrade"], url, check_rc=0)
    return url


def _packaged(cli_db):
    from propagators.datadir import packaged_tle_json_path

    run(["ingest", str(packaged_tle_json_path())], cli_db, check_rc=0)


def test_usage_error_exits_2(cli_db):
    assert run(["propagate", "25544", "--start", "not-a-time", "--stop", "2026-01-01", "--step", "60"], cli_db).returncode == 2
    assert run(["no-such-command"], cli_db).returncode == 2


def test_missing_file_exits_2(cli_db, tmp_path):
    proc = run(["ingest", str(tmp_path / "absent.tle"), "--json"], cli_db)
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert report["totals"]["unreadable"] == 1


def test_partly_rejected_input_exits_3_and_lists_rejections(cli_db, tmp_path):
    from propagators.datadir import packaged_tle_json_path

    sats = json.loads(packaged_tle_json_path().read_text())[:3]
    lines = []
    for s in sats:
        lines += [s["name"], s["line1"], s["line2"]]
    lines[4] = lines[4][:20] + "X" + lines[4][21:]  # garbage in line 1 of the 2nd record
    f = tmp_path / "three.tle"
    f.write_text("\n".join(lines) + "\n")
    proc = run(["ingest", str(f), "--json"], cli_db)
    assert proc.returncode == 3, proc.stderr
    report = json.loads(proc.stdout)
    assert report["totals"]["new"] == 2 and report["totals"]["rejected"] == 1
    rej = report["files"][0]["rejections"][0]
    assert rej["source"] == str(f) and rej["line"] == 5
    assert {"field", "value", "expected", "message"} <= set(rej)


def test_propagate_json_layout_and_frames(cli_db):
    _packaged(cli_db)
    args = ["propagate", "25544", "--start", "2026-07-06T00:00:00Z", "--stop", "2026-07-06T00:10:00.000Z", "--step", "300"]
    out = {}
    for frame in ("teme", "gcrs", "itrs"):
        proc = run([*args, "--frame", frame, "--format", "json"], cli_db, check_rc=0)
        doc = json.loads(proc.stdout)
        assert doc["object"] == 25544 and doc["frame"] == frame.upper()
        assert len(doc["states"]) == 3
        st = doc["states"][0]
        assert set(st) == {"epoch", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "error"}
        assert st["epoch"] == "2026-07-06T00:00:00Z" and st["error"] is None
        out[frame] = st
    # Same radius in every frame (rotations), LEO-sized.
    import math

    radii = {f: math.dist((0, 0, 0), (s["x_km"], s["y_km"], s["z_km"])) for f, s in out.items()}
    assert 6500 < radii["gcrs"] < 7000
    assert abs(radii["teme"] - radii["gcrs"]) < 1e-6 and abs(radii["itrs"] - radii["gcrs"]) < 1e-6
    csv_out = run([*args, "--format", "csv"], cli_db, check_rc=0).stdout.splitlines()
    assert csv_out[0].startswith("epoch,x_km") and len(csv_out) == 4


def test_propagate_unknown_object_exits_2(cli_db):
    proc = run(["propagate", "99999999", "--start", "2026-07-06", "--stop", "2026-07-06T01:00", "--step", "60"], cli_db)
    assert proc.returncode == 2 and "99999999" in proc.stderr


def test_cycle_stores_objects_times_steps_states(cli_db):
    _packaged(cli_db)
    proc = run(["cycle", "--at", "2026-07-06T00:00:00Z", "--horizon", "2", "--step", "600", "--json"], cli_db, check_rc=0)
    rep = json.loads(proc.stdout)
    assert rep["objects"] == 152 and rep["epochs"] == 13
    assert rep["states"] == 152 * 13
    assert rep["status"] == "ok"
    objs = json.loads(run(["objects", "--json"], cli_db, check_rc=0).stdout)
    assert objs["count"] == 152
    assert {o["regime"] for o in objs["objects"]} >= {"LEO", "MEO", "GEO"}


def test_invalid_configuration_is_refused_with_the_key(cli_db, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[cycle]\nhorizon_hours = -3\n")
    proc = run(["--config", str(cfg), "objects"], cli_db)
    assert proc.returncode == 2
    assert "cycle.horizon_hours" in proc.stderr and "positive" in proc.stderr
    proc = run(["objects"], "mysql://nope", env_extra={})
    assert proc.returncode == 2 and "CISLUNAR_DB_URL" in proc.stderr
