"""Helpers shared by the alerting, e-mail, source and service tests (no tests
here): a real SMTP server on loopback (aiosmtpd), event factories that write
``Event``/``EventUpdate`` rows the way screening does, and settings."""

from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from db import queries
from db.models import ElementSet, Event, EventUpdate, SpaceObject

T0 = datetime(2026, 7, 6, 12, 0, tzinfo=timezone.utc)


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd cannot bind port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted message; can answer 4xx to the
    next ``fail_data`` DATA commands, or 5xx to one recipient."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.fail_data = 0
        self.reject_rcpt: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_data > 0:
            self.fail_data -= 1
            return "451 4.3.0 try again later"
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


@contextmanager
def running_smtp(handler: SmtpRecorder, port: int | None = None, **kwargs):
    from aiosmtpd.controller import Controller

    c = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    c.start()
    try:
        yield c
    finally:
        c.stop()


# ---------------------------------------------------------------- data

def make_objects(session, n: int = 2) -> list[SpaceObject]:
    """``n`` objects with one element set each (epoch a day before T0)."""
    objs = []
    for i in range(n):
        o, _ = queries.get_or_create_object(session, norad_id=90001 + i, name=f"TESTSAT {i + 1}")
        o.propagator = "sgp4"
        session.add(
            ElementSet(
                object_id=o.id, format="tle", source="test", raw_text=f"set {i}", content_hash=f"hash-{o.norad_id}",
                epoch_utc=T0 - timedelta(days=1), ingested_at=T0,
            )
        )
        objs.append(o)
    session.flush()
    return objs


def element_set_of(session, obj) -> ElementSet:
    return session.scalars(select(ElementSet).where(ElementSet.object_id == obj.id)).first()


def new_run(Session, at: datetime, kind: str = "cycle") -> int:
    with Session.begin() as session:
        run = queries.start_run(session, kind, window_start_utc=at, window_stop_utc=at + timedelta(hours=24), step_s=60.0)
        return run.id


def see_event(session, run_id: int, fingerprint: str, objs, *, kind: str = "conjunction", now: datetime = T0,
              region: str | None = None, **values) -> Event:
    """Screening's contract: create or update the event, one EventUpdate per cycle."""
    values.setdefault("tca_utc", T0 + timedelta(hours=6) if kind in ("conjunction", "proximity") else None)
    values.setdefault("relative_speed_km_s", 7.2 if kind == "conjunction" else None)
    values.setdefault("pc_method", "foster" if values.get("pc") is not None else None)
    values.setdefault("propagator", "sgp4")
    ev = session.scalar(select(Event).where(Event.fingerprint == fingerprint))
    es = [element_set_of(session, o) for o in objs]
    if ev is None:
        ev = Event(
            kind=kind, fingerprint=fingerprint, object_id=objs[0].id,
            other_object_id=objs[1].id if len(objs) > 1 else None, region=region,
            element_set_id=es[0].id, other_element_set_id=es[1].id if len(es) > 1 else None,
            first_run_id=run_id, first_seen_at=now, last_seen_at=now, status="active",
        )
        session.add(ev)
    for k, v in values.items():
        setattr(ev, k, v)
    ev.status = "active"
    ev.last_run_id = run_id
    ev.last_seen_at = now
    session.flush()
    session.add(EventUpdate(event_id=ev.id, run_id=run_id, seen_at=now, miss_km=ev.miss_km, pc=ev.pc,
                            tca_utc=ev.tca_utc, pc_method=ev.pc_method, propagator=ev.propagator))
    session.flush()
    return ev


def cycle(Session, policy, at: datetime, events: list[dict], now: datetime | None = None) -> dict:
    """One cycle as the lead's cycle runs it: a run, its events, then
    ``process_run`` in the same transaction."""
    from alerts.engine import process_run

    run_id = new_run(Session, at)
    with Session.begin() as session:
        objs = list(session.scalars(select(SpaceObject).order_by(SpaceObject.norad_id)))
        for e in events:
            e = dict(e)
            fp = e.pop("fingerprint")
            see_event(session, run_id, fp, [objs[i] for i in e.pop("objects", (0, 1))], now=now or at, **e)
        counts = process_run(session, run_id, policy, now or at)
    counts["run_id"] = run_id
    return counts


def settings_for(db_url: str, tmp_path: Path, **values):
    """Settings for ``db_url`` with ``values`` (``smtp_host=...`` -> ``smtp.host``)."""
    from monitor.config import load_settings

    s = load_settings(None, {"database.url": db_url})
    s.values["smtp.spool_dir"] = tmp_path / "spool"
    for k, v in values.items():
        s.values[k if "." in k else k.replace("_", ".", 1)] = v
    return s
