"""Manoeuvre detection from successive element sets of one object.

Each new element set (epoch ``t_k``) is compared with the previous set
propagated to ``t_k`` by the caller's propagator.  Without a manoeuvre the
difference is propagation and orbit-determination error, which grows with
the age ``t_k - t_(k-1)``.  A manoeuvre is flagged when either

* the position residual exceeds ``position_km + position_km_per_day * age``,
* the semi-major-axis residual exceeds ``sma_km + sma_km_per_day * age``,
* or the orbit normals differ by more than ``plane_deg + plane_deg_per_day *
  age`` (a plane change leaves position and semi-major axis unchanged at
  the burn).

The semi-major axis is the sharpest indicator: two-body motion conserves it,
so its residual is only orbit-determination noise plus drag/solar-pressure
mismodelling (LEO), while any in-plane burn changes it at once.

Default thresholds per regime (``DEFAULT_THRESHOLDS``) are engineering
values for SGP4/TLE element sets, in the range reported by TLE accuracy
studies: errors of ~1 km at epoch growing by 1-3 km/day in LEO and several
km in GEO (Vallado & Cefola 2012, "Two-line element sets - practice and
use", IAC-12.A6.6.11; Flohrer, Krag & Klinkrad 2008, "Assessment and
categorization of TLE orbit errors for the US SSN catalogue", AMOS).  Tune
them per catalogue from the residual statistics of non-manoeuvring objects.

Delta-v estimates (km/s), all reported:

* ``dv_velocity_km_s``: |v_new - v_predicted| at the new epoch: right when the
  burn happened close to that epoch, inflated by the along-track drift
  otherwise.
* ``dv_sma_km_s``: tangential burn from vis-viva, ``mu |da| / (2 a^2 |v|)``
  at the new state, which is ``n |da| / 2`` on a near-circular orbit; a
  Lambert-free, epoch-independent estimate of the in-plane part.
* ``dv_plane_km_s``: ``|v| * dtheta`` with ``dtheta`` the angle between the
  two orbit normals (inclination and node change).
* ``dv_estimate_km_s``: ``hypot(dv_sma, dv_plane)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from propagators.errors import ConfigError
from propagators.screening.regions import MU_EARTH_KM3_S2, R_EARTH_KM, SIDEREAL_DAY_S

DAY_S = 86400.0


@dataclass(frozen=True)
class ManoeuvreThresholds:
    """Residuals a propagation of ``age`` days can explain in one regime."""

    position_km: float
    position_km_per_day: float
    sma_km: float
    sma_km_per_day: float
    plane_deg: float
    plane_deg_per_day: float

    def position_limit_km(self, age_s):
        return self.position_km + self.position_km_per_day * np.asarray(age_s) / DAY_S

    def sma_limit_km(self, age_s):
        return self.sma_km + self.sma_km_per_day * np.asarray(age_s) / DAY_S

    def plane_limit_rad(self, age_s):
        return np.radians(self.plane_deg + self.plane_deg_per_day * np.asarray(age_s) / DAY_S)


DEFAULT_THRESHOLDS: Mapping[str, ManoeuvreThresholds] = {
    # LEO: ~1 km at epoch, 1-3 km/day along track; drag mismodels a by ~0.1-0.5 km/day
    # near solar maximum; inclination/node noise of TLE fits ~0.005-0.01 deg
    "LEO": ManoeuvreThresholds(position_km=2.0, position_km_per_day=3.0, sma_km=0.3, sma_km_per_day=0.3,
                               plane_deg=0.02, plane_deg_per_day=0.002),
    # MEO (GNSS): small perturbations; TLE a noise ~0.5 km
    "MEO": ManoeuvreThresholds(position_km=3.0, position_km_per_day=1.5, sma_km=0.5, sma_km_per_day=0.05,
                               plane_deg=0.01, plane_deg_per_day=0.001),
    # GEO: TLE errors of several km; east-west station keeping changes a by ~1-3 km,
    # north-south station keeping tilts the plane by ~0.02-0.05 deg per burn
    "GEO": ManoeuvreThresholds(position_km=10.0, position_km_per_day=2.0, sma_km=1.0, sma_km_per_day=0.1,
                               plane_deg=0.01, plane_deg_per_day=0.001),
    # HEO (Molniya, Tundra, GTO): perigee passages amplify errors
    "HEO": ManoeuvreThresholds(position_km=10.0, position_km_per_day=10.0, sma_km=2.0, sma_km_per_day=1.0,
                               plane_deg=0.05, plane_deg_per_day=0.01),
    # beyond GEO / cislunar: element sets are sparse and third-body effects large
    "OTHER": ManoeuvreThresholds(position_km=50.0, position_km_per_day=50.0, sma_km=20.0, sma_km_per_day=10.0,
                                 plane_deg=0.5, plane_deg_per_day=0.1),
}


def classify_regime(r_gcrs_km, v_gcrs_km_s, mu_km3_s2: float = MU_EARTH_KM3_S2) -> np.ndarray:
    """'LEO', 'MEO', 'GEO', 'HEO' or 'OTHER' from osculating elements:
    GEO: period within 10 % of a sidereal day and e < 0.1; HEO: e >= 0.25
    and bound; LEO: apogee altitude <= 2,000 km; MEO: the rest of the
    bound orbits with a period under 0.9 sidereal day; OTHER otherwise."""
    r = np.atleast_2d(np.asarray(r_gcrs_km, float))
    v = np.atleast_2d(np.asarray(v_gcrs_km_s, float))
    rn = np.linalg.norm(r, axis=-1)
    h = np.cross(r, v)
    e = np.linalg.norm(np.cross(v, h) / mu_km3_s2 - r / rn[:, None], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.0 / (2.0 / rn - np.sum(v * v, -1) / mu_km3_s2)
        period = 2 * np.pi * np.sqrt(np.where(a > 0, a, np.nan) ** 3 / mu_km3_s2)
    bound = (a > 0) & (e < 1)
    apogee_alt = a * (1 + e) - R_EARTH_KM
    out = np.full(len(r), "OTHER", dtype=object)
    p_ratio = period / SIDEREAL_DAY_S
    out[bound & (p_ratio < 0.9)] = "MEO"
    out[bound & (apogee_alt <= 2000.0)] = "LEO"
    out[bound & (e >= 0.25)] = "HEO"
    out[bound & (np.abs(p_ratio - 1.0) <= 0.1) & (e < 0.1)] = "GEO"
    out[bound & (e >= 0.25) & (p_ratio > 1.1)] = "OTHER"
    return out


@dataclass(frozen=True)
class ManoeuvreCheck:
    """Comparison of element set ``index`` with set ``index - 1`` propagated
    to its epoch ``t_s``.  Residuals are new minus predicted."""

    index: int
    t_s: float
    age_s: float
    regime: str
    position_residual_km: float
    velocity_residual_km_s: float
    sma_residual_km: float
    plane_change_rad: float
    position_limit_km: float
    sma_limit_km: float
    plane_limit_rad: float
    flagged: bool
    dv_velocity_km_s: float
    dv_sma_km_s: float
    dv_plane_km_s: float
    dv_estimate_km_s: float


def detect_manoeuvres(
    epochs_s,
    predicted_states,
    new_states,
    *,
    thresholds: Mapping[str, ManoeuvreThresholds] = DEFAULT_THRESHOLDS,
    mu_km3_s2: float = MU_EARTH_KM3_S2,
) -> list[ManoeuvreCheck]:
    """Check every new element set of one object for a manoeuvre.

    ``epochs_s``: ``(n_sets,)`` epochs of the element sets (s from one epoch,
    increasing).  ``predicted_states``: ``(r_gcrs_km, v_gcrs_km_s)`` each
    ``(n_sets - 1, 3)``: set ``k - 1`` propagated to epoch ``k``.
    ``new_states``: same shapes, set ``k`` at its own epoch.  Returns one
    ``ManoeuvreCheck`` per new set (``index`` = k >= 1); rows with NaN
    states are returned unflagged with NaN residuals.
    """
    epochs_s = np.asarray(epochs_s, float)
    r_p, v_p = (np.atleast_2d(np.asarray(x, float)) for x in predicted_states)
    r_n, v_n = (np.atleast_2d(np.asarray(x, float)) for x in new_states)
    m = len(epochs_s) - 1
    if epochs_s.ndim != 1 or m < 1 or np.any(np.diff(epochs_s) <= 0):
        raise ConfigError("epochs_s", epochs_s.shape, "(n_sets,) strictly increasing, n_sets >= 2")
    for name, arr in (("predicted r", r_p), ("predicted v", v_p), ("new r", r_n), ("new v", v_n)):
        if arr.shape != (m, 3):
            raise ConfigError(f"{name} shape", arr.shape, f"({m}, 3): one state per new element set")
    missing = sorted(set(classify_regime(r_n[np.all(np.isfinite(r_n), -1)], v_n[np.all(np.isfinite(r_n), -1)]))
                     - set(thresholds))
    if missing:
        raise ConfigError("thresholds", sorted(thresholds), f"a ManoeuvreThresholds for {missing}")
    age = np.diff(epochs_s)
    dr = np.linalg.norm(r_n - r_p, axis=-1)
    dvv = np.linalg.norm(v_n - v_p, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_p = 1.0 / (2.0 / np.linalg.norm(r_p, axis=-1) - np.sum(v_p * v_p, -1) / mu_km3_s2)
        a_n = 1.0 / (2.0 / np.linalg.norm(r_n, axis=-1) - np.sum(v_n * v_n, -1) / mu_km3_s2)
        h_p = np.cross(r_p, v_p)
        h_n = np.cross(r_n, v_n)
        cosang = np.sum(h_p * h_n, -1) / (np.linalg.norm(h_p, axis=-1) * np.linalg.norm(h_n, axis=-1))
        plane = np.arccos(np.clip(cosang, -1.0, 1.0))
        speed = np.linalg.norm(v_n, axis=-1)
        da = a_n - a_p
        dv_sma = mu_km3_s2 * np.abs(da) / (2.0 * a_n**2 * speed)
    dv_plane = speed * plane
    out = []
    for q in range(m):
        finite = np.all(np.isfinite([*r_p[q], *v_p[q], *r_n[q], *v_n[q]]))
        regime = str(classify_regime(r_n[q], v_n[q], mu_km3_s2)[0]) if finite else "OTHER"
        th = thresholds[regime] if finite else thresholds.get("OTHER", next(iter(thresholds.values())))
        pos_lim = float(th.position_limit_km(age[q]))
        sma_lim = float(th.sma_limit_km(age[q]))
        plane_lim = float(th.plane_limit_rad(age[q]))
        flagged = bool(finite and (dr[q] > pos_lim or abs(da[q]) > sma_lim or plane[q] > plane_lim))
        nan = math.nan
        out.append(ManoeuvreCheck(
            index=q + 1, t_s=float(epochs_s[q + 1]), age_s=float(age[q]), regime=regime,
            position_residual_km=float(dr[q]) if finite else nan,
            velocity_residual_km_s=float(dvv[q]) if finite else nan,
            sma_residual_km=float(da[q]) if finite else nan,
            plane_change_rad=float(plane[q]) if finite else nan,
            position_limit_km=pos_lim, sma_limit_km=sma_lim, plane_limit_rad=plane_lim, flagged=flagged,
            dv_velocity_km_s=float(dvv[q]) if finite else nan,
            dv_sma_km_s=float(dv_sma[q]) if finite else nan,
            dv_plane_km_s=float(dv_plane[q]) if finite else nan,
            dv_estimate_km_s=float(math.hypot(dv_sma[q], dv_plane[q])) if finite else nan,
        ))
    return out


def detect_manoeuvres_with(
    epochs_s,
    propagate: Callable[[int, float], tuple[np.ndarray, np.ndarray]],
    **kwargs,
) -> list[ManoeuvreCheck]:
    """``detect_manoeuvres`` with the states built by ``propagate(k, t_s)``,
    which returns ``(r_gcrs_km, v_gcrs_km_s)`` (3,) of element set ``k`` at
    time ``t_s`` (any propagator: SGP4 for TLEs, numerical for others)."""
    epochs_s = np.asarray(epochs_s, float)
    pred = [propagate(k - 1, float(epochs_s[k])) for k in range(1, len(epochs_s))]
    new = [propagate(k, float(epochs_s[k])) for k in range(1, len(epochs_s))]
    return detect_manoeuvres(
        epochs_s,
        (np.array([p[0] for p in pred]), np.array([p[1] for p in pred])),
        (np.array([p[0] for p in new]), np.array([p[1] for p in new])),
        **kwargs,
    )
