"""Staffed cover nearby: neighbours named in the hours step, a repair issue, the panel's data.

Two services: Shire Libraries (Oadby, Wigston) and City Libraries (Central), all three served by
the simulated building (one unit each). Oadby is smart 13:00-17:00 every day; the others are
closed until a test plans them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from http import HTTPStatus
from types import MappingProxyType
from typing import Any

import freezegun
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import InvalidData
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smart_library.building.cover import (
    ISSUE_ID,
    ISSUE_MORE,
    WS_SUBSCRIBE,
)
from custom_components.smart_library.const import (
    CONF_NEIGHBOURS,
    CONF_SCHEDULE,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from custom_components.smart_library.panel.websocket import WS_HOURS
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_data

AFTERNOONS = Schedule(week=((Period(time(13), time(17), Mode.SMART),),) * 7)
SHIRE, CITY = "01JSHIRE0000000000000000SL", "01JCITY00000000000000000SL"


@pytest.fixture
def clock() -> Iterator[Any]:
    """Home Assistant's clock: Monday 23 November 2026, 10:00 in London."""
    with freezegun.freeze_time("2026-11-23 10:00:00+00:00", tick=True) as frozen:
        yield frozen


def _service(
    building: SimulatedBuilding,
    entry_id: str,
    title: str,
    branches: list[tuple[str, str, int, Schedule]],
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=title,
        unique_id=title.lower().replace(" ", "_"),
        data={"name": title, "backend": "local"},
        subentries_data=[
            {
                "data": branch_data(building, **{CONF_SCHEDULE: plan.to_dict()}),
                "subentry_id": subentry_id,
                "subentry_type": SUBENTRY_BRANCH,
                "title": name,
                "unique_id": f"127.0.0.1:{building.port}:{unit}",
            }
            for subentry_id, name, unit, plan in branches
        ],
    )


@pytest.fixture
async def services(
    hass: HomeAssistant, clock: Any, building: SimulatedBuilding
) -> tuple[MockConfigEntry, MockConfigEntry]:
    """Set up both services in London time."""
    await hass.config.async_update(time_zone="Europe/London")
    shire = _service(
        building,
        SHIRE,
        "Shire Libraries",
        [
            ("branch_oadby", "Oadby Library", 1, AFTERNOONS),
            ("branch_wigston", "Wigston Library", 2, Schedule()),
        ],
    )
    city = _service(
        building,
        CITY,
        "City Libraries",
        [("branch_central", "Central Library", 3, Schedule())],
    )
    for entry in (shire, city):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return shire, city


async def _hours_form(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> dict[str, Any]:
    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "hours"}
    )
    assert result["step_id"] == "hours"
    return dict(result)


async def _save_hours(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    subentry_id: str,
    week: dict[str, str],
    neighbours: list[str] | None = None,
) -> None:
    """Fill the branch's hours form as an administrator would, and save it."""
    form = await _hours_form(hass, entry, subentry_id)
    data: dict[str, Any] = week | {
        "latest_smart_end": "21:30:00",
        "clearance_minutes": 0,
        "staffed_free_entry": ["entrance"],
    }
    if neighbours is not None:
        data[CONF_NEIGHBOURS] = neighbours
    result = await hass.config_entries.subentries.async_configure(form["flow_id"], data)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


def _every_day(mode: str, periods: str) -> dict[str, str]:
    days = (
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    )
    return {f"{day}_{mode}": periods for day in days}


def _issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_ID)


async def test_neighbours_are_named_in_the_hours_step(
    hass: HomeAssistant, services: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    """The form offers every other branch of every service by name, never the branch itself.

    Saved, the neighbours are kept with the plan, taken without a reload, and the repair issue
    lists Oadby's afternoons (none of its neighbours is staffed).
    """
    shire, _ = services
    runtime = shire.runtime_data
    assert _issue(hass) is None  # nobody named: nothing checked
    form = await _hours_form(hass, shire, "branch_oadby")
    field = next(k for k in form["data_schema"].schema if str(k) == CONF_NEIGHBOURS)
    options = form["data_schema"].schema[field].config["options"]
    assert options == [
        {"value": "branch_central", "label": "Central Library (City Libraries)"},
        {"value": "branch_wigston", "label": "Wigston Library (Shire Libraries)"},
    ]
    # Itself, or a branch that does not exist, is refused by the form (nothing saved).
    for wrong in ("branch_oadby", "not_a_branch"):
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                form["flow_id"],
                {"latest_smart_end": "21:30:00", "clearance_minutes": 0}
                | {CONF_NEIGHBOURS: ["branch_wigston", wrong]},
            )
    # So is a number where a branch's id belongs, or one id where a list belongs.
    for odd in (["branch_wigston", 7], 7, "branch_wigston"):
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                form["flow_id"],
                {"latest_smart_end": "21:30:00", "clearance_minutes": 0}
                | {CONF_NEIGHBOURS: odd},
            )
    assert CONF_NEIGHBOURS not in shire.subentries["branch_oadby"].data
    await _save_hours(
        hass,
        shire,
        "branch_oadby",
        _every_day("smart", "13:00-17:00"),
        ["branch_wigston", "branch_central"],
    )
    assert shire.subentries["branch_oadby"].data[CONF_NEIGHBOURS] == [
        "branch_wigston",
        "branch_central",
    ]
    assert shire.state is ConfigEntryState.LOADED
    assert shire.runtime_data is runtime  # not reloaded
    issue = _issue(hass)
    assert issue is not None
    assert issue.translation_key == ISSUE_MORE
    placeholders = issue.translation_placeholders or {}
    assert placeholders["count"] == "28"  # every afternoon of four weeks
    assert placeholders["more"] == "18"
    lines = placeholders["periods"].splitlines()
    assert len(lines) == 10
    assert lines[0] == "- Oadby Library: Monday 23 Nov 13:00–17:00"
    assert lines[1] == "- Oadby Library: Tuesday 24 Nov 13:00–17:00"

    # Shown again, the form has them ticked.
    form = await _hours_form(hass, shire, "branch_oadby")
    shown = {str(k): k.description for k in form["data_schema"].schema}
    assert shown[CONF_NEIGHBOURS] == {
        "suggested_value": ["branch_wigston", "branch_central"]
    }


async def test_the_issue_goes_when_a_neighbour_is_staffed(
    hass: HomeAssistant, services: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    """Part cover leaves the rest listed; full cover (another service's branch) ends the issue.

    No reload anywhere: each change is a saved hours form.
    """
    shire, city = services
    runtimes = (shire.runtime_data, city.runtime_data)
    await _save_hours(
        hass,
        shire,
        "branch_oadby",
        _every_day("smart", "13:00-17:00"),
        ["branch_wigston", "branch_central"],
    )
    assert _issue(hass) is not None
    # Wigston staffed 13:00-15:00 every day: 15:00-17:00 is still uncovered.
    await _save_hours(
        hass, shire, "branch_wigston", _every_day("staffed", "13:00-15:00")
    )
    issue = _issue(hass)
    assert issue is not None
    placeholders = issue.translation_placeholders or {}
    assert placeholders["periods"].splitlines()[0] == (
        "- Oadby Library: Monday 23 Nov 15:00–17:00"
    )
    # Central staffed 15:00-18:00: with Wigston, every afternoon is covered.
    await _save_hours(
        hass, city, "branch_central", _every_day("staffed", "15:00-18:00")
    )
    assert _issue(hass) is None
    assert (shire.runtime_data, city.runtime_data) == runtimes


async def test_a_holiday_and_the_daily_tick(
    hass: HomeAssistant,
    clock: Any,
    services: tuple[MockConfigEntry, MockConfigEntry],
) -> None:
    """A neighbour's holiday uncovers that day; once it has passed, the daily tick drops it."""
    shire, _ = services
    await _save_hours(
        hass, shire, "branch_wigston", _every_day("staffed", "12:00-18:00")
    )
    await _save_hours(
        hass,
        shire,
        "branch_oadby",
        _every_day("smart", "13:00-17:00"),
        ["branch_wigston"],
    )
    assert _issue(hass) is None
    wigston = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_wigston"), shire.entry_id
    )
    assert wigston is not None
    await hass.services.async_call(
        DOMAIN,
        "add_exception",
        {"branch": wigston.id, "date": "2026-11-24", "label": "Staff training"},
        blocking=True,
    )
    await hass.async_block_till_done()
    issue = _issue(hass)
    assert issue is not None and issue.translation_key == ISSUE_ID
    assert (issue.translation_placeholders or {})["periods"] == (
        "- Oadby Library: Tuesday 24 Nov 13:00–17:00"
    )
    # The day after the holiday, just after midnight: the tick finds nothing left.
    clock.move_to("2026-11-25 00:00:05+00:00")
    async_fire_time_changed(hass, dt_util.utcnow())
    await hass.async_block_till_done()
    assert _issue(hass) is None


async def test_a_removed_neighbour_drops_out(
    hass: HomeAssistant, services: tuple[MockConfigEntry, MockConfigEntry]
) -> None:
    """Central removed: Oadby names nobody left, so it is not checked; no error anywhere."""
    shire, city = services
    await _save_hours(
        hass,
        shire,
        "branch_oadby",
        _every_day("smart", "13:00-17:00"),
        ["branch_central"],
    )
    assert _issue(hass) is not None
    assert hass.config_entries.async_remove_subentry(city, "branch_central")
    await hass.async_block_till_done()
    assert _issue(hass) is None
    # The form no longer offers it and shows nothing ticked; saving works.
    form = await _hours_form(hass, shire, "branch_oadby")
    shown = {str(k): k.description for k in form["data_schema"].schema}
    assert shown[CONF_NEIGHBOURS] == {"suggested_value": []}
    field = next(k for k in form["data_schema"].schema if str(k) == CONF_NEIGHBOURS)
    assert [
        o["value"] for o in form["data_schema"].schema[field].config["options"]
    ] == ["branch_wigston"]
    await _save_hours(hass, shire, "branch_oadby", _every_day("smart", "13:00-17:00"))
    assert shire.subentries["branch_oadby"].data[CONF_NEIGHBOURS] == []


async def test_the_panel_and_the_subscription(
    hass: HomeAssistant,
    services: tuple[MockConfigEntry, MockConfigEntry],
    hass_ws_client: WebSocketGenerator,
    hass_read_only_user: MockUser,
) -> None:
    """The hours editor reads each branch's cover; the overview's card is told of each change.

    A read-only user may subscribe (opening hours are no secret: branch names and times only).
    """
    shire, _ = services
    admin = await hass_ws_client(hass)
    await admin.send_json_auto_id({"type": WS_HOURS})
    answer = await admin.receive_json()
    cover = {b["id"]: b["cover"] for b in answer["result"]["branches"]}
    assert cover["branch_oadby"]["checked"] is False
    assert cover["branch_oadby"]["uncovered"] == []
    assert [c["id"] for c in cover["branch_oadby"]["neighbour_choices"]] == [
        "branch_central",
        "branch_wigston",
    ]

    refresh = await hass.auth.async_create_refresh_token(hass_read_only_user, CLIENT_ID)
    viewer = await hass_ws_client(hass, hass.auth.async_create_access_token(refresh))
    await viewer.send_json_auto_id({"type": WS_SUBSCRIBE})
    assert (await viewer.receive_json())["success"]
    first = await viewer.receive_json()
    assert first["event"] == {"weeks": 4, "periods": []}

    await _save_hours(
        hass,
        shire,
        "branch_oadby",
        _every_day("smart", "13:00-17:00"),
        ["branch_wigston"],
    )
    pushed = (await viewer.receive_json())["event"]["periods"]
    assert len(pushed) == 28
    assert pushed[0] == {
        "branch_id": "branch_oadby",
        "branch": "Oadby Library",
        "service": "Shire Libraries",
        "start": "2026-11-23T13:00:00+00:00",
        "end": "2026-11-23T17:00:00+00:00",
    }
    await admin.send_json_auto_id({"type": WS_HOURS})
    answer = await admin.receive_json()
    cover = {b["id"]: b["cover"] for b in answer["result"]["branches"]}
    assert cover["branch_oadby"]["checked"] is True
    assert cover["branch_oadby"]["neighbours"] == ["branch_wigston"]
    assert len(cover["branch_oadby"]["uncovered"]) == 28
    assert cover["branch_wigston"]["uncovered"] == []

    await _save_hours(
        hass, shire, "branch_wigston", _every_day("staffed", "09:00-17:00")
    )
    assert (await viewer.receive_json())["event"]["periods"] == []


async def _token(hass: HomeAssistant, user: MockUser) -> str:
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


async def test_only_administrators_change_neighbours(
    hass: HomeAssistant,
    services: tuple[MockConfigEntry, MockConfigEntry],
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_user: MockUser,
) -> None:
    """A read-only user and a non-admin member of staff cannot open the hours step at all."""
    shire, _ = services
    assert await async_setup_component(hass, "config", {})
    staff = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    staff.add_to_hass(hass)
    client = await hass_client_no_auth()
    for user in (hass_read_only_user, staff):
        headers = {"Authorization": f"Bearer {await _token(hass, user)}"}
        response = await client.post(
            "/api/config/config_entries/subentries/flow",
            json={
                "handler": [shire.entry_id, "branch"],
                "subentry_id": "branch_oadby",
                "show_advanced_options": False,
            },
            headers=headers,
        )
        assert response.status == HTTPStatus.UNAUTHORIZED
    assert CONF_NEIGHBOURS not in shire.subentries["branch_oadby"].data
    assert _issue(hass) is None


async def test_no_false_warning_while_a_neighbours_service_starts_or_reloads(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Central covers Oadby: starting, or reloading City, never shows Oadby uncovered.

    While a service is being set up or reloaded its branches are neither running nor gone; the
    cover waits for it rather than warn (the repair issue and the overview's card would flash
    every afternoon of four weeks). A service that does not come back (disabled) still counts
    as not staffed.
    """
    await hass.config.async_update(time_zone="Europe/London")
    staffed = Schedule(week=((Period(time(12), time(18), Mode.STAFFED),),) * 7)
    # (The cover waits for a set-up in the background: the test waits for that too.)
    shire = _service(
        building,
        SHIRE,
        "Shire Libraries",
        [("branch_oadby", "Oadby Library", 1, AFTERNOONS)],
    )
    oadby = shire.subentries["branch_oadby"]
    object.__setattr__(
        oadby,
        "data",
        MappingProxyType({**oadby.data, CONF_NEIGHBOURS: ["branch_central"]}),
    )
    city = _service(
        building,
        CITY,
        "City Libraries",
        [("branch_central", "Central Library", 3, staffed)],
    )
    warned: list[str] = []

    @callback
    def issue_changed(event: Event[Any]) -> None:
        if event.data.get("issue_id") == ISSUE_ID:
            warned.append(event.data["action"])

    hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, issue_changed)
    for entry in (shire, city):
        entry.add_to_hass(hass)
    # As at Home Assistant's start: both services set up together.
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert shire.state is city.state is ConfigEntryState.LOADED
    assert warned == []

    viewer = await hass_ws_client(hass)
    await viewer.send_json_auto_id({"type": WS_SUBSCRIBE})
    assert (await viewer.receive_json())["success"]
    assert (await viewer.receive_json())["event"]["periods"] == []
    assert await hass.config_entries.async_reload(city.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert warned == []
    assert _issue(hass) is None

    # Disabled, City does not come back: Central is not staffed, Oadby's afternoons are listed.
    await hass.config_entries.async_set_disabled_by(
        city.entry_id, ConfigEntryDisabler.USER
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert warned == ["create"]
    assert len((await viewer.receive_json())["event"]["periods"]) == 28
