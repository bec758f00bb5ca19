"""Operating regions (IADC protected regions, GNSS MEO, HEO families) and
region crossings of sampled trajectories.

Every region is a frozen dataclass with a *signed distance* ``d(r, v)`` in km
(negative inside, zero on the boundary, positive outside) and an approach
margin.  For the spatial regions (LEO, GEO, MEO) ``d`` is the exact Euclidean
signed distance to the region, so it is 1-Lipschitz in position: over a
Hermite arc that stays within ``delta`` of a point, ``d`` changes by at most
``delta``.  That bound is what lets ``region_crossings`` find passes hidden
between two samples (see below).  The HEO families are defined by osculating
elements; their ``d`` is a km-equivalent distance in orbit space (not
Lipschitz in position) and crossings are found from sign changes at samples.

Conventions
-----------
* Regions are closed: a point is inside when ``d <= TOUCH_TOLERANCE_KM``
  (1 mm).  A tangent pass (grazing the boundary, minimum ``d`` of 0) IS
  detected: it is reported as an entry and an exit a few milliseconds apart
  with a penetration depth of ~0.  A pass that stays more than 1 mm outside
  is not an entry.
* Between samples each object follows the cubic Hermite interpolant of its
  positions and velocities (``conjunctions.hermite_position``).  An interval
  is examined when ``d - level`` changes sign at its ends or when the
  Lipschitz bound says the arc could reach the level (spatial regions).  It
  is cut into 16 sub-arcs; sign changes are bisected to ``_T_TOL_S`` (1 us)
  and sub-arcs that could hide a pass are settled by a golden-section search
  for the extremum of ``d`` (assumed unimodal over 1/16 of a step; see
  ``_crossings``).  An odd number (> 1) of crossings inside one sub-arc is
  reported as one.
* Depth and closest distances are the extremum over the samples in the
  stretch, refined by a golden-section search on the Hermite arcs about the
  best sample.
* NaN samples (failed propagation) split an object's track into segments;
  nothing is reported for a transition hidden in a gap, and the state after a
  gap starts from the next sample.  Hot paths never raise per object.

Earth model: a sphere of radius 6,378.137 km (the IADC definitions use
altitude above a spherical Earth with the WGS-84 equatorial radius);
``MU_EARTH_KM3_S2`` = 398,600.4418 km^3/s^2 (WGS-84 / EGM-96).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from propagators.errors import ConfigError
from propagators.screening.conjunctions import hermite_position, hermite_velocity

R_EARTH_KM = 6378.137
MU_EARTH_KM3_S2 = 398600.4418
SIDEREAL_DAY_S = 86164.0905  # IERS: 23 h 56 min 4.0905 s
TOUCH_TOLERANCE_KM = 1e-6  # 1 mm: regions are closed to this tolerance
_T_TOL_S = 1e-6
_SPLIT = 16
_REFINE_DEPTH = 8  # vectorised halvings of the Lipschitz test before the per-interval scan
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


# ---------------------------------------------------------------- regions


class Region(Protocol):
    name: str
    approach_margin_km: float
    lipschitz: bool

    def signed_distance_km(self, r_gcrs_km: np.ndarray, v_gcrs_km_s: np.ndarray) -> np.ndarray: ...


def _norm(x):
    return np.sqrt(np.einsum("...i,...i->...", x, x))


@dataclass(frozen=True)
class LeoProtectedRegion:
    """IADC LEO protected region: altitude <= 2,000 km above a spherical Earth.

    Source: IADC Space Debris Mitigation Guidelines, IADC-02-01 Rev. 3 (2021),
    section 3.3.2, Region A ("LEO Region: spherical region that extends from
    the Earth's surface up to an altitude Z of 2,000 km").  The Earth radius
    is 6,378.137 km.  ``approach_margin_km`` (default 100 km) is an
    operational choice, not an IADC value.
    """

    max_altitude_km: float = 2000.0
    earth_radius_km: float = R_EARTH_KM
    approach_margin_km: float = 100.0
    name: str = "IADC LEO"
    lipschitz: bool = field(default=True, init=False)

    def signed_distance_km(self, r_gcrs_km, v_gcrs_km_s=None):
        """Exact signed distance to the ball of radius R_E + 2,000 km."""
        return _norm(np.asarray(r_gcrs_km, float)) - (self.earth_radius_km + self.max_altitude_km)


@dataclass(frozen=True)
class GeoProtectedRegion:
    """IADC GEO protected region: a segment of a spherical shell.

    Source: IADC-02-01 Rev. 3 (2021), section 3.3.2, Region B: lower altitude
    = geostationary altitude - 200 km, upper altitude = geostationary altitude
    + 200 km, -15 deg <= latitude <= +15 deg, with the geostationary altitude
    Z_GEO = 35,786 km.  Latitude is geocentric (angle from the equatorial
    plane of GCRS; the difference from the true-of-date equator, < 0.4 deg
    over decades, is neglected here).  ``approach_margin_km`` (default
    300 km, the order of the IADC re-orbit increment 235 km + ...) is an
    operational choice.

    The signed distance is exact for the annular sector in the meridian
    half-plane (rotational symmetry puts the closest point in the same
    half-plane): radial where the latitude is inside the band, otherwise the
    distance to the latitude edge segment (its corners included), which also
    holds at the poles and at the origin.
    """

    geo_altitude_km: float = 35786.0
    half_height_km: float = 200.0
    max_latitude_deg: float = 15.0
    earth_radius_km: float = R_EARTH_KM
    approach_margin_km: float = 300.0
    name: str = "IADC GEO"
    lipschitz: bool = field(default=True, init=False)

    def signed_distance_km(self, r_gcrs_km, v_gcrs_km_s=None):
        r = np.asarray(r_gcrs_km, float)
        r_in = self.earth_radius_km + self.geo_altitude_km - self.half_height_km
        r_out = self.earth_radius_km + self.geo_altitude_km + self.half_height_km
        phi_m = math.radians(self.max_latitude_deg)
        cm, sm = math.cos(phi_m), math.sin(phi_m)
        s = np.hypot(r[..., 0], r[..., 1])
        z = np.abs(r[..., 2])
        rho = np.hypot(s, z)
        lat = np.arctan2(z, s)
        # distance to the edge segment {p (cos phi_m, sin phi_m) : r_in <= p <= r_out}
        p = np.clip(s * cm + z * sm, r_in, r_out)
        d_edge = np.hypot(s - p * cm, z - p * sm)
        d_radial = np.maximum(r_in - rho, rho - r_out)
        in_band = lat <= phi_m
        inside = in_band & (d_radial <= 0.0)
        out = np.where(in_band, d_radial, d_edge)
        return np.where(inside, -np.minimum(-d_radial, d_edge), out)


@dataclass(frozen=True)
class GnssMeoBand:
    """MEO band holding the GNSS constellations' shells (spherical shell).

    Nominal altitudes (semi-major axis - 6,378 km): GLONASS ~19,100 km,
    GPS ~20,180 km, BeiDou MEO ~21,530 km, Galileo ~23,222 km (operators'
    interface documents: GLONASS ICD 2008, GPS IS-GPS-200, BeiDou ICD 2019,
    Galileo OS SIS ICD 2021).  Default band 18,600-24,100 km: 500 km below
    GLONASS and ~880 km above Galileo, so that the constellations, their
    eccentricity excursions (e <= 0.02, i.e. up to ~+-530 km) and the
    disposal orbits a few hundred km away (Galileo/GPS end-of-life
    re-orbits) stay inside.  No latitude limit: the shells are inclined
    55-65 deg.  ``approach_margin_km`` (500 km) is an operational choice.
    """

    min_altitude_km: float = 18600.0
    max_altitude_km: float = 24100.0
    earth_radius_km: float = R_EARTH_KM
    approach_margin_km: float = 500.0
    name: str = "GNSS MEO"
    lipschitz: bool = field(default=True, init=False)

    def signed_distance_km(self, r_gcrs_km, v_gcrs_km_s=None):
        rho = _norm(np.asarray(r_gcrs_km, float))
        return np.maximum(
            self.earth_radius_km + self.min_altitude_km - rho, rho - (self.earth_radius_km + self.max_altitude_km)
        )


def osculating_elements(r_gcrs_km, v_gcrs_km_s, mu_km3_s2: float = MU_EARTH_KM3_S2):
    """Semi-major axis (km, negative if unbound), eccentricity, inclination
    (rad, from the GCRS z axis) of two-body osculating orbits."""
    r = np.asarray(r_gcrs_km, float)
    v = np.asarray(v_gcrs_km_s, float)
    rn = _norm(r)
    h = np.cross(r, v)
    hn = _norm(h)
    e_vec = np.cross(v, h) / mu_km3_s2 - r / rn[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = 1.0 / (2.0 / rn - np.sum(v * v, axis=-1) / mu_km3_s2)
        inc = np.arccos(np.clip(h[..., 2] / hn, -1.0, 1.0))
    return a, _norm(e_vec), inc


@dataclass(frozen=True)
class HeoFamilyRegion:
    """A HEO family (Molniya, Tundra...) defined by osculating elements.

    Membership: period within ``period_s +- period_tolerance_s``,
    ``e_min <= e <= e_max``, inclination within
    ``inclination_deg +- inclination_tolerance_deg``.  The signed distance is
    a km-equivalent in orbit space,
    ``max(a_lo - a, a - a_hi, |a| (e_min - e), |a| (e - e_max), |a| (|i - i0| - di))``:
    km of semi-major axis, of focus offset ``a e`` and of out-of-plane
    displacement ``a di``; negative inside.  It is not Lipschitz in position
    (crossings come from sign changes at samples; element sets change slowly).
    Use ``molniya_region()`` / ``tundra_region()`` for the documented defaults.
    """

    name: str
    period_s: float
    period_tolerance_s: float
    e_min: float
    e_max: float
    inclination_deg: float
    inclination_tolerance_deg: float
    approach_margin_km: float = 500.0
    mu_km3_s2: float = MU_EARTH_KM3_S2
    lipschitz: bool = field(default=False, init=False)

    def _a_of_period(self, period_s):
        return (self.mu_km3_s2 * (period_s / (2.0 * math.pi)) ** 2) ** (1.0 / 3.0)

    def signed_distance_km(self, r_gcrs_km, v_gcrs_km_s):
        a, e, inc = osculating_elements(r_gcrs_km, v_gcrs_km_s, self.mu_km3_s2)
        a_lo = self._a_of_period(self.period_s - self.period_tolerance_s)
        a_hi = self._a_of_period(self.period_s + self.period_tolerance_s)
        aa = np.abs(a)
        di = np.abs(inc - math.radians(self.inclination_deg)) - math.radians(self.inclination_tolerance_deg)
        return np.maximum.reduce([a_lo - a, a - a_hi, aa * (self.e_min - e), aa * (e - self.e_max), aa * di])


def molniya_region(**overrides) -> HeoFamilyRegion:
    """Molniya family: period half a sidereal day (11 h 58 min) +- 30 min,
    0.6 <= e <= 0.85, i = 63.4 deg +- 3 deg (the critical inclination, where
    J2 apsidal drift vanishes; Vallado, Fundamentals of Astrodynamics and
    Applications, 4th ed., section 11.4; Molniya orbits: e ~ 0.7-0.75)."""
    kw = dict(name="Molniya", period_s=SIDEREAL_DAY_S / 2.0, period_tolerance_s=1800.0, e_min=0.6, e_max=0.85,
              inclination_deg=63.4, inclination_tolerance_deg=3.0)
    kw.update(overrides)
    return HeoFamilyRegion(**kw)


def tundra_region(**overrides) -> HeoFamilyRegion:
    """Tundra family: period one sidereal day (23 h 56 min) +- 30 min,
    0.2 <= e <= 0.4, i = 63.4 deg +- 3 deg (Sirius XM Radio / QZSS-like
    orbits: e ~ 0.25-0.27, QZSS i ~ 41 deg is outside by design)."""
    kw = dict(name="Tundra", period_s=SIDEREAL_DAY_S, period_tolerance_s=1800.0, e_min=0.2, e_max=0.4,
              inclination_deg=63.4, inclination_tolerance_deg=3.0)
    kw.update(overrides)
    return HeoFamilyRegion(**kw)


def default_regions() -> tuple:
    """IADC LEO, IADC GEO, GNSS MEO, Molniya, Tundra with their defaults."""
    return (LeoProtectedRegion(), GeoProtectedRegion(), GnssMeoBand(), molniya_region(), tundra_region())


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class RegionEvent:
    """``kind``: "approach" (came within the margin from farther out, not
    inside), "entry" or "exit".  ``t_s`` in seconds from the epoch of the
    input times; ``time`` gives an astropy Time when an epoch is known.

    ``distance_km``: for an approach, the closest distance reached before
    the object leaves the margin band or enters (at ``t_extreme_s``); for an
    entry, the penetration depth of the pass it starts (at ``t_extreme_s``);
    for an exit, the depth of the pass it ends.  ``speed_ratio``: |v| over the
    local circular speed sqrt(mu / |r|) at the event.
    """

    object_index: int
    region: str
    kind: str
    t_s: float
    r_gcrs_km: np.ndarray = field(compare=False)
    v_gcrs_km_s: np.ndarray = field(compare=False)
    distance_km: float
    t_extreme_s: float
    speed_ratio: float
    epoch: object = field(default=None, compare=False, repr=False)

    @property
    def time(self):
        if self.epoch is None:
            return None
        from astropy.time import TimeDelta

        return self.epoch + TimeDelta(self.t_s, format="sec")


@dataclass(frozen=True)
class RegionPass:
    """One stay inside a region.  ``entry_t_s`` is NaN when the object is
    inside at the start of its track (segment), ``exit_t_s`` NaN when still
    inside at its end.  ``entry_speed_ratio``: |v| / v_circ(|r|) at entry."""

    entry_t_s: float
    exit_t_s: float
    penetration_depth_km: float
    t_deepest_s: float
    entry_speed_ratio: float


@dataclass(frozen=True)
class RegionReport:
    """One object against one region over the window."""

    object_index: int
    region: str
    inside_at_start: bool
    inside_at_end: bool
    passes: tuple
    min_distance_outside_km: float  # NaN if never outside
    t_min_distance_s: float
    events: tuple


# ---------------------------------------------------------------- machinery


class _Track:
    """One object's samples, with Hermite evaluation at arbitrary times."""

    def __init__(self, r, v, t):
        self.r, self.v, self.t = r, v, t

    def state(self, tq):
        tq = np.atleast_1d(np.asarray(tq, float))
        k = np.clip(np.searchsorted(self.t, tq, side="right") - 1, 0, len(self.t) - 2)
        h = self.t[k + 1] - self.t[k]
        s = np.clip((tq - self.t[k]) / h, 0.0, 1.0)
        r0, v0, r1, v1 = self.r[k], self.v[k], self.r[k + 1], self.v[k + 1]
        return hermite_position(r0, v0, r1, v1, h, s), hermite_velocity(r0, v0, r1, v1, h, s)


def _golden(func, a, b, iters=None):
    """Minimiser of ``func`` (vectorised over brackets a, b arrays)."""
    a = np.array(a, float)
    b = np.array(b, float)
    if iters is None:
        width = float(np.max(b - a)) if a.size else 0.0
        iters = int(max(1, math.ceil(math.log(max(width, 1e-12) / _T_TOL_S) / -math.log(_GOLDEN))))
    c = b - _GOLDEN * (b - a)
    d = a + _GOLDEN * (b - a)
    fc = func(c)
    fd = func(d)
    for _ in range(iters):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        d_new = np.where(left, c, a + _GOLDEN * (b - a))
        c_new = np.where(left, b - _GOLDEN * (b - a), d)
        fd_new = np.where(left, fc, np.nan)
        fc_new = np.where(left, np.nan, fd)
        c, d = c_new, d_new
        need_c = np.isnan(fc_new)
        need_d = np.isnan(fd_new)
        fc = fc_new
        fd = fd_new
        if np.any(need_c):
            fc = np.where(need_c, func(c), fc)
        if np.any(need_d):
            fd = np.where(need_d, func(d), fd)
    x = 0.5 * (a + b)
    return x, func(x)


def _excursions(r, v, t):
    """Per interval, max distance from each end to the Bezier control points
    of the Hermite arc: (from_start, from_end), shape (n, T-1)."""
    h = np.diff(t)[None, :, None]
    p0, p3 = r[:, :-1], r[:, 1:]
    p1 = p0 + h * v[:, :-1] / 3.0
    p2 = p3 - h * v[:, 1:] / 3.0
    chord = _norm(p3 - p0)
    from_a = np.maximum(np.maximum(_norm(p1 - p0), _norm(p2 - p0)), chord)
    from_b = np.maximum(np.maximum(_norm(p1 - p3), _norm(p2 - p3)), chord)
    return from_a, from_b


def _as_seconds(t):
    """Seconds array and epoch (astropy Time or None) from ``t``."""
    try:
        from astropy.time import Time
    except ImportError:  # pragma: no cover - astropy is a hard dependency
        Time = None
    if Time is not None and isinstance(t, Time):
        t0 = t[0]
        return np.asarray((t - t0).to_value("s"), float), t0
    t_s = np.asarray(t, float)
    return t_s, None


def _check(r, v, t_s):
    r = np.asarray(r, float)
    v = np.asarray(v, float)
    if r.ndim == 2:
        r, v = r[None], v[None]
    if r.ndim != 3 or r.shape != v.shape or r.shape[1:] != (len(t_s), 3):
        raise ConfigError("r_gcrs_km/v_gcrs_km_s shape", (r.shape, v.shape),
                          f"(n_objects, {len(t_s)}, 3) or ({len(t_s)}, 3), both the same")
    if t_s.ndim != 1 or len(t_s) < 2 or not np.all(np.isfinite(t_s)) or np.any(np.diff(t_s) <= 0):
        raise ConfigError("t", "non-increasing, non-finite or fewer than 2 times", "strictly increasing times")
    return r, v


def _speed_ratio(p, w, mu=MU_EARTH_KM3_S2):
    return float(_norm(w) / math.sqrt(mu / float(_norm(p))))


_ORDER = {(1, 1): 0, (0, 1): 1, (0, -1): 2, (1, -1): 3}  # margin-in, entry, exit, margin-out


def _timeline(region, r, v, t_s, d, cross0, cross_m):
    """Passes, approach stints and events of one object/region (draft).

    State machine over the time-ordered crossings of the region (level 0)
    and of the margin band (level margin), per segment of finite samples.
    An approach stint starts when the object comes within the margin from
    farther out (or is there at the segment start) and ends when it leaves
    the band or enters; the band right after an exit is not an approach.
    Extremes (depths, closest distances) are left as requests ``(lo, hi)``
    for ``_polish``, which treats every object of a block at once.
    """
    track = _Track(r, v, t_s)
    tol = TOUCH_TOLERANCE_KM
    margin = region.approach_margin_km
    draft = {"events": [], "passes": [], "requests": [], "outside": [], "idx": np.flatnonzero(np.isfinite(d))}
    idx = draft["idx"]
    if idx.size == 0:
        return draft
    events, passes, requests, outside = draft["events"], draft["passes"], draft["requests"], draft["outside"]

    def request(lo, hi):
        requests.append((lo, hi))
        return len(requests) - 1

    breaks = np.flatnonzero(np.diff(idx) > 1)
    seg_starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    seg_ends = np.concatenate([idx[breaks], [idx[-1]]])
    for k0, k1 in zip(seg_starts, seg_ends):
        ta, tb = float(t_s[k0]), float(t_s[k1])
        timeline = [(c[0], 0, c[1]) for c in cross0 if ta <= c[0] <= tb]
        timeline += [(c[0], 1, c[1]) for c in cross_m if ta <= c[0] <= tb]
        timeline.sort(key=lambda x: (x[0], _ORDER[(x[1], x[2])]))
        inside = bool(d[k0] <= tol)
        pass_start, pass_parts, entry_ratio = math.nan, [], math.nan
        if inside and passes and math.isnan(passes[-1][1]):
            # inside on both sides of a data gap: the pass goes on (re-appended
            # below at the same index, so its entry event still points to it)
            pass_start, _, entry_ratio, pass_parts = passes.pop()
        out_start = None if inside else ta
        stint_start = ta if (not inside and d[k0] <= margin + tol) else None
        after_exit = False
        seg_pass_lo = ta
        for tc, lev, direction in timeline:
            if lev == 0 and direction > 0 and not inside:
                if stint_start is not None:
                    events.append(["approach", stint_start, request(stint_start, tc)])
                    stint_start = None
                outside.append(request(out_start, tc))
                inside, pass_start, after_exit, pass_parts, seg_pass_lo = True, tc, False, [], tc
                p, w = track.state(tc)
                entry_ratio = _speed_ratio(p[0], w[0])
                events.append(["entry", tc, len(passes)])
            elif lev == 0 and direction < 0 and inside:
                passes.append([pass_start, tc, entry_ratio, pass_parts + [request(seg_pass_lo, tc)]])
                events.append(["exit", tc, len(passes) - 1])
                inside, out_start, after_exit, entry_ratio = False, tc, True, math.nan
            elif lev == 1 and direction > 0 and not inside:
                if stint_start is None and not after_exit:
                    stint_start = tc
            elif lev == 1 and direction < 0:
                if stint_start is not None and not inside:
                    events.append(["approach", stint_start, request(stint_start, tc)])
                stint_start = None
                after_exit = False
        if inside:
            passes.append([pass_start, math.nan, entry_ratio, pass_parts + [request(seg_pass_lo, tb)]])
        else:
            outside.append(request(out_start, tb))
            if stint_start is not None:
                events.append(["approach", stint_start, request(stint_start, tb)])
    return draft


def _d_at(region, r, v, t_s, obj, tq):
    """Signed distance of objects ``obj`` at times ``tq`` on their Hermite arcs."""
    tq = np.asarray(tq, float)
    k = np.clip(np.searchsorted(t_s, tq, side="right") - 1, 0, len(t_s) - 2)
    h = t_s[k + 1] - t_s[k]
    s = np.clip((tq - t_s[k]) / h, 0.0, 1.0)
    r0, v0, r1, v1 = r[obj, k], v[obj, k], r[obj, k + 1], v[obj, k + 1]
    return region.signed_distance_km(hermite_position(r0, v0, r1, v1, h, s), hermite_velocity(r0, v0, r1, v1, h, s))


def _polish(region, r, v, t_s, d, drafts):
    """Minimum of ``d`` over every request of every draft: the best of the
    ends and the samples inside, then one golden-section search about it
    (between the neighbouring samples), vectorised over all requests."""
    obj, lo, hi = [], [], []
    for ii, dr in enumerate(drafts):
        for a, b in dr["requests"]:
            obj.append(ii)
            lo.append(a)
            hi.append(b)
    if not obj:
        return
    obj, lo, hi = np.asarray(obj), np.asarray(lo, float), np.asarray(hi, float)
    f_lo = _d_at(region, r, v, t_s, obj, lo)
    f_hi = _d_at(region, r, v, t_s, obj, hi)
    best_t = np.where(f_hi < f_lo, hi, lo)
    best_f = np.minimum(f_lo, f_hi)
    k_lo = np.searchsorted(t_s, lo, side="left")
    k_hi = np.searchsorted(t_s, hi, side="right")
    for q in range(len(obj)):
        if k_hi[q] > k_lo[q]:
            row = d[obj[q], k_lo[q] : k_hi[q]]
            if np.any(np.isfinite(row)):
                kb = int(np.nanargmin(row))
                if row[kb] < best_f[q]:
                    best_t[q], best_f[q] = t_s[k_lo[q] + kb], row[kb]
    kk = np.searchsorted(t_s, best_t)
    a = np.maximum(lo, t_s[np.maximum(kk - 1, 0)])
    b = np.minimum(hi, t_s[np.minimum(kk + 1, len(t_s) - 1)])
    b = np.maximum(a, b)
    tx, fx = _golden(lambda x: _d_at(region, r, v, t_s, obj, x), a, b)
    better = fx < best_f
    t_out = np.where(better, tx, best_t)
    f_out = np.where(better, fx, best_f)
    q = 0
    for dr in drafts:
        m = len(dr["requests"])
        dr["values"] = list(zip(t_out[q : q + m].tolist(), f_out[q : q + m].tolist()))
        q += m


def _finish(region, i, r, v, t_s, d, draft, epoch):
    idx = draft["idx"]
    if idx.size == 0:
        return RegionReport(i, region.name, False, False, (), math.nan, math.nan, ())
    track = _Track(r, v, t_s)
    values = draft.get("values", [])
    pass_objs = []
    for p in draft["passes"]:
        tx, fx = min((values[q] for q in p[3]), key=lambda x: x[1])
        pass_objs.append(RegionPass(float(p[0]), float(p[1]), max(0.0, -fx), tx, float(p[2])))
    pass_objs = tuple(pass_objs)
    min_out, t_min_out = math.nan, math.nan
    for q in draft["outside"]:
        tx, fx = values[q]
        if not fx >= min_out:
            min_out, t_min_out = fx, tx
    ev_objs = []
    for kind, tc, ref in draft["events"]:
        p, w = track.state(tc)
        if kind == "approach":
            t_x, dist = values[ref]
        else:
            dist, t_x = pass_objs[ref].penetration_depth_km, pass_objs[ref].t_deepest_s
        ev_objs.append(RegionEvent(i, region.name, kind, float(tc), p[0], w[0], float(dist), float(t_x),
                                   _speed_ratio(p[0], w[0]), epoch))
    tol = TOUCH_TOLERANCE_KM
    return RegionReport(i, region.name, bool(d[idx[0]] <= tol), bool(d[idx[-1]] <= tol), pass_objs,
                        float(min_out), float(t_min_out), tuple(ev_objs))


def _reach(f_a, f_b, from_a, from_b):
    """Could an arc with end values f_a, f_b (same side) and Bezier
    excursions from_a, from_b reach the level (Lipschitz bound)?"""
    with np.errstate(invalid="ignore"):
        return np.where(f_a > 0.0, (f_a - from_a <= 0.0) & (f_b - from_b <= 0.0),
                        (f_a + from_a > 0.0) & (f_b + from_b > 0.0))


def _arc_excursions(pa, wa, pb, wb, dt):
    """Max distance from each end of a Hermite arc to its Bezier control points."""
    P1 = pa + dt[..., None] * wa / 3.0
    P2 = pb - dt[..., None] * wb / 3.0
    chord = _norm(pb - pa)
    from_a = np.maximum(np.maximum(_norm(P1 - pa), _norm(P2 - pa)), chord)
    from_b = np.maximum(np.maximum(_norm(P1 - pb), _norm(P2 - pb)), chord)
    return from_a, from_b


def _refine(region, r, v, t_s, obj, k, f_a, f_b, level, depth=_REFINE_DEPTH):
    """Vectorised bisection of the Lipschitz test: which of the arcs
    (obj, k) with same-side end values could still reach the level once
    split ``depth`` times?  An arc whose midpoint changes side is kept at
    once; halves whose bound no longer reaches are dropped."""
    keep = np.zeros(len(obj), dtype=bool)
    item = np.arange(len(obj))
    h = t_s[k + 1] - t_s[k]
    s_a = np.zeros(len(obj))
    s_b = np.ones(len(obj))
    tol = level + TOUCH_TOLERANCE_KM
    for _ in range(depth):
        if item.size == 0:
            break
        s_m = 0.5 * (s_a + s_b)
        kk, hh, oo = k[item], h[item], obj[item]
        r0, v0, r1, v1 = r[oo, kk], v[oo, kk], r[oo, kk + 1], v[oo, kk + 1]
        pts = [(hermite_position(r0, v0, r1, v1, hh, x), hermite_velocity(r0, v0, r1, v1, hh, x))
               for x in (s_a, s_m, s_b)]
        f_m = region.signed_distance_km(*pts[1]) - tol
        side = f_a > 0.0
        flipped = (f_m > 0.0) != side
        keep[item[flipped]] = True
        dt = 0.5 * (s_b - s_a) * hh
        ea1, eb1 = _arc_excursions(pts[0][0], pts[0][1], pts[1][0], pts[1][1], dt)
        ea2, eb2 = _arc_excursions(pts[1][0], pts[1][1], pts[2][0], pts[2][1], dt)
        left = ~flipped & _reach(f_a, f_m, ea1, eb1)
        right = ~flipped & _reach(f_m, f_b, ea2, eb2)
        item = np.concatenate([item[left], item[right]])
        s_a, s_b = np.concatenate([s_a[left], s_m[right]]), np.concatenate([s_m[left], s_b[right]])
        f_a, f_b = np.concatenate([f_a[left], f_m[right]]), np.concatenate([f_m[left], f_b[right]])
    keep[item] = True
    return keep


def _bisect_many(region, r, v, t_s, obj, ta, tb, inside_a, level):
    """Vectorised bisection of ``f = d - level - tol`` on ``[ta, tb]`` where
    the side at ``ta`` is ``inside_a`` (f <= 0) and the other at ``tb``."""
    ta, tb = ta.copy(), tb.copy()
    tol = level + TOUCH_TOLERANCE_KM
    width = float(np.max(tb - ta)) if ta.size else 0.0
    for _ in range(int(max(1, math.ceil(math.log2(max(width, _T_TOL_S) / _T_TOL_S))))):
        tm = 0.5 * (ta + tb)
        same = (_d_at(region, r, v, t_s, obj, tm) - tol <= 0.0) == inside_a
        ta = np.where(same, tm, ta)
        tb = np.where(same, tb, tm)
    return 0.5 * (ta + tb)


def _crossings(region, r, v, t_s, d, level, excursions, blocks=256):
    """Per object, the list of (t, +1 entering / -1 leaving) crossings of
    ``level`` (inside is ``d <= level + tol``).

    Candidate intervals: a sign change at the samples, or (Lipschitz
    regions) an arc whose bound could still reach the level after the
    vectorised refinement of ``_refine``.  Each candidate is cut into
    ``_SPLIT`` sub-arcs; sign changes at their ends are bisected to
    ``_T_TOL_S``; same-side sub-arcs that could hide a pass (bound refined
    again) are settled by a golden-section search for the extremum of the
    side-signed ``f``, bisected on both sides when it crosses.  This assumes
    ``d`` is unimodal along a sub-arc, true for the spheres and shells along
    any two-body arc shorter than half an orbit and for the GEO sector away
    from the corners of its edges.  All of it is vectorised over candidates.
    """
    n, T = d.shape
    out = [[] for _ in range(n)]
    tol = level + TOUCH_TOLERANCE_KM
    f = d - tol
    c_obj, c_k = [], []
    for b0 in range(0, T - 1, blocks):
        b1 = min(b0 + blocks, T - 1)
        fa, fb = f[:, b0:b1], f[:, b0 + 1 : b1 + 1]
        ok = np.isfinite(fa) & np.isfinite(fb)
        cand = ok & ((fa <= 0.0) != (fb <= 0.0))
        if region.lipschitz:
            ea, eb = excursions[0][:, b0:b1], excursions[1][:, b0:b1]
            maybe = ok & ~cand & _reach(fa, fb, ea, eb)
            oi, kk = np.nonzero(maybe)
            if oi.size:
                keep = _refine(region, r, v, t_s, oi, b0 + kk, fa[oi, kk], fb[oi, kk], level)
                cand[oi[keep], kk[keep]] = True
        oi, kk = np.nonzero(cand)
        c_obj.append(oi)
        c_k.append(b0 + kk)
    obj = np.concatenate(c_obj) if c_obj else np.zeros(0, int)
    k = np.concatenate(c_k) if c_k else np.zeros(0, int)
    if obj.size == 0:
        return out
    # sub-arcs of every candidate interval
    h = t_s[k + 1] - t_s[k]
    s = np.linspace(0.0, 1.0, _SPLIT + 1)
    tq = t_s[k][:, None] + s[None, :] * h[:, None]
    oo = np.repeat(obj[:, None], _SPLIT + 1, axis=1)
    fs = _d_at(region, r, v, t_s, oo.ravel(), tq.ravel()).reshape(tq.shape) - tol
    fs[:, 0], fs[:, -1] = f[obj, k], f[obj, k + 1]
    A, B = fs[:, :-1], fs[:, 1:]
    o2 = np.repeat(obj[:, None], _SPLIT, axis=1)
    ta, tb = tq[:, :-1], tq[:, 1:]
    found_t, found_dir, found_obj = [], [], []
    flip = (A <= 0.0) != (B <= 0.0)
    if np.any(flip):
        tc = _bisect_many(region, r, v, t_s, o2[flip], ta[flip], tb[flip], A[flip] <= 0.0, level)
        found_t.append(tc)
        found_dir.append(np.where(B[flip] <= 0.0, 1, -1))
        found_obj.append(o2[flip])
    if region.lipschitz:
        # same-side sub-arcs whose bound still reaches the level: refine, then golden section
        k2 = np.repeat(k[:, None], _SPLIT, axis=1)
        same = ~flip
        sub = np.nonzero(same)
        if sub[0].size:
            so, sk, sa, sb = o2[sub], k2[sub], ta[sub], tb[sub]
            fa_, fb_ = A[sub], B[sub]
            hh = t_s[sk + 1] - t_s[sk]
            r0, v0, r1, v1 = r[so, sk], v[so, sk], r[so, sk + 1], v[so, sk + 1]
            xa, xb = (sa - t_s[sk]) / hh, (sb - t_s[sk]) / hh
            ea, eb = _arc_excursions(hermite_position(r0, v0, r1, v1, hh, xa), hermite_velocity(r0, v0, r1, v1, hh, xa),
                                     hermite_position(r0, v0, r1, v1, hh, xb), hermite_velocity(r0, v0, r1, v1, hh, xb),
                                     sb - sa)
            reach = _reach(fa_, fb_, ea, eb)
            if np.any(reach):
                so, sk, sa, sb, fa_, fb_ = (x[reach] for x in (so, sk, sa, sb, fa_, fb_))
                sign = np.where(fa_ > 0.0, 1.0, -1.0)
                tx, fx = _golden(lambda x: sign * (_d_at(region, r, v, t_s, so, x) - tol), sa, sb)
                fx = sign * fx
                cross = (fx <= 0.0) == (sign > 0.0)
                if np.any(cross):
                    so, sa, sb, tx, fa_, sign = (x[cross] for x in (so, sa, sb, tx, fa_, sign))
                    outside = sign > 0.0
                    first = _bisect_many(region, r, v, t_s, so, sa, tx, ~outside, level)
                    second = _bisect_many(region, r, v, t_s, so, tx, sb, outside, level)
                    found_t += [first, second]
                    found_dir += [np.where(outside, 1, -1), np.where(outside, -1, 1)]
                    found_obj += [so, so]
    if found_t:
        for o, tc, dr in zip(np.concatenate(found_obj), np.concatenate(found_t), np.concatenate(found_dir)):
            out[o].append((float(tc), int(dr)))
    return out


def region_report(r_gcrs_km, v_gcrs_km_s, t, regions: Sequence | None = None, *,
                  block_objects: int = 512) -> list[RegionReport]:
    """Every object against every region over the window.

    ``r_gcrs_km``, ``v_gcrs_km_s``: ``(n_objects, n_times, 3)`` or
    ``(n_times, 3)``; ``t``: seconds from an epoch (``(n_times,)``) or an
    astropy Time array (then ``t_s`` counts from ``t[0]`` and events carry
    that epoch).  Objects are processed ``block_objects`` at a time (memory
    ~ block x n_times).  Returns one ``RegionReport`` per (object, region),
    objects outer, regions in the given order.
    """
    t_s, epoch = _as_seconds(t)
    r, v = _check(r_gcrs_km, v_gcrs_km_s, t_s)
    regions = default_regions() if regions is None else tuple(regions)
    for region in regions:
        if not region.approach_margin_km >= 0:
            raise ConfigError(f"{region.name}.approach_margin_km", region.approach_margin_km, "a distance >= 0 km")
    out = []
    for b0 in range(0, r.shape[0], block_objects):
        rb = r[b0 : b0 + block_objects]
        vb = v[b0 : b0 + block_objects]
        bad = ~np.all(np.isfinite(rb) & np.isfinite(vb), axis=-1)
        with np.errstate(invalid="ignore"):
            exc = _excursions(rb, vb, t_s)  # Bezier excursions of every arc, shared by all regions
        reports = []
        for region in regions:
            with np.errstate(invalid="ignore"):
                d = np.asarray(region.signed_distance_km(rb, vb), float)
            d[bad] = np.nan
            c0 = _crossings(region, rb, vb, t_s, d, 0.0, exc)
            cm = _crossings(region, rb, vb, t_s, d, region.approach_margin_km, exc)
            drafts = [_timeline(region, rb[ii], vb[ii], t_s, d[ii], c0[ii], cm[ii]) for ii in range(len(rb))]
            _polish(region, rb, vb, t_s, d, drafts)
            reports.append([_finish(region, b0 + ii, rb[ii], vb[ii], t_s, d[ii], drafts[ii], epoch)
                            for ii in range(len(rb))])
        out.extend(reports[q][ii] for ii in range(len(rb)) for q in range(len(regions)))
    return out


def region_crossings(r_gcrs_km, v_gcrs_km_s, t, regions: Sequence | None = None) -> list[RegionEvent]:
    """Approach, entry and exit events of every object for every region,
    sorted by time.  Same inputs as ``region_report``."""
    events = [e for rep in region_report(r_gcrs_km, v_gcrs_km_s, t, regions) for e in rep.events]
    return sorted(events, key=lambda e: (e.t_s, e.object_index, e.region, e.kind))
