"""Write a CCSDS Conjunction Data Message (CDM 2.0, KVN) for one conjunction.

``format_cdm_kvn(conjunction, ...)`` returns the text; ``write_cdm(path,
...)`` writes it. Numbers are written with 17 significant digits so that
``propagators.parsing.cdm.parse_cdm`` reads back the same floats (states km,
km/s; covariance converted to the CDM's m^2, m^2/s, m^2/s^2 in each
object's RTN frame, built from its inertial state as the reader assumes).

Relative metadata: TCA, MISS_DISTANCE, RELATIVE_SPEED, relative position
and velocity of OBJECT2 with respect to OBJECT1 in OBJECT1's RTN frame
(m, m/s), and, with a ``PcResult``, COLLISION_PROBABILITY and its method
(SANA registry names where one exists: FOSTER-1992, CHAN-2003,
ALFANO-MAX-PROBABILITY; otherwise a descriptive name). The combined
hard-body radius goes into a relative-metadata comment ``HBR = x [m]``
(CARA's convention, read back by the parser).

``REF_FRAME``: GCRS states are written as ``GCRF`` (the CCSDS name of the
same frame); EME2000 as EME2000.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Optional

import numpy as np

from propagators.timeutil import iso_z, require_utc

__all__ = ["format_cdm_kvn", "write_cdm", "PC_METHOD_NAMES"]

PC_METHOD_NAMES = {
    "foster": "FOSTER-1992",
    "elrod": "ELROD-2019",
    "chan": "CHAN-2003",
    "hall3d": "HALL-2021",
    "maxpc": "ALFANO-MAX-PROBABILITY",
    "mc": "MONTE-CARLO-LINEAR",
}
_FRAME_NAMES = {"GCRS": "GCRF", "GCRF": "GCRF", "EME2000": "EME2000", "ICRF": "ICRF"}
_COV_AXES = ("R", "T", "N", "RDOT", "TDOT", "NDOT")
_COV_UNITS = {0: "m**2", 1: "m**2/s", 2: "m**2/s**2"}


def _num(x: float) -> str:
    return repr(float(x)) if math.isfinite(float(x)) else "NaN"


def _cdm_time(t: datetime) -> str:
    return iso_z(require_utc(t)).rstrip("Z")


def _line(key: str, value, unit: Optional[str] = None) -> str:
    text = f"{key:<36} = {value}"
    return text + (f" [{unit}]" if unit else "")


def format_cdm_kvn(
    conjunction,
    *,
    originator: str,
    message_id: str,
    creation_date: datetime,
    pc_result=None,
    message_for: Optional[str] = None,
    objects: Optional[tuple[dict, dict]] = None,
    comments: tuple[str, ...] = (),
) -> str:
    """CDM 2.0 KVN text for a :class:`~propagators.screening.pc.Conjunction`.

    ``objects``: optional metadata for OBJECT1/OBJECT2 (keys such as
    ``OBJECT_DESIGNATOR``, ``OBJECT_NAME``, ``INTERNATIONAL_DESIGNATOR``,
    ``CATALOG_NAME``, ``OBJECT_TYPE``, ``MANEUVERABLE``, ``COVARIANCE_METHOD``);
    missing mandatory ones are written as ``UNKNOWN`` / ``NONE`` /
    ``CALCULATED`` / ``N/A``. Both covariances must be known (3x3 is padded
    with zero velocity terms): a CDM without covariance is not valid.
    """
    from propagators.screening.encounter import encounter_geometry, inertial_to_rtn_cov

    conj = conjunction
    if conj.tca is None:
        raise ValueError("conjunction has no TCA: a CDM needs one")
    r1, v1, r2, v2 = (np.asarray(x, float) for x in (conj.r1_km, conj.v1_km_s, conj.r2_km, conj.v2_km_s))
    covs = []
    for c, name in ((conj.cov1_km, conj.object1), (conj.cov2_km, conj.object2)):
        if c is None:
            raise ValueError(f"{name}: no covariance; a CDM must carry one (use default_covariance_rtn)")
        c = np.asarray(c, float)
        if c.shape[0] < 6:
            full = np.zeros((6, 6))
            full[:3, :3] = c[:3, :3]
            c = full
        covs.append(c[:6, :6])
    geom = encounter_geometry(r1, v1, r2, v2, covs[0], covs[1])
    frame = _FRAME_NAMES.get(conj.frame.upper(), conj.frame.upper())
    out = [
        _line("CCSDS_CDM_VERS", "2.0"),
        _line("CREATION_DATE", _cdm_time(creation_date)),
        _line("ORIGINATOR", originator),
    ]
    if message_for:
        out.append(_line("MESSAGE_FOR", message_for))
    out.append(_line("MESSAGE_ID", message_id))
    for c in comments:
        out.append(f"COMMENT {c}")
    hbr = conj.hbr_m
    if pc_result is not None:
        hbr = pc_result.hbr_m
    if hbr is not None:
        out.append(f"COMMENT HBR = {_num(hbr)} [m]")
    out += [
        _line("TCA", _cdm_time(conj.tca)),
        _line("MISS_DISTANCE", _num(float(geom.miss_km) * 1e3), "m"),
    ]
    if geom.mahalanobis is not None and np.isfinite(geom.mahalanobis):
        out.append(_line("MAHALANOBIS_DISTANCE", _num(float(geom.mahalanobis))))
    out.append(_line("RELATIVE_SPEED", _num(float(geom.relative_speed_km_s) * 1e3), "m/s"))
    for k, val in zip("RTN", geom.miss_rtn_km):
        out.append(_line(f"RELATIVE_POSITION_{k}", _num(val * 1e3), "m"))
    for k, val in zip("RTN", geom.relative_velocity_rtn_km_s):
        out.append(_line(f"RELATIVE_VELOCITY_{k}", _num(val * 1e3), "m/s"))
    out.append(_line("APPROACH_ANGLE", _num(math.degrees(float(geom.approach_angle_rad))), "deg"))
    if pc_result is not None and math.isfinite(pc_result.pc):
        out.append(_line("COLLISION_PROBABILITY", _num(pc_result.pc)))
        out.append(_line("COLLISION_PROBABILITY_METHOD", PC_METHOD_NAMES.get(pc_result.method, pc_result.method.upper())))
    meta = objects or ({}, {})
    for idx, (r, v, c, label, extra) in enumerate(
        ((r1, v1, covs[0], conj.object1, meta[0]), (r2, v2, covs[1], conj.object2, meta[1])), start=1
    ):
        m = {
            "OBJECT_DESIGNATOR": "UNKNOWN",
            "CATALOG_NAME": "UNKNOWN",
            "OBJECT_NAME": label,
            "INTERNATIONAL_DESIGNATOR": "UNKNOWN",
            "EPHEMERIS_NAME": "NONE",
            "COVARIANCE_METHOD": "CALCULATED",
            "MANEUVERABLE": "N/A",
        }
        m.update({k.upper(): str(v_) for k, v_ in extra.items()})
        out.append(_line("OBJECT", f"OBJECT{idx}"))
        for key in ("OBJECT_DESIGNATOR", "CATALOG_NAME", "OBJECT_NAME", "INTERNATIONAL_DESIGNATOR"):
            out.append(_line(key, m.pop(key)))
        if "OBJECT_TYPE" in m:
            out.append(_line("OBJECT_TYPE", m.pop("OBJECT_TYPE")))
        for key in ("EPHEMERIS_NAME", "COVARIANCE_METHOD", "MANEUVERABLE"):
            out.append(_line(key, m.pop(key)))
        out.append(_line("REF_FRAME", frame))
        m.pop("REF_FRAME", None)
        for key, val in m.items():
            out.append(_line(key, val))
        for key, val, unit in zip(("X", "Y", "Z"), r, ("km",) * 3):
            out.append(_line(key, _num(val), unit))
        for key, val in zip(("X_DOT", "Y_DOT", "Z_DOT"), v):
            out.append(_line(key, _num(val), "km/s"))
        c_rtn = inertial_to_rtn_cov(c, r, v) * 1e6  # km^2 -> m^2
        for i, row in enumerate(_COV_AXES):
            for j in range(i + 1):
                unit = _COV_UNITS[(i >= 3) + (j >= 3)]
                out.append(_line(f"C{row}_{_COV_AXES[j]}", _num(c_rtn[i, j]), unit))
    return "\n".join(out) + "\n"


def write_cdm(path, conjunction, **kwargs) -> Path:
    """Write ``format_cdm_kvn(conjunction, **kwargs)`` to ``path``."""
    p = Path(path)
    p.write_text(format_cdm_kvn(conjunction, **kwargs), encoding="utf-8")
    return p
