"""Dashboard building blocks without Streamlit: region geometry, access
configuration, the upload validation report and storage, figures."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import func, select

from dashboard import auth, plots
from dashboard.regions import EARTH_RADIUS_KM, region_bands, region_distances, screening_regions, sphere_mesh
from dashboard.upload import parse_upload, store_uploads
from db.models import ElementSet, SpaceObject

one_metre_km = 1e-3

# ISS (ZARYA), CelesTrak, 2008 (the TLE of python-sgp4's README).
ISS_L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
NUSAT8 = {
    "OBJECT_NAME": "NUSAT-8 (MARIE)", "OBJECT_ID": "2020-003C", "EPOCH": "2020-12-29T11:59:56.951808",
    "MEAN_MOTION": 15.27990594, "ECCENTRICITY": 0.0013363, "INCLINATION": 97.297, "RA_OF_ASC_NODE": 66.7438,
    "ARG_OF_PERICENTER": 109.4976, "MEAN_ANOMALY": 15.7307, "EPHEMERIS_TYPE": 0, "CLASSIFICATION_TYPE": "U",
    "NORAD_CAT_ID": 45018, "ELEMENT_SET_NO": 999, "REV_AT_EPOCH": 5332, "BSTAR": 8.3483e-5,
    "MEAN_MOTION_DOT": 2.212e-5, "MEAN_MOTION_DDOT": 0,
}


# ---------------------------------------------------------------- regions

def _at(alt_km: float, lat_deg: float = 0.0, lon_deg: float = 30.0) -> np.ndarray:
    r = EARTH_RADIUS_KM + alt_km
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    return np.array([r * math.cos(la) * math.cos(lo), r * math.cos(la) * math.sin(lo), r * math.sin(la)])


def test_drawn_bands_are_the_screening_regions():
    bands = {b.kind: b for b in region_bands()}
    assert set(bands) == {"LEO", "GNSS", "GEO"}  # the HEO families have no shape to draw
    core = {type(r).__name__: r for r in screening_regions()}
    assert bands["LEO"].max_alt_km == core["LeoProtectedRegion"].max_altitude_km == 2000.0
    geo = core["GeoProtectedRegion"]
    assert (bands["GEO"].min_alt_km, bands["GEO"].max_alt_km, bands["GEO"].max_abs_lat_deg) == (
        geo.geo_altitude_km - geo.half_height_km, geo.geo_altitude_km + geo.half_height_km, geo.max_latitude_deg)
    gnss = core["GnssMeoBand"]
    assert (bands["GNSS"].min_alt_km, bands["GNSS"].max_alt_km) == (gnss.min_altitude_km, gnss.max_altitude_km)


def test_region_distances_scalar_and_array():
    v = np.array([0.0, 0.0, 3.0])
    d = region_distances(_at(2500.0), v)
    assert d["IADC LEO"] == pytest.approx(500.0, abs=one_metre_km)
    assert d["IADC GEO"] > 30_000.0
    # inside is negative: the depth below the boundary
    assert region_distances(_at(35_786.0, 5.0), v)["IADC GEO"] == pytest.approx(-200.0, abs=one_metre_km)
    pts = np.stack([_at(400.0), _at(20_180.0), _at(35_786.0), _at(35_786.0, 40.0)]).reshape(2, 2, 3)
    vel = np.broadcast_to(v, pts.shape)
    dd = region_distances(pts, vel)
    assert dd["IADC LEO"].shape == (2, 2) and dd["IADC LEO"][0, 0] < 0
    assert dd["GNSS MEO"][0, 1] < 0 and dd["IADC GEO"][1, 0] < 0 and dd["IADC GEO"][1, 1] > 0


def test_meshes_are_to_scale():
    m = sphere_mesh(EARTH_RADIUS_KM)
    assert np.allclose(np.linalg.norm(m, axis=-1), EARTH_RADIUS_KM)
    band = sphere_mesh(42164.0, 72, 6, 15.0)
    lat = np.degrees(np.arcsin(band[..., 2] / 42164.0))
    assert lat.min() == pytest.approx(-15.0) and lat.max() == pytest.approx(15.0)


# ---------------------------------------------------------------- access configuration

def test_auth_defaults_to_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = auth.load_auth_config({})
    assert cfg.mode == "none" and not cfg.enabled


def test_auth_from_toml_and_environment(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[auth]\nmode = "password"\npassword = "s3cret"\nviewer_password = "look"\nack_allowlist = ["Alice", "bob"]\n')
    cfg = auth.load_auth_config({"CISLUNAR_CONFIG": str(p)})
    assert (cfg.mode, cfg.password, cfg.viewer_password, cfg.ack_allowlist) == ("password", "s3cret", "look", ("Alice", "bob"))
    env = {"CISLUNAR_CONFIG": str(p), "CISLUNAR_DASHBOARD_PASSWORD": "other", "CISLUNAR_DASHBOARD_ACK_ALLOWLIST": "carol"}
    cfg = auth.load_auth_config(env)
    assert cfg.password == "other" and cfg.ack_allowlist == ("carol",)
    # a password in the environment alone turns password mode on
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert auth.load_auth_config({"CISLUNAR_DASHBOARD_PASSWORD": "x", "CISLUNAR_CONFIG": str(empty)}).mode == "password"


@pytest.mark.parametrize(
    "toml, key, expected",
    [
        ('[auth]\nmode = "ldap"\n', "mode", '"none" or "password" or "oidc"'),
        ('[auth]\nmode = "password"\n', "password", "a password"),
        ('[auth]\nmode = "oidc"\nack_allowlist = 3\n', "ack_allowlist", "a list of strings"),
    ],
)
def test_auth_config_errors_name_key_and_expectation(tmp_path, toml, key, expected):
    p = tmp_path / "c.toml"
    p.write_text(toml)
    with pytest.raises(auth.AuthConfigError) as exc:
        auth.load_auth_config({"CISLUNAR_CONFIG": str(p)})
    assert exc.value.key == key and expected in str(exc.value) and str(p) in str(exc.value)


def test_password_identities():
    cfg = auth.AuthConfig(mode="password", password="op", viewer_password="view", ack_allowlist=())
    assert auth.check_password(cfg, "alice", "wrong") is None
    assert auth.check_password(cfg, "", "op") is None
    op = auth.check_password(cfg, "alice", "op")
    assert op.can_act and op.name == "alice"
    viewer = auth.check_password(cfg, "bob", "view")
    assert not viewer.can_act
    restricted = auth.AuthConfig(mode="password", password="op", ack_allowlist=("alice",))
    assert auth.check_password(restricted, "Alice", "op").can_act
    assert not auth.check_password(restricted, "mallory", "op").can_act


def test_oidc_identities():
    cfg = auth.AuthConfig(mode="oidc", ack_allowlist=("ops@example.org",))
    assert auth.oidc_identity(cfg, {"is_logged_in": False}) is None
    assert auth.oidc_identity(cfg, {"is_logged_in": True, "email": "OPS@example.org", "name": "Ops"}).can_act
    other = auth.oidc_identity(cfg, {"is_logged_in": True, "email": "guest@example.org"})
    assert not other.can_act and "not on auth.ack_allowlist" in other.why
    nobody = auth.oidc_identity(auth.AuthConfig(mode="oidc"), {"is_logged_in": True, "email": "ops@example.org"})
    assert not nobody.can_act and "empty" in nobody.why


# ---------------------------------------------------------------- upload

def _bad_checksum(line: str) -> str:
    return line[:-1] + str((int(line[-1]) + 1) % 10)


def test_upload_report_locates_rejections():
    text = f"ISS (ZARYA)\n{ISS_L1}\n{ISS_L2}\nBROKEN\n{_bad_checksum(ISS_L1)}\n{ISS_L2}\n"
    rep = parse_upload("mixed.tle", text.encode())
    assert rep.format == "tle" and rep.error is None
    assert [me.norad_id for me in rep.records] == [25544]
    assert len(rep.rejections) == 1
    row = rep.rejection_rows()[0]
    assert row["line"] == 5 and row["field"] and row["expected"]
    assert rep.summary_line() == "mixed.tle: tle: 2 records, 1 rejected"


def test_upload_unreadable_file():
    rep = parse_upload("notes.txt", b"hello world\n")
    assert rep.status == "unreadable" and "not a recognised element or state format" in rep.error


def test_upload_stores_in_one_transaction(SqliteSession):
    tle = parse_upload("iss.tle", f"ISS (ZARYA)\n{ISS_L1}\n{ISS_L2}\n".encode())
    omm = parse_upload("gp.json", json.dumps([NUSAT8, dict(NUSAT8, ECCENTRICITY="abc", NORAD_CAT_ID=45020)]).encode())
    assert omm.format == "omm-json" and len(omm.records) == 1 and omm.rejections[0].field == "ECCENTRICITY"
    with SqliteSession.begin() as s:
        store_uploads(s, [tle, omm])
    assert (tle.new, omm.new) == (1, 1)
    assert "1 new, 0 already stored, 1 rejected" in omm.summary_line()
    with SqliteSession() as s:
        iss = s.scalar(select(SpaceObject).where(SpaceObject.norad_id == 25544))
        assert iss.regime == "LEO" and iss.propagator == "sgp4" and "SGP4" in iss.propagator_reason
        assert s.scalar(select(ElementSet.source).where(ElementSet.object_id == iss.id)) == "upload:iss.tle"
    again = parse_upload("iss.tle", f"ISS (ZARYA)\n{ISS_L1}\n{ISS_L2}\n".encode())
    with SqliteSession.begin() as s:
        store_uploads(s, [again])
    assert (again.new, again.duplicates) == (0, 1)


def test_upload_oem(SqliteSession):
    from propagators.ccsds_write import write_oem
    from propagators.timeutil import time_grid

    # a circular 7000 km equatorial orbit, 10 states a minute apart (GCRF, UTC)
    t0 = datetime(2026, 7, 21, tzinfo=timezone.utc)
    t = time_grid(t0, t0 + timedelta(minutes=9), 60.0)
    w = math.sqrt(398600.4418 / 7000.0**3)
    s = np.arange(10) * 60.0
    r = np.stack([7000 * np.cos(w * s), 7000 * np.sin(w * s), 0 * s], axis=-1)
    v = np.stack([-7000 * w * np.sin(w * s), 7000 * w * np.cos(w * s), 0 * s], axis=-1)
    text = write_oem(originator="TEST", creation_date=t0, object_name="PROBE", object_id="2026-900A", epochs=t, r_km=r, v_km_s=v)
    rep = parse_upload("probe.oem", text.encode())
    assert rep.format == "oem-kvn" and rep.error is None and len(rep.records) == 1
    with SqliteSession.begin() as sess:
        store_uploads(sess, [rep])
    assert rep.new == 1
    with SqliteSession() as sess:
        obj = sess.scalar(select(SpaceObject).where(SpaceObject.provider_id == "2026-900A"))
        es = sess.scalar(select(ElementSet).where(ElementSet.object_id == obj.id))
        assert es.format == "oem-kvn" and json.loads(es.payload_json)["segment"] == 0
        assert obj.regime == "LEO" and obj.propagator == "ephemeris"
        assert sess.scalar(select(func.count()).select_from(ElementSet)) == 1


# ---------------------------------------------------------------- figures

def test_region_traces_in_both_frames():
    traces = plots.body_and_region_traces(region_bands(), np.array([384_000.0, 0, 0]))
    names = [t.name for t in traces]
    assert {"Earth", "Moon", "IADC LEO region", "IADC GEO region", "GNSS MEO band (inner)", "GNSS MEO band (outer)"} <= set(names)
    moved = plots.body_and_region_traces(region_bands(), None, lambda p: p + 1000.0)
    earth = next(t for t in moved if t.name == "Earth")
    assert np.allclose(np.mean(np.asarray(earth.x)), 1000.0, atol=200.0)
