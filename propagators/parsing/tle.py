"""Two-line element sets (TLE), in 2-line and 3-line (name line) form.

The format is the fixed-column card layout of the Space-Track / CelesTrak TLE
documentation; python-sgp4 shows it as a template in ``sgp4/io.py``::

    1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNN
    2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNN

Every record is validated (checksums, column layout, matching satellite
numbers, element ranges, characters) and a bad record becomes a
``RecordError`` in ``ParseResult.rejections`` while the rest of the text is
still read.  The checks are no stricter than python-sgp4's ``twoline2rv``
for real published data: Vallado's ``SGP4-VER.TLE`` parses without a
rejection (see ``checksums`` below for its three crafted error-code records).

Values keep the units of ``MeanElements`` (degrees, rev/day); conversion to
radians happens in the propagator.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Literal

from propagators.elements import MeanElements, ParseResult
from propagators.errors import RecordError

LINE1_LAYOUT = "1 NNNNNC NNNNNAAA NNNNN.NNNNNNNN +.NNNNNNNN +NNNNN-N +NNNNN-N N NNNNN"
LINE2_LAYOUT = "2 NNNNN NNN.NNNN NNN.NNNN NNNNNNN NNN.NNNN NNN.NNNN NN.NNNNNNNNNNNNNN"
TLE_LINE_COLUMNS = 69

ChecksumPolicy = Literal["reject", "warn"]

# Fixed characters of each line: (0-based index, allowed characters, field).
# A separator blank belongs to the field before it.  python-sgp4's
# ``twoline2rv`` checks the same positions (plus column 18 and the mean
# motion decimal point here, which every published TLE has).
_LINE1_FIXED = (
    (1, " ", "line_number"),
    (8, " ", "classification"),
    (17, " ", "intl_designator"),
    (23, ".", "epoch_day"),
    (32, " ", "epoch_day"),
    (34, ".", "mean_motion_dot"),
    (43, " ", "mean_motion_dot"),
    (52, " ", "mean_motion_ddot"),
    (61, " ", "bstar"),
    (63, " ", "ephemeris_type"),
)
_LINE2_FIXED = (
    (1, " ", "line_number"),
    (7, " ", "satellite_number"),
    (11, ".", "inclination"),
    (16, " ", "inclination"),
    (20, ".", "raan"),
    (25, " ", "raan"),
    (33, " ", "eccentricity"),
    (37, ".", "arg_perigee"),
    (42, " ", "arg_perigee"),
    (46, ".", "mean_anomaly"),
    (51, " ", "mean_anomaly"),
    (54, ".", "mean_motion"),
)

# Field slices (0-based, end exclusive), content pattern and what a person
# should see as the expectation.
_SATNUM_RE = r"(?: {0,4}\d{1,5}|[A-HJ-NP-Z]\d{4})"  # digits, or Alpha-5 (no I, O)
_ANGLE_RE = r" *[+-]?\d{1,3}\.\d+ *"
_EXP_RE = r"[ +-]\d{5}[ +-]\d"  # +NNNNN-N: mantissa with implied leading point
_LINE1_FIELDS = (
    ("satellite_number", 2, 7, _SATNUM_RE, "5 digits, or Alpha-5 (letter other than I/O + 4 digits)"),
    ("classification", 7, 8, r"[UCS ]", "U, C or S"),
    ("intl_designator", 9, 17, r"(?:\d{2}\d{3}[A-Z]{1,3} *| *)", "YYNNNPPP (year, launch number, piece) or blank"),
    ("epoch_year", 18, 20, r"\d\d", "two-digit year"),
    ("epoch_day", 20, 32, r" *\d{1,3}\.\d+ *", "day of year with fraction, DDD.DDDDDDDD"),
    ("mean_motion_dot", 33, 43, r"[ +-]\.\d+ *", "+.NNNNNNNN (rev/day^2)"),
    ("mean_motion_ddot", 44, 52, _EXP_RE, "+NNNNN-N (implied leading decimal point)"),
    ("bstar", 53, 61, _EXP_RE, "+NNNNN-N (implied leading decimal point)"),
    ("ephemeris_type", 62, 63, r"[\d ]", "one digit"),
    ("element_set_no", 64, 68, r" *\d*", "up to 4 digits"),
)
_LINE2_FIELDS = (
    ("satellite_number", 2, 7, _SATNUM_RE, "5 digits, or Alpha-5 (letter other than I/O + 4 digits)"),
    ("inclination", 8, 16, _ANGLE_RE, "NNN.NNNN degrees, 0 <= i <= 180"),
    ("raan", 17, 25, _ANGLE_RE, "NNN.NNNN degrees, 0 <= RAAN < 360"),
    (
        "eccentricity",
        26,
        33,
        r"[\d ]*\d[\d ]*",
        "7 digits with an implied leading decimal point (so 0 <= e < 1; e >= 1 cannot be written in a TLE)",
    ),
    ("arg_perigee", 34, 42, _ANGLE_RE, "NNN.NNNN degrees, 0 <= argp < 360"),
    ("mean_anomaly", 43, 51, _ANGLE_RE, "NNN.NNNN degrees, 0 <= M < 360"),
    ("mean_motion", 52, 63, r" *[+-]?\d{1,2}\.\d+ *", "NN.NNNNNNNN rev/day, > 0"),
    ("rev_at_epoch", 63, 68, r" *\d*", "up to 5 digits"),
)

# Ranges shared with the OMM parser: canonical name -> (test, expectation).
ELEMENT_RANGES = {
    "eccentricity": (lambda v: 0.0 <= v < 1.0, "0 <= e < 1"),
    "inclination_deg": (lambda v: 0.0 <= v <= 180.0, "0 <= i <= 180 deg"),
    "raan_deg": (lambda v: 0.0 <= v < 360.0, "0 <= RAAN < 360 deg"),
    "arg_perigee_deg": (lambda v: 0.0 <= v < 360.0, "0 <= argument of perigee < 360 deg"),
    "mean_anomaly_deg": (lambda v: 0.0 <= v < 360.0, "0 <= mean anomaly < 360 deg"),
    "mean_motion_rev_day": (lambda v: v > 0.0, "mean motion > 0 rev/day"),
}


def range_violation(values: dict[str, float]) -> tuple[str, float, str] | None:
    """First element outside its valid range, as (canonical name, value,
    expectation), or None.  NaN fails every test."""
    for key, (ok, expected) in ELEMENT_RANGES.items():
        if key in values and not ok(values[key]):
            return key, values[key], expected
    return None


def year_from_two_digits(yy: int) -> int:
    """TLE convention (python-sgp4, Vallado): 57-99 -> 19xx, 00-56 -> 20xx."""
    return 1900 + yy if yy >= 57 else 2000 + yy


def tle_checksum(line: str) -> int:
    """Modulo-10 sum of the digits of columns 1-68, each '-' counting 1."""
    return sum(int(c) if c.isdigit() else (c == "-") for c in line[:68]) % 10


def with_checksum(line: str) -> str:
    """``line`` padded/trimmed to 68 columns with its correct checksum."""
    body = line[:68].ljust(68)
    return body + str(tle_checksum(body))


def norad_from_satnum(text: str) -> int:
    """Catalogue number from the 5-column field, Alpha-5 included ("A0001" -> 100001)."""
    from sgp4.alpha5 import from_alpha5

    return from_alpha5(text.strip())


def intl_designator_iso(text: str) -> str | None:
    """"98067A  " -> "1998-067A"; blank -> None."""
    text = text.strip()
    if not text:
        return None
    return f"{year_from_two_digits(int(text[:2]))}-{text[2:5]}{text[5:]}"


def _bad_character(line: str) -> tuple[int, str] | None:
    for idx, ch in enumerate(line):
        if not " " <= ch <= "~":
            return idx, ch
    return None


def _pointer(line: str, idx: int, layout: str) -> str:
    """The expected layout over the given line with a caret at ``idx``, as
    python-sgp4's TLE format error shows it."""
    return f"\n    layout: {layout}\n    given:  {line}\n            {' ' * idx}^"


class _LineError(Exception):
    """Internal: one failed check inside a record (turned into RecordError)."""

    def __init__(self, reason: str, which: int, field: str, value: object, expected: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.which = which  # 0 name line, 1 line 1, 2 line 2
        self.field = field
        self.value = value
        self.expected = expected


def _check_line(line: str, which: int) -> None:
    """Characters, line number, fixed columns, length of one element line."""
    layout = LINE1_LAYOUT if which == 1 else LINE2_LAYOUT
    bad = _bad_character(line)
    if bad is not None:
        idx, ch = bad
        raise _LineError(
            f"TLE line {which} has a non-ASCII or control character in column {idx + 1}",
            which,
            "characters",
            ch,
            "printable ASCII (0x20-0x7E) only",
        )
    if line[:1] != str(which):
        raise _LineError(
            f"TLE line {which} does not start with its line number",
            which,
            "line_number",
            line[:1],
            f"'{which}' in column 1" + _pointer(line, 0, layout),
        )
    fixed = _LINE1_FIXED if which == 1 else _LINE2_FIXED
    for idx, char, field in fixed:
        if idx < len(line) and line[idx] != char:
            what = "a blank" if char == " " else repr(char)
            spans = _LINE1_FIELDS if which == 1 else _LINE2_FIELDS
            value = next((line[a:b] for n, a, b, _, _ in spans if n == field), line[idx])
            raise _LineError(
                f"TLE line {which} columns do not match the TLE layout at column {idx + 1}",
                which,
                field,
                value,
                f"{what} in column {idx + 1}" + _pointer(line, idx, layout),
            )
    if len(line) < TLE_LINE_COLUMNS:
        raise _LineError(
            f"TLE line {which} is {len(line)} columns long",
            which,
            "line_length",
            len(line),
            f"{TLE_LINE_COLUMNS} columns, the last one the checksum" + _pointer(line, len(line), layout),
        )
    if which == 1 and line[TLE_LINE_COLUMNS:].strip():
        raise _LineError(
            f"TLE line 1 has text after column {TLE_LINE_COLUMNS}",
            which,
            "line_length",
            len(line),
            f"{TLE_LINE_COLUMNS} columns (only line 2 may carry trailing verification columns)"
            + _pointer(line, TLE_LINE_COLUMNS, layout),
        )


def _fields(line: str, which: int) -> dict[str, str]:
    spans = _LINE1_FIELDS if which == 1 else _LINE2_FIELDS
    layout = LINE1_LAYOUT if which == 1 else LINE2_LAYOUT
    out = {}
    for name, a, b, pattern, expected in spans:
        text = line[a:b]
        if not re.fullmatch(pattern, text):
            raise _LineError(
                f"TLE line {which} field {name} (columns {a + 1}-{b}) is not in TLE form",
                which,
                name,
                text,
                expected + _pointer(line, a, layout),
            )
        out[name] = text
    return out


def _exp_field(text: str) -> float:
    """'-30915-6' -> -0.30915e-6 (implied leading decimal point)."""
    return float(text[0].strip() + "." + text[1:6]) * 10.0 ** int(text[6:8])


def _epoch(year: int, day_text: str) -> datetime:
    """Exact to the microsecond: the day fraction is read as a decimal."""
    whole, _, frac = day_text.strip().partition(".")
    day_fraction = Fraction(int(frac or "0"), 10 ** len(frac))
    micro = round(day_fraction * 86_400_000_000)
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=int(whole) - 1, microseconds=micro)


def _trailing_extra(trailing: str) -> dict:
    trailing = trailing.strip()
    if not trailing:
        return {}
    extra: dict = {"line2_trailing": trailing}
    parts = trailing.split()
    if len(parts) == 3:
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            return extra
        extra.update(vallado_start_min=start, vallado_stop_min=stop, vallado_step_min=step)
    return extra


def _elements_from_lines(
    line1: str,
    line2: str,
    *,
    name: str | None = None,
    checksums: ChecksumPolicy = "reject",
    warnings: list[str] | None = None,
) -> MeanElements:
    """Validate one TLE and build its ``MeanElements``.

    Raises ``_LineError`` (internal; ``parse_tle_lines`` turns it into a
    located ``RecordError``).
    """
    line1 = line1.rstrip()
    line2 = line2.rstrip()
    _check_line(line1, 1)
    _check_line(line2, 2)
    # Verification cases in Vallado's format (start/stop/step minutes after
    # column 69 of line 2, AIAA 2006-6753 SGP4-VER.TLE) include records whose
    # satellite number was edited without updating the checksum (33333-33335):
    # they exist to exercise SGP4's error codes, so for them a stale checksum
    # is a warning, never a rejection.  Operational TLEs carry no such columns.
    verification_case = "vallado_step_min" in _trailing_extra(line2[69:])
    for which, line in ((1, line1), (2, line2)):
        given, computed = line[68], tle_checksum(line)
        if given != str(computed):
            if checksums == "reject" and not verification_case:
                raise _LineError(
                    f"TLE line {which} checksum does not match its contents",
                    which,
                    "checksum",
                    given,
                    f"{computed} (modulo-10 sum of the digits of columns 1-68, '-' counting 1)",
                )
            if warnings is not None:
                note = " (verification case: not enforced)" if verification_case else ""
                warnings.append(f"TLE line {which} checksum is {given}, contents tally to {computed}{note}")
    f1 = _fields(line1, 1)
    f2 = _fields(line2, 2)
    if f1["satellite_number"].strip() != f2["satellite_number"].strip():
        raise _LineError(
            "satellite numbers of lines 1 and 2 differ",
            2,
            "satellite_number",
            f2["satellite_number"],
            f"{f1['satellite_number']!r}, the number on line 1",
        )
    year = year_from_two_digits(int(f1["epoch_year"]))
    day = float(f1["epoch_day"])
    if not 1.0 <= day < 367.0:
        # Day 366.x of a non-leap year occurs in published data (python-sgp4
        # handles it as the next 1 January); it is accepted for that reason.
        raise _LineError(
            "epoch day of year out of range",
            1,
            "epoch_day",
            f1["epoch_day"].strip(),
            "1 <= day of year < 367",
        )
    if f1["ephemeris_type"] == "4":
        raise _LineError(
            "ephemeris type 4 is SGP4-XP, which plain SGP4 cannot propagate",
            1,
            "ephemeris_type",
            "4",
            "0 (SGP4 mean elements)",
        )
    values = {
        "eccentricity": float("0." + f2["eccentricity"].replace(" ", "0")),
        "inclination_deg": float(f2["inclination"]),
        "raan_deg": float(f2["raan"]),
        "arg_perigee_deg": float(f2["arg_perigee"]),
        "mean_anomaly_deg": float(f2["mean_anomaly"]),
        "mean_motion_rev_day": float(f2["mean_motion"]),
    }
    bad = range_violation(values)
    if bad is not None:
        key, value, expected = bad
        tle_name = {
            "eccentricity": "eccentricity",
            "inclination_deg": "inclination",
            "raan_deg": "raan",
            "arg_perigee_deg": "arg_perigee",
            "mean_anomaly_deg": "mean_anomaly",
            "mean_motion_rev_day": "mean_motion",
        }[key]
        raise _LineError(f"{tle_name} out of range", 2, tle_name, value, expected)
    return MeanElements(
        format="tle",
        norad_id=norad_from_satnum(f1["satellite_number"]),
        epoch_utc=_epoch(year, f1["epoch_day"]),
        mean_motion_rev_day=values["mean_motion_rev_day"],
        eccentricity=values["eccentricity"],
        inclination_deg=values["inclination_deg"],
        raan_deg=values["raan_deg"],
        arg_perigee_deg=values["arg_perigee_deg"],
        mean_anomaly_deg=values["mean_anomaly_deg"],
        bstar_per_earth_radius=_exp_field(f1["bstar"]),
        mean_motion_dot_rev_day2=float(f1["mean_motion_dot"]),
        mean_motion_ddot_rev_day3=_exp_field(f1["mean_motion_ddot"]),
        name=name,
        intl_designator=intl_designator_iso(f1["intl_designator"]),
        classification=f1["classification"].strip() or "U",
        element_set_no=int(f1["element_set_no"].strip() or 0),
        rev_at_epoch=int(f2["rev_at_epoch"].strip() or 0),
        ephemeris_type=int(f1["ephemeris_type"].strip() or 0),
        line1=line1[:TLE_LINE_COLUMNS],
        line2=line2[:TLE_LINE_COLUMNS],
        extra=_trailing_extra(line2[TLE_LINE_COLUMNS:]),
    )


def object_label(line1: str | None, name: str | None) -> str | None:
    """Best identification of a record for error messages."""
    if line1 is not None and len(line1) >= 7 and re.fullmatch(_SATNUM_RE, line1[2:7]):
        return str(norad_from_satnum(line1[2:7]))
    return name


def parse_tle_lines(
    line1: str,
    line2: str,
    name: str | None = None,
    *,
    source: str | None = None,
    record: int | None = None,
    line_numbers: tuple[int | None, int | None, int | None] = (None, None, None),
    checksums: ChecksumPolicy = "reject",
    warnings: list[str] | None = None,
) -> MeanElements:
    """Validate one TLE (two lines plus optional name) into ``MeanElements``.

    Raises ``RecordError`` located by ``source``, ``record`` and
    ``line_numbers`` (of the name line, line 1, line 2) at the offending
    line.  ``parse_tle_text`` and the packaged-JSON reader both use it, so
    their validation is identical.
    """
    try:
        return _elements_from_lines(line1, line2, name=name, checksums=checksums, warnings=warnings)
    except _LineError as exc:
        raise RecordError(
            exc.reason,
            source=source,
            line=line_numbers[exc.which],
            record=record,
            field=exc.field,
            value=exc.value,
            expected=exc.expected,
            object_id=object_label(line1, name),
        ) from None


# ----------------------------------------------------------------------------
# Text with many records


_SKIP_RE = re.compile(r"^\s*(#.*)?$")
_ELEMENT_START_RE = re.compile(r"^[12] [ A-Z\d]\d{4}")


def _kind(line: str) -> str:
    """'1', '2', 'element' (element-like line with a wrong line number) or 'name'."""
    if _ELEMENT_START_RE.match(line) or (line[:2] in ("1 ", "2 ") and len(line.rstrip()) >= 60):
        return line[0]
    if len(line.rstrip()) >= 60:
        return "element"
    return "name"


def _name_from_line(line: str) -> str:
    text = line.strip()
    if text.startswith("0 "):
        text = text[2:].strip()
    return text


def _name_problem(line: str) -> tuple[int, str] | None:
    """Name lines may hold any printable text (Unicode included) but no
    control characters and no U+FFFD left by a failed decode."""
    for idx, ch in enumerate(line):
        if ch == "\ufffd" or not ch.isprintable():
            return idx, ch
    return None


def parse_tle_text(
    text: str,
    source: str | None = None,
    *,
    checksums: ChecksumPolicy = "reject",
) -> ParseResult:
    """Parse TLEs in 2-line and/or 3-line form from ``text``.

    Blank lines and lines starting with ``#`` are skipped.  A name line may
    start with ``"0 "`` (CelesTrak/Space-Track 3LE).  Each rejected record is
    a ``RecordError`` whose ``line`` is the offending line; the rest of the
    text is still parsed.

    ``checksums="warn"`` accepts lines whose checksum does not tally and
    reports each in ``ParseResult.warnings`` instead.  Vallado's
    ``SGP4-VER.TLE`` needs it: its error-code records 33333-33335 are copies
    of other records with the satellite number edited and the checksum left
    as it was.
    """
    if checksums not in ("reject", "warn"):
        raise ValueError(f"checksums={checksums!r}: expected 'reject' or 'warn'")
    result = ParseResult()
    text = text[1:] if text.startswith("\ufeff") else text
    items = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1) if not _SKIP_RE.match(ln)]

    def reject(reason, line_no, field, value, expected, object_id=None):
        result.rejections.append(
            RecordError(
                reason,
                source=source,
                line=line_no,
                field=field,
                value=value,
                expected=expected,
                object_id=object_id,
            )
        )

    k = 0
    while k < len(items):
        name_item = None
        if _kind(items[k][1]) == "name":
            name_item = items[k]
            next_kind = _kind(items[k + 1][1]) if k + 1 < len(items) else None
            bad = _name_problem(name_item[1])
            if bad is not None:
                # A stray line of garbage: reject it alone, so that a 2-line
                # record after it is still read.
                reject(
                    f"line is neither a TLE line nor a name line: character {bad[1]!r} in column {bad[0] + 1}",
                    name_item[0],
                    "characters",
                    bad[1],
                    "a name line (printable text) or a TLE line",
                )
                k += 1
                continue
            if next_kind not in ("1", "2", "element"):
                reject(
                    "name line without its TLE lines 1 and 2 (truncated record)",
                    name_item[0],
                    "line1",
                    None if k + 1 >= len(items) else items[k + 1][1],
                    "TLE line 1 on the line after the name line",
                    object_id=_name_from_line(name_item[1]) or None,
                )
                k += 1
                continue
            k += 1
        first_no, first = items[k]
        first_kind = _kind(first)
        name = _name_from_line(name_item[1]) if name_item else None
        if first_kind == "2":
            reject(
                "TLE line 2 without its line 1",
                first_no,
                "line1",
                None,
                "TLE line 1 before line 2",
                object_id=object_label(first, name),
            )
            k += 1
            continue
        second_kind = _kind(items[k + 1][1]) if k + 1 < len(items) else None
        if second_kind not in ("2", "element"):
            reject(
                "TLE line 1 without its line 2 (truncated record)",
                first_no,
                "line2",
                None if k + 1 >= len(items) else items[k + 1][1],
                "TLE line 2 on the line after line 1",
                object_id=object_label(first, name),
            )
            k += 1
            continue
        second_no, second = items[k + 1]
        k += 2
        record_lines = ([name_item] if name_item else []) + [(first_no, first), (second_no, second)]
        line_of = {0: name_item[0] if name_item else first_no, 1: first_no, 2: second_no}
        label = object_label(first, name)
        warnings: list[str] = []
        try:
            me = parse_tle_lines(
                first,
                second,
                name,
                source=source,
                line_numbers=(line_of[0], first_no, second_no),
                checksums=checksums,
                warnings=warnings,
            )
        except RecordError as exc:
            result.rejections.append(exc)
            continue
        for w in warnings:
            where = f"{source}, " if source else ""
            result.warnings.append(f"{where}line {first_no}: object {label}: {w}")
        result.records.append(replace(me, raw_text="\n".join(ln for _, ln in record_lines), line=line_of[0]))
    return result

