"""The local membership store: SQLite, durable on acknowledgement, fast at 100,000 members.

SQLite in WAL mode with `synchronous=FULL`: a change is on disk before its call returns, so a
member enrolled (or barred) survives a kill -9 or a power cut of the Home Assistant host the moment
after. Reads are primary-key lookups. It keeps only what a rule needs; a PIN only as its hash, a
card in the lock-out tables only as a peppered digest. The file is readable by its owner alone
(0600, in a 0700 folder).

With the library's system (SIP2) as the membership backend, the offline cache of recent LMS
grants lives here too (`lms_grants`: a peppered card digest, the scrypt hash of the PIN the LMS
accepted, the facts the rules need, when); the store is its `engine.lms.GrantStore`.

One card, one holder: a number is a member's or a staff card's, never both (checked in the same
transaction as the write). The PIN attempts of a card are counted here too, so that checking the
count and taking an attempt is one transaction (see engine.lockout) and survives a restart.

Blocking: every method does file I/O. Home Assistant calls them in its executor; one connection is
shared under a lock. A store that cannot do what was asked (a full disk, a read-only or damaged
file) raises engine.database's StorageError with a code saying which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
import csv
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
import hmac
import io
from pathlib import Path
import re
import sqlite3
from typing import Any

from ..database import PrivateDatabase
from ..lms.gateway import CachedGrant
from .induction import (
    InductionContent,
    InductionVersion,
    next_version,
    required_version,
)
from .membership import (
    Booking,
    Member,
    MemberError,
    Restriction,
    StaffCard,
    card_referrer,
    check_member_fields,
    check_text,
    legacy_card_key,
    mask_card,
    normalise_card,
    parse_windows,
)

SCHEMA_VERSION = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    card TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL,
    card_expiry TEXT NOT NULL,
    induction_date TEXT,
    induction_version INTEGER,
    induction_where TEXT NOT NULL DEFAULT '',
    renewed_on TEXT,
    restriction TEXT NOT NULL DEFAULT 'none',
    restriction_date TEXT,
    review_date TEXT,
    restriction_reason TEXT NOT NULL DEFAULT '',
    pin_hash TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staff (
    card TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    windows TEXT NOT NULL,
    branches TEXT NOT NULL DEFAULT '',
    pin_hash TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    branch TEXT NOT NULL,
    room TEXT NOT NULL,
    card TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS bookings_by_branch ON bookings (branch, end);
CREATE TABLE IF NOT EXISTS pin_attempts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pin_attempts_by_key ON pin_attempts (key, at);
CREATE INDEX IF NOT EXISTS pin_attempts_by_time ON pin_attempts (at);
CREATE TABLE IF NOT EXISTS card_lockouts (
    key TEXT PRIMARY KEY,
    until REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS induction_versions (
    number INTEGER PRIMARY KEY,
    published TEXT,
    significant INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lms_grants (
    card_key TEXT PRIMARY KEY,
    pin_hash TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    expiry TEXT,
    birth_date TEXT,
    category TEXT
) WITHOUT ROWID;
"""
# Version 1 kept running lock-outs under an unpeppered digest of the card, with ISO end times.
_LEGACY_LOCKOUTS = "lockouts"
# Columns version 3 added to `members` (a file of an older version gets them on opening).
_ADDED_MEMBER_COLUMNS = {
    "induction_version": "INTEGER",
    "induction_where": "TEXT NOT NULL DEFAULT ''",
}
# A cell a spreadsheet would read as a formula (OWASP "CSV injection"): an export puts a single
# quote in front, an import takes it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_MEMBER_COLUMNS = (
    "card",
    "name",
    "birth_date",
    "card_expiry",
    "induction_date",
    "induction_version",
    "induction_where",
    "renewed_on",
    "restriction",
    "restriction_date",
    "review_date",
    "restriction_reason",
    "pin_hash",
)
# Columns of an export, and what an import reads: never the PIN hash (nor the free-text reason
# of a restriction, which stays with the service that gave it).
EXPORT_COLUMNS = tuple(
    c for c in _MEMBER_COLUMNS if c not in {"restriction_reason", "pin_hash"}
)
# Header names library management systems use for the same thing.
_ALIASES = {
    "card": ("card", "barcode", "card_number", "patron_barcode", "borrower_barcode"),
    "name": ("name", "display_name", "patron_name"),
    "birth_date": ("birth_date", "date_of_birth", "dob", "birthdate"),
    "card_expiry": ("card_expiry", "expiry", "expiry_date", "expires"),
    "induction_date": ("induction_date", "induction", "inducted"),
    "induction_version": ("induction_version",),
    "induction_where": ("induction_where",),
    "renewed_on": ("renewed_on", "renewal_date", "renewed"),
    "restriction": ("restriction", "status"),
    "restriction_date": ("restriction_date",),
    "review_date": ("review_date",),
}


# What library management systems write in a status column, as our restrictions.
_LMS_STATUSES = {
    "": "none",
    "active": "none",
    "ok": "none",
    "current": "none",
    "valid": "none",
    "barred": "barred",
    "banned": "barred",
    "suspended": "barred",
    "warning": "final_warning",
    "final_warning": "final_warning",
}


def _mark_renewals(
    rows: Mapping[str, tuple[int, dict[str, Any]]],
    existing: Mapping[str, tuple[str | None, str | None]],
    today: date,
) -> None:
    """Record a renewal where a file moves an existing card's expiry later (no renewal column).

    A renewal needs a new induction (seed 001): the renewed card stays refused until an induction
    on or after the renewal date is recorded, exactly as after the renew_card action.
    """
    for card, (_number, values) in rows.items():
        expiry, renewed_on = existing.get(card, (None, None))
        if expiry is not None and values["card_expiry"] > expiry:
            values["renewed_on"] = today.isoformat()
        else:
            values["renewed_on"] = renewed_on


def _keep_induction_records(
    rows: Mapping[str, tuple[int, dict[str, Any]]],
    inducted: Mapping[str, tuple[str | None, int | None, str]],
    columns: Mapping[str, str],
) -> None:
    """Keep what a file without version columns does not say about an induction.

    The same induction date as stored keeps its version and place (a library system's nightly
    export does not know them); another date is an induction of unknown version and place.
    """
    for card, (_number, values) in rows.items():
        date_stored, version, where = inducted.get(card, (None, None, ""))
        same = values["induction_date"] == date_stored and date_stored is not None
        if "induction_version" not in columns:
            values["induction_version"] = version if same else None
        if "induction_where" not in columns:
            values["induction_where"] = where if same else ""


def neutralise_cell(value: str) -> str:
    """Return a CSV cell a spreadsheet will show as text: a formula start gets a leading quote.

    A cell that already starts with quotes before a formula character gets one more, so that
    `restore_cell` gives back exactly what was stored.
    """
    return "'" + value if value.lstrip("'").startswith(_FORMULA_STARTS) else value


def restore_cell(value: str) -> str:
    """Undo `neutralise_cell` (also reads a file a library system neutralised the same way)."""
    if value.startswith("'") and value.lstrip("'").startswith(_FORMULA_STARTS):
        return value[1:]
    return value


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def parse_date(text: str) -> date:
    """Read a date as an LMS writes it: ISO (2026-11-24) or UK (24/11/2026)."""
    text = text.strip()
    if "/" in text:
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("a booking time must carry its time zone")
    try:
        return moment.astimezone(UTC).isoformat()
    except OverflowError:
        raise MemberError("booking_out_of_range") from None


def _member(row: sqlite3.Row) -> Member:
    return Member(
        card=row["card"],
        name=row["name"],
        birth_date=date.fromisoformat(row["birth_date"]),
        card_expiry=date.fromisoformat(row["card_expiry"]),
        induction_date=_d(row["induction_date"]),
        induction_version=row["induction_version"],
        induction_where=row["induction_where"] or "",
        renewed_on=_d(row["renewed_on"]),
        restriction=Restriction(row["restriction"]),
        restriction_date=_d(row["restriction_date"]),
        review_date=_d(row["review_date"]),
        restriction_reason=row["restriction_reason"],
        pin_hash=row["pin_hash"],
    )


def _staff(row: sqlite3.Row) -> StaffCard:
    return StaffCard(
        card=row["card"],
        name=row["name"],
        role=row["role"],
        windows=parse_windows(row["windows"]),
        pin_hash=row["pin_hash"],
        branches=frozenset(filter(None, row["branches"].split(","))),
    )


def _member_row(m: Member) -> tuple[Any, ...]:
    return (
        m.card,
        m.name,
        m.birth_date.isoformat(),
        m.card_expiry.isoformat(),
        _iso(m.induction_date),
        m.induction_version,
        m.induction_where,
        _iso(m.renewed_on),
        m.restriction.value,
        _iso(m.restriction_date),
        _iso(m.review_date),
        m.restriction_reason,
        m.pin_hash,
    )


@dataclass
class ImportReport:
    """What an import did: rows taken, rows refused with a reason (cards masked)."""

    taken: int = 0
    added: int = 0
    updated: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a plain dict (an action's response)."""
        return {
            "taken": self.taken,
            "added": self.added,
            "updated": self.updated,
            "refused": self.refused,
        }


class MembershipStore(PrivateDatabase):
    """Members, staff cards, room bookings and running lock-outs of one library service."""

    def __init__(self, path: Path | str) -> None:
        """Open (or create) the store at `path`; ':memory:' for a throwaway one.

        The file and its WAL are made private to the process's user (0600) in a 0700 folder:
        member data is personal data, and the PIN hashes are worth keeping from other accounts.
        """
        super().__init__(path, _SCHEMA, SCHEMA_VERSION)
        with self._transaction() as db:
            have = {row[1] for row in db.execute("PRAGMA table_info(members)")}
            for column, kind in _ADDED_MEMBER_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE members ADD COLUMN {column} {kind}")
        self._inductions: tuple[InductionVersion, ...] | None = None

    def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        with self._transaction() as db:
            return int(db.execute(sql, tuple(params)).rowcount)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._reading() as db:
            return db.execute(sql, tuple(params)).fetchall()

    # -- members --------------------------------------------------------------------------------

    def member(self, card: str) -> Member | None:
        """Return the member with this card, or None."""
        try:
            card = normalise_card(card)
        except MemberError:
            return None
        rows = self._read("SELECT * FROM members WHERE card = ?", (card,))
        return _member(rows[0]) if rows else None

    def require(self, card: str) -> Member:
        """Return the member with this card or raise MemberError('unknown_member')."""
        member = self.member(card)
        if member is None:
            raise MemberError("unknown_member", card=mask_card(card))
        return member

    def add(self, member: Member, today: date) -> Member:
        """Enroll a new member; raise MemberError when the card is taken or the data is wrong.

        A card number a staff card holds is refused (`card_is_staff`): one card, one holder.
        """
        member = replace(member, card=normalise_card(member.card))
        check_member_fields(member, today)
        placeholders = ",".join("?" * len(_MEMBER_COLUMNS))
        with self._transaction() as db:
            if db.execute(
                "SELECT 1 FROM staff WHERE card = ?", (member.card,)
            ).fetchone():
                raise MemberError("card_is_staff", card=member.masked_card)
            try:
                db.execute(
                    f"INSERT INTO members ({','.join(_MEMBER_COLUMNS)}) VALUES ({placeholders})",  # noqa: S608 - column names are constants
                    _member_row(member),
                )
            except sqlite3.IntegrityError as err:
                raise MemberError("member_exists", card=member.masked_card) from err
        return member

    def change(self, card: str, edit: Callable[[Member], Member]) -> Member:
        """Read a member, apply `edit`, write it back in one transaction; return the result.

        When `edit` raises, nothing is written.
        """
        card = normalise_card(card)
        sets = ",".join(f"{c} = ?" for c in _MEMBER_COLUMNS[1:])
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM members WHERE card = ?", (card,)
            ).fetchall()
            member = edit(self._found(rows, card))
            check_text(member.name, "name")
            check_text(member.restriction_reason, "reason")
            row = _member_row(replace(member, card=card))
            db.execute(
                f"UPDATE members SET {sets} WHERE card = ?",  # noqa: S608 - constants
                (*row[1:], card),
            )
        return member

    @staticmethod
    def _found(rows: list[sqlite3.Row], card: str) -> Member:
        if not rows:
            raise MemberError("unknown_member", card=mask_card(card))
        return _member(rows[0])

    def remove(self, card: str) -> bool:
        """Remove a member (and their bookings); return False when there was none."""
        card = normalise_card(card)
        with self._transaction() as db:
            gone = db.execute("DELETE FROM members WHERE card = ?", (card,)).rowcount
            db.execute("DELETE FROM bookings WHERE card = ?", (card,))
        return bool(gone)

    def count(self) -> int:
        """Return how many members the store holds."""
        return int(self._read("SELECT COUNT(*) FROM members")[0][0])

    def members(self) -> Iterator[Member]:
        """Yield every member, by card."""
        for row in self._read("SELECT * FROM members ORDER BY card"):
            yield _member(row)

    def find(
        self, *, card: str | None = None, name: str | None = None, limit: int = 50
    ) -> tuple[list[Member], int]:
        """Return members found by card and/or name, by card, at most `limit`; and how many match.

        `card`: the whole number or its end (the digits a masked card shows); `name`: any part
        of it, case ignored. Neither: every member. A fragment that no card number could hold
        (other than letters and digits) raises MemberError('invalid_card').
        """
        where: list[str] = []
        params: list[Any] = []
        if card is not None and card.strip():
            fragment = card.strip().replace(" ", "").upper()
            if not re.fullmatch(r"[0-9A-Z]{1,20}", fragment):
                raise MemberError("invalid_card")
            where.append("card LIKE ?")
            params.append(f"%{fragment}")
        if name is not None and name.strip():
            check_text(name, "name")
            escaped = re.sub(r"([\\%_])", r"\\\1", name.strip())
            where.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = int(self._read(f"SELECT COUNT(*) FROM members{clause}", params)[0][0])  # noqa: S608 - constant clauses
        rows = self._read(
            f"SELECT * FROM members{clause} ORDER BY card LIMIT ?",  # noqa: S608 - constant clauses
            (*params, max(0, limit)),
        )
        return [_member(row) for row in rows], total

    def card_for_ref(self, ref: str, pepper: bytes) -> str | None:
        """Return the member's or staff card's number a reference names (`card_ref`), or None.

        Reads every card number (in the executor): the caller keeps the references it handed
        out (access.decisions.LibraryAccess), so this is only for one it does not know.
        """
        ref = ref.strip()
        reference = card_referrer(pepper)
        rows = self._read("SELECT card FROM members UNION ALL SELECT card FROM staff")
        for row in rows:
            if hmac.compare_digest(reference(row[0]), ref):
                return str(row[0])
        return None

    def counts(self, today: date) -> dict[str, int]:
        """Return how many members there are, and how many may use smart access today."""
        total = active = 0
        for member in self.members():
            total += 1
            active += (
                member.eligibility(today, self.induction_required).value == "granted"
            )
        staff = int(self._read("SELECT COUNT(*) FROM staff")[0][0])
        bookings = int(self._read("SELECT COUNT(*) FROM bookings")[0][0])
        return {
            "members": total,
            "smart_access": active,
            "staff_cards": staff,
            "bookings": bookings,
        }

    # -- induction versions (engine.induction) -------------------------------------------------

    def induction_history(self) -> tuple[InductionVersion, ...]:
        """Return every published version of the induction, oldest first (kept in memory)."""
        if self._inductions is None:
            rows = self._read(
                "SELECT number, content, published, significant, summary "
                "FROM induction_versions ORDER BY number"
            )
            self._inductions = tuple(
                InductionVersion.from_row(
                    r["number"],
                    r["content"],
                    r["published"],
                    r["significant"],
                    r["summary"],
                )
                for r in rows
            )
        return self._inductions

    @property
    def induction_required(self) -> int:
        """Return the newest version published as significant (0: none)."""
        return required_version(self.induction_history())

    def publish_induction(
        self,
        content: InductionContent,
        *,
        significant: bool,
        summary: str,
        at: datetime,
    ) -> InductionVersion:
        """Publish a new version of the induction (numbered after the newest); return it."""
        with self._transaction() as db:
            self._inductions = None  # read again inside the transaction, then after it
            numbers = [
                r[0] for r in db.execute("SELECT number FROM induction_versions")
            ]
            history = [InductionVersion(n) for n in numbers]
            version = next_version(
                history, content, significant=significant, summary=summary, at=at
            )
            db.execute(
                "INSERT INTO induction_versions "
                "(number, published, significant, summary, content) VALUES (?, ?, ?, ?, ?)",
                (
                    version.number,
                    at.isoformat(),
                    int(version.significant),
                    version.summary,
                    version.to_json(),
                ),
            )
        self._inductions = None
        return version

    def count_inducted_before(self, version: int) -> int:
        """Return how many members' inductions are on a version older than `version`."""
        return int(
            self._read(
                "SELECT COUNT(*) FROM members WHERE induction_date IS NOT NULL "
                "AND COALESCE(induction_version, 0) < ?",
                (version,),
            )[0][0]
        )

    # -- import / export ------------------------------------------------------------------------

    def import_csv(self, text: str, today: date) -> ImportReport:
        """Import members from an LMS export; good rows in one transaction, bad rows reported.

        An existing member is updated with the columns the file has; their PIN, and anything the
        file does not carry, stay as they were. A refused row changes nothing. Either every taken
        row is written or none is (one transaction). A row whose card is a staff card's is
        refused (`card_is_staff`). A file that is not CSV (a field over the csv module's limit of
        131,072 characters, an unclosed quote) is refused as a whole, and nothing is written.
        A cell an export neutralised for spreadsheets (a leading quote) is read back as it was.
        """
        report = ImportReport()
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        try:
            return self._import(reader, report, today)
        except csv.Error as err:
            code = (
                "import_field_too_long"
                if "field larger than field limit" in str(err)
                else "import_not_csv"
            )
            # The line being read when it failed: not yet counted in line_num.
            raise MemberError(code, line=str(reader.line_num + 1)) from None

    def _import(
        self, reader: csv.DictReader[str], report: ImportReport, today: date
    ) -> ImportReport:
        """Read every row, then write the good ones in one transaction."""
        headers = {
            re.sub(r"[\s\-]+", "_", (h or "").strip().lower()): h
            for h in reader.fieldnames or ()
        }
        columns = {
            column: headers[alias]
            for column, aliases in _ALIASES.items()
            for alias in aliases
            if alias in headers
        }
        if "card" not in columns:
            raise MemberError("import_no_card_column")
        for column in ("birth_date", "card_expiry"):
            if column not in columns:
                raise MemberError("import_missing_column", column=column)
        rows: dict[str, tuple[int, dict[str, Any]]] = {}
        for number, raw in enumerate(reader, start=2):  # row 1 is the header
            raw_card = (raw.get(columns["card"]) or "").strip()
            try:
                values = self._import_row(raw, columns, today)
            except MemberError as err:
                report.refused.append(
                    {"row": number, "card": mask_card(raw_card), "reason": err.code}
                )
                continue
            if values["card"] in rows:
                report.refused.append(
                    {
                        "row": number,
                        "card": mask_card(raw_card),
                        "reason": "duplicate_card",
                    }
                )
                continue
            rows[values["card"]] = (number, values)
        with self._transaction() as db:
            staff = {r[0] for r in db.execute("SELECT card FROM staff").fetchall()}
            for card in [c for c in rows if c in staff]:
                number, _values = rows.pop(card)
                report.refused.append(
                    {"row": number, "card": mask_card(card), "reason": "card_is_staff"}
                )
            report.refused.sort(key=lambda r: int(r["row"]))
            existing = {
                r[0]: (r[1], r[2])
                for r in db.execute(
                    "SELECT card, card_expiry, renewed_on FROM members"
                ).fetchall()
            }
            if "renewed_on" not in columns:
                _mark_renewals(rows, existing, today)
            if "induction_date" in columns:
                inducted = {
                    r[0]: (r[1], r[2], r[3])
                    for r in db.execute(
                        "SELECT card, induction_date, induction_version, induction_where "
                        "FROM members"
                    ).fetchall()
                }
                _keep_induction_records(rows, inducted, columns)
            report.updated = sum(1 for card in rows if card in existing)
            report.added = len(rows) - report.updated
            if rows:
                names = list(next(iter(rows.values()))[1])  # every row has the same
                updates = ",".join(f"{c} = excluded.{c}" for c in names[1:])
                db.executemany(
                    f"INSERT INTO members ({','.join(names)}) "  # noqa: S608 - constants
                    f"VALUES ({','.join('?' * len(names))}) "
                    f"ON CONFLICT(card) DO UPDATE SET {updates}",
                    ([values[c] for c in names] for _n, values in rows.values()),
                )
        report.taken = report.added + report.updated
        return report

    @staticmethod
    def _import_row(
        raw: Mapping[str, str | None], columns: Mapping[str, str], today: date
    ) -> dict[str, Any]:
        def cell(column: str) -> str:
            if column not in columns:
                return ""
            return restore_cell((raw.get(columns[column]) or "").strip())

        values: dict[str, Any] = {"card": normalise_card(cell("card"))}
        values["name"] = check_text(cell("name"), "name")
        for column in (
            "birth_date",
            "card_expiry",
            "induction_date",
            "renewed_on",
            "restriction_date",
            "review_date",
        ):
            if column not in columns:
                continue
            text = cell(column)
            if not text:
                if column in ("birth_date", "card_expiry"):
                    raise MemberError(f"missing_{column}")
                values[column] = None
                continue
            try:
                values[column] = parse_date(text).isoformat()
            except ValueError as err:
                raise MemberError(f"invalid_{column}") from err
        if "induction_version" in columns:
            text = cell("induction_version")
            if not text:
                values["induction_version"] = None
            elif (
                not (text.isascii() and text.isdigit() and len(text) <= 6)
                or int(text) < 1
            ):
                raise MemberError("invalid_induction_version")
            else:
                values["induction_version"] = int(text)
        if "induction_where" in columns:
            values["induction_where"] = check_text(cell("induction_where"), "where")[
                :64
            ]
        if "restriction" in columns:
            text = cell("restriction").lower().replace(" ", "_").replace("-", "_")
            text = _LMS_STATUSES.get(text, text)
            if text not in {r.value for r in Restriction}:
                raise MemberError("invalid_restriction")
            values["restriction"] = text
            if text == Restriction.BARRED and not values.get("review_date"):
                raise MemberError("missing_review_date")  # as bar_member asks for one
        if date.fromisoformat(values["birth_date"]) > today:
            raise MemberError("birth_date_in_future")
        if (values.get("induction_date") or "") > today.isoformat():
            raise MemberError("induction_in_future")
        if "name" not in columns:
            del values["name"]
        return values

    def export_csv(self) -> str:
        """Return every member as CSV in the import's own columns. Never a PIN or its hash.

        Safe to open in a spreadsheet: a cell that would start a formula (=, +, -, @, tab, CR)
        starts with a single quote; `import_csv` takes it off again.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        for row in self._read(
            f"SELECT {','.join(EXPORT_COLUMNS)} FROM members ORDER BY card"  # noqa: S608 - column names are constants
        ):
            writer.writerow(["" if v is None else neutralise_cell(str(v)) for v in row])
        return out.getvalue()

    # -- staff and contractor cards -------------------------------------------------------------

    def staff(self, card: str) -> StaffCard | None:
        """Return the staff or contractor card with this number, or None."""
        try:
            card = normalise_card(card)
        except MemberError:
            return None
        rows = self._read("SELECT * FROM staff WHERE card = ?", (card,))
        return _staff(rows[0]) if rows else None

    def staff_cards(self) -> list[StaffCard]:
        """Return every staff and contractor card, by role and name."""
        rows = self._read("SELECT * FROM staff ORDER BY role, name, card")
        return [_staff(row) for row in rows]

    def save_staff(self, staff: StaffCard) -> None:
        """Add or replace a staff or contractor card; a member's card number is refused."""
        card = normalise_card(staff.card)
        check_text(staff.name, "name")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM members WHERE card = ?", (card,)).fetchone():
                raise MemberError("card_is_a_member", card=mask_card(card))
            db.execute(
                "INSERT OR REPLACE INTO staff (card, name, role, windows, branches, pin_hash) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    card,
                    staff.name,
                    staff.role,
                    "; ".join(str(w) for w in staff.windows),
                    ",".join(sorted(staff.branches)),
                    staff.pin_hash,
                ),
            )

    def remove_staff(self, card: str) -> bool:
        """Remove a staff or contractor card."""
        return bool(
            self._write("DELETE FROM staff WHERE card = ?", (normalise_card(card),))
        )

    # -- meeting-room bookings ------------------------------------------------------------------

    def add_booking(self, booking: Booking) -> None:
        """Store a booking."""
        check_text(booking.title, "title")
        self._write(
            "INSERT INTO bookings (id, branch, room, card, start, end, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                booking.id,
                booking.branch,
                booking.room,
                normalise_card(booking.card),
                _utc(booking.start),
                _utc(booking.end),
                booking.title,
            ),
        )

    def remove_booking(self, booking_id: str) -> bool:
        """Remove a booking; return False when there was none."""
        return bool(self._write("DELETE FROM bookings WHERE id = ?", (booking_id,)))

    def bookings(
        self, branch: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[Booking]:
        """Return a branch's bookings overlapping [start, end), by start time.

        Times are kept in UTC, so the text order is the time order across clock changes.
        """
        rows = self._read(
            "SELECT * FROM bookings WHERE branch = ? AND end > ? ORDER BY start",
            (branch, _utc(start) if start else ""),
        )
        found = [
            Booking(
                id=r["id"],
                branch=r["branch"],
                room=r["room"],
                card=r["card"],
                start=datetime.fromisoformat(r["start"]),
                end=datetime.fromisoformat(r["end"]),
                title=r["title"],
            )
            for r in rows
        ]
        return [
            b
            for b in found
            if (end is None or b.start < end) and (start is None or b.end > start)
        ]

    # -- PIN attempts and lock-outs (engine.lockout decides; this keeps the counts) ----------

    def reserve_pin_attempt(
        self, key: str, at: datetime, attempts: int, window: timedelta
    ) -> tuple[int | None, datetime | None]:
        """Take one of a card's PIN attempts, in one transaction with the check of the count.

        Return (attempt id, None) when a PIN may be evaluated; (None, end of the lock-out) when
        the card is locked out; (None, None) when `attempts` PINs are already taken in the
        window (evaluated wrong, or still being evaluated). Attempts older than the window and
        ended lock-outs are forgotten on the way.
        """
        now = at.timestamp()
        with self._transaction() as db:
            db.execute("DELETE FROM card_lockouts WHERE until <= ?", (now,))
            db.execute(
                "DELETE FROM pin_attempts WHERE at < ?", (now - window.total_seconds(),)
            )
            row = db.execute(
                "SELECT until FROM card_lockouts WHERE key = ?", (key,)
            ).fetchone()
            if row is not None:
                return None, datetime.fromtimestamp(row[0], at.tzinfo)
            (taken,) = db.execute(
                "SELECT COUNT(*) FROM pin_attempts WHERE key = ?", (key,)
            ).fetchone()
            if taken >= attempts:
                return None, None
            cursor = db.execute(
                "INSERT INTO pin_attempts (key, at) VALUES (?, ?)", (key, now)
            )
            return cursor.lastrowid, None

    def pin_attempt_failed(
        self,
        attempt: int,
        *,
        key: str,
        at: datetime,
        attempts: int,
        window: timedelta,
        duration: timedelta,
    ) -> datetime | None:
        """Count a taken attempt as a wrong PIN; return the end of the lock-out it starts."""
        now = at.timestamp()
        with self._transaction() as db:
            db.execute("UPDATE pin_attempts SET failed = 1 WHERE id = ?", (attempt,))
            (failed,) = db.execute(
                "SELECT COUNT(*) FROM pin_attempts WHERE key = ? AND failed = 1 "
                "AND at >= ?",
                (key, now - window.total_seconds()),
            ).fetchone()
            if failed < attempts:
                return None
            until = now + duration.total_seconds()
            db.execute(
                "INSERT OR REPLACE INTO card_lockouts (key, until) VALUES (?, ?)",
                (key, until),
            )
            db.execute("DELETE FROM pin_attempts WHERE key = ?", (key,))
            return datetime.fromtimestamp(until, at.tzinfo)

    def pin_attempt_succeeded(self, attempt: int, key: str) -> None:
        """Forget a card's wrong PINs after a right one (attempts still running stay counted)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM pin_attempts WHERE key = ? AND (failed = 1 OR id = ?)",
                (key, attempt),
            )

    def release_pin_attempt(self, attempt: int) -> None:
        """Forget one taken attempt whose PIN was not evaluated (the others stay counted)."""
        self._write("DELETE FROM pin_attempts WHERE id = ?", (attempt,))

    def locked_until(self, key: str, at: datetime) -> datetime | None:
        """Return when a card's lock-out ends, or None when it is not locked out at `at`."""
        rows = self._read(
            "SELECT until FROM card_lockouts WHERE key = ? AND until > ?",
            (key, at.timestamp()),
        )
        return datetime.fromtimestamp(rows[0][0], at.tzinfo) if rows else None

    def clear_lockout(self, key: str, at: datetime) -> bool:
        """Lift a card's lock-out and forget its wrong PINs; return True when one was running."""
        with self._transaction() as db:
            running = db.execute(
                "DELETE FROM card_lockouts WHERE key = ? AND until > ?",
                (key, at.timestamp()),
            ).rowcount
            db.execute("DELETE FROM card_lockouts WHERE key = ?", (key,))
            db.execute("DELETE FROM pin_attempts WHERE key = ?", (key,))
        return bool(running)

    def lockouts(self, at: datetime) -> dict[str, datetime]:
        """Return the lock-outs running at `at` (card digest -> end)."""
        return {
            r[0]: datetime.fromtimestamp(r[1], at.tzinfo)
            for r in self._read(
                "SELECT key, until FROM card_lockouts WHERE until > ?",
                (at.timestamp(),),
            )
        }

    def migrate_legacy_lockouts(
        self, key_of: Callable[[str], str], at: datetime
    ) -> int:
        """Carry the running lock-outs of a version-1 store over to the peppered keys.

        Version 1 named a card by an unpeppered digest; the cards of members and staff are
        hashed the old way to find whose each one was. Return how many were carried over.
        """
        with self._transaction() as db:
            if not db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (_LEGACY_LOCKOUTS,),
            ).fetchone():
                return 0
            legacy = {
                r[0]: datetime.fromisoformat(r[1])
                for r in db.execute(f"SELECT key, until FROM {_LEGACY_LOCKOUTS}")  # noqa: S608 - a constant
            }
            running = {k: v for k, v in legacy.items() if v > at}
            carried = 0
            if running:
                for (card,) in db.execute(
                    "SELECT card FROM members UNION SELECT card FROM staff"
                ).fetchall():
                    until = running.get(legacy_card_key(card))
                    if until is not None:
                        db.execute(
                            "INSERT OR REPLACE INTO card_lockouts (key, until) "
                            "VALUES (?, ?)",
                            (key_of(card), until.timestamp()),
                        )
                        carried += 1
            db.execute(f"DROP TABLE {_LEGACY_LOCKOUTS}")
        return carried

    # -- the offline cache of LMS grants (engine.lms.GrantStore) ----------------------------

    def load_grants(self) -> list[CachedGrant]:
        """Return every LMS grant kept (a row that cannot be read is dropped, not fatal)."""
        grants: list[CachedGrant] = []
        for row in self._read("SELECT * FROM lms_grants"):
            try:
                grants.append(CachedGrant.from_dict(dict(row)))
            except KeyError, TypeError, ValueError:
                self.delete_grant(row["card_key"])
        return grants

    def save_grant(self, grant: CachedGrant) -> None:
        """Keep `grant`, replacing any grant of the same card."""
        row = grant.as_dict()
        self._write(
            "INSERT OR REPLACE INTO lms_grants "
            "(card_key, pin_hash, granted_at, expiry, birth_date, category) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                row["card_key"],
                row["pin_hash"],
                row["granted_at"],
                row["expiry"],
                row["birth_date"],
                row["category"],
            ),
        )

    def delete_grant(self, card_key: str) -> None:
        """Drop the grant of `card_key`, if any."""
        self._write("DELETE FROM lms_grants WHERE card_key = ?", (card_key,))

    def clear_grants(self) -> int:
        """Drop every LMS grant (the service left its LMS); return how many."""
        return self._write("DELETE FROM lms_grants")
