"""CCSDS CDM reader (v1.0/v2.0, KVN/XML) and CDM 2.0 writer.

Samples: ``<data_dir>/ccsds/cdm/*`` (CCSDS 508.0-B-1 section 4 example in
KVN and XML, CARA sample CDMs) and ``<data_dir>/collision_probability/cdm``
(real CARA conjunctions; their states and RTN covariances are also in
``pc_reference_cases.json``, which the parser must reproduce exactly, and
their CARA-published Pc2D_NoAdj must come out of CDM file -> Pc).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import numpy as np
import pytest

from propagators.ccsds_cdm_write import format_cdm_kvn
from propagators.datadir import shared_data_dir
from propagators.errors import FormatError, RecordError
from propagators.parsing.cdm import parse_cdm, read_cdm
from propagators.screening.pc import compute_pc

CARA_REL_TOL = 1e-3  # CARA Pc2D_Foster unit-test RelTol
one_mm_km = 1e-6


def _files(sub: str, pattern: str) -> list[str]:
    d = shared_data_dir()
    return sorted(p.name for p in (d / sub).glob(pattern)) if d else []


def _reference() -> dict:
    d = shared_data_dir()
    if d is None:
        return {}
    with open(d / "collision_probability" / "pc_reference_cases.json") as fh:
        ref = json.load(fh)
    return {c["cdm_file"]: c for c in ref["real_conjunctions"] + ref["cases"] if "cdm_file" in c}


_REF = _reference()
_REAL_CDMS = _files("collision_probability/cdm", "*.cdm")
_SAMPLE_CDMS = _files("ccsds/cdm", "*")


@pytest.mark.parametrize("name", _SAMPLE_CDMS + _REAL_CDMS)
def test_every_sample_parses(data_dir, name):
    path = data_dir / ("ccsds/cdm" if name in _SAMPLE_CDMS else "collision_probability/cdm") / name
    cdm = read_cdm(path)
    assert cdm.version in ("1.0", "2.0")
    assert cdm.tca is not None and cdm.tca.tzinfo is not None
    assert [o.object for o in cdm.objects] == ["OBJECT1", "OBJECT2"]
    for obj in cdm.objects:
        assert obj.cov_rtn.shape[0] >= 6
        np.testing.assert_array_equal(obj.cov_rtn, obj.cov_rtn.T)
        assert np.all(np.isfinite(obj.r_km)) and np.all(np.isfinite(obj.v_km_s))
    conj = cdm.to_conjunction()
    assert conj.cov1_km.shape == (6, 6) or conj.cov1_km.shape[0] >= 6


@pytest.mark.parametrize("name", _REAL_CDMS)
def test_cdm_to_pc_end_to_end(data_dir, name):
    """CDM file -> Pc equals CARA's Pc2D_NoAdj (measured: <= 5e-9 relative)."""
    case = _REF[name]
    cdm = read_cdm(data_dir / "collision_probability" / "cdm" / name)
    # Parser reproduces the reference states and RTN covariance exactly.
    np.testing.assert_array_equal(cdm.object1.r_km, case["r1"])
    np.testing.assert_array_equal(cdm.object2.v_km_s, case["v2"])
    np.testing.assert_array_equal(cdm.object1.cov_rtn[:6, :6], case["cov1"])
    np.testing.assert_array_equal(cdm.object2.cov_rtn[:6, :6], case["cov2"])
    # The real conjunctions carry CARA's HBR in a comment; the Omitron NPD
    # CDM says 52.8 m but CARA's unit test passes HBR = 20 m explicitly.
    hbr_arg = None if case["id"].startswith("cara_real_") else case["HBR"]
    res = compute_pc(cdm, method="foster", hbr_m=hbr_arg)
    assert res.hbr_m == case["HBR"]
    assert res.tca == cdm.tca
    expected = case["expected"].get("Pc2D_NoAdj", case["expected"].get("Pc2D_Foster_circle"))
    if expected == 0:
        assert res.pc <= 1e-10  # CARA AbsTol for the non-positive-definite case
    else:
        assert res.pc == pytest.approx(expected, rel=CARA_REL_TOL)
    # Header values agree with what the CDM states (rounded to 1 m, 1 m/s).
    assert res.miss_km * 1e3 == pytest.approx(cdm.miss_distance_m, abs=0.6)
    assert res.relative_speed_km_s * 1e3 == pytest.approx(cdm.relative_speed_m_s, abs=0.6)


def test_kvn_and_xml_of_the_ccsds_example_agree(data_dir):
    kvn = read_cdm(data_dir / "ccsds/cdm/ccsds508_cdm_example_section4.kvn")
    xml = read_cdm(data_dir / "ccsds/cdm/ccsds508_cdm_example_section4.xml")
    assert (kvn.encoding, xml.encoding) == ("kvn", "xml")
    assert kvn.tca == xml.tca == datetime(2010, 3, 13, 22, 37, 52, 618000, tzinfo=timezone.utc)
    assert kvn.miss_distance_m == xml.miss_distance_m == 715.0
    np.testing.assert_array_equal(kvn.relative_position_rtn_m, [27.4, -70.2, 711.8])
    np.testing.assert_array_equal(xml.relative_velocity_rtn_m_s, [-7.2, -14692.0, -1437.2])
    assert kvn.collision_probability == xml.collision_probability == 4.835e-05
    assert kvn.collision_probability_method == "FOSTER-1992"
    for a, b in zip(kvn.objects, xml.objects):
        np.testing.assert_array_equal(a.r_km, b.r_km)
        np.testing.assert_array_equal(a.cov_rtn, b.cov_rtn)
        assert a.metadata["OBJECT_NAME"] == b.metadata["OBJECT_NAME"]
        assert a.od_parameters["OBS_USED"] == b.od_parameters["OBS_USED"]
    assert kvn.object2.name == "FENGYUN 1C DEB"
    assert kvn.object1.cov_rtn[1, 0] == -8.579  # CT_R
    assert kvn.object2.cov_rtn[5, 5] == 5.178e-05  # CNDOT_NDOT
    # No HBR in the message: the AREA_PC equal-area radii are used.
    assert kvn.hbr == pytest.approx((math.sqrt(5.2 / math.pi) + math.sqrt(0.9 / math.pi), "CDM AREA_PC equal-area radii"))


def test_day_of_year_times_and_drag_srp_rows(data_dir):
    cdm = read_cdm(data_dir / "collision_probability/cdm/OmitronTestCase_Test07_NonPDCovariance.cdm")
    assert cdm.tca == datetime(2017, 2, 2, 23, 14, 54, 330000, tzinfo=timezone.utc)  # 2017-033
    alfano = read_cdm(data_dir / "ccsds/cdm/cara_AlfanoTestCase01.cdm")
    obj = alfano.object1
    assert obj.cov_axes == ("R", "T", "N", "RDOT", "TDOT", "NDOT", "DRG", "SRP")
    assert obj.cov_rtn[7, 7] == 1e-12  # CSRP_SRP, m**4/kg**2
    assert math.isnan(obj.od_parameters["RECOMMENDED_OD_SPAN"])  # "NaN" accepted for OD parameters
    # CARA writes [m] for RELATIVE_VELOCITY_*: reported, read as m/s.
    assert any("RELATIVE_VELOCITY_R unit [m]" in w for w in alfano.warnings)


def _hst_text(data_dir) -> str:
    return (data_dir / "collision_probability/cdm/000020580_conj_000022015_20210315_212955_20210313_065123.cdm").read_text()


def test_malformed_value_raises_record_error_with_location(data_dir):
    text = _hst_text(data_dir).replace("X_DOT                                       = -1.870765631606315260e+00",
                                       "X_DOT                                       = -1.87O765", 1)
    with pytest.raises(RecordError) as exc:
        parse_cdm(text, source="hst.cdm")
    err = exc.value
    assert (err.source, err.field, err.value) == ("hst.cdm", "X_DOT", "-1.87O765")
    assert err.line == 1 + text.splitlines().index(next(ln for ln in text.splitlines() if "-1.87O765" in ln))
    assert "number" in err.expected
    assert err.object_id == "OBJECT1"


def test_collect_mode_gathers_errors_and_refuses_conjunction(data_dir):
    lines = _hst_text(data_dir).splitlines()
    lines = [ln for ln in lines if not ln.startswith("CN_T")]  # drop one covariance term (both objects)
    lines.append("THIS LINE IS NOT KVN")
    cdm = parse_cdm("\n".join(lines), source="broken.cdm", collect=True)
    fields = [e.field for e in cdm.errors]
    assert fields.count("CN_T") == 2
    assert any(e.value == "THIS LINE IS NOT KVN" for e in cdm.errors)
    with pytest.raises(RecordError):
        cdm.to_conjunction()


def test_version_and_format_errors(data_dir):
    text = _hst_text(data_dir).replace("CCSDS_CDM_VERS                              = 1.0", "CCSDS_CDM_VERS = 3.0")
    with pytest.raises(RecordError) as exc:
        parse_cdm(text)
    assert exc.value.field == "CCSDS_CDM_VERS" and exc.value.value == "3.0" and exc.value.line == 1
    with pytest.raises(FormatError):
        parse_cdm("CCSDS_OEM_VERS = 2.0\nOBJECT_NAME = X\n", source="x.oem")
    with pytest.raises(FormatError):
        parse_cdm("<cdm><header>", source="broken.xml")


def test_xml_record_error_has_line(data_dir):
    text = (data_dir / "ccsds/cdm/ccsds508_cdm_example_section4.xml").read_text()
    bad = text.replace('<Y units="km">2244.654904</Y>', '<Y units="km">two</Y>', 1)
    with pytest.raises(RecordError) as exc:
        parse_cdm(bad, source="ex.xml")
    assert exc.value.field == "Y" and exc.value.value == "two"
    assert exc.value.line == 1 + bad.splitlines().index(next(ln for ln in bad.splitlines() if ">two<" in ln))


def test_itrf_states_are_converted_to_inertial(data_dir):
    """An ITRF copy of the HST CDM (states rotated at TCA) gives the same Pc."""
    from propagators.frames import gcrs_to_itrs
    from propagators.timeutil import to_time

    text = _hst_text(data_dir)
    cdm = parse_cdm(text)
    t = to_time(cdm.tca)
    itrf_states = []
    for obj in cdm.objects:
        r, v = gcrs_to_itrs(obj.r_km[None, :], obj.v_km_s[None, :], t)
        itrf_states.append(dict(zip(("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT"), np.r_[r[0], v[0]])))
    lines, k = [], -1
    for ln in text.splitlines():
        key = ln.split("=")[0].strip()
        if key == "OBJECT":
            k += 1
        if key == "REF_FRAME":
            ln = "REF_FRAME = ITRF"
        elif k >= 0 and key in itrf_states[k]:
            ln = f"{key} = {itrf_states[k][key]!r}"
        lines.append(ln)
    out = "\n".join(lines)
    itrf = parse_cdm(out)
    assert itrf.object1.ref_frame == "ITRF"
    a, b = cdm.to_conjunction(), itrf.to_conjunction()
    assert b.frame == "GCRS"
    np.testing.assert_allclose(b.r1_km, a.r1_km, atol=one_mm_km)
    np.testing.assert_allclose(b.v2_km_s, a.v2_km_s, atol=1e-9)
    assert compute_pc(itrf).pc == pytest.approx(compute_pc(cdm).pc, rel=1e-6)


@pytest.mark.parametrize("name", _REAL_CDMS[:3] + ["OmitronTestCase_Test07_NonPDCovariance.cdm"])
def test_writer_round_trip(data_dir, name):
    cdm = read_cdm(data_dir / "collision_probability/cdm" / name)
    conj = cdm.to_conjunction()
    res = compute_pc(conj, check_usage=False)
    text = format_cdm_kvn(
        conj, originator="CISLUNAR-MONITOR", message_id=f"RT-{name[:20]}",
        creation_date=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc), pc_result=res,
        objects=({"OBJECT_DESIGNATOR": cdm.object1.designator}, {"OBJECT_DESIGNATOR": cdm.object2.designator}),
    )
    back = parse_cdm(text, source="written.cdm")
    assert back.version == "2.0" and not back.errors and not back.warnings
    assert back.tca == conj.tca
    assert back.creation_date == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert back.collision_probability == res.pc
    assert back.collision_probability_method == "FOSTER-1992"
    assert back.object2.designator == cdm.object2.designator
    again = back.to_conjunction()
    np.testing.assert_array_equal(again.r1_km, conj.r1_km)
    np.testing.assert_array_equal(again.v2_km_s, conj.v2_km_s)
    np.testing.assert_allclose(again.cov1_km, conj.cov1_km, rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(again.cov2_km, conj.cov2_km, rtol=1e-12, atol=1e-18)
    assert again.hbr_m == conj.hbr_m
    # The RTN covariance written equals the one read (m^2 units).
    np.testing.assert_allclose(back.object1.cov_rtn, cdm.object1.cov_rtn[:6, :6], rtol=1e-9, atol=1e-12)
    assert back.miss_distance_m == pytest.approx(res.miss_km * 1e3, rel=1e-15)
    assert compute_pc(back, check_usage=False).pc == pytest.approx(res.pc, rel=1e-12)
