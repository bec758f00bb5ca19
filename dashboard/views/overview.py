"""Operations overview: service health, objects per regime, the newest data."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from dashboard import data


def _age(dt: datetime | None) -> str:
    if dt is None:
        return "never"
    s = (datetime.now(timezone.utc) - dt).total_seconds()
    if s < 120:
        return f"{s:.0f} s ago"
    if s < 7200:
        return f"{s / 60:.0f} min ago"
    if s < 172800:
        return f"{s / 3600:.1f} h ago"
    return f"{s / 86400:.1f} days ago"


def render() -> None:
    st.title("Cislunar SSA monitor")
    st.caption(f"Database: {data.redacted_url()}")

    @st.fragment(run_every=30)
    def live() -> None:
        stats = data.overview_stats(data.db_url())
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Objects tracked", f"{stats['n_objects']:,}")
        c2.metric("States stored", f"{stats['n_states']:,}")
        c3.metric("Newest element set", _age(stats["newest_epoch"]),
                  help=stats["newest_epoch"].isoformat() if stats["newest_epoch"] else None)
        c4.metric("Service heartbeat", _age(stats["heartbeat"]))

        st.subheader("Last cycle")
        last = stats["last_cycle"]
        if last is None:
            st.info("No propagation cycle has run yet.")
        else:
            cols = st.columns(5)
            cols[0].metric("Status", last["status"])
            cols[1].metric("Started", _age(last["started_at"]), help=last["started_at"].isoformat())
            cols[2].metric("Duration", f"{last['duration_s']:.1f} s" if last["duration_s"] is not None else "running")
            cols[3].metric("Objects x epochs", f"{last['states']:,}")
            cols[4].metric("Propagation errors", f"{last['errors']:,}")
            if last["window_start"]:
                st.caption(f"Window {last['window_start']:%Y-%m-%d %H:%M} to {last['window_stop']:%Y-%m-%d %H:%M} UTC (run {last['id']})")

        st.subheader("Objects by regime")
        regimes = stats["regimes"]
        if regimes:
            df = pd.DataFrame(sorted(regimes.items()), columns=["regime", "objects"])
            st.dataframe(df, hide_index=True, width="content")
        else:
            st.info("No objects yet: ingest element sets with `cislunar ingest PATH`.")

    live()
