"""Force-model terms: each checked against an independent formula or library.

Sources are cited beside each test; tolerances are named physical quantities.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pytest

from propagators import timeutil  # noqa: F401  (offline IERS first)
from astropy.time import Time

from propagators.ephemeris import de421
from propagators.forces import (
    AU_KM,
    EARTH,
    MOON,
    SOLAR_PRESSURE_1AU_N_M2,
    SUN,
    SRP,
    EarthZonal,
    ForceModel,
    LunarGravityField,
    PointMass,
    ThirdBody,
    compile_model,
    compiled_body_positions,
)
from propagators.lunar_gravity import (
    GRGM1200A_REFERENCE_RADIUS_KM,
    icrf_to_moon_pa_matrix,
    read_grgm1200a,
)
from propagators.numerical import _illumination, _zonal_accel, moon_rel_earth_state

EPOCH = Time("2026-01-01T12:00:00", scale="utc")
one_millimetre_km = 1e-6
one_centimetre_km = 1e-5


def _tdb_parts(t: Time):
    e = t.tdb
    return float(e.jd1), float(e.jd2)


# ---------------------------------------------------------------------------
# Ephemeris inside the compiled kernels


def test_compiled_de421_matches_jplephem():
    """The compiled Moon/Sun (DE421 records summed and re-expanded on the
    4-day Earth records) against jplephem's direct evaluation of DE421, every
    ~2.9 h over 60 days: rounding level, and the resulting third-body
    acceleration error is < 1e-15 km/s^2 (< 4 mm if it acted for 30 days)."""
    jd1, jd2 = _tdb_parts(EPOCH)
    span_s = 60 * 86400.0
    M = compile_model(ForceModel([PointMass(EARTH), ThirdBody(MOON), ThirdBody(SUN)]), jd1, jd2, 0.0, span_s)
    t_s = np.linspace(0.0, span_s, 503)
    moon, sun = compiled_body_positions(M, t_s)
    eph = de421()
    moon_ref = eph.position("moon", "earth", np.full(t_s.size, jd1), jd2 + t_s / 86400.0)
    sun_ref = eph.position("sun", "earth", np.full(t_s.size, jd1), jd2 + t_s / 86400.0)
    assert np.max(np.abs(moon - moon_ref)) < one_millimetre_km
    assert np.max(np.abs(sun - sun_ref)) < one_millimetre_km

    # Moon velocity (used at centre switches and for Moon-centred output)
    _, v_ref = eph.state("moon", "earth", np.full(t_s.size, jd1), jd2 + t_s / 86400.0)
    v = np.array([moon_rel_earth_state(M, t)[3:] for t in t_s])
    assert np.max(np.abs(v - v_ref)) < 1e-12  # km/s

    # acceleration-equivalent: third-body pull on a GEO object
    r = np.array([42164.0, 0.0, 0.0])

    def third_body(b, gm):
        d = b - r
        return gm * (d / np.linalg.norm(d, axis=1)[:, None] ** 3 - b / np.linalg.norm(b, axis=1)[:, None] ** 3)

    da = third_body(moon, MOON.gm_km3_s2) - third_body(moon_ref, MOON.gm_km3_s2)
    da += third_body(sun, SUN.gm_km3_s2) - third_body(sun_ref, SUN.gm_km3_s2)
    assert np.max(np.abs(da)) < 1e-15


def test_outside_de421_raises():
    from propagators.errors import EphemerisRangeError

    late = Time("2060-01-01T00:00:00", scale="tdb")  # TDB: no leap-second table needed
    with pytest.raises(EphemerisRangeError) as info:
        ForceModel([PointMass(EARTH), ThirdBody(MOON)]).acceleration(np.array([42164.0, 0, 0]), np.zeros(3), late)
    assert info.value.jd > info.value.end_jd


# ---------------------------------------------------------------------------
# Point masses and the indirect term


def test_point_masses_and_indirect_term_against_numpy():
    """Newton + indirect term written out with numpy and jplephem positions."""
    r = np.array([[42164.0, 1000.0, -500.0], [300000.0, -150000.0, 20000.0]])
    model = ForceModel([PointMass(EARTH), ThirdBody(MOON), ThirdBody(SUN)])
    a = model.acceleration(r, np.zeros_like(r), EPOCH)
    jd1, jd2 = _tdb_parts(EPOCH)
    rm = de421().position("moon", "earth", jd1, jd2)
    rs = de421().position("sun", "earth", jd1, jd2)
    ref = -EARTH.gm_km3_s2 * r / np.linalg.norm(r, axis=1)[:, None] ** 3
    for b, gm in ((rm, MOON.gm_km3_s2), (rs, SUN.gm_km3_s2)):
        d = b - r
        ref += gm * (d / np.linalg.norm(d, axis=1)[:, None] ** 3 - b / np.linalg.norm(b) ** 3)
    np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-20)


def test_moon_centred_and_earth_centred_dynamics_differ_by_the_moons_acceleration():
    """a_earth(P) - a_moon(P) must equal the Moon's model acceleration about
    the Earth: -(GM_E + GM_M) r_M / r_M^3 + the Sun's tide on the Moon.  This
    is what makes the centre switch at the sphere of influence seamless."""
    model = ForceModel([PointMass(EARTH), PointMass(MOON), PointMass(SUN)])
    jd1, jd2 = _tdb_parts(EPOCH)
    rm = de421().position("moon", "earth", jd1, jd2)
    rs = de421().position("sun", "earth", jd1, jd2)
    p_earth = rm + np.array([[20000.0, -35000.0, 10000.0], [-50000.0, 10000.0, 30000.0]])
    a_e = model.acceleration(p_earth, np.zeros_like(p_earth), EPOCH, center="earth")
    a_m = model.acceleration(p_earth - rm, np.zeros_like(p_earth), EPOCH, center="moon")
    gm_em = EARTH.gm_km3_s2 + MOON.gm_km3_s2
    d = rs - rm
    moon_acc = -gm_em * rm / np.linalg.norm(rm) ** 3 + SUN.gm_km3_s2 * (
        d / np.linalg.norm(d) ** 3 - rs / np.linalg.norm(rs) ** 3
    )
    np.testing.assert_allclose(a_e - a_m, np.broadcast_to(moon_acc, a_e.shape), rtol=1e-10, atol=1e-20)


# ---------------------------------------------------------------------------
# Earth zonal harmonics


def test_earth_zonal_j2_j3_match_hapsira():
    """hapsira (poliastro fork) ``core.perturbations.J2_perturbation`` and
    ``J3_perturbation`` (Curtis, Orbital Mechanics for Engineering Students,
    eq. 12.30; poliastro's own test suite) with the pole along z."""
    from hapsira.core.perturbations import J2_perturbation, J3_perturbation

    zonal = EarthZonal(degree=3)
    j = zonal.j_coefficients()
    rng = np.random.default_rng(7)
    tf2 = np.zeros((1, 12))
    tf2[0, 4 + 2] = j[2]
    tf3 = np.zeros((1, 12))
    tf3[0, 4 + 3] = j[3]
    for _ in range(5):
        r = rng.normal(size=3)
        r *= rng.uniform(6800.0, 45000.0) / np.linalg.norm(r)
        state = np.r_[r, 0.0, 0.0, 0.0]
        a2 = np.array(_zonal_accel(*r, 0.0, 0.0, 1.0, zonal.gm_km3_s2, zonal.radius_km, tf2, 0, 2))
        a3 = np.array(_zonal_accel(*r, 0.0, 0.0, 1.0, zonal.gm_km3_s2, zonal.radius_km, tf3, 0, 3))
        ref2 = J2_perturbation(0.0, state, zonal.gm_km3_s2, j[2], zonal.radius_km)
        ref3 = J3_perturbation(0.0, state, zonal.gm_km3_s2, j[3], zonal.radius_km)
        np.testing.assert_allclose(a2, ref2, rtol=1e-12, atol=1e-22)
        np.testing.assert_allclose(a3, ref3, rtol=1e-12, atol=1e-22)


def test_earth_zonal_uses_the_true_pole():
    """J2 about the CIP (IAU 2006/2000A via ERFA), not the GCRS z axis: the
    pole moves 50.3"/yr x sin(23.44 deg) = 20.0"/yr, so on 2026-01-01 it is
    26 yr x 20.0" = 0.145 deg from z.  The acceleration from ``ForceModel``
    equals the zonal formula about that pole."""
    import erfa

    jd1, jd2 = _tdb_parts(EPOCH)
    pole = erfa.pnm06a(jd1, jd2)[2]
    assert 0.14 < np.degrees(np.arccos(pole[2])) < 0.15
    r = np.array([7000.0, 500.0, 2500.0])
    got = ForceModel([EarthZonal(degree=4)]).acceleration(r, np.zeros(3), EPOCH)
    zonal = EarthZonal(degree=4)
    tf = np.zeros((1, 12))
    tf[0, 4:11] = zonal.j_coefficients()
    ref = np.array(_zonal_accel(*r, *pole, zonal.gm_km3_s2, zonal.radius_km, tf, 0, 4))
    # the kernel interpolates the pole linearly between 6-h nodes (< 0.001")
    assert np.linalg.norm(got - ref) < 1e-8 * np.linalg.norm(ref)


# ---------------------------------------------------------------------------
# Lunar gravity field and orientation


def test_grgm1200a_header_and_coefficients():
    """Values pasted from the first lines of gggrx_1200a_sha.tab (PDS
    GRAIL-L-LGRS-5-RDR-V1.0): R = 1738.0 km, GM = 4902.8001224453 km^3/s^2,
    C20 = -9.0884339347424299e-05, S21 = 1.1732764234889199e-09."""
    field = read_grgm1200a(4)
    assert field.radius_km == GRGM1200A_REFERENCE_RADIUS_KM == 1738.0
    assert field.gm_km3_s2 == 4902.8001224453001
    assert field.c_bar[2, 0] == -9.0884339347424299e-05
    assert field.s_bar[2, 1] == 1.1732764234889199e-09
    assert field.c_bar.shape == (5, 5)
    assert np.all(field.c_bar[:2] == 0.0)
    zonal_only = read_grgm1200a(2, 0)
    assert zonal_only.c_bar[2, 2] == 0.0 and zonal_only.c_bar[2, 0] == field.c_bar[2, 0]
    with pytest.raises(ValueError):
        read_grgm1200a(1201)


def _potential_icrf(r_icrf, field, rot):
    """Fully normalised spherical-harmonic potential (degree >= 2) written
    with scipy's associated Legendre functions (Condon-Shortley phase
    removed), Montenbruck & Gill (2000) eq. 3.8 with N_nm of eq. 3.13."""
    from scipy.special import lpmv

    x, y, z = rot @ r_icrf
    r = np.sqrt(x * x + y * y + z * z)
    sin_lat, lon = z / r, np.arctan2(y, x)
    total = 0.0
    for n in range(2, field.degree + 1):
        for m in range(0, n + 1):
            norm = np.sqrt((2 - (m == 0)) * (2 * n + 1) * factorial(n - m) / factorial(n + m))
            p = (-1) ** m * lpmv(m, n, sin_lat) * norm
            total += (field.radius_km / r) ** n * p * (field.c_bar[n, m] * np.cos(m * lon) + field.s_bar[n, m] * np.sin(m * lon))
    return field.gm_km3_s2 / r * total


def test_lunar_harmonics_are_the_gradient_of_the_potential():
    """GRGM1200A degree 8: the compiled normalised Cunningham recursion,
    oriented with the compiled PA Chebyshev evaluation, against the central
    difference of an independent potential evaluated in the PA frame given by
    jplephem's PCK reader."""
    degree = 8
    field = read_grgm1200a(degree)
    model = ForceModel([LunarGravityField(degree)])
    jd1, jd2 = _tdb_parts(EPOCH)
    rot = icrf_to_moon_pa_matrix(jd1, jd2)
    rng = np.random.default_rng(3)
    for _ in range(4):
        r = rng.normal(size=3)
        r *= rng.uniform(1790.0, 2500.0) / np.linalg.norm(r)
        a = model.acceleration(r, np.zeros(3), EPOCH, center="moon")
        h = 1e-3
        grad = np.array([
            (_potential_icrf(r + h * e, field, rot) - _potential_icrf(r - h * e, field, rot)) / (2 * h)
            for e in np.eye(3)
        ])
        np.testing.assert_allclose(a, grad, rtol=1e-6, atol=1e-16)


def test_lunar_j2_alone_matches_the_closed_form():
    """``LunarGravityField(2, 0)`` is J2 = -sqrt(5) C20 about the PA z axis:
    a = -3/2 J2 mu R^2/r^5 [x(1-5u^2), y(1-5u^2), z(3-5u^2)] in PA axes
    (Vallado, Fundamentals of Astrodynamics, 4th ed., eq. 8-30)."""
    field = read_grgm1200a(2, 0)
    j2 = -np.sqrt(5.0) * field.c_bar[2, 0]
    jd1, jd2 = _tdb_parts(EPOCH)
    rot = icrf_to_moon_pa_matrix(jd1, jd2)
    r_icrf = np.array([1200.0, -900.0, 1100.0])
    x, y, z = rot @ r_icrf
    r = np.linalg.norm(r_icrf)
    u2 = (z / r) ** 2
    k = -1.5 * j2 * field.gm_km3_s2 * field.radius_km**2 / r**5
    ref_pa = k * np.array([x * (1 - 5 * u2), y * (1 - 5 * u2), z * (3 - 5 * u2)])
    got = ForceModel([LunarGravityField(2, 0)]).acceleration(r_icrf, np.zeros(3), EPOCH, center="moon")
    np.testing.assert_allclose(got, rot.T @ ref_pa, rtol=1e-9)


def test_lunar_pa_frame_orientation():
    """The PA z axis is the lunar pole (RA ~ 267 deg, Dec ~ 67 deg, IAU
    WGCCRE 2015 to within the ~4 deg of physical libration terms) and the
    Earth is within the optical libration (< 10 deg) of the PA +x axis."""
    jd1, jd2 = _tdb_parts(Time("2022-01-01T00:00:00", scale="tdb"))
    rot = icrf_to_moon_pa_matrix(jd1, jd2)
    z = rot[2]
    ra = np.degrees(np.arctan2(z[1], z[0])) % 360.0
    dec = np.degrees(np.arcsin(z[2]))
    assert 262.0 < ra < 274.0 and 63.0 < dec < 70.0
    earth = rot @ de421().position("earth", "moon", jd1, jd2)
    assert np.degrees(np.arccos(earth[0] / np.linalg.norm(earth))) < 10.0
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-14)


# ---------------------------------------------------------------------------
# Solar radiation pressure and shadows


def test_srp_in_full_sun():
    """Cannonball SRP, Montenbruck & Gill (2000) eq. 3.75:
    |a| = Cr (A/m) P_1au (1 au / d)^2, pointing away from the Sun."""
    jd1, jd2 = _tdb_parts(EPOCH)
    rs = de421().position("sun", "earth", jd1, jd2)
    r = 42164.0 * rs / np.linalg.norm(rs)  # sunward of the Earth: no shadow
    am, cr = 0.02, 1.5
    a = ForceModel([SRP(area_to_mass_m2_kg=am, cr=cr)]).acceleration(r, np.zeros(3), EPOCH)
    d = rs - r
    expected = cr * am * SOLAR_PRESSURE_1AU_N_M2 * 1e-3 * (AU_KM / np.linalg.norm(d)) ** 2
    np.testing.assert_allclose(np.linalg.norm(a), expected, rtol=1e-12)
    np.testing.assert_allclose(a / np.linalg.norm(a), -d / np.linalg.norm(d), atol=1e-12)


def test_srp_shadow_models():
    """Behind the Earth on the anti-Sun line at GEO distance: umbra (0) for
    both models.  Crossing the shadow edge sideways, the conical model goes
    1 -> partial -> 0 continuously over the penumbra, whose width at GEO is
    ~ 2 * 42164 km * 0.267 deg ~ 390 km (Montenbruck & Gill sec. 3.4.2);
    the cylindrical model switches at the Earth's radius."""
    sun = np.array([AU_KM, 0.0, 0.0])
    earth = np.zeros(3)
    re, rsun = EARTH.radius_km, SUN.radius_km
    assert _illumination(-42164.0, 0.0, 0.0, *sun, *earth, re, rsun, 2) == 0.0
    assert _illumination(-42164.0, 0.0, 0.0, *sun, *earth, re, rsun, 1) == 0.0
    assert _illumination(42164.0, 0.0, 0.0, *sun, *earth, re, rsun, 2) == 1.0
    offsets = np.linspace(5000.0, 7000.0, 401)
    conical = np.array([_illumination(-42164.0, y, 0.0, *sun, *earth, re, rsun, 2) for y in offsets])
    cylindrical = np.array([_illumination(-42164.0, y, 0.0, *sun, *earth, re, rsun, 1) for y in offsets])
    assert np.all(np.diff(conical) >= 0.0)  # brighter moving out of the shadow
    partial = (conical > 0.0) & (conical < 1.0)
    width_km = offsets[partial].max() - offsets[partial].min()
    assert 300.0 < width_km < 450.0
    assert np.max(np.abs(np.diff(conical))) < 0.02  # continuous at 5 km resolution
    np.testing.assert_array_equal(cylindrical, (offsets >= re).astype(float))


def test_srp_per_object_parameters_and_model_checks():
    r = np.array([[42164.0, 0.0, 0.0], [0.0, 42164.0, 0.0]])
    two = ForceModel([SRP(area_to_mass_m2_kg=np.array([0.01, 0.0]), cr=1.3, shadow="none")])
    a = two.acceleration(r, np.zeros_like(r), EPOCH)
    assert np.linalg.norm(a[0]) > 0.0 and np.all(a[1] == 0.0)
    with pytest.raises(ValueError, match="one value per object"):
        ForceModel([SRP(area_to_mass_m2_kg=np.array([0.01, 0.02, 0.03]))]).acceleration(r, np.zeros_like(r), EPOCH)
    with pytest.raises(ValueError, match="two point-mass terms"):
        ForceModel([PointMass(EARTH), ThirdBody("earth")])
    with pytest.raises(ValueError, match="at most one"):
        ForceModel([EarthZonal(2), EarthZonal(4)])
    with pytest.raises(ValueError, match="shadow"):
        SRP(shadow="umbral")
    with pytest.raises(TypeError):
        ForceModel(["gravity"])
