"""Alert lifecycle policy: identities, threading and wording.  Pure.

* One alert per situation: the alert's fingerprint is the screening event's
  fingerprint (object pair and TCA bucket, or object, region and window), so
  the same encounter seen in successive cycles updates one alert.  The
  service's own conditions use ``deadman:cycles`` and ``deadman:elements``.
* States: ``open -> acknowledged -> resolved`` (operators: ``db.alert_ops``);
  the engine resolves an alert when its situation disappears and reopens it
  when it comes back (after an automatic resolution) or worsens (after an
  operator's resolution).
* Every notification of a situation gets the deterministic Message-ID
  ``<alert-{sha256(fingerprint)[:16]}-{n}@{domain}>`` (n = 1, 2, ...); the
  first one is the thread root and every later one carries
  ``In-Reply-To``/``References`` to it, so mail clients thread them, and a
  message re-sent after a crash is recognisable as the same message.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

DEADMAN_CYCLES = "deadman:cycles"
DEADMAN_ELEMENTS = "deadman:elements"

# Event kinds that are instantaneous: not seeing them again in a later cycle
# does not mean the situation ended (only status 'gone' does).
INSTANT_KINDS = frozenset({"manoeuvre"})


def thread_key(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:16]


def message_id(fingerprint: str, n: int, domain: str) -> str:
    """Message-ID of the n-th notification (1-based) of a situation."""
    if n < 1:
        raise ValueError(f"notification number {n}: expected 1 or more")
    return f"<alert-{thread_key(fingerprint)}-{n}@{domain}>"


def digest_message_id(day: datetime, domain: str) -> str:
    return f"<digest-{day:%Y%m%d}@{domain}>"


def tag_for(reason: str) -> str:
    """The subject tag for a notification reason."""
    if reason == "new":
        return "NEW"
    if reason.startswith("reopened"):
        return "REOPENED"
    if reason.startswith("reminder"):
        return "REMINDER"
    if reason.startswith("resolved"):
        return "RESOLVED"
    return "UPDATE"


def title_for(kind: str, labels: list[str], region: str | None, *, miss_km: float | None = None,
              penetration_km: float | None = None, duration_minutes: float | None = None) -> str:
    who = " x ".join(labels) if labels else "unknown object"
    if kind == "conjunction":
        return f"Conjunction {who}" + (f", miss {miss_km:.3f} km" if miss_km is not None else "")
    if kind == "region_entry":
        return f"Region entry: {who} into {region or '?'}" + (f", {penetration_km:.1f} km deep" if penetration_km is not None else "")
    if kind == "region_approach":
        return f"Region approach: {who} near {region or '?'}" + (f", {miss_km:.1f} km" if miss_km is not None else "")
    if kind == "proximity":
        return (f"Proximity {who}" + (f", within {miss_km:.3f} km" if miss_km is not None else "")
                + (f" for {duration_minutes:.0f} min" if duration_minutes is not None else ""))
    if kind == "manoeuvre":
        return f"Manoeuvre detected: {who}"
    return f"{kind.replace('_', ' ').capitalize()}: {who}"


def vanished_reason(event_status: str | None, tca_utc: datetime | None, window_start_utc: datetime | None, run_id: int) -> str:
    """Why a situation counts as ended after run ``run_id``."""
    if event_status is None:
        return f"resolved: the event was removed (run {run_id})"
    if tca_utc is not None and window_start_utc is not None and tca_utc < window_start_utc:
        return f"resolved: the time of closest approach has passed (run {run_id})"
    return f"resolved: no longer predicted by run {run_id}"
