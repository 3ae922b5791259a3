"""The shipped blueprints validate the way Home Assistant loads them."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.blueprint import models
from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA
from homeassistant.core import HomeAssistant
from homeassistant.util.yaml import load_yaml_dict
import pytest

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


def test_all_four_are_shipped() -> None:
    """Opening, closing countdown, evacuation and staff alerts."""
    assert {p.stem for p in BLUEPRINTS.glob("*.yaml")} == {
        "opening",
        "closing_countdown",
        "evacuation",
        "staff_alerts",
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
