"""Object page: identity, element-set history, propagator and why, regime,
distance to each operating region over the last cycle, and its events.

Deep link: ``/objects?object=25544`` (catalogue number or provider id).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data, plots
from dashboard.regions import altitude_km, latitude_deg, region_distances, screening_regions
from dashboard.views.common import utc

MAX_MATCHES = 200


def _pick_object(index: pd.DataFrame) -> int | None:
    wanted = st.query_params.get("object")
    default_text = wanted or ""
    text = st.text_input("Find an object (catalogue number, provider id or name)", value=default_text, key="obj_search")
    t = text.strip()
    if t:
        tl = t.lower()
        exact = index[(index["norad_id"].astype(str) == t) | (index["provider_id"].fillna("") == t)]
        fuzzy = index[index["label"].str.lower().str.contains(tl, regex=False)]
        matches = pd.concat([exact, fuzzy]).drop_duplicates("id")
    else:
        matches = index
    if not len(matches):
        st.warning(f"No object matches {t!r}.")
        return None
    shown = matches.head(MAX_MATCHES)
    labels = dict(zip(shown["id"], shown["label"]))
    if len(matches) > MAX_MATCHES:
        st.caption(f"{len(matches):,} objects match; the first {MAX_MATCHES} are listed, refine the search.")
    oid = st.selectbox("Object", list(labels), format_func=lambda i: f"{labels[i]}", key="obj_pick")
    return int(oid) if oid is not None else None


def distance_frame(states: pd.DataFrame) -> pd.DataFrame:
    """Signed distance (km, negative inside) from each stored state to each region."""
    r = states[["x_km", "y_km", "z_km"]].to_numpy(float)
    v = states[["vx_km_s", "vy_km_s", "vz_km_s"]].to_numpy(float)
    out = pd.DataFrame({"epoch_utc": states["epoch_utc"]})
    for name, d in region_distances(r, v).items():
        out[name] = d
    return out


def passes_table(states: pd.DataFrame) -> pd.DataFrame:
    """Entries, exits, depths and closest approaches per region, from the
    screening core's ``region_report`` on the stored states."""
    from propagators.screening.regions import region_report

    r = states[["x_km", "y_km", "z_km"]].to_numpy(float)
    v = states[["vx_km_s", "vy_km_s", "vz_km_s"]].to_numpy(float)
    t0 = states["epoch_utc"].iloc[0]
    t_s = np.array([(t - t0).total_seconds() for t in states["epoch_utc"]])

    def at(x: float):
        return None if not np.isfinite(x) else t0 + pd.Timedelta(seconds=float(x))

    rows = []
    for rep in region_report(r[None], v[None], t_s, screening_regions()):
        base = {"region": rep.region, "inside at start": rep.inside_at_start, "inside at end": rep.inside_at_end,
                "closest outside (km)": rep.min_distance_outside_km, "closest at": at(rep.t_min_distance_s)}
        if not rep.passes:
            rows.append({**base, "entry": None, "exit": None, "depth (km)": None})
        for p in rep.passes:
            rows.append({**base, "entry": at(p.entry_t_s), "exit": at(p.exit_t_s), "depth (km)": p.penetration_depth_km})
    return pd.DataFrame(rows)


@st.cache_data(ttl=300, show_spinner=False)
def region_analysis(url: str, object_id: int, run_id: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(stored states, signed distances, passes) of one object over one cycle."""
    states = data.object_states(url, object_id, run_id)
    states = states.dropna(subset=["x_km", "vx_km_s"]).reset_index(drop=True)
    if len(states) < 2:
        return states, pd.DataFrame(), pd.DataFrame()
    return states, distance_frame(states), passes_table(states)


def render() -> None:
    st.title("Object")
    url = data.db_url()
    index = data.objects_index(url)
    if not len(index):
        st.info("No objects yet.")
        return
    oid = _pick_object(index)
    if oid is None:
        return
    det = data.object_detail(url, oid)
    if det is None:
        st.error(f"Object {oid} is gone.")
        return
    ident = det["identity"]
    st.header(ident["label"])
    c = st.columns(4)
    c[0].metric("Catalogue number", ident["norad_id"] if ident["norad_id"] is not None else "—")
    c[1].metric("International designator", ident["intl_designator"] or "—")
    c[2].metric("Regime", ident["regime"] or "unclassified")
    c[3].metric("Propagator", ident["propagator"] or "—")
    reason = ident["propagator_reason"] or "not yet chosen (no element set classified)"
    (st.warning if reason.startswith("WARNING") else st.info)(f"**Why this propagator:** {reason}")
    st.caption(
        f"Provider id {ident['provider_id'] or '—'} · owner {ident['owner'] or '—'} · kind {ident['kind'] or '—'} · "
        f"first seen {utc(ident['created_at'])} · updated {utc(ident['updated_at'])}"
    )

    st.subheader(f"Element-set history ({len(det['element_sets'])})")
    st.dataframe(det["element_sets"], hide_index=True, width="stretch")

    st.subheader("Distance to the operating regions")
    st.caption("Signed distance to each region of the screen (propagators.screening.regions), negative inside; for "
               "the Molniya and Tundra families a km-equivalent distance in orbital elements.")
    run = data.last_cycle(url)
    states, dist, passes = region_analysis(url, oid, run["id"]) if run else (pd.DataFrame(), None, None)
    if len(states) < 2:
        st.caption("No stored states of this object in the last cycle.")
    else:
        st.plotly_chart(plots.region_distance_figure(dist), width="stretch", key="obj_regions")
        st.dataframe(passes, hide_index=True, width="stretch")
        r = states[["x_km", "y_km", "z_km"]].to_numpy(float)
        st.caption(
            f"From the {len(states)} stored states of cycle run {run['id']} ({utc(states['epoch_utc'].iloc[0])} to "
            f"{utc(states['epoch_utc'].iloc[-1])}); altitude {altitude_km(r).min():,.0f} to {altitude_km(r).max():,.0f} km, "
            f"latitude {latitude_deg(r).min():.1f}° to {latitude_deg(r).max():.1f}°."
        )

    st.subheader(f"Events involving this object ({len(det['events'])})")
    ev = det["events"]
    if len(ev):
        st.dataframe(ev, hide_index=True, width="stretch")
        for _, row in ev[ev["kind"] == "conjunction"].head(10).iterrows():
            st.page_link("app_pages/replay.py", label=f"Replay event {row['event']} with {row['other object']}",
                         icon=":material/replay:", query_params={"event": int(row["event"])})
    else:
        st.caption("None.")
