"""The ``cislunar`` command.

Exit codes: 0 ok; 2 usage error or unreadable input; 3 input partly
rejected (the rest stored).  Times are ISO 8601 UTC (fractional seconds and
a trailing Z accepted).  ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_PARTIAL = 3

log = logging.getLogger("cislunar")


class UsageError(Exception):
    """Bad arguments or unreadable input: exit code 2."""


def _iso(text: str) -> datetime:
    from propagators.timeutil import parse_iso_utc

    try:
        return parse_iso_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cislunar", description="Cislunar space situational awareness monitor")
    p.add_argument("--db", metavar="URL", help="database URL (default: $CISLUNAR_DB_URL or sqlite:///var/cislunar.db)")
    p.add_argument("--config", metavar="TOML", help="configuration file (default: $CISLUNAR_CONFIG or ./cislunar.toml)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="database schema")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="migrate the database to the newest schema (alembic upgrade head)")
    dbsub.add_parser("check", help="fail if the models and the migrations differ (alembic check)")
    dbsub.add_parser("current", help="print the current schema revision")

    ing = sub.add_parser("ingest", help="ingest element-set and ephemeris files or folders")
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--json", action="store_true", help="JSON report with every rejection")

    obj = sub.add_parser("objects", help="list tracked objects")
    obj.add_argument("--json", action="store_true")
    obj.add_argument("--regime", help="only this regime (LEO, MEO, GEO, HEO, CISLUNAR, LUNAR, LIBRATION)")

    pr = sub.add_parser("propagate", help="states of one object over a window")
    pr.add_argument("object", metavar="OBJECT", help="catalogue number or name")
    pr.add_argument("--start", type=_iso, required=True, metavar="ISO")
    pr.add_argument("--stop", type=_iso, required=True, metavar="ISO")
    pr.add_argument("--step", type=_positive, required=True, metavar="SECONDS")
    pr.add_argument("--frame", choices=["teme", "gcrs", "itrs", "mci", "emr"], default="gcrs")
    pr.add_argument("--format", choices=["csv", "json", "oem"], default="csv")
    pr.add_argument("--json", action="store_true", help="same as --format json")

    cy = sub.add_parser("cycle", help="one propagation pass over every object; stores states and records the run")
    cy.add_argument("--at", type=_iso, metavar="ISO", help="window start (default: now)")
    cy.add_argument("--horizon", type=_positive, metavar="HOURS", help="window length (default: configuration, 24 h)")
    cy.add_argument("--step", type=_positive, metavar="SECONDS", help="state step (default: configuration, 60 s)")
    cy.add_argument("--conjunction-km", type=_positive, metavar="KM", help="conjunction screening threshold")
    cy.add_argument("--json", action="store_true")

    run = sub.add_parser("run", help="the scheduler service: cycles on an interval, inbox watcher")
    run.add_argument("--dashboard", action="store_true", help="also start the dashboard (as `make run` does)")
    run.add_argument("--demo-if-empty", action="store_true", help="ingest the demo catalogue when the database has no objects")

    dash = sub.add_parser("dashboard", help="start the Streamlit dashboard")
    dash.add_argument("--port", type=int, help="port (default: configuration, 8501)")
    dash.add_argument("--address", help="address to bind (default: 127.0.0.1)")

    demo = sub.add_parser("demo", help="ingest the demo catalogue (shared GEO snapshot, else the packaged TLEs)")
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--if-empty", action="store_true", help="only when the database has no objects")
    return p


def _settings(args):
    from monitor.config import load_settings

    overrides = {"database.url": args.db} if args.db else {}
    return load_settings(args.config, overrides)


def _sessionmaker(settings):
    from db.engine import make_engine, session_factory

    return session_factory(make_engine(settings.db_url))


def _print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# ---------------------------------------------------------------- commands

def cmd_db(args, settings) -> int:
    from db import migrate

    if args.db_command == "upgrade":
        migrate.upgrade(settings.db_url)
        print(f"database at revision {migrate.current_revision(settings.db_url)} ({_redact(settings.db_url)})")
        return EXIT_OK
    if args.db_command == "check":
        migrate.check(settings.db_url)
        print("models and migrations agree")
        return EXIT_OK
    print(migrate.current_revision(settings.db_url) or "(empty database)")
    return EXIT_OK


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_ingest(args, settings) -> int:
    from monitor.ingest import ingest_paths
    from monitor.progress import file_progress

    Session = _sessionmaker(settings)
    with file_progress(args.paths, enabled=not args.json) as tick:
        reports = ingest_paths(Session, args.paths, progress=tick)
    return _ingest_output(reports, args.json)


def _ingest_output(reports, as_json: bool) -> int:
    if as_json:
        _print_json(
            {
                "files": [r.as_dict() for r in reports],
                "totals": {
                    "files": len(reports),
                    "records": sum(r.records for r in reports),
                    "new": sum(r.new for r in reports),
                    "duplicates": sum(r.duplicates for r in reports),
                    "rejected": sum(len(r.rejections) for r in reports),
                    "unreadable": sum(1 for r in reports if r.error),
                },
            }
        )
    else:
        for r in reports:
            if r.error:
                print(f"{r.path}: UNREADABLE: {r.error}")
                continue
            print(
                f"{r.path}: {r.format}: {r.records} records, {r.new} new, {r.duplicates} already stored, "
                f"{len(r.rejections)} rejected"
            )
            for e in r.rejections:
                print(f"  rejected: {e}")
            for w in r.warnings:
                print(f"  warning: {w}")
    if any(r.error for r in reports):
        return EXIT_USAGE
    if any(r.rejections for r in reports):
        return EXIT_PARTIAL
    return EXIT_OK


def cmd_objects(args, settings) -> int:
    from db import queries
    from propagators.timeutil import iso_z
    from sqlalchemy import func, select
    from db.models import ElementSet

    Session = _sessionmaker(settings)
    with Session() as session:
        objs = queries.list_objects(session)
        latest = dict(
            session.execute(select(ElementSet.object_id, func.max(ElementSet.epoch_utc)).group_by(ElementSet.object_id)).all()
        )
    if args.regime:
        objs = [o for o in objs if (o.regime or "").upper() == args.regime.upper()]
    rows = [
        {
            "id": o.id,
            "norad_id": o.norad_id,
            "provider_id": o.provider_id,
            "name": o.name,
            "intl_designator": o.intl_designator,
            "regime": o.regime,
            "propagator": o.propagator,
            "propagator_reason": o.propagator_reason,
            "newest_epoch": iso_z(latest[o.id]) if o.id in latest else None,
        }
        for o in objs
    ]
    if args.json:
        _print_json({"objects": rows, "count": len(rows)})
    else:
        print(f"{'NORAD':>7}  {'NAME':<26} {'INTL':<10} {'REGIME':<10} {'PROPAGATOR':<10} NEWEST EPOCH")
        for r in rows:
            ident = r["norad_id"] if r["norad_id"] is not None else r["provider_id"]
            print(
                f"{ident!s:>7}  {(r['name'] or '')[:26]:<26} {(r['intl_designator'] or ''):<10} "
                f"{(r['regime'] or ''):<10} {(r['propagator'] or ''):<10} {r['newest_epoch'] or ''}"
            )
        print(f"{len(rows)} objects")
    return EXIT_OK


def cmd_propagate(args, settings) -> int:
    from monitor.propagate_cmd import propagate_object

    fmt = "json" if args.json else args.format
    if args.stop < args.start:
        raise UsageError(f"--stop {args.stop.isoformat()} is before --start {args.start.isoformat()}")
    Session = _sessionmaker(settings)
    text = propagate_object(Session, args.object, args.start, args.stop, args.step, args.frame, fmt)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_cycle(args, settings) -> int:
    from monitor.cycle import run_cycle

    Session = _sessionmaker(settings)
    at = args.at or datetime.now(timezone.utc)
    horizon = args.horizon or settings["cycle.horizon_hours"]
    step = args.step or settings["cycle.step_seconds"]
    report = run_cycle(Session, at, horizon, step, settings=settings, conjunction_km=args.conjunction_km)
    if args.json:
        _print_json(report.as_dict())
    else:
        print(
            f"cycle run {report.run_id}: {report.n_objects} objects x {report.n_times} epochs = "
            f"{report.n_states} states ({report.n_errors} objects with propagation errors) "
            f"in {report.timings_s.get('total', 0):.2f} s"
        )
        for e in report.errors:
            print(f"  object {e['object']} ({e['name']}): {e['message']} from {e['first_error_epoch']}")
        for w in report.warnings:
            print(f"  warning: {w}")
    return EXIT_OK


def cmd_demo(args, settings) -> int:
    from monitor.demo import ingest_demo

    Session = _sessionmaker(settings)
    result = ingest_demo(Session, settings, if_empty=args.if_empty)
    if args.json:
        _print_json(result)
    else:
        print(result["message"])
    return EXIT_OK


def cmd_run(args, settings) -> int:
    from monitor.service import run_service

    return run_service(settings, with_dashboard=args.dashboard, demo_if_empty=args.demo_if_empty)


def cmd_dashboard(args, settings) -> int:
    """Replace this process with Streamlit, so signals reach the server
    directly and stopping ``cislunar dashboard`` stops the dashboard."""
    import os

    from monitor.service import dashboard_command

    cmd = dashboard_command(settings, port=args.port, address=args.address)
    env = dict(os.environ, CISLUNAR_DB_URL=settings.db_url)
    if settings.source_file:
        env["CISLUNAR_CONFIG"] = str(settings.source_file)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(cmd[0], cmd, env)
    return EXIT_OK  # not reached


COMMANDS = {
    "db": cmd_db,
    "ingest": cmd_ingest,
    "objects": cmd_objects,
    "propagate": cmd_propagate,
    "cycle": cmd_cycle,
    "run": cmd_run,
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
}


def register(name: str, fn, configure) -> None:
    """Later pipeline stages add sub-commands (``pc``, ``events``, ``alerts``)."""
    COMMANDS[name] = fn
    _EXTRA_PARSERS.append(configure)


_EXTRA_PARSERS: list = []


def main(argv: list[str] | None = None) -> int:
    from monitor import commands_ext, screening_cmds  # noqa: F401  (register later stages' commands)
    from propagators.errors import CislunarError, ConfigError

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for configure in _EXTRA_PARSERS:
        configure(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic", "apscheduler.scheduler", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = _settings(args)
        return COMMANDS[args.command](args, settings)
    except (UsageError, ConfigError, FileNotFoundError) as exc:
        print(f"cislunar: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CislunarError as exc:
        print(f"cislunar: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
