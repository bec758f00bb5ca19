"""CR3BP (Earth-Moon) propagation, Jacobi constant and synodic <-> GCRS.

Reference orbits: NASA/JPL SSD Three-Body Periodic Orbit catalogue
(https://ssd-api.jpl.nasa.gov/periodic_orbits.api, sys=earth-moon), as
cached in ../shared/data/cr3bp/earth_moon_periodic_orbits.json (each orbit
lists its family, catalogue query and the repository it was taken from):

    em_L1_lyapunov_T3.209      family=lyapunov&libr=1
    em_L2_lyapunov_T3.389      family=lyapunov&libr=2
    em_L1_halo_N_T2.784        family=halo&libr=1&branch=N
    em_L2_halo_S_idx0_T2.383   family=halo&libr=2&branch=S, row 0
    em_DRO_T0.610              family=dro

mu = 1.215058560962404e-2; Jacobi C = 2U - v^2 (the JSON's `conventions`).
Measured here (DOP853, rtol = atol = 1e-13): closure after one period
6e-13 .. 2.8e-12 in position, 1.4e-12 .. 1.4e-11 in velocity; Jacobi drift
<= 1.5e-11 (DRO); Jacobi of the initial state matches the catalogue to
<= 5.3e-15.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.time import Time, TimeDelta

from propagators import cr3bp
from propagators.ephemeris import de421
from propagators.frames_cislunar import moon_state_gcrs

# Tolerances (nondimensional unless the name says otherwise)
closure_position_nd = 1e-9  # one period, ~0.4 m at lunit = 389703 km
closure_velocity_nd = 1e-8  # ~1e-8 km/s at vunit ~ 1.02 km/s
jacobi_drift = 1e-10
catalogue_jacobi_rounding = 1e-12  # the catalogue prints C with 15 significant digits
libration_point_acceleration_nd = 1e-12  # L-points printed with 15 digits
one_micrometre_km = 1e-9
round_trip_nd = 1e-12
one_nanometre_per_s_km_s = 1e-12
# Central difference over +-10 s: truncation ~1e-10 km/s, but DE421 positions
# as jplephem evaluates them carry ~1e-8 km of rounding (measured: the DE421
# Moon's own positions differ from its velocity by 7e-10 km/s at h = 10 s,
# 1.7e-8 km/s at h = 1 s).  Measured here <= 1.4e-9 km/s.  1e-8 km/s still
# resolves the terms under test (omega_x x r ~ 1e-3 km/s, d_dot rho ~ 3e-2
# km/s) to one part in 1e5.
finite_difference_km_s = 1e-8


@pytest.fixture(scope="module")
def catalogue(data_dir):
    with open(data_dir / "cr3bp" / "earth_moon_periodic_orbits.json") as f:
        return json.load(f)


def _state0(orbit) -> np.ndarray:
    s = orbit["state0"]
    return np.array([s["x"], s["y"], s["z"], s["vx"], s["vy"], s["vz"]])


ORBIT_IDS = ["em_L1_lyapunov_T3.209", "em_L2_lyapunov_T3.389", "em_L1_halo_N_T2.784", "em_L2_halo_S_idx0_T2.383", "em_DRO_T0.610"]


def _orbit(catalogue, orbit_id):
    return next(o for o in catalogue["orbits"] if o["id"] == orbit_id)


def test_catalogue_conventions_are_the_ones_implemented(catalogue):
    conv = catalogue["conventions"]
    assert "Earth at (-mu,0,0), Moon at (1-mu,0,0)" in conv
    assert "Jacobi C = x^2+y^2 + 2(1-mu)/r1 + 2 mu/r2 - (vx^2+vy^2+vz^2)" in conv
    assert catalogue["mass_ratio_mu"] == cr3bp.MU_EARTH_MOON_JPL_CATALOGUE
    assert {o["id"] for o in catalogue["orbits"]} == set(ORBIT_IDS)


@pytest.mark.parametrize("orbit_id", ORBIT_IDS)
def test_jacobi_of_initial_state_matches_catalogue(catalogue, orbit_id):
    orbit = _orbit(catalogue, orbit_id)
    c = cr3bp.jacobi(_state0(orbit), catalogue["mass_ratio_mu"])
    assert isinstance(c, float)
    assert abs(c - orbit["jacobi"]) <= catalogue_jacobi_rounding


@pytest.mark.parametrize("orbit_id", ORBIT_IDS)
def test_periodic_orbit_closes_and_keeps_jacobi(catalogue, orbit_id):
    orbit = _orbit(catalogue, orbit_id)
    mu = catalogue["mass_ratio_mu"]
    s0 = _state0(orbit)
    t = np.linspace(0.0, orbit["period"], 101)
    states = cr3bp.propagate(s0, t, mu)
    assert states.shape == (101, 6)
    np.testing.assert_array_equal(states[0], s0)
    assert np.linalg.norm(states[-1, :3] - s0[:3]) <= closure_position_nd
    assert np.linalg.norm(states[-1, 3:] - s0[3:]) <= closure_velocity_nd
    c = cr3bp.jacobi(states, mu)
    assert c.shape == (101,)
    assert np.max(np.abs(c - orbit["jacobi"])) <= jacobi_drift
    # Half a period later the orbit is elsewhere: the closure is not trivial.
    assert np.linalg.norm(states[50, :3] - s0[:3]) > 1e-2


def test_libration_points_are_equilibria(catalogue):
    mu = catalogue["mass_ratio_mu"]
    for name, xyz in catalogue["libration_points_nondim"].items():
        rhs = cr3bp._rhs(0.0, np.array(list(xyz) + [0.0, 0.0, 0.0]), mu)
        assert np.max(np.abs(rhs[3:])) <= libration_point_acceleration_nd, name


def test_propagate_many_objects_and_backwards(catalogue):
    mu = catalogue["mass_ratio_mu"]
    s0 = np.stack([_state0(_orbit(catalogue, i)) for i in ORBIT_IDS[:3]])
    t = np.linspace(0.0, 0.5, 7)
    many = cr3bp.propagate(s0, t, mu)
    assert many.shape == (3, 7, 6)
    for k in range(3):
        np.testing.assert_array_equal(many[k], cr3bp.propagate(s0[k], t, mu))
    back = cr3bp.propagate(many[0, -1], t[::-1], mu)
    assert np.max(np.abs(back[-1] - s0[0])) <= closure_position_nd
    with pytest.raises(ValueError, match="increasing"):
        cr3bp.propagate(s0[0], [0.0, 1.0, 0.5], mu)
    with pytest.raises(ValueError, match="state0"):
        cr3bp.propagate(np.zeros(5), t, mu)


# ---------------------------------------------------------------------------
# Synodic <-> GCRS with the DE421 Moon
# ---------------------------------------------------------------------------

MU = cr3bp.MU_EARTH_MOON_JPL_CATALOGUE
EPOCHS = Time("2026-03-01T00:00:00", scale="tdb") + TimeDelta(np.linspace(0.0, 27.3 * 86400.0, 40), format="sec")


def test_synodic_round_trip_is_exact(catalogue):
    orbit = _orbit(catalogue, "em_L2_halo_S_idx0_T2.383")
    states = cr3bp.propagate(_state0(orbit), np.linspace(0.0, orbit["period"], 40), MU)
    for shaped in (states, np.stack([states, states[::-1]])):  # (n_times, 6) and (n_objects, n_times, 6)
        r_km, v_km_s = cr3bp.synodic_to_gcrs(shaped, EPOCHS, MU)
        assert r_km.shape == shaped.shape[:-1] + (3,)
        back = cr3bp.gcrs_to_synodic(r_km, v_km_s, EPOCHS, MU)
        assert np.max(np.abs(back - shaped)) <= round_trip_nd
        r2, v2 = cr3bp.synodic_to_gcrs(back, EPOCHS, MU)
        assert np.max(np.abs(r2 - r_km)) <= one_micrometre_km
        assert np.max(np.abs(v2 - v_km_s)) <= one_nanometre_per_s_km_s


def test_primaries_map_to_the_geocentre_and_the_de421_moon():
    n = len(EPOCHS)
    moon_nd = np.tile([1.0 - MU, 0, 0, 0, 0, 0], (n, 1))
    earth_nd = np.tile([-MU, 0, 0, 0, 0, 0], (n, 1))
    r_moon, v_moon = moon_state_gcrs(EPOCHS)
    r, v = cr3bp.synodic_to_gcrs(moon_nd, EPOCHS, MU)
    assert np.max(np.abs(r - r_moon)) <= one_micrometre_km
    assert np.max(np.abs(v - v_moon)) <= one_nanometre_per_s_km_s
    r, v = cr3bp.synodic_to_gcrs(earth_nd, EPOCHS, MU)
    assert np.max(np.abs(r)) <= one_micrometre_km
    assert np.max(np.abs(v)) <= one_nanometre_per_s_km_s
    # Lengths scale with the instantaneous Earth-Moon distance (DE421).
    d_km = np.linalg.norm(r_moon, axis=1)
    l1 = np.tile([0.836915125772357, 0, 0, 0, 0, 0], (n, 1))
    r, _ = cr3bp.synodic_to_gcrs(l1, EPOCHS, MU)
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), (0.836915125772357 + MU) * d_km, rtol=1e-14)


def test_velocity_is_the_time_derivative_of_position():
    """A point at rest in the pulsating synodic frame: its GCRS velocity
    (transport term omega x r, pulsation d_dot) equals the central
    difference of its GCRS positions over +-10 s."""
    rho = np.array([[0.9, 0.05, 0.02, 0.0, 0.0, 0.0]])
    h = 10.0
    for k in range(0, len(EPOCHS), 8):
        t = EPOCHS[k]
        _, v = cr3bp.synodic_to_gcrs(rho, t.reshape((1,)), MU)
        r_minus, _ = cr3bp.synodic_to_gcrs(rho, (t - TimeDelta(h, format="sec")).reshape((1,)), MU)
        r_plus, _ = cr3bp.synodic_to_gcrs(rho, (t + TimeDelta(h, format="sec")).reshape((1,)), MU)
        assert np.max(np.abs((r_plus - r_minus) / (2 * h) - v)) <= finite_difference_km_s


def test_scalar_epoch_and_dimensional_speed(catalogue):
    orbit = _orbit(catalogue, "em_DRO_T0.610")
    s0 = _state0(orbit)
    t = EPOCHS[3]
    r, v = cr3bp.synodic_to_gcrs(s0, t, MU)
    assert r.shape == (3,) and v.shape == (3,)
    back = cr3bp.gcrs_to_synodic(r, v, t, MU)
    assert np.max(np.abs(back - s0)) <= round_trip_nd
    # DRO near-side crossing, x0 = 0.93655: about 0.0479 d from the Moon.
    r_moon, _ = de421().state("moon", "earth", t.tdb.jd1, t.tdb.jd2)
    d = np.linalg.norm(r_moon)
    assert np.linalg.norm(r - r_moon) == pytest.approx((1.0 - MU - s0[0]) * d, rel=1e-12)
