"""``cislunar run`` as an operator runs it: one service per database (file
lock on SQLite, advisory lock on PostgreSQL), invalid alert rules refused
before anything starts, missed windows caught up exactly once, a clean stop
on SIGTERM that leaves no run marked running, and log lines that name their
job and run."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from db import migrate, queries
from db.engine import make_engine, session_factory
from db.models import Run
from monitor import service

REPO = Path(__file__).resolve().parent.parent
CISLUNAR = str(Path(sys.executable).parent / "cislunar")


def write_config(tmp_path: Path, extra: str = "", interval_minutes: float = 0.05, horizon_hours: float = 0.1,
                 step_seconds: float = 60.0) -> Path:
    cfg = tmp_path / "cislunar.toml"
    cfg.write_text(
        f"""
[cycle]
interval_minutes = {interval_minutes}
horizon_hours = {horizon_hours}
step_seconds = {step_seconds}
inbox_poll_seconds = 1

[data]
inbox = "{tmp_path / 'inbox'}"

[smtp]
spool_dir = "{tmp_path / 'spool'}"
{extra}
"""
    )
    return cfg


def start(db_url: str, cfg: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, CISLUNAR_DB_URL=db_url)
    return subprocess.Popen([CISLUNAR, "--config", str(cfg), "run", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def heartbeat(Session):
    with Session() as session:
        return queries.get_service_value(session, service.HEARTBEAT_KEY)


def stop(proc: subprocess.Popen, timeout: float = 60.0) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def runs(Session) -> list[Run]:
    with Session() as session:
        return list(session.scalars(select(Run).order_by(Run.id)))


def second_service_refused(db_url: str, tmp_path: Path, expected: str) -> None:
    engine = make_engine(db_url)
    Session = session_factory(engine)
    first = start(db_url, write_config(tmp_path))
    try:
        wait_for(lambda: heartbeat(Session), what="the first service's heartbeat")
        t0 = time.monotonic()
        second = subprocess.run([CISLUNAR, "--config", str(tmp_path / "cislunar.toml"), "run"], cwd=REPO,
                                env=dict(os.environ, CISLUNAR_DB_URL=db_url), capture_output=True, text=True, timeout=60)
        assert second.returncode == 1, second.stderr
        assert expected in second.stderr and "stop it first" in second.stderr
        assert time.monotonic() - t0 < 30
        assert first.poll() is None  # the first one keeps running
    finally:
        rc, _out, err = stop(first)
        engine.dispose()
    assert rc == 0, err
    assert "service stopped cleanly" in err


@pytest.mark.slow
def test_second_service_on_one_sqlite_database_refuses(tmp_path):
    url = f"sqlite:///{tmp_path / 'svc.db'}"
    migrate.upgrade(url)
    second_service_refused(url, tmp_path, "already running on this database")


@pytest.mark.slow
def test_second_service_on_one_postgresql_database_refuses(tmp_path):
    from conftest import fresh_database_url

    url = fresh_database_url("postgresql", tmp_path)
    migrate.upgrade(url)
    second_service_refused(url, tmp_path, "advisory lock")


@pytest.mark.slow
def test_invalid_rule_file_refuses_to_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'never.db'}"
    cfg = write_config(tmp_path, extra='\n[[alerts.rules]]\nname = "x"\nkind = "conjunction"\nseverity = "urgent"\nmiss_km_max = 1\n')
    proc = subprocess.run([CISLUNAR, "--config", str(cfg), "run"], cwd=REPO, env=dict(os.environ, CISLUNAR_DB_URL=url),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "alerts.rules[0].severity" in proc.stderr and "'urgent'" in proc.stderr and "info, warning, critical" in proc.stderr
    assert not (tmp_path / "never.db").exists()  # nothing started, nothing touched
    cfg = write_config(tmp_path, extra='\n[[sources.celestrak]]\ngroup = "geo"\ninterval_minutes = 5\n')
    proc = subprocess.run([CISLUNAR, "--config", str(cfg), "run"], cwd=REPO, env=dict(os.environ, CISLUNAR_DB_URL=url),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "sources.celestrak[0].interval_minutes" in proc.stderr


@pytest.fixture
def service_context(SqliteSession, sqlite_url, tmp_path, monkeypatch):
    from monitor.config import load_settings

    settings = load_settings(write_config(tmp_path, interval_minutes=10, horizon_hours=0.5, step_seconds=300),
                             {"database.url": sqlite_url})
    monkeypatch.setattr(service, "_CONTEXT", {"settings": settings, "Session": SqliteSession})
    clock = {"now": datetime(2026, 7, 6, 12, 3, tzinfo=timezone.utc)}
    monkeypatch.setattr(service, "_now", lambda: clock["now"])
    return SqliteSession, clock


def three_tles(tmp_path: Path) -> Path:
    from propagators.datadir import packaged_tle_json_path

    sats = json.loads(packaged_tle_json_path().read_text())[:3]
    f = tmp_path / "three.tle"
    f.write_text("".join(f"{s['name']}\n{s['line1']}\n{s['line2']}\n" for s in sats))
    return f


def test_service_down_for_n_intervals_catches_up_once(service_context, tmp_path):
    """Interval 10 min, horizon 30 min, step 5 min.  Events come from screening
    the propagated span, so covering every missed window with states is what
    gives events for every missed window."""
    from monitor.ingest import ingest_paths

    Session, clock = service_context
    ingest_paths(Session, [three_tles(tmp_path)])

    def cycles():
        return [r for r in runs(Session) if r.kind in ("cycle", "catch-up")]

    service.cycle_job()  # first start: the current window only
    [first] = cycles()
    assert first.kind == "cycle" and first.window_start_utc == datetime(2026, 7, 6, 12, 0, tzinfo=timezone.utc)
    # down for five intervals (12:10 ... 12:50 missed), back at 12:57
    clock["now"] = datetime(2026, 7, 6, 12, 57, tzinfo=timezone.utc)
    service.cycle_job()
    service.cycle_job()  # another tick in the same window: nothing more
    assert [r.kind for r in cycles()] == ["cycle", "catch-up"]
    catch = cycles()[-1]
    assert catch.status == "ok"
    assert catch.window_start_utc == datetime(2026, 7, 6, 12, 10, tzinfo=timezone.utc)
    # every missed window is covered: the last starts at 12:50 and lasts the horizon
    assert catch.window_stop_utc == datetime(2026, 7, 6, 12, 50, tzinfo=timezone.utc) + timedelta(hours=0.5)
    epochs = int((catch.window_stop_utc - catch.window_start_utc).total_seconds() // 300) + 1
    assert catch.n_objects == 3 and catch.n_states == 3 * epochs
    with Session() as session:
        assert queries.get_service_value(session, service.WATERMARK_KEY) == "2026-07-06T12:50:00+00:00"
    # after a restart nothing is redone; the next window is a normal cycle
    service._CONTEXT.pop("policy", None)
    clock["now"] = datetime(2026, 7, 6, 13, 1, tzinfo=timezone.utc)
    service.cycle_job()
    service.cycle_job()
    assert [(r.kind, r.window_start_utc.strftime("%H:%M")) for r in cycles()] == [
        ("cycle", "12:00"), ("catch-up", "12:10"), ("cycle", "13:00")]


@pytest.mark.slow
def test_sigterm_during_a_cycle_leaves_no_run_running(tmp_path):
    from propagators.datadir import packaged_tle_json_path

    url = f"sqlite:///{tmp_path / 'svc.db'}"
    env = dict(os.environ, CISLUNAR_DB_URL=url)
    subprocess.run([CISLUNAR, "db", "upgrade"], env=env, cwd=REPO, check=True, capture_output=True, timeout=120)
    subprocess.run([CISLUNAR, "ingest", str(packaged_tle_json_path())], env=env, cwd=REPO, check=True, capture_output=True, timeout=120)
    engine = make_engine(url)
    Session = session_factory(engine)
    # 152 objects: screening them takes seconds, long enough to be caught mid-cycle
    proc = start(url, write_config(tmp_path, interval_minutes=60, horizon_hours=0.5, step_seconds=300))
    try:
        wait_for(lambda: any(r.kind == "cycle" and r.status == "running" for r in runs(Session)), what="a running cycle")
        proc.send_signal(signal.SIGTERM)
        rc, _out, err = stop(proc, timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert rc == 0, err
    assert "signal SIGTERM" in err and "service stopped cleanly" in err
    statuses = [r.status for r in runs(Session)]
    engine.dispose()
    assert "running" not in statuses
    assert statuses[-1] in ("ok", "partial", "interrupted", "failed")


def test_log_lines_name_job_and_run(capsys):
    logger = logging.getLogger("cislunar.test")
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        service.configure_service_logging("json", [handler])
        with service.in_job("source:ct", 42):
            logger.info("fetched %d records", 7)
        service.configure_service_logging("text", [handler])
        with service.in_job("outbox"):
            logger.info("plain")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    lines = capsys.readouterr().err.strip().splitlines()
    doc = json.loads(lines[0])
    assert (doc["job"], doc["run"], doc["message"], doc["level"]) == ("source:ct", 42, "fetched 7 records", "INFO")
    assert doc["ts"].endswith("Z")
    assert " job=outbox run=- plain" in lines[1]
