"""Sub-commands of the later pipeline stages (screening, alerts) register here.

Alerting commands::

    cislunar alerts [--json] [--state open|acknowledged|resolved] [--limit N]
    cislunar alerts show ID [--json]
    cislunar alerts ack ID --by NAME [--note TEXT]
    cislunar alerts resolve ID --by NAME [--note TEXT]
    cislunar alerts silence [ID | --fingerprint FP | --object NORAD] [--kind K] [--region R]
                            --by NAME --reason TEXT (--hours H | --until ISO)
    cislunar alerts silences [--json] [--all]
    cislunar alerts unsilence SILENCE_ID --by NAME
    cislunar outbox [--json] [--status pending|sending|sent|dead] [--limit N]
    cislunar outbox send            deliver what is due now (SMTP, or the spool folder)
    cislunar outbox retry ID        requeue a dead letter
    cislunar sources [--json]       per-source status: last success, last error, data age
    cislunar sources fetch [NAME..] fetch now
    cislunar health [--json]        dead-man checks; exit 1 when cycles or element sets are stale

Exit codes: 0 ok; 1 ``health`` found a problem; 2 usage error (unknown id,
invalid transition, bad option).
"""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from monitor.cli import EXIT_OK, UsageError, _iso, _positive, _print_json, register

log = logging.getLogger("cislunar")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@contextmanager
def progress(total: int, label: str, enabled: bool = True):
    """A rich progress bar on a terminal, plain log lines elsewhere; yields
    a callback to call once per item done."""
    if enabled and sys.stderr.isatty() and total > 1:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(label, total=total)

            def tick(item: str = "") -> None:
                bar.update(task, advance=1, description=f"{label} {item}".strip())

            yield tick
        return
    done = [0]

    def tick_log(item: str = "") -> None:
        done[0] += 1
        log.info("%s progress %d/%d %s", label, done[0], total, item)

    yield tick_log


@contextmanager
def _database(settings):
    """A session factory whose engine is disposed when the command ends
    (no pooled connection outlives it)."""
    from db.engine import make_engine, session_factory

    engine = make_engine(settings.db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _json_flag(p: argparse.ArgumentParser, top: bool = False) -> None:
    # On sub-actions the flag must not reset a --json given before them.
    p.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS, help="JSON output")


# ---------------------------------------------------------------- alerts

def configure_alerts(sub) -> None:
    p = sub.add_parser("alerts", help="list, acknowledge, silence and resolve alerts")
    _json_flag(p, top=True)
    p.add_argument("--state", choices=["open", "acknowledged", "resolved"], help="only alerts in this state")
    p.add_argument("--limit", type=int, default=200, metavar="N", help="at most N alerts (default 200)")
    acts = p.add_subparsers(dest="alerts_action", metavar="ACTION")

    show = acts.add_parser("show", help="one alert with its audit trail and messages")
    show.add_argument("id", type=int, metavar="ID")
    _json_flag(show)

    for name, helptext in (("ack", "acknowledge: reminders stop, worsening still notifies"),
                           ("resolve", "resolve: the situation is handled")):
        a = acts.add_parser(name, help=helptext)
        a.add_argument("id", type=int, metavar="ID")
        a.add_argument("--by", required=True, metavar="NAME", help="who acts (kept in the audit trail)")
        a.add_argument("--note", metavar="TEXT")
        _json_flag(a)

    s = acts.add_parser("silence", help="suppress notifications of matching alerts until an expiry")
    s.add_argument("id", type=int, nargs="?", metavar="ID", help="silence this alert's situation")
    s.add_argument("--fingerprint", metavar="FP", help="silence a situation by fingerprint")
    s.add_argument("--object", type=int, metavar="NORAD", help="silence every alert involving this object")
    s.add_argument("--kind", choices=["conjunction", "region_entry", "region_approach", "proximity", "manoeuvre", "deadman"])
    s.add_argument("--region", metavar="NAME")
    s.add_argument("--by", required=True, metavar="NAME")
    s.add_argument("--reason", required=True, metavar="TEXT")
    until = s.add_mutually_exclusive_group(required=True)
    until.add_argument("--hours", type=_positive, metavar="H", help="for this many hours")
    until.add_argument("--until", type=_iso, metavar="ISO", help="until this UTC time")
    _json_flag(s)

    ls = acts.add_parser("silences", help="list silences (active ones unless --all)")
    ls.add_argument("--all", action="store_true", help="include expired silences")
    _json_flag(ls)

    u = acts.add_parser("unsilence", help="lift a silence now")
    u.add_argument("silence_id", type=int, metavar="SILENCE_ID")
    u.add_argument("--by", required=True, metavar="NAME")
    _json_flag(u)


def _alert_line(a: dict) -> str:
    opened = (a["opened_at"] or "")[:16]
    return f"{a['id']:>6}  {a['state']:<12} {a['severity']:<8} {a['kind']:<15} {opened:<16}  {a['notify_count']:>3}  {a['title']}"


def cmd_alerts(args, settings) -> int:
    with _database(settings) as Session:
        return _cmd_alerts(args, settings, Session)


def _cmd_alerts(args, settings, Session) -> int:
    from db import alert_ops

    action = getattr(args, "alerts_action", None)
    as_json = getattr(args, "json", False)
    now = _now()
    if action is None:
        with Session() as session:
            rows = [alert_ops.alert_dict(a) for a in alert_ops.list_alerts(session, args.state, limit=args.limit)]
            counts = alert_ops.alert_counts(session)
        if as_json:
            _print_json({"alerts": rows, "count": len(rows), "states": counts})
        else:
            print(f"{'ID':>6}  {'STATE':<12} {'SEVERITY':<8} {'KIND':<15} {'OPENED (UTC)':<16}  {'MSG':>3}  TITLE")
            for a in rows:
                print(_alert_line(a))
            print(f"{len(rows)} alerts shown; open {counts['open']}, acknowledged {counts['acknowledged']}, resolved {counts['resolved']}")
        return EXIT_OK
    if action == "show":
        with Session() as session:
            a = alert_ops.get_alert(session, args.id)
            doc = alert_ops.alert_dict(a)
            doc["actions"] = [alert_ops.action_dict(x) for x in alert_ops.alert_actions(session, a.id)]
            doc["messages"] = [alert_ops.outbox_dict(m) for m in alert_ops.list_outbox(session, limit=None) if m.alert_id == a.id]
        if as_json:
            _print_json(doc)
        else:
            for k in ("id", "title", "state", "severity", "kind", "rule", "fingerprint", "opened_at", "acknowledged_by",
                      "resolved_by", "resolve_note", "notify_count", "last_reason"):
                print(f"{k:>16}: {doc[k] if doc[k] is not None else ''}")
            print("actions:")
            for x in doc["actions"]:
                print(f"  {x['at']}  {x['action']:<12} {x['actor'] or '':<20} {x['note'] or ''}")
            print("messages:")
            for m in doc["messages"]:
                print(f"  {m['id']:>5} {m['status']:<8} {m['message_id']}  {m['subject']}")
        return EXIT_OK
    if action in ("ack", "resolve"):
        fn = alert_ops.acknowledge if action == "ack" else alert_ops.resolve
        with Session.begin() as session:
            a = fn(session, args.id, args.by, args.note, now)
            doc = alert_ops.alert_dict(a)
        if as_json:
            _print_json(doc)
        else:
            print(f"alert {doc['id']} {doc['state']} by {args.by}: {doc['title']}")
        return EXIT_OK
    if action == "silence":
        if args.id is None and args.fingerprint is None and args.object is None and args.kind is None and args.region is None:
            raise UsageError("alerts silence: give an alert ID, --fingerprint, --object, --kind or --region")
        if args.id is not None and args.fingerprint is not None:
            raise UsageError("alerts silence: give an alert ID or --fingerprint, not both")
        expires = args.until if args.until is not None else now + timedelta(hours=args.hours)
        with Session.begin() as session:
            s = alert_ops.silence(
                session, by=args.by, reason=args.reason, expires_at=expires, alert_id=args.id, fingerprint=args.fingerprint,
                object_norad_id=args.object, kind=args.kind, region=args.region, now=now,
            )
            doc = alert_ops.silence_dict(s)
        if as_json:
            _print_json(doc)
        else:
            what = ", ".join(f"{k}={doc[k]}" for k in ("fingerprint", "object_norad_id", "kind", "region") if doc[k] is not None)
            print(f"silence {doc['id']} until {doc['expires_at']} ({what}) by {doc['author']}: {doc['reason']}")
        return EXIT_OK
    if action == "silences":
        with Session() as session:
            rows = [alert_ops.silence_dict(s) for s in alert_ops.list_silences(session, now, include_expired=args.all)]
        if as_json:
            _print_json({"silences": rows, "count": len(rows)})
        else:
            for d in rows:
                what = ", ".join(f"{k}={d[k]}" for k in ("fingerprint", "object_norad_id", "kind", "region") if d[k] is not None)
                print(f"{d['id']:>5}  until {d['expires_at']}  {what}  by {d['author']}: {d['reason']}")
            print(f"{len(rows)} silences")
        return EXIT_OK
    if action == "unsilence":
        with Session.begin() as session:
            doc = alert_ops.silence_dict(alert_ops.expire_silence(session, args.silence_id, args.by, now))
        if as_json:
            _print_json(doc)
        else:
            print(f"silence {doc['id']} lifted (expires {doc['expires_at']})")
        return EXIT_OK
    raise UsageError(f"alerts: unknown action {action!r}")


# ---------------------------------------------------------------- outbox

def configure_outbox(sub) -> None:
    p = sub.add_parser("outbox", help="alert mail waiting, sent and dead-lettered")
    _json_flag(p, top=True)
    p.add_argument("--status", choices=["pending", "sending", "sent", "dead"])
    p.add_argument("--limit", type=int, default=100, metavar="N")
    acts = p.add_subparsers(dest="outbox_action", metavar="ACTION")
    send = acts.add_parser("send", help="deliver every message due now")
    _json_flag(send)
    r = acts.add_parser("retry", help="requeue a dead letter")
    r.add_argument("id", type=int, metavar="ID")
    _json_flag(r)


def cmd_outbox(args, settings) -> int:
    with _database(settings) as Session:
        return _cmd_outbox(args, settings, Session)


def _cmd_outbox(args, settings, Session) -> int:
    from alerts.engine import policy_for
    from alerts.outbox import deliver_due
    from alerts.smtp import MailConfig, transport_for
    from db import alert_ops

    action = getattr(args, "outbox_action", None)
    as_json = getattr(args, "json", False)
    if action is None:
        with Session() as session:
            rows = [alert_ops.outbox_dict(m) for m in alert_ops.list_outbox(session, args.status, args.limit)]
            counts = alert_ops.outbox_counts(session)
        if as_json:
            _print_json({"messages": rows, "count": len(rows), "statuses": counts})
        else:
            print(f"{'ID':>5}  {'STATUS':<8} {'TRIES':>5}  {'CREATED (UTC)':<20} {'ALERT':>5}  SUBJECT")
            for m in rows:
                print(f"{m['id']:>5}  {m['status']:<8} {m['attempts']:>5}  {m['created_at']:<20} {m['alert_id'] or '':>5}  {m['subject']}")
                if m["status"] in ("dead", "pending") and m["last_error"]:
                    print(f"{'':>7}last error: {m['last_error']}")
            print(" ".join(f"{k} {v}" for k, v in counts.items()))
        return EXIT_OK
    if action == "retry":
        with Session.begin() as session:
            doc = alert_ops.outbox_dict(alert_ops.requeue(session, args.id, _now()))
        if as_json:
            _print_json(doc)
        else:
            print(f"outbox {doc['id']} requeued: {doc['subject']}")
        return EXIT_OK
    policy = policy_for(settings)
    transport = transport_for(MailConfig.from_settings(settings), policy.delivery)
    with Session() as session:
        due = alert_ops.due_outbox_count(session, _now())
    with progress(due, "sending", enabled=not as_json) as tick:
        counts = deliver_due(Session, transport, policy.delivery, progress=tick)
    if as_json:
        _print_json({"due": due, "via": transport.describe(), **counts})
    else:
        print(f"{due} due via {transport.describe()}: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"))
    return EXIT_OK


# ---------------------------------------------------------------- sources

def configure_sources(sub) -> None:
    p = sub.add_parser("sources", help="element-set sources (CelesTrak, Space-Track): status and fetching")
    _json_flag(p, top=True)
    acts = p.add_subparsers(dest="sources_action", metavar="ACTION")
    f = acts.add_parser("fetch", help="fetch now (all configured sources, or the named ones)")
    f.add_argument("names", nargs="*", metavar="NAME")
    _json_flag(f)


def cmd_sources(args, settings) -> int:
    with _database(settings) as Session:
        return _cmd_sources(args, settings, Session)


def _cmd_sources(args, settings, Session) -> int:
    from db import alert_ops
    from monitor.sources import fetch_source, load_sources

    cfg = load_sources(settings.raw.get("sources", {}))
    as_json = getattr(args, "json", False)
    if getattr(args, "sources_action", None) is None:
        with Session() as session:
            rows = [alert_ops.source_dict(s) for s in alert_ops.source_statuses(session)]
        configured = [{"name": s.name, "kind": s.kind, "interval_minutes": s.interval_minutes} for s in cfg.sources]
        if as_json:
            _print_json({"configured": configured, "status": rows})
        else:
            print(f"{'SOURCE':<28} {'OK':<3} {'LAST SUCCESS':<21} {'DATA AGE (h)':>12}  LAST ERROR")
            for r in rows:
                age = f"{r['data_age_hours']:.1f}" if r["data_age_hours"] is not None else ""
                print(f"{r['name']:<28} {'yes' if r['healthy'] else 'NO':<3} {r['last_success_at'] or 'never':<21} {age:>12}  "
                      f"{(r['last_error'] or '')[:80]}")
            print(f"{len(cfg.sources)} sources configured: " + ", ".join(s.name for s in cfg.sources))
        return EXIT_OK
    names = args.names or [s.name for s in cfg.sources]
    for n in names:
        try:
            cfg.by_name(n)
        except KeyError:
            raise UsageError(f"sources fetch: no source named {n!r} (configured: {', '.join(s.name for s in cfg.sources) or 'none'})") from None
    reports = []
    with progress(len(names), "fetching", enabled=not as_json) as tick:
        for n in names:
            reports += fetch_source(Session, cfg.by_name(n), cfg)
            tick(n)
    if as_json:
        _print_json({"fetches": [r.as_dict() for r in reports]})
    else:
        for r in reports:
            print(f"{r.status_name}: {r.status}" + (f" ({r.records} records, {r.new} new, {r.rejected} rejected)" if r.status == "new" else "")
                  + (f": {r.error}" if r.error else ""))
    return EXIT_OK


# ---------------------------------------------------------------- health

def configure_health(sub) -> None:
    p = sub.add_parser("health", help="dead-man checks (for cron or an external monitor); exit 1 when unhealthy")
    _json_flag(p, top=True)


def cmd_health(args, settings) -> int:
    with _database(settings) as Session:
        return _cmd_health(args, settings, Session)


def _cmd_health(args, settings, Session) -> int:
    from dataclasses import replace

    from alerts.engine import check_deadman, policy_for
    from db import alert_ops, queries

    policy = policy_for(settings)
    quiet = replace(policy, deadman=replace(policy.deadman, enabled=False))  # look, do not write
    now = _now()
    with Session() as session:
        found = check_deadman(session, quiet, now)
        hb = queries.get_service_value(session, "service.heartbeat")
        found["heartbeat"] = hb
        found["outbox"] = alert_ops.outbox_counts(session)
        found["sources_unhealthy"] = [s["name"] for s in map(alert_ops.source_dict, alert_ops.source_statuses(session)) if not s["healthy"]]
    problems = []
    if found["cycles_stale"] or found["last_cycle_finished"] is None:
        problems.append(f"no successful cycle within {policy.deadman.cycle_stale_minutes:g} min (last: {found['last_cycle_finished'] or 'never'})")
    if found["elements_stale"]:
        problems.append(f"newest element set older than {policy.deadman.elements_stale_hours:g} h ({found['newest_element_epoch']})")
    if found["outbox"]["dead"]:
        problems.append(f"{found['outbox']['dead']} dead-lettered message(s)")
    if found["sources_unhealthy"]:
        problems.append("sources failing: " + ", ".join(found["sources_unhealthy"]))
    found["problems"] = problems
    found["healthy"] = not problems
    if getattr(args, "json", False):
        _print_json(found)
    else:
        print("healthy" if not problems else "UNHEALTHY: " + "; ".join(problems))
    return EXIT_OK if not problems else 1


register("alerts", cmd_alerts, configure_alerts)
register("outbox", cmd_outbox, configure_outbox)
register("sources", cmd_sources, configure_sources)
register("health", cmd_health, configure_health)

