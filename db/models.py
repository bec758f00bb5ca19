"""Typed models. Column names carry units; datetimes are aware UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class SpaceObject(Base):
    """A tracked object: a catalogue number, or an id from an ephemeris provider."""

    __tablename__ = "objects"

    id: Mapped[int] = mapped_column(primary_key=True)
    norad_id: Mapped[Optional[int]] = mapped_column(Integer, unique=True)
    # For objects without a catalogue number (OEM OBJECT_ID, Horizons id).
    provider_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    intl_designator: Mapped[Optional[str]] = mapped_column(String(16))
    name: Mapped[Optional[str]] = mapped_column(String(128), index=True)
    owner: Mapped[Optional[str]] = mapped_column(String(64))
    kind: Mapped[Optional[str]] = mapped_column(String(32))  # payload, rocket body, debris...
    regime: Mapped[Optional[str]] = mapped_column(String(16), index=True)
    propagator: Mapped[Optional[str]] = mapped_column(String(32))
    propagator_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    element_sets: Mapped[list["ElementSet"]] = relationship(back_populates="object")

    @property
    def label(self) -> str:
        ident = str(self.norad_id) if self.norad_id is not None else (self.provider_id or f"#{self.id}")
        return f"{ident} {self.name}" if self.name else ident


class ElementSet(Base):
    """One element set or ephemeris as received, with its provenance."""

    __tablename__ = "element_sets"
    __table_args__ = (Index("ix_element_sets_object_epoch", "object_id", "epoch_utc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(24))  # tle, omm-json, oem-kvn...
    source: Mapped[str] = mapped_column(Text)  # file path or URL
    source_line: Mapped[Optional[int]] = mapped_column(Integer)
    source_record: Mapped[Optional[int]] = mapped_column(Integer)
    raw_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    epoch_utc: Mapped[datetime]
    ingested_at: Mapped[datetime]
    # Mean elements (SGP4 sets); NULL for state/ephemeris sets.
    mean_motion_rev_day: Mapped[Optional[float]] = mapped_column(Float)
    eccentricity: Mapped[Optional[float]] = mapped_column(Float)
    inclination_deg: Mapped[Optional[float]] = mapped_column(Float)
    raan_deg: Mapped[Optional[float]] = mapped_column(Float)
    arg_perigee_deg: Mapped[Optional[float]] = mapped_column(Float)
    mean_anomaly_deg: Mapped[Optional[float]] = mapped_column(Float)
    bstar_per_earth_radius: Mapped[Optional[float]] = mapped_column(Float)
    mean_motion_dot_rev_day2: Mapped[Optional[float]] = mapped_column(Float)
    mean_motion_ddot_rev_day3: Mapped[Optional[float]] = mapped_column(Float)
    element_set_no: Mapped[Optional[int]] = mapped_column(Integer)
    rev_at_epoch: Mapped[Optional[int]] = mapped_column(Integer)
    classification: Mapped[Optional[str]] = mapped_column(String(1))
    ephemeris_type: Mapped[Optional[int]] = mapped_column(Integer)
    line1: Mapped[Optional[str]] = mapped_column(String(80))
    line2: Mapped[Optional[str]] = mapped_column(String(80))
    # Ephemerides and states (OEM/OPM/Horizons): span covered, JSON payload.
    stop_utc: Mapped[Optional[datetime]]
    payload_json: Mapped[Optional[str]] = mapped_column(Text)

    object: Mapped[SpaceObject] = relationship(back_populates="element_sets")


class Run(Base):
    """One unit of service work: an ingest, a propagation cycle, a catch-up."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)  # cycle, ingest
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, ok, partial, failed
    window_start_utc: Mapped[Optional[datetime]]
    window_stop_utc: Mapped[Optional[datetime]]
    step_s: Mapped[Optional[float]] = mapped_column(Float)
    started_at: Mapped[datetime]
    finished_at: Mapped[Optional[datetime]]
    n_objects: Mapped[int] = mapped_column(Integer, default=0)
    n_states: Mapped[int] = mapped_column(BigInteger, default=0)
    n_errors: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    details_json: Mapped[Optional[str]] = mapped_column(Text)


class State(Base):
    """One propagated state. Written in bulk by ``db.queries.insert_states``."""

    __tablename__ = "states"
    __table_args__ = (
        Index("ix_states_object_epoch", "object_id", "epoch_utc"),
        Index("ix_states_epoch", "epoch_utc"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    element_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("element_sets.id", ondelete="SET NULL"))
    epoch_utc: Mapped[datetime]
    frame: Mapped[str] = mapped_column(String(8))
    x_km: Mapped[Optional[float]] = mapped_column(Float)
    y_km: Mapped[Optional[float]] = mapped_column(Float)
    z_km: Mapped[Optional[float]] = mapped_column(Float)
    vx_km_s: Mapped[Optional[float]] = mapped_column(Float)
    vy_km_s: Mapped[Optional[float]] = mapped_column(Float)
    vz_km_s: Mapped[Optional[float]] = mapped_column(Float)
    propagator: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[Optional[int]] = mapped_column(Integer)


class IngestRejection(Base):
    """A record refused at ingest, kept so the operator can see and fix it."""

    __tablename__ = "ingest_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    line: Mapped[Optional[int]] = mapped_column(Integer)
    record: Mapped[Optional[int]] = mapped_column(Integer)
    field: Mapped[Optional[str]] = mapped_column(String(64))
    value: Mapped[Optional[str]] = mapped_column(Text)
    expected: Mapped[Optional[str]] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ServiceState(Base):
    """Small key/value facts the service keeps: watermarks, heartbeats."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[datetime]


# ------------------------------------------------------------------ screening

class Event(Base):
    """One situation found by screening (a conjunction, a region entry...).

    The same encounter seen in successive cycles is one event (same
    ``fingerprint``) with a history of ``EventUpdate`` rows: TCA, miss and Pc
    as each cycle saw them, with the element sets and run that produced them.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_kind_start", "kind", "start_utc"),
        Index("ix_events_object", "object_id"),
        Index("ix_events_other", "other_object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # conjunction, region_entry, region_approach, proximity, manoeuvre
    fingerprint: Mapped[str] = mapped_column(String(128), unique=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    other_object_id: Mapped[Optional[int]] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    region: Mapped[Optional[str]] = mapped_column(String(16))
    tca_utc: Mapped[Optional[datetime]]
    start_utc: Mapped[Optional[datetime]]
    end_utc: Mapped[Optional[datetime]]
    miss_km: Mapped[Optional[float]] = mapped_column(Float)
    relative_speed_km_s: Mapped[Optional[float]] = mapped_column(Float)
    penetration_km: Mapped[Optional[float]] = mapped_column(Float)
    pc: Mapped[Optional[float]] = mapped_column(Float)
    pc_method: Mapped[Optional[str]] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, gone
    element_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("element_sets.id", ondelete="SET NULL"))
    other_element_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("element_sets.id", ondelete="SET NULL"))
    propagator: Mapped[Optional[str]] = mapped_column(String(32))
    first_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    last_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    details_json: Mapped[Optional[str]] = mapped_column(Text)

    updates: Mapped[list["EventUpdate"]] = relationship(back_populates="event", order_by="EventUpdate.id")


class EventUpdate(Base):
    """How one cycle saw an event: the inputs and the numbers."""

    __tablename__ = "event_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    seen_at: Mapped[datetime]
    tca_utc: Mapped[Optional[datetime]]
    start_utc: Mapped[Optional[datetime]]
    end_utc: Mapped[Optional[datetime]]
    miss_km: Mapped[Optional[float]] = mapped_column(Float)
    relative_speed_km_s: Mapped[Optional[float]] = mapped_column(Float)
    penetration_km: Mapped[Optional[float]] = mapped_column(Float)
    pc: Mapped[Optional[float]] = mapped_column(Float)
    pc_method: Mapped[Optional[str]] = mapped_column(String(16))
    element_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("element_sets.id", ondelete="SET NULL"))
    other_element_set_id: Mapped[Optional[int]] = mapped_column(ForeignKey("element_sets.id", ondelete="SET NULL"))
    propagator: Mapped[Optional[str]] = mapped_column(String(32))
    details_json: Mapped[Optional[str]] = mapped_column(Text)

    event: Mapped[Event] = relationship(back_populates="updates")


# ------------------------------------------------------------------ alerts

class Alert(Base):
    """An operator-facing situation with a lifecycle: open -> acknowledged -> resolved."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state_severity", "state", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(160), unique=True)
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    rule: Mapped[Optional[str]] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))  # info, warning, critical
    state: Mapped[str] = mapped_column(String(14))  # open, acknowledged, resolved
    title: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_by: Mapped[Optional[str]] = mapped_column(String(128))
    acknowledged_at: Mapped[Optional[datetime]]
    ack_note: Mapped[Optional[str]] = mapped_column(Text)
    resolved_by: Mapped[Optional[str]] = mapped_column(String(128))
    resolved_at: Mapped[Optional[datetime]]
    resolve_note: Mapped[Optional[str]] = mapped_column(Text)
    last_notified_at: Mapped[Optional[datetime]]
    last_notified_severity: Mapped[Optional[str]] = mapped_column(String(10))
    last_notified_miss_km: Mapped[Optional[float]] = mapped_column(Float)
    last_notified_pc: Mapped[Optional[float]] = mapped_column(Float)
    notify_count: Mapped[int] = mapped_column(Integer, default=0)
    thread_message_id: Mapped[Optional[str]] = mapped_column(String(255))
    details_json: Mapped[Optional[str]] = mapped_column(Text)


class AlertAction(Base):
    """Audit trail: who did what to an alert, when."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(24))  # opened, notified, acknowledged, silenced, resolved, reopened
    actor: Mapped[Optional[str]] = mapped_column(String(128))
    note: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[datetime]


class Silence(Base):
    """Suppress notifications for matching alerts until ``expires_at``."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[Optional[str]] = mapped_column(String(160), index=True)
    object_norad_id: Mapped[Optional[int]] = mapped_column(Integer)
    kind: Mapped[Optional[str]] = mapped_column(String(24))
    region: Mapped[Optional[str]] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class OutboxMessage(Base):
    """Transactional outbox: written in the same transaction as the alert change."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[Optional[int]] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[Optional[str]] = mapped_column(String(255))
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[Optional[str]] = mapped_column(Text)
    attachment_png: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))  # pending, sending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]


class SourceStatus(Base):
    """Per data source (CelesTrak, Space-Track, inbox): health and HTTP cache."""

    __tablename__ = "source_status"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_attempt_at: Mapped[Optional[datetime]]
    last_success_at: Mapped[Optional[datetime]]
    last_error_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    etag: Mapped[Optional[str]] = mapped_column(String(255))
    last_modified: Mapped[Optional[str]] = mapped_column(String(64))
    newest_epoch_utc: Mapped[Optional[datetime]]
    records_last: Mapped[Optional[int]] = mapped_column(Integer)
