"""The incident log on disk: SQLite beside the member store, readable by its owner alone.

One file per library service (`<entry_id>.incidents.db` in the same 0700 folder as the member
store, itself 0600), apart from the member store so that either can be kept, backed up or erased
on its own terms. WAL mode with `synchronous=FULL`: an incident recorded during an alarm is on disk
before the call returns, whatever happens to the host a moment later.

It holds the incidents with their timelines and snapshot file names, each branch's lockdown
while one lasts (a restart does not end a lockdown: only an administrator does), and the history
of bars (when given, reviewed, lifted, and the date of the acceptable-behaviour agreement), by the
member's peppered digest and masked card only.

Blocking: every method does file I/O; Home Assistant calls them in its executor. One connection
is shared under a lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
import sqlite3
from typing import Any

from ..database import PrivateDatabase
from .incidents import (
    Category,
    Incident,
    IncidentError,
    LogEntry,
    MemberLink,
    Source,
    Status,
)
from .lockdown import Lockdown

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    branch_name TEXT NOT NULL,
    category TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    recorded_at REAL NOT NULL,
    recorded_by TEXT NOT NULL,
    source TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    actions_taken TEXT NOT NULL DEFAULT '',
    member_key TEXT,
    member_card TEXT,
    police_reference TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    completed_at REAL,
    completed_by TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS incidents_by_time ON incidents (occurred_at);
CREATE INDEX IF NOT EXISTS incidents_by_member ON incidents (member_key);
CREATE TABLE IF NOT EXISTS incident_log (
    id INTEGER PRIMARY KEY,
    incident TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    text TEXT NOT NULL,
    by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS incident_log_by_incident ON incident_log (incident, id);
CREATE TABLE IF NOT EXISTS incident_files (
    incident TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (incident, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lockdowns (
    branch TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    started_by TEXT NOT NULL,
    incident TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ban_history (
    id INTEGER PRIMARY KEY,
    member_key TEXT NOT NULL,
    member_card TEXT NOT NULL,
    event TEXT NOT NULL,
    on_date TEXT NOT NULL,
    review_date TEXT,
    agreement_date TEXT,
    by TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ban_history_by_member ON ban_history (member_key, id);
"""


@dataclass(frozen=True, slots=True)
class BanEvent:
    """One step of a bar's history: given, reviewed (kept), or lifted."""

    member: MemberLink
    event: str  # "barred", "kept", "lifted"
    on: date
    review_date: date | None = None
    agreement_date: date | None = (
        None  # lifted: the acceptable-behaviour agreement's date
    )
    by: str = ""
    at: datetime | None = None


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("incident times carry their time zone")
    return moment.timestamp()


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _dt(value: float | None) -> datetime | None:
    return None if value is None else _at(value)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


class IncidentStore(PrivateDatabase):
    """The incidents, lockdowns and bar history of one library service."""

    def __init__(self, path: Path | str) -> None:
        """Open (or create) the store at `path`; ':memory:' for a throwaway one."""
        super().__init__(path, _SCHEMA, SCHEMA_VERSION)

    # -- incidents ------------------------------------------------------------------------------

    @staticmethod
    def _row(i: Incident) -> tuple[Any, ...]:
        return (
            i.id,
            i.branch,
            i.branch_name,
            i.category.value,
            _ts(i.occurred_at),
            _ts(i.recorded_at),
            i.recorded_by,
            i.source.value,
            i.location,
            i.description,
            i.actions_taken,
            i.member.key if i.member else None,
            i.member.card if i.member else None,
            i.police_reference,
            i.status.value,
            None if i.completed_at is None else _ts(i.completed_at),
            i.completed_by,
        )

    def _write(self, db: sqlite3.Connection, incident: Incident) -> None:
        """Write an incident whole: its row, its timeline, its files."""
        db.execute(
            "INSERT OR REPLACE INTO incidents VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._row(incident),
        )
        db.execute("DELETE FROM incident_log WHERE incident = ?", (incident.id,))
        db.executemany(
            "INSERT INTO incident_log (incident, at, text, by) VALUES (?, ?, ?, ?)",
            [(incident.id, _ts(e.at), e.text, e.by) for e in incident.log],
        )
        db.execute("DELETE FROM incident_files WHERE incident = ?", (incident.id,))
        db.executemany(
            "INSERT INTO incident_files VALUES (?, ?)",
            [(incident.id, name) for name in incident.files],
        )

    def add(self, incident: Incident) -> Incident:
        """Store a new incident."""
        with self._transaction() as db:
            if db.execute(
                "SELECT 1 FROM incidents WHERE id = ?", (incident.id,)
            ).fetchone():
                raise IncidentError("incident_exists", incident=incident.id)
            self._write(db, incident)
        return incident

    def _load(self, db: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[Incident]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        log: dict[str, list[LogEntry]] = {}
        for e in db.execute(
            f"SELECT incident, at, text, by FROM incident_log WHERE incident IN ({marks}) "  # noqa: S608
            "ORDER BY id",
            ids,
        ):
            log.setdefault(e["incident"], []).append(
                LogEntry(_at(e["at"]), e["text"], e["by"])
            )
        files: dict[str, list[str]] = {}
        for f in db.execute(
            f"SELECT incident, name FROM incident_files WHERE incident IN ({marks}) "  # noqa: S608
            "ORDER BY name",
            ids,
        ):
            files.setdefault(f["incident"], []).append(f["name"])
        return [
            Incident(
                id=r["id"],
                branch=r["branch"],
                branch_name=r["branch_name"],
                category=Category(r["category"]),
                occurred_at=_at(r["occurred_at"]),
                recorded_at=_at(r["recorded_at"]),
                recorded_by=r["recorded_by"],
                source=Source(r["source"]),
                location=r["location"],
                description=r["description"],
                actions_taken=r["actions_taken"],
                member=MemberLink(r["member_key"], r["member_card"])
                if r["member_key"]
                else None,
                police_reference=r["police_reference"],
                status=Status(r["status"]),
                completed_at=_dt(r["completed_at"]),
                completed_by=r["completed_by"],
                log=tuple(log.get(r["id"], ())),
                files=tuple(files.get(r["id"], ())),
            )
            for r in rows
        ]

    def _select(self, where: str = "", params: Iterable[Any] = ()) -> list[Incident]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM incidents {where} ORDER BY occurred_at, id",  # noqa: S608
                tuple(params),
            ).fetchall()
            return self._load(self._db, rows)

    def get(self, incident_id: str) -> Incident | None:
        """Return an incident by id, or None."""
        found = self._select("WHERE id = ?", (incident_id,))
        return found[0] if found else None

    def require(self, incident_id: str) -> Incident:
        """Return an incident by id, or raise IncidentError('incident_unknown')."""
        if (incident := self.get(incident_id)) is None:
            raise IncidentError("incident_unknown", incident=incident_id[:40])
        return incident

    def change(
        self, incident_id: str, edit: Callable[[Incident], Incident]
    ) -> Incident:
        """Apply `edit` to an incident in one transaction; return the result."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM incidents WHERE id = ?", (incident_id,)
            ).fetchall()
            if not rows:
                raise IncidentError("incident_unknown", incident=incident_id[:40])
            changed = edit(self._load(db, rows)[0])
            if changed.id != incident_id:
                raise ValueError("an edit keeps the incident's id")
            self._write(db, changed)
        return changed

    def incidents(
        self,
        *,
        branch: str | None = None,
        status: Status | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        member_key: str | None = None,
    ) -> list[Incident]:
        """Return incidents, oldest first, filtered as asked."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("branch = ?", branch),
            ("status = ?", status.value if status else None),
            ("occurred_at >= ?", _ts(since) if since else None),
            ("occurred_at < ?", _ts(until) if until else None),
            ("member_key = ?", member_key),
        ):
            if value is not None:
                clauses.append(column)
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._select(where, params)

    def counts(self, branch: str, since: datetime) -> tuple[dict[str, int], int]:
        """Return a branch's incidents per category since `since`, and how many are open."""
        found = dict.fromkeys((c.value for c in Category), 0)
        with self._lock:
            for row in self._db.execute(
                "SELECT category, COUNT(*) AS n FROM incidents "
                "WHERE branch = ? AND occurred_at >= ? GROUP BY category",
                (branch, _ts(since)),
            ):
                found[row["category"]] = row["n"]
            open_count = self._db.execute(
                "SELECT COUNT(*) FROM incidents WHERE branch = ? AND status = 'open'",
                (branch,),
            ).fetchone()[0]
        return found, int(open_count)

    def purge(
        self, cutoff: datetime, keep_members: Iterable[str] = ()
    ) -> list[Incident]:
        """Delete completed incidents that happened before `cutoff`; return what was deleted.

        Open incidents, and those of a member in `keep_members` (still barred), are kept. Lifted
        bars' history goes with the same cutoff.
        """
        keep = set(keep_members)
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM incidents WHERE status = 'complete' AND occurred_at < ?",
                (_ts(cutoff),),
            ).fetchall()
            gone = [
                i
                for i in self._load(db, rows)
                if i.member is None or i.member.key not in keep
            ]
            db.executemany(
                "DELETE FROM incidents WHERE id = ?", [(i.id,) for i in gone]
            )
            # A bar's history goes when the bar was lifted before the cutoff (and not since
            # given again).
            stale = [
                r["member_key"]
                for r in db.execute(
                    "SELECT member_key, MAX(id) AS last FROM ban_history GROUP BY member_key"
                )
                if r["member_key"] not in keep
                and db.execute(
                    "SELECT 1 FROM ban_history WHERE id = ? AND event = 'lifted' AND at < ?",
                    (r["last"], _ts(cutoff)),
                ).fetchone()
            ]
            db.executemany(
                "DELETE FROM ban_history WHERE member_key = ?", [(k,) for k in stale]
            )
        return gone

    # -- lockdowns ------------------------------------------------------------------------------

    def lockdowns(self) -> dict[str, Lockdown]:
        """Return every running lockdown by branch."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM lockdowns").fetchall()
        return {
            r["branch"]: Lockdown(
                branch=r["branch"],
                started_at=_at(r["started_at"]),
                started_by=r["started_by"],
                incident=r["incident"],
            )
            for r in rows
        }

    def start_lockdown(self, lockdown: Lockdown, incident: Incident) -> bool:
        """Record a lockdown and its incident together; False if the branch already has one."""
        with self._transaction() as db:
            if db.execute(
                "SELECT 1 FROM lockdowns WHERE branch = ?", (lockdown.branch,)
            ).fetchone():
                return False
            self._write(db, incident)
            db.execute(
                "INSERT INTO lockdowns VALUES (?, ?, ?, ?)",
                (
                    lockdown.branch,
                    _ts(lockdown.started_at),
                    lockdown.started_by,
                    lockdown.incident,
                ),
            )
        return True

    def end_lockdown(self, branch: str) -> Lockdown | None:
        """Remove a branch's lockdown; return it (None: there was none)."""
        found = self.lockdowns().get(branch)
        with self._transaction() as db:
            if not db.execute(
                "DELETE FROM lockdowns WHERE branch = ?", (branch,)
            ).rowcount:
                return None
        return found

    # -- bars -----------------------------------------------------------------------------------

    def record_ban(self, event: BanEvent) -> None:
        """Add a step to a member's bar history."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO ban_history (member_key, member_card, event, on_date, "
                "review_date, agreement_date, by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.member.key,
                    event.member.card,
                    event.event,
                    event.on.isoformat(),
                    event.review_date.isoformat() if event.review_date else None,
                    event.agreement_date.isoformat() if event.agreement_date else None,
                    event.by,
                    _ts(event.at or datetime.now(UTC)),
                ),
            )

    def ban_history(self, member_key: str) -> list[BanEvent]:
        """Return a member's bar history, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM ban_history WHERE member_key = ? ORDER BY id",
                (member_key,),
            ).fetchall()
        return [
            BanEvent(
                member=MemberLink(r["member_key"], r["member_card"]),
                event=r["event"],
                on=date.fromisoformat(r["on_date"]),
                review_date=_date(r["review_date"]),
                agreement_date=_date(r["agreement_date"]),
                by=r["by"],
                at=_dt(r["at"]),
            )
            for r in rows
        ]
