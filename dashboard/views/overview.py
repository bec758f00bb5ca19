"""Operations overview: service health, open alerts, objects by regime.

The live part is a fragment that reruns itself every ``REFRESH_S`` seconds
(``st.fragment(run_every=...)``): only the fragment is redrawn, so the rest
of the page, other pages' widgets and the operator's place stay put.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.views.common import age_text, identity, utc

REFRESH_S = 30
HEARTBEAT_STALE_S = 180  # the service beats every 60 s
ELEMENTS_STALE_DAYS = 3.0


def render() -> None:
    st.title("Cislunar SSA monitor")
    st.caption(f"Operations overview · database {data.redacted_url()} · refreshes every {REFRESH_S} s")
    _ = identity()

    @st.fragment(run_every=REFRESH_S)
    def live() -> None:
        h = data.service_health(data.db_url())
        now = datetime.now(timezone.utc)
        _health_banner(h, now)
        st.subheader("Service health")
        c = st.columns(5)
        hb = h["heartbeat"]
        c[0].metric("Service heartbeat", age_text(hb, now), help=utc(hb))
        last = h["last_cycle"]
        if last is None:
            c[1].metric("Last cycle", "none yet")
            c[2].metric("Cycle duration", "—")
        else:
            c[1].metric("Last cycle", f"{last['status']} · {age_text(last['started_at'], now)}",
                        help=f"run {last['id']} ({last['kind']}) started {utc(last['started_at'])}")
            c[2].metric("Cycle duration", f"{last['duration_s']:.1f} s" if last["duration_s"] is not None else "running")
        c[3].metric("Newest element set", age_text(h["newest_epoch"], now), help=f"epoch {utc(h['newest_epoch'])}")
        c[4].metric("Objects tracked", f"{h['n_objects']:,}", help=f"{h['n_element_sets']:,} element sets")
        if last is not None:
            win = ""
            if last["window_start"]:
                win = f" · window {last['window_start']:%Y-%m-%d %H:%M} to {last['window_stop']:%Y-%m-%d %H:%M} UTC"
            st.caption(f"Last cycle run {last['id']}: {last['objects']:,} objects, {last['states']:,} states, "
                       f"{last['errors']:,} propagation errors{win}")
            if last.get("error"):
                st.error(f"Last cycle failed: {last['error']}")

        st.subheader("Alerts and outbox")
        c = st.columns(5)
        oa = h["open_alerts"]
        c[0].metric("Open critical", oa["critical"])
        c[1].metric("Open warning", oa["warning"])
        c[2].metric("Open info", oa["info"])
        backlog = h["outbox"].get("pending", 0) + h["outbox"].get("sending", 0)
        c[3].metric("Outbox backlog", backlog,
                    help=f"oldest waiting since {utc(h['oldest_pending'])}" if h["oldest_pending"] else "nothing waiting")
        c[4].metric("Dead letters", h["outbox"].get("dead", 0))
        if len(h["dead_letters"]):
            with st.expander(f"Dead letters ({len(h['dead_letters'])})", expanded=False):
                st.dataframe(h["dead_letters"], hide_index=True, width="stretch")

        left, right = st.columns(2)
        with left:
            st.subheader("Objects by regime")
            regimes = h["regimes"]
            if regimes:
                df = pd.DataFrame(sorted(regimes.items()), columns=["regime", "objects"])
                st.bar_chart(df, x="regime", y="objects", height=240)
                st.dataframe(df, hide_index=True, width="content")
            else:
                st.info("No objects yet: ingest element sets with `cislunar ingest PATH` or the Upload page.")
        with right:
            st.subheader("Open alerts by severity")
            sev = pd.DataFrame({"severity": list(oa), "open": list(oa.values())})
            st.bar_chart(sev, x="severity", y="open", height=240)
            st.caption(f"{h['acknowledged_alerts']} acknowledged, not yet resolved")
            if h["active_events"]:
                st.caption("Active events: " + ", ".join(f"{k} {v}" for k, v in sorted(h["active_events"].items())))

        st.subheader("Data sources")
        if len(h["sources"]):
            src = h["sources"].copy()
            src.insert(1, "healthy", [
                (s is not None and not pd.isna(s)) and (e is None or pd.isna(e) or s >= e)
                for s, e in zip(src["last_success"], src["last_error_at"])
            ])
            st.dataframe(src, hide_index=True, width="stretch")
        else:
            st.caption("No data source has reported yet.")
        st.caption(f"Updated {now:%H:%M:%S} UTC")

    live()


def _health_banner(h: dict, now: datetime) -> None:
    problems = []
    hb = h["heartbeat"]
    if hb is None:
        problems.append("the service has never reported a heartbeat (is `cislunar run` running?)")
    elif (now - hb).total_seconds() > HEARTBEAT_STALE_S:
        problems.append(f"the service heartbeat is stale ({age_text(hb, now)})")
    if h["newest_epoch"] is not None and (now - h["newest_epoch"]).total_seconds() > ELEMENTS_STALE_DAYS * 86400:
        problems.append(f"the newest element set is {age_text(h['newest_epoch'], now).replace(' ago', '')} old")
    if h["outbox"].get("dead", 0):
        problems.append(f"{h['outbox']['dead']} e-mail(s) could not be delivered (dead letters)")
    last = h["last_cycle"]
    if last is not None and last["status"] not in ("ok", "running"):
        problems.append(f"the last cycle ended {last['status']}")
    if problems:
        st.warning("Attention: " + "; ".join(problems) + ".")
    else:
        st.success("Service healthy.")
