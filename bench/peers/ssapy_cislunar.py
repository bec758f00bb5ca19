"""llnl-ssapy peer (runs in .bench/venv-ssapy: ssapy 1.1.12 pulls astropy 8).

    python ssapy_cislunar.py INPUT.npz OUTPUT.npz [--repeat 3] [--objects 8]

ssapy's default numerical propagator, ``ssapy.propagator.default_numerical``
(``SciPyPropagator``: SciPy DOP853, rtol 1e-9, atol 0.1 m and 1e-4 m/s),
with the comparison's force model instead of its default acceleration
(Earth 4x4 + Sun + Moon):

* ``AccelKepler`` with the DE421 Earth GM (the project's ``PointMass``);
* ``AccelHarmonic(earth, 4, 0)``: EGM2008 zonal J2-J4 (ssapy scales them
  with EGM2008's own GM and radius, as the project does), in ssapy's Earth
  frame (IAU 1976/1980 precession-nutation, GST94 and IERS UT1: the pole
  differs from the project's IAU 2006/2000A CIP by milliarcseconds);
* ``AccelThirdBody`` Moon and Sun with the DE421 GMs, positions read from
  the same DE421 file the project uses (ssapy reads DE440 by default; its
  kernel path is pointed at DE421 below so the ephemeris is the same).
  ssapy evaluates the ephemeris at TT, the project at TDB (< 1.7 ms apart).

Time: GPS seconds (an SI-second scale, like the project's TT rate), m and
m/s; the input grid's GPS seconds are computed by astropy on the project
side.  ssapy caches propagations per (orbit, propagator) and ``rv``
results: the first cache is replaced before every timed repeat, the second
is bypassed (``return_times=True``).  One ``rv`` call per orbit, so an
orbit that ends early (Earth impact) does not shorten the others.  Prints one JSON line; writes states in
km and km/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np


def offline_iers() -> None:
    # ../shared/STACK.md: astropy 8 must never try to download IERS tables here
    from astropy.utils import iers
    from astropy.utils.data import conf as data_conf

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    data_conf.allow_internet = False
    iers.earth_orientation_table.set(iers.IERS_A.open(iers.IERS_A_FILE))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--objects", type=int, default=8)
    ap.add_argument("--tight", default=None, metavar="OUT2.npz",
                    help="also one run at rtol 1e-12 (atol 1 mm, 1e-6 mm/s) written here: separates ssapy's model "
                         "from its integration error")
    args = ap.parse_args(argv)
    offline_iers()
    import os

    os.environ.setdefault("SSAPY_EPHEMERIS_DOWNLOAD", "0")
    import ssapy
    import ssapy.body as sbody
    import ssapy.propagator as sprop
    from ssapy.accel import AccelKepler, AccelSum
    from ssapy.gravity import AccelHarmonic, AccelThirdBody, HarmonicCoefficients
    from ssapy.utils import LRU_Cache

    d = dict(np.load(args.inp))
    de421 = str(d["de421_path"])
    sbody._planetary_ephemeris_path = lambda family=None: de421  # same ephemeris as the project

    earth = sbody.Body(mu=float(d["gm_earth"]) * 1e9, radius=6378136.3, orientation=sbody.EarthOrientation(),
                       harmonics=HarmonicCoefficients.fromEGM("EGM2008"))
    moon = sbody.Body(mu=float(d["gm_moon"]) * 1e9, radius=1737.4e3, position=sbody.MoonPosition())
    sun = sbody.Body(mu=float(d["gm_sun"]) * 1e9, radius=695700e3, position=sbody.SunPosition())
    accel = AccelSum([AccelKepler(earth.mu), AccelHarmonic(earth, 4, 0), AccelThirdBody(moon), AccelThirdBody(sun)])
    prop = sprop.default_numerical(accel=accel)

    n = min(args.objects, d["r0_km"].shape[0])
    r0 = d["r0_km"][:n] * 1e3
    v0 = d["v0_km_s"][:n] * 1e3
    t_gps = d["t_gps_s"]
    orbits = [ssapy.Orbit(r0[i], v0[i], float(d["epoch_gps_s"])) for i in range(n)]
    r = np.full((n, t_gps.size, 3), np.nan)
    v = np.full((n, t_gps.size, 3), np.nan)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ssapy's own deprecation chatter; results are checked by the caller
        for _ in range(max(1, args.repeat)):
            sprop._InterpolantCache = LRU_Cache(sprop._getInterpolantContainer)  # no cached solution
            t0 = time.perf_counter()
            for i, orbit in enumerate(orbits):
                # one orbit per call: an orbit that hits the Earth ends early without cutting the others'
                # epochs; return_times also bypasses rv()'s own result cache
                ri, vi, ti = ssapy.rv(orbit, t_gps, propagator=prop, return_times=True)
                k = np.searchsorted(t_gps, ti)
                r[i, k] = np.reshape(ri, (-1, 3))
                v[i, k] = np.reshape(vi, (-1, 3))
            times.append(time.perf_counter() - t0)
    r = r / 1e3
    v = v / 1e3
    tight_s = None
    if args.tight:
        tight = sprop.SciPyPropagator(accel, ode_kwargs=dict(method="DOP853", rtol=1e-12,
                                                             atol=(1e-3, 1e-3, 1e-3, 1e-9, 1e-9, 1e-9)))
        rt = np.full((n, t_gps.size, 3), np.nan)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, orbit in enumerate(orbits):
                ri, _, ti = ssapy.rv(orbit, t_gps, propagator=tight, return_times=True)
                rt[i, np.searchsorted(t_gps, ti)] = np.reshape(ri, (-1, 3)) / 1e3
        tight_s = time.perf_counter() - t0
        np.savez(args.tight, r_km=rt)
    np.savez(args.out, r_km=r, v_km_s=v)
    from importlib.metadata import version

    print(json.dumps({
        "peer": "llnl-ssapy", "version": version("llnl-ssapy"), "propagator": repr(prop)[:120],
        "ode_kwargs": {k: (list(x) if isinstance(x, tuple) else x) for k, x in prop.ode_kwargs.items()},
        "times_s": times, "median_s": statistics.median(times), "n_objects": n, "tight_s": tight_s,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
