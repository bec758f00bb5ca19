"""Schema, migrations and the bulk state writer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import select, text

from db import migrate, queries
from db.engine import make_engine
from db.models import Run, State
from propagators.errors import NaiveDatetimeError


def test_alembic_check_is_clean(db_url):
    """The models and the migrations agree (``alembic check``)."""
    migrate.check(db_url)
    assert migrate.current_revision(db_url) is not None


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_naive_datetimes_are_refused_with_the_fix(Session):
    with pytest.raises(Exception) as info:
        with Session.begin() as s:
            s.add(Run(kind="cycle", status="ok", started_at=datetime(2026, 1, 1), n_objects=0, n_states=0, n_errors=0))
    assert "tzinfo=timezone.utc" in str(info.value)
    assert isinstance(info.value.__cause__ or info.value, (NaiveDatetimeError, Exception))


def test_datetimes_come_back_aware_utc(Session):
    t = datetime(2026, 8, 22, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    with Session.begin() as s:
        run = queries.start_run(s, "cycle", window_start_utc=t)
        rid = run.id
    with Session() as s:
        got = s.get(Run, rid).window_start_utc
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == t


def test_bulk_state_insert_round_trips_and_stores_null_for_errors(Session):
    with Session.begin() as s:
        o1, _ = queries.get_or_create_object(s, norad_id=1, name="A")
        o2, _ = queries.get_or_create_object(s, norad_id=2, name="B")
        run = queries.start_run(s, "cycle")
        ids, rid = [o1.id, o2.id], run.id
    epochs = [datetime(2026, 8, 22, tzinfo=timezone.utc) + timedelta(minutes=k) for k in range(3)]
    r = np.arange(18, dtype=float).reshape(2, 3, 3) * 1000.0 + 0.123456789
    v = r / 1000.0
    codes = np.zeros((2, 3), dtype=np.uint8)
    codes[1, 2] = 6
    r[1, 2] = np.nan
    v[1, 2] = np.nan
    with Session.begin() as s:
        n = queries.insert_states(
            s.connection(), run_id=rid, object_ids=ids, element_set_ids=[None, None], epochs_utc=epochs,
            r_km=r, v_km_s=v, error_code=codes, frame="GCRS", propagators="sgp4",
        )
    assert n == 6
    with Session() as s:
        rows = s.scalars(select(State).order_by(State.object_id, State.epoch_utc)).all()
        assert len(rows) == 6
        assert rows[0].epoch_utc == epochs[0]
        assert rows[4].x_km == pytest.approx(r[1, 1, 0], abs=1e-9)
        assert rows[5].x_km is None and rows[5].error_code == 6
        at = queries.states_of_object(s, ids[0], epochs[1], epochs[2])
        assert [st.epoch_utc for st in at] == epochs[1:]


def test_retention_deletes_old_states_only(Session):
    with Session.begin() as s:
        o, _ = queries.get_or_create_object(s, norad_id=7)
        run = queries.start_run(s, "cycle")
        oid, rid = o.id, run.id
    epochs = [datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 6, 1, tzinfo=timezone.utc)]
    with Session.begin() as s:
        queries.insert_states(
            s.connection(), run_id=rid, object_ids=[oid], element_set_ids=[None], epochs_utc=epochs,
            r_km=np.ones((1, 2, 3)), v_km_s=np.ones((1, 2, 3)), error_code=np.zeros((1, 2), np.uint8),
            frame="GCRS", propagators="sgp4",
        )
    with Session.begin() as s:
        assert queries.delete_states_before(s, datetime(2026, 3, 1, tzinfo=timezone.utc)) == 1
    with Session() as s:
        assert queries.count_states(s) == 1


def test_bulk_state_insert_rolls_back_with_its_transaction(Session):
    """The bulk writer uses the session's own connection: a failure later in
    the same transaction leaves no states behind."""
    with Session.begin() as s:
        o, _ = queries.get_or_create_object(s, norad_id=11)
        run = queries.start_run(s, "cycle")
        oid, rid = o.id, run.id
    epochs = [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=k) for k in range(5)]
    with pytest.raises(RuntimeError):
        with Session.begin() as s:
            queries.insert_states(
                s.connection(), run_id=rid, object_ids=[oid], element_set_ids=[None], epochs_utc=epochs,
                r_km=np.ones((1, 5, 3)), v_km_s=np.ones((1, 5, 3)), error_code=np.zeros((1, 5), np.uint8),
                frame="GCRS", propagators="sgp4",
            )
            raise RuntimeError("crash after the bulk insert, before commit")
    with Session() as s:
        assert queries.count_states(s) == 0
