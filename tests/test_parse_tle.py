"""TLE parser: real files parse cleanly, crafted bad records are rejected
with the right location, and the values equal python-sgp4's reading."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sgp4.api import WGS72, Satrec

from propagators.datadir import packaged_tle_json_path, vallado_tle_path
from propagators.errors import RecordError
from propagators.parsing.detect import parse_element_text, parse_packaged_tle_json, sniff_format
from propagators.parsing.tle import LINE2_LAYOUT, parse_tle_lines, parse_tle_text

# python-sgp4's unit conversions (sgp4/io.py twoline2rv).
XPDOTP_MIN_PER_REV = 1440.0 / (2.0 * math.pi)
DEG_TO_RAD = math.pi / 180.0
one_microsecond_s = 1e-6
relative_float_tolerance = 1e-12  # the brief's requirement: same decimal text, same double to ~1 ulp


def fix_checksum(line: str) -> str:
    """Test helper, written independently of the parser: 68 columns plus the
    modulo-10 sum of digits ('-' counts 1)."""
    body = line[:68].ljust(68)
    total = sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in body)
    return body + str(total % 10)


# ISS from the CelesTrak stations snapshot of 2026-08-22 (checksums as published).
ISS_NAME = "ISS (ZARYA)"
ISS_L1 = "1 25544U 98067A   26234.50053383  .00009133  00000+0  17025-3 0  9997"
ISS_L2 = "2 25544  51.6331 331.8814 0007668  72.6488 287.5339 15.49570248582031"
# Vallado SGP4-VER.TLE record 00005 (TEME example), as a 2-line record.
V5_L1 = "1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753"
V5_L2 = "2 00005  34.2682 348.7242 1859667 331.7664  19.3264 10.82419157413667"


def test_iss_constants_are_the_published_lines(data_dir: Path) -> None:
    text = (data_dir / "catalog" / "celestrak_stations_2026-08-22.txt").read_text()
    assert ISS_L1 in text and ISS_L2 in text


def batch(bad_lines: list[str]) -> tuple[str, int]:
    """Good 3-line ISS, then the bad lines, then good 2-line 00005.
    Returns the text and the 1-based line number of the first bad line."""
    lines = ["# crafted batch", ISS_NAME, ISS_L1, ISS_L2, *bad_lines, V5_L1, V5_L2]
    return "\n".join(lines) + "\n", 5


def assert_good_ones_survive(result) -> None:
    assert [r.norad_id for r in result.records] == [25544, 5]
    assert result.records[0].name == ISS_NAME
    assert result.records[0].line == 2
    assert result.records[1].name is None


def only_rejection(result) -> RecordError:
    assert len(result.rejections) == 1, [str(e) for e in result.rejections]
    return result.rejections[0]


# ---------------------------------------------------------------------------
# Good records


def test_three_line_two_line_mixed_with_comments_blanks_crlf_and_zero_names() -> None:
    text = "\r\n".join(["# header", "", "0 " + ISS_NAME, ISS_L1, ISS_L2, "", "# two-line:", V5_L1, V5_L2 + "   "])
    result = parse_tle_text(text, source="mixed.tle")
    assert result.rejections == []
    iss, v5 = result.records
    assert (iss.name, iss.line, iss.format) == (ISS_NAME, 3, "tle")
    assert iss.raw_text.splitlines() == ["0 " + ISS_NAME, ISS_L1, ISS_L2]
    assert (iss.line1, iss.line2) == (ISS_L1, ISS_L2)
    assert iss.intl_designator == "1998-067A"
    assert iss.epoch_utc.tzinfo is timezone.utc
    assert (v5.name, v5.line, v5.intl_designator) == (None, 8, "1958-002B")
    assert v5.line2 == V5_L2 and len(v5.line2) == 69


def test_values_and_units_of_one_record() -> None:
    me = parse_tle_lines(ISS_L1, ISS_L2, ISS_NAME)
    assert me.norad_id == 25544
    assert me.classification == "U"
    assert me.mean_motion_rev_day == 15.49570248
    assert me.eccentricity == 0.0007668
    assert me.inclination_deg == 51.6331
    assert me.raan_deg == 331.8814
    assert me.arg_perigee_deg == 72.6488
    assert me.mean_anomaly_deg == 287.5339
    assert me.bstar_per_earth_radius == pytest.approx(0.17025e-3, rel=relative_float_tolerance)
    assert me.mean_motion_dot_rev_day2 == 0.00009133
    assert me.mean_motion_ddot_rev_day3 == 0.0
    assert (me.element_set_no, me.rev_at_epoch, me.ephemeris_type) == (999, 58203, 0)
    # 2026 day 234.50053383 = 22 Aug 12:00:46.122912 exactly (decimal day, microseconds)
    assert me.epoch_utc == datetime(2026, 8, 22, 12, 0, 46, 122912, tzinfo=timezone.utc)


def test_two_digit_year_pivot_and_intl_designator() -> None:
    l1_1957 = fix_checksum("1 00002U 57001B   57300.00000000  .00000000  00000-0  00000-0 0  9990")
    l2_1957 = fix_checksum("2 00002  65.1000  10.0000 0500000  10.0000  20.0000 14.00000000    10")
    me = parse_tle_lines(l1_1957, l2_1957)
    assert me.epoch_utc.year == 1957 and me.intl_designator == "1957-001B"
    l1_2056 = fix_checksum(l1_1957.replace("57001B   57300", "56001ABC 56001"))
    me = parse_tle_lines(l1_2056, l2_1957)
    assert me.epoch_utc == datetime(2056, 1, 1, tzinfo=timezone.utc)
    assert me.intl_designator == "2056-001ABC"


def test_alpha5_catalogue_number() -> None:
    l1 = fix_checksum(ISS_L1.replace("25544U", "A0001U"))
    l2 = fix_checksum(ISS_L2.replace("2 25544", "2 A0001"))
    me = parse_tle_lines(l1, l2)
    assert me.norad_id == 100001
    assert Satrec.twoline2rv(l1, l2, WGS72).satnum == 100001
    z = parse_tle_lines(fix_checksum(l1.replace("A0001U", "Z9999U")), fix_checksum(l2.replace("A0001", "Z9999")))
    assert z.norad_id == 339999


def test_vallado_verification_file_parses_without_rejection() -> None:
    """SGP4-VER.TLE (Vallado et al., AIAA 2006-6753, shipped with python-sgp4).

    Its error-code records 33333, 33334 and 33335 are copies of 28872, 26975
    and 28626 with the satellite number edited and the old checksums kept:
    five lines whose checksums do not tally.  Records that carry Vallado's
    start/stop/step columns are verification cases, so with the default
    policy those stale checksums are reported as warnings, not rejections.
    """
    text = vallado_tle_path().read_text()
    n_objects = sum(1 for line in text.splitlines() if line.startswith("1 "))
    result = parse_tle_text(text, source="SGP4-VER.TLE")
    assert result.rejections == []
    assert len(result.records) == n_objects == 33
    assert len(result.warnings) == 5
    assert all(("object 3333" in w and "checksum" in w and "verification case" in w) for w in result.warnings)
    first = result.records[0]
    assert first.extra["vallado_start_min"] == 0.0
    assert first.extra["vallado_stop_min"] == 4320.0
    assert first.extra["vallado_step_min"] == 360.0
    by_id = {r.norad_id: r for r in result.records}
    assert by_id[11801].intl_designator is None  # blank designator, blank ephemeris type
    assert by_id[29141].intl_designator == "1985-108AA"
    assert by_id[33333].eccentricity == 0.995  # odd cases are SGP4's to flag, not the parser's
    assert by_id[33334].mean_motion_rev_day == 0.00001
    assert_equal_to_sgp4(result.records)

    # The same records without the verification columns are operational
    # TLEs, whose stale checksums are rejected.
    plain = "\n".join(line[:69] for line in text.splitlines())
    strict = parse_tle_text(plain, source="SGP4-VER.TLE")
    assert sorted(e.object_id for e in strict.rejections) == ["33333", "33334", "33335"]
    assert {e.field for e in strict.rejections} == {"checksum"}
    assert len(strict.records) == 30


def assert_equal_to_sgp4(records) -> None:
    """Each record's values, converted as python-sgp4 does, equal what
    ``Satrec.twoline2rv`` reads from the same lines."""
    j2000 = datetime(2000, 1, 1, 12, tzinfo=timezone.utc)
    for me in records:
        sat = Satrec.twoline2rv(me.line1, me.line2, WGS72)
        label = f"object {me.norad_id} line {me.line}"
        assert sat.satnum == me.norad_id, label
        pairs = [
            (sat.no_kozai, me.mean_motion_rev_day / XPDOTP_MIN_PER_REV),
            (sat.ecco, me.eccentricity),
            (sat.inclo, me.inclination_deg * DEG_TO_RAD),
            (sat.nodeo, me.raan_deg * DEG_TO_RAD),
            (sat.argpo, me.arg_perigee_deg * DEG_TO_RAD),
            (sat.mo, me.mean_anomaly_deg * DEG_TO_RAD),
            (sat.bstar, me.bstar_per_earth_radius),
            (sat.ndot, me.mean_motion_dot_rev_day2 / (XPDOTP_MIN_PER_REV * 1440.0)),
            (sat.nddot, me.mean_motion_ddot_rev_day3 / (XPDOTP_MIN_PER_REV * 1440.0 * 1440.0)),
        ]
        for theirs, ours in pairs:
            assert ours == pytest.approx(theirs, rel=relative_float_tolerance, abs=0.0), label
        days_from_j2000 = (me.epoch_utc - j2000).total_seconds() / 86400.0
        sgp4_jd = sat.jdsatepoch + sat.jdsatepochF
        assert days_from_j2000 + 2451545.0 == pytest.approx(sgp4_jd, rel=relative_float_tolerance, abs=0.0), label
        # Tighter than the relative check: the epochs agree to the microsecond.
        sgp4_days_from_j2000 = (sat.jdsatepoch - 2451545.0) + sat.jdsatepochF
        assert abs(days_from_j2000 - sgp4_days_from_j2000) * 86400.0 < one_microsecond_s, label


def catalog_files(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "catalog").glob("*.txt"))
    assert files, "no catalog/*.txt in the shared data"
    return files


def test_every_catalog_file_parses_without_rejection(data_dir: Path) -> None:
    for path in catalog_files(data_dir):
        text = path.read_text()
        n_objects = sum(1 for line in text.splitlines() if line.startswith("1 "))
        result = parse_element_text(text, source=path.name)
        assert result.rejections == [], path.name
        assert result.warnings == [], path.name
        assert len(result.records) == n_objects > 0, path.name
        assert all(r.name for r in result.records), path.name  # all are 3-line files
        assert all(r.line == 1 + 3 * i for i, r in enumerate(result.records)), path.name


def test_geo_snapshot_has_568_objects_equal_to_sgp4_reading(data_dir: Path) -> None:
    # 568 counted from the file (1704 lines = 568 name/line1/line2 triples).
    text = (data_dir / "catalog" / "celestrak_geo_2026-08-22.txt").read_text()
    assert len(text.splitlines()) == 1704
    result = parse_tle_text(text, source="celestrak_geo_2026-08-22.txt")
    assert result.rejections == []
    assert len(result.records) == 568
    assert len({r.norad_id for r in result.records}) == 568
    assert_equal_to_sgp4(result.records)


def test_packaged_json_parses_through_the_tle_validation() -> None:
    text = packaged_tle_json_path().read_text()
    assert sniff_format(text, "satellites_default.json") == "packaged-tle-json"
    result = parse_packaged_tle_json(text, source="satellites_default.json")
    assert result.rejections == []
    assert len(result.records) == 152
    assert [r.record for r in result.records] == list(range(1, 153))
    assert all(r.format == "tle" and r.name for r in result.records)
    assert_equal_to_sgp4(result.records)
    assert len(parse_element_text(text, source="satellites_default.json").records) == 152


def test_packaged_json_bad_record_is_located_by_index() -> None:
    bad_l2 = fix_checksum(ISS_L2.replace(" 51.6331", "190.0000"))
    text = (
        '[{"name": "ISS", "type": "tle", "line1": "%s", "line2": "%s"},'
        ' {"name": "BAD", "type": "tle", "line1": "%s", "line2": "%s"},'
        ' {"name": "V5", "type": "tle", "line1": "%s", "line2": "%s"}]'
    ) % (ISS_L1, ISS_L2, ISS_L1, bad_l2, V5_L1, V5_L2)
    result = parse_packaged_tle_json(text, source="pkg.json")
    assert [r.norad_id for r in result.records] == [25544, 5]
    err = only_rejection(result)
    assert (err.record, err.field, err.value, err.source) == (2, "inclination", 190.0, "pkg.json")


# ---------------------------------------------------------------------------
# Crafted bad records, each between two good ones


def test_bad_checksum() -> None:
    bad_l1 = ISS_L1[:64] + " 998" + ISS_L1[68]  # element set number edited, checksum left
    text, bad_line = batch(["BAD CHECKSUM", bad_l1, ISS_L2])
    result = parse_tle_text(text, source="crafted.tle")
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert err.field == "checksum"
    assert err.value == "7"
    assert err.expected.startswith("6 ")
    assert err.line == bad_line + 1
    assert (err.source, err.object_id) == ("crafted.tle", "25544")
    assert "crafted.tle, line 6" in str(err)


def test_shifted_columns_show_the_layout() -> None:
    shifted = fix_checksum(ISS_L2[:8] + " " + ISS_L2[8:67])  # everything after col 8 one to the right
    assert len(shifted) == 69
    text, bad_line = batch(["SHIFTED", ISS_L1, shifted])
    err = only_rejection(parse_tle_text(text))
    assert err.field == "inclination"
    assert err.value == shifted[8:16]
    assert err.line == bad_line + 2
    assert "'.' in column 12" in err.expected
    assert LINE2_LAYOUT in err.expected and shifted in err.expected


def test_eccentricity_one_or_more_cannot_be_written() -> None:
    # The TLE field has an implied leading decimal point; "1.00000" is the
    # only way to write e >= 1 in its 7 columns, and it is not TLE form.
    bad_l2 = fix_checksum(ISS_L2[:26] + "1.00000" + ISS_L2[33:])
    text, bad_line = batch(["E ONE", ISS_L1, bad_l2])
    result = parse_tle_text(text)
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.line) == ("eccentricity", "1.00000", bad_line + 2)
    assert "0 <= e < 1" in err.expected


@pytest.mark.parametrize(
    ("columns", "text", "field", "value", "expected"),
    [
        ((8, 16), "190.0000", "inclination", 190.0, "0 <= i <= 180 deg"),
        ((8, 16), "180.0001", "inclination", 180.0001, "0 <= i <= 180 deg"),
        ((17, 25), "360.0000", "raan", 360.0, "0 <= RAAN < 360 deg"),
        ((34, 42), "-10.0000", "arg_perigee", -10.0, "0 <= argument of perigee < 360 deg"),
        ((43, 51), "400.0000", "mean_anomaly", 400.0, "0 <= mean anomaly < 360 deg"),
        ((52, 63), " 0.00000000", "mean_motion", 0.0, "mean motion > 0 rev/day"),
    ],
)
def test_line2_ranges(columns, text, field, value, expected) -> None:
    a, b = columns
    bad_l2 = fix_checksum(ISS_L2[:a] + text + ISS_L2[b:])
    batch_text, bad_line = batch(["OUT OF RANGE", ISS_L1, bad_l2])
    result = parse_tle_text(batch_text)
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.expected, err.line) == (field, value, expected, bad_line + 2)


def test_inclination_180_is_accepted() -> None:
    me = parse_tle_lines(ISS_L1, fix_checksum(ISS_L2[:8] + "180.0000" + ISS_L2[16:]))
    assert me.inclination_deg == 180.0


def test_epoch_day_out_of_range() -> None:
    bad_l1 = fix_checksum(ISS_L1[:20] + "400.50053383" + ISS_L1[32:])
    text, bad_line = batch(["DAY 400", bad_l1, ISS_L2])
    err = only_rejection(parse_tle_text(text))
    assert (err.field, err.value, err.line) == ("epoch_day", "400.50053383", bad_line + 1)
    assert err.expected == "1 <= day of year < 367"


def test_mismatched_satellite_numbers() -> None:
    bad_l2 = fix_checksum(ISS_L2.replace("2 25544", "2 25545"))
    text, bad_line = batch(["MISMATCH", ISS_L1, bad_l2])
    result = parse_tle_text(text)
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.line) == ("satellite_number", "25545", bad_line + 2)
    assert "'25544'" in err.expected


def test_wrong_line_number_in_column_1() -> None:
    bad_l1 = fix_checksum("3" + ISS_L1[1:])
    text, bad_line = batch(["WRONG NUMBER", bad_l1, ISS_L2])
    result = parse_tle_text(text)
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.line) == ("line_number", "3", bad_line + 1)
    assert err.expected.startswith("'1' in column 1")


def test_non_ascii_character_in_an_element_line() -> None:
    bad_l1 = ISS_L1[:30] + "\u00e9" + ISS_L1[31:]
    text, bad_line = batch(["ACCENT", bad_l1, ISS_L2])
    result = parse_tle_text(text)
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.line) == ("characters", "\u00e9", bad_line + 1)
    assert "printable ASCII" in err.expected


def test_garbage_bytes_line_between_records() -> None:
    good_iss = "\n".join(["# crafted batch", ISS_NAME, ISS_L1, ISS_L2, ""]).encode()
    raw = good_iss + b"\x00\x9f\xfe\x07junk\n" + f"{V5_L1}\n{V5_L2}\n".encode()
    result = parse_element_text(raw, source="garbage.tle")
    assert_good_ones_survive(result)
    err = only_rejection(result)
    assert (err.field, err.value, err.line, err.source) == ("characters", "\x00", 5, "garbage.tle")


def test_truncated_record_in_the_middle_and_at_the_end() -> None:
    text, bad_line = batch(["TRUNCATED", ISS_L1])
    result = parse_tle_text(text + "LAST ONE\n" + ISS_L1 + "\n")
    assert_good_ones_survive(result)
    middle, end = result.rejections
    assert (middle.field, middle.line, middle.value) == ("line2", bad_line + 1, V5_L1)
    assert middle.expected == "TLE line 2 on the line after line 1"
    assert (end.field, end.line, end.value) == ("line2", bad_line + 5, None)


def test_line2_without_line1_and_name_without_lines() -> None:
    text, bad_line = batch(["ORPHAN NAME", "ANOTHER NAME", ISS_L2])
    result = parse_tle_text(text)
    assert_good_ones_survive(result)
    orphan_name, orphan_l2 = result.rejections
    assert (orphan_name.field, orphan_name.line) == ("line1", bad_line)
    assert (orphan_l2.field, orphan_l2.line) == ("line1", bad_line + 2)


def test_short_line_and_text_after_column_69_on_line_1() -> None:
    text, bad_line = batch(["SHORT", ISS_L1[:66], ISS_L2, "LONG", ISS_L1 + " 12", ISS_L2])
    result = parse_tle_text(text)
    assert [r.norad_id for r in result.records] == [25544, 5]
    short, long = result.rejections
    assert (short.field, short.value, short.line) == ("line_length", 66, bad_line + 1)
    assert (long.field, long.value, long.line) == ("line_length", 72, bad_line + 4)


def test_line2_trailing_text_is_kept_not_rejected() -> None:
    me = parse_tle_lines(ISS_L1, ISS_L2 + "  some note")
    assert me.line2 == ISS_L2
    assert me.extra == {"line2_trailing": "some note"}
