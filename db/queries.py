"""Query functions. Each takes a ``Session`` (or ``Connection``) owned by the
caller, who also owns the transaction (``with Session.begin():``)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from itertools import repeat
from typing import Iterable, Sequence

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from db.base import SQLITE_DATETIME_FORMAT
from db.models import ElementSet, IngestRejection, Run, ServiceState, SpaceObject, State
from propagators.elements import MeanElements
from propagators.errors import RecordError
from propagators.timeutil import require_utc


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- objects

def find_object(session: Session, ident: str) -> SpaceObject | None:
    """An object by catalogue number, provider id, or (case-insensitive) name."""
    ident = ident.strip()
    if ident.isdigit():
        obj = session.scalar(select(SpaceObject).where(SpaceObject.norad_id == int(ident)))
        if obj is not None:
            return obj
    obj = session.scalar(select(SpaceObject).where(SpaceObject.provider_id == ident))
    if obj is not None:
        return obj
    matches = session.scalars(
        select(SpaceObject).where(func.upper(SpaceObject.name) == ident.upper()).limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None


def get_or_create_object(
    session: Session,
    *,
    norad_id: int | None = None,
    provider_id: str | None = None,
    name: str | None = None,
    intl_designator: str | None = None,
) -> tuple[SpaceObject, bool]:
    if norad_id is None and provider_id is None:
        raise ValueError("an object needs a catalogue number or a provider id")
    stmt = select(SpaceObject)
    stmt = stmt.where(SpaceObject.norad_id == norad_id) if norad_id is not None else stmt.where(
        SpaceObject.provider_id == provider_id
    )
    obj = session.scalar(stmt)
    now = utcnow()
    if obj is None:
        obj = SpaceObject(
            norad_id=norad_id,
            provider_id=provider_id,
            name=name,
            intl_designator=intl_designator,
            created_at=now,
            updated_at=now,
        )
        session.add(obj)
        session.flush()
        return obj, True
    changed = False
    if name and obj.name != name:
        obj.name, changed = name, True
    if intl_designator and obj.intl_designator != intl_designator:
        obj.intl_designator, changed = intl_designator, True
    if changed:
        obj.updated_at = now
    return obj, False


def list_objects(session: Session) -> list[SpaceObject]:
    return list(session.scalars(select(SpaceObject).order_by(SpaceObject.norad_id, SpaceObject.id)))


def objects_by_regime(session: Session) -> dict[str, int]:
    rows = session.execute(select(SpaceObject.regime, func.count()).group_by(SpaceObject.regime)).all()
    return {(r or "unclassified"): n for r, n in rows}


# ---------------------------------------------------------------- element sets

def mean_elements_hash(me: MeanElements) -> str:
    """Identity of an element set, independent of the file it came in."""
    if me.line1 and me.line2:
        key = "tle|" + me.line1[:69] + "|" + me.line2[:69]
    else:
        key = "|".join(
            repr(x)
            for x in (
                "mean", me.norad_id, require_utc(me.epoch_utc).isoformat(), me.mean_motion_rev_day,
                me.eccentricity, me.inclination_deg, me.raan_deg, me.arg_perigee_deg,
                me.mean_anomaly_deg, me.bstar_per_earth_radius, me.mean_motion_dot_rev_day2,
                me.mean_motion_ddot_rev_day3,
            )
        )
    return hashlib.sha256(key.encode()).hexdigest()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mean_elements_of(es: ElementSet, obj: SpaceObject) -> MeanElements:
    """The core's record for a stored SGP4 element set."""
    return MeanElements(
        format=es.format,
        norad_id=obj.norad_id or 0,
        epoch_utc=es.epoch_utc,
        mean_motion_rev_day=es.mean_motion_rev_day,
        eccentricity=es.eccentricity,
        inclination_deg=es.inclination_deg,
        raan_deg=es.raan_deg,
        arg_perigee_deg=es.arg_perigee_deg,
        mean_anomaly_deg=es.mean_anomaly_deg,
        bstar_per_earth_radius=es.bstar_per_earth_radius or 0.0,
        mean_motion_dot_rev_day2=es.mean_motion_dot_rev_day2 or 0.0,
        mean_motion_ddot_rev_day3=es.mean_motion_ddot_rev_day3 or 0.0,
        name=obj.name,
        intl_designator=obj.intl_designator,
        line1=es.line1,
        line2=es.line2,
    )


def element_set_exists(session: Session, digest: str) -> bool:
    return session.scalar(select(ElementSet.id).where(ElementSet.content_hash == digest)) is not None


def add_mean_elements(session: Session, me: MeanElements, source: str) -> ElementSet | None:
    """Store one SGP4 element set; None when the same set is already stored."""
    digest = mean_elements_hash(me)
    if element_set_exists(session, digest):
        return None
    obj, _ = get_or_create_object(
        session, norad_id=me.norad_id, name=me.name, intl_designator=me.intl_designator
    )
    es = ElementSet(
        object_id=obj.id,
        format=me.format,
        source=source,
        source_line=me.line,
        source_record=me.record,
        raw_text=me.raw_text,
        content_hash=digest,
        epoch_utc=require_utc(me.epoch_utc),
        ingested_at=utcnow(),
        mean_motion_rev_day=me.mean_motion_rev_day,
        eccentricity=me.eccentricity,
        inclination_deg=me.inclination_deg,
        raan_deg=me.raan_deg,
        arg_perigee_deg=me.arg_perigee_deg,
        mean_anomaly_deg=me.mean_anomaly_deg,
        bstar_per_earth_radius=me.bstar_per_earth_radius,
        mean_motion_dot_rev_day2=me.mean_motion_dot_rev_day2,
        mean_motion_ddot_rev_day3=me.mean_motion_ddot_rev_day3,
        element_set_no=me.element_set_no,
        rev_at_epoch=me.rev_at_epoch,
        classification=me.classification,
        ephemeris_type=me.ephemeris_type,
        line1=me.line1,
        line2=me.line2,
    )
    session.add(es)
    return es


def add_state_element_set(
    session: Session,
    *,
    obj: SpaceObject,
    fmt: str,
    source: str,
    raw_text: str,
    epoch_utc: datetime,
    stop_utc: datetime | None,
    payload: dict,
    source_line: int | None = None,
    source_record: int | None = None,
) -> ElementSet | None:
    """Store an ephemeris / state element set (OEM segment, OPM, Horizons)."""
    digest = content_hash(fmt + "|" + (obj.provider_id or str(obj.norad_id)) + "|" + raw_text)
    if element_set_exists(session, digest):
        return None
    es = ElementSet(
        object_id=obj.id,
        format=fmt,
        source=source,
        source_line=source_line,
        source_record=source_record,
        raw_text=raw_text,
        content_hash=digest,
        epoch_utc=require_utc(epoch_utc),
        stop_utc=require_utc(stop_utc) if stop_utc else None,
        ingested_at=utcnow(),
        payload_json=json.dumps(payload),
    )
    session.add(es)
    return es


def current_element_sets(
    session: Session,
    at_utc: datetime | None = None,
    known_at_utc: datetime | None = None,
    object_ids: Iterable[int] | None = None,
) -> list[tuple[SpaceObject, ElementSet]]:
    """Per object, the element set to propagate at ``at_utc``.

    The newest set with epoch <= at (what was current then); for an object
    whose every set is later than ``at``, its earliest set.  ``known_at_utc``
    restricts to sets ingested by then (replay "as known at the time");
    ``object_ids`` to some objects (replay, one object's page).
    """
    q = select(ElementSet.object_id, ElementSet.id, ElementSet.epoch_utc)
    if object_ids is not None:
        q = q.where(ElementSet.object_id.in_(list(object_ids)))
    if known_at_utc is not None:
        q = q.where(ElementSet.ingested_at <= require_utc(known_at_utc))
    rows = session.execute(q).all()
    at = require_utc(at_utc) if at_utc is not None else None
    best: dict[int, tuple[datetime, int, bool]] = {}
    for object_id, es_id, epoch in rows:
        before = at is None or epoch <= at
        cur = best.get(object_id)
        if cur is None:
            best[object_id] = (epoch, es_id, before)
            continue
        cur_epoch, _, cur_before = cur
        if before and (not cur_before or epoch > cur_epoch):
            best[object_id] = (epoch, es_id, True)
        elif not before and not cur_before and epoch < cur_epoch:
            best[object_id] = (epoch, es_id, False)
    ids = [es_id for (_, es_id, _) in best.values()]
    out: list[tuple[SpaceObject, ElementSet]] = []
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for es, obj in session.execute(
            select(ElementSet, SpaceObject).join(SpaceObject, SpaceObject.id == ElementSet.object_id).where(ElementSet.id.in_(chunk))
        ).all():
            out.append((obj, es))
    out.sort(key=lambda p: (p[0].norad_id is None, p[0].norad_id or 0, p[0].id))
    return out


def previous_element_sets(session: Session, current: list[tuple[int, ElementSet]]) -> dict[int, ElementSet]:
    """Per object, the element set just before its current one (by epoch):
    what a manoeuvre check compares the current set with."""
    if not current:
        return {}
    cur = {oid: es for oid, es in current}
    rows = session.execute(
        select(ElementSet.object_id, ElementSet.id, ElementSet.epoch_utc).where(ElementSet.object_id.in_(list(cur)))
    ).all()
    best: dict[int, tuple[datetime, int]] = {}
    for oid, es_id, epoch in rows:
        if epoch < cur[oid].epoch_utc and (oid not in best or epoch > best[oid][0]):
            best[oid] = (epoch, es_id)
    if not best:
        return {}
    ids = [es_id for _, es_id in best.values()]
    sets = {es.id: es for es in session.scalars(select(ElementSet).where(ElementSet.id.in_(ids)))}
    return {oid: sets[es_id] for oid, (_, es_id) in best.items()}


def newest_element_epoch(session: Session) -> datetime | None:
    return session.scalar(select(func.max(ElementSet.epoch_utc)))


def record_rejections(session: Session, run_id: int | None, errors: Iterable[RecordError]) -> int:
    n = 0
    now = utcnow()
    for err in errors:
        session.add(
            IngestRejection(
                run_id=run_id,
                source=err.source or "",
                line=err.line,
                record=err.record,
                field=err.field,
                value=None if err.value is None else str(err.value)[:1000],
                expected=err.expected,
                message=str(err),
                created_at=now,
            )
        )
        n += 1
    return n


# ---------------------------------------------------------------- runs

def start_run(session: Session, kind: str, **fields) -> Run:
    run = Run(kind=kind, status="running", started_at=utcnow(), n_objects=0, n_states=0, n_errors=0, **fields)
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run: Run, status: str, error: str | None = None, details: dict | None = None) -> None:
    run.status = status
    run.finished_at = utcnow()
    run.error = error
    if details is not None:
        run.details_json = json.dumps(details, default=str)


def last_run(session: Session, kind: str = "cycle", status: str | None = None) -> Run | None:
    q = select(Run).where(Run.kind == kind)
    if status:
        q = q.where(Run.status == status)
    return session.scalar(q.order_by(Run.started_at.desc(), Run.id.desc()).limit(1))


# ---------------------------------------------------------------- states

STATE_COLUMNS = (
    "run_id", "object_id", "element_set_id", "epoch_utc", "frame",
    "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "propagator", "error_code",
)


def insert_states(
    conn: Connection,
    *,
    run_id: int,
    object_ids: Sequence[int],
    element_set_ids: Sequence[int | None],
    epochs_utc: Sequence[datetime],
    r_km: np.ndarray,
    v_km_s: np.ndarray,
    error_code: np.ndarray,
    frame: str,
    propagators: Sequence[str] | str,
) -> int:
    """Write ``n_objects x n_times`` states in bulk (one executemany, or COPY
    on PostgreSQL).  Rows with a non-zero error code store NULL positions.
    Returns the number of rows written."""
    n, m = error_code.shape
    if r_km.shape != (n, m, 3) or v_km_s.shape != (n, m, 3):
        raise ValueError(f"state arrays {r_km.shape}/{v_km_s.shape} do not match error codes {error_code.shape}")
    if len(object_ids) != n or len(element_set_ids) != n or len(epochs_utc) != m:
        raise ValueError("object ids, element-set ids and epochs must match the state array shape")
    if isinstance(propagators, str):
        propagators = [propagators] * n
    N = n * m
    if N == 0:
        return 0
    r = r_km.reshape(N, 3)
    v = v_km_s.reshape(N, 3)
    codes = error_code.reshape(N).astype(np.int64)
    cols = [r[:, 0].tolist(), r[:, 1].tolist(), r[:, 2].tolist(), v[:, 0].tolist(), v[:, 1].tolist(), v[:, 2].tolist()]
    bad = np.flatnonzero(codes != 0)
    for col in cols:
        for k in bad.tolist():
            col[k] = None
    obj_col = np.repeat(np.asarray(object_ids, dtype=np.int64), m).tolist()
    es_col = [e for e in element_set_ids for _ in range(m)]
    prop_col = [p for p in propagators for _ in range(m)]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        ep = [require_utc(t).strftime(SQLITE_DATETIME_FORMAT) for t in epochs_utc]
    else:
        ep = [require_utc(t) for t in epochs_utc]
    ep_col = ep * n
    codes_list = codes.tolist()
    rows = zip(repeat(run_id, N), obj_col, es_col, ep_col, repeat(frame, N), *cols, prop_col, codes_list)
    if dialect == "postgresql":
        # COPY in text format, built in blocks: psycopg's per-row writer
        # costs ~10 us a row in Python; joined text lines cost ~1 us.
        dbapi = conn.connection.dbapi_connection
        ep_text = [t.isoformat() for t in ep]
        es_text = [r"\N" if e is None else str(e) for e in element_set_ids]
        with dbapi.cursor() as cur:
            with cur.copy(f"COPY states ({', '.join(STATE_COLUMNS)}) FROM STDIN") as copy:
                for i in range(n):
                    head = f"{run_id}\t{int(object_ids[i])}\t{es_text[i]}\t"
                    tail = f"\t{propagators[i]}\t"
                    base = i * m
                    lines = [
                        f"{head}{ep_text[k]}\t{frame}\t{_pg(cols[0][base + k])}\t{_pg(cols[1][base + k])}\t"
                        f"{_pg(cols[2][base + k])}\t{_pg(cols[3][base + k])}\t{_pg(cols[4][base + k])}\t"
                        f"{_pg(cols[5][base + k])}{tail}{codes_list[base + k]}\n"
                        for k in range(m)
                    ]
                    copy.write("".join(lines))
        return N
    placeholders = ", ".join("?" for _ in STATE_COLUMNS)
    # The DB-API cursor of this same connection (same transaction) takes the
    # row iterator directly: no list of N tuples is built in between.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO states ({', '.join(STATE_COLUMNS)}) VALUES ({placeholders})", rows)
    finally:
        cursor.close()
    return N


def delete_states_before(session: Session, cutoff_utc: datetime) -> int:
    """Retention: drop states with epochs before the cutoff (uses ix_states_epoch)."""
    result = session.execute(State.__table__.delete().where(State.epoch_utc < require_utc(cutoff_utc)))
    return result.rowcount or 0


def _pg(x) -> str:
    """A float for PostgreSQL's COPY text format (NULL as \\N; repr round-trips)."""
    return r"\N" if x is None else repr(x)


def count_states(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(State)) or 0


def states_of_object(session: Session, object_id: int, start_utc: datetime, stop_utc: datetime) -> list[State]:
    return list(
        session.scalars(
            select(State)
            .where(State.object_id == object_id, State.epoch_utc >= require_utc(start_utc), State.epoch_utc <= require_utc(stop_utc))
            .order_by(State.epoch_utc, State.id)
        )
    )


def latest_states(session: Session, run_id: int, at_utc: datetime | None = None) -> list[tuple[State, SpaceObject]]:
    """States of one run at the epoch nearest ``at_utc`` (default: the first)."""
    epochs = select(State.epoch_utc).where(State.run_id == run_id)
    if at_utc is not None:
        epoch = session.scalar(epochs.where(State.epoch_utc <= require_utc(at_utc)).order_by(State.epoch_utc.desc()).limit(1))
    else:
        epoch = None
    if epoch is None:
        epoch = session.scalar(epochs.order_by(State.epoch_utc).limit(1))
    if epoch is None:
        return []
    return list(
        session.execute(
            select(State, SpaceObject).join(SpaceObject, SpaceObject.id == State.object_id).where(State.run_id == run_id, State.epoch_utc == epoch)
        ).tuples()
    )


# ---------------------------------------------------------------- service state

def get_service_value(session: Session, key: str) -> str | None:
    row = session.get(ServiceState, key)
    return row.value if row else None


def set_service_value(session: Session, key: str, value: str | None) -> None:
    row = session.get(ServiceState, key)
    if row is None:
        session.add(ServiceState(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
