"""CCSDS Orbit Parameter Message (OPM), KVN and XML, versions 1.0-3.0.

Reference: CCSDS 502.0-B-2 / 502.0-B-3 section 3 (OPM) and its Figure 3-2
example (``../shared/data/ccsds/opm/ccsds502_fig3_2_opm.kvn``).

``parse_opm(text, source=None) -> OpmFile``: one state vector (km, km/s)
with its centre (EARTH, MOON, ...), frame (EME2000, GCRF, ICRF, ...) and
time system (UTC, TDB, ...), the optional osculating Keplerian elements,
spacecraft parameters (mass, SRP area and coefficient, drag area and
coefficient), covariance and any number of maneuvers.

An OPM is one record: if its metadata or state vector cannot be used the
parser raises ``RecordError`` (source, line, field, value, expected).  A bad
maneuver or covariance is rejected alone (``OpmFile.rejections``) and the
rest of the message is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from propagators import timeutil
from astropy.time import Time

from propagators.elements import ParseResult
from propagators.errors import FormatError, RecordError
from propagators.parsing.oem import (
    COVARIANCE_KEYS,
    STATE_FIELDS,
    TIME_SCALES,
    covariance_from_lower,
    epoch_to_isot,
    kvn_lines,
    looks_like_xml,
    parse_epochs,
    xml_tree,
)

SUPPORTED_VERSIONS = ("1.0", "2.0", "3.0")

_META_REQUIRED = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM")
_KEPLER_KEYS = ("SEMI_MAJOR_AXIS", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "TRUE_ANOMALY", "MEAN_ANOMALY", "GM")
_SC_KEYS = ("MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF")
_MAN_KEYS = ("MAN_EPOCH_IGNITION", "MAN_DURATION", "MAN_DELTA_MASS", "MAN_REF_FRAME", "MAN_DV_1", "MAN_DV_2", "MAN_DV_3")
_HEADER_KEYS = ("CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "CLASSIFICATION")
_OTHER_KEYS = ("REF_FRAME_EPOCH", "EPOCH", "COV_REF_FRAME")
_UNITS = {
    "X": "km", "Y": "km", "Z": "km", "X_DOT": "km/s", "Y_DOT": "km/s", "Z_DOT": "km/s",
    "SEMI_MAJOR_AXIS": "km", "INCLINATION": "deg", "RA_OF_ASC_NODE": "deg", "ARG_OF_PERICENTER": "deg",
    "TRUE_ANOMALY": "deg", "MEAN_ANOMALY": "deg", "GM": "km**3/s**2", "ECCENTRICITY": "",
    "MASS": "kg", "SOLAR_RAD_AREA": "m**2", "SOLAR_RAD_COEFF": "", "DRAG_AREA": "m**2", "DRAG_COEFF": "",
    "MAN_DURATION": "s", "MAN_DELTA_MASS": "kg", "MAN_DV_1": "km/s", "MAN_DV_2": "km/s", "MAN_DV_3": "km/s",
}
_EPOCH_EXPECTED = "a CCSDS epoch YYYY-MM-DDThh:mm:ss[.fff] or YYYY-DDDThh:mm:ss[.fff]"


@dataclass(frozen=True)
class OpmKeplerian:
    """Osculating elements as given (informative; the state vector rules)."""

    semi_major_axis_km: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_pericenter_deg: float
    true_anomaly_deg: Optional[float]
    mean_anomaly_deg: Optional[float]
    gm_km3_s2: float


@dataclass(frozen=True)
class OpmManeuver:
    epoch_ignition: Time
    duration_s: float
    delta_mass_kg: float
    ref_frame: str
    dv_km_s: tuple[float, float, float]
    comments: tuple[str, ...] = ()
    line: Optional[int] = None


@dataclass(frozen=True)
class OpmFile:
    version: str
    creation_date: Optional[str]
    originator: Optional[str]
    object_name: str
    object_id: str
    center_name: str
    ref_frame: str
    time_system: str
    epoch: Time  # in the time system's scale
    r_km: np.ndarray  # (3,)
    v_km_s: np.ndarray  # (3,)
    ref_frame_epoch: Optional[str] = None
    message_id: Optional[str] = None
    keplerian: Optional[OpmKeplerian] = None
    mass_kg: Optional[float] = None
    solar_rad_area_m2: Optional[float] = None
    solar_rad_coeff: Optional[float] = None
    drag_area_m2: Optional[float] = None
    drag_coeff: Optional[float] = None
    covariance: Optional[np.ndarray] = None  # (6, 6) km**2, km**2/s, km**2/s**2
    cov_ref_frame: Optional[str] = None
    maneuvers: tuple[OpmManeuver, ...] = ()
    user_defined: dict = field(default_factory=dict)
    comments: tuple[str, ...] = ()
    rejections: tuple[RecordError, ...] = ()
    warnings: tuple[str, ...] = ()
    format: str = "kvn"
    source: Optional[str] = None
    line: Optional[int] = None  # line of EPOCH

    def state_record(self):
        """The state as a ``StateRecord`` (epoch converted to UTC)."""
        from propagators.elements import StateRecord

        return StateRecord(
            timeutil.datetimes_utc(self.epoch)[0], tuple(self.r_km), tuple(self.v_km_s), self.ref_frame, self.center_name
        )

    def state_gcrs(self):
        """(r_gcrs_km, v_gcrs_km_s) geocentric, ICRF axes (DE421 for a Moon centre)."""
        from propagators.ephemeris_objects import state_to_gcrs

        return state_to_gcrs(self.r_km, self.v_km_s, self.epoch, self.center_name, self.ref_frame)


def _flatten_kvn(text: str, source):
    items = list(kvn_lines(text))
    if not items or items[0].key != "CCSDS_OPM_VERS":
        first = items[0].text if items else ""
        raise FormatError(f"not a CCSDS OPM: first line {first!r}, expected 'CCSDS_OPM_VERS = 2.0'", source=source)
    version = items[0].value
    out = []  # (key, value, line)
    for ln in items[1:]:
        if ln.kind == "comment":
            out.append(("COMMENT", ln.value, ln.line))
        elif ln.kind == "kv":
            out.append((ln.key, ln.value, ln.line))
        else:
            out.append(("", ln.text, ln.line))
    return version, out


def _flatten_xml(text: str, source):
    root = xml_tree(text, source)
    if root.tag.lower() == "ndm" and root.find("opm") is not None:
        root = root.find("opm")  # a combined NDM holding one message
    if root.tag.lower() != "opm":
        raise FormatError(f"XML root <{root.tag}> is not <opm>", source=source)
    version = root.attrib.get("version", "").strip()
    out = []

    def walk(node):
        for c in node.children:
            if c.children:
                walk(c)
            elif c.tag == "USER_DEFINED":
                out.append((f"USER_DEFINED_{c.attrib.get('parameter', '')}".upper(), c.text, c.line))
            else:
                out.append((c.tag.upper(), c.text, c.line))

    walk(root)
    return version, out


def parse_opm(text: str, source: Optional[str] = None) -> OpmFile:
    """Parse an OPM (KVN or XML, chosen by content)."""
    fmt = "xml" if looks_like_xml(text) else "kvn"
    version, items = (_flatten_xml if fmt == "xml" else _flatten_kvn)(text, source)
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(f"OPM version {version!r} not supported; expected one of {', '.join(SUPPORTED_VERSIONS)}", source=source)

    values: dict = {}  # KEY -> (value, line), first occurrence
    comments: list[str] = []
    user: dict = {}
    maneuvers_raw: list[dict] = []
    pending_comments: list[str] = []
    warnings: list[str] = []
    rejections: list[RecordError] = []
    known = set(_META_REQUIRED + STATE_FIELDS + _KEPLER_KEYS + _SC_KEYS + _HEADER_KEYS + _OTHER_KEYS + COVARIANCE_KEYS)
    for key, value, line in items:
        if key == "COMMENT":
            comments.append(value)
            pending_comments.append(value)
            continue
        if key == "":
            raise RecordError("unexpected line in OPM", source=source, line=line, field="line", value=value, expected="KEYWORD = value or COMMENT")
        if key.startswith("USER_DEFINED_"):
            user[key[len("USER_DEFINED_"):]] = value
            continue
        if key in _MAN_KEYS:
            if key == "MAN_EPOCH_IGNITION" or not maneuvers_raw:
                maneuvers_raw.append({"line": line, "comments": list(pending_comments)})
            maneuvers_raw[-1][key] = (value, line)
            pending_comments = []
            continue
        pending_comments = []
        if key not in known:
            warnings.append(f"{source or '<opm>'} line {line}: unknown keyword {key} ignored")
            continue
        if key in values:
            raise RecordError("keyword repeated", source=source, line=line, field=key, value=value, expected=f"{key} once (first at line {values[key][1]})")
        values[key] = (value, line)

    object_id = values.get("OBJECT_ID", (None,))[0]

    def need(key):
        if key not in values or values[key][0] == "":
            raise RecordError("required keyword missing", source=source, line=None, field=key, expected=f"{key} = ...", object_id=object_id)
        return values[key]

    def number(key, required=True, store=values):
        if key not in store:
            if required:
                need(key)
            return None
        value, line = store[key]
        try:
            x = float(value)
        except ValueError:
            x = float("nan")
        if not np.isfinite(x):
            raise RecordError("not a finite number", source=source, line=line, field=key, value=value, expected=f"a number{' in ' + _UNITS[key] if _UNITS.get(key) else ''}", object_id=object_id)
        return x

    def epoch(key, ts, store=values):
        value, line = store[key]
        iso = epoch_to_isot(value)
        if iso is not None:
            try:
                return parse_epochs([iso], ts)[0]
            except ValueError:
                pass
        raise RecordError("epoch not readable", source=source, line=line, field=key, value=value, expected=_EPOCH_EXPECTED, object_id=object_id)

    for key in _META_REQUIRED:
        need(key)
    ts_value, ts_line = values["TIME_SYSTEM"]
    ts = ts_value.strip().upper()
    if ts not in TIME_SCALES:
        raise RecordError("unsupported time system", source=source, line=ts_line, field="TIME_SYSTEM", value=ts_value, expected="one of " + ", ".join(TIME_SCALES), object_id=object_id)
    need("EPOCH")
    t_epoch = epoch("EPOCH", ts)
    r = np.array([number(k) for k in STATE_FIELDS[:3]])
    v = np.array([number(k) for k in STATE_FIELDS[3:]])
    r.setflags(write=False)
    v.setflags(write=False)

    kep = None
    if any(k in values for k in _KEPLER_KEYS):
        anomaly = [k for k in ("TRUE_ANOMALY", "MEAN_ANOMALY") if k in values]
        if not anomaly:
            raise RecordError("Keplerian elements without an anomaly", source=source, line=values.get("SEMI_MAJOR_AXIS", (None, None))[1], field="TRUE_ANOMALY", expected="TRUE_ANOMALY or MEAN_ANOMALY", object_id=object_id)
        kep = OpmKeplerian(
            number("SEMI_MAJOR_AXIS"), number("ECCENTRICITY"), number("INCLINATION"), number("RA_OF_ASC_NODE"),
            number("ARG_OF_PERICENTER"), number("TRUE_ANOMALY", False), number("MEAN_ANOMALY", False), number("GM"),
        )

    cov = None
    cov_present = [k for k in COVARIANCE_KEYS if k in values]
    if cov_present:
        missing = [k for k in COVARIANCE_KEYS if k not in values]
        if missing:
            rejections.append(RecordError("covariance incomplete; covariance skipped", source=source, line=values[cov_present[0]][1], field=missing[0], expected="all 21 elements CX_X .. CZ_DOT_Z_DOT", object_id=object_id))
        else:
            elements, bad = [], None
            for k in COVARIANCE_KEYS:
                try:
                    elements.append(float(values[k][0]))
                except ValueError:
                    bad = k
                    break
            if bad is None:
                cov = covariance_from_lower(elements)
            else:
                rejections.append(RecordError("covariance element not a number; covariance skipped", source=source, line=values[bad][1], field=bad, value=values[bad][0], expected="a number", object_id=object_id))

    maneuvers = []
    for m in maneuvers_raw:
        missing = [k for k in _MAN_KEYS if k not in m]
        if missing:
            rejections.append(RecordError("maneuver incomplete; maneuver skipped", source=source, line=m["line"], field=missing[0], expected=", ".join(_MAN_KEYS), object_id=object_id))
            continue
        try:
            store = {k: m[k] for k in _MAN_KEYS}
            maneuvers.append(
                OpmManeuver(
                    epoch_ignition=epoch("MAN_EPOCH_IGNITION", ts, store),
                    duration_s=number("MAN_DURATION", store=store),
                    delta_mass_kg=number("MAN_DELTA_MASS", store=store),
                    ref_frame=m["MAN_REF_FRAME"][0],
                    dv_km_s=(number("MAN_DV_1", store=store), number("MAN_DV_2", store=store), number("MAN_DV_3", store=store)),
                    comments=tuple(m["comments"]),
                    line=m["line"],
                )
            )
        except RecordError as exc:
            rejections.append(exc)

    return OpmFile(
        version=version,
        creation_date=values.get("CREATION_DATE", (None,))[0],
        originator=values.get("ORIGINATOR", (None,))[0],
        object_name=values["OBJECT_NAME"][0],
        object_id=values["OBJECT_ID"][0],
        center_name=values["CENTER_NAME"][0],
        ref_frame=values["REF_FRAME"][0],
        time_system=ts,
        epoch=t_epoch,
        r_km=r,
        v_km_s=v,
        ref_frame_epoch=values.get("REF_FRAME_EPOCH", (None,))[0],
        message_id=values.get("MESSAGE_ID", (None,))[0],
        keplerian=kep,
        mass_kg=number("MASS", False),
        solar_rad_area_m2=number("SOLAR_RAD_AREA", False),
        solar_rad_coeff=number("SOLAR_RAD_COEFF", False),
        drag_area_m2=number("DRAG_AREA", False),
        drag_coeff=number("DRAG_COEFF", False),
        covariance=cov,
        cov_ref_frame=values.get("COV_REF_FRAME", (None,))[0],
        maneuvers=tuple(maneuvers),
        user_defined=user,
        comments=tuple(comments),
        rejections=tuple(rejections),
        warnings=tuple(warnings),
        format=fmt,
        source=source,
        line=values["EPOCH"][1],
    )


def parse_opm_result(text: str, source: Optional[str] = None) -> ParseResult:
    """``parse_opm`` as a ``ParseResult`` (for ``parsing.detect.register_parser``):
    the ``OpmFile`` as the one record, or the ``RecordError`` that refused it."""
    try:
        opm = parse_opm(text, source)
    except RecordError as exc:
        return ParseResult(rejections=[exc])
    return ParseResult(records=[opm], rejections=list(opm.rejections), warnings=list(opm.warnings))
