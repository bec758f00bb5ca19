"""Glue between stored state/ephemeris element sets and the core."""

from __future__ import annotations

import json

from db.models import ElementSet
from propagators import state_objects


def propagate_state_object(es: ElementSet, t):
    payload = json.loads(es.payload_json or "{}")
    src = state_objects.load(es.format, es.raw_text, segment=int(payload.get("segment", 0)), source=es.source)
    return state_objects.propagate(src, t)
