"""The dashboard that builds itself: every branch of every library service, found by unique id."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
import re
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
import yaml

from custom_components.smart_library.const import (
    BACKEND_LOCAL,
    CONF_BACKEND,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.dashboard.strategy import (
    STRATEGY_FILE,
    STRATEGY_URL,
    async_setup_dashboard,
    build_dashboard,
)
from custom_components.smart_library.usage.statistics import statistic_id
from simulator.building import BuildingTiming, SimulatedBuilding

from .conftest import branch_data

ROOT = Path(__file__).parents[2]


@pytest.fixture
async def second_building(socket_enabled: None) -> AsyncGenerator[SimulatedBuilding]:
    """Serve a second simulated branch building, for a second library service."""
    sim = SimulatedBuilding(timing=BuildingTiming(tick=0.02, door_open_delay=0.05))
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.stop()


@pytest.fixture
async def county(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    second_building: SimulatedBuilding,
) -> MockConfigEntry:
    """Shire Libraries (Oadby) as in every test, and a second service: Dale Libraries (Matlock)."""
    dale = MockConfigEntry(
        domain=DOMAIN,
        title="Dale Libraries",
        unique_id="dale_libraries",
        data={CONF_NAME: "Dale Libraries", CONF_BACKEND: BACKEND_LOCAL},
        subentries_data=[
            {
                "data": branch_data(second_building),
                "subentry_id": "branch_matlock",
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Matlock Library",
                "unique_id": f"127.0.0.1:{second_building.port}:1",
            }
        ],
    )
    dale.add_to_hass(hass)
    assert await hass.config_entries.async_setup(dale.entry_id)
    await hass.async_block_till_done()
    await async_setup_dashboard(hass)  # the integration's async_setup does it too
    return dale


def _cards(view: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every card of a view, nested ones (conditional, sections) included."""
    stack = [card for section in view.get("sections", []) for card in section["cards"]]
    stack += view.get("cards", [])
    while stack:
        card = stack.pop()
        yield card
        if "card" in card:
            stack.append(card["card"])


def _entity_ids(view: dict[str, Any]) -> set[str]:
    """Return every entity a view shows."""
    found: set[str] = set()
    for card in _cards(view):
        for key in ("entity",):
            if key in card:
                found.add(card[key])
        for row in card.get("entities", []):
            found.add(row["entity"] if isinstance(row, dict) else row)
        for condition in card.get("conditions", []):
            found.add(condition["entity"])
        if target := card.get("tap_action", {}).get("target"):
            found.update(target["entity_id"])
    return found


def _view(config: dict[str, Any], title: str) -> dict[str, Any]:
    return next(v for v in config["views"] if v["title"] == title)


async def _dashboard(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, token: str | None = None
) -> dict[str, Any]:
    client = await hass_ws_client(hass, token) if token else await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "smart_library/dashboard", "dashboard": "smart-library"}
    )
    reply = await client.receive_json()
    assert reply["success"], reply
    result: dict[str, Any] = reply["result"]
    return result


async def test_every_branch_of_every_service_appears_with_no_hand_edit(
    hass: HomeAssistant,
    county: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """The overview has a block per branch of both services; each branch has its own view.

    Asked by a read-only user, who may see dashboards like anyone else.
    """
    config = await _dashboard(hass, hass_ws_client, hass_read_only_access_token)
    titles = [v["title"] for v in config["views"]]
    assert titles == ["Overview", "Matlock Library", "Oadby Library", "Usage"]
    overview = _view(config, "Overview")
    headings = [s["cards"][0] for s in overview["sections"]]
    assert [h["heading"] for h in headings] == [
        "Needs attention now",
        "Matlock Library",
        "Oadby Library",
    ]
    oadby = overview["sections"][2]
    assert oadby["cards"][0]["tap_action"]["navigation_path"] == (
        "/smart-library/oadby-library"
    )
    # Which service each branch belongs to.
    assert oadby["cards"][1]["heading"] == "Shire Libraries"
    # Each block: mode, closing time as a clock time, people inside, fire, controller.
    rows = next(c for c in oadby["cards"] if c["type"] == "entities")["entities"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["Closes at"] == {
        "entity": "sensor.oadby_library_closes_at",
        "name": "Closes at",
        "format": "time",
    }
    assert by_name["Then"]["attribute"] == "next_mode"
    for name, entity in {
        "Mode": "sensor.oadby_library_mode",
        "People inside": "sensor.oadby_library_people_inside",
        "Fire alarm": "binary_sensor.oadby_library_fire_alarm",
        "Controller": "binary_sensor.oadby_library_controller_connected",
    }.items():
        assert by_name[name]["entity"] == entity
    matlock = _entity_ids(_view(config, "Matlock Library"))
    assert "lock.matlock_library_entrance_door" in matlock
    assert not any("oadby" in e for e in matlock)  # each view shows its own branch only


async def test_a_renamed_entity_is_still_found_and_the_fire_alarm_comes_first(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Found by unique id: an entity id a user renamed is followed; alarms lead the branch view."""
    registry = er.async_get(hass)
    registry.async_update_entity(
        "binary_sensor.oadby_library_fire_alarm",
        new_entity_id="binary_sensor.oadby_fire_panel",
    )
    await hass.async_block_till_done()
    config = await _dashboard(hass, hass_ws_client)
    view = _view(config, "Oadby Library")
    first = view["sections"][0]["cards"]
    assert first[0]["heading"] == "Alarms"
    fire = first[1]
    assert fire["type"] == "conditional"
    assert fire["conditions"] == [
        {
            "condition": "state",
            "entity": "binary_sensor.oadby_fire_panel",
            "state": "on",
        }
    ]
    assert 'alert-type="error"' in fire["card"]["content"]
    assert "FIRE ALARM" in fire["card"]["content"]
    # An unknown fire alarm state is never shown as safe.
    unknown = first[2]
    assert unknown["conditions"][0]["state"] == ["unknown", "unavailable"]
    assert "binary_sensor.oadby_library_fire_alarm" not in _entity_ids(view)
    # The overview's first block shows it too, and only while something needs a person.
    attention = _view(config, "Overview")["sections"][0]
    assert any(
        c.get("conditions", [{}])[0].get("entity") == "binary_sensor.oadby_fire_panel"
        and "FIRE ALARM — Oadby Library" in c["card"]["content"]
        for c in attention["cards"]
    )
    shown_when = attention["visibility"][0]
    assert shown_when["condition"] == "or"
    assert {
        "condition": "state",
        "entity": "binary_sensor.oadby_fire_panel",
        "state": "on",
    } in shown_when["conditions"]


async def test_doors_are_released_only_after_a_confirmation(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Doors: the lock with its open-door feature (which asks before it opens) and its states."""
    view = _view(await _dashboard(hass, hass_ws_client), "Oadby Library")
    doors = next(s for s in view["sections"] if s["cards"][0]["heading"] == "Doors")
    tiles = [c for c in doors["cards"] if c["type"] == "tile"]
    assert [t["entity"] for t in tiles] == [
        "lock.oadby_library_entrance_door",
        "lock.oadby_library_meeting_room_door",
    ]
    assert all(t["features"] == [{"type": "lock-open-door"}] for t in tiles)
    assert "binary_sensor.oadby_library_entrance_door_forced" in _entity_ids(doors)
    # Announcements go to every zone, and only once confirmed.
    pa = next(
        s for s in view["sections"] if s["cards"][0]["heading"] == "Announcements"
    )
    buttons = [c for c in pa["cards"] if c["type"] == "button"]
    assert {b["tap_action"]["data"]["media_content_id"] for b in buttons} == {
        "closing_15",
        "last_call",
    }
    for button in buttons:
        assert button["tap_action"]["confirmation"]["text"]
        assert len(button["tap_action"]["target"]["entity_id"]) == 3


async def test_attempts_show_reason_and_masked_card(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """At the doors: each door's last attempt with its reason and card, and the recent ones."""
    view = _view(await _dashboard(hass, hass_ws_client), "Oadby Library")
    section = next(
        s for s in view["sections"] if s["cards"][0]["heading"] == "At the doors"
    )
    rows = next(c for c in section["cards"] if c["type"] == "entities")["entities"]
    attributes = {
        (r["entity"], r["attribute"]) for r in rows if r.get("type") == "attribute"
    }
    assert ("event.oadby_library_entrance_access", "reason") in attributes
    assert ("event.oadby_library_entrance_access", "card") in attributes
    recent = next(
        c for c in section["cards"] if c["type"] == "custom:smart-library-attempts-card"
    )
    assert recent["entities"] == [
        {"entity": "event.oadby_library_entrance_access", "name": "Entrance"},
        {"entity": "event.oadby_library_meeting_room_access", "name": "Meeting room"},
    ]


async def test_new_kinds_of_entity_slot_in(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Entities this version does not know are placed by domain and device class, not lost.

    A new button is a confirmed action among the alarms (with acknowledge, building empty and
    reset); a latched-alarm
    binary sensor is an alarm; a service-level connectivity sensor (the library system) shows in
    every branch of its service; anything else goes under More.
    """
    registry = er.async_get(hass)
    shire = next(
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.title == "Shire Libraries"
    )

    def add(domain: str, key: str, name: str, **extra: Any) -> str:
        entry = registry.async_get_or_create(
            domain,
            DOMAIN,
            f"branch_oadby_{key}" if extra.pop("branch", True) else key,
            config_entry=shire,
            config_subentry_id=extra.pop("subentry", "branch_oadby"),
            original_name=name,
            **extra,
        )
        return entry.entity_id

    button = add("button", "silence_sounder", "Silence sounder")
    latched = add(
        "binary_sensor",
        "alarm.door_forced",
        "Door forced (latched)",
        original_device_class="problem",
    )
    lms = add(
        "binary_sensor",
        "lms_reachable",
        "Library system reachable",
        original_device_class="connectivity",
        branch=False,
        subentry=None,
    )
    other = add("sensor", "something_new", "Something new")
    config = await _dashboard(hass, hass_ws_client)
    view = _view(config, "Oadby Library")
    alarms = view["sections"][0]
    pressed = {
        c["tap_action"]["target"]["entity_id"][0]: c["tap_action"]
        for c in alarms["cards"]
        if c["type"] == "button"
    }
    assert set(pressed) >= {
        button,
        "button.oadby_library_acknowledge_alarms",
        "button.oadby_library_building_empty",
        "button.oadby_library_reset_after_evacuation",
    }
    for action in pressed.values():
        assert action["perform_action"] == "button.press"
        assert action["confirmation"]["text"].startswith("Oadby Library: ")
    conditions = {
        (c["conditions"][0]["entity"], str(c["conditions"][0]["state"]))
        for c in alarms["cards"]
        if c["type"] == "conditional"
    }
    assert (latched, "on") in conditions
    # The evacuation (its own sensor, on until a person resets the branch) and the mode's
    # reset-needed state each have their alert.
    assert ("binary_sensor.oadby_library_evacuation", "on") in conditions
    assert ("sensor.oadby_library_mode", "evacuation_reset_needed") in conditions
    assert (lms, "['off', 'unknown', 'unavailable']") in conditions
    more = view["sections"][-1]
    assert more["cards"][0]["heading"] == "More"
    assert other in _entity_ids(more)
    # Incidents have their own block: the open ones, the categories, the review list.
    incidents = next(
        s for s in view["sections"] if s["cards"][0]["heading"] == "Incidents"
    )
    assert {
        "sensor.oadby_library_open_incidents",
        "todo.oadby_library_incidents_to_review",
    } <= _entity_ids(incidents)
    assert not any("incident" in e for e in _entity_ids(more))
    # Nothing of the branch is lost: every entity is somewhere in its view.
    assert {
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, shire.entry_id)
        if e.config_subentry_id == "branch_oadby" and not e.disabled_by
    } <= _entity_ids(view)
    # The library system belongs to Shire Libraries: not shown for Dale's branch.
    assert lms in _entity_ids(_view(config, "Overview")["sections"][2])
    assert lms not in _entity_ids(_view(config, "Matlock Library"))


async def test_disabled_entities_and_removed_branches_leave_the_dashboard(
    hass: HomeAssistant, county: MockConfigEntry
) -> None:
    """A disabled entity is not shown; without any library service an info view says what to do."""
    registry = er.async_get(hass)
    registry.async_update_entity(
        "light.oadby_library_lighting_zone_1",
        disabled_by=er.RegistryEntryDisabler.USER,
    )
    config = build_dashboard(hass)
    assert "light.oadby_library_lighting_zone_1" not in _entity_ids(
        _view(config, "Oadby Library")
    )
    assert "light.oadby_library_lighting_zone_2" in _entity_ids(
        _view(config, "Oadby Library")
    )
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    empty = build_dashboard(hass)
    assert [v["title"] for v in empty["views"]] == ["Overview"]
    assert "No library branches yet" in empty["views"][0]["cards"][0]["content"]


async def test_a_removed_branch_leaves_no_view_and_no_device(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """A branch removed from its service: its view, its block and its device all go."""
    shire = next(
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.title == "Shire Libraries"
    )
    devices = dr.async_get(hass)
    assert devices.async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), shire.entry_id
    )
    assert hass.config_entries.async_remove_subentry(shire, "branch_oadby")
    await hass.async_block_till_done()
    config = await _dashboard(hass, hass_ws_client)
    assert [v["title"] for v in config["views"]] == [
        "Overview",
        "Matlock Library",
        "Usage",
    ]
    assert not any("oadby" in e for e in _entity_ids(_view(config, "Overview")))
    assert not devices.async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), shire.entry_id
    )  # no stale device left behind


async def test_the_usage_view_draws_what_is_recorded(
    hass: HomeAssistant, county: MockConfigEntry
) -> None:
    """The usage view draws the statistics the recorder has; a branch with none says so."""
    recorded = {
        statistic_id("branch_oadby", "entries_smart"),
        statistic_id("branch_oadby", "refusals_wrong_pin"),
        statistic_id("branch_oadby", "occupancy"),
    }
    usage = _view(build_dashboard(hass, stored=recorded), "Usage")
    matlock, oadby = usage["sections"]
    assert all(
        c["type"] in ("heading", "markdown") for c in matlock["cards"]
    )  # nothing recorded yet
    graphs = {c["title"]: c for c in oadby["cards"] if c["type"] == "statistics-graph"}
    assert graphs["Entries per hour by mode"]["entities"] == [
        "smart_library:branch_oadby_entries_smart"
    ]
    assert graphs["Refusals by reason, per day"]["entities"] == [
        "smart_library:branch_oadby_refusals_wrong_pin"
    ]
    assert graphs["People inside, per hour"]["stat_types"] == ["max", "mean"]


async def test_the_strategy_is_served_to_every_page(
    hass: HomeAssistant,
    county: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The strategy module is served by the integration and named as the dashboard asks for it."""
    assert await async_setup_component(hass, "frontend", {})
    await hass.async_block_till_done()
    from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL  # noqa: PLC0415

    urls = list(hass.data[DATA_EXTRA_MODULE_URL].urls)
    assert any(u.startswith(f"{STRATEGY_URL}?v=") for u in urls), urls
    client = await hass_client()
    response = await client.get(STRATEGY_URL)
    assert response.status == 200
    source = await response.text()
    assert source == STRATEGY_FILE.read_text()
    # The YAML dashboard shipped in dashboards/ names the strategy the module defines.
    dashboard = yaml.safe_load((ROOT / "dashboards" / "facilities.yaml").read_text())
    name = dashboard["strategy"]["type"].removeprefix("custom:")
    assert re.search(r"ll-strategy-dashboard-\$\{STRATEGY\}", source)
    assert f'const STRATEGY = "{name}";' in source
    assert 'type: "smart_library/dashboard"' in source
    # The attempts card the branch views use is defined by the same module.
    assert 'const CARD = "smart-library-attempts-card";' in source
