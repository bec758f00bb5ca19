"""Demo databases for the dashboard tests (and for looking at the dashboard).

``build_demo_database(url)`` fills a migrated database with:

* the 152 real TLEs packaged in ssa-data-benchmarks (July 2026), ingested
  2026-07-20 18:00 UTC, plus one synthetic translunar-injection stage
  (``DEMO TLI STAGE``, catalogue 99001, perigee 500 km, apogee 150,000 km)
  whose outbound leg crosses the LEO, GNSS and GEO regions in the window;
* two propagation cycles (runs) and, for the second, stored GCRS states of
  every object over 24 h every 10 min, written as the service writes them;
* a conjunction between two real satellites, NOAA 15 (25338) and METOP-B
  (38771), on 2026-07-21 near 02:25 UTC, as two updates: the first from
  older element sets (the same orbits a day earlier, drifted with J2, known
  on 2026-07-19), the second from the real TLEs.  TCA and miss distance of
  each update are found here by a fine time search written for the test
  (a 1 s grid, then golden-section search on python-sgp4 to 1e-7 s),
  independently of the dashboard's replay;
* region entries of the TLI stage found by the screening core
  (``propagators.screening.regions.region_crossings``), alerts in the
  three states with their audit rows, outbox rows (one dead letter), data
  source statuses and a fresh service heartbeat.

``add_synthetic_catalogue(url, n)`` bulk-inserts ``n`` more objects with
element sets and a new cycle of stored states for every object, for the
10,000-object speed test.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sgp4.api import Satrec
from sqlalchemy import insert, select

from db import migrate, queries
from db.engine import make_engine, session_factory
from db.models import (
    Alert,
    AlertAction,
    ElementSet,
    Event,
    EventUpdate,
    OutboxMessage,
    Run,
    SourceStatus,
    SpaceObject,
)
from propagators import sgp4_batch
from propagators.datadir import packaged_tle_json_path
from propagators.elements import MeanElements
from propagators.parsing.detect import parse_packaged_tle_json
from propagators.regime import classify_mean_elements, propagator_for
from propagators.timeutil import datetimes_utc, time_grid

UTC = timezone.utc
PRIMARY_NORAD = 25338  # NOAA 15
SECONDARY_NORAD = 38771  # METOP-B
TLI_NORAD = 99001
TESS_NORAD = 43435
REAL_INGESTED_AT = datetime(2026, 7, 20, 18, 0, tzinfo=UTC)
OLD_INGESTED_AT = datetime(2026, 7, 19, 18, 0, tzinfo=UTC)
RUN1_START = datetime(2026, 7, 19, 20, 0, tzinfo=UTC)
RUN2_START = datetime(2026, 7, 20, 20, 0, tzinfo=UTC)
CYCLE_HOURS = 24.0
CYCLE_STEP_S = 600.0
SEARCH_START = datetime(2026, 7, 21, 1, 25, tzinfo=UTC)  # the approach is near 02:25
SEARCH_STOP = datetime(2026, 7, 21, 3, 25, tzinfo=UTC)
J2 = 1.08262668e-3  # WGS72, as SGP4
MU_KM3_S2 = 398600.8
RE_KM = 6378.135


@dataclass
class Approach:
    tca_utc: datetime
    miss_km: float
    relative_speed_km_s: float
    pc: float
    element_set_ids: tuple[int, int]
    seen_at: datetime
    run_id: int


@dataclass
class DemoInfo:
    url: str
    primary_id: int
    secondary_id: int
    event_id: int
    approaches: list[Approach]
    run_ids: list[int]
    tli_id: int
    tess_id: int | None
    alert_ids: dict[str, int] = field(default_factory=dict)
    region_event_ids: list[int] = field(default_factory=list)


# ---------------------------------------------------------------- fine search (test's own)

def _jd(t: datetime) -> tuple[float, float]:
    """Two-part UTC Julian date (midnight-based whole part, fraction)."""
    from propagators.timeutil import Time

    tt = Time(t, scale="utc")
    return float(tt.jd1), float(tt.jd2)


def fine_close_approach(sat1: Satrec, sat2: Satrec, start: datetime, stop: datetime) -> tuple[datetime, float, float]:
    """(TCA, miss km, relative speed km/s) by brute force: range on a 1 s
    grid with python-sgp4, then golden-section search to 1e-7 s.  Distances
    in TEME (the same as in GCRS: one rotation for both objects)."""
    jd1, jd2 = _jd(start)
    span = (stop - start).total_seconds()
    t = np.arange(0.0, span + 0.5, 1.0)
    fr = jd2 + t / 86400.0
    jd = np.full(t.shape, jd1)
    e1, r1, _ = sat1.sgp4_array(jd, fr)
    e2, r2, _ = sat2.sgp4_array(jd, fr)
    assert not e1.any() and not e2.any()
    d = np.linalg.norm(r1 - r2, axis=-1)
    k = int(np.argmin(d))
    assert 0 < k < len(t) - 1, "the closest approach must be inside the search window"

    def rng(x: float) -> float:
        f = jd2 + x / 86400.0
        _, a, _ = sat1.sgp4(jd1, f)
        _, b, _ = sat2.sgp4(jd1, f)
        return math.dist(a, b)

    lo, hi = t[k] - 1.0, t[k] + 1.0
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, dd = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = rng(c), rng(dd)
    while hi - lo > 1e-7:
        if fc < fd:
            hi, dd, fd = dd, c, fc
            c = hi - g * (hi - lo)
            fc = rng(c)
        else:
            lo, c, fc = c, dd, fd
            dd = lo + g * (hi - lo)
            fd = rng(dd)
    x = 0.5 * (lo + hi)
    f = jd2 + x / 86400.0
    _, a, va = sat1.sgp4(jd1, f)
    _, b, vb = sat2.sgp4(jd1, f)
    tca = start + timedelta(microseconds=round(x * 1e6))
    return tca, math.dist(a, b), math.dist(va, vb)


def _pc_teme(sat1: Satrec, sat2: Satrec, tca: datetime, regimes=("LEO", "LEO"), ages=(1.0, 1.0)) -> float:
    from propagators.screening.pc import Conjunction, compute_pc

    jd1, jd2 = _jd(tca)
    _, r1, v1 = sat1.sgp4(jd1, jd2)
    _, r2, v2 = sat2.sgp4(jd1, jd2)
    conj = Conjunction(np.array(r1), np.array(v1), None, np.array(r2), np.array(v2), None, tca=tca, frame="TEME",
                       regime1=regimes[0], regime2=regimes[1], element_age_days1=ages[0], element_age_days2=ages[1])
    return float(compute_pc(conj, method="foster", check_usage=False).pc)


def older_set(me: MeanElements, days: float) -> MeanElements:
    """The same orbit ``days`` earlier: mean anomaly, RAAN and argument of
    perigee moved back by their J2 secular rates (Vallado, eqs. 9-41/9-42)."""
    n = me.mean_motion_rev_day * 2 * math.pi / 86400.0
    a = (MU_KM3_S2 / n**2) ** (1 / 3)
    e, i = me.eccentricity, math.radians(me.inclination_deg)
    p = a * (1 - e * e)
    k = 1.5 * J2 * (RE_KM / p) ** 2 * n
    raan_dot = -k * math.cos(i)
    argp_dot = 0.5 * k * (5 * math.cos(i) ** 2 - 1)
    m_dot = n + 0.5 * k * math.sqrt(1 - e * e) * (3 * math.cos(i) ** 2 - 1)
    dt = -days * 86400.0
    return MeanElements(
        format="omm-kvn", norad_id=me.norad_id, epoch_utc=me.epoch_utc + timedelta(seconds=dt),
        mean_motion_rev_day=me.mean_motion_rev_day, eccentricity=e, inclination_deg=me.inclination_deg,
        raan_deg=(me.raan_deg + math.degrees(raan_dot * dt)) % 360, arg_perigee_deg=(me.arg_perigee_deg + math.degrees(argp_dot * dt)) % 360,
        mean_anomaly_deg=(me.mean_anomaly_deg + math.degrees(m_dot * dt)) % 360, bstar_per_earth_radius=me.bstar_per_earth_radius,
        mean_motion_dot_rev_day2=me.mean_motion_dot_rev_day2, name=me.name, intl_designator=me.intl_designator,
        raw_text=f"older set of {me.norad_id} for the dashboard tests",
    )


def tli_stage(epoch: datetime) -> MeanElements:
    """Synthetic translunar-injection stage: perigee 500 km 6 h after epoch, apogee 150,000 km."""
    rp, ra = RE_KM + 500.0, 150_000.0
    a, e = (rp + ra) / 2, (ra - rp) / (ra + rp)
    n = math.sqrt(398600.4418 / a**3)
    return MeanElements(
        format="omm-kvn", norad_id=TLI_NORAD, epoch_utc=epoch, mean_motion_rev_day=n * 86400 / (2 * math.pi),
        eccentricity=e, inclination_deg=28.5, raan_deg=40.0, arg_perigee_deg=41.0,
        mean_anomaly_deg=(-math.degrees(n * 6 * 3600)) % 360, bstar_per_earth_radius=0.0,
        name="DEMO TLI STAGE", intl_designator="2026-999A", raw_text="synthetic TLI stage for the dashboard demo",
    )


# ---------------------------------------------------------------- builder

def _store(session, me: MeanElements, source: str, ingested_at: datetime) -> ElementSet:
    es = queries.add_mean_elements(session, me, source)
    assert es is not None
    es.ingested_at = ingested_at
    obj = session.get(SpaceObject, es.object_id)
    regime = classify_mean_elements(me)
    obj.regime, (obj.propagator, obj.propagator_reason) = regime, propagator_for(regime, "mean-elements")
    return es


def _cycle(session, run_id: int, start: datetime, hours: float, step_s: float, known_at: datetime) -> int:
    """Propagate every object (element sets as known at ``known_at``) and
    store the states, as ``monitor.cycle`` does."""
    pairs = [(o, e) for o, e in queries.current_element_sets(session, start, known_at_utc=known_at) if e.mean_motion_rev_day]
    t = time_grid(start, start + timedelta(hours=hours), step_s)
    sats = [sgp4_batch.satrec_from_elements(queries.mean_elements_of(e, o)) for o, e in pairs]
    res = sgp4_batch.propagate(sats, t, "GCRS")
    n = queries.insert_states(
        session.connection(), run_id=run_id, object_ids=[o.id for o, _ in pairs], element_set_ids=[e.id for _, e in pairs],
        epochs_utc=datetimes_utc(t), r_km=res.r_km, v_km_s=res.v_km_s, error_code=res.error_code, frame="GCRS",
        propagators=sgp4_batch.NAME,
    )
    run = session.get(Run, run_id)
    run.n_objects, run.n_states, run.n_errors = len(pairs), n, int(res.error_code.any(axis=1).sum())
    return n


def build_demo_database(url: str, *, migrate_first: bool = True) -> DemoInfo:
    if migrate_first:
        migrate.upgrade(url)
    engine = make_engine(url)
    Session = session_factory(engine)
    now = datetime.now(UTC)
    records = parse_packaged_tle_json(packaged_tle_json_path().read_text(), source="satellites_default.json").records
    by_norad = {me.norad_id: me for me in records}
    with Session.begin() as s:
        for me in records:
            if queries.element_set_exists(s, queries.mean_elements_hash(me)):
                continue  # the packaged file repeats a few sets
            _store(s, me, "ssa-data-benchmarks/satellites_default.json", REAL_INGESTED_AT)
        old1 = _store(s, older_set(by_norad[PRIMARY_NORAD], 1.0), "demo:older-sets", OLD_INGESTED_AT)
        old2 = _store(s, older_set(by_norad[SECONDARY_NORAD], 1.0), "demo:older-sets", OLD_INGESTED_AT)
        tli = _store(s, tli_stage(RUN2_START), "demo:tli-stage", REAL_INGESTED_AT)
        s.flush()
        ids = {o.norad_id: o.id for o in s.scalars(select(SpaceObject))}
        real = {
            n: s.scalar(select(ElementSet.id).where(ElementSet.object_id == ids[n], ElementSet.line1.is_not(None))
                        .order_by(ElementSet.epoch_utc.desc()))
            for n in (PRIMARY_NORAD, SECONDARY_NORAD)
        }
        old_ids = (old1.id, old2.id)
        tli_id = tli.object_id

    # Two cycles, as the service would have run them.
    run_ids = []
    with Session.begin() as s:
        for start in (RUN1_START, RUN2_START):
            r = Run(kind="cycle", status="ok", window_start_utc=start, window_stop_utc=start + timedelta(hours=CYCLE_HOURS),
                    step_s=CYCLE_STEP_S, started_at=start, finished_at=start + timedelta(seconds=42.5),
                    n_objects=0, n_states=0, n_errors=0)
            s.add(r)
            s.flush()
            run_ids.append(r.id)
        _cycle(s, run_ids[1], RUN2_START, CYCLE_HOURS, CYCLE_STEP_S, RUN2_START)

    # The conjunction, as each cycle saw it.
    approaches: list[Approach] = []
    with Session() as s:
        sets = {i: s.get(ElementSet, i) for i in (*old_ids, *real.values())}
        objs = {i: s.get(SpaceObject, i) for i in (ids[PRIMARY_NORAD], ids[SECONDARY_NORAD])}
        for (a_id, b_id), run_id, start in (
            (old_ids, run_ids[0], RUN1_START),
            ((real[PRIMARY_NORAD], real[SECONDARY_NORAD]), run_ids[1], RUN2_START),
        ):
            ea, eb = sets[a_id], sets[b_id]
            sa = sgp4_batch.satrec_from_elements(queries.mean_elements_of(ea, objs[ea.object_id]))
            sb = sgp4_batch.satrec_from_elements(queries.mean_elements_of(eb, objs[eb.object_id]))
            tca, miss, speed = fine_close_approach(sa, sb, SEARCH_START, SEARCH_STOP)
            ages = ((tca - ea.epoch_utc).total_seconds() / 86400, (tca - eb.epoch_utc).total_seconds() / 86400)
            approaches.append(Approach(tca, miss, speed, _pc_teme(sa, sb, tca, ages=ages), (a_id, b_id),
                                       start + timedelta(seconds=42.5), run_id))
    last = approaches[-1]
    with Session.begin() as s:
        ev = Event(
            kind="conjunction", fingerprint=f"conjunction:{PRIMARY_NORAD}:{SECONDARY_NORAD}:{last.tca_utc:%Y%m%dT%H}",
            object_id=ids[PRIMARY_NORAD], other_object_id=ids[SECONDARY_NORAD], tca_utc=last.tca_utc,
            miss_km=last.miss_km, relative_speed_km_s=last.relative_speed_km_s, pc=last.pc, pc_method="foster",
            status="active", element_set_id=last.element_set_ids[0], other_element_set_id=last.element_set_ids[1],
            propagator="sgp4", first_run_id=run_ids[0], last_run_id=run_ids[1], first_seen_at=approaches[0].seen_at,
            last_seen_at=last.seen_at, details_json=json.dumps({"threshold_km": 50.0}),
        )
        s.add(ev)
        s.flush()
        for ap in approaches:
            s.add(EventUpdate(event_id=ev.id, run_id=ap.run_id, seen_at=ap.seen_at, tca_utc=ap.tca_utc, miss_km=ap.miss_km,
                              relative_speed_km_s=ap.relative_speed_km_s, pc=ap.pc, pc_method="foster",
                              element_set_id=ap.element_set_ids[0], other_element_set_id=ap.element_set_ids[1], propagator="sgp4"))
        event_id = ev.id
        region_ids = _region_events(s, tli_id, run_ids[1])
        alert_ids = _alerts(s, event_id, region_ids, now)
        _outbox_and_sources(s, alert_ids, now)
        queries.set_service_value(s, "service.heartbeat", now.isoformat())
        tess = s.scalar(select(SpaceObject.id).where(SpaceObject.norad_id == TESS_NORAD))
    engine.dispose()
    return DemoInfo(url, ids[PRIMARY_NORAD], ids[SECONDARY_NORAD], event_id, approaches, run_ids, tli_id, tess,
                    alert_ids, region_ids)


def _region_events(s, object_id: int, run_id: int) -> list[int]:
    """Region entries and approaches of the TLI stage, found by the screening
    core (``region_crossings``) on a 60 s propagation of its element set."""
    from propagators.screening.regions import region_crossings

    es = s.scalar(select(ElementSet).where(ElementSet.object_id == object_id))
    obj = s.get(SpaceObject, object_id)
    sat = sgp4_batch.satrec_from_elements(queries.mean_elements_of(es, obj))
    t = time_grid(RUN2_START, RUN2_START + timedelta(hours=CYCLE_HOURS), 60.0)
    res = sgp4_batch.propagate([sat], t, "GCRS")
    events = region_crossings(res.r_km[0], res.v_km_s[0], t)
    seen = RUN2_START + timedelta(seconds=42.5)

    def utc(t_s: float) -> datetime:
        return RUN2_START + timedelta(microseconds=round(t_s * 1e6))

    out = []
    for k, e in enumerate(events):
        if e.kind == "exit" or (e.kind == "approach" and e.distance_km < 1e-3):
            continue  # exits close an entry; an approach that ends in an entry is that entry
        fields = dict(object_id=object_id, region=e.region, start_utc=utc(e.t_s), tca_utc=utc(e.t_extreme_s),
                      status="active", element_set_id=es.id, propagator="sgp4", first_run_id=run_id, last_run_id=run_id,
                      first_seen_at=seen, last_seen_at=seen, details_json=json.dumps({"speed_ratio": e.speed_ratio}))
        if e.kind == "entry":
            exit_ = next((x for x in events[k + 1:] if x.region == e.region and x.kind == "exit"), None)
            ev = Event(kind="region_entry", fingerprint=f"region_entry:{TLI_NORAD}:{e.region}:{utc(e.t_s):%Y%m%dT%H%M}",
                       end_utc=utc(exit_.t_s) if exit_ else None, penetration_km=e.distance_km, **fields)
        else:
            ev = Event(kind="region_approach", fingerprint=f"region_approach:{TLI_NORAD}:{e.region}:{utc(e.t_s):%Y%m%dT%H%M}",
                       miss_km=e.distance_km, **fields)
        s.add(ev)
        s.flush()
        out.append(ev.id)
    return out


def _alerts(s, event_id: int, region_ids: list[int], now: datetime) -> dict[str, int]:
    ev = s.get(Event, event_id)
    regions = [s.get(Event, i) for i in region_ids]
    first = next((r.id, r.region) for r in regions if r.kind == "region_entry")
    last = next((r.id, r.region) for r in reversed(regions) if r.kind == "region_entry")
    t0 = now - timedelta(hours=3)
    specs = [
        ("conjunction", "critical", "open", ev.id, f"Conjunction NOAA 15 / METOP-B: miss {ev.miss_km:.1f} km at {ev.tca_utc:%Y-%m-%d %H:%M} UTC",
         {"norad_ids": [PRIMARY_NORAD, SECONDARY_NORAD], "miss_km": ev.miss_km, "pc": ev.pc, "tca": ev.tca_utc.isoformat()}),
        ("region_entry", "warning", "acknowledged", first[0], f"DEMO TLI STAGE enters the {first[1]} region",
         {"norad_ids": [TLI_NORAD], "region": first[1]}),
        ("region_entry", "info", "resolved", last[0], f"DEMO TLI STAGE enters the {last[1]} region",
         {"norad_ids": [TLI_NORAD], "region": last[1]}),
    ]
    out = {}
    for kind, sev, state, evid, title, details in specs:
        a = Alert(fingerprint=f"alert:{kind}:{evid}", event_id=evid, kind=kind, rule=f"{kind}-default", severity=sev, state=state,
                  title=title, opened_at=t0, updated_at=t0, notify_count=1, last_notified_at=t0, details_json=json.dumps(details))
        if state in ("acknowledged", "resolved"):
            a.acknowledged_by, a.acknowledged_at, a.ack_note = "alice", t0 + timedelta(minutes=5), "watching it"
        if state == "resolved":
            a.resolved_by, a.resolved_at, a.resolve_note = "cislunar-monitor", t0 + timedelta(hours=1), "situation gone"
        s.add(a)
        s.flush()
        s.add(AlertAction(alert_id=a.id, action="opened", actor="cislunar-monitor", note=None, at=t0))
        s.add(AlertAction(alert_id=a.id, action="notified", actor="cislunar-monitor", note="to ops@example.org", at=t0))
        if a.acknowledged_by:
            s.add(AlertAction(alert_id=a.id, action="acknowledged", actor="alice", note="watching it", at=a.acknowledged_at))
        if a.resolved_by:
            s.add(AlertAction(alert_id=a.id, action="resolved", actor="cislunar-monitor", note="situation gone", at=a.resolved_at))
        out[state] = a.id
    return out


def _outbox_and_sources(s, alert_ids: dict[str, int], now: datetime) -> None:
    for k, (status, err) in enumerate((("sent", None), ("sent", None), ("pending", None),
                                       ("dead", "550 5.1.1 <ops@example.org>: mailbox unavailable"))):
        s.add(OutboxMessage(alert_id=alert_ids["open"], message_id=f"<demo-{k}@cislunar>", recipients="ops@example.org",
                            subject=f"[critical] demo message {k}", body_text="demo", status=status, attempts=1 if status != "dead" else 5,
                            next_attempt_at=now, last_error=err, created_at=now - timedelta(minutes=30 - k),
                            sent_at=now if status == "sent" else None))
    s.add(SourceStatus(name="celestrak-gp", last_attempt_at=now - timedelta(minutes=5), last_success_at=now - timedelta(minutes=5),
                       newest_epoch_utc=REAL_INGESTED_AT, records_last=152))
    s.add(SourceStatus(name="space-track", last_attempt_at=now - timedelta(minutes=7), last_success_at=now - timedelta(days=2),
                       last_error_at=now - timedelta(minutes=7), last_error="HTTP 500 from www.space-track.org (retrying with backoff)",
                       newest_epoch_utc=REAL_INGESTED_AT - timedelta(days=2), records_last=0))


# ---------------------------------------------------------------- 10,000 objects

def add_synthetic_catalogue(url: str, n_objects: int, *, seed: int = 20260721, hours: float = 12.0, step_s: float = 900.0) -> int:
    """Bulk-insert synthetic objects until the database holds ``n_objects``,
    then a new cycle with stored states of every object; returns its run id."""
    engine = make_engine(url)
    Session = session_factory(engine)
    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    with Session.begin() as s:
        count = len(s.scalars(select(SpaceObject.id)).all())
        m = max(0, n_objects - count)
        kind = rng.choice(["LEO", "MEO", "GEO", "HEO"], size=m, p=[0.72, 0.14, 0.1, 0.04])
        alt = np.where(kind == "LEO", rng.uniform(350, 1400, m), np.where(kind == "MEO", rng.uniform(19000, 23300, m), 35786.0))
        a = RE_KM + alt
        e = np.where(kind == "HEO", rng.uniform(0.6, 0.74, m), rng.uniform(0.0, 0.01, m))
        a = np.where(kind == "HEO", 26560.0, a)
        n_rev = np.sqrt(398600.4418 / a**3) * 86400 / (2 * math.pi)
        inc = np.where(kind == "GEO", rng.uniform(0, 2, m), np.where(kind == "HEO", 63.4, rng.uniform(0, 100, m)))
        epoch = RUN2_START - timedelta(days=1)
        objs = [{"norad_id": 200000 + i, "name": f"SYNTH {i:05d}", "regime": str(kind[i]),
                 "propagator": "sgp4", "propagator_reason": f"{kind[i]} orbit from mean elements: SGP4/SDP4",
                 "created_at": now, "updated_at": now} for i in range(m)]
        s.execute(insert(SpaceObject), objs)
        ids = dict(s.execute(select(SpaceObject.norad_id, SpaceObject.id).where(SpaceObject.norad_id >= 200000)).all())
        sets = [{"object_id": ids[200000 + i], "format": "omm-kvn", "source": "synthetic", "raw_text": f"synthetic {i}",
                 "content_hash": f"synthetic-{seed}-{i}", "epoch_utc": epoch, "ingested_at": REAL_INGESTED_AT,
                 "mean_motion_rev_day": float(n_rev[i]), "eccentricity": float(e[i]), "inclination_deg": float(inc[i]),
                 "raan_deg": float(rng.uniform(0, 360)), "arg_perigee_deg": float(rng.uniform(0, 360)),
                 "mean_anomaly_deg": float(rng.uniform(0, 360)), "bstar_per_earth_radius": 0.0,
                 "mean_motion_dot_rev_day2": 0.0, "mean_motion_ddot_rev_day3": 0.0} for i in range(m)]
        s.execute(insert(ElementSet), sets)
    start = RUN2_START + timedelta(hours=1)
    with Session.begin() as s:
        run = Run(kind="cycle", status="ok", window_start_utc=start, window_stop_utc=start + timedelta(hours=hours), step_s=step_s,
                  started_at=start, finished_at=start + timedelta(seconds=95.0), n_objects=0, n_states=0, n_errors=0)
        s.add(run)
        s.flush()
        run_id = run.id
        _cycle(s, run_id, start, hours, step_s, start)
    engine.dispose()
    return run_id
