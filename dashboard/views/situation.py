"""Situation view: the Earth, the GEO ring and every object, in 3D (GCRS)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from dashboard import data

EARTH_RADIUS_KM = 6378.137
GEO_RADIUS_KM = 42164.17
REGIME_COLOURS = {
    "LEO": "#1f77b4", "MEO": "#2ca02c", "GEO": "#ff7f0e", "HEO": "#9467bd",
    "CISLUNAR": "#d62728", "LUNAR": "#8c564b", "LIBRATION": "#e377c2", "unclassified": "#7f7f7f",
}


def earth_and_geo_figure() -> go.Figure:
    fig = go.Figure()
    u, v = np.mgrid[0 : 2 * np.pi : 40j, 0 : np.pi : 20j]
    fig.add_trace(
        go.Surface(
            x=EARTH_RADIUS_KM * np.cos(u) * np.sin(v), y=EARTH_RADIUS_KM * np.sin(u) * np.sin(v),
            z=EARTH_RADIUS_KM * np.cos(v), showscale=False, opacity=0.6,
            colorscale=[[0, "#1b4f72"], [1, "#2e86c1"]], name="Earth", hoverinfo="skip",
        )
    )
    th = np.linspace(0, 2 * np.pi, 361)
    fig.add_trace(
        go.Scatter3d(x=GEO_RADIUS_KM * np.cos(th), y=GEO_RADIUS_KM * np.sin(th), z=0 * th, mode="lines",
                     line=dict(color="#aaaaaa", width=2), name="GEO ring (42,164 km)", hoverinfo="skip")
    )
    return fig


def render() -> None:
    st.title("Situation")
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    df = data.positions_now(data.db_url(), now.isoformat())
    st.caption(f"Positions at {now:%Y-%m-%d %H:%M} UTC in GCRS (km), from each object's current element set.")
    fig = earth_and_geo_figure()
    good = df[df["error"] == 0] if len(df) else df
    for regime, grp in good.groupby("regime") if len(good) else []:
        fig.add_trace(
            go.Scatter3d(
                x=grp["x_km"], y=grp["y_km"], z=grp["z_km"], mode="markers",
                marker=dict(size=2.5, color=REGIME_COLOURS.get(regime, "#7f7f7f")),
                name=f"{regime} ({len(grp)})",
                text=[f"{n} {name}<br>element set age {a:.1f} d" for n, name, a in zip(grp["norad_id"], grp["name"], grp["epoch_age_days"])],
                hovertemplate="%{text}<br>x %{x:.0f} km<br>y %{y:.0f} km<br>z %{z:.0f} km<extra></extra>",
            )
        )
    fig.update_layout(
        height=720, margin=dict(l=0, r=0, t=0, b=0), legend=dict(itemsizing="constant"),
        scene=dict(aspectmode="data", xaxis_title="x (km)", yaxis_title="y (km)", zaxis_title="z (km)"),
    )
    st.plotly_chart(fig, width="stretch")
    st.metric("Objects shown", f"{len(good):,}")
    bad = df[df["error"] != 0] if len(df) else df
    if len(bad):
        st.warning(f"{len(bad)} objects could not be propagated to now (SGP4 error codes): {', '.join(map(str, bad['norad_id'][:20]))}")
