"""The replay's inputs as known at a moment: a session in, plain values out.

No Streamlit here (``dashboard.data.known_element_sets`` caches it for the
page), so tests and scripts reconstruct an encounter exactly as the Replay
page does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db import queries


def load_known_element_sets(session: Session, object_ids, at_utc: datetime, known_at_utc: datetime | None) -> list[dict]:
    """Per object: the element set current at ``at_utc`` among those
    ingested by ``known_at_utc`` (``db.queries.current_element_sets``), with
    the core's record of it (``elements``: ``MeanElements``, or None for an
    ephemeris/state set)."""
    wanted = set(object_ids)
    out: dict[int, dict] = {}
    for obj, es in queries.current_element_sets(session, at_utc, known_at_utc=known_at_utc, object_ids=wanted):
        me = queries.mean_elements_of(es, obj) if es.mean_motion_rev_day is not None else None
        out[obj.id] = {
            "object_id": obj.id, "label": obj.label, "regime": obj.regime, "element_set_id": es.id,
            "epoch_utc": es.epoch_utc, "ingested_at": es.ingested_at, "format": es.format, "elements": me,
        }
    return [out[i] for i in object_ids if i in out]
