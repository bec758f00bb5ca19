"""Screening sub-commands: ``cislunar pc`` (and ``events`` once screening
runs in the cycle)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor.cli import EXIT_OK, UsageError, register

PC_METHODS = ("foster", "elrod", "chan", "hall3d", "maxpc", "mc")


def configure_pc(sub) -> None:
    p = sub.add_parser("pc", help="collision probability of a conjunction described by a CCSDS CDM")
    p.add_argument("cdm", metavar="FILE.cdm")
    p.add_argument("--method", choices=PC_METHODS, default="foster",
                   help="foster (2D, default), elrod or chan (2D), hall3d (3D Nc), maxpc (no covariance), mc (Monte Carlo)")
    p.add_argument("--hbr-m", type=float, metavar="METRES", help="hard-body radius (default: the CDM's, else 20 m)")
    p.add_argument("--json", action="store_true")


def cmd_pc(args, settings) -> int:
    from propagators.errors import RecordError
    from propagators.parsing.cdm import read_cdm
    from propagators.screening.pc import compute_pc

    path = Path(args.cdm)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if args.hbr_m is not None and not args.hbr_m > 0:
        raise UsageError(f"--hbr-m {args.hbr_m}: expected a positive number of metres")
    try:
        cdm = read_cdm(path)
    except RecordError as exc:
        raise UsageError(str(exc)) from None
    result = compute_pc(cdm, method=args.method, hbr_m=args.hbr_m).to_dict()
    result["cdm"] = str(path)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{path.name}: Pc = {result['pc']:.6e} ({result['method']}), miss {result['miss_km']:.6f} km, "
              f"relative speed {result['relative_speed_km_s']:.6f} km/s, HBR {result['hbr_m']:.2f} m, TCA {result['tca']}")
        for w in result["warnings"]:
            print(f"  warning: {w}")
    return EXIT_OK


register("pc", cmd_pc, configure_pc)


EVENT_KINDS = ("conjunction", "region_entry", "region_approach", "proximity", "manoeuvre")


def configure_events(sub) -> None:
    p = sub.add_parser("events", help="screening events (conjunctions, region entries and approaches, ...)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--kind", choices=EVENT_KINDS)
    p.add_argument("--object", metavar="ID", help="catalogue number, provider id or name (either side of a pair)")
    p.add_argument("--status", choices=("active", "gone"), help="only active or only disappeared events")
    p.add_argument("--limit", type=int, default=1000)


def event_dict(ev, objects: dict) -> dict:
    from propagators.timeutil import iso_z

    def ident(object_id):
        if object_id is None:
            return None
        o = objects[object_id]
        return o.norad_id if o.norad_id is not None else (o.provider_id or o.id)

    def t(x):
        return iso_z(x) if x is not None else None

    return {
        "id": ev.id,
        "kind": ev.kind,
        "object": ident(ev.object_id),
        "object_name": objects[ev.object_id].name,
        "other": ident(ev.other_object_id),
        "other_name": objects[ev.other_object_id].name if ev.other_object_id else None,
        "region": ev.region,
        "tca": t(ev.tca_utc) if ev.kind == "conjunction" else None,
        "start": t(ev.start_utc),
        "end": t(ev.end_utc),
        "miss_km": ev.miss_km,
        "relative_speed_km_s": ev.relative_speed_km_s,
        "penetration_km": ev.penetration_km,
        "pc": ev.pc,
        "pc_method": ev.pc_method,
        "status": ev.status,
        "propagator": ev.propagator,
        "first_seen": t(ev.first_seen_at),
        "last_seen": t(ev.last_seen_at),
        "updates": len(ev.updates),
    }


def cmd_events(args, settings) -> int:
    from sqlalchemy import or_, select

    from db import queries
    from db.models import Event, SpaceObject
    from monitor.cli import _sessionmaker

    Session = _sessionmaker(settings)
    with Session() as session:
        q = select(Event)
        if args.kind:
            q = q.where(Event.kind == args.kind)
        if args.status:
            q = q.where(Event.status == args.status)
        if args.object:
            obj = queries.find_object(session, args.object)
            if obj is None:
                raise UsageError(f"object {args.object!r}: no object with that catalogue number, provider id or name")
            q = q.where(or_(Event.object_id == obj.id, Event.other_object_id == obj.id))
        events = session.scalars(q.order_by(Event.tca_utc, Event.id).limit(args.limit)).all()
        ids = {e.object_id for e in events} | {e.other_object_id for e in events if e.other_object_id}
        objects = {o.id: o for o in session.scalars(select(SpaceObject).where(SpaceObject.id.in_(ids)))} if ids else {}
        rows = [event_dict(e, objects) for e in events]
    if args.json:
        json.dump({"events": rows, "count": len(rows)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for r in rows:
            when = r["tca"] or r["start"]
            pair = f"{r['object']} x {r['other']}" if r["other"] is not None else f"{r['object']} {r['region'] or ''}"
            pc = f" Pc {r['pc']:.2e}" if r["pc"] is not None else ""
            miss = f" miss {r['miss_km']:.3f} km" if r["miss_km"] is not None else ""
            print(f"{r['id']:>6} {r['kind']:<16} {pair:<28} {when}{miss}{pc} [{r['status']}]")
        print(f"{len(rows)} events")
    return EXIT_OK


register("events", cmd_events, configure_events)
