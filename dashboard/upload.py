"""Uploaded element-set files: validate, report, store. No Streamlit here.

The validation report is the CLI's (``cislunar ingest``): per file its
format, record count, and every rejected record with line (or record
index), field, value received and what was expected; parse warnings too.
Element sets (TLE, OMM in KVN/XML/JSON/CSV) are parsed with
``propagators.parsing.detect.parse_element_text`` and stored with
``db.queries.add_mean_elements``; OEM ephemerides with
``propagators.parsing.oem.parse_oem`` and ``db.queries.add_state_element_set``,
one element set per segment, exactly as the service's ingest stores them
(raw text of the file, payload ``{"segment", "center", "frame"}``), so the
propagator re-reads them the same way.  ``store_uploads`` writes all the
accepted records of the files in one transaction owned by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from db import queries
from propagators.errors import FormatError, RecordError
from propagators.regime import classify_mean_elements, classify_state, propagator_for

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
OEM_FORMATS = ("oem-kvn", "oem-xml")


@dataclass
class UploadReport:
    """One uploaded file: what was read, what was rejected, what was stored."""

    name: str
    format: str | None = None
    records: list = field(default_factory=list)  # MeanElements, or (segment index, OemSegment)
    rejections: list[RecordError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    text: str = ""
    oem_format: str | None = None
    new: int = 0
    duplicates: int = 0
    stored: bool = False

    @property
    def n_records(self) -> int:
        return len(self.records) + len(self.rejections)

    @property
    def status(self) -> str:
        if self.error:
            return "unreadable"
        return "partial" if self.rejections else "ok"

    def summary_line(self) -> str:
        """The line ``cislunar ingest`` prints for a file."""
        if self.error:
            return f"{self.name}: UNREADABLE: {self.error}"
        text = f"{self.name}: {self.format}: {self.n_records} records"
        if self.stored:
            text += f", {self.new} new, {self.duplicates} already stored"
        return text + f", {len(self.rejections)} rejected"

    def rejection_rows(self) -> list[dict]:
        return [
            {
                "line": e.line, "record": e.record, "object": e.object_id, "field": e.field,
                "value": None if e.value is None else str(e.value), "expected": e.expected, "reason": e.reason,
                "message": str(e),
            }
            for e in self.rejections
        ]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Element-set formats are ASCII: keep going so the parser names the bad line.
        return data.decode("latin-1")


def parse_upload(name: str, data: bytes) -> UploadReport:
    """Validate one uploaded file (nothing is stored)."""
    from propagators.parsing.detect import parse_element_text, sniff_format

    report = UploadReport(name=name)
    if len(data) > MAX_UPLOAD_BYTES:
        report.error = f"{len(data):,} bytes: files up to {MAX_UPLOAD_BYTES:,} bytes are accepted here; use `cislunar ingest`"
        return report
    text = _decode(data)
    report.text = text
    try:
        fmt = sniff_format(text, name, source=name)
    except FormatError as exc:
        report.error = str(exc)
        return report
    report.format = fmt
    if fmt in OEM_FORMATS:
        _parse_oem(report, text)
        return report
    try:
        result = parse_element_text(text, source=name, hint=name)
    except FormatError as exc:
        report.error = str(exc)
        return report
    report.records = list(result.records)
    report.rejections = list(result.rejections)
    report.warnings = list(result.warnings)
    return report


def _parse_oem(report: UploadReport, text: str) -> None:
    from propagators.ephemeris_objects import EphemerisObject
    from propagators.parsing.oem import parse_oem

    try:
        oem = parse_oem(text, source=report.name)
    except FormatError as exc:
        report.error = str(exc)
        return
    report.oem_format = oem.format
    report.rejections.extend(oem.rejections)
    report.warnings.extend(oem.warnings)
    for k, seg in enumerate(oem.segments):
        try:
            table = EphemerisObject.from_oem_segment(seg, source=report.name)
            first = table.first_state()
        except RecordError as exc:
            report.rejections.append(exc.located(report.name) if exc.source is None else exc)
            continue
        report.records.append((k, seg, first))


def _oem_regime(first) -> str:
    from propagators.frames_cislunar import moon_state_gcrs

    rm, vm = moon_state_gcrs(first.epoch)
    return classify_state(first.r_gcrs_km, first.v_gcrs_km_s, rm, vm)


def store_uploads(session: Session, reports: list[UploadReport], source_prefix: str = "upload:") -> None:
    """Store the accepted records of every report, inside the caller's
    transaction (``with Session.begin():``): all files or none."""
    from propagators.timeutil import datetimes_utc

    for report in reports:
        if report.error:
            continue
        source = f"{source_prefix}{report.name}"
        report.new = report.duplicates = 0
        if report.format in OEM_FORMATS:
            for k, seg, first in report.records:
                md = seg.metadata
                regime = _oem_regime(first)
                obj, _ = queries.get_or_create_object(session, provider_id=md.object_id or md.object_name, name=md.object_name)
                epochs = datetimes_utc(seg.epochs)
                es = queries.add_state_element_set(
                    session, obj=obj, fmt=f"oem-{report.oem_format}", source=source, raw_text=report.text,
                    epoch_utc=epochs[0], stop_utc=epochs[-1],
                    payload={"segment": k, "center": md.center_name, "frame": md.ref_frame},
                    source_line=int(seg.lines[0]) if seg.lines is not None and len(seg.lines) else None,
                )
                if es is None:
                    report.duplicates += 1
                    continue
                report.new += 1
                prop, reason = propagator_for(regime, "ephemeris")
                obj.regime, obj.propagator, obj.propagator_reason = regime, prop, reason
        else:
            for me in report.records:
                es = queries.add_mean_elements(session, me, source)
                if es is None:
                    report.duplicates += 1
                    continue
                report.new += 1
                obj = session.get(queries.SpaceObject, es.object_id)
                regime = classify_mean_elements(me)
                prop, reason = propagator_for(regime, "mean-elements")
                obj.regime, obj.propagator, obj.propagator_reason = regime, prop, reason
                if reason.startswith("WARNING"):
                    report.warnings.append(f"{source}: object {me.norad_id} ({me.name or '?'}): {reason}")
        report.stored = True
