"""JPL DE421 ephemeris of the Sun, Moon, Earth and Earth-Moon barycentre.

Read with jplephem directly (vectorised, ~1000x faster than astropy's
``builtin`` Moon, which is off by 5-26 km; see ../shared/STACK.md).
JPL ephemerides are in TDB: every function here takes TDB Julian dates
(two-part, ``jd_tdb1 + jd_tdb2``) and returns ICRF-axis vectors in km and
km/s.  Convert UTC to TDB with astropy (``Time(...).tdb``) before calling.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from propagators.errors import EphemerisRangeError

SECONDS_PER_DAY = 86400.0

# NAIF ids
SSB, EMB, SUN, EARTH, MOON = 0, 3, 10, 399, 301
_NAMES = {
    "ssb": SSB,
    "emb": EMB,
    "earth-moon barycenter": EMB,
    "earth_moon_barycenter": EMB,
    "sun": SUN,
    "earth": EARTH,
    "moon": MOON,
}
# Chains from each body to the solar-system barycentre in DE421.
_CHAINS = {
    SSB: [],
    EMB: [(SSB, EMB)],
    SUN: [(SSB, SUN)],
    EARTH: [(SSB, EMB), (EMB, EARTH)],
    MOON: [(SSB, EMB), (EMB, MOON)],
}

# GM values consistent with DE421 (km^3/s^2), from the DE421 header
# (Folkner et al. 2008, IPN Progress Report 42-178, Table 8).
GM_EARTH_DE421_KM3_S2 = 398600.436233
GM_MOON_DE421_KM3_S2 = 4902.800076
GM_SUN_DE421_KM3_S2 = 132712440040.944


def de421_path() -> Path:
    """The DE421 kernel shipped in the skyfield-data package."""
    import skyfield_data

    path = Path(skyfield_data.__file__).parent / "data" / "de421.bsp"
    if not path.exists():
        raise FileNotFoundError(f"{path}: DE421 kernel missing; reinstall skyfield-data==7.0.0")
    return path


class Ephemeris:
    """A JPL SPK kernel evaluated with vectorised Chebyshev polynomials."""

    def __init__(self, path: str | Path | None = None) -> None:
        from jplephem.spk import SPK

        self.path = Path(path) if path is not None else de421_path()
        self._kernel = SPK.open(str(self.path))
        seg = self._kernel[SSB, EMB]
        self.start_jd_tdb = float(seg.start_jd)
        self.end_jd_tdb = float(seg.end_jd)

    def _check(self, jd_tdb: np.ndarray) -> None:
        lo, hi = float(np.min(jd_tdb)), float(np.max(jd_tdb))
        if lo < self.start_jd_tdb or hi > self.end_jd_tdb:
            bad = lo if lo < self.start_jd_tdb else hi
            raise EphemerisRangeError(
                f"{self.path.name} covers JD(TDB) {self.start_jd_tdb} to {self.end_jd_tdb}; "
                f"asked for {bad}",
                start_jd=self.start_jd_tdb,
                end_jd=self.end_jd_tdb,
                jd=bad,
            )

    def _barycentric(self, body: int, jd1, jd2, velocity: bool):
        r = 0.0
        v = 0.0
        for a, b in _CHAINS[body]:
            seg = self._kernel[a, b]
            if velocity:
                p, dp = seg.compute_and_differentiate(jd1, jd2)
                r = r + p
                v = v + dp
            else:
                r = r + seg.compute(jd1, jd2)
        return r, v

    def state(self, body: str | int, center: str | int, jd_tdb1, jd_tdb2=0.0):
        """Position (km) and velocity (km/s) of ``body`` relative to ``center``.

        Arrays have shape (n, 3) for array input, (3,) for scalar input.
        """
        b = _NAMES[body.lower()] if isinstance(body, str) else body
        c = _NAMES[center.lower()] if isinstance(center, str) else center
        scalar = np.ndim(jd_tdb1) == 0 and np.ndim(jd_tdb2) == 0
        jd1 = np.atleast_1d(np.asarray(jd_tdb1, dtype=float))
        jd2 = np.broadcast_to(np.asarray(jd_tdb2, dtype=float), jd1.shape)
        self._check(jd1 + jd2)
        rb, vb = self._barycentric(b, jd1, jd2, True)
        rc, vc = self._barycentric(c, jd1, jd2, True)
        r_km = np.asarray(rb - rc, dtype=float)
        v_km_s = np.asarray(vb - vc, dtype=float) / SECONDS_PER_DAY
        r_km = np.broadcast_to(r_km, (3, jd1.size)).T.copy() if np.ndim(r_km) else np.zeros((jd1.size, 3))
        v_km_s = np.broadcast_to(v_km_s, (3, jd1.size)).T.copy() if np.ndim(v_km_s) else np.zeros((jd1.size, 3))
        if scalar:
            return r_km[0], v_km_s[0]
        return r_km, v_km_s

    def position(self, body: str | int, center: str | int, jd_tdb1, jd_tdb2=0.0):
        """Position only (km), cheaper than ``state``."""
        b = _NAMES[body.lower()] if isinstance(body, str) else body
        c = _NAMES[center.lower()] if isinstance(center, str) else center
        scalar = np.ndim(jd_tdb1) == 0 and np.ndim(jd_tdb2) == 0
        jd1 = np.atleast_1d(np.asarray(jd_tdb1, dtype=float))
        jd2 = np.broadcast_to(np.asarray(jd_tdb2, dtype=float), jd1.shape)
        self._check(jd1 + jd2)
        rb, _ = self._barycentric(b, jd1, jd2, False)
        rc, _ = self._barycentric(c, jd1, jd2, False)
        r_km = np.asarray(rb - rc, dtype=float)
        r_km = np.broadcast_to(r_km, (3, jd1.size)).T.copy() if np.ndim(r_km) else np.zeros((jd1.size, 3))
        return r_km[0] if scalar else r_km


@lru_cache(maxsize=1)
def de421() -> Ephemeris:
    """The process-wide DE421 ephemeris (opened once, memory-mapped)."""
    return Ephemeris()
