"""Cislunar frames: MCI and EMR, from the JPL DE421 Moon.

* **GCRS** here means geocentric with ICRF axes (the project's inertial
  working frame).  DE421 vectors are ICRF-axis vectors; relative vectors
  such as Earth->Moon are used as GCRS vectors without the relativistic
  scaling between BCRS and GCRS coordinates (< 1e-8 relative, ~4 mm at the
  Moon), as JPL Horizons' geocentric vectors do.
* **MCI** (Moon-centred inertial): origin at the Moon, ICRF axes.
  ``r_mci = r_gcrs - r_moon``, ``v_mci = v_gcrs - v_moon``.
* **EMR** (Earth-Moon rotating, barycentric, dimensional km and km/s):
  origin at the Earth-Moon barycentre (DE421 Moon/Earth mass ratio),
  ``x`` along Earth->Moon, ``z`` along the Moon's orbital angular momentum
  ``h = r_moon x v_moon``, ``y = z x x``.  The frame's angular velocity is
  the exact one of that triad:

      omega = (|h| / d^2) z_hat + (d a_z / |h|) x_hat

  where ``d = |r_moon|`` and ``a_z`` is the Moon's geocentric acceleration
  along ``z_hat`` (the plane of the Moon's orbit turns about the Earth-Moon
  line; |omega_x| ~ 1e-9 rad/s against omega_z ~ 2.66e-6 rad/s).  The
  acceleration is the central difference of DE421 velocities over +-300 s
  (truncation ~1e-16 km/s^2).  Velocities carry the transport term:
  ``v_emr = C^T (v_rel - omega x r_rel)``, so the Moon has zero ``y`` and
  ``z`` velocity in EMR and only the range-rate along ``x``.

Every ephemeris read is at TDB (``t.tdb``).  Functions accept a scalar
``Time`` with ``(..., 3)`` vectors, or an array ``Time`` of ``n_times`` with
``(n_times, 3)`` or ``(n_objects, n_times, 3)`` vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propagators import timeutil  # noqa: F401  (offline IERS set-up first)
from astropy.time import Time

from propagators.ephemeris import (
    GM_EARTH_DE421_KM3_S2,
    GM_MOON_DE421_KM3_S2,
    SECONDS_PER_DAY,
    de421,
)

#: Moon / (Earth + Moon) mass ratio of DE421 (Folkner et al. 2008, Table 8):
#: Earth/Moon mass ratio 81.30056...; this is the EMR barycentre.
MU_EARTH_MOON_DE421 = GM_MOON_DE421_KM3_S2 / (GM_EARTH_DE421_KM3_S2 + GM_MOON_DE421_KM3_S2)

# Half-step (s) of the central difference that gives the Moon's acceleration.
_ACCEL_HALF_STEP_S = 300.0


def _tdb_parts(t: Time) -> tuple[np.ndarray, np.ndarray, bool]:
    tdb = t.tdb
    scalar = np.ndim(tdb.jd1) == 0
    return np.atleast_1d(np.asarray(tdb.jd1, float)), np.atleast_1d(np.asarray(tdb.jd2, float)), scalar


def moon_state_gcrs(t: Time) -> tuple[np.ndarray, np.ndarray]:
    """DE421 geocentric Moon (km, km/s), (n_times, 3) or (3,) for a scalar Time."""
    jd1, jd2, scalar = _tdb_parts(t)
    r_km, v_km_s = de421().state("moon", "earth", jd1, jd2)
    if scalar:
        return r_km[0], v_km_s[0]
    return r_km, v_km_s


def emb_state_gcrs(t: Time) -> tuple[np.ndarray, np.ndarray]:
    """DE421 geocentric Earth-Moon barycentre (km, km/s)."""
    jd1, jd2, scalar = _tdb_parts(t)
    r_km, v_km_s = de421().state("emb", "earth", jd1, jd2)
    if scalar:
        return r_km[0], v_km_s[0]
    return r_km, v_km_s


@dataclass(frozen=True)
class EarthMoonFrame:
    """The instantaneous Earth-Moon rotating triad at each epoch (GCRS axes).

    ``basis_gcrs[t]`` has columns x_hat, y_hat, z_hat, so a GCRS vector is
    ``basis @ x_rot`` and a rotating-frame vector ``basis.T @ x_gcrs``.
    Shapes: (n_times, ...) for an array Time, no leading axis for a scalar.
    """

    r_moon_gcrs_km: np.ndarray
    v_moon_gcrs_km_s: np.ndarray
    basis_gcrs: np.ndarray  # (n, 3, 3)
    distance_km: np.ndarray  # d = |r_moon|
    range_rate_km_s: np.ndarray  # d_dot
    rate_rad_s: np.ndarray  # |h| / d^2, the in-plane rate of the Earth-Moon line
    omega_gcrs_rad_s: np.ndarray  # full angular velocity of the triad


def earth_moon_frame(t: Time) -> EarthMoonFrame:
    """Earth-Moon rotating triad from DE421 at ``t`` (read at TDB)."""
    jd1, jd2, scalar = _tdb_parts(t)
    n = jd1.size
    dt_day = _ACCEL_HALF_STEP_S / SECONDS_PER_DAY
    # One ephemeris call for t, t - h, t + h.
    j1 = np.concatenate([jd1, jd1, jd1])
    j2 = np.concatenate([jd2, jd2 - dt_day, jd2 + dt_day])
    r_all, v_all = de421().state("moon", "earth", j1, j2)
    r_km, v_km_s = r_all[:n], v_all[:n]
    a_km_s2 = (v_all[2 * n :] - v_all[n : 2 * n]) / (2.0 * _ACCEL_HALF_STEP_S)

    d_km = np.linalg.norm(r_km, axis=-1)
    h = np.cross(r_km, v_km_s)
    h_norm = np.linalg.norm(h, axis=-1)
    x_hat = r_km / d_km[:, None]
    z_hat = h / h_norm[:, None]
    y_hat = np.cross(z_hat, x_hat)
    basis = np.stack([x_hat, y_hat, z_hat], axis=-1)
    rate = h_norm / d_km**2
    omega_x = d_km * np.einsum("ti,ti->t", a_km_s2, z_hat) / h_norm
    omega = rate[:, None] * z_hat + omega_x[:, None] * x_hat
    d_dot = np.einsum("ti,ti->t", r_km, v_km_s) / d_km
    if scalar:
        return EarthMoonFrame(r_km[0], v_km_s[0], basis[0], d_km[0], d_dot[0], rate[0], omega[0])
    return EarthMoonFrame(r_km, v_km_s, basis, d_km, d_dot, rate, omega)


def _to_rot(basis: np.ndarray, x: np.ndarray) -> np.ndarray:
    """basis^T @ x, broadcasting (n,3,3) against (..., n, 3)."""
    return np.einsum("...ji,...j->...i", basis, x)


def _from_rot(basis: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.einsum("...ij,...j->...i", basis, x)


def _check_shapes(t: Time, *arrays: np.ndarray) -> None:
    n = None if np.ndim(t.jd1) == 0 else np.size(t.jd1)
    for a in arrays:
        if a.shape[-1:] != (3,):
            raise ValueError(f"vectors of shape {a.shape}: expected (..., 3)")
        if n is not None and (a.ndim < 2 or a.shape[-2] != n):
            raise ValueError(
                f"vectors of shape {a.shape} for {n} epochs: expected (n_times, 3) or "
                f"(n_objects, n_times, 3) with n_times = {n}"
            )


def gcrs_to_mci(r_gcrs_km, v_gcrs_km_s, t: Time):
    """GCRS -> Moon-centred inertial (ICRF axes): subtract the DE421 Moon."""
    r_gcrs_km = np.asarray(r_gcrs_km, float)
    v_gcrs_km_s = np.asarray(v_gcrs_km_s, float)
    _check_shapes(t, r_gcrs_km, v_gcrs_km_s)
    r_moon, v_moon = moon_state_gcrs(t)
    return r_gcrs_km - r_moon, v_gcrs_km_s - v_moon


def mci_to_gcrs(r_mci_km, v_mci_km_s, t: Time):
    """Moon-centred inertial -> GCRS: add the DE421 Moon."""
    r_mci_km = np.asarray(r_mci_km, float)
    v_mci_km_s = np.asarray(v_mci_km_s, float)
    _check_shapes(t, r_mci_km, v_mci_km_s)
    r_moon, v_moon = moon_state_gcrs(t)
    return r_mci_km + r_moon, v_mci_km_s + v_moon


def gcrs_to_emr(r_gcrs_km, v_gcrs_km_s, t: Time, mu: float = MU_EARTH_MOON_DE421):
    """GCRS -> Earth-Moon rotating, barycentric, km and km/s.

    ``mu`` (Moon / (Earth + Moon)) places the barycentre at ``mu * r_moon``;
    the default is DE421's mass ratio.
    """
    r_gcrs_km = np.asarray(r_gcrs_km, float)
    v_gcrs_km_s = np.asarray(v_gcrs_km_s, float)
    _check_shapes(t, r_gcrs_km, v_gcrs_km_s)
    f = earth_moon_frame(t)
    r_rel = r_gcrs_km - mu * f.r_moon_gcrs_km
    v_rel = v_gcrs_km_s - mu * f.v_moon_gcrs_km_s
    r_emr_km = _to_rot(f.basis_gcrs, r_rel)
    v_emr_km_s = _to_rot(f.basis_gcrs, v_rel - np.cross(f.omega_gcrs_rad_s, r_rel))
    return r_emr_km, v_emr_km_s


def emr_to_gcrs(r_emr_km, v_emr_km_s, t: Time, mu: float = MU_EARTH_MOON_DE421):
    """Earth-Moon rotating (barycentric, km, km/s) -> GCRS; inverse of ``gcrs_to_emr``."""
    r_emr_km = np.asarray(r_emr_km, float)
    v_emr_km_s = np.asarray(v_emr_km_s, float)
    _check_shapes(t, r_emr_km, v_emr_km_s)
    f = earth_moon_frame(t)
    r_rel = _from_rot(f.basis_gcrs, r_emr_km)
    v_rel = _from_rot(f.basis_gcrs, v_emr_km_s) + np.cross(f.omega_gcrs_rad_s, r_rel)
    return r_rel + mu * f.r_moon_gcrs_km, v_rel + mu * f.v_moon_gcrs_km_s


def eme2000_to_gcrs_matrix() -> np.ndarray:
    """Constant frame-bias rotation from EME2000 (mean J2000) to GCRS axes.

    ERFA ``bp00`` returns the IAU 2000 frame-bias matrix ``rb`` taking GCRS
    to mean J2000; its transpose takes EME2000 to GCRS (~23 mas, 45 m at
    the Moon's distance).
    """
    import erfa

    rb = erfa.bp00(erfa.DJ00, 0.0)[0]
    return np.ascontiguousarray(np.asarray(rb, float).T)


def eme2000_to_gcrs(r_eme2000_km, v_eme2000_km_s):
    """EME2000 -> GCRS axes (constant rotation, any ``(..., 3)`` shape)."""
    m = eme2000_to_gcrs_matrix()
    return (
        np.einsum("ij,...j->...i", m, np.asarray(r_eme2000_km, float)),
        np.einsum("ij,...j->...i", m, np.asarray(v_eme2000_km_s, float)),
    )
