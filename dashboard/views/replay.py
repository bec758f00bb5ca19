"""Replay: an encounter as it was known at a chosen moment.

Choose a stored conjunction (deep link ``/replay?event=ID``) and one of its
updates, or any two objects and a window.  The element sets are those that
existed then (``current_element_sets(..., known_at_utc=...)``); the
computation is ``dashboard.replay.reconstruct_encounter`` (SGP4 and the
screening core), cached per inputs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data, export, plots
from dashboard.replay import Replay, ReplayError, replay_from_known_sets
from dashboard.views.common import utc

#: A replay of a stored event agrees with it when TCA and miss agree within these.
TCA_AGREEMENT_S = 1e-3
MISS_AGREEMENT_KM = 1e-3


@st.cache_data(ttl=600, show_spinner="Reconstructing the encounter…", max_entries=64)
def replay_cached(url: str, object_ids: tuple[int, int], at_iso: str, known_at_iso: str | None, start_iso: str,
                  stop_iso: str, expected_tca_iso: str | None) -> tuple[Replay | None, list[dict], str | None]:
    sets = data.known_element_sets(url, object_ids, at_iso, known_at_iso)
    try:
        rep = replay_from_known_sets(
            sets, object_ids, datetime.fromisoformat(start_iso), datetime.fromisoformat(stop_iso),
            expected_tca_utc=datetime.fromisoformat(expected_tca_iso) if expected_tca_iso else None,
            known_at_text=known_at_iso or "any time",
        )
    except ReplayError as exc:
        return None, sets, str(exc)
    return rep, sets, None


def _default_half_window_min(speed_km_s: float | None) -> float:
    if speed_km_s is None or pd.isna(speed_km_s):
        return 30.0
    return 10.0 if speed_km_s > 0.5 else 240.0


def _event_inputs(url: str) -> dict | None:
    events = data.events_frame(url, ("conjunction",))
    if not len(events):
        st.info("No stored conjunction events yet; choose “Object pair” to replay any two objects.")
        return None
    ids = events["id"].tolist()
    wanted = st.query_params.get("event")
    index = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in ids else 0
    info = {r.id: f"#{r.id} {r.object} / {r.other} · TCA {utc(r.tca_utc)} · miss {r.miss_km:.3f} km"
            for r in events.itertuples() if r.miss_km is not None}
    event_id = st.selectbox("Event", ids, index=index, format_func=lambda i: info.get(i, f"#{i}"), key="rp_event")
    ev = data.event_detail(url, int(event_id))
    if ev is None:
        st.error(f"Event {event_id} is gone.")
        return None
    ups = ev["updates"]
    if len(ups):
        labels = [f"#{k + 1} · {t:%m-%d %H:%M}" for k, t in enumerate(ups["seen_at"])]
        k = st.select_slider("As known at (event update, UTC)", options=list(range(len(ups))), value=len(ups) - 1,
                             format_func=lambda i: labels[i], key="rp_known",
                             help="Replay from the element sets that existed when this update was seen.")
        up = ups.iloc[k]
        known_at = up["seen_at"]
        at = up["run_window_start"] if up["run_window_start"] is not None and not pd.isna(up["run_window_start"]) else up["tca_utc"]
        expected = up["tca_utc"]
        stored = {"tca": up["tca_utc"], "miss_km": up["miss_km"], "relative_speed_km_s": up["relative_speed_km_s"],
                  "pc": up["pc"], "pc_method": up["pc_method"], "element_set_id": up["element_set_id"],
                  "other_element_set_id": up["other_element_set_id"], "seen_at": up["seen_at"], "run_id": up["run_id"]}
    else:
        known_at = ev["last_seen_at"]
        at = ev["tca_utc"]
        expected = ev["tca_utc"]
        stored = {"tca": ev["tca_utc"], "miss_km": ev["miss_km"], "relative_speed_km_s": ev["relative_speed_km_s"],
                  "pc": ev["pc"], "pc_method": ev["pc_method"], "element_set_id": ev["element_set_id"],
                  "other_element_set_id": ev["other_element_set_id"], "seen_at": ev["last_seen_at"], "run_id": ev["last_run_id"]}
    half = st.number_input("Window half-width (minutes)", min_value=1.0, max_value=7 * 1440.0,
                           value=_default_half_window_min(ev["relative_speed_km_s"]), step=5.0, key="rp_half")
    return {
        "object_ids": (int(ev["object_id"]), int(ev["other_object_id"])),
        "at": at, "known_at": known_at, "start": expected - timedelta(minutes=half), "stop": expected + timedelta(minutes=half),
        "expected": expected, "stored": stored, "updates": ups, "title": f"Event {ev['id']}: {ev['object']} / {ev['other']}",
        "event_id": int(ev["id"]),
    }


def _object_select(index: pd.DataFrame, label: str, key: str, default_pos: int) -> int | None:
    text = st.text_input(f"{label}: search", key=f"{key}_q")
    m = index
    if text.strip():
        t = text.strip().lower()
        m = index[index["label"].str.lower().str.contains(t, regex=False)]
    m = m.head(200)
    if not len(m):
        st.warning(f"No object matches {text!r}.")
        return None
    labels = dict(zip(m["id"], m["label"]))
    ids = list(labels)
    return st.selectbox(label, ids, index=min(default_pos, len(ids) - 1), format_func=lambda i: labels[i], key=key)


def _pair_inputs(url: str) -> dict | None:
    index = data.objects_index(url)
    if len(index) < 2:
        st.info("Two objects are needed.")
        return None
    c = st.columns(2)
    with c[0]:
        a = _object_select(index, "Primary", "rp_a", 0)
    with c[1]:
        b = _object_select(index, "Secondary", "rp_b", 1)
    if a is None or b is None:
        return None
    if a == b:
        st.warning("Choose two different objects.")
        return None
    now = datetime.now(timezone.utc)
    run = data.last_cycle(url)
    start0 = run["window_start"] if run and run["window_start"] else now.replace(minute=0, second=0, microsecond=0)
    c = st.columns(4)
    d0 = c[0].date_input("Window start (UTC date)", value=start0.date(), key="rp_d0")
    t0 = c[1].time_input("Window start (UTC time)", value=start0.time().replace(tzinfo=None), key="rp_t0")
    hours = c[2].number_input("Window length (hours)", min_value=0.1, max_value=24.0 * 14, value=24.0, key="rp_hours")
    known_now = c[3].checkbox("As known now", value=True, key="rp_known_now")
    start = datetime.combine(d0, t0, tzinfo=timezone.utc)
    known_at = None
    if not known_now:
        c = st.columns(2)
        kd = c[0].date_input("Known at (UTC date)", value=start.date(), key="rp_kd")
        kt = c[1].time_input("Known at (UTC time)", value=time(0, 0), key="rp_kt")
        known_at = datetime.combine(kd, kt, tzinfo=timezone.utc)
    return {"object_ids": (int(a), int(b)), "at": start, "known_at": known_at, "start": start,
            "stop": start + timedelta(hours=float(hours)), "expected": None, "stored": None, "updates": None,
            "title": "Object pair", "event_id": None}


def render() -> None:
    st.title("Replay")
    url = data.db_url()
    mode = st.radio("Replay", ["Stored event", "Object pair"], horizontal=True, key="rp_mode")
    inp = _event_inputs(url) if mode == "Stored event" else _pair_inputs(url)
    if inp is None:
        return
    rep, sets, err = replay_cached(
        url, inp["object_ids"], inp["at"].isoformat(), inp["known_at"].isoformat() if inp["known_at"] else None,
        inp["start"].isoformat(), inp["stop"].isoformat(), inp["expected"].isoformat() if inp["expected"] else None,
    )
    st.caption(
        f"Element sets as known at {utc(inp['known_at']) if inp['known_at'] else 'now'} (current at {utc(inp['at'])}); "
        f"window {utc(inp['start'])} to {utc(inp['stop'])}."
    )
    if sets:
        st.dataframe(pd.DataFrame([{k: s[k] for k in ("label", "element_set_id", "epoch_utc", "ingested_at", "format", "regime")}
                                   for s in sets]), hide_index=True, width="stretch")
    if err:
        st.error(err)
        return
    _results(rep, inp)


def _results(rep: Replay, inp: dict) -> None:
    c = st.columns(5)
    c[0].metric(f"TCA ({rep.tca_utc:%Y-%m-%d} UTC)", rep.tca_utc.strftime("%H:%M:%S.%f")[:-3], help=rep.tca_utc.isoformat())
    c[1].metric("Miss distance", f"{rep.miss_km:.3f} km")
    c[2].metric("Relative speed", f"{rep.relative_speed_km_s:.3f} km/s")
    c[3].metric("Pc", f"{rep.pc:.3g}" if rep.pc is not None else "—", help=f"method {rep.pc_method}, HBR {rep.hbr_m} m")
    c[4].metric("Approach angle", f"{rep.approach_angle_deg:.1f}°")
    st.caption(f"Miss in {rep.primary.label}'s RTN: R {rep.miss_rtn_km[0]:+.3f} km, T {rep.miss_rtn_km[1]:+.3f} km, "
               f"N {rep.miss_rtn_km[2]:+.3f} km · element-set ages at TCA {rep.element_age_days[0]:.2f} d and "
               f"{rep.element_age_days[1]:.2f} d")
    if rep.at_window_edge:
        st.warning("The closest approach in this window is at its edge: widen the window.")
    stored = inp["stored"]
    if stored and stored["tca"] is not None and stored["miss_km"] is not None:
        dt = (rep.tca_utc - stored["tca"]).total_seconds()
        dm = rep.miss_km - float(stored["miss_km"])
        same_inputs = (stored["element_set_id"], stored["other_element_set_id"]) == (rep.primary.element_set_id, rep.secondary.element_set_id)
        agree = abs(dt) <= TCA_AGREEMENT_S and abs(dm) <= MISS_AGREEMENT_KM
        msg = (f"Stored: TCA {utc(stored['tca'])}, miss {float(stored['miss_km']):.3f} km. Replay differs by "
               f"{dt * 1e3:+.3f} ms and {dm * 1e3:+.3f} m; element sets "
               f"{'are those the update recorded' if same_inputs else 'differ from those the update recorded'}.")
        (st.success if agree and same_inputs else st.warning)(msg)
    for w in rep.pc_warnings:
        st.caption(f"⚠ {w}")

    st.subheader("Play the encounter")
    k = st.select_slider("Time from TCA", options=list(range(len(rep.epochs_utc))),
                         value=int(np.argmin(np.abs(rep.t_from_tca_s))), key="rp_frame",
                         format_func=lambda i: f"{rep.t_from_tca_s[i]:+.0f} s")
    rel = rep.rel_rtn_km[k]
    cc = st.columns(5)
    cc[0].metric("t − TCA", f"{rep.t_from_tca_s[k]:+.1f} s", help=utc(rep.epochs_utc[k]))
    cc[1].metric("Range", f"{rep.range_km[k]:.3f} km")
    cc[2].metric("R (radial)", f"{rel[0]:+.3f} km")
    cc[3].metric("T (along-track)", f"{rel[1]:+.3f} km")
    cc[4].metric("N (cross-track)", f"{rel[2]:+.3f} km")
    left, right = st.columns(2)
    with left:
        st.markdown("**Relative trajectory in the primary's RTN** (▶ plays the frames; axes scaled independently)")
        st.plotly_chart(plots.rtn_trajectory_figure(rep), width="stretch", key="rp_rtn")
    with right:
        st.markdown("**Encounter plane**: combined covariance and hard-body radius")
        st.plotly_chart(plots.encounter_plane_figure(rep), width="stretch", key="rp_plane")
    st.plotly_chart(plots.range_figure(rep), width="stretch", key="rp_range")
    ups = inp["updates"]
    if ups is not None and len(ups):
        st.subheader("How TCA, miss distance and Pc evolved")
        st.plotly_chart(plots.evolution_figure(ups), width="stretch", key="rp_evolution")
        st.dataframe(ups, hide_index=True, width="stretch",
                     column_config={"pc": st.column_config.NumberColumn("pc", format="%.3e")})

    st.subheader("Export")
    base = f"replay_{rep.primary.elements.norad_id}_{rep.secondary.elements.norad_id}_{rep.tca_utc:%Y%m%dT%H%M%S}"
    c = st.columns(4)
    c[0].download_button("CSV", data=export.replay_csv(rep), file_name=base + ".csv", mime="text/csv", on_click="ignore")
    now = datetime.now(timezone.utc)
    c[1].download_button(
        "HTML report", file_name=base + ".html", mime="text/html", on_click="ignore",
        data=lambda: export.replay_html(rep, ups, title=inp["title"], known_at_utc=inp["known_at"], stored=stored,
                                        generated_at_utc=now),
    )
    cdm = export.replay_cdm(rep, creation_date=now)
    if cdm is None:
        c[2].caption("CDM: no CCSDS CDM writer installed")
    else:
        c[2].download_button("CDM (CCSDS 2.0 KVN)", data=cdm, file_name=base + ".cdm", mime="text/plain", on_click="ignore")
    c[3].download_button("Summary (JSON)", data=export.summary_json(rep), file_name=base + ".json",
                         mime="application/json", on_click="ignore")
