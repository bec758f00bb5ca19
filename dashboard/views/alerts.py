"""Alerts: a filterable table, and acknowledge / silence / resolve with who and why.

Actions go through ``db.alert_ops`` in one transaction each, which records
the change and an ``AlertAction`` audit row with the actor and the time.
Only identities allowed to act (``dashboard.auth``) see the action forms;
the check is repeated when the form is submitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.views.common import flash, identity, show_flash, utc

STATES = ("open", "acknowledged", "resolved")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _filtered(df: pd.DataFrame, states, severities, kinds, text: str) -> pd.DataFrame:
    out = df
    if states:
        out = out[out["state"].isin(states)]
    if severities:
        out = out[out["severity"].isin(severities)]
    if kinds:
        out = out[out["kind"].isin(kinds)]
    if text:
        t = text.strip().lower()
        out = out[out["title"].str.lower().str.contains(t, regex=False) | out["fingerprint"].str.lower().str.contains(t, regex=False)]
    order = out["severity"].map(SEVERITY_ORDER).fillna(9)
    return out.assign(_o=order).sort_values(["_o", "updated_at"], ascending=[True, False]).drop(columns="_o")


def render() -> None:
    st.title("Alerts")
    show_flash()
    url = data.db_url()
    ident = identity()
    df = data.alerts_frame(url)
    if not len(df):
        st.info("No alerts. The alert engine opens them from events as the service screens each cycle.")
        return
    c = st.columns([2, 1, 1, 2])
    states = c[0].multiselect("State", STATES, default=["open", "acknowledged"], key="al_state")
    severities = c[1].multiselect("Severity", sorted(df["severity"].unique(), key=lambda s: SEVERITY_ORDER.get(s, 9)), key="al_sev")
    kinds = c[2].multiselect("Kind", sorted(df["kind"].unique()), key="al_kind")
    text = c[3].text_input("Search title or fingerprint", key="al_text")
    view = _filtered(df, states, severities, kinds, text)
    st.caption(f"{len(view)} of {len(df)} alerts")
    st.dataframe(
        view[["id", "severity", "state", "kind", "title", "opened_at", "updated_at", "acknowledged_by", "resolved_by", "event_id"]],
        hide_index=True, width="stretch",
        column_config={"opened_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                       "updated_at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
    if not len(view):
        return
    ids = view["id"].tolist()
    titles = dict(zip(view["id"], view["title"]))
    alert_id = st.selectbox("Alert", ids, format_func=lambda i: f"#{i} {titles[i]}", key="al_pick")
    row = df[df["id"] == alert_id].iloc[0]
    _detail(url, row)
    st.divider()
    _actions(url, ident, row)
    st.divider()
    st.subheader("Active silences")
    sil = data.silences_frame(url, datetime.now(timezone.utc).replace(second=0, microsecond=0).isoformat())
    if len(sil):
        st.dataframe(sil, hide_index=True, width="stretch")
    else:
        st.caption("None.")


def _detail(url: str, row: pd.Series) -> None:
    st.subheader(f"#{row['id']} · {row['severity']} · {row['state']}")
    st.write(row["title"])
    c = st.columns(3)
    c[0].markdown(f"**Opened** {utc(row['opened_at'])}  \n**Updated** {utc(row['updated_at'])}")
    ack = f"{row['acknowledged_by']} at {utc(row['acknowledged_at'])}" if pd.notna(row["acknowledged_by"]) else "—"
    if pd.notna(row["ack_note"]) and row["ack_note"]:
        ack += f" ({row['ack_note']})"
    res = f"{row['resolved_by']} at {utc(row['resolved_at'])}" if pd.notna(row["resolved_by"]) else "—"
    if pd.notna(row["resolve_note"]) and row["resolve_note"]:
        res += f" ({row['resolve_note']})"
    c[1].markdown(f"**Acknowledged** {ack}  \n**Resolved** {res}")
    ev = row["event_id"]
    if ev is not None and not pd.isna(ev):
        c[2].markdown(f"**Event** {int(ev)}")
        if row["kind"] == "conjunction":
            c[2].page_link("app_pages/replay.py", label="Replay this conjunction", icon=":material/replay:",
                           query_params={"event": int(ev)})
        for n in row["norad_ids"][:2]:
            c[2].page_link("app_pages/objects.py", label=f"Object {n}", icon=":material/satellite_alt:",
                           query_params={"object": n})
    hist = data.alert_actions(url, int(row["id"]))
    with st.expander(f"History ({len(hist)} actions)", expanded=True):
        st.dataframe(hist, hide_index=True, width="stretch")


def _actions(url: str, ident, row: pd.Series) -> None:
    st.subheader("Act on this alert")
    if not ident.can_act:
        st.info(f"Read-only: {ident.why or 'you may not act on alerts'}.")
        return
    from db import alert_ops

    alert_id = int(row["id"])
    free_name = ident.method == "none"
    tab_ack, tab_sil, tab_res = st.tabs(["Acknowledge", "Silence", "Resolve"])
    with tab_ack:
        with st.form("ack_form"):
            by = st.text_input("Your name", value=st.session_state.get("operator_name", ""), key="ack_by") if free_name else ident.name
            note = st.text_area("Note", key="ack_note")
            ok = st.form_submit_button("Acknowledge", disabled=row["state"] != "open")
        if ok:
            _do(url, ident, "acknowledged", lambda s: alert_ops.acknowledge(s, alert_id, by, note or None), by)
    with tab_sil:
        with st.form("silence_form"):
            by_s = st.text_input("Your name", value=st.session_state.get("operator_name", ""), key="sil_by") if free_name else ident.name
            scopes = ["this situation (fingerprint)"]
            scopes += [f"every alert of object {n}" for n in row["norad_ids"]]
            scopes.append(f"every {row['kind']} alert" + (f" in {row['region']}" if row["region"] else ""))
            scope = st.radio("Silence", scopes, key="sil_scope")
            hours = st.number_input("For (hours)", min_value=0.25, max_value=24.0 * 90, value=24.0, step=1.0, key="sil_hours")
            reason = st.text_area("Reason", key="sil_reason")
            ok_s = st.form_submit_button("Silence")
        if ok_s:
            expires = datetime.now(timezone.utc) + timedelta(hours=float(hours))
            if scope.startswith("this situation"):
                selector = {"alert_id": alert_id}
            elif scope.startswith("every alert of object"):
                selector = {"object_norad_id": int(scope.rsplit(" ", 1)[1])}
            else:
                selector = {"kind": row["kind"], "region": row["region"]}
            fn = lambda s: alert_ops.silence(s, by=by_s, reason=reason, expires_at=expires, **selector)  # noqa: E731
            _do(url, ident, "silenced", fn, by_s)
    with tab_res:
        with st.form("resolve_form"):
            by_r = st.text_input("Your name", value=st.session_state.get("operator_name", ""), key="res_by") if free_name else ident.name
            note_r = st.text_area("Note", key="res_note")
            ok_r = st.form_submit_button("Resolve", disabled=row["state"] == "resolved")
        if ok_r:
            _do(url, ident, "resolved", lambda s: alert_ops.resolve(s, alert_id, by_r, note_r or None), by_r)


def _do(url: str, ident, what: str, fn, by: str) -> None:
    """Run one action in its own transaction; report the outcome after a rerun."""
    from db.alert_ops import AlertOpError

    if not identity().can_act:  # re-checked on submit
        st.error("You may not act on alerts.")
        return
    if ident.method == "none" and by:
        st.session_state["operator_name"] = by
    Session = data.get_sessionmaker(url)
    try:
        with Session.begin() as session:
            fn(session)
    except AlertOpError as exc:
        st.error(str(exc))
        return
    data.clear_caches()
    flash("success", f"Alert {what} by {by}.")
    st.rerun()
