"""Exports of a replay: CSV, a self-contained HTML report, a CCSDS CDM.

Pure functions of a ``dashboard.replay.Replay`` (and the update history),
so the page and the tests produce the same files.  The HTML report embeds
plotly.js once (``include_plotlyjs=True`` on the first figure): it opens
offline, with no CDN.
"""

from __future__ import annotations

import html
import io
import json
from datetime import datetime

import pandas as pd

from dashboard import plots
from dashboard.replay import Replay, replay_table
from propagators.timeutil import iso_z


def replay_csv(replay: Replay) -> str:
    """Playback frames (GCRS states, range, relative RTN) as CSV text."""
    buf = io.StringIO()
    pd.DataFrame(replay_table(replay)).to_csv(buf, index=False, float_format="%.9g")
    return buf.getvalue()


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, datetime):
        return iso_z(v)
    return str(v)


def replay_html(
    replay: Replay,
    updates: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    known_at_utc: datetime | None = None,
    stored: dict | None = None,
    generated_at_utc: datetime | None = None,
) -> str:
    """A self-contained HTML report: summary, warnings and the replay plots."""
    title = title or f"Encounter replay: {replay.primary.label} / {replay.secondary.label}"
    summary = replay.summary()
    if known_at_utc is not None:
        summary = {"known_at": iso_z(known_at_utc), **summary}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in summary.items())
    stored_html = ""
    if stored:
        srows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in stored.items())
        stored_html = f"<h2>Stored event</h2><table>{srows}</table>"
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in replay.pc_warnings)
    figs = [plots.rtn_trajectory_figure(replay), plots.encounter_plane_figure(replay), plots.range_figure(replay)]
    if updates is not None and len(updates):
        figs.append(plots.evolution_figure(updates))
    parts = [
        f.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%")
        for i, f in enumerate(figs)
    ]
    gen = f"<p>Generated {iso_z(generated_at_utc)}</p>" if generated_at_utc else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;} table{border-collapse:collapse;}"
        " th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;} th{background:#f4f4f4;}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{gen}"
        f"<h2>Replay</h2><table>{rows}</table>{stored_html}"
        + (f"<h2>Warnings</h2><ul>{warn}</ul>" if warn else "")
        + "<h2>Relative trajectory (primary RTN)</h2>" + parts[0]
        + "<h2>Encounter plane</h2>" + parts[1]
        + "<h2>Range</h2>" + parts[2]
        + ("<h2>Evolution across updates</h2>" + parts[3] if len(parts) > 3 else "")
        + "</body></html>"
    )


def cdm_writer():
    """The project's CCSDS CDM writer (``propagators.ccsds_cdm_write``), or
    None where it is not installed."""
    try:
        from propagators import ccsds_cdm_write
    except ImportError:
        return None
    return ccsds_cdm_write


def _cdm_object(obj) -> dict:
    me = obj.elements
    out = {"OBJECT_NAME": me.name or obj.label, "CATALOG_NAME": "SATCAT", "COVARIANCE_METHOD": "DEFAULT"}
    if me.norad_id:
        out["OBJECT_DESIGNATOR"] = f"{me.norad_id:05d}"
    if me.intl_designator:
        out["INTERNATIONAL_DESIGNATOR"] = me.intl_designator
    return out


def replay_cdm(replay: Replay, *, creation_date: datetime, originator: str = "CISLUNAR-MONITOR",
               message_id: str | None = None) -> str | None:
    """A CCSDS CDM 2.0 (KVN) of the replayed conjunction (states at TCA,
    the covariances the Pc used, the Pc), or None when no CDM writer is
    installed or the replay has no covariances."""
    mod = cdm_writer()
    if mod is None or replay.cov1_gcrs_km is None or replay.cov2_gcrs_km is None:
        return None
    mid = message_id or (
        f"REPLAY_{replay.primary.elements.norad_id}_{replay.secondary.elements.norad_id}_"
        f"{replay.tca_utc.strftime('%Y%m%dT%H%M%S')}"
    )
    return mod.format_cdm_kvn(
        replay.conjunction(), originator=originator, message_id=mid, creation_date=creation_date,
        pc_result=replay.pc_result, objects=(_cdm_object(replay.primary), _cdm_object(replay.secondary)),
        comments=("Replay by the cislunar SSA monitor dashboard from the element sets known at the time",
                  "Covariances are regime defaults (default_covariance_rtn), not measured"),
    )


def summary_json(replay: Replay) -> str:
    return json.dumps(replay.summary(), indent=2, default=str)
