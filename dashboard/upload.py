"""Uploaded element-set files: validate, report, store. No Streamlit here.

The validation report is the CLI's (``cislunar ingest``): per file its
format, record count, and every rejected record with line (or record
index), field, value received and what was expected; parse warnings too.
Element sets (TLE, OMM in KVN/XML/JSON/CSV) are parsed with
``propagators.parsing.detect.parse_element_text`` and OEM ephemerides
with ``propagators.parsing.oem.parse_oem``, and stored through
``db.ingest_store``, exactly as the service's ingest stores them.  ``store_uploads`` writes all the
accepted records of the files in one transaction owned by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from db import ingest_store
from propagators.errors import FormatError, RecordError

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


def store_uploads(session: Session, reports: list[UploadReport], source_prefix: str = "upload:") -> None:
    """Store the accepted records of every report, inside the caller's
    transaction (``with Session.begin():``): all files or none.  Storage is
    ``db.ingest_store``, the same as the service's ingest."""
    for report in reports:
        if report.error:
            continue
        source = f"{source_prefix}{report.name}"
        report.new = report.duplicates = 0
        for rec in report.records:
            if report.format in OEM_FORMATS:
                k, seg, first = rec
                new = ingest_store.store_oem_segment(session, segment=seg, index=k, first_state=first,
                                                     oem_format=report.oem_format, source=source, raw_text=report.text)
            else:
                new, warning = ingest_store.store_mean_elements(session, rec, source)
                if warning:
                    report.warnings.append(warning)
            if new:
                report.new += 1
            else:
                report.duplicates += 1
        report.stored = True
