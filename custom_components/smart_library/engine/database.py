"""An SQLite file of personal data: private to the process's user, durable, one writer at a time.

Shared by the membership store and the incident store. The file and its WAL are made 0600 in a
0700 folder (member data and incidents are personal data; PIN hashes are worth keeping from other
accounts), written with `synchronous=FULL` (a change is on disk before it is acknowledged), and
every write goes through one lock and one transaction.

Storage errors say what happened: every SQLite (or file) error leaves as a `StorageError` whose
`code` is `storage_full`, `storage_read_only`, `storage_corrupt` or `storage_unavailable`, the
original error kept as its cause. A transaction SQLite has already ended (it does on a full
disk) is not rolled back a second time: that ROLLBACK used to raise "cannot rollback - no
transaction is active" in place of "database or disk is full".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import errno
import logging
import os
from pathlib import Path
import sqlite3
import threading

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700

_LOGGER = logging.getLogger(__name__)

STORAGE_FULL = "storage_full"  # the disk (or the file's size limit) is full
STORAGE_READ_ONLY = "storage_read_only"  # the file or its file system cannot be written
STORAGE_CORRUPT = "storage_corrupt"  # not a database, or a damaged one
STORAGE_UNAVAILABLE = "storage_unavailable"  # anything else: I/O error, locked, closed
STORAGE_CODES = (STORAGE_FULL, STORAGE_READ_ONLY, STORAGE_CORRUPT, STORAGE_UNAVAILABLE)

# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_READONLY = 8
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
_WHAT = {
    STORAGE_FULL: "the disk is full",
    STORAGE_READ_ONLY: "it cannot be written (read-only)",
    STORAGE_CORRUPT: "the file is damaged or not a database",
    STORAGE_UNAVAILABLE: "it cannot be used",
}


class StorageError(Exception):
    """A store that cannot do what was asked; `code` says why (a translation key).

    The SQLite or OS error is the `__cause__`. The message names the problem, never data.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        """Create the error with one of `STORAGE_CODES`."""
        text = f"Storage error ({code}): {_WHAT.get(code, code)}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self.code = code


def storage_error(err: BaseException) -> StorageError:
    """Return the StorageError an SQLite or OS error stands for (raise it `from err`).

    By SQLite's result code where the error has one (`sqlite_errorcode`), else by its message;
    an OSError by its errno (ENOSPC, EDQUOT, EFBIG: full; EROFS, EACCES, EPERM: read-only).
    """
    code = STORAGE_UNAVAILABLE
    if isinstance(err, sqlite3.Error):
        result = getattr(err, "sqlite_errorcode", None)
        primary = result & 0xFF if isinstance(result, int) else None
        text = str(err).lower()
        if primary == _SQLITE_FULL or "database or disk is full" in text:
            code = STORAGE_FULL
        elif primary == _SQLITE_READONLY or "readonly database" in text:
            code = STORAGE_READ_ONLY
        elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or any(
            words in text for words in ("not a database", "malformed")
        ):
            code = STORAGE_CORRUPT
    elif isinstance(err, OSError):
        if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            code = STORAGE_FULL
        elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            code = STORAGE_READ_ONLY
    error = StorageError(code, str(err))
    error.__cause__ = err
    return error


class PrivateDatabase:
    """One SQLite database file private to the process's user."""

    def __init__(self, path: Path | str, schema: str, version: int) -> None:
        """Open (or create) the database at `path` (':memory:' for a throwaway one).

        Raise StorageError when the file cannot be made, opened or read as a database.
        """
        self._path = None if str(path) == ":memory:" else Path(path)
        self._lock = threading.Lock()
        try:
            if self._path is not None:
                self._path.parent.mkdir(
                    mode=PRIVATE_FOLDER, parents=True, exist_ok=True
                )
                self._path.parent.chmod(PRIVATE_FOLDER)
                os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
                self._path.chmod(PRIVATE_FILE)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as err:
            raise storage_error(err) from err
        self._db.row_factory = sqlite3.Row
        try:
            with self._lock:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._db.executescript(schema)
                self._db.execute(f"PRAGMA user_version={version}")
            self._private_files()
        except (OSError, sqlite3.Error) as err:
            self._db.close()
            raise storage_error(err) from err

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
        """Hold the lock and one write transaction: all of the block is written, or none.

        An SQLite error in the block or at the commit leaves as a StorageError (an
        IntegrityError, which callers turn into their own errors, as it is); the transaction
        is rolled back unless SQLite has ended it already, and a failing rollback never hides
        the error that caused it.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise storage_error(err) from err
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as err:
                self._rollback()
                if isinstance(err, sqlite3.Error) and not isinstance(
                    err, sqlite3.IntegrityError
                ):
                    raise storage_error(err) from err
                raise

    def _rollback(self) -> None:
        """Roll the open transaction back, if SQLite has not ended it (never raises)."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as err:
            _LOGGER.warning("Rollback failed after a storage error: %s", err)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for reads; an SQLite error leaves as a StorageError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as err:
                raise storage_error(err) from err


def remove_database(path: Path) -> None:
    """Delete a database file with its WAL and shared-memory files (blocking)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
