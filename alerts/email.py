"""Alert e-mail: plain text, HTML and a small PNG of the encounter geometry.

Composition is pure apart from rendering the PNG (matplotlib's Agg canvas on
a ``Figure``, no pyplot state, so it is safe in scheduler threads).  The
outbox stores what this module returns; ``alerts.smtp.build_mime`` turns a
stored row into the MIME message that is sent, with the deterministic
Message-ID and the threading headers.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from propagators.timeutil import iso_z


@dataclass(frozen=True)
class ObjectInfo:
    """One object of an alert, as an operator identifies it."""

    norad_id: int | None
    name: str | None
    label: str
    element_set_epoch_utc: datetime | None = None
    element_set_format: str | None = None
    propagator: str | None = None


@dataclass(frozen=True)
class Geometry:
    """Relative track of the secondary about the primary, in the primary's
    RTN frame (radial, transverse, normal), km, around closest approach."""

    t_from_tca_s: np.ndarray
    rel_rtn_km: np.ndarray  # (n, 3)


@dataclass(frozen=True)
class AlertMail:
    """Everything one alert notification says."""

    alert_id: int
    kind: str
    severity: str
    state: str
    tag: str  # NEW, UPDATE, REMINDER, REOPENED, RESOLVED
    reason: str
    title: str
    fingerprint: str
    link: str
    as_of_utc: datetime
    rule: str | None = None
    objects: tuple[ObjectInfo, ...] = ()
    region: str | None = None
    tca_utc: datetime | None = None
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    miss_km: float | None = None
    relative_speed_km_s: float | None = None
    pc: float | None = None
    pc_method: str | None = None
    penetration_km: float | None = None
    propagator: str | None = None
    run_id: int | None = None
    notification_no: int = 1
    acknowledged_by: str | None = None
    geometry: Geometry | None = None
    extra: tuple[tuple[str, str], ...] = ()  # further (label, value) rows (dead-man details)


@dataclass(frozen=True)
class ComposedMail:
    subject: str
    text: str
    html: str
    png: bytes | None = field(default=None, repr=False)


# ---------------------------------------------------------------- formatting

def _age(epoch: datetime | None, as_of: datetime) -> str:
    if epoch is None:
        return "unknown"
    hours = (as_of - epoch).total_seconds() / 3600.0
    if abs(hours) < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24.0:.1f} d"


def _num(value: float | None, fmt: str, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{value:{fmt}}{(' ' + unit) if unit else ''}"


def _when(value: datetime | None) -> str:
    return iso_z(value) if value is not None else "n/a"


def rows(mail: AlertMail) -> list[tuple[str, str]]:
    """The (label, value) facts, in the order both bodies show them."""
    out: list[tuple[str, str]] = [
        ("Alert", f"#{mail.alert_id} ({mail.state}, {mail.severity})"),
        ("Why this mail", mail.reason),
        ("Kind", mail.kind.replace("_", " ")),
    ]
    if mail.rule:
        out.append(("Rule", mail.rule))
    for i, obj in enumerate(mail.objects):
        role = ("Primary" if i == 0 else "Secondary") if len(mail.objects) > 1 else "Object"
        ident = f"{obj.name or '(unnamed)'}, NORAD {obj.norad_id}" if obj.norad_id is not None else f"{obj.label} (no catalogue number)"
        out.append((f"{role} object" if role != "Object" else role, ident))
        out.append(
            (
                f"{role} element set" if role != "Object" else "Element set",
                f"epoch {_when(obj.element_set_epoch_utc)} (age {_age(obj.element_set_epoch_utc, mail.as_of_utc)}"
                + (f", {_age(obj.element_set_epoch_utc, mail.tca_utc)} at TCA" if mail.tca_utc and obj.element_set_epoch_utc else "")
                + (f", {obj.element_set_format}" if obj.element_set_format else "")
                + (f", propagator {obj.propagator}" if obj.propagator else "")
                + ")",
            )
        )
    if mail.region:
        out.append(("Region", mail.region))
    if mail.tca_utc is not None:
        out.append(("TCA (UTC)", _when(mail.tca_utc)))
    if mail.start_utc is not None or mail.end_utc is not None:
        out.append(("Window (UTC)", f"{_when(mail.start_utc)} to {_when(mail.end_utc)}"))
    if mail.kind in ("conjunction", "proximity", "region_approach") or mail.miss_km is not None:
        out.append(("Miss distance", _num(mail.miss_km, ".3f", "km")))
    if mail.relative_speed_km_s is not None:
        out.append(("Relative speed", _num(mail.relative_speed_km_s, ".3f", "km/s")))
    if mail.kind == "conjunction" or mail.pc is not None:
        out.append(("Probability of collision", _num(mail.pc, ".2e") + (f" ({mail.pc_method})" if mail.pc_method else "")))
    if mail.penetration_km is not None:
        out.append(("Penetration depth", _num(mail.penetration_km, ".1f", "km")))
    if mail.propagator:
        out.append(("Propagator", mail.propagator))
    if mail.acknowledged_by:
        out.append(("Acknowledged by", mail.acknowledged_by))
    out.extend(mail.extra)
    out.append(("As of (UTC)", _when(mail.as_of_utc) + (f", run {mail.run_id}" if mail.run_id is not None else "")))
    out.append(("Dashboard", mail.link))
    return out


def subject(mail: AlertMail) -> str:
    return f"[{mail.severity.upper()}] [{mail.tag}] {mail.title}"


def text_body(mail: AlertMail) -> str:
    facts = rows(mail)
    width = max(len(k) for k, _ in facts)
    lines = [subject(mail), ""]
    lines += [f"{k + ':':<{width + 1}} {v}" for k, v in facts]
    lines += [
        "",
        f"Acknowledge: cislunar alerts ack {mail.alert_id} --by NAME",
        f"Silence:     cislunar alerts silence {mail.alert_id} --by NAME --reason TEXT --hours 24",
        "",
        f"Situation fingerprint: {mail.fingerprint}",
        "-- cislunar-monitor",
        "",
    ]
    return "\n".join(lines)


_COLOURS = {"info": "#31708f", "warning": "#8a6d3b", "critical": "#a94442"}


def html_body(mail: AlertMail, with_image: bool) -> str:
    e = html.escape
    trs = "\n".join(
        f'<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">{e(k)}</th><td>'
        + (f'<a href="{e(v)}">{e(v)}</a>' if k == "Dashboard" else e(v))
        + "</td></tr>"
        for k, v in rows(mail)
    )
    img = '<p><img src="cid:encounter" alt="encounter geometry" width="400"></p>' if with_image else ""
    colour = _COLOURS.get(mail.severity, "#333")
    return (
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n"
        f'<h2 style="color:{colour}">{e(subject(mail))}</h2>\n'
        f"<table>\n{trs}\n</table>\n{img}\n"
        f'<p><a href="{e(mail.link)}">Open alert #{mail.alert_id} in the dashboard</a></p>\n'
        f"<p style=\"color:#777;font-size:small\">Acknowledge: <code>cislunar alerts ack {mail.alert_id} --by NAME</code><br>"
        f"Situation fingerprint: <code>{e(mail.fingerprint)}</code></p>\n"
        "</body></html>\n"
    )


# ---------------------------------------------------------------- geometry PNG

def encounter_png(mail: AlertMail, dpi: int = 80) -> bytes:
    """A small PNG: the relative track in the primary's RTN frame when the
    states are known, else a schematic of the miss distance or window."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.0), dpi=dpi)
    FigureCanvasAgg(fig)
    g = mail.geometry
    if g is not None and len(g.t_from_tca_s) >= 2:
        k = int(np.argmin(np.linalg.norm(g.rel_rtn_km, axis=1)))
        for j, (a, b, la, lb) in enumerate(((1, 0, "transverse (km)", "radial (km)"), (2, 0, "normal (km)", "radial (km)"))):
            ax = fig.add_subplot(1, 2, j + 1)
            ax.plot(g.rel_rtn_km[:, a], g.rel_rtn_km[:, b], "-", color="#1f77b4", lw=1.2, label="secondary")
            ax.plot(g.rel_rtn_km[k, a], g.rel_rtn_km[k, b], "o", color="#d62728", ms=5, label="closest")
            ax.plot(0.0, 0.0, "+", color="black", ms=10, label="primary")
            ax.set_xlabel(la, fontsize=8)
            ax.set_ylabel(lb, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(True, lw=0.3)
        fig.axes[0].legend(fontsize=6, loc="best")
        fig.suptitle(f"Relative track, primary RTN frame; miss {_num(mail.miss_km, '.3f', 'km')}", fontsize=9)
    elif mail.miss_km is not None and mail.kind in ("conjunction", "proximity", "region_approach"):
        ax = fig.add_subplot(1, 1, 1)
        m = float(mail.miss_km)
        th = np.linspace(0, 2 * np.pi, 181)
        ax.plot(m * np.cos(th), m * np.sin(th), ":", color="#7f7f7f", lw=1)
        ax.plot(0.0, 0.0, "+", color="black", ms=10)
        ax.plot(m, 0.0, "o", color="#d62728", ms=5)
        ax.annotate(f"{m:.3f} km", (m, 0.0), textcoords="offset points", xytext=(4, 6), fontsize=8)
        ax.set_aspect("equal")
        ax.set_xlabel("km (encounter plane, schematic)", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.suptitle("Miss distance at TCA (no stored states for a track)", fontsize=9)
    else:
        ax = fig.add_subplot(1, 1, 1)
        start = mail.start_utc or mail.tca_utc or mail.as_of_utc
        end = mail.end_utc or start
        hours = max((end - start).total_seconds() / 3600.0, 0.0)
        ax.barh([0], [max(hours, 0.05)], left=[0], color=_COLOURS.get(mail.severity, "#333"), height=0.4)
        ax.set_ylim(-1.5, 1.5)
        ax.set_yticks([0], [mail.region or mail.kind])
        ax.set_xlabel(f"hours after {iso_z(start)}", fontsize=8)
        ax.tick_params(labelsize=7)
        depth = f"; penetration {mail.penetration_km:.1f} km" if mail.penetration_km is not None else ""
        fig.suptitle(f"{mail.kind.replace('_', ' ')} window{depth}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def compose(mail: AlertMail, with_png: bool = True) -> ComposedMail:
    png = encounter_png(mail) if with_png else None
    return ComposedMail(subject=subject(mail), text=text_body(mail), html=html_body(mail, png is not None), png=png)


def compose_digest(day_utc: datetime, alerts: list[dict], dashboard_url: str) -> ComposedMail:
    """A daily summary: one line per open or acknowledged alert."""
    title = f"[DIGEST] {len(alerts)} open alert(s) on {day_utc:%Y-%m-%d}"
    lines = [title, ""]
    for a in alerts:
        lines.append(f"#{a['id']:<6} {a['severity']:<8} {a['state']:<12} {a['title']}  {dashboard_url}/alerts?alert={a['id']}")
    if not alerts:
        lines.append("No open alerts.")
    lines += ["", "-- cislunar-monitor", ""]
    e = html.escape
    trs = "\n".join(
        f"<tr><td><a href=\"{e(dashboard_url)}/alerts?alert={a['id']}\">#{a['id']}</a></td><td>{e(a['severity'])}</td>"
        f"<td>{e(a['state'])}</td><td>{e(a['title'])}</td></tr>"
        for a in alerts
    )
    body_html = (
        f"<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\"><h2>{e(title)}</h2>"
        f"<table>\n<tr><th>Alert</th><th>Severity</th><th>State</th><th>Title</th></tr>\n{trs}\n</table></body></html>\n"
    )
    return ComposedMail(subject=title, text="\n".join(lines), html=body_html, png=None)
