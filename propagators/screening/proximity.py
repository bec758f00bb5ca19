"""Sustained proximity: two objects staying close for a long time at low
relative speed (what inspector satellites in GEO do).

An interval is a maximal stretch of time with range ``<= range_km``; it is
reported when it lasts at least ``min_duration_s`` and its time-averaged
relative speed is ``<= max_relative_speed_km_s``.  Relative speed here is
measured in the rotating orbital (RIC/Hill) frame of the first object, as
proximity operations are: two objects holding a fixed offset in GEO have an
inertial relative speed of ``n * range`` (3.6 m/s at 50 km) but are at rest
relative to each other.  Range follows the cubic
Hermite arcs of both objects (as in ``conjunctions``): interval ends are
refined by bisection to 1 us, and a dip into range between two samples is
found from the exact closest approaches on the arcs.  Brief excursions *out*
of range shorter than a sampling step are not resolved (sustained proximity
at low relative speed moves ``v_rel * h`` << ``range_km`` per step); sample
where that does not hold.  Pairs with NaN samples are split at the gaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propagators.errors import ConfigError
from propagators.screening.conjunctions import (
    closest_approaches,
    hermite_position,
    hermite_velocity,
    screen_conjunctions,
)

_T_TOL_S = 1e-6


@dataclass(frozen=True)
class ProximityInterval:
    """Objects ``i < j`` within ``range_km`` from ``start_s`` to ``end_s``.

    ``starts_at_window_edge`` / ``ends_at_window_edge``: the interval is cut
    by the window (or a data gap) rather than by the range.
    """

    i: int
    j: int
    start_s: float
    end_s: float
    min_range_km: float
    t_min_range_s: float
    mean_relative_speed_km_s: float
    max_relative_speed_km_s: float
    starts_at_window_edge: bool
    ends_at_window_edge: bool

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _rel(ra, va, rb, vb, t_s, tq):
    """Relative position b - a and relative velocity of b seen from a's
    rotating orbital (RIC/Hill) frame, on the Hermite arcs at times tq:
    ``dv - w x dp`` with ``w = (r_a x v_a) / |r_a|^2``."""
    tq = np.atleast_1d(np.asarray(tq, float))
    k = np.clip(np.searchsorted(t_s, tq, side="right") - 1, 0, len(t_s) - 2)
    h = t_s[k + 1] - t_s[k]
    s = np.clip((tq - t_s[k]) / h, 0.0, 1.0)
    pa = hermite_position(ra[k], va[k], ra[k + 1], va[k + 1], h, s)
    wa = hermite_velocity(ra[k], va[k], ra[k + 1], va[k + 1], h, s)
    dp = hermite_position(rb[k], vb[k], rb[k + 1], vb[k + 1], h, s) - pa
    dv = hermite_velocity(rb[k], vb[k], rb[k + 1], vb[k + 1], h, s) - wa
    omega = np.cross(pa, wa) / np.sum(pa * pa, axis=-1)[..., None]
    return dp, dv - np.cross(omega, dp)


def _range(ra, va, rb, vb, t_s, tq):
    dp, _ = _rel(ra, va, rb, vb, t_s, tq)
    return np.linalg.norm(dp, axis=-1)


def _bisect(fn, a, b, inside_a):
    while b - a > _T_TOL_S:
        m = 0.5 * (a + b)
        if (fn(m) <= 0.0) == inside_a:
            a = m
        else:
            b = m
    return 0.5 * (a + b)


def _pair_intervals(i, j, ra, va, rb, vb, t_s, range_km):
    """Raw in-range intervals of one pair on one gap-free segment:
    (start, end, start_edge, end_edge, minima list)."""
    rho = np.linalg.norm(rb - ra, axis=-1)
    inside = rho <= range_km
    fn = lambda x: float(_range(ra, va, rb, vb, t_s, x)[0]) - range_km  # noqa: E731
    tca, miss, _ = closest_approaches(ra, va, rb, vb, t_s)
    crossings = []  # (t, +1 in / -1 out)
    for k in range(len(t_s) - 1):
        if inside[k] != inside[k + 1]:
            crossings.append((_bisect(fn, t_s[k], t_s[k + 1], bool(inside[k])), 1 if inside[k + 1] else -1))
        elif not inside[k]:
            # both ends out of range: a dip in between shows as a closest approach inside range
            dips = (tca > t_s[k]) & (tca < t_s[k + 1]) & (miss <= range_km)
            for tc in tca[dips]:
                crossings.append((_bisect(fn, t_s[k], tc, False), 1))
                crossings.append((_bisect(fn, tc, t_s[k + 1], True), -1))
    crossings.sort()
    out = []
    start = t_s[0] if inside[0] else None
    for tc, direction in crossings:
        if direction > 0 and start is None:
            start = tc
        elif direction < 0 and start is not None:
            out.append((start, tc, start == t_s[0] and inside[0], False))
            start = None
    if start is not None:
        out.append((start, t_s[-1], start == t_s[0] and inside[0], True))
    result = []
    for a, b, edge_a, edge_b in out:
        # minimum range: exact closest approaches inside, and both ends
        cand_t = [a, b] + [x for x in tca if a <= x <= b]
        cand_r = _range(ra, va, rb, vb, t_s, np.asarray(cand_t))
        q = int(np.argmin(cand_r))
        # time-averaged relative speed: Simpson on the Hermite arcs, 8 points per step
        n_pts = max(9, 2 * int(math.ceil(8 * (b - a) / float(np.min(np.diff(t_s))))) + 1)
        tt = np.linspace(a, b, n_pts)
        _, dv = _rel(ra, va, rb, vb, t_s, tt)
        speed = np.linalg.norm(dv, axis=-1)
        if b > a:
            wts = np.ones(n_pts)
            wts[1:-1:2], wts[2:-1:2] = 4.0, 2.0
            mean_speed = float(np.sum(wts * speed) * (tt[1] - tt[0]) / 3.0 / (b - a))
        else:
            mean_speed = float(speed[0])
        result.append(ProximityInterval(i, j, float(a), float(b), float(cand_r[q]), float(cand_t[q]), mean_speed,
                                        float(np.max(speed)), bool(edge_a), bool(edge_b)))
    return result


def proximity_intervals(
    r_gcrs_km: np.ndarray,
    v_gcrs_km_s: np.ndarray,
    t_s,
    pairs=None,
    *,
    range_km: float = 50.0,
    min_duration_s: float = 6 * 3600.0,
    max_relative_speed_km_s: float = 0.01,
    watch=None,
) -> list[ProximityInterval]:
    """Sustained-proximity intervals of object pairs.

    ``r_gcrs_km``, ``v_gcrs_km_s``: ``(n_objects, n_times, 3)``; ``t_s``
    strictly increasing seconds from an epoch.  ``pairs``: an iterable of
    ``(i, j)``; None screens every pair (or watch-list pairs) first with
    ``screen_conjunctions`` at ``range_km``, so only pairs that come within
    range are examined.  Defaults: 50 km, 6 h, 10 m/s (GEO inspection:
    relative-motion ellipses of a few km to tens of km, relative speeds of
    m/s).  Returns intervals sorted by start time.
    """
    t_s = np.asarray(t_s, float)
    r = np.asarray(r_gcrs_km, float)
    v = np.asarray(v_gcrs_km_s, float)
    if r.ndim != 3 or r.shape != v.shape or r.shape[1:] != (len(t_s), 3):
        raise ConfigError("r_gcrs_km/v_gcrs_km_s shape", (r.shape, v.shape), f"(n_objects, {len(t_s)}, 3)")
    for key, value in (("range_km", range_km), ("min_duration_s", min_duration_s),
                       ("max_relative_speed_km_s", max_relative_speed_km_s)):
        if not (np.isfinite(value) and value >= 0):
            raise ConfigError(key, value, "a finite non-negative number")
    if pairs is None:
        table = screen_conjunctions(r, v, t_s, threshold_km=range_km, watch=watch)
        pairs = sorted(set(zip(table["i"].tolist(), table["j"].tolist())))
    out = []
    for i, j in pairs:
        i, j = (int(i), int(j)) if i < j else (int(j), int(i))
        ok = np.all(np.isfinite(r[i]) & np.isfinite(v[i]) & np.isfinite(r[j]) & np.isfinite(v[j]), axis=-1)
        idx = np.flatnonzero(ok)
        if idx.size < 2:
            continue
        cuts = np.flatnonzero(np.diff(idx) > 1)
        for seg in np.split(idx, cuts + 1):
            if seg.size < 2:
                continue
            sl = slice(seg[0], seg[-1] + 1)
            for iv in _pair_intervals(i, j, r[i, sl], v[i, sl], r[j, sl], v[j, sl], t_s[sl], range_km):
                if iv.duration_s >= min_duration_s and iv.mean_relative_speed_km_s <= max_relative_speed_km_s:
                    out.append(iv)
    return sorted(out, key=lambda x: (x.start_s, x.i, x.j))
