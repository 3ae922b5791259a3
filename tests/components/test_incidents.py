"""Incidents against the simulated building: alarms record themselves, staff review them.

The issue's walk first: a panic press at 20:00 in smart hours reaches the on-call phone as a
critical, actionable alert; acknowledged from the phone; a lockdown asked by voice; ended by an
administrator; both incidents recorded with their times and exported; a bar's review date
arriving raises its reminder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import csv
import io
import json
from pathlib import Path
import re
import stat
from typing import Any
from unittest.mock import patch

from homeassistant.components.camera import Image
from homeassistant.components.todo import TodoItemStatus
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import entity_registry as er, intent, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
import yaml

from custom_components.smart_library.building.events import TailgatingDetected
from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.safety.incidents import (
    Category,
    Source,
    Status,
)
from custom_components.smart_library.runtime import lockdown_active
from custom_components.smart_library.safety.common import (
    CONF_CAMERAS,
    CONF_RETENTION_DAYS,
)
from custom_components.smart_library.safety.runtime import async_remove_safety_data
from custom_components.smart_library.services.safety import SAFETY_ACTIONS, SCHEMAS
from simulator.building import SimulatedBuilding

from .safety_common import (
    TODO,
    actions_of,
    add_phone,
    answer,
    at,
    clock_at,
    incidents,
    notify_calls,
    runtime,
    settle,
    setup_branch,
)

ADULT = "21234000000001"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 19:59 in London: smart hours 18:00-21:00."""
    yield from clock_at()


async def test_the_walk_panic_acknowledge_lockdown_end_export_and_a_bar_review(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """The issue's "Done when", end to end against the simulator."""
    building.timing.message_seconds = 0.2
    ann = await hass.auth.async_create_user("Ann", group_ids=["system-users"])
    phone = await add_phone(hass, "ann_phone", ann)
    backup = await add_phone(hass, "backup_phone")
    to_ann = notify_calls(hass, "ann_phone")
    to_backup = notify_calls(hass, "backup_phone")
    branch = await setup_branch(
        hass, mock_config_entry, on_call=[phone], escalation=[backup], minutes=5
    )
    assert await async_setup_component(hass, "intent", {})

    # 20:00, smart hours, nobody on staff: the panic button.
    await at(hass, clock, "2026-11-24 20:00:00")
    building.press_panic("counter")
    await asyncio.sleep(0.1)
    await settle(hass)
    building.press_panic("counter", on=False)

    (panic,) = await incidents(hass)
    assert (panic.category, panic.source, panic.is_open) == (
        Category.PANIC,
        Source.ALARM,
        True,
    )
    assert panic.occurred_at.strftime("%H:%M") == "20:00"
    (alert,) = to_ann
    data = alert.data["data"]
    assert data["push"]["sound"] == {"name": "default", "critical": 1, "volume": 1.0}
    assert (data["channel"], data["priority"], data["ttl"]) == (
        "alarm_stream",
        "high",
        0,
    )
    assert "Panic alarm" in alert.data["title"]
    assert "smart hours" in alert.data["message"]
    buttons = actions_of(alert)
    assert set(buttons) == {"Acknowledge", "Lock down", "I'm on my way"}

    # 20:01: acknowledged from Ann's phone: the latched alarm is acknowledged in her name.
    acknowledged = async_capture_events(hass, "smart_library_alarms_acknowledged")
    await at(hass, clock, "2026-11-24 20:01:00")
    answer(hass, buttons["Acknowledge"], ann)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [e.data["by"] for e in acknowledged] == ["Ann"]
    coordinator = mock_config_entry.runtime_data.branches["branch_oadby"].coordinator
    assert coordinator.unacknowledged_alarms == []

    # Nobody is escalated to: the alert was answered within five minutes.
    await at(hass, clock, "2026-11-24 20:06:00")
    assert to_backup == []

    # 20:02 (on Ann's clock): a lockdown asked by voice, in Ann's name.
    response = await intent.async_handle(
        hass,
        "test",
        "SmartLibraryLockdown",
        {"branch": {"value": "Oadby"}},
        context=Context(user_id=ann.id),
    )
    assert "locked down" in response.speech["plain"]["speech"]
    await hass.async_block_till_done(wait_background_tasks=True)
    assert lockdown_active(hass, "branch_oadby")
    assert building.get("pa.message") == 20  # the lockdown message

    # Only an administrator ends it.
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "end_lockdown",
            {"branch": branch},
            blocking=True,
            context=Context(user_id=ann.id),
        )
    assert lockdown_active(hass, "branch_oadby")
    await at(hass, clock, "2026-11-24 20:30:00")
    await hass.services.async_call(
        DOMAIN,
        "end_lockdown",
        {"branch": branch},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not lockdown_active(hass, "branch_oadby")

    panic, lockdown = await incidents(hass)
    assert [(e.at.strftime("%H:%M"), e.text, e.by) for e in panic.log][:3] == [
        ("20:00", "Recorded", "Smart Library"),
        ("20:00", "Staff alerted (critical): ann_phone", "Smart Library"),
        ("20:01", "Acknowledged from a phone", "Ann"),
    ]
    assert lockdown.category is Category.LOCKDOWN
    assert lockdown.recorded_by == "Ann"
    assert lockdown.source is Source.VOICE
    texts = [(e.text, e.by) for e in lockdown.log]
    assert ("Lockdown started by voice", "Ann") in texts
    assert ("Lockdown ended", hass_admin_user.name) in texts
    assert [
        e.at.strftime("%H:%M") for e in lockdown.log if e.text == "Lockdown ended"
    ] == ["20:30"]

    # Exported: both, with their times, nothing a spreadsheet would run.
    export = await hass.services.async_call(
        DOMAIN,
        "export_incidents",
        {},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    rows = list(csv.DictReader(io.StringIO(export["csv"])))
    assert export["incidents"] == 2
    assert [(r["category"], r["occurred_at"]) for r in rows] == [
        ("panic", "2026-11-24T20:00:00+00:00"),
        ("lockdown", rows[1]["occurred_at"]),
    ]
    assert "Acknowledged from a phone (Ann)" in rows[0]["timeline"]
    assert "Lockdown ended" in rows[1]["timeline"]

    # A bar's review date arriving raises its reminder.
    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": ADULT,
            "birth_date": "1980-01-01",
            "card_expiry": "2030-01-01",
            "induction_date": "2026-01-01",
        },
        blocking=True,
        context=admin,
    )
    await hass.services.async_call(
        DOMAIN,
        "bar_member",
        {"card": ADULT, "reason": "Threatened staff", "review_date": "2026-11-26"},
        blocking=True,
        context=admin,
    )
    registry = ir.async_get(hass)
    await at(hass, clock, "2026-11-25 03:10:00")
    assert not [i for (d, i) in registry.issues if d == DOMAIN and "ban_review" in i]
    await at(hass, clock, "2026-11-26 03:10:00")
    (issue,) = [
        v for (d, i), v in registry.issues.items() if d == DOMAIN and "ban_review" in i
    ]
    assert issue.translation_placeholders["card"] == "••••0001"
    assert issue.translation_placeholders["review_date"] == "26 November 2026"


# -- recording and completing -------------------------------------------------------------------


async def test_recording_and_completing_are_for_administrators_and_the_card_is_masked(
    hass: HomeAssistant,
    *,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    """Staff and read-only users are refused; the member is kept as a masked card only."""
    branch = await setup_branch(hass, mock_config_entry)
    calls = async_capture_events(hass, "call_service")
    staff = await hass.auth.async_create_user("Kim", group_ids=["system-users"])
    data = {
        "branch": branch,
        "category": "antisocial_behaviour",
        "description": "Shouting at a member in the study area",
        "location": "study area",
        "card": ADULT,
    }
    for user in (staff, hass_read_only_user):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                "record_incident",
                dict(data),
                blocking=True,
                context=Context(user_id=user.id),
            )
    assert await incidents(hass) == []
    admin = Context(user_id=hass_admin_user.id)
    answer = await hass.services.async_call(
        DOMAIN,
        "record_incident",
        dict(data),
        blocking=True,
        return_response=True,
        context=admin,
    )
    (incident,) = await incidents(hass)
    assert incident.id == answer["incident"]
    assert incident.category is Category.ANTISOCIAL
    assert incident.recorded_by == hass_admin_user.name
    assert incident.member is not None
    assert incident.member.card == "••••0001"
    assert ADULT not in repr(incident)
    assert all(ADULT not in str(e.data) for e in calls)
    db = Path(hass.config.path(DOMAIN, f"{mock_config_entry.entry_id}.incidents.db"))
    assert ADULT.encode() not in db.read_bytes()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600

    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "complete_incident",
            {"incident": incident.id},
            blocking=True,
            context=Context(user_id=staff.id),
        )
    await hass.services.async_call(
        DOMAIN,
        "complete_incident",
        {"incident": incident.id, "actions_taken": "Asked to leave; left calmly"},
        blocking=True,
        context=admin,
    )
    (done,) = await incidents(hass)
    assert done.status is Status.COMPLETE
    assert done.actions_taken == "Asked to leave; left calmly"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "complete_incident",
            {"incident": incident.id},
            blocking=True,
            context=admin,
        )
    assert err.value.translation_key == "incident_already_complete"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"category": "fight"}, "incident_unknown_category"),
        ({"description": "x" * 4001}, "incident_text_too_long"),
        ({"occurred_at": "2026-11-25T20:00:00"}, "incident_in_future"),
        ({"card": "12"}, "invalid_card"),
    ],
)
async def test_an_incident_that_cannot_be_kept_is_refused_and_nothing_stored(
    hass: HomeAssistant,
    *,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    changes: dict[str, str],
    key: str,
) -> None:
    """A translated error, no traceback, nothing recorded."""
    branch = await setup_branch(hass, mock_config_entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "record_incident",
            {"branch": branch, "category": "damage"} | changes,
            blocking=True,
        )
    assert err.value.translation_key == key
    assert await incidents(hass) == []


# -- the duty manager's to-do list ----------------------------------------------------------------


async def test_the_duty_manager_reviews_incidents_on_the_to_do_list(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """Alarms appear; staff add one, write what was done and tick it; read-only cannot."""
    await setup_branch(hass, mock_config_entry)
    await at(hass, clock, "2026-11-24 20:00:00")
    building.force_door("entrance")
    await asyncio.sleep(0.05)
    await settle(hass)
    state = hass.states.get(TODO)
    assert state is not None
    assert state.state == "1"
    assert state.attributes["last_30_days"]["forced_door"] == 1

    lee = await hass.auth.async_create_user("Lee", group_ids=["system-users"])
    as_lee = Context(user_id=lee.id)
    await hass.services.async_call(
        "todo",
        "add_item",
        {"item": "Damage: window cracked in the children's library"},
        target={"entity_id": TODO},
        blocking=True,
        context=as_lee,
    )
    door, window = await incidents(hass)
    assert (window.category, window.recorded_by) == (Category.DAMAGE, "Lee")
    assert window.description == "window cracked in the children's library"

    items = await hass.services.async_call(
        "todo",
        "get_items",
        {},
        target={"entity_id": TODO},
        blocking=True,
        return_response=True,
    )
    listed = {i["uid"]: i for i in items[TODO]["items"]}
    assert set(listed) == {door.id, window.id}
    shown = listed[door.id]["description"]
    assert (
        shown == f"Incident {door.id} (open)"
    )  # the text is for staff, not in the item
    assert "Door opened without a release" not in shown

    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "todo",
            "update_item",
            {"item": door.id, "status": "completed"},
            target={"entity_id": TODO},
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    await hass.services.async_call(
        "todo",
        "update_item",
        {
            "item": door.id,
            "status": TodoItemStatus.COMPLETED,
            "description": shown + "\nChecked CCTV: wind blew it open; latch repaired",
        },
        target={"entity_id": TODO},
        blocking=True,
        context=as_lee,
    )
    door = await runtime(hass).log.async_get(door.id)
    assert (door.status, door.completed_by) == (Status.COMPLETE, "Lee")
    assert door.actions_taken == "Checked CCTV: wind blew it open; latch repaired"
    assert hass.states.get(TODO).state == "1"
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "todo",
            "update_item",
            {"item": door.id, "status": TodoItemStatus.NEEDS_ACTION},
            target={"entity_id": TODO},
            blocking=True,
            context=as_lee,
        )


# -- what the building reports ------------------------------------------------------------------


async def test_a_help_button_alerts_staff_opens_an_incident_and_says_help_is_coming(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The help point's input on: a normal alert, an incident, "help is on the way" played."""
    assert building.point_map.ids("help"), "the reference map declares a help button"
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    help_events = async_capture_events(hass, "smart_library_help")
    building.press_help()
    await settle(hass)
    await settle(hass)
    assert [e.data["branch_id"] for e in help_events] == ["branch_oadby"]
    (incident,) = await incidents(hass)
    assert incident.category is Category.HELP_POINT
    assert incident.location == "help point entrance"
    (alert,) = calls
    assert alert.data["title"] == "Help point — Oadby Library"
    assert "channel" not in alert.data["data"]
    assert building.get("pa.message") == 22
    # Held on, it is one press; pressed again soon after, the same incident.
    await settle(hass)
    building.press_help(on=False)
    await settle(hass)
    building.press_help()
    await settle(hass)
    (incident,) = await incidents(hass)
    assert [e.text for e in incident.log][
        -1
    ] == "A member pressed the help button again"
    assert len(calls) == 1


async def test_tailgating_is_recorded_for_review_and_calls_nobody(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """An incident at the door; no phone rings."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    events = mock_config_entry.runtime_data.events
    events.publish(
        TailgatingDetected(
            branch_id="branch_oadby",
            branch="Oadby Library",
            door="entrance",
            admitted=1,
            came_in=3,
        )
    )
    # Another service's branch of the same name: not this service's incident.
    events.publish(
        TailgatingDetected(
            branch_id="branch_elsewhere",
            branch="Oadby Library",
            door="entrance",
            admitted=1,
            came_in=2,
        )
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    (incident,) = await incidents(hass)
    assert (incident.category, incident.location, incident.description) == (
        Category.TAILGATING,
        "entrance door",
        "3 came in on a release for 1",
    )
    assert calls == []


async def test_an_alarms_incident_keeps_a_private_snapshot_deleted_by_retention(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """One still per camera, 0600 in 0700 folders; gone with the incident after retention."""
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_CAMERAS: ["camera.entrance"]},
    )
    await setup_branch(hass, mock_config_entry, **{CONF_RETENTION_DAYS: 30})
    picture = Image("image/jpeg", b"\xff\xd8 a still of the entrance")
    with patch(
        "homeassistant.components.camera.async_get_image", return_value=picture
    ) as get_image:
        building.force_door("entrance")
        await asyncio.sleep(0.05)
        await settle(hass)
    assert get_image.call_args.args[1] == "camera.entrance"
    (incident,) = await incidents(hass)
    assert incident.files == ("1_camera_entrance.jpg",)
    folder = runtime(hass).log.folder(incident.id)
    shot = folder / "1_camera_entrance.jpg"
    assert shot.read_bytes() == picture.content
    assert stat.S_IMODE(shot.stat().st_mode) == 0o600
    for path in (folder, folder.parent, folder.parent.parent):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700

    await hass.services.async_call(
        DOMAIN,
        "complete_incident",
        {"incident": incident.id},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    await at(hass, clock, "2026-12-23 03:10:00")  # 29 days on: kept
    assert shot.exists()
    await at(hass, clock, "2026-12-25 03:10:00")  # 31 days on: gone, picture too
    assert await incidents(hass) == []
    assert not folder.exists()


async def test_retention_keeps_open_incidents_and_a_barred_members(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """Past the period: the completed one goes; an open one and a still-barred member's stay."""
    branch = await setup_branch(hass, mock_config_entry, **{CONF_RETENTION_DAYS: 30})
    admin = Context(user_id=hass_admin_user.id)

    async def record(**data: Any) -> str:
        answer = await hass.services.async_call(
            DOMAIN,
            "record_incident",
            {"branch": branch, "category": "antisocial_behaviour"} | data,
            blocking=True,
            return_response=True,
            context=admin,
        )
        return str(answer["incident"])

    await _enroll_and_bar(hass, admin, review="2027-06-01")
    open_one = await record()
    done = await record()
    barred = await record(card=ADULT)
    for incident in (done, barred):
        await hass.services.async_call(
            DOMAIN,
            "complete_incident",
            {"incident": incident},
            blocking=True,
            context=admin,
        )
    await at(hass, clock, "2026-12-27 03:10:00")
    assert {i.id for i in await incidents(hass)} == {open_one, barred}


async def _enroll_and_bar(hass: HomeAssistant, admin: Context, review: str) -> None:
    await hass.services.async_call(
        DOMAIN,
        "enroll_member",
        {
            "card": ADULT,
            "birth_date": "1980-01-01",
            "card_expiry": "2030-01-01",
            "induction_date": "2026-01-01",
        },
        blocking=True,
        context=admin,
    )
    await hass.services.async_call(
        DOMAIN,
        "bar_member",
        {"card": ADULT, "reason": "Threatened staff", "review_date": review},
        blocking=True,
        context=admin,
    )


# -- bars under review --------------------------------------------------------------------------


async def test_a_bar_is_lifted_on_an_agreement_or_kept_and_its_history_stays(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """Kept to a later review (the reminder goes), then lifted on the agreement's date."""
    branch = await setup_branch(hass, mock_config_entry)
    admin = Context(user_id=hass_admin_user.id)
    await _enroll_and_bar(hass, admin, review="2026-11-26")
    await hass.services.async_call(
        DOMAIN,
        "record_incident",
        {"branch": branch, "category": "antisocial_behaviour", "card": ADULT},
        blocking=True,
        context=admin,
    )
    registry = ir.async_get(hass)

    def reminders() -> list[str]:
        return [i for (d, i) in registry.issues if d == DOMAIN and "ban_review" in i]

    await at(hass, clock, "2026-11-26 03:10:00")
    assert len(reminders()) == 1
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "lift_ban",
            {"card": ADULT, "agreement_date": "2026-11-27"},
            blocking=True,
            context=admin,
        )
    assert err.value.translation_key == "ban_agreement_in_future"
    await hass.services.async_call(
        DOMAIN,
        "keep_ban",
        {"card": ADULT, "review_date": "2027-01-10"},
        blocking=True,
        context=admin,
    )
    assert reminders() == []
    await hass.services.async_call(
        DOMAIN,
        "lift_ban",
        {"card": ADULT, "agreement_date": "2026-11-26"},
        blocking=True,
        context=admin,
    )
    history = await hass.services.async_call(
        DOMAIN,
        "member_history",
        {"card": ADULT},
        blocking=True,
        return_response=True,
        context=admin,
    )
    assert history["card"] == "••••0001"
    assert history["restriction"] == "none"
    assert [
        (e["event"], e["review_date"], e["agreement_date"])
        for e in history["bar_history"]
    ] == [
        ("barred", "2026-11-26", None),
        ("kept", "2027-01-10", None),
        ("lifted", None, "2026-11-26"),
    ]
    assert len(history["incidents"]) == 1
    assert ADULT not in str(history)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "lift_ban",
            {"card": ADULT, "agreement_date": "2026-11-26"},
            blocking=True,
            context=admin,
        )
    assert err.value.translation_key == "ban_not_barred"


# -- every action described, every error translated ----------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "custom_components" / "smart_library"
OWN_MODULES = (
    "safety/runtime.py",
    "safety/common.py",
    "safety/incidents.py",
    "safety/alerts.py",
    "safety/pa.py",
    "safety/lockdown.py",
    "safety/bans.py",
    "services/safety.py",
    "todo.py",
    "engine/safety/incidents.py",
    "engine/safety/incident_store.py",
    "engine/members/bans.py",
)


def test_every_safety_action_is_described_and_every_error_translated() -> None:
    """services.yaml, en.json and icons.json know each action; each error code has a text."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    strings = json.loads((PACKAGE / "translations" / "en.json").read_text())
    icons = json.loads((PACKAGE / "icons.json").read_text())
    for action in SAFETY_ACTIONS:
        fields = set(services[action.name]["fields"])
        assert fields == {str(k) for k in SCHEMAS[action.name].schema}, action.name
        text = strings["services"][action.name]
        assert text["name"] and text["description"], action.name
        assert set(text["fields"]) == fields, action.name
        assert action.name in icons["services"], action.name
    codes: set[str] = set()
    for module in OWN_MODULES:
        source = (PACKAGE / module).read_text()
        codes |= set(re.findall(r'(?:IncidentError|_error)\(\s*"(\w+)"', source))
        codes |= set(re.findall(r'translation_key="(\w+)"', source))
    missing = {
        c
        for c in codes
        if c not in strings["exceptions"] and c not in strings["issues"]
    }
    assert not missing
    assert {"ban_review", "no_on_call_phones"} <= set(strings["issues"])


async def test_the_incident_counts_as_sensors(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """One count per category over 30 days and the open ones, on the branch's device."""
    branch = await setup_branch(hass, mock_config_entry)
    for category in ("damage", "damage", "injury"):
        await hass.services.async_call(
            DOMAIN,
            "record_incident",
            {"branch": branch, "category": category},
            blocking=True,
            context=Context(user_id=hass_admin_user.id),
        )
    await hass.async_block_till_done(wait_background_tasks=True)
    registry = er.async_get(hass)
    found = {
        e.unique_id.removeprefix("branch_oadby_"): e
        for e in er.async_entries_for_device(
            registry, branch, include_disabled_entities=True
        )
        if e.domain == "sensor" and e.unique_id.startswith("branch_oadby_incidents_")
    }
    assert len(found) == len(Category) + 1

    def value(key: str) -> str:
        state = hass.states.get(found[key].entity_id)
        assert state is not None, key
        return state.state

    assert value("incidents_damage") == "2"
    assert value("incidents_injury") == "1"
    assert value("incidents_fire") == "0"
    assert value("incidents_open") == "3"
    assert found["incidents_damage"].entity_id == (
        "sensor.oadby_library_damage_incidents_30_days"
    )
    # Rare ones are there but off until a manager wants them.
    assert (
        found["incidents_lockdown"].disabled_by is er.RegistryEntryDisabler.INTEGRATION
    )


async def test_a_removed_service_leaves_no_incident_picture_or_reminder(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """The incident store, its snapshots and the service's repair issues all go."""
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_CAMERAS: ["camera.entrance"]},
    )
    await setup_branch(hass, mock_config_entry)
    with patch(
        "homeassistant.components.camera.async_get_image",
        return_value=Image("image/jpeg", b"still"),
    ):
        building.force_door("entrance")
        await asyncio.sleep(0.05)
        await settle(hass)
    (incident,) = await incidents(hass)
    folder = runtime(hass).log.folder(incident.id)
    assert folder.exists()
    issue = f"no_on_call_phones_{mock_config_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is not None
    db = Path(hass.config.path(DOMAIN, f"{mock_config_entry.entry_id}.incidents.db"))
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await async_remove_safety_data(hass, mock_config_entry.entry_id)
    assert not db.exists()
    assert not folder.exists()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is None
