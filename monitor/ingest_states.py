"""Ingest of state and ephemeris formats: CCSDS OEM (one element set per
segment), OPM, and JPL Horizons vector tables.  Registered with
``monitor.ingest.STATE_HANDLERS``; stored as element sets whose raw text is
re-parsed by ``propagators.state_objects`` when the object is propagated."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from db import ingest_store
from monitor.ingest import STATE_HANDLERS, FileReport
from propagators.errors import FormatError, RecordError
from propagators.ephemeris_objects import EphemerisObject
from propagators.timeutil import datetimes_utc


def _store(session: Session, report: FileReport, **kwargs) -> None:
    report.records += 1
    report.tally(ingest_store.store_state_set(session, **kwargs))


def ingest_oem(session: Session, text: str, source: str, report: FileReport) -> None:
    from propagators.parsing.oem import parse_oem

    try:
        oem = parse_oem(text, source=source)
    except FormatError as exc:
        report.error = str(exc)
        return
    report.rejections.extend(oem.rejections)
    report.warnings.extend(oem.warnings)
    for k, seg in enumerate(oem.segments):
        try:
            first = EphemerisObject.from_oem_segment(seg, source=source).first_state()
        except RecordError as exc:
            report.rejections.append(exc.located(source) if exc.source is None else exc)
            continue
        report.records += 1
        report.tally(ingest_store.store_oem_segment(session, segment=seg, index=k, first_state=first,
                                                    oem_format=oem.format, source=source, raw_text=text))


def ingest_horizons(session: Session, text: str, source: str, report: FileReport) -> None:
    from propagators.parsing.horizons import parse_horizons

    try:
        table = parse_horizons(text, source=source)
    except FormatError as exc:
        report.error = str(exc)
        return
    report.rejections.extend(table.rejections)
    report.warnings.extend(table.warnings)
    name = table.target or Path(source).stem
    try:
        eph = EphemerisObject.from_horizons(table)
        first = eph.first_state()
        regime = ingest_store.regime_of_state(first.epoch, first.r_gcrs_km, first.v_gcrs_km_s)
    except RecordError as exc:
        report.rejections.append(exc)
        return
    epochs = datetimes_utc(table.epochs)
    _store(
        session, report, provider_id=f"horizons:{name}", name=name, fmt="horizons-csv", source=source,
        raw_text=text, start_utc=epochs[0], stop_utc=epochs[-1], payload={"center": table.center},
        line=None, regime=regime, kind="ephemeris",
    )


def ingest_opm(session: Session, text: str, source: str, report: FileReport) -> None:
    from propagators.parsing.opm import parse_opm

    try:
        opm = parse_opm(text, source=source)
    except (FormatError, RecordError) as exc:
        if isinstance(exc, RecordError):
            report.rejections.append(exc)
        else:
            report.error = str(exc)
        return
    report.rejections.extend(opm.rejections)
    report.warnings.extend(opm.warnings)
    r, v = opm.state_gcrs()
    regime = ingest_store.regime_of_state(opm.epoch, r, v)
    epoch = datetimes_utc(opm.epoch)[0]
    _store(
        session, report, provider_id=opm.object_id or opm.object_name, name=opm.object_name,
        fmt=f"opm-{opm.format}", source=source, raw_text=text, start_utc=epoch, stop_utc=None,
        payload={"center": opm.center_name, "frame": opm.ref_frame, "maneuvers": len(opm.maneuvers)},
        line=opm.line, regime=regime, kind="state",
    )


for _fmt in ("oem-kvn", "oem-xml"):
    STATE_HANDLERS[_fmt] = ingest_oem
for _fmt in ("opm-kvn", "opm-xml"):
    STATE_HANDLERS[_fmt] = ingest_opm
STATE_HANDLERS["horizons-csv"] = ingest_horizons
