"""CCSDS Orbit Ephemeris Message (OEM), KVN and XML, versions 1.0, 2.0, 3.0.

Reference: CCSDS 502.0-B-2 / 502.0-B-3, *Orbit Data Messages*, section 5
(OEM) and annex on XML; the samples in ``../shared/data/ccsds/oem``.

``parse_oem(text, source=None)`` returns an ``OemFile``: the header, its
segments (metadata, epochs as astropy ``Time`` in the segment's time system,
``(n, 3)`` position/velocity[/acceleration] arrays in km, km/s, km/s**2 and
the covariance matrices) and the ``RecordError``s of every rejected data
line.  A bad data line (wrong number of fields, a field that is not a
number, an epoch outside START_TIME..STOP_TIME, an epoch not after the
previous one) is rejected alone and the rest of the segment is kept.  A
segment whose metadata cannot be used (missing keyword, unknown time
system, unreadable time) is rejected as a whole with one error per problem.
Input that is not an OEM at all raises ``FormatError``.

The helpers for KVN lines, XML with line numbers and CCSDS epochs here are
shared with ``propagators.parsing.opm`` and ``propagators.ccsds_write``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterator, NamedTuple, Optional

import numpy as np

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from astropy.time import Time, TimeDelta

from propagators.elements import ParseResult
from propagators.errors import FormatError, RecordError

SUPPORTED_VERSIONS = ("1.0", "2.0", "3.0")

# CCSDS TIME_SYSTEM -> astropy scale.  GPS time is TAI - 19 s exactly
# (CCSDS 502.0-B-3 Annex A); it is stored as a TAI ``Time``.
TIME_SCALES = {"UTC": "utc", "TDB": "tdb", "TAI": "tai", "TT": "tt", "GPS": "tai", "TCB": "tcb", "TCG": "tcg", "UT1": "ut1"}
GPS_MINUS_TAI_S = -19.0

STATE_FIELDS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
ACCEL_FIELDS = ("X_DDOT", "Y_DDOT", "Z_DDOT")
_FIELD_UNITS = {**{k: "km" for k in STATE_FIELDS[:3]}, **{k: "km/s" for k in STATE_FIELDS[3:]}, **{k: "km/s**2" for k in ACCEL_FIELDS}}
_COV_AXES = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
#: The 21 lower-triangular covariance keywords in row order (CX_X, CY_X, CY_Y, ...).
COVARIANCE_KEYS = tuple(f"C{_COV_AXES[i]}_{_COV_AXES[j]}" for i in range(6) for j in range(i + 1))

_DATA_LINE_EXPECTED = "epoch followed by 6 numbers X Y Z X_DOT Y_DOT Z_DOT (km, km/s), optionally 3 more X_DDOT Y_DDOT Z_DDOT (km/s**2)"
_EPOCH_EXPECTED = "a CCSDS epoch YYYY-MM-DDThh:mm:ss[.fff] or YYYY-DDDThh:mm:ss[.fff]"
_EPOCH_SLACK_S = 1e-9  # epochs equal to START/STOP_TIME within 1 ns are inside

_META_REQUIRED = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM", "START_TIME", "STOP_TIME")
_META_KEYS = _META_REQUIRED + (
    "REF_FRAME_EPOCH",
    "USEABLE_START_TIME",
    "USEABLE_STOP_TIME",
    "INTERPOLATION",
    "INTERPOLATION_DEGREE",
)


# --------------------------------------------------------------------------
# Shared helpers: epochs, KVN lines, XML with line numbers
# --------------------------------------------------------------------------

_CAL_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d*)?Z?$")
_DOY_RE = re.compile(r"^(\d{4})-(\d{3})T(\d{2}):(\d{2}):(\d{2})(\.\d*)?Z?$")


def epoch_to_isot(text: str) -> Optional[str]:
    """A CCSDS epoch string as astropy ``isot`` text, or None if malformed.

    Both calendar (``2019-12-18T12:00:00.331``) and day-of-year
    (``2019-352T12:00:00.331``) forms are accepted, with an optional ``Z``.
    """
    s = text.strip()
    m = _CAL_RE.match(s)
    if m:
        y, mo, d, hh, mm, ss, frac = m.groups()
    else:
        m = _DOY_RE.match(s)
        if not m:
            return None
        y, doy, hh, mm, ss, frac = m.groups()
        if not 1 <= int(doy) <= 366:
            return None
        day = date(int(y), 1, 1) + timedelta(days=int(doy) - 1)
        if day.year != int(y):
            return None
        mo, d = f"{day.month:02d}", f"{day.day:02d}"
    frac = frac if frac and len(frac) > 1 else ""
    return f"{y}-{mo}-{d}T{hh}:{mm}:{ss}{frac}"


def time_scale(time_system: str) -> Optional[str]:
    """astropy scale for a CCSDS TIME_SYSTEM, None if unsupported."""
    return TIME_SCALES.get(time_system.strip().upper())


def parse_epochs(texts: list[str], time_system: str) -> Time:
    """Epoch strings (already valid ``isot``) in a CCSDS time system -> Time.

    GPS epochs become TAI (GPS = TAI - 19 s).  Raises ``ValueError`` if one
    cannot be read (caller isolates it).
    """
    ts = time_system.strip().upper()
    t = Time(list(texts), format="isot", scale=TIME_SCALES[ts], precision=9)
    if ts == "GPS":
        t = t - TimeDelta(GPS_MINUS_TAI_S, format="sec")
    return t


def format_epochs(t: Time, time_system: str, decimals: int = 6) -> list[str]:
    """Time -> CCSDS epoch strings in ``time_system`` (inverse of ``parse_epochs``)."""
    ts = time_system.strip().upper()
    scale = TIME_SCALES[ts]
    tt = getattr(t, scale)
    if ts == "GPS":
        tt = tt + TimeDelta(GPS_MINUS_TAI_S, format="sec")
    tt = Time(tt, precision=decimals)
    return [str(s) for s in np.atleast_1d(tt.isot)]


class KvnLine(NamedTuple):
    line: int  # 1-based
    kind: str  # "kv", "comment", "raw"
    key: str  # upper-case keyword ("" for raw lines)
    value: str  # value without units, comment text, or the raw line
    text: str  # the stripped line as read


_KV_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$")
_UNITS_RE = re.compile(r"\s*\[[^\]]*\]\s*$")
_MARKERS = {"META_START", "META_STOP", "COVARIANCE_START", "COVARIANCE_STOP", "DATA_START", "DATA_STOP"}


def kvn_lines(text: str) -> Iterator[KvnLine]:
    """Non-blank KVN lines: ``KEY = value [units]``, ``COMMENT ...``, markers
    (``META_START``... as kind "kv" with an empty value) and raw data lines."""
    for i, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s:
            continue
        head = s.split(None, 1)[0].upper()
        if head == "COMMENT":
            yield KvnLine(i, "comment", "COMMENT", s[7:].strip(), s)
            continue
        if head in _MARKERS and s.upper() == head:
            yield KvnLine(i, "kv", head, "", s)
            continue
        m = _KV_RE.match(s)
        if m and not s[0].isdigit():
            yield KvnLine(i, "kv", m.group(1).upper(), _UNITS_RE.sub("", m.group(2)).strip(), s)
            continue
        yield KvnLine(i, "raw", "", s, s)


@dataclass
class XmlNode:
    """An XML element with the line where it starts (namespaces dropped)."""

    tag: str
    attrib: dict
    line: int
    children: list = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Optional["XmlNode"]:
        for c in self.children:
            if c.tag == tag:
                return c
        return None

    def findall(self, tag: str) -> list["XmlNode"]:
        return [c for c in self.children if c.tag == tag]


def xml_tree(text: str, source: Optional[str] = None) -> XmlNode:
    """Parse XML with expat, keeping each element's line number.

    Entity declarations (DTDs) are refused outright.
    """
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[XmlNode] = []
    root: list[XmlNode] = []

    def start(name, attrs):
        node = XmlNode(name.rsplit(" ", 1)[-1], {k.rsplit(" ", 1)[-1]: v for k, v in attrs.items()}, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(name):
        node = stack.pop()
        node.text = node.text.strip()

    def chars(data):
        if stack:
            stack[-1].text += data

    def no_dtd(*args):
        raise FormatError("XML with a document type declaration (DTD) is not accepted", source=source)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = no_dtd
    try:
        parser.Parse(text.encode("utf-8") if isinstance(text, str) else text, True)
    except expat.ExpatError as exc:
        raise FormatError(f"not well-formed XML: {exc}", source=source) from exc
    return root[0]


def looks_like_xml(text: str) -> bool:
    return text.lstrip().startswith("<")


def covariance_from_lower(values: list[float]) -> np.ndarray:
    """21 lower-triangular values in row order -> symmetric (6, 6)."""
    m = np.zeros((6, 6))
    m[np.tril_indices(6)] = values
    return m + np.tril(m, -1).T


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class OemCovariance:
    """One 6x6 covariance (km**2, km**2/s, km**2/s**2) at ``epoch``."""

    epoch: Time
    ref_frame: Optional[str]  # COV_REF_FRAME; None = the segment's REF_FRAME
    matrix: np.ndarray  # (6, 6), symmetric
    comments: tuple[str, ...] = ()
    line: Optional[int] = None


@dataclass(frozen=True)
class OemMetadata:
    object_name: str
    object_id: str
    center_name: str
    ref_frame: str
    time_system: str  # as written, upper-case: UTC, TDB, TAI, TT, GPS...
    start_time: Time
    stop_time: Time
    useable_start_time: Optional[Time] = None
    useable_stop_time: Optional[Time] = None
    interpolation: Optional[str] = None  # upper-case: LAGRANGE, HERMITE, ...
    interpolation_degree: Optional[int] = None
    ref_frame_epoch: Optional[str] = None
    comments: tuple[str, ...] = ()
    line: Optional[int] = None  # META_START (KVN) or <segment> (XML)


@dataclass(frozen=True)
class OemSegment:
    """One OEM segment: metadata and ``n`` ephemeris lines."""

    metadata: OemMetadata
    epochs: Time  # in the metadata time system's scale (GPS as TAI)
    r_km: np.ndarray  # (n, 3) in REF_FRAME, relative to CENTER_NAME
    v_km_s: np.ndarray  # (n, 3)
    a_km_s2: Optional[np.ndarray] = None  # (n, 3), NaN rows where a line had none
    covariances: tuple[OemCovariance, ...] = ()
    comments: tuple[str, ...] = ()  # COMMENT lines of the data section
    lines: Optional[np.ndarray] = None  # 1-based source line of each state

    def __len__(self) -> int:
        return int(self.r_km.shape[0])

    def state_records(self):
        """``StateRecord``s (epochs converted to UTC)."""
        from propagators.elements import StateRecord

        dts = timeutil.datetimes_utc(self.epochs)
        md = self.metadata
        return [
            StateRecord(dts[i], tuple(self.r_km[i]), tuple(self.v_km_s[i]), md.ref_frame, md.center_name)
            for i in range(len(self))
        ]


@dataclass(frozen=True)
class OemFile:
    version: str
    creation_date: Optional[str]
    originator: Optional[str]
    segments: tuple[OemSegment, ...]
    rejections: tuple[RecordError, ...] = ()
    message_id: Optional[str] = None
    classification: Optional[str] = None
    comments: tuple[str, ...] = ()
    format: str = "kvn"  # "kvn" or "xml"
    source: Optional[str] = None
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------
# Format-independent segment assembly
# --------------------------------------------------------------------------


@dataclass
class _RawSegment:
    line: int
    meta: dict = field(default_factory=dict)  # KEY -> (value, line)
    meta_comments: list = field(default_factory=list)
    data_comments: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # (line, raw_text, {field: str} | None, n_tokens)
    covs: list = field(default_factory=list)  # (line, epoch_text, epoch_line, frame, values[21], comments)


def _err(message: str, *, source, line, field=None, value=None, expected=None, object_id=None) -> RecordError:
    return RecordError(message, source=source, line=line, field=field, value=value, expected=expected, object_id=object_id)


def _parse_time_field(raw: _RawSegment, key: str, time_system: str, source, object_id, errors) -> Optional[Time]:
    value, line = raw.meta[key]
    iso = epoch_to_isot(value)
    if iso is None:
        errors.append(_err("metadata time not readable; segment skipped", source=source, line=line, field=key, value=value, expected=_EPOCH_EXPECTED, object_id=object_id))
        return None
    try:
        return parse_epochs([iso], time_system)[0]
    except ValueError:
        errors.append(_err("metadata time not a valid date; segment skipped", source=source, line=line, field=key, value=value, expected=_EPOCH_EXPECTED, object_id=object_id))
        return None


def _build_segment(raw: _RawSegment, source, rejections: list, warnings: list) -> Optional[OemSegment]:
    meta = raw.meta
    object_id = meta.get("OBJECT_ID", (None,))[0]
    errors: list[RecordError] = []
    for key in _META_REQUIRED:
        if key not in meta or not meta[key][0]:
            errors.append(_err("metadata keyword missing; segment skipped", source=source, line=raw.line, field=key, expected=f"{key} = ... between META_START and META_STOP", object_id=object_id))
    for key in meta:
        if key not in _META_KEYS:
            warnings.append(f"{source or '<oem>'} line {meta[key][1]}: unknown metadata keyword {key} ignored")
    if errors:
        rejections.extend(errors)
        return None
    ts = meta["TIME_SYSTEM"][0].strip().upper()
    if ts not in TIME_SCALES:
        rejections.append(_err("unsupported time system; segment skipped", source=source, line=meta["TIME_SYSTEM"][1], field="TIME_SYSTEM", value=meta["TIME_SYSTEM"][0], expected="one of " + ", ".join(TIME_SCALES), object_id=object_id))
        return None
    times = {}
    for key in ("START_TIME", "STOP_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME"):
        if key in meta:
            times[key] = _parse_time_field(raw, key, ts, source, object_id, errors)
    degree = None
    if "INTERPOLATION_DEGREE" in meta:
        value, line = meta["INTERPOLATION_DEGREE"]
        if re.fullmatch(r"\d+", value.strip()):
            degree = int(value)
        else:
            errors.append(_err("interpolation degree not an integer; segment skipped", source=source, line=line, field="INTERPOLATION_DEGREE", value=value, expected="a positive integer", object_id=object_id))
    if errors:
        rejections.extend(errors)
        return None
    md = OemMetadata(
        object_name=meta["OBJECT_NAME"][0],
        object_id=meta["OBJECT_ID"][0],
        center_name=meta["CENTER_NAME"][0],
        ref_frame=meta["REF_FRAME"][0],
        time_system=ts,
        start_time=times["START_TIME"],
        stop_time=times["STOP_TIME"],
        useable_start_time=times.get("USEABLE_START_TIME"),
        useable_stop_time=times.get("USEABLE_STOP_TIME"),
        interpolation=meta["INTERPOLATION"][0].strip().upper() if "INTERPOLATION" in meta else None,
        interpolation_degree=degree,
        ref_frame_epoch=meta.get("REF_FRAME_EPOCH", (None,))[0],
        comments=tuple(raw.meta_comments),
        line=raw.line,
    )

    # --- data lines: field checks, then one astropy call for the epochs
    cand = []  # (line, isot, values[6], accel[3] | None)
    for line, text, fields, n_tokens in raw.rows:
        if fields is None:
            rejections.append(_err("wrong number of fields in data line", source=source, line=line, field="data line", value=text, expected=f"{_DATA_LINE_EXPECTED}; got {n_tokens} fields", object_id=object_id))
            continue
        iso = epoch_to_isot(fields.get("EPOCH", ""))
        if iso is None:
            rejections.append(_err("epoch not readable", source=source, line=line, field="EPOCH", value=fields.get("EPOCH"), expected=_EPOCH_EXPECTED, object_id=object_id))
            continue
        names = STATE_FIELDS + (ACCEL_FIELDS if any(k in fields for k in ACCEL_FIELDS) else ())
        values = []
        bad = None
        for name in names:
            tok = fields.get(name)
            try:
                x = float(tok) if tok is not None else None
            except ValueError:
                x = None
            if x is None or not np.isfinite(x):
                bad = (name, tok)
                break
            values.append(x)
        if bad is not None:
            rejections.append(_err("field is not a finite number", source=source, line=line, field=bad[0], value=bad[1], expected=f"a number in {_FIELD_UNITS[bad[0]]}", object_id=object_id))
            continue
        cand.append((line, iso, values[:6], values[6:9] if len(values) == 9 else None))

    epochs_ok = []
    if cand:
        stop_off = (md.stop_time - md.start_time).sec
        try:
            offsets = list((parse_epochs([c[1] for c in cand], ts) - md.start_time).sec)
        except ValueError:
            # isolate the unreadable epochs one by one (rare path)
            offsets = []
            for c in cand:
                try:
                    offsets.append((parse_epochs([c[1]], ts)[0] - md.start_time).sec)
                except ValueError:
                    offsets.append(None)
        last = None
        for c, off in zip(cand, offsets):
            line = c[0]
            if off is None:
                rejections.append(_err("epoch not a valid date", source=source, line=line, field="EPOCH", value=c[1], expected=_EPOCH_EXPECTED, object_id=object_id))
                continue
            if off < -_EPOCH_SLACK_S or off > stop_off + _EPOCH_SLACK_S:
                rejections.append(_err("epoch outside the segment", source=source, line=line, field="EPOCH", value=c[1], expected=f"between START_TIME {meta['START_TIME'][0]} and STOP_TIME {meta['STOP_TIME'][0]}", object_id=object_id))
                continue
            if last is not None and off <= last[0]:
                rejections.append(_err("epochs not increasing", source=source, line=line, field="EPOCH", value=c[1], expected=f"an epoch after the previous line's {last[1]} (line {last[2]})", object_id=object_id))
                continue
            last = (off, c[1], line)
            epochs_ok.append(c)

    n = len(epochs_ok)
    r = np.array([c[2][:3] for c in epochs_ok], dtype=float).reshape(n, 3)
    v = np.array([c[2][3:6] for c in epochs_ok], dtype=float).reshape(n, 3)
    a = None
    if any(c[3] is not None for c in epochs_ok):
        a = np.array([c[3] if c[3] is not None else [np.nan] * 3 for c in epochs_ok], dtype=float).reshape(n, 3)
    # The epochs as parsed (not start + offset, which would lose sub-ns digits).
    epochs = parse_epochs([c[1] for c in epochs_ok], ts)
    lines = np.array([c[0] for c in epochs_ok], dtype=int)

    # --- covariance matrices
    covs = []
    for line, ep_text, ep_line, frame, values, comments in raw.covs:
        iso = epoch_to_isot(ep_text or "")
        t_cov = None
        if iso is not None:
            try:
                t_cov = parse_epochs([iso], ts)[0]
            except ValueError:
                t_cov = None
        if t_cov is None:
            rejections.append(_err("covariance epoch not readable; matrix skipped", source=source, line=ep_line or line, field="EPOCH", value=ep_text, expected=_EPOCH_EXPECTED, object_id=object_id))
            continue
        covs.append(OemCovariance(t_cov, frame, covariance_from_lower(values), tuple(comments), line))

    for arr in (r, v, a, lines):
        if arr is not None:
            arr.setflags(write=False)
    return OemSegment(md, epochs, r, v, a, tuple(covs), tuple(raw.data_comments), lines)


# --------------------------------------------------------------------------
# KVN
# --------------------------------------------------------------------------

_KVN_ORDER = ("EPOCH",) + STATE_FIELDS + ACCEL_FIELDS


def _parse_kvn(text: str, source) -> OemFile:
    it = list(kvn_lines(text))
    if not it or it[0].key != "CCSDS_OEM_VERS":
        first = it[0].text if it else ""
        raise FormatError(f"not a CCSDS OEM: first line {first!r}, expected 'CCSDS_OEM_VERS = 2.0'", source=source)
    version = it[0].value
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(f"OEM version {version!r} not supported; expected one of {', '.join(SUPPORTED_VERSIONS)}", source=source)

    header: dict = {}
    header_comments: list[str] = []
    rejections: list[RecordError] = []
    warnings: list[str] = []
    raws: list[_RawSegment] = []
    state = "header"
    seg: Optional[_RawSegment] = None
    cov: Optional[dict] = None

    def close_cov():
        nonlocal cov
        if cov is None:
            return
        if len(cov["rows"]) != 6 or cov["bad"]:
            if not cov["bad"]:
                rejections.append(_err("covariance matrix incomplete; matrix skipped", source=source, line=cov["line"], field="COVARIANCE", value=f"{len(cov['rows'])} rows", expected="6 lower-triangular rows of 1..6 numbers"))
        else:
            values = [x for row in cov["rows"] for x in row]
            seg.covs.append((cov["line"], cov["epoch"], cov["line"], cov["frame"], values, cov["comments"]))
        cov = None

    for ln in it[1:]:
        if ln.kind == "kv" and ln.key == "META_START":
            if state == "cov":
                close_cov()
                rejections.append(_err("COVARIANCE_START without COVARIANCE_STOP", source=source, line=ln.line, field="COVARIANCE_STOP", expected="COVARIANCE_STOP before META_START"))
            seg = _RawSegment(line=ln.line)
            raws.append(seg)
            state = "meta"
            continue
        if state == "header":
            if ln.kind == "comment":
                header_comments.append(ln.value)
            elif ln.kind == "kv" and ln.key in ("CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "CLASSIFICATION"):
                header[ln.key] = ln.value
            else:
                rejections.append(_err("unexpected line in the OEM header", source=source, line=ln.line, field="header", value=ln.text, expected="COMMENT, CREATION_DATE, ORIGINATOR, MESSAGE_ID, CLASSIFICATION or META_START"))
        elif state == "meta":
            if ln.kind == "comment":
                seg.meta_comments.append(ln.value)
            elif ln.kind == "kv" and ln.key == "META_STOP":
                state = "data"
            elif ln.kind == "kv":
                seg.meta[ln.key] = (ln.value, ln.line)
            else:
                rejections.append(_err("unexpected line in metadata", source=source, line=ln.line, field="metadata", value=ln.text, expected="KEYWORD = value or META_STOP"))
        elif state == "data":
            if ln.kind == "comment":
                seg.data_comments.append(ln.value)
            elif ln.kind == "kv" and ln.key == "COVARIANCE_START":
                state = "cov"
            elif ln.kind == "kv" and ln.key in ("DATA_START", "DATA_STOP"):
                pass
            elif ln.kind == "raw":
                toks = ln.value.split()
                fields = dict(zip(_KVN_ORDER, toks)) if len(toks) in (7, 10) else None
                seg.rows.append((ln.line, ln.text, fields, len(toks)))
            else:
                rejections.append(_err("unexpected keyword in the data section", source=source, line=ln.line, field=ln.key, value=ln.value, expected=_DATA_LINE_EXPECTED))
        elif state == "cov":
            if ln.kind == "comment":
                if cov is not None:
                    cov["comments"].append(ln.value)
            elif ln.kind == "kv" and ln.key == "EPOCH":
                close_cov()
                cov = {"line": ln.line, "epoch": ln.value, "frame": None, "rows": [], "bad": False, "comments": []}
            elif ln.kind == "kv" and ln.key == "COV_REF_FRAME":
                if cov is None:
                    rejections.append(_err("COV_REF_FRAME before EPOCH", source=source, line=ln.line, field="COV_REF_FRAME", value=ln.value, expected="EPOCH = ... first"))
                else:
                    cov["frame"] = ln.value
            elif ln.kind == "kv" and ln.key == "COVARIANCE_STOP":
                close_cov()
                state = "after_cov"
            elif ln.kind == "raw":
                if cov is None:
                    rejections.append(_err("covariance row before EPOCH", source=source, line=ln.line, field="COVARIANCE", value=ln.text, expected="EPOCH = ... first"))
                    continue
                if cov["bad"]:
                    continue
                toks = ln.value.split()
                want = len(cov["rows"]) + 1
                try:
                    row = [float(x) for x in toks]
                except ValueError:
                    row = None
                if row is None or len(row) != want or want > 6:
                    cov["bad"] = True
                    rejections.append(_err("bad covariance row; matrix skipped", source=source, line=ln.line, field=f"COVARIANCE row {want}", value=ln.text, expected=f"{want} numbers (lower triangle, row {want} of 6)" if want <= 6 else "no more than 6 rows"))
                    continue
                cov["rows"].append(row)
            else:
                rejections.append(_err("unexpected keyword in covariance block", source=source, line=ln.line, field=ln.key, value=ln.value, expected="EPOCH, COV_REF_FRAME, rows or COVARIANCE_STOP"))
        else:  # after_cov
            if ln.kind == "comment":
                continue
            rejections.append(_err("line after COVARIANCE_STOP", source=source, line=ln.line, field="data line", value=ln.text, expected="META_START (data lines come before the covariance block)"))
    if state == "cov":
        close_cov()
        rejections.append(_err("COVARIANCE_START without COVARIANCE_STOP", source=source, line=None, field="COVARIANCE_STOP", expected="COVARIANCE_STOP at the end of the covariance block"))
    if state == "meta":
        rejections.append(_err("META_START without META_STOP; segment skipped", source=source, line=seg.line, field="META_STOP", expected="META_STOP after the metadata"))
        raws.pop()

    segments = []
    for raw in raws:
        s = _build_segment(raw, source, rejections, warnings)
        if s is not None:
            segments.append(s)
    for key in ("CREATION_DATE", "ORIGINATOR"):
        if key not in header:
            warnings.append(f"{source or '<oem>'}: header keyword {key} missing")
    return OemFile(
        version=version,
        creation_date=header.get("CREATION_DATE"),
        originator=header.get("ORIGINATOR"),
        segments=tuple(segments),
        rejections=tuple(sorted(rejections, key=lambda e: e.line or 0)),
        message_id=header.get("MESSAGE_ID"),
        classification=header.get("CLASSIFICATION"),
        comments=tuple(header_comments),
        format="kvn",
        source=source,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------


def _parse_xml(text: str, source) -> OemFile:
    root = xml_tree(text, source)
    if root.tag.lower() == "ndm" and root.find("oem") is not None:
        root = root.find("oem")  # a combined NDM holding one message
    if root.tag.lower() != "oem":
        raise FormatError(f"XML root <{root.tag}> is not <oem>", source=source)
    version = root.attrib.get("version", "").strip()
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(f"OEM version {version!r} not supported; expected one of {', '.join(SUPPORTED_VERSIONS)}", source=source)
    rejections: list[RecordError] = []
    warnings: list[str] = []
    header: dict = {}
    header_comments: list[str] = []
    hdr = root.find("header")
    if hdr is not None:
        for c in hdr.children:
            if c.tag == "COMMENT":
                header_comments.append(c.text)
            else:
                header[c.tag] = c.text
    body = root.find("body")
    if body is None:
        raise FormatError("OEM XML without <body>", source=source)
    raws = []
    for seg_node in body.findall("segment"):
        raw = _RawSegment(line=seg_node.line)
        md = seg_node.find("metadata")
        if md is not None:
            raw.line = md.line
            for c in md.children:
                if c.tag == "COMMENT":
                    raw.meta_comments.append(c.text)
                else:
                    raw.meta[c.tag] = (c.text, c.line)
        data = seg_node.find("data")
        for c in data.children if data is not None else []:
            if c.tag == "COMMENT":
                raw.data_comments.append(c.text)
            elif c.tag == "stateVector":
                fields = {g.tag: g.text for g in c.children if g.tag != "COMMENT"}
                missing = [k for k in ("EPOCH",) + STATE_FIELDS if k not in fields]
                if missing:
                    rejections.append(_err("state vector incomplete", source=source, line=c.line, field=missing[0], expected=_DATA_LINE_EXPECTED, object_id=raw.meta.get("OBJECT_ID", (None,))[0]))
                    continue
                raw.rows.append((c.line, " ".join(f"{k}={v}" for k, v in fields.items()), fields, len(fields)))
            elif c.tag == "covarianceMatrix":
                vals = {g.tag: g.text for g in c.children}
                comments = [g.text for g in c.children if g.tag == "COMMENT"]
                missing = [k for k in COVARIANCE_KEYS if k not in vals]
                bad = None
                values = []
                for k in COVARIANCE_KEYS:
                    if k in missing:
                        continue
                    try:
                        values.append(float(vals[k]))
                    except ValueError:
                        bad = k
                        break
                if missing or bad:
                    k = missing[0] if missing else bad
                    rejections.append(_err("covariance matrix incomplete or not numeric; matrix skipped", source=source, line=c.line, field=k, value=vals.get(k), expected="the 21 elements CX_X .. CZ_DOT_Z_DOT as numbers"))
                    continue
                raw.covs.append((c.line, vals.get("EPOCH"), c.line, vals.get("COV_REF_FRAME"), values, comments))
            else:
                warnings.append(f"{source or '<oem>'} line {c.line}: unknown element <{c.tag}> ignored")
        raws.append(raw)
    segments = [s for s in (_build_segment(r, source, rejections, warnings) for r in raws) if s is not None]
    return OemFile(
        version=version,
        creation_date=header.get("CREATION_DATE"),
        originator=header.get("ORIGINATOR"),
        segments=tuple(segments),
        rejections=tuple(sorted(rejections, key=lambda e: e.line or 0)),
        message_id=header.get("MESSAGE_ID"),
        classification=header.get("CLASSIFICATION"),
        comments=tuple(header_comments),
        format="xml",
        source=source,
        warnings=tuple(warnings),
    )


def parse_oem(text: str, source: Optional[str] = None) -> OemFile:
    """Parse an OEM (KVN or XML, chosen by content)."""
    if looks_like_xml(text):
        return _parse_xml(text, source)
    return _parse_kvn(text, source)


def parse_oem_result(text: str, source: Optional[str] = None) -> ParseResult:
    """``parse_oem`` in the ``(text, source) -> ParseResult`` shape of
    ``propagators.parsing.detect.register_parser``: one record per segment
    (an ``OemSegment``, i.e. one object's table), the rejected lines as
    rejections, the warnings as warnings."""
    oem = parse_oem(text, source)
    return ParseResult(records=list(oem.segments), rejections=list(oem.rejections), warnings=list(oem.warnings))
