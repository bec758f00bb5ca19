"""Data access for the dashboard: cached engine, cached queries.

Streamlit reruns the script on every interaction: the engine comes from
``st.cache_resource`` and query results from ``st.cache_data(ttl=...)``.
The dashboard reads through ``db`` and calls the core; it never starts a
scheduler.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from db import queries
from db.engine import make_engine, session_factory
from db.migrate import default_url
from db.models import ElementSet, Run, SpaceObject, State


def db_url() -> str:
    return os.environ.get("CISLUNAR_DB_URL") or default_url()


@st.cache_resource
def get_sessionmaker(url: str):
    return session_factory(make_engine(url))


def Session():
    return get_sessionmaker(db_url())()


@st.cache_data(ttl=15)
def overview_stats(url: str) -> dict:
    with get_sessionmaker(url)() as s:
        regimes = queries.objects_by_regime(s)
        n_objects = sum(regimes.values())
        n_states = queries.count_states(s)
        newest = queries.newest_element_epoch(s)
        last = queries.last_run(s, "cycle")
        last_ok = queries.last_run(s, "cycle", "ok")
        heartbeat = queries.get_service_value(s, "service.heartbeat")
        n_sets = s.scalar(select(func.count()).select_from(ElementSet)) or 0
    def run_dict(r: Run | None):
        if r is None:
            return None
        dur = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
        return {
            "id": r.id, "kind": r.kind, "status": r.status, "started_at": r.started_at,
            "finished_at": r.finished_at, "duration_s": dur, "objects": r.n_objects,
            "states": r.n_states, "errors": r.n_errors,
            "window_start": r.window_start_utc, "window_stop": r.window_stop_utc,
        }
    return {
        "regimes": regimes,
        "n_objects": n_objects,
        "n_element_sets": n_sets,
        "n_states": n_states,
        "newest_epoch": newest,
        "last_cycle": run_dict(last),
        "last_ok_cycle": run_dict(last_ok),
        "heartbeat": datetime.fromisoformat(heartbeat) if heartbeat else None,
    }


def positions_dataframe(pairs, at: datetime) -> pd.DataFrame:
    from propagators import sgp4_batch
    from propagators.timeutil import Time

    mean = [(o, e) for o, e in pairs if e.mean_motion_rev_day is not None]
    if not mean:
        return pd.DataFrame(columns=["norad_id", "name", "regime", "x_km", "y_km", "z_km", "error"])
    sats = [sgp4_batch.satrec_from_elements(queries.mean_elements_of(e, o)) for o, e in mean]
    t = Time([at], scale="utc")
    res = sgp4_batch.propagate(sats, t, "GCRS")
    r = res.r_km[:, 0, :]
    return pd.DataFrame(
        {
            "norad_id": [o.norad_id for o, _ in mean],
            "name": [o.name or "" for o, _ in mean],
            "regime": [o.regime or "unclassified" for o, _ in mean],
            "x_km": r[:, 0], "y_km": r[:, 1], "z_km": r[:, 2],
            "error": res.error_code[:, 0],
            "epoch_age_days": [(at - e.epoch_utc).total_seconds() / 86400.0 for _, e in mean],
        }
    )


@st.cache_data(ttl=60)
def positions_now(url: str, at_iso: str) -> pd.DataFrame:
    at = datetime.fromisoformat(at_iso)
    with get_sessionmaker(url)() as s:
        pairs = queries.current_element_sets(s, at)
    return positions_dataframe(pairs, at)


def redacted_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(db_url()).render_as_string(hide_password=True)
