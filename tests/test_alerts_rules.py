"""Alert rules are pure: a validated [alerts] table, events in, decisions out.
Invalid rules name the key, the value and what was expected."""

from __future__ import annotations

import tomllib
from datetime import timedelta

import pytest

from alerts.lifecycle import message_id, tag_for
from alerts.rules import DEFAULT_RULES, EventFacts, Notified, load_rules, notification_reason
from propagators.errors import ConfigError
from test_alerts_support import T0

EXAMPLE = """
[alerts]
recipients = ["ops@example.org"]
repeat_hours = 12

[alerts.groups]
crewed = [25544]

[[alerts.rules]]
name = "close"
kind = "conjunction"
severity = "critical"
miss_km_max = 1.0

[[alerts.rules]]
name = "likely"
kind = "conjunction"
severity = "warning"
pc_min = 1e-5
recipients = ["pc-team@example.org"]

[[alerts.rules]]
name = "crewed-any"
kind = "conjunction"
severity = "info"
groups = ["crewed"]
miss_km_max = 25.0

[[alerts.rules]]
name = "deep-entry"
kind = "region_entry"
severity = "warning"
regions = ["EML1"]
penetration_km_min = 100.0

[[alerts.rules]]
name = "long-proximity"
kind = "proximity"
severity = "warning"
miss_km_max = 10.0
duration_minutes_min = 30.0

[[alerts.routes]]
recipients = ["oncall@example.org"]
min_severity = "critical"

[[alerts.routes]]
recipients = ["l1@example.org"]
regions = ["EML1"]

[[alerts.routes]]
recipients = ["crew-safety@example.org"]
groups = ["crewed"]
"""


def policy():
    return load_rules(tomllib.loads(EXAMPLE)["alerts"], dashboard_url="https://ssa.example.org/")


def test_thresholds_combine_and_highest_severity_wins():
    p = policy()
    close = p.evaluate(EventFacts("conjunction", "fp", norad_ids=(1, 2), miss_km=0.4, pc=2e-5))
    assert (close.severity, close.rule) == ("critical", "close")
    assert set(close.matched) == {"close", "likely"}
    # only the rules of the winning severity add their own recipients
    assert close.recipients == ("oncall@example.org",)
    likely = p.evaluate(EventFacts("conjunction", "fp", norad_ids=(1, 2), miss_km=3.0, pc=2e-5))
    assert (likely.severity, likely.recipients) == ("warning", ("pc-team@example.org",))
    assert p.evaluate(EventFacts("conjunction", "fp", norad_ids=(1, 2), miss_km=3.0, pc=None)) is None
    crewed = p.evaluate(EventFacts("conjunction", "fp", norad_ids=(25544, 2), miss_km=20.0))
    assert (crewed.severity, crewed.recipients) == ("info", ("crew-safety@example.org",))


def test_region_and_duration_filters_and_routing():
    p = policy()
    deep = EventFacts("region_entry", "fp", region="EML1", norad_ids=(7,), penetration_km=150.0)
    d = p.evaluate(deep)
    assert d.severity == "warning" and d.recipients == ("l1@example.org",)
    assert p.evaluate(EventFacts("region_entry", "fp", region="EML2", penetration_km=150.0)) is None
    assert p.evaluate(EventFacts("region_entry", "fp", region="EML1", penetration_km=50.0)) is None
    assert p.evaluate(EventFacts("proximity", "fp", miss_km=5.0, duration_minutes=45.0)).severity == "warning"
    assert p.evaluate(EventFacts("proximity", "fp", miss_km=5.0, duration_minutes=10.0)) is None
    # no route matches: the default recipients
    assert p.recipients_for("info", EventFacts("manoeuvre", "fp")) == ("ops@example.org",)
    assert p.dashboard_url == "https://ssa.example.org"


def test_defaults_apply_without_an_alerts_section():
    p = load_rules({})
    assert len(p.rules) == len(DEFAULT_RULES)
    assert p.evaluate(EventFacts("conjunction", "fp", miss_km=0.5)).severity == "critical"
    assert p.evaluate(EventFacts("conjunction", "fp", miss_km=4.0)).severity == "warning"
    assert p.evaluate(EventFacts("conjunction", "fp", miss_km=40.0)) is None
    assert load_rules({"rules": []}).evaluate(EventFacts("conjunction", "fp", miss_km=0.1)) is None


@pytest.mark.parametrize(
    "toml, key, fragment",
    [
        ('[[alerts.rules]]\nkind = "conjunction"\nseverity = "urgent"', "alerts.rules[0].severity", "info, warning, critical"),
        ('[[alerts.rules]]\nkind = "collision"\nseverity = "info"', "alerts.rules[0].kind", "conjunction"),
        ('[[alerts.rules]]\nkind = "conjunction"\nseverity = "info"\npenetration_km_min = 3', "alerts.rules[0].penetration_km_min", "miss_km_max"),
        ('[[alerts.rules]]\nkind = "conjunction"\nseverity = "info"\nmiss_km_max = "one"', "alerts.rules[0].miss_km_max", "a number"),
        ('[[alerts.rules]]\nkind = "conjunction"\nseverity = "info"\npc_min = 3', "alerts.rules[0].pc_min", "probability"),
        ('[[alerts.rules]]\nkind = "conjunction"\nseverity = "info"\ngroups = ["nope"]', "alerts.rules[0].groups", "alerts.groups"),
        ('[[alerts.rules]]\nname = "a"\nkind = "manoeuvre"\nseverity = "info"\n[[alerts.rules]]\nname = "a"\nkind = "manoeuvre"\nseverity = "info"',
         "alerts.rules[1].name", "no other rule"),
        ('[alerts]\nrecipients = ["not-an-address"]', "alerts.recipients", "e-mail addresses"),
        ('[alerts]\nrepeat_hour = 3', "alerts.repeat_hour", "repeat_hours"),
        ('[[alerts.routes]]\nmin_severity = "info"', "alerts.routes[0].recipients", "e-mail"),
        ('[alerts.deadman]\ncycle_stale_minutes = 0', "alerts.deadman.cycle_stale_minutes", "> 0"),
        ('[alerts.delivery]\nmax_attempts = 0', "alerts.delivery.max_attempts", "integer"),
        ('[alerts]\nmiss_factor = 2', "alerts.miss_factor", "between 0 and 1"),
    ],
)
def test_invalid_rules_name_the_key(toml, key, fragment):
    raw = tomllib.loads(toml).get("alerts", {})
    with pytest.raises(ConfigError) as info:
        load_rules(raw)
    assert info.value.key == key
    assert key in str(info.value) and fragment in str(info.value)


def test_region_names_checked_when_known():
    raw = {"rules": [{"kind": "region_entry", "severity": "info", "regions": ["EML9"]}]}
    assert load_rules(raw).rules[0].regions == frozenset({"EML9"})
    with pytest.raises(ConfigError, match="EML1"):
        load_rules(raw, known_regions=["EML1", "EML2"])


def test_notification_reasons():
    p = load_rules({"repeat_hours": 24})
    last = Notified(count=1, at=T0, severity="warning", miss_km=2.0, pc=1e-5)

    def why(state="open", severity="warning", miss_km=1.5, pc=2e-5, hours=1.0):
        return notification_reason(p, last, state=state, severity=severity, miss_km=miss_km, pc=pc, now=T0 + timedelta(hours=hours))

    assert notification_reason(p, Notified(0, None, None, None, None), state="open", severity="info", miss_km=None, pc=None, now=T0) == "new"
    assert why() is None  # a bit worse, not enough
    assert why(miss_km=1.0).startswith("miss distance fell")  # halved
    zero = Notified(count=1, at=T0, severity="critical", miss_km=0.0, pc=None)
    assert notification_reason(p, zero, state="open", severity="critical", miss_km=0.0, pc=None, now=T0) is None  # 0 km cannot halve
    assert why(pc=1e-4).startswith("Pc rose")  # tenfold
    assert why(severity="critical").startswith("severity rose")
    assert why(severity="info", miss_km=1.9) is None  # improving: quiet
    assert why(hours=24.0).startswith("reminder")
    assert why(state="acknowledged", hours=48.0) is None  # acknowledged: no reminders
    assert why(state="acknowledged", severity="critical").startswith("severity rose")  # ... but worsening


def test_message_ids_are_deterministic_and_threadable():
    a1 = message_id("conj:1:2:2026-07-06T18", 1, "cislunar-monitor")
    assert a1 == message_id("conj:1:2:2026-07-06T18", 1, "cislunar-monitor")
    assert a1.startswith("<alert-") and a1.endswith("-1@cislunar-monitor>")
    assert message_id("conj:1:2:2026-07-06T18", 2, "x") != message_id("conj:1:3:2026-07-06T18", 2, "x")
    assert [tag_for(r) for r in ("new", "reminder: x", "resolved: y", "reopened: z", "Pc rose")] == ["NEW", "REMINDER", "RESOLVED", "REOPENED", "UPDATE"]


def test_default_rules_separate_visitors_from_residents():
    """A cislunar object entering a protected region is critical; a GEO
    resident drifting across its own region's boundary is info (recorded,
    not mailed under the default email_min_severity = warning)."""
    from alerts.rules import EventFacts, load_rules

    policy = load_rules({})
    visitor = EventFacts(kind="region_entry", fingerprint="a", region="IADC GEO", norad_ids=(1,), penetration_km=50.0,
                         regimes=("CISLUNAR",))
    resident = EventFacts(kind="region_entry", fingerprint="b", region="IADC GEO", norad_ids=(2,), penetration_km=50.0,
                          regimes=("GEO",))
    assert policy.evaluate(visitor).severity == "critical"
    assert policy.evaluate(resident).severity == "info"
    assert not policy.mails("info") and policy.mails("warning")


def test_regimes_filter_is_validated():
    import pytest

    from alerts.rules import load_rules
    from propagators.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_rules({"rules": [{"name": "x", "kind": "region_entry", "severity": "warning", "regimes": ["MARS"]}]})
    assert info.value.key == "alerts.rules[0].regimes" and info.value.value == "MARS"
