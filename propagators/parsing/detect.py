"""Which element/state format a text is, and the parser for it.

``sniff_format`` looks at the content first (a CCSDS version keyword, an XML
root tag, JSON keys, a CSV header, TLE line shapes, a Horizons ``JDTDB``
column) and uses the file-name suffix in ``hint`` only to settle what the
content leaves open.  ``parse_element_text`` dispatches to the parser
registered for the format in ``PARSERS``.

To add a parser (OEM, OPM, Horizons...), register it::

    from propagators.parsing.detect import register_parser
    register_parser("oem-kvn", parse_oem_kvn)

Formats recognised but without a registered parser make
``parse_element_text`` raise ``FormatError`` naming the parser to use
(``RECOGNISED_ONLY``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Callable

from propagators.elements import ParseResult
from propagators.errors import FormatError, RecordError
from propagators.parsing.omm import parse_omm_csv, parse_omm_json, parse_omm_kvn, parse_omm_xml
from propagators.parsing.tle import parse_tle_lines, parse_tle_text

Parser = Callable[[str, "str | None"], ParseResult]

ELEMENT_FORMATS = ("tle", "omm-kvn", "omm-xml", "omm-json", "omm-csv", "packaged-tle-json")
STATE_FORMATS = ("oem-kvn", "oem-xml", "opm-kvn", "opm-xml", "horizons-csv", "cdm-kvn", "cdm-xml")

# Formats this module recognises, with what reads them until a parser is
# registered for them.
RECOGNISED_ONLY = {
    "oem-kvn": "the CCSDS OEM parser (propagators.parsing.oem)",
    "oem-xml": "the CCSDS OEM parser (propagators.parsing.oem)",
    "opm-kvn": "the CCSDS OPM parser (propagators.parsing.opm)",
    "opm-xml": "the CCSDS OPM parser (propagators.parsing.opm)",
    "horizons-csv": "the JPL Horizons vector-table parser (propagators.parsing.horizons)",
    "cdm-kvn": "a CCSDS CDM reader (conjunction data messages are not element sets)",
    "cdm-xml": "a CCSDS CDM reader (conjunction data messages are not element sets)",
}

_SNIFF_CHARS = 16384
_KVN_VERS_RE = re.compile(r"^\s*CCSDS_(OMM|OEM|OPM|CDM)_VERS\s*=", re.MULTILINE)
_XML_ROOT_RE = re.compile(r"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_XML_MESSAGE_RE = re.compile(r"<\s*(?:[A-Za-z_][\w.-]*:)?(omm|oem|opm|cdm)\b")
_OMM_KEY_RE = re.compile(r"\b(?:MEAN_MOTION|EPOCH|NORAD_CAT_ID|ECCENTRICITY)\b")
_TLE_LINE1_RE = re.compile(r"^1 [ A-Z\d]\d{4}[A-Z ] ", re.MULTILINE)
_TLE_LINE2_RE = re.compile(r"^2 [ A-Z\d]\d{4} ", re.MULTILINE)
_TLE_SUFFIXES = (".tle", ".txt", ".2le", ".3le")


def _suffix(hint: str | None) -> str | None:
    if not hint:
        return None
    name = hint.strip().lower().replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in name:
        return None
    return "." + name.rsplit(".", 1)[-1]


def _strip_xml_prolog(text: str) -> str:
    """Drop ``<?xml ...?>``, comments and a DOCTYPE before the root tag."""
    prev = None
    while prev != text:
        prev = text
        text = re.sub(r"^\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", "", text, count=1, flags=re.DOTALL)
    return text.lstrip()


def sniff_format(text: str, hint: str | None = None, *, source: str | None = None) -> str:
    """One of ``ELEMENT_FORMATS`` or ``STATE_FORMATS`` for ``text``.

    ``hint`` is a file name or suffix (".json"); the content decides when it
    can.  Raises ``FormatError`` (naming ``source``, else ``hint``) when the
    text is none of them.
    """
    where = source or hint
    head = text[:_SNIFF_CHARS].lstrip("\ufeff")
    body = head.lstrip()
    suffix = _suffix(hint)
    if not body:
        raise FormatError("input is empty; expected TLE, OMM, OEM, OPM, CDM or Horizons text", source=where)

    if body.startswith("<"):
        rest = _strip_xml_prolog(body)
        m = _XML_ROOT_RE.match(rest)
        root = m.group(1).lower() if m else ""
        if root in ("omm", "oem", "opm", "cdm"):
            return f"{root}-xml"
        if root == "ndm":
            inner = _XML_MESSAGE_RE.search(rest[m.end():])
            if inner:
                return f"{inner.group(1).lower()}-xml"
        raise FormatError(
            f"XML with root <{root or '?'}>; expected a CCSDS <omm>, <oem>, <opm>, <cdm> or <ndm> message",
            source=where,
        )

    if body.startswith(("[", "{")):
        if re.search(r'"line1"\s*:', head) and re.search(r'"line2"\s*:', head):
            return "packaged-tle-json"
        if re.search(r'"(?:MEAN_MOTION|EPOCH|NORAD_CAT_ID)"\s*:', head) or re.fullmatch(r"\[\s*\]", body):
            return "omm-json"
        raise FormatError(
            "JSON without OMM keys (EPOCH, MEAN_MOTION, NORAD_CAT_ID) or TLE line1/line2 keys", source=where
        )

    m = _KVN_VERS_RE.search(head)
    if m:
        return f"{m.group(1).lower()}-kvn"

    first_line = next((ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if "," in first_line and _OMM_KEY_RE.search(first_line) and "=" not in first_line:
        return "omm-csv"
    if "$$SOE" in head or re.search(r"^\s*JDTDB\s*,", head, re.MULTILINE):
        return "horizons-csv"
    if "JDTDB" in head and re.search(r"^\s*\d{7}\.\d+\s*,", head, re.MULTILINE):
        return "horizons-csv"  # header in comments, data rows start with a Julian date
    if _TLE_LINE1_RE.search(head) and _TLE_LINE2_RE.search(head):
        return "tle"
    if re.search(r"^\s*(?:MEAN_MOTION|EPOCH)\s*=", head, re.MULTILINE):
        return "omm-kvn"  # KVN OMM without its CCSDS_OMM_VERS header
    if suffix in _TLE_SUFFIXES:
        # Lines 1 and 2 may all be malformed; the TLE parser says why.
        if re.search(r"^[12] ", head, re.MULTILINE):
            return "tle"
    raise FormatError(
        "not a recognised element or state format (TLE, CCSDS OMM/OEM/OPM/CDM in KVN or XML, "
        "CelesTrak GP JSON/CSV, JPL Horizons vectors)" + (f"; file suffix {suffix}" if suffix else ""),
        source=where,
    )


def parse_packaged_tle_json(text: str, source: str | None = None) -> ParseResult:
    """The JSON list of ``{"name", "type": "tle", "line1", "line2"}`` objects
    shipped in ssa-data-benchmarks.  Each TLE goes through the TLE parser's
    validation; ``record`` is the 1-based index in the list."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", source=source) from None
    if not isinstance(data, list):
        raise FormatError(f"JSON top level is {type(data).__name__}; expected an array of TLE objects", source=source)
    result = ParseResult()
    for index, obj in enumerate(data, start=1):
        problem = _packaged_problem(obj)
        if problem is not None:
            field, value, expected = problem
            result.rejections.append(
                RecordError(
                    f"packaged TLE object has no usable {field}",
                    source=source,
                    record=index,
                    field=field,
                    value=value,
                    expected=expected,
                    object_id=obj.get("name") if isinstance(obj, dict) else None,
                )
            )
            continue
        name = (obj.get("name") or "").strip() or None
        try:
            me = parse_tle_lines(obj["line1"], obj["line2"], name, source=source, record=index)
        except RecordError as exc:
            result.rejections.append(exc)
            continue
        raw = "\n".join(x for x in (obj.get("name"), obj["line1"], obj["line2"]) if x)
        result.records.append(replace(me, record=index, raw_text=raw))
    return result


def _packaged_problem(obj: object) -> tuple[str, object, str] | None:
    if not isinstance(obj, dict):
        return "object", type(obj).__name__, 'a JSON object {"name", "type", "line1", "line2"}'
    kind = obj.get("type", "tle")
    if kind != "tle":
        return "type", kind, '"tle"'
    for key in ("line1", "line2"):
        if not isinstance(obj.get(key), str):
            return key, obj.get(key), "a TLE line as a string"
    return None


PARSERS: dict[str, Parser] = {
    "tle": parse_tle_text,
    "omm-kvn": parse_omm_kvn,
    "omm-xml": parse_omm_xml,
    "omm-json": parse_omm_json,
    "omm-csv": parse_omm_csv,
    "packaged-tle-json": parse_packaged_tle_json,
}


def register_parser(fmt: str, parser: Parser) -> None:
    """Make ``parse_element_text`` dispatch ``fmt`` to ``parser``."""
    if fmt not in ELEMENT_FORMATS + STATE_FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {ELEMENT_FORMATS + STATE_FORMATS}")
    PARSERS[fmt] = parser


def parse_element_text(text: str | bytes, source: str | None = None, hint: str | None = None) -> ParseResult:
    """Sniff the format of ``text`` and parse it.

    Bytes are decoded as UTF-8 with undecodable bytes kept as U+FFFD, so the
    parsers reject the records holding them instead of the whole file.
    ``hint`` defaults to ``source`` (its suffix helps when content is
    ambiguous).  Raises ``FormatError`` when the format is unknown or has no
    parser registered here.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    fmt = sniff_format(text, hint if hint is not None else source, source=source)
    parser = PARSERS.get(fmt)
    if parser is None:
        raise FormatError(f"this is {fmt} data, not an element set; read it with {RECOGNISED_ONLY[fmt]}", source=source)
    return parser(text, source)


__all__ = [
    "ELEMENT_FORMATS",
    "STATE_FORMATS",
    "PARSERS",
    "parse_element_text",
    "parse_packaged_tle_json",
    "register_parser",
    "sniff_format",
]
