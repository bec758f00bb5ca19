"""Dask executor with 1 versus 2 workers (``monitor.executor``), same run.

    .venv/bin/python bench/bench_dask.py [--objects 4000] [--screen-objects 5000] [--repeat 3]

Two operations of the cycle through ``make_executor("local", n_workers=k)``
(a ``LocalCluster`` of k single-threaded worker processes on 127.0.0.1):

1. ``propagate_sgp4``: a seeded synthetic catalogue of OMM mean elements
   (LEO 70 %, MEO 15 %, GEO 15 %) over 24 h at 60 s, GCRS.  Element sets go
   to the workers as plain data, the states (48 bytes each) come back to
   the client: that transfer is part of the time, as it is in the cycle.
2. ``screen``: all-versus-all conjunction screening (5 km) of
   ``bench_screening``'s synthetic catalogue (LEO/MEO/GEO + built
   encounters), 24 h at 60 s, split into time windows that share their end
   sample.

Each row: median of ``--repeat`` timed calls after one warm-up call on the
same cluster (worker imports, numba cache loads excluded; cluster start-up
reported in the note).  The in-process time is in the note for reference,
and every Dask result is checked identical to it.  On a 2-core machine
shared with other jobs the speed-up is bounded by what the other jobs
leave free.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.common import record  # noqa: E402
from monitor.executor import make_executor  # noqa: E402
from propagators.elements import MeanElements  # noqa: E402
from propagators.timeutil import parse_iso_utc, time_grid  # noqa: E402


def synthetic_elements(n: int, seed: int = 20260822) -> list[MeanElements]:
    """Seeded OMM mean elements: LEO (70 %), MEO (15 %), GEO (15 %)."""
    rng = np.random.default_rng(seed)
    epoch = datetime(2026, 8, 21, 12, tzinfo=timezone.utc)
    kind = rng.choice(3, n, p=[0.70, 0.15, 0.15])
    mm = np.where(kind == 0, rng.uniform(13.0, 15.6, n), np.where(kind == 1, rng.uniform(1.9, 2.3, n),
                                                                  rng.uniform(0.995, 1.005, n)))
    ecc = np.where(kind == 2, rng.uniform(0, 1e-3, n), rng.uniform(0, 0.02, n))
    inc = np.where(kind == 2, rng.uniform(0, 15, n), rng.uniform(0, 110, n))
    return [
        MeanElements(format="omm-json", norad_id=90000 + i, epoch_utc=epoch, mean_motion_rev_day=float(mm[i]),
                     eccentricity=float(ecc[i]), inclination_deg=float(inc[i]), raan_deg=float(rng.uniform(0, 360)),
                     arg_perigee_deg=float(rng.uniform(0, 360)), mean_anomaly_deg=float(rng.uniform(0, 360)),
                     bstar_per_earth_radius=float(rng.uniform(0, 1e-4)) if kind[i] == 0 else 0.0)
        for i in range(n)
    ]


def timed(fn, repeat: int):
    fn()  # warm-up: worker imports, numba cache
    samples = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=4000)
    ap.add_argument("--screen-objects", type=int, default=5000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    from bench.bench_screening import synthetic_catalogue

    elements = synthetic_elements(args.objects)
    start_utc = parse_iso_utc("2026-08-22T00:00:00Z")
    t = time_grid(start_utc, start_utc + timedelta(hours=args.hours), 60.0)
    t_s = np.arange(0.0, args.hours * 3600.0 + 30.0, 60.0)
    cat = synthetic_catalogue(args.screen_objects, horizon_s=t_s[-1])
    r_s, v_s = cat.states_at(t_s)

    inproc = make_executor("inprocess")
    t_in_prop, ref_prop = timed(lambda: inproc.propagate_sgp4(elements, t, "GCRS"), args.repeat)
    t_in_scr, ref_scr = timed(lambda: inproc.screen(r_s, v_s, t_s, threshold_km=5.0), args.repeat)
    print(f"in-process: SGP4 {t_in_prop:.2f} s, screening {t_in_scr:.2f} s ({len(ref_scr)} conjunctions)")

    res = {}
    for k in (1, 2):
        t0 = time.perf_counter()
        with make_executor("local", n_workers=k, threads_per_worker=1, processes=True) as ex:
            start = time.perf_counter() - t0
            tp, prop = timed(lambda: ex.propagate_sgp4(elements, t, "GCRS"), args.repeat)
            ts, scr = timed(lambda: ex.screen(r_s, v_s, t_s, threshold_km=5.0), args.repeat)
        same = (prop.r_km.tobytes() == ref_prop.r_km.tobytes() and prop.v_km_s.tobytes() == ref_prop.v_km_s.tobytes()
                and scr.tobytes() == ref_scr.tobytes())
        res[k] = (start, tp, ts, same)
        print(f"{k} worker(s): start {start:.1f} s, SGP4 {tp:.2f} s, screening {ts:.2f} s, identical: {same}")

    n, m = len(elements), len(t)
    record("dask_sgp4_2_vs_1_workers",
           f"executor.propagate_sgp4, {n:,} synthetic OMM x {m} epochs (24 h, 60 s), GCRS: LocalCluster 2 workers "
           "vs 1 worker (1 thread each, processes)", res[2][1], res[1][1],
           f"in-process {t_in_prop:.2f} s; states shipped back to the client included; identical to in-process: "
           f"{res[1][3] and res[2][3]}; cluster start {res[1][0]:.1f} / {res[2][0]:.1f} s excluded",
           identical=bool(res[1][3] and res[2][3]))
    record("dask_screen_2_vs_1_workers",
           f"executor.screen all-vs-all, {args.screen_objects:,} objects x {len(t_s)} samples, 5 km, time windows: "
           "LocalCluster 2 workers vs 1 worker", res[2][2], res[1][2],
           f"in-process {t_in_scr:.2f} s; {len(ref_scr)} conjunctions, identical to in-process: "
           f"{res[1][3] and res[2][3]}", identical=bool(res[1][3] and res[2][3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
