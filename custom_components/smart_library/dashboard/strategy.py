"""The dashboard that builds itself: a county overview, a view per branch, usage statistics.

How it works. The integration serves a small dashboard *strategy* (`frontend/smart-library-strategy.js`)
that every page of Home Assistant's frontend loads as a module. A dashboard whose configuration is

    strategy:
      type: custom:smart-library

asks the integration for its layout over the websocket (`smart_library/dashboard`) each time it is
opened, and the layout is built here, from what Home Assistant knows: every library service
(config entry) and its branches (sub-entries), and each branch's entities found in the entity
registry by their unique ids (`<branch id>_<key>`) and their domain and device class — never by
entity ids, which users rename. A new branch, a second library service or a new kind of entity
appears on the next page load with no hand edit: entities this module does not know yet are
placed by their domain and device class (an alarm-like binary sensor among the alarms, a button
with the actions, anything else under *More*).

Nothing here is secret: the layout names entities and their short names, which every user of the
frontend can already read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.components.http import StaticPathConfig
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_when_setup
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey
import probatio

from ..const import DOMAIN, SUBENTRY_BRANCH
from ..engine.building.floorplan import MarkerKind
from ..pages.public import PublicPages
from ..pages.store import PlanInfo
from ..usage.statistics import (
    AGE_BANDS,
    METRIC_OCCUPANCY,
    MODES,
    async_stored_statistics,
    statistic_id,
    statistic_prefix,
)

STRATEGY_FILE: Final = (
    Path(__file__).parent.parent / "frontend" / "smart-library-strategy.js"
)
STATIC_URL: Final = f"/{DOMAIN}_static"
STRATEGY_URL: Final = f"{STATIC_URL}/smart-library-strategy.js"
WS_DASHBOARD: Final = f"{DOMAIN}/dashboard"
ATTEMPTS_CARD: Final = "smart-library-attempts-card"  # defined in the strategy module
DATA_DASHBOARD: HassKey[bool] = HassKey(f"{DOMAIN}_dashboard")

# Binary sensor device classes that mean "something needs a person" when on.
ALARM_CLASSES: Final = frozenset(
    {
        "safety",
        "problem",
        "smoke",
        "heat",
        "gas",
        "carbon_monoxide",
        "tamper",
        "moisture",
    }
)
SEVERE_CLASSES: Final = frozenset({"safety", "smoke", "heat", "gas", "carbon_monoxide"})
UNKNOWN_STATES: Final = ["unknown", "unavailable"]
EVACUATION_STATES: Final = ("evacuation", "evacuation_reset_needed")
# The branch's buttons (safety.py): icon and the question asked before the press.
BUTTONS: Final = {
    "acknowledge_alarms": ("mdi:check-all", "acknowledge every alarm shown now?"),
    "building_empty": ("mdi:account-off", "is the building empty? The people count restarts from 0."),
    "lockdown_start": ("mdi:lock-alert", "lock the branch down? Only staff cards open the doors until it ends."),
    "reset_evacuation": ("mdi:restore", "has a person checked the building? Card entry starts again."),
}  # fmt: skip
ANNOUNCEMENT_BUTTONS: Final = (
    ("closing_15", "Closing in 15 min", "mdi:clock-alert-outline", "The library closes in 15 minutes"),
    ("last_call", "Last call", "mdi:exit-run", "Last call: please leave the building now"),
)  # fmt: skip


async def async_setup_dashboard(hass: HomeAssistant) -> None:
    """Serve the dashboard strategy and answer its websocket command (once, in async_setup).

    The module is added to every frontend page once the frontend is set up (at once if it
    already is); without a frontend (tests, headless installs) only the command is registered.
    """
    if hass.data.get(DATA_DASHBOARD):
        return  # served already (a second call changes nothing)
    hass.data[DATA_DASHBOARD] = True
    websocket_api.async_register_command(hass, ws_dashboard)
    # The one file, not its folder: the door tablet's files beside it are served only by its
    # own views (access/tablet.py), with their headers.
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STRATEGY_URL, str(STRATEGY_FILE), cache_headers=False)]
    )
    version = await hass.async_add_executor_job(_file_version, STRATEGY_FILE)

    async def add_module(hass: HomeAssistant, _component: str) -> None:
        from homeassistant.components.frontend import add_extra_js_url  # noqa: PLC0415

        add_extra_js_url(hass, f"{STRATEGY_URL}?v={version}")

    async_when_setup(hass, "frontend", add_module)


def _file_version(path: Path) -> str:
    """Return a short digest of a file, so a browser loads a changed strategy, not its cache."""
    from hashlib import sha256  # noqa: PLC0415

    return sha256(path.read_bytes()).hexdigest()[:12]


@websocket_api.websocket_command(
    {
        probatio.Required("type"): WS_DASHBOARD,
        # The dashboard's own URL path (e.g. "smart-library"), for links between its views.
        probatio.Optional("dashboard"): probatio.All(str, probatio.Length(max=100)),
    }
)
@websocket_api.async_response
async def ws_dashboard(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Answer the strategy with the dashboard's configuration (any logged-in user may ask)."""
    stored = await async_stored_statistics(hass)
    connection.send_result(
        msg["id"], build_dashboard(hass, dashboard=msg.get("dashboard"), stored=stored)
    )


# -- what Home Assistant knows ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One entity of a branch or service: where the dashboard puts it and what it calls it."""

    entity_id: str
    domain: str
    key: str  # the unique id after the branch id: "fire.alarm", "lock.entrance", "mode"
    name: str  # short: without the branch's name
    device_class: str | None
    category: EntityCategory | None
    options: tuple[str, ...] = ()  # an enum sensor's states

    @property
    def is_alarm(self) -> bool:
        """Return True for a binary sensor that needs a person when on."""
        return self.domain == "binary_sensor" and self.device_class in ALARM_CLASSES


@dataclass(slots=True)
class BranchLayout:
    """A branch and its entities, as the registry has them."""

    id: str
    title: str
    service: str
    path: str
    items: list[Item] = field(default_factory=list)
    service_items: list[Item] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    # The branch's floor plan (its public address and markers), when one was uploaded.
    plan: tuple[str, PlanInfo] | None = None

    def get(self, domain: str, key: str) -> Item | None:
        """Return the entity of this domain with this key, if the branch has it."""
        found = next(
            (i for i in self.items if i.domain == domain and i.key == key), None
        )
        if found is not None:
            self.used.add(found.entity_id)
        return found

    def each(
        self, domain: str, prefix: str = "", where: Callable[[Item], bool] | None = None
    ) -> list[Item]:
        """Return the entities of a domain whose key starts with `prefix` (and pass `where`)."""
        found = [
            i
            for i in self.items
            if i.domain == domain
            and i.key.startswith(prefix)
            and (where is None or where(i))
        ]
        self.used.update(i.entity_id for i in found)
        return found

    def rest(self) -> list[Item]:
        """Return the entities no section has shown yet."""
        return [i for i in self.items if i.entity_id not in self.used]


def _short_name(
    hass: HomeAssistant, entry: er.RegistryEntry, key: str, device_name: str | None
) -> str:
    """Return an entity's name without its branch's name (as Home Assistant names it now)."""
    name = entry.name or entry.original_name
    if state := hass.states.get(entry.entity_id):
        name = str(state.attributes.get("friendly_name") or name or "")
    if name and device_name and name.startswith(f"{device_name} "):
        name = name[len(device_name) + 1 :]
    if not name or name == device_name:
        name = key.replace(".", " ").replace("_", " ").capitalize()
    return name


def _items(
    hass: HomeAssistant,
    entries: Iterable[er.RegistryEntry],
    prefix: str,
    device: str | None,
) -> list[Item]:
    """Return the usable entities among registry entries, in a stable order."""
    items = []
    for entry in entries:
        if entry.disabled_by is not None or entry.hidden_by is not None:
            continue
        key = entry.unique_id.removeprefix(prefix)
        options = (entry.capabilities or {}).get("options") or ()
        items.append(
            Item(
                entity_id=entry.entity_id,
                domain=entry.domain,
                key=key,
                name=_short_name(hass, entry, key, device),
                device_class=entry.device_class or entry.original_device_class,
                category=entry.entity_category,
                options=tuple(str(o) for o in options),
            )
        )
    return sorted(items, key=lambda i: (i.domain, i.key))


def discover(hass: HomeAssistant) -> list[BranchLayout]:
    """Return every branch of every library service, with its entities, in title order."""
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    branches: list[BranchLayout] = []
    paths: set[str] = {"overview", "statistics"}
    services: list[ConfigEntry] = sorted(
        (e for e in hass.config_entries.async_entries(DOMAIN) if not e.disabled_by),
        key=lambda e: e.title.casefold(),
    )
    for service in services:
        registered = er.async_entries_for_config_entry(
            entity_registry, service.entry_id
        )
        service_items = _items(
            hass, (e for e in registered if e.config_subentry_id is None), "", None
        )
        subentries = sorted(
            (
                s
                for s in service.subentries.values()
                if s.subentry_type == SUBENTRY_BRANCH
            ),
            key=lambda s: s.title.casefold(),
        )
        pages = getattr(getattr(service, "runtime_data", None), "pages", None)
        for subentry in subentries:
            device = device_registry.async_get_device_by_identifier(
                (DOMAIN, subentry.subentry_id), service.entry_id
            )
            device_name = (
                (device.name_by_user or device.name) if device else subentry.title
            )
            path = base = slugify(subentry.title, separator="-") or "branch"
            number = 1
            while path in paths:
                number += 1
                path = f"{base}-{number}"
            paths.add(path)
            branches.append(
                BranchLayout(
                    id=subentry.subentry_id,
                    title=subentry.title,
                    service=service.title,
                    path=path,
                    items=_items(
                        hass,
                        (
                            e
                            for e in registered
                            if e.config_subentry_id == subentry.subentry_id
                        ),
                        f"{subentry.subentry_id}_",
                        device_name,
                    ),
                    service_items=service_items,
                    plan=(
                        pages.plan_of(subentry.subentry_id)
                        if isinstance(pages, PublicPages)
                        else None
                    ),
                )
            )
    return branches


# -- cards -----------------------------------------------------------------------------------------


def _alert(kind: str, title: str, text: str) -> dict[str, Any]:
    """Return a markdown card holding one alert (error, warning, info, success)."""
    return {
        "type": "markdown",
        "text_only": True,
        "content": (
            f'<ha-alert alert-type="{kind}" title="{escape(title)}">{escape(text)}</ha-alert>'
        ),
    }


def _when(
    entity_id: str, state: str | list[str], card: dict[str, Any]
) -> dict[str, Any]:
    """Return a card shown only while an entity is in a state (or one of several)."""
    return {
        "type": "conditional",
        "conditions": [{"condition": "state", "entity": entity_id, "state": state}],
        "card": card,
        "grid_options": {"columns": "full"},
    }


def _heading(text: str, icon: str, **extra: Any) -> dict[str, Any]:
    """Return a section's heading."""
    return {"type": "heading", "heading": text, "icon": icon, **extra}


def _row(
    item: Item | None, name: str | None = None, **extra: Any
) -> list[dict[str, Any]]:
    """Return an entities-card row for an entity the branch may not have (then no row)."""
    if item is None:
        return []
    return [{"entity": item.entity_id, "name": name or item.name, **extra}]


def _entities(
    rows: list[dict[str, Any]], title: str | None = None
) -> list[dict[str, Any]]:
    """Return an entities card (full names, readable at phone width), or nothing if no rows."""
    if not rows:
        return []
    card: dict[str, Any] = {"type": "entities", "state_color": True, "entities": rows}
    if title:
        card["title"] = title
    return [card]


# What an alarm asks of the person reading it, by the key of its entity (a key not listed gets
# a plain "needs a person" line): (severity, what happened).
ALARM_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "lockdown": (
        "error",
        (
            "The branch is locked down: only staff cards open the doors; leaving is always "
            "possible."
        ),
    ),
    "evacuation": (
        "error",
        (
            "The branch is being evacuated: every door released, card entry suspended until a "
            "person checks the building and resets it."
        ),
    ),
    "controller_lost": (
        "warning",
        (
            "The building controller stopped answering (it stays on until acknowledged). Doors "
            "keep what the controller last did; it times every release itself."
        ),
    ),
    "fire.fault": ("warning", "The fire panel reports a fault."),
    "tailgating": ("warning", "More people came in than a card admitted."),
    "forced": ("warning", "A door was opened without a release."),
    "held_open": ("warning", "A door has been left open too long."),
    "panic": ("error", "Someone pressed a panic button. Go now."),
}


def _alarm_text(item: Item) -> tuple[str, str]:
    """Return an alarm's severity and sentence."""
    for key in (item.key, item.key.rsplit(".", 1)[-1], item.key.split(".", 1)[0]):
        if key in ALARM_TEXTS:
            return ALARM_TEXTS[key]
    if item.device_class in SEVERE_CLASSES:
        return "error", "Needs a person now."
    return "warning", "Needs looking at."


def alerts(branch: BranchLayout, *, compact: bool = False) -> list[dict[str, Any]]:
    """Return the branch's alarms, each shown only while it is on, most serious first.

    A fire alarm or an evacuation says what to do; a safety alarm whose state is unknown says so
    (a state the integration does not know is never shown as safe). `compact` (the overview)
    leaves out the unknown-state warnings of anything but the fire alarm.
    """
    title = branch.title
    cards: list[dict[str, Any]] = []
    if fire := branch.get("binary_sensor", "fire.alarm"):
        cards.append(
            _when(
                fire.entity_id,
                "on",
                _alert(
                    "error",
                    f"FIRE ALARM — {title}",
                    "Every door is released and card checks are suspended. Evacuate the "
                    "building; the branch returns to normal only when a person resets it.",
                ),
            )
        )
        cards.append(
            _when(
                fire.entity_id,
                UNKNOWN_STATES,
                _alert(
                    "warning",
                    f"Fire alarm state unknown — {title}",
                    "The fire panel's input is not being read. Check the building.",
                ),
            )
        )
    evacuation = branch.get("binary_sensor", "evacuation")
    if (mode := branch.get("sensor", "mode")) is not None:
        if "evacuation" in mode.options and evacuation is None:
            cards.append(
                _when(
                    mode.entity_id,
                    "evacuation",
                    _alert(
                        "error", f"EVACUATION — {title}", ALARM_TEXTS["evacuation"][1]
                    ),
                )
            )
        if "evacuation_reset_needed" in mode.options:
            cards.append(
                _when(
                    mode.entity_id,
                    "evacuation_reset_needed",
                    _alert(
                        "warning",
                        f"Reset needed after the fire alarm — {title}",
                        "The fire panel is clear, but the branch stays in evacuation until a "
                        "person checks the building and resets it.",
                    ),
                )
            )
    alarms = sorted(
        (
            i
            for i in branch.each("binary_sensor", where=lambda i: i.is_alarm)
            if i.key != "fire.alarm"
        ),
        key=lambda i: (_alarm_text(i)[0] != "error", i.key != "evacuation", i.key),
    )
    for item in alarms:
        severity, text = _alarm_text(item)
        label = "EVACUATION" if item.key == "evacuation" else item.name
        cards.append(
            _when(item.entity_id, "on", _alert(severity, f"{label} — {title}", text))
        )
        if item.device_class in SEVERE_CLASSES and not compact:
            cards.append(
                _when(
                    item.entity_id,
                    UNKNOWN_STATES,
                    _alert(
                        "warning",
                        f"{item.name}: state unknown — {title}",
                        "Not being read. Check the building.",
                    ),
                )
            )
    latched_controller = branch.get("binary_sensor", "controller_lost") is not None
    connectivity = [
        *branch.each(
            "binary_sensor",
            where=lambda i: (
                i.device_class == "connectivity"
                # The latched "controller lost" alarm above already says it.
                and not (latched_controller and i.key == "controller_connected")
            ),
        ),
        *(i for i in branch.service_items if i.device_class == "connectivity"),
    ]
    cards.extend(
        _when(
            item.entity_id,
            ["off", *UNKNOWN_STATES],
            _alert(
                "warning",
                f"{item.name}: not answering — {title}",
                "What depends on it may not work until it answers again.",
            ),
        )
        for item in connectivity
    )
    return cards


def status_rows(branch: BranchLayout) -> list[dict[str, Any]]:
    """Return the rows a duty manager reads first: mode, closing time, people, links."""
    rows: list[dict[str, Any]] = []
    rows += _row(branch.get("sensor", "mode"), "Mode")
    rows += _row(branch.get("sensor", "closes_at"), "Closes at", format="time")
    if next_change := branch.get("sensor", "next_change"):
        rows += _row(next_change, "Next change", format="time")
        rows.append(
            {
                "type": "attribute",
                "entity": next_change.entity_id,
                "attribute": "next_mode",
                "name": "Then",
            }
        )
    rows += _row(branch.get("sensor", "people_inside"), "People inside")
    rows += _row(branch.get("sensor", "unacknowledged_alarms"), "Unacknowledged alarms")
    rows += _row(branch.get("binary_sensor", "fire.alarm"), "Fire alarm")
    rows += _row(branch.get("binary_sensor", "controller_connected"), "Controller")
    for item in branch.service_items:
        if item.domain == "binary_sensor" and item.device_class == "connectivity":
            rows += _row(item)
    return rows


def overview_section(
    branch: BranchLayout, dashboard: str | None, *, services: int = 1
) -> dict[str, Any]:
    """Return one branch's block of the county overview (its alarms are in `attention`)."""
    heading = _heading(branch.title, "mdi:bookshelf")
    if dashboard:
        heading["tap_action"] = {
            "action": "navigate",
            "navigation_path": f"/{dashboard}/{branch.path}",
        }
    heading["badges"] = [
        {"type": "entity", "entity": item.entity_id, "show_state": True}
        for item in (branch.get("sensor", "people_inside"),)
        if item is not None
    ]
    cards = [heading]
    if services > 1:  # which library service the branch belongs to
        cards.append(
            {"type": "heading", "heading": branch.service, "heading_style": "subtitle"}
        )
    return {"type": "grid", "cards": [*cards, *_entities(status_rows(branch))]}


def attention(branches: list[BranchLayout]) -> dict[str, Any] | None:
    """Return the overview's first block: every branch's alarm while it is on, else hidden.

    At phone width it comes before every branch, so an alarm anywhere in the county is the first
    thing on the screen; the section is not shown at all while nothing needs a person.
    """
    cards = [card for branch in branches for card in alerts(branch, compact=True)]
    if not cards:
        return None
    return {
        "type": "grid",
        "cards": [_heading("Needs attention now", "mdi:alert"), *cards],
        "visibility": [
            {
                "condition": "or",
                "conditions": [
                    condition for card in cards for condition in card["conditions"]
                ],
            }
        ],
    }


def _confirmed(
    name: str, icon: str, action: str, target: list[str], text: str, **data: Any
) -> dict[str, Any]:
    """Return a button that performs an action after the user confirms it."""
    return {
        "type": "button",
        "name": name,
        "icon": icon,
        "show_state": False,
        "tap_action": {
            "action": "perform-action",
            "perform_action": action,
            "target": {"entity_id": target},
            "data": data,
            "confirmation": {"text": text},
        },
        "grid_options": {"columns": 6, "rows": 2},
    }


# How the floor plan card marks what has no live state: (icon, colour).
PLAN_ICONS: Final = {
    MarkerKind.DOOR: ("mdi:door", "var(--primary-color)"),
    MarkerKind.FIRE_EXIT: ("mdi:exit-run", "#1b7a3d"),
    MarkerKind.HELP_POINT: ("mdi:phone-classic", "var(--error-color)"),
    MarkerKind.PA_ZONE: ("mdi:bullhorn", "#6a3fb5"),
}


def _on(entity_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    """Return picture-elements shown only while an entity is on."""
    return {
        "type": "conditional",
        "conditions": [{"condition": "state", "entity": entity_id, "state": "on"}],
        "elements": elements,
    }


def floor_plan(branch: BranchLayout) -> dict[str, Any] | None:
    """Return the branch's floor plan with live states: doors, their alarms, people, fire.

    A picture-elements card over the plan the administrator uploaded (served from the branch's
    public address): each door marker is its lock's live state, with a warning while it is
    forced or held open; each PA zone its player; fire exits and the help point as icons; the
    people inside in a corner; a fire alarm across the plan while it is on.
    """
    if branch.plan is None:
        return None
    url, plan = branch.plan
    elements: list[dict[str, Any]] = []
    for marker in plan.markers:
        style = {"left": f"{marker.x}%", "top": f"{marker.y}%"}
        title = (
            marker.label or marker.ref.replace("_", " ").capitalize() or marker.title
        )
        entity = None
        if marker.kind is MarkerKind.DOOR and marker.ref:
            entity = branch.get("lock", f"lock.{marker.ref}")
        elif marker.kind is MarkerKind.PA_ZONE and marker.ref:
            entity = branch.get("media_player", f"pa.{marker.ref}")
        if entity is not None:
            elements.append(
                {
                    "type": "state-icon",
                    "entity": entity.entity_id,
                    "title": title,
                    "style": style,
                }
            )
        else:
            icon, colour = PLAN_ICONS[marker.kind]
            elements.append(
                {
                    "type": "icon",
                    "icon": icon,
                    "title": title,
                    "style": style | {"color": colour},
                }
            )
        if marker.kind is MarkerKind.DOOR and marker.ref:
            for what, text in (("forced", "forced"), ("held_open", "held open")):
                if alarm := branch.get("binary_sensor", f"door.{marker.ref}.{what}"):
                    elements.append(
                        _on(
                            alarm.entity_id,
                            [
                                {
                                    "type": "icon",
                                    "icon": "mdi:alert",
                                    "title": f"{title}: {text}",
                                    "style": style
                                    | {
                                        "color": "var(--error-color)",
                                        "transform": "translate(-50%, -150%)",
                                    },
                                }
                            ],
                        )
                    )
    if people := branch.get("sensor", "people_inside"):
        elements.append(
            {
                "type": "state-label",
                "entity": people.entity_id,
                "prefix": "People inside: ",
                "title": "People inside",
                "style": {
                    "left": "1%",
                    "top": "1%",
                    "transform": "none",
                    "padding": "2px 8px",
                    "border-radius": "12px",
                    "background-color": "var(--card-background-color)",
                    "color": "var(--primary-text-color)",
                    "font-weight": "bold",
                },
            }
        )
    if fire := branch.get("binary_sensor", "fire.alarm"):
        elements.append(
            _on(
                fire.entity_id,
                [
                    {
                        "type": "icon",
                        "icon": "mdi:fire-alert",
                        "title": "FIRE ALARM",
                        "style": {
                            "left": "50%",
                            "top": "50%",
                            "color": "var(--error-color)",
                            "--mdc-icon-size": "25%",
                        },
                    }
                ],
            )
        )
    return {
        "type": "picture-elements",
        "image": url,
        "alt_text": f"Floor plan of {branch.title}",
        "elements": elements,
        "grid_options": {"columns": "full"},
    }


def branch_view(branch: BranchLayout) -> dict[str, Any]:
    """Return the view of one branch: alarms first, then doors, people, hours, the building."""
    sections: list[dict[str, Any]] = []

    safety: list[dict[str, Any]] = [_heading("Alarms", "mdi:shield-alert")]
    safety += alerts(branch)
    alarm_rows = [
        *_row(branch.get("sensor", "unacknowledged_alarms"), "Unacknowledged alarms"),
        *(
            row
            for item in branch.each("binary_sensor", where=lambda i: i.is_alarm)
            for row in _row(item)
        ),
        *_row(branch.get("binary_sensor", "controller_connected"), "Controller"),
        *(
            row
            for item in branch.service_items
            if item.domain == "binary_sensor" and item.device_class == "connectivity"
            for row in _row(item)
        ),
    ]
    safety += _entities(alarm_rows)
    for button in branch.each("button"):
        icon, question = BUTTONS.get(
            button.key, ("mdi:gesture-tap-button", f"{button.name}?")
        )
        safety.append(
            _confirmed(
                button.name,
                icon,
                "button.press",
                [button.entity_id],
                f"{branch.title}: {question}",
            )
        )
    sections.append({"type": "grid", "cards": safety})

    if (plan := floor_plan(branch)) is not None:
        sections.append(
            {
                "type": "grid",
                "column_span": 2,  # a plan needs the room
                "cards": [_heading("Floor plan", "mdi:floor-plan"), plan],
            }
        )

    doors: list[dict[str, Any]] = [_heading("Doors", "mdi:door")]
    for lock in branch.each("lock"):
        door = lock.key.removeprefix("lock.")
        doors.append(
            {
                "type": "tile",
                "entity": lock.entity_id,
                "name": lock.name,
                "features": [{"type": "lock-open-door"}],
                "features_position": "bottom",
                "grid_options": {"columns": "full"},
            }
        )
        doors += _entities(
            [
                row
                for what in ("open", "forced", "held_open")
                for row in _row(branch.get("binary_sensor", f"door.{door}.{what}"))
            ]
        )
    sections.append({"type": "grid", "cards": doors})

    attempts = branch.each("event", "access.")
    people: list[dict[str, Any]] = [
        _heading("At the doors", "mdi:card-account-details")
    ]
    people += _entities(
        [
            *_row(branch.get("sensor", "people_inside"), "People inside"),
            *_row(branch.get("sensor", "entries_today"), "Entries today"),
            *_row(branch.get("binary_sensor", "tailgating"), "Tailgating"),
            *(
                row
                for item in attempts
                for row in (
                    *_row(item, item.name, format="time"),
                    {
                        "type": "attribute",
                        "entity": item.entity_id,
                        "attribute": "reason",
                        "name": "Reason",
                    },
                    {
                        "type": "attribute",
                        "entity": item.entity_id,
                        "attribute": "card",
                        "name": "Card",
                    },
                )
            ),
        ]
    )
    if attempts:
        people.append(
            {
                # Served with the strategy: each attempt's time, door, outcome, reason and
                # masked card from the event entities' history, without start-up states.
                "type": f"custom:{ATTEMPTS_CARD}",
                "title": "Recent attempts",
                "hours": 24,
                "entities": [
                    {"entity": i.entity_id, "name": i.name.removesuffix(" access")}
                    for i in attempts
                ],
                "grid_options": {"columns": "full"},
            }
        )
    sections.append({"type": "grid", "cards": people})

    hours: list[dict[str, Any]] = [_heading("Opening hours", "mdi:clock-outline")]
    hours += _entities(
        [
            *status_rows_hours(branch),
            *_row(
                branch.get("select", "mode_override"), "Override until the next change"
            ),
        ]
    )
    for calendar in branch.each("calendar"):
        hours.append(
            {
                "type": "calendar",
                "title": calendar.name,
                "initial_view": "listWeek",
                "entities": [calendar.entity_id],
                "grid_options": {"columns": "full"},
            }
        )
    sections.append({"type": "grid", "cards": hours})

    building: list[dict[str, Any]] = [
        _heading("Lights and public PCs", "mdi:lightbulb-group")
    ]
    building += _entities(
        [
            row
            for item in (*branch.each("light"), *branch.each("switch"))
            for row in _row(item)
        ]
    )
    sections.append({"type": "grid", "cards": building})

    if zones := branch.each("media_player"):
        pa: list[dict[str, Any]] = [_heading("Announcements", "mdi:bullhorn")]
        pa += _entities([row for item in zones for row in _row(item)])
        targets = [z.entity_id for z in zones]
        for message, name, icon, text in ANNOUNCEMENT_BUTTONS:
            pa.append(
                _confirmed(
                    name,
                    icon,
                    "media_player.play_media",
                    targets,
                    f'Announce "{text}" in every zone of {branch.title}?',
                    media_content_id=message,
                    media_content_type="announcement",
                )
            )
        sections.append({"type": "grid", "cards": pa})

    # Incidents (the safety module): the open ones, each category's last 30 days, the review list.
    open_incidents = branch.get("sensor", "incidents_open")
    counts = [i for i in branch.each("sensor", "incidents_") if i is not open_incidents]
    lists = branch.each("todo")
    if open_incidents or counts or lists:
        incidents: list[dict[str, Any]] = [_heading("Incidents", "mdi:clipboard-alert")]
        incidents += _entities(_row(open_incidents, "Open incidents"))
        incidents += _entities(
            [
                row
                for item in counts
                for row in _row(item, item.name.removesuffix(" incidents (30 days)"))
            ],
            title="Incidents in the last 30 days",
        )
        incidents += [
            {
                "type": "todo-list",
                "title": item.name,
                "entity": item.entity_id,
                "grid_options": {"columns": "full"},
            }
            for item in lists
        ]
        sections.append({"type": "grid", "cards": incidents})

    if rest := branch.rest():
        sections.append(
            {
                "type": "grid",
                "cards": [
                    _heading("More", "mdi:dots-horizontal"),
                    *_entities([row for item in rest for row in _row(item)]),
                ],
            }
        )
    return {
        "title": branch.title,
        "path": branch.path,
        "type": "sections",
        "max_columns": 3,
        "sections": sections,
    }


def status_rows_hours(branch: BranchLayout) -> list[dict[str, Any]]:
    """Return the opening-hours rows of a branch view."""
    rows: list[dict[str, Any]] = []
    rows += _row(branch.get("sensor", "mode"), "Mode")
    rows += _row(branch.get("binary_sensor", "open_to_members"), "Open to members")
    if next_change := branch.get("sensor", "next_change"):
        rows += _row(next_change, "Next change", format="time")
        rows.append(
            {
                "type": "attribute",
                "entity": next_change.entity_id,
                "attribute": "next_mode",
                "name": "Then",
            }
        )
    rows += _row(branch.get("sensor", "closes_at"), "Closes at", format="time")
    return rows


def statistics_view(branches: list[BranchLayout], stored: set[str]) -> dict[str, Any]:
    """Return the usage view: entries by mode and age band, refusals, peak occupancy.

    Only statistics the recorder has are drawn; a branch with none yet says so.
    """
    sections: list[dict[str, Any]] = []
    for branch in branches:
        cards: list[dict[str, Any]] = [_heading(branch.title, "mdi:chart-bar")]
        for title, metrics, stat_types, period, days, chart in (
            (
                "Entries per hour by mode",
                [f"entries_{m}" for m in MODES],
                ["change"],
                "hour",
                2,
                "bar",
            ),
            (
                "Entries by age band, per day",
                [f"age_{band}" for band in AGE_BANDS],
                ["change"],
                "day",
                30,
                "bar",
            ),
            ("Refusals by reason, per day", None, ["change"], "day", 30, "bar"),
            (
                "People inside, per hour",
                [METRIC_OCCUPANCY],
                ["max", "mean"],
                "hour",
                7,
                "line",
            ),
        ):
            prefix = statistic_prefix(branch.id)
            if metrics is None:
                ids = sorted(i for i in stored if i.startswith(f"{prefix}refusals_"))
            else:
                ids = [statistic_id(branch.id, m) for m in metrics]
                ids = [i for i in ids if i in stored]
            if not ids:
                cards.append(
                    {
                        "type": "markdown",
                        "content": f"**{title}**: nothing recorded yet.",
                    }
                )
                continue
            cards.append(
                {
                    "type": "statistics-graph",
                    "title": title,
                    "entities": ids,
                    "stat_types": stat_types,
                    "period": period,
                    "days_to_show": days,
                    "chart_type": chart,
                    "grid_options": {"columns": "full"},
                }
            )
        sections.append({"type": "grid", "cards": cards})
    return {
        "title": "Usage",
        "path": "statistics",
        "type": "sections",
        "max_columns": 2,
        "sections": sections,
    }


def build_dashboard(
    hass: HomeAssistant, *, dashboard: str | None = None, stored: set[str] | None = None
) -> dict[str, Any]:
    """Return the whole dashboard: the overview, a view per branch, the usage statistics."""
    branches = discover(hass)
    if not branches:
        return {
            "title": "Smart Library",
            "views": [
                {
                    "title": "Overview",
                    "path": "overview",
                    "cards": [
                        _alert(
                            "info",
                            "No library branches yet",
                            "Add a library service and its branches under Settings › Devices "
                            "& services › Smart Library; they appear here by themselves.",
                        )
                    ],
                }
            ],
        }
    services = len({b.service for b in branches})
    sections = [overview_section(b, dashboard, services=services) for b in branches]
    if (alarms := attention(branches)) is not None:
        sections.insert(0, alarms)
    overview = {
        "title": "Overview",
        "path": "overview",
        "type": "sections",
        "max_columns": 4,
        "sections": sections,
    }
    views = []
    for branch in branches:
        branch.used.clear()  # the branch view shows everything again
        views.append(branch_view(branch))
    return {
        "title": "Smart Library",
        "views": [overview, *views, statistics_view(branches, stored or set())],
    }
