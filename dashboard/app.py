"""Cislunar SSA monitor dashboard (Streamlit, multipage).

Run with ``cislunar dashboard`` (or ``make run``).  Reads the database named
by ``CISLUNAR_DB_URL`` (default: the embedded SQLite at var/cislunar.db).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo.
_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from dashboard.views import overview, situation  # noqa: E402

st.set_page_config(page_title="Cislunar SSA monitor", page_icon=":satellite:", layout="wide")

PAGES = [
    st.Page(overview.render, title="Overview", url_path="overview", default=True),
    st.Page(situation.render, title="Situation", url_path="situation"),
]

nav = st.navigation(PAGES)
nav.run()
