"""Staff alerts that reach a lone worker, with the notify calls captured and the answers fed back.

The on-call phones are companion-app devices chosen once; the alerts go to their own notify
actions. Answers come back as the companion app sends them: `mobile_app_notification_action`
events in the phone user's context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_library.building.events import ReaderThrottled
from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.flow.safety_options import (
    branch_safety_data,
    branch_safety_schema,
    service_safety_options,
    service_safety_schema,
)
from custom_components.smart_library.runtime import lockdown_active
from custom_components.smart_library.safety.common import (
    CONF_ESCALATION_MINUTES,
    CONF_ESCALATION_PHONES,
    CONF_LANGUAGES,
    CONF_ON_CALL,
    CONF_RETENTION_DAYS,
    SafetySettings,
)
from simulator.building import SimulatedBuilding

from .safety_common import (
    actions_of,
    add_phone,
    answer,
    at,
    clock_at,
    incidents,
    notify_calls,
    panic_pressed,
    settle,
    setup_branch,
)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 19:59 in London: smart hours 18:00-21:00."""
    yield from clock_at()


async def test_a_forced_door_is_a_normal_alert_a_panic_a_critical_one(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Only fire and panic sound through silent mode."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    await at(hass, clock, "2026-11-24 20:00:00")
    building.force_door("entrance")
    await asyncio.sleep(0.05)
    await settle(hass)
    (door,) = calls
    assert door.data["title"] == "Door forced — Oadby Library"
    assert "channel" not in door.data["data"]
    assert "sound" not in door.data["data"]["push"]
    await panic_pressed(hass, building)
    panic = calls[-1]
    assert panic.data["data"]["channel"] == "alarm_stream"
    assert panic.data["data"]["push"]["sound"]["critical"] == 1


async def test_nobody_answering_sends_it_on_to_the_escalation_phone_once(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """After the escalation minutes, the second phone gets the alert, saying why; not again."""
    first, second = await add_phone(hass, "first"), await add_phone(hass, "second")
    to_first, to_second = notify_calls(hass, "first"), notify_calls(hass, "second")
    await setup_branch(
        hass, mock_config_entry, on_call=[first], escalation=[second], minutes=3
    )
    await at(hass, clock, "2026-11-24 20:00:00")
    await panic_pressed(hass, building)
    assert len(to_first) == 1
    await at(hass, clock, "2026-11-24 20:02:50")
    assert to_second == []
    await at(hass, clock, "2026-11-24 20:03:05")
    (escalated,) = to_second
    assert "Nobody acknowledged within 3 minutes" in escalated.data["message"]
    assert escalated.data["data"]["channel"] == "alarm_stream"
    await at(hass, clock, "2026-11-24 20:10:00")
    assert len(to_second) == 1
    (panic,) = await incidents(hass)
    assert any(
        e.text.startswith("Escalated, nobody acknowledged within 3 minutes: second")
        for e in panic.log
    )


async def test_on_my_way_stops_the_escalation_and_tells_the_other_phones(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Recorded on the incident in the phone user's name; the other phone is told."""
    bea = await hass.auth.async_create_user("Bea", group_ids=["system-users"])
    mine, other = await add_phone(hass, "bea", bea), await add_phone(hass, "cal")
    backup = await add_phone(hass, "backup")
    to_bea, to_cal = notify_calls(hass, "bea"), notify_calls(hass, "cal")
    to_backup = notify_calls(hass, "backup")
    await setup_branch(
        hass, mock_config_entry, on_call=[mine, other], escalation=[backup], minutes=2
    )
    await panic_pressed(hass, building)
    answer(hass, actions_of(to_bea[0])["I'm on my way"], bea)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [c.data["message"] for c in to_cal][1].startswith("Bea is on the way")
    await at(hass, clock, "2026-11-24 20:10:00")
    assert to_backup == []
    (panic,) = await incidents(hass)
    assert ("On the way", "Bea") in [(e.text, e.by) for e in panic.log]
    # On the way is not "seen the alarm": the latched alarm waits for a person there.
    coordinator = mock_config_entry.runtime_data.branches["branch_oadby"].coordinator
    assert [a.kind.value for a in coordinator.unacknowledged_alarms] == ["panic"]


async def test_lock_down_from_the_phone_in_its_users_name_and_rights(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_read_only_user: MockUser,
) -> None:
    """A staff phone locks the branch down; a read-only user's phone cannot."""
    dee = await hass.auth.async_create_user("Dee", group_ids=["system-users"])
    staff, viewer = (
        await add_phone(hass, "dee", dee),
        await add_phone(hass, "viewer", hass_read_only_user),
    )
    to_dee, to_viewer = notify_calls(hass, "dee"), notify_calls(hass, "viewer")
    await setup_branch(hass, mock_config_entry, on_call=[staff, viewer])
    await panic_pressed(hass, building)
    answer(hass, actions_of(to_viewer[0])["Lock down"], hass_read_only_user)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not lockdown_active(hass, "branch_oadby")
    answer(hass, actions_of(to_dee[0])["Lock down"], dee)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert lockdown_active(hass, "branch_oadby")
    panic, lockdown = await incidents(hass)
    assert ("Lockdown asked from a phone: refused", hass_read_only_user.name) in [
        (e.text, e.by) for e in panic.log
    ]
    assert lockdown.recorded_by == "Dee"
    assert [e.text for e in lockdown.log][1] == "Lockdown started from a phone"


async def test_an_answer_for_another_alert_or_app_changes_nothing(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Unknown alert ids and other apps' actions are ignored; the alert still escalates."""
    eve = await hass.auth.async_create_user("Eve", group_ids=["system-users"])
    phone, backup = await add_phone(hass, "eve", eve), await add_phone(hass, "backup")
    to_backup = notify_calls(hass, "backup")
    notify_calls(hass, "eve")
    await setup_branch(
        hass, mock_config_entry, on_call=[phone], escalation=[backup], minutes=2
    )
    await panic_pressed(hass, building)
    for action in ("SMART_LIBRARY_ACK_0000000000000000", "OPEN_GARAGE", "URI"):
        answer(hass, action, eve)
    await hass.async_block_till_done(wait_background_tasks=True)
    await at(hass, clock, "2026-11-24 20:05:00")
    assert len(to_backup) == 1


async def test_alarms_acknowledged_at_the_branch_settle_the_alerts(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Staff there pressed Acknowledge: no escalation, the phones are told who."""
    phone, backup = await add_phone(hass, "duty"), await add_phone(hass, "backup")
    to_duty, to_backup = notify_calls(hass, "duty"), notify_calls(hass, "backup")
    branch = await setup_branch(
        hass, mock_config_entry, on_call=[phone], escalation=[backup], minutes=2
    )
    await panic_pressed(hass, building)
    fay = await hass.auth.async_create_user("Fay", group_ids=["system-users"])
    await hass.services.async_call(
        DOMAIN,
        "acknowledge_alarm",
        {"branch": branch},
        blocking=True,
        context=Context(user_id=fay.id),
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert to_duty[-1].data["message"] == "Acknowledged by Fay"
    await at(hass, clock, "2026-11-24 20:10:00")
    assert to_backup == []


async def test_with_no_on_call_phone_the_incident_says_nobody_was_alerted(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_admin_user: MockUser,
) -> None:
    """A repair issue asks for the phones; choosing them (admin only) clears it."""
    await setup_branch(hass, mock_config_entry)
    await panic_pressed(hass, building)
    (panic,) = await incidents(hass)
    assert "No on-call phone is set: nobody was alerted" in [e.text for e in panic.log]
    issue_id = f"no_on_call_phones_{mock_config_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    phone = await add_phone(hass, "duty")
    staff = await hass.auth.async_create_user("Gil", group_ids=["system-users"])
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "set_on_call",
            {"phones": [phone]},
            blocking=True,
            context=Context(user_id=staff.id),
        )
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), mock_config_entry.entry_id
    )
    assert device is not None
    admin = Context(user_id=hass_admin_user.id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_on_call",
            {"phones": [device.id]},
            blocking=True,
            context=admin,
        )
    assert err.value.translation_key == "on_call_not_a_phone"
    assert (
        CONF_ON_CALL not in mock_config_entry.options
        or not mock_config_entry.options[CONF_ON_CALL]
    )
    await hass.services.async_call(
        DOMAIN,
        "set_on_call",
        {"phones": [phone], "escalation_phones": [], "escalation_minutes": 7},
        blocking=True,
        context=admin,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.options[CONF_ON_CALL] == [phone]
    assert mock_config_entry.options[CONF_ESCALATION_PHONES] == []
    assert mock_config_entry.options[CONF_ESCALATION_MINUTES] == 7
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_door_reader_stopped_after_a_burst_of_refusals_calls_staff(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Someone hammering a reader: an incident at its doors and a normal alert."""
    phone = await add_phone(hass, "duty")
    calls = notify_calls(hass, "duty")
    await setup_branch(hass, mock_config_entry, on_call=[phone])
    mock_config_entry.runtime_data.events.publish(
        ReaderThrottled(
            branch_id="branch_oadby",
            branch="Oadby Library",
            reader="Porch reader",
            doors=("entrance",),
            refusals=12,
            minutes=5,
        )
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    (incident,) = await incidents(hass)
    assert incident.location == "entrance"
    assert incident.description == (
        "Door reader Porch reader stopped for 5 minutes after 12 refusals"
    )
    (alert,) = calls
    assert "channel" not in alert.data["data"]


def test_the_safety_forms_give_back_what_the_runtime_reads() -> None:
    """The options flow's safety step and the branch's: defaults, validation, stored keys."""
    form = service_safety_schema({})
    filled = form({CONF_ON_CALL: ["phone1"], CONF_ESCALATION_MINUTES: 10.0})
    settings = SafetySettings.from_options(service_safety_options(filled))
    assert settings.on_call == ("phone1",)
    assert settings.escalation_minutes == 10
    assert settings.retention_days == 365
    assert settings.languages == ("en",)
    with pytest.raises(vol.Invalid):
        form({CONF_LANGUAGES: ["xx"]})
    with pytest.raises(vol.Invalid):
        form({CONF_RETENTION_DAYS: 5})
    kept = service_safety_schema(service_safety_options(filled))({})
    assert kept[CONF_ON_CALL] == ["phone1"]

    branch_form = branch_safety_schema()
    data = branch_safety_data(
        branch_form({"cameras": ["camera.entrance"], "tts_engine": "tts.piper"})
    )
    assert data == {
        "cameras": ["camera.entrance"],
        "speakers": [],
        "tts_engine": "tts.piper",
    }
    with pytest.raises(vol.Invalid):
        branch_form({"cameras": ["light.zone_1"]})


async def test_from_set_up_a_warning_and_a_repair_that_chooses_the_phones(  # noqa: PLR0917
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Nobody would be alerted: said at set-up, before any alarm, until an admin fixes it.

    The service's "Staff alerts" sensor is on and the repair issue is up as soon as the service
    is set up. Its fix flow (administrators only) lists the companion-app phones; choosing none
    is refused on the field; choosing one stores it without a reload, and both go. Removing that
    phone's device later brings them back.
    """
    phone = await add_phone(hass, "duty")
    await setup_branch(hass, mock_config_entry)
    issue_id = f"no_on_call_phones_{mock_config_entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None and issue.is_fixable
    assert await incidents(hass) == []  # no alarm was needed to raise it
    sensor = "binary_sensor.shire_libraries_staff_alerts"
    assert hass.states.get(sensor).state == "on"
    assert hass.states.get(sensor).attributes["on_call_phones"] == 0

    assert await async_setup_component(hass, "repairs", {})
    fix = {"handler": DOMAIN, "issue_id": issue_id}
    staff = await hass.auth.async_create_user("Sam", group_ids=["system-users"])
    refresh = await hass.auth.async_create_refresh_token(staff, CLIENT_ID)
    for token in (
        hass_read_only_access_token,
        hass.auth.async_create_access_token(refresh),
    ):
        response = await (await hass_client(token)).post(
            "/api/repairs/issues/fix", json=fix
        )
        assert response.status == HTTPStatus.UNAUTHORIZED  # administrators only

    client = await hass_client()
    flow = await (await client.post("/api/repairs/issues/fix", json=fix)).json()
    assert flow["step_id"] == "phones"
    assert flow["description_placeholders"] == {
        "service": "Shire Libraries",
        "phones": "1",
    }
    url = f"/api/repairs/issues/fix/{flow['flow_id']}"
    flow = await (await client.post(url, json={"on_call_phones": []})).json()
    assert flow["errors"] == {"on_call_phones": "on_call_none"}
    runtime = mock_config_entry.runtime_data
    flow = await (await client.post(url, json={"on_call_phones": [phone]})).json()
    assert flow["type"] == "create_entry"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.options[CONF_ON_CALL] == [phone]
    assert mock_config_entry.runtime_data is runtime  # taken without a reload
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get(sensor).state == "off"
    assert hass.states.get(sensor).attributes["on_call_phones"] == 1

    dr.async_get(hass).async_remove_device(phone)
    await hass.async_block_till_done()
    assert hass.states.get(sensor).state == "on"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
