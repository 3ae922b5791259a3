"""The dashboard that builds itself: every branch of every library service, found by unique id."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
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


def _rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Return an entities card's rows, those shown only under a condition unwrapped."""
    return [
        row.get("row", row) if isinstance(row, dict) else {"entity": row}
        for row in card.get("entities", [])
    ]


BANNER_KEYS = ("mode", "lockdown", "evacuation", "people", "reset", "staff_alerts")


def _entity_ids(view: dict[str, Any]) -> set[str]:
    """Return every entity a view shows."""
    found: set[str] = set()
    for card in _cards(view):
        if "entity" in card:
            found.add(card["entity"])
        if card.get("type") == "custom:smart-library-banner-card":
            found.update(card[k] for k in BANNER_KEYS if k in card)
        for row in _rows(card):
            found.add(row["entity"])
        conditions = [*card.get("conditions", []), *card.get("visibility", [])]
        while conditions:
            condition = conditions.pop()
            conditions += condition.get("conditions", [])
            if "entity" in condition:
                found.add(condition["entity"])
        if target := card.get("tap_action", {}).get("target"):
            found.update(target["entity_id"])
    return found


def _is_button(card: dict[str, Any]) -> bool:
    """Return True for a card that performs an action when pressed (a one-line tile)."""
    return card.get("tap_action", {}).get("action") == "perform-action"


def _section(view: dict[str, Any], heading: str) -> dict[str, Any]:
    return next(
        s
        for s in view["sections"]
        if s["cards"][0].get("type") == "heading"
        and s["cards"][0]["heading"] == heading
    )


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
    *blocks, cover = overview["sections"]
    headings = [s["cards"][0] for s in blocks]
    assert [h["heading"] for h in headings] == [
        "Needs attention now",
        "Matlock Library",
        "Oadby Library",
    ]
    # Last, full width: the smart periods ahead with no neighbour staffed (hidden while none).
    assert cover == {
        "type": "grid",
        "column_span": 4,
        "cards": [{"type": "custom:smart-library-cover-card"}],
    }
    oadby = overview["sections"][2]
    assert oadby["cards"][0]["tap_action"]["navigation_path"] == (
        "/smart-library/oadby-library"
    )
    # Which service each branch belongs to.
    assert oadby["cards"][1]["heading"] == "Shire Libraries"
    # Each block: mode, closing time as a clock time, people inside, fire, controller.
    rows = next(c for c in oadby["cards"] if c["type"] == "entities")["entities"]
    by_name = {row.get("row", row)["name"]: row for row in rows}
    # The closing time only while the branch is open by its hours: closed, the mode says
    # "Closed", never "Closes at: Unknown"; the next change not during an evacuation or a
    # lockdown, which only a person ends.
    assert by_name["Closes at"] == {
        "type": "conditional",
        "conditions": [
            {
                "condition": "state",
                "entity": "sensor.oadby_library_closes_at",
                "state_not": ["unknown", "unavailable"],
            },
            {
                "condition": "state",
                "entity": "sensor.oadby_library_mode",
                "state": ["staffed", "smart", "event"],
            },
        ],
        "row": {
            "entity": "sensor.oadby_library_closes_at",
            "name": "Closes at",
            "format": "time",
        },
    }
    assert by_name["Then"]["row"]["attribute"] == "next_mode"
    assert {
        "condition": "state",
        "entity": "sensor.oadby_library_mode",
        "state_not": ["evacuation", "evacuation_reset_needed", "lockdown"],
    } in by_name["Next change"]["conditions"]
    # What is wrong shows only while it is (all clear: the mode and the times); a fire alarm
    # whose state is unknown shows (not "off"); the people inside are the heading's badge.
    assert by_name["Fire alarm"]["conditions"] == [
        {
            "condition": "state",
            "entity": "binary_sensor.oadby_library_fire_alarm",
            "state_not": "off",
        }
    ]
    assert by_name["Unacknowledged alarms"]["conditions"][0]["state_not"] == "0"
    assert by_name["Controller"]["conditions"][0]["state_not"] == "on"
    assert oadby["cards"][0]["badges"] == [
        {
            "type": "entity",
            "entity": "sensor.oadby_library_people_inside",
            "show_state": True,
        }
    ]
    by_name = {k: v.get("row", v) for k, v in by_name.items()}
    for name, entity in {
        "Mode": "sensor.oadby_library_mode",
        "Fire alarm": "binary_sensor.oadby_library_fire_alarm",
        "Controller": "binary_sensor.oadby_library_controller_connected",
    }.items():
        assert by_name[name]["entity"] == entity
    matlock = _entity_ids(_view(config, "Matlock Library"))
    assert "lock.matlock_library_entrance_door" in matlock
    assert not any("oadby" in e for e in matlock)  # each view shows its own branch only


async def test_a_renamed_entity_is_still_found_and_the_banners_come_first(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Found by unique id: an entity id a user renamed is followed; banners lead, full width.

    One banner per state, each shown only while it lasts: the fire alarm (the mode in
    evacuation), the reset needed after it (never both: the mode is in one state at a time),
    the lockdown; an unknown fire alarm state is never shown as safe.
    """
    registry = er.async_get(hass)
    registry.async_update_entity(
        "sensor.oadby_library_mode", new_entity_id="sensor.oadby_state"
    )
    await hass.async_block_till_done()
    config = await _dashboard(hass, hass_ws_client)
    view = _view(config, "Oadby Library")
    top = view["sections"][0]
    assert top["column_span"] == 3  # the width of the whole view
    banners = {c.get("kind"): c for c in top["cards"] if "kind" in c}
    assert set(banners) == {"fire", "reset", "lockdown", "no_phones"}
    assert banners["fire"]["visibility"] == [
        {"condition": "state", "entity": "sensor.oadby_state", "state": "evacuation"}
    ]
    assert banners["reset"]["visibility"] == [
        {
            "condition": "state",
            "entity": "sensor.oadby_state",
            "state": "evacuation_reset_needed",
        }
    ]
    assert banners["lockdown"]["visibility"] == [
        {
            "condition": "state",
            "entity": "binary_sensor.oadby_library_locked_down",
            "state": "on",
        }
    ]
    assert banners["fire"]["mode"] == "sensor.oadby_state"  # since when, counted inside
    assert banners["fire"]["people"] == "sensor.oadby_library_people_inside"
    shire = next(
        e
        for e in hass.config_entries.async_entries(DOMAIN)
        if e.title == "Shire Libraries"
    )
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "branch_oadby"), shire.entry_id
    )
    assert device is not None
    assert banners["lockdown"]["device"] == device.id  # end_lockdown's branch
    unknown = next(c for c in top["cards"] if c["type"] == "conditional")
    assert unknown["conditions"][0] == {
        "condition": "state",
        "entity": "binary_sensor.oadby_library_fire_alarm",
        "state": ["unknown", "unavailable"],
    }
    # The section shows while any of them does, and takes no room otherwise.
    assert top["visibility"][0]["condition"] == "or"
    assert {
        "condition": "state",
        "entity": "sensor.oadby_state",
        "state": "evacuation",
    } in top["visibility"][0]["conditions"]
    # No second red "EVACUATION" alert beside the banners (it showed with "Reset needed").
    assert not any("EVACUATION" in c.get("content", "") for c in _cards(view))
    assert _section(view, "Alarms") is view["sections"][1]
    # The overview's first block: every branch's banners and alarms, full width.
    attention = _view(config, "Overview")["sections"][0]
    assert attention["column_span"] == 4
    assert attention["cards"][0]["heading"] == "Needs attention now"
    fires = [c["branch"] for c in attention["cards"] if c.get("kind") == "fire"]
    assert fires == ["Matlock Library", "Oadby Library"]
    # The most serious first: every fire, then lockdowns, resets, alarms, nobody on call.
    kinds = [c.get("kind", "alarm") for c in attention["cards"][1:]]
    assert kinds == sorted(
        kinds,
        key=["fire", "lockdown", "reset", "alarm", "no_phones"].index,
    )
    # "Nobody gets the staff alerts" once per library service.
    assert [
        c["service"] for c in attention["cards"] if c.get("kind") == "no_phones"
    ] == [
        "Dale Libraries",
        "Shire Libraries",
    ]


async def test_each_person_is_offered_what_they_may_do(
    hass: HomeAssistant,
    county: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
    hass_read_only_access_token: str,
) -> None:
    """The layout fits the user asking: no control that would only answer "Unauthorized".

    An administrator gets *Reset* in the reset banner and *End lockdown* in the lockdown
    banner; staff get the banners with "ask an administrator" (role staff, no reset) and the
    staff buttons; a read-only user gets states only: no buttons, no door release, no toggles,
    no incident texts.
    """
    staff = await hass.auth.async_create_user("Sam", group_ids=["system-users"])
    refresh = await hass.auth.async_create_refresh_token(staff, CLIENT_ID)
    staff_token = hass.auth.async_create_access_token(refresh)
    layouts = {
        "admin": await _dashboard(hass, hass_ws_client),
        "staff": await _dashboard(hass, hass_ws_client, staff_token),
        "read_only": await _dashboard(
            hass, hass_ws_client, hass_read_only_access_token
        ),
    }
    for role, config in layouts.items():
        view = _view(config, "Oadby Library")
        banners = {c["kind"]: c for c in view["sections"][0]["cards"] if "kind" in c}
        assert {b["role"] for b in banners.values()} == {role}
        buttons = {
            c["tap_action"]["target"]["entity_id"][0]
            for c in _cards(view)
            if _is_button(c)
        }
        tiles = [c for c in _cards(view) if c["type"] == "tile" and not _is_button(c)]
        incidents = _section(view, "Incidents")
        review = [
            c
            for c in incidents["cards"]
            if c["type"] == "custom:smart-library-incidents-card"
        ]
        if role == "admin":
            assert (
                banners["reset"]["reset"]
                == "button.oadby_library_reset_after_evacuation"
            )
        else:
            assert "reset" not in banners["reset"]
        # The reset is an administrator's, and only in its banner.
        assert "button.oadby_library_reset_after_evacuation" not in buttons
        if role == "read_only":
            assert buttons == set()
            assert all("features" not in t for t in tiles)
            assert review == []
            assert "todo.oadby_library_incidents_to_review" not in _entity_ids(view)
            lights = _section(view, "Lights and public PCs")["cards"][1]["entities"]
            assert {r["type"] for r in lights} == {"simple-entity"}
        else:
            assert buttons == {
                "button.oadby_library_acknowledge_alarms",
                "button.oadby_library_lock_down",
                "button.oadby_library_building_empty",
                "media_player.oadby_library_pa_zone_1",
            }
            assert all(t["features"] == [{"type": "lock-open-door"}] for t in tiles)
            assert review[0]["entity"] == "todo.oadby_library_incidents_to_review"
            assert review[0]["branch_id"] == "branch_oadby"  # its texts, for staff
        usage = _view(config, "Usage")["sections"][0]["cards"][0]
        assert usage["csv"] is (role == "admin")


async def test_doors_are_released_only_after_a_confirmation(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Doors: the lock with its open-door feature (which asks before it opens) and its states.

    A door's contact, forced and held-open rows show only while not off: all clear, a door is
    its tile and nothing more.
    """
    view = _view(await _dashboard(hass, hass_ws_client), "Oadby Library")
    doors = _section(view, "Doors")
    tiles = [c for c in doors["cards"] if c["type"] == "tile"]
    assert not any(_is_button(t) for t in tiles)
    assert [t["entity"] for t in tiles] == [
        "lock.oadby_library_entrance_door",
        "lock.oadby_library_meeting_room_door",
    ]
    assert all(t["features"] == [{"type": "lock-open-door"}] for t in tiles)
    forced = next(
        row
        for card in doors["cards"]
        for row in card.get("entities", [])
        if row["row"]["entity"] == "binary_sensor.oadby_library_entrance_door_forced"
    )
    assert forced["conditions"] == [
        {
            "condition": "state",
            "entity": "binary_sensor.oadby_library_entrance_door_forced",
            "state_not": "off",
        }
    ]
    # Announcements go to every zone, and only once confirmed.
    pa = _section(view, "Announcements")
    buttons = [c for c in pa["cards"] if _is_button(c)]
    assert {b["tap_action"]["data"]["media_content_id"] for b in buttons} == {
        "closing_15",
        "last_call",
    }
    for button in buttons:
        assert button["tap_action"]["confirmation"]["text"]
        assert button["tap_action"]["confirmation"]["confirm_text"] == button["name"]
        assert len(button["tap_action"]["target"]["entity_id"]) == 3


async def test_attempts_show_reason_and_masked_card(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """At the doors: people inside, entries today, the recent attempts (no "Reason: Member").

    The per-door rows of the last attempt (a reason row even for a grant) are gone: the recent
    attempts card lists each attempt with its outcome, and a reason only for a refusal.
    """
    view = _view(await _dashboard(hass, hass_ws_client), "Oadby Library")
    section = _section(view, "At the doors")
    rows = next(c for c in section["cards"] if c["type"] == "entities")["entities"]
    assert not [r for r in rows if r.get("type") == "attribute"]
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

    A new button is a confirmed action among the alarms; a latched-alarm binary sensor is an
    alarm (its row shown while not off); a service-level connectivity sensor (the library
    system) shows in every branch of its service; anything else goes under More.
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
    alarms = _section(view, "Alarms")
    pressed = {
        c["tap_action"]["target"]["entity_id"][0]: c
        for c in alarms["cards"]
        if _is_button(c)
    }
    assert set(pressed) == {
        button,
        "button.oadby_library_acknowledge_alarms",
        "button.oadby_library_lock_down",
    }
    for card in pressed.values():
        assert card["tap_action"]["perform_action"] == "button.press"
        assert card["tap_action"]["confirmation"]["text"].startswith("Oadby Library: ")
    # Acknowledge only while there is something to acknowledge; Lock down not while locked.
    assert pressed["button.oadby_library_acknowledge_alarms"]["visibility"] == [
        {
            "condition": "numeric_state",
            "entity": "sensor.oadby_library_unacknowledged_alarms",
            "above": 0,
        }
    ]
    lock_down = pressed["button.oadby_library_lock_down"]
    assert "an administrator ends" in lock_down["tap_action"]["confirmation"]["text"]
    conditions = {
        (c["conditions"][0]["entity"], str(c["conditions"][0]["state"]))
        for c in alarms["cards"]
        if c["type"] == "conditional"
    }
    assert (latched, "on") in conditions
    assert (lms, "['off', 'unknown', 'unavailable']") in conditions
    # All clear, the list is one line: every alarm's row shows only while it is not off.
    rows = next(c for c in alarms["cards"] if c["type"] == "entities")["entities"]
    assert rows[0] == {
        "entity": "sensor.oadby_library_unacknowledged_alarms",
        "name": "Unacknowledged alarms",
    }
    assert all(row["type"] == "conditional" for row in rows[1:])
    more = view["sections"][-1]
    assert more["cards"][0]["heading"] == "More"
    assert other in _entity_ids(more)
    incidents = _section(view, "Incidents")
    assert {
        "todo.oadby_library_incidents_to_review",
        "sensor.oadby_library_door_forced_incidents_30_days",
    } <= _entity_ids(incidents)
    assert not any("incident" in e for e in _entity_ids(more))
    # Nothing of the branch is lost: every entity is somewhere in its view.
    assert {
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, shire.entry_id)
        if e.config_subentry_id == "branch_oadby" and not e.disabled_by
    } - {"sensor.oadby_library_open_incidents"} <= _entity_ids(view)
    # The library system belongs to Shire Libraries: not shown for Dale's branch.
    overview = _view(config, "Overview")
    assert lms in _entity_ids(
        next(
            s
            for s in overview["sections"]
            if s["cards"][0].get("heading") == "Oadby Library"
        )
    )
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
    """The usage card names, per branch, the statistics the recorder has (none: none)."""
    recorded = {
        statistic_id("branch_oadby", "entries_smart"),
        statistic_id("branch_oadby", "refusals_wrong_pin"),
        statistic_id("branch_oadby", "occupancy"),
    }
    usage = _view(build_dashboard(hass, stored=recorded, role="admin"), "Usage")
    (section,) = usage["sections"]
    (card,) = section["cards"]
    assert card["type"] == "custom:smart-library-usage-card"
    assert card["csv"] is True
    matlock, oadby = card["branches"]
    assert matlock["title"] == "Matlock Library"
    assert matlock["statistics"] == {
        "modes": [],
        "ages": [],
        "refusals": [],
        "occupancy": [],
    }
    assert oadby["prefix"] == "smart_library:branch_oadby_"
    assert oadby["statistics"] == {
        "modes": ["smart_library:branch_oadby_entries_smart"],
        "ages": [],
        "refusals": ["smart_library:branch_oadby_refusals_wrong_pin"],
        "occupancy": ["smart_library:branch_oadby_occupancy"],
    }
    assert oadby["device"]  # the export_usage action's branch


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
    # The cards the views use are defined by the same module.
    assert 'const CARD = "smart-library-attempts-card";' in source
    for card in ("banner", "incidents", "usage"):
        assert f'"smart-library-{card}-card", SmartLibrary' in source


# Where the words are in a layout: blanked, what is left is its shape (cards, entities, actions).
TEXT_KEYS = frozenset(
    {"heading", "name", "title", "content", "text", "confirm_text", "dismiss_text"}
    | {"prefix", "alt_text"}
)


def _shape(value: Any) -> Any:
    """Return a layout with its words blanked (entity ids, types and conditions kept)."""
    if isinstance(value, dict):
        return {
            key: "…" if key in TEXT_KEYS and isinstance(item, str) else _shape(item)
            for key, item in value.items()
            if key != "texts"
        }
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value


async def _in_language(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, language: Any
) -> dict[str, Any]:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "smart_library/dashboard",
            "dashboard": "smart-library",
            "language": language,
        }
    )
    reply = await client.receive_json()
    assert reply["success"], reply
    result: dict[str, Any] = reply["result"]
    return result


def _headings(view: dict[str, Any]) -> list[str]:
    return [
        s["cards"][0]["heading"]
        for s in view["sections"]
        if s["cards"][0].get("type") == "heading"
    ]


def _names(view: dict[str, Any]) -> dict[str, str]:
    """Return what each entity is called in a view: tiles and rows, by entity id."""
    found: dict[str, str] = {}
    for card in _cards(view):
        if card.get("type") == "tile" and not _is_button(card):
            found[card["entity"]] = card["name"]
        for row in _rows(card):
            if "name" in row:
                found.setdefault(row["entity"], row["name"])
    return found


def _button_card(view: dict[str, Any], entity_id: str) -> dict[str, Any]:
    return next(
        c
        for c in _cards(view)
        if _is_button(c) and c["tap_action"]["target"]["entity_id"][0] == entity_id
    )


async def test_a_danish_or_welsh_user_reads_the_dashboard_in_their_language(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Headings, rows, alarms, buttons and entity names in the profile's language.

    Home Assistant itself speaks English here: a Danish user still reads Danish entity names
    (from the integration's translations), not the English ones Home Assistant registered. The
    layout is otherwise the same in every language: the same cards, entities and actions.
    """
    assert hass.config.language == "en"
    english = await _in_language(hass, hass_ws_client, "en")
    danish = await _in_language(hass, hass_ws_client, "da")
    welsh = await _in_language(hass, hass_ws_client, "cy")
    assert _shape(danish) == _shape(english)
    assert _shape(welsh) == _shape(english)
    assert [v["title"] for v in danish["views"]] == [
        "Oversigt",
        "Matlock Library",  # the branches' own names are the library's
        "Oadby Library",
        "Statistik",
    ]
    assert [v["title"] for v in welsh["views"]][0::3] == ["Trosolwg", "Defnydd"]
    en_view, da_view, cy_view = (
        _view(config, "Oadby Library") for config in (english, danish, welsh)
    )
    assert _headings(en_view)[:3] == ["Alarms", "Doors", "At the doors"]
    assert _headings(da_view)[:3] == ["Alarmer", "Døre", "Ved dørene"]
    assert _headings(cy_view)[:3] == ["Larymau", "Drysau", "Wrth y drysau"]
    names = {
        language: _names(view)
        for language, view in (("en", en_view), ("da", da_view), ("cy", cy_view))
    }
    # Rows the dashboard names itself, and entities named by their translations.
    for entity_id, expected in {
        "sensor.oadby_library_people_inside": ("People inside", "Personer inde", "Pobl y tu mewn"),
        "lock.oadby_library_entrance_door": ("Entrance door", "Indgangsdør", "Drws y fynedfa"),
        "sensor.oadby_library_mode": ("Mode", "Tilstand", "Modd"),
        "switch.oadby_library_public_pcs_1": ("Public PCs 1", "Offentlige pc'er 1", "Cyfrifiaduron cyhoeddus 1"),
    }.items():  # fmt: skip
        assert (
            names["en"][entity_id],
            names["da"][entity_id],
            names["cy"][entity_id],
        ) == expected
    # A button: its name (the entity's, translated), its question and its two answers.
    button = "button.oadby_library_acknowledge_alarms"
    da_button = _button_card(da_view, button)
    assert da_button["name"] == "Kvittér alarmer"
    assert da_button["tap_action"]["confirmation"] == {
        "text": "Oadby Library: kvittér for alle viste alarmer nu?",
        "confirm_text": "Kvittér alarmer",
        "dismiss_text": "Annuller",
    }
    cy_button = _button_card(cy_view, button)
    assert cy_button["name"] == "Cydnabod larymau"
    assert cy_button["tap_action"]["confirmation"]["dismiss_text"] == "Canslo"
    # The PA's quick messages.
    pa = [
        c["name"] for c in _section(da_view, "Højttaleranlæg")["cards"] if _is_button(c)
    ]
    assert pa == ["Lukker om 15 min.", "Sidste udkald"]
    # An alarm's sentence, and the fire alarm input nobody reads.
    contents = " ".join(c.get("content", "") for c in _cards(da_view))
    assert "Brandalarmens tilstand er ukendt — Oadby Library" in contents
    assert "Nogen har trykket på en overfaldsknap. Gå derhen nu." in contents
    assert "Someone pressed a panic button" not in contents
    # The cards' own words come with the layout, refusal reasons included.
    assert danish["texts"]["banner.fire_title"] == "BRANDALARM — {branch}"
    assert danish["texts"]["reason.wrong_pin"] == "Forkert pinkode"
    assert welsh["texts"]["banner.reset_confirm"] == "Ie, ailosod"
    assert english["texts"]["banner.fire_title"] == "FIRE ALARM — {branch}"


async def test_a_name_a_user_gave_stays_as_given_in_every_language(
    hass: HomeAssistant, county: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Only the names nobody changed are translated: "Front door" stays "Front door"."""
    er.async_get(hass).async_update_entity(
        "lock.oadby_library_entrance_door", name="Front door"
    )
    await hass.async_block_till_done()
    for language in ("da", "cy", "en"):
        view = _view(
            await _in_language(hass, hass_ws_client, language), "Oadby Library"
        )
        names = _names(view)
        assert names["lock.oadby_library_entrance_door"] == "Front door"
    assert names["lock.oadby_library_meeting_room_door"] == "Meeting room door"


@pytest.mark.parametrize("language", ["en-GB", "fr", "<b>da</b>", "", "../../da"])
async def test_a_language_not_shipped_reads_english(
    hass: HomeAssistant,
    county: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    language: str,
) -> None:
    """British English, French or anything odd: the English dashboard, word for word."""
    english = await _in_language(hass, hass_ws_client, "en")
    assert await _in_language(hass, hass_ws_client, language) == english
    assert english == await _dashboard(hass, hass_ws_client)  # no language: English


@pytest.mark.parametrize("language", ["x" * 36, "da" * 5000, 7, ["da"], None])
async def test_a_bogus_language_is_refused_cleanly(
    hass: HomeAssistant,
    county: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    language: Any,
) -> None:
    """An oversized or non-text language is refused as bad input; the connection still works."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "smart_library/dashboard", "language": language}
    )
    reply = await client.receive_json()
    assert reply["success"] is False
    assert reply["error"]["code"] == "invalid_format"
    await client.send_json_auto_id(
        {"type": "smart_library/dashboard", "language": "da"}
    )
    reply = await client.receive_json()
    assert reply["success"], reply
    assert reply["result"]["views"][0]["title"] == "Oversigt"


def test_the_strategy_module_knows_every_word_it_uses_in_english() -> None:
    """The cards' English beneath is en.json's, and every key they ask for is in it."""
    source = STRATEGY_FILE.read_text(encoding="utf-8")
    block = re.search(
        r"const ENGLISH = /\* texts/dashboard/en.json: frontend \*/ (\{.*?\}) /\* end \*/;",
        source,
        re.DOTALL,
    )
    assert block is not None
    english = json.loads(block.group(1))
    catalogue = json.loads(
        (ROOT / "custom_components/smart_library/texts/dashboard/en.json").read_text(
            encoding="utf-8"
        )
    )["frontend"]

    def flat(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
        found: dict[str, str] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                found |= flat(value, f"{prefix}{key}.")
            else:
                found[f"{prefix}{key}"] = value
        return found

    assert english == flat(catalogue)
    asked = set(re.findall(r'\bt\("([\w.]+)"', source))
    counted = set(re.findall(r'\btn\("([\w.]+)"', source))
    assert asked and counted
    assert asked - english.keys() == set()
    assert {f"{key}.{form}" for key in counted for form in ("one", "other")} <= (
        english.keys()
    )
