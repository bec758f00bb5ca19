"""``cislunar run``: the scheduler service.

One APScheduler 3.x ``BlockingScheduler`` in UTC in one process, guarded by
a single-instance lock.  Jobs are module-level functions with explicit ids,
``coalesce=True``, ``max_instances=1`` and a deliberate misfire grace time.
The cycle job keeps a watermark in the database: windows missed while the
service was down are caught up exactly once, coalesced into one run.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import update

from db import queries
from db.engine import make_engine, session_factory
from db.models import Run
from monitor.lock import AlreadyRunning, ServiceLock

log = logging.getLogger("cislunar.service")

WATERMARK_KEY = "cycle.watermark"
HEARTBEAT_KEY = "service.heartbeat"
REPO_ROOT = Path(__file__).resolve().parent.parent

# Shared by the job functions (APScheduler jobs take ids, not objects).
_CONTEXT: dict = {}

# Set on SIGTERM/SIGINT: jobs that wait (fetch retries, the outbox between
# messages) stop early instead of holding up the shutdown.
STOPPING = threading.Event()

# ---------------------------------------------------------------- structured logs

# The job (and run, when known) each log line belongs to; set per job call.
LOG_CONTEXT: contextvars.ContextVar[dict] = contextvars.ContextVar("cislunar_log_context", default={})


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = LOG_CONTEXT.get()
        record.job = ctx.get("job", "-")
        record.run_id = ctx.get("run", "-")
        record.pid = os.getpid()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, pid, job, run, message."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": getattr(record, "pid", os.getpid()),
            "job": getattr(record, "job", "-"),
            "run": getattr(record, "run_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


TEXT_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s pid=%(pid)s job=%(job)s run=%(run_id)s %(message)s"


def configure_service_logging(fmt: str | None = None, handlers: list[logging.Handler] | None = None) -> None:
    """Service logs as ``key=value`` text, or JSON lines with
    ``CISLUNAR_LOG_FORMAT=json``; each line names its job and run.
    Applies to the root logger's handlers unless ``handlers`` are given."""
    fmt = (fmt or os.environ.get("CISLUNAR_LOG_FORMAT") or "text").lower()
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, _ContextFilter) for f in handler.filters):
            handler.addFilter(_ContextFilter())
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_LOG_FORMAT))


@contextlib.contextmanager
def in_job(name: str, run_id: int | None = None):
    """Log lines inside carry ``job=name`` (and ``run=run_id``)."""
    token = LOG_CONTEXT.set({"job": name, **({"run": run_id} if run_id is not None else {})})
    try:
        yield
    finally:
        LOG_CONTEXT.reset(token)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def floor_to_interval(t: datetime, interval: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=timezone.utc)
    k = (t - epoch) // interval
    return epoch + k * interval


def due_windows(watermark: datetime | None, now: datetime, interval: timedelta) -> list[datetime]:
    """Window starts not yet processed: every aligned start after the
    watermark up to now; on first start just the current window."""
    current = floor_to_interval(now, interval)
    if watermark is None:
        return [current]
    out = []
    t = watermark + interval
    while t <= current:
        out.append(t)
        t += interval
    return out


# ---------------------------------------------------------------- jobs

def cycle_job() -> None:
    from monitor.cycle import run_cycle

    settings = _CONTEXT["settings"]
    Session = _CONTEXT["Session"]
    interval = timedelta(minutes=settings["cycle.interval_minutes"])
    horizon_h = settings["cycle.horizon_hours"]
    with Session() as session:
        wm_text = queries.get_service_value(session, WATERMARK_KEY)
    watermark = datetime.fromisoformat(wm_text) if wm_text else None
    windows = due_windows(watermark, _now(), interval)
    if not windows:
        return
    if len(windows) == 1:
        at, horizon, kind = windows[0], horizon_h, "cycle"
    else:
        at = windows[0]
        horizon = (windows[-1] - windows[0]).total_seconds() / 3600.0 + horizon_h
        kind = "catch-up"
        log.info("catch-up: %d missed windows from %s to %s in one run", len(windows), windows[0].isoformat(), windows[-1].isoformat())

    def advance_watermark(session) -> None:
        queries.set_service_value(session, WATERMARK_KEY, windows[-1].isoformat())

    with in_job("cycle"):
        report = run_cycle(
            Session, at, horizon, settings["cycle.step_seconds"], kind=kind, settings=settings,
            on_commit=advance_watermark, windows=windows,
        )
    with in_job("cycle", report.run_id):
        log.info("%s done: %d window(s) from %s, status %s", kind, len(windows), windows[0].isoformat(), report.status)


def inbox_job() -> None:
    from monitor.ingest import ingest_paths

    settings = _CONTEXT["settings"]
    Session = _CONTEXT["Session"]
    inbox: Path = settings["data.inbox"]
    inbox.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        return
    done = inbox / "processed"
    failed = inbox / "rejected"
    for f in files:
        reports = ingest_paths(Session, [f])
        target = failed if any(r.error for r in reports) else done
        target.mkdir(exist_ok=True)
        stamp = _now().strftime("%Y%m%dT%H%M%SZ")
        shutil.move(str(f), str(target / f"{stamp}-{f.name}"))
        for r in reports:
            log.info("inbox %s: %s new=%d rejected=%d -> %s", f.name, r.status, r.new, len(r.rejections), target.name)


def heartbeat_job() -> None:
    Session = _CONTEXT["Session"]
    with Session.begin() as session:
        queries.set_service_value(session, HEARTBEAT_KEY, _now().isoformat())


def retention_job() -> None:
    """Delete states whose epoch is older than the retention period (runs,
    events and element sets stay, for audit and replay)."""
    settings = _CONTEXT["settings"]
    Session = _CONTEXT["Session"]
    cutoff = _now() - timedelta(days=settings["retention.states_days"])
    with Session.begin() as session:
        n = queries.delete_states_before(session, cutoff)
    if n:
        log.info("retention: deleted %d states with epochs before %s", n, cutoff.isoformat())


JOBS = {
    # id: (function, trigger kwargs key, misfire grace in seconds)
    "cycle": cycle_job,
    "inbox": inbox_job,
    "heartbeat": heartbeat_job,
    "retention": retention_job,
}


def mark_interrupted_runs(Session) -> int:
    """Runs left 'running' by a crash are closed as 'interrupted'."""
    with Session.begin() as session:
        res = session.execute(
            update(Run).where(Run.status == "running").values(status="interrupted", finished_at=_now(), error="service stopped during the run")
        )
    return res.rowcount or 0


def build_scheduler(settings):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    from monitor import alert_jobs  # noqa: F401  (adds outbox, source, dead-man and digest jobs to EXTRA_JOBS)

    # cycle, inbox, heartbeat, retention, outbox, dead-man, sources: a slow
    # fetch or a long cycle must not starve the heartbeat or the outbox.
    sched = BlockingScheduler(timezone="UTC", executors={"default": ThreadPoolExecutor(max_workers=6)})
    common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    interval_s = settings["cycle.interval_minutes"] * 60
    # A late cycle is still worth running (the watermark makes it exact), so
    # its grace is the whole interval; the others are cheap and periodic.
    sched.add_job(cycle_job, "interval", seconds=interval_s, id="cycle", misfire_grace_time=int(interval_s),
                  next_run_time=_now(), **common)
    sched.add_job(inbox_job, "interval", seconds=settings["cycle.inbox_poll_seconds"], id="inbox",
                  misfire_grace_time=60, next_run_time=_now(), **common)
    sched.add_job(heartbeat_job, "interval", seconds=60, id="heartbeat", misfire_grace_time=30, next_run_time=_now(), **common)
    sched.add_job(retention_job, "interval", hours=6, id="retention", misfire_grace_time=3600, **common)
    for extra in EXTRA_JOBS:
        extra(sched, settings, common)
    return sched


EXTRA_JOBS: list = []  # later stages add jobs here: f(scheduler, settings, common_kwargs); see monitor.alert_jobs


def dashboard_command(settings, port: int | None = None, address: str | None = None) -> list[str]:
    app = REPO_ROOT / "dashboard" / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(port or settings["dashboard.port"]),
        "--server.address", address or settings["dashboard.address"],
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]


def run_service(settings, with_dashboard: bool = False, demo_if_empty: bool = False) -> int:
    from alerts.engine import policy_for
    from db import migrate
    from monitor.sources import load_sources

    # Refuse to start on an invalid [alerts] or [sources] section (ConfigError
    # names the key; the CLI prints it and exits 2) before touching anything.
    policy = policy_for(settings)
    sources = load_sources(settings.raw.get("sources", {}))
    configure_service_logging()
    lock = ServiceLock(settings.db_url, settings["service.lock_file"])
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"cislunar run: {exc}", file=sys.stderr)
        return 1
    dash = None
    try:
        migrate.upgrade(settings.db_url)
        engine = make_engine(settings.db_url)
        Session = session_factory(engine)
        _CONTEXT.update(settings=settings, Session=Session, policy=policy, sources=sources, started_at=_now())
        n = mark_interrupted_runs(Session)
        if n:
            log.warning("%d runs were left running by a previous stop; marked interrupted", n)
        if demo_if_empty:
            from monitor.demo import ingest_demo

            log.info(ingest_demo(Session, settings, if_empty=True)["message"])
        sched = build_scheduler(settings)
        STOPPING.clear()
        stopper: list[threading.Thread] = []

        def on_signal(signum, _frame):
            if STOPPING.is_set():
                return
            STOPPING.set()
            log.info("signal %s: finishing the running job, then stopping", signal.Signals(signum).name)
            t = threading.Thread(target=sched.shutdown, kwargs={"wait": True}, daemon=True)
            stopper.append(t)
            t.start()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if with_dashboard:
            env = dict(os.environ, CISLUNAR_DB_URL=settings.db_url)
            if settings.source_file:
                env["CISLUNAR_CONFIG"] = str(settings.source_file)
            dash = subprocess.Popen(dashboard_command(settings), env=env)
            url = f"http://{settings['dashboard.address']}:{settings['dashboard.port']}"
            print(f"dashboard: {url}", flush=True)
        log.info("service started (pid %d, database %s)", os.getpid(), _redact(settings.db_url))
        sched.start()
        # start() returns once the scheduler is stopped; wait until the
        # running jobs have finished too (shutdown(wait=True) in the signal
        # thread), so no run is still being written when we close them.
        for t in stopper:
            t.join()
        mark_interrupted_runs(Session)
        log.info("service stopped cleanly")
        return 0
    finally:
        if dash is not None:
            dash.terminate()
            try:
                dash.wait(timeout=10)
            except subprocess.TimeoutExpired:
                dash.kill()
        lock.release()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
