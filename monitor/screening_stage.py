"""Screening stage of a cycle: conjunctions and operating-region events.

Pure geometry comes from ``propagators.screening``; this module turns its
results into ``Event`` rows with one ``EventUpdate`` per cycle, so the same
encounter seen in successive cycles is one event with a history.  Each
conjunction also gets a CCSDS CDM 2.0 file and a Pc (Foster, with
documented default covariances when the objects have none, flagged).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import queries
from db.models import Event, EventUpdate
from propagators.timeutil import iso_z

log = logging.getLogger(__name__)

# Two sightings of the same pair belong to the same event when their TCAs
# differ by less than this (element-set updates move a TCA by seconds to
# minutes; two genuine encounters of one pair are at least ~half an orbit
# apart, 45 min in LEO).
SAME_ENCOUNTER_WINDOW = timedelta(minutes=30)
PC_REGIME = {"LUNAR": "CISLUNAR", "LIBRATION": "CISLUNAR"}
# An OEM covariance block is used for a TCA within this time of its epoch
# (covariance grows along-track; farther away the documented default by
# regime and age is the honest choice).
OEM_COVARIANCE_MAX_AGE = timedelta(hours=6)
_RTN_FRAMES = {"RTN", "RSW", "RIC", "UVW", "TNW"}


def oem_covariance_at(es, tca: datetime, r_km, v_km_s):
    """(6x6 inertial covariance in km units, source) from the covariance
    block of an OEM element set nearest the TCA, or (None, "default by regime
    and element-set age") when there is none close enough."""
    default = (None, "default by regime and element-set age")
    if not es.format.startswith("oem") or "COVARIANCE" not in (es.raw_text or ""):
        return default
    from propagators.parsing.oem import parse_oem
    from propagators.screening.pc import rtn_to_inertial_cov
    from propagators.timeutil import datetimes_utc

    payload = json.loads(es.payload_json or "{}")
    seg = parse_oem(es.raw_text, source=es.source).segments[int(payload.get("segment", 0))]
    best = None
    for cov in seg.covariances:
        when = datetimes_utc(cov.epoch)[0]
        gap = abs(when - tca)
        if gap <= OEM_COVARIANCE_MAX_AGE and (best is None or gap < best[0]):
            best = (gap, cov, when)
    if best is None:
        return default
    _, cov, when = best
    frame = (cov.ref_frame or seg.metadata.ref_frame or "").upper()
    matrix = np.asarray(cov.matrix, dtype=float)
    if frame in _RTN_FRAMES:
        matrix = rtn_to_inertial_cov(matrix, np.asarray(r_km), np.asarray(v_km_s))
    return matrix, f"OEM covariance ({frame or 'inertial'}) at {iso_z(when)}"


@dataclass
class ScreeningResult:
    conjunctions: int = 0
    region_events: int = 0
    proximity_events: int = 0
    manoeuvres: int = 0
    new_events: int = 0
    updated_events: int = 0
    gone_events: int = 0
    event_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "event_ids"}


def _upsert_event(session: Session, run_id: int, now: datetime, *, kind: str, fingerprint: str | None,
                  match, values: dict, result: ScreeningResult) -> Event:
    """Find the event this sighting continues (``match`` query) or create it;
    record the sighting as an ``EventUpdate``."""
    ev = session.scalar(match) if match is not None else None
    if ev is None:
        # The same situation by identity (pair or object, region, minute):
        # e.g. a proximity that was marked gone and is seen again.
        ev = session.scalar(select(Event).where(Event.fingerprint == fingerprint))
    if ev is None:
        ev = Event(kind=kind, fingerprint=fingerprint, first_run_id=run_id, first_seen_at=now, status="active", **values)
        ev.last_run_id, ev.last_seen_at = run_id, now
        session.add(ev)
        session.flush()
        result.new_events += 1
    else:
        for k, v in values.items():
            setattr(ev, k, v)
        ev.last_run_id, ev.last_seen_at, ev.status = run_id, now, "active"
        result.updated_events += 1
    session.add(
        EventUpdate(
            event_id=ev.id, run_id=run_id, seen_at=now,
            **{k: values.get(k) for k in (
                "tca_utc", "start_utc", "end_utc", "miss_km", "relative_speed_km_s", "penetration_km", "pc",
                "pc_method", "element_set_id", "other_element_set_id", "propagator", "details_json")},
        )
    )
    result.event_ids.append(ev.id)
    return ev


@dataclass
class Sighting:
    """One event as this cycle computed it, ready to be stored."""

    kind: str
    fingerprint: str
    values: dict
    match_window: tuple  # (column name, centre datetime) for continuing an earlier event
    cdm_text: str | None = None


def compute_sightings(arrays, *, threshold_km: float, regions=None, now: datetime | None = None,
                      write_cdm: bool = True, executor=None) -> tuple[list[Sighting], int]:
    """Pure computation (no database, no lock held): conjunctions with Pc and
    CDM text, and operating-region approaches and entries.  ``executor``
    (``monitor.executor``) runs the conjunction screen, by time windows on a
    Dask cluster when one is configured."""
    from propagators.screening.conjunctions import screen_conjunctions

    now = now or datetime.now(timezone.utc)
    epochs = arrays.epochs
    if len(epochs) < 2:
        return [], 0
    t0 = epochs[0]
    t_s = np.array([(e - t0).total_seconds() for e in epochs])
    if executor is not None:
        table = executor.screen(arrays.r_gcrs_km, arrays.v_gcrs_km_s, t_s, threshold_km=threshold_km)
    else:
        table = screen_conjunctions(arrays.r_gcrs_km, arrays.v_gcrs_km_s, t_s, threshold_km=threshold_km)
    proximity = _proximity_sightings(arrays, t_s, t0)
    # A close approach inside a sustained proximity (docked modules,
    # co-located GEO satellites, an inspector on station) is that proximity,
    # not a conjunction to re-alert every cycle.
    in_proximity = [(sg.values["_i"], sg.values["_j"], sg.values["start_utc"], sg.values["end_utc"]) for sg in proximity]
    sightings = []
    n_conj = 0
    for row in table:
        tca = t0 + timedelta(seconds=float(row["tca_s"]))
        i, j = sorted((int(row["i"]), int(row["j"])))
        if any(i == a and j == b and s0 <= tca <= s1 for a, b, s0, s1 in in_proximity):
            continue
        sightings.append(_conjunction_sighting(arrays, row, t0, now, write_cdm))
        n_conj += 1
    for sg in proximity:
        sg.values.pop("_i")
        sg.values.pop("_j")
    sightings += proximity
    sightings += _region_sightings(arrays, t_s, t0, regions)
    sightings += _manoeuvre_sightings(arrays)
    return sightings, n_conj


def screen_and_store(session: Session, run_id: int, arrays, *, threshold_km: float, cdm_dir: Path | None,
                     regions=None, now: datetime | None = None, sightings=None) -> ScreeningResult:
    """Store what ``compute_sightings`` found (computing it first when not given)."""
    now = now or datetime.now(timezone.utc)
    result = ScreeningResult()
    if sightings is None:
        sightings, n_conj = compute_sightings(arrays, threshold_km=threshold_km, regions=regions, now=now,
                                              write_cdm=cdm_dir is not None)
    else:
        sightings, n_conj = sightings
    result.conjunctions = n_conj
    result.region_events = sum(1 for s in sightings if s.kind.startswith("region_"))
    result.proximity_events = sum(1 for s in sightings if s.kind == "proximity")
    result.manoeuvres = sum(1 for s in sightings if s.kind == "manoeuvre")
    for sg in sightings:
        column = Event.tca_utc if sg.match_window[0] == "tca_utc" else Event.start_utc
        centre = sg.match_window[1]
        q = select(Event).where(Event.kind == sg.kind, Event.object_id == sg.values["object_id"])
        if sg.values.get("other_object_id") is not None:
            q = q.where(Event.other_object_id == sg.values["other_object_id"])
        if sg.values.get("region") is not None:
            q = q.where(Event.region == sg.values["region"])
        if centre is not None:
            match = q.where(column >= centre - SAME_ENCOUNTER_WINDOW, column <= centre + SAME_ENCOUNTER_WINDOW).order_by(Event.id).limit(1)
        else:  # an open-ended situation (proximity across the window): the pair's active one
            match = q.where(Event.status == "active").order_by(Event.id.desc()).limit(1)
        ev = _upsert_event(session, run_id, now, kind=sg.kind, fingerprint=sg.fingerprint, match=match,
                           values=sg.values, result=result)
        if sg.cdm_text is not None and cdm_dir is not None:
            cdm_dir.mkdir(parents=True, exist_ok=True)
            (cdm_dir / f"event-{ev.id}-run-{run_id}.cdm").write_text(
                sg.cdm_text.replace("MESSAGE_ID = CISLUNAR-PENDING", f"MESSAGE_ID = CISLUNAR-{ev.id}-{run_id}")
            )
    # Events of earlier runs whose time falls in this window but were not
    # seen now have disappeared (new element sets moved the objects apart).
    if arrays.epochs:
        stale = session.scalars(
            select(Event).where(
                Event.status == "active", Event.last_run_id != run_id,
                Event.tca_utc >= arrays.epochs[0], Event.tca_utc <= arrays.epochs[-1],
            )
        ).all()
        for ev in stale:
            ev.status = "gone"
            result.gone_events += 1
    return result


def _conjunction_sighting(arrays, row, t0, now, write_cdm: bool) -> Sighting:
    from propagators.screening.pc import Conjunction, compute_pc

    i, j = int(row["i"]), int(row["j"])
    (oi, ei), (oj, ej) = arrays.pairs[i], arrays.pairs[j]
    ri, vi, rj, vj = row["r_i_gcrs_km"], row["v_i_gcrs_km_s"], row["r_j_gcrs_km"], row["v_j_gcrs_km_s"]
    if oi.id > oj.id:  # one orientation per pair, so successive cycles match
        (oi, ei, i), (oj, ej, j) = (oj, ej, j), (oi, ei, i)
        ri, vi, rj, vj = rj, vj, ri, vi
    tca = t0 + timedelta(seconds=float(row["tca_s"]))
    age_i = (tca - ei.epoch_utc).total_seconds() / 86400.0
    age_j = (tca - ej.epoch_utc).total_seconds() / 86400.0
    cov_i, src_i = oem_covariance_at(ei, tca, ri, vi)
    cov_j, src_j = oem_covariance_at(ej, tca, rj, vj)
    conj = Conjunction(
        np.array(ri), np.array(vi), cov_i, np.array(rj), np.array(vj), cov_j, tca=tca, frame="GCRS",
        object1=oi.label, object2=oj.label,
        regime1=PC_REGIME.get(oi.regime or "GEO", oi.regime or "GEO"),
        regime2=PC_REGIME.get(oj.regime or "GEO", oj.regime or "GEO"),
        element_age_days1=age_i, element_age_days2=age_j,
    )
    pc = compute_pc(conj, method="foster")
    details = {
        "r1_gcrs_km": list(map(float, ri)), "v1_gcrs_km_s": list(map(float, vi)),
        "r2_gcrs_km": list(map(float, rj)), "v2_gcrs_km_s": list(map(float, vj)),
        "hbr_m": pc.hbr_m, "pc_warnings": pc.warnings, "at_window_edge": bool(row["at_window_edge"]),
        "element_age_days": [age_i, age_j], "covariance": [src_i, src_j],
    }
    values = dict(
        object_id=oi.id, other_object_id=oj.id, region=None, tca_utc=tca, start_utc=None, end_utc=None,
        miss_km=float(row["miss_km"]), relative_speed_km_s=float(row["relative_speed_km_s"]),
        penetration_km=None, pc=None if not math.isfinite(pc.pc) else float(pc.pc), pc_method=pc.method,
        element_set_id=ei.id, other_element_set_id=ej.id,
        propagator=",".join(sorted({arrays.propagators[i], arrays.propagators[j]})),
        details_json=json.dumps(details),
    )
    fingerprint = f"conjunction:{oi.id}:{oj.id}:{tca.strftime('%Y%m%dT%H%M')}"
    cdm = _cdm_text(conj, pc, oi, oj, now) if write_cdm else None
    return Sighting("conjunction", fingerprint, values, ("tca_utc", tca), cdm)


def _cdm_text(conj, pc, oi, oj, now) -> str:
    from dataclasses import replace

    from propagators.ccsds_cdm_write import format_cdm_kvn
    from propagators.screening.pc import default_covariance_rtn, rtn_to_inertial_cov

    cov1 = conj.cov1_km if conj.cov1_km is not None else rtn_to_inertial_cov(
        default_covariance_rtn(conj.regime1, conj.element_age_days1), conj.r1_km, conj.v1_km_s)
    cov2 = conj.cov2_km if conj.cov2_km is not None else rtn_to_inertial_cov(
        default_covariance_rtn(conj.regime2, conj.element_age_days2), conj.r2_km, conj.v2_km_s)
    return format_cdm_kvn(
        replace(conj, cov1_km=cov1, cov2_km=cov2),
        originator="CISLUNAR-MONITOR",
        message_id="CISLUNAR-PENDING",
        creation_date=now,
        pc_result=pc,
        objects=(
            {"OBJECT_DESIGNATOR": str(oi.norad_id or oi.provider_id), "OBJECT_NAME": oi.name or "UNKNOWN",
             "INTERNATIONAL_DESIGNATOR": oi.intl_designator or "UNKNOWN", "COVARIANCE_METHOD": "DEFAULT"},
            {"OBJECT_DESIGNATOR": str(oj.norad_id or oj.provider_id), "OBJECT_NAME": oj.name or "UNKNOWN",
             "INTERNATIONAL_DESIGNATOR": oj.intl_designator or "UNKNOWN", "COVARIANCE_METHOD": "DEFAULT"},
        ),
        comments=("Covariances are the documented defaults by regime and element-set age (no measured covariance).",),
    )


REGION_KINDS = {"approach": "region_approach", "entry": "region_entry"}


def _region_sightings(arrays, t_s, t0, regions) -> list[Sighting]:
    """Operating-region approaches and entries (``propagators.screening.regions``).

    Exits are not events of their own: they close the entry's pass (``end``)."""
    from propagators.screening import regions as regions_mod

    defs = regions if regions is not None else regions_mod.default_regions()
    events = regions_mod.region_crossings(arrays.r_gcrs_km, arrays.v_gcrs_km_s, t_s, defs)
    exits: dict[tuple[int, str], list[float]] = {}
    for ev in events:
        if ev.kind == "exit":
            exits.setdefault((int(ev.object_index), ev.region), []).append(float(ev.t_s))
    out: list[Sighting] = []
    for ev in events:
        kind = REGION_KINDS.get(ev.kind)
        if kind is None:
            continue
        i = int(ev.object_index)
        obj, es = arrays.pairs[i]
        start = t0 + timedelta(seconds=float(ev.t_s))
        end = None
        if kind == "region_entry":
            later = [x for x in exits.get((i, ev.region), []) if x > ev.t_s]
            end = t0 + timedelta(seconds=min(later)) if later else None
        values = dict(
            object_id=obj.id, other_object_id=None, region=ev.region, tca_utc=start, start_utc=start, end_utc=end,
            miss_km=float(ev.distance_km) if kind == "region_approach" else None,
            relative_speed_km_s=None,
            penetration_km=float(ev.distance_km) if kind == "region_entry" else None,
            pc=None, pc_method=None, element_set_id=es.id, other_element_set_id=None,
            propagator=arrays.propagators[i],
            details_json=json.dumps({
                "speed_ratio_to_circular": float(ev.speed_ratio),
                "t_extreme": iso_z(t0 + timedelta(seconds=float(ev.t_extreme_s))),
                "r_gcrs_km": list(map(float, ev.r_gcrs_km)), "v_gcrs_km_s": list(map(float, ev.v_gcrs_km_s)),
            }),
        )
        fingerprint = f"{kind}:{obj.id}:{ev.region}:{start.strftime('%Y%m%dT%H%M')}"
        out.append(Sighting(kind, fingerprint, values, ("start_utc", start)))
    return out


PROXIMITY_RANGE_KM = 50.0
PROXIMITY_MIN_DURATION_S = 6 * 3600.0
PROXIMITY_MAX_RELATIVE_SPEED_KM_S = 0.01


def _proximity_sightings(arrays, t_s, t0) -> list[Sighting]:
    """Sustained proximity (``propagators.screening.proximity``): within
    50 km for 6 h or more at under 10 m/s (GEO inspection geometry)."""
    from propagators.screening.proximity import proximity_intervals

    out = []
    for iv in proximity_intervals(arrays.r_gcrs_km, arrays.v_gcrs_km_s, t_s, range_km=PROXIMITY_RANGE_KM,
                                  min_duration_s=PROXIMITY_MIN_DURATION_S,
                                  max_relative_speed_km_s=PROXIMITY_MAX_RELATIVE_SPEED_KM_S):
        i, j = int(iv.i), int(iv.j)
        (oi, ei), (oj, ej) = arrays.pairs[i], arrays.pairs[j]
        if oi.id > oj.id:
            (oi, ei), (oj, ej) = (oj, ej), (oi, ei)
        start = t0 + timedelta(seconds=float(iv.start_s))
        end = t0 + timedelta(seconds=float(iv.end_s))
        values = dict(
            object_id=oi.id, other_object_id=oj.id, region=None, tca_utc=start, start_utc=start, end_utc=end,
            miss_km=float(iv.min_range_km), relative_speed_km_s=float(iv.mean_relative_speed_km_s),
            penetration_km=None, pc=None, pc_method=None, element_set_id=ei.id, other_element_set_id=ej.id,
            propagator=",".join(sorted({arrays.propagators[i], arrays.propagators[j]})),
            details_json=json.dumps({
                "t_min_range": iso_z(t0 + timedelta(seconds=float(iv.t_min_range_s))),
                "max_relative_speed_km_s": float(iv.max_relative_speed_km_s),
                "starts_at_window_edge": bool(iv.starts_at_window_edge),
                "ends_at_window_edge": bool(iv.ends_at_window_edge),
                "duration_h": float(iv.duration_s) / 3600.0,
            }),
            _i=min(i, j), _j=max(i, j),
        )
        # A proximity that spans the window continues across cycles: match on
        # the pair only (start moves with the window).
        fingerprint = f"proximity:{oi.id}:{oj.id}:{start.strftime('%Y%m%dT%H%M')}"
        out.append(Sighting("proximity", fingerprint, values,
                            ("start_utc", None if iv.starts_at_window_edge else start)))
    return out


def _manoeuvre_sightings(arrays) -> list[Sighting]:
    """A new element set that its predecessor, propagated to its epoch, does
    not explain (``propagators.screening.manoeuvre``), with an estimated dv."""
    from propagators import sgp4_batch
    from propagators.frames import rotate, teme_to_gcrs_matrix
    from propagators.screening.manoeuvre import detect_manoeuvres
    from propagators.timeutil import Time

    previous = getattr(arrays, "previous", None) or {}
    rows = [(k, prev) for k, prev in previous.items() if arrays.pairs[k][1].mean_motion_rev_day is not None
            and prev.mean_motion_rev_day is not None]
    if not rows:
        return []
    from db.queries import mean_elements_of

    new_sats, old_sats, jd1, jd2 = [], [], [], []
    for k, prev in rows:
        obj, es = arrays.pairs[k]
        new_sats.append(sgp4_batch.satrec_from_elements(mean_elements_of(es, obj)))
        old_sats.append(sgp4_batch.satrec_from_elements(mean_elements_of(prev, obj)))
        jd1.append(new_sats[-1].jdsatepoch)
        jd2.append(new_sats[-1].jdsatepochF)
    # Each object at its own new epoch: one SGP4 call per satellite (a
    # SatrecArray evaluates every object at every time, n^2 here).
    t = Time(np.array(jd1), np.array(jd2), format="jd", scale="utc")
    m = teme_to_gcrs_matrix(t)
    r_new = np.empty((len(rows), 3)); v_new = np.empty((len(rows), 3))
    r_old = np.empty((len(rows), 3)); v_old = np.empty((len(rows), 3))
    for n, (sn, so) in enumerate(zip(new_sats, old_sats)):
        e1, r1, v1 = sn.sgp4(jd1[n], jd2[n])
        e2, r2, v2 = so.sgp4(jd1[n], jd2[n])
        r_new[n], v_new[n] = (r1, v1) if e1 == 0 else ((np.nan,) * 3, (np.nan,) * 3)
        r_old[n], v_old[n] = (r2, v2) if e2 == 0 else ((np.nan,) * 3, (np.nan,) * 3)
    r_new, v_new = rotate(m, r_new), rotate(m, v_new)
    r_old, v_old = rotate(m, r_old), rotate(m, v_old)
    out = []
    for n, (k, prev) in enumerate(rows):
        obj, es = arrays.pairs[k]
        dt_s = (es.epoch_utc - prev.epoch_utc).total_seconds()
        if not dt_s > 0 or not np.isfinite(r_new[n]).all() or not np.isfinite(r_old[n]).all():
            continue
        check = detect_manoeuvres(np.array([0.0, dt_s]), (r_old[n][None], v_old[n][None]), (r_new[n][None], v_new[n][None]))[0]
        if not check.flagged:
            continue
        values = dict(
            object_id=obj.id, other_object_id=None, region=None, tca_utc=es.epoch_utc, start_utc=prev.epoch_utc,
            end_utc=es.epoch_utc, miss_km=float(check.position_residual_km), relative_speed_km_s=float(check.dv_estimate_km_s),
            penetration_km=None, pc=None, pc_method=None, element_set_id=es.id, other_element_set_id=prev.id,
            propagator=arrays.propagators[k],
            details_json=json.dumps({
                "dv_estimate_km_s": float(check.dv_estimate_km_s), "dv_velocity_km_s": float(check.dv_velocity_km_s),
                "dv_sma_km_s": float(check.dv_sma_km_s), "dv_plane_km_s": float(check.dv_plane_km_s),
                "position_residual_km": float(check.position_residual_km), "position_limit_km": float(check.position_limit_km),
                "sma_residual_km": float(check.sma_residual_km), "sma_limit_km": float(check.sma_limit_km),
                "plane_change_deg": float(np.degrees(check.plane_change_rad)), "regime": check.regime,
                "previous_element_set": prev.id,
            }),
        )
        out.append(Sighting("manoeuvre", f"manoeuvre:{obj.id}:{es.id}", values, ("tca_utc", es.epoch_utc)))
    return out
