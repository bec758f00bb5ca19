"""heyoka peer (runs in .bench/venv-heyoka: heyoka 7.13 needs numpy >= 2).

    python heyoka_cislunar.py INPUT.npz OUT_PREFIX [--repeat 3] [--tols 0,1e-12,1e-10]

The force model of ``bench/bench_peers.py``'s comparison, written as a
heyoka ODE: Earth point mass + zonal J2-J4 about the true (CIP) pole + Moon
and Sun point masses (third-body form with the indirect term).  Everything
the model needs comes from the project in INPUT.npz, so both sides use the
same numbers:

* GMs (DE421 for the point masses; EGM2008 GM and radius for the zonal
  terms, as ``propagators.forces.EarthZonal``) and J2-J4;
* the DE421 geocentric Moon and Sun positions and the CIP unit vector as
  Chebyshev series per one-day segment, fitted on the project side to
  DE421 / ERFA ``pnm06a`` at the exact TDB of each TT instant (fit residuals
  are in INPUT.npz and printed; they are micrometres).  Each segment's
  coefficients are the integrator's runtime parameters (``hy.par``), so one
  compiled integrator covers the whole month.

Time variable: TT seconds from the epoch (the dynamical time of the
geocentric frame, as the project's propagator), km and km/s.  Objects are
integrated ``recommended_simd_size()`` at a time with
``taylor_adaptive_batch`` (SIMD lanes), the way heyoka is meant to be used
for ensembles.  For each tolerance (0: heyoka's default, machine epsilon)
prints timings in one JSON line and writes the states to OUT_PREFIX_<k>.npz.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import heyoka as hy
import numpy as np


def chebyshev_terms(x, degree):
    terms = [1.0 + 0.0 * x, x]
    for _ in range(2, degree + 1):
        terms.append(2.0 * x * terms[-1] - terms[-2])
    return terms[: degree + 1]


def build_system(d):
    xs = hy.make_vars("x", "y", "z", "vx", "vy", "vz")
    x, y, z, vx, vy, vz = xs
    dm, ds, dp = int(d["deg_moon"]), int(d["deg_sun"]), int(d["deg_pole"])
    # parameter layout: mid, half, Moon (3 x dm+1), Sun (3 x ds+1), pole (3 x dp+1)
    off_m = 2
    off_s = off_m + 3 * (dm + 1)
    off_p = off_s + 3 * (ds + 1)
    n_par = off_p + 3 * (dp + 1)
    s = (hy.time - hy.par[0]) / hy.par[1]
    deg = max(dm, ds, dp)
    T = chebyshev_terms(s, deg)

    def series(off, degree, c):
        return hy.sum([hy.par[off + c * (degree + 1) + k] * T[k] for k in range(degree + 1)])

    moon = [series(off_m, dm, c) for c in range(3)]
    sun = [series(off_s, ds, c) for c in range(3)]
    pole = [series(off_p, dp, c) for c in range(3)]

    gm_e = float(d["gm_earth"])
    r2 = x * x + y * y + z * z
    r = hy.sqrt(r2)
    r3 = r2 * r
    ax = -gm_e * x / r3
    ay = -gm_e * y / r3
    az = -gm_e * z / r3

    # zonal J2-J4 about the pole p:  a = (mu/r^2) sum J_n q^n [P'_{n+1}(u) r_hat - P'_n(u) p]
    J = d["j_n"]
    gmz = float(d["gm_zonal"])
    q = float(d["radius_zonal"]) / r
    u = (x * pole[0] + y * pole[1] + z * pole[2]) / r
    dP = {
        2: 3.0 * u,
        3: (15.0 * u**2 - 3.0) / 2.0,
        4: (35.0 * u**3 - 15.0 * u) / 2.0,
        5: (315.0 * u**4 - 210.0 * u**2 + 15.0) / 8.0,
    }
    sr = hy.sum([float(J[n]) * q**n * dP[n + 1] for n in range(2, 5)])
    sp = hy.sum([float(J[n]) * q**n * dP[n] for n in range(2, 5)])
    c = gmz / r2
    ax += c * (sr * x / r - sp * pole[0])
    ay += c * (sr * y / r - sp * pole[1])
    az += c * (sr * z / r - sp * pole[2])

    for gm, b in ((float(d["gm_moon"]), moon), (float(d["gm_sun"]), sun)):
        dx, dy, dz = b[0] - x, b[1] - y, b[2] - z
        dd = dx * dx + dy * dy + dz * dz
        d3 = dd * hy.sqrt(dd)
        bb = b[0] * b[0] + b[1] * b[1] + b[2] * b[2]
        b3 = bb * hy.sqrt(bb)
        ax += gm * (dx / d3 - b[0] / b3)
        ay += gm * (dy / d3 - b[1] / b3)
        az += gm * (dz / d3 - b[2] / b3)
    sys_ = [(x, vx), (y, vy), (z, vz), (vx, ax), (vy, ay), (vz, az)]
    return sys_, n_par


def segment_pars(d, k):
    edges = d["seg_edges_tt_s"]
    mid = 0.5 * (edges[k] + edges[k + 1])
    half = 0.5 * (edges[k + 1] - edges[k])
    return np.concatenate([[mid, half], d["moon_cheb"][k].ravel(), d["sun_cheb"][k].ravel(),
                           d["pole_cheb"][k].ravel()])


def propagate(ta, d, bs):
    """All objects over the grid, ``bs`` lanes at a time, segment by segment."""
    r0, v0 = d["r0_km"], d["v0_km_s"]
    n = r0.shape[0]
    t_out = d["t_tt_s"]
    edges = d["seg_edges_tt_s"]
    seg_of = d["seg_index"]  # segment of each output time (edges included in the earlier one)
    out = np.full((n, t_out.size, 6), np.nan)
    for a in range(0, n, bs):
        idx = np.arange(a, a + bs) % n  # pad the last batch with repeats
        ta.set_time(np.full(bs, edges[0]))
        ta.state[:3] = r0[idx].T
        ta.state[3:] = v0[idx].T
        first = t_out[0] == edges[0]
        if first:
            out[a : a + bs, 0] = np.concatenate([r0, v0], axis=1)[idx][: min(bs, n - a)]
        for k in range(edges.size - 1):
            ta.pars[:] = segment_pars(d, k)[:, None]
            sel = np.flatnonzero((seg_of == k) & (t_out > edges[k]))
            grid = np.concatenate([[edges[k]], t_out[sel]])
            if grid[-1] != edges[k + 1]:
                grid = np.concatenate([grid, [edges[k + 1]]])
            res = ta.propagate_grid(np.repeat(grid[:, None], bs, axis=1))
            states = res[-1]  # (n_grid, 6, bs)
            for q, j in enumerate(sel):
                out[a : a + bs, j] = states[1 + q].T[: min(bs, n - a)]
            if not np.all(ta.time == edges[k + 1]):
                raise RuntimeError(f"segment {k}: integration stopped at {ta.time}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out_prefix", help="states go to OUT_PREFIX_<k>.npz, one per tolerance")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tols", default="0", help="comma-separated tolerances; 0: heyoka's default (machine epsilon)")
    args = ap.parse_args(argv)
    d = dict(np.load(args.inp))
    bs = hy.recommended_simd_size()
    runs = []
    for k, tol in enumerate(float(x) for x in args.tols.split(",")):
        t0 = time.perf_counter()
        sys_, n_par = build_system(d)
        kw = {"tol": tol} if tol > 0 else {}
        ta = hy.taylor_adaptive_batch(sys_, np.ones((6, bs)), pars=np.zeros((n_par, bs)), compact_mode=True, **kw)
        t_compile = time.perf_counter() - t0
        times = []
        out = None
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            out = propagate(ta, d, bs)
            times.append(time.perf_counter() - t0)
        path = f"{args.out_prefix}_{k}.npz"
        np.savez(path, r_km=out[:, :, :3], v_km_s=out[:, :, 3:])
        runs.append({"tol": ta.tol, "order": ta.order, "compile_s": t_compile, "times_s": times,
                     "median_s": statistics.median(times), "states": path})
    print(json.dumps({
        "peer": "heyoka", "version": hy.__version__, "numpy": np.__version__, "simd_lanes": bs,
        "n_objects": int(d["r0_km"].shape[0]), "runs": runs,
        "fit_residual_km": {"moon": float(d["fit_res_moon_km"]), "sun": float(d["fit_res_sun_km"]),
                            "pole": float(d["fit_res_pole"])},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
