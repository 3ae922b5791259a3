"""Every path of the config flow: the service, branch sub-entries, zeroconf discovery."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import time
from ipaddress import ip_address
import socket
from typing import Any

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownFlow
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import TextSelector
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library.const import (
    CONF_BACKEND,
    CONF_CONTROLLER_ID,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
    ZEROCONF_TYPE,
)
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
    example_schedule,
)
from custom_components.smart_library.flow.moved import async_prune_moved_issues
from custom_components.smart_library.flow.validation import service_name_taken
from simulator.building import SimulatedBuilding
from simulator.lms import SimulatedLms
from tests.components.conftest import branch_data

pytestmark = pytest.mark.usefixtures("socket_enabled")


def _closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _form(building: SimulatedBuilding, **changes: Any) -> dict[str, Any]:
    form = {CONF_NAME: "Oadby Library"} | branch_data(building) | changes
    del form[
        CONF_SCHEDULE
    ]  # not a field of the form: the plan is edited on its own step
    return form


def _discovery(building: SimulatedBuilding, **props: str) -> ZeroconfServiceInfo:
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        hostname="oadby-controller.local.",
        name=f"Oadby Library.{ZEROCONF_TYPE}",
        port=building.port,
        type=ZEROCONF_TYPE,
        properties={
            "id": "SL-0001",
            "branch": "Oadby Library",
            "map": "reference",
            "unit": "1",
        }
        | props,
    )


async def test_user_creates_the_service(hass: HomeAssistant) -> None:
    """A library service is created from a name; another may not take that name again.

    Nothing in the hardware identifies a service, so it has no unique id: its name tells it
    apart, compared without case, spaces or punctuation.
    """
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "  ", CONF_BACKEND: "local"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Shire Libraries", CONF_BACKEND: "local"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Shire Libraries"
    assert result["data"] == {CONF_NAME: "Shire Libraries", CONF_BACKEND: "local"}
    assert result["result"].unique_id is None

    again = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    for taken in ("Shire Libraries", "  shire libraries!"):
        again = await hass.config_entries.flow.async_configure(
            again["flow_id"], {CONF_NAME: taken, CONF_BACKEND: "local"}
        )
        assert again["type"] is FlowResultType.FORM
        assert again["errors"] == {CONF_NAME: "service_name_taken"}
    again = await hass.config_entries.flow.async_configure(
        again["flow_id"], {CONF_NAME: "Dale Libraries", CONF_BACKEND: "local"}
    )
    assert again["type"] is FlowResultType.CREATE_ENTRY
    assert [e.title for e in hass.config_entries.async_entries(DOMAIN)] == [
        "Shire Libraries",
        "Dale Libraries",
    ]


async def _service(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        unique_id="shire_libraries",
        data={CONF_NAME: "Shire Libraries", CONF_BACKEND: "local"},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_add_branch_tries_the_controller_first(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A branch is saved only once its controller answers; errors keep what was typed."""
    entry = await _service(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_BRANCH), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM

    dead = _closed_port()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building, port=dead)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building, host="not a host")
    )
    assert result["errors"] == {CONF_HOST: "invalid_host"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building, name="   ")
    )
    assert result["errors"] == {CONF_NAME: "name_required"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Oadby Library"
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    assert subentry.unique_id == f"127.0.0.1:{building.port}:1"
    assert dict(subentry.data) == {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: building.port,
        CONF_UNIT: 1,
        CONF_POINT_MAP: "reference",
        CONF_RELEASE_SECONDS: 5,
        # A new branch starts from a typical plan, for the manager to edit.
        CONF_SCHEDULE: example_schedule().to_dict(),
    }
    # The service reloads with the new branch: its entities exist and read the building.
    assert hass.states.get("light.oadby_library_lighting_zone_1") is not None

    again = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_BRANCH), context={"source": SOURCE_USER}
    )
    again = await hass.config_entries.subentries.async_configure(
        again["flow_id"], _form(building, name="Oadby again")
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


async def test_reconfigure_branch(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """A branch's address and release time can be changed; a dead address is refused."""
    entry = init_integration
    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["connection", "hours", "safety"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "connection"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "connection"

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building, port=_closed_port())
    )
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        _form(building, name="Oadby Library (new)", release_seconds=8),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    subentry = entry.subentries["branch_oadby"]
    assert subentry.title == "Oadby Library (new)"
    assert subentry.data[CONF_RELEASE_SECONDS] == 8


async def test_branch_safety_settings_and_a_later_connection_change_keeps_them(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """Cameras, speakers, speech and the empty-building rule are saved and kept.

    An address change keeps them; emptying the rule's hours turns it off.
    """
    entry = init_integration
    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "safety"}
    )
    assert result["step_id"] == "safety"
    assert result["description_placeholders"] == {"branch": "Oadby Library"}
    settings = {
        "cameras": ["camera.entrance"],
        "speakers": ["media_player.hall"],
        "tts_engine": "tts.google_en_com",
        "empty_after_hours": 3,
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], settings
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = entry.subentries["branch_oadby"].data
    assert {k: data[k] for k in settings} == settings
    assert data[CONF_RELEASE_SECONDS] == branch_data(building)[CONF_RELEASE_SECONDS]
    coordinator = entry.runtime_data.branches["branch_oadby"].coordinator
    assert coordinator.rules.empty_after == 3 * 3600  # the reloaded branch uses it

    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "connection"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building, release_seconds=7)
    )
    assert result["reason"] == "reconfigure_successful"
    data = entry.subentries["branch_oadby"].data
    assert {k: data[k] for k in settings} == settings
    assert data[CONF_RELEASE_SECONDS] == 7

    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "safety"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"cameras": [], "speakers": ["media_player.hall"]}
    )
    await hass.async_block_till_done()
    data = entry.subentries["branch_oadby"].data
    assert "empty_after_hours" not in data
    assert (data["cameras"], data["tts_engine"]) == ([], None)
    coordinator = entry.runtime_data.branches["branch_oadby"].coordinator
    assert coordinator.rules.empty_after is None


async def test_zeroconf_with_no_service_creates_both(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A discovered controller, with no service yet, creates the service and the branch."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {
        "name": "Oadby Library",
        "controller": "SL-0001",
        "host": f"127.0.0.1:{building.port}",
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby Library", "service": "Shire Libraries"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == "Shire Libraries"
    # The controller's id was the flow's, not the service's: a service has none.
    assert entry.unique_id is None
    (subentry,) = entry.subentries.values()
    assert subentry.title == "Oadby Library"
    assert subentry.data[CONF_CONTROLLER_ID] == "SL-0001"
    await hass.async_block_till_done()
    assert hass.states.get("light.oadby_library_lighting_zone_1") is not None


async def test_zeroconf_adds_a_branch_to_the_existing_service(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """With a service already set up, a discovered controller becomes one of its branches."""
    entry = await _service(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert result["step_id"] == "zeroconf_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby", "service": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "branch_added"
    (subentry,) = entry.subentries.values()
    assert subentry.title == "Oadby"
    assert subentry.data[CONF_CONTROLLER_ID] == "SL-0001"


async def test_zeroconf_known_controller_elsewhere_is_a_question(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A configured controller advertised at a new address is asked about, not followed."""
    subentry = mock_config_entry.subentries["branch_oadby"]
    moved = dict(subentry.data) | {CONF_CONTROLLER_ID: "SL-0001", CONF_PORT: 1}
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(mock_config_entry, subentry, data=moved)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(mock_config_entry.subentries) == 1
    assert mock_config_entry.subentries["branch_oadby"].data[CONF_PORT] == 1
    issue = issue_registry.async_get_issue(DOMAIN, "controller_moved_branch_oadby")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "controller": "SL-0001",
        "branch": "Oadby Library",
        "host": f"127.0.0.1:{building.port}",
        "old": "127.0.0.1:1",
    }


@pytest.mark.parametrize(
    ("props", "reason"),
    [({"id": ""}, "not_smart_library"), ({"map": "mystery"}, "unknown_point_map")],
)
async def test_zeroconf_refuses_what_it_cannot_use(
    hass: HomeAssistant, building: SimulatedBuilding, props: dict[str, str], reason: str
) -> None:
    """An advertisement without an id, or with a map we don't know, is not offered."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building, **props)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_zeroconf_confirm_errors(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """The confirm step reports an unreachable controller and a missing service name."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby Library", "service": " "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"service": "name_required"}

    port = building.port
    await building.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby Library", "service": "Shire"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    await building.start("127.0.0.1", port)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby Library", "service": "Shire"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_entry_not_ready_when_no_branch_answers(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, building: SimulatedBuilding
) -> None:
    """A service whose only branch is unreachable retries later instead of failing."""
    await building.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_zeroconf_controller_already_added_by_hand(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """A discovered controller that was already added by address is not added twice."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(init_integration.subentries) == 1
    # It learnt the controller's id, so a later move to a new address is followed.
    subentry = init_integration.subentries["branch_oadby"]
    assert subentry.data[CONF_CONTROLLER_ID] == "SL-0001"


async def test_zeroconf_service_removed_meanwhile(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """If the chosen service is deleted while the form is open, the flow says so."""
    entry = await _service(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    await hass.config_entries.async_remove(entry.entry_id)
    await _service(hass)  # another service exists, but not the one chosen
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby", "service": entry.entry_id}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "service_not_found"


async def test_zeroconf_multi_module_map_not_offered(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A map spread over several modules needs every module's address: not from one advert."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=_discovery(building, map="moxa_e1214_e1212"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unknown_point_map"


async def test_reconfigure_onto_another_branch_is_refused(
    hass: HomeAssistant, building: SimulatedBuilding, init_integration: MockConfigEntry
) -> None:
    """A branch cannot be pointed at a controller another branch already uses."""
    other = SimulatedBuilding()
    await other.start()
    try:
        result = await hass.config_entries.subentries.async_init(
            (init_integration.entry_id, SUBENTRY_BRANCH),
            context={"source": SOURCE_USER},
        )
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], _form(other, name="Wigston", port=other.port)
        )
        await hass.async_block_till_done()
        result = await init_integration.start_subentry_reconfigure_flow(
            hass, "branch_oadby"
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"next_step_id": "connection"}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], _form(building, port=other.port)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "already_configured"}
    finally:
        await other.stop()


async def test_edit_opening_hours(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A manager edits the weekly plan in a form; rule breaks are shown, nothing is lost.

    The form says which branch it edits; each error sits on the field it is in, in words that
    repeat nothing typed ("sunday, 23:00, 21:30" is never shown).
    """
    entry = init_integration
    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    assert result["description_placeholders"] == {"branch": "Oadby Library"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "hours"}
    )
    assert result["step_id"] == "hours"
    assert result["description_placeholders"]["branch"] == "Oadby Library"
    form = {
        "monday_staffed": "09:00-13:00",
        "monday_smart": "13:00-22:00",
        "latest_smart_end": "21:30:00",
        "clearance_minutes": 0,
        "staffed_free_entry": ["entrance"],
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"monday_smart": "schedule_smart_ends_too_late"}
    assert result["description_placeholders"] == {
        "branch": "Oadby Library",
        "latest": "21:30",
    }
    assert entry.subentries["branch_oadby"].data[CONF_SCHEDULE] == Schedule().to_dict()

    # Several wrong fields at once: each says so; a period that is not one names no value.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form
        | {
            "monday_smart": "13:00-21:00",
            "tuesday_staffed": "9-5",
            "wednesday_staffed": "10:00-09:00",
            "thursday_staffed": "09:00-14:00",
            "thursday_smart": "13:00-20:00",
        },
    )
    assert result["errors"] == {
        "tuesday_staffed": "schedule_invalid_time",
        "wednesday_staffed": "schedule_start_after_end",
        "thursday_staffed": "schedule_overlapping_periods",
        "thursday_smart": "schedule_overlapping_periods",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        form | {"thursday_staffed": "09:00-14:00", "thursday_smart": "13:00-20:00"},
    )
    assert result["errors"] == {
        "monday_smart": "schedule_smart_ends_too_late",
        "thursday_staffed": "schedule_overlapping_periods",
        "thursday_smart": "schedule_overlapping_periods",
    }

    form["monday_smart"] = "13:00-21:30"
    form["tuesday_smart"] = "08:00-21:30"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], form
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    saved = Schedule.from_dict(entry.subentries["branch_oadby"].data[CONF_SCHEDULE])
    assert saved.week[0] == (
        Period(time(9), time(13), Mode.STAFFED),
        Period(time(13), time(21, 30), Mode.SMART),
    )
    assert saved.week[1] == (Period(time(8), time(21, 30), Mode.SMART),)
    assert saved.week[6] == ()

    # The form shows the saved plan; emptying a day's fields (the frontend then leaves them out)
    # closes that day, and emptying the free-entry doors leaves every door on card + PIN.
    result = await entry.start_subentry_reconfigure_flow(hass, "branch_oadby")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "hours"}
    )
    shown = {str(key): key.description for key in result["data_schema"].schema}
    assert shown["monday_smart"] == {"suggested_value": "13:00-21:30"}
    assert shown["staffed_free_entry"] == {"suggested_value": ["entrance"]}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "tuesday_smart": "08:00-21:30",
            "latest_smart_end": "21:30:00",
            "clearance_minutes": 0,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    data = entry.subentries["branch_oadby"].data
    saved = Schedule.from_dict(data[CONF_SCHEDULE])
    assert saved.week[0] == ()
    assert saved.week[1] == (Period(time(8), time(21, 30), Mode.SMART),)
    assert data["staffed_free_entry"] == []


async def test_zeroconf_ignored_controller_stays_ignored(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A controller an administrator ignored is not offered again, nor offered as a service."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": "controller_SL-0001", "title": "Oadby Library"},
    )
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress() == []
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_ZEROCONF},
        data=_discovery(building, id="SL-0002"),
    )
    assert result["step_id"] == "zeroconf_confirm"
    # No service yet (the ignored controller is none): the form asks for a new one's name.
    fields = {str(key): value for key, value in result["data_schema"].schema.items()}
    assert isinstance(fields["service"], TextSelector)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Oadby Library", "service": "Shire Libraries"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert service_name_taken(hass, "SHIRE libraries")
    assert not service_name_taken(hass, "Oadby Library")  # the ignored entry's title


async def test_reconfigure_answers_a_moved_question(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Pointing a branch by hand drops the pending "controller at a new address" question."""
    subentry = init_integration.subentries["branch_oadby"]
    hass.config_entries.async_update_subentry(
        init_integration,
        subentry,
        data=dict(subentry.data) | {CONF_CONTROLLER_ID: "SL-0001", CONF_PORT: 1},
    )
    await hass.async_block_till_done()
    await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    assert issue_registry.async_get_issue(DOMAIN, "controller_moved_branch_oadby")

    result = await init_integration.start_subentry_reconfigure_flow(
        hass, "branch_oadby"
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "connection"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building)
    )
    assert result["reason"] == "reconfigure_successful"
    assert (
        issue_registry.async_get_issue(DOMAIN, "controller_moved_branch_oadby") is None
    )


async def test_moved_questions_of_removed_branches_are_pruned(
    hass: HomeAssistant,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A question about a branch that is gone is dropped; one about a kept branch stays."""
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_CONTROLLER_ID: "SL-0001", CONF_PORT: 1},
    )
    await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    issue_id = "controller_moved_branch_oadby"
    async_prune_moved_issues(hass, mock_config_entry.entry_id, ["branch_oadby"])
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    async_prune_moved_issues(hass, "another_service")
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    async_prune_moved_issues(hass, mock_config_entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


# -- the library's system over SIP2 as the membership backend ------------------------------------


@pytest.fixture
async def lms() -> AsyncGenerator[SimulatedLms]:
    """Serve the simulated LMS on 127.0.0.1."""
    sim = SimulatedLms()
    await sim.start()
    yield sim
    await sim.stop()


def _sip2_form(sim: SimulatedLms, **changes: Any) -> dict[str, Any]:
    """Return the LMS connection form, filled in for the simulated LMS."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.port,
        "tls": False,
        "verify_ssl": True,
        "username": "sip",
        "password": "sip-password",
        "institution": "DEMO",
        "encoding": "cp850",
    } | changes


POLICY = {
    "dialect": "koha",
    "refusing_flags": ["0", "4", "10"],
    "categories_denied": "temp, ill",
    "require_birth_date": True,
    "offline_days": 3,
    "lms_timeout": 1.5,
}


async def test_user_creates_a_service_on_its_lms(
    hass: HomeAssistant, lms: SimulatedLms
) -> None:
    """Backend SIP2: the LMS is tried before anything is saved; each failure says why."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Shire Libraries", CONF_BACKEND: "sip2"}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "sip2")
    for form, error in (
        (_sip2_form(lms, host="bad host"), {CONF_HOST: "invalid_host"}),
        (_sip2_form(lms, port=_closed_port()), {"base": "lms_cannot_connect"}),
        (_sip2_form(lms, password="wrong"), {"base": "invalid_auth"}),
        (
            _sip2_form(lms, username="sip", password=""),
            {"password": "password_required"},
        ),
        (_sip2_form(lms, institution="A|B"), {"base": "invalid_sip2_text"}),
        (_sip2_form(lms, tls=True), {"base": "tls_failed"}),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
        assert (result["step_id"], result["errors"]) == ("sip2", error), form
        # A password typed is never handed back to the form.
        for key in result["data_schema"].schema:
            if key == "password":
                assert key.default is probatio.UNDEFINED
    lms.faults.garbage = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _sip2_form(lms)
    )
    assert result["errors"] == {"base": "not_sip2"}
    lms.faults.garbage = False
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _sip2_form(lms)
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "sip2_policy")
    for policy, error in (
        (POLICY | {"dialect": "custom", "birth_date_field": "P"}, "invalid_field_code"),
        (
            POLICY | {"dialect": "custom", "expiry_field": "XE"},
            "custom_needs_birth_date",
        ),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], policy
        )
        assert result["step_id"] == "sip2_policy"
        assert error in result["errors"].values()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], POLICY)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_NAME: "Shire Libraries",
        CONF_BACKEND: "sip2",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: lms.port,
        "tls": False,
        "verify_ssl": True,
        "username": "sip",
        "password": "sip-password",
        "institution": "DEMO",
        "location": "",
        "encoding": "cp850",
    }
    assert result["options"] == POLICY | {
        "refusing_flags": ["0", "4", "10"],
        "categories_allowed": "",
        "categories_denied": "ILL, TEMP",
        "expiry_field": "",
        "birth_date_field": "",
        "category_field": "",
        "lms_card_case": "as_typed",  # cards go to the LMS exactly as typed by default
    }
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.access.system.reachable


async def test_reauth_and_reconfigure(hass: HomeAssistant, lms: SimulatedLms) -> None:
    """Reauthentication tries the new account; reconfigure switches the backend either way."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        data={CONF_NAME: "Shire Libraries", CONF_BACKEND: "sip2"}
        | _sip2_form(lms, password="old-password", location=""),
        options={"lockout_attempts": 3},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": "sip", "password": "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"username": "sip", "password": "sip-password"}
    )
    assert (result["type"], result["reason"]) == (
        FlowResultType.ABORT,
        "reauth_successful",
    )
    assert entry.data["password"] == "sip-password"

    # Reconfigure: the connection (an empty password keeps the saved one) …
    result = await entry.start_reconfigure_flow(hass)
    assert result["menu_options"] == ["reconfigure_sip2", "reconfigure_local"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sip2"}
    )
    form = _sip2_form(lms, location="BRANCH1")
    del form["password"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["reason"] == "reconfigure_successful"
    assert (entry.data["location"], entry.data["password"]) == (
        "BRANCH1",
        "sip-password",
    )
    assert entry.options["dialect"] == "evergreen"  # defaults added, the rest kept
    assert entry.options["lockout_attempts"] == 3
    # … or back to the local store, the LMS's settings and password forgotten.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_local"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {CONF_NAME: "Shire Libraries", CONF_BACKEND: "local"}
    assert entry.options == {"lockout_attempts": 3}
    await hass.async_block_till_done()
    # A local service may move to its LMS: it is tried first.
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sip2"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _sip2_form(lms, password="wrong")
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _sip2_form(lms)
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BACKEND] == "sip2"
    await hass.async_block_till_done()
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_options_of_a_service_on_its_lms(
    hass: HomeAssistant, lms: SimulatedLms, building: SimulatedBuilding
) -> None:
    """The options keep the lock-out step and add how the LMS is read; both are saved."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Shire Libraries",
        data={CONF_NAME: "Shire Libraries", CONF_BACKEND: "sip2"}
        | _sip2_form(lms, location=""),
        options={"dialect": "polaris", "offline_days": 7},
        subentries_data=[
            {
                "data": branch_data(building),
                "subentry_id": "branch_oadby",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Oadby Library",
                "unique_id": f"127.0.0.1:{building.port}:1",
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["menu_options"] == ["safety", "access", "library_system"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "access"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "lockout_attempts": 4,
            "lockout_window": 15,
            "lockout_minutes": 15,
            "room_grace": 10,
            "reader_refusals": 10,
            "reader_throttle_minutes": 5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "library_system"}
    )
    assert result["step_id"] == "library_system"
    defaults = {
        key.schema: key.default()
        for key in result["data_schema"].schema
        if callable(key.default)
    }
    assert defaults["dialect"] == "polaris"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], POLICY | {"dialect": "custom", "birth_date_field": "XB"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "safety"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["lockout_attempts"] == 4
    assert entry.options["announcement_languages"] == ["en"]
    assert (entry.options["dialect"], entry.options["birth_date_field"]) == (
        "custom",
        "XB",
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.access.system.gateway.policy.dialect.birth_date == "XB"


async def test_a_configured_controller_is_not_offered_again(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """One row per controller, none for a configured one, and no question before refusing.

    The row under *Discovered* names the controller's id and host:port. An offer still waiting
    goes once a branch is added by hand at that address; an advertisement of the configured
    address under another id is not offered; an offer confirmed after the controller was set
    up is refused before it asks for a name or a service.
    """
    entry = await _service(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(building)
    )
    (offer,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert offer["context"]["title_placeholders"] == {
        "name": "Oadby Library",
        "controller": "SL-0001",
        "host": f"127.0.0.1:{building.port}",
    }
    waiting = result["flow_id"]

    # The same controller added by hand (the branch form): its offer goes.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_BRANCH), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], _form(building)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    with pytest.raises(UnknownFlow):
        await hass.config_entries.flow.async_configure(
            waiting, {CONF_NAME: "Oadby again", "service": entry.entry_id}
        )

    # Heard again, and heard under another id at the same address: not offered.
    for props in ({}, {"id": "SL-0002", "branch": "Demo Branch"}):
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_ZEROCONF},
            data=_discovery(building, **props),
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    assert len(entry.subentries) == 1
