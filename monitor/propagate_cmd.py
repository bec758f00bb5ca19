"""``cislunar propagate``: states of one object in a chosen frame and format."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import numpy as np
from sqlalchemy.orm import sessionmaker

from db import queries
from monitor.cli import UsageError
from propagators import sgp4_batch
from propagators.timeutil import iso_z, time_grid, datetimes_utc


def compute_states(Session: sessionmaker, ident: str, start: datetime, stop: datetime, step_s: float, frame: str):
    """(object label, propagator name, epochs, r_km (m,3), v_km_s (m,3), messages (m,))."""
    t = time_grid(start, stop, step_s)
    epochs = datetimes_utc(t)
    with Session() as session:
        obj = queries.find_object(session, ident)
        if obj is None:
            raise UsageError(f"object {ident!r}: no object with that catalogue number, provider id or name")
        pairs = queries.current_element_sets(session, start, object_ids=[obj.id])
        if not pairs:
            raise UsageError(f"object {ident!r}: no element set stored")
        obj, es = pairs[0]
    if es.mean_motion_rev_day is not None:
        sat = sgp4_batch.satrec_from_elements(queries.mean_elements_of(es, obj))
        base = "TEME" if frame == "teme" else "GCRS"
        res = sgp4_batch.propagate([sat], t, "ITRS" if frame == "itrs" else base)
        r_km, v_km_s, codes = res.r_km[0], res.v_km_s[0], res.error_code[0]
        messages = [sgp4_batch.SGP4_ERRORS.get(int(c)) if c else None for c in codes]
        propagator = sgp4_batch.NAME
    else:
        from monitor.state_objects import propagate_state_object

        r_km, v_km_s, messages, propagator = propagate_state_object(es, t)
        if frame == "teme":
            from propagators.frames import gcrs_to_teme

            r_km, v_km_s = gcrs_to_teme(r_km, v_km_s, t)
        elif frame == "itrs":
            from propagators.frames import gcrs_to_itrs

            r_km, v_km_s = gcrs_to_itrs(r_km, v_km_s, t)
    if frame in ("mci", "emr"):
        from propagators import frames_cislunar

        fn = frames_cislunar.gcrs_to_mci if frame == "mci" else frames_cislunar.gcrs_to_emr
        r_km, v_km_s = fn(r_km, v_km_s, t)
    label = obj.norad_id if obj.norad_id is not None else (obj.provider_id or obj.name)
    return obj, label, propagator, epochs, np.asarray(r_km), np.asarray(v_km_s), messages


def propagate_object(Session, ident, start, stop, step_s, frame, fmt) -> str:
    obj, label, propagator, epochs, r_km, v_km_s, messages = compute_states(Session, ident, start, stop, step_s, frame)
    if fmt == "json":
        states = []
        for k, ep in enumerate(epochs):
            bad = messages[k] is not None
            vals = [None if bad else float(x) for x in (*r_km[k], *v_km_s[k])]
            states.append(
                {
                    "epoch": iso_z(ep),
                    "x_km": vals[0], "y_km": vals[1], "z_km": vals[2],
                    "vx_km_s": vals[3], "vy_km_s": vals[4], "vz_km_s": vals[5],
                    "error": messages[k],
                }
            )
        return json.dumps(
            {"object": label, "name": obj.name, "frame": frame.upper(), "propagator": propagator, "states": states},
            indent=2,
        ) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "error"])
        for k, ep in enumerate(epochs):
            if messages[k] is not None:
                w.writerow([iso_z(ep), "", "", "", "", "", "", messages[k]])
            else:
                w.writerow([iso_z(ep), *(f"{x:.9f}" for x in r_km[k]), *(f"{x:.12f}" for x in v_km_s[k]), ""])
        return buf.getvalue()
    from propagators.ccsds_write import write_oem

    good = np.array([m is None for m in messages])
    if not good.any():
        raise UsageError(f"object {ident!r}: no state could be computed in the window: {messages[0]}")
    center, ref_frame = {
        "teme": ("EARTH", "TEME"), "gcrs": ("EARTH", "GCRF"), "itrs": ("EARTH", "ITRF"),
        "mci": ("MOON", "ICRF"), "emr": ("EARTH-MOON BARYCENTER", "EMR"),
    }[frame]
    return write_oem(
        object_name=obj.name or str(label),
        object_id=obj.intl_designator or str(label),
        center_name=center,
        ref_frame=ref_frame,
        epochs_utc=[e for e, g in zip(epochs, good) if g],
        r_km=r_km[good],
        v_km_s=v_km_s[good],
        originator="CISLUNAR-MONITOR",
        creation_date=datetime.now(timezone.utc),
        comment=f"propagator {propagator}",
    )
