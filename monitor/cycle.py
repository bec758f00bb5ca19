"""One propagation (and, later in the pipeline, screening) pass.

A cycle propagates every object over [at, at + horizon] on a fixed step,
stores the states in bulk and records the run.  ``at`` may lie in the past
(historical cycles over archived element sets).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from sqlalchemy.orm import sessionmaker

from db import queries
from monitor.state_objects import propagate_state_object
from propagators import sgp4_batch
from propagators.timeutil import datetimes_utc, iso_z, require_utc, time_grid

log = logging.getLogger(__name__)

STATES_FRAME = "GCRS"
# error_code stored for epochs a state/ephemeris object could not provide
# (beyond the propagation limit, numerical failure): SGP4 uses 1-6.
STATE_OBJECT_ERROR = 10


@dataclass
class CycleArrays:
    """What the propagation stage produced, handed to screening."""

    pairs: list  # (SpaceObject, ElementSet) per row
    t: object  # astropy Time (m,)
    epochs: list
    r_gcrs_km: np.ndarray  # (n, m, 3)
    v_gcrs_km_s: np.ndarray
    error_code: np.ndarray  # (n, m)
    propagators: list[str]
    previous: dict = field(default_factory=dict)  # row -> the object's previous ElementSet (manoeuvre check)


@dataclass
class CycleReport:
    run_id: int
    at_utc: datetime
    horizon_h: float
    step_s: float
    n_objects: int = 0
    n_times: int = 0
    n_states: int = 0
    n_errors: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    arrays: "CycleArrays | None" = None
    screening: dict = field(default_factory=dict)
    alerts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        from propagators.timeutil import iso_z

        return {
            "run_id": self.run_id,
            "status": self.status,
            "at": iso_z(self.at_utc),
            "horizon_hours": self.horizon_h,
            "step_seconds": self.step_s,
            "objects": self.n_objects,
            "epochs": self.n_times,
            "states": self.n_states,
            "propagation_errors": self.n_errors,
            "errors": self.errors,
            "warnings": self.warnings,
            "screening": self.screening,
            "alerts": self.alerts,
            "timings_s": {k: round(v, 4) for k, v in self.timings_s.items()},
        }


_EXECUTOR = None


def executor():
    """The process's executor (``monitor.executor``): in-process unless
    ``$CISLUNAR_EXECUTOR`` / ``$CISLUNAR_DASK_ADDRESS`` name a Dask cluster.
    Created once: a cluster connection outlives cycles."""
    global _EXECUTOR
    if _EXECUTOR is None:
        from monitor.executor import make_executor

        _EXECUTOR = make_executor()
        log.info("executor: %s", _EXECUTOR.describe())
    return _EXECUTOR


def run_cycle(
    Session: sessionmaker,
    at_utc: datetime,
    horizon_h: float,
    step_s: float,
    *,
    kind: str = "cycle",
    settings=None,
    conjunction_km: float | None = None,
    on_commit=None,
    windows: list[datetime] | None = None,
    screen: bool = True,
) -> CycleReport:
    """Propagate every object over [at, at + horizon] and store the states.

    ``on_commit(session)`` runs inside the transaction that closes the run
    (the service advances its watermark there, so a window is processed
    exactly once).
    """
    at_utc = require_utc(at_utc)
    stop_utc = at_utc + timedelta(hours=horizon_h)
    t_start = time.perf_counter()
    with Session.begin() as session:
        run = queries.start_run(session, kind, window_start_utc=at_utc, window_stop_utc=stop_utc, step_s=step_s)
        run_id = run.id
    report = CycleReport(run_id=run_id, at_utc=at_utc, horizon_h=horizon_h, step_s=step_s)
    try:
        _propagate_and_store(Session, report, at_utc, stop_utc, step_s)
        if screen and report.arrays is not None:
            _screen_and_alert(Session, report, settings, conjunction_km)
        report.status = "ok"
        error = None
    except BaseException as exc:  # record the failure, then let it propagate
        report.status = "failed"
        error = f"{type(exc).__name__}: {exc}"
        with Session.begin() as session:
            queries.finish_run(session, session.get(queries.Run, run_id), "failed", error=error)
        raise
    report.timings_s["total"] = time.perf_counter() - t_start
    with Session.begin() as session:
        run = session.get(queries.Run, run_id)
        run.n_objects = report.n_objects
        run.n_states = report.n_states
        run.n_errors = report.n_errors
        queries.finish_run(session, run, report.status, error=error, details=report.as_dict())
        if on_commit is not None:
            on_commit(session)
    log.info(
        "cycle run=%d at=%s objects=%d states=%d errors=%d in %.2f s",
        run_id, at_utc.isoformat(), report.n_objects, report.n_states, report.n_errors, report.timings_s["total"],
    )
    return report


def _propagate_and_store(Session, report: CycleReport, at_utc, stop_utc, step_s) -> None:
    t = time_grid(at_utc, stop_utc, step_s)
    epochs = datetimes_utc(t)
    report.n_times = len(epochs)
    with Session() as session:
        pairs = queries.current_element_sets(session, at_utc)
    mean_pairs = [(o, e) for (o, e) in pairs if e.mean_motion_rev_day is not None]
    state_pairs = [(o, e) for (o, e) in pairs if e.mean_motion_rev_day is None]
    report.n_objects = len(mean_pairs) + len(state_pairs)
    if not pairs:
        return
    t0 = time.perf_counter()
    elements = [queries.mean_elements_of(e, o) for (o, e) in mean_pairs]
    report.timings_s["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if elements:
        # in-process by default; object chunks on Dask workers when configured
        res = executor().propagate_sgp4(elements, t, STATES_FRAME)
        r_km, v_km_s, codes = res.r_km, res.v_km_s, res.error_code.astype(np.int16)
    else:
        r_km = v_km_s = np.zeros((0, len(epochs), 3))
        codes = np.zeros((0, len(epochs)), np.int16)
    report.timings_s["propagate"] = time.perf_counter() - t0
    propagators = [sgp4_batch.NAME] * len(mean_pairs)
    for i in np.flatnonzero(codes.any(axis=1)).tolist():
        obj = mean_pairs[i][0]
        k = int(np.flatnonzero(codes[i])[0])
        code = int(codes[i, k])
        report.errors.append(
            {
                "object": obj.norad_id,
                "name": obj.name,
                "first_error_epoch": iso_z(epochs[k]),
                "code": code,
                "message": sgp4_batch.SGP4_ERRORS.get(code, f"SGP4 error {code}"),
            }
        )
    if state_pairs:
        # Objects known by state or ephemeris are few (the cislunar ones);
        # each is a different source (OEM table, Horizons, OPM), so they are
        # evaluated one by one; the numerical integration inside is compiled.
        t0 = time.perf_counter()
        rs, vs, cs = [], [], []
        for obj, es in state_pairs:
            r, v, messages, name = propagate_state_object(es, t)
            bad = np.array([m is not None for m in messages])
            rs.append(r)
            vs.append(v)
            cs.append(np.where(bad, STATE_OBJECT_ERROR, 0).astype(np.int16))
            propagators.append(name)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                report.errors.append(
                    {"object": obj.norad_id or obj.provider_id, "name": obj.name, "first_error_epoch": iso_z(epochs[k]),
                     "code": STATE_OBJECT_ERROR, "message": messages[k]}
                )
        r_km = np.concatenate([r_km, np.stack(rs)])
        v_km_s = np.concatenate([v_km_s, np.stack(vs)])
        codes = np.concatenate([codes, np.stack(cs)])
        report.timings_s["propagate_states"] = time.perf_counter() - t0
    all_pairs = mean_pairs + state_pairs
    report.n_errors = len(report.errors)
    t0 = time.perf_counter()
    with Session.begin() as session:
        conn = session.connection()
        report.n_states = queries.insert_states(
            conn,
            run_id=report.run_id,
            object_ids=[o.id for o, _ in all_pairs],
            element_set_ids=[e.id for _, e in all_pairs],
            epochs_utc=epochs,
            r_km=r_km,
            v_km_s=v_km_s,
            error_code=codes,
            frame=STATES_FRAME,
            propagators=propagators,
        )
    report.timings_s["store"] = time.perf_counter() - t0
    with Session() as session:
        prev = queries.previous_element_sets(session, [(o.id, e) for o, e in all_pairs])
    previous = {k: prev[o.id] for k, (o, _) in enumerate(all_pairs) if o.id in prev}
    report.arrays = CycleArrays(all_pairs, t, epochs, r_km, v_km_s, codes, propagators, previous)


def _screen_and_alert(Session, report: CycleReport, settings, conjunction_km: float | None) -> None:
    """Screen the propagated states, store events, evaluate alert rules: one
    transaction, so events, alerts and their outbox messages commit together."""
    from pathlib import Path

    from monitor.screening_stage import compute_sightings, screen_and_store

    threshold = conjunction_km or (settings["screening.conjunction_km"] if settings is not None else 5.0)
    cdm_dir = Path(settings["screening.cdm_dir"]) if settings is not None and settings["screening.cdm_dir"] else None
    t0 = time.perf_counter()
    # Geometry first, with no database lock held; then one short write
    # transaction for events, alerts and outbox messages together.
    sightings = compute_sightings(report.arrays, threshold_km=threshold, write_cdm=cdm_dir is not None,
                                  executor=executor())
    with Session.begin() as session:
        result = screen_and_store(session, report.run_id, report.arrays, threshold_km=threshold, cdm_dir=cdm_dir,
                                  sightings=sightings)
        report.screening = result.as_dict()
        report.timings_s["screen"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        from alerts import engine as alert_engine

        if settings is not None:
            rules = alert_engine.policy_for(settings)
        else:
            from alerts.rules import load_rules

            rules = load_rules({})
        report.alerts = alert_engine.process_run(session, report.run_id, rules, datetime.now(timezone.utc))
        report.timings_s["alerts"] = time.perf_counter() - t1
