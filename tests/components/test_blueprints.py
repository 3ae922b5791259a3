"""The shipped blueprints: Home Assistant's own schema, and each one run with only its branch.

Every blueprint takes one *Branch* device and finds the branch's entities from it (templates
over `device_entities`), or listens to the branch's own events; lights, PCs, PA zones and doors
are optional narrowings. Each is run here against the simulated building with the branch alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import time, timedelta
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import freezegun
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.errors import MissingInput
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import Context, HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.smart_library.const import (
    CONF_BACKEND,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from simulator.building import SimulatedBuilding

from .conftest import branch_device
from .faults import refuse_writes

REPO = Path(__file__).resolve().parents[2]
BLUEPRINTS = REPO / "blueprints" / "automation" / "smart_library"
NAMES = ("opening", "closing_countdown", "evacuation", "staff_alerts", "voice")
B = "oadby_library"
LIGHTS = [f"light.zone_{n}" for n in (1, 2, 3)]
EVENINGS = Schedule(week=((Period(time(18), time(21), Mode.SMART),),) * 7)


def _blueprint(name: str) -> models.Blueprint:
    return models.Blueprint(
        load_yaml_dict(BLUEPRINTS / f"{name}.yaml"),
        expected_domain="automation",
        schema=BLUEPRINT_SCHEMA,
    )


def _repository() -> str:
    manifest = json.loads(
        (REPO / "custom_components" / DOMAIN / "manifest.json").read_text()
    )
    return str(manifest["documentation"]).rstrip("/")


def _source_url(name: str) -> str:
    return f"{_repository()}/blob/main/blueprints/automation/smart_library/{name}.yaml"


# -- what Home Assistant reads ----------------------------------------------------------------


def test_all_are_shipped() -> None:
    """Opening, closing countdown, evacuation, staff alerts and voice."""
    assert {p.stem for p in BLUEPRINTS.glob("*.yaml")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_blueprint_schema(name: str) -> None:
    """Home Assistant's blueprint schema takes it; it imports from the repository's file.

    Its one required input is the branch (a device of this integration), and the voice
    blueprint's codeword, which has no default: each library chooses its own.
    """
    blueprint = _blueprint(name)
    assert blueprint.metadata["source_url"] == _source_url(name)
    assert blueprint.metadata["homeassistant"]["min_version"] == "2026.10.0"
    assert blueprint.name.startswith("Smart Library")
    inputs = blueprint.inputs
    assert inputs["branch"]["selector"]["device"]["filter"] == [{"integration": DOMAIN}]
    required = {key for key, value in inputs.items() if "default" not in (value or {})}
    assert required == ({"branch", "codeword"} if name == "voice" else {"branch"})
    assert "seed" not in blueprint.metadata["description"].lower()


def test_the_voice_blueprint_has_no_codeword_of_its_own() -> None:
    """A codeword printed in a public file would warn the very people it is meant to catch."""
    text = (BLUEPRINTS / "voice.yaml").read_text()
    assert "Kite" not in text
    assert "codeword" in _blueprint("voice").inputs


def test_the_readme_links_each_blueprint_for_import() -> None:
    """The README gives each blueprint's URL and the my.home-assistant.io import link."""
    readme = (REPO / "README.md").read_text()
    for name in NAMES:
        url = _source_url(name)
        assert f"<{url}>" in readme or f"({url})" in readme, name
        redirect = (
            "https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url="
        )
        assert f"{redirect}{quote(url, safe='')}" in readme, name


def _inputs(name: str, branch: str) -> dict[str, Any]:
    return {"branch": branch} | (
        {"codeword": "has the blue folder come back"} if name == "voice" else {}
    )


async def test_an_automation_with_only_the_branch_validates(
    hass: HomeAssistant,
) -> None:
    """Each blueprint makes a valid automation from the branch alone; none without it."""
    _install(hass)
    for name in NAMES:
        config = await async_validate_config_item(
            hass,
            name,
            {
                "use_blueprint": {
                    "path": f"smart_library/{name}.yaml",
                    "input": _inputs(name, "0123456789abcdef0123456789abcdef"),
                }
            },
        )
        assert config is not None
        assert config.validation_error is None, (name, config.validation_error)
        with pytest.raises(MissingInput, match="Missing input branch"):
            await async_validate_config_item(
                hass,
                name,
                {"use_blueprint": {"path": f"smart_library/{name}.yaml", "input": {}}},
            )
    with pytest.raises(MissingInput, match="Missing input codeword"):
        await async_validate_config_item(
            hass,
            "voice",
            {
                "use_blueprint": {
                    "path": "smart_library/voice.yaml",
                    "input": {"branch": "x"},
                }
            },
        )


# -- run, with the branch alone ----------------------------------------------------------------


def _install(hass: HomeAssistant) -> None:
    """Copy the blueprints where Home Assistant looks for them (as scripts/develop does)."""
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (target / f"{name}.yaml").write_text((BLUEPRINTS / f"{name}.yaml").read_text())


async def _use(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    _install(hass)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "alias": name,
                "use_blueprint": {
                    "path": f"smart_library/{name}.yaml",
                    "input": inputs,
                },
            }
        },
    )
    await hass.async_block_till_done()
    assert hass.states.get(f"automation.{name}") is not None


async def _poll(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def _mode(hass: HomeAssistant, option: str, branch: str = B) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": f"select.{branch}_mode_override", "option": option},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)


def _quiet(caplog: pytest.LogCaptureFixture, allow: str | None = None) -> None:
    """No template of a blueprint warned or failed while it ran (but for a line naming `allow`)."""
    for record in caplog.records:
        if allow is not None and allow in record.getMessage():
            continue
        if record.name.startswith(
            (
                "homeassistant.helpers.template",
                "homeassistant.helpers.script",
                "homeassistant.components.automation",
                "homeassistant.components.template",
            )
        ):
            assert record.levelname not in ("WARNING", "ERROR"), record.getMessage()


@pytest.fixture
def clock() -> Iterator[Any]:
    """Home Assistant's clock: Tuesday 24 November 2026, 20:40 in London (UTC in winter)."""
    with freezegun.freeze_time("2026-11-24 20:40:00+00:00", tick=True) as frozen:
        yield frozen


async def _at(
    hass: HomeAssistant, clock: Any, moment: str, *, settle: bool = True
) -> None:
    """Move the clock to a London wall-clock time; let timers, automations and polls run.

    With settle=False it does not wait for running automations to finish (the closing routine
    waits for the last person to leave).
    """
    clock.move_to(f"2026-11-24 {moment}+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    if settle:
        await hass.async_block_till_done(wait_background_tasks=True)
        await _poll(hass)
        return
    await asyncio.sleep(0.5)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for branch in entry.runtime_data.branches.values():
            await branch.coordinator.async_refresh()
    await asyncio.sleep(0.3)


@pytest.mark.usefixtures("init_integration")
async def test_opening_with_only_the_branch(
    hass: HomeAssistant, building: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """Closed -> staffed: every lighting zone and PC group of the branch on, nothing chosen.

    A reload of the library service (the mode sensor unavailable, then staffed again) is not an
    opening: what staff switched off stays off.
    """
    await _use(hass, "opening", {"branch": branch_device(hass)})
    assert not any(building.get(light) for light in LIGHTS)
    await _mode(hass, "staffed")
    assert all(building.get(light) for light in LIGHTS)
    assert building.get("pc.group_1") and building.get("pc.group_2")
    assert building.get("pa.message") == 0  # no welcome asked for

    building.set("light.zone_2", False)
    building.set("pc.group_2", False)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(f"sensor.{B}_mode").state == "staffed"
    assert building.get("light.zone_2") is False
    assert building.get("pc.group_2") is False
    _quiet(caplog)


@pytest.mark.usefixtures("init_integration")
async def test_a_branch_reset_in_its_hours_opens_again(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """An evacuation at night, reset once the branch is due open: the opening routine runs.

    While the reset is needed the routine waits, whatever the hours say.
    """
    await _use(hass, "opening", {"branch": branch_device(hass)})
    coordinator = next(
        iter(
            hass.config_entries.async_entries(DOMAIN)[0].runtime_data.branches.values()
        )
    ).coordinator
    building.raise_fire_alarm()
    await coordinator.async_refresh()
    building.clear_fire_alarm()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    await _mode(hass, "staffed")
    mode = hass.states.get(f"sensor.{B}_mode")
    assert (mode.state, mode.attributes["plan_mode"]) == (
        "evacuation_reset_needed",
        "staffed",
    )
    assert building.get("pc.group_1") is False

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": f"button.{B}_reset_after_evacuation"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(f"sensor.{B}_mode").state == "staffed"
    assert building.get("pc.group_1") is True
    assert building.get("pc.group_2") is True
    assert building.get("door.entrance.hold") is True  # staffed: free entry


async def test_closing_countdown_with_only_the_branch(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Smart hours until 21:00: every PA zone counts down, the PCs go off, then the doors lock.

    One member is still inside at 21:00: with no egress lighting chosen every light stays on and
    the duty phone is told; when the member leaves (through the push bar) the lights go out.
    """
    await hass.config.async_update(time_zone="Europe/London")
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data)
        | {CONF_SCHEDULE: EVENINGS.to_dict(), CONF_RELEASE_SECONDS: 1},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    notes: list[ServiceCall] = async_mock_service(hass, "notify", "duty_phone")
    await _use(
        hass,
        "closing_countdown",
        {"branch": branch_device(hass), "notify_action": "notify.duty_phone"},
    )
    for point in [*LIGHTS, "pc.group_1", "pc.group_2"]:
        building.set(point, True)
    building.arrive(1)
    await hass.services.async_call(
        "lock", "open", {"entity_id": f"lock.{B}_entrance_door"}, blocking=True
    )
    await asyncio.sleep(1.2)  # the member walks in; the 1 s release ends
    await _at(hass, clock, "20:44:00")
    assert hass.states.get(f"sensor.{B}_people_inside").state == "1"
    assert building.get("pa.message") == 0

    await _at(hass, clock, "20:45:00")
    assert (building.get("pa.message"), building.get("pa.zones")) == (2, 0b111)
    assert building.get("pc.group_1") is True
    await _at(hass, clock, "20:50:00")
    assert building.get("pa.message") == 3
    assert building.get("pc.group_1") is False
    assert building.get("pc.group_2") is False
    await _at(hass, clock, "20:55:00")
    assert building.get("pa.message") == 4
    await _at(hass, clock, "20:58:00")
    assert building.get("pa.message") == 5  # last call

    await _at(hass, clock, "21:00:00", settle=False)
    assert hass.states.get(f"sensor.{B}_mode").state == "closed"
    assert building.get("pa.message") == 6
    assert hass.states.get(f"lock.{B}_entrance_door").state == "locked"
    assert hass.states.get(f"lock.{B}_meeting_room_door").state == "locked"
    assert all(building.get(light) for light in LIGHTS)  # someone inside: never dark
    (note,) = notes
    assert note.data["title"] == "Someone is still inside"
    assert "1 people are still counted inside Oadby Library" in note.data["message"]

    building.leave(1)
    await asyncio.sleep(0.1)
    await _at(hass, clock, "21:01:00")  # the routine ends: nobody is inside
    assert hass.states.get(f"sensor.{B}_people_inside").state == "0"
    assert not any(building.get(light) for light in LIGHTS)
    assert len(notes) == 1
    assert (
        building.get("door.entrance.forced") is False
    )  # the push bar, not a forced door
    _quiet(caplog)


async def test_closing_a_branch_without_pa_or_counter_and_a_door_that_will_not_lock(
    hass: HomeAssistant, moxa: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """A branch on generic I/O modules (no PA, no people counter) runs the countdown too.

    At closing a door that cannot be locked (its controller refuses the write) does not stop
    the rest: the lights still go out as planned.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Shire",
        data={CONF_NAME: "Shire", CONF_BACKEND: "local"},
        subentries_data=[
            {
                "data": {
                    CONF_HOST: "127.0.0.1",
                    CONF_PORT: moxa.ports["e1214"],
                    CONF_UNIT: 1,
                    CONF_RELEASE_SECONDS: 5,
                    CONF_SCHEDULE: Schedule().to_dict(),
                    CONF_POINT_MAP: "moxa_e1214_e1212",
                    CONF_MODULES: {
                        "e1212": {
                            CONF_HOST: "127.0.0.1",
                            CONF_PORT: moxa.ports["e1212"],
                            CONF_UNIT: 1,
                        }
                    },
                },
                "subentry_id": "branch_wigston",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Wigston Library",
                "unique_id": None,
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await _use(
        hass, "closing_countdown", {"branch": branch_device(hass, "branch_wigston")}
    )

    await _mode(hass, "staffed", "wigston_library")  # opened by hand: entrance held
    assert moxa.get("door.entrance.hold") is True
    for light in LIGHTS:
        moxa.set(light, True)
    refuse_writes(moxa, {"door.entrance.hold"})

    await _mode(hass, "closed", "wigston_library")
    assert hass.states.get("sensor.wigston_library_mode").state == "closed"
    assert not any(moxa.get(light) for light in LIGHTS)
    assert moxa.get("door.entrance.hold") is True  # the controller refused "lock"
    assert ("door.entrance.hold", False) in moxa.refused
    assert moxa.get("door.meeting_room.hold") is False
    _quiet(caplog, allow="refused the command")  # the refused lock, told as such


@pytest.mark.usefixtures("init_integration")
async def test_evacuation_with_only_the_branch(
    hass: HomeAssistant, building: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """Fire alarm: staff told at once; panel reset: told a person must reset the branch.

    The evacuation message and the lights are the integration's own doing: the automation
    names no zone and no light. The same event fired by a person, or another branch's, is not
    the branch's fire alarm.
    """
    notes = async_mock_service(hass, "notify", "duty_phone")
    await _use(
        hass,
        "evacuation",
        {"branch": branch_device(hass), "notify_action": "notify.duty_phone"},
    )
    user = await hass.auth.async_create_user("Mallory")
    spoof = {
        "branch": "Oadby Library",
        "branch_id": "branch_oadby",
        "state": "evacuation",
    }
    hass.bus.async_fire(f"{DOMAIN}_evacuation", spoof, context=Context(user_id=user.id))
    hass.bus.async_fire(f"{DOMAIN}_evacuation", spoof | {"branch_id": "branch_wigston"})
    await hass.async_block_till_done()
    assert notes == []

    building.raise_fire_alarm()
    await _poll(hass)
    assert (building.get("pa.message"), building.get("pa.zones")) == (7, 0b111)
    assert all(building.get(light) for light in LIGHTS)
    assert building.get("door.entrance.hold") is True  # the integration's own fire rule
    (note,) = notes
    assert note.data["title"] == "FIRE ALARM"
    assert "Fire alarm at Oadby Library" in note.data["message"]
    assert note.data["data"]["push"]["interruption-level"] == "critical"

    building.clear_fire_alarm()
    await _poll(hass)
    assert notes[1].data["title"] == "Fire panel reset — evacuation reset needed"
    assert "Reset after evacuation" in notes[1].data["message"]
    assert (
        building.get("door.entrance.hold") is True
    )  # until a person resets the branch
    assert hass.states.get(f"sensor.{B}_mode").state == "evacuation_reset_needed"
    assert len(notes) == 2
    _quiet(caplog)


@pytest.mark.usefixtures("init_integration")
async def test_evacuation_extra_zones_and_lights(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Zones and lights named in the automation join in (here the branch's own, harmlessly)."""
    async_mock_service(hass, "notify", "notify")
    await _use(
        hass,
        "evacuation",
        {
            "branch": branch_device(hass),
            "pa_zones": [f"media_player.{B}_pa_zone_1"],
            "lights": [f"light.{B}_lighting_zone_1"],
        },
    )
    building.raise_fire_alarm()
    building.writes.clear()
    await _poll(hass)
    # The automation's play joins the running announcement instead of restarting it.
    assert building.writes.count(("pa.command", 1)) == 1
    assert (building.get("pa.message"), building.get("pa.zones")) == (7, 0b111)
    assert building.get("light.zone_1") is True


@pytest.mark.usefixtures("init_integration")
async def test_staff_alerts_with_only_the_branch(
    hass: HomeAssistant, building: SimulatedBuilding, caplog: pytest.LogCaptureFixture
) -> None:
    """The panic button, a forced door, a fire-panel fault and a silent controller reach the phone.

    A member leaving through the push bar is not an alarm; an alarm event a person fired is
    ignored; the controller counts as offline only after the minute chosen.
    """
    notes = async_mock_service(hass, "notify", "duty_phone")
    await _use(
        hass,
        "staff_alerts",
        {"branch": branch_device(hass), "notify_action": "notify.duty_phone"},
    )
    user = await hass.auth.async_create_user("Mallory")
    hass.bus.async_fire(
        f"{DOMAIN}_alarm",
        {"branch": "Oadby Library", "branch_id": "branch_oadby", "kind": "panic"},
        context=Context(user_id=user.id),
    )
    await hass.async_block_till_done()
    assert notes == []

    building.press_panic("counter")
    building.force_door("entrance")
    await _poll(hass)
    assert sorted(n.data["title"] for n in notes) == [
        "Door alarm",
        "Panic button pressed",
    ]
    messages = " ".join(n.data["message"] for n in notes)
    assert "Panic button (counter) pressed at Oadby Library" in messages
    assert "The entrance door was forced at Oadby Library" in messages

    building.set_fire_fault(True)
    await _poll(hass)
    assert notes[2].data["title"] == "Fire-panel fault"

    # Acknowledged, the door shut again: a member leaving through the push bar raises nothing.
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": f"button.{B}_acknowledge_alarms"},
        blocking=True,
    )
    building.press_panic("counter", on=False)
    await asyncio.sleep(building.timing.door_open_time + 0.1)
    await _poll(hass)
    assert hass.states.get(f"binary_sensor.{B}_entrance_door_forced").state == "off"
    building.leave(1)
    await asyncio.sleep(0.1)
    await _poll(hass)
    assert hass.states.get(f"binary_sensor.{B}_entrance_door_open").state == "on"
    assert hass.states.get(f"binary_sensor.{B}_entrance_door_forced").state == "off"
    assert len(notes) == 3

    building.online = False
    await _poll(hass)
    assert hass.states.get(f"binary_sensor.{B}_controller_connected").state == "off"
    assert len(notes) == 3  # not yet: the minute has not passed
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert notes[3].data["title"] == "Building controller offline"
    assert "has not answered for 1 min" in notes[3].data["message"]
    assert len(notes) == 4
    building.online = True
    _quiet(caplog)
