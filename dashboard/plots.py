"""Plotly figures of the dashboard: pure functions of arrays and data frames.

Nothing here touches Streamlit or the database, so the HTML report and the
tests build the same figures as the pages.  Lengths in km, to scale.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.regions import EARTH_RADIUS_KM, MOON_RADIUS_KM, RegionBand, sphere_mesh

REGIME_COLOURS = {
    "LEO": "#1f77b4", "MEO": "#2ca02c", "GEO": "#ff7f0e", "HEO": "#9467bd",
    "CISLUNAR": "#d62728", "LUNAR": "#8c564b", "LIBRATION": "#e377c2", "unclassified": "#7f7f7f",
}
REGION_COLOURS = {"LEO": "#4fa3e0", "GNSS": "#59c46b", "GEO": "#ffb347", "HEO": "#b59ee0"}
GEO_RADIUS_KM = 42164.17

Transform = Callable[[np.ndarray], np.ndarray]


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _surface(points: np.ndarray, name: str, colour: str, opacity: float, hover: str) -> go.Surface:
    return go.Surface(
        x=points[..., 0], y=points[..., 1], z=points[..., 2], name=name, showscale=False, opacity=opacity,
        colorscale=[[0, colour], [1, colour]], hoverinfo="text", text=np.full(points.shape[:2], hover),
        showlegend=True, contours={"x": {"highlight": False}, "y": {"highlight": False}, "z": {"highlight": False}},
    )


def body_and_region_traces(
    regions: Sequence[RegionBand],
    moon_r_km: np.ndarray | None,
    transform: Transform = _identity,
    earth_centre_km: np.ndarray | None = None,
) -> list:
    """Earth, the Moon and the operating regions, to scale.

    Meshes are built in GCRS around the geocentre and mapped through
    ``transform`` (identity for GCRS, GCRS -> EMR for the rotating view).
    """
    traces: list = []
    earth = sphere_mesh(EARTH_RADIUS_KM, 24, 12)
    traces.append(_surface(transform(earth), "Earth", "#2e86c1", 0.9, "Earth (6,378 km)"))
    for band in regions:
        colour = REGION_COLOURS.get(band.kind, "#cccccc")
        label = f"{band.name} region: altitude {band.min_alt_km:,.0f}-{band.max_alt_km:,.0f} km"
        if band.max_abs_lat_deg is not None:
            label += f", latitude within ±{band.max_abs_lat_deg:g}°"
            mesh = sphere_mesh(band.min_radius_km + 0.5 * (band.max_alt_km - band.min_alt_km), 48, 4, band.max_abs_lat_deg)
            traces.append(_surface(transform(mesh), f"{band.name} region", colour, 0.35, label))
            continue
        if band.min_alt_km > 0:
            inner = sphere_mesh(band.min_radius_km, 24, 12)
            traces.append(_surface(transform(inner), f"{band.name} band (inner)", colour, 0.06, label))
        outer = sphere_mesh(band.max_radius_km, 24, 12)
        traces.append(_surface(transform(outer), f"{band.name} {'band (outer)' if band.min_alt_km > 0 else 'region'}",
                               colour, 0.08 if band.min_alt_km > 0 else 0.12, label))
    th = np.linspace(0, 2 * math.pi, 361)
    ring = np.stack([GEO_RADIUS_KM * np.cos(th), GEO_RADIUS_KM * np.sin(th), 0 * th], axis=-1)
    ring_t = transform(ring)
    traces.append(go.Scatter3d(x=ring_t[:, 0], y=ring_t[:, 1], z=ring_t[:, 2], mode="lines", name="GEO ring (42,164 km)",
                               line=dict(color="#aaaaaa", width=2), hoverinfo="skip"))
    centres = [("Earth", np.zeros(3), "#2e86c1")]
    if moon_r_km is not None:
        moon = sphere_mesh(MOON_RADIUS_KM, 16, 8) + np.asarray(moon_r_km, float)
        traces.append(_surface(transform(moon), "Moon", "#bbbbbb", 1.0, "Moon (1,737 km)"))
        centres.append(("Moon", np.asarray(moon_r_km, float), "#888888"))
    # The bodies to scale are a few pixels across in the cislunar extent: label their centres.
    xyz = transform(np.array([c[1] for c in centres]))
    traces.append(go.Scatter3d(
        x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers+text", text=[c[0] for c in centres],
        textposition="bottom center", marker=dict(size=3, color=[c[2] for c in centres]), name="body centres",
        hovertemplate="%{text}<extra></extra>", showlegend=False,
    ))
    return traces


def add_objects(fig: go.Figure, df: pd.DataFrame, *, marker_size: float = 2.5) -> None:
    """Catalogue positions (columns x_km, y_km, z_km, regime, hover), one trace per regime."""
    if df is None or not len(df):
        return
    for regime, grp in df.groupby("regime", sort=True):
        fig.add_trace(
            go.Scatter3d(
                x=grp["x_km"], y=grp["y_km"], z=grp["z_km"], mode="markers",
                marker=dict(size=marker_size, color=REGIME_COLOURS.get(regime, "#7f7f7f")),
                name=f"{regime} ({len(grp):,})", text=grp["hover"],
                hovertemplate="%{text}<extra></extra>",
            )
        )


def add_tracks(fig: go.Figure, tracks: Sequence[dict]) -> None:
    """Tracks: dicts with label, regime, xyz (n, 3), hover (n,), current (3,) or None."""
    for tr in tracks:
        xyz = tr["xyz"]
        colour = REGIME_COLOURS.get(tr.get("regime") or "unclassified", "#d62728")
        fig.add_trace(
            go.Scatter3d(
                x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="lines", line=dict(color=colour, width=4),
                name=f"track {tr['label']}", text=tr.get("hover"), hovertemplate="%{text}<extra></extra>",
            )
        )
        cur = tr.get("current")
        if cur is not None and np.all(np.isfinite(cur)):
            fig.add_trace(
                go.Scatter3d(
                    x=[cur[0]], y=[cur[1]], z=[cur[2]], mode="markers+text", text=[tr["label"]],
                    textposition="top center", marker=dict(size=6, color=colour, symbol="circle"),
                    name=f"{tr['label']} now", hovertemplate=f"{tr.get('current_hover', tr['label'])}<extra></extra>",
                )
            )


def add_crossings(fig: go.Figure, crossings: Sequence[dict]) -> None:
    """Predicted region crossings (dicts with xyz (3,), text, kind) as markers on the tracks."""
    if not crossings:
        return
    xyz = np.array([c["xyz"] for c in crossings], float)
    fig.add_trace(
        go.Scatter3d(
            x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers",
            marker=dict(size=7, symbol="diamond", color=["#ff0000" if c["kind"] == "region_entry" else "#ffd700" for c in crossings],
                        line=dict(color="#000000", width=1)),
            name="predicted region crossings", text=[c["text"] for c in crossings],
            hovertemplate="%{text}<extra></extra>",
        )
    )


def scene_layout(fig: go.Figure, frame: str, half_extent_km: float | None, height: int = 720,
                 centre_km: np.ndarray | None = None) -> None:
    axis_names = {"GCRS": ("x GCRS (km)", "y GCRS (km)", "z GCRS (km)"),
                  "EMR": ("x EMR, to Moon (km)", "y EMR (km)", "z EMR (km)")}[frame]
    scene: dict = dict(xaxis_title=axis_names[0], yaxis_title=axis_names[1], zaxis_title=axis_names[2])
    if half_extent_km:
        c = np.zeros(3) if centre_km is None else np.asarray(centre_km, float)
        rng = [[c[i] - half_extent_km, c[i] + half_extent_km] for i in range(3)]
        scene.update(aspectmode="cube", xaxis=dict(range=rng[0], title=axis_names[0]),
                     yaxis=dict(range=rng[1], title=axis_names[1]), zaxis=dict(range=rng[2], title=axis_names[2]))
    else:
        scene.update(aspectmode="data")
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30, b=0), legend=dict(itemsizing="constant"),
        scene=scene, uirevision=frame,  # keep the camera while the time slider moves
    )


# ---------------------------------------------------------------- replay

def rtn_trajectory_figure(replay, *, height: int = 560) -> go.Figure:
    """The secondary relative to the primary in the primary's RTN frame, with
    the playback frames as a plotly animation (play control and slider)."""
    track = replay.track_rel_rtn_km
    rel = replay.rel_rtn_km
    fig = go.Figure()
    fig.add_trace(go.Scatter3d(
        x=track[:, 1], y=track[:, 0], z=track[:, 2], mode="lines", line=dict(color="#1f77b4", width=4),
        name=f"{replay.secondary.label} relative track",
        text=[f"t-TCA {t:+.1f} s" for t in replay.track_t_from_tca_s],
        hovertemplate="T %{x:.3f} km<br>R %{y:.3f} km<br>N %{z:.3f} km<br>%{text}<extra></extra>",
    ))
    fig.add_trace(go.Scatter3d(x=[0], y=[0], z=[0], mode="markers+text", text=[replay.primary.label],
                               marker=dict(size=6, color="#000000"), name=f"{replay.primary.label} (primary)"))
    m = replay.miss_rtn_km
    fig.add_trace(go.Scatter3d(x=[0, m[1]], y=[0, m[0]], z=[0, m[2]], mode="lines+markers",
                               line=dict(color="#d62728", width=5, dash="dash"), marker=dict(size=3),
                               name=f"miss at TCA {replay.miss_km:.3f} km"))
    k0 = int(np.argmin(np.abs(replay.t_from_tca_s)))
    fig.add_trace(go.Scatter3d(x=[rel[k0, 1]], y=[rel[k0, 0]], z=[rel[k0, 2]], mode="markers",
                               marker=dict(size=7, color="#ff7f0e"), name=f"{replay.secondary.label} (secondary)"))
    moving = len(fig.data) - 1
    frames = []
    steps = []
    for k, t in enumerate(replay.t_from_tca_s):
        name = f"{t:+.0f} s"
        frames.append(go.Frame(
            name=name, traces=[moving],
            data=[go.Scatter3d(x=[rel[k, 1]], y=[rel[k, 0]], z=[rel[k, 2]], mode="markers",
                               marker=dict(size=7, color="#ff7f0e"),
                               hovertemplate=f"t-TCA {t:+.1f} s<br>range {replay.range_km[k]:.3f} km<extra></extra>")],
        ))
        steps.append(dict(method="animate", label=name,
                          args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))]))
    fig.frames = frames
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30, b=0),
        # The track is long along T and short in R and N: each axis is scaled to its own range.
        scene=dict(xaxis_title="T, along-track (km)", yaxis_title="R, radial (km)", zaxis_title="N, cross-track (km)",
                   aspectmode="cube"),
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0.0, y=0.0, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ Play", method="animate",
                                        args=[None, dict(frame=dict(duration=80, redraw=True), fromcurrent=True,
                                                         transition=dict(duration=0))]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))])])],
        # Tick labels of 100+ steps overlap: hide them, the current value says where we are.
        sliders=[dict(active=k0, steps=steps, x=0.3, len=0.7, y=0.02, ticklen=2, font=dict(color="rgba(0,0,0,0)"),
                      currentvalue=dict(prefix="t − TCA: ", font=dict(color="#333333")))],
        legend=dict(itemsizing="constant", orientation="h", y=1.08),
    )
    return fig


def encounter_plane_figure(replay, *, height: int = 480) -> go.Figure:
    """Conjunction plane (CARA x, z axes): the combined covariance ellipses
    (1, 2, 3 sigma) about the secondary's predicted position and the
    hard-body circle about the primary, to scale."""
    from dashboard.replay import covariance_ellipse

    fig = go.Figure()
    miss = replay.miss_plane_km if replay.miss_plane_km is not None else np.array([replay.miss_km, 0.0])
    if replay.cov_plane_km2 is not None:
        for n_sigma, dash in ((1, "solid"), (2, "dash"), (3, "dot")):
            e = covariance_ellipse(replay.cov_plane_km2, n_sigma) + miss
            fig.add_trace(go.Scatter(x=e[:, 0], y=e[:, 1], mode="lines", line=dict(color="#1f77b4", dash=dash),
                                     name=f"combined covariance {n_sigma}σ"))
    if replay.hbr_m:
        th = np.linspace(0, 2 * math.pi, 181)
        r = replay.hbr_m / 1000.0
        fig.add_trace(go.Scatter(x=r * np.cos(th), y=r * np.sin(th), mode="lines", fill="toself",
                                 line=dict(color="#d62728"), name=f"hard-body radius {replay.hbr_m:g} m"))
    fig.add_trace(go.Scatter(x=[0, miss[0]], y=[0, miss[1]], mode="lines+markers", line=dict(color="#333333"),
                             name=f"miss vector {replay.miss_km:.3f} km"))
    fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers+text", text=[replay.primary.label], textposition="bottom center",
                             marker=dict(size=8, color="#000000"), name="primary"))
    if replay.hbr_m:
        fig.add_annotation(x=0, y=0, ax=40, ay=-40, text=f"HBR {replay.hbr_m:g} m", showarrow=True)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="x, along the miss vector (km)", zeroline=True),
        yaxis=dict(title="z, normal to r and v (km)", scaleanchor="x", scaleratio=1),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def range_figure(replay, *, height: int = 280) -> go.Figure:
    fig = go.Figure(go.Scatter(x=replay.track_t_from_tca_s, y=np.linalg.norm(replay.track_rel_rtn_km, axis=-1),
                               mode="lines", name="range"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="time from TCA (s)",
                      yaxis=dict(title="range (km)", type="log", dtick=1, exponentformat="none"))
    return fig


def evolution_figure(updates: pd.DataFrame, *, height: int = 520) -> go.Figure:
    """TCA, miss distance and Pc as successive updates saw them (columns
    seen_at, tca_utc, miss_km, pc)."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("TCA shift from the latest update (s)", "miss distance (km)", "Pc"))
    if len(updates):
        last_tca = updates["tca_utc"].iloc[-1]
        shift = [(t - last_tca).total_seconds() if t is not None and not pd.isna(t) else None for t in updates["tca_utc"]]
        fig.add_trace(go.Scatter(x=updates["seen_at"], y=shift, mode="lines+markers", name="TCA shift"), row=1, col=1)
        fig.add_trace(go.Scatter(x=updates["seen_at"], y=updates["miss_km"], mode="lines+markers", name="miss"), row=2, col=1)
        pc = pd.to_numeric(updates["pc"], errors="coerce")
        fig.add_trace(go.Scatter(x=updates["seen_at"], y=pc.where(pc > 0), mode="lines+markers", name="Pc"), row=3, col=1)
        fig.update_yaxes(type="log", row=3, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    fig.update_xaxes(title_text="update seen at (UTC)", row=3, col=1)
    return fig


def region_distance_figure(df: pd.DataFrame, *, height: int = 380) -> go.Figure:
    """Signed distance to each region over time (columns epoch_utc and one
    per region; negative inside), on a symmetric log scale."""
    fig = go.Figure()
    for col in df.columns:
        if col == "epoch_utc":
            continue
        d = df[col].to_numpy(float)
        kind = next((k for k in REGION_COLOURS if k in col.upper()), None)
        # sign(d) * log10(1 + |d|): kilometres and 100,000 km on one axis, inside below zero
        fig.add_trace(go.Scatter(x=df["epoch_utc"], y=np.sign(d) * np.log10(1.0 + np.abs(d)), mode="lines", name=col,
                                 line=dict(color=REGION_COLOURS.get(kind) if kind else None),
                                 customdata=d, hovertemplate=f"{col}: %{{customdata:,.1f}} km<extra></extra>"))
    ticks = [-1e4, -1e3, -1e2, -10, 0, 10, 1e2, 1e3, 1e4, 1e5, 1e6]
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), xaxis_title="UTC",
        yaxis=dict(title="signed distance (km, negative inside)", tickvals=[np.sign(t) * np.log10(1 + abs(t)) for t in ticks],
                   ticktext=[f"{t:,.0f}" for t in ticks], zeroline=True, zerolinewidth=2),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def epoch_label(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")
