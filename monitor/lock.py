"""Single-instance lock: one service per database.

SQLite: an exclusive ``flock`` on a file beside the database.
PostgreSQL: a session-level advisory lock held on a dedicated connection.
Both are released by the operating system or the server when the process
dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from propagators.errors import CislunarError

ADVISORY_LOCK_KEY = 0x6C756E6172  # "lunar"


class AlreadyRunning(CislunarError):
    pass


class ServiceLock:
    def __init__(self, db_url: str, lock_file: Path | None = None) -> None:
        self.db_url = db_url
        self.lock_file = lock_file
        self._fh = None
        self._conn = None
        self._engine = None

    def acquire(self) -> None:
        url = make_url(self.db_url)
        if url.get_backend_name() == "postgresql":
            from db.engine import make_engine

            self._engine = make_engine(self.db_url)
            self._conn = self._engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
            self._conn.commit()
            if not got:
                self._conn.close()
                raise AlreadyRunning(
                    f"another cislunar service holds the advisory lock on {url.render_as_string(hide_password=True)}; "
                    "stop it first (only one service may run per database)"
                )
            return
        path = self.lock_file
        if path is None:
            db_path = url.database or "cislunar.db"
            path = Path(db_path + ".lock") if db_path != ":memory:" else Path("var/cislunar-memory.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise AlreadyRunning(
                f"another cislunar service is already running on this database (lock {path} held"
                + (f" by pid {holder}" if holder else "")
                + "); stop it first (only one service may run per database)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            self._conn.close()
            self._conn = None
            self._engine.dispose()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
