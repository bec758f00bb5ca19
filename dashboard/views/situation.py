"""Situation: the catalogue and the cislunar tracks in 3D, GCRS or Earth-Moon rotating.

Positions are the stored states of the last cycle (no propagation on the
page): a time slider steps through the cycle's epochs.  Earth, the Moon and
the operating regions are drawn to scale; cislunar objects (and objects with
predicted region crossings) get their whole track, downsampled; the
crossings (events ``region_entry`` / ``region_approach``) are marked on it.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import data, plots
from dashboard.regions import altitude_km, region_bands
from dashboard.views.common import utc

MAX_TRACKS = 50
TRACK_POINTS = 600
EXTENTS = {"Near Earth (to GEO)": 50_000.0, "Cislunar (to the Moon)": 450_000.0, "Fit to data": None}


@st.cache_data(ttl=3600, show_spinner=False)
def _moon_gcrs_km(epoch_iso: str) -> np.ndarray:
    from propagators.frames_cislunar import moon_state_gcrs
    from propagators.timeutil import to_time

    r, _ = moon_state_gcrs(to_time(epoch_iso))
    return np.asarray(r, float)


def _emr_transform(epoch: datetime):
    """GCRS -> EMR positions at one epoch (velocities are not needed to draw)."""
    from propagators.frames_cislunar import gcrs_to_emr
    from propagators.timeutil import to_time

    t = to_time(epoch)

    def f(points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, float)
        return gcrs_to_emr(p, np.zeros_like(p), t)[0]

    return f


def _tracks_to_frame(tr: pd.DataFrame, frame: str) -> np.ndarray:
    xyz = tr[["x_km", "y_km", "z_km"]].to_numpy(float)
    if frame == "GCRS" or not len(tr):
        return xyz
    from propagators.frames_cislunar import gcrs_to_emr
    from propagators.timeutil import to_time

    v = tr[["vx_km_s", "vy_km_s", "vz_km_s"]].to_numpy(float)
    return gcrs_to_emr(xyz, v, to_time(list(tr["epoch_utc"])))[0]


def _interp(tr: pd.DataFrame, xyz: np.ndarray, t: datetime) -> np.ndarray | None:
    if not len(tr):
        return None
    ts = np.array([(e - tr["epoch_utc"].iloc[0]).total_seconds() for e in tr["epoch_utc"]])
    x = (t - tr["epoch_utc"].iloc[0]).total_seconds()
    if x < ts[0] or x > ts[-1]:
        return None
    return np.array([np.interp(x, ts, xyz[:, k]) for k in range(3)])


def render() -> None:
    st.title("Situation")
    url = data.db_url()
    run = data.last_cycle(url)
    if run is None:
        st.info("No propagation cycle has stored states yet: run `cislunar cycle` (or start the service).")
        return
    epochs = data.cycle_epochs(url, run["id"])
    if not epochs:
        st.info(f"Cycle run {run['id']} stored no states.")
        return

    c1, c2, c3 = st.columns([1, 1, 2])
    frame_label = c1.radio("Frame", ["GCRS", "Earth–Moon rotating"], horizontal=True, key="sit_frame",
                           help="GCRS: geocentric, ICRF axes. Earth–Moon rotating: barycentric, x towards the Moon (DE421).")
    frame = "GCRS" if frame_label == "GCRS" else "EMR"
    extent_label = c2.radio("Extent", list(EXTENTS), horizontal=True, key="sit_extent")
    show_catalogue = c3.checkbox("Catalogue positions", value=True, key="sit_catalogue")
    show_regions = c3.checkbox("Operating regions", value=True, key="sit_regions")
    k = st.select_slider(
        "Time", options=list(range(len(epochs))), value=0, key="sit_time",
        format_func=lambda i: epochs[i].strftime("%Y-%m-%d %H:%M UTC"),
        help=f"The {len(epochs)} epochs of cycle run {run['id']} (every {run['step_s']:g} s).",
    )
    epoch = epochs[k]
    transform = _emr_transform(epoch) if frame == "EMR" else (lambda p: p)

    pos = data.positions_at(url, run["id"], epoch.isoformat()) if show_catalogue else pd.DataFrame()
    good = pos[pos["error_code"].fillna(0) == 0].dropna(subset=["x_km"]) if len(pos) else pos
    crossings_df = data.region_events_in(url, run["window_start"].isoformat(), run["window_stop"].isoformat()) \
        if run["window_start"] else pd.DataFrame()
    track_ids = list(data.cislunar_object_ids(url, MAX_TRACKS))
    if len(crossings_df):
        for oid in crossings_df["object_id"].tolist():
            if oid not in track_ids and len(track_ids) < MAX_TRACKS:
                track_ids.append(int(oid))
    track_data = data.tracks(url, run["id"], tuple(track_ids), TRACK_POINTS)
    labels = dict(zip(data.objects_index(url)["id"], data.objects_index(url)["label"]))
    regimes = dict(zip(data.objects_index(url)["id"], data.objects_index(url)["regime"]))

    fig = go.Figure()
    moon = _moon_gcrs_km(epoch.isoformat())
    for tr in plots.body_and_region_traces(region_bands() if show_regions else (), moon, transform):
        fig.add_trace(tr)
    if len(good):
        xyz = transform(good[["x_km", "y_km", "z_km"]].to_numpy(float))
        alt = altitude_km(good[["x_km", "y_km", "z_km"]].to_numpy(float))
        shown = pd.DataFrame({"x_km": xyz[:, 0], "y_km": xyz[:, 1], "z_km": xyz[:, 2], "regime": good["regime"].to_numpy()})
        shown["hover"] = [
            f"<b>{lab}</b><br>{reg} · {prop}<br>altitude {a:,.0f} km<br>element set age {age:.1f} d"
            for lab, reg, prop, a, age in zip(good["label"], good["regime"], good["propagator"], alt, good["element_age_days"])
        ]
        plots.add_objects(fig, shown)
    tracks_drawn = []
    crossings = []
    for oid, tr in track_data.items():
        if not len(tr):
            continue
        xyz = _tracks_to_frame(tr, frame)
        lab = labels.get(oid, f"#{oid}")
        hover = [f"{lab}<br>{t:%Y-%m-%d %H:%M} UTC<br>range {np.linalg.norm(p):,.0f} km"
                 for t, p in zip(tr["epoch_utc"], tr[["x_km", "y_km", "z_km"]].to_numpy(float))]
        cur = _interp(tr, xyz, epoch)
        tracks_drawn.append({"label": lab, "regime": regimes.get(oid), "xyz": xyz, "hover": hover, "current": cur,
                             "current_hover": f"{lab} at {epoch:%H:%M} UTC"})
        if len(crossings_df):
            for _, ev in crossings_df[crossings_df["object_id"] == oid].iterrows():
                t = ev["start_utc"] if ev["start_utc"] is not None and not pd.isna(ev["start_utc"]) else ev["tca_utc"]
                if t is None or pd.isna(t):
                    continue
                p = _interp(tr, xyz, t)
                if p is None:
                    continue
                what = "enters" if ev["kind"] == "region_entry" else "approaches"
                extra = ""
                if ev["penetration_km"] is not None and not pd.isna(ev["penetration_km"]):
                    extra += f"<br>penetration {ev['penetration_km']:,.0f} km"
                if ev["miss_km"] is not None and not pd.isna(ev["miss_km"]):
                    extra += f"<br>closest {ev['miss_km']:,.0f} km"
                crossings.append({"xyz": p, "kind": ev["kind"],
                                  "text": f"<b>{lab}</b> {what} {ev['region']}<br>{t:%Y-%m-%d %H:%M} UTC{extra}<br>event {ev['id']}"})
    plots.add_tracks(fig, tracks_drawn)
    plots.add_crossings(fig, crossings)
    centre = transform(np.zeros((1, 3)))[0] if frame == "EMR" and EXTENTS[extent_label] and EXTENTS[extent_label] < 100_000 else None
    plots.scene_layout(fig, frame, EXTENTS[extent_label], centre_km=centre)
    st.plotly_chart(fig, width="stretch", key="situation_3d")

    m = st.columns(4)
    m[0].metric("Objects shown", f"{len(good):,}")
    m[1].metric("Not propagated at this epoch", f"{len(pos) - len(good):,}" if len(pos) else "0")
    m[2].metric("Cislunar tracks", len(tracks_drawn))
    m[3].metric("Predicted region crossings", len(crossings_df))
    st.caption(f"Stored states of cycle run {run['id']} at {utc(epoch)}, frame {frame_label}. Regions to scale, as the "
               "screen defines them (propagators.screening.regions): "
               + ", ".join(f"{b.name} {b.min_alt_km:,.0f}–{b.max_alt_km:,.0f} km" for b in region_bands())
               + "; the HEO families are defined by orbital elements and are not drawn.")
    if len(crossings_df):
        st.subheader("Predicted region crossings in this window")
        st.dataframe(
            crossings_df[["id", "kind", "object", "region", "start_utc", "end_utc", "tca_utc", "miss_km", "penetration_km", "status"]],
            hide_index=True, width="stretch",
        )
