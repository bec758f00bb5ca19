"""Cislunar SSA monitor dashboard (Streamlit, multipage).

Run with ``cislunar dashboard`` (or ``make run``).  Reads the database named
by ``CISLUNAR_DB_URL`` (default: the embedded SQLite at var/cislunar.db) and
the ``[auth]`` section of the configuration (``CISLUNAR_CONFIG``): see
``dashboard/auth.py``.  With authentication on, nothing but the login is
rendered until the user has logged in: the gate runs before navigation.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo.
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard import auth  # noqa: E402

st.set_page_config(page_title="Cislunar SSA monitor", page_icon=":satellite:", layout="wide")

try:
    _cfg = auth.load_auth_config()
except auth.AuthConfigError as exc:
    # Fail closed: a broken access configuration shows no data at all.
    st.error(f"Dashboard access configuration is invalid: {exc}")
    st.stop()

identity = auth.gate(_cfg)
st.session_state["identity"] = identity

with st.sidebar:
    role = "operator (may acknowledge, silence, resolve)" if identity.can_act else "viewer (read-only)"
    st.caption(f"Signed in as **{identity.name}** — {role}" if _cfg.enabled else f"No authentication — {role}")
    auth.logout_button(identity)

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/monitor_heart:", url_path="overview", default=True),
    st.Page("app_pages/situation.py", title="Situation", icon=":material/public:", url_path="situation"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
    st.Page("app_pages/objects.py", title="Objects", icon=":material/satellite_alt:", url_path="objects"),
    st.Page("app_pages/replay.py", title="Replay", icon=":material/replay:", url_path="replay"),
    st.Page("app_pages/upload.py", title="Upload", icon=":material/upload_file:", url_path="upload"),
]

st.navigation(PAGES).run()
