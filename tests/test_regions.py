"""Operating regions: signed-distance geometry and region crossings.

Crossing times are checked against closed forms: straight lines (which the
cubic Hermite interpolant reproduces exactly) and two-body orbits, whose
radius and latitude crossings follow from Kepler's equation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from propagators.screening.regions import (
    MU_EARTH_KM3_S2,
    R_EARTH_KM,
    TOUCH_TOLERANCE_KM,
    GeoProtectedRegion,
    GnssMeoBand,
    LeoProtectedRegion,
    default_regions,
    molniya_region,
    osculating_elements,
    region_crossings,
    region_report,
    tundra_region,
)

one_mm_km = 1e-6
one_cm_km = 1e-5
one_metre_km = 1e-3
one_ms = 1e-3
ten_ms = 1e-2
micro_s = 1e-6

R_LEO = R_EARTH_KM + 2000.0
R_GEO_IN = R_EARTH_KM + 35786.0 - 200.0
R_GEO_OUT = R_EARTH_KM + 35786.0 + 200.0
R_GEO = R_EARTH_KM + 35786.0


def kepler_states(a, e, inc, raan, argp, m0, t_s, mu=MU_EARTH_KM3_S2):
    """Two-body states (n_times, 3) of one elliptic orbit (Newton on Kepler's equation)."""
    n = math.sqrt(mu / a**3)
    m = m0 + n * np.asarray(t_s, float)
    ea = m + e * np.sin(m)
    for _ in range(60):
        ea = ea - (ea - e * np.sin(ea) - m) / (1 - e * np.cos(ea))
    b = a * math.sqrt(1 - e * e)
    x, y = a * (np.cos(ea) - e), b * np.sin(ea)
    edot = n / (1 - e * np.cos(ea))
    vx, vy = -a * np.sin(ea) * edot, b * np.cos(ea) * edot
    cO, sO, ci, si, cw, sw = (math.cos(raan), math.sin(raan), math.cos(inc), math.sin(inc), math.cos(argp),
                              math.sin(argp))
    p = np.array([cO * cw - sO * sw * ci, sO * cw + cO * sw * ci, sw * si])
    q = np.array([-cO * sw - sO * cw * ci, -sO * sw + cO * cw * ci, cw * si])
    return x[:, None] * p + y[:, None] * q, vx[:, None] * p + vy[:, None] * q


def time_at_radius(a, e, radius, outbound, mu=MU_EARTH_KM3_S2):
    """Time from perigee at which an elliptic orbit reaches ``radius``."""
    ea = math.acos((1 - radius / a) / e)
    if not outbound:
        ea = -ea
    return (ea - e * math.sin(ea)) / math.sqrt(mu / a**3)


# ---------------------------------------------------------------- geometry


def test_leo_distance_scalar_and_array_and_exact_boundary():
    leo = LeoProtectedRegion()
    # exactly on the boundary (representable): distance 0, inside (closed region)
    on = np.array([R_LEO, 0.0, 0.0])
    assert leo.signed_distance_km(on) == 0.0
    pts = np.array([[R_LEO + 10.0, 0, 0], [0, 0, -(R_LEO - 5.0)], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(leo.signed_distance_km(pts), [10.0, -5.0, -R_LEO], atol=one_mm_km)


def test_meo_band_inside_and_outside():
    meo = GnssMeoBand()
    # GPS (20,180 km) and Galileo (23,222 km) shells inside; 18,000 and 24,500 km outside
    r = R_EARTH_KM + np.array([20180.0, 23222.0, 18000.0, 24500.0, 19100.0, 21530.0])
    d = meo.signed_distance_km(np.stack([np.zeros(6), r, np.zeros(6)], -1))
    np.testing.assert_allclose(d, [-1580.0, -878.0, 600.0, 400.0, -500.0, -2570.0], atol=one_mm_km)
    assert meo.signed_distance_km(np.zeros(3)) == pytest.approx(R_EARTH_KM + 18600.0, abs=one_mm_km)


def _brute_geo_distance(point, geo, n=4001):
    """Distance from ``point`` to the GEO sector by dense sampling of its
    meridian cross-section boundary (the closest point lies in the point's
    meridian half-plane)."""
    s = math.hypot(point[0], point[1])
    z = abs(point[2])
    phi_m = math.radians(geo.max_latitude_deg)
    lat = np.linspace(-phi_m, phi_m, n)
    rad = np.linspace(R_GEO_IN, R_GEO_OUT, n)
    bx = np.concatenate([R_GEO_IN * np.cos(lat), R_GEO_OUT * np.cos(lat), rad * math.cos(phi_m)])
    bz = np.concatenate([R_GEO_IN * np.sin(lat), R_GEO_OUT * np.sin(lat), rad * math.sin(phi_m)])
    return float(np.min(np.hypot(bx - s, bz - z)))


@pytest.mark.parametrize(
    "point, label",
    [
        ((0.0, 0.0, R_GEO), "north pole at GEO radius"),
        ((0.0, 0.0, -R_GEO_OUT - 500.0), "south pole beyond the shell"),
        ((1e-9, 0.0, 30000.0), "next to the axis"),
        ((R_GEO * math.cos(math.radians(40)), 0.0, R_GEO * math.sin(math.radians(40))), "40 deg latitude"),
        ((R_GEO_OUT * 2.0 * math.cos(math.radians(16)), 0.0, R_GEO_OUT * 2.0 * math.sin(math.radians(16))),
         "far out just above the latitude edge"),
        ((10000.0 * math.cos(math.radians(20)), 0.0, 10000.0 * math.sin(math.radians(20))), "inside, 20 deg"),
    ],
)
def test_geo_distance_outside_matches_brute_force(point, label):
    geo = GeoProtectedRegion()
    d = float(geo.signed_distance_km(np.array(point)))
    # the sampled boundary spacing is <= 400 km / 4000 = 0.1 km; the distance
    # error of a sampled boundary is below spacing**2 / (8 * distance) + round-off
    sample_error_km = 0.1
    assert d > 0.0, label
    assert d <= _brute_geo_distance(point, geo) + one_mm_km, label
    assert d == pytest.approx(_brute_geo_distance(point, geo), abs=sample_error_km), label


def test_geo_pole_distance_closed_form():
    geo = GeoProtectedRegion()
    # from the pole at radius R, the nearest point is the inner corner (R_in, 15 deg):
    # law of cosines with the 75 deg angle between the axis and the corner
    d = float(geo.signed_distance_km(np.array([0.0, 0.0, R_GEO])))
    expected = math.sqrt(R_GEO**2 + R_GEO_IN**2 - 2 * R_GEO * R_GEO_IN * math.cos(math.radians(75.0)))
    assert d == pytest.approx(expected, abs=one_mm_km)
    # the origin: the inner shell radius
    assert float(geo.signed_distance_km(np.zeros(3))) == pytest.approx(R_GEO_IN, abs=one_mm_km)


def test_geo_latitude_edge_and_inside_values():
    geo = GeoProtectedRegion()
    phi = math.radians(15.0)
    on_edge = np.array([R_GEO * math.cos(phi), 0.0, R_GEO * math.sin(phi)])
    assert abs(float(geo.signed_distance_km(on_edge))) <= one_mm_km
    # just above the edge: the distance is the chord to the edge line, R sin(dphi)
    dphi = math.radians(1e-3)
    above = np.array([R_GEO * math.cos(phi + dphi), 0.0, -R_GEO * math.sin(phi + dphi)])
    assert float(geo.signed_distance_km(above)) == pytest.approx(R_GEO * math.sin(dphi), abs=one_mm_km)
    # inside: nearest of the two shells and the edge
    eq = np.array([[R_GEO + 150.0, 0, 0], [R_GEO - 120.0, 0, 0], [0, R_GEO, 0]])
    np.testing.assert_allclose(geo.signed_distance_km(eq), [-50.0, -80.0, -200.0], atol=one_mm_km)
    # on the outer shell exactly at the equator, and on the corner
    corner = np.array([R_GEO_OUT * math.cos(phi), 0.0, R_GEO_OUT * math.sin(phi)])
    assert abs(float(geo.signed_distance_km(np.array([R_GEO_OUT, 0.0, 0.0])))) <= one_mm_km
    assert abs(float(geo.signed_distance_km(corner))) <= one_mm_km


def test_heo_families_classify_reference_orbits():
    molniya, tundra = molniya_region(), tundra_region()
    # Molniya: a = 26,562 km, e = 0.72, i = 63.4 deg; Tundra: a = 42,164 km, e = 0.27, i = 63.4 deg
    rm, vm = kepler_states(26562.0, 0.72, math.radians(63.4), 0.3, math.radians(270), 0.5, np.array([0.0]))
    rt, vt = kepler_states(42164.0, 0.27, math.radians(63.4), 1.0, math.radians(270), 2.0, np.array([0.0]))
    assert molniya.signed_distance_km(rm, vm)[0] < 0 and tundra.signed_distance_km(rm, vm)[0] > 0
    assert tundra.signed_distance_km(rt, vt)[0] < 0 and molniya.signed_distance_km(rt, vt)[0] > 0
    a, e, inc = osculating_elements(rm, vm)
    assert a[0] == pytest.approx(26562.0, abs=one_metre_km) and e[0] == pytest.approx(0.72, abs=1e-12)
    assert inc[0] == pytest.approx(math.radians(63.4), abs=1e-12)


# ---------------------------------------------------------------- crossings


def test_radial_line_entry_time_and_speed_ratio():
    # straight radial fall at 5 km/s from 12,000 km: the Hermite arc is exact
    t = np.arange(0.0, 2000.0, 60.0)
    r = np.zeros((len(t), 3))
    r[:, 0] = 12000.0 - 5.0 * t
    v = np.zeros_like(r)
    v[:, 0] = -5.0
    ev = region_crossings(r, v, t, [LeoProtectedRegion()])
    assert [e.kind for e in ev] == ["approach", "entry"]
    # the closed region is inflated by the 1 mm touch tolerance: 0.2 microseconds at 5 km/s
    assert ev[1].t_s == pytest.approx((12000.0 - R_LEO) / 5.0, abs=micro_s)
    assert ev[0].t_s == pytest.approx((12000.0 - R_LEO - 100.0) / 5.0, abs=micro_s)
    assert ev[1].speed_ratio == pytest.approx(5.0 / math.sqrt(MU_EARTH_KM3_S2 / R_LEO), abs=1e-9)
    # the pass lasts to the end of the window, deepest at the last sample
    rep = region_report(r, v, t, [LeoProtectedRegion()])[0]
    assert len(rep.passes) == 1 and math.isnan(rep.passes[0].exit_t_s)
    assert rep.passes[0].penetration_depth_km == pytest.approx(R_LEO - (12000.0 - 5.0 * t[-1]), abs=one_mm_km)
    assert rep.min_distance_outside_km == pytest.approx(0.0, abs=one_mm_km)


@pytest.mark.parametrize("miss_km, detected", [(0.0, True), (-one_metre_km, True), (one_metre_km, False)])
def test_tangent_pass_between_samples(miss_km, detected):
    """A straight pass at impact parameter R + miss, tangent point between samples.

    Documented convention: the region is closed to 1 mm, so an exact tangent
    is an entry and exit of depth 0; 1 m outside is no entry."""
    b = R_LEO + miss_km
    t = np.arange(-900.0, 900.0, 60.0) + 7.3
    r = np.stack([7.5 * t, np.full_like(t, b), np.zeros_like(t)], -1)
    v = np.tile([7.5, 0.0, 0.0], (len(t), 1))
    ev = [e for e in region_crossings(r, v, t, [LeoProtectedRegion()]) if e.kind != "approach"]
    if not detected:
        assert ev == []
        rep = region_report(r, v, t, [LeoProtectedRegion()])[0]
        assert rep.min_distance_outside_km == pytest.approx(miss_km, abs=one_mm_km)
        assert rep.t_min_distance_s == pytest.approx(0.0, abs=one_ms)
        return
    assert [e.kind for e in ev] == ["entry", "exit"]
    half_chord_s = math.sqrt((R_LEO + TOUCH_TOLERANCE_KM) ** 2 - b**2) / 7.5
    assert ev[0].t_s == pytest.approx(-half_chord_s, abs=micro_s)
    assert ev[1].t_s == pytest.approx(half_chord_s, abs=micro_s)
    assert ev[0].distance_km == pytest.approx(max(0.0, -miss_km), abs=one_mm_km)


def test_kepler_orbit_crossings_of_leo_and_meo_match_kepler_equation():
    # perigee 500 km, apogee 22,000 km altitude: crosses the LEO boundary and enters the MEO band
    rp, ra = R_EARTH_KM + 500.0, R_EARTH_KM + 22000.0
    a, e = 0.5 * (rp + ra), (ra - rp) / (ra + rp)
    period = 2 * math.pi * math.sqrt(a**3 / MU_EARTH_KM3_S2)
    t = np.arange(0.0, 1.2 * period, 60.0)
    r, v = kepler_states(a, e, math.radians(30.0), 0.2, 0.4, 0.0, t)  # perigee at t = 0
    ev = region_crossings(r, v, t, [LeoProtectedRegion(), GnssMeoBand()])
    got = {}
    for e_ in ev:
        got.setdefault((e_.region, e_.kind), e_.t_s)  # the first of each kind
    leo_exit = time_at_radius(a, e, R_LEO, outbound=True)
    leo_entry = period + time_at_radius(a, e, R_LEO, outbound=False)
    meo_entry = time_at_radius(a, e, R_EARTH_KM + 18600.0, outbound=True)
    meo_exit = period + time_at_radius(a, e, R_EARTH_KM + 18600.0, outbound=False)
    # Hermite position error at 60 s near perigee ~ omega^4 r h^4 / 384 < 1 m; over a
    # radial speed of several km/s that is < 1 ms of crossing time
    assert got[("IADC LEO", "exit")] == pytest.approx(leo_exit, abs=one_ms)
    assert got[("IADC LEO", "entry")] == pytest.approx(leo_entry, abs=one_ms)
    assert got[("GNSS MEO", "entry")] == pytest.approx(meo_entry, abs=one_ms)
    assert got[("GNSS MEO", "exit")] == pytest.approx(meo_exit, abs=one_ms)
    rep = region_report(r, v, t, [GnssMeoBand()])[0]
    assert len(rep.passes) == 1
    # depth = distance to the nearest boundary, largest at mid-band (21,350 km altitude, below apogee)
    assert rep.passes[0].penetration_depth_km == pytest.approx((24100.0 - 18600.0) / 2, abs=one_cm_km)


def test_inclined_geo_orbit_crosses_latitude_edges_analytically():
    # circular orbit at GEO radius, i = 20 deg: latitude = asin(sin i sin u), u = n t
    inc = math.radians(20.0)
    n = math.sqrt(MU_EARTH_KM3_S2 / R_GEO**3)
    t = np.arange(0.0, 86400.0, 600.0)
    r, v = kepler_states(R_GEO, 0.0, inc, 0.0, 0.0, 0.0, t)
    ev = [e for e in region_crossings(r, v, t, [GeoProtectedRegion()]) if e.kind != "approach"]
    u_edge = math.asin(math.sin(math.radians(15.0)) / math.sin(inc))
    expected = [("exit", u_edge / n), ("entry", (math.pi - u_edge) / n), ("exit", (math.pi + u_edge) / n),
                ("entry", (2 * math.pi - u_edge) / n)]
    assert [e.kind for e in ev] == [k for k, _ in expected]
    # Hermite error at 600 s on GEO ~ 0.4 m; the edge is crossed at ~1 km/s -> < 1 ms
    for e_, (_, t_exp) in zip(ev, expected):
        assert e_.t_s == pytest.approx(t_exp, abs=one_ms)
    rep = region_report(r, v, t, [GeoProtectedRegion()])[0]
    # outside the band the orbit reaches 20 deg: max distance R sin(5 deg); min outside is 0 at the edge
    assert rep.inside_at_start and rep.min_distance_outside_km == pytest.approx(0.0, abs=one_mm_km)


def test_approach_without_entry_reports_closest_distance():
    # circular orbit 60 km above the top of the LEO region: inside the 100 km margin, never inside
    rc = R_LEO + 60.0
    t = np.arange(0.0, 7200.0, 60.0)
    r, v = kepler_states(rc, 0.0, 0.5, 0.0, 0.0, 0.0, t)
    ev = region_crossings(r, v, t, [LeoProtectedRegion()])
    assert [e.kind for e in ev] == ["approach"]
    # the cubic Hermite arc of a circle sampled at 60 s bows inward by ~omega^4 r h^4 / 384 = 0.13 m
    hermite_bow_km = 0.2 * one_metre_km
    assert ev[0].t_s == 0.0 and ev[0].distance_km == pytest.approx(60.0, abs=hermite_bow_km)


def test_nan_rows_are_skipped_and_multi_object_batch():
    t = np.arange(0.0, 2000.0, 60.0)
    r = np.zeros((3, len(t), 3))
    v = np.zeros_like(r)
    r[:, :, 0] = 12000.0 - 5.0 * t
    v[:, :, 0] = -5.0
    r = np.concatenate([r, r[:1]])
    v = np.concatenate([v, v[:1]])
    r[1] = np.nan  # failed propagation: whole object
    r[2, 20:25] = np.nan  # a gap after the crossing at ~724 s
    r[3, 13:15] = np.nan  # a gap (780-840 s) hiding the entry at ~724 s: no entry, inside after it
    reps = region_report(r, v, t, [LeoProtectedRegion()])
    assert [len(x.passes) for x in reps] == [1, 0, 1, 1]
    assert reps[1].events == () and math.isnan(reps[1].min_distance_outside_km)
    assert reps[2].passes[0].entry_t_s == pytest.approx(reps[0].passes[0].entry_t_s, abs=micro_s)
    assert math.isnan(reps[3].passes[0].entry_t_s) and [e.kind for e in reps[3].events] == ["approach"]


def test_heo_family_entry_from_element_change():
    # a GTO-like orbit, then (after a burn between two samples) a Molniya orbit:
    # the element-defined region is entered in the interval of the burn
    t = np.arange(0.0, 4 * 3600.0, 300.0)
    r1, v1 = kepler_states(24400.0, 0.73, math.radians(28.5), 0.3, math.radians(270), 3.0, t)
    r2, v2 = kepler_states(26562.0, 0.72, math.radians(63.4), 0.3, math.radians(270), 3.0, t)
    burn = 24  # samples 0..23 on the GTO, 24.. on the Molniya orbit
    r = np.concatenate([r1[:burn], r2[burn:]])
    v = np.concatenate([v1[:burn], v2[burn:]])
    ev = region_crossings(r, v, t, [molniya_region(approach_margin_km=0.0)])
    entries = [e for e in ev if e.kind == "entry"]
    assert len(entries) == 1 and t[burn - 1] < entries[0].t_s <= t[burn]
    rep = region_report(r, v, t, [molniya_region()])[0]
    assert rep.inside_at_end and not rep.inside_at_start


def test_events_compare_without_array_fields():
    t = np.arange(0.0, 2000.0, 60.0)
    r = np.zeros((len(t), 3))
    r[:, 0] = 12000.0 - 5.0 * t
    v = np.zeros_like(r)
    v[:, 0] = -5.0
    assert region_crossings(r, v, t) == region_crossings(r, v, t)


def test_default_regions_and_astropy_time_input():
    from astropy.time import Time, TimeDelta

    t = np.arange(0.0, 2000.0, 60.0)
    r = np.zeros((len(t), 3))
    r[:, 0] = 12000.0 - 5.0 * t
    v = np.zeros_like(r)
    v[:, 0] = -5.0
    epoch = Time("2026-08-22T12:00:00", scale="utc")
    ev = region_crossings(r, v, epoch + TimeDelta(t, format="sec"))
    entry = [e for e in ev if e.region == "IADC LEO" and e.kind == "entry"][0]
    assert abs((entry.time - epoch).to_value("s") - (12000.0 - R_LEO) / 5.0) < ten_ms
    assert {x.name for x in default_regions()} == {"IADC LEO", "IADC GEO", "GNSS MEO", "Molniya", "Tundra"}
