"""Numerical (Cowell) propagation for GEO, cislunar and lunar orbits.

* Integrator: Dormand-Prince 8(5,3) (DOP853, Hairer, Norsett & Wanner,
  *Solving ODEs I*, sec. II.10) with its 7th-order dense output, compiled
  with numba.  Tableau (SciPy's ``dop853_coefficients``), error norm,
  step-size control and starting step are SciPy's ``solve_ivp(method=
  "DOP853")``; only the summation order of the error estimate differs, so
  the step sequences drift apart but the results agree to a millimetre at
  rtol 1e-12 (``tests/test_numerical_validation.py``).
* Batched: one compiled call advances a whole chunk of objects, each with its
  own adaptive steps; chunks run on threads (the compiled code releases the
  GIL).  There is no Python call per object per step.
* Centres: Earth-centred (GCRS/ICRF axes) for geocentric and translunar
  objects, Moon-centred (MCI, ICRF axes) inside the Moon's sphere of
  influence (66,100 km, configurable; left again at ``soi_exit_factor``
  times that radius, so a grazing object does not chatter).  A step that
  crosses the sphere is cut at the crossing (located on the dense output to
  1 ms) and the state is converted there with the DE421 Moon state of that
  epoch (the same Chebyshev records the forces use): position and velocity
  are continuous to 1e-10 km.  Output is always geocentric GCRS.  The
  Moon-centred frame follows DE421's Moon, whose motion includes what the
  point-mass model leaves out (planets, figure and tides, ~5e-12 km/s^2), so
  a month-long trajectory through the sphere can move by metres if the
  sphere's radius is changed.
* Shadow boundaries: SRP switches off in the Earth's and Moon's shadows.  A
  step across a boundary (an illumination change seen at any stage) is cut
  at the boundary, located on the dense output to 1 ms, so the kink never
  sits inside a step and the result converges with the tolerance.
* Time: ``t_tdb_s``, TDB seconds from the epoch, is the time argument of
  the ephemerides and of every array here; astropy ``Time`` at the public
  boundary.  The dynamics run at the TT rate, the proper rate of the
  geocentric frame (GM_Earth = 398600.4415 is the TT-compatible value; GMAT
  and Orekit integrate in A1/TAI seconds): internally the velocity is
  w = dr/dt_TDB = k v with k = dTT/dTDB from ERFA ``dtdb``, and
  dw/dt_TDB = k^2 a + (k'/k) w.  Velocities in and out are km per SI (TT)
  second.  Ignoring this (integrating in TDB seconds) drifts by up to
  3.3e-10 of the distance flown: 2.5 m along-track on GEO in a month.  SPK
  and Horizons velocities are per TDB second: the 3.3e-10 difference is
  < 1e-9 km/s and is not corrected.
* Failures never raise per object: ``status`` holds a code of
  ``NUMERICAL_ERRORS``; samples after the failure (all of them for a bad
  initial state) are NaN, earlier samples are kept.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.integrate._ivp import dop853_coefficients as _dop

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from astropy.time import Time

from propagators.forces import (
    _MI_EPH_LEN,
    _MI_EPH_NCOEF,
    _MI_EPH_NREC,
    _MI_EPH_START,
    _MI_NEED_MOON,
    _MI_NEED_SUN,
    _MI_PA_LEN,
    _MI_PA_START,
    _MI_RADII,
    _MI_TAB_DT,
    _MI_TAB_T0,
    _TF_AU,
    _TF_GM,
    _TF_J0,
    _TF_PRESSURE,
    _TF_RADIUS,
    EARTH,
    MOON,
    CompiledModel,
    ForceModel,
    compile_model,
    object_parameters,
)

SECONDS_PER_DAY = 86400.0
MOON_SOI_RADIUS_KM = 66100.0  # Laplace sphere of influence, a (m_Moon/m_Earth)^(2/5)
#: Default tolerances (every component, km and km/s): 100 cislunar/HEO objects
#: over 30 days stay within ~1 m of an rtol 1e-13 run (bench/bench_numerical.py);
#: rtol 1e-11 is ~7% cheaper but lets perigee passes drift by ~10 m.
DEFAULT_RTOL = 1e-12
DEFAULT_ATOL = 1e-12

#: Status codes of ``propagate_states`` / ``propagate_trajectory``.
NUMERICAL_ERRORS = {
    0: "success",
    1: "initial state is not finite",
    2: "inside the Earth (at the start or after an impact)",
    3: "inside the Moon (at the start or after an impact)",
    4: "step size fell below the time resolution (singular or stiff dynamics)",
    5: "maximum number of steps exceeded",
    6: "state became non-finite during integration",
}
STATUS_OK = 0

#: What this propagator is valid for (compare ``sgp4`` for near-Earth TLEs).
DOMAIN = {
    "name": "numerical-dop853",
    "kind": "numerical (Cowell), DOP853 with dense output",
    "regimes": ("MEO", "GEO", "HEO", "cislunar", "translunar", "lunar"),
    "state_input": "Cartesian r, v: GCRS (center='earth') or MCI (center='moon'), km, km/s",
    "output_frame": "GCRS (ICRF axes), geocentric",
    "epoch_range_utc": ("1900-01-01", "2050-01-01"),  # DE421 (skyfield-data), lunar PA kernel wider
    "min_radius_km": {"earth": EARTH.radius_km, "moon": MOON.radius_km},
    "max_geocentric_radius_km": 1.5e6,  # Earth's Hill sphere; beyond it use a heliocentric model
    "force_terms": (
        "point masses (Earth, Moon, Sun; DE421)",
        "Earth zonal J2-J6 (EGM2008) about the true pole",
        "GRGM1200A lunar field to any degree (lunar PA frame)",
        "cannonball SRP with conical/cylindrical Earth and Moon shadow",
    ),
    "not_modelled": (
        "atmospheric drag (do not use below ~1000 km altitude; use SGP4 for LEO TLEs)",
        "Earth tesseral harmonics (C22/S22 drive GEO longitude drift: km-level over weeks)",
        "planets, tides, relativity, Earth albedo, manoeuvres",
    ),
}


# ---------------------------------------------------------------------------
# Compiled kernels: force model (the terms of ``propagators.forces``)
#
# All compiled code lives in this one module on purpose: numba's on-disk cache
# is invalidated by a change of the *file* that defines a function, not of the
# functions it calls in other files, so kernels split across modules could
# silently run a stale copy of a callee after an edit.
#
# The hot kernels allocate nothing, so they are compiled without numba's
# reference-counting runtime (``_nrt=False``, a long-standing numba option):
# with it, every call to a function taking the model paid an atomic
# incref/decref per model array (measured 0.19 us per call, more than the
# physics).  ``error_model="numpy"``: a division by zero gives inf/NaN, caught
# as a per-object status, instead of raising out of a whole batch.

kernel = njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
inline_kernel = njit(cache=True, nogil=True, error_model="numpy", _nrt=False, inline="always")
alloc_kernel = njit(cache=True, nogil=True, error_model="numpy")


@inline_kernel
def _cheb_pos(eph, misc, iseg, t):
    """Position (3 components) of ephemeris segment ``iseg`` at ``t``:
    Clenshaw's recurrence, the three components interleaved."""
    start = misc[_MI_EPH_START + iseg]
    length = misc[_MI_EPH_LEN + iseg]
    nrec = int(misc[_MI_EPH_NREC + iseg])
    x = (t - start) / length
    k = int(np.floor(x))
    if k < 0:
        k = 0
    elif k > nrec - 1:
        k = nrec - 1
    s = 2.0 * ((t - start - k * length) / length) - 1.0
    s2 = 2.0 * s
    bx1 = by1 = bz1 = 0.0
    bx2 = by2 = bz2 = 0.0
    for j in range(int(misc[_MI_EPH_NCOEF + iseg]) - 1, 0, -1):
        bx0 = eph[iseg, k, 0, j] + s2 * bx1 - bx2
        by0 = eph[iseg, k, 1, j] + s2 * by1 - by2
        bz0 = eph[iseg, k, 2, j] + s2 * bz1 - bz2
        bx2 = bx1
        by2 = by1
        bz2 = bz1
        bx1 = bx0
        by1 = by0
        bz1 = bz0
    return (eph[iseg, k, 0, 0] + s * bx1 - bx2,
            eph[iseg, k, 1, 0] + s * by1 - by2,
            eph[iseg, k, 2, 0] + s * bz1 - bz2)


@kernel
def _cheb_state(eph, misc, iseg, t):
    """Position (km) and rate (km per TDB second) of segment ``iseg`` at ``t``,
    as two 3-tuples."""
    start = misc[_MI_EPH_START + iseg]
    length = misc[_MI_EPH_LEN + iseg]
    nrec = int(misc[_MI_EPH_NREC + iseg])
    nc = int(misc[_MI_EPH_NCOEF + iseg])
    x = (t - start) / length
    k = int(np.floor(x))
    if k < 0:
        k = 0
    elif k > nrec - 1:
        k = nrec - 1
    s = 2.0 * ((t - start - k * length) / length) - 1.0
    p0 = p1 = p2 = 0.0
    v0 = v1 = v2 = 0.0
    for i in range(3):
        t_prev = 1.0
        t_cur = s
        d_prev = 0.0
        d_cur = 1.0
        acc = eph[iseg, k, i, 0]
        dacc = 0.0
        if nc > 1:
            acc += eph[iseg, k, i, 1] * s
            dacc += eph[iseg, k, i, 1]
        for j in range(2, nc):
            t_next = 2.0 * s * t_cur - t_prev
            d_next = 2.0 * t_cur + 2.0 * s * d_cur - d_prev
            acc += eph[iseg, k, i, j] * t_next
            dacc += eph[iseg, k, i, j] * d_next
            t_prev = t_cur
            t_cur = t_next
            d_prev = d_cur
            d_cur = d_next
        rate = dacc * 2.0 / length
        if i == 0:
            p0, v0 = acc, rate
        elif i == 1:
            p1, v1 = acc, rate
        else:
            p2, v2 = acc, rate
    return (p0, p1, p2), (v0, v1, v2)


@inline_kernel
def _moon_sun_rel_earth(eph, misc, t, need_moon, need_sun):
    """Moon and Sun relative to Earth (DE421, km, ICRF)."""
    mx = my = mz = 0.0
    sx = sy = sz = 0.0
    if need_moon:
        mx, my, mz = _cheb_pos(eph, misc, 0, t)
    if need_sun:
        sx, sy, sz = _cheb_pos(eph, misc, 1, t)
    return mx, my, mz, sx, sy, sz


@kernel
def moon_rel_earth_pos(M, t):
    """Moon relative to Earth (km, ICRF) at TDB seconds ``t``."""
    mx, my, mz, _, _, _ = _moon_sun_rel_earth(M.eph, M.misc, t, True, False)
    return mx, my, mz


@kernel
def sun_rel_earth_pos(M, t):
    """Sun relative to Earth (km, ICRF) at TDB seconds ``t``."""
    _, _, _, sx, sy, sz = _moon_sun_rel_earth(M.eph, M.misc, t, False, True)
    return sx, sy, sz


@kernel
def moon_rel_earth_state(M, t):
    """Moon relative to Earth: position (km) and velocity (km per TDB second)
    as a 6-tuple."""
    p, v = _cheb_state(M.eph, M.misc, 0, t)
    return (p[0], p[1], p[2], v[0], v[1], v[2])


@inline_kernel
def _tab_row(tab, misc, t):
    x = (t - misc[_MI_TAB_T0]) / misc[_MI_TAB_DT]
    i = int(np.floor(x))
    if i < 0:
        i = 0
    elif i > tab.shape[0] - 2:
        i = tab.shape[0] - 2
    return i, x - i


@inline_kernel
def time_rate(M, t):
    """k = dTT/dTDB and dk/dTDB at TDB seconds ``t`` (linear in the table)."""
    i, f = _tab_row(M.tab, M.misc, t)
    slope = M.tab[i + 1, 3] - M.tab[i, 3]
    L = M.tab[i, 3] + f * slope
    k = 1.0 / (1.0 + L)
    return k, -k * k * slope / M.misc[_MI_TAB_DT]


@inline_kernel
def _pa_matrix(pa, misc, t):
    """ICRF -> lunar PA rotation, R3(w) R1(delta) R3(phi), as 9 scalars."""
    start = misc[_MI_PA_START]
    length = misc[_MI_PA_LEN]
    x = (t - start) / length
    k = int(np.floor(x))
    nrec = pa.shape[0]
    if k < 0:
        k = 0
    elif k > nrec - 1:
        k = nrec - 1
    s = 2.0 * ((t - start - k * length) / length) - 1.0
    s2 = 2.0 * s
    b1p = b1d = b1w = 0.0
    b2p = b2d = b2w = 0.0
    for j in range(pa.shape[2] - 1, 0, -1):
        b0p = pa[k, 0, j] + s2 * b1p - b2p
        b0d = pa[k, 1, j] + s2 * b1d - b2d
        b0w = pa[k, 2, j] + s2 * b1w - b2w
        b2p = b1p
        b2d = b1d
        b2w = b1w
        b1p = b0p
        b1d = b0d
        b1w = b0w
    phi = pa[k, 0, 0] + s * b1p - b2p
    dl = pa[k, 1, 0] + s * b1d - b2d
    w = pa[k, 2, 0] + s * b1w - b2w
    cp, sp = np.cos(phi), np.sin(phi)
    cd, sd = np.cos(dl), np.sin(dl)
    cw, sw = np.cos(w), np.sin(w)
    return (cw * cp - sw * cd * sp, cw * sp + sw * cd * cp, sw * sd,
            -sw * cp - cw * cd * sp, -sw * sp + cw * cd * cp, cw * sd,
            sd * sp, -sd * cp, cd)


@kernel
def _zonal_accel(x, y, z, px, py, pz, gm, radius, tf, k, nmax):
    """Zonal harmonics J2..J_nmax (J_n = tf[k, _TF_J0 + n]) about unit pole p:
    a_n = (mu/r^2) J_n (R/r)^n [P'_{n+1}(u) r_hat - P'_n(u) p],  u = r_hat.p
    (gradient of U = -mu/r J_n (R/r)^n P_n(u); for n = 2 this is the
    textbook -3/2 J2 mu R^2 / r^5 [x(1-5u^2), y(1-5u^2), z(3-5u^2)])."""
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    u = (x * px + y * py + z * pz) / r
    q = radius / r
    # Legendre recurrences (n+1)P_{n+1} = (2n+1)uP_n - nP_{n-1},
    # P'_{n+1} = P'_{n-1} + (2n+1) P_n.
    p_prev, p_cur = 1.0, u
    d_prev, d_cur = 0.0, 1.0
    qn = q
    sr = 0.0
    sp = 0.0
    for n in range(1, nmax + 1):
        p_next = ((2 * n + 1) * u * p_cur - n * p_prev) / (n + 1)
        d_next = d_prev + (2 * n + 1) * p_cur
        if n >= 2:
            jn = tf[k, _TF_J0 + n]
            sr += jn * qn * d_next
            sp += jn * qn * d_cur
        p_prev, p_cur = p_cur, p_next
        d_prev, d_cur = d_cur, d_next
        qn *= q
    c = gm / r2
    return c * (sr * x / r - sp * px), c * (sr * y / r - sp * py), c * (sr * z / r - sp * pz)


@kernel
def _harmonic_accel_bf(x, y, z, gm, radius, nmax, mmax, sh, V, W):
    """Acceleration of the degree 2..nmax, order <= mmax part of a fully
    normalised field, body-fixed Cartesian in and out (no pole singularity):
    the normalised Cunningham V/W recursion of
    ``lunar_gravity.recursion_factors`` (sh planes: C, S, alpha, beta, fa,
    fb, fz, gsec, f1)."""
    r2 = x * x + y * y + z * z
    rho = radius * radius / r2
    x0 = radius * x / r2
    y0 = radius * y / r2
    z0 = radius * z / r2
    ntop = nmax + 1
    mtop = min(mmax + 1, ntop)
    V[0, 0] = radius / np.sqrt(r2)
    W[0, 0] = 0.0
    for m in range(0, mtop + 1):
        if m > 0:
            g = sh[7, 0, m]
            V[m, m] = g * (x0 * V[m - 1, m - 1] - y0 * W[m - 1, m - 1])
            W[m, m] = g * (x0 * W[m - 1, m - 1] + y0 * V[m - 1, m - 1])
        if m + 1 <= ntop:
            a = sh[2, m + 1, m]
            V[m + 1, m] = a * z0 * V[m, m]
            W[m + 1, m] = a * z0 * W[m, m]
        for n in range(m + 2, ntop + 1):
            a = sh[2, n, m] * z0
            b = sh[3, n, m] * rho
            V[n, m] = a * V[n - 1, m] - b * V[n - 2, m]
            W[n, m] = a * W[n - 1, m] - b * W[n - 2, m]
    ax = 0.0
    ay = 0.0
    az = 0.0
    for n in range(2, nmax + 1):
        c0 = sh[0, n, 0]
        ax -= c0 * sh[8, 0, n] * V[n + 1, 1]
        ay -= c0 * sh[8, 0, n] * W[n + 1, 1]
        az -= sh[6, n, 0] * c0 * V[n + 1, 0]
        mlim = min(n, mmax)
        for m in range(1, mlim + 1):
            c = sh[0, n, m]
            s = sh[1, n, m]
            fa = sh[4, n, m]
            fb = sh[5, n, m]
            ax += 0.5 * (-fa * (c * V[n + 1, m + 1] + s * W[n + 1, m + 1])
                         + fb * (c * V[n + 1, m - 1] + s * W[n + 1, m - 1]))
            ay += 0.5 * (fa * (-c * W[n + 1, m + 1] + s * V[n + 1, m + 1])
                         + fb * (-c * W[n + 1, m - 1] + s * V[n + 1, m - 1]))
            az += sh[6, n, m] * (-c * V[n + 1, m] - s * W[n + 1, m])
    k = gm / (radius * radius)
    return k * ax, k * ay, k * az


_SH_TRUNCATION_LOG10 = 13.0  # cut the harmonic sum where (R/r)^n < 1e-13


@kernel
def _harmonic_accel_inertial(x, y, z, ti, tf, k, sh, rot, V, W):
    r00, r01, r02, r10, r11, r12, r20, r21, r22 = rot
    bx = r00 * x + r01 * y + r02 * z
    by = r10 * x + r11 * y + r12 * z
    bz = r20 * x + r21 * y + r22 * z
    radius = tf[k, _TF_RADIUS]
    r = np.sqrt(x * x + y * y + z * z)
    nmax = ti[k, 2]
    if r > radius * 1.0001:
        n_eff = int(np.ceil(_SH_TRUNCATION_LOG10 / np.log10(r / radius)))
        if n_eff < 2:
            n_eff = 2
        if n_eff < nmax:
            nmax = n_eff
    mmax = min(ti[k, 3], nmax)
    ax, ay, az = _harmonic_accel_bf(bx, by, bz, tf[k, _TF_GM], radius, nmax, mmax, sh, V, W)
    return (r00 * ax + r10 * ay + r20 * az,
            r01 * ax + r11 * ay + r21 * az,
            r02 * ax + r12 * ay + r22 * az)


@kernel
def _illumination(rx, ry, rz, sx, sy, sz, bx, by, bz, body_radius, sun_radius, model):
    """Fraction of the solar disc visible from r, occulting body at b, Sun at s
    (all relative to the same origin).  model 1 cylindrical, 2 conical."""
    # Sunward of the occulting body's centre: in full Sun, no trigonometry
    # (the conical penumbra reaches sunward of that plane only within
    # R sin(0.27 deg), ~30 km for the Earth, below the surface there).
    if (rx - bx) * (sx - bx) + (ry - by) * (sy - by) + (rz - bz) * (sz - bz) >= 0.0:
        return 1.0
    ssx, ssy, ssz = sx - rx, sy - ry, sz - rz
    sbx, sby, sbz = bx - rx, by - ry, bz - rz
    ds = np.sqrt(ssx * ssx + ssy * ssy + ssz * ssz)
    db = np.sqrt(sbx * sbx + sby * sby + sbz * sbz)
    if model == 1:
        ux, uy, uz = sx - bx, sy - by, sz - bz
        un = np.sqrt(ux * ux + uy * uy + uz * uz)
        ux, uy, uz = ux / un, uy / un, uz / un
        px, py, pz = rx - bx, ry - by, rz - bz
        along = px * ux + py * uy + pz * uz
        qx, qy, qz = px - along * ux, py - along * uy, pz - along * uz
        if qx * qx + qy * qy + qz * qz < body_radius * body_radius:
            return 0.0
        return 1.0
    if db <= body_radius:
        return 0.0
    a = np.arcsin(min(sun_radius / ds, 1.0))
    b = np.arcsin(min(body_radius / db, 1.0))
    cosc = (ssx * sbx + ssy * sby + ssz * sbz) / (ds * db)
    cosc = min(1.0, max(-1.0, cosc))
    c = np.arccos(cosc)
    if c >= a + b:
        return 1.0
    if c < b - a:
        return 0.0
    if c < a - b:
        return 1.0 - (b * b) / (a * a)
    xx = (c * c + a * a - b * b) / (2.0 * c)
    yy = np.sqrt(max(a * a - xx * xx, 0.0))
    area = a * a * np.arccos(min(1.0, max(-1.0, xx / a))) + b * b * np.arccos(min(1.0, max(-1.0, (c - xx) / b))) - c * yy
    return 1.0 - area / (np.pi * a * a)


@inline_kernel
def accel(t, rx, ry, rz, center, M, cr, am, V, W):
    """Total acceleration (km/s^2) at TDB seconds ``t`` of an object at
    (rx, ry, rz) km from ``center`` (0 Earth, 1 Moon), ICRF axes, and the
    illuminated fraction of the Sun (1.0 without SRP), which the integrator
    uses to stop at shadow boundaries."""
    ti = M.ti
    tf = M.tf
    misc = M.misc
    need_moon = misc[_MI_NEED_MOON] != 0.0
    need_sun = misc[_MI_NEED_SUN] != 0.0
    mx, my, mz, sx, sy, sz = _moon_sun_rel_earth(M.eph, misc, t, need_moon or center == 1, need_sun)
    # bodies relative to the integration centre: [0] Earth, [1] Moon, [2] Sun
    if center == 0:
        e0, e1, e2 = 0.0, 0.0, 0.0
        m0, m1, m2 = mx, my, mz
        s0, s1, s2 = sx, sy, sz
    else:
        e0, e1, e2 = -mx, -my, -mz
        m0, m1, m2 = 0.0, 0.0, 0.0
        s0, s1, s2 = sx - mx, sy - my, sz - mz
    ax = 0.0
    ay = 0.0
    az = 0.0
    nu_out = 1.0
    for k in range(ti.shape[0]):
        code = ti[k, 0]
        b = ti[k, 1]
        if b == 0:
            bx, by, bz = e0, e1, e2
        elif b == 1:
            bx, by, bz = m0, m1, m2
        else:
            bx, by, bz = s0, s1, s2
        if code == 1:  # point mass
            gm = tf[k, _TF_GM]
            if b == center:
                r2 = rx * rx + ry * ry + rz * rz
                f = -gm / (r2 * np.sqrt(r2))
                ax += f * rx
                ay += f * ry
                az += f * rz
            else:
                dx, dy, dz = bx - rx, by - ry, bz - rz
                d2 = dx * dx + dy * dy + dz * dz
                fd = gm / (d2 * np.sqrt(d2))
                b2 = bx * bx + by * by + bz * bz
                fb = gm / (b2 * np.sqrt(b2))
                ax += fd * dx - fb * bx
                ay += fd * dy - fb * by
                az += fd * dz - fb * bz
        elif code == 2:  # Earth zonal, about the interpolated CIP
            tab = M.tab
            i, f = _tab_row(tab, misc, t)
            px = tab[i, 0] + f * (tab[i + 1, 0] - tab[i, 0])
            py = tab[i, 1] + f * (tab[i + 1, 1] - tab[i, 1])
            pz = tab[i, 2] + f * (tab[i + 1, 2] - tab[i, 2])
            gm = tf[k, _TF_GM]
            rad = tf[k, _TF_RADIUS]
            nz = ti[k, 2]
            if b == center:
                gx, gy, gz = _zonal_accel(rx, ry, rz, px, py, pz, gm, rad, tf, k, nz)
            else:
                gx, gy, gz = _zonal_accel(rx - bx, ry - by, rz - bz, px, py, pz, gm, rad, tf, k, nz)
                hx, hy, hz = _zonal_accel(-bx, -by, -bz, px, py, pz, gm, rad, tf, k, nz)
                gx -= hx
                gy -= hy
                gz -= hz
            ax += gx
            ay += gy
            az += gz
        elif code == 3:  # lunar harmonics in the PA frame
            rot = _pa_matrix(M.pa, misc, t)
            if b == center:
                gx, gy, gz = _harmonic_accel_inertial(rx, ry, rz, ti, tf, k, M.sh, rot, V, W)
            else:
                gx, gy, gz = _harmonic_accel_inertial(rx - bx, ry - by, rz - bz, ti, tf, k, M.sh, rot, V, W)
                hx, hy, hz = _harmonic_accel_inertial(-bx, -by, -bz, ti, tf, k, M.sh, rot, V, W)
                gx -= hx
                gy -= hy
                gz -= hz
            ax += gx
            ay += gy
            az += gz
        elif code == 4:  # SRP
            if am == 0.0 or cr == 0.0:
                continue
            shadow = ti[k, 2]
            nu = 1.0
            if shadow > 0:
                nu = _illumination(rx, ry, rz, s0, s1, s2, e0, e1, e2,
                                   misc[_MI_RADII], misc[_MI_RADII + 2], shadow)
                if nu > 0.0:
                    nu *= _illumination(rx, ry, rz, s0, s1, s2, m0, m1, m2,
                                        misc[_MI_RADII + 1], misc[_MI_RADII + 2], shadow)
            nu_out = nu
            if nu == 0.0:
                continue
            dx, dy, dz = rx - s0, ry - s1, rz - s2  # Sun -> object
            d2 = dx * dx + dy * dy + dz * dz
            d = np.sqrt(d2)
            au = tf[k, _TF_AU]
            # N/m^2 * m^2/kg = m/s^2 -> km/s^2
            f = nu * cr * am * tf[k, _TF_PRESSURE] * 1e-3 * (au * au / d2) / d
            ax += f * dx
            ay += f * dy
            az += f * dz
    return ax, ay, az, nu_out


@alloc_kernel
def _accel_batch(t, r, v, center, M, objf, out):
    size = M.sh.shape[1]
    V = np.zeros((size, size))
    W = np.zeros((size, size))
    for i in range(r.shape[0]):
        ax, ay, az, _ = accel(t, r[i, 0], r[i, 1], r[i, 2], center, M, objf[i, 0], objf[i, 1], V, W)
        out[i, 0] = ax
        out[i, 1] = ay
        out[i, 2] = az


@alloc_kernel
def _moon_sun_batch(M, t, moon_out, sun_out):
    for i in range(t.shape[0]):
        mx, my, mz, sx, sy, sz = _moon_sun_rel_earth(M.eph, M.misc, t[i], True, True)
        moon_out[i, 0] = mx
        moon_out[i, 1] = my
        moon_out[i, 2] = mz
        sun_out[i, 0] = sx
        sun_out[i, 1] = sy
        sun_out[i, 2] = sz


# ---------------------------------------------------------------------------
# DOP853 tableau (SciPy's dop853_coefficients, from Hairer's dop853.f)

_N_STAGES = _dop.N_STAGES  # 12
_A = np.ascontiguousarray(_dop.A, dtype=np.float64)  # (16, 16), rows 13..15 for dense output
_B = np.ascontiguousarray(_dop.A[_N_STAGES, :_N_STAGES], dtype=np.float64)
_C = np.ascontiguousarray(_dop.C, dtype=np.float64)
_E3 = np.ascontiguousarray(_dop.E3, dtype=np.float64)
_E5 = np.ascontiguousarray(_dop.E5, dtype=np.float64)
_D = np.ascontiguousarray(_dop.D, dtype=np.float64)
_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0
_ERROR_EXPONENT = -1.0 / 8.0  # -1 / (error estimator order 7 + 1)


@kernel
def _rhs(t, y, center, M, cr, am, V, W, out):
    """y = (r, w), w = dr/dt_TDB = k v with k = dTT/dTDB;
    dw/dt_TDB = k^2 a(r, t) + (k'/k) w  (exact change of time variable)."""
    k, kdot = time_rate(M, t)
    out[0] = y[3]
    out[1] = y[4]
    out[2] = y[5]
    ax, ay, az, nu = accel(t, y[0], y[1], y[2], center, M, cr, am, V, W)
    k2 = k * k
    c = kdot / k
    out[3] = k2 * ax + c * y[3]
    out[4] = k2 * ay + c * y[4]
    out[5] = k2 * az + c * y[5]
    return nu


@kernel
def _region(nu):
    """Illumination region: 0 umbra, 1 penumbra/antumbra, 2 full Sun."""
    if nu <= 0.0:
        return 0
    if nu >= 1.0:
        return 2
    return 1


@kernel
def _rms(x, scale):
    acc = 0.0
    for j in range(6):
        q = x[j] / scale[j]
        acc += q * q
    return np.sqrt(acc / 6.0)


@kernel
def _initial_step(t0, y0, f0, t_bound, direction, center, M, cr, am, rtol, atol, h_max, V, W, y1, f1, scale):
    """SciPy's ``select_initial_step`` (Hairer, Norsett & Wanner II.4)."""
    interval = abs(t_bound - t0)
    if interval == 0.0:
        return 0.0
    for j in range(6):
        scale[j] = atol + abs(y0[j]) * rtol
    d0 = _rms(y0, scale)
    d1 = _rms(f0, scale)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, interval)
    for j in range(6):
        y1[j] = y0[j] + h0 * direction * f0[j]
    _rhs(t0 + h0 * direction, y1, center, M, cr, am, V, W, f1)
    acc = 0.0
    for j in range(6):
        q = (f1[j] - f0[j]) / scale[j]
        acc += q * q
    d2 = np.sqrt(acc / 6.0) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / 8.0)
    return min(100.0 * h0, h1, interval, h_max)


@kernel
def _step(t, y, f, h, reg0, center, M, cr, am, V, W, K, ytmp, y_new):
    """One DOP853 step: fills K[0..12] (K[12] = f(t+h, y_new)) and y_new.

    Returns the smallest stage fraction c at which the illumination region
    differs from ``reg0`` (2.0 if none) and the illumination at t + h."""
    first = 2.0
    for j in range(6):
        K[0, j] = f[j]
    for s in range(1, _N_STAGES):
        for j in range(6):
            acc = 0.0
            for q in range(s):
                acc += K[q, j] * _A[s, q]
            ytmp[j] = y[j] + acc * h
        nu = _rhs(t + _C[s] * h, ytmp, center, M, cr, am, V, W, K[s])
        if _region(nu) != reg0 and _C[s] < first:
            first = _C[s]
    for j in range(6):
        acc = 0.0
        for q in range(_N_STAGES):
            acc += K[q, j] * _B[q]
        y_new[j] = y[j] + h * acc
    nu_end = _rhs(t + h, y_new, center, M, cr, am, V, W, K[_N_STAGES])
    if _region(nu_end) != reg0 and first > 1.0:
        first = 1.0
    return first, nu_end


_EVENT_RESOLUTION_S = 1e-3  # shadow boundaries are located to 1 ms


@kernel
def _region_at(F, y, x, t, center, M, cr, am, V, W, yq):
    _dense_eval(F, y, x, yq)
    _, _, _, nu = accel(t, yq[0], yq[1], yq[2], center, M, cr, am, V, W)
    return _region(nu)


@kernel
def _locate_region_change(F, y, t, h, x_hint, reg, center, M, cr, am, V, W, yq):
    """Smallest step fraction (to _EVENT_RESOLUTION_S) at which the dense
    output leaves illumination region ``reg``; 2.0 if it never does."""
    h_abs = abs(h)
    hi = x_hint
    if _region_at(F, y, hi, t + hi * h, center, M, cr, am, V, W, yq) == reg:
        hi = 1.0
        if _region_at(F, y, hi, t + hi * h, center, M, cr, am, V, W, yq) == reg:
            return 2.0
    lo = 0.0
    for _ in range(80):
        if (hi - lo) * h_abs <= _EVENT_RESOLUTION_S:
            break
        mid = 0.5 * (lo + hi)
        if _region_at(F, y, mid, t + mid * h, center, M, cr, am, V, W, yq) != reg:
            hi = mid
        else:
            lo = mid
    return hi


@kernel
def _soi_distance(M, t, yq, center):
    if center == 0:
        mx, my, mz = moon_rel_earth_pos(M, t)
        return np.sqrt((yq[0] - mx) ** 2 + (yq[1] - my) ** 2 + (yq[2] - mz) ** 2)
    return np.sqrt(yq[0] ** 2 + yq[1] ** 2 + yq[2] ** 2)


@kernel
def _locate_soi(F, y, t, h, center, radius, M, yq):
    """First step fraction (to _EVENT_RESOLUTION_S) at which the object is
    inside (Earth-centred) or outside (Moon-centred) ``radius`` of the Moon;
    the condition holds at the end of the step."""
    h_abs = abs(h)
    lo = 0.0
    hi = 1.0
    for _ in range(80):
        if (hi - lo) * h_abs <= _EVENT_RESOLUTION_S:
            break
        mid = 0.5 * (lo + hi)
        _dense_eval(F, y, mid, yq)
        d = _soi_distance(M, t + mid * h, yq, center)
        if (center == 0 and d < radius) or (center == 1 and d > radius):
            hi = mid
        else:
            lo = mid
    return hi


@kernel
def _error_norm(K, h, y, y_new, rtol, atol):
    e5 = 0.0
    e3 = 0.0
    for j in range(6):
        sc = atol + max(abs(y[j]), abs(y_new[j])) * rtol
        a5 = 0.0
        a3 = 0.0
        for q in range(_N_STAGES + 1):
            a5 += K[q, j] * _E5[q]
            a3 += K[q, j] * _E3[q]
        a5 /= sc
        a3 /= sc
        e5 += a5 * a5
        e3 += a3 * a3
    if e5 == 0.0 and e3 == 0.0:
        return 0.0
    denom = e5 + 0.01 * e3
    return abs(h) * e5 / np.sqrt(denom * 6.0)


@kernel
def _dense_coefficients(t_old, y_old, y_new, h, center, M, cr, am, V, W, K, ytmp, F):
    """The three extra stages and the 7 interpolation vectors of DOP853."""
    for s in range(_N_STAGES + 1, 16):
        for j in range(6):
            acc = 0.0
            for q in range(s):
                acc += K[q, j] * _A[s, q]
            ytmp[j] = y_old[j] + acc * h
        _rhs(t_old + _C[s] * h, ytmp, center, M, cr, am, V, W, K[s])
    for j in range(6):
        dy = y_new[j] - y_old[j]
        F[0, j] = dy
        F[1, j] = h * K[0, j] - dy
        F[2, j] = 2.0 * dy - h * (K[_N_STAGES, j] + K[0, j])
        for i in range(4):
            acc = 0.0
            for q in range(16):
                acc += _D[i, q] * K[q, j]
            F[3 + i, j] = h * acc


@kernel
def _dense_eval(F, y_old, x, out):
    """SciPy's ``Dop853DenseOutput`` at fraction x of the step."""
    for j in range(6):
        acc = 0.0
        for i in range(7):
            acc += F[6 - i, j]
            if i % 2 == 0:
                acc *= x
            else:
                acc *= 1.0 - x
        out[j] = acc + y_old[j]


@kernel
def _to_geocentric(M, t, y, center, out):
    """Internal (r, w) about ``center`` -> geocentric r and v = w / k (km/s, TT rate)."""
    k, _ = time_rate(M, t)
    if center == 0:
        for j in range(3):
            out[j] = y[j]
            out[3 + j] = y[3 + j] / k
    else:
        m = moon_rel_earth_state(M, t)
        for j in range(3):
            out[j] = y[j] + m[j]
            out[3 + j] = (y[3 + j] + m[3 + j]) / k


@alloc_kernel
def _grow(told, hh, cc, FF, need):
    cap = told.shape[0]
    if need <= cap:
        return told, hh, cc, FF
    new = max(need, 2 * cap)
    t2 = np.empty(new)
    h2 = np.empty(new)
    c2 = np.empty(new, dtype=np.int64)
    F2 = np.empty((new, 8, 6))
    t2[:cap] = told
    h2[:cap] = hh
    c2[:cap] = cc
    F2[:cap] = FF
    return t2, h2, c2, F2


@alloc_kernel
def _leg(y0, c0, t_end, direction, t_out, order, out_row, M, cr, am, rtol, atol, h_max, max_steps,
         soi_in, soi_out, switching, store, told, hh, cc, FF, nst, V, W, K, F, ytmp, y_new, f, y, scale, yq):
    """Integrate one object from t = 0 to t_end (direction +-1), writing the
    geocentric state at t_out[order[k]] into out_row[order[k]].

    Shadow boundaries (a change of illumination region at any stage) end a
    step: the crossing is bracketed on the dense output to 1 ms and the step
    is redone to end just past it, so SRP's kink never sits inside a step.
    """
    nout = order.shape[0]
    t = 0.0
    center = c0
    for j in range(6):
        y[j] = y0[j]
    k = 0
    while k < nout and t_out[order[k]] == 0.0:
        _to_geocentric(M, 0.0, y, center, out_row[order[k]])
        k += 1
    if direction * (t_end - t) <= 0.0:
        return 0, 0, told, hh, cc, FF, nst
    nu0 = _rhs(t, y, center, M, cr, am, V, W, f)
    reg = _region(nu0)
    h_abs = _initial_step(t, y, f, t_end, direction, center, M, cr, am, rtol, atol, h_max, V, W, ytmp, y_new, scale)
    nsteps = 0
    rmin_c = M.misc[_MI_RADII + center]
    while direction * (t_end - t) > 0.0:
        min_step = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
        if h_abs > h_max:
            h_abs = h_max
        elif h_abs < min_step:
            h_abs = min_step
        rejected = False
        forced = False
        forced_kind = 0
        target = t
        h_after_event = h_abs
        nu_end = 1.0
        region_retries = 0
        while True:
            if forced:
                t_new = target
            else:
                if h_abs != h_abs:  # NaN step size: the state or its derivative is broken
                    return 6, nsteps, told, hh, cc, FF, nst
                if h_abs < min_step:
                    return 4, nsteps, told, hh, cc, FF, nst
                t_new = t + h_abs * direction
                if direction * (t_new - t_end) > 0.0:
                    t_new = t_end
            h = t_new - t
            h_abs = abs(h)
            first, nu_end = _step(t, y, f, h, reg, center, M, cr, am, V, W, K, ytmp, y_new)
            err = _error_norm(K, h, y, y_new, rtol, atol)
            if err < 1.0:
                if err == 0.0:
                    factor = _MAX_FACTOR
                else:
                    factor = min(_MAX_FACTOR, _SAFETY * err ** _ERROR_EXPONENT)
                if rejected:
                    factor = min(1.0, factor)
                if not forced:
                    # Events inside the step: a shadow boundary (SRP's kink or
                    # jump) or the sphere of influence.  Stop the step there.
                    x_event = 2.0
                    kind = 0
                    have_dense = False
                    if first <= 1.0:
                        _dense_coefficients(t, y, y_new, h, center, M, cr, am, V, W, K, ytmp, F)
                        have_dense = True
                        x_sh = _locate_region_change(F, y, t, h, first, reg, center, M, cr, am, V, W, yq)
                        if x_sh <= 1.0:
                            if x_sh * h_abs <= _EVENT_RESOLUTION_S and region_retries < 3:
                                # the boundary is at the start: the step starts in the next region
                                reg = _region_at(F, y, x_sh, t + x_sh * h, center, M, cr, am, V, W, yq)
                                region_retries += 1
                                continue
                            x_event = x_sh
                            kind = 1
                    if switching:
                        d_new = _soi_distance(M, t_new, y_new, center)
                        if (center == 0 and d_new < soi_in) or (center == 1 and d_new > soi_out):
                            if not have_dense:
                                _dense_coefficients(t, y, y_new, h, center, M, cr, am, V, W, K, ytmp, F)
                            x_soi = _locate_soi(F, y, t, h, center, soi_in if center == 0 else soi_out, M, yq)
                            if x_soi < x_event:
                                x_event = x_soi
                                kind = 2
                    if x_event < 1.0 and x_event * h_abs > _EVENT_RESOLUTION_S:
                        h_after_event = h_abs * factor
                        target = t + x_event * h
                        forced = True
                        forced_kind = kind
                        continue
                if forced:
                    h_abs = h_after_event
                else:
                    h_abs *= factor
                break
            if err != err:  # NaN: shrink as SciPy does (max(0.2, nan) = 0.2)
                h_abs *= _MIN_FACTOR
            else:
                h_abs *= max(_MIN_FACTOR, _SAFETY * err ** _ERROR_EXPONENT)
            rejected = True
            forced = False
            forced_kind = 0
        nsteps += 1
        # health of the new state
        finite = True
        for j in range(6):
            if not np.isfinite(y_new[j]):
                finite = False
        if not finite:
            return 6, nsteps, told, hh, cc, FF, nst
        rc = np.sqrt(y_new[0] ** 2 + y_new[1] ** 2 + y_new[2] ** 2)
        if rc < rmin_c:
            return 2 + center, nsteps, told, hh, cc, FF, nst
        if M.misc[_MI_NEED_MOON] != 0.0 and center == 0:
            mx, my, mz = moon_rel_earth_pos(M, t_new)
            dm = np.sqrt((y_new[0] - mx) ** 2 + (y_new[1] - my) ** 2 + (y_new[2] - mz) ** 2)
            if dm < M.misc[_MI_RADII + 1]:
                return 3, nsteps, told, hh, cc, FF, nst
        else:
            dm = rc
        need_out = k < nout and direction * (t_out[order[k]] - t_new) <= 0.0
        if need_out or store:
            _dense_coefficients(t, y, y_new, h, center, M, cr, am, V, W, K, ytmp, F)
        if store:
            told, hh, cc, FF = _grow(told, hh, cc, FF, nst + 1)
            told[nst] = t
            hh[nst] = h
            cc[nst] = center
            for i in range(7):
                for j in range(6):
                    FF[nst, i, j] = F[i, j]
            for j in range(6):
                FF[nst, 7, j] = y[j]
            nst += 1
        while k < nout and direction * (t_out[order[k]] - t_new) <= 0.0:
            tq = t_out[order[k]]
            if tq == t_new:
                _to_geocentric(M, tq, y_new, center, out_row[order[k]])
            else:
                _dense_eval(F, y, (tq - t) / h, yq)
                _to_geocentric(M, tq, yq, center, out_row[order[k]])
            k += 1
        # accept
        t = t_new
        reg = _region(nu_end)
        for j in range(6):
            y[j] = y_new[j]
            f[j] = K[_N_STAGES, j]
        if switching:
            if center == 0 and (dm < soi_in or forced_kind == 2):
                m = moon_rel_earth_state(M, t)
                for j in range(3):
                    y[j] -= m[j]
                    y[3 + j] -= m[3 + j]
                center = 1
                rmin_c = M.misc[_MI_RADII + 1]
                reg = _region(_rhs(t, y, center, M, cr, am, V, W, f))
            elif center == 1 and (rc > soi_out or forced_kind == 2):
                m = moon_rel_earth_state(M, t)
                for j in range(3):
                    y[j] += m[j]
                    y[3 + j] += m[3 + j]
                center = 0
                rmin_c = M.misc[_MI_RADII]
                reg = _region(_rhs(t, y, center, M, cr, am, V, W, f))
        if nsteps >= max_steps and direction * (t_end - t) > 0.0:
            return 5, nsteps, told, hh, cc, FF, nst
    return 0, nsteps, told, hh, cc, FF, nst


@alloc_kernel
def _propagate_chunk(y0s, c0s, objf, t_out, order_fwd, order_bwd, t_lo, t_hi, M, rtol, atol, h_max,
                     max_steps, soi_in, soi_out, switching, store, out, status, nsteps):
    """Propagate a chunk of objects; out (k, m, 6) must hold NaN on entry."""
    n = y0s.shape[0]
    size = M.sh.shape[1]
    V = np.zeros((size, size))
    W = np.zeros((size, size))
    K = np.zeros((16, 6))
    F = np.zeros((7, 6))
    ytmp = np.zeros(6)
    y_new = np.zeros(6)
    f = np.zeros(6)
    y = np.zeros(6)
    scale = np.zeros(6)
    yq = np.zeros(6)
    cap = 256 if store else 1
    told = np.empty(cap)
    hh = np.empty(cap)
    cc = np.empty(cap, dtype=np.int64)
    FF = np.empty((cap, 8, 6))
    starts = np.zeros(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    nst = 0
    for i in range(n):
        starts[i] = nst
        ok = True
        for j in range(6):
            if not np.isfinite(y0s[i, j]):
                ok = False
        if not ok:
            status[i] = 1
            continue
        c0 = c0s[i]
        r0 = np.sqrt(y0s[i, 0] ** 2 + y0s[i, 1] ** 2 + y0s[i, 2] ** 2)
        if r0 < M.misc[_MI_RADII + c0]:
            status[i] = 2 + c0
            continue
        cr = objf[i, 0]
        am = objf[i, 1]
        st_b = 0
        ns_b = 0
        if t_lo < 0.0:
            first = nst
            st_b, ns_b, told, hh, cc, FF, nst = _leg(
                y0s[i], c0, t_lo, -1.0, t_out, order_bwd, out[i], M, cr, am, rtol, atol, h_max, max_steps,
                soi_in, soi_out, switching, store, told, hh, cc, FF, nst, V, W, K, F, ytmp, y_new, f, y, scale, yq)
            # backward steps were stored newest-first: reverse to ascending time
            lo = first
            hi = nst - 1
            while lo < hi:
                told[lo], told[hi] = told[hi], told[lo]
                hh[lo], hh[hi] = hh[hi], hh[lo]
                cc[lo], cc[hi] = cc[hi], cc[lo]
                tmp = FF[lo].copy()
                FF[lo] = FF[hi]
                FF[hi] = tmp
                lo += 1
                hi -= 1
        st_f, ns_f, told, hh, cc, FF, nst = _leg(
            y0s[i], c0, t_hi, 1.0, t_out, order_fwd, out[i], M, cr, am, rtol, atol, h_max, max_steps,
            soi_in, soi_out, switching, store, told, hh, cc, FF, nst, V, W, K, F, ytmp, y_new, f, y, scale, yq)
        status[i] = st_b if st_b != 0 else st_f
        nsteps[i] = ns_b + ns_f
        counts[i] = nst - starts[i]
    return told[:nst].copy(), hh[:nst].copy(), cc[:nst].copy(), FF[:nst].copy(), starts, counts


@alloc_kernel
def _evaluate_dense(tq, told, hh, cc, FF, starts, counts, M, out):
    """Geocentric states (n, m, 6) from stored steps; NaN outside each
    object's integrated span."""
    n = starts.shape[0]
    m = tq.shape[0]
    yq = np.zeros(6)
    for i in range(n):
        s = starts[i]
        c = counts[i]
        for q in range(m):
            for j in range(6):
                out[i, q, j] = np.nan
            if c == 0:
                continue
            t = tq[q]
            lo_first = min(told[s], told[s] + hh[s])
            hi_last = max(told[s + c - 1], told[s + c - 1] + hh[s + c - 1])
            if t < lo_first or t > hi_last:
                continue
            a = s
            b = s + c - 1
            while a < b:  # last step whose lower end is <= t
                mid = (a + b + 1) // 2
                if min(told[mid], told[mid] + hh[mid]) <= t:
                    a = mid
                else:
                    b = mid - 1
            x = (t - told[a]) / hh[a]
            _dense_eval(FF[a], FF[a, 7], x, yq)
            _to_geocentric(M, t, yq, cc[a], out[i, q])


# ---------------------------------------------------------------------------
# Public API


def _as_states(r0_km, v0_km_s):
    r = np.asarray(r0_km, dtype=float)
    v = np.asarray(v0_km_s, dtype=float)
    single = r.ndim == 1
    r2 = np.atleast_2d(r)
    v2 = np.atleast_2d(v)
    if r2.ndim != 2 or r2.shape[1] != 3 or v2.shape != r2.shape:
        raise ValueError(
            f"r0_km {r.shape} and v0_km_s {v.shape}: expected two arrays of shape (n, 3) (or (3,) for one object)"
        )
    return np.ascontiguousarray(np.hstack([r2, v2])), single


def _t_tdb_s(times: Time, epoch: Time) -> np.ndarray:
    if not isinstance(times, Time) or not isinstance(epoch, Time):
        raise TypeError("epoch and times must be astropy Time objects (any scale; converted to TDB)")
    if not epoch.isscalar:
        raise ValueError(f"epoch has shape {epoch.shape}: expected one epoch for the whole batch")
    e = epoch.tdb
    t = times.tdb
    return np.atleast_1d(((t.jd1 - e.jd1) + (t.jd2 - e.jd2)) * SECONDS_PER_DAY).astype(float)


def _workers(workers: int | None) -> int:
    if workers is None:
        return max(1, min(os.cpu_count() or 1, 8))
    return max(1, int(workers))


@dataclass(frozen=True, eq=False)
class _Run:
    compiled: CompiledModel
    out: np.ndarray
    status: np.ndarray
    nsteps: np.ndarray
    dense: tuple | None


def _run(y0, center, epoch: Time, t_s: np.ndarray, model: ForceModel, *, rtol, atol, soi_radius_km,
         soi_exit_factor, switch_centres, max_steps, max_step_s, workers, store, span=None):
    if not isinstance(model, ForceModel):
        raise TypeError(f"model {model!r}: expected a propagators.forces.ForceModel")
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol={rtol!r}, atol={atol!r}: expected positive tolerances")
    if center not in ("earth", "moon"):
        raise ValueError(f"center {center!r}: expected 'earth' or 'moon'")
    if not np.all(np.isfinite(t_s)):
        raise ValueError("times contain non-finite values")
    e = epoch.tdb
    lo = min(0.0, float(t_s.min()) if t_s.size else 0.0)
    hi = max(0.0, float(t_s.max()) if t_s.size else 0.0)
    if span is not None:
        lo = min(lo, span[0])
        hi = max(hi, span[1])
    cm = compile_model(model, float(e.jd1), float(e.jd2), lo, hi)
    n = y0.shape[0]
    objf = object_parameters(model, n)
    switching = bool(switch_centres) and model.has_point_mass("moon")
    # Internal velocity w = k v (per TDB second); then the initial centre:
    # Moon-centred inside the sphere of influence.
    y_int = y0.copy()
    k0, _ = time_rate(cm, 0.0)
    y_int[:, 3:] *= k0
    c0 = np.zeros(n, dtype=np.int64)
    moon6 = np.array(moon_rel_earth_state(cm, 0.0))
    p = moon6[:3]
    if center == "moon":
        c0[:] = 1
        if switching:
            far = np.linalg.norm(y_int[:, :3], axis=1) > soi_radius_km * soi_exit_factor
            y_int[far] += moon6
            c0[far] = 0
    elif switching:
        near = np.linalg.norm(y_int[:, :3] - p, axis=1) < soi_radius_km
        y_int[near] -= moon6
        c0[near] = 1
    order = np.argsort(t_s, kind="stable")
    fwd = np.ascontiguousarray(order[t_s[order] >= 0.0])
    bwd = np.ascontiguousarray(order[t_s[order] < 0.0][::-1])
    m = t_s.size
    out = np.full((n, m, 6), np.nan)
    status = np.zeros(n, dtype=np.int64)
    nsteps = np.zeros(n, dtype=np.int64)
    n_workers = _workers(workers)
    # A few chunks per worker balance objects of very different cost.
    n_chunks = max(1, min(n, n_workers * 4)) if n_workers > 1 else 1
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    t_s_c = np.ascontiguousarray(t_s)
    args = (cm, float(rtol), float(atol), float(max_step_s), int(max_steps), float(soi_radius_km),
            float(soi_radius_km * soi_exit_factor), switching, bool(store))

    def work(c):
        a, b = bounds[c], bounds[c + 1]
        o = out[a:b]
        s = status[a:b]
        k = nsteps[a:b]
        res = _propagate_chunk(y_int[a:b], c0[a:b], objf[a:b], t_s_c, fwd, bwd, lo, hi, args[0], args[1],
                               args[2], args[3], args[4], args[5], args[6], args[7], args[8], o, s, k)
        return res

    if n_chunks == 1:
        results = [work(0)]
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            results = list(pool.map(work, range(n_chunks)))
    dense = None
    if store:
        told = np.concatenate([r[0] for r in results])
        hh = np.concatenate([r[1] for r in results])
        cc = np.concatenate([r[2] for r in results])
        FF = np.concatenate([r[3] for r in results]) if told.size else np.zeros((0, 8, 6))
        offsets = np.cumsum([0] + [r[0].shape[0] for r in results[:-1]])
        starts = np.concatenate([r[4] + off for r, off in zip(results, offsets)])
        counts = np.concatenate([r[5] for r in results])
        dense = (told, hh, cc, FF, starts, counts)
    return _Run(cm, out, status, nsteps, dense)


def propagate_states(
    r0_km,
    v0_km_s,
    epoch: Time,
    times: Time,
    model: ForceModel,
    center: str = "earth",
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    soi_radius_km: float = MOON_SOI_RADIUS_KM,
    soi_exit_factor: float = 1.02,
    switch_centres: bool = True,
    max_steps: int = 2_000_000,
    max_step_s: float = np.inf,
    workers: int | None = None,
):
    """Propagate a batch of Cartesian states with ``model``.

    ``r0_km``, ``v0_km_s``: (n, 3) at ``epoch`` relative to ``center``
    ("earth": GCRS; "moon": MCI, ICRF axes).  ``times``: one Time or (m,).
    ``rtol``/``atol`` apply to every component (km, km/s), as in SciPy.

    Returns ``r_gcrs_km``, ``v_gcrs_km_s`` of shape (n, m, 3) ((n, 3) for a
    scalar ``times``; the object axis is dropped for (3,) inputs) and
    ``status`` (n,) with codes in ``NUMERICAL_ERRORS``; failed objects hold
    NaN after the failure.
    """
    y0, single = _as_states(r0_km, v0_km_s)
    t_s = _t_tdb_s(times, epoch)
    run = _run(y0, center, epoch, t_s, model, rtol=rtol, atol=atol, soi_radius_km=soi_radius_km,
               soi_exit_factor=soi_exit_factor, switch_centres=switch_centres, max_steps=max_steps,
               max_step_s=max_step_s, workers=workers, store=False)
    r = run.out[:, :, :3]
    v = run.out[:, :, 3:]
    if times.isscalar:
        r = r[:, 0]
        v = v[:, 0]
    if single:
        return r[0], v[0], run.status
    return r, v, run.status


@dataclass(frozen=True, eq=False)
class NumericalTrajectory:
    """Dense output of a batch: every step's DOP853 interpolant.

    ``evaluate(times)`` gives geocentric GCRS states at any epoch inside
    ``[start, stop]``; NaN for an object outside the span it reached.
    """

    epoch: Time
    t_start_tdb_s: float
    t_stop_tdb_s: float
    status: np.ndarray
    n_steps: np.ndarray
    _compiled: CompiledModel
    _dense: tuple

    @property
    def n_objects(self) -> int:
        return int(self.status.shape[0])

    def evaluate_t_tdb_s(self, t_tdb_s) -> tuple[np.ndarray, np.ndarray]:
        """States (n, m, 3) at TDB seconds from ``epoch`` (float array)."""
        t = np.ascontiguousarray(np.atleast_1d(np.asarray(t_tdb_s, dtype=float)))
        out = np.empty((self.n_objects, t.size, 6))
        told, hh, cc, FF, starts, counts = self._dense
        _evaluate_dense(t, told, hh, cc, FF, starts, counts, self._compiled, out)
        return out[:, :, :3], out[:, :, 3:]

    def centre_switches(self) -> list[tuple[int, float, str]]:
        """(object index, t_tdb_s, new centre) for every switch between
        Earth- and Moon-centred integration, in time order per object."""
        told, hh, cc, _, starts, counts = self._dense
        out = []
        for i in range(self.n_objects):
            s, c = int(starts[i]), int(counts[i])
            for j in range(s + 1, s + c):
                if cc[j] != cc[j - 1]:
                    out.append((i, float(min(told[j], told[j] + hh[j])), "moon" if cc[j] == 1 else "earth"))
        return out

    def evaluate(self, times: Time) -> tuple[np.ndarray, np.ndarray]:
        """``r_gcrs_km``, ``v_gcrs_km_s`` (n, m, 3), or (n, 3) for one time."""
        t = _t_tdb_s(times, self.epoch)
        r, v = self.evaluate_t_tdb_s(t)
        if times.isscalar:
            return r[:, 0], v[:, 0]
        return r, v


def propagate_trajectory(
    r0_km,
    v0_km_s,
    epoch: Time,
    start: Time,
    stop: Time,
    model: ForceModel,
    center: str = "earth",
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    soi_radius_km: float = MOON_SOI_RADIUS_KM,
    soi_exit_factor: float = 1.02,
    switch_centres: bool = True,
    max_steps: int = 2_000_000,
    max_step_s: float = np.inf,
    workers: int | None = None,
) -> NumericalTrajectory:
    """Propagate over [start, stop] (which may straddle ``epoch``) and keep
    the dense output for evaluation at any epoch in between."""
    y0, _ = _as_states(r0_km, v0_km_s)
    t_pair = _t_tdb_s(Time([start, stop]), epoch)
    if t_pair[1] < t_pair[0]:
        raise ValueError(f"stop {stop.isot} is before start {start.isot}")
    run = _run(y0, center, epoch, np.zeros(0), model, rtol=rtol, atol=atol, soi_radius_km=soi_radius_km,
               soi_exit_factor=soi_exit_factor, switch_centres=switch_centres, max_steps=max_steps,
               max_step_s=max_step_s, workers=workers, store=True,
               span=(float(t_pair[0]), float(t_pair[1])))
    return NumericalTrajectory(
        epoch=epoch,
        t_start_tdb_s=float(min(0.0, t_pair[0])),
        t_stop_tdb_s=float(max(0.0, t_pair[1])),
        status=run.status,
        n_steps=run.nsteps,
        _compiled=run.compiled,
        _dense=run.dense,
    )
