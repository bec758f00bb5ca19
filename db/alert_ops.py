"""Alert, silence, outbox and source-status queries.

Used by the CLI (``cislunar alerts ...``, ``cislunar outbox``), by the alert
engine and by the dashboard, which may import only ``db``.  Each function
takes a ``Session``; the caller owns the transaction (``with
Session.begin():``).  Operator actions leave an ``AlertAction`` audit row.

Lifecycle: ``open -> acknowledged -> resolved``; ``open -> resolved``; the
engine alone reopens a resolved alert (``resolved -> open``) when its
situation comes back or worsens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from db.models import Alert, AlertAction, OutboxMessage, Silence, SourceStatus
from propagators.errors import CislunarError
from propagators.timeutil import iso_z, require_utc

ALERT_STATES = ("open", "acknowledged", "resolved")
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")
SYSTEM_ACTOR = "cislunar-monitor"  # resolved_by when the engine resolved an alert

# Transitions an operator may make; the engine may also reopen (resolved -> open).
OPERATOR_TRANSITIONS = {
    "open": ("acknowledged", "resolved"),
    "acknowledged": ("resolved",),
    "resolved": (),
}

_SEVERITY_ORDER = case({"critical": 0, "warning": 1, "info": 2}, value=Alert.severity, else_=3)
_STATE_ORDER = case({"open": 0, "acknowledged": 1, "resolved": 2}, value=Alert.state, else_=3)


class AlertOpError(CislunarError):
    """An operator action that cannot be done (the CLI exits with 2)."""


class UnknownAlert(AlertOpError, LookupError):
    def __init__(self, alert_id: object) -> None:
        self.alert_id = alert_id
        super().__init__(f"no alert with id {alert_id!r} (list them with `cislunar alerts`)")


class UnknownSilence(AlertOpError, LookupError):
    def __init__(self, silence_id: object) -> None:
        self.silence_id = silence_id
        super().__init__(f"no silence with id {silence_id!r} (list them with `cislunar alerts silences`)")


class UnknownOutboxMessage(AlertOpError, LookupError):
    def __init__(self, outbox_id: object) -> None:
        self.outbox_id = outbox_id
        super().__init__(f"no outbox message with id {outbox_id!r} (list them with `cislunar outbox`)")


class InvalidTransition(AlertOpError, ValueError):
    def __init__(self, alert_id: int, state: str, wanted: str) -> None:
        self.alert_id = alert_id
        self.state = state
        self.wanted = wanted
        allowed = ", ".join(OPERATOR_TRANSITIONS.get(state, ())) or "nothing (it is final)"
        super().__init__(f"alert {alert_id} is {state}; it cannot become {wanted} (from {state}: {allowed})")


class InvalidArgument(AlertOpError, ValueError):
    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field} = {value!r}: expected {expected}")


def _now(now: datetime | None) -> datetime:
    return require_utc(now, "now") if now is not None else datetime.now(timezone.utc)


def _actor(by: str | None, field: str = "--by") -> str:
    if by is None or not str(by).strip():
        raise InvalidArgument(field, by, "the name of the person acting")
    return str(by).strip()[:128]


# ---------------------------------------------------------------- alerts

def get_alert(session: Session, alert_id: int, *, for_update: bool = False) -> Alert:
    q = select(Alert).where(Alert.id == alert_id)
    if for_update:
        q = q.with_for_update()
    alert = session.scalar(q)
    if alert is None:
        raise UnknownAlert(alert_id)
    return alert


def alert_by_fingerprint(session: Session, fingerprint: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.fingerprint == fingerprint))


def list_alerts(
    session: Session,
    state: str | Iterable[str] | None = None,
    *,
    severity: str | None = None,
    limit: int | None = None,
) -> list[Alert]:
    """Alerts, open first, then by severity and most recent change."""
    q = select(Alert)
    if state is not None:
        states = [state] if isinstance(state, str) else list(state)
        for s in states:
            if s not in ALERT_STATES:
                raise InvalidArgument("state", s, "one of " + ", ".join(ALERT_STATES))
        q = q.where(Alert.state.in_(states))
    if severity is not None:
        q = q.where(Alert.severity == severity)
    q = q.order_by(_STATE_ORDER, _SEVERITY_ORDER, Alert.updated_at.desc(), Alert.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def alert_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Alert.state, func.count()).group_by(Alert.state)).all()
    out = {s: 0 for s in ALERT_STATES}
    out.update({s: n for s, n in rows})
    return out


def alert_actions(session: Session, alert_id: int) -> list[AlertAction]:
    return list(session.scalars(select(AlertAction).where(AlertAction.alert_id == alert_id).order_by(AlertAction.id)))


def record_action(session: Session, alert: Alert, action: str, actor: str | None, note: str | None, now: datetime) -> AlertAction:
    row = AlertAction(alert_id=alert.id, action=action, actor=actor, note=note, at=now)
    session.add(row)
    return row


def _operator_transition(session: Session, alert_id: int, target: str, by: str, note: str | None,
                         now: datetime | None, who: str, when: str, note_field: str) -> Alert:
    """Move an alert to ``target`` on an operator's word, recording who, when
    and the note on the alert and in its audit trail."""
    now = _now(now)
    by = _actor(by)
    alert = get_alert(session, alert_id, for_update=True)
    if target not in OPERATOR_TRANSITIONS[alert.state]:
        raise InvalidTransition(alert.id, alert.state, target)
    alert.state = target
    setattr(alert, who, by)
    setattr(alert, when, now)
    setattr(alert, note_field, note)
    alert.updated_at = now
    record_action(session, alert, target, by, note, now)
    return alert


def acknowledge(session: Session, alert_id: int, by: str, note: str | None = None, now: datetime | None = None) -> Alert:
    """open -> acknowledged: the operator knows; reminders stop, worsening still mails."""
    return _operator_transition(session, alert_id, "acknowledged", by, note, now,
                                "acknowledged_by", "acknowledged_at", "ack_note")


def resolve(session: Session, alert_id: int, by: str, note: str | None = None, now: datetime | None = None) -> Alert:
    """open|acknowledged -> resolved by an operator.  The engine reopens it
    only if the situation worsens (a situation the engine resolved itself
    reopens whenever it comes back)."""
    return _operator_transition(session, alert_id, "resolved", by, note, now,
                                "resolved_by", "resolved_at", "resolve_note")


# ---------------------------------------------------------------- silences

def silence(
    session: Session,
    *,
    by: str,
    reason: str,
    expires_at: datetime,
    alert_id: int | None = None,
    fingerprint: str | None = None,
    object_norad_id: int | None = None,
    kind: str | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> Silence:
    """Suppress notifications of matching alerts until ``expires_at``.

    Match by alert id (its fingerprint), by fingerprint, or by object
    (catalogue number, either object of a pair), optionally narrowed by
    event kind and region.  Alerts keep being tracked; only mail stops.
    """
    now = _now(now)
    by = _actor(by)
    if reason is None or not str(reason).strip():
        raise InvalidArgument("--reason", reason, "why the alerts are silenced")
    expires_at = require_utc(expires_at, "expires_at")
    if expires_at <= now:
        raise InvalidArgument("expiry", iso_z(expires_at), f"a time after now ({iso_z(now)})")
    alert = None
    if alert_id is not None:
        alert = get_alert(session, alert_id)
        fingerprint = alert.fingerprint
    if fingerprint is None and object_norad_id is None and kind is None and region is None:
        raise InvalidArgument("silence", None, "an alert id, --fingerprint, --object, --kind or --region")
    row = Silence(
        fingerprint=fingerprint,
        object_norad_id=object_norad_id,
        kind=kind,
        region=region,
        author=by,
        reason=str(reason).strip(),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    note = f"silence {row.id} until {iso_z(expires_at)}: {row.reason}"
    targets = [alert] if alert is not None else [
        a for a in list_alerts(session, ("open", "acknowledged")) if silence_matches(row, a.fingerprint, _alert_norads(a), a.kind, _alert_region(a))
    ]
    for a in targets:
        record_action(session, a, "silenced", by, note, now)
    return row


def expire_silence(session: Session, silence_id: int, by: str, now: datetime | None = None) -> Silence:
    now = _now(now)
    _actor(by)
    row = session.get(Silence, silence_id)
    if row is None:
        raise UnknownSilence(silence_id)
    if row.expires_at > now:
        row.expires_at = now
        row.reason = f"{row.reason} (lifted by {by.strip()} at {iso_z(now)})"
    return row


def list_silences(session: Session, now: datetime | None = None, include_expired: bool = False) -> list[Silence]:
    q = select(Silence)
    if not include_expired:
        q = q.where(Silence.expires_at > _now(now))
    return list(session.scalars(q.order_by(Silence.expires_at.desc(), Silence.id.desc())))


def silence_matches(s: Silence, fingerprint: str, norad_ids: Iterable[int], kind: str | None, region: str | None) -> bool:
    """Every selector the silence sets must match."""
    if s.fingerprint is not None and s.fingerprint != fingerprint:
        return False
    if s.object_norad_id is not None and s.object_norad_id not in set(norad_ids):
        return False
    if s.kind is not None and s.kind != kind:
        return False
    if s.region is not None and s.region != region:
        return False
    return True


def matching_silence(
    session: Session, fingerprint: str, norad_ids: Iterable[int], kind: str | None, region: str | None, now: datetime
) -> Silence | None:
    ids = list(norad_ids)
    for s in list_silences(session, now):
        if silence_matches(s, fingerprint, ids, kind, region):
            return s
    return None


def _details(alert: Alert) -> dict:
    try:
        return json.loads(alert.details_json) if alert.details_json else {}
    except ValueError:
        return {}


def _alert_norads(alert: Alert) -> list[int]:
    return [n for n in _details(alert).get("norad_ids", []) if isinstance(n, int)]


def _alert_region(alert: Alert) -> str | None:
    return _details(alert).get("region")


# ---------------------------------------------------------------- outbox

@dataclass(frozen=True)
class ClaimedMessage:
    """A snapshot of an outbox row a sender has claimed (attempt ``attempt``)."""

    id: int
    attempt: int
    alert_id: int | None
    message_id: str
    in_reply_to: str | None
    recipients: tuple[str, ...]
    subject: str
    body_text: str
    body_html: str | None
    attachment_png: bytes | None
    created_at: datetime


def list_outbox(session: Session, status: str | None = None, limit: int | None = 200) -> list[OutboxMessage]:
    q = select(OutboxMessage)
    if status is not None:
        if status not in OUTBOX_STATUSES:
            raise InvalidArgument("status", status, "one of " + ", ".join(OUTBOX_STATUSES))
        q = q.where(OutboxMessage.status == status)
    q = q.order_by(OutboxMessage.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return list(session.scalars(q))


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    out = {s: 0 for s in OUTBOX_STATUSES}
    out.update({s: n for s, n in rows})
    return out


def due_outbox_count(session: Session, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(_due(now))) or 0


def _due(now: datetime):
    # pending and due, or claimed by a sender whose lease ran out (it died).
    return and_(OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= now)


def claim_outbox(session: Session, now: datetime, limit: int, lease_s: float) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due messages for one delivery attempt.

    On PostgreSQL the rows are locked with ``SELECT ... FOR UPDATE SKIP
    LOCKED`` so concurrent senders never pick the same row; on both backends
    the claim is a compare-and-set on (status, attempts), so a row changed
    since it was read is skipped.  Claimed rows become ``sending`` with a
    lease (``next_attempt_at`` = now + lease): if the sender dies, the row
    is due again when the lease runs out.  Commit before sending.
    """
    now = require_utc(now, "now")
    q = select(OutboxMessage).where(_due(now)).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    claimed: list[ClaimedMessage] = []
    for row in session.scalars(q).all():
        attempt = row.attempts + 1
        res = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status, OutboxMessage.attempts == row.attempts)
            .values(status="sending", attempts=attempt, next_attempt_at=now + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            continue
        claimed.append(
            ClaimedMessage(
                id=row.id,
                attempt=attempt,
                alert_id=row.alert_id,
                message_id=row.message_id,
                in_reply_to=row.in_reply_to,
                recipients=tuple(a.strip() for a in row.recipients.split(",") if a.strip()),
                subject=row.subject,
                body_text=row.body_text,
                body_html=row.body_html,
                attachment_png=row.attachment_png,
                created_at=row.created_at,
            )
        )
    session.expire_all()
    return claimed


def mark_sent(session: Session, outbox_id: int, attempt: int, now: datetime, note: str | None = None) -> bool:
    """Record a delivered message.  False when this sender no longer held
    the claim (its lease ran out and another attempt took the row)."""
    res = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "sending", OutboxMessage.attempts == attempt)
        .values(status="sent", sent_at=require_utc(now, "now"), last_error=note)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def mark_failed(session: Session, outbox_id: int, attempt: int, error: str, retry_at: datetime | None) -> bool:
    """A failed attempt: back to ``pending`` until ``retry_at``, or ``dead``
    (dead letter, shown on the dashboard) when ``retry_at`` is None."""
    values = {"last_error": error[:4000]}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values["status"] = "pending"
        values["next_attempt_at"] = require_utc(retry_at, "retry_at")
    res = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "sending", OutboxMessage.attempts == attempt)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def release_claim(session: Session, outbox_id: int, attempt: int, now: datetime) -> bool:
    """Give back a claimed message that was not attempted (the sender is
    stopping): pending again at once, the attempt not counted."""
    res = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "sending", OutboxMessage.attempts == attempt)
        .values(status="pending", attempts=attempt - 1, next_attempt_at=require_utc(now, "now"))
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def requeue(session: Session, outbox_id: int, now: datetime | None = None) -> OutboxMessage:
    """A dead letter back to pending (after fixing the cause), attempts reset."""
    now = _now(now)
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        raise UnknownOutboxMessage(outbox_id)
    if row.status != "dead":
        raise InvalidArgument("outbox message", outbox_id, f"a dead letter (it is {row.status})")
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.last_error = f"requeued at {iso_z(now)} after: {row.last_error or ''}"[:4000]
    return row


# ---------------------------------------------------------------- sources

def source_statuses(session: Session) -> list[SourceStatus]:
    return list(session.scalars(select(SourceStatus).order_by(SourceStatus.name)))


def get_source_status(session: Session, name: str) -> SourceStatus:
    row = session.get(SourceStatus, name)
    if row is None:
        row = SourceStatus(name=name)
        session.add(row)
    return row


# ---------------------------------------------------------------- plain dicts (CLI --json, dashboard)

def _iso(v: datetime | None) -> str | None:
    return iso_z(v) if v is not None else None


def alert_dict(a: Alert) -> dict:
    d = _details(a)
    return {
        "id": a.id,
        "fingerprint": a.fingerprint,
        "event_id": a.event_id,
        "kind": a.kind,
        "rule": a.rule,
        "severity": a.severity,
        "state": a.state,
        "title": a.title,
        "opened_at": _iso(a.opened_at),
        "updated_at": _iso(a.updated_at),
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": _iso(a.acknowledged_at),
        "ack_note": a.ack_note,
        "resolved_by": a.resolved_by,
        "resolved_at": _iso(a.resolved_at),
        "resolve_note": a.resolve_note,
        "last_notified_at": _iso(a.last_notified_at),
        "notify_count": a.notify_count,
        "thread_message_id": a.thread_message_id,
        "region": d.get("region"),
        "norad_ids": d.get("norad_ids", []),
        "miss_km": d.get("miss_km"),
        "pc": d.get("pc"),
        "tca": d.get("tca"),
        "last_reason": d.get("last_reason"),
    }


def action_dict(x: AlertAction) -> dict:
    return {"id": x.id, "alert_id": x.alert_id, "action": x.action, "actor": x.actor, "note": x.note, "at": _iso(x.at)}


def silence_dict(s: Silence) -> dict:
    return {
        "id": s.id,
        "fingerprint": s.fingerprint,
        "object_norad_id": s.object_norad_id,
        "kind": s.kind,
        "region": s.region,
        "author": s.author,
        "reason": s.reason,
        "created_at": _iso(s.created_at),
        "expires_at": _iso(s.expires_at),
    }


def outbox_dict(m: OutboxMessage) -> dict:
    return {
        "id": m.id,
        "alert_id": m.alert_id,
        "message_id": m.message_id,
        "in_reply_to": m.in_reply_to,
        "recipients": [a for a in m.recipients.split(",") if a],
        "subject": m.subject,
        "status": m.status,
        "attempts": m.attempts,
        "next_attempt_at": _iso(m.next_attempt_at),
        "last_error": m.last_error,
        "created_at": _iso(m.created_at),
        "sent_at": _iso(m.sent_at),
        "has_png": m.attachment_png is not None,
    }


def source_dict(s: SourceStatus, now: datetime | None = None) -> dict:
    now = _now(now)
    age_h = (now - s.newest_epoch_utc).total_seconds() / 3600.0 if s.newest_epoch_utc else None
    healthy = s.last_success_at is not None and (s.last_error_at is None or s.last_success_at >= s.last_error_at)
    return {
        "name": s.name,
        "healthy": healthy,
        "last_attempt_at": _iso(s.last_attempt_at),
        "last_success_at": _iso(s.last_success_at),
        "last_error_at": _iso(s.last_error_at),
        "last_error": s.last_error,
        "newest_epoch": _iso(s.newest_epoch_utc),
        "data_age_hours": None if age_h is None else round(age_h, 2),
        "records_last": s.records_last,
        "etag": s.etag,
        "last_modified": s.last_modified,
    }

