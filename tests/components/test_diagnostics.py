"""Diagnostics of a library service."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulator.building import SimulatedBuilding


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    building: SimulatedBuilding,
) -> None:
    """Diagnostics show each branch's map, read plan, connection and points."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    branch = diagnostics["branches"]["branch_oadby"]
    assert branch["title"] == "Oadby Library"
    assert branch["point_map"] == "reference"
    assert branch["connected"] is True
    assert len(branch["read_plan"]) == 4
    assert branch["points"]["controller.ok"] is True
    assert branch["settings"]["port"] == building.port
    assert diagnostics["service"] == {"name": "Shire Libraries", "backend": "local"}
