"""Benchmark of the conjunction screen on a synthetic catalogue (prints figures).

    .venv/bin/python bench/bench_screening.py            # full run (20k once)
    .venv/bin/python bench/bench_screening.py --quick    # 1k and 5k only

Catalogue: two-body (Keplerian) orbits drawn with a fixed seed: LEO (75 %,
altitudes 300-2000 km, crowded at 500-900 km, e < 0.01), MEO (10 %, GNSS
shells, e < 0.01), GEO (15 %, 35,786 +- 300 km, i < 15 deg), plus pairs
built to meet within the threshold at random times (so that "zero misses"
is tested on real events, not on an empty set).  States come from a
vectorised Kepler solver written here (numba), chunk by chunk, so the 7-day
horizon at 60 s (10,081 samples) never sits in memory at once.

Sampling step 60 s: the cubic Hermite position error is
``omega**4 r h**4 / 384`` = 0.4 m at 300 km altitude, far below the 5 km
threshold; the screen's pads follow from the Bezier bounds of every arc
(see ``propagators/screening/conjunctions.py``), so nothing between samples
is missed.

The machine is shared (2 cores, other jobs running): wall-clock figures are
upper bounds of what the code needs on an idle machine.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numba
import numpy as np

from propagators.screening.conjunctions import screen_brute_force, screen_conjunctions_streamed

MU_EARTH_KM3_S2 = 398600.4418  # EGM-96 / WGS-84 value
R_EARTH_KM = 6378.137
DAY_S = 86400.0


# ---------------------------------------------------------------- two-body


@numba.njit(cache=True, nogil=True)
def _kepler_chunk(a, e, m0, pq, t_s, r_out, v_out):
    """Elliptic two-body states for every object at every time (numba)."""
    n = a.shape[0]
    for i in range(n):
        nn = math.sqrt(MU_EARTH_KM3_S2 / a[i] ** 3)
        b = a[i] * math.sqrt(1.0 - e[i] * e[i])
        for k in range(t_s.shape[0]):
            m = m0[i] + nn * t_s[k]
            m = m - 2.0 * math.pi * math.floor(m / (2.0 * math.pi))
            ea = m + e[i] * math.sin(m)
            for _ in range(30):
                d = (ea - e[i] * math.sin(ea) - m) / (1.0 - e[i] * math.cos(ea))
                ea -= d
                if abs(d) < 1e-14:
                    break
            ce = math.cos(ea)
            se = math.sin(ea)
            x = a[i] * (ce - e[i])
            y = b * se
            edot = nn / (1.0 - e[i] * ce)
            vx = -a[i] * se * edot
            vy = b * ce * edot
            for c in range(3):
                r_out[i, k, c] = x * pq[i, 0, c] + y * pq[i, 1, c]
                v_out[i, k, c] = vx * pq[i, 0, c] + vy * pq[i, 1, c]


def elements_from_state(r_km, v_km_s):
    """(a, e, M at that instant, perifocal P/Q unit vectors) of elliptic states."""
    rn = np.linalg.norm(r_km, axis=-1)
    hv = np.cross(r_km, v_km_s)
    ev = np.cross(v_km_s, hv) / MU_EARTH_KM3_S2 - r_km / rn[:, None]
    e = np.linalg.norm(ev, axis=-1)
    a = 1.0 / (2.0 / rn - np.sum(v_km_s**2, -1) / MU_EARTH_KM3_S2)
    w = hv / np.linalg.norm(hv, axis=-1)[:, None]
    # near-circular orbits: any in-plane P works; take the node-free one from r
    p = np.where((e > 1e-12)[:, None], ev / np.maximum(e, 1e-300)[:, None], r_km / rn[:, None])
    q = np.cross(w, p)
    nu = np.arctan2(np.sum(r_km * q, -1), np.sum(r_km * p, -1))
    ea = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    return a, e, ea - e * np.sin(ea), np.stack([p, q], axis=1)


class Catalogue:
    """Synthetic Keplerian catalogue, propagated on demand."""

    def __init__(self, a, e, m0, pq):
        self.a, self.e, self.m0, self.pq = a, e, m0, np.ascontiguousarray(pq)

    def __len__(self):
        return len(self.a)

    def states_at(self, t_s):
        t_s = np.ascontiguousarray(t_s, dtype=float)
        r = np.empty((len(self), len(t_s), 3))
        v = np.empty_like(r)
        _kepler_chunk(self.a, self.e, self.m0, self.pq, t_s, r, v)
        return r, v

    def subset(self, idx):
        return Catalogue(self.a[idx], self.e[idx], self.m0[idx], self.pq[idx])

    @staticmethod
    def concat(*cats):
        return Catalogue(*(np.concatenate([getattr(c, f) for c in cats]) for f in ("a", "e", "m0", "pq")))


def _random_orbits(rng, n, alt_lo, alt_hi, inc_lo_deg, inc_hi_deg, e_max):
    a = R_EARTH_KM + rng.uniform(alt_lo, alt_hi, n)
    e = rng.uniform(0, e_max, n)
    inc = np.radians(rng.uniform(inc_lo_deg, inc_hi_deg, n))
    raan = rng.uniform(0, 2 * np.pi, n)
    argp = rng.uniform(0, 2 * np.pi, n)
    m0 = rng.uniform(0, 2 * np.pi, n)
    cO, sO, ci, si, cw, sw = np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc), np.cos(argp), np.sin(argp)
    p = np.stack([cO * cw - sO * sw * ci, sO * cw + cO * sw * ci, sw * si], -1)
    q = np.stack([-cO * sw - sO * cw * ci, -sO * sw + cO * cw * ci, cw * si], -1)
    return Catalogue(a, e, m0, np.stack([p, q], axis=1))


def synthetic_catalogue(n, seed=20260822, n_built_pairs=40, horizon_s=7 * DAY_S):
    """LEO/MEO/GEO background plus ``n_built_pairs`` built encounters."""
    rng = np.random.default_rng(seed)
    n_bg = n - 2 * n_built_pairs
    n_leo = int(0.75 * n_bg)
    n_meo = int(0.10 * n_bg)
    n_geo = n_bg - n_leo - n_meo
    leo_dense = _random_orbits(rng, n_leo // 2, 500, 900, 0, 180, 0.01)
    leo_wide = _random_orbits(rng, n_leo - n_leo // 2, 300, 2000, 0, 180, 0.01)
    meo = _random_orbits(rng, n_meo, 19000, 23500, 50, 66, 0.01)
    geo = _random_orbits(rng, n_geo, 35486, 36086, 0, 15, 0.001)
    bg = Catalogue.concat(leo_dense, leo_wide, meo, geo)
    # built encounters: a secondary through the primary's position at t_c
    prim = rng.choice(n_bg, n_built_pairs, replace=False)
    t_c = rng.uniform(0.05, 0.95, n_built_pairs) * horizon_s
    r_p = np.empty((n_built_pairs, 3))
    v_p = np.empty((n_built_pairs, 3))
    for q, (i, tc) in enumerate(zip(prim, t_c)):
        r1, v1 = bg.subset([i]).states_at(np.array([tc]))
        r_p[q], v_p[q] = r1[0, 0], v1[0, 0]
    vc = np.linalg.norm(v_p, axis=-1)
    # a random rotation of the velocity by up to ~60 degrees (crossings at up to ~vc)
    axis = rng.normal(size=(n_built_pairs, 3))
    axis -= np.sum(axis * r_p, -1)[:, None] * r_p / np.sum(r_p * r_p, -1)[:, None]
    axis /= np.linalg.norm(axis, axis=-1)[:, None]
    ang = rng.uniform(0.001, 1.0, n_built_pairs)
    v_s = (
        v_p * np.cos(ang)[:, None]
        + np.cross(axis, v_p) * np.sin(ang)[:, None]
        + axis * np.sum(axis * v_p, -1)[:, None] * (1 - np.cos(ang))[:, None]
    ) * (1 + rng.uniform(-0.002, 0.002, n_built_pairs))[:, None]
    off = rng.normal(size=(n_built_pairs, 3))
    off *= (rng.uniform(0.0, 4.0, n_built_pairs) / np.linalg.norm(off, axis=-1))[:, None]
    r_s = r_p + off
    # elements at t_c, then shift the mean anomaly back to t = 0
    a, e, m_c, pq = elements_from_state(r_s, v_s)
    m0 = m_c - np.sqrt(MU_EARTH_KM3_S2 / a**3) * t_c
    sec = Catalogue(a, e, m0, pq)
    # built pairs also duplicate the primary's orbit with a small along-track offset (slow GEO-like pairs)
    dup = bg.subset(prim)
    dup.m0 = dup.m0 + rng.uniform(-1e-4, 1e-4, n_built_pairs)
    return Catalogue.concat(bg, sec, dup)


def cislunar_watch(n, t_s, seed=7, n_built=20):
    """Highly eccentric Earth orbits reaching lunar distance (perigee 6,700-
    42,000 km, apogee 300,000-420,000 km), each placed so that it passes
    perigee inside the horizon: fast crossings of LEO-GEO.

    Returns the watch objects and ``n_built`` extra catalogue objects on
    circular orbits through a watch object's position (within 4 km) at a
    random time of its near-Earth pass (relative speeds of several km/s).
    """
    rng = np.random.default_rng(seed)
    rp = R_EARTH_KM + rng.uniform(300, 36000, n)
    ra = rng.uniform(300e3, 420e3, n)
    a = 0.5 * (rp + ra)
    e = (ra - rp) / (ra + rp)
    cat = _random_orbits(rng, n, 0, 1, 0, 180, 0)
    cat.a, cat.e = a, e
    t_peri = rng.uniform(0.1, 0.9, n) * t_s[-1]
    cat.m0 = -np.sqrt(MU_EARTH_KM3_S2 / a**3) * t_peri
    r_w, _ = cat.states_at(t_s)
    rw_norm = np.linalg.norm(r_w, axis=-1)
    who = rng.choice(n, n_built, replace=False)
    r_b = np.empty((n_built, 3))
    v_b = np.empty((n_built, 3))
    t_c = np.empty(n_built)
    for q, w in enumerate(who):
        near = np.flatnonzero(rw_norm[w] < 45000.0)
        k = rng.choice(near)
        t_c[q] = t_s[k]
        rr = r_w[w, k]
        d = rng.normal(size=3)
        d -= d @ rr * rr / (rr @ rr)
        d /= np.linalg.norm(d)
        off = rng.normal(size=3)
        r_b[q] = rr + off / np.linalg.norm(off) * rng.uniform(0, 4.0)
        v_b[q] = d * np.sqrt(MU_EARTH_KM3_S2 / np.linalg.norm(r_b[q]))
    ab, eb, mb, pqb = elements_from_state(r_b, v_b)
    built = Catalogue(ab, eb, mb - np.sqrt(MU_EARTH_KM3_S2 / ab**3) * t_c, pqb)
    return cat, built


# ---------------------------------------------------------------- runs


class Timed:
    """States source that accumulates the time spent propagating (wall and
    CPU: on a shared machine the CPU time is the figure that does not depend
    on the other jobs)."""

    def __init__(self, cat):
        self.cat = cat
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def __call__(self, t_s):
        t0, c0 = time.perf_counter(), time.process_time()
        out = self.cat.states_at(t_s)
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        return out


def run_screen(cat, t_s, threshold_km, watch=None, workers=1):
    """Returns the table, wall s, propagation wall s, screening CPU s."""
    src = Timed(cat)
    t0, c0 = time.perf_counter(), time.process_time()
    tab = screen_conjunctions_streamed(src, t_s, len(cat), threshold_km=threshold_km, watch=watch, workers=workers)
    total = time.perf_counter() - t0
    cpu_screen = time.process_time() - c0 - src.cpu_seconds
    return tab, total, src.seconds, cpu_screen


def brute_reference(cat, members, t_s, threshold_km):
    """All pairs of ``members`` over all intervals, no spatial index."""
    sub = cat.subset(members)
    r, v = sub.states_at(t_s)
    c0 = time.process_time()
    bf = screen_brute_force(r, v, t_s, threshold_km=threshold_km)
    dt = time.process_time() - c0
    bf["i"] = np.asarray(members)[bf["i"]]
    bf["j"] = np.asarray(members)[bf["j"]]
    return bf, dt


def compare(tab, ref, members):
    """Rows of ``tab`` among ``members`` against the reference: misses, extras."""
    mset = np.zeros(max(tab["j"].max(initial=0), np.max(members)) + 1, dtype=bool)
    mset[members] = True
    sel = tab[mset[np.minimum(tab["i"], len(mset) - 1)] & mset[np.minimum(tab["j"], len(mset) - 1)]]
    key = lambda x: set(zip(x["i"].tolist(), x["j"].tolist(), np.round(x["tca_s"], 3).tolist()))
    a, b = key(sel), key(ref)
    return len(b - a), len(a - b), len(b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 5k only")
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--step", type=float, default=60.0)
    ap.add_argument("--threshold", type=float, default=5.0)
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N list")
    ap.add_argument("--workers", type=int, default=1, help="screening threads (the machine is shared)")
    args = ap.parse_args(argv)
    horizon_s = args.days * DAY_S
    t_s = np.arange(0.0, horizon_s + 0.5 * args.step, args.step)
    sizes = [1000, 5000] if args.quick else [1000, 5000, 20000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    print(f"horizon {args.days} d, step {args.step} s ({len(t_s)} samples), threshold {args.threshold} km, "
          f"numba threads {numba.get_num_threads()}, shared 2-core machine")
    # warm-up (JIT or cache load) on a tiny case
    warm = synthetic_catalogue(200, n_built_pairs=5, horizon_s=3600.0)
    run_screen(warm, t_s[:61], args.threshold)
    brute_reference(warm, np.arange(20), t_s[:61], args.threshold)

    per_pair_interval_s = None
    for n in sizes:
        cat = synthetic_catalogue(n, horizon_s=horizon_s)
        tab, total, prop, cpu = run_screen(cat, t_s, args.threshold, workers=args.workers)
        print(f"N={n:6d}: all-vs-all {total:8.1f} s wall ({prop:6.1f} s propagation, "
              f"{total - prop:7.1f} s screening wall, {cpu:7.1f} s screening CPU), "
              f"{len(tab)} conjunctions <= {args.threshold} km")
        # brute-force check on a subsample holding every built pair and random others
        rng = np.random.default_rng(n)
        n_bg = n - 80
        built = np.concatenate([np.arange(n_bg, n), rng.choice(n_bg, 40, replace=False)])
        others = rng.choice(n_bg, 60, replace=False)
        members = np.unique(np.concatenate([built, others, tab["i"][:50], tab["j"][:50]]))
        bf, t_bf = brute_reference(cat, members, t_s, args.threshold)
        missed, extra, n_ref = compare(tab, bf, members)
        n_pairs = len(members) * (len(members) - 1) / 2
        per_pair_interval_s = t_bf / (n_pairs * (len(t_s) - 1))
        bf_full = per_pair_interval_s * n * (n - 1) / 2 * (len(t_s) - 1)
        print(f"          brute force on {len(members)} objects: {t_bf:.1f} s CPU, {n_ref} events, "
              f"missed {missed}, extra {extra}; brute force for all N (extrapolated "
              f"{per_pair_interval_s * 1e9:.1f} ns/pair-interval): {bf_full:,.0f} s -> "
              f"screen is {bf_full / max(cpu, 1e-9):,.0f}x faster (CPU)")
        if n == max(sizes):
            watch_cat, built = cislunar_watch(100, t_s)
            both = Catalogue.concat(cat, built, watch_cat)
            n_cat = n + len(built)
            watch = np.arange(n_cat, n_cat + 100)
            tabw, totw, propw, cpuw = run_screen(both, t_s, args.threshold, watch=watch, workers=args.workers)
            print(f"          100 cislunar watch objects vs N={n_cat}: {totw:.1f} s wall ({propw:.1f} s propagation, "
                  f"{totw - propw:.1f} s screening wall, {cpuw:.1f} s screening CPU), {len(tabw)} conjunctions")
            # watch-mode result must equal the watch rows of an all-vs-all screen on a subsample
            rng = np.random.default_rng(3)
            mem = np.unique(np.concatenate([watch, np.arange(n, n_cat), rng.choice(n, 100, replace=False)]))
            bfw, _ = brute_reference(both, mem, t_s, args.threshold)
            bfw = bfw[(bfw["i"] >= n_cat) | (bfw["j"] >= n_cat)]
            missed, extra, n_ref = compare(tabw, bfw, mem)
            print(f"          watch-list brute-force check on {len(mem)} objects: {n_ref} events, "
                  f"missed {missed}, extra {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
