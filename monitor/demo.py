"""The demo catalogue `make run` loads on first start."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import SpaceObject
from monitor.ingest import FileReport, ingest_paths
from propagators.datadir import packaged_tle_json_path

GEO_SNAPSHOT = "catalog/celestrak_geo_2026-08-22.txt"


def demo_source(settings) -> tuple[str, str]:
    """(path, description): the shared GEO snapshot, else the packaged TLEs."""
    data_dir = settings.data_dir
    if data_dir is not None and (data_dir / GEO_SNAPSHOT).is_file():
        return str(data_dir / GEO_SNAPSHOT), "shared GEO snapshot (CelesTrak, 2026-08-22)"
    return str(packaged_tle_json_path()), "packaged TLE set (ssa-data-benchmarks, 152 objects, July 2026)"


def ingest_demo(Session, settings, if_empty: bool = False) -> dict:
    with Session() as session:
        n = session.scalar(select(func.count()).select_from(SpaceObject)) or 0
    path, what = demo_source(settings)
    if if_empty and n:
        return {"ingested": False, "objects": n, "source": None,
                "message": f"database already holds {n} objects; demo catalogue not loaded"}
    reports: list[FileReport] = ingest_paths(Session, [path])
    new = sum(r.new for r in reports)
    return {
        "ingested": True,
        "source": path,
        "description": what,
        "new": new,
        "rejected": sum(len(r.rejections) for r in reports),
        "message": f"demo catalogue: {what}: {new} new element sets from {path}",
    }
