"""An SQLite file of personal data: private to the process's user, durable, one writer at a time.

Shared by the membership store and the incident store. The file and its WAL are made 0600 in a
0700 folder (member data and incidents are personal data; PIN hashes are worth keeping from other
accounts), written with `synchronous=FULL` (a change is on disk before it is acknowledged), and
every write goes through one lock and one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import sqlite3
import threading

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


class PrivateDatabase:
    """One SQLite database file private to the process's user."""

    def __init__(self, path: Path | str, schema: str, version: int) -> None:
        """Open (or create) the database at `path` (':memory:' for a throwaway one)."""
        self._path = None if str(path) == ":memory:" else Path(path)
        if self._path is not None:
            self._path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
            self._path.parent.chmod(PRIVATE_FOLDER)
            os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
            self._path.chmod(PRIVATE_FILE)
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(schema)
            self._db.execute(f"PRAGMA user_version={version}")
        self._private_files()

    def _private_files(self) -> None:
        """Make the WAL and shared-memory files as private as the database.

        SQLite gives them the database file's mode; this makes sure of it.
        """
        if self._path is None:
            return
        for suffix in ("-wal", "-shm"):
            side = self._path.with_name(self._path.name + suffix)
            if side.exists():
                side.chmod(PRIVATE_FILE)

    def close(self) -> None:
        """Close the database (checkpointing the WAL)."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock and one write transaction: all of the block is written, or none."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def remove_database(path: Path) -> None:
    """Delete a database file with its WAL and shared-memory files (blocking)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
