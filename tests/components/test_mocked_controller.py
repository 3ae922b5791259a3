"""The mocked tier: an autospec of the engine's controller client, for cheap error paths.

The simulator tier proves the integration against a real Modbus server; this tier feeds the
coordinator hand-made snapshots and failures, so every engine error is checked to reach the user
as its own translated message, on every platform that writes, and every platform's entities are
snapshotted from a known state.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock, create_autospec, patch

from homeassistant.components.light import DOMAIN as LIGHT_DOMAIN
from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.components.media_player import DOMAIN as MEDIA_PLAYER_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.smart_library.engine.building.controller import (
    BranchController,
    ControllerConnectionError,
    ControllerError,
    ControllerMalformedError,
    ControllerResponseError,
)
from custom_components.smart_library.engine.building.pointmap import reference_map
from custom_components.smart_library.engine.building.snapshot import (
    ModuleHealth,
    ModuleStatus,
    Snapshot,
)

B = "oadby_library"
MAP = reference_map()


def snapshot_of(**values: int | bool) -> Snapshot:
    """Return a healthy snapshot: every point 0/False unless given (key with dots)."""
    base: dict[str, int | bool] = {
        p.key: False if p.table.is_bit else 0 for p in MAP.points
    }
    base |= {"controller.ok": True, "pa.volume": 60}
    return Snapshot(MAP, {"main": ModuleHealth()}, base | values)


@pytest.fixture
def controller() -> Generator[MagicMock]:
    """Replace the branch's controller client with an autospec mock."""
    mock = create_autospec(BranchController, instance=True)
    mock.point_map = MAP
    mock.modules = {}
    mock.read_plan = MAP.read_plan()
    mock.requests = 0
    mock.read = AsyncMock(return_value=snapshot_of(**{"light.zone_2": True}))
    with patch(
        "custom_components.smart_library.controller_for", return_value=mock
    ) as factory:
        factory.return_value = mock
        yield mock


@pytest.fixture
async def mocked_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, controller: MagicMock
) -> MockConfigEntry:
    """Set the library service up against the mocked controller."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.mark.parametrize(
    "platform",
    [
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.LIGHT,
        Platform.LOCK,
        Platform.MEDIA_PLAYER,
        Platform.SELECT,
        Platform.SENSOR,
        Platform.SWITCH,
    ],
)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_platform_snapshot(  # noqa: PLR0917
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    controller: MagicMock,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """Every platform's entities and states from a known snapshot (select included)."""
    with patch("custom_components.smart_library.PLATFORMS", [platform]):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


WRITES: list[tuple[str, str, str, dict[str, Any], str]] = [
    (LIGHT_DOMAIN, "turn_on", f"light.{B}_lighting_zone_1", {}, "write"),
    (SWITCH_DOMAIN, "turn_off", f"switch.{B}_public_pcs_1", {}, "write"),
    (LOCK_DOMAIN, "unlock", f"lock.{B}_entrance_door", {}, "write"),
    (LOCK_DOMAIN, "open", f"lock.{B}_entrance_door", {}, "release_door"),
    (
        MEDIA_PLAYER_DOMAIN,
        "volume_set",
        f"media_player.{B}_pa_zone_1",
        {"volume_level": 0.5},
        "write",
    ),
    (
        MEDIA_PLAYER_DOMAIN,
        "play_media",
        f"media_player.{B}_pa_zone_1",
        {"media_content_id": "closing_15", "media_content_type": "announcement"},
        "play_announcement",
    ),
]
ERRORS: list[tuple[ControllerError, str]] = [
    (ControllerConnectionError("timed out"), "write_connection_lost"),
    (ControllerResponseError("exception code 2"), "write_exception_response"),
    (ControllerMalformedError("short read: 0 of 1"), "write_malformed_answer"),
]


@pytest.mark.usefixtures("mocked_integration")
@pytest.mark.parametrize(("domain", "service", "entity_id", "data", "method"), WRITES)
@pytest.mark.parametrize(("error", "key"), ERRORS)
async def test_write_errors_are_translated(  # noqa: PLR0917
    hass: HomeAssistant,
    controller: MagicMock,
    domain: str,
    service: str,
    entity_id: str,
    data: dict[str, Any],
    method: str,
    error: ControllerError,
    key: str,
) -> None:
    """Each kind of controller failure is its own translated error, on every writing platform."""
    getattr(controller, method).side_effect = error
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            domain, service, {ATTR_ENTITY_ID: entity_id} | data, blocking=True
        )
    assert err.value.translation_domain == "smart_library"
    assert err.value.translation_key == key
    assert "Oadby Library" in str(err.value)
    assert str(error) in str(err.value)


@pytest.mark.usefixtures("mocked_integration")
@pytest.mark.parametrize(
    "status",
    [ModuleStatus.UNREACHABLE, ModuleStatus.ERROR_RESPONSE, ModuleStatus.MALFORMED],
)
async def test_poll_failures_make_entities_unavailable_with_the_reason(
    hass: HomeAssistant, controller: MagicMock, status: ModuleStatus
) -> None:
    """A poll in which no module answers: entities unavailable, the failure translated."""
    assert hass.states.get(f"light.{B}_lighting_zone_2").state == STATE_ON
    controller.read.return_value = Snapshot(
        MAP, {"main": ModuleHealth(status, "boom")}, {}
    )
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    assert hass.states.get(f"light.{B}_lighting_zone_2").state == STATE_UNAVAILABLE
    assert hass.states.get(f"binary_sensor.{B}_controller_connected").state == (
        STATE_OFF
    )
    entry = hass.config_entries.async_entries("smart_library")[0]
    coordinator = entry.runtime_data.branches["branch_oadby"].coordinator
    assert coordinator.last_exception.translation_key == status.value

    controller.read.return_value = snapshot_of()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=4))
    await hass.async_block_till_done()
    assert hass.states.get(f"light.{B}_lighting_zone_2").state == STATE_OFF


async def test_diagnostics_snapshot(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mocked_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics keyed by the branch's sub-entry id, from a known snapshot (nothing personal)."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mocked_integration
    )
    assert list(diagnostics["branches"]) == ["branch_oadby"]
    assert diagnostics == snapshot(exclude=props("port"))
