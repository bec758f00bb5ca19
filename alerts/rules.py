"""Alert rules: events in, decisions out.  Pure: no SQL, no clock, no I/O.

The ``[alerts]`` section of the configuration file
==================================================

Every key is optional; without an ``[alerts]`` section the defaults below
apply (``DEFAULT_RULES``).  ``cislunar run`` validates the whole section at
start-up and refuses to start on the first invalid key, naming it::

    cislunar: error: configuration key 'alerts.rules[1].severity' = 'urgent':
    expected one of info, warning, critical

.. code-block:: toml

    [alerts]
    recipients = ["ops@example.org"]   # when no route matches (else smtp.recipients)
    email_min_severity = "warning"     # alerts below this are recorded and shown, never mailed
    repeat_hours = 24                  # remind about an unchanged OPEN alert (0 = never)
    miss_factor = 0.5                  # re-notify when the miss distance falls to <= 0.5 x the last notified
    pc_factor = 10.0                   # re-notify when Pc grows to >= 10 x the last notified
    message_id_domain = "cislunar-monitor"

    [alerts.groups]                    # object groups, by catalogue number
    crewed = [25544, 48274]

    # A rule matches an event of its kind when every filter and every threshold
    # given holds (AND).  For "either a small miss OR a high Pc", write two rules.
    # When several rules match, the highest severity wins.  With no [[alerts.rules]]
    # at all, DEFAULT_RULES apply; `rules = []` turns event alerts off.
    [[alerts.rules]]
    name = "conjunction-close"         # unique; shown in the mail and the dashboard
    kind = "conjunction"               # conjunction | region_entry | region_approach | proximity | manoeuvre
    severity = "critical"              # info | warning | critical
    miss_km_max = 1.0                  # conjunction, region_approach, proximity
    # pc_min = 1e-4                    # conjunction
    # penetration_km_min = 100.0       # region_entry
    # duration_minutes_min = 30.0      # proximity
    # regions = ["EML1", "NRHO"]       # only events in these regions
    # groups = ["crewed"]              # only events involving an object of these groups
    # regimes = ["CISLUNAR", "LUNAR"]  # only events involving an object of these regimes
    # recipients = ["fdo@example.org"] # added to the routed recipients

    # Routing: every matching route adds its recipients.
    [[alerts.routes]]
    recipients = ["oncall@example.org"]
    min_severity = "critical"          # default info
    # kinds = ["conjunction"]  regions = ["EML1"]  groups = ["crewed"]

    [alerts.deadman]                   # alerts when the service itself goes quiet
    enabled = true
    cycle_stale_minutes = 60           # no successful cycle for this long
    elements_stale_hours = 72          # the newest element set is older than this
    severity = "critical"
    check_minutes = 5

    [alerts.digest]                    # optional daily summary of open alerts
    enabled = false
    hour_utc = 6
    recipients = []                    # default: alerts.recipients

    [alerts.delivery]                  # the outbox sender (SMTP itself: [smtp])
    poll_seconds = 15
    batch_size = 50
    max_attempts = 8                   # then the message is dead-lettered
    backoff_seconds = 30               # 30 s, 60 s, 120 s ... capped at backoff_max_seconds
    backoff_max_seconds = 3600
    smtp_timeout_seconds = 30
    lease_seconds = 300                # a claimed message is retried after this if its sender died
    smtp_ssl = false                   # implicit TLS (port 465); STARTTLS is smtp.starttls
    smtp_ca_file = ""                  # PEM bundle to trust for (START)TLS; default: system CAs
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from propagators.errors import ConfigError

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
EVENT_KINDS = ("conjunction", "region_entry", "region_approach", "proximity", "manoeuvre")

# Threshold keys each kind accepts: key -> (EventFacts attribute, "max" | "min").
THRESHOLDS: dict[str, dict[str, tuple[str, str]]] = {
    "conjunction": {"miss_km_max": ("miss_km", "max"), "pc_min": ("pc", "min")},
    "region_entry": {"penetration_km_min": ("penetration_km", "min")},
    "region_approach": {"miss_km_max": ("miss_km", "max")},
    "proximity": {"miss_km_max": ("miss_km", "max"), "duration_minutes_min": ("duration_minutes", "min")},
    "manoeuvre": {},
}
# A miss distance must fall by at least this much to count as "halved"
# (two docked modules sharing one element set sit at 0 km forever).
MISS_NOISE_KM = 1e-3
_RULE_FILTERS = ("name", "kind", "severity", "regions", "groups", "recipients", "regimes")

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "conjunction-critical-miss", "kind": "conjunction", "severity": "critical", "miss_km_max": 1.0},
    {"name": "conjunction-critical-pc", "kind": "conjunction", "severity": "critical", "pc_min": 1e-4},
    {"name": "conjunction-warning-miss", "kind": "conjunction", "severity": "warning", "miss_km_max": 5.0},
    {"name": "conjunction-warning-pc", "kind": "conjunction", "severity": "warning", "pc_min": 1e-5},
    # Objects arriving from outside the traditional orbits (cislunar, lunar,
    # libration-point, HEO) entering or approaching a protected region are
    # what this monitor exists for; a GEO or MEO resident drifting across its
    # own region's boundary is recorded as info.
    {"name": "region-entry-visitor", "kind": "region_entry", "severity": "critical",
     "regimes": ["CISLUNAR", "LUNAR", "LIBRATION", "HEO"]},
    {"name": "region-approach-visitor", "kind": "region_approach", "severity": "warning",
     "regimes": ["CISLUNAR", "LUNAR", "LIBRATION", "HEO"]},
    {"name": "region-entry", "kind": "region_entry", "severity": "info"},
    {"name": "region-approach", "kind": "region_approach", "severity": "info"},
    {"name": "proximity", "kind": "proximity", "severity": "warning"},
    {"name": "manoeuvre", "kind": "manoeuvre", "severity": "info"},
)


# ---------------------------------------------------------------- values

@dataclass(frozen=True)
class EventFacts:
    """What the rules look at: one event as the latest cycle saw it."""

    kind: str
    fingerprint: str
    region: str | None = None
    norad_ids: tuple[int, ...] = ()
    miss_km: float | None = None
    pc: float | None = None
    penetration_km: float | None = None
    duration_minutes: float | None = None
    regimes: tuple[str, ...] = ()  # of the object(s) involved


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    severity: str
    thresholds: tuple[tuple[str, str, float], ...] = ()  # (facts attribute, "max"|"min", value)
    regions: frozenset[str] | None = None
    groups: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    regimes: frozenset[str] | None = None

    def matches(self, facts: EventFacts, groups: Mapping[str, frozenset[int]]) -> bool:
        if facts.kind != self.kind:
            return False
        if self.regions is not None and facts.region not in self.regions:
            return False
        if self.regimes is not None and not any(r in self.regimes for r in facts.regimes):
            return False
        if self.groups and not any(n in groups[g] for g in self.groups for n in facts.norad_ids):
            return False
        for attr, sense, limit in self.thresholds:
            value = getattr(facts, attr)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return False  # a threshold on a quantity the event lacks does not hold
            if sense == "max" and not value <= limit:
                return False
            if sense == "min" and not value >= limit:
                return False
        return True


@dataclass(frozen=True)
class Route:
    recipients: tuple[str, ...]
    min_severity: str = "info"
    kinds: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    groups: tuple[str, ...] = ()

    def matches(self, severity: str, facts: EventFacts | None, groups: Mapping[str, frozenset[int]]) -> bool:
        if SEVERITY_RANK[severity] < SEVERITY_RANK[self.min_severity]:
            return False
        kind = facts.kind if facts else "deadman"
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.regions is not None and (facts is None or facts.region not in self.regions):
            return False
        if self.groups and (facts is None or not any(n in groups[g] for g in self.groups for n in facts.norad_ids)):
            return False
        return True


@dataclass(frozen=True)
class Decision:
    """The outcome of the rules for one event: alert at this severity."""

    severity: str
    rule: str
    recipients: tuple[str, ...]
    matched: tuple[str, ...]  # every matching rule, file order


@dataclass(frozen=True)
class DeadmanPolicy:
    enabled: bool = True
    cycle_stale_minutes: float = 60.0
    elements_stale_hours: float = 72.0
    severity: str = "critical"
    check_minutes: float = 5.0


@dataclass(frozen=True)
class DigestPolicy:
    enabled: bool = False
    hour_utc: int = 6
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryPolicy:
    poll_seconds: float = 15.0
    batch_size: int = 50
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    smtp_timeout_seconds: float = 30.0
    lease_seconds: float = 300.0
    smtp_ssl: bool = False
    smtp_ca_file: str | None = None

    def backoff_s(self, attempts: int) -> float:
        """Delay before attempt ``attempts + 1`` (exponential, capped)."""
        return min(self.backoff_seconds * 2.0 ** max(attempts - 1, 0), self.backoff_max_seconds)


@dataclass(frozen=True)
class AlertPolicy:
    """The validated ``[alerts]`` section: rules, routing and timings."""

    rules: tuple[Rule, ...] = ()
    groups: Mapping[str, frozenset[int]] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    recipients: tuple[str, ...] = ()
    email_min_severity: str = "warning"
    repeat_hours: float = 24.0
    miss_factor: float = 0.5
    pc_factor: float = 10.0
    message_id_domain: str = "cislunar-monitor"
    dashboard_url: str = "http://127.0.0.1:8501"
    deadman: DeadmanPolicy = DeadmanPolicy()
    digest: DigestPolicy = DigestPolicy()
    delivery: DeliveryPolicy = DeliveryPolicy()

    def evaluate(self, facts: EventFacts) -> Decision | None:
        """The alert decision for one event, or None when no rule matches."""
        return evaluate(self, facts)

    def recipients_for(self, severity: str, facts: EventFacts | None, extra: Iterable[str] = ()) -> tuple[str, ...]:
        out: list[str] = []
        for route in self.routes:
            if route.matches(severity, facts, self.groups):
                out.extend(route.recipients)
        out.extend(extra)
        if not out:
            out.extend(self.recipients)
        return tuple(dict.fromkeys(out))  # de-duplicated, order kept

    def mails(self, severity: str) -> bool:
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.email_min_severity]


def evaluate(policy: AlertPolicy, facts: EventFacts) -> Decision | None:
    matched = [r for r in policy.rules if r.matches(facts, policy.groups)]
    if not matched:
        return None
    best = max(matched, key=lambda r: SEVERITY_RANK[r.severity])  # first of the highest
    extra = [a for r in matched if r.severity == best.severity for a in r.recipients]
    return Decision(
        severity=best.severity,
        rule=best.name,
        recipients=policy.recipients_for(best.severity, facts, extra),
        matched=tuple(r.name for r in matched),
    )


# ---------------------------------------------------------------- worsening

@dataclass(frozen=True)
class Notified:
    """What the last notification of an alert said."""

    count: int
    at: datetime | None
    severity: str | None
    miss_km: float | None
    pc: float | None


def notification_reason(
    policy: AlertPolicy,
    last: Notified,
    *,
    state: str,
    severity: str,
    miss_km: float | None,
    pc: float | None,
    now: datetime,
) -> str | None:
    """Why to notify now, or None.

    New alerts notify; afterwards only a worsening (severity rises, miss
    distance falls to ``miss_factor`` of the last notified value, Pc grows
    ``pc_factor``-fold) or, for an alert still *open*, the repeat interval.
    Acknowledged alerts hear only of worsening.
    """
    if last.count == 0:
        return "new"
    if last.severity is not None and SEVERITY_RANK[severity] > SEVERITY_RANK[last.severity]:
        return f"severity rose from {last.severity} to {severity}"
    if (miss_km is not None and last.miss_km is not None and miss_km <= last.miss_km * policy.miss_factor
            and last.miss_km - miss_km >= MISS_NOISE_KM):
        return f"miss distance fell from {last.miss_km:.3f} km to {miss_km:.3f} km"
    if pc is not None and last.pc is not None and last.pc > 0 and pc >= last.pc * policy.pc_factor:
        return f"Pc rose from {last.pc:.2e} to {pc:.2e}"
    if state == "open" and policy.repeat_hours > 0 and last.at is not None:
        if (now - last.at).total_seconds() >= policy.repeat_hours * 3600.0:
            return f"reminder: still open after {policy.repeat_hours:g} h"
    return None


# ---------------------------------------------------------------- loading

def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}"


def _check_keys(table: Mapping[str, Any], allowed: Iterable[str], prefix: str) -> None:
    allowed = tuple(allowed)
    for k in table:
        if k not in allowed:
            raise ConfigError(_key(prefix, k), table[k], "one of the keys " + ", ".join(allowed))


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, "a table")
    return value


def _number(value: Any, key: str, *, minimum: float | None = None, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(float(value)):
        raise ConfigError(key, value, "a number")
    v = float(value)
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ConfigError(key, value, f"a number {'>' if strict else '>='} {minimum:g}")
    return v


def _int(value: Any, key: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        raise ConfigError(key, value, f"an integer from {lo}" + (f" to {hi}" if hi is not None else " up"))
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false")
    return value


def _severity(value: Any, key: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(key, value, "one of " + ", ".join(SEVERITIES))
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise ConfigError(key, value, "a list of non-empty strings")
    return tuple(s.strip() for s in value)


def _addresses(value: Any, key: str) -> tuple[str, ...]:
    out = _str_list(value, key)
    for a in out:
        if "@" not in a or any(c.isspace() for c in a) or a.startswith("@") or a.endswith("@"):
            raise ConfigError(key, value, f"e-mail addresses like ops@example.org ({a!r} is not one)")
    return out


def _regions(value: Any, key: str, known: frozenset[str] | None) -> frozenset[str]:
    names = _str_list(value, key)
    if known is not None:
        for n in names:
            if n not in known:
                raise ConfigError(key, value, "region names defined in [regions]: " + ", ".join(sorted(known)))
    return frozenset(names)


def _group_refs(value: Any, key: str, groups: Mapping[str, frozenset[int]]) -> tuple[str, ...]:
    names = _str_list(value, key)
    for n in names:
        if n not in groups:
            raise ConfigError(key, value, "group names defined in [alerts.groups]" + (": " + ", ".join(sorted(groups)) if groups else " (none are)"))
    return names


def _load_rule(raw: Any, i: int, seen: set[str], groups, known_regions) -> Rule:
    prefix = f"alerts.rules[{i}]"
    raw = _table(raw, prefix)
    name = raw.get("name", f"rule-{i}")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(_key(prefix, "name"), name, "a non-empty string")
    if name in seen:
        raise ConfigError(_key(prefix, "name"), name, "a name no other rule uses")
    seen.add(name)
    if "kind" not in raw:
        raise ConfigError(_key(prefix, "kind"), None, "one of " + ", ".join(EVENT_KINDS))
    kind = raw["kind"]
    if kind not in EVENT_KINDS:
        raise ConfigError(_key(prefix, "kind"), kind, "one of " + ", ".join(EVENT_KINDS))
    allowed = THRESHOLDS[kind]
    _check_keys(raw, (*_RULE_FILTERS, *allowed), prefix)
    if "severity" not in raw:
        raise ConfigError(_key(prefix, "severity"), None, "one of " + ", ".join(SEVERITIES))
    severity = _severity(raw["severity"], _key(prefix, "severity"))
    thresholds = []
    for k, (attr, sense) in allowed.items():
        if k in raw:
            v = _number(raw[k], _key(prefix, k), minimum=0.0)
            if attr == "pc" and v > 1.0:
                raise ConfigError(_key(prefix, k), raw[k], "a probability from 0 to 1")
            thresholds.append((attr, sense, v))
    return Rule(
        name=name.strip(),
        kind=kind,
        severity=severity,
        thresholds=tuple(thresholds),
        regions=_regions(raw["regions"], _key(prefix, "regions"), known_regions) if "regions" in raw else None,
        groups=_group_refs(raw["groups"], _key(prefix, "groups"), groups) if "groups" in raw else (),
        recipients=_addresses(raw["recipients"], _key(prefix, "recipients")) if "recipients" in raw else (),
        regimes=_regimes(raw["regimes"], _key(prefix, "regimes")) if "regimes" in raw else None,
    )


REGIMES = ("LEO", "MEO", "GEO", "HEO", "CISLUNAR", "LUNAR", "LIBRATION")


def _regimes(value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, value, "a non-empty list of regimes: " + ", ".join(REGIMES))
    bad = [v for v in value if v.upper() not in REGIMES]
    if bad:
        raise ConfigError(key, bad[0], "one of " + ", ".join(REGIMES))
    return frozenset(v.upper() for v in value)


def _load_route(raw: Any, i: int, groups, known_regions) -> Route:
    prefix = f"alerts.routes[{i}]"
    raw = _table(raw, prefix)
    _check_keys(raw, ("recipients", "min_severity", "kinds", "regions", "groups"), prefix)
    if "recipients" not in raw:
        raise ConfigError(_key(prefix, "recipients"), None, "a list of e-mail addresses")
    kinds = None
    if "kinds" in raw:
        kinds = frozenset(_str_list(raw["kinds"], _key(prefix, "kinds")))
        bad = kinds - set(EVENT_KINDS) - {"deadman"}
        if bad:
            raise ConfigError(_key(prefix, "kinds"), raw["kinds"], "event kinds among " + ", ".join((*EVENT_KINDS, "deadman")))
    return Route(
        recipients=_addresses(raw["recipients"], _key(prefix, "recipients")),
        min_severity=_severity(raw.get("min_severity", "info"), _key(prefix, "min_severity")),
        kinds=kinds,
        regions=_regions(raw["regions"], _key(prefix, "regions"), known_regions) if "regions" in raw else None,
        groups=_group_refs(raw["groups"], _key(prefix, "groups"), groups) if "groups" in raw else (),
    )


def _load_deadman(raw: Any) -> DeadmanPolicy:
    raw = _table(raw, "alerts.deadman")
    _check_keys(raw, ("enabled", "cycle_stale_minutes", "elements_stale_hours", "severity", "check_minutes"), "alerts.deadman")
    d = DeadmanPolicy()
    return DeadmanPolicy(
        enabled=_bool(raw.get("enabled", d.enabled), "alerts.deadman.enabled"),
        cycle_stale_minutes=_number(raw.get("cycle_stale_minutes", d.cycle_stale_minutes), "alerts.deadman.cycle_stale_minutes", minimum=0, strict=True),
        elements_stale_hours=_number(raw.get("elements_stale_hours", d.elements_stale_hours), "alerts.deadman.elements_stale_hours", minimum=0, strict=True),
        severity=_severity(raw.get("severity", d.severity), "alerts.deadman.severity"),
        check_minutes=_number(raw.get("check_minutes", d.check_minutes), "alerts.deadman.check_minutes", minimum=0, strict=True),
    )


def _load_digest(raw: Any) -> DigestPolicy:
    raw = _table(raw, "alerts.digest")
    _check_keys(raw, ("enabled", "hour_utc", "recipients"), "alerts.digest")
    return DigestPolicy(
        enabled=_bool(raw.get("enabled", False), "alerts.digest.enabled"),
        hour_utc=_int(raw.get("hour_utc", 6), "alerts.digest.hour_utc", 0, 23),
        recipients=_addresses(raw["recipients"], "alerts.digest.recipients") if raw.get("recipients") else (),
    )


def _load_delivery(raw: Any) -> DeliveryPolicy:
    p = "alerts.delivery"
    raw = _table(raw, p)
    d = DeliveryPolicy()
    _check_keys(raw, tuple(DeliveryPolicy.__dataclass_fields__), p)
    ca = raw.get("smtp_ca_file", "") or None
    if ca is not None and not isinstance(ca, str):
        raise ConfigError(f"{p}.smtp_ca_file", ca, "a path to a PEM file")
    return DeliveryPolicy(
        poll_seconds=_number(raw.get("poll_seconds", d.poll_seconds), f"{p}.poll_seconds", minimum=0, strict=True),
        batch_size=_int(raw.get("batch_size", d.batch_size), f"{p}.batch_size", 1),
        max_attempts=_int(raw.get("max_attempts", d.max_attempts), f"{p}.max_attempts", 1),
        backoff_seconds=_number(raw.get("backoff_seconds", d.backoff_seconds), f"{p}.backoff_seconds", minimum=0),
        backoff_max_seconds=_number(raw.get("backoff_max_seconds", d.backoff_max_seconds), f"{p}.backoff_max_seconds", minimum=0),
        smtp_timeout_seconds=_number(raw.get("smtp_timeout_seconds", d.smtp_timeout_seconds), f"{p}.smtp_timeout_seconds", minimum=0, strict=True),
        lease_seconds=_number(raw.get("lease_seconds", d.lease_seconds), f"{p}.lease_seconds", minimum=0, strict=True),
        smtp_ssl=_bool(raw.get("smtp_ssl", d.smtp_ssl), f"{p}.smtp_ssl"),
        smtp_ca_file=ca,
    )


_TOP_KEYS = (
    "recipients", "email_min_severity", "repeat_hours", "miss_factor", "pc_factor", "message_id_domain",
    "groups", "rules", "routes", "deadman", "digest", "delivery",
)


def load_rules(
    raw: Mapping[str, Any] | None,
    *,
    dashboard_url: str = "http://127.0.0.1:8501",
    known_regions: Iterable[str] | None = None,
) -> AlertPolicy:
    """Validate the ``[alerts]`` table (``settings.raw.get("alerts", {})``).

    Raises ``ConfigError`` naming the first invalid key (``alerts.rules[2].pc_min``),
    the value and what was expected.  ``known_regions``, when given, are the
    region names rules and routes may use.
    """
    raw = _table(raw or {}, "alerts")
    _check_keys(raw, _TOP_KEYS, "alerts")
    known = frozenset(known_regions) if known_regions is not None else None

    groups: dict[str, frozenset[int]] = {}
    for gname, members in _table(raw.get("groups", {}), "alerts.groups").items():
        key = f"alerts.groups.{gname}"
        if not isinstance(members, list) or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in members):
            raise ConfigError(key, members, "a list of catalogue numbers (positive integers)")
        groups[gname] = frozenset(members)

    raw_rules = raw.get("rules", list(DEFAULT_RULES))
    if not isinstance(raw_rules, list):
        raise ConfigError("alerts.rules", raw_rules, "an array of tables ([[alerts.rules]])")
    seen: set[str] = set()
    rules = tuple(_load_rule(r, i, seen, groups, known) for i, r in enumerate(raw_rules))

    raw_routes = raw.get("routes", [])
    if not isinstance(raw_routes, list):
        raise ConfigError("alerts.routes", raw_routes, "an array of tables ([[alerts.routes]])")
    routes = tuple(_load_route(r, i, groups, known) for i, r in enumerate(raw_routes))

    domain = raw.get("message_id_domain", "cislunar-monitor")
    if not isinstance(domain, str) or not domain or any(c in domain for c in "<>@ \t"):
        raise ConfigError("alerts.message_id_domain", domain, "a host name such as cislunar-monitor.example.org")
    miss_factor = _number(raw.get("miss_factor", 0.5), "alerts.miss_factor", minimum=0, strict=True)
    if miss_factor >= 1:
        raise ConfigError("alerts.miss_factor", raw.get("miss_factor"), "a number between 0 and 1 (0.5: the miss distance halves)")
    pc_factor = _number(raw.get("pc_factor", 10.0), "alerts.pc_factor", minimum=1, strict=True)
    return AlertPolicy(
        rules=rules,
        groups=groups,
        routes=routes,
        recipients=_addresses(raw["recipients"], "alerts.recipients") if raw.get("recipients") else (),
        email_min_severity=_severity(raw.get("email_min_severity", "warning"), "alerts.email_min_severity"),
        repeat_hours=_number(raw.get("repeat_hours", 24.0), "alerts.repeat_hours", minimum=0),
        miss_factor=miss_factor,
        pc_factor=pc_factor,
        message_id_domain=domain,
        dashboard_url=dashboard_url.rstrip("/"),
        deadman=_load_deadman(raw.get("deadman", {})),
        digest=_load_digest(raw.get("digest", {})),
        delivery=_load_delivery(raw.get("delivery", {})),
    )
