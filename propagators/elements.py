"""Immutable records that parsers produce and propagators consume.

``MeanElements`` is one SGP4/SDP4 element set (from a TLE or an OMM), in the
units the formats use (degrees, revolutions per day), with its provenance.
``StateRecord`` is one Cartesian state (from an OEM, OPM or Horizons table).
Parsers return them together with ``RecordError``s for rejected records
(``ParseResult``), so a bad record never stops the rest of a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from propagators.errors import RecordError


@dataclass(frozen=True)
class MeanElements:
    """One SGP4 mean element set (TEME, Kozai/Brouwer as SGP4 expects)."""

    format: str  # "tle", "omm-kvn", "omm-xml", "omm-json", "omm-csv"
    norad_id: int
    epoch_utc: datetime  # aware UTC
    mean_motion_rev_day: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    bstar_per_earth_radius: float
    mean_motion_dot_rev_day2: float = 0.0  # first derivative / 2 as in the TLE
    mean_motion_ddot_rev_day3: float = 0.0  # second derivative / 6 as in the TLE
    name: Optional[str] = None
    intl_designator: Optional[str] = None  # "1998-067A"
    classification: str = "U"
    element_set_no: int = 0
    rev_at_epoch: int = 0
    ephemeris_type: int = 0
    line1: Optional[str] = None  # TLE only (trimmed to 69 columns)
    line2: Optional[str] = None
    raw_text: str = ""  # the record exactly as read
    line: Optional[int] = None  # 1-based line in the source where it starts
    record: Optional[int] = None  # 1-based record index (JSON/CSV/XML)
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class StateRecord:
    """One Cartesian state vector with its frame, centre and time scale."""

    epoch_utc: datetime
    r_km: tuple[float, float, float]
    v_km_s: tuple[float, float, float]
    frame: str  # "GCRS", "ICRF", "EME2000", "TEME", "ITRS"...
    center: str  # "EARTH", "MOON", "EARTH-MOON BARYCENTER"


@dataclass
class ParseResult:
    """What a parser found in one input: good records and rejections."""

    records: list = field(default_factory=list)
    rejections: list[RecordError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: "ParseResult") -> None:
        self.records.extend(other.records)
        self.rejections.extend(other.rejections)
        self.warnings.extend(other.warnings)
