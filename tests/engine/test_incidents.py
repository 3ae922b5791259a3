"""Incidents, their store, bars under review, lockdown rules and staff alerts (no Home Assistant)."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
import io
from pathlib import Path
import stat
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.building.announcements import (
    LANGUAGE_BANKS,
    announcement,
    recordings,
)
from custom_components.smart_library.engine.members import bans
from custom_components.smart_library.engine.members.membership import (
    Member,
    Restriction,
    bar_member,
)
from custom_components.smart_library.engine.members.store import restore_cell
from custom_components.smart_library.engine.safety import alerts, incidents
from custom_components.smart_library.engine.safety.incident_store import (
    BanEvent,
    IncidentStore,
)
from custom_components.smart_library.engine.safety.incidents import (
    Category,
    Incident,
    IncidentError,
    LogEntry,
    MemberLink,
    Source,
    Status,
)
from custom_components.smart_library.engine.safety.lockdown import (
    Lockdown,
    refuses_entry,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=LONDON)
PEPPER = b"p" * 32


def incident(**changes: object) -> Incident:
    """Return a panic incident at Oadby at 20:00 (changes applied)."""
    made = incidents.new_incident(
        branch="branch_oadby",
        branch_name="Oadby Library",
        category=Category.PANIC,
        occurred_at=NOW,
        now=NOW,
        recorded_by="Smart Library",
        source=Source.ALARM,
        location="panic button counter",
        description="Panic button pressed",
    )
    return replace(made, **changes)  # type: ignore[arg-type]


# -- the incident form ---------------------------------------------------------------------------


def test_a_new_incident_is_open_and_its_timeline_starts_when_it_was_recorded() -> None:
    """Recorded now, open, one timeline line saying who recorded it."""
    found = incident()
    assert found.is_open
    assert found.log == (LogEntry(NOW, "Recorded", "Smart Library"),)
    assert found.summary(LONDON) == (
        "Panic alarm at Oadby Library, panic button counter (25 Nov 20:00)"
    )
    assert found.priority is incidents.Priority.CRITICAL


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"occurred_at": NOW + timedelta(hours=1)}, "incident_in_future"),
        ({"occurred_at": datetime(2026, 11, 25, 20)}, "incident_naive_time"),
        ({"description": "x" * 4001}, "incident_text_too_long"),
        ({"location": "y" * 201}, "incident_text_too_long"),
        ({"description": "bad \ud800 text"}, "invalid_text"),
    ],
)
def test_an_incident_that_cannot_be_kept_is_refused(
    changes: dict[str, object], code: str
) -> None:
    """A time to come, a time without a zone, text too long or with no UTF-8 form."""
    values: dict[str, object] = {
        "branch": "b",
        "branch_name": "Oadby Library",
        "category": Category.OTHER,
        "occurred_at": NOW,
        "now": NOW,
        "recorded_by": "Ann",
    } | changes
    with pytest.raises(IncidentError) as err:
        incidents.new_incident(**values)  # type: ignore[arg-type]
    assert err.value.code == code


def test_completing_an_incident_records_who_when_and_what_was_done_once() -> None:
    """Completed once, with the actions taken added; a second completion is refused."""
    later = NOW + timedelta(hours=1)
    done = incidents.complete(
        incident(actions_taken="Called the police"),
        now=later,
        by="Ann (duty manager)",
        actions_taken="Spoke to the member; CCTV kept",
        police_reference="CAD 1234",
    )
    assert done.status is Status.COMPLETE
    assert done.completed_at == later
    assert done.completed_by == "Ann (duty manager)"
    assert done.actions_taken == "Called the police\nSpoke to the member; CCTV kept"
    assert done.police_reference == "CAD 1234"
    assert done.log[-1] == LogEntry(later, "Review completed", "Ann (duty manager)")
    with pytest.raises(IncidentError) as err:
        incidents.complete(done, now=later, by="Bob")
    assert err.value.code == "incident_already_complete"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("panic", Category.PANIC),
        ("door_forced", Category.FORCED_DOOR),
        ("door_held_open", Category.HELD_OPEN),
        ("fire", Category.FIRE),
        ("help", Category.HELP_POINT),
        ("tailgating", Category.TAILGATING),
        ("fire_fault", Category.OTHER),
        ("something new", Category.OTHER),
    ],
)
def test_each_alarm_of_the_building_has_its_category(
    kind: str, expected: Category
) -> None:
    """The building's alarm kinds map onto the incident categories; anything else is other."""
    assert incidents.alarm_category(kind) is expected


def test_only_fire_and_panic_are_critical_and_tailgating_calls_nobody() -> None:
    """Priorities as the issue asks: fire and panic critical, tailgating for review only."""
    critical = {
        c for c, p in incidents.PRIORITY.items() if p is incidents.Priority.CRITICAL
    }
    assert critical == {Category.FIRE, Category.PANIC}
    assert incidents.PRIORITY[Category.TAILGATING] is incidents.Priority.NONE
    assert set(incidents.PRIORITY) == set(Category)


def test_an_alarm_repeated_at_the_same_place_soon_after_is_the_same_incident() -> None:
    """Same category and place within ten minutes: a repeat; elsewhere or later: a new one."""
    found = incident()
    place = found.location
    assert incidents.is_repeat(found, Category.PANIC, place, NOW + timedelta(minutes=9))
    assert not incidents.is_repeat(
        found, Category.PANIC, place, NOW + timedelta(minutes=11)
    )
    assert not incidents.is_repeat(found, Category.PANIC, "entrance", NOW)
    assert not incidents.is_repeat(found, Category.FIRE, place, NOW)


def test_unknown_category_names_the_ones_there_are() -> None:
    """A typo in a category is refused with the list of categories."""
    with pytest.raises(IncidentError) as err:
        incidents.category("antisocial")
    assert err.value.code == "incident_unknown_category"
    assert "antisocial_behaviour" in err.value.placeholders["categories"]
    assert incidents.category(" Injury ") is Category.INJURY


# -- retention -----------------------------------------------------------------------------------


def test_retention_deletes_only_completed_incidents_older_than_the_period() -> None:
    """Open ones wait for their review; a still-barred member's incidents stay with the bar."""
    old = NOW - timedelta(days=400)
    member = MemberLink("key1", "••••0001")
    done = incidents.complete(incident(occurred_at=old), now=NOW, by="Ann")
    assert incidents.expired(done, NOW, 365)
    assert not incidents.expired(done, NOW, 500)
    assert not incidents.expired(incident(occurred_at=old), NOW, 365)
    barred = replace(done, member=member)
    assert not incidents.expired(barred, NOW, 365, keep_members={"key1"})
    assert incidents.expired(barred, NOW, 365, keep_members={"other"})


@pytest.mark.parametrize("days", [29, 3651])
def test_a_retention_period_outside_a_month_to_ten_years_is_refused(
    days: int,
) -> None:
    """Too short loses incidents before their review; too long keeps personal data for ever."""
    with pytest.raises(IncidentError) as err:
        incidents.check_retention(days)
    assert err.value.code == "incident_retention_range"
    assert incidents.check_retention(30) == 30


# -- export --------------------------------------------------------------------------------------


def test_the_export_cannot_start_a_formula_and_reads_back_as_written() -> None:
    """Cells starting =, +, -, @, tab or CR start with a quote; restore_cell gives them back."""
    nasty = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    found = [
        replace(incident(), id=f"i{n}", description=text)
        for n, text in enumerate(nasty)
    ]
    found[0] = replace(found[0], member=MemberLink("k", "••••0001"))
    text = incidents.export_csv(found, LONDON)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["description"] for r in rows] == ["'" + t for t in nasty]
    assert [restore_cell(r["description"]) for r in rows] == nasty
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert rows[0]["member_card"] == "••••0001"
    assert rows[0]["occurred_at"] == "2026-11-25T20:00:00+00:00"
    assert "Recorded (Smart Library)" in rows[0]["timeline"]


def test_counts_cover_every_category() -> None:
    """Zero for the categories with none."""
    found = incidents.counts([incident(), incident(category=Category.FIRE)])
    assert found["panic"] == 1
    assert found["fire"] == 1
    assert found["damage"] == 0
    assert set(found) == {c.value for c in Category}


# -- the store -----------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> IncidentStore:
    """Return an incident store in a fresh folder."""
    opened = IncidentStore(tmp_path / "library" / "entry.incidents.db")
    yield opened
    opened.close()


def test_the_store_is_private_to_its_owner(
    tmp_path: Path, store: IncidentStore
) -> None:
    """The file 0600, its folder 0700: incidents are personal data."""
    store.add(incident())
    path = tmp_path / "library" / "entry.incidents.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for side in path.parent.glob("*.db-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600


def test_an_incident_survives_closing_the_store(tmp_path: Path) -> None:
    """Written before the call returns; read back whole (timeline, member, files)."""
    path = tmp_path / "s.db"
    first = IncidentStore(path)
    made = replace(
        incident(),
        member=MemberLink("key", "••••0001"),
        files=("1_camera_entrance.jpg",),
    )
    first.add(made)
    first.change(
        made.id,
        lambda i: incidents.with_entry(
            i, LogEntry(NOW + timedelta(minutes=2), "Acknowledged", "Ann")
        ),
    )
    first.close()
    second = IncidentStore(path)
    found = second.require(made.id)
    second.close()
    assert found.member == MemberLink("key", "••••0001")
    assert found.files == ("1_camera_entrance.jpg",)
    assert [e.text for e in found.log] == ["Recorded", "Acknowledged"]
    assert found.occurred_at == NOW
    assert found.category is Category.PANIC


def test_an_unknown_incident_is_a_translated_error(store: IncidentStore) -> None:
    """Asking for an id that is not there says so (and a failed change writes nothing)."""
    with pytest.raises(IncidentError) as err:
        store.require("nope")
    assert err.value.code == "incident_unknown"
    made = store.add(incident())

    def fail(i: Incident) -> Incident:
        raise IncidentError("incident_already_complete")

    with pytest.raises(IncidentError):
        store.change(made.id, fail)
    assert store.require(made.id) == made
    with pytest.raises(IncidentError) as err:
        store.add(made)
    assert err.value.code == "incident_exists"


def test_counts_and_filters(store: IncidentStore) -> None:
    """Per category since a time, open ones counted, filters by branch and status."""
    store.add(incident())
    store.add(replace(incident(), category=Category.DAMAGE))
    store.add(
        incidents.complete(replace(incident(), branch="other"), now=NOW, by="Ann")
    )
    store.add(replace(incident(), occurred_at=NOW - timedelta(days=40)))
    counted, open_count = store.counts("branch_oadby", NOW - timedelta(days=30))
    assert counted["panic"] == 1
    assert counted["damage"] == 1
    assert open_count == 3
    assert len(store.incidents(branch="other")) == 1
    assert len(store.incidents(status=Status.COMPLETE)) == 1
    assert len(store.incidents(since=NOW - timedelta(days=1))) == 3


def test_purge_keeps_open_incidents_and_a_barred_members_history(
    store: IncidentStore,
) -> None:
    """Retention: completed and old goes (its files named); open, recent or still barred stays."""
    old = NOW - timedelta(days=400)
    gone = store.add(
        incidents.complete(
            replace(incident(), occurred_at=old, files=("a.jpg",)), now=NOW, by="A"
        )
    )
    still_open = store.add(replace(incident(), occurred_at=old))
    barred = store.add(
        incidents.complete(
            replace(incident(), occurred_at=old, member=MemberLink("bk", "••••0002")),
            now=NOW,
            by="A",
        )
    )
    recent = store.add(incidents.complete(incident(), now=NOW, by="A"))
    removed = store.purge(NOW - timedelta(days=365), keep_members={"bk"})
    assert [(i.id, i.files) for i in removed] == [(gone.id, ("a.jpg",))]
    assert {i.id for i in store.incidents()} == {still_open.id, barred.id, recent.id}


def test_a_lockdown_is_stored_with_its_incident_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    """One lockdown per branch; it lasts until ended, across a reopening of the store."""
    path = tmp_path / "s.db"
    first = IncidentStore(path)
    made = incident(category=Category.LOCKDOWN)
    lockdown = Lockdown("branch_oadby", NOW, "Ann", made.id)
    assert first.start_lockdown(lockdown, made)
    assert not first.start_lockdown(lockdown, made)
    first.close()
    second = IncidentStore(path)
    assert second.lockdowns() == {"branch_oadby": lockdown}
    assert second.require(made.id).category is Category.LOCKDOWN
    assert second.end_lockdown("branch_oadby") == lockdown
    assert second.end_lockdown("branch_oadby") is None
    assert second.lockdowns() == {}
    second.close()


def test_a_bars_history_goes_with_retention_once_lifted(store: IncidentStore) -> None:
    """Given, kept, lifted with its agreement date; deleted after the period once lifted."""
    member = MemberLink("bk", "••••0002")
    long_ago = datetime(2024, 1, 1, tzinfo=UTC)
    store.record_ban(
        BanEvent(member, "barred", date(2023, 12, 1), date(2024, 1, 1), at=long_ago)
    )
    store.record_ban(
        BanEvent(
            member,
            "lifted",
            date(2024, 1, 1),
            agreement_date=date(2023, 12, 30),
            by="Admin",
            at=long_ago,
        )
    )
    history = store.ban_history("bk")
    assert [e.event for e in history] == ["barred", "lifted"]
    assert history[1].agreement_date == date(2023, 12, 30)
    store.purge(NOW - timedelta(days=365), keep_members=())
    assert store.ban_history("bk") == []


# -- bars ---------------------------------------------------------------------------------------


def member(**changes: object) -> Member:
    """Return an adult member (changes applied)."""
    base = Member(
        card="21234000000001",
        birth_date=date(1980, 1, 1),
        card_expiry=date(2030, 1, 1),
        induction_date=date(2025, 1, 1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_bar_is_due_for_review_on_its_review_date_not_before() -> None:
    """Due on the date and after it; not before; only bars."""
    today = date(2026, 11, 25)
    barred = bar_member(member(), today, "Abuse of staff", date(2026, 12, 1))
    warned = replace(
        member(card="21234000000002"), restriction=Restriction.FINAL_WARNING
    )
    assert bans.reviews_due([barred, warned, member()], date(2026, 11, 30)) == []
    assert bans.reviews_due([barred, warned], date(2026, 12, 1)) == [barred]
    assert bans.reviews_due([barred], date(2026, 12, 5)) == [barred]


def test_lifting_a_bar_needs_an_agreement_signed_already() -> None:
    """Not a date to come, not before the bar; an unbarred member has nothing to lift."""
    today = date(2026, 12, 1)
    barred = bar_member(member(), date(2026, 11, 1), "Abuse", date(2026, 12, 1))
    lifted = bans.lift_bar(barred, today, date(2026, 11, 30))
    assert lifted.restriction is Restriction.NONE
    assert lifted.review_date is None
    for agreement, code in (
        (date(2026, 12, 2), "ban_agreement_in_future"),
        (date(2026, 10, 31), "ban_agreement_before_bar"),
    ):
        with pytest.raises(IncidentError) as err:
            bans.lift_bar(barred, today, agreement)
        assert err.value.code == code
    with pytest.raises(IncidentError) as err:
        bans.lift_bar(member(), today, today)
    assert err.value.code == "ban_not_barred"


def test_keeping_a_bar_moves_its_review_on() -> None:
    """A later review date, after today; the bar's date stays the day it was given."""
    barred = bar_member(member(), date(2026, 11, 1), "Abuse", date(2026, 12, 1))
    kept = bans.keep_bar(barred, date(2026, 12, 1), date(2027, 3, 1))
    assert kept.review_date == date(2027, 3, 1)
    assert kept.restriction_date == date(2026, 11, 1)
    with pytest.raises(IncidentError) as err:
        bans.keep_bar(barred, date(2026, 12, 1), date(2026, 12, 1))
    assert err.value.code == "ban_review_not_after_today"


def test_a_member_is_named_by_a_peppered_digest_and_a_masked_card() -> None:
    """Never the card number itself; the same card always gives the same link."""
    link = bans.member_link(" 21234000000001 ", PEPPER)
    assert link == bans.member_link("21234000000001", PEPPER)
    assert "21234000000001" not in link.key
    assert link.card == "••••0001"
    assert bans.member_link("21234000000001", b"q" * 32).key != link.key


# -- lockdown ------------------------------------------------------------------------------------


def test_a_lockdown_refuses_every_card_but_a_staff_card() -> None:
    """Staff come in to help; nobody else does; without a lockdown nothing is refused."""
    assert refuses_entry(True, staff_card=False)
    assert not refuses_entry(True, staff_card=True)
    assert not refuses_entry(False, staff_card=False)


# -- staff alerts --------------------------------------------------------------------------------


def alert(critical: bool = True) -> alerts.Alert:
    """Return a panic alert."""
    return alerts.Alert(
        id="a1b2c3d4e5f60718",
        branch="branch_oadby",
        branch_name="Oadby Library",
        incident="inc1",
        title="Panic alarm at Oadby Library",
        message="Panic button counter, 20:00, smart hours, 3 inside",
        critical=critical,
        sent_at=NOW,
        alarm_kind="panic",
    )


def test_a_critical_alert_sounds_through_silent_mode_on_both_platforms() -> None:
    """On iOS a critical sound at full volume; Android alarm stream, high priority, ttl 0."""
    sent = alerts.payload(alert())
    data = sent["data"]
    assert data["push"] == {"sound": {"name": "default", "critical": 1, "volume": 1.0}}
    assert data["ttl"] == 0
    assert data["priority"] == "high"
    assert data["channel"] == "alarm_stream"
    assert [a["action"] for a in data["actions"]] == [
        "SMART_LIBRARY_ACK_a1b2c3d4e5f60718",
        "SMART_LIBRARY_LOCKDOWN_a1b2c3d4e5f60718",
        "SMART_LIBRARY_ONMYWAY_a1b2c3d4e5f60718",
    ]
    assert [a["title"] for a in data["actions"]] == [
        "Acknowledge",
        "Lock down",
        "I'm on my way",
    ]
    normal = alerts.payload(alert(critical=False))["data"]
    assert "channel" not in normal
    assert "sound" not in normal["push"]


def test_an_action_id_is_read_back_and_anything_else_ignored() -> None:
    """Our three answers parse; other apps' actions and malformed ids do not."""
    for answer in alerts.Answer:
        assert alerts.parse_action(alerts.action_id(answer, "abc123")) == (
            answer,
            "abc123",
        )
    for other in (
        None,
        3,
        "URI",
        "SMART_LIBRARY_",
        "SMART_LIBRARY_NOPE_abc",
        "SMART_LIBRARY_ACK_",
    ):
        assert alerts.parse_action(other) is None


def test_escalation_is_due_once_when_nobody_acknowledged_in_time() -> None:
    """Due after N minutes unacknowledged; not once acknowledged, not twice."""
    sent = alert()
    assert not alerts.escalation_due(sent, NOW + timedelta(minutes=4), 5)
    assert alerts.escalation_due(sent, NOW + timedelta(minutes=5), 5)
    acked = alerts.acknowledged(sent, "Ann", NOW + timedelta(minutes=1))
    assert not alerts.escalation_due(acked, NOW + timedelta(minutes=9), 5)
    assert alerts.acknowledged(acked, "Bob", NOW).acknowledged_by == "Ann"
    escalated = replace(sent, escalated_at=NOW + timedelta(minutes=5))
    assert not alerts.escalation_due(escalated, NOW + timedelta(minutes=9), 5)


# -- stored messages in several languages --------------------------------------------------------


def test_a_message_plays_in_each_chosen_language_in_turn() -> None:
    """English then Welsh then Polish: the same message in each language's bank."""
    lockdown = announcement("lockdown")
    assert recordings(lockdown, ["en", "cy", "pl"]) == [20, 120, 220]
    assert recordings(lockdown, []) == [20]
    assert recordings(lockdown, ["cy", "cy"]) == [120]
    assert recordings(lockdown, ["da", "nb", "sv"]) == [1420, 1520, 1620]
    with pytest.raises(KeyError):
        recordings(lockdown, ["xx"])
    assert max(LANGUAGE_BANKS.values()) + 99 <= 0xFFFF


@pytest.mark.parametrize("ref", ["²", "9" * 5000, "99", "nothing"])
def test_a_message_that_is_not_there_is_a_key_error(ref: str) -> None:
    """A stored message asked for by an odd number or name is "none", never another error."""
    with pytest.raises(KeyError):
        announcement(ref)
