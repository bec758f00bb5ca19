"""Benchmark: 100 cislunar objects x 30 days, Earth J2-J4 + Moon + Sun + SRP.

Run:  .venv/bin/python bench/bench_numerical.py [--objects 100] [--days 30]

Prints the time per object-month of ``propagators.numerical.propagate_states``
at its default tolerances and the worst position difference against a
tight-tolerance reference run (rtol 1e-13, atol 1e-12) of the same model
(requirement: <= 10 m).  Peers measured on this machine kind
(../shared/STACK.md): llnl-ssapy's default numerical propagator 1.1-2.4 s per
object-month; heyoka's Taylor integrator 0.2-0.5 ms per object-month.

Objects (deterministic, seed 2022):
* half are Artemis-I-like states: Orion's Horizons state of 2022-11-26
  01:03 TDB in the distant retrograde lunar orbit (~90,000 km from the Moon;
  numbers pasted below) with random offsets of up to 20 km and 5 m/s, so
  they cross the Moon's sphere of influence (centre switches) repeatedly;
* half are high-apogee orbits: perigee altitude 500-20,000 km, apogee
  radius 150,000-350,000 km, random orientation and phase.
Area-to-mass 0.005-0.05 m^2/kg, Cr 1.0-1.8, conical shadow.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from propagators import timeutil  # noqa: F401
from astropy.time import Time
import astropy.units as u

from propagators.forces import EARTH, MOON, SUN, SRP, EarthZonal, ForceModel, PointMass, ThirdBody
from propagators.numerical import NUMERICAL_ERRORS, propagate_states

# Artemis I (Orion) in its distant retrograde orbit, JPL Horizons,
# 2022-Nov-26 01:03:00 TDB (JD 2459909.543750000), centre 500@3 (EMB), ICRF
# (../shared/data/catalog/horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv);
# converted to geocentric with DE421 Earth-EMB.
ARTEMIS_EMB_R_KM = np.array([1.039619876369810e05, -3.294782187550900e05, -1.772534438928487e05])
ARTEMIS_EMB_V_KM_S = np.array([9.743515719731394e-01, -2.696307704197012e-02, -8.233474356523687e-02])
EPOCH = Time(2459909.543750000, format="jd", scale="tdb")
MU_EARTH = 398600.436233


def make_objects(n: int, rng: np.random.Generator):
    from propagators.ephemeris import de421

    re, ve = de421().state("earth", "emb", EPOCH.jd1, EPOCH.jd2)
    r_art = ARTEMIS_EMB_R_KM - re
    v_art = ARTEMIS_EMB_V_KM_S - ve
    n_art = n // 2
    r = np.empty((n, 3))
    v = np.empty((n, 3))
    r[:n_art] = r_art + rng.uniform(-20.0, 20.0, (n_art, 3))
    v[:n_art] = v_art + rng.uniform(-5e-3, 5e-3, (n_art, 3))
    for i in range(n_art, n):
        rp = 6378.0 + rng.uniform(500.0, 20000.0)
        ra = rng.uniform(150000.0, 350000.0)
        a = 0.5 * (rp + ra)
        e = (ra - rp) / (ra + rp)
        nu = rng.uniform(0, 2 * np.pi)
        p = a * (1 - e * e)
        rr = p / (1 + e * np.cos(nu))
        r_pf = np.array([rr * np.cos(nu), rr * np.sin(nu), 0.0])
        v_pf = np.sqrt(MU_EARTH / p) * np.array([-np.sin(nu), e + np.cos(nu), 0.0])
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        r[i] = q @ r_pf
        v[i] = q @ v_pf
    am = rng.uniform(0.005, 0.05, n)
    cr = rng.uniform(1.0, 1.8, n)
    return r, v, am, cr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=100)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--rtol", type=float, default=None, help="default: the propagator's")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    rng = np.random.default_rng(2022)
    r0, v0, am, cr = make_objects(args.objects, rng)
    model = ForceModel([
        PointMass(EARTH), EarthZonal(degree=4), ThirdBody(MOON), ThirdBody(SUN),
        SRP(area_to_mass_m2_kg=am, cr=cr, shadow="conical"),
    ])
    times = EPOCH + np.linspace(0.0, args.days, int(args.days * 24) + 1) * u.day  # hourly samples
    kw = {} if args.rtol is None else {"rtol": args.rtol}

    t0 = time.perf_counter()
    warm_model = ForceModel(model.terms[:-1] + (SRP(0.01, 1.3),))
    propagate_states(r0[:2], v0[:2], EPOCH, times[:3], warm_model, **kw)  # compile / load the numba cache
    t_warm = time.perf_counter() - t0

    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        r, v, status = propagate_states(r0, v0, EPOCH, times, model, workers=args.workers, **kw)
        best = min(best, time.perf_counter() - t0)
    single = np.inf
    single_cpu = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        c0 = time.thread_time()
        propagate_states(r0, v0, EPOCH, times, model, workers=1, **kw)
        single = min(single, time.perf_counter() - t0)
        single_cpu = min(single_cpu, time.thread_time() - c0)

    r_ref, _, status_ref = propagate_states(r0, v0, EPOCH, times, model, rtol=1e-13, atol=1e-12)
    ok = (status == 0) & (status_ref == 0)
    diff_m = np.linalg.norm(r - r_ref, axis=-1) * 1e3
    worst = np.nanmax(diff_m[ok]) if ok.any() else np.nan

    months = args.objects * args.days / 30.0
    print(f"objects: {args.objects}, span: {args.days} d, samples: {times.size}, model: "
          "Earth PM + J2-J4 + Moon + Sun + SRP (conical)")
    print(f"first call (numba compile or cache load): {t_warm:.2f} s")
    print(f"wall time, all cores: {best:.3f} s -> {1e3 * best / months:.2f} ms per object-month")
    print(f"wall time, 1 thread:  {single:.3f} s -> {1e3 * single / months:.2f} ms per object-month "
          f"(CPU {1e3 * single_cpu / months:.2f} ms; the machine may be shared)")
    print(f"status counts: " + ", ".join(
        f"{NUMERICAL_ERRORS[c]}: {int((status == c).sum())}" for c in np.unique(status)))
    print(f"max |r - r_ref| over {int(ok.sum())} objects x {times.size} samples: {worst:.4f} m "
          "(reference rtol 1e-13, atol 1e-12; requirement <= 10 m)")
    per_obj = np.max(diff_m[ok], axis=1)
    print(f"per-object worst difference: median {np.nanmedian(per_obj):.4f} m, "
          f"95th percentile {np.nanpercentile(per_obj, 95):.4f} m")
    print("peers: llnl-ssapy default 1100-2400 ms/object-month; heyoka 0.2-0.5 ms/object-month")


if __name__ == "__main__":
    main()
