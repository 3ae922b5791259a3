"""Fixtures for the Home Assistant tests: a library service whose branch is the simulated building."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from datetime import date
import socket
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.smart_library.const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.building.pointmap import POINT_MAPS
from custom_components.smart_library.engine.building.schedule import Schedule
from simulator.building import BuildingTiming, SimulatedBuilding


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/smart_library."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Add every entity enabled, also those off by default (for the entity snapshots)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give each test its own config directory: member stores and blueprints do not pile up."""
    return hass_tmp_config_dir


def years_before(day: date, years: int) -> date:
    """Return the same date `years` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialise snapshots the way Home Assistant core does (stable ids, no timestamps)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def branch_data(building: SimulatedBuilding, **changes: Any) -> dict[str, Any]:
    """Return a branch sub-entry's data for the simulated building."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: building.port,
        CONF_UNIT: 1,
        CONF_POINT_MAP: "reference",
        CONF_RELEASE_SECONDS: 5,
        # Closed all week unless a test says otherwise: doors stay as the test sets them.
        CONF_SCHEDULE: Schedule().to_dict(),
    } | changes


@pytest.fixture
def mock_config_entry(building: SimulatedBuilding) -> MockConfigEntry:
    """Return a library service with one branch: the simulated building."""
    data = branch_data(building)
    return MockConfigEntry(
        domain=DOMAIN,
        # Fixed: the service's own entities' unique ids hold it (stable entity snapshots).
        entry_id="01JSHIRE0000000000000000SL",
        title="Shire Libraries",
        unique_id="shire_libraries",
        data={CONF_NAME: "Shire Libraries", CONF_BACKEND: BACKEND_LOCAL},
        subentries_data=[
            {
                "data": data,
                "subentry_id": "branch_oadby",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Oadby Library",
                "unique_id": f"127.0.0.1:{building.port}:1",
            }
        ],
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set the library service up against the simulated building."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def moxa(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a building wired to a Moxa E1214 and an E1212, each on its own port."""
    sim = SimulatedBuilding(
        point_map=POINT_MAPS["moxa_e1214_e1212"],
        timing=BuildingTiming(tick=0.02, module_pulse_seconds=0.5),
    )
    await sim.start()
    yield sim
    await sim.stop()


def closed_port() -> int:
    """Return a port of 127.0.0.1 nothing listens on (a module that is away)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def branch_device(hass: HomeAssistant, subentry_id: str = "branch_oadby") -> str:
    """Return the device id of a branch (what the actions' `branch` field takes)."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert device is not None
    return device.id
