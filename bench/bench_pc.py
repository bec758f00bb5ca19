"""Time to compute the Pc of one CDM (parse + Foster), process start-up excluded.

    .venv/bin/python bench/bench_pc.py [FILE.cdm]

Default file: the CARA HST/Delta-2 conjunction CDM in the shared data
(``collision_probability/cdm/000020580_conj_...cdm``). Target: < 50 ms.
Reported: the median over repeated runs after one warm-up (imports, first
calls), for ``read_cdm`` + ``compute_pc(method="foster")`` without and with
the 2D usage-violation analysis (which adds a few curvilinear peak-overlap
evaluations), and for Hall's 3D-Nc on the same CDM for scale.

The machine is shared (2 cores, other jobs running): wall-clock figures are
upper bounds of what the code needs on an idle machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import median_time, record

from propagators.datadir import shared_data_dir
from propagators.parsing.cdm import read_cdm
from propagators.screening.pc import compute_pc

TARGET_S = 0.050
DEFAULT_CDM = "collision_probability/cdm/000020580_conj_000022015_20210315_212955_20210313_065123.cdm"


def main(argv: list[str]) -> int:
    if argv:
        path = Path(argv[0])
    else:
        data = shared_data_dir()
        if data is None:
            print("shared data not found: pass a CDM file or set CISLUNAR_DATA_DIR")
            return 2
        path = data / DEFAULT_CDM
    fast = median_time(lambda: compute_pc(read_cdm(path), method="foster", check_usage=False), repeat=50, warmup=2)
    full = median_time(lambda: compute_pc(read_cdm(path), method="foster"), repeat=20, warmup=1)
    hall = median_time(lambda: compute_pc(read_cdm(path), method="hall3d"), repeat=3, warmup=1)
    record("pc: parse CDM + Foster", "no peer", fast, None, f"median; target {TARGET_S * 1e3:.0f} ms")
    record("pc: parse CDM + Foster + 2D usage checks", "no peer", full, None, "median")
    record("pc: parse CDM + Hall 3D-Nc", "no peer", hall, None, "median")
    print(f"parse + Foster: {fast * 1e3:.2f} ms (with usage-violation checks {full * 1e3:.2f} ms; "
          f"Hall 3D-Nc {hall * 1e3:.0f} ms); target < {TARGET_S * 1e3:.0f} ms: "
          f"{'met' if fast < TARGET_S else 'NOT met'}")
    return 0 if fast < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
