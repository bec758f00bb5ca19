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
