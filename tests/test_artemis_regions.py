"""The real Artemis I (Orion) trajectory crosses the operating regions at the
times the trajectory itself implies.

Source: JPL Horizons vector table of Artemis I (COMMAND=-1023), centred on
the Earth-Moon barycentre, ICRF axes, TDB, 2 h step, 2022-11-16 09:03 to
2022-12-11 17:03 TDB (``catalog/horizons_artemis1_...csv``, see MANIFEST).

Reference crossing times come from the trajectory alone: the table's own
degree-7 Hermite interpolant evaluated every 10 s, each boundary crossing
located by linear interpolation of the signed distance between the two
samples that bracket it.  The screening code sees the same trajectory
sampled every 60 s and must place every entry and exit within
``ten_seconds`` of that reference.  The table starts at 9,724 km altitude
(after launch and the first LEO phase) and ends at 4,588 km, 40 min before
splashdown: the outbound leg leaves the GNSS MEO band and the GEO region,
the return leg enters them; there is no LEO crossing inside the table.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from propagators.ephemeris_objects import EphemerisObject
from propagators.parsing.horizons import parse_horizons
from propagators.screening.regions import GeoProtectedRegion, GnssMeoBand, LeoProtectedRegion, region_crossings
from propagators.timeutil import Time

ten_seconds = 10.0
ARTEMIS = "catalog/horizons_artemis1_2022-11-16_to_12-11_emb-centered_2h.csv"


def _trajectory(data_dir, step_s):
    path = data_dir / ARTEMIS
    table = parse_horizons(path.read_text(), source=str(path))
    eph = EphemerisObject.from_horizons(table)
    start = table.epochs[0]
    span_s = (table.epochs[-1] - start).to_value(u.s)
    results = []
    # the two legs near the Earth: first and last 12 h of the table
    for lo, hi in ((0.0, 12 * 3600.0), (span_s - 12 * 3600.0, span_s)):
        t_s = np.arange(lo, hi + 0.5 * step_s, step_s)
        t_s = t_s[t_s <= span_s]
        t = start + t_s * u.s
        r, v, status = eph.states(t)
        assert (status == 0).all()
        results.append((t_s, r, v))
    return results


def _reference_crossings(region, t_s, r_km):
    d = np.asarray(region.signed_distance_km(r_km))
    sign = np.sign(d)
    out = []
    for k in np.flatnonzero(sign[:-1] * sign[1:] < 0):
        frac = d[k] / (d[k] - d[k + 1])
        kind = "entry" if d[k] > 0 else "exit"
        out.append((kind, t_s[k] + frac * (t_s[k + 1] - t_s[k])))
    return out


@pytest.mark.slow
def test_artemis_region_crossings_match_the_trajectory(data_dir):
    regions = (LeoProtectedRegion(), GnssMeoBand(), GeoProtectedRegion())
    fine = _trajectory(data_dir, 10.0)
    coarse = _trajectory(data_dir, 60.0)
    seen_regions = set()
    for (t_f, r_f, _v_f), (t_c, r_c, v_c) in zip(fine, coarse):
        events = region_crossings(r_c[None], v_c[None], t_c, regions)
        for region in regions:
            ref = _reference_crossings(region, t_f, r_f)
            got = [(e.kind, e.t_s) for e in events if e.region == region.name and e.kind in ("entry", "exit")]
            assert len(got) == len(ref), (region.name, got, ref)
            for (k_ref, t_ref), (k_got, t_got) in zip(ref, got):
                assert k_got == k_ref
                assert abs(t_got - t_ref) < ten_seconds, (region.name, k_ref, t_got, t_ref)
            if ref:
                seen_regions.add(region.name)
    names = {r.name for r in regions}
    leo = LeoProtectedRegion().name
    assert names - {leo} <= seen_regions  # MEO band and GEO region crossed on both legs
    assert leo not in seen_regions  # the table starts and ends above LEO
