"""Scheduled element-set sources against recorded responses served by a
local HTTP server on 127.0.0.1 (nothing touches the internet): CelesTrak GP
with ETag caching, retries on 500s and timeouts, per-source status; the
Space-Track client (the ``spacetrack`` library, its base URL pointed at the
loopback server) with its query construction and rate limit."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from db import alert_ops, queries
from db.models import ElementSet, Run, SourceStatus
from monitor import sources
from monitor.sources import CelestrakSource, SourceFetchError, SpaceTrackSource, fetch_source, load_sources
from propagators.datadir import packaged_tle_json_path
from propagators.errors import ConfigError

CREDENTIALS = {sources.IDENTITY_ENV: "ops@example.org", sources.PASSWORD_ENV: "hunter2"}


def tle_text(start: int, n: int) -> str:
    sats = json.loads(packaged_tle_json_path().read_text())[start:start + n]
    return "".join(f"{s['name']}\n{s['line1']}\n{s['line2']}\n" for s in sats)


class Upstream:
    """What the fake CelesTrak / Space-Track answers, and what it was asked."""

    def __init__(self) -> None:
        self.body = tle_text(0, 3)
        self.etag = '"v1"'
        self.fail_500 = 0
        self.delay_s = 0.0
        self.status: int | None = None
        self.status_body = ""
        self.requests: list[tuple[str, str, dict]] = []
        self.logins: list[dict] = []
        self.lock = threading.Lock()
        self.fail_paths: list[str] = []  # requests whose path contains one of these answer 500


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: str, headers: dict | None = None) -> None:
        data = body.encode()
        try:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def do_POST(self):
        up: Upstream = self.server.upstream
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        up.requests.append(("POST", self.path, dict(self.headers)))
        if self.path == "/ajaxauth/login":
            up.logins.append(form)
            ok = form.get("password") == "hunter2"
            self._send(200, '""' if ok else '{"Login": "Failed"}', {"Set-Cookie": "chocolatechip=abc; Path=/"})
            return
        self._send(404, "no")

    def do_GET(self):
        up: Upstream = self.server.upstream
        up.requests.append(("GET", self.path, dict(self.headers)))
        if up.delay_s:
            time.sleep(up.delay_s)
        with up.lock:
            if up.fail_500 > 0 or any(f in self.path for f in up.fail_paths):
                up.fail_500 = max(up.fail_500 - 1, 0) if not any(f in self.path for f in up.fail_paths) else up.fail_500
                self._send(500, "Internal Server Error")
                return
        if up.status is not None:
            self._send(up.status, up.status_body)
            return
        path = urllib.parse.urlparse(self.path).path
        if path == "/ajaxauth/logout":
            self._send(200, '"Successfully logged out"')
        elif path.startswith("/basicspacedata/modeldef/class/"):
            fields = [{"Field": f, "Type": t, "Null": "YES", "Key": "", "Default": "", "Extra": ""}
                      for f, t in (("NORAD_CAT_ID", "int(10) unsigned"), ("EPOCH", "datetime(6)"),
                                   ("DECAY_DATE", "date"), ("OBJECT_NAME", "varchar(25)"))]
            self._send(200, json.dumps({"controller": "basicspacedata", "data": fields}))
        elif path.startswith("/basicspacedata/query/class/") or path == "/NORAD/elements/gp.php":
            if self.headers.get("If-None-Match") == up.etag:
                self._send(304, "", {"ETag": up.etag})
                return
            self._send(200, up.body, {"ETag": up.etag, "Last-Modified": "Mon, 06 Jul 2026 10:00:00 GMT",
                                      "Content-Type": "text/plain; charset=utf-8"})
        else:
            self._send(404, "not found")


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.upstream = Upstream()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.upstream.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server.upstream
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def creds(monkeypatch):
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)


def config(upstream, tmp_path, **kw):
    raw = {"timeout_seconds": 0.5, "retries": 2, "backoff_seconds": 0.01, "spacetrack_cache_dir": str(tmp_path / "st-cache"), **kw}
    return load_sources(raw, environ=CREDENTIALS)


def celestrak(upstream, **kw):
    return CelestrakSource(name=kw.pop("name", "ct-test"), format=kw.pop("format", "tle"), interval_minutes=120,
                           base_url=upstream.base_url, **({"group": "test"} | kw))


class Sleeps(list):
    def __call__(self, s):
        self.append(s)


def test_celestrak_fetch_ingests_then_uses_the_http_cache(Session, upstream, tmp_path):
    cfg = config(upstream, tmp_path)
    src = celestrak(upstream)
    [rep] = fetch_source(Session, src, cfg)
    assert (rep.status, rep.http_status, rep.records, rep.new, rep.attempts) == ("new", 200, 3, 3, 1)
    assert upstream.requests[0][1] == "/NORAD/elements/gp.php?GROUP=test&FORMAT=TLE"
    assert "cislunar-monitor" in upstream.requests[0][2]["User-Agent"]
    with Session() as session:
        st = session.get(SourceStatus, "ct-test")
        assert st.etag == '"v1"' and st.last_modified.startswith("Mon, 06 Jul 2026")
        assert st.records_last == 3 and st.last_error is None and st.newest_epoch_utc is not None
        assert session.scalar(select(func.count()).select_from(ElementSet).where(ElementSet.source == rep.url)) == 3
        run = session.get(Run, rep.run_id)
        assert (run.kind, run.status, run.n_objects) == ("fetch", "ok", 3)
    # unchanged upstream: a conditional GET, nothing downloaded
    [again] = fetch_source(Session, src, cfg)
    assert (again.status, again.http_status, again.records) == ("not-modified", 304, 0)
    assert upstream.requests[-1][2]["If-None-Match"] == '"v1"'
    assert upstream.requests[-1][2]["If-Modified-Since"] == "Mon, 06 Jul 2026 10:00:00 GMT"
    # new data upstream
    upstream.body, upstream.etag = tle_text(3, 2), '"v2"'
    [third] = fetch_source(Session, src, cfg)
    assert (third.status, third.new) == ("new", 2)
    with Session() as session:
        assert session.get(SourceStatus, "ct-test").etag == '"v2"'
        d = alert_ops.source_dict(session.get(SourceStatus, "ct-test"), now=datetime.now(timezone.utc))
    assert d["healthy"] and d["data_age_hours"] > 0


def test_500_is_retried_with_backoff(SqliteSession, upstream, tmp_path):
    upstream.fail_500 = 2
    sleeps = Sleeps()
    [rep] = fetch_source(SqliteSession, celestrak(upstream), config(upstream, tmp_path, backoff_seconds=0.5), sleep=sleeps)
    assert (rep.status, rep.attempts) == ("new", 3)
    assert sleeps == [0.5, 1.0]


def test_timeout_and_500_are_reported_and_other_sources_still_fetch(Session, upstream, tmp_path):
    cfg = config(upstream, tmp_path, timeout_seconds=0.2, retries=1)
    upstream.delay_s = 0.6
    [slow] = fetch_source(Session, celestrak(upstream, name="slow"), cfg)
    assert slow.status == "error" and slow.attempts == 2 and "timed out" in slow.error
    upstream.delay_s = 0.0
    upstream.fail_500 = 5
    [broken] = fetch_source(Session, celestrak(upstream, name="broken"), cfg)
    assert broken.status == "error" and broken.http_status == 500 and broken.attempts == 2
    upstream.fail_500 = 0
    [fine] = fetch_source(Session, celestrak(upstream, name="fine"), cfg)
    assert fine.status == "new"
    with Session() as session:
        status = {s.name: alert_ops.source_dict(s) for s in alert_ops.source_statuses(session)}
        failed_runs = session.scalars(select(Run).where(Run.kind == "fetch", Run.status == "failed")).all()
    assert not status["slow"]["healthy"] and "timed out" in status["slow"]["last_error"]
    assert not status["broken"]["healthy"] and "HTTP 500" in status["broken"]["last_error"]
    assert status["fine"]["healthy"] and status["fine"]["last_success_at"]
    assert len(failed_runs) == 2


def test_client_errors_are_not_retried_and_celestrak_not_updated_is_a_success(SqliteSession, upstream, tmp_path):
    cfg = config(upstream, tmp_path)
    upstream.status, upstream.status_body = 404, "Invalid query"
    [rep] = fetch_source(SqliteSession, celestrak(upstream), cfg)
    assert rep.status == "error" and rep.attempts == 1 and rep.http_status == 404
    upstream.status = 403
    upstream.status_body = "GP data has not updated since your last successful download of GROUP=test at 2026-07-06 10:00:00 UTC"
    [rep] = fetch_source(SqliteSession, celestrak(upstream), cfg)
    assert rep.status == "not-modified" and rep.error is None
    upstream.status, upstream.status_body = 200, "No GP data found"
    [rep] = fetch_source(SqliteSession, celestrak(upstream), cfg)
    assert rep.status == "error" and "unreadable" in rep.error


def test_celestrak_catalogue_numbers_and_formats(SqliteSession, upstream, tmp_path, data_dir):
    upstream.body = (data_dir / "ccsds" / "omm" / "celestrak_32275_cosmos2433.xml").read_text()
    src = CelestrakSource(name="ct-ids", format="xml", interval_minutes=120, base_url=upstream.base_url + "/", catnr=(32275, 25544))
    reps = fetch_source(SqliteSession, src, config(upstream, tmp_path))
    assert [r.status_name for r in reps] == ["ct-ids/32275", "ct-ids/25544"]
    assert [q[1] for q in upstream.requests] == ["/NORAD/elements/gp.php?CATNR=32275&FORMAT=XML",
                                                 "/NORAD/elements/gp.php?CATNR=25544&FORMAT=XML"]
    assert reps[0].new == 1 and reps[1].duplicates == 1


def test_space_track_gp_and_history_through_the_spacetrack_client(Session, upstream, tmp_path, creds):
    cfg = config(upstream, tmp_path)
    gp = SpaceTrackSource(name="st-gp", query="gp", format="tle", interval_minutes=60, norad_ids=(4751, 25544),
                          base_url=upstream.base_url + "/")
    [rep] = fetch_source(Session, gp, cfg)
    assert rep.status == "new" and rep.new == 3
    assert upstream.logins == [{"identity": "ops@example.org", "password": "hunter2"}]
    queries = [p for m, p, h in upstream.requests if "/query/" in p]
    assert queries == ["/basicspacedata/query/class/gp/format/tle/norad_cat_id/4751%2C25544/orderby/norad_cat_id"]
    assert any(p == "/ajaxauth/logout" for m, p, h in upstream.requests)

    hist = SpaceTrackSource(name="st-hist", query="gp_history", format="tle", interval_minutes=60, norad_ids=(4751,),
                            epoch_days=10, base_url=upstream.base_url + "/")
    fetch_source(Session, hist, cfg)
    with Session() as session:
        newest = session.get(SourceStatus, "st-hist").newest_epoch_utc
    assert newest is not None
    upstream.body = tle_text(3, 1)
    fetch_source(Session, hist, cfg)
    h1, h2 = [p for m, p, h in upstream.requests if "/class/gp_history/" in p]
    assert h1.endswith("/epoch/%3Enow-10/orderby/epoch")
    # the second query asks only for epochs newer than the newest already served
    since = urllib.parse.quote(newest.replace(tzinfo=None).isoformat(sep=" "), safe="")
    assert h2.endswith(f"/epoch/%3E{since}/orderby/epoch")

    catalogue = SpaceTrackSource(name="st-all", query="gp", format="json", interval_minutes=60, epoch_days=30,
                                 base_url=upstream.base_url + "/")
    assert catalogue.predicates() == {"format": "json", "decay_date": None, "epoch": ">now-30", "orderby": "norad_cat_id"}


def test_space_track_errors(SqliteSession, upstream, tmp_path, creds):
    cfg = config(upstream, tmp_path)
    src = SpaceTrackSource(name="st", query="gp", format="tle", interval_minutes=60, norad_ids=(4751,), base_url=upstream.base_url + "/")
    upstream.fail_500 = 1  # the login is a POST; the first GET (modeldef) fails once
    [rep] = fetch_source(SqliteSession, src, cfg, sleep=Sleeps())
    assert rep.status == "new" and rep.attempts == 2
    bad = dict(CREDENTIALS, **{sources.PASSWORD_ENV: "wrong"})
    [rep] = fetch_source(SqliteSession, src, cfg, sleep=Sleeps(),
                         spacetrack_factory=lambda s, c: sources.spacetrack_client(s, c, environ=bad))
    assert rep.status == "error" and rep.attempts == 1 and "refused the login" in rep.error


def test_space_track_rate_limit_is_shared_and_enforced(upstream, tmp_path, monkeypatch):
    """Space-Track: fewer than 30 requests a minute.  The spacetrack client
    throttles; every client of the process shares one quota store."""
    from rush.stores.dictionary import DictionaryStore

    monkeypatch.setattr(sources, "_RUSH_STORE", DictionaryStore())
    cfg = config(upstream, tmp_path)
    src = SpaceTrackSource(name="st", query="gp", format="tle", interval_minutes=60, norad_ids=(4751,), base_url=upstream.base_url + "/")
    waits: list[float] = []

    class Throttled(Exception):
        pass

    def record_wait(duration):
        waits.append(duration)
        raise Throttled()

    n = 0
    with pytest.raises(Throttled):
        for _ in range(40):
            client = sources.spacetrack_client(src, cfg, environ=CREDENTIALS)  # a new client each time
            client._ratelimit_wait = record_wait
            try:
                client.generic_request("gp", controller="basicspacedata", **src.predicates())
                n += 1
            finally:
                client.client.close()
                client._finalizer.detach()
    # 30 rate-limited requests per minute: the modeldef request and 29 queries
    assert n == 29 and len(waits) == 1 and 0 < waits[0] <= 60


def test_sources_configuration_is_validated():
    ok = load_sources({"celestrak": [{"name": "geo", "group": "geo", "format": "json"}],
                       "spacetrack": [{"name": "st", "norad_ids": [25544]}]}, environ=CREDENTIALS)
    assert [s.name for s in ok.sources] == ["geo", "st"] and ok.sources[0].interval_minutes == 120
    cases = [
        ({"celestrak": [{"group": "geo", "interval_minutes": 30}]}, "sources.celestrak[0].interval_minutes", CREDENTIALS),
        ({"celestrak": [{"group": "geo", "catnr": [1]}]}, "sources.celestrak[0].group", CREDENTIALS),
        ({"celestrak": [{"group": "geo", "format": "yaml"}]}, "sources.celestrak[0].format", CREDENTIALS),
        ({"celestrak": [{"catnr": ["ISS"]}]}, "sources.celestrak[0].catnr", CREDENTIALS),
        ({"spacetrack": [{"interval_minutes": 10, "norad_ids": [1]}]}, "sources.spacetrack[0].interval_minutes", CREDENTIALS),
        ({"spacetrack": [{"query": "gp_history"}]}, "sources.spacetrack[0].norad_ids", CREDENTIALS),
        ({"spacetrack": [{"norad_ids": [1]}]}, sources.IDENTITY_ENV, {}),
        ({"timeout": 3}, "sources.timeout", CREDENTIALS),
    ]
    for raw, key, env in cases:
        with pytest.raises(ConfigError) as info:
            load_sources(raw, environ=env)
        assert info.value.key == key, (raw, str(info.value))
    # mirrors and test servers may be polled more often
    assert load_sources({"celestrak": [{"group": "geo", "interval_minutes": 1, "base_url": "http://127.0.0.1:8080"}]}).sources[0].interval_minutes == 1


def test_fetch_error_type():
    e = SourceFetchError("ct", "http://x", "HTTP 500: oops", transient=True, http_status=500, attempts=3)
    assert "source ct" in str(e) and "after 3 attempts" in str(e) and e.transient


def test_failing_source_does_not_stop_the_other_jobs(sqlite_url, SqliteSession, upstream, tmp_path, monkeypatch):
    """The real scheduler with its jobs: a source answering 500 to everything
    is retried and reported while the good source, the heartbeat and the
    outbox (spooling a queued alert) carry on."""
    from alerts.email import ComposedMail
    from alerts.outbox import enqueue
    from monitor import service
    from monitor.config import load_settings

    upstream.fail_paths = ["GROUP=bad"]
    cfg = tmp_path / "cislunar.toml"
    cfg.write_text(f"""
[cycle]
interval_minutes = 10
[data]
inbox = "{tmp_path / 'inbox'}"
[smtp]
spool_dir = "{tmp_path / 'spool'}"
[alerts.delivery]
poll_seconds = 0.2
[sources]
retries = 2
backoff_seconds = 0.05
[[sources.celestrak]]
name = "bad"
group = "bad"
base_url = "{upstream.base_url}"
[[sources.celestrak]]
name = "good"
group = "good"
base_url = "{upstream.base_url}"
""")
    settings = load_settings(cfg, {"database.url": sqlite_url})
    with SqliteSession.begin() as session:
        enqueue(session, message_id="<queued@test>", composed=ComposedMail("s", "t", "<p>h</p>"), recipients=["a@example.org"],
                now=datetime.now(timezone.utc))
    monkeypatch.setattr(service, "_CONTEXT", {"settings": settings, "Session": SqliteSession,
                                              "started_at": datetime.now(timezone.utc)})
    sched = service.build_scheduler(settings)
    assert {"cycle", "inbox", "heartbeat", "retention", "outbox", "deadman", "source:bad", "source:good"} <= {j.id for j in sched.get_jobs()}
    thread = threading.Thread(target=sched.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with SqliteSession() as session:
                st = {s.name: s for s in alert_ops.source_statuses(session)}
                sent = alert_ops.outbox_counts(session)["sent"]
                hb = queries.get_service_value(session, service.HEARTBEAT_KEY)
            if {"bad", "good"} <= set(st) and sent == 1 and hb is not None:
                break
            time.sleep(0.1)
    finally:
        sched.shutdown(wait=True)
        thread.join(10)
    assert st["bad"].last_error and "HTTP 500" in st["bad"].last_error and "after 3 attempts" in st["bad"].last_error
    assert st["good"].last_success_at is not None and st["good"].last_error is None
    assert sum(1 for r in upstream.requests if "GROUP=bad" in r[1]) == 3
    assert sent == 1 and len(list((tmp_path / "spool").glob("*.eml"))) == 1
    assert hb is not None
