"""JPL Horizons vector tables in CSV form.

Accepted forms (all seen in ``../shared/data/catalog/horizons_*.csv``):

* Horizons' own output with ``CSV_FORMAT=YES``: header text (``Center body
  name: Moon (301)``, ``Reference frame : ICRF``...), a column line
  (``JDTDB, Calendar Date (TDB), X, Y, Z, VX, VY, VZ, LT, RG, RR,``) and the
  rows between ``$$SOE`` and ``$$EOE``;
* a plain CSV with that column line first and no markers;
* ``#`` comment lines (which may state the centre, e.g. ``center @301``)
  followed by bare ``JDTDB,X,Y,Z,VX,VY,VZ`` rows.

Units are km and km/s (``OUT_UNITS=KM-S``); axes ICRF.  The epoch column is
``JDTDB`` (or ``JDUT``/``JDTT`` when Horizons was asked for those); epochs
are returned as astropy ``Time`` in TDB, kept as two-part Julian dates.

The centre (EARTH, MOON or EARTH-MOON BARYCENTER; Horizons 500@399,
500@301, 500@3) comes, in order, from the ``center`` argument, the header
text, or the file name given as ``source`` (``..._moon-centered_...``,
``..._emb-centered_...``; a warning says so).  If none says, ``FormatError``.
A row that cannot be read (wrong number of fields, a field not a number, an
epoch not after the previous one) is a ``RecordError`` and the other rows
are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import numpy as np

from propagators import timeutil
from astropy.time import Time

from propagators.elements import ParseResult
from propagators.errors import FormatError, RecordError

EARTH, MOON, EMB = "EARTH", "MOON", "EARTH-MOON BARYCENTER"
_NAIF_CENTERS = {399: EARTH, 301: MOON, 3: EMB}
_NAME_CENTERS = {
    "earth": EARTH,
    "geocentric": EARTH,
    "moon": MOON,
    "earth-moon barycenter": EMB,
    "earth-moon barycentre": EMB,
    "earth barycenter": EMB,
    "emb": EMB,
}
_JD_COLUMNS = {"JDTDB": "tdb", "JDUT": "utc", "JDTT": "tt"}
_CALENDAR_AGREEMENT_S = 1e-3  # JD rounding is <= 43 us; beyond 1 ms they disagree
_STATE_COLUMNS = ("X", "Y", "Z", "VX", "VY", "VZ")
_UNITS = {"X": "km", "Y": "km", "Z": "km", "VX": "km/s", "VY": "km/s", "VZ": "km/s"}


@dataclass(frozen=True)
class HorizonsTable:
    """One Horizons vector table, epochs in TDB, centre and ICRF axes."""

    center: str  # EARTH, MOON or EARTH-MOON BARYCENTER
    frame: str  # "ICRF"
    epochs: Time  # TDB
    r_km: np.ndarray  # (n, 3)
    v_km_s: np.ndarray  # (n, 3)
    target: Optional[str] = None
    lines: Optional[np.ndarray] = None
    rejections: tuple[RecordError, ...] = ()
    warnings: tuple[str, ...] = ()
    source: Optional[str] = None

    def __len__(self) -> int:
        return int(self.r_km.shape[0])

    def state_records(self):
        from propagators.elements import StateRecord

        dts = timeutil.datetimes_utc(self.epochs)
        return [StateRecord(dts[i], tuple(self.r_km[i]), tuple(self.v_km_s[i]), self.frame, self.center) for i in range(len(self))]


def normalise_center(text: str) -> Optional[str]:
    """'@301', '500@3', '301', 'Moon', 'Earth-Moon Barycenter' -> canonical name."""
    s = text.strip().strip("'\"").lower()
    m = re.fullmatch(r"(?:\d*@)?(-?\d+)", s)
    if m:
        return _NAIF_CENTERS.get(int(m.group(1)))
    return _NAME_CENTERS.get(s)


_CENTER_PATTERNS = (
    re.compile(r"Center body name\s*:\s*(.+?)\s*\((-?\d+)\)", re.IGNORECASE),
    re.compile(r"cent(?:er|re)\s*[=:]?\s*'?\s*(\d*@-?\d+)", re.IGNORECASE),
)
_TARGET_RE = re.compile(r"Target body name\s*:\s*(.+?)\s*(?:\{|$)", re.IGNORECASE | re.MULTILINE)
_SOURCE_HINTS = (("emb-cent", EMB), ("moon-cent", MOON), ("earth-cent", EARTH), ("500@3_", EMB), ("@301", MOON), ("@399", EARTH))


def _center_from_header(header: str) -> Optional[str]:
    m = _CENTER_PATTERNS[0].search(header)
    if m:
        return _NAIF_CENTERS.get(int(m.group(2))) or normalise_center(m.group(1))
    m = _CENTER_PATTERNS[1].search(header)
    if m:
        return normalise_center(m.group(1))
    return None


def _split_jd(text: str) -> tuple[float, float]:
    """'2459580.500694444' -> (2459580.0, 0.500694444) without rounding the sum."""
    s = text.strip()
    if "." in s and "e" not in s.lower():
        whole, frac = s.split(".", 1)
        return float(whole), float("0." + frac) * (-1.0 if whole.startswith("-") else 1.0)
    x = float(s)
    return float(np.floor(x)), x - float(np.floor(x))


_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_CAL_RE = re.compile(r"^A\.D\.\s+(\d{4})-([A-Za-z]{3})-(\d{2})\s+(\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$")


def _calendar_isot(text: str) -> Optional[str]:
    """'A.D. 2022-Nov-23 01:03:00.0000' -> '2022-11-23T01:03:00.0000' (None if not that form)."""
    m = _CAL_RE.match(text.strip())
    if not m or m.group(2).upper() not in _MONTHS:
        return None
    y, mon, d, hh, mm, ss = m.groups()
    return f"{y}-{_MONTHS[mon.upper()]:02d}-{d}T{hh}:{mm}:{ss}"


def parse_horizons(text: str, source: Optional[str] = None, center: Optional[str] = None) -> HorizonsTable:
    """Parse a Horizons CSV vector table (see the module docstring)."""
    lines = text.splitlines()
    header_lines: list[str] = []
    columns: Optional[list[str]] = None
    start = 0
    soe = next((i for i, l in enumerate(lines) if l.strip() == "$$SOE"), None)
    if soe is not None:
        eoe = next((i for i in range(soe + 1, len(lines)) if lines[i].strip() == "$$EOE"), len(lines))
        header_lines = lines[:soe]
        for l in reversed(header_lines):
            if "," in l and re.search(r"\bJD(TDB|UT|TT)\b", l):
                columns = [c.strip() for c in l.split(",")]
                break
        body = list(enumerate(lines[soe + 1 : eoe], start=soe + 2))
    else:
        body = []
        for i, l in enumerate(lines, start=1):
            s = l.strip()
            if not s:
                continue
            if s.startswith("#") or (columns is None and not body and not s[0].isdigit() and not s.startswith("-")):
                if columns is None and re.match(r"^JD(TDB|UT|TT)\s*,", s):
                    columns = [c.strip() for c in s.split(",")]
                else:
                    header_lines.append(s.lstrip("#"))
                continue
            body.append((i, l))
    header = "\n".join(header_lines)

    # --- centre
    warnings: list[str] = []
    found = _center_from_header(header)
    chosen = None
    if center is not None:
        chosen = normalise_center(center)
        if chosen is None:
            raise FormatError(f"centre {center!r} not supported; expected Earth (500@399), Moon (500@301) or Earth-Moon barycentre (500@3)", source=source)
        if found is not None and found != chosen:
            raise FormatError(f"centre {center!r} given but the header says {found}", source=source)
    elif found is not None:
        chosen = found
    elif source:
        low = str(source).lower()
        for hint, name in _SOURCE_HINTS:
            if hint in low:
                chosen = name
                warnings.append(f"{source}: centre {name} taken from the file name; the table does not state it")
                break
    if chosen is None:
        raise FormatError(
            "the table does not state its centre; pass center='500@399' (Earth), '500@301' (Moon) or '500@3' (Earth-Moon barycentre)",
            source=source,
        )
    m = _TARGET_RE.search(header)
    target = m.group(1).strip() if m else None

    # --- columns
    if columns is not None:
        columns = [c for c in columns if c != ""]
        upper = [c.upper().split("(")[0].strip() for c in columns]
        jd_name = next((c for c in upper if c in _JD_COLUMNS), None)
        missing = [c for c in _STATE_COLUMNS if c not in upper]
        if jd_name is None or missing:
            raise FormatError(f"column line {', '.join(columns)} lacks {missing or 'JDTDB'}; expected JDTDB, X, Y, Z, VX, VY, VZ", source=source)
        idx_jd = upper.index(jd_name)
        idx = [upper.index(c) for c in _STATE_COLUMNS]
        n_cols = len(upper)
        scale = _JD_COLUMNS[jd_name]
        cal_tag = f"({jd_name[2:]})"
        idx_cal = next((i for i, c in enumerate(columns) if c.upper().startswith("CALENDAR DATE") and cal_tag in c.upper()), None)
    else:
        idx_jd, idx, n_cols, scale, idx_cal = 0, list(range(1, 7)), None, "tdb", None

    rejections: list[RecordError] = []
    jd1, jd2, rows, line_numbers, calendars = [], [], [], [], []
    last = None
    for line_no, raw in body:
        s = raw.strip()
        if not s:
            continue
        fields = [f.strip() for f in s.split(",")]
        if fields and fields[-1] == "":
            fields = fields[:-1]
        if n_cols is None:
            # Bare rows: JDTDB,X,Y,Z,VX,VY,VZ, or with a calendar column after the JD.
            cal_text = None
            if len(fields) >= 8 and fields[1].upper().startswith(("A.D.", "B.C.")):
                cal_text = fields[1]
                fields = [fields[0]] + fields[2:]
            expected_n = 7
            ok = len(fields) in (7, 10)
        else:
            expected_n = n_cols
            ok = len(fields) == n_cols
        if not ok:
            rejections.append(RecordError("wrong number of fields", source=source, line=line_no, field="row", value=s, expected=f"{expected_n} comma-separated fields (JDTDB, X, Y, Z km, VX, VY, VZ km/s)"))
            continue
        try:
            a, b = _split_jd(fields[idx_jd])
        except ValueError:
            rejections.append(RecordError("Julian date not a number", source=source, line=line_no, field="JD" + scale.upper(), value=fields[idx_jd], expected="a Julian date such as 2459580.500000000"))
            continue
        values = []
        for name, k in zip(_STATE_COLUMNS, idx):
            try:
                x = float(fields[k])
            except ValueError:
                x = float("nan")
            if not np.isfinite(x):
                break
            values.append(x)
        if len(values) != 6:
            name = _STATE_COLUMNS[len(values)]
            rejections.append(RecordError("field is not a finite number", source=source, line=line_no, field=name, value=fields[idx[len(values)]], expected=f"a number in {_UNITS[name]}"))
            continue
        if last is not None and (a - last[0]) + (b - last[1]) <= 0.0:
            rejections.append(RecordError("epochs not increasing", source=source, line=line_no, field="JD" + scale.upper(), value=fields[idx_jd], expected=f"a Julian date after {last[2]} (line {last[3]})"))
            continue
        last = (a, b, fields[idx_jd], line_no)
        if n_cols is not None:
            cal_text = fields[idx_cal] if idx_cal is not None else None
        calendars.append(_calendar_isot(cal_text) if cal_text else None)
        jd1.append(a)
        jd2.append(b)
        rows.append(values)
        line_numbers.append(line_no)
    if not rows and not rejections:
        raise FormatError("no vector rows found; expected a Horizons CSV vector table (JDTDB, X, Y, Z, VX, VY, VZ)", source=source)

    epochs = Time(np.array(jd1), np.array(jd2), format="jd", scale=scale)
    if calendars and all(c is not None for c in calendars):
        # Horizons prints JD to 1e-9 day (86 us) but the calendar date to
        # 0.1 ms and exactly on a requested grid: prefer it when they agree.
        t_cal = Time(calendars, format="isot", scale=scale)
        gap_s = np.abs((t_cal - epochs).sec)
        if np.all(gap_s < _CALENDAR_AGREEMENT_S):
            epochs = t_cal
        else:
            i = int(np.argmax(gap_s))
            warnings.append(f"{source or '<horizons>'} line {line_numbers[i]}: calendar date and JD differ by {gap_s[i]:.3g} s; JD used")
    epochs = epochs.tdb
    arr = np.array(rows, dtype=float).reshape(len(rows), 6)
    r_km, v_km_s = arr[:, :3].copy(), arr[:, 3:].copy()
    for a in (r_km, v_km_s):
        a.setflags(write=False)
    return HorizonsTable(
        center=chosen,
        frame="ICRF",
        epochs=epochs,
        r_km=r_km,
        v_km_s=v_km_s,
        target=target,
        lines=np.array(line_numbers, dtype=int),
        rejections=tuple(rejections),
        warnings=tuple(warnings),
        source=source,
    )


def parse_horizons_result(text: str, source: Optional[str] = None) -> ParseResult:
    """``parse_horizons`` as a ``ParseResult`` (for ``parsing.detect.register_parser``):
    the ``HorizonsTable`` as the one record, rejected rows as rejections."""
    table = parse_horizons(text, source)
    return ParseResult(records=[table] if len(table) else [], rejections=list(table.rejections), warnings=list(table.warnings))
