"""OMM parsers (KVN, XML, CelesTrak/Space-Track JSON and CSV) and format
sniffing."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from propagators.errors import FormatError
from propagators.parsing.detect import parse_element_text, register_parser, sniff_format
from propagators.parsing.omm import parse_omm_csv, parse_omm_json, parse_omm_kvn, parse_omm_xml

# Values of ccsds/omm/ccsds_ndm_omm1_ct.kvn (NUSAT-8, CelesTrak style), pasted.
NUSAT8 = {
    "OBJECT_NAME": "NUSAT-8 (MARIE)",
    "OBJECT_ID": "2020-003C",
    "EPOCH": "2020-12-29T11:59:56.951808",
    "MEAN_MOTION": 15.27990594,
    "ECCENTRICITY": 0.0013363,
    "INCLINATION": 97.297,
    "RA_OF_ASC_NODE": 66.7438,
    "ARG_OF_PERICENTER": 109.4976,
    "MEAN_ANOMALY": 15.7307,
    "EPHEMERIS_TYPE": 0,
    "CLASSIFICATION_TYPE": "U",
    "NORAD_CAT_ID": 45018,
    "ELEMENT_SET_NO": 999,
    "REV_AT_EPOCH": 5332,
    "BSTAR": 8.3483e-5,
    "MEAN_MOTION_DOT": 2.212e-5,
    "MEAN_MOTION_DDOT": 0,
}
# CelesTrak GP CSV column order (celestrak.org/NORAD/documentation/gp-data-formats.php).
GP_COLUMNS = list(NUSAT8)


def element_values(me):
    """Everything but provenance (format, raw text, line, record)."""
    return replace(me, format="", raw_text="", line=None, record=None)


def omm_files(data_dir: Path) -> list[Path]:
    files = sorted((data_dir / "ccsds" / "omm").iterdir())
    assert files, "no ccsds/omm files in the shared data"
    return files


def test_every_shared_omm_file_parses_without_rejection(data_dir: Path) -> None:
    for path in omm_files(data_dir):
        result = parse_element_text(path.read_text(), source=path.name, hint=path.name)
        assert result.rejections == [], path.name
        assert len(result.records) == 1, path.name
        me = result.records[0]
        assert me.format == ("omm-xml" if path.suffix == ".xml" else "omm-kvn"), path.name
        assert me.record == 1 and me.epoch_utc.tzinfo is timezone.utc


def test_kvn_and_xml_of_the_same_object_are_identical(data_dir: Path) -> None:
    omm = data_dir / "ccsds" / "omm"
    pairs = [
        ("ccsds_ndm_omm1_ct.kvn", "ccsds_ndm_omm1_ct.xml"),
        ("celestrak_32275_cosmos2433.omm", "celestrak_32275_cosmos2433.xml"),
    ]
    for kvn_name, xml_name in pairs:
        (kvn,) = parse_omm_kvn((omm / kvn_name).read_text(), kvn_name).records
        (xml,) = parse_omm_xml((omm / xml_name).read_text(), xml_name).records
        assert element_values(kvn) == element_values(xml), kvn_name
        assert kvn.line == 1 and xml.line is None


def test_kvn_values_and_units(data_dir: Path) -> None:
    text = (data_dir / "ccsds" / "omm" / "ccsds_ndm_omm1_ct.kvn").read_text()
    (me,) = parse_omm_kvn(text, "omm1.kvn").records
    assert me.norad_id == 45018
    assert me.name == "NUSAT-8 (MARIE)" and me.intl_designator == "2020-003C"
    assert me.epoch_utc == datetime(2020, 12, 29, 11, 59, 56, 951808, tzinfo=timezone.utc)
    assert (me.mean_motion_rev_day, me.eccentricity, me.inclination_deg) == (15.27990594, 0.0013363, 97.297)
    assert (me.raan_deg, me.arg_perigee_deg, me.mean_anomaly_deg) == (66.7438, 109.4976, 15.7307)
    assert (me.bstar_per_earth_radius, me.mean_motion_dot_rev_day2, me.mean_motion_ddot_rev_day3) == (
        8.3483e-5,
        2.212e-5,
        0.0,
    )
    assert (me.element_set_no, me.rev_at_epoch, me.classification, me.ephemeris_type) == (999, 5332, "U", 0)


def kvn_reference(data_dir: Path):
    text = (data_dir / "ccsds" / "omm" / "ccsds_ndm_omm1_ct.kvn").read_text()
    return parse_omm_kvn(text).records[0]


def test_celestrak_json_and_spacetrack_string_json_agree_with_kvn(data_dir: Path) -> None:
    reference = element_values(kvn_reference(data_dir))
    celestrak = json.dumps([NUSAT8])
    spacetrack = json.dumps([{k: str(v) for k, v in NUSAT8.items()}])
    for text in (celestrak, spacetrack):
        assert sniff_format(text) == "omm-json"
        result = parse_element_text(text, source="gp.json")
        assert result.rejections == []
        (me,) = result.records
        assert me.format == "omm-json" and me.record == 1
        assert element_values(me) == reference


def test_celestrak_csv_agrees_with_kvn(data_dir: Path) -> None:
    reference = element_values(kvn_reference(data_dir))
    row = ",".join(f'"{v}"' if isinstance(v, str) and "," in v else str(v) for v in NUSAT8.values())
    text = ",".join(GP_COLUMNS) + "\r\n" + row + "\r\n" + row.replace("45018", "45019") + "\r\n"
    assert sniff_format(text, "gp.csv") == "omm-csv"
    result = parse_element_text(text, source="gp.csv")
    assert result.rejections == []
    first, second = result.records
    assert element_values(first) == reference
    assert (first.format, first.record, first.line) == ("omm-csv", 1, 2)
    assert (second.norad_id, second.record, second.line) == (45019, 2, 3)


def test_ndm_with_namespace_and_two_omms() -> None:
    def omm(norad: int) -> str:
        tle = "".join(f"<{k}>{v}</{k}>" for k, v in NUSAT8.items() if k not in ("OBJECT_NAME", "OBJECT_ID"))
        tle = tle.replace("<NORAD_CAT_ID>45018<", f"<NORAD_CAT_ID>{norad}<")
        return (
            '<omm id="CCSDS_OMM_VERS" version="3.0"><header><ORIGINATOR>TEST</ORIGINATOR></header>'
            "<body><segment><metadata><OBJECT_NAME>NUSAT-8 (MARIE)</OBJECT_NAME><OBJECT_ID>2020-003C</OBJECT_ID>"
            "<CENTER_NAME>EARTH</CENTER_NAME><REF_FRAME>TEME</REF_FRAME><TIME_SYSTEM>UTC</TIME_SYSTEM>"
            "<MEAN_ELEMENT_THEORY>SGP4</MEAN_ELEMENT_THEORY></metadata>"
            f"<data><meanElements>{tle}</meanElements></data></segment></body></omm>"
        )

    text = f'<?xml version="1.0"?>\n<ndm xmlns="urn:ccsds:schema:ndmxml">{omm(45018)}{omm(270001)}</ndm>'
    assert sniff_format(text) == "omm-xml"
    result = parse_omm_xml(text, "two.xml")
    assert result.rejections == []
    assert [(r.norad_id, r.record) for r in result.records] == [(45018, 1), (270001, 2)]  # 6-digit id


def test_malformed_json_records_are_rejected_and_others_kept() -> None:
    missing_epoch = {k: v for k, v in NUSAT8.items() if k != "EPOCH"}
    bad_ecc = dict(NUSAT8, ECCENTRICITY="abc", NORAD_CAT_ID=45020)
    text = json.dumps([NUSAT8, missing_epoch, bad_ecc, dict(NUSAT8, NORAD_CAT_ID=45021)])
    result = parse_omm_json(text, source="gp.json")
    assert [r.norad_id for r in result.records] == [45018, 45021]
    assert [r.record for r in result.records] == [1, 4]
    no_epoch, not_numeric = result.rejections
    assert (no_epoch.record, no_epoch.field, no_epoch.value, no_epoch.line) == (2, "EPOCH", None, None)
    assert no_epoch.expected == "a EPOCH value"
    assert (not_numeric.record, not_numeric.field, not_numeric.value) == (3, "ECCENTRICITY", "abc")
    assert not_numeric.expected == "a finite decimal number"
    assert not_numeric.object_id == "45020" and "gp.json, record 3" in str(not_numeric)


def test_malformed_csv_rows_name_line_record_and_field() -> None:
    header = ",".join(GP_COLUMNS)
    good = ",".join(str(v) for v in NUSAT8.values())
    no_epoch = good.replace(NUSAT8["EPOCH"], "")
    bad_ecc = good.replace(",0.0013363,", ",0.00l3363,")
    text = "\n".join([header, good, no_epoch, "", bad_ecc, good]) + "\n"
    result = parse_omm_csv(text, source="gp.csv")
    assert [(r.record, r.line) for r in result.records] == [(1, 2), (4, 6)]
    no_epoch_err, bad_ecc_err = result.rejections
    assert (no_epoch_err.record, no_epoch_err.line, no_epoch_err.field) == (2, 3, "EPOCH")
    assert (bad_ecc_err.record, bad_ecc_err.line, bad_ecc_err.field, bad_ecc_err.value) == (
        3,
        5,
        "ECCENTRICITY",
        "0.00l3363",
    )


def kvn_message(**changes) -> str:
    values = dict(NUSAT8, **changes)
    lines = ["CCSDS_OMM_VERS = 2.0", "COMMENT crafted", "MEAN_ELEMENT_THEORY = SGP4"]
    lines += [f"{k} = {v}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def test_multi_message_kvn_with_bad_messages_located_by_line() -> None:
    bad_ecc = kvn_message(ECCENTRICITY="1.0")
    no_epoch = kvn_message(EPOCH=None)
    text = kvn_message() + "\n" + bad_ecc + no_epoch + kvn_message(NORAD_CAT_ID=45019, MEAN_MOTION="15.2799 [rev/day]")
    result = parse_omm_kvn(text, source="multi.kvn")
    assert [(r.norad_id, r.record) for r in result.records] == [(45018, 1), (45019, 4)]
    assert result.records[1].mean_motion_rev_day == 15.2799  # unit in brackets dropped
    ecc_err, epoch_err = result.rejections
    n_lines = len(kvn_message().splitlines())
    ecc_line = n_lines + 2 + 3 + GP_COLUMNS.index("ECCENTRICITY")
    assert text.splitlines()[ecc_line - 1] == "ECCENTRICITY = 1.0"
    assert (ecc_err.record, ecc_err.line, ecc_err.field, ecc_err.value) == (2, ecc_line, "ECCENTRICITY", 1.0)
    assert ecc_err.expected == "0 <= e < 1"
    epoch_start = 2 * n_lines + 2
    assert text.splitlines()[epoch_start - 1] == "CCSDS_OMM_VERS = 2.0"
    assert (epoch_err.record, epoch_err.line, epoch_err.field) == (3, epoch_start, "EPOCH")


@pytest.mark.parametrize(
    ("changes", "field", "value", "expected"),
    [
        ({"INCLINATION": "180.5"}, "INCLINATION", 180.5, "0 <= i <= 180 deg"),
        ({"RA_OF_ASC_NODE": "360"}, "RA_OF_ASC_NODE", 360.0, "0 <= RAAN < 360 deg"),
        ({"MEAN_MOTION": "-1"}, "MEAN_MOTION", -1.0, "mean motion > 0 rev/day"),
        ({"ECCENTRICITY": "nan"}, "ECCENTRICITY", "nan", "a finite decimal number"),
        ({"EPOCH": "2020-13-29T11:59:56"}, "EPOCH", "2020-13-29T11:59:56", None),
        ({"NORAD_CAT_ID": "45018.5"}, "NORAD_CAT_ID", "45018.5", "a whole number"),
        ({"MEAN_ELEMENT_THEORY": "DSST"}, "MEAN_ELEMENT_THEORY", "DSST", "SGP4 or SGP/SGP4"),
        ({"MEAN_ELEMENT_THEORY": "SGP4-XP"}, "MEAN_ELEMENT_THEORY", "SGP4-XP", "SGP4 or SGP/SGP4"),
        ({"EPHEMERIS_TYPE": "4"}, "EPHEMERIS_TYPE", "4", "0 (SGP4 mean elements)"),
        ({"REF_FRAME": "GCRF"}, "REF_FRAME", "GCRF", "TEME"),
        ({"BSTAR": None}, "BSTAR", None, "a BSTAR value"),
    ],
)
def test_omm_field_checks(changes, field, value, expected) -> None:
    values = dict(NUSAT8, MEAN_ELEMENT_THEORY="SGP4", REF_FRAME="TEME")
    values.update(changes)
    values = {k: v for k, v in values.items() if v is not None}
    result = parse_omm_json(json.dumps([NUSAT8, values]), source="gp.json")
    assert len(result.records) == 1
    (err,) = result.rejections
    assert (err.record, err.field, err.value) == (2, field, value)
    if expected is not None:
        assert err.expected == expected
    if "XP" in str(value):
        assert "SGP4-XP" in err.reason


def test_day_of_year_epoch_form() -> None:
    result = parse_omm_json(json.dumps([dict(NUSAT8, EPOCH="2020-364T11:59:56.951808")]))
    assert result.records[0].epoch_utc == datetime(2020, 12, 29, 11, 59, 56, 951808, tzinfo=timezone.utc)


def test_unreadable_inputs_raise_format_error_with_source() -> None:
    with pytest.raises(FormatError, match=r"^broken\.xml: not well-formed XML"):
        parse_omm_xml("<omm><body>", source="broken.xml")
    with pytest.raises(FormatError, match=r"^broken\.json: not valid JSON"):
        parse_omm_json("[{", source="broken.json")
    with pytest.raises(FormatError, match=r"^x\.xml: .*no <omm>"):
        parse_omm_xml("<ndm></ndm>", source="x.xml")


# ---------------------------------------------------------------------------
# Format sniffing


def test_sniff_shared_files(data_dir: Path) -> None:
    expected = {
        "catalog/celestrak_geo_2026-08-22.txt": "tle",
        "catalog/horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv": "horizons-csv",
        "catalog/horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv": "horizons-csv",
        "ccsds/omm/ccsds_ndm_omm1_ct.kvn": "omm-kvn",
        "ccsds/omm/ccsds_ndm_omm1_ct.xml": "omm-xml",
        "ccsds/omm/celestrak_32275_cosmos2433.xml": "omm-xml",
        "ccsds/oem/ccsds502_b3_figG11_example.oem": "oem-kvn",
        "ccsds/opm/ccsds502_fig3_2_opm.kvn": "opm-kvn",
        "ccsds/cdm/ccsds508_cdm_example_section4.kvn": "cdm-kvn",
        "ccsds/cdm/ccsds508_cdm_example_section4.xml": "cdm-xml",
    }
    for rel, fmt in expected.items():
        assert sniff_format((data_dir / rel).read_text(), rel) == fmt, rel
    with pytest.raises(FormatError, match="MANIFEST.md: not a recognised"):
        sniff_format((data_dir / "catalog" / "MANIFEST.md").read_text(), source="MANIFEST.md")


def test_sniff_crafted_state_formats() -> None:
    assert sniff_format('<?xml version="1.0"?>\n<!-- c -->\n<ndm><oem id="CCSDS_OEM_VERS"/></ndm>') == "oem-xml"
    assert sniff_format("<opm id='CCSDS_OPM_VERS' version='2.0'></opm>") == "opm-xml"
    assert sniff_format("COMMENT x\nCCSDS_OEM_VERS = 2.0\n") == "oem-kvn"
    assert sniff_format("$$SOE\n2459580.5, A.D. 2022-Jan-01, 1, 2, 3\n$$EOE\n") == "horizons-csv"
    assert sniff_format("[]", "gp.json") == "omm-json"


def test_state_formats_are_refused_by_name(data_dir: Path) -> None:
    text = (data_dir / "ccsds" / "oem" / "ccsds502_b3_figG11_example.oem").read_text()
    with pytest.raises(FormatError, match=r"^mgs\.oem: this is oem-kvn data.*propagators\.parsing\.oem"):
        parse_element_text(text, source="mgs.oem")


def test_unknown_text_raises_format_error_naming_source() -> None:
    with pytest.raises(FormatError, match=r"^notes\.txt: not a recognised"):
        parse_element_text("hello\nworld\n", source="notes.txt")
    with pytest.raises(FormatError, match=r"^empty\.tle: input is empty"):
        parse_element_text("  \n", source="empty.tle")
    with pytest.raises(FormatError, match=r"^pc\.json: JSON without OMM keys"):
        parse_element_text('{"cases": []}', source="pc.json")


def test_register_parser_rejects_unknown_format_names() -> None:
    with pytest.raises(ValueError, match="format 'oem'"):
        register_parser("oem", parse_omm_kvn)
