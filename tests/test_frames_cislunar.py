"""MCI and EMR frames from the DE421 Moon (JPL DE421, Folkner et al. 2008,
IPN Progress Report 42-178; GM values of its Table 8).

Measured: round trips GCRS -> EMR -> GCRS on vectors up to 5e5 km leave
<= 4.7e-10 km (float64 rounding of 4e5 km); the Moon in EMR sits at
(1 - mu) d to 1.2e-10 km with y, z velocity <= 5.4e-16 km/s; the frame's
out-of-plane rotation omega_x is 2.6e-9 .. 3.1e-9 rad/s (March 2026).
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time, TimeDelta

from propagators import frames_cislunar as fc
from propagators.ephemeris import GM_EARTH_DE421_KM3_S2, GM_MOON_DE421_KM3_S2

one_nanometre_km = 1e-12
one_micrometre_km = 1e-9
one_nanometre_per_s_km_s = 1e-12
# Central difference over +-10 s: truncation ~1e-10 km/s, but DE421 positions
# as jplephem evaluates them carry ~1e-8 km of rounding (measured: the DE421
# Moon's own positions differ from its velocity by 7e-10 km/s at h = 10 s,
# 1.7e-8 km/s at h = 1 s).  Measured here <= 1.4e-9 km/s.  1e-8 km/s still
# resolves the terms under test (omega_x x r ~ 1e-3 km/s, d_dot rho ~ 3e-2
# km/s) to one part in 1e5.
finite_difference_km_s = 1e-8
frame_bias_rad = 1.1222e-7  # IERS Conventions 2010 5.4.4: |(d_alpha0, xi0, eta0)| = 23.147 mas

EPOCHS = Time("2026-01-01T00:00:00", scale="utc") + TimeDelta(np.linspace(0.0, 30 * 86400.0, 25), format="sec")


@pytest.fixture(scope="module")
def objects():
    rng = np.random.default_rng(20260101)
    r = rng.uniform(-4.5e5, 4.5e5, size=(3, len(EPOCHS), 3))
    v = rng.uniform(-2.0, 2.0, size=(3, len(EPOCHS), 3))
    return r, v


def test_mass_ratio_is_de421():
    assert fc.MU_EARTH_MOON_DE421 == pytest.approx(GM_MOON_DE421_KM3_S2 / (GM_EARTH_DE421_KM3_S2 + GM_MOON_DE421_KM3_S2), rel=1e-15)
    # Earth/Moon mass ratio of DE421: 81.30056907...
    assert (1 - fc.MU_EARTH_MOON_DE421) / fc.MU_EARTH_MOON_DE421 == pytest.approx(81.3005690699, rel=1e-9)


@pytest.mark.parametrize("pair", [(fc.gcrs_to_mci, fc.mci_to_gcrs), (fc.gcrs_to_emr, fc.emr_to_gcrs)], ids=["mci", "emr"])
def test_round_trips(objects, pair):
    to, back = pair
    r, v = objects
    for rr, vv in ((r, v), (r[0], v[0])):  # (n_objects, n_times, 3) and (n_times, 3)
        r1, v1 = to(rr, vv, EPOCHS)
        assert r1.shape == rr.shape
        r2, v2 = back(r1, v1, EPOCHS)
        assert np.max(np.abs(r2 - rr)) <= one_micrometre_km
        assert np.max(np.abs(v2 - vv)) <= one_nanometre_per_s_km_s


def test_scalar_epoch():
    t = EPOCHS[5]
    r_moon, v_moon = fc.moon_state_gcrs(t)
    assert r_moon.shape == (3,)
    r, v = fc.gcrs_to_mci(r_moon, v_moon, t)
    assert np.all(r == 0.0) and np.all(v == 0.0)
    r, v = fc.gcrs_to_emr(r_moon, v_moon, t)
    assert r.shape == (3,)
    assert abs(r[1]) <= one_micrometre_km and abs(v[1]) <= one_nanometre_per_s_km_s


def test_moon_in_mci_is_zero_and_in_emr_on_the_x_axis():
    r_moon, v_moon = fc.moon_state_gcrs(EPOCHS)
    r, v = fc.gcrs_to_mci(r_moon, v_moon, EPOCHS)
    assert np.all(r == 0.0) and np.all(v == 0.0)
    mu = fc.MU_EARTH_MOON_DE421
    d = np.linalg.norm(r_moon, axis=1)
    d_dot = np.einsum("ti,ti->t", r_moon, v_moon) / d
    r, v = fc.gcrs_to_emr(r_moon, v_moon, EPOCHS)
    assert np.max(np.abs(r[:, 0] - (1 - mu) * d)) <= one_micrometre_km
    assert np.max(np.abs(r[:, 1:])) <= one_micrometre_km
    assert np.max(np.abs(v[:, 1:])) <= one_nanometre_per_s_km_s
    np.testing.assert_allclose(v[:, 0], (1 - mu) * d_dot, rtol=0, atol=one_nanometre_per_s_km_s)
    # and the Earth at (-mu d, 0, 0)
    r, v = fc.gcrs_to_emr(np.zeros_like(r_moon), np.zeros_like(v_moon), EPOCHS)
    assert np.max(np.abs(r[:, 0] + mu * d)) <= one_micrometre_km
    assert np.max(np.abs(v[:, 1:])) <= one_nanometre_per_s_km_s


def test_emr_velocity_is_the_time_derivative_of_position():
    """A point fixed in EMR has zero EMR velocity; its GCRS velocity from
    emr_to_gcrs must equal the central difference of its GCRS positions.
    This checks the transport term omega x r including omega_x."""
    r_emr = np.array([[3.2e5, 6.0e4, 2.0e4]])
    h = 10.0
    for k in range(0, len(EPOCHS), 6):
        t = EPOCHS[k].reshape((1,))
        _, v = fc.emr_to_gcrs(r_emr, np.zeros((1, 3)), t)
        r_m, _ = fc.emr_to_gcrs(r_emr, np.zeros((1, 3)), t - TimeDelta(h, format="sec"))
        r_p, _ = fc.emr_to_gcrs(r_emr, np.zeros((1, 3)), t + TimeDelta(h, format="sec"))
        assert np.max(np.abs((r_p - r_m) / (2 * h) - v)) <= finite_difference_km_s


def test_frame_is_right_handed_and_rotates_at_the_lunar_rate():
    f = fc.earth_moon_frame(EPOCHS)
    eye = np.einsum("tji,tjk->tik", f.basis_gcrs, f.basis_gcrs)
    assert np.max(np.abs(eye - np.eye(3))) <= 1e-15
    assert np.all(np.linalg.det(f.basis_gcrs) > 0)
    # 2 pi / 27.32 d = 2.66e-6 rad/s on average; the instantaneous rate
    # varies by about +-11 % with the eccentric lunar orbit.
    assert np.all((f.rate_rad_s > 2.2e-6) & (f.rate_rad_s < 3.2e-6))
    omega_x = np.einsum("ti,ti->t", f.omega_gcrs_rad_s, f.basis_gcrs[:, :, 0])
    assert np.max(np.abs(omega_x)) < 1e-8


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="n_times = 25"):
        fc.gcrs_to_emr(np.zeros((24, 3)), np.zeros((24, 3)), EPOCHS)


def test_eme2000_frame_bias():
    m = fc.eme2000_to_gcrs_matrix()
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-15)
    angle = np.arccos((np.trace(m) - 1) / 2)
    # arccos near 1 loses digits: use the skew part instead
    skew = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]) / 2
    assert np.linalg.norm(skew) == pytest.approx(frame_bias_rad, rel=1e-4)
    assert angle < 2e-7
