"""Ingest files into the database: file I/O around the core's parsers.

One transaction per file: a crash never leaves half a file.  A bad record is
reported (file, line or record, field, value, expected) and the rest of the
file is stored.  Re-ingesting the same data adds nothing (content hashes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy.orm import Session, sessionmaker

from db import ingest_store, queries
from propagators.elements import MeanElements
from propagators.errors import FormatError, RecordError

log = logging.getLogger(__name__)

ELEMENT_SUFFIXES = {".txt", ".tle", ".3le", ".2le", ".json", ".csv", ".xml", ".kvn", ".omm", ".oem", ".opm", ".cdm"}


@dataclass
class FileReport:
    path: str
    format: str | None = None
    records: int = 0
    new: int = 0
    duplicates: int = 0
    rejections: list[RecordError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the file could not be read at all

    def tally(self, new: bool) -> None:
        """Count one stored record: new, or already in the database."""
        if new:
            self.new += 1
        else:
            self.duplicates += 1

    @property
    def status(self) -> str:
        if self.error:
            return "unreadable"
        return "partial" if self.rejections else "ok"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "status": self.status,
            "records": self.records,
            "new": self.new,
            "duplicates": self.duplicates,
            "rejected": len(self.rejections),
            "rejections": [r.as_dict() for r in self.rejections],
            "warnings": self.warnings,
            "error": self.error,
        }


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[FileReport]]:
    """Files to ingest (folders walked, sorted); reports for missing paths."""
    files: list[Path] = []
    missing: list[FileReport] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in ELEMENT_SUFFIXES:
                    files.append(f)
        elif p.is_file():
            files.append(p)
        else:
            missing.append(FileReport(path=str(p), error=f"{p}: no such file or directory"))
    return files, missing


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Element-set formats are ASCII; keep going so the parser can name
        # the offending line instead of refusing the whole file.
        return data.decode("latin-1")


def store_mean_elements(session: Session, records: list[MeanElements], source: str, report: FileReport) -> None:
    for me in records:
        new, warning = ingest_store.store_mean_elements(session, me, source)
        report.tally(new)
        if warning:
            report.warnings.append(warning)


# Parsers for state/ephemeris formats register here (see monitor/ingest_states.py).
STATE_HANDLERS: dict[str, Callable[[Session, str, str, FileReport], None]] = {}


def ingest_text(session: Session, text: str, source: str, hint: str | None = None) -> FileReport:
    """Parse and store one file's text inside the caller's transaction."""
    import monitor.ingest_states  # noqa: F401  (registers OEM/OPM/Horizons handlers)
    from propagators.parsing.detect import parse_element_text, sniff_format

    report = FileReport(path=source)
    try:
        fmt = sniff_format(text, hint, source=source)
    except FormatError as exc:
        report.error = str(exc)
        return report
    report.format = fmt
    if fmt in STATE_HANDLERS:
        STATE_HANDLERS[fmt](session, text, source, report)
        return report
    try:
        result = parse_element_text(text, source=source, hint=hint)
    except FormatError as exc:
        report.error = str(exc)
        return report
    report.records = len(result.records) + len(result.rejections)
    report.rejections.extend(result.rejections)
    report.warnings.extend(result.warnings)
    store_mean_elements(session, result.records, source, report)
    return report


def ingest_file(Session: sessionmaker, path: Path, run_id: int | None = None) -> FileReport:
    """One file, one transaction."""
    source = str(path)
    try:
        text = _read_text(path)
    except OSError as exc:
        return FileReport(path=source, error=f"{source}: cannot read: {exc.strerror or exc}")
    with Session.begin() as session:
        report = ingest_text(session, text, source, hint=path.name)
        if report.rejections:
            queries.record_rejections(session, run_id, report.rejections)
    log.info(
        "ingested %s: format=%s records=%d new=%d duplicates=%d rejected=%d",
        source, report.format, report.records, report.new, report.duplicates, len(report.rejections),
    )
    return report


def ingest_paths(Session: sessionmaker, paths: Iterable[str | Path], progress=None) -> list[FileReport]:
    """Ingest files and folders; records the work as an ``ingest`` run."""
    files, reports = expand_paths(paths)
    with Session.begin() as session:
        run = queries.start_run(session, "ingest")
        run_id = run.id
    for f in files:
        reports.append(ingest_file(Session, f, run_id))
        if progress is not None:
            progress(f)
    with Session.begin() as session:
        run = session.get(queries.Run, run_id)
        run.n_objects = sum(r.new for r in reports)
        run.n_errors = sum(len(r.rejections) for r in reports) + sum(1 for r in reports if r.error)
        status = "ok" if run.n_errors == 0 else ("failed" if all(r.error for r in reports) else "partial")
        queries.finish_run(session, run, status, details={"files": len(reports)})
    return reports
