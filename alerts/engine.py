"""The alert engine: after each cycle, events become alerts and alert mail.

``process_run`` runs inside the cycle's transaction, right after screening
has written the run's ``Event``/``EventUpdate`` rows, so the events, the
alert changes and the outbox rows commit together (transactional outbox).
It never commits.  ``check_deadman`` and ``write_digest`` are the same idea
for the service's own health and the daily summary.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts import lifecycle
from alerts.email import AlertMail, Geometry, ObjectInfo, compose, compose_digest
from alerts.outbox import enqueue
from alerts.rules import AlertPolicy, EventFacts, Notified, load_rules, notification_reason
from db import alert_ops
from db.alert_ops import SYSTEM_ACTOR
from db.models import Alert, ElementSet, Event, EventUpdate, OutboxMessage, Run, SpaceObject, State
from propagators.timeutil import iso_z, require_utc

log = logging.getLogger(__name__)

GEOMETRY_HALF_WINDOW_S = 1800.0  # states within +-30 min of TCA draw the relative track


def policy_for(settings: Any) -> AlertPolicy:
    """The validated ``[alerts]`` policy of a ``monitor.config.Settings``."""
    return load_rules(settings.raw.get("alerts", {}), dashboard_url=settings["dashboard.base_url"])


# ---------------------------------------------------------------- facts

class _Objects:
    """Per-call cache of objects and element sets."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._obj: dict[int, SpaceObject | None] = {}
        self._es: dict[int, ElementSet | None] = {}

    def obj(self, object_id: int | None) -> SpaceObject | None:
        if object_id is None:
            return None
        if object_id not in self._obj:
            self._obj[object_id] = self.session.get(SpaceObject, object_id)
        return self._obj[object_id]

    def es(self, es_id: int | None) -> ElementSet | None:
        if es_id is None:
            return None
        if es_id not in self._es:
            self._es[es_id] = self.session.get(ElementSet, es_id)
        return self._es[es_id]


def event_facts(ev: Event, objects: _Objects) -> EventFacts:
    norads = tuple(o.norad_id for o in (objects.obj(ev.object_id), objects.obj(ev.other_object_id)) if o is not None and o.norad_id is not None)
    duration = None
    if ev.start_utc is not None and ev.end_utc is not None:
        duration = (ev.end_utc - ev.start_utc).total_seconds() / 60.0
    return EventFacts(
        kind=ev.kind,
        fingerprint=ev.fingerprint,
        region=ev.region,
        norad_ids=norads,
        miss_km=ev.miss_km,
        pc=ev.pc,
        penetration_km=ev.penetration_km,
        duration_minutes=duration,
        regimes=tuple(o.regime for o in (objects.obj(ev.object_id), objects.obj(ev.other_object_id)) if o is not None and o.regime),
    )


def _labels(ev: Event, objects: _Objects) -> list[str]:
    return [o.label for o in (objects.obj(ev.object_id), objects.obj(ev.other_object_id)) if o is not None]


def _title(ev: Event, facts: EventFacts, objects: _Objects) -> str:
    return lifecycle.title_for(ev.kind, _labels(ev, objects), ev.region, miss_km=ev.miss_km,
                               penetration_km=ev.penetration_km, duration_minutes=facts.duration_minutes)


def _details(ev: Event | None, facts: EventFacts | None, extra: dict | None = None) -> str:
    d: dict[str, Any] = {}
    if ev is not None and facts is not None:
        d = {
            "region": ev.region,
            "norad_ids": list(facts.norad_ids),
            "miss_km": ev.miss_km,
            "pc": ev.pc,
            "pc_method": ev.pc_method,
            "penetration_km": ev.penetration_km,
            "relative_speed_km_s": ev.relative_speed_km_s,
            "tca": iso_z(ev.tca_utc) if ev.tca_utc else None,
            "start": iso_z(ev.start_utc) if ev.start_utc else None,
            "end": iso_z(ev.end_utc) if ev.end_utc else None,
            "last_run_id": ev.last_run_id,
        }
    d.update(extra or {})
    return json.dumps(d, default=str)


def _merge_details(alert: Alert, **extra) -> None:
    try:
        d = json.loads(alert.details_json) if alert.details_json else {}
    except ValueError:
        d = {}
    d.update(extra)
    alert.details_json = json.dumps(d, default=str)


def _geometry(session: Session, ev: Event, run_id: int) -> Geometry | None:
    """The secondary's track about the primary (primary RTN) from the run's
    stored states near TCA, when both objects have them."""
    if ev.other_object_id is None or ev.tca_utc is None:
        return None
    from propagators.screening.encounter import rtn_basis

    lo = ev.tca_utc - timedelta(seconds=GEOMETRY_HALF_WINDOW_S)
    hi = ev.tca_utc + timedelta(seconds=GEOMETRY_HALF_WINDOW_S)
    rows = session.execute(
        select(State.object_id, State.epoch_utc, State.x_km, State.y_km, State.z_km, State.vx_km_s, State.vy_km_s, State.vz_km_s)
        .where(State.run_id == run_id, State.object_id.in_((ev.object_id, ev.other_object_id)),
               State.epoch_utc >= lo, State.epoch_utc <= hi, State.error_code.is_(None) | (State.error_code == 0))
        .order_by(State.epoch_utc)
    ).all()
    a = {r.epoch_utc: r for r in rows if r.object_id == ev.object_id}
    b = {r.epoch_utc: r for r in rows if r.object_id == ev.other_object_id}
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return None
    ra = np.array([[a[t].x_km, a[t].y_km, a[t].z_km] for t in common], dtype=float)
    va = np.array([[a[t].vx_km_s, a[t].vy_km_s, a[t].vz_km_s] for t in common], dtype=float)
    rb = np.array([[b[t].x_km, b[t].y_km, b[t].z_km] for t in common], dtype=float)
    basis = rtn_basis(ra, va)  # (n, 3, 3)
    rel = np.einsum("nij,nj->ni", basis, rb - ra)
    if not np.all(np.isfinite(rel)):
        return None
    t = np.array([(c - ev.tca_utc).total_seconds() for c in common])
    return Geometry(t_from_tca_s=t, rel_rtn_km=rel)


def _mail(
    session: Session,
    policy: AlertPolicy,
    alert: Alert,
    ev: Event | None,
    objects: _Objects,
    *,
    reason: str,
    run_id: int | None,
    now: datetime,
    n: int,
    extra: tuple[tuple[str, str], ...] = (),
    with_geometry: bool = True,
) -> AlertMail:
    infos: list[ObjectInfo] = []
    if ev is not None:
        for oid, esid in ((ev.object_id, ev.element_set_id), (ev.other_object_id, ev.other_element_set_id)):
            o = objects.obj(oid)
            if o is None:
                continue
            es = objects.es(esid)
            infos.append(
                ObjectInfo(
                    norad_id=o.norad_id, name=o.name, label=o.label,
                    element_set_epoch_utc=es.epoch_utc if es else None,
                    element_set_format=es.format if es else None,
                    propagator=o.propagator,
                )
            )
    geometry = _geometry(session, ev, run_id) if (with_geometry and ev is not None and run_id is not None) else None
    return AlertMail(
        alert_id=alert.id,
        kind=alert.kind,
        severity=alert.severity,
        state=alert.state,
        tag=lifecycle.tag_for(reason),
        reason=reason,
        title=alert.title,
        fingerprint=alert.fingerprint,
        link=f"{policy.dashboard_url}/alerts?alert={alert.id}",
        as_of_utc=now,
        rule=alert.rule,
        objects=tuple(infos),
        region=ev.region if ev else None,
        tca_utc=ev.tca_utc if ev else None,
        start_utc=ev.start_utc if ev else None,
        end_utc=ev.end_utc if ev else None,
        miss_km=ev.miss_km if ev else None,
        relative_speed_km_s=ev.relative_speed_km_s if ev else None,
        pc=ev.pc if ev else None,
        pc_method=ev.pc_method if ev else None,
        penetration_km=ev.penetration_km if ev else None,
        propagator=ev.propagator if ev else None,
        run_id=run_id,
        notification_no=n,
        acknowledged_by=alert.acknowledged_by if alert.state == "acknowledged" else None,
        geometry=geometry,
        extra=extra,
    )


# ---------------------------------------------------------------- notifying

def _notify(
    session: Session,
    policy: AlertPolicy,
    alert: Alert,
    ev: Event | None,
    facts: EventFacts | None,
    objects: _Objects,
    *,
    reason: str,
    recipients: tuple[str, ...],
    run_id: int | None,
    now: datetime,
    counts: Counter,
    extra: tuple[tuple[str, str], ...] = (),
    with_png: bool = True,
) -> OutboxMessage | None:
    """Write the notification to the outbox, unless silenced or below
    ``email_min_severity``.  Updates what was last notified."""
    norads = facts.norad_ids if facts else ()
    kind = ev.kind if ev else alert.kind
    region = ev.region if ev else None
    s = alert_ops.matching_silence(session, alert.fingerprint, norads, kind, region, now)
    if s is not None:
        counts["silenced"] += 1
        log.debug("alert %d: %s suppressed by silence %d (%s)", alert.id, reason, s.id, s.reason)
        return None
    if not policy.mails(alert.severity):
        counts["below_email_severity"] += 1
        return None
    n = alert.notify_count + 1
    mid = lifecycle.message_id(alert.fingerprint, n, policy.message_id_domain)
    mail = _mail(session, policy, alert, ev, objects, reason=reason, run_id=run_id, now=now, n=n, extra=extra, with_geometry=with_png)
    row = enqueue(
        session,
        message_id=mid,
        composed=compose(mail, with_png=with_png),
        recipients=recipients,
        now=now,
        alert_id=alert.id,
        in_reply_to=alert.thread_message_id,
    )
    alert.notify_count = n
    if alert.thread_message_id is None:
        alert.thread_message_id = mid
    if not reason.startswith("resolved"):
        alert.last_notified_at = now
        alert.last_notified_severity = alert.severity
        alert.last_notified_miss_km = ev.miss_km if ev else None
        alert.last_notified_pc = ev.pc if ev else None
    alert_ops.record_action(session, alert, "notified", SYSTEM_ACTOR, f"{reason}; {mid} to {', '.join(recipients) or 'default recipients'}", now)
    counts["notified"] += 1
    return row


def _notified(alert: Alert) -> Notified:
    return Notified(
        count=alert.notify_count or 0,
        at=alert.last_notified_at,
        severity=alert.last_notified_severity,
        miss_km=alert.last_notified_miss_km,
        pc=alert.last_notified_pc,
    )


def _auto_resolve(session, policy, alert, ev, facts, objects, *, reason, run_id, now, counts, with_png=False) -> None:
    alert.state = "resolved"
    alert.resolved_by = SYSTEM_ACTOR
    alert.resolved_at = now
    alert.resolve_note = reason
    alert.updated_at = now
    _merge_details(alert, last_reason=reason)
    alert_ops.record_action(session, alert, "resolved", SYSTEM_ACTOR, reason, now)
    counts["resolved"] += 1
    if alert.notify_count > 0:
        recipients = policy.recipients_for(alert.severity, facts)
        _notify(session, policy, alert, ev, facts, objects, reason=reason, recipients=recipients, run_id=run_id,
                now=now, counts=counts, with_png=with_png)


def _reopen(session, alert: Alert, reason: str, now: datetime, counts: Counter) -> None:
    alert.state = "open"
    alert.acknowledged_by = alert.acknowledged_at = alert.ack_note = None
    alert.resolved_by = alert.resolved_at = alert.resolve_note = None
    alert_ops.record_action(session, alert, "reopened", SYSTEM_ACTOR, reason, now)
    counts["reopened"] += 1


# ---------------------------------------------------------------- process_run

def process_run(session: Session, run_id: int, rules: AlertPolicy, now: datetime) -> dict[str, int]:
    """Evaluate the rules on the events of run ``run_id`` and update alerts.

    For every event seen in the run (``Event.last_run_id`` or an
    ``EventUpdate`` of the run): open an alert when a rule matches, update
    it, notify when new, worsened or due a reminder (unless silenced), or
    resolve it when no rule matches any more.  Alerts whose event was not
    seen in the run (or is ``gone``) are resolved with a resolved notice.
    Writes ``OutboxMessage`` rows; runs in the caller's transaction and
    never commits.  Returns counts.
    """
    now = require_utc(now, "now")
    run = session.get(Run, run_id)
    if run is None:
        raise ValueError(f"process_run: no run with id {run_id}")
    counts: Counter[str] = Counter()
    objects = _Objects(session)

    seen = set(session.scalars(select(Event.id).where(Event.last_run_id == run_id)))
    seen |= set(session.scalars(select(EventUpdate.event_id).where(EventUpdate.run_id == run_id).distinct()))
    events: list[Event] = []
    ids = sorted(seen)
    for k in range(0, len(ids), 500):
        events += list(session.scalars(select(Event).where(Event.id.in_(ids[k:k + 500]), Event.status == "active")))
    events.sort(key=lambda e: e.id)
    active_ids = {e.id for e in events}

    alerts_by_fp: dict[str, Alert] = {}
    fps = [e.fingerprint for e in events]
    for k in range(0, len(fps), 500):
        q = select(Alert).where(Alert.fingerprint.in_(fps[k:k + 500]))
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()  # an operator's concurrent ack waits, and is not overwritten
        for a in session.scalars(q):
            alerts_by_fp[a.fingerprint] = a

    for ev in events:
        counts["events"] += 1
        facts = event_facts(ev, objects)
        decision = rules.evaluate(facts)
        alert = alerts_by_fp.get(ev.fingerprint)
        if decision is None:
            if alert is not None and alert.state in ("open", "acknowledged"):
                alert.event_id = ev.id
                _auto_resolve(session, rules, alert, ev, facts, objects, reason=f"resolved: below the alert thresholds (run {run_id})",
                              run_id=run_id, now=now, counts=counts)
            continue
        title = _title(ev, facts, objects)
        if alert is None:
            alert = Alert(
                fingerprint=ev.fingerprint, event_id=ev.id, kind=ev.kind, rule=decision.rule, severity=decision.severity,
                state="open", title=title, opened_at=now, updated_at=now, notify_count=0,
            )
            session.add(alert)
            session.flush()
            alert_ops.record_action(session, alert, "opened", SYSTEM_ACTOR, f"rule {decision.rule} ({decision.severity}) in run {run_id}", now)
            counts["opened"] += 1
            reason = "new"
        else:
            last = _notified(alert)
            if alert.state == "resolved":
                if alert.resolved_by == SYSTEM_ACTOR:
                    reason = "reopened: the situation is back" if last.count else "new"
                else:
                    # resolved by an operator: only a worsening reopens it
                    why = notification_reason(rules, last, state="acknowledged", severity=decision.severity,
                                              miss_km=ev.miss_km, pc=ev.pc, now=now)
                    if why is None or why == "new":
                        alert.event_id = ev.id
                        _merge_details(alert, miss_km=ev.miss_km, pc=ev.pc, last_run_id=run_id)
                        counts["unchanged"] += 1
                        continue
                    reason = f"reopened: {why}"
                _reopen(session, alert, reason, now, counts)
            else:
                reason = notification_reason(rules, last, state=alert.state, severity=decision.severity,
                                             miss_km=ev.miss_km, pc=ev.pc, now=now)
            alert.event_id = ev.id
            alert.kind = ev.kind
            alert.rule = decision.rule
            alert.severity = decision.severity
            alert.title = title
            alert.updated_at = now
            counts["updated"] += 1
        previous = json.loads(alert.details_json) if alert.details_json else {}
        alert.details_json = _details(ev, facts, {"rule_matches": list(decision.matched), "last_reason": reason or previous.get("last_reason")})
        if reason is not None:
            _notify(session, rules, alert, ev, facts, objects, reason=reason, recipients=decision.recipients,
                    run_id=run_id, now=now, counts=counts)

    # Situations that disappeared: alerts whose event was not seen (or is gone).
    q = select(Alert).where(Alert.state.in_(("open", "acknowledged")), Alert.kind != "deadman")
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    for alert in session.scalars(q.order_by(Alert.id)).all():
        if alert.event_id in active_ids:
            continue
        ev = session.get(Event, alert.event_id) if alert.event_id is not None else None
        if ev is not None and ev.kind in lifecycle.INSTANT_KINDS and ev.status == "active":
            continue  # a manoeuvre is not "seen again"; it ends when an operator resolves it
        reason = lifecycle.vanished_reason(ev.status if ev else None, ev.tca_utc if ev else None, run.window_start_utc, run_id)
        facts = event_facts(ev, objects) if ev is not None else None
        _auto_resolve(session, rules, alert, ev, facts, objects, reason=reason, run_id=run_id, now=now, counts=counts)

    session.flush()
    out = dict(counts)
    if any(out.get(k) for k in ("opened", "resolved", "reopened", "notified")):
        log.info("alerts run=%d: %s", run_id, " ".join(f"{k}={v}" for k, v in sorted(out.items())))
    return out


# ---------------------------------------------------------------- dead man's switch

def last_cycle_finished(session: Session) -> datetime | None:
    return session.scalar(
        select(func.max(Run.finished_at)).where(Run.kind.in_(("cycle", "catch-up")), Run.status.in_(("ok", "partial")))
    )


def check_deadman(session: Session, rules: AlertPolicy, now: datetime, *, service_started_at: datetime | None = None) -> dict[str, Any]:
    """Open, remind about or resolve the service's own alerts.

    ``deadman:cycles``: no successful cycle has finished for
    ``cycle_stale_minutes`` (counted from ``service_started_at`` when no
    cycle ever finished).  ``deadman:elements``: the newest element set's
    epoch is older than ``elements_stale_hours``.  Runs in the caller's
    transaction; returns what it found.
    """
    now = require_utc(now, "now")
    pol = rules.deadman
    last_cycle = last_cycle_finished(session)
    newest = session.scalar(select(func.max(ElementSet.epoch_utc)))
    counts: Counter[str] = Counter()
    found: dict[str, Any] = {
        "last_cycle_finished": iso_z(last_cycle) if last_cycle else None,
        "newest_element_epoch": iso_z(newest) if newest else None,
        "cycles_stale": False,
        "elements_stale": False,
    }
    ref = last_cycle or service_started_at
    if ref is not None:
        age_min = (now - ref).total_seconds() / 60.0
        found["cycles_stale"] = age_min > pol.cycle_stale_minutes
        found["cycle_age_minutes"] = round(age_min, 1)
    if newest is not None:
        age_h = (now - newest).total_seconds() / 3600.0
        found["elements_stale"] = age_h > pol.elements_stale_hours
        found["element_age_hours"] = round(age_h, 2)
    if not pol.enabled:
        return found
    since = iso_z(last_cycle) if last_cycle else (f"never (service up since {iso_z(service_started_at)})" if service_started_at else "never")
    _condition(
        session, rules, lifecycle.DEADMAN_CYCLES, found["cycles_stale"],
        title=f"No successful cycle since {since}",
        extra=(("Last successful cycle", since), ("Threshold", f"{pol.cycle_stale_minutes:g} min")),
        now=now, counts=counts,
    )
    if newest is not None:
        _condition(
            session, rules, lifecycle.DEADMAN_ELEMENTS, found["elements_stale"],
            title=f"Newest element set is {found['element_age_hours'] / 24:.1f} d old (epoch {iso_z(newest)})",
            extra=(("Newest element-set epoch", iso_z(newest)), ("Threshold", f"{pol.elements_stale_hours:g} h")),
            now=now, counts=counts,
        )
    found["counts"] = dict(counts)
    return found


def _condition(session, rules: AlertPolicy, fingerprint: str, firing: bool, *, title: str, extra, now: datetime, counts: Counter) -> None:
    alert = alert_ops.alert_by_fingerprint(session, fingerprint)
    severity = rules.deadman.severity
    recipients = rules.recipients_for(severity, None)
    objects = _Objects(session)
    if not firing:
        if alert is not None and alert.state in ("open", "acknowledged"):
            _auto_resolve(session, rules, alert, None, None, objects, reason="resolved: the service is healthy again",
                          run_id=None, now=now, counts=counts)
        return
    if alert is None:
        alert = Alert(fingerprint=fingerprint, kind="deadman", rule=fingerprint, severity=severity, state="open",
                      title=title, opened_at=now, updated_at=now, notify_count=0)
        session.add(alert)
        session.flush()
        alert_ops.record_action(session, alert, "opened", SYSTEM_ACTOR, title, now)
        counts["opened"] += 1
        reason: str | None = "new"
    elif alert.state == "resolved":
        if alert.resolved_by != SYSTEM_ACTOR:
            return  # an operator closed it; stay quiet until it clears and fires again
        reason = "reopened: the condition is back"
        _reopen(session, alert, reason, now, counts)
    else:
        reason = notification_reason(rules, _notified(alert), state=alert.state, severity=severity, miss_km=None, pc=None, now=now)
    alert.title = title
    alert.severity = severity
    alert.updated_at = now
    _merge_details(alert, last_reason=reason)
    if reason is not None:
        _notify(session, rules, alert, None, None, objects, reason=reason, recipients=recipients, run_id=None,
                now=now, counts=counts, extra=tuple(extra), with_png=False)


# ---------------------------------------------------------------- digest

def write_digest(session: Session, rules: AlertPolicy, now: datetime) -> OutboxMessage | None:
    """The daily summary of open and acknowledged alerts (once per UTC day:
    its Message-ID is the date, so a second call the same day adds nothing)."""
    now = require_utc(now, "now")
    mid = lifecycle.digest_message_id(now, rules.message_id_domain)
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == mid)) is not None:
        return None
    alerts = [alert_ops.alert_dict(a) for a in alert_ops.list_alerts(session, ("open", "acknowledged"))]
    recipients = rules.digest.recipients or rules.recipients
    return enqueue(session, message_id=mid, composed=compose_digest(now, alerts, rules.dashboard_url), recipients=recipients, now=now)
