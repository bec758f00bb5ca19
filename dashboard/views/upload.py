"""Upload TLE, OMM and OEM files: the CLI's validation report, then store.

Nothing is stored until the operator presses "Store": all accepted records
of all the files go in one transaction (``dashboard.upload.store_uploads``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.upload import parse_upload, store_uploads
from dashboard.views.common import flash, identity, show_flash


@st.cache_data(ttl=600, show_spinner="Validating…", max_entries=32)
def _parse_cached(name: str, payload: bytes):
    return parse_upload(name, payload)


def render() -> None:
    st.title("Upload element sets")
    show_flash()
    ident = identity()
    st.caption("TLE (2- or 3-line), CCSDS OMM (KVN, XML), CelesTrak GP JSON/CSV, CCSDS OEM (KVN, XML). "
               "Files are validated first; nothing is stored until you press Store.")
    files = st.file_uploader("Files", accept_multiple_files=True, key="up_files")
    if not files:
        return
    reports = [_parse_cached(f.name, f.getvalue()) for f in files]
    total_ok = 0
    for rep in reports:
        with st.container(border=True):
            st.markdown(f"**{rep.summary_line()}**")
            if rep.error:
                st.error(rep.error)
                continue
            total_ok += len(rep.records)
            if rep.rejections:
                st.markdown(f"{len(rep.rejections)} rejected record(s):")
                st.dataframe(pd.DataFrame(rep.rejection_rows()), hide_index=True, width="stretch")
            for w in rep.warnings:
                st.caption(f"warning: {w}")
    if not ident.can_act:
        st.info(f"Read-only: {ident.why or 'you may not store data'}.")
        return
    if total_ok == 0:
        st.warning("Nothing to store.")
        return
    if st.button(f"Store {total_ok} record(s)", type="primary", key="up_store"):
        Session = data.get_sessionmaker(data.db_url())
        fresh = [parse_upload(r.name, f.getvalue()) for r, f in zip(reports, files)]
        with Session.begin() as session:
            store_uploads(session, fresh)
        data.clear_caches()
        for r in fresh:
            flash("success" if not r.rejections else "warning", r.summary_line())
            for w in r.warnings:
                flash("caption", f"warning: {w}")
        st.rerun()
