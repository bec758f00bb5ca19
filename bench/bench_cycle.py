"""Foundation benchmarks on the demo catalogue (issue 2 acceptance figures).

1. Propagation stage of a 24 h, 60 s cycle over the GEO catalogue (SGP4 plus
   TEME -> GCRS) versus a bare ``SatrecArray`` call plus one rotation matrix
   per epoch (target ratio <= 1.3).
2. Storing its states into SQLite (target >= 200,000 rows/s), and into
   PostgreSQL when CISLUNAR_TEST_PG_URL names a server.
3. A full ``cislunar cycle`` on the demo catalogue.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sgp4.api import SatrecArray  # noqa: E402

from bench.common import median_time, record  # noqa: E402
from db import migrate, queries  # noqa: E402
from db.engine import make_engine, session_factory  # noqa: E402
from propagators import sgp4_batch  # noqa: E402
from propagators.datadir import packaged_tle_json_path, shared_data_dir  # noqa: E402
from propagators.frames import teme_to_gcrs_matrix  # noqa: E402
from propagators.parsing.detect import parse_element_text  # noqa: E402
from propagators.timeutil import datetimes_utc, jd_utc_parts, parse_iso_utc, time_grid  # noqa: E402


def catalogue():
    d = shared_data_dir()
    path = d / "catalog" / "celestrak_geo_2026-08-22.txt" if d else packaged_tle_json_path()
    res = parse_element_text(path.read_text(), source=str(path), hint=path.name)
    return path, res.records


def main() -> None:
    path, records = catalogue()
    sats = [sgp4_batch.satrec_from_elements(me) for me in records]
    arr = SatrecArray(sats)
    t = time_grid(parse_iso_utc("2026-08-22T00:00:00Z"), parse_iso_utc("2026-08-23T00:00:00Z"), 60.0)
    n, m = len(sats), len(t)
    print(f"catalogue {path.name}: {n} objects x {m} epochs")

    def ours():
        sgp4_batch.propagate(arr, t, "GCRS")

    def bare():
        jd1, jd2 = jd_utc_parts(t)
        arr.sgp4(jd1, jd2)
        teme_to_gcrs_matrix(t)

    t_ours = median_time(ours, repeat=5)
    t_bare = median_time(bare, repeat=5)
    record("sgp4_cycle_propagation_geo", "project SGP4+TEME->GCRS vs bare SatrecArray + 1 matrix/epoch",
           t_ours, t_bare, f"{n}x{m} states; target ratio <= 1.3")

    res = sgp4_batch.propagate(arr, t, "GCRS")
    epochs = datetimes_utc(t)
    backends = [("sqlite", None)]
    if os.environ.get("CISLUNAR_TEST_PG_URL"):
        backends.append(("postgresql", os.environ["CISLUNAR_TEST_PG_URL"]))
    for backend, url in backends:
        rates = []
        for rep in range(3):
            with tempfile.TemporaryDirectory() as tmp:
                db_url = url or f"sqlite:///{tmp}/bench.db"
                if backend == "postgresql":
                    db_url = _fresh_pg(url)
                migrate.upgrade(db_url)
                engine = make_engine(db_url)
                Session = session_factory(engine)
                with Session.begin() as s:
                    ids = [queries.get_or_create_object(s, norad_id=me.norad_id)[0].id for me in records]
                    run_id = queries.start_run(s, "bench").id
                t0 = time.perf_counter()
                with Session.begin() as s:
                    queries.insert_states(
                        s.connection(), run_id=run_id, object_ids=ids, element_set_ids=[None] * n,
                        epochs_utc=epochs, r_km=res.r_km, v_km_s=res.v_km_s, error_code=res.error_code,
                        frame="GCRS", propagators="sgp4",
                    )
                dt = time.perf_counter() - t0
                rates.append(n * m / dt)
                engine.dispose()
        rate = float(np.median(rates))
        record(f"state_insert_{backend}", f"bulk insert of {n*m:,} states into {backend}", n * m / rate, None,
               f"{rate:,.0f} rows/s (target >= 200,000 on SQLite)", rows_per_s=rate)


def _fresh_pg(admin_url: str) -> str:
    import uuid

    from sqlalchemy import text

    name = "bench_" + uuid.uuid4().hex[:8]
    eng = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    main()
