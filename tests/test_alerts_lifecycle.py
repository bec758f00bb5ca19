"""The alert lifecycle on a real migrated database (SQLite and PostgreSQL):
events written as screening writes them, ``process_run`` in the cycle's
transaction, outbox rows as the observable notifications."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts.engine import check_deadman, process_run
from alerts.rules import load_rules
from db import alert_ops, queries
from db.models import Alert, AlertAction, Event, OutboxMessage
from test_alerts_support import T0, cycle, make_objects, new_run

# Backend-independent logic: SQLite only (the PostgreSQL paths are covered by the others).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
CLOSE = {"fingerprint": "conj:90001:90002:2026-07-06T18", "miss_km": 0.8, "pc": 2e-5}


@pytest.fixture
def objs(Session):
    with Session.begin() as session:
        make_objects(session, 3)


def outbox(Session) -> list[OutboxMessage]:
    with Session() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def the_alert(Session, fp=CLOSE["fingerprint"]) -> Alert:
    with Session() as session:
        return session.scalar(select(Alert).where(Alert.fingerprint == fp))


def test_same_condition_over_three_cycles_writes_one_message(Session, objs):
    policy = load_rules({})
    for k in range(3):
        counts = cycle(Session, policy, T0 + timedelta(minutes=10 * k), [CLOSE])
        assert counts["events"] == 1
    msgs = outbox(Session)
    assert len(msgs) == 1
    a = the_alert(Session)
    assert (a.state, a.severity, a.notify_count, a.rule) == ("open", "critical", 1, "conjunction-critical-miss")
    assert a.thread_message_id == msgs[0].message_id and msgs[0].in_reply_to is None
    assert msgs[0].attachment_png.startswith(b"\x89PNG")
    with Session() as session:
        actions = [x.action for x in alert_ops.alert_actions(session, a.id)]
    assert actions == ["opened", "notified"]


def test_worsening_renotifies_in_one_thread(Session, objs):
    policy = load_rules({})
    fp = CLOSE["fingerprint"]
    steps = [
        ({"miss_km": 4.0, "pc": 1e-6}, "NEW"),        # warning (miss <= 5 km)
        ({"miss_km": 3.0, "pc": 1e-6}, None),         # a bit closer: quiet
        ({"miss_km": 1.9, "pc": 1e-6}, "UPDATE"),     # halved since the last mail
        ({"miss_km": 0.9, "pc": 1e-6}, "UPDATE"),     # critical now: severity rose
        ({"miss_km": 0.9, "pc": 1e-5}, "UPDATE"),     # Pc tenfold
        ({"miss_km": 0.95, "pc": 2e-5}, None),
    ]
    seen = 0
    for k, (values, tag) in enumerate(steps):
        cycle(Session, policy, T0 + timedelta(minutes=10 * k), [{"fingerprint": fp, **values}])
        msgs = outbox(Session)
        if tag is not None:
            seen += 1
            assert f"[{tag}]" in msgs[-1].subject
        assert len(msgs) == seen, [m.subject for m in msgs]
    msgs = outbox(Session)
    assert "[WARNING]" in msgs[0].subject and "[CRITICAL]" in msgs[2].subject
    root = msgs[0].message_id
    assert [m.in_reply_to for m in msgs] == [None, root, root, root]
    assert len({m.message_id for m in msgs}) == 4
    assert "miss distance fell" in msgs[1].body_text and "severity rose" in msgs[2].body_text and "Pc rose" in msgs[3].body_text


def test_acknowledge_stops_reminders_and_one_resolved_mail(Session, objs):
    policy = load_rules({"repeat_hours": 6})
    cycle(Session, policy, T0, [CLOSE])
    cycle(Session, policy, T0 + timedelta(hours=7), [CLOSE])  # reminder
    assert [("[REMINDER]" in m.subject) for m in outbox(Session)] == [False, True]
    a = the_alert(Session)
    with Session.begin() as session:
        alert_ops.acknowledge(session, a.id, "duty officer", "watching it", now=T0 + timedelta(hours=8))
    for h in (14, 21, 28):
        cycle(Session, policy, T0 + timedelta(hours=h), [CLOSE])
    assert len(outbox(Session)) == 2
    # the situation disappears: one resolved notice, threaded; nothing after
    for h in (29, 30, 31):
        cycle(Session, policy, T0 + timedelta(hours=h), [])
    msgs = outbox(Session)
    assert len(msgs) == 3
    assert "[RESOLVED]" in msgs[2].subject and msgs[2].in_reply_to == msgs[0].message_id
    a = the_alert(Session)
    assert a.state == "resolved" and a.resolved_by == alert_ops.SYSTEM_ACTOR


@SQLITE_ONLY
def test_silence_stops_repeats_until_it_expires(Session, objs):
    policy = load_rules({"repeat_hours": 6})
    cycle(Session, policy, T0, [CLOSE])
    a = the_alert(Session)
    with Session.begin() as session:
        s = alert_ops.silence(session, by="fdo", reason="manoeuvre planned", expires_at=T0 + timedelta(hours=30),
                              alert_id=a.id, now=T0 + timedelta(minutes=5))
        assert s.fingerprint == a.fingerprint
    for h in (7, 14, 21):
        counts = cycle(Session, policy, T0 + timedelta(hours=h), [{**CLOSE, "miss_km": 0.1}])  # even worse: silenced
        assert counts.get("silenced") == 1
    assert len(outbox(Session)) == 1
    cycle(Session, policy, T0 + timedelta(hours=31), [{**CLOSE, "miss_km": 0.1}])
    msgs = outbox(Session)
    assert len(msgs) == 2 and "miss distance fell" in msgs[1].body_text
    with Session() as session:
        assert "silenced" in [x.action for x in alert_ops.alert_actions(session, a.id)]


@SQLITE_ONLY
def test_object_silence_suppresses_new_alerts_and_resolved_notices(Session, objs):
    policy = load_rules({})
    with Session.begin() as session:
        alert_ops.silence(session, by="fdo", reason="test campaign", expires_at=T0 + timedelta(hours=10),
                          object_norad_id=90002, now=T0 - timedelta(hours=1))
    other = {"fingerprint": "conj:90001:90003:x", "objects": (0, 2), "miss_km": 0.5}
    cycle(Session, policy, T0, [CLOSE, other])
    msgs = outbox(Session)
    assert len(msgs) == 1 and "90003" in msgs[0].subject  # only the pair without 90002
    assert the_alert(Session).state == "open"  # still tracked
    cycle(Session, policy, T0 + timedelta(hours=11), [CLOSE, other])  # silence over: first notice now
    assert [m.alert_id for m in outbox(Session)][1] == the_alert(Session).id


def test_vanished_situation_resolves_and_reopens(Session, objs):
    policy = load_rules({})
    cycle(Session, policy, T0, [CLOSE])
    counts = cycle(Session, policy, T0 + timedelta(minutes=10), [])
    assert counts["resolved"] == 1
    cycle(Session, policy, T0 + timedelta(minutes=20), [])
    cycle(Session, policy, T0 + timedelta(minutes=30), [CLOSE])
    msgs = outbox(Session)
    assert ["[NEW]" in msgs[0].subject, "[RESOLVED]" in msgs[1].subject, "[REOPENED]" in msgs[2].subject] == [True] * 3
    assert "no longer predicted" in msgs[1].body_text
    assert the_alert(Session).state == "open"


@SQLITE_ONLY
def test_gone_event_and_thresholds(Session, objs):
    policy = load_rules({})
    cycle(Session, policy, T0, [CLOSE])
    # the miss grows beyond every rule: resolved as below thresholds
    cycle(Session, policy, T0 + timedelta(minutes=10), [{**CLOSE, "miss_km": 40.0, "pc": 1e-9}])
    a = the_alert(Session)
    assert a.state == "resolved" and "below the alert thresholds" in a.resolve_note
    # screening marks an event gone in the same run: resolved too
    fp2 = "conj:90001:90003:y"
    cycle(Session, policy, T0 + timedelta(minutes=20), [{"fingerprint": fp2, "objects": (0, 2), "miss_km": 0.3}])
    run_id = new_run(Session, T0 + timedelta(minutes=30))
    with Session.begin() as session:
        ev = session.scalar(select(Event).where(Event.fingerprint == fp2))
        ev.status, ev.last_run_id = "gone", run_id
        process_run(session, run_id, policy, T0 + timedelta(minutes=30))
    assert the_alert(Session, fp2).state == "resolved"
    assert [("[RESOLVED]" in m.subject) for m in outbox(Session)] == [False, True, False, True]


@SQLITE_ONLY
def test_operator_resolution_holds_unless_worse(Session, objs):
    policy = load_rules({})
    cycle(Session, policy, T0, [{**CLOSE, "miss_km": 4.0}])
    a = the_alert(Session)
    with Session.begin() as session:
        alert_ops.resolve(session, a.id, "analyst", "covariance is unrealistic", now=T0 + timedelta(minutes=1))
    cycle(Session, policy, T0 + timedelta(minutes=10), [{**CLOSE, "miss_km": 3.5}])
    assert the_alert(Session).state == "resolved" and len(outbox(Session)) == 1
    cycle(Session, policy, T0 + timedelta(minutes=20), [{**CLOSE, "miss_km": 0.5}])
    a = the_alert(Session)
    assert a.state == "open" and len(outbox(Session)) == 2
    assert "[REOPENED]" in outbox(Session)[1].subject


@SQLITE_ONLY
def test_operator_transitions_are_checked(Session, objs):
    policy = load_rules({})
    cycle(Session, policy, T0, [CLOSE])
    a = the_alert(Session)
    with Session.begin() as session:
        alert_ops.resolve(session, a.id, "analyst", now=T0)
    with pytest.raises(alert_ops.InvalidTransition, match="resolved"), Session.begin() as session:
        alert_ops.acknowledge(session, a.id, "analyst", now=T0)
    with pytest.raises(alert_ops.UnknownAlert), Session.begin() as session:
        alert_ops.acknowledge(session, 99999, "analyst", now=T0)
    with pytest.raises(alert_ops.InvalidArgument, match="--by"), Session.begin() as session:
        alert_ops.resolve(session, a.id, "  ", now=T0)


def test_deadman_switch(Session):
    policy = load_rules({"deadman": {"cycle_stale_minutes": 30, "elements_stale_hours": 48}})
    started = T0
    with Session.begin() as session:
        make_objects(session, 1)  # element set epoch T0 - 1 d
        found = check_deadman(session, policy, T0 + timedelta(minutes=10), service_started_at=started)
    assert not found["cycles_stale"] and not found["elements_stale"] and outbox(Session) == []
    with Session.begin() as session:
        found = check_deadman(session, policy, T0 + timedelta(minutes=45), service_started_at=started)
    assert found["cycles_stale"]
    with Session.begin() as session:  # still stale a few minutes later: no second mail
        check_deadman(session, policy, T0 + timedelta(minutes=50), service_started_at=started)
    msgs = outbox(Session)
    assert len(msgs) == 1 and "[CRITICAL] [NEW] No successful cycle" in msgs[0].subject
    # a cycle completes: resolved notice
    with Session.begin() as session:
        run = queries.start_run(session, "cycle")
        queries.finish_run(session, run, "ok")
        run.finished_at = T0 + timedelta(minutes=55)
    with Session.begin() as session:
        check_deadman(session, policy, T0 + timedelta(minutes=56), service_started_at=started)
    # element sets grow stale (epoch T0 - 1 d, threshold 48 h)
    with Session.begin() as session:
        run = queries.start_run(session, "cycle")
        queries.finish_run(session, run, "ok")
        run.finished_at = T0 + timedelta(hours=25)
        found = check_deadman(session, policy, T0 + timedelta(hours=25, minutes=5), service_started_at=started)
    assert found["elements_stale"] and not found["cycles_stale"]
    subjects = [m.subject for m in outbox(Session)]
    assert "[RESOLVED] No successful cycle" in subjects[1]
    assert "Newest element set is 2.0 d old" in subjects[2]
    with Session() as session:
        kinds = {a.fingerprint: a.state for a in alert_ops.list_alerts(session)}
    assert kinds == {"deadman:cycles": "resolved", "deadman:elements": "open"}


@SQLITE_ONLY
def test_alert_details_for_dashboard(Session, objs):
    cycle(Session, load_rules({}), T0, [CLOSE])
    with Session() as session:
        [d] = [alert_ops.alert_dict(a) for a in alert_ops.list_alerts(session, "open")]
        actions = session.scalars(select(AlertAction)).all()
    assert d["norad_ids"] == [90001, 90002] and d["miss_km"] == 0.8 and d["tca"] == "2026-07-06T18:00:00Z"
    assert d["last_reason"] == "new" and len(actions) == 2
    json.dumps(d)
