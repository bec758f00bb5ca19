"""Exceptions raised at the core's boundaries (parsers, public entry points).

Hot paths never raise per object: they return status codes and NaN rows.
Every exception here carries what a person needs to find and fix the input:
the source (file), the line or record, the field, the value received and
what was expected.  They are also attributes, so callers can build reports.
"""

from __future__ import annotations


class CislunarError(Exception):
    """Base of every error the core raises on purpose."""


class RecordError(CislunarError, ValueError):
    """One input record (a TLE, an OMM, an OEM data line...) was rejected.

    ``line`` is the 1-based line number in the file where the record starts
    (or the record index for record-structured formats such as JSON/CSV,
    then ``line`` is None and ``record`` is set).
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
        object_id: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.record = record
        self.field = field
        self.value = value
        self.expected = expected
        self.object_id = object_id
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        head = ", ".join(where)
        parts = [f"{head}: " if head else ""]
        if self.object_id:
            parts.append(f"object {self.object_id}: ")
        parts.append(self.reason)
        if self.field is not None:
            parts.append(f"; field {self.field}")
        if self.value is not None:
            parts.append(f" = {self.value!r}")
        if self.expected:
            parts.append(f"; expected {self.expected}")
        return "".join(parts)

    def as_dict(self) -> dict:
        """JSON-friendly form used in ingest reports."""
        return {
            "source": self.source,
            "line": self.line,
            "record": self.record,
            "object": self.object_id,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
            "expected": self.expected,
            "message": str(self),
        }

    def located(self, source: str) -> "RecordError":
        """A copy of this error with ``source`` filled in (parsers of text
        do not know the file name; the caller adds it)."""
        return RecordError(
            self.reason,
            source=source,
            line=self.line,
            record=self.record,
            field=self.field,
            value=self.value,
            expected=self.expected,
            object_id=self.object_id,
        )


class FormatError(CislunarError, ValueError):
    """A whole input could not be read as any supported format."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class NaiveDatetimeError(CislunarError, ValueError):
    """A datetime without a timezone was given where UTC is required."""

    def __init__(self, value) -> None:
        self.value = value
        super().__init__(
            f"naive datetime {value!r} is ambiguous: this project only accepts "
            "timezone-aware UTC datetimes. Build it with "
            "datetime(..., tzinfo=timezone.utc) or call "
            "value.replace(tzinfo=timezone.utc) if it already is UTC."
        )


class EphemerisRangeError(CislunarError, ValueError):
    """An epoch lies outside the span an ephemeris covers."""

    def __init__(self, message: str, *, start_jd: float, end_jd: float, jd: float) -> None:
        self.start_jd = start_jd
        self.end_jd = end_jd
        self.jd = jd
        super().__init__(message)


class ConfigError(CislunarError, ValueError):
    """A configuration key holds a value of the wrong form."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"configuration key {key!r} = {value!r}: expected {expected}")
