"""Data access for the dashboard: cached engine, cached queries.

Streamlit reruns the script on every interaction: the engine comes from
``st.cache_resource`` and query results from ``st.cache_data(ttl=...)``.
Every cached function takes the database URL as its first argument, so two
databases never share a cache entry, and returns plain values (data frames,
dicts, dataclasses of the core), never ORM objects bound to a session.
The dashboard reads through ``db`` and calls the core; it never starts a
scheduler.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from db import queries
from db.engine import make_engine, session_factory
from db.migrate import default_url
from db.models import (
    Alert,
    AlertAction,
    ElementSet,
    Event,
    EventUpdate,
    OutboxMessage,
    Run,
    ServiceState,
    Silence,
    SourceStatus,
    SpaceObject,
    State,
)

HEARTBEAT_KEY = "service.heartbeat"
CYCLE_KINDS = ("cycle", "catch-up")
CISLUNAR_REGIMES = ("CISLUNAR", "LUNAR", "LIBRATION")
SEVERITIES = ("critical", "warning", "info")


def db_url() -> str:
    return os.environ.get("CISLUNAR_DB_URL") or default_url()


@st.cache_resource
def get_sessionmaker(url: str):
    return session_factory(make_engine(url))


def Session():
    return get_sessionmaker(db_url())()


def redacted_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(db_url()).render_as_string(hide_password=True)


def clear_caches() -> None:
    """After a write (alert action, upload): drop cached query results."""
    st.cache_data.clear()


def _label(norad_id, provider_id, name, object_id=None) -> str:
    ident = str(norad_id) if norad_id is not None else (provider_id or (f"#{object_id}" if object_id is not None else "?"))
    return f"{ident} {name}" if name else ident


# ---------------------------------------------------------------- overview

def _run_dict(r: Run | None) -> dict | None:
    if r is None:
        return None
    dur = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
    return {
        "id": r.id, "kind": r.kind, "status": r.status, "started_at": r.started_at,
        "finished_at": r.finished_at, "duration_s": dur, "objects": r.n_objects,
        "states": r.n_states, "errors": r.n_errors, "error": r.error,
        "window_start": r.window_start_utc, "window_stop": r.window_stop_utc, "step_s": r.step_s,
    }


@st.cache_data(ttl=10, show_spinner=False)
def service_health(url: str) -> dict:
    """Everything the overview shows, in one session."""
    with get_sessionmaker(url)() as s:
        regimes = queries.objects_by_regime(s)
        newest_epoch = queries.newest_element_epoch(s)
        newest_ingest = s.scalar(select(func.max(ElementSet.ingested_at)))
        n_sets = s.scalar(select(func.count()).select_from(ElementSet)) or 0
        last = s.scalar(select(Run).where(Run.kind.in_(CYCLE_KINDS)).order_by(Run.started_at.desc(), Run.id.desc()).limit(1))
        last_ok = s.scalar(
            select(Run).where(Run.kind.in_(CYCLE_KINDS), Run.status == "ok").order_by(Run.started_at.desc(), Run.id.desc()).limit(1)
        )
        hb = s.get(ServiceState, HEARTBEAT_KEY)
        outbox = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        dead = s.execute(
            select(OutboxMessage.id, OutboxMessage.subject, OutboxMessage.recipients, OutboxMessage.attempts,
                   OutboxMessage.last_error, OutboxMessage.created_at)
            .where(OutboxMessage.status == "dead").order_by(OutboxMessage.created_at.desc()).limit(50)
        ).all()
        oldest_pending = s.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(("pending", "sending"))))
        sources = s.execute(
            select(SourceStatus.name, SourceStatus.last_attempt_at, SourceStatus.last_success_at, SourceStatus.last_error_at,
                   SourceStatus.last_error, SourceStatus.newest_epoch_utc, SourceStatus.records_last).order_by(SourceStatus.name)
        ).all()
        alerts = dict(
            s.execute(select(Alert.severity, func.count()).where(Alert.state == "open").group_by(Alert.severity)).all()
        )
        acked = s.scalar(select(func.count()).select_from(Alert).where(Alert.state == "acknowledged")) or 0
        events = dict(s.execute(select(Event.kind, func.count()).where(Event.status == "active").group_by(Event.kind)).all())
    heartbeat = None
    if hb is not None and hb.value:
        try:
            heartbeat = datetime.fromisoformat(hb.value)
        except ValueError:
            heartbeat = hb.updated_at
    return {
        "regimes": regimes,
        "n_objects": sum(regimes.values()),
        "n_element_sets": n_sets,
        "newest_epoch": newest_epoch,
        "newest_ingest": newest_ingest,
        "last_cycle": _run_dict(last),
        "last_ok_cycle": _run_dict(last_ok),
        "heartbeat": heartbeat,
        "outbox": {k: int(v) for k, v in outbox.items()},
        "oldest_pending": oldest_pending,
        "dead_letters": pd.DataFrame(dead, columns=["id", "subject", "recipients", "attempts", "last_error", "created_at"]),
        "sources": pd.DataFrame(sources, columns=["source", "last_attempt", "last_success", "last_error_at", "last_error",
                                                  "newest_epoch", "records_last"]),
        "open_alerts": {sev: int(alerts.get(sev, 0)) for sev in SEVERITIES},
        "acknowledged_alerts": int(acked),
        "active_events": {k: int(v) for k, v in events.items()},
    }


# ---------------------------------------------------------------- alerts

@st.cache_data(ttl=10, show_spinner=False)
def alerts_frame(url: str) -> pd.DataFrame:
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(Alert.id, Alert.severity, Alert.state, Alert.kind, Alert.rule, Alert.title, Alert.event_id,
                   Alert.opened_at, Alert.updated_at, Alert.acknowledged_by, Alert.acknowledged_at, Alert.ack_note,
                   Alert.resolved_by, Alert.resolved_at, Alert.resolve_note, Alert.notify_count, Alert.fingerprint,
                   Alert.details_json)
            .order_by(Alert.updated_at.desc(), Alert.id.desc())
        ).all()
    cols = ["id", "severity", "state", "kind", "rule", "title", "event_id", "opened_at", "updated_at", "acknowledged_by",
            "acknowledged_at", "ack_note", "resolved_by", "resolved_at", "resolve_note", "notify_count", "fingerprint",
            "details_json"]
    df = pd.DataFrame(rows, columns=cols)
    details = [_json_dict(d) for d in df["details_json"]]
    df["region"] = [d.get("region") for d in details]
    df["norad_ids"] = [[n for n in d.get("norad_ids", []) if isinstance(n, int)] for d in details]
    return df.drop(columns="details_json")


def _json_dict(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@st.cache_data(ttl=5, show_spinner=False)
def alert_actions(url: str, alert_id: int) -> pd.DataFrame:
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(AlertAction.at, AlertAction.action, AlertAction.actor, AlertAction.note)
            .where(AlertAction.alert_id == alert_id).order_by(AlertAction.at, AlertAction.id)
        ).all()
    return pd.DataFrame(rows, columns=["at", "action", "by", "note"])


@st.cache_data(ttl=10, show_spinner=False)
def silences_frame(url: str, now_iso: str) -> pd.DataFrame:
    now = datetime.fromisoformat(now_iso)
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(Silence.id, Silence.fingerprint, Silence.object_norad_id, Silence.kind, Silence.region, Silence.author,
                   Silence.reason, Silence.created_at, Silence.expires_at)
            .where(Silence.expires_at > now).order_by(Silence.expires_at)
        ).all()
    return pd.DataFrame(rows, columns=["id", "fingerprint", "object", "kind", "region", "author", "reason", "created_at", "expires_at"])


# ---------------------------------------------------------------- objects

@st.cache_data(ttl=60, show_spinner=False)
def objects_index(url: str) -> pd.DataFrame:
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(SpaceObject.id, SpaceObject.norad_id, SpaceObject.provider_id, SpaceObject.name, SpaceObject.regime,
                   SpaceObject.propagator).order_by(SpaceObject.norad_id, SpaceObject.id)
        ).all()
    df = pd.DataFrame(rows, columns=["id", "norad_id", "provider_id", "name", "regime", "propagator"])
    df["norad_id"] = df["norad_id"].astype("Int64")
    df["label"] = [_label(n if not pd.isna(n) else None, p, nm, i) for i, n, p, nm in
                   zip(df["id"], df["norad_id"], df["provider_id"], df["name"])]
    return df


@st.cache_data(ttl=30, show_spinner=False)
def object_detail(url: str, object_id: int) -> dict | None:
    with get_sessionmaker(url)() as s:
        obj = s.get(SpaceObject, object_id)
        if obj is None:
            return None
        ident = {
            "id": obj.id, "norad_id": obj.norad_id, "provider_id": obj.provider_id, "name": obj.name,
            "intl_designator": obj.intl_designator, "owner": obj.owner, "kind": obj.kind, "regime": obj.regime,
            "propagator": obj.propagator, "propagator_reason": obj.propagator_reason,
            "created_at": obj.created_at, "updated_at": obj.updated_at, "label": obj.label,
        }
        sets = s.execute(
            select(ElementSet.id, ElementSet.epoch_utc, ElementSet.format, ElementSet.source, ElementSet.source_line,
                   ElementSet.ingested_at, ElementSet.mean_motion_rev_day, ElementSet.eccentricity, ElementSet.inclination_deg,
                   ElementSet.raan_deg, ElementSet.bstar_per_earth_radius, ElementSet.element_set_no, ElementSet.stop_utc)
            .where(ElementSet.object_id == object_id).order_by(ElementSet.epoch_utc.desc(), ElementSet.id.desc())
        ).all()
        o1, o2 = aliased(SpaceObject), aliased(SpaceObject)
        ev = s.execute(
            select(Event.id, Event.kind, Event.status, Event.region, Event.tca_utc, Event.start_utc, Event.end_utc,
                   Event.miss_km, Event.relative_speed_km_s, Event.penetration_km, Event.pc,
                   o1.id, o1.norad_id, o1.provider_id, o1.name, o2.id, o2.norad_id, o2.provider_id, o2.name)
            .join(o1, o1.id == Event.object_id).outerjoin(o2, o2.id == Event.other_object_id)
            .where(or_(Event.object_id == object_id, Event.other_object_id == object_id))
            .order_by(func.coalesce(Event.tca_utc, Event.start_utc).desc()).limit(500)
        ).all()
    set_df = pd.DataFrame(sets, columns=["id", "epoch_utc", "format", "source", "line", "ingested_at", "mean_motion_rev_day",
                                         "eccentricity", "inclination_deg", "raan_deg", "bstar", "element_set_no", "stop_utc"])
    events = []
    for r in ev:
        other_id = r[15]
        if r[11] == object_id:
            other = _label(r[16], r[17], r[18], other_id) if other_id is not None else ""
        else:
            other = _label(r[12], r[13], r[14], r[11])
        events.append({"event": r[0], "kind": r[1], "status": r[2], "region": r[3], "other object": other,
                       "tca_utc": r[4], "start_utc": r[5], "end_utc": r[6], "miss_km": r[7],
                       "relative_speed_km_s": r[8], "penetration_km": r[9], "pc": r[10]})
    ev_df = pd.DataFrame(events, columns=["event", "kind", "status", "region", "other object", "tca_utc", "start_utc",
                                          "end_utc", "miss_km", "relative_speed_km_s", "penetration_km", "pc"])
    return {"identity": ident, "element_sets": set_df, "events": ev_df}


@st.cache_data(ttl=60, show_spinner=False)
def object_states(url: str, object_id: int, run_id: int) -> pd.DataFrame:
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(State.epoch_utc, State.x_km, State.y_km, State.z_km, State.vx_km_s, State.vy_km_s, State.vz_km_s,
                   State.propagator, State.error_code)
            .where(State.object_id == object_id, State.run_id == run_id).order_by(State.epoch_utc)
        ).all()
    return pd.DataFrame(rows, columns=["epoch_utc", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "propagator",
                                       "error_code"])


# ---------------------------------------------------------------- cycles and states

@st.cache_data(ttl=30, show_spinner=False)
def last_cycle(url: str) -> dict | None:
    """The newest finished cycle that stored states."""
    with get_sessionmaker(url)() as s:
        run = s.scalar(
            select(Run).where(Run.kind.in_(CYCLE_KINDS), Run.status.in_(("ok", "partial")), Run.n_states > 0)
            .order_by(Run.started_at.desc(), Run.id.desc()).limit(1)
        )
        return _run_dict(run)


@st.cache_data(ttl=300, show_spinner=False)
def cycle_epochs(url: str, run_id: int) -> list[datetime]:
    """The epochs a cycle stored, from one of its objects (index on
    object_id, epoch_utc), not by scanning the run's states."""
    with get_sessionmaker(url)() as s:
        run = s.get(Run, run_id)
        if run is None:
            return []
        q = select(State.object_id).where(State.run_id == run_id)
        if run.window_start_utc is not None:
            pad = timedelta(seconds=(run.step_s or 60.0) * 2)
            q = q.where(State.epoch_utc >= run.window_start_utc, State.epoch_utc <= run.window_start_utc + pad)
        obj = s.scalar(q.limit(1))
        if obj is None:
            return []
        return list(s.scalars(select(State.epoch_utc).where(State.run_id == run_id, State.object_id == obj).order_by(State.epoch_utc)))


@st.cache_data(ttl=300, show_spinner=False)
def positions_at(url: str, run_id: int, epoch_iso: str) -> pd.DataFrame:
    """Every object's stored state of one run at one epoch, with the facts the hover shows."""
    epoch = datetime.fromisoformat(epoch_iso)
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            select(State.object_id, State.x_km, State.y_km, State.z_km, State.vx_km_s, State.vy_km_s, State.vz_km_s,
                   State.error_code, State.propagator, SpaceObject.norad_id, SpaceObject.provider_id, SpaceObject.name,
                   SpaceObject.regime, ElementSet.epoch_utc)
            .join(SpaceObject, SpaceObject.id == State.object_id)
            .outerjoin(ElementSet, ElementSet.id == State.element_set_id)
            .where(State.run_id == run_id, State.epoch_utc == epoch)
        ).all()
    df = pd.DataFrame(rows, columns=["object_id", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "error_code",
                                     "propagator", "norad_id", "provider_id", "name", "regime", "element_epoch"])
    df["regime"] = df["regime"].fillna("unclassified")
    df["label"] = [_label(n, p, nm, i) for i, n, p, nm in zip(df["object_id"], df["norad_id"], df["provider_id"], df["name"])]
    df["element_age_days"] = [
        (epoch - e).total_seconds() / 86400.0 if e is not None and not pd.isna(e) else np.nan for e in df["element_epoch"]
    ]
    return df


@st.cache_data(ttl=300, show_spinner=False)
def tracks(url: str, run_id: int, object_ids: tuple[int, ...], max_points: int = 600) -> dict[int, pd.DataFrame]:
    """Stored states of some objects over a run, downsampled to ``max_points``."""
    out: dict[int, pd.DataFrame] = {}
    if not object_ids:
        return out
    with get_sessionmaker(url)() as s:
        for oid in object_ids:
            rows = s.execute(
                select(State.epoch_utc, State.x_km, State.y_km, State.z_km, State.vx_km_s, State.vy_km_s, State.vz_km_s)
                .where(State.run_id == run_id, State.object_id == oid, State.x_km.is_not(None)).order_by(State.epoch_utc)
            ).all()
            df = pd.DataFrame(rows, columns=["epoch_utc", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s"])
            if len(df) > max_points:
                idx = np.unique(np.linspace(0, len(df) - 1, max_points).round().astype(int))
                df = df.iloc[idx].reset_index(drop=True)
            out[oid] = df
    return out


@st.cache_data(ttl=60, show_spinner=False)
def cislunar_object_ids(url: str, limit: int = 50) -> list[int]:
    with get_sessionmaker(url)() as s:
        return list(s.scalars(select(SpaceObject.id).where(SpaceObject.regime.in_(CISLUNAR_REGIMES)).order_by(SpaceObject.id).limit(limit)))


# ---------------------------------------------------------------- events

_EVENT_COLUMNS = ["id", "kind", "status", "region", "object_id", "object", "other_object_id", "other", "tca_utc",
                  "start_utc", "end_utc", "miss_km", "relative_speed_km_s", "penetration_km", "pc", "pc_method",
                  "first_seen_at", "last_seen_at", "last_run_id", "element_set_id", "other_element_set_id"]


def _events_query(kinds: tuple[str, ...] | None):
    o1, o2 = aliased(SpaceObject), aliased(SpaceObject)
    q = (
        select(Event.id, Event.kind, Event.status, Event.region, Event.object_id, o1.norad_id, o1.provider_id, o1.name,
               Event.other_object_id, o2.norad_id, o2.provider_id, o2.name, Event.tca_utc, Event.start_utc, Event.end_utc,
               Event.miss_km, Event.relative_speed_km_s, Event.penetration_km, Event.pc, Event.pc_method,
               Event.first_seen_at, Event.last_seen_at, Event.last_run_id, Event.element_set_id, Event.other_element_set_id)
        .join(o1, o1.id == Event.object_id).outerjoin(o2, o2.id == Event.other_object_id)
    )
    if kinds:
        q = q.where(Event.kind.in_(kinds))
    return q


def _event_rows(rows) -> pd.DataFrame:
    out = []
    for r in rows:
        out.append([r[0], r[1], r[2], r[3], r[4], _label(r[5], r[6], r[7], r[4]), r[8],
                    _label(r[9], r[10], r[11], r[8]) if r[8] is not None else "", *r[12:]])
    return pd.DataFrame(out, columns=_EVENT_COLUMNS)


@st.cache_data(ttl=30, show_spinner=False)
def events_frame(url: str, kinds: tuple[str, ...] | None = None, limit: int = 1000) -> pd.DataFrame:
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            _events_query(kinds).order_by(func.coalesce(Event.tca_utc, Event.start_utc).desc(), Event.id.desc()).limit(limit)
        ).all()
    return _event_rows(rows)


@st.cache_data(ttl=60, show_spinner=False)
def region_events_in(url: str, start_iso: str, stop_iso: str) -> pd.DataFrame:
    start, stop = datetime.fromisoformat(start_iso), datetime.fromisoformat(stop_iso)
    t = func.coalesce(Event.start_utc, Event.tca_utc)
    with get_sessionmaker(url)() as s:
        rows = s.execute(
            _events_query(("region_entry", "region_approach")).where(and_(t >= start, t <= stop)).order_by(t).limit(2000)
        ).all()
    return _event_rows(rows)


@st.cache_data(ttl=30, show_spinner=False)
def event_detail(url: str, event_id: int) -> dict | None:
    with get_sessionmaker(url)() as s:
        rows = s.execute(_events_query(None).where(Event.id == event_id)).all()
        if not rows:
            return None
        ev = _event_rows(rows).iloc[0].to_dict()
        ups = s.execute(
            select(EventUpdate.id, EventUpdate.run_id, EventUpdate.seen_at, EventUpdate.tca_utc, EventUpdate.miss_km,
                   EventUpdate.relative_speed_km_s, EventUpdate.pc, EventUpdate.pc_method, EventUpdate.element_set_id,
                   EventUpdate.other_element_set_id, EventUpdate.propagator, Run.window_start_utc)
            .outerjoin(Run, Run.id == EventUpdate.run_id)
            .where(EventUpdate.event_id == event_id).order_by(EventUpdate.seen_at, EventUpdate.id)
        ).all()
        details = s.scalar(select(Event.details_json).where(Event.id == event_id))
    ev["details_json"] = details
    ev["updates"] = pd.DataFrame(ups, columns=["id", "run_id", "seen_at", "tca_utc", "miss_km", "relative_speed_km_s", "pc",
                                               "pc_method", "element_set_id", "other_element_set_id", "propagator",
                                               "run_window_start"])
    return ev


# ---------------------------------------------------------------- replay inputs

@st.cache_data(ttl=300, show_spinner=False)
def known_element_sets(url: str, object_ids: tuple[int, ...], at_iso: str, known_at_iso: str | None) -> list[dict]:
    """Cached ``load_known_element_sets``: the replay's inputs as known at a
    moment, cached per (objects, at, known at)."""
    from dashboard.replay_inputs import load_known_element_sets

    with get_sessionmaker(url)() as s:
        return load_known_element_sets(
            s, object_ids, datetime.fromisoformat(at_iso), datetime.fromisoformat(known_at_iso) if known_at_iso else None
        )


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
