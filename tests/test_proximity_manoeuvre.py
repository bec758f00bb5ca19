"""Sustained proximity (GEO co-location, straight lines) and manoeuvre
detection on synthetic two-body element sets with a known burn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from propagators.errors import ConfigError
from propagators.screening.manoeuvre import (
    DEFAULT_THRESHOLDS,
    classify_regime,
    detect_manoeuvres,
    detect_manoeuvres_with,
)
from propagators.screening.proximity import proximity_intervals

MU_KM3_S2 = 398600.4418
R_GEO_KM = 42164.1696  # a of a one-sidereal-day orbit with this mu
N_GEO_RAD_S = math.sqrt(MU_KM3_S2 / R_GEO_KM**3)
micro_s = 1e-6
one_metre_km = 1e-3
one_mm_s_km_s = 1e-6


def kepler_from_state(r0, v0, t_s, mu=MU_KM3_S2):
    """Exact two-body states (T, 3) at times ``t_s`` from the state at t = 0
    (universal-variable free: elliptic orbits through Kepler's equation)."""
    r0, v0 = np.asarray(r0, float), np.asarray(v0, float)
    rn = np.linalg.norm(r0)
    h = np.cross(r0, v0)
    e_vec = np.cross(v0, h) / mu - r0 / rn
    e = np.linalg.norm(e_vec)
    a = 1.0 / (2.0 / rn - v0 @ v0 / mu)
    p = e_vec / e if e > 1e-10 else r0 / rn
    q = np.cross(h / np.linalg.norm(h), p)
    nu = math.atan2(r0 @ q, r0 @ p)
    ea0 = 2 * math.atan2(math.sqrt(1 - e) * math.sin(nu / 2), math.sqrt(1 + e) * math.cos(nu / 2))
    n = math.sqrt(mu / a**3)
    m = ea0 - e * math.sin(ea0) + n * np.atleast_1d(np.asarray(t_s, float))
    ea = m.copy()
    for _ in range(60):
        ea = ea - (ea - e * np.sin(ea) - m) / (1 - e * np.cos(ea))
    b = a * math.sqrt(1 - e * e)
    x, y = a * (np.cos(ea) - e), b * np.sin(ea)
    edot = n / (1 - e * np.cos(ea))
    r = x[:, None] * p + y[:, None] * q
    v = (-a * np.sin(ea) * edot)[:, None] * p + (b * np.cos(ea) * edot)[:, None] * q
    return r, v


def geo_state(lon_rad, da_km=0.0, dv_radial=0.0, dv_normal=0.0):
    rad = R_GEO_KM + da_km
    r = rad * np.array([math.cos(lon_rad), math.sin(lon_rad), 0.0])
    that = np.array([-math.sin(lon_rad), math.cos(lon_rad), 0.0])
    v = math.sqrt(MU_KM3_S2 / rad) * that + dv_radial * r / rad + np.array([0, 0, dv_normal])
    return r, v


# ---------------------------------------------------------------- proximity


def test_geo_co_located_inspector_is_a_sustained_proximity():
    # a client in GEO and an inspector 5 km behind on a relative ellipse (radial
    # kick 0.5 m/s: 2 x 6.9 km along track, 3.4 km radial); a third object
    # drifts past (40 km higher: 1.5 n da = 4.4 m/s of drift, ~3.8 h within 50 km)
    t = np.arange(0.0, 2 * 86400.0 + 1.0, 300.0)
    r_c, v_c = geo_state(0.0)
    r_i, v_i = geo_state(-5.0 / R_GEO_KM, dv_radial=0.0005)
    r_d, v_d = geo_state(100.0 / R_GEO_KM, da_km=40.0)
    states = [kepler_from_state(r0, v0, t) for r0, v0 in ((r_c, v_c), (r_i, v_i), (r_d, v_d))]
    r = np.stack([s[0] for s in states])
    v = np.stack([s[1] for s in states])
    got = proximity_intervals(r, v, t, range_km=50.0, min_duration_s=6 * 3600.0, max_relative_speed_km_s=0.01)
    assert [(x.i, x.j) for x in got] == [(0, 1)]
    iv = got[0]
    assert iv.starts_at_window_edge and iv.ends_at_window_edge
    assert (iv.start_s, iv.end_s) == (0.0, t[-1])
    # relative speed on the ellipse: between 0.5 m/s (radial) and ~1 m/s (along track, 2x0.5)
    assert 0.0004 < iv.mean_relative_speed_km_s < 0.0011
    rng_samples = np.linalg.norm(r[1] - r[0], axis=-1)
    assert iv.min_range_km <= rng_samples.min() + one_metre_km
    # the drifting object is within 50 km for a few hours only: reported with a shorter minimum
    short = proximity_intervals(r, v, t, pairs=[(0, 2)], range_km=50.0, min_duration_s=3600.0)
    assert len(short) == 1 and 3600.0 < short[0].duration_s < 6 * 3600.0
    assert 0.004 < short[0].mean_relative_speed_km_s < 0.007


def test_proximity_interval_ends_on_straight_lines_are_exact():
    # b passes a at 2 m/s with a 10 km miss at t = 40,000 s: within 30 km for
    # |t - t*| <= sqrt(30^2 - 10^2) / 0.002 s (Hermite arcs are exact on lines)
    t = np.arange(0.0, 80000.0, 600.0)
    ra = np.tile([42164.0, 0.0, 0.0], (len(t), 1))
    rb = ra + np.stack([np.zeros_like(t), 0.002 * (t - 40000.0), np.full_like(t, 10.0)], -1)
    va = np.zeros_like(ra)
    vb = np.tile([0.0, 0.002, 0.0], (len(t), 1))
    half = math.sqrt(30.0**2 - 10.0**2) / 0.002
    got = proximity_intervals(np.stack([ra, rb]), np.stack([va, vb]), t, range_km=30.0, min_duration_s=3600.0)
    assert len(got) == 1
    assert got[0].start_s == pytest.approx(40000.0 - half, abs=micro_s)
    assert got[0].end_s == pytest.approx(40000.0 + half, abs=micro_s)
    assert got[0].min_range_km == pytest.approx(10.0, abs=1e-9)
    assert got[0].t_min_range_s == pytest.approx(40000.0, abs=micro_s)
    assert got[0].mean_relative_speed_km_s == pytest.approx(0.002, abs=1e-12)
    # too fast for the speed criterion, too short for a longer minimum
    assert proximity_intervals(np.stack([ra, rb]), np.stack([va, vb]), t, range_km=30.0,
                               max_relative_speed_km_s=0.001) == []
    assert proximity_intervals(np.stack([ra, rb]), np.stack([va, vb]), t, range_km=30.0,
                               min_duration_s=2 * half + 1.0) == []
    # a dip into range entirely between two samples
    rb2 = ra + np.stack([np.zeros_like(t), 0.05 * (t - 40100.0), np.full_like(t, 10.0)], -1)
    vb2 = np.tile([0.0, 0.05, 0.0], (len(t), 1))
    dip = proximity_intervals(np.stack([ra, rb2]), np.stack([va, vb2]), t, range_km=12.0, min_duration_s=0.0,
                              max_relative_speed_km_s=1.0)
    half2 = math.sqrt(12.0**2 - 10.0**2) / 0.05
    assert len(dip) == 1 and dip[0].start_s == pytest.approx(40100.0 - half2, abs=micro_s)
    with pytest.raises(ConfigError, match="range_km"):
        proximity_intervals(np.stack([ra, rb]), np.stack([va, vb]), t, range_km=-1.0)


# ---------------------------------------------------------------- manoeuvres


def _element_sets(r0, v0, epochs_s, burn_t_s, dv_km_s, along_track_km, sma_km, rng):
    """States of one object at its element-set epochs, with an impulsive burn
    ``dv_km_s`` (3,) at ``burn_t_s``.  Orbit-determination error is modelled
    as TLE errors mostly are: an along-track error (a timing shift, sigma
    ``along_track_km``) and a small semi-major-axis error (sigma ``sma_km``,
    a speed scaling through vis-viva).

    Returns propagate(k, t): set k is the true state at its epoch (with its
    error) propagated as two-body (the propagator the sets were fitted with)."""
    pre_r, pre_v = kepler_from_state(r0, v0, [burn_t_s])
    post_v = pre_v[0] + dv_km_s
    sets = []
    for te in epochs_s:
        shift = rng.normal(scale=along_track_km) / np.linalg.norm(v0)
        if te < burn_t_s:
            r, v = kepler_from_state(r0, v0, [te + shift])
        else:
            r, v = kepler_from_state(pre_r[0], post_v, [te - burn_t_s + shift])
        rn, vn = np.linalg.norm(r[0]), np.linalg.norm(v[0])
        a = 1 / (2 / rn - vn**2 / MU_KM3_S2)
        a_err = a + rng.normal(scale=sma_km)
        v_err = v[0] * math.sqrt(MU_KM3_S2 * (2 / rn - 1 / a_err)) / vn
        sets.append((r[0], v_err))

    def propagate(k, t):
        r, v = kepler_from_state(sets[k][0], sets[k][1], [t - epochs_s[k]])
        return r[0], v[0]

    return propagate


def test_leo_tangential_burn_is_flagged_and_sized():
    rng = np.random.default_rng(42)
    rc = 6778.0
    r0 = np.array([rc, 0.0, 0.0])
    v0 = math.sqrt(MU_KM3_S2 / rc) * np.array([0.0, math.cos(0.9), math.sin(0.9)])
    epochs = np.arange(0.0, 6 * 86400.0, 43200.0)
    burn_t = 2.5 * 86400.0 + 1234.0  # between sets 5 and 6
    # 1 m/s along the velocity at the burn time: a purely tangential burn
    _, v_burn = kepler_from_state(r0, v0, [burn_t])
    dv = 0.001 * v_burn[0] / np.linalg.norm(v_burn[0])
    # LEO element sets: 0.5 km along track, 10 m in a (1 sigma; an a error drifts
    # 1.5 n da t along track: ~1.5 km/day, the growth TLE studies report)
    checks = detect_manoeuvres_with(epochs, _element_sets(r0, v0, epochs, burn_t, dv, 0.5, 0.01, rng))
    assert [c.index for c in checks if c.flagged] == [6]
    c = checks[5]
    assert c.regime == "LEO"
    # vis-viva: da = 2 a^2 v dv / mu = 2 dv / n on a circle: ~1.85 km for 1 m/s at 400 km
    n = math.sqrt(MU_KM3_S2 / rc**3)
    assert c.sma_residual_km == pytest.approx(2 * 0.001 / n, rel=0.1)
    # 10 m of a noise on each set: < 1 % of the 1.85 km change
    assert c.dv_sma_km_s == pytest.approx(0.001, rel=0.1)
    assert c.dv_plane_km_s < 1e-9  # a tangential burn does not tilt the plane
    quiet = [x for x in checks if not x.flagged]
    assert all(x.position_residual_km < x.position_limit_km for x in quiet)


def test_geo_station_keeping_burn_is_flagged_and_sized():
    rng = np.random.default_rng(3)
    r0, v0 = geo_state(0.3)
    epochs = np.arange(0.0, 10 * 86400.0, 86400.0)
    burn_t = 4.2 * 86400.0
    _, v_burn = kepler_from_state(r0, v0, [burn_t])
    dv_mag = 0.0002  # 20 cm/s east-west: da = 2 dv / n = 5.5 km
    dv = dv_mag * v_burn[0] / np.linalg.norm(v_burn[0])
    # GEO element sets: 2 km along track, 0.1 km in a (1 sigma)
    checks = detect_manoeuvres_with(epochs, _element_sets(r0, v0, epochs, burn_t, dv, 2.0, 0.1, rng))
    assert [c.index for c in checks if c.flagged] == [5]
    c = checks[4]
    assert c.regime == "GEO"
    assert c.sma_residual_km == pytest.approx(2 * dv_mag / N_GEO_RAD_S, rel=0.1)
    assert c.dv_estimate_km_s == pytest.approx(dv_mag, rel=0.1)
    # the velocity difference at the new epoch is not the burn (0.8 d of drift since)
    assert c.dv_velocity_km_s > 2 * dv_mag


def test_plane_change_and_array_interface():
    r0, v0 = geo_state(1.0)
    t_new = 3600.0
    r_pred, v_pred = kepler_from_state(r0, v0, [t_new])
    dv = 0.003 * np.array([0.0, 0.0, 1.0])  # 3 m/s north: ~0.056 deg of inclination
    epochs = np.array([0.0, t_new])
    checks = detect_manoeuvres(epochs, (r_pred, v_pred), (r_pred, v_pred + dv))
    (c,) = checks
    assert c.flagged  # the position is unchanged at the burn epoch: the plane change flags it
    assert c.dv_plane_km_s == pytest.approx(0.003, rel=1e-3)
    assert c.dv_velocity_km_s == pytest.approx(0.003, abs=one_mm_s_km_s)
    # a NaN row (failed propagation) is returned unflagged, not raised
    r_bad = np.array(r_pred)
    r_bad[0, 0] = np.nan
    (bad,) = detect_manoeuvres(epochs, (r_bad, v_pred), (r_pred, v_pred))
    assert not bad.flagged and math.isnan(bad.position_residual_km)
    with pytest.raises(ConfigError, match="shape"):
        detect_manoeuvres(np.array([0.0, 1.0, 2.0]), (r_pred, v_pred), (r_pred, v_pred))


def test_regimes_and_documented_thresholds():
    leo = np.array([6778.0, 0, 0]), np.array([0, 7.67, 0])
    geo = geo_state(0.0)
    gps = np.array([26560.0, 0, 0]), np.array([0, math.sqrt(MU_KM3_S2 / 26560.0), 0])
    molniya_perigee = 26562.0 * (1 - 0.72)
    molniya = (np.array([molniya_perigee, 0, 0]),
               np.array([0, math.sqrt(MU_KM3_S2 * (2 / molniya_perigee - 1 / 26562.0)), 0]))
    moon_distance = np.array([384400.0, 0, 0]), np.array([0, 1.0, 0])
    got = classify_regime(*(np.array(x) for x in zip(leo, geo, gps, molniya, moon_distance)))
    assert got.tolist() == ["LEO", "GEO", "MEO", "HEO", "OTHER"]
    assert set(DEFAULT_THRESHOLDS) == {"LEO", "MEO", "GEO", "HEO", "OTHER"}
