"""Orbital regime of an object, and which propagator its regime calls for.

Boundaries (altitudes above a 6,378.137 km equatorial radius):
* LEO: apogee altitude <= 2,000 km (IADC LEO protected region).
* GEO: period within 10 % of a sidereal day and e < 0.1 (geosynchronous,
  inclined GSO included).
* MEO: perigee altitude > 2,000 km, apogee below the GEO region, e < 0.25.
* HEO: e >= 0.25 with apogee radius below ``CISLUNAR_APOGEE_KM``.
* CISLUNAR: geocentric orbit (or escape) reaching ``CISLUNAR_APOGEE_KM``
  (100,000 km, ~1/4 of the lunar distance) or beyond: the Moon's pull is no
  longer a small perturbation there.
* LUNAR: inside the Moon's sphere of influence (66,100 km) and bound to it.
* LIBRATION: within ``LIBRATION_RADIUS_KM`` of the Earth-Moon L1 or L2 point
  in the rotating frame (halo/NRHO/Lyapunov territory) and not bound to
  the Moon (NRHOs that dip close to the Moon count as LIBRATION too when
  their Moon-centred energy is positive).
"""

from __future__ import annotations

import math

import numpy as np

from propagators.elements import MeanElements

EARTH_RADIUS_KM = 6378.137
MU_EARTH_KM3_S2 = 398600.4418
MU_MOON_KM3_S2 = 4902.800076
SIDEREAL_DAY_S = 86164.0905
LEO_MAX_ALT_KM = 2000.0
CISLUNAR_APOGEE_KM = 100_000.0
MOON_SOI_KM = 66_100.0
LIBRATION_RADIUS_KM = 70_000.0
# Distances of L1/L2 from the Moon as a fraction of the Earth-Moon distance
# (CR3BP, mu = 0.01215): gamma_1 = 0.1509, gamma_2 = 0.1678.
GAMMA_L1, GAMMA_L2 = 0.150934, 0.167833

REGIMES = ("LEO", "MEO", "GEO", "HEO", "CISLUNAR", "LUNAR", "LIBRATION")


def classify_orbit(a_km: float, e: float) -> str:
    """Regime of a geocentric orbit from its semi-major axis and eccentricity."""
    if not (a_km > 0) or e >= 1.0:
        return "CISLUNAR"  # hyperbolic or parabolic geocentric: escape/translunar
    rp = a_km * (1.0 - e)
    ra = a_km * (1.0 + e)
    period_s = 2.0 * math.pi * math.sqrt(a_km**3 / MU_EARTH_KM3_S2)
    if ra >= CISLUNAR_APOGEE_KM:
        return "CISLUNAR"
    if ra - EARTH_RADIUS_KM <= LEO_MAX_ALT_KM:
        return "LEO"
    if abs(period_s / SIDEREAL_DAY_S - 1.0) <= 0.1 and e < 0.1:
        return "GEO"
    if e >= 0.25:
        return "HEO"
    if rp - EARTH_RADIUS_KM > LEO_MAX_ALT_KM or e < 0.25:
        return "MEO"
    return "HEO"


def classify_mean_elements(me: MeanElements) -> str:
    n_rad_s = me.mean_motion_rev_day * 2.0 * math.pi / 86400.0
    a_km = (MU_EARTH_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0) if n_rad_s > 0 else math.inf
    return classify_orbit(a_km, me.eccentricity)


def classify_elements_array(mean_motion_rev_day: np.ndarray, eccentricity: np.ndarray) -> list[str]:
    n_rad_s = np.asarray(mean_motion_rev_day, float) * 2.0 * math.pi / 86400.0
    with np.errstate(divide="ignore"):
        a_km = np.where(n_rad_s > 0, (MU_EARTH_KM3_S2 / np.maximum(n_rad_s, 1e-30) ** 2) ** (1.0 / 3.0), np.inf)
    return [classify_orbit(float(a), float(e)) for a, e in zip(a_km, eccentricity)]


def classify_state(r_gcrs_km, v_gcrs_km_s, moon_r_gcrs_km, moon_v_gcrs_km_s) -> str:
    """Regime from one geocentric state and the Moon's geocentric state."""
    r = np.asarray(r_gcrs_km, float)
    v = np.asarray(v_gcrs_km_s, float)
    rm = np.asarray(moon_r_gcrs_km, float)
    vm = np.asarray(moon_v_gcrs_km_s, float)
    rel_r = r - rm
    rel_v = v - vm
    d_moon = float(np.linalg.norm(rel_r))
    moon_energy = 0.5 * float(rel_v @ rel_v) - MU_MOON_KM3_S2 / d_moon
    if d_moon < MOON_SOI_KM and moon_energy < 0:
        return "LUNAR"
    d_em = float(np.linalg.norm(rm))
    u = rm / d_em
    l1 = rm - GAMMA_L1 * d_em * u
    l2 = rm + GAMMA_L2 * d_em * u
    if min(np.linalg.norm(r - l1), np.linalg.norm(r - l2)) < LIBRATION_RADIUS_KM:
        return "LIBRATION"
    rn = float(np.linalg.norm(r))
    energy = 0.5 * float(v @ v) - MU_EARTH_KM3_S2 / rn
    if energy >= 0:
        return "CISLUNAR"
    a_km = -MU_EARTH_KM3_S2 / (2.0 * energy)
    h = np.cross(r, v)
    e_vec = np.cross(v, h) / MU_EARTH_KM3_S2 - r / rn
    return classify_orbit(a_km, float(np.linalg.norm(e_vec)))


def propagator_for(regime: str, kind: str) -> tuple[str, str]:
    """(propagator, reason) for an object of ``regime`` known as ``kind``
    ("mean-elements" for TLE/OMM, "ephemeris" for OEM/Horizons, "state" for OPM)."""
    if kind == "mean-elements":
        if regime in ("LEO", "MEO", "GEO", "HEO"):
            return "sgp4", f"{regime} orbit from mean elements: SGP4/SDP4 is the theory these elements were fitted with"
        return (
            "sgp4",
            f"WARNING: mean elements describe a {regime} orbit that SGP4 cannot represent (apogee >= "
            f"{CISLUNAR_APOGEE_KM:,.0f} km: the Moon's pull is not a small perturbation). Propagated with SGP4 "
            "for continuity only; supply an OPM or OEM (state vector or ephemeris) for this object",
        )
    if kind == "ephemeris":
        return "ephemeris", "ephemeris table: interpolated inside its span, numerically propagated from its last state beyond"
    center = "Moon-centred" if regime == "LUNAR" else "Earth-centred"
    return "numerical", f"{regime} state vector: {center} numerical integration with Earth, Moon and Sun (DE421)"
