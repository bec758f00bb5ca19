"""Conjunction screening against an independent brute-force reference.

The reference never uses the screen's code: every pair of a seeded random
population, exact two-body states on a dense time grid, every local minimum
of range refined by a bounded Brent search on the exact states.  The screen
sees only coarse samples (60 s in LEO, 600 s in GEO) and must find every
approach below the threshold: zero misses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from propagators.errors import ConfigError
from propagators.screening.conjunctions import (
    CONJUNCTION_DTYPE,
    closest_approaches,
    conjunctions_from_table,
    hermite_position,
    screen_brute_force,
    screen_conjunctions,
    screen_conjunctions_streamed,
)

MU_KM3_S2 = 398600.4418
R_GEO_KM = 42164.0
THRESHOLD_KM = 5.0

one_mm_km = 1e-6
one_metre_km = 1e-3
# The screen works on cubic Hermite arcs between samples; their position error
# for two-body motion is ~omega^4 r h^4 / 384: 0.4 m in LEO at 60 s and in GEO
# at 600 s, several metres for eccentric cislunar crossers sampled at 600 s.
# Each comparison uses the measured Hermite error of the two objects on the
# interval of the TCA (plus 1 mm); this guard keeps near-threshold reference
# events, which may legitimately fall on either side, out of the count.
threshold_guard_km = 20 * one_metre_km


# ---------------------------------------------------------------- two-body reference


class Kepler:
    """Elliptic two-body orbits from states at t = 0, evaluated exactly."""

    def __init__(self, r0, v0, mu=MU_KM3_S2):
        r0 = np.atleast_2d(np.asarray(r0, float))
        v0 = np.atleast_2d(np.asarray(v0, float))
        rn = np.linalg.norm(r0, axis=-1)
        h = np.cross(r0, v0)
        e_vec = np.cross(v0, h) / mu - r0 / rn[:, None]
        e = np.linalg.norm(e_vec, axis=-1)
        self.a = 1.0 / (2.0 / rn - np.sum(v0 * v0, -1) / mu)
        if np.any(self.a <= 0) or np.any(e >= 1):
            raise ValueError("test orbits must be elliptic")
        self.e = e
        w = h / np.linalg.norm(h, axis=-1)[:, None]
        self.p = np.where((e > 1e-10)[:, None], e_vec / np.maximum(e, 1e-300)[:, None], r0 / rn[:, None])
        self.q = np.cross(w, self.p)
        nu = np.arctan2(np.sum(r0 * self.q, -1), np.sum(r0 * self.p, -1))
        ea = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
        self.m0 = ea - e * np.sin(ea)
        self.n = np.sqrt(mu / self.a**3)

    def __len__(self):
        return len(self.a)

    def states(self, t_s, idx=None):
        """(n, T, 3) positions and velocities at times ``t_s``."""
        sl = slice(None) if idx is None else idx
        a, e, n = self.a[sl, None], self.e[sl, None], self.n[sl, None]
        m = self.m0[sl, None] + n * np.atleast_1d(t_s)[None, :]
        ea = m + e * np.sin(m)
        for _ in range(60):
            ea = ea - (ea - e * np.sin(ea) - m) / (1 - e * np.cos(ea))
        b = a * np.sqrt(1 - e * e)
        x, y = a * (np.cos(ea) - e), b * np.sin(ea)
        edot = n / (1 - e * np.cos(ea))
        vx, vy = -a * np.sin(ea) * edot, b * np.cos(ea) * edot
        p, q = self.p[sl, None, :], self.q[sl, None, :]
        return x[..., None] * p + y[..., None] * q, vx[..., None] * p + vy[..., None] * q


def circular_states(rng, n, radius_lo, radius_hi, inc_max_deg):
    rad = rng.uniform(radius_lo, radius_hi, n)
    inc = np.radians(rng.uniform(0, inc_max_deg, n))
    raan, u = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
    cO, sO, ci, si, cu, su = np.cos(raan), np.sin(raan), np.cos(inc), np.sin(inc), np.cos(u), np.sin(u)
    r = rad[:, None] * np.stack([cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si], -1)
    vdir = np.stack([-cO * su - sO * cu * ci, -sO * su + cO * cu * ci, cu * si], -1)
    v = np.sqrt(MU_KM3_S2 / rad)[:, None] * vdir * rng.uniform(0.999, 1.001, n)[:, None]
    return r, v


def random_direction(rng, n):
    d = rng.normal(size=(n, 3))
    return d / np.linalg.norm(d, axis=-1)[:, None]


def build_population(rng, bg_r, bg_v, horizon_s, n_slow, slow_speed_km_s, n_fast, fast_kind):
    """Background objects plus secondaries built to meet a background object
    within ~4 km at a random time: slow ones (relative speed of a few m/s) and
    fast ones (LEO: rotated velocity; cislunar: lunar-distance ellipses)."""
    bg = Kepler(bg_r, bg_v)
    r_all, v_all = [bg_r], [bg_v]
    for kind, count in (("slow", n_slow), (fast_kind, n_fast)):
        who = rng.choice(len(bg), count, replace=False)
        t_c = rng.uniform(0.1, 0.9, count) * horizon_s
        for i, tc in zip(who, t_c):
            rp, vp = (x[0, 0] for x in bg.states(np.array([tc]), idx=[i]))
            r_c = rp + random_direction(rng, 1)[0] * rng.uniform(0.0, 4.0)
            if kind == "slow":
                v_c = vp + random_direction(rng, 1)[0] * rng.uniform(*slow_speed_km_s)
            elif kind == "leo_fast":
                axis = np.cross(rp, random_direction(rng, 1)[0])
                axis -= axis @ rp * rp / (rp @ rp)
                axis /= np.linalg.norm(axis)
                ang = rng.uniform(0.3, 2.8)
                v_c = vp * math.cos(ang) + np.cross(axis, vp) * math.sin(ang)
            else:  # cislunar: an ellipse with apogee near lunar distance through this point
                rn = np.linalg.norm(r_c)
                a = 0.5 * (rn + rng.uniform(3.0e5, 4.0e5))
                speed = math.sqrt(MU_KM3_S2 * (2 / rn - 1 / a))
                d = random_direction(rng, 1)[0]
                d -= 0.5 * (d @ r_c) * r_c / rn**2  # keep it away from radial
                v_c = speed * d / np.linalg.norm(d)
            # state at t_c -> state at t = 0 through the exact two-body map
            back = Kepler(r_c[None], v_c[None])
            back.m0 = back.m0 - back.n * tc
            r0, v0 = back.states(np.array([0.0]))
            r_all.append(r0[:, 0])
            v_all.append(v0[:, 0])
    return Kepler(np.concatenate(r_all), np.concatenate(v_all))


def brute_force_reference(kep, horizon_s, fine_step_s, v_rel_max_km_s, threshold_km):
    """Every pair, exact states every ``fine_step_s``, local minima refined by
    bounded Brent on the exact two-body states.  Returns (i, j, tca, miss)."""
    t = np.arange(0.0, horizon_s + 0.5 * fine_step_s, fine_step_s)
    t[-1] = min(t[-1], horizon_s)
    r, _ = kep.states(t)
    n = len(kep)
    # a sampled range can exceed the true minimum by at most v_rel * step / 2
    cut = threshold_km + v_rel_max_km_s * fine_step_s / 2 + threshold_guard_km
    out = []
    for i in range(n):
        rng_ij = np.linalg.norm(r[i + 1 :] - r[i], axis=-1)  # (n - i - 1, T)
        left = np.concatenate([np.full((len(rng_ij), 1), np.inf), rng_ij[:, :-1]], axis=1)
        right = np.concatenate([rng_ij[:, 1:], np.full((len(rng_ij), 1), np.inf)], axis=1)
        is_min = (rng_ij <= left) & (rng_ij <= right) & (rng_ij < cut)
        for jj, k in zip(*np.nonzero(is_min)):
            j = i + 1 + jj
            lo, hi = t[max(k - 1, 0)], t[min(k + 1, len(t) - 1)]

            def dist(x):
                ri, _ = kep.states(np.array([x]), idx=[i])
                rj, _ = kep.states(np.array([x]), idx=[j])
                return float(np.linalg.norm(ri - rj))

            # search in time from ``lo``: scipy's bounded Brent adds sqrt(eps) * |x|
            # to its tolerance, 1 ms at t = 1e5 s
            res = minimize_scalar(lambda u: dist(lo + u), bounds=(0.0, hi - lo), method="bounded",
                                  options={"xatol": 1e-7})
            tca, miss = lo + float(res.x), float(res.fun)
            if dist(lo) < miss:
                tca, miss = lo, dist(lo)
            if dist(hi) < miss:
                tca, miss = hi, dist(hi)
            if miss <= threshold_km + threshold_guard_km:
                out.append((i, j, tca, miss))
    # the same minimum found from two neighbouring fine samples (a flat bottom)
    out.sort()
    dedup = []
    for ev in out:
        if dedup and dedup[-1][:2] == ev[:2] and abs(dedup[-1][2] - ev[2]) < 2 * fine_step_s:
            if ev[3] < dedup[-1][3]:
                dedup[-1] = ev
            continue
        dedup.append(ev)
    return dedup


def hermite_error_km(kep, t_coarse, i, tca):
    """Largest position error of object i's Hermite arc on the coarse interval
    holding ``tca`` (exact two-body states at 9 interior points)."""
    k = int(np.clip(np.searchsorted(t_coarse, tca) - 1, 0, len(t_coarse) - 2))
    ends = t_coarse[k : k + 2]
    r, v = kep.states(ends, idx=[i])
    s = np.linspace(0.1, 0.9, 9)
    exact, _ = kep.states(ends[0] + s * (ends[1] - ends[0]), idx=[i])
    approx = hermite_position(r[0, 0], v[0, 0], r[0, 1], v[0, 1], ends[1] - ends[0], s)
    return float(np.max(np.linalg.norm(approx - exact[0], axis=-1)))


def compare_with_reference(table, reference, kep, t_coarse, threshold_km):
    """Zero misses; TCA and miss distance within the Hermite tolerances."""
    found = {}
    for row in table:
        found.setdefault((int(row["i"]), int(row["j"])), []).append(row)
    n_checked = 0
    for i, j, tca, miss in reference:
        rows = found.get((i, j), [])
        if miss > threshold_km - threshold_guard_km:
            continue  # either side of the threshold is acceptable
        assert rows, f"missed conjunction {i}-{j} at t = {tca:.3f} s, miss {miss * 1e3:.1f} m"
        row = min(rows, key=lambda x: abs(x["tca_s"] - tca))
        _, vi = kep.states(np.array([tca]), idx=[i])
        _, vj = kep.states(np.array([tca]), idx=[j])
        v_rel = float(np.linalg.norm(vi - vj))
        tol_km = hermite_error_km(kep, t_coarse, i, tca) + hermite_error_km(kep, t_coarse, j, tca) + one_mm_km
        assert row["miss_km"] == pytest.approx(miss, abs=tol_km)
        # a TCA error is an along-track position error of v_rel * dt
        assert abs(row["tca_s"] - tca) * v_rel <= tol_km + 1e-6 * v_rel
        n_checked += 1
    ref_keys = {(i, j) for i, j, _, _ in reference}
    for row in table:
        assert (int(row["i"]), int(row["j"])) in ref_keys or row["miss_km"] > threshold_km - threshold_guard_km, (
            f"spurious conjunction {row['i']}-{row['j']} at {row['tca_s']:.1f} s"
        )
    return n_checked


# ---------------------------------------------------------------- tests


def test_geo_slow_encounters_and_fast_cislunar_crossings_at_600_s():
    rng = np.random.default_rng(20260822)
    horizon_s, step_s = 2 * 86400.0, 600.0
    bg_r, bg_v = circular_states(rng, 30, R_GEO_KM - 40.0, R_GEO_KM + 40.0, 2.0)
    kep = build_population(rng, bg_r, bg_v, horizon_s, n_slow=8, slow_speed_km_s=(0.001, 0.005), n_fast=6,
                           fast_kind="cislunar")
    t = np.arange(0.0, horizon_s + 1.0, step_s)
    r, v = kep.states(t)
    table = screen_conjunctions(r, v, t, threshold_km=THRESHOLD_KM)
    reference = brute_force_reference(kep, horizon_s, fine_step_s=5.0, v_rel_max_km_s=8.0,
                                      threshold_km=THRESHOLD_KM)
    n_checked = compare_with_reference(table, reference, kep, t, THRESHOLD_KM)
    rel_speeds = table["relative_speed_km_s"]
    # the population really holds both regimes: m/s encounters and km/s crossings
    assert n_checked >= 10
    assert np.min(rel_speeds) < 0.01 and np.max(rel_speeds) > 2.0


def test_leo_fast_crossings_and_slow_pairs_at_60_s():
    rng = np.random.default_rng(7)
    horizon_s, step_s = 6 * 3600.0, 60.0
    bg_r, bg_v = circular_states(rng, 40, 6878.0, 7178.0, 100.0)
    kep = build_population(rng, bg_r, bg_v, horizon_s, n_slow=4, slow_speed_km_s=(0.001, 0.01), n_fast=10,
                           fast_kind="leo_fast")
    t = np.arange(0.0, horizon_s + 1.0, step_s)
    r, v = kep.states(t)
    table = screen_conjunctions(r, v, t, threshold_km=THRESHOLD_KM)
    reference = brute_force_reference(kep, horizon_s, fine_step_s=0.5, v_rel_max_km_s=16.0,
                                      threshold_km=THRESHOLD_KM)
    n_checked = compare_with_reference(table, reference, kep, t, THRESHOLD_KM)
    assert n_checked >= 10
    assert np.max(table["relative_speed_km_s"]) > 10.0


def test_screen_equals_no_index_brute_force_in_every_mode():
    """Grid hash, watch list, chunking, sub-arcs and threads change nothing."""
    rng = np.random.default_rng(11)
    bg_r, bg_v = circular_states(rng, 150, 6878.0, 7000.0, 180.0)
    t = np.arange(0.0, 3 * 3600.0 + 1.0, 60.0)
    r, v = Kepler(bg_r, bg_v).states(t)
    thr = 60.0  # a large threshold gives many events in a small population
    ref = screen_brute_force(r, v, t, threshold_km=thr)
    assert len(ref) > 20
    key = ["i", "j", "tca_s", "miss_km"]
    for kwargs in ({}, {"chunk_steps": 7}, {"sub_arcs": 3}, {"workers": 2}, {"rho_quantile": 0.5}):
        got = screen_conjunctions(r, v, t, threshold_km=thr, **kwargs)
        assert np.array_equal(got[key], ref[key]), kwargs
    watch = np.array([3, 50, 149])
    got = screen_conjunctions(r, v, t, threshold_km=thr, watch=watch)
    sel = ref[np.isin(ref["i"], watch) | np.isin(ref["j"], watch)]
    assert len(sel) > 0 and np.array_equal(got[key], sel[key])
    mask = np.zeros(len(r), dtype=bool)
    mask[watch] = True
    assert np.array_equal(screen_conjunctions(r, v, t, threshold_km=thr, watch=mask)[key], sel[key])


def test_nan_objects_are_skipped_not_raised():
    rng = np.random.default_rng(5)
    bg_r, bg_v = circular_states(rng, 60, 6878.0, 6900.0, 180.0)
    t = np.arange(0.0, 3600.0 * 2 + 1.0, 60.0)
    r, v = Kepler(bg_r, bg_v).states(t)
    full = screen_conjunctions(r, v, t, threshold_km=80.0)
    assert len(full) > 0
    victim = int(full["i"][0])
    r2 = r.copy()
    r2[victim] = np.nan  # failed propagation of one object in a good batch
    got = screen_conjunctions(r2, v, t, threshold_km=80.0)
    keep = (full["i"] != victim) & (full["j"] != victim)
    assert np.array_equal(got[["i", "j", "tca_s"]], full[keep][["i", "j", "tca_s"]])


def test_tca_between_samples_on_straight_lines_is_exact():
    # two straight lines (Hermite-exact): closest approach at t = 1234.5 s, miss 1.2 km, 10 km/s
    t = np.arange(0.0, 3000.0, 600.0)
    tca, miss, speed = 1234.5, 1.2, 10.0
    ra = np.stack([speed * (t - tca), np.zeros_like(t), np.full_like(t, 40000.0)], -1)
    rb = np.stack([np.zeros_like(t), np.full_like(t, miss), np.full_like(t, 40000.0)], -1)
    va = np.tile([speed, 0.0, 0.0], (len(t), 1))
    vb = np.zeros_like(va)
    table = screen_conjunctions(np.stack([ra, rb]), np.stack([va, vb]), t, threshold_km=THRESHOLD_KM)
    assert table.dtype == CONJUNCTION_DTYPE and len(table) == 1
    (c,) = conjunctions_from_table(table)
    assert (c.i, c.j, c.at_window_edge) == (0, 1, False)
    assert c.tca_s == pytest.approx(tca, abs=1e-9)
    assert c.miss_km == pytest.approx(miss, abs=1e-9)
    assert c.relative_speed_km_s == pytest.approx(speed, abs=1e-9)
    np.testing.assert_allclose(c.r_j_gcrs_km, [0.0, miss, 40000.0], atol=1e-9)
    tcas, ranges, edge = closest_approaches(ra, va, rb, vb, t)
    np.testing.assert_allclose(tcas, [tca], atol=1e-9)
    np.testing.assert_allclose(ranges, [miss], atol=1e-9)


def test_window_edge_minima_are_flagged():
    # receding from the start and approaching at the end: both edges are minima within the window
    t = np.arange(0.0, 601.0, 60.0)
    ra = np.stack([0.001 * t, np.zeros_like(t), np.full_like(t, 7000.0)], -1)
    rb = np.stack([np.zeros_like(t), np.full_like(t, 1.0), np.full_like(t, 7000.0)], -1)
    va = np.tile([0.001, 0.0, 0.0], (len(t), 1))
    table = screen_conjunctions(np.stack([ra, rb]), np.stack([va, np.zeros_like(va)]), t)
    assert table["at_window_edge"].tolist() == [True] and table["tca_s"][0] == 0.0
    # still approaching at the last sample (closest would be 60 s after the window)
    ra_end = np.stack([0.001 * (t[-1] + 60.0 - t), np.zeros_like(t), np.full_like(t, 7000.0)], -1)
    table = screen_conjunctions(np.stack([ra_end, rb]), np.stack([-va, np.zeros_like(va)]), t)
    assert table["at_window_edge"].tolist() == [True] and table["tca_s"][0] == t[-1]


def test_streamed_source_and_input_errors():
    rng = np.random.default_rng(3)
    bg_r, bg_v = circular_states(rng, 40, 6878.0, 6900.0, 180.0)
    kep = Kepler(bg_r, bg_v)
    t = np.arange(0.0, 7200.0 + 1.0, 60.0)
    r, v = kep.states(t)
    calls = []

    def states_at(t_chunk):
        calls.append(len(t_chunk))
        return kep.states(t_chunk)

    got = screen_conjunctions_streamed(states_at, t, len(kep), threshold_km=100.0, chunk_steps=25)
    ref = screen_conjunctions(r, v, t, threshold_km=100.0)
    assert max(calls) == 26 and np.array_equal(got[["i", "j"]], ref[["i", "j"]])
    np.testing.assert_allclose(got["tca_s"], ref["tca_s"], atol=1e-6)
    with pytest.raises(ConfigError, match="threshold_km"):
        screen_conjunctions(r, v, t, threshold_km=-1.0)
    with pytest.raises(ConfigError, match="t_s"):
        screen_conjunctions(r, v, t[::-1])
    with pytest.raises(ConfigError, match="shape"):
        screen_conjunctions(r[:, :-1], v, t)
    with pytest.raises(ConfigError, match="watch"):
        screen_conjunctions(r, v, t, watch=[len(r)])


def test_hermite_interpolant_error_budget_in_leo():
    # the documented bound omega^4 r h^4 / 384 for a circular LEO orbit at 60 s
    rng = np.random.default_rng(1)
    r0, v0 = circular_states(rng, 1, 6778.0, 6778.0, 50.0)
    kep = Kepler(r0, v0)
    t = np.array([0.0, 60.0])
    r, v = kep.states(t)
    s = np.linspace(0, 1, 101)
    exact, _ = kep.states(60.0 * s)
    approx = hermite_position(r[0, 0], v[0, 0], r[0, 1], v[0, 1], 60.0, s)
    omega = math.sqrt(MU_KM3_S2 / 6778.0**3)
    bound = omega**4 * 6778.0 * 60.0**4 / 384
    assert np.max(np.linalg.norm(approx - exact[0], axis=-1)) <= 1.01 * bound
