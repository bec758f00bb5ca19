"""CCSDS OEM / OPM, JPL Horizons vector tables and table-defined objects.

Sources:
* CCSDS 502.0-B-2/-B-3 (Orbit Data Messages): OEM Fig. G-11 example
  (ccsds502_b3_figG11_example.oem), OPM Fig. 3-2 (ccsds502_fig3_2_opm.kvn);
  bradsease/oem samples GEO_60s.oem and v2_0/valid/sample04.oem
  (../shared/data/ccsds/MANIFEST.md).
* JPL Horizons vector tables (../shared/data/catalog/MANIFEST.md): LRO
  COMMAND=-85 CENTER=@301; Artemis I, Moon and Earth with CENTER=500@3.

Measured interpolation errors (leave-one-out, see the tests):
* Artemis I, coast 2022-11-23 01:03..23:03 TDB, nodes every 4 h (6 nodes),
  evaluated at the 5 left-out 2 h samples: Lagrange (6 nodes) 12.4 m and
  3.7e-7 km/s; Hermite degree 7 (4 nodes) 5.9 mm and 1.3e-9 km/s.  (With the
  JDTDB column, rounded to 1e-9 day = 86 us, Hermite stalls at 5.5 cm; the
  parser therefore takes the calendar column, exact on the 2 h grid.)
* GEO_60s.oem, nodes every 120 s, Lagrange degree 5 (the file's), 30
  left-out samples: 1.75e-9 km, 1.3e-13 km/s.
* Horizons Earth (EMB-centred) moved to the geocentre with DE421: 7.9e-5 km
  (DE421 vs Horizons' DE44x Earth-EMB offset); Horizons Moon vs DE421 Moon:
  5.3e-3 km, 1.5e-8 km/s.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from astropy.time import Time, TimeDelta

from propagators.ccsds_write import oem_segment, oem_segments_from_states, write_oem
from propagators.ephemeris_objects import (
    EPHEMERIS_STATUS,
    STATUS_AFTER_SPAN,
    STATUS_BEFORE_SPAN,
    STATUS_OK,
    EphemerisObject,
    evaluate,
    objects_from_oem,
    state_to_gcrs,
)
from propagators.errors import EphemerisRangeError, FormatError, RecordError
from propagators.frames_cislunar import eme2000_to_gcrs_matrix, gcrs_to_mci, moon_state_gcrs
from propagators.parsing.horizons import parse_horizons, parse_horizons_result
from propagators.parsing.oem import parse_oem, parse_oem_result
from propagators.parsing.opm import parse_opm, parse_opm_result

# Named tolerances
exact_km = 0.0
one_nanosecond_s = 1e-9
half_microsecond_s = 5e-7
artemis_lagrange_km = 0.025  # measured 12.4 m (degree-5 polynomial over 20 h of a lunar-perturbed coast)
artemis_lagrange_km_s = 1e-6  # measured 3.7e-7 km/s
artemis_hermite_km = 0.02  # measured 5.9 mm; 2 cm leaves room for the table's 16-digit rounding
artemis_hermite_km_s = 1e-8  # measured 1.3e-9 km/s
geo_lagrange_km = 1e-8  # 10 micrometres; measured 1.75e-9 km
geo_lagrange_km_s = 1e-12  # measured 1.3e-13 km/s
earth_de421_vs_horizons_km = 1e-3  # 1 m; measured 7.9e-5 km
moon_de421_vs_horizons_km = 0.02  # 20 m; measured 5.3 m
moon_de421_vs_horizons_km_s = 1e-7  # measured 1.5e-8 km/s
one_micrometre_km = 1e-9
one_nanometre_per_s_km_s = 1e-12

CREATION = datetime(2026, 8, 22, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def oem_dir(data_dir) -> Path:
    return data_dir / "ccsds" / "oem"


@pytest.fixture(scope="module")
def catalog_dir(data_dir) -> Path:
    return data_dir / "catalog"


def _read(path: Path):
    return path.read_text(), path.name


# ---------------------------------------------------------------------------
# OEM samples
# ---------------------------------------------------------------------------


def test_every_sample_oem_parses_without_rejection(oem_dir):
    paths = sorted(oem_dir.glob("*.oem"))
    assert len(paths) == 3
    for p in paths:
        oem = parse_oem(*_read(p))
        assert oem.rejections == (), p.name
        assert oem.segments, p.name
        for seg in oem.segments:
            assert len(seg) == seg.r_km.shape[0] == seg.v_km_s.shape[0] == len(seg.epochs) == len(seg.lines)


def test_oem_fig_g11_two_segments(oem_dir):
    oem = parse_oem(*_read(oem_dir / "ccsds502_b3_figG11_example.oem"))
    assert (oem.version, oem.originator, oem.creation_date, oem.format) == ("3.0", "NASA/JPL", "1996-11-04T17:22:31", "kvn")
    assert [len(s) for s in oem.segments] == [4, 4]
    md = oem.segments[0].metadata
    assert (md.object_name, md.object_id, md.center_name, md.ref_frame, md.time_system) == (
        "MARS GLOBAL SURVEYOR", "1996-062A", "MARS BARYCENTER", "EME2000", "UTC",
    )
    assert (md.interpolation, md.interpolation_degree) == ("HERMITE", 7)
    assert md.useable_start_time.isot == "2019-12-18T12:10:00.331000000"
    assert md.stop_time.isot == "2019-12-28T21:28:00.331000000"
    assert oem.segments[0].comments[1] == "to be used for DSN scheduling purposes only."
    assert oem.segments[0].lines.tolist() == [21, 22, 23, 24]
    np.testing.assert_array_equal(oem.segments[0].r_km[0], [2789.619, -280.045, -1746.755])
    np.testing.assert_array_equal(oem.segments[1].r_km[0], [-2432.166, -63.042, 1742.754])  # "-063.042"
    np.testing.assert_array_equal(oem.segments[1].v_km_s[-1], [-3.53328, -2.88452, 0.88535])
    assert oem.segments[1].comments == ("This block begins after trajectory correction maneuver TCM-3.",)


def test_oem_covariance_blocks(oem_dir):
    oem = parse_oem(*_read(oem_dir / "oempy_v2_sample04_with_covariance.oem"))
    assert oem.comments == ("Valid example of a double data/covariance block",)
    assert [len(s.covariances) for s in oem.segments] == [2, 2]
    cov = oem.segments[0].covariances[0]
    assert cov.epoch.isot == "1996-12-18T21:29:07.267000000"
    assert cov.ref_frame == "EME2000"
    assert cov.matrix[0, 0] == 3.3313494e-04
    assert cov.matrix[5, 5] == 6.2244443e-10
    assert cov.matrix[1, 0] == cov.matrix[0, 1] == 4.6189273e-04
    assert cov.matrix[5, 0] == cov.matrix[0, 5] == -3.0413460e-07
    np.testing.assert_array_equal(cov.matrix, cov.matrix.T)
    assert oem.segments[1].covariances[1].epoch.isot == "1997-01-19T21:00:00.000000000"


def test_oem_geo_sample_values(oem_dir):
    oem = parse_oem(*_read(oem_dir / "oempy_GEO_60s.oem"))
    seg = oem.segments[0]
    assert len(seg) == 61
    assert (seg.metadata.center_name, seg.metadata.ref_frame, seg.metadata.interpolation, seg.metadata.interpolation_degree) == ("Earth", "ICRF", "LAGRANGE", 5)
    assert seg.r_km[0, 0] == 4.200243572628212e04
    assert seg.v_km_s[-1, 2] == 7.472247131914804e-04
    assert seg.epochs.scale == "utc"
    assert np.all(np.diff(seg.epochs.jd2 + (seg.epochs.jd1 - seg.epochs.jd1[0])) > 0)


# ---------------------------------------------------------------------------
# OEM rejections: one bad line never loses the rest of the segment
# ---------------------------------------------------------------------------

_SMALL_OEM = """CCSDS_OEM_VERS = 2.0
CREATION_DATE = 2026-08-22T00:00:00
ORIGINATOR = TEST
META_START
OBJECT_NAME = SAT
OBJECT_ID = 2026-001A
CENTER_NAME = EARTH
REF_FRAME = GCRF
TIME_SYSTEM = {ts}
START_TIME = 2026-08-22T00:00:00
STOP_TIME = 2026-08-22T00:05:00
META_STOP
2026-08-22T00:00:00 7000.0 0.0 0.0 0.0 7.5 0.0
2026-08-22T00:01:00 6999.0 450.0 0.0 -0.5 7.49 0.0
2026-08-22T00:02:00 6996.0 900.0 0.0 -1.0 7.47 0.0
2026-08-22T00:03:00 6991.0 1350.0 0.0 -1.5 7.44 0.0 0.001 0.002 0.003
2026-08-22T00:04:00 6984.0 1800.0 0.0 -2.0 7.40 0.0
"""


def test_bad_data_lines_are_rejected_and_the_rest_kept():
    lines = _SMALL_OEM.format(ts="UTC").splitlines()
    lines[13] = "2026-08-22T00:01:00 6999.0 450.0 0.0 -0.5 7.49"  # 6 fields
    lines[14] = "2026-08-22T00:02:00 6996.0 9OO.0 0.0 -1.0 7.47 0.0"  # letter O in Y
    lines.insert(16, "2026-08-22T00:02:30 6996.0 900.0 0.0 -1.0 7.47 0.0")  # earlier than 00:03 -> not increasing
    lines.append("2026-08-22T00:06:00 6975.0 2250.0 0.0 -2.5 7.35 0.0")  # after STOP_TIME
    lines.append("2026-08-22T00:05:00 6975.0 2250.0 0.0 -2.5 7.35 0.0")  # fine: on STOP_TIME
    oem = parse_oem("\n".join(lines), source="bad.oem")
    seg = oem.segments[0]
    assert [e.isot[11:19] for e in seg.epochs] == ["00:00:00", "00:03:00", "00:04:00", "00:05:00"]
    errors = {e.line: e for e in oem.rejections}
    assert sorted(errors) == [14, 15, 17, 19]
    e = errors[14]
    assert (e.source, e.field) == ("bad.oem", "data line")
    assert "6 numbers" in e.expected and "got 6 fields" in e.expected
    e = errors[15]
    assert (e.field, e.value, e.expected) == ("Y", "9OO.0", "a number in km")
    assert e.object_id == "2026-001A"
    e = errors[17]
    assert e.field == "EPOCH" and e.value == "2026-08-22T00:02:30" and "not increasing" in str(e)
    assert "line 16" in e.expected  # the line it had to follow
    e = errors[19]
    assert e.field == "EPOCH" and "STOP_TIME 2026-08-22T00:05:00" in e.expected
    assert "bad.oem, line 19" in str(e)
    # accelerations: NaN rows where a line had none
    assert np.isnan(seg.a_km_s2[0]).all()
    np.testing.assert_array_equal(seg.a_km_s2[1], [0.001, 0.002, 0.003])
    assert seg.lines.tolist() == [13, 16, 18, 20]


@pytest.mark.parametrize(
    "ts, utc_of_first, tol_s",
    [
        ("UTC", "2026-08-22T00:00:00", one_nanosecond_s),
        ("TAI", "2026-08-21T23:59:23", one_nanosecond_s),  # TAI - UTC = 37 s (IERS Bulletin C)
        ("GPS", "2026-08-21T23:59:42", one_nanosecond_s),  # GPS = TAI - 19 s
        ("TT", "2026-08-21T23:58:50.816", one_nanosecond_s),  # TT = TAI + 32.184 s
        ("TDB", "2026-08-21T23:58:50.816", 2e-3),  # |TDB - TT| < 1.7 ms
    ],
)
def test_time_systems(ts, utc_of_first, tol_s):
    oem = parse_oem(_SMALL_OEM.format(ts=ts))
    seg = oem.segments[0]
    assert oem.rejections == ()
    assert seg.metadata.time_system == ts
    assert abs((seg.epochs[0] - Time(utc_of_first, scale="utc")).sec) <= tol_s


def test_metadata_problems_skip_only_that_segment():
    second = _SMALL_OEM.format(ts="UTC").split("ORIGINATOR = TEST\n", 1)[1]
    broken = second.replace("TIME_SYSTEM = UTC", "TIME_SYSTEM = MARS_LOCAL").replace("OBJECT_ID = 2026-001A", "OBJECT_ID = 2026-002A")
    oem = parse_oem(_SMALL_OEM.format(ts="UTC") + broken, source="two.oem")
    assert len(oem.segments) == 1
    assert len(oem.rejections) == 1
    e = oem.rejections[0]
    assert (e.field, e.value, e.object_id) == ("TIME_SYSTEM", "MARS_LOCAL", "2026-002A")
    missing = _SMALL_OEM.format(ts="UTC").replace("STOP_TIME = 2026-08-22T00:05:00\n", "")
    oem = parse_oem(missing)
    assert oem.segments == ()
    assert oem.rejections[0].field == "STOP_TIME"


def test_day_of_year_epochs_and_version_1():
    text = _SMALL_OEM.format(ts="UTC").replace("CCSDS_OEM_VERS = 2.0", "CCSDS_OEM_VERS = 1.0").replace("2026-08-22T00:04:00", "2026-234T00:04:00")
    oem = parse_oem(text)
    assert oem.version == "1.0" and oem.rejections == ()
    assert oem.segments[0].epochs[-1].isot == "2026-08-22T00:04:00.000000000"


def test_not_an_oem_is_a_format_error():
    with pytest.raises(FormatError, match="not a CCSDS OEM"):
        parse_oem("1 25544U 98067A   26234.5 ...", source="tle.txt")
    with pytest.raises(FormatError, match="version '9.9'"):
        parse_oem("CCSDS_OEM_VERS = 9.9\n")
    with pytest.raises(FormatError, match="not well-formed"):
        parse_oem("<oem version='2.0'><header>", source="x.xml")


def test_bad_covariance_row_skips_that_matrix_only(oem_dir):
    text = (oem_dir / "oempy_v2_sample04_with_covariance.oem").read_text()
    text = text.replace("4.6189273e-04  6.7824216e-04", "4.6189273e-04", 1)
    oem = parse_oem(text, source="cov.oem")
    assert [len(s.covariances) for s in oem.segments] == [1, 2]
    assert [len(s) for s in oem.segments] == [3, 3]
    (e,) = oem.rejections
    assert (e.line, e.field) == (28, "COVARIANCE row 2")
    assert e.expected.startswith("2 numbers")


# ---------------------------------------------------------------------------
# OEM XML (CCSDS 502.0-B-2 Annex, NDM/XML layout)
# ---------------------------------------------------------------------------

_OEM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<oem xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:noNamespaceSchemaLocation="http://sanaregistry.org/r/ndmxml/ndmxml-1.0-master.xsd"
     id="CCSDS_OEM_VERS" version="2.0">
  <header>
    <COMMENT>OEM XML test message</COMMENT>
    <CREATION_DATE>1996-11-04T17:22:31</CREATION_DATE>
    <ORIGINATOR>NASA/JPL</ORIGINATOR>
  </header>
  <body>
    <segment>
      <metadata>
        <OBJECT_NAME>MARS GLOBAL SURVEYOR</OBJECT_NAME>
        <OBJECT_ID>1996-062A</OBJECT_ID>
        <CENTER_NAME>MARS BARYCENTER</CENTER_NAME>
        <REF_FRAME>EME2000</REF_FRAME>
        <TIME_SYSTEM>UTC</TIME_SYSTEM>
        <START_TIME>1996-12-18T12:00:00.331</START_TIME>
        <STOP_TIME>1996-12-28T21:28:00.331</STOP_TIME>
        <INTERPOLATION>HERMITE</INTERPOLATION>
        <INTERPOLATION_DEGREE>7</INTERPOLATION_DEGREE>
      </metadata>
      <data>
        <COMMENT>Produced by M.R. Sombedody</COMMENT>
        <stateVector>
          <EPOCH>1996-12-18T12:00:00.331</EPOCH>
          <X units="km">2789.619</X> <Y>-280.045</Y> <Z>-1746.755</Z>
          <X_DOT>4.73372</X_DOT> <Y_DOT>-2.49586</Y_DOT> <Z_DOT>-1.04195</Z_DOT>
        </stateVector>
        <stateVector>
          <EPOCH>1996-12-18T12:01:00.331</EPOCH>
          <X>2783.419</X> <Y>-308.143</Y> <Z>-1877.071</Z>
          <X_DOT>5.18604</X_DOT> <Y_DOT>-2.42124</Y_DOT> <Z_DOT>-1.99608</Z_DOT>
          <X_DDOT>0.001</X_DDOT> <Y_DDOT>0.002</Y_DDOT> <Z_DDOT>0.003</Z_DDOT>
        </stateVector>
        <stateVector>
          <EPOCH>1996-12-18T12:02:00.331</EPOCH>
          <X>2776.033</X> <Y>-336.859</Y> <Z>-2008.682</Z>
          <X_DOT>5.63678</X_DOT> <Y_DOT>-2.33951</Y_DOT> <Z_DOT>-1.94687</Z_DOT>
        </stateVector>
        <stateVector>
          <EPOCH>1996-12-18T12:03:00.331</EPOCH>
          <X>2770.0</X> <Y>-365.0</Y> <Z>n/a</Z>
          <X_DOT>5.9</X_DOT> <Y_DOT>-2.2</Y_DOT> <Z_DOT>-1.9</Z_DOT>
        </stateVector>
        <covarianceMatrix>
          <EPOCH>1996-12-28T21:29:07.267</EPOCH>
          <COV_REF_FRAME>EME2000</COV_REF_FRAME>
          <CX_X>3.3313494e-04</CX_X>
          <CY_X>4.6189273e-04</CY_X> <CY_Y>6.7824216e-04</CY_Y>
          <CZ_X>-3.0700078e-04</CZ_X> <CZ_Y>-4.2212341e-04</CZ_Y> <CZ_Z>3.2319319e-04</CZ_Z>
          <CX_DOT_X>-3.3493650e-07</CX_DOT_X> <CX_DOT_Y>-4.6860842e-07</CX_DOT_Y> <CX_DOT_Z>2.4849495e-07</CX_DOT_Z>
          <CX_DOT_X_DOT>4.2960228e-10</CX_DOT_X_DOT>
          <CY_DOT_X>-2.2118325e-07</CY_DOT_X> <CY_DOT_Y>-2.8641868e-07</CY_DOT_Y> <CY_DOT_Z>1.7980986e-07</CY_DOT_Z>
          <CY_DOT_X_DOT>2.6088992e-10</CY_DOT_X_DOT> <CY_DOT_Y_DOT>1.7675147e-10</CY_DOT_Y_DOT>
          <CZ_DOT_X>-3.0413460e-07</CZ_DOT_X> <CZ_DOT_Y>-4.9894969e-07</CZ_DOT_Y> <CZ_DOT_Z>3.5403109e-07</CZ_DOT_Z>
          <CZ_DOT_X_DOT>1.8692631e-10</CZ_DOT_X_DOT> <CZ_DOT_Y_DOT>1.0088625e-10</CZ_DOT_Y_DOT>
          <CZ_DOT_Z_DOT>6.2244443e-10</CZ_DOT_Z_DOT>
        </covarianceMatrix>
      </data>
    </segment>
  </body>
</oem>
"""


def test_oem_xml_matches_kvn(oem_dir):
    xml = parse_oem(_OEM_XML, source="mgs.xml")
    kvn = parse_oem(*_read(oem_dir / "oempy_v2_sample04_with_covariance.oem"))
    assert xml.format == "xml" and xml.version == "2.0" and xml.comments == ("OEM XML test message",)
    seg, ref = xml.segments[0], kvn.segments[0]
    assert seg.metadata.object_id == "1996-062A" and seg.metadata.interpolation_degree == 7
    np.testing.assert_array_equal(seg.r_km, ref.r_km)
    np.testing.assert_array_equal(seg.v_km_s, ref.v_km_s)
    assert np.all((seg.epochs - ref.epochs).sec == 0.0)
    np.testing.assert_array_equal(seg.covariances[0].matrix, ref.covariances[0].matrix)
    np.testing.assert_array_equal(seg.a_km_s2[1], [0.001, 0.002, 0.003])
    (e,) = xml.rejections  # the fourth state vector
    assert (e.source, e.line, e.field, e.value) == ("mgs.xml", 41, "Z", "n/a")


# ---------------------------------------------------------------------------
# OEM writing
# ---------------------------------------------------------------------------


def _circular_orbit(n: int):
    epochs = Time("2026-08-22T00:00:00", scale="utc") + TimeDelta(np.arange(n) * 60.0, format="sec")
    w = 7.2921159e-5
    ang = w * np.arange(n) * 60.0
    r = 42164.0 * np.stack([np.cos(ang), np.sin(ang), 0.01 * np.sin(ang)], axis=1)
    v = 42164.0 * w * np.stack([-np.sin(ang), np.cos(ang), 0.01 * np.cos(ang)], axis=1)
    return epochs, r, v


def test_write_oem_round_trip_from_states():
    epochs, r, v = _circular_orbit(30)
    segs = oem_segments_from_states(["GEO-A", "GEO-B"], ["2026-001A", "2026-001B"], epochs, np.stack([r, -r]), np.stack([v, -v]))
    text = write_oem(segs, originator="CISLUNAR-MONITOR", creation_date=CREATION, comments=["propagated"])
    assert text.startswith("CCSDS_OEM_VERS = 2.0\nCOMMENT propagated\nCREATION_DATE = 2026-08-22T12:00:00\n")
    oem = parse_oem(text, source="out.oem")
    assert oem.rejections == () and oem.warnings == ()
    assert [s.metadata.object_name for s in oem.segments] == ["GEO-A", "GEO-B"]
    md = oem.segments[0].metadata
    assert (md.center_name, md.ref_frame, md.time_system) == ("EARTH", "GCRF", "UTC")
    np.testing.assert_array_equal(oem.segments[0].r_km, r)  # 17 significant digits: exact
    np.testing.assert_array_equal(oem.segments[1].v_km_s, -v)
    assert np.max(np.abs((oem.segments[0].epochs - epochs).sec)) <= half_microsecond_s


def test_write_oem_round_trip_of_samples(oem_dir):
    for p in sorted(oem_dir.glob("*.oem")):
        first = parse_oem(*_read(p))
        again = parse_oem(write_oem(first.segments, originator="TEST", creation_date=CREATION), source=p.name)
        assert again.rejections == ()
        for a, b in zip(first.segments, again.segments):
            np.testing.assert_array_equal(a.r_km, b.r_km)
            np.testing.assert_array_equal(a.v_km_s, b.v_km_s)
            assert np.max(np.abs((a.epochs - b.epochs).sec)) <= half_microsecond_s
            assert a.metadata.interpolation == b.metadata.interpolation
            assert a.metadata.interpolation_degree == b.metadata.interpolation_degree
            assert len(a.covariances) == len(b.covariances)
            for ca, cb in zip(a.covariances, b.covariances):
                np.testing.assert_array_equal(ca.matrix, cb.matrix)


def test_write_oem_single_object_keywords():
    """The form ``cislunar propagate --format oem`` uses (monitor/propagate_cmd.py)."""
    epochs, r, v = _circular_orbit(4)
    dts = [datetime(2026, 8, 22, 0, k, tzinfo=timezone.utc) for k in range(4)]
    text = write_oem(
        object_name="LUNAR SAT", object_id="2026-100A", center_name="MOON", ref_frame="ICRF",
        epochs_utc=dts, r_km=r, v_km_s=v, originator="CISLUNAR-MONITOR", comment="propagator numerical",
        creation_date=CREATION,
    )
    oem = parse_oem(text)
    assert oem.comments == ("propagator numerical",)
    assert oem.segments[0].metadata.center_name == "MOON"
    np.testing.assert_array_equal(oem.segments[0].v_km_s, v)
    with pytest.raises(TypeError, match="creation_date=datetime.now"):
        write_oem(object_name="X", object_id="X", epochs=epochs, r_km=r, v_km_s=v, originator="T")


def test_write_oem_tdb_and_refusals():
    epochs, r, v = _circular_orbit(5)
    seg = oem_segment("SAT", "2026-001A", epochs, r, v, time_system="TDB", interpolation="lagrange", interpolation_degree=3)
    oem = parse_oem(write_oem(seg, originator="T", creation_date=Time("2026-08-22T12:00:00", scale="utc")))
    assert oem.segments[0].metadata.time_system == "TDB"
    assert np.max(np.abs((oem.segments[0].epochs - epochs).sec)) <= half_microsecond_s
    r_bad = r.copy()
    r_bad[3] = np.nan
    with pytest.raises(ValueError, match="state 3 at 2026-08-22T00:03:00.000 UTC is not finite"):
        oem_segment("SAT", "2026-001A", epochs, r_bad, v)
    with pytest.raises(ValueError, match="strictly increasing"):
        oem_segment("SAT", "2026-001A", epochs[::-1], r, v)


# ---------------------------------------------------------------------------
# OPM
# ---------------------------------------------------------------------------


def test_opm_fig_3_2(data_dir):
    opm = parse_opm(*_read(data_dir / "ccsds" / "opm" / "ccsds502_fig3_2_opm.kvn"))
    assert (opm.version, opm.originator, opm.object_name, opm.object_id) == ("2.0", "GSOC", "EUTELSAT W4", "2000-028A")
    assert (opm.center_name, opm.ref_frame, opm.time_system) == ("EARTH", "TOD", "UTC")
    assert opm.epoch.isot == "2006-06-03T00:00:00.000000000"
    np.testing.assert_array_equal(opm.r_km, [6655.9942, -40218.5751, -82.9177])
    np.testing.assert_array_equal(opm.v_km_s, [3.11548208, 0.47042605, -0.00101495])
    assert opm.keplerian.semi_major_axis_km == 41399.5123
    assert opm.keplerian.true_anomaly_deg == 41.922339 and opm.keplerian.mean_anomaly_deg is None
    assert opm.keplerian.gm_km3_s2 == 398600.4415
    assert (opm.mass_kg, opm.solar_rad_area_m2, opm.solar_rad_coeff, opm.drag_area_m2, opm.drag_coeff) == (1913.0, 10.0, 1.3, 10.0, 2.3)
    assert len(opm.maneuvers) == 2
    m1, m2 = opm.maneuvers
    assert m1.epoch_ignition.isot == "2000-06-03T09:00:34.100000000"
    assert (m1.duration_s, m1.delta_mass_kg, m1.ref_frame, m1.dv_km_s) == (132.6, -18.418, "EME2000", (-0.023257, 0.0168316, -0.00893444))
    assert m1.comments[-1] == "Non-impulsive, thrust direction fixed in inertial frame"
    assert (m2.duration_s, m2.ref_frame, m2.dv_km_s) == (0.0, "RTN", (0.001015, -0.001873, 0.0))
    assert opm.covariance is None and opm.rejections == ()
    # TOD -> GCRS through astropy TETE: a rotation (precession 2000 -> 2006
    # is ~300 arcsec = 1.45e-3 rad), so the radius is unchanged.
    r_gcrs, v_gcrs = opm.state_gcrs()
    assert np.linalg.norm(r_gcrs) == pytest.approx(np.linalg.norm(opm.r_km), abs=one_micrometre_km)
    angle = np.arccos(np.dot(r_gcrs, opm.r_km) / np.linalg.norm(r_gcrs) ** 2)
    assert 1.0e-3 < angle < 2.0e-3
    record = opm.state_record()
    assert record.epoch_utc == datetime(2006, 6, 3, tzinfo=timezone.utc) and record.frame == "TOD"


_OPM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<opm id="CCSDS_OPM_VERS" version="2.0">
  <header>
    <CREATION_DATE>2026-08-22T00:00:00</CREATION_DATE>
    <ORIGINATOR>TEST</ORIGINATOR>
  </header>
  <body>
    <segment>
      <metadata>
        <OBJECT_NAME>LUNAR ORBITER</OBJECT_NAME>
        <OBJECT_ID>2026-100A</OBJECT_ID>
        <CENTER_NAME>MOON</CENTER_NAME>
        <REF_FRAME>ICRF</REF_FRAME>
        <TIME_SYSTEM>TDB</TIME_SYSTEM>
      </metadata>
      <data>
        <stateVector>
          <EPOCH>2026-08-22T00:00:00</EPOCH>
          <X>1837.0</X><Y>0.0</Y><Z>0.0</Z>
          <X_DOT>0.0</X_DOT><Y_DOT>1.633</Y_DOT><Z_DOT>0.0</Z_DOT>
        </stateVector>
        <spacecraftParameters>
          <MASS>500.0</MASS><SOLAR_RAD_AREA>4.0</SOLAR_RAD_AREA><SOLAR_RAD_COEFF>1.2</SOLAR_RAD_COEFF>
          <DRAG_AREA>4.0</DRAG_AREA><DRAG_COEFF>2.2</DRAG_COEFF>
        </spacecraftParameters>
        <covarianceMatrix>
          <COV_REF_FRAME>RTN</COV_REF_FRAME>
          <CX_X>1e-2</CX_X><CY_X>0</CY_X><CY_Y>1e-2</CY_Y><CZ_X>0</CZ_X><CZ_Y>0</CZ_Y><CZ_Z>1e-2</CZ_Z>
          <CX_DOT_X>0</CX_DOT_X><CX_DOT_Y>0</CX_DOT_Y><CX_DOT_Z>0</CX_DOT_Z><CX_DOT_X_DOT>1e-8</CX_DOT_X_DOT>
          <CY_DOT_X>0</CY_DOT_X><CY_DOT_Y>0</CY_DOT_Y><CY_DOT_Z>0</CY_DOT_Z><CY_DOT_X_DOT>0</CY_DOT_X_DOT><CY_DOT_Y_DOT>1e-8</CY_DOT_Y_DOT>
          <CZ_DOT_X>0</CZ_DOT_X><CZ_DOT_Y>0</CZ_DOT_Y><CZ_DOT_Z>0</CZ_DOT_Z><CZ_DOT_X_DOT>0</CZ_DOT_X_DOT><CZ_DOT_Y_DOT>0</CZ_DOT_Y_DOT><CZ_DOT_Z_DOT>2e-8</CZ_DOT_Z_DOT>
        </covarianceMatrix>
        <maneuverParameters>
          <MAN_EPOCH_IGNITION>2026-08-22T01:00:00</MAN_EPOCH_IGNITION>
          <MAN_DURATION>10.0</MAN_DURATION>
          <MAN_DELTA_MASS>-0.5</MAN_DELTA_MASS>
          <MAN_REF_FRAME>RTN</MAN_REF_FRAME>
          <MAN_DV_1>0.0</MAN_DV_1><MAN_DV_2>0.001</MAN_DV_2><MAN_DV_3>0.0</MAN_DV_3>
        </maneuverParameters>
        <maneuverParameters>
          <MAN_EPOCH_IGNITION>2026-08-22T02:00:00</MAN_EPOCH_IGNITION>
          <MAN_DURATION>ten</MAN_DURATION>
          <MAN_DELTA_MASS>-0.5</MAN_DELTA_MASS>
          <MAN_REF_FRAME>RTN</MAN_REF_FRAME>
          <MAN_DV_1>0.0</MAN_DV_1><MAN_DV_2>0.001</MAN_DV_2><MAN_DV_3>0.0</MAN_DV_3>
        </maneuverParameters>
      </data>
    </segment>
  </body>
</opm>
"""


def test_opm_xml_moon_centred_tdb_with_covariance():
    opm = parse_opm(_OPM_XML, source="lunar.xml")
    assert opm.format == "xml" and opm.center_name == "MOON" and opm.time_system == "TDB"
    assert opm.epoch.scale == "tdb"
    assert opm.mass_kg == 500.0 and opm.drag_coeff == 2.2
    assert opm.cov_ref_frame == "RTN" and opm.covariance[5, 5] == 2e-8 and opm.covariance[0, 0] == 1e-2
    assert len(opm.maneuvers) == 1 and opm.maneuvers[0].dv_km_s == (0.0, 0.001, 0.0)
    (e,) = opm.rejections  # the second maneuver, kept out; the message is kept
    assert (e.source, e.field, e.value) == ("lunar.xml", "MAN_DURATION", "ten")
    assert e.expected == "a number in s"
    r_gcrs, v_gcrs = opm.state_gcrs()
    r_moon, v_moon = moon_state_gcrs(opm.epoch)
    np.testing.assert_allclose(r_gcrs - r_moon, opm.r_km, rtol=0, atol=one_micrometre_km)
    np.testing.assert_allclose(v_gcrs - v_moon, opm.v_km_s, rtol=0, atol=one_nanometre_per_s_km_s)


def test_opm_errors_name_the_field():
    text = """CCSDS_OPM_VERS = 2.0
CREATION_DATE = 2026-08-22T00:00:00
ORIGINATOR = TEST
OBJECT_NAME = SAT
OBJECT_ID = 2026-001A
CENTER_NAME = EARTH
REF_FRAME = GCRF
TIME_SYSTEM = UTC
EPOCH = 2026-08-22T00:00:00
X = 7000.0 [km]
Y = 0.0 [km]
Z = zero [km]
X_DOT = 0.0
Y_DOT = 7.5
Z_DOT = 0.0
"""
    with pytest.raises(RecordError) as info:
        parse_opm(text, source="sat.opm")
    e = info.value
    assert (e.source, e.line, e.field, e.value, e.expected, e.object_id) == ("sat.opm", 12, "Z", "zero", "a number in km", "2026-001A")
    with pytest.raises(RecordError) as info:
        parse_opm(text.replace("EPOCH = 2026-08-22T00:00:00\n", ""))
    assert info.value.field == "EPOCH"
    opm = parse_opm(text.replace("zero", "0.0").replace("GCRF", "EME2000"))
    r_gcrs, _ = opm.state_gcrs()
    np.testing.assert_allclose(r_gcrs, eme2000_to_gcrs_matrix() @ opm.r_km, rtol=0, atol=one_micrometre_km)
    with pytest.raises(FormatError, match="not a CCSDS OPM"):
        parse_opm("CCSDS_OEM_VERS = 2.0\n")


# ---------------------------------------------------------------------------
# Horizons
# ---------------------------------------------------------------------------

# Horizons API text output (CSV_FORMAT=YES) for LRO, the first three rows of
# the LRO table in ../shared/data/catalog with its calendar column.
_HORIZONS_SOE = """*******************************************************************************
Ephemeris / API_USER Sat Jan  1 00:00:00 2022 Pasadena, USA      / Horizons
*******************************************************************************
Target body name: Lunar Reconnaissance Orbiter (spacecraft) (-85) {source: LRO_merged}
Center body name: Moon (301)                      {source: DE441}
Center-site name: BODY CENTER
*******************************************************************************
Start time      : A.D. 2022-Jan-01 00:00:00.0000 TDB
Stop  time      : A.D. 2022-Jan-01 00:02:00.0000 TDB
Step-size       : 1 minutes
*******************************************************************************
Output units    : KM-S
Reference frame : ICRF
*******************************************************************************
            JDTDB,            Calendar Date (TDB),                      X,                      Y,                      Z,                     VX,                     VY,                     VZ,
**************************************************************************************************************************************************************************************************
$$SOE
2459580.500000000, A.D. 2022-Jan-01 00:00:00.0000, -1.213955397003621E+03,  3.377413808245733E+02, -1.335073383516349E+03, -1.159919700671238E+00, -7.830367008498988E-01,  8.394387335845879E-01,
2459580.500694444, A.D. 2022-Jan-01 00:01:00.0000, -1.281787540875183E+03,  2.902995170388841E+02, -1.282828161178812E+03, -1.100626570731420E+00, -7.979799642990292E-01,  9.016430132628102E-01,
2459580.501388889, A.D. 2022-Jan-01 00:02:00.0000, -1.345969285599993E+03,  2.420295759753686E+02, -1.226928928670674E+03, -1.038268366658898E+00, -8.106338282376034E-01,  9.612117227766219E-01,
$$EOE
*******************************************************************************
"""


def test_every_horizons_table_parses(catalog_dir):
    expected = {
        "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv": ("MOON", 241, ()),
        "horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv": ("EARTH-MOON BARYCENTER", 305, ("file name",)),
        "horizons_moon_2022-11-16_to_12-11_emb-centered_2h.csv": ("EARTH-MOON BARYCENTER", 305, ("file name",)),
        "horizons_earth_2022-11-16_to_12-11_emb-centered_1h.csv": ("EARTH-MOON BARYCENTER", 609, ("file name",)),
    }
    for name, (center, n, warn) in expected.items():
        table = parse_horizons(*_read(catalog_dir / name))
        assert table.rejections == (), name
        assert (table.center, len(table), table.frame, table.epochs.scale) == (center, n, "ICRF", "tdb"), name
        assert all(w in " ".join(table.warnings) for w in warn)
    lro = parse_horizons(*_read(catalog_dir / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv"))
    assert lro.epochs[0].isot == "2022-01-01T00:00:00.000" and lro.epochs[-1].isot == "2022-01-01T04:00:00.000"
    assert lro.lines[0] == 6
    np.testing.assert_array_equal(lro.r_km[0], [-1.213955397003621e03, 3.377413808245733e02, -1.335073383516349e03])


def test_horizons_soe_form_and_centre_rules(catalog_dir):
    table = parse_horizons(_HORIZONS_SOE, source="lro_api.txt")
    assert (table.center, table.target, len(table)) == ("MOON", "Lunar Reconnaissance Orbiter (spacecraft) (-85)", 3)
    assert table.lines.tolist() == [18, 19, 20]
    # the calendar column is used: exactly one minute apart
    assert np.all(np.abs(np.diff((table.epochs - table.epochs[0]).sec) - 60.0) <= one_nanosecond_s)
    lro = parse_horizons(*_read(catalog_dir / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv"))
    np.testing.assert_array_equal(table.r_km, lro.r_km[:3])
    # explicit centre: agrees, disagrees, absent
    assert parse_horizons(_HORIZONS_SOE, center="500@301").center == "MOON"
    with pytest.raises(FormatError, match="header says MOON"):
        parse_horizons(_HORIZONS_SOE, center="500@3")
    artemis_text = (catalog_dir / "horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv").read_text()
    with pytest.raises(FormatError, match="does not state its centre"):
        parse_horizons(artemis_text, source="artemis.csv")
    explicit = parse_horizons(artemis_text, source="artemis.csv", center="500@3")
    assert explicit.center == "EARTH-MOON BARYCENTER" and explicit.warnings == ()


def test_horizons_bad_rows_are_rejected():
    lines = _HORIZONS_SOE.splitlines()
    lines[18] = lines[18].replace("2.902995170388841E+03", "2.9O2995170388841E+03").replace("2.902995170388841E+02", "2.9O2995170388841E+02")
    lines.insert(20, "2459580.500347222, A.D. 2022-Jan-01 00:00:30.0000, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0,")  # goes back in time
    lines.insert(21, "2459580.502, 1.0, 2.0")
    table = parse_horizons("\n".join(lines), source="api.txt")
    assert len(table) == 2
    errors = {e.line: e for e in table.rejections}
    assert sorted(errors) == [19, 21, 22]
    assert (errors[19].field, errors[19].value, errors[19].expected) == ("Y", "2.9O2995170388841E+02", "a number in km")
    assert errors[21].field == "JDTDB" and "not increasing" in str(errors[21])
    assert errors[22].field == "row" and errors[22].source == "api.txt"


# ---------------------------------------------------------------------------
# Table objects: interpolation, span, GCRS
# ---------------------------------------------------------------------------

ARTEMIS = "horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv"


@pytest.fixture(scope="module")
def artemis(catalog_dir):
    return parse_horizons(*_read(catalog_dir / ARTEMIS))


def _coast(table):
    """Rows 2022-11-23 01:03 .. 23:03 TDB (12 samples, 2 h apart): a clean
    coast between the outbound powered flyby (2022-11-21) and the DRO
    insertion (2022-11-25), clear of the table's bad row at
    2022-11-24 01:03 (|v| = 15.4 km/s)."""
    start = Time("2022-11-23T01:03:00", scale="tdb")
    offsets_h = (table.epochs - start).sec / 3600.0
    rows = np.flatnonzero((offsets_h > -0.01) & (offsets_h < 22.01))
    assert len(rows) == 12
    return rows


@pytest.mark.parametrize(
    "kind, degree, tol_km, tol_km_s",
    [
        ("LAGRANGE", None, artemis_lagrange_km, artemis_lagrange_km_s),  # default degree 7 -> all 6 nodes
        ("HERMITE", 7, artemis_hermite_km, artemis_hermite_km_s),
    ],
)
def test_artemis_coast_leave_one_out(artemis, kind, degree, tol_km, tol_km_s):
    rows = _coast(artemis)
    nodes, left_out = rows[0::2], rows[1::2]  # 01:03, 05:03 .. 21:03; midpoints 03:03 .. 23:03
    obj = EphemerisObject.from_states(
        artemis.epochs[nodes], artemis.r_km[nodes], artemis.v_km_s[nodes],
        center=artemis.center, frame="ICRF", name="Artemis I", interpolation=kind, degree=degree,
    )
    r, v, status = obj.states_native(artemis.epochs[left_out])
    # 23:03 is after the last node: never extrapolated
    assert status.tolist() == [STATUS_OK] * 5 + [STATUS_AFTER_SPAN]
    assert np.all(np.isnan(r[-1])) and np.all(np.isnan(v[-1]))
    err_km = np.linalg.norm(r[:5] - artemis.r_km[left_out[:5]], axis=1)
    err_km_s = np.linalg.norm(v[:5] - artemis.v_km_s[left_out[:5]], axis=1)
    assert err_km.max() <= tol_km
    assert err_km_s.max() <= tol_km_s


def test_geo_oem_lagrange_leave_one_out(oem_dir):
    seg = parse_oem(*_read(oem_dir / "oempy_GEO_60s.oem")).segments[0]
    nodes, left_out = np.arange(0, 61, 2), np.arange(1, 61, 2)
    obj = EphemerisObject.from_states(
        seg.epochs[nodes], seg.r_km[nodes], seg.v_km_s[nodes], center="EARTH", frame="ICRF", name="GEO",
        interpolation=seg.metadata.interpolation, degree=seg.metadata.interpolation_degree,
    )
    r, v, status = obj.states(seg.epochs[left_out])
    assert np.all(status == STATUS_OK)
    assert np.max(np.abs(r - seg.r_km[left_out])) <= geo_lagrange_km
    assert np.max(np.abs(v - seg.v_km_s[left_out])) <= geo_lagrange_km_s
    # at the nodes the table is reproduced exactly
    r, v, _ = obj.states(seg.epochs[nodes])
    np.testing.assert_array_equal(r, seg.r_km[nodes])


def test_outside_the_span_status_raise_and_last_state(oem_dir):
    oem = parse_oem(*_read(oem_dir / "oempy_GEO_60s.oem"))
    (obj,) = objects_from_oem(oem)
    assert (obj.interpolation, obj.degree, obj.name) == ("LAGRANGE", 5, "TEST_OBJ")
    seg = oem.segments[0]
    t = Time(["2020-06-01T11:59:00", "2020-06-01T12:30:30", "2020-06-01T13:00:01"], scale="utc")
    r, v, status = obj.states(t)
    assert status.tolist() == [STATUS_BEFORE_SPAN, STATUS_OK, STATUS_AFTER_SPAN]
    assert np.isnan(r[[0, 2]]).all() and np.isfinite(r[1]).all()
    assert "not extrapolated" in EPHEMERIS_STATUS[STATUS_AFTER_SPAN]
    with pytest.raises(EphemerisRangeError, match="TEST_OBJ: epoch before the table's usable span"):
        obj.states(t, outside="raise")
    # scalar epoch
    r1, v1, s1 = obj.states(t[1])
    assert r1.shape == (3,) and s1 == STATUS_OK
    np.testing.assert_array_equal(r1, r[1])
    last = obj.last_state()
    assert abs((last.epoch - seg.epochs[-1]).sec) <= one_nanosecond_s
    np.testing.assert_array_equal(last.r_gcrs_km, seg.r_km[-1])  # centre EARTH, ICRF axes
    np.testing.assert_array_equal(last.v_gcrs_km_s, seg.v_km_s[-1])
    assert abs((obj.first_state().epoch - seg.epochs[0]).sec) <= one_nanosecond_s


def test_useable_span_of_fig_g11_is_honoured(oem_dir):
    """Fig. G-11 segment 1: USEABLE_START_TIME 12:10:00.331 is after the first
    sample (12:00:00.331); the object refuses 12:05 even though it has data."""
    seg = parse_oem(*_read(oem_dir / "ccsds502_b3_figG11_example.oem")).segments[0]
    obj = EphemerisObject.from_states(
        seg.epochs, seg.r_km, seg.v_km_s, center="EARTH", frame="EME2000", name=seg.metadata.object_name,
        interpolation="HERMITE", degree=3, usable_start=seg.metadata.useable_start_time,
        usable_stop=seg.metadata.useable_stop_time,
    )
    t = Time(["2019-12-18T12:05:00", "2019-12-18T12:11:00"], scale="utc")
    _, _, status = obj.states(t)
    assert status.tolist() == [STATUS_BEFORE_SPAN, STATUS_OK]
    with pytest.raises(RecordError, match="centre not supported") as info:
        EphemerisObject.from_oem_segment(seg)  # MARS BARYCENTER
    assert info.value.field == "CENTER_NAME"


def test_horizons_centres_to_gcrs_agree_with_de421(catalog_dir):
    earth = parse_horizons(*_read(catalog_dir / "horizons_earth_2022-11-16_to_12-11_emb-centered_1h.csv"))
    r, v = state_to_gcrs(earth.r_km, earth.v_km_s, earth.epochs, earth.center, earth.frame)
    assert np.max(np.linalg.norm(r, axis=1)) <= earth_de421_vs_horizons_km
    moon = parse_horizons(*_read(catalog_dir / "horizons_moon_2022-11-16_to_12-11_emb-centered_2h.csv"))
    obj = EphemerisObject.from_horizons(moon, name="Moon")
    r, v, status = obj.states(moon.epochs[10:20])
    r_moon, v_moon = moon_state_gcrs(moon.epochs[10:20])
    assert np.all(status == STATUS_OK)
    assert np.max(np.linalg.norm(r - r_moon, axis=1)) <= moon_de421_vs_horizons_km
    assert np.max(np.linalg.norm(v - v_moon, axis=1)) <= moon_de421_vs_horizons_km_s


def test_moon_centred_table_in_mci_is_the_table(catalog_dir):
    lro = parse_horizons(*_read(catalog_dir / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv"))
    obj = EphemerisObject.from_horizons(lro)
    r, v, status = obj.states(lro.epochs[::10])
    r_mci, v_mci = gcrs_to_mci(r, v, lro.epochs[::10])
    assert np.max(np.abs(r_mci - lro.r_km[::10])) <= one_micrometre_km
    assert np.max(np.abs(v_mci - lro.v_km_s[::10])) <= one_nanometre_per_s_km_s


def test_evaluate_many_objects_with_one_out_of_span(oem_dir, catalog_dir):
    geo = objects_from_oem(parse_oem(*_read(oem_dir / "oempy_GEO_60s.oem")))[0]
    lro = EphemerisObject.from_horizons(parse_horizons(*_read(catalog_dir / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv")))
    t = Time("2020-06-01T12:10:00", scale="utc") + TimeDelta(np.arange(4) * 600.0, format="sec")
    r, v, status = evaluate([geo, lro, geo], t)
    assert r.shape == (3, 4, 3) and status.shape == (3, 4)
    assert np.all(status[[0, 2]] == STATUS_OK)
    assert np.all(status[1] == STATUS_BEFORE_SPAN) and np.isnan(r[1]).all()
    np.testing.assert_array_equal(r[0], r[2])


def test_parse_result_adapters(oem_dir, data_dir, catalog_dir):
    """The ``(text, source) -> ParseResult`` shape of parsing.detect.register_parser."""
    res = parse_oem_result(*_read(oem_dir / "ccsds502_b3_figG11_example.oem"))
    assert len(res.records) == 2 and res.rejections == []
    res = parse_opm_result(*_read(data_dir / "ccsds" / "opm" / "ccsds502_fig3_2_opm.kvn"))
    assert res.records[0].object_id == "2000-028A"
    res = parse_opm_result("CCSDS_OPM_VERS = 2.0\nOBJECT_NAME = X\n", source="x.opm")
    assert res.records == [] and res.rejections[0].source == "x.opm"
    res = parse_horizons_result(*_read(catalog_dir / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv"))
    assert len(res.records[0]) == 241
