"""Opening-hours actions and the mode override, through Home Assistant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import freezegun
from homeassistant.components.select import (
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import (
    Context,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.smart_library.const import CONF_SCHEDULE, DOMAIN
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from simulator.building import SimulatedBuilding

BLUEPRINTS = (
    Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "smart_library"
)
MODE = "sensor.oadby_library_mode"
CLOSES = "sensor.oadby_library_closes_at"
OVERRIDE = "select.oadby_library_mode_override"
EVENINGS = Schedule(week=((Period(time(18), time(21), Mode.SMART),),) * 7)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Home Assistant's clock: Tuesday 24 November 2026, 17:00 in London."""
    with freezegun.freeze_time("2026-11-24 17:00:00+00:00", tick=True) as frozen:
        yield frozen


@pytest.fixture
async def branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> str:
    """Set up a branch open 18:00-21:00 every evening; return its device id."""
    await hass.config.async_update(time_zone="Europe/London")
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_SCHEDULE: EVENINGS.to_dict()},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), mock_config_entry.entry_id
    )
    assert device is not None
    return device.id


async def _call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=service == "add_event"
    )


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_event_extend_close_early(
    hass: HomeAssistant, clock: Any, branch: str
) -> None:
    """An evening talk keeps the branch open; extending and closing early move the close."""
    assert _state(hass, CLOSES) == "unknown"  # closed at 17:00
    response = await _call(
        hass,
        "add_event",
        branch=branch,
        title="Author talk",
        start="2026-11-24 21:00:00",
        end="2026-11-24 22:30:00",
    )
    clock.move_to("2026-11-24 19:00:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert _state(hass, MODE) == Mode.SMART
    assert _state(hass, CLOSES) == "2026-11-24T22:30:00+00:00"

    await _call(hass, "remove_event", branch=branch, event_id=response["event_id"])
    assert _state(hass, CLOSES) == "2026-11-24T21:00:00+00:00"
    await _call(hass, "extend_today", branch=branch, until="21:30")
    assert _state(hass, CLOSES) == "2026-11-24T21:30:00+00:00"
    await _call(hass, "close_early", branch=branch, at="20:00")
    assert _state(hass, CLOSES) == "2026-11-24T20:00:00+00:00"
    # The change is an exception for today only; removing it restores the plan.
    await _call(hass, "remove_exception", branch=branch, date="2026-11-24")
    assert _state(hass, CLOSES) == "2026-11-24T21:00:00+00:00"


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("extend_today", {"until": "22:00"}, "schedule_smart_ends_too_late"),
        ("close_early", {"at": "22:00"}, "schedule_not_earlier"),
        ("remove_exception", {"date": "2026-12-25"}, "schedule_no_exception"),
        ("remove_event", {"event_id": "nope"}, "schedule_no_event"),
        (
            "add_event",
            {
                "title": "Backwards",
                "start": "2026-11-24 22:00:00",
                "end": "2026-11-24 21:00:00",
            },
            "schedule_start_after_end",
        ),
        (
            "add_exception",
            {"date": "2026-11-26", "staffed": "nine to five"},
            "schedule_invalid_period",
        ),
    ],
)
async def test_bad_requests_are_refused_and_lose_nothing(
    hass: HomeAssistant, branch: str, service: str, data: dict[str, Any], key: str
) -> None:
    """Each rule break is a translated error; the branch's hours are unchanged."""
    before = _state(hass, "sensor.oadby_library_next_change")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, branch=branch, **data)
    assert err.value.translation_key == key
    assert str(err.value)  # a readable, translated message
    assert _state(hass, "sensor.oadby_library_next_change") == before


async def test_unknown_branch(hass: HomeAssistant, branch: str) -> None:
    """An action aimed at something that is not a branch says so."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "extend_today", branch="not-a-device", until="21:30")
    assert err.value.translation_key == "unknown_branch"


async def test_override_until_the_next_change(
    hass: HomeAssistant, clock: Any, branch: str, building: SimulatedBuilding
) -> None:
    """Forcing staffed opens the branch now (free entry); at the next change it is automatic."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "staffed"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE) == Mode.STAFFED
    assert _state(hass, OVERRIDE) == "staffed"
    assert building.get("door.entrance.hold") is True
    # Staffed by hand until 18:00, then smart hours by the plan: it closes at 21:00.
    assert _state(hass, CLOSES) == "2026-11-24T21:00:00+00:00"

    clock.move_to(
        "2026-11-24 18:00:00+00:00"
    )  # the scheduled change: smart hours begin
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, OVERRIDE) == "automatic"
    assert _state(hass, MODE) == Mode.SMART
    assert building.get("door.entrance.hold") is False

    # It is stored: a restart keeps an override in force.
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "closed"},
        blocking=True,
    )
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _state(hass, MODE) == Mode.CLOSED
    assert _state(hass, CLOSES) == "unknown"


async def _refresh(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_doors_catch_up_with_a_change_missed_while_the_controller_was_away(
    hass: HomeAssistant, clock: Any, branch: str, building: SimulatedBuilding
) -> None:
    """A door change the controller missed is made once it answers again.

    Staffed (entrance held open) until 18:00, the controller away at 18:00: once it is back the
    entrance is no longer held, as smart hours need card + PIN.
    """
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "staffed"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert building.get("door.entrance.hold") is True

    port = building.port
    await building.stop()
    clock.move_to("2026-11-24 18:00:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE) == Mode.SMART
    assert building.get("door.entrance.hold") is True  # nobody could tell it

    await building.start("127.0.0.1", port)
    await _refresh(hass)
    assert _state(hass, "lock.oadby_library_entrance_door") == "locked"
    assert building.get("door.entrance.hold") is False


async def test_people_counted_inside_stay_counted_until_a_person_says_empty(
    hass: HomeAssistant, clock: Any, branch: str, building: SimulatedBuilding
) -> None:
    """Someone counted inside at closing stays counted, through the next opening too.

    Resetting at closing would make them vanish, and the closing routine would think the
    building empty and put the lights out; resetting at opening would hide someone who never
    left. Only a person says the building is empty ("Building empty"), and the logbook says who.
    """
    people = "sensor.oadby_library_people_inside"
    clock.move_to("2026-11-24 19:00:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    await _refresh(hass)
    # Two came in (with cards), one left: the counter's totals say so.
    building.set("counter.in", int(building.get("counter.in")) + 2)
    building.set("counter.out", int(building.get("counter.out")) + 1)
    await _refresh(hass)
    assert _state(hass, people) == "1"

    for moment in ("2026-11-24 21:00:00", "2026-11-24 22:30:00", "2026-11-25 08:00:00"):
        clock.move_to(f"{moment}+00:00")
        async_fire_time_changed(hass, dt_util.utcnow())
        await _refresh(hass)
        assert _state(hass, people) == "1", moment

    clock.move_to("2026-11-25 18:00:00+00:00")  # the next opening
    async_fire_time_changed(hass, dt_util.utcnow())
    await _refresh(hass)
    assert _state(hass, MODE) == Mode.SMART
    assert _state(hass, people) == "1"  # nobody was counted out

    resets = async_capture_events(hass, "smart_library_occupancy_reset")
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: "button.oadby_library_building_empty"},
        blocking=True,
    )
    assert _state(hass, people) == "0"
    assert [e.data for e in resets] == [
        {
            "branch": "Oadby Library",
            "was_inside": 1,
            "why": "building_empty",
            "by": "an automation",
        }
    ]
    await _refresh(hass)
    assert _state(hass, people) == "0"


async def test_smart_cannot_be_forced_after_the_latest_smart_time(
    hass: HomeAssistant, clock: Any, branch: str
) -> None:
    """At 22:00 smart mode is refused with a clear error; an event may be opened by hand.

    The event closes at midnight at the latest, never at the next morning's opening.
    """
    clock.move_to("2026-11-24 22:00:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            SELECT_DOMAIN,
            SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "smart"},
            blocking=True,
        )
    assert err.value.translation_key == "schedule_smart_too_late_now"
    assert "21:30" in str(err.value)
    assert _state(hass, MODE) == Mode.CLOSED

    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "event"},
        blocking=True,
    )
    assert _state(hass, MODE) == Mode.EVENT
    assert _state(hass, CLOSES) == "2026-11-25T00:00:00+00:00"


async def test_a_reload_or_restart_in_smart_hours_never_shows_another_mode(
    hass: HomeAssistant,
    clock: Any,
    branch: str,
    building: SimulatedBuilding,
    tmp_path: Path,
) -> None:
    """Every change of the mode sensor across a reload and a restart: none but "unavailable".

    The mode is known before the sensor is added, so it never passes through "closed" and the
    opening routine (lights, PCs, welcome) does not run again.
    """
    clock.move_to("2026-11-24 19:00:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE) == Mode.SMART
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "opening.yaml").write_text((BLUEPRINTS / "opening.yaml").read_text())
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "smart_library/opening.yaml",
                    "input": {"branch": branch},
                }
            }
        },
    )
    await hass.async_block_till_done()
    seen: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        seen.append(new.state if new else "removed")

    async_track_state_change_event(hass, [MODE], record)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    # Editing the branch (its opening hours form) reloads the entry.
    subentry = entry.subentries["branch_oadby"]
    hass.config_entries.async_update_subentry(
        entry, subentry, data=dict(subentry.data) | {"release_seconds": 4}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    # A restart: unloaded, then set up again.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert seen, "the reloads happened"
    assert set(seen) <= {Mode.SMART, "unavailable"}
    assert _state(hass, MODE) == Mode.SMART
    assert building.get("pc.group_1") is False  # the opening routine did not run
    assert building.get("light.zone_1") is False


async def test_forcing_staffed_keeps_the_people_counted_inside(
    hass: HomeAssistant, clock: Any, branch: str, building: SimulatedBuilding
) -> None:
    """Closed with 18 counted inside, forced to staffed by hand: still 18 (it read 0 before)."""
    people = "sensor.oadby_library_people_inside"
    await _refresh(hass)
    building.set("counter.in", int(building.get("counter.in")) + 18)
    await _refresh(hass)
    assert _state(hass, MODE) == Mode.CLOSED
    assert _state(hass, people) == "18"
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "staffed"},
        blocking=True,
    )
    await _refresh(hass)
    assert _state(hass, MODE) == Mode.STAFFED
    assert _state(hass, people) == "18"


async def test_saving_hours_that_open_the_branch_now_runs_the_opening_without_a_reload(
    hass: HomeAssistant,
    clock: Any,
    branch: str,
    building: SimulatedBuilding,
    tmp_path: Path,
) -> None:
    """The hours form makes the branch open now: the mode moves, the opening routine runs.

    Saved at 17:00 on a closed Tuesday: a plan staffed from 16:00 is taken without a reload, so
    the mode sensor goes closed -> staffed as at a planned change (never through unavailable),
    the entrance is held released for free entry, the *Opening* blueprint's trigger fires
    (lights and PCs on), and the timer follows the new plan (closed at 19:00). Saving it again
    changes nothing; a second form that closes the branch now makes it closed.
    """
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "opening.yaml").write_text((BLUEPRINTS / "opening.yaml").read_text())
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "smart_library/opening.yaml",
                    "input": {"branch": branch},
                }
            }
        },
    )
    await hass.async_block_till_done()
    assert _state(hass, MODE) == Mode.CLOSED
    assert building.get("light.zone_1") is False
    runtime = entry.runtime_data
    seen: list[str] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        seen.append(new.state if new else "removed")

    async_track_state_change_event(hass, [MODE], record)

    async def save_hours(tuesday_staffed: str) -> None:
        result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "hours"}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                "tuesday_staffed": tuesday_staffed,
                "latest_smart_end": "21:30:00",
                "clearance_minutes": 0,
                "staffed_free_entry": ["entrance"],
            },
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)

    await save_hours("16:00-19:00")
    assert building.get("light.zone_1") is True  # the opening routine ran
    assert building.get("pc.group_1") is True
    assert seen == [Mode.STAFFED]
    assert _state(hass, MODE) == Mode.STAFFED
    assert hass.states.get(CLOSES).state == "2026-11-24T19:00:00+00:00"
    assert building.get("door.entrance.hold") is True  # free entry in staffed hours
    assert entry.runtime_data is runtime  # taken in place: no reload

    await save_hours("16:00-19:00")  # the same plan again: nothing moves
    assert seen == [Mode.STAFFED]
    await save_hours("")  # closed all day: closed now
    assert seen == [Mode.STAFFED, Mode.CLOSED]
    assert building.get("door.entrance.hold") is False
    assert entry.runtime_data is runtime


async def test_a_lockdown_over_the_opening_time_opens_the_branch_when_it_ends(
    hass: HomeAssistant,
    clock: Any,
    branch: str,
    building: SimulatedBuilding,
    hass_admin_user: MockUser,
) -> None:
    """Locked down while closed, the plan opens behind it: the opening routine runs at its end.

    The mode reads "lockdown" over the opening time (nobody comes in, nothing switches on); when
    an administrator ends it in smart hours, the mode leaves "lockdown" for "smart" and the
    *Opening* blueprint runs, as it would have at 18:00. A lockdown begun in smart hours does
    not run it again when it ends.
    """
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "opening.yaml").write_text((BLUEPRINTS / "opening.yaml").read_text())
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "smart_library/opening.yaml",
                    "input": {"branch": branch},
                }
            }
        },
    )
    await hass.async_block_till_done()
    admin = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        DOMAIN, "lockdown", {"branch": branch}, blocking=True, context=admin
    )
    assert hass.states.get(MODE).attributes["mode_before_lockdown"] == "closed"
    clock.move_to("2026-11-24 18:05:00+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE) == "lockdown"
    assert (
        building.get("light.zone_1") is False
    )  # nothing switched on behind the lockdown
    await hass.services.async_call(
        DOMAIN, "end_lockdown", {"branch": branch}, blocking=True, context=admin
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass, MODE) == Mode.SMART
    assert building.get("light.zone_1") is True  # the opening routine ran at the end

    building.set("light.zone_1", False)  # staff switched a zone off in smart hours
    await hass.services.async_call(
        DOMAIN, "lockdown", {"branch": branch}, blocking=True, context=admin
    )
    assert hass.states.get(MODE).attributes["mode_before_lockdown"] == "smart"
    await hass.services.async_call(
        DOMAIN, "end_lockdown", {"branch": branch}, blocking=True, context=admin
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert building.get("light.zone_1") is False  # not an opening: nothing run again
