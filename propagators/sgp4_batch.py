"""SGP4/SDP4 for the whole catalogue in one array call.

Element sets in, ``(n_objects, n_times, 3)`` TEME or GCRS arrays out, with a
per-object, per-epoch error code (0 = ok; rows with an error hold NaN), as
python-sgp4's ``SatrecArray`` returns them.  Codes map to messages through
``SGP4_ERRORS``; nothing here raises for one bad object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sgp4.api import SGP4_ERRORS as _SGP4_ERRORS
from sgp4.api import WGS72, Satrec, SatrecArray

from propagators.elements import MeanElements
from propagators.frames import rotate, teme_to_gcrs_matrix, gcrs_to_itrs_matrix, EARTH_ROTATION_RAD_S
from propagators.timeutil import Time, jd_utc_parts

NAME = "sgp4"

SGP4_ERRORS: dict[int, str] = dict(_SGP4_ERRORS)

# Where SGP4's analytic theory is usable.  SGP4/SDP4 models Earth zonal
# harmonics, drag and lunisolar perturbations as secular/periodic series of
# a near-Keplerian geocentric orbit; it cannot represent an orbit shaped by
# the Moon.  Past an apogee of ~1/4 of the lunar distance the Moon's
# perturbation is no longer small (Hill-sphere ratio), so such TLEs are
# propagated only with a warning telling the operator to supply a state.
DOMAIN = {
    "regimes": ("LEO", "MEO", "GEO", "HEO"),
    "max_apogee_km": 100_000.0,
    "reason": "analytic mean-element theory of a near-Keplerian geocentric orbit (Hoots & Roehrich 1980, Vallado et al. AIAA 2006-6753)",
}

_XPDOTP = 1440.0 / (2.0 * math.pi)  # rev/day -> rad/min factor
_DEG = math.pi / 180.0
_JD_1949_12_31 = 2433281.5


def satrec_from_elements(elements: MeanElements) -> Satrec:
    """A ``Satrec`` for one element set.

    TLEs go through ``Satrec.twoline2rv`` exactly as published (so Vallado's
    verification holds bit for bit); OMM mean elements through ``sgp4init``
    with the same unit conversions python-sgp4's ``omm.initialize`` uses.
    """
    if elements.line1 and elements.line2:
        return Satrec.twoline2rv(elements.line1[:69], elements.line2[:69], WGS72)
    sat = Satrec()
    epoch_jd = _epoch_jd(elements)
    sat.sgp4init(
        WGS72,
        "i",
        int(elements.norad_id) if elements.norad_id < 2**31 else 0,
        epoch_jd - _JD_1949_12_31,
        elements.bstar_per_earth_radius,
        elements.mean_motion_dot_rev_day2 / (_XPDOTP * 1440.0),
        elements.mean_motion_ddot_rev_day3 / (_XPDOTP * 1440.0 * 1440.0),
        elements.eccentricity,
        elements.arg_perigee_deg * _DEG,
        elements.inclination_deg * _DEG,
        elements.mean_anomaly_deg * _DEG,
        elements.mean_motion_rev_day / 720.0 * math.pi,
        elements.raan_deg * _DEG,
    )
    return sat


def _epoch_jd(elements: MeanElements) -> float:
    t = Time(elements.epoch_utc, scale="utc")
    return float(t.jd1) + float(t.jd2)


def apogee_km(elements: MeanElements) -> float:
    """Apogee radius (km) from the mean motion and eccentricity (WGS72 mu)."""
    mu_km3_s2 = 398600.8
    n_rad_s = elements.mean_motion_rev_day * 2.0 * math.pi / 86400.0
    a_km = (mu_km3_s2 / n_rad_s**2) ** (1.0 / 3.0) if n_rad_s > 0 else math.inf
    return a_km * (1.0 + elements.eccentricity)


@dataclass(frozen=True)
class Sgp4Result:
    """States of n objects at m epochs.  ``error_code[i, k]`` is 0 or a key
    of ``SGP4_ERRORS``; rows with a non-zero code are NaN."""

    r_km: np.ndarray  # (n, m, 3)
    v_km_s: np.ndarray  # (n, m, 3)
    error_code: np.ndarray  # (n, m) uint8
    frame: str

    def messages(self) -> np.ndarray:
        """Object array of error messages (None where the state is good)."""
        out = np.empty(self.error_code.shape, dtype=object)
        for code in np.unique(self.error_code):
            if code:
                out[self.error_code == code] = SGP4_ERRORS.get(int(code), f"SGP4 error {int(code)}")
        return out


def propagate_teme(satrecs: list[Satrec] | SatrecArray, t: Time) -> Sgp4Result:
    """All objects at all epochs of ``t`` in TEME, one compiled call."""
    arr = satrecs if isinstance(satrecs, SatrecArray) else SatrecArray(list(satrecs))
    jd1, jd2 = jd_utc_parts(t)
    e, r, v = arr.sgp4(jd1, jd2)
    # The C++ core leaves finite numbers in some error rows (e.g. code 1,
    # eccentricity out of range, and after decay): an error row is NaN here,
    # always, so nothing downstream can use a state SGP4 disowned.
    bad = e != 0
    if bad.any():
        r[bad] = np.nan
        v[bad] = np.nan
    return Sgp4Result(r, v, e, "TEME")


def propagate(satrecs: list[Satrec] | SatrecArray, t: Time, frame: str = "GCRS") -> Sgp4Result:
    """All objects at all epochs in TEME, GCRS or ITRS.

    The rotation is computed once per epoch (not per object) and applied to
    the whole ``(n_objects, n_times, 3)`` array.
    """
    frame = frame.upper()
    res = propagate_teme(satrecs, t)
    if frame == "TEME":
        return res
    m = teme_to_gcrs_matrix(t)
    if frame == "GCRS":
        return Sgp4Result(rotate(m, res.r_km), rotate(m, res.v_km_s), res.error_code, "GCRS")
    if frame == "ITRS":
        m2 = np.einsum("tij,tjk->tik", gcrs_to_itrs_matrix(t), m)
        r = rotate(m2, res.r_km)
        v = rotate(m2, res.v_km_s) - np.cross(np.array([0.0, 0.0, EARTH_ROTATION_RAD_S]), r)
        return Sgp4Result(r, v, res.error_code, "ITRS")
    raise ValueError(f"frame {frame!r}: expected one of TEME, GCRS, ITRS")
