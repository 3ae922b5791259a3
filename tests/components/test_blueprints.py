"""The shipped blueprints validate the way Home Assistant loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.smart_library.const import DOMAIN
from simulator.building import SimulatedBuilding

from .faults import refuse_writes

BLUEPRINTS = (
    Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "smart_library"
)


@pytest.mark.parametrize(
    "path", sorted(BLUEPRINTS.glob("*.yaml")), ids=lambda p: p.stem
)
def test_blueprint_schema(path: Path) -> None:
    """Each blueprint passes Home Assistant's blueprint schema, with a source URL to import by."""
    blueprint = models.Blueprint(
        load_yaml_dict(path), expected_domain="automation", schema=BLUEPRINT_SCHEMA
    )
    assert blueprint.metadata["source_url"].endswith(f"/{path.name}")
    assert blueprint.metadata["homeassistant"]["min_version"] == "2026.10.0"
    assert blueprint.name.startswith("Smart Library")


def test_all_are_shipped() -> None:
    """Opening, closing countdown, evacuation, staff alerts and voice."""
    assert {p.stem for p in BLUEPRINTS.glob("*.yaml")} == {
        "opening",
        "closing_countdown",
        "evacuation",
        "staff_alerts",
        "voice",
    }


async def test_automation_config_from_each_blueprint_validates(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """An automation using each blueprint with its inputs filled is a valid automation."""
    inputs = {
        "opening": {
            "mode_sensor": "sensor.oadby_library_mode",
            "lights": ["light.oadby_library_lighting_zone_1"],
            "pcs": ["switch.oadby_library_public_pcs_1"],
        },
        "evacuation": {
            "fire_alarm": "binary_sensor.oadby_library_fire_alarm",
            "pa_zones": ["media_player.oadby_library_pa_zone_1"],
            "lights": ["light.oadby_library_lighting_zone_1"],
        },
        "staff_alerts": {
            "panic": ["binary_sensor.oadby_library_panic_button_counter"],
            "door_alarms": ["binary_sensor.oadby_library_entrance_door_forced"],
            "controller": "binary_sensor.oadby_library_controller_connected",
        },
        "closing_countdown": {
            "closes_at": "sensor.oadby_library_closes_at",
            "mode_sensor": "sensor.oadby_library_mode",
            "pa_zones": ["media_player.oadby_library_pa_zone_1"],
            "pcs": ["switch.oadby_library_public_pcs_1"],
            "lights": ["light.oadby_library_lighting_zone_2"],
            "egress_lights": ["light.oadby_library_lighting_zone_1"],
            "doors": ["lock.oadby_library_entrance_door"],
            "people_inside": "sensor.oadby_library_people_inside",
        },
    }
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    for name, values in inputs.items():
        (target / f"{name}.yaml").write_text((BLUEPRINTS / f"{name}.yaml").read_text())
        config = await async_validate_config_item(
            hass,
            name,
            {"use_blueprint": {"path": f"smart_library/{name}.yaml", "input": values}},
        )
        assert config is not None
        assert config.validation_error is None, (name, config.validation_error)


async def _use(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    target = Path(hass.config.path("blueprints/automation/smart_library"))
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{name}.yaml").write_text((BLUEPRINTS / f"{name}.yaml").read_text())
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {"path": f"smart_library/{name}.yaml", "input": inputs}
            }
        },
    )


@pytest.mark.usefixtures("init_integration")
async def test_evacuation_tells_staff(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """Fire alarm: staff told at once; panel reset: told a person must reset the branch.

    The evacuation message and the lights are the integration's own doing: the automation
    names no zone and no light.
    """
    notes = async_mock_service(hass, "notify", "duty_phone")
    await _use(
        hass,
        "evacuation",
        {
            "fire_alarm": "binary_sensor.oadby_library_fire_alarm",
            "notify_action": "notify.duty_phone",
        },
    )
    building.raise_fire_alarm()
    coordinator = next(
        iter(
            hass.config_entries.async_entries(DOMAIN)[0].runtime_data.branches.values()
        )
    ).coordinator
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert (building.get("pa.message"), building.get("pa.zones")) == (7, 0b111)
    assert all(building.get(f"light.zone_{n}") for n in (1, 2, 3))
    assert building.get("door.entrance.hold") is True  # the integration's own fire rule
    assert notes[0].data["title"] == "FIRE ALARM"
    assert "Fire alarm at Oadby Library" in notes[0].data["message"]

    building.clear_fire_alarm()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert notes[1].data["title"] == "Fire panel reset — evacuation reset needed"
    assert "Reset after evacuation" in notes[1].data["message"]
    assert (
        building.get("door.entrance.hold") is True
    )  # until a person resets the branch
    assert hass.states.get("sensor.oadby_library_mode").state == (
        "evacuation_reset_needed"
    )


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
            "fire_alarm": "binary_sensor.oadby_library_fire_alarm",
            "pa_zones": ["media_player.oadby_library_pa_zone_1"],
            "lights": ["light.oadby_library_lighting_zone_1"],
        },
    )
    building.raise_fire_alarm()
    coordinator = next(
        iter(
            hass.config_entries.async_entries(DOMAIN)[0].runtime_data.branches.values()
        )
    ).coordinator
    building.writes.clear()
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    # The automation's play joins the running announcement instead of restarting it.
    assert building.writes.count(("pa.command", 1)) == 1
    assert (building.get("pa.message"), building.get("pa.zones")) == (7, 0b111)
    assert building.get("light.zone_1") is True


@pytest.mark.usefixtures("init_integration")
async def test_a_branch_reset_in_its_hours_opens_again(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """An evacuation at night, reset once the branch is due open: the opening routine runs.

    While the reset is needed the routine waits, whatever the hours say.
    """
    await _use(
        hass,
        "opening",
        {
            "mode_sensor": "sensor.oadby_library_mode",
            "lights": ["light.oadby_library_lighting_zone_1"],
            "pcs": ["switch.oadby_library_public_pcs_1"],
        },
    )
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
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.oadby_library_mode_override", "option": "staffed"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    mode = hass.states.get("sensor.oadby_library_mode")
    assert (mode.state, mode.attributes["plan_mode"]) == (
        "evacuation_reset_needed",
        "staffed",
    )
    assert building.get("pc.group_1") is False

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.oadby_library_reset_after_evacuation"},
        blocking=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.oadby_library_mode").state == "staffed"
    assert building.get("pc.group_1") is True
    assert building.get("door.entrance.hold") is True  # staffed: free entry


@pytest.mark.usefixtures("init_integration")
async def test_staff_alerts(hass: HomeAssistant, building: SimulatedBuilding) -> None:
    """The panic button and a forced door reach the duty phone."""
    notes = async_mock_service(hass, "notify", "duty_phone")
    await _use(
        hass,
        "staff_alerts",
        {
            "panic": ["binary_sensor.oadby_library_panic_button_counter"],
            "door_alarms": ["binary_sensor.oadby_library_entrance_door_forced"],
            "controller": "binary_sensor.oadby_library_controller_connected",
            "notify_action": "notify.duty_phone",
        },
    )
    coordinator = next(
        iter(
            hass.config_entries.async_entries(DOMAIN)[0].runtime_data.branches.values()
        )
    ).coordinator
    building.press_panic("counter")
    building.force_door("entrance")
    await coordinator.async_refresh()
    await hass.async_block_till_done()
    assert sorted(n.data["title"] for n in notes) == [
        "Door alarm",
        "Panic button pressed",
    ]


@pytest.mark.usefixtures("init_integration")
async def test_closing_without_pa_or_counter_and_a_door_that_will_not_lock(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A branch with no PA and no people counter (a generic I/O module) can use the countdown.

    At closing a door that cannot be locked (its controller refuses the write) does not stop
    the rest: the lights still go out as planned.
    """
    await _use(
        hass,
        "closing_countdown",
        {
            "closes_at": "sensor.oadby_library_closes_at",
            "mode_sensor": "sensor.oadby_library_mode",
            "lights": [f"light.oadby_library_lighting_zone_{n}" for n in (2, 3)],
            "doors": ["lock.oadby_library_entrance_door"],
        },
    )

    async def mode(option: str) -> None:
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.oadby_library_mode_override", "option": option},
            blocking=True,
        )
        await hass.async_block_till_done(wait_background_tasks=True)

    await mode("staffed")  # opened by hand: the entrance held released
    assert building.get("door.entrance.hold") is True
    building.set("light.zone_2", True)
    building.set("light.zone_3", True)
    refuse_writes(building, {"door.entrance.hold"})

    await mode("closed")
    assert hass.states.get("sensor.oadby_library_mode").state == "closed"
    assert building.get("light.zone_2") is False
    assert building.get("light.zone_3") is False
    assert building.get("door.entrance.hold") is True  # the controller refused "lock"
    assert ("door.entrance.hold", False) in building.refused
    assert building.get("pa.message") == 0  # no PA zones chosen: nothing played
