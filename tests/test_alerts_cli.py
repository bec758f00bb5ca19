"""``cislunar alerts | outbox | sources | health`` on a real migrated database:
JSON layouts, the audit trail, exit codes (0 ok, 2 usage error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.rules import load_rules
from db import alert_ops
from monitor.cli import main
from test_alerts_support import T0, cycle, make_objects

# Backend-independent logic: SQLite only (the PostgreSQL paths are covered by the others).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
REPO = Path(__file__).resolve().parent.parent
CISLUNAR = str(Path(sys.executable).parent / "cislunar")


@pytest.fixture
def alerting_db(Session, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CISLUNAR_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.delenv("CISLUNAR_SMTP_HOST", raising=False)
    with Session.begin() as session:
        make_objects(session, 3)
    cycle(Session, load_rules({}), T0, [
        {"fingerprint": "conj:a", "objects": (0, 1), "miss_km": 0.5},
        {"fingerprint": "conj:b", "objects": (0, 2), "miss_km": 3.0},
    ])
    return db_url


def run(capsys, db_url, *args) -> tuple[int, str, str]:
    rc = main(["--db", db_url, *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_ack_silence_resolve(alerting_db, capsys, Session):
    rc, out, _ = run(capsys, alerting_db, "alerts", "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["count"] == 2 and doc["states"] == {"open": 2, "acknowledged": 0, "resolved": 0}
    crit, warn = doc["alerts"]  # critical first
    assert (crit["severity"], warn["severity"]) == ("critical", "warning") and crit["norad_ids"] == [90001, 90002]

    rc, out, _ = run(capsys, alerting_db, "alerts", "ack", str(crit["id"]), "--by", "duty officer", "--note", "on it", "--json")
    assert rc == 0 and json.loads(out)["state"] == "acknowledged" and json.loads(out)["acknowledged_by"] == "duty officer"
    rc, out, _ = run(capsys, alerting_db, "alerts", "--state", "acknowledged")
    assert rc == 0 and "conj:a" not in out and "acknowledged" in out and "1 alerts shown" in out

    rc, out, _ = run(capsys, alerting_db, "alerts", "silence", "--object", "90003", "--by", "fdo", "--reason", "test campaign",
                     "--hours", "6", "--json")
    s = json.loads(out)
    assert rc == 0 and s["object_norad_id"] == 90003 and s["author"] == "fdo"
    rc, out, _ = run(capsys, alerting_db, "alerts", "silence", str(warn["id"]), "--by", "fdo", "--reason", "known",
                     "--until", "2099-01-01T00:00:00Z")
    assert rc == 0 and "until 2099-01-01T00:00:00Z" in out
    rc, out, _ = run(capsys, alerting_db, "alerts", "silences", "--json")
    assert json.loads(out)["count"] == 2
    rc, out, _ = run(capsys, alerting_db, "alerts", "unsilence", str(s["id"]), "--by", "fdo")
    assert rc == 0 and "lifted" in out
    rc, out, _ = run(capsys, alerting_db, "alerts", "silences", "--json")
    assert json.loads(out)["count"] == 1

    rc, out, _ = run(capsys, alerting_db, "alerts", "resolve", str(crit["id"]), "--by", "duty officer", "--note", "manoeuvred")
    assert rc == 0 and "resolved" in out
    rc, out, _ = run(capsys, alerting_db, "alerts", "show", str(crit["id"]), "--json")
    shown = json.loads(out)
    assert [a["action"] for a in shown["actions"]] == ["opened", "notified", "acknowledged", "resolved"]
    assert shown["messages"][0]["subject"].startswith("[CRITICAL] [NEW]")
    rc, out, _ = run(capsys, alerting_db, "alerts", "show", str(warn["id"]))
    assert rc == 0 and "silenced" in out and "fdo" in out


@SQLITE_ONLY
def test_usage_errors_exit_2(alerting_db, capsys):
    rc, _, err = run(capsys, alerting_db, "alerts", "ack", "9999", "--by", "x")
    assert rc == 2 and "no alert with id 9999" in err
    rc, out, _ = run(capsys, alerting_db, "alerts", "--json")
    first = json.loads(out)["alerts"][0]["id"]
    assert run(capsys, alerting_db, "alerts", "resolve", str(first), "--by", "x")[0] == 0
    rc, _, err = run(capsys, alerting_db, "alerts", "ack", str(first), "--by", "x")
    assert rc == 2 and "cannot become acknowledged" in err
    rc, _, err = run(capsys, alerting_db, "alerts", "silence", "--by", "x", "--reason", "y", "--hours", "1")
    assert rc == 2 and "give an alert ID" in err
    rc, _, err = run(capsys, alerting_db, "alerts", "silence", str(first), "--by", "x", "--reason", "y", "--until", "2001-01-01T00:00:00Z")
    assert rc == 2 and "a time after now" in err
    rc, _, err = run(capsys, alerting_db, "outbox", "retry", "1")
    assert rc == 2 and "a dead letter" in err
    with pytest.raises(SystemExit) as info:  # argparse: --by is required
        main(["--db", alerting_db, "alerts", "ack", str(first)])
    assert info.value.code == 2


@SQLITE_ONLY
def test_outbox_send_and_show(alerting_db, capsys, tmp_path):
    rc, out, _ = run(capsys, alerting_db, "outbox", "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["statuses"]["pending"] == 2 and all(m["has_png"] for m in doc["messages"])
    rc, out, _ = run(capsys, alerting_db, "outbox", "send", "--json")
    sent = json.loads(out)
    assert rc == 0 and sent["sent"] == 2 and "spool folder" in sent["via"]
    assert len(list((tmp_path / "spool").glob("*.eml"))) == 2
    rc, out, _ = run(capsys, alerting_db, "outbox", "--status", "sent")
    assert rc == 0 and out.count("[NEW]") == 2


@SQLITE_ONLY
def test_health_and_sources(alerting_db, capsys, Session):
    rc, out, _ = run(capsys, alerting_db, "health", "--json")
    doc = json.loads(out)
    assert rc == 1 and not doc["healthy"] and "no successful cycle" in doc["problems"][0]
    with Session() as session:  # health only looks: it opened no dead-man alert
        assert [a.kind for a in alert_ops.list_alerts(session)] == ["conjunction", "conjunction"]
    rc, out, _ = run(capsys, alerting_db, "sources", "--json")
    assert rc == 0 and json.loads(out) == {"configured": [], "status": []}
    rc, _, err = run(capsys, alerting_db, "sources", "fetch", "nope")
    assert rc == 2 and "no source named 'nope'" in err


@pytest.mark.slow
def test_real_command_exit_codes(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = dict(os.environ, CISLUNAR_DB_URL=url)
    subprocess.run([CISLUNAR, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True, timeout=120)
    ok = subprocess.run([CISLUNAR, "alerts", "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and json.loads(ok.stdout)["count"] == 0
    bad = subprocess.run([CISLUNAR, "alerts", "ack", "1", "--by", "me"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no alert with id 1" in bad.stderr


@SQLITE_ONLY
def test_silence_expiry_boundary(alerting_db, Session):
    with Session.begin() as session:
        s = alert_ops.silence(session, by="a", reason="b", expires_at=T0 + timedelta(hours=1), kind="conjunction", now=T0)
    with Session() as session:
        assert alert_ops.matching_silence(session, "conj:zzz", [1], "conjunction", None, T0 + timedelta(minutes=59)).id == s.id
        assert alert_ops.matching_silence(session, "conj:zzz", [1], "conjunction", None, T0 + timedelta(hours=1)) is None
        assert alert_ops.matching_silence(session, "conj:zzz", [1], "proximity", None, T0) is None
