"""CCSDS Conjunction Data Messages (CDM, CCSDS 508.0-B-1 v1.0 and v2.0), KVN and XML.

``read_cdm(path)`` / ``parse_cdm(text, source)`` return a :class:`Cdm`:
header, relative metadata (TCA, miss distance, relative speed, RTN relative
position and velocity, stated collision probability and method, screening
volume...), and both objects' metadata, OD and additional parameters, state
vector and covariance. ``Cdm.to_conjunction()`` gives the
:class:`propagators.screening.pc.Conjunction` the Pc methods take.

Units are those the standard fixes (states km, km/s; relative quantities
m, m/s; covariance m^2, m^2/s, m^2/s^2, drag/SRP rows m^3/kg...). A bracketed
unit that differs from the standard one is reported in ``Cdm.warnings`` (the
value is still read in the standard unit, as CCSDS requires).

Covariance: the lower triangle ``CR_R, CT_R, CT_T, CN_R, ..., CNDOT_NDOT``
(6x6, required) plus the optional drag (``CDRG_*``), SRP (``CSRP_*``) and
thrust (``CTHR_*``) rows, kept in ``CdmObject.cov_rtn`` (order R, T, N, RDOT,
TDOT, NDOT, DRG, SRP, THR as present). CDM 2.0 ``ALT_COV_TYPE = XYZ``
covariances (``CX_X ... CZ_DOT_Z_DOT``, in ``REF_FRAME`` axes) are read too.

Frames (``to_conjunction``): EME2000, GCRF and ICRF states are used as
they are (the Pc methods are rotation invariant, so the ~20 mas frame bias
does not matter as long as both objects use the same frame). ITRF states
(ITRF, ITRF-93, ITRF2000, ITRS...) and TEME are rotated to GCRS at the TCA
with ``propagators.frames`` (ITRF velocities get the Earth-rotation term
``w x r`` back); the RTN axes are then built from the inertial state, as
CARA does (``Pc_ObjectSetup.m``: convert to J2000, then ``RIC2ECI``).

Hard-body radius (``Cdm.hbr_m``, ``hbr_source``): CDM 2.0 per-object ``HBR``
summed when both objects give one; else a relative-metadata comment
``HBR = 10 [m]`` (CARA's convention); else the equal-area radii of both
``AREA_PC`` values summed; else None (``compute_pc`` then uses its default).

Malformed input raises ``RecordError`` (source, line, field, value,
expected) from ``parse_cdm``; ``parse_cdm(..., collect=True)`` instead
returns the errors in ``Cdm.errors`` and keeps going (fields in error are
None/NaN; ``to_conjunction`` refuses a CDM with errors). A text that is not
a CDM at all raises ``FormatError``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional

import numpy as np

from propagators.errors import FormatError, RecordError
from propagators.parsing.omm import parse_omm_epoch

__all__ = [
    "Cdm",
    "CdmObject",
    "SUPPORTED_VERSIONS",
    "COV_RTN_AXES",
    "parse_cdm",
    "parse_cdm_kvn",
    "parse_cdm_xml",
    "read_cdm",
]

SUPPORTED_VERSIONS = ("1.0", "2.0")
COV_RTN_AXES = ("R", "T", "N", "RDOT", "TDOT", "NDOT", "DRG", "SRP", "THR")
COV_XYZ_AXES = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_STATE_KEYS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_INERTIAL_FRAMES = ("EME2000", "GCRF", "GCRS", "ICRF", "J2000")
_ITRF_RE = re.compile(r"^ITR[FS]")

# Standard units of numeric keywords (for the informational unit check).
_UNITS = {
    "MISS_DISTANCE": "m", "RELATIVE_SPEED": "m/s",
    "RELATIVE_POSITION_R": "m", "RELATIVE_POSITION_T": "m", "RELATIVE_POSITION_N": "m",
    "RELATIVE_VELOCITY_R": "m/s", "RELATIVE_VELOCITY_T": "m/s", "RELATIVE_VELOCITY_N": "m/s",
    "SCREEN_VOLUME_X": "m", "SCREEN_VOLUME_Y": "m", "SCREEN_VOLUME_Z": "m", "SCREEN_VOLUME_RADIUS": "m",
    "APPROACH_ANGLE": "deg", "HBR": "m", "AREA_PC": "m**2", "MASS": "kg",
    "X": "km", "Y": "km", "Z": "km", "X_DOT": "km/s", "Y_DOT": "km/s", "Z_DOT": "km/s",
}
_RELATIVE_NUMERIC = (
    "MISS_DISTANCE", "RELATIVE_SPEED", "MAHALANOBIS_DISTANCE", "APPROACH_ANGLE",
    "RELATIVE_POSITION_R", "RELATIVE_POSITION_T", "RELATIVE_POSITION_N",
    "RELATIVE_VELOCITY_R", "RELATIVE_VELOCITY_T", "RELATIVE_VELOCITY_N",
    "SCREEN_VOLUME_X", "SCREEN_VOLUME_Y", "SCREEN_VOLUME_Z", "SCREEN_VOLUME_RADIUS",
    "SCREEN_PC_THRESHOLD", "COLLISION_PROBABILITY", "COLLISION_MAX_PROBABILITY",
    "COLLISION_PERCENTILE", "SEFI_COLLISION_PROBABILITY",
)
_RELATIVE_TIMES = ("TCA", "START_SCREEN_PERIOD", "STOP_SCREEN_PERIOD", "SCREEN_ENTRY_TIME",
                   "SCREEN_EXIT_TIME", "NEXT_MESSAGE_EPOCH")
_OBJECT_NUMERIC = (
    "RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN", "OBS_AVAILABLE", "OBS_USED", "TRACKS_AVAILABLE",
    "TRACKS_USED", "RESIDUALS_ACCEPTED", "WEIGHTED_RMS", "AREA_PC", "AREA_PC_MIN", "AREA_PC_MAX",
    "AREA_DRG", "AREA_SRP", "MASS", "HBR", "CD_AREA_OVER_MASS", "CR_AREA_OVER_MASS",
    "THRUST_ACCELERATION", "SEDR", "MIN_DV", "MAX_DV", "LEAD_TIME_REQD_BEFORE_TCA",
    "APOAPSIS_ALTITUDE", "PERIAPSIS_ALTITUDE", "INCLINATION", "COV_CONFIDENCE",
)
_OBJECT_TIMES = ("TIME_LASTOB_START", "TIME_LASTOB_END", "OD_EPOCH")
_HBR_COMMENT_RE = re.compile(r"^\s*HBR\s*=?\s*([-+0-9.eEdD]+)\s*(?:\[\s*([^\]]*)\s*\])?\s*$", re.IGNORECASE)


def _cov_keys(axes: tuple[str, ...]) -> list[tuple[str, int, int]]:
    keys = []
    for i, row in enumerate(axes):
        for j in range(i + 1):
            keys.append((f"C{row}_{axes[j]}", i, j))
    return keys


_COV_RTN_KEYS = _cov_keys(COV_RTN_AXES)
_COV_XYZ_KEYS = _cov_keys(COV_XYZ_AXES)
_COV_RTN_INDEX = {k: (i, j) for k, i, j in _COV_RTN_KEYS}
_COV_XYZ_INDEX = {k: (i, j) for k, i, j in _COV_XYZ_KEYS}


@dataclass(frozen=True)
class _Field:
    key: str
    value: str
    unit: Optional[str]
    line: Optional[int]


@dataclass(frozen=True, eq=False)
class CdmObject:
    """One object's section of a CDM (``OBJECT1`` or ``OBJECT2``)."""

    object: str
    metadata: dict  # keyword -> text (OBJECT_DESIGNATOR, OBJECT_NAME, REF_FRAME, ...)
    od_parameters: dict  # keyword -> float | datetime | text
    additional_parameters: dict
    r_km: np.ndarray
    v_km_s: np.ndarray
    cov_rtn: Optional[np.ndarray]  # CDM units (m^2 ...), rows R,T,N,RDOT,TDOT,NDOT[,DRG,SRP,THR]
    cov_axes: tuple[str, ...]
    cov_xyz: Optional[np.ndarray] = None  # CDM 2.0 ALT_COV_TYPE = XYZ (m^2 ...)
    comments: tuple[str, ...] = ()
    line: Optional[int] = None

    @property
    def designator(self) -> Optional[str]:
        return self.metadata.get("OBJECT_DESIGNATOR")

    @property
    def name(self) -> Optional[str]:
        return self.metadata.get("OBJECT_NAME")

    @property
    def ref_frame(self) -> Optional[str]:
        return self.metadata.get("REF_FRAME")

    @property
    def cov_rtn_km(self) -> Optional[np.ndarray]:
        """6x6 position-velocity RTN covariance in km^2, km^2/s, km^2/s^2."""
        if self.cov_rtn is None:
            return None
        return self.cov_rtn[:6, :6] * 1e-6

    @property
    def hbr_m(self) -> Optional[float]:
        v = self.additional_parameters.get("HBR")
        return None if v is None or not math.isfinite(v) else float(v)

    @property
    def label(self) -> str:
        parts = [p for p in (self.designator, self.name) if p]
        return f"{self.object} ({' '.join(parts)})" if parts else self.object


@dataclass(frozen=True, eq=False)
class Cdm:
    version: str
    encoding: str  # "kvn" or "xml"
    header: dict
    relative: dict  # keyword -> float | datetime | text
    objects: tuple[CdmObject, ...]
    comments: tuple[str, ...] = ()  # header and relative-metadata comments
    source: Optional[str] = None
    warnings: tuple[str, ...] = ()
    errors: tuple[RecordError, ...] = ()

    @property
    def tca(self) -> Optional[datetime]:
        return self.relative.get("TCA")

    @property
    def creation_date(self) -> Optional[datetime]:
        return self.header.get("CREATION_DATE")

    @property
    def message_id(self) -> Optional[str]:
        return self.header.get("MESSAGE_ID")

    @property
    def miss_distance_m(self) -> Optional[float]:
        return self.relative.get("MISS_DISTANCE")

    @property
    def relative_speed_m_s(self) -> Optional[float]:
        return self.relative.get("RELATIVE_SPEED")

    @property
    def relative_position_rtn_m(self) -> Optional[np.ndarray]:
        return self._triple("RELATIVE_POSITION_")

    @property
    def relative_velocity_rtn_m_s(self) -> Optional[np.ndarray]:
        return self._triple("RELATIVE_VELOCITY_")

    def _triple(self, prefix: str) -> Optional[np.ndarray]:
        vals = [self.relative.get(prefix + c) for c in "RTN"]
        return None if any(v is None for v in vals) else np.array(vals, float)

    @property
    def collision_probability(self) -> Optional[float]:
        return self.relative.get("COLLISION_PROBABILITY")

    @property
    def collision_probability_method(self) -> Optional[str]:
        return self.relative.get("COLLISION_PROBABILITY_METHOD")

    @property
    def object1(self) -> CdmObject:
        return self.objects[0]

    @property
    def object2(self) -> CdmObject:
        return self.objects[1]

    @property
    def hbr(self) -> tuple[Optional[float], Optional[str]]:
        """(combined HBR in m, where it came from) or (None, None)."""
        h = [o.hbr_m for o in self.objects]
        if len(h) == 2 and all(x is not None for x in h):
            return h[0] + h[1], "CDM HBR of both objects"
        for c in self.comments:
            m = _HBR_COMMENT_RE.match(c)
            if m:
                value = float(m.group(1).replace("d", "e").replace("D", "e"))
                unit = (m.group(2) or "m").strip().lower()
                scale = {"m": 1.0, "km": 1000.0}.get(unit)
                if scale is not None and value >= 0:
                    return value * scale, "CDM comment HBR"
        areas = [o.additional_parameters.get("AREA_PC") for o in self.objects]
        if len(areas) == 2 and all(a is not None and math.isfinite(a) and a > 0 for a in areas):
            return sum(math.sqrt(a / math.pi) for a in areas), "CDM AREA_PC equal-area radii"
        return None, None

    @property
    def hbr_m(self) -> Optional[float]:
        return self.hbr[0]

    def to_conjunction(self):
        """The :class:`~propagators.screening.pc.Conjunction` of this CDM (inertial)."""
        from propagators.screening.pc import Conjunction

        if self.errors:
            raise self.errors[0]
        if self.tca is None:
            raise RecordError("CDM has no TCA", source=self.source, field="TCA", expected="a UTC epoch")
        states = []
        frames = []
        covs = []
        notes = []
        for obj in self.objects:
            r, v, frame = _to_inertial(obj, self.tca, self.source)
            states.append((r, v))
            frames.append(frame)
            if obj.cov_rtn is not None:
                cov = obj.cov_rtn_km
                if not np.any(cov[:3, :3]):
                    covs.append(None)
                    notes.append(f"{obj.label}: covariance is all zero in the CDM; treated as missing")
                    continue
                from propagators.screening.encounter import rtn_to_inertial_cov

                covs.append(rtn_to_inertial_cov(cov, r, v))
            elif obj.cov_xyz is not None:
                covs.append(_xyz_cov_to_inertial(obj, self.tca) * 1e-6)
            else:
                covs.append(None)
        # Mixed frames (one object EME2000, the other converted from ITRF to
        # GCRS) differ by the ~20 mas frame bias only: labelled GCRS.
        frame = frames[0] if frames[0] == frames[1] else "GCRS"
        hbr, src = self.hbr
        ages = []
        for obj in self.objects:
            last = obj.od_parameters.get("TIME_LASTOB_END")
            ages.append((self.tca - last).total_seconds() / 86400.0 if isinstance(last, datetime) else None)
        return Conjunction(
            r1_km=states[0][0], v1_km_s=states[0][1], cov1_km=covs[0],
            r2_km=states[1][0], v2_km_s=states[1][1], cov2_km=covs[1],
            tca=self.tca, hbr_m=hbr, hbr_source=src, frame=frame,
            object1=self.objects[0].label, object2=self.objects[1].label,
            element_age_days1=ages[0], element_age_days2=ages[1], notes=tuple(notes),
        )


# ---------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------


def _frame_kind(frame: Optional[str]) -> str:
    f = (frame or "").upper().replace("_", "").replace(" ", "")
    if f in _INERTIAL_FRAMES:
        return "inertial"
    if _ITRF_RE.match(f):
        return "itrf"
    if f == "TEME":
        return "teme"
    return "unknown"


def _to_inertial(obj: CdmObject, tca: datetime, source) -> tuple[np.ndarray, np.ndarray, str]:
    kind = _frame_kind(obj.ref_frame)
    r, v = obj.r_km, obj.v_km_s
    if kind == "inertial":
        return r, v, (obj.ref_frame or "").upper()
    from propagators.frames import EARTH_ROTATION_RAD_S, gcrs_to_itrs_matrix, teme_to_gcrs_matrix
    from propagators.timeutil import to_time

    t = to_time(tca)
    if kind == "itrf":
        m = gcrs_to_itrs_matrix(t)[0]
        omega = np.array([0.0, 0.0, EARTH_ROTATION_RAD_S])
        return m.T @ r, m.T @ (v + np.cross(omega, r)), "GCRS"
    if kind == "teme":
        m = teme_to_gcrs_matrix(t)[0]
        return m @ r, m @ v, "GCRS"
    raise RecordError(
        f"{obj.object}: reference frame not supported for Pc", source=source, line=obj.line,
        field="REF_FRAME", value=obj.ref_frame, expected="EME2000, GCRF, ICRF, ITRF or TEME",
    )


def _xyz_cov_to_inertial(obj: CdmObject, tca: datetime) -> np.ndarray:
    c = obj.cov_xyz
    kind = _frame_kind(obj.ref_frame)
    if kind == "inertial":
        return c
    from propagators.frames import gcrs_to_itrs_matrix, teme_to_gcrs_matrix
    from propagators.timeutil import to_time

    t = to_time(tca)
    m = gcrs_to_itrs_matrix(t)[0].T if kind == "itrf" else teme_to_gcrs_matrix(t)[0]
    m6 = np.zeros((6, 6))
    m6[:3, :3] = m6[3:, 3:] = m
    return m6 @ c @ m6.T


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def read_cdm(path, *, collect: bool = False) -> Cdm:
    """Read one CDM file (KVN or XML, detected from the content)."""
    p = Path(path)
    text = p.read_bytes().decode("utf-8", errors="replace")
    return parse_cdm(text, source=str(p), collect=collect)


def parse_cdm(text: str, source: Optional[str] = None, *, collect: bool = False) -> Cdm:
    """Parse a CDM from text, KVN or XML."""
    body = text.lstrip("\ufeff").lstrip()
    if body.startswith("<"):
        return parse_cdm_xml(text, source, collect=collect)
    return parse_cdm_kvn(text, source, collect=collect)


_KVN_LINE_RE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")
_UNIT_RE = re.compile(r"^(.*?)\s*\[\s*([^\]]*?)\s*\]\s*$")


def parse_cdm_kvn(text: str, source: Optional[str] = None, *, collect: bool = False) -> Cdm:
    lines = text.lstrip("\ufeff").splitlines()
    if not any(re.match(r"^\s*CCSDS_CDM_VERS\s*=", ln) for ln in lines[:50]):
        raise FormatError("not a CCSDS CDM in KVN: no CCSDS_CDM_VERS line", source=source)
    sections: list[tuple[str, list]] = [("relative", [])]
    comments: list[list] = [[]]
    errors: list[RecordError] = []
    for lineno, raw in enumerate(lines, start=1):
        s = raw.strip()
        if not s:
            continue
        if s.upper().startswith("COMMENT"):
            comments[-1].append((s[7:].strip(), lineno))
            continue
        m = _KVN_LINE_RE.match(raw)
        if not m:
            err = RecordError(
                "line is not a KVN keyword line", source=source, line=lineno, value=raw.strip(),
                expected="KEYWORD = value [unit], COMMENT text, or a blank line",
            )
            if not collect:
                raise err
            errors.append(err)
            continue
        key = m.group(1).upper()
        rest = m.group(2)
        um = _UNIT_RE.match(rest)
        value, unit = (um.group(1), um.group(2)) if um else (rest, None)
        if key == "OBJECT":
            sections.append((value.strip().upper(), []))
            comments.append([])
        sections[-1][1].append(_Field(key, value.strip(), unit, lineno))
    return _build(sections, comments, "kvn", source, collect, errors)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


class _XmlNode:
    __slots__ = ("tag", "attrs", "children", "text", "line")

    def __init__(self, tag, attrs, line):
        self.tag = tag
        self.attrs = attrs
        self.children = []
        self.text = ""
        self.line = line


def _xml_tree(text: str, source) -> _XmlNode:
    """Minimal expat tree with line numbers (ElementTree has none)."""
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    root = _XmlNode("#root", {}, 0)
    stack = [root]

    def start(name, attrs):
        node = _XmlNode(_local(name), {_local(k): v for k, v in attrs.items()}, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def end(name):
        stack.pop()

    def chars(data):
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text.lstrip("\ufeff"), True)
    except xml.parsers.expat.ExpatError as exc:
        raise FormatError(f"malformed XML: {exc}", source=source) from None
    return root


def _leaves(node: _XmlNode, out: list, comments: list) -> None:
    for ch in node.children:
        if ch.tag == "COMMENT":
            comments.append((ch.text.strip(), ch.line))
        elif ch.children:
            _leaves(ch, out, comments)
        else:
            out.append(_Field(ch.tag.upper(), ch.text.strip(), ch.attrs.get("units"), ch.line))


def parse_cdm_xml(text: str, source: Optional[str] = None, *, collect: bool = False) -> Cdm:
    root = _xml_tree(text, source)

    def find(node, tag):
        for ch in node.children:
            if ch.tag == tag:
                return ch
            got = find(ch, tag)
            if got is not None:
                return got
        return None

    cdm = find(root, "cdm")
    if cdm is None:
        raise FormatError("not a CCSDS CDM in XML: no <cdm> element", source=source)
    version = cdm.attrs.get("version", "")
    head_fields = [_Field("CCSDS_CDM_VERS", version, None, cdm.line)]
    head_comments: list = []
    header = find(cdm, "header")
    if header is not None:
        _leaves(header, head_fields, head_comments)
    rel = find(cdm, "relativeMetadataData")
    rel_fields: list = []
    if rel is not None:
        _leaves(rel, rel_fields, head_comments)
    sections = [("relative", head_fields + rel_fields)]
    comments = [head_comments]
    body = find(cdm, "body")
    for seg in (body.children if body is not None else []):
        if seg.tag != "segment":
            continue
        fields: list = []
        seg_comments: list = []
        _leaves(seg, fields, seg_comments)
        name = next((f.value.upper() for f in fields if f.key == "OBJECT"), "")
        sections.append((name, fields))
        comments.append(seg_comments)
    return _build(sections, comments, "xml", source, collect, [])


# ---------------------------------------------------------------------------
# Building the message from keyword fields
# ---------------------------------------------------------------------------


class _Collector:
    def __init__(self, source, collect, errors):
        self.source = source
        self.collect = collect
        self.errors = errors
        self.warnings: list[str] = []

    def fail(self, reason, f: Optional[_Field], expected, *, field_name=None, line=None, obj=None):
        err = RecordError(
            reason, source=self.source, line=f.line if f is not None else line,
            field=f.key if f is not None else field_name, value=f.value if f is not None else None,
            expected=expected, object_id=obj,
        )
        if not self.collect:
            raise err
        self.errors.append(err)

    def number(self, f: _Field, *, allow_nan: bool, obj=None) -> Optional[float]:
        text = f.value.strip()
        try:
            value = float(text.replace("d", "e").replace("D", "e"))
        except ValueError:
            self.fail(f"{f.key} is not a number", f, "a decimal number such as 1.25E-03", obj=obj)
            return None
        if math.isnan(value) and not allow_nan:
            self.fail(f"{f.key} is NaN", f, "a finite number", obj=obj)
            return None
        if math.isinf(value):
            self.fail(f"{f.key} is infinite", f, "a finite number", obj=obj)
            return None
        self.check_unit(f)
        return value

    def time(self, f: _Field, obj=None) -> Optional[datetime]:
        try:
            return parse_omm_epoch(f.value)
        except ValueError:
            self.fail(f"{f.key} is not a CCSDS time", f,
                      "YYYY-MM-DDThh:mm:ss[.ddd] or YYYY-DDDThh:mm:ss[.ddd] (UTC)", obj=obj)
            return None

    def check_unit(self, f: _Field) -> None:
        std = _UNITS.get(f.key)
        if f.unit is None or std is None:
            return
        if f.unit.replace(" ", "").lower() != std.lower():
            where = f"line {f.line}" if f.line is not None else "XML"
            self.warnings.append(
                f"{where}: {f.key} unit [{f.unit}] differs from the standard [{std}]; read as {std}"
            )


def _build(sections, comments, encoding, source, collect, errors) -> Cdm:
    col = _Collector(source, collect, errors)
    rel_fields = sections[0][1]
    header: dict = {}
    relative: dict = {}
    version = None
    for f in rel_fields:
        if f.key == "CCSDS_CDM_VERS":
            version = f.value.strip()
            if version not in SUPPORTED_VERSIONS:
                col.fail("unsupported CDM version", f, "1.0 or 2.0")
            header[f.key] = version
        elif f.key == "CREATION_DATE":
            header[f.key] = col.time(f)
        elif f.key in ("ORIGINATOR", "MESSAGE_FOR", "MESSAGE_ID", "CLASSIFICATION"):
            header[f.key] = f.value
        elif f.key in _RELATIVE_TIMES:
            relative[f.key] = col.time(f)
        elif f.key in _RELATIVE_NUMERIC:
            relative[f.key] = col.number(f, allow_nan=False)
        else:
            relative[f.key] = f.value
    if version is None:
        col.fail("CDM has no version keyword", None, "CCSDS_CDM_VERS = 1.0 or 2.0", field_name="CCSDS_CDM_VERS", line=1)
    for key, expected in (("CREATION_DATE", "a UTC epoch"), ("ORIGINATOR", "the message originator"),
                          ("MESSAGE_ID", "a message identifier")):
        if key not in header:
            col.fail(f"required header keyword {key} missing", None, expected, field_name=key)
    for key in ("TCA", "MISS_DISTANCE"):
        if key not in relative:
            col.fail(f"required relative-metadata keyword {key} missing", None,
                     "TCA = <UTC epoch>" if key == "TCA" else "MISS_DISTANCE = <m>", field_name=key)
    objs = []
    for (name, fields), comm in zip(sections[1:], comments[1:]):
        objs.append(_build_object(name, fields, comm, col))
    names = [o.object for o in objs]
    if names != ["OBJECT1", "OBJECT2"]:
        col.fail("CDM must hold OBJECT1 then OBJECT2", None, "OBJECT = OBJECT1, then OBJECT = OBJECT2",
                 field_name="OBJECT", line=objs[0].line if objs else None)
    return Cdm(
        version=version or "", encoding=encoding, header=header, relative=relative, objects=tuple(objs),
        comments=tuple(c for c, _ in comments[0]), source=source, warnings=tuple(col.warnings),
        errors=tuple(col.errors),
    )


def _build_object(name: str, fields: list, comments: list, col: _Collector) -> CdmObject:
    meta: dict = {}
    od: dict = {}
    add: dict = {}
    state: dict = {}
    cov_vals: dict = {}
    xyz_vals: dict = {}
    first_line = fields[0].line if fields else None
    obj_id = name or None
    od_keys = ("TIME_LASTOB_START", "TIME_LASTOB_END", "RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN", "OBS_AVAILABLE",
               "OBS_USED", "TRACKS_AVAILABLE", "TRACKS_USED", "RESIDUALS_ACCEPTED", "WEIGHTED_RMS", "OD_EPOCH")
    for f in fields:
        k = f.key
        if k in _STATE_KEYS:
            state[k] = (col.number(f, allow_nan=False, obj=obj_id), f)
        elif k in _COV_RTN_INDEX:
            cov_vals[k] = col.number(f, allow_nan=False, obj=obj_id)
        elif k in _COV_XYZ_INDEX:
            xyz_vals[k] = col.number(f, allow_nan=False, obj=obj_id)
        elif k in _OBJECT_TIMES:
            (od if k in od_keys else add)[k] = col.time(f, obj=obj_id)
        elif k in _OBJECT_NUMERIC:
            (od if k in od_keys else add)[k] = col.number(f, allow_nan=True, obj=obj_id)
        else:
            meta[k] = f.value
    for k in ("OBJECT_DESIGNATOR", "REF_FRAME"):
        if k not in meta:
            col.fail(f"{name}: required keyword {k} missing", None,
                     "the object's catalogue designator" if k == "OBJECT_DESIGNATOR" else "EME2000, GCRF or ITRF",
                     field_name=k, line=first_line, obj=obj_id)
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        col.fail(f"{name}: state vector incomplete", None, "X, Y, Z [km] and X_DOT, Y_DOT, Z_DOT [km/s]",
                 field_name=missing[0], line=first_line, obj=obj_id)
    r = np.array([state.get(k, (math.nan, None))[0] for k in _STATE_KEYS[:3]], dtype=float)
    v = np.array([state.get(k, (math.nan, None))[0] for k in _STATE_KEYS[3:]], dtype=float)
    cov = None
    axes: tuple[str, ...] = ()
    base = [k for k, i, j in _COV_RTN_KEYS if i < 6]
    if any(k in cov_vals for k in base):
        absent = [k for k in base if k not in cov_vals]
        if absent:
            col.fail(f"{name}: RTN covariance incomplete", None, "all 21 terms CR_R ... CNDOT_NDOT",
                     field_name=absent[0], line=first_line, obj=obj_id)
        n = 6
        for extra, idx in (("DRG", 6), ("SRP", 7), ("THR", 8)):
            row = [f"C{extra}_{COV_RTN_AXES[j]}" for j in range(idx + 1)]
            if any(k in cov_vals for k in row):
                n = idx + 1
        axes = COV_RTN_AXES[:n]
        cov = np.full((n, n), np.nan)
        for k, val in cov_vals.items():
            i, j = _COV_RTN_INDEX[k]
            if i < n and val is not None:
                cov[i, j] = cov[j, i] = val
        # Rows between 6 and n that are absent (e.g. SRP given, DRG not) stay NaN.
    xyz = None
    if xyz_vals:
        absent = [k for k, _, _ in _COV_XYZ_KEYS if k not in xyz_vals]
        if absent:
            col.fail(f"{name}: XYZ covariance incomplete", None, "all 21 terms CX_X ... CZ_DOT_Z_DOT",
                     field_name=absent[0], line=first_line, obj=obj_id)
        xyz = np.full((6, 6), np.nan)
        for k, val in xyz_vals.items():
            i, j = _COV_XYZ_INDEX[k]
            if val is not None:
                xyz[i, j] = xyz[j, i] = val
    if cov is None and xyz is None:
        col.fail(f"{name}: covariance missing", None, "the RTN covariance CR_R ... CNDOT_NDOT",
                 field_name="CR_R", line=first_line, obj=obj_id)
    return CdmObject(
        object=name, metadata=meta, od_parameters=od, additional_parameters=add, r_km=r, v_km_s=v,
        cov_rtn=cov, cov_axes=axes, cov_xyz=xyz, comments=tuple(c for c, _ in comments), line=first_line,
    )
