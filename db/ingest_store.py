"""Storing parsed element sets: one implementation for every way data
arrives (``cislunar ingest``, the service's inbox and sources, dashboard
uploads).  Runs inside the caller's transaction.  Each function returns
whether it stored something new (False: the same data was already there)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db import queries
from db.models import SpaceObject
from propagators.elements import MeanElements
from propagators.regime import classify_mean_elements, classify_state, propagator_for


def regime_of_state(epoch, r_gcrs_km, v_gcrs_km_s) -> str:
    """Regime of a geocentric GCRS state (the Moon from DE421 at ``epoch``)."""
    from propagators.frames_cislunar import moon_state_gcrs

    rm, vm = moon_state_gcrs(epoch)
    return classify_state(r_gcrs_km, v_gcrs_km_s, rm, vm)


def store_mean_elements(session: Session, me: MeanElements, source: str) -> tuple[bool, str | None]:
    """(stored new?, warning) for one SGP4 element set; the object's regime
    and propagator choice are updated from it."""
    es = queries.add_mean_elements(session, me, source)
    if es is None:
        return False, None
    obj = session.get(SpaceObject, es.object_id)
    regime = classify_mean_elements(me)
    prop, reason = propagator_for(regime, "mean-elements")
    obj.regime, obj.propagator, obj.propagator_reason = regime, prop, reason
    warning = None
    if reason.startswith("WARNING"):
        warning = f"{source}: object {me.norad_id} ({me.name or '?'}): {reason}"
    return True, warning


def store_state_set(
    session: Session,
    *,
    provider_id: str,
    name: str,
    fmt: str,
    source: str,
    raw_text: str,
    start_utc: datetime,
    stop_utc: datetime | None,
    payload: dict,
    line: int | None,
    regime: str,
    kind: str,
) -> bool:
    """An ephemeris (``kind="ephemeris"``: OEM segment, Horizons table) or a
    state (``kind="state"``: OPM), stored with its raw text, which
    ``propagators.state_objects`` re-parses when the object is propagated."""
    obj, _ = queries.get_or_create_object(session, provider_id=provider_id, name=name)
    es = queries.add_state_element_set(
        session, obj=obj, fmt=fmt, source=source, raw_text=raw_text, epoch_utc=start_utc, stop_utc=stop_utc,
        payload=payload, source_line=line,
    )
    if es is None:
        return False
    prop, reason = propagator_for(regime, kind)
    obj.regime, obj.propagator, obj.propagator_reason = regime, prop, reason
    return True


def store_oem_segment(session: Session, *, segment, index: int, first_state, oem_format: str, source: str,
                      raw_text: str) -> bool:
    """One OEM segment (``first_state``: its ``EphemerisObject.first_state()``)."""
    from propagators.timeutil import datetimes_utc

    md = segment.metadata
    epochs = datetimes_utc(segment.epochs)
    return store_state_set(
        session, provider_id=md.object_id or md.object_name, name=md.object_name, fmt=f"oem-{oem_format}",
        source=source, raw_text=raw_text, start_utc=epochs[0], stop_utc=epochs[-1],
        payload={"segment": index, "center": md.center_name, "frame": md.ref_frame},
        line=int(segment.lines[0]) if segment.lines is not None and len(segment.lines) else None,
        regime=regime_of_state(first_state.epoch, first_state.r_gcrs_km, first_state.v_gcrs_km_s),
        kind="ephemeris",
    )
