"""Ingest into a real migrated database: shared samples, rejections,
idempotency, one transaction per file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db import queries
from db.models import ElementSet, IngestRejection, SpaceObject
from monitor.ingest import ingest_paths
from propagators.datadir import packaged_tle_json_path, vallado_tle_path
from propagators.parsing.tle import tle_checksum

GOOD_3LE = """ISS (ZARYA)
1 25544U 98067A   26234.50000000  .00016717  00000-0  10270-3 0  9005
2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815691 34215
"""


def _fix(line: str) -> str:
    body = line[:68]
    return body + str(tle_checksum(body + "0"))


def _good(name: str, num: int) -> str:
    l1 = f"1 {num:05d}U 98067A   26234.50000000  .00016717  00000-0  10270-3 0  900"
    l2 = f"2 {num:05d}  51.6416 247.4627 0006703 130.5360 325.0288 15.49815691 3421"
    return f"{name}\n{_fix(l1.ljust(69))}\n{_fix(l2.ljust(69))}\n"


def _count(Session, model) -> int:
    with Session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_shared_catalogue_and_omm_samples_ingest_with_zero_rejections(Session, data_dir):
    files = sorted((data_dir / "catalog").glob("*.txt")) + sorted((data_dir / "ccsds" / "omm").iterdir())
    reports = ingest_paths(Session, files)
    assert [r.path for r in reports if r.rejections or r.error] == []
    geo = next(r for r in reports if "geo" in r.path)
    assert geo.records == 568 and geo.new == 568
    with Session() as s:
        assert s.scalar(select(func.count()).select_from(SpaceObject).where(SpaceObject.regime == "GEO")) >= 560


def test_reingest_adds_nothing(Session, data_dir):
    path = data_dir / "catalog" / "celestrak_geo_2026-08-22.txt"
    ingest_paths(Session, [path])
    n_sets = _count(Session, ElementSet)
    again = ingest_paths(Session, [path])
    assert again[0].new == 0 and again[0].duplicates == 568
    assert _count(Session, ElementSet) == n_sets


def test_vallado_file_ingests_with_zero_rejections(Session):
    reports = ingest_paths(Session, [vallado_tle_path()])
    assert reports[0].rejections == [] and reports[0].error is None
    # every record stored once (the file repeats one element set verbatim)
    assert reports[0].new + reports[0].duplicates == reports[0].records == 33
    assert reports[0].new >= 32


def test_packaged_tles_ingest(Session):
    reports = ingest_paths(Session, [packaged_tle_json_path()])
    assert reports[0].rejections == []
    assert reports[0].new == 152


def test_bad_records_are_reported_and_the_rest_stored(Session, tmp_path):
    good_a, good_b = _good("GOOD A", 90001), _good("GOOD B", 90002)
    bad_sum = _good("BAD SUM", 90003).splitlines()
    bad_sum[1] = bad_sum[1][:68] + str((int(bad_sum[1][68]) + 1) % 10)
    f = tmp_path / "batch.tle"
    f.write_text(good_a + "\n".join(bad_sum) + "\n" + good_b)
    reports = ingest_paths(Session, [f])
    rep = reports[0]
    assert rep.new == 2
    assert len(rep.rejections) == 1
    err = rep.rejections[0]
    assert err.source == str(f) and err.line == 5 and err.field and "checksum" in err.field.lower()
    with Session() as s:
        stored = s.scalars(select(IngestRejection)).all()
        assert len(stored) == 1 and stored[0].line == 5
        assert queries.find_object(s, "90001") is not None and queries.find_object(s, "90003") is None


def test_unreadable_file_is_reported(Session, tmp_path):
    f = tmp_path / "junk.txt"
    f.write_bytes(b"\x00\x01 not an element set at all\n")
    rep = ingest_paths(Session, [f])[0]
    assert rep.error and str(f) in rep.error


def test_state_and_ephemeris_files_ingest_as_objects(Session, data_dir):
    """OEM (Earth-centred segment), OPM and Horizons tables become objects
    with their regime and propagator; OEM segments centred on Mars are
    rejected with the field and value named; re-ingest adds nothing."""
    files = [
        data_dir / "catalog" / "horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv",
        data_dir / "catalog" / "horizons_LRO_2022-01-01_moon-centered_icrf_1min.csv",
        data_dir / "ccsds" / "oem" / "oempy_GEO_60s.oem",
        data_dir / "ccsds" / "oem" / "ccsds502_b3_figG11_example.oem",
        data_dir / "ccsds" / "opm" / "ccsds502_fig3_2_opm.kvn",
    ]
    reports = {Path(r.path).name: r for r in ingest_paths(Session, files)}
    assert reports["horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv"].new == 1
    assert reports["oempy_GEO_60s.oem"].new == 1
    mars = reports["ccsds502_b3_figG11_example.oem"]
    assert mars.new == 0 and len(mars.rejections) == 2
    assert {e.field for e in mars.rejections} == {"CENTER_NAME"} and "MARS" in str(mars.rejections[0].value)
    with Session() as s:
        by_name = {o.name: o for o in s.scalars(select(SpaceObject))}
    artemis = next(o for n, o in by_name.items() if "artemis" in n)
    lro = next(o for n, o in by_name.items() if "LRO" in n)
    assert artemis.regime == "CISLUNAR" and artemis.propagator == "ephemeris"
    assert lro.regime == "LUNAR"
    assert by_name["TEST_OBJ"].regime == "GEO"
    assert by_name["EUTELSAT W4"].propagator == "numerical"
    again = ingest_paths(Session, files[:3])
    assert sum(r.new for r in again) == 0
