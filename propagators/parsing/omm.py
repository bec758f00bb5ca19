"""CCSDS Orbit Mean-Elements Messages (OMM) and CelesTrak / Space-Track GP data.

Four encodings of the same keywords (CCSDS 502.0-B-3 section 4; CelesTrak
"GP data formats" documentation):

* KVN: ``KEY = value [unit]`` lines, one OMM per ``CCSDS_OMM_VERS`` header;
* XML: CCSDS NDM/XML, a bare ``<omm>`` or several inside ``<ndm>``, with or
  without namespaces;
* JSON: the CelesTrak GP array of objects (Space-Track's variant gives the
  numbers as strings);
* CSV: the CelesTrak GP CSV, header row of the same keywords.

Every element set goes through ``_elements_from_fields``, so the checks are
the same for all four and match the TLE parser's ranges.  A rejected record
is a ``RecordError`` naming the record (and line for KVN/CSV), the keyword,
the value and what was expected; the other records are still returned.
A text that cannot be read at all (broken XML/JSON) raises ``FormatError``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from propagators.elements import MeanElements, ParseResult
from propagators.errors import FormatError, RecordError
from propagators.parsing.tle import range_violation
from propagators.timeutil import parse_iso_utc

REQUIRED_KEYS = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "NORAD_CAT_ID",
    "BSTAR",
)
ACCEPTED_THEORIES = ("SGP4", "SGP/SGP4")

_RANGE_KEYS = {
    "eccentricity": "ECCENTRICITY",
    "inclination_deg": "INCLINATION",
    "raan_deg": "RA_OF_ASC_NODE",
    "arg_perigee_deg": "ARG_OF_PERICENTER",
    "mean_anomaly_deg": "MEAN_ANOMALY",
    "mean_motion_rev_day": "MEAN_MOTION",
}
# Metadata that must hold these values when present (SGP4 elements are
# Earth-centred TEME with UTC epochs).
_FIXED_METADATA = {"CENTER_NAME": ("EARTH",), "REF_FRAME": ("TEME",), "TIME_SYSTEM": ("UTC",)}

_DOY_RE = re.compile(r"^(\d{4})-(\d{3})T(\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)Z?$")


class _FieldError(Exception):
    def __init__(self, reason: str, field: str | None, value: object, expected: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.value = value
        self.expected = expected


def _text(value: object) -> str | None:
    """Field value as stripped text; None for absent/null/empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    text = str(value).strip()
    return text or None


def _float(fields: dict, key: str, default: float | None = None) -> float:
    raw = fields.get(key)
    text = _text(raw)
    if text is None:
        if default is not None:
            return default
        raise _FieldError(f"required keyword {key} is missing", key, None, f"a {key} value")
    if isinstance(raw, bool):
        value = math.nan
    else:
        try:
            value = float(raw) if isinstance(raw, (int, float)) else float(text)
        except ValueError:
            value = math.nan
    if not math.isfinite(value):
        raise _FieldError(f"{key} is not a finite number", key, raw, "a finite decimal number")
    return value


def _int(fields: dict, key: str, default: int | None = None) -> int:
    raw = fields.get(key)
    text = _text(raw)
    if text is None:
        if default is not None:
            return default
        raise _FieldError(f"required keyword {key} is missing", key, None, f"a {key} value")
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif re.fullmatch(r"[+-]?\d+", text):
        value = int(text)
    elif re.fullmatch(r"[+-]?\d+\.0*", text):
        value = int(float(text))
    else:
        raise _FieldError(f"{key} is not an integer", key, raw, "a whole number")
    if value < 0:
        raise _FieldError(f"{key} is negative", key, raw, "a non-negative whole number")
    return value


def parse_omm_epoch(text: str) -> datetime:
    """CCSDS epoch ``YYYY-MM-DDThh:mm:ss[.d]`` or ``YYYY-DDDThh:mm:ss[.d]`` (UTC)."""
    m = _DOY_RE.match(text.strip())
    if m:
        year, doy, hh, mm, ss = m.groups()
        base = datetime(int(year), 1, 1, tzinfo=timezone.utc)
        if not 1 <= int(doy) <= (base.replace(year=int(year) + 1) - base).days:
            raise ValueError(f"day of year {doy} out of range")
        micro = round(float(ss) * 1e6)
        return base + timedelta(days=int(doy) - 1, hours=int(hh), minutes=int(mm), microseconds=micro)
    return parse_iso_utc(text)


def _elements_from_fields(fields: dict, fmt: str) -> MeanElements:
    """Validate one OMM's keywords and build ``MeanElements``."""
    theory = _text(fields.get("MEAN_ELEMENT_THEORY"))
    if theory is not None and theory.upper() not in ACCEPTED_THEORIES:
        hint = " (SGP4-XP elements need the SGP4-XP propagator, not available here)" if "XP" in theory.upper() else ""
        raise _FieldError(
            f"mean element theory {theory} is not SGP4{hint}",
            "MEAN_ELEMENT_THEORY",
            theory,
            " or ".join(ACCEPTED_THEORIES),
        )
    for key, allowed in _FIXED_METADATA.items():
        value = _text(fields.get(key))
        if value is not None and value.upper() not in allowed:
            raise _FieldError(
                f"{key} {value} is not what SGP4 mean elements are given in",
                key,
                value,
                " or ".join(allowed),
            )
    for key in REQUIRED_KEYS:
        if _text(fields.get(key)) is None:
            raise _FieldError(f"required keyword {key} is missing", key, None, f"a {key} value")
    epoch_text = _text(fields["EPOCH"])
    try:
        epoch_utc = parse_omm_epoch(epoch_text)
    except ValueError:
        raise _FieldError(
            "EPOCH is not a CCSDS UTC time",
            "EPOCH",
            fields["EPOCH"],
            "YYYY-MM-DDThh:mm:ss[.ffffff] or YYYY-DDDThh:mm:ss[.ffffff] (UTC)",
        ) from None
    values = {key: _float(fields, omm_key) for key, omm_key in _RANGE_KEYS.items()}
    bad = range_violation(values)
    if bad is not None:
        key, value, expected = bad
        raise _FieldError(f"{_RANGE_KEYS[key]} out of range", _RANGE_KEYS[key], value, expected)
    ephemeris_type = _int(fields, "EPHEMERIS_TYPE", 0)
    if ephemeris_type == 4:
        raise _FieldError(
            "ephemeris type 4 is SGP4-XP, which plain SGP4 cannot propagate",
            "EPHEMERIS_TYPE",
            fields["EPHEMERIS_TYPE"],
            "0 (SGP4 mean elements)",
        )
    classification = _text(fields.get("CLASSIFICATION_TYPE")) or "U"
    extra = {"mean_element_theory": theory} if theory else {}
    return MeanElements(
        format=fmt,
        norad_id=_int(fields, "NORAD_CAT_ID"),
        epoch_utc=epoch_utc,
        mean_motion_rev_day=values["mean_motion_rev_day"],
        eccentricity=values["eccentricity"],
        inclination_deg=values["inclination_deg"],
        raan_deg=values["raan_deg"],
        arg_perigee_deg=values["arg_perigee_deg"],
        mean_anomaly_deg=values["mean_anomaly_deg"],
        bstar_per_earth_radius=_float(fields, "BSTAR"),
        mean_motion_dot_rev_day2=_float(fields, "MEAN_MOTION_DOT", 0.0),
        mean_motion_ddot_rev_day3=_float(fields, "MEAN_MOTION_DDOT", 0.0),
        name=_text(fields.get("OBJECT_NAME")),
        intl_designator=_text(fields.get("OBJECT_ID")),
        classification=classification,
        element_set_no=_int(fields, "ELEMENT_SET_NO", 0),
        rev_at_epoch=_int(fields, "REV_AT_EPOCH", 0),
        ephemeris_type=ephemeris_type,
        extra=extra,
    )


def _object_label(fields: dict) -> str | None:
    return _text(fields.get("NORAD_CAT_ID")) or _text(fields.get("OBJECT_NAME"))


def _build(
    result: ParseResult,
    fields: dict,
    fmt: str,
    *,
    source: str | None,
    record: int,
    line: int | None,
    raw_text: str,
    line_of: dict[str, int] | None = None,
) -> None:
    """Append the record or its rejection to ``result``."""
    try:
        me = _elements_from_fields(fields, fmt)
    except _FieldError as exc:
        err_line = line
        if line_of and exc.field in line_of:
            err_line = line_of[exc.field]
        result.rejections.append(
            RecordError(
                exc.reason,
                source=source,
                line=err_line,
                record=record,
                field=exc.field,
                value=exc.value,
                expected=exc.expected,
                object_id=_object_label(fields),
            )
        )
        return
    from dataclasses import replace

    result.records.append(replace(me, record=record, line=line, raw_text=raw_text))


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


# ----------------------------------------------------------------------------
# KVN

_KVN_RE = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*=\s*(.*?)\s*$")
_UNIT_RE = re.compile(r"\s*\[[^\]]*\]\s*$")


def parse_omm_kvn(text: str, source: str | None = None) -> ParseResult:
    """OMM in KVN; several messages in one text each start with CCSDS_OMM_VERS.

    ``record`` is the 1-based message index, ``line`` the line of its first
    keyword; a rejection's ``line`` is the line of the offending keyword (the
    message's first line when a keyword is missing).
    """
    result = ParseResult()
    blocks: list[list[tuple[int, str]]] = []
    for n, raw in enumerate(_strip_bom(text).splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("COMMENT"):
            if blocks:
                blocks[-1].append((n, raw))
            continue
        if stripped.startswith("CCSDS_OMM_VERS") or not blocks:
            blocks.append([])
        blocks[-1].append((n, raw))
    for index, block in enumerate(blocks, start=1):
        fields: dict[str, str] = {}
        line_of: dict[str, int] = {}
        content = [(n, raw) for n, raw in block if raw.strip() and not raw.strip().startswith("COMMENT")]
        first_line = content[0][0]
        while block and not block[-1][1].strip():
            block.pop()
        raw_text = "\n".join(raw for _, raw in block)
        problem = None
        for n, raw in content:
            m = _KVN_RE.match(raw)
            if not m:
                problem = ("line is not a KVN keyword = value pair", n, None, raw.strip(), "KEYWORD = value")
                break
            key, value = m.group(1), _UNIT_RE.sub("", m.group(2))
            if key in fields:
                problem = (
                    f"keyword {key} appears twice in one OMM",
                    n,
                    key,
                    value,
                    f"one {key} per message (first given on line {line_of[key]})",
                )
                break
            fields[key] = value
            line_of[key] = n
        if problem is not None:
            reason, n, field, value, expected = problem
            result.rejections.append(
                RecordError(
                    reason,
                    source=source,
                    line=n,
                    record=index,
                    field=field,
                    value=value,
                    expected=expected,
                    object_id=_object_label(fields),
                )
            )
            continue
        _build(
            result, fields, "omm-kvn", source=source, record=index, line=first_line, raw_text=raw_text, line_of=line_of
        )
    return result


# ----------------------------------------------------------------------------
# XML


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_omm_xml(text: str, source: str | None = None) -> ParseResult:
    """OMM in CCSDS NDM/XML: a bare ``<omm>``, or any number of ``<omm>``
    inside ``<ndm>``; namespaces are ignored.  ``record`` counts segments
    over the whole text (one per OMM in practice)."""
    try:
        root = ET.fromstring(_strip_bom(text).lstrip())
    except ET.ParseError as exc:
        line, column = exc.position
        raise FormatError(f"not well-formed XML (line {line}, column {column + 1}): {exc}", source=source) from None
    omms = [el for el in root.iter() if _local(el.tag) == "omm"]
    if not omms:
        raise FormatError(f"XML root <{_local(root.tag)}> holds no <omm> element", source=source)
    result = ParseResult()
    index = 0
    for omm in omms:
        for segment in (el for el in omm.iter() if _local(el.tag) == "segment"):
            index += 1
            fields: dict[str, str | None] = {}
            for part in segment.iter():
                if _local(part.tag) in ("metadata", "meanElements", "tleParameters"):
                    for child in part:
                        if len(child) == 0:
                            fields[_local(child.tag)] = child.text
            _build(
                result,
                fields,
                "omm-xml",
                source=source,
                record=index,
                line=None,
                raw_text=ET.tostring(omm, encoding="unicode"),
            )
    return result


# ----------------------------------------------------------------------------
# JSON and CSV (CelesTrak / Space-Track GP)


def parse_omm_json(text: str, source: str | None = None) -> ParseResult:
    """CelesTrak GP JSON: an array of objects keyed by OMM keywords (a single
    object is accepted too).  Numbers may be JSON numbers or strings."""
    try:
        data = json.loads(_strip_bom(text))
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", source=source) from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FormatError(f"JSON top level is {type(data).__name__}; expected an array of GP objects", source=source)
    result = ParseResult()
    for index, obj in enumerate(data, start=1):
        if not isinstance(obj, dict):
            result.rejections.append(
                RecordError(
                    "array item is not a JSON object",
                    source=source,
                    record=index,
                    value=json.dumps(obj)[:80],
                    expected="an object with OMM keywords (OBJECT_NAME, EPOCH, MEAN_MOTION, ...)",
                )
            )
            continue
        _build(result, obj, "omm-json", source=source, record=index, line=None, raw_text=json.dumps(obj))
    return result


def parse_omm_csv(text: str, source: str | None = None) -> ParseResult:
    """CelesTrak GP CSV: a header row of OMM keywords, one element set per row.
    ``line`` is the row's first physical line."""
    handle = io.StringIO(_strip_bom(text), newline="")
    reader = csv.DictReader(handle)
    if not reader.fieldnames:
        raise FormatError("CSV has no header row; expected OMM keywords such as EPOCH,MEAN_MOTION", source=source)
    header = [h.strip() for h in reader.fieldnames]
    reader.fieldnames = header
    result = ParseResult()
    lines = text.splitlines()
    previous_line = reader.line_num
    for index, row in enumerate(reader, start=1):
        start_line = previous_line + 1
        while start_line < reader.line_num and not lines[start_line - 1].strip():
            start_line += 1  # DictReader skips blank rows
        previous_line = reader.line_num
        raw_text = "\n".join(lines[start_line - 1 : reader.line_num])
        if None in row:
            result.rejections.append(
                RecordError(
                    "row has more values than the header has columns",
                    source=source,
                    line=start_line,
                    record=index,
                    value=len(header) + len(row[None]),
                    expected=f"{len(header)} values",
                    object_id=_object_label(row),
                )
            )
            continue
        _build(result, row, "omm-csv", source=source, record=index, line=start_line, raw_text=raw_text)
    return result
