"""Shared fixtures.

Tests that need ../shared/data skip with a clear reason where it is absent
(a plain clone); CI has it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from propagators.datadir import shared_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip(
            "shared data directory not found: set CISLUNAR_DATA_DIR or place ../shared/data "
            "beside the checkout (CI has it)"
        )
    return d


# ------------------------------------------------------------------ databases
import os
import uuid

from sqlalchemy import text

from db.engine import make_engine, session_factory
from db import migrate

BACKENDS = ["sqlite", "postgresql"]


def _pg_admin_url() -> str | None:
    return os.environ.get("CISLUNAR_TEST_PG_URL")


def fresh_database_url(backend: str, tmp_path: Path) -> str:
    """A new, empty database of the given backend (migrated by the caller)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cislunar-test.db'}"
    admin = _pg_admin_url()
    if admin is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: CISLUNAR_TEST_PG_URL is not set (scripts/run-tests.sh starts a cluster)")
        pytest.skip("PostgreSQL tests need CISLUNAR_TEST_PG_URL (make test starts a throwaway cluster)")
    name = "t_" + uuid.uuid4().hex[:12]
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """A database migrated with ``alembic upgrade head`` (never create_all),
    once on SQLite and once on PostgreSQL."""
    url = fresh_database_url(request.param, tmp_path)
    migrate.upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = fresh_database_url("sqlite", tmp_path)
    migrate.upgrade(url)
    return url


@pytest.fixture
def Session(db_url):
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def SqliteSession(sqlite_url):
    engine = make_engine(sqlite_url)
    yield session_factory(engine)
    engine.dispose()
