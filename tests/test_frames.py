"""TEME -> GCRS / ITRS against a published worked example.

Reference: Vallado, Crawford, Hujsak & Kelso, AIAA 2006-6753, section on
TEME (also Vallado, Fundamentals of Astrodynamics 4th ed., Example 3-15):
epoch 2004-04-06 07:51:28.386009 UTC,
r_TEME = (5094.18016210, 6127.64465950, 6380.34453270) km,
v_TEME = (-4.746131487, 0.785818041, 5.531931288) km/s,
r_GCRF = (5102.508959, 6123.011403, 6378.136925) km,
v_GCRF = (-4.743220157, 0.790536497, 5.533755727) km/s,
r_ITRF = (-1033.4793830, 7901.2952754, 6380.3565958) km,
v_ITRF = (-3.225636520, -2.872451450, 5.531924446) km/s.
"""

from __future__ import annotations

import numpy as np

from propagators.frames import gcrs_to_teme, teme_to_gcrs, teme_to_itrs
from propagators.timeutil import Time

R_TEME = np.array([5094.18016210, 6127.64465950, 6380.34453270])
V_TEME = np.array([-4.746131487, 0.785818041, 5.531931288])
R_GCRF = np.array([5102.508959, 6123.011403, 6378.136925])
V_GCRF = np.array([-4.743220157, 0.790536497, 5.533755727])
R_ITRF = np.array([-1033.4793830, 7901.2952754, 6380.3565958])
V_ITRF = np.array([-3.225636520, -2.872451450, 5.531924446])

# Vallado's example applies the IERS EOP of that day and the IAU-76/FK5
# nutation with dPsi/dEps corrections; astropy uses IAU 2006/2000A with
# its bundled EOP.  The published GCRF figures are given to 1 mm.
one_mm_km = 1e-6
# Velocities are published to 1e-9 km/s; the model difference above adds
# ~1.6e-9 km/s here: 5 um/s.
five_um_s_km_s = 5e-9
# The ITRF comparison also depends on UT1 and polar motion, which differ
# between Vallado's EOP and astropy's bundled IERS table: 0.5 m.
half_metre_km = 5e-4
one_mm_s_km_s = 1e-6

EPOCH = Time("2004-04-06T07:51:28.386009", scale="utc")


def test_teme_to_gcrs_vallado_example():
    t = Time([EPOCH.jd1], [EPOCH.jd2], format="jd", scale="utc")
    r, v = teme_to_gcrs(R_TEME[None], V_TEME[None], t)
    np.testing.assert_allclose(r[0], R_GCRF, rtol=0, atol=one_mm_km)
    np.testing.assert_allclose(v[0], V_GCRF, rtol=0, atol=five_um_s_km_s)


def test_teme_to_itrs_vallado_example():
    t = Time([EPOCH.jd1], [EPOCH.jd2], format="jd", scale="utc")
    r, v = teme_to_itrs(R_TEME[None], V_TEME[None], t)
    np.testing.assert_allclose(r[0], R_ITRF, rtol=0, atol=half_metre_km)
    np.testing.assert_allclose(v[0], V_ITRF, rtol=0, atol=one_mm_s_km_s)


def test_catalogue_shaped_arrays_and_round_trip():
    t = EPOCH + np.arange(4) * 600.0 * __import__("astropy.units", fromlist=["s"]).s
    r = np.broadcast_to(R_TEME, (3, 4, 3)).copy()
    v = np.broadcast_to(V_TEME, (3, 4, 3)).copy()
    rg, vg = teme_to_gcrs(r, v, t)
    assert rg.shape == (3, 4, 3)
    np.testing.assert_allclose(rg[0, 0], R_GCRF, atol=one_mm_km)
    rt, vt = gcrs_to_teme(rg, vg, t)
    np.testing.assert_allclose(rt, r, atol=1e-9)
    np.testing.assert_allclose(vt, v, atol=1e-12)
