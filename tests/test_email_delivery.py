"""Alert mail through the transactional outbox to a real SMTP server on
loopback (aiosmtpd), on SQLite and PostgreSQL: content and threading
headers, retries with backoff, dead letters, exactly-once delivery across
an unreachable server and a killed sender, STARTTLS with authentication,
and the spool folder when no server is configured."""

from __future__ import annotations

import email
import email.policy
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from alerts.engine import _geometry, write_digest
from alerts.outbox import deliver_due
from alerts.rules import load_rules
from alerts.smtp import MailConfig, transport_for
from db import alert_ops, queries
from db.models import Event, OutboxMessage, SpaceObject
from test_alerts_support import T0, SmtpRecorder, cycle, free_port, make_objects, running_smtp, settings_for

# Backend-independent logic: SQLite only (the PostgreSQL paths are covered by the others).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
REPO = Path(__file__).resolve().parent.parent
DASH = "https://ssa.example.org"
FP = "conj:90001:90002:2026-07-06T18"


def policy(**delivery):
    d = {"backoff_seconds": 30, "backoff_max_seconds": 600, "max_attempts": 6, "smtp_timeout_seconds": 5, "lease_seconds": 60}
    d.update(delivery)
    return load_rules({"recipients": ["ops@example.org"], "routes": [{"recipients": ["oncall@example.org"], "min_severity": "critical"}],
                       "delivery": d}, dashboard_url=DASH)


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, seconds):
        self.t += timedelta(seconds=seconds)


def deliver(Session, settings, pol, clock):
    transport = transport_for(MailConfig.from_settings(settings), pol.delivery)
    return deliver_due(Session, transport, pol.delivery, clock=clock)


def rows(Session) -> list[OutboxMessage]:
    with Session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def objs(Session):
    with Session.begin() as session:
        make_objects(session, 4)


def three_alerts(Session, pol):
    cycle(Session, pol, T0, [
        {"fingerprint": "conj:a", "objects": (0, 1), "miss_km": 0.5},
        {"fingerprint": "conj:b", "objects": (0, 2), "miss_km": 3.0},
        {"fingerprint": "conj:c", "objects": (1, 3), "miss_km": 4.0},
    ])


def test_received_mail_carries_the_facts_and_threads(Session, db_url, tmp_path, objs):
    pol = policy()
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 4.0, "pc": 3.2e-6}])
    cycle(Session, pol, T0 + timedelta(minutes=10), [{"fingerprint": FP, "miss_km": 0.9, "pc": 4.5e-5}])
    handler = SmtpRecorder()
    with running_smtp(handler) as server:
        settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port, smtp_sender="ssa@example.org")
        counts = deliver(Session, settings, pol, Clock(T0 + timedelta(minutes=11)))
    assert counts == {"sent": 2}
    first, second = handler.messages
    stored = rows(Session)
    assert [m["Message-ID"] for m in handler.messages] == [r.message_id for r in stored]
    assert first["Message-ID"].startswith("<alert-") and first["Message-ID"].endswith("-1@cislunar-monitor>")
    assert first["In-Reply-To"] is None
    assert second["In-Reply-To"] == first["Message-ID"] and second["References"] == first["Message-ID"]
    assert first["Subject"].startswith("[WARNING] [NEW] Conjunction 90001 TESTSAT 1 x 90002 TESTSAT 2")
    assert second["Subject"].startswith("[CRITICAL] [UPDATE]")
    assert first["From"] == "ssa@example.org" and first["Auto-Submitted"] == "auto-generated"
    # routing: warnings to the default list, criticals to on-call
    assert handler.envelopes[0].rcpt_tos == ["ops@example.org"] and handler.envelopes[1].rcpt_tos == ["oncall@example.org"]

    alert_id = stored[1].alert_id
    text = second.get_body(("plain",)).get_content()
    for expected in (
        "Primary object:", "TESTSAT 1, NORAD 90001", "TESTSAT 2, NORAD 90002", "TCA (UTC):", "2026-07-06T18:00:00Z",
        "0.900 km", "7.200 km/s", "4.50e-05 (foster)", "epoch 2026-07-05T12:00:00Z (age 24.2 h, 30.0 h at TCA", "propagator sgp4",
        "severity rose from warning to critical", f"{DASH}/alerts?alert={alert_id}", f"cislunar alerts ack {alert_id}",
    ):
        assert expected in text, expected
    html = second.get_body(("html",)).get_content()
    assert f'href="{DASH}/alerts?alert={alert_id}"' in html and 'src="cid:encounter"' in html and "0.900 km" in html
    [png] = [p for p in second.walk() if p.get_content_type() == "image/png"]
    assert png.get_filename() == "encounter.png" and png["Content-ID"] == "<encounter>"
    data = png.get_content()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and 2_000 < len(data) < 100_000


def test_geometry_from_the_runs_states(SqliteSession):
    """With both objects' states stored for the run, the PNG shows the
    secondary's track in the primary's RTN frame; the miss at the nearest
    sample is the distance the states give."""
    from alerts.email import encounter_png
    from alerts.engine import _mail, _Objects

    Session = SqliteSession
    with Session.begin() as session:
        a, b = make_objects(session, 2)
        run = queries.start_run(session, "cycle", window_start_utc=T0)
        epochs = [T0 + timedelta(minutes=m) for m in range(-10, 11)]
        t = np.array([(e - T0).total_seconds() for e in epochs])
        r_a = np.stack([7000.0 + 0 * t, 7.5 * t, 0 * t], axis=1)[None]
        v_a = np.tile([0.0, 7.5, 0.0], (len(t), 1))[None]
        r_b = r_a + np.array([0.3, 0.0, 0.4])  # 0.5 km away, fixed offset
        queries.insert_states(session.connection(), run_id=run.id, object_ids=[a.id, b.id], element_set_ids=[None, None],
                              epochs_utc=epochs, r_km=np.concatenate([r_a, r_b]), v_km_s=np.concatenate([v_a, v_a]),
                              error_code=np.zeros((2, len(t)), dtype=int), frame="GCRS", propagators="sgp4")
        ev = Event(kind="conjunction", fingerprint="g", object_id=a.id, other_object_id=b.id, tca_utc=T0, miss_km=0.5,
                   first_seen_at=T0, last_seen_at=T0, status="active", last_run_id=run.id)
        session.add(ev)
        session.flush()
        g = _geometry(session, ev, run.id)
        one_metre_km = 1e-3
        assert g is not None and g.rel_rtn_km.shape == (21, 3)
        # at TCA the primary is at +x moving +y: the inertial offset (0.3, 0, 0.4)
        # is 0.3 km radial, 0 transverse, 0.4 km normal; the distance is 0.5 km throughout
        np.testing.assert_allclose(g.rel_rtn_km[10], [0.3, 0.0, 0.4], atol=one_metre_km)
        np.testing.assert_allclose(np.linalg.norm(g.rel_rtn_km, axis=1), 0.5, atol=one_metre_km)
        assert g.t_from_tca_s[10] == 0.0
        from db.models import Alert

        alert = Alert(id=1, fingerprint="g", kind="conjunction", severity="critical", state="open", title="t",
                      opened_at=T0, updated_at=T0, notify_count=0)
        mail = _mail(session, load_rules({}), alert, ev, _Objects(session), reason="new", run_id=run.id, now=T0, n=1)
        assert mail.geometry is not None
        assert encounter_png(mail).startswith(b"\x89PNG")


def test_server_down_for_several_attempts_then_back_delivers_each_once(Session, db_url, tmp_path, objs):
    pol = policy()
    three_alerts(Session, pol)
    port = free_port()
    settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    clock = Clock(T0 + timedelta(minutes=1))
    for attempt, backoff in ((1, 30), (2, 60), (3, 120)):
        assert deliver(Session, settings, pol, clock) == {"retry": 3}
        assert {(r.status, r.attempts) for r in rows(Session)} == {("pending", attempt)}
        assert all("Connection refused" in r.last_error or "ConnectionRefused" in r.last_error for r in rows(Session))
        clock.advance(backoff - 1)
        assert deliver(Session, settings, pol, clock) == {}  # not due yet: exponential backoff
        clock.advance(2)
    handler = SmtpRecorder()
    with running_smtp(handler, port=port):
        assert deliver(Session, settings, pol, clock) == {"sent": 3}
        clock.advance(3600)
        assert deliver(Session, settings, pol, clock) == {}
    assert sorted(handler.message_ids()) == sorted(r.message_id for r in rows(Session))
    assert len(set(handler.message_ids())) == 3
    assert {(r.status, r.attempts) for r in rows(Session)} == {("sent", 4)}


@SQLITE_ONLY
def test_4xx_is_retried_5xx_is_dead_lettered(Session, db_url, tmp_path, objs):
    pol = policy(backoff_seconds=0)
    three_alerts(Session, pol)
    handler = SmtpRecorder()
    handler.fail_data = 1
    handler.reject_rcpt = {"oncall@example.org"}  # the critical alert's only recipient
    clock = Clock(T0 + timedelta(minutes=1))
    with running_smtp(handler) as server:
        settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port)
        first = deliver(Session, settings, pol, clock)
        second = deliver(Session, settings, pol, clock)
    assert first == {"dead": 1, "retry": 1, "sent": 1} and second == {"sent": 1}
    by_status = {r.status: r for r in rows(Session)}
    dead = by_status["dead"]
    assert dead.attempts == 1 and "550" in dead.last_error and "permanent" in dead.last_error
    assert len(handler.messages) == 2
    with Session() as session:
        assert alert_ops.outbox_counts(session) == {"pending": 0, "sending": 0, "sent": 2, "dead": 1}


@SQLITE_ONLY
def test_after_max_attempts_dead_then_requeued(Session, db_url, tmp_path, objs):
    pol = policy(max_attempts=2, backoff_seconds=0)
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 0.5}])
    port = free_port()
    settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    clock = Clock(T0 + timedelta(minutes=1))
    assert deliver(Session, settings, pol, clock) == {"retry": 1}
    assert deliver(Session, settings, pol, clock) == {"dead": 1}
    [row] = rows(Session)
    assert row.status == "dead" and "gave up after 2 attempts" in row.last_error
    with Session.begin() as session:
        alert_ops.requeue(session, row.id, clock())
    handler = SmtpRecorder()
    with running_smtp(handler, port=port):
        assert deliver(Session, settings, pol, clock) == {"sent": 1}
    assert len(handler.messages) == 1


SENDER = textwrap.dedent("""
    import sys
    from alerts.engine import policy_for
    from alerts.outbox import deliver_due
    from alerts.smtp import MailConfig, transport_for
    from db.engine import make_engine, session_factory
    from monitor.config import load_settings
    settings = load_settings(None, {"database.url": sys.argv[1]})
    settings.values.update({"smtp.host": "127.0.0.1", "smtp.port": int(sys.argv[2])})
    pol = policy_for(settings)
    Session = session_factory(make_engine(sys.argv[1]))
    print("claiming", flush=True)
    deliver_due(Session, transport_for(MailConfig.from_settings(settings), pol.delivery), pol.delivery)
""")


@pytest.mark.slow
def test_sender_killed_after_claim_delivers_after_restart(Session, db_url, tmp_path, objs):
    """Outbox rows committed; a sender claims them and is killed (SIGKILL)
    while waiting for the server's greeting; a fresh sender delivers each
    exactly once after the claim's lease runs out."""
    pol = policy(lease_seconds=60)
    three_alerts(Session, pol)
    # A server that accepts TCP connections and never greets: the sender blocks.
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        proc = subprocess.Popen([sys.executable, "-c", SENDER, db_url, str(mute.getsockname()[1])], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "claiming"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and {r.status for r in rows(Session)} != {"sending"}:
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
    claimed = rows(Session)
    assert {(r.status, r.attempts) for r in claimed} == {("sending", 1)}
    handler = SmtpRecorder()
    with running_smtp(handler) as server:
        settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port)
        lease_end = max(r.next_attempt_at for r in claimed)
        assert deliver(Session, settings, pol, Clock(lease_end - timedelta(seconds=5))) == {}  # lease still held
        assert deliver(Session, settings, pol, Clock(lease_end + timedelta(seconds=1))) == {"sent": 3}
        assert deliver(Session, settings, pol, Clock(lease_end + timedelta(hours=1))) == {}
    assert sorted(handler.message_ids()) == sorted(r.message_id for r in claimed)
    assert {(r.status, r.attempts) for r in rows(Session)} == {("sent", 2)}


def test_committed_but_never_sent_is_delivered_by_a_fresh_sender(db_url, tmp_path):
    """The cycle committed alert + outbox rows and the process died before
    any sender ran: a new process (new engine) delivers them."""
    from db.engine import make_engine, session_factory

    engine = make_engine(db_url)
    Session = session_factory(engine)
    with Session.begin() as session:
        make_objects(session, 4)
    three_alerts(Session, policy())
    engine.dispose()  # "crash": nothing in memory survives

    engine = make_engine(db_url)
    Session = session_factory(engine)
    handler = SmtpRecorder()
    with running_smtp(handler) as server:
        settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port)
        assert deliver(Session, settings, policy(), Clock(T0 + timedelta(minutes=5))) == {"sent": 3}
    engine.dispose()
    assert len(handler.messages) == 3


def test_crash_between_accept_and_mark_sent_resends_the_identical_message(SqliteSession, sqlite_url, tmp_path, monkeypatch):
    """The documented residual window: the server accepted, the process died
    before the row was marked sent.  The retry is the same message (same
    Message-ID and bytes), so a de-duplicating mail system drops it."""
    Session = SqliteSession
    with Session.begin() as session:
        make_objects(session, 2)
    pol = policy(lease_seconds=60)
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 0.5}])
    handler = SmtpRecorder()
    with running_smtp(handler) as server:
        settings = settings_for(sqlite_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port)

        class Crash(BaseException):
            pass

        def die(*a, **k):
            raise Crash()

        with monkeypatch.context() as m:
            m.setattr(alert_ops, "mark_sent", die)
            with pytest.raises(Crash):
                deliver(Session, settings, pol, Clock(T0 + timedelta(minutes=1)))
        assert rows(Session)[0].status == "sending"
        assert deliver(Session, settings, pol, Clock(T0 + timedelta(minutes=3))) == {"sent": 1}
    assert len(handler.messages) == 2
    assert handler.envelopes[0].content == handler.envelopes[1].content


# aiosmtpd itself sets the deprecated Session.login_data on every successful
# AUTH (aiosmtpd/smtp.py, smtp_AUTH); nothing a client can change.
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_starttls_and_authentication(SqliteSession, sqlite_url, tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a throwaway certificate")
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"monitor" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    Session = SqliteSession
    with Session.begin() as session:
        make_objects(session, 2)
    pol = policy(backoff_seconds=0, smtp_ca_file=str(cert))
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 0.5}])
    handler = SmtpRecorder()
    with running_smtp(handler, tls_context=ctx, require_starttls=True, authenticator=authenticator, auth_required=True) as server:
        common = dict(smtp_host="127.0.0.1", smtp_port=server.port, smtp_starttls=True, smtp_username="monitor")
        wrong = settings_for(sqlite_url, tmp_path, smtp_password="wrong", **common)
        counts = deliver(Session, wrong, pol, Clock(T0 + timedelta(minutes=1)))
        assert counts == {"retry": 1} and "configuration problem" in rows(Session)[0].last_error  # kept, not dead
        right = settings_for(sqlite_url, tmp_path, smtp_password="s3cret", **common)
        assert deliver(Session, right, pol, Clock(T0 + timedelta(minutes=2))) == {"sent": 1}
    assert len(handler.messages) == 1


def test_without_smtp_host_messages_are_spooled_as_eml(SqliteSession, sqlite_url, tmp_path):
    Session = SqliteSession
    with Session.begin() as session:
        make_objects(session, 2)
    pol = policy()
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 0.5}])
    settings = settings_for(sqlite_url, tmp_path)
    assert settings["smtp.host"] is None
    assert deliver(Session, settings, pol, Clock(T0 + timedelta(minutes=1))) == {"sent": 1}
    files = sorted((tmp_path / "spool").glob("*.eml"))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    [row] = rows(Session)
    assert msg["Message-ID"] == row.message_id and msg["To"] == "oncall@example.org"
    # a retry of the same row (crash before it was marked sent) rewrites the same file
    with Session.begin() as session:
        session.get(OutboxMessage, row.id).status = "pending"
    assert deliver(Session, settings, pol, Clock(T0 + timedelta(minutes=2))) == {"sent": 1}
    assert sorted((tmp_path / "spool").glob("*.eml")) == files
    assert files[0].name.endswith(".eml") and "alert-" in files[0].name


def test_postgresql_claims_skip_locked_rows(tmp_path):
    """Two senders claiming at once get disjoint rows (FOR UPDATE SKIP LOCKED)."""
    from conftest import fresh_database_url
    from db import migrate
    from db.engine import make_engine, session_factory

    url = fresh_database_url("postgresql", tmp_path)
    migrate.upgrade(url)
    engine = make_engine(url)
    Session = session_factory(engine)
    try:
        with Session.begin() as session:
            make_objects(session, 4)
        three_alerts(Session, policy())
        now = T0 + timedelta(minutes=1)
        s1, s2 = Session(), Session()
        try:
            s1.begin()
            first = alert_ops.claim_outbox(s1, now, 2, 60)  # rows locked, not committed
            s2.begin()
            second = alert_ops.claim_outbox(s2, now, 10, 60)  # does not wait for s1
            assert len(first) == 2 and len(second) == 1
            assert not {m.id for m in first} & {m.id for m in second}
            s1.commit()
            s2.commit()
        finally:
            s1.close()
            s2.close()
        with Session() as session:
            assert alert_ops.outbox_counts(session)["sending"] == 3
    finally:
        engine.dispose()


@SQLITE_ONLY
def test_digest_once_per_day(Session, objs):
    pol = load_rules({"digest": {"enabled": True, "recipients": ["chief@example.org"]}})
    cycle(Session, pol, T0, [{"fingerprint": FP, "miss_km": 0.5}])
    with Session.begin() as session:
        row = write_digest(session, pol, T0 + timedelta(hours=1))
        assert row.message_id == "<digest-20260706@cislunar-monitor>" and row.recipients == "chief@example.org"
        assert "1 open alert(s)" in row.subject and "TESTSAT 1" in row.body_text
    with Session.begin() as session:
        assert write_digest(session, pol, T0 + timedelta(hours=5)) is None
    with Session() as session:
        assert session.scalar(select(SpaceObject.id).limit(1)) is not None


@SQLITE_ONLY
def test_stopping_sender_releases_what_it_did_not_attempt(Session, db_url, tmp_path, objs):
    """SIGTERM while a batch is being sent: the message in hand finishes,
    the rest go back to pending untouched (not left claimed for a lease)."""
    pol = policy()
    three_alerts(Session, pol)
    handler = SmtpRecorder()
    stopping = []
    with running_smtp(handler) as server:
        settings = settings_for(db_url, tmp_path, smtp_host="127.0.0.1", smtp_port=server.port)
        transport = transport_for(MailConfig.from_settings(settings), pol.delivery)
        counts = deliver_due(Session, transport, pol.delivery, clock=Clock(T0 + timedelta(minutes=1)),
                             progress=stopping.append, stop=lambda: bool(stopping))
    assert counts == {"sent": 1, "released": 2}
    assert sorted((r.status, r.attempts) for r in rows(Session)) == [("pending", 0), ("pending", 0), ("sent", 1)]
