"""Small helpers shared by the pages."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from dashboard.auth import Identity


def identity() -> Identity:
    """The session's identity (set by app.py before navigation)."""
    ident = st.session_state.get("identity")
    if ident is None:  # a page run outside app.py (never with auth on: app.py gates first)
        return Identity("local operator", False, "none", "no identity: read-only")
    return ident


def age_text(dt: datetime | None, now: datetime | None = None) -> str:
    if dt is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    s = (now - dt).total_seconds()
    if s < 0:
        return f"in {_span(-s)}"
    return f"{_span(s)} ago"


def _span(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def utc(dt: datetime | None) -> str:
    """``2026-07-21 02:25:06 UTC``; a dash for None or NaT."""
    if dt is None or pd.isna(dt):
        return "—"
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def flash(kind: str, text: str) -> None:
    """A message shown once after the next rerun."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def show_flash() -> None:
    for kind, text in st.session_state.pop("_flash", []):
        getattr(st, kind)(text)
