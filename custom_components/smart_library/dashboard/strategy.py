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

The layout fits the person asking (the websocket knows the user): an administrator gets the
controls only administrators may use (*Reset* after an evacuation, *End lockdown*, the usage CSV),
staff get the controls staff may use and, where a step is an administrator's, the words "ask an
administrator"; a read-only user gets states and counts with no control that would only answer
"Unauthorized", and no incident texts. Every action is still checked where it runs: this only
decides what is offered.

Every word is in the language of the person asking (their Home Assistant profile's: the strategy
sends `hass.locale.language`), from texts/dashboard/<language>.json (helpers/texts.py); entities a
user did not rename are named in that language too, from the integration's entity translations,
whatever Home Assistant's own language is. A language the integration does not ship reads English.
The custom cards' own words come with the layout (`texts`).

Nothing here is secret: the layout names entities and their short names, which every user of the
frontend can already read, and the user's own role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from homeassistant.auth.models import User
from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.components import websocket_api
from homeassistant.components.http import StaticPathConfig
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_platform,
    entity_registry as er,
)
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_when_setup
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey
import probatio

from ..const import DOMAIN, SUBENTRY_BRANCH
from ..engine.building.floorplan import MarkerKind
from ..helpers.texts import Catalogue, TextSet
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
# Cards defined in the strategy module.
ATTEMPTS_CARD: Final = "smart-library-attempts-card"
BANNER_CARD: Final = "smart-library-banner-card"
INCIDENTS_CARD: Final = "smart-library-incidents-card"
USAGE_CARD: Final = "smart-library-usage-card"
COVER_CARD: Final = "smart-library-cover-card"
# Who is asking: what the layout offers them.
ADMIN: Final = "admin"
STAFF: Final = "staff"
READ_ONLY: Final = "read_only"
DATA_DASHBOARD: HassKey[bool] = HassKey(f"{DOMAIN}_dashboard")
# The dashboard's words in every language shipped (read once, at import), English for a sync caller.
DASHBOARD: Final = TextSet("dashboard")
ENGLISH: Final = DASHBOARD(None)
# A language tag from the browser: "en", "nb-NO", "zh-Hant-TW"; anything longer is refused.
LANGUAGE_MAX: Final = 35

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
OPEN_MODES: Final = ["staffed", "smart", "event"]
WIDE_PX: Final = 600  # narrower is a phone: one column
# Modes in which the plan's times do not apply (closing time, next change).
HELD_MODES: Final = ["evacuation", "evacuation_reset_needed", "lockdown"]
# The branch's buttons (button.py, safety/lockdown_entities.py): icon and who may press (the reset
# is in the reset banner, for administrators); the question asked before the press is the text
# `buttons.<key>`.
BUTTONS: Final = {
    "acknowledge_alarms": ("mdi:check-all", STAFF),
    "building_empty": ("mdi:account-off", STAFF),
    "lockdown_start": ("mdi:lock-alert", STAFF),
    "reset_evacuation": ("mdi:restore", ADMIN),
}
# The PA's quick messages (their media id, and icon): named by `announcements.<id>.name`.
ANNOUNCEMENT_BUTTONS: Final = (
    ("closing_15", "mdi:clock-alert-outline"),
    ("last_call", "mdi:exit-run"),
)


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
        # The user's language (their profile's): the dashboard's words and entity names in it.
        probatio.Optional("language"): probatio.All(
            str, probatio.Length(max=LANGUAGE_MAX)
        ),
    }
)
@websocket_api.async_response
async def ws_dashboard(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Answer the strategy with the dashboard's configuration (any logged-in user may ask).

    Built for the user asking: the controls they may use, no others, in their language (one the
    integration does not ship reads English), with the custom cards' words beside (`texts`).
    """
    stored = await async_stored_statistics(hass)
    cat = DASHBOARD(msg.get("language"))
    translations = await async_get_translations(hass, cat.language, "entity", [DOMAIN])
    config = build_dashboard(
        hass,
        dashboard=msg.get("dashboard"),
        stored=stored,
        role=user_role(connection.user),
        cat=cat,
        translations=translations,
    )
    config["texts"] = frontend_texts(cat, translations)
    connection.send_result(msg["id"], config)


# Where the integration's entity translations keep a door attempt's refusal reasons.
REASONS_KEY: Final = (
    f"component.{DOMAIN}.entity.event.access_entrance.state_attributes.reason.state."
)


def frontend_texts(cat: Catalogue, translations: Mapping[str, str]) -> dict[str, str]:
    """Return the custom cards' words: the `frontend` texts, and the refusal reasons' names."""
    texts = cat.section("frontend")
    texts.update(
        (f"reason.{key.removeprefix(REASONS_KEY)}", text)
        for key, text in translations.items()
        if key.startswith(REASONS_KEY)
    )
    return texts


def user_role(user: User | None) -> str:
    """Return what the layout offers a user: an administrator's, staff's or read-only."""
    if user is None:
        return READ_ONLY
    if user.is_admin:
        return ADMIN
    if user.permissions.access_all_entities(POLICY_CONTROL):
        return STAFF
    return READ_ONLY


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
    translation_key: str | None = None
    renamed: bool = False  # named by a user (their name is shown as they wrote it)

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
    device: str | None = (
        None  # the branch's device id: what the actions' `branch` takes
    )
    service_id: str = ""  # its library service's config entry id
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


def _translated_name(
    entry: er.RegistryEntry,
    translations: Mapping[str, str] | None,
    placeholders: Mapping[str, Mapping[str, str]],
) -> str | None:
    """Return an entity's own name in the user's language, if it has one the user did not change.

    As Home Assistant names it (Entity._name_internal): its translation key's name, with the
    entity's placeholders filled in; None for a name a user gave or one with no translation.
    """
    if translations is None or entry.name or not entry.has_entity_name:
        return None
    if not entry.translation_key:
        return None
    template = translations.get(
        f"component.{DOMAIN}.entity.{entry.domain}.{entry.translation_key}.name"
    )
    if not template:
        return None
    try:
        return template.format(**placeholders.get(entry.entity_id, {}))
    except KeyError, IndexError, ValueError:
        return None  # a placeholder the entity does not fill (not loaded): as it is named now


def _placeholders(hass: HomeAssistant) -> dict[str, Mapping[str, str]]:
    """Return the placeholders of the integration's entities' names ("PA zone {zone}")."""
    found: dict[str, Mapping[str, str]] = {}
    for platform in entity_platform.async_get_platforms(hass, DOMAIN):
        for entity_id, entity in platform.entities.items():
            if placeholders := entity.translation_placeholders:
                found[entity_id] = placeholders
    return found


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
    *,
    translations: Mapping[str, str] | None = None,
    placeholders: Mapping[str, Mapping[str, str]] | None = None,
) -> list[Item]:
    """Return the usable entities among registry entries, in a stable order.

    With `translations` (the user's language's), an entity nobody renamed is named in it.
    """
    items = []
    for entry in entries:
        if entry.disabled_by is not None or entry.hidden_by is not None:
            continue
        key = entry.unique_id.removeprefix(prefix)
        options = (entry.capabilities or {}).get("options") or ()
        name = _translated_name(entry, translations, placeholders or {})
        items.append(
            Item(
                entity_id=entry.entity_id,
                domain=entry.domain,
                key=key,
                name=name or _short_name(hass, entry, key, device),
                device_class=entry.device_class or entry.original_device_class,
                category=entry.entity_category,
                options=tuple(str(o) for o in options),
                translation_key=entry.translation_key,
                renamed=bool(entry.name),
            )
        )
    return sorted(items, key=lambda i: (i.domain, i.key))


def discover(
    hass: HomeAssistant, translations: Mapping[str, str] | None = None
) -> list[BranchLayout]:
    """Return every branch of every library service, with its entities, in title order.

    `translations`: the integration's entity translations in the user's language, to name the
    entities nobody renamed in it (without: as Home Assistant names them now).
    """
    placeholders = _placeholders(hass) if translations is not None else {}
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
            hass,
            (e for e in registered if e.config_subentry_id is None),
            "",
            None,
            translations=translations,
            placeholders=placeholders,
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
                    device=device.id if device else None,
                    service_id=service.entry_id,
                    items=_items(
                        hass,
                        (
                            e
                            for e in registered
                            if e.config_subentry_id == subentry.subentry_id
                        ),
                        f"{subentry.subentry_id}_",
                        device_name,
                        translations=translations,
                        placeholders=placeholders,
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


def _state(entity_id: str, state: str | list[str]) -> dict[str, Any]:
    """Return the condition "this entity is in this state (or one of these)"."""
    return {"condition": "state", "entity": entity_id, "state": state}


def _state_not(entity_id: str, state: str | list[str]) -> dict[str, Any]:
    """Return the condition "this entity is not in this state (nor one of these)"."""
    return {"condition": "state", "entity": entity_id, "state_not": state}


def _when(
    entity_id: str, state: str | list[str], card: dict[str, Any]
) -> dict[str, Any]:
    """Return a card shown only while an entity is in a state (or one of several)."""
    return {
        "type": "conditional",
        "conditions": [_state(entity_id, state)],
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


def _shown_if(
    rows: list[dict[str, Any]], *conditions: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return rows shown only while every condition holds (an all-clear row takes no line)."""
    return [
        {"type": "conditional", "conditions": list(conditions), "row": row}
        for row in rows
    ]


def _not_off(item: Item, name: str | None = None) -> list[dict[str, Any]]:
    """Return an alarm's row, shown only while it is not "off" (on, unknown, unavailable)."""
    return _shown_if(_row(item, name), _state_not(item.entity_id, "off"))


def _entities(
    rows: list[dict[str, Any]], title: str | None = None
) -> list[dict[str, Any]]:
    """Return an entities card (full names, readable at phone width), or nothing if no rows.

    A card whose rows all show only under conditions shows only while one of them does: an
    all-clear card takes no room at all, not an empty box.
    """
    if not rows:
        return []
    card: dict[str, Any] = {"type": "entities", "state_color": True, "entities": rows}
    if title:
        card["title"] = title
    if all(row.get("type") == "conditional" for row in rows):
        card["visibility"] = [
            {
                "condition": "or",
                "conditions": [
                    {"condition": "and", "conditions": row["conditions"]}
                    for row in rows
                ],
            }
        ]
    return [card]


def _plain(rows: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
    """Return rows a read-only user cannot act on as plain states (no toggle that would fail)."""
    if role != READ_ONLY:
        return rows
    return [
        {"type": "simple-entity", **row}
        if "entity" in row and "type" not in row
        else row
        for row in rows
    ]


# What an alarm asks of the person reading it, by the key of its entity (a key not listed gets
# a plain "needs a person" line): (severity, the text `alarms.<name>` saying what happened).
ALARM_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "controller_lost": ("warning", "controller_lost"),
    "fire.fault": ("warning", "fire_fault"),
    "tailgating": ("warning", "tailgating"),
    "forced": ("warning", "forced"),
    "held_open": ("warning", "held_open"),
    "panic": ("error", "panic"),
}
# Shown by a banner of their own (the mode's evacuation states, the lockdown), not as an alarm.
BANNER_KEYS: Final = frozenset({"fire.alarm", "evacuation", "lockdown"})


def _alarm_text(item: Item, cat: Catalogue = ENGLISH) -> tuple[str, str]:
    """Return an alarm's severity and sentence."""
    for key in (item.key, item.key.rsplit(".", 1)[-1], item.key.split(".", 1)[0]):
        if key in ALARM_TEXTS:
            severity, text = ALARM_TEXTS[key]
            return severity, cat(f"alarms.{text}")
    if item.device_class in SEVERE_CLASSES:
        return "error", cat("alarms.severe")
    return "warning", cat("alarms.other")


def _staff_alerts(branch: BranchLayout) -> Item | None:
    """Return the service's "Staff alerts" sensor (on: nobody would be alerted), if any."""
    return next(
        (
            i
            for i in branch.service_items
            if i.domain == "binary_sensor" and i.key.endswith("_staff_alerts")
        ),
        None,
    )


def banners(
    branch: BranchLayout,
    role: str,
    *,
    service_banner: bool = True,
    cat: Catalogue = ENGLISH,
) -> list[dict[str, Any]]:
    """Return the branch's banners, each shown only while its state lasts, full width.

    One banner per state: the fire alarm (red: since when, counted inside at the alarm, the
    time gone), the reset needed after it (amber, with the administrator's *Reset*), the
    lockdown (with the administrator's *End lockdown*), and, once per library service, nobody
    getting the staff alerts. The red one goes when the panel resets: never both at once.
    """
    mode = branch.get("sensor", "mode")
    lockdown = branch.get("binary_sensor", "lockdown")
    evacuation = branch.get("binary_sensor", "evacuation")
    fire = branch.get("binary_sensor", "fire.alarm")
    reset = branch.get("button", "reset_evacuation")
    base: dict[str, Any] = {
        "type": f"custom:{BANNER_CARD}",
        "branch": branch.title,
        "role": role,
        "grid_options": {"columns": "full"},
    }
    if branch.device:
        base["device"] = branch.device
    entities = {
        "mode": mode,
        "lockdown": lockdown,
        "evacuation": evacuation,
        "people": branch.get("sensor", "people_inside"),
    }
    base |= {k: v.entity_id for k, v in entities.items() if v is not None}
    cards: list[dict[str, Any]] = []
    if mode is not None and "evacuation" in mode.options:
        cards.append(
            base
            | {"kind": "fire", "visibility": [_state(mode.entity_id, "evacuation")]}
        )
    elif fire is not None:
        cards.append(
            base | {"kind": "fire", "visibility": [_state(fire.entity_id, "on")]}
        )
    if mode is not None and "evacuation_reset_needed" in mode.options:
        reset_banner = base | {
            "kind": "reset",
            "visibility": [_state(mode.entity_id, "evacuation_reset_needed")],
        }
        if reset is not None and role == ADMIN:
            reset_banner["reset"] = reset.entity_id
        cards.append(reset_banner)
    if lockdown is not None:
        cards.append(
            base
            | {"kind": "lockdown", "visibility": [_state(lockdown.entity_id, "on")]}
        )
    if fire is not None:  # a fire alarm input nobody reads is never shown as safe
        cards.append(
            _when(
                fire.entity_id,
                UNKNOWN_STATES,
                _alert(
                    "warning",
                    cat("alarms.fire_unknown_title", branch=branch.title),
                    cat("alarms.fire_unknown_text"),
                ),
            )
        )
    if service_banner and (phones := _staff_alerts(branch)) is not None:
        cards.append(
            {
                "type": f"custom:{BANNER_CARD}",
                "kind": "no_phones",
                "service": branch.service,
                "staff_alerts": phones.entity_id,
                "role": role,
                "grid_options": {"columns": "full"},
                "visibility": [_state(phones.entity_id, "on")],
            }
        )
    return cards


def alerts(
    branch: BranchLayout, *, compact: bool = False, cat: Catalogue = ENGLISH
) -> list[dict[str, Any]]:
    """Return the branch's other alarms, each shown only while it is on, most serious first.

    A safety alarm whose state is unknown says so (a state the integration does not know is
    never shown as safe). `compact` (the overview) leaves those unknown-state warnings out.
    """
    title = branch.title
    cards: list[dict[str, Any]] = []
    alarms = sorted(
        (
            i
            for i in branch.each("binary_sensor", where=lambda i: i.is_alarm)
            if i.key not in BANNER_KEYS
        ),
        key=lambda i: (_alarm_text(i)[0] != "error", i.key),
    )
    for item in alarms:
        severity, text = _alarm_text(item, cat)
        heading = cat("alarms.title", name=item.name, branch=title)
        cards.append(_when(item.entity_id, "on", _alert(severity, heading, text)))
        if item.device_class in SEVERE_CLASSES and not compact:
            cards.append(
                _when(
                    item.entity_id,
                    UNKNOWN_STATES,
                    _alert(
                        "warning",
                        cat("alarms.unknown_title", name=item.name, branch=title),
                        cat("alarms.unknown_text"),
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
                cat("alarms.not_answering_title", name=item.name, branch=title),
                cat("alarms.not_answering_text"),
            ),
        )
        for item in connectivity
    )
    return cards


def _visibility(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the conditions under which any of these cards shows: a section's visibility."""
    found: list[dict[str, Any]] = []
    for card in cards:
        for condition in (*card.get("conditions", ()), *card.get("visibility", ())):
            if condition not in found:
                found.append(condition)
    return [{"condition": "or", "conditions": found}]


def schedule_rows(
    branch: BranchLayout, cat: Catalogue = ENGLISH
) -> list[dict[str, Any]]:
    """Return the rows of the plan's times, each shown only while it applies.

    *Closes at* only while the branch is open by its hours (closed, it reads "Closed" in the
    mode, never "Closes at: Unknown"); *Next change* and the mode after it not during an
    evacuation or a lockdown, which only a person ends.
    """
    mode = branch.get("sensor", "mode")
    rows: list[dict[str, Any]] = []
    closes = _row(
        branch.get("sensor", "closes_at"), cat("rows.closes_at"), format="time"
    )
    if closes:
        conditions = [_state_not(closes[0]["entity"], UNKNOWN_STATES)]
        if mode is not None:
            conditions.append(_state(mode.entity_id, OPEN_MODES))
        rows += _shown_if(closes, *conditions)
    if next_change := branch.get("sensor", "next_change"):
        plan = [
            *_row(next_change, cat("rows.next_change"), format="time"),
            {
                "type": "attribute",
                "entity": next_change.entity_id,
                "attribute": "next_mode",
                "name": cat("rows.then"),
            },
        ]
        conditions = [_state_not(next_change.entity_id, UNKNOWN_STATES)]
        if mode is not None:
            conditions.append(_state_not(mode.entity_id, HELD_MODES))
        rows += _shown_if(plan, *conditions)
    return rows


def status_rows(branch: BranchLayout, cat: Catalogue = ENGLISH) -> list[dict[str, Any]]:
    """Return the rows a duty manager reads first: the mode and the plan's times.

    Then what is wrong, each row only while it is: unacknowledged alarms (not 0), the fire
    alarm (not off: unknown shows), the controller and the library system (not connected). All
    clear, a branch is its mode and times; the people inside are the heading's badge.
    """
    rows: list[dict[str, Any]] = []
    rows += _row(branch.get("sensor", "mode"), cat("rows.mode"))
    rows += schedule_rows(branch, cat)
    if unacknowledged := branch.get("sensor", "unacknowledged_alarms"):
        rows += _shown_if(
            _row(unacknowledged, cat("rows.unacknowledged")),
            _state_not(unacknowledged.entity_id, "0"),
        )
    if fire := branch.get("binary_sensor", "fire.alarm"):
        rows += _not_off(fire, cat("rows.fire_alarm"))
    if controller := branch.get("binary_sensor", "controller_connected"):
        rows += _shown_if(
            _row(controller, cat("rows.controller")),
            _state_not(controller.entity_id, "on"),
        )
    for item in branch.service_items:
        if item.domain == "binary_sensor" and item.device_class == "connectivity":
            rows += _shown_if(_row(item), _state_not(item.entity_id, "on"))
    return rows


def overview_section(
    branch: BranchLayout,
    dashboard: str | None,
    *,
    services: int = 1,
    cat: Catalogue = ENGLISH,
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
    return {"type": "grid", "cards": [*cards, *_entities(status_rows(branch, cat))]}


BANNER_ORDER: Final = {"fire": 0, "lockdown": 1, "reset": 2, "no_phones": 5}


def _priority(card: dict[str, Any]) -> int:
    """Return where a card of the attention block goes: the most serious first."""
    if "kind" in card:
        return BANNER_ORDER.get(card["kind"], 4)
    return 3 if 'alert-type="error"' in card.get("card", {}).get("content", "") else 4


def attention(
    branches: list[BranchLayout],
    role: str,
    *,
    columns: int = 4,
    cat: Catalogue = ENGLISH,
) -> dict[str, Any] | None:
    """Return the overview's first block: every branch's banners and alarms while on.

    Full width on top; at phone width it comes before every branch, so an alarm anywhere in the
    county is the first thing on the screen; not shown at all while nothing needs a person.
    """
    services_seen: set[str] = set()
    cards: list[dict[str, Any]] = []
    for branch in branches:
        cards += banners(
            branch,
            role,
            service_banner=branch.service_id not in services_seen,
            cat=cat,
        )
        services_seen.add(branch.service_id)
    for branch in branches:
        cards += alerts(branch, compact=True, cat=cat)
    cards.sort(key=_priority)  # a fire anywhere comes before a forced door anywhere
    if not cards:
        return None
    return {
        "type": "grid",
        "column_span": columns,
        "cards": [_heading(cat("headings.attention"), "mdi:alert"), *cards],
        "visibility": _visibility(cards),
    }


def _confirmed(
    name: str,
    icon: str,
    action: str,
    target: list[str],
    text: str,
    *,
    cat: Catalogue = ENGLISH,
    **data: Any,
) -> dict[str, Any]:
    """Return a one-line button that performs an action after the user confirms it.

    A tile (one row high, where a button card takes two) showing the first target's name as
    the button's; the confirmation's button says what it does ("Lock down"), not "OK".
    """
    tap = {
        "action": "perform-action",
        "perform_action": action,
        "target": {"entity_id": target},
        "data": data,
        "confirmation": {
            "text": text,
            "confirm_text": name,
            "dismiss_text": cat("buttons.cancel"),
        },
    }
    return {
        "type": "tile",
        "entity": target[0],
        "name": name,
        "icon": icon,
        "hide_state": True,
        "vertical": False,
        "tap_action": tap,
        "icon_tap_action": tap,
        "grid_options": {"columns": 12, "rows": 1},
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


def floor_plan(branch: BranchLayout, cat: Catalogue = ENGLISH) -> dict[str, Any] | None:
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
            warning = style | {
                "color": "var(--error-color)",
                "transform": "translate(-50%, -150%)",
            }
            elements.extend(
                _on(
                    alarm.entity_id,
                    [
                        {
                            "type": "icon",
                            "icon": "mdi:alert",
                            "title": cat(f"plan.{what}", door=title),
                            "style": warning,
                        }
                    ],
                )
                for what in ("forced", "held_open")
                if (alarm := branch.get("binary_sensor", f"door.{marker.ref}.{what}"))
            )
    if people := branch.get("sensor", "people_inside"):
        elements.append(
            {
                "type": "state-label",
                "entity": people.entity_id,
                "prefix": f"{cat('plan.people')}: ",
                "title": cat("plan.people"),
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
                        "title": cat("plan.fire"),
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
        "alt_text": cat("plan.alt", branch=branch.title),
        "elements": elements,
        "grid_options": {"columns": "full"},
    }


def _button(
    branch: BranchLayout,
    button: Item,
    role: str,
    cat: Catalogue = ENGLISH,
    **visible: Any,
) -> list[dict[str, Any]]:
    """Return a branch's button for those who may press it (a read-only user gets none)."""
    icon, who = BUTTONS.get(button.key, ("mdi:gesture-tap-button", STAFF))
    if role == READ_ONLY or (who == ADMIN and role != ADMIN):
        return []
    question = (
        cat(f"buttons.{button.key}", branch=branch.title)
        if button.key in BUTTONS
        else cat("buttons.other", branch=branch.title, name=button.name)
    )
    card = _confirmed(
        button.name, icon, "button.press", [button.entity_id], question, cat=cat
    )
    if visible:
        card["visibility"] = [visible["when"]]
    return [card]


def _text_or(cat: Catalogue, key: str, default: str) -> str:
    """Return a text the catalogue has, else the default (a door or category it does not know)."""
    return cat(key) if key in cat.english else default


def _door_name(item: Item, cat: Catalogue) -> str:
    """Return the door an access event entity is about ("Entrance"), for the attempts card."""
    if not item.renamed and (item.translation_key or "").startswith("access_"):
        kind = (item.translation_key or "").removeprefix("access_")
        return _text_or(cat, f"doors.{kind}", item.name)
    return item.name.removesuffix(" access")


def _category_name(item: Item, cat: Catalogue) -> str:
    """Return what an incident count counts ("Door forced"), for the last 30 days' card."""
    if not item.renamed:
        category = item.key.removeprefix("incidents_")
        return _text_or(cat, f"incident_categories.{category}", item.name)
    return item.name.removesuffix(" incidents (30 days)")


def branch_view(
    branch: BranchLayout, role: str = READ_ONLY, cat: Catalogue = ENGLISH
) -> dict[str, Any]:
    """Return the view of one branch: banners, alarms, doors, people, hours, the building.

    At phone width the sections stack in this order, so what needs a person comes first; every
    all-clear list takes one line (an alarm's row shows only while it is not off).
    """
    sections: list[dict[str, Any]] = []
    if top := banners(branch, role, cat=cat):
        sections.append(
            {
                "type": "grid",
                "column_span": 3,
                "cards": top,
                "visibility": _visibility(top),
            }
        )

    safety: list[dict[str, Any]] = [
        _heading(cat("headings.alarms"), "mdi:shield-alert")
    ]
    safety += alerts(branch, cat=cat)
    unacknowledged = branch.get("sensor", "unacknowledged_alarms")
    alarm_rows = [
        *_row(unacknowledged, cat("rows.unacknowledged")),
        *(
            row
            for item in branch.each("binary_sensor", where=lambda i: i.is_alarm)
            if item.key not in BANNER_KEYS
            for row in _not_off(item)
        ),
    ]
    controller = branch.get("binary_sensor", "controller_connected")
    if controller is not None:
        alarm_rows += _shown_if(
            _row(controller, cat("rows.controller")),
            _state_not(controller.entity_id, "on"),
        )
    for item in branch.service_items:
        if item.domain == "binary_sensor" and item.device_class == "connectivity":
            alarm_rows += _shown_if(_row(item), _state_not(item.entity_id, "on"))
    safety += _entities(alarm_rows)
    lockdown = branch.get("binary_sensor", "lockdown")
    for button in branch.each("button"):
        if button.key == "acknowledge_alarms" and unacknowledged is not None:
            safety += _button(
                branch,
                button,
                role,
                cat,
                when={
                    "condition": "numeric_state",
                    "entity": unacknowledged.entity_id,
                    "above": 0,
                },
            )
        elif button.key == "lockdown_start" and lockdown is not None:
            safety += _button(
                branch, button, role, cat, when=_state_not(lockdown.entity_id, "on")
            )
        elif button.key in ("reset_evacuation", "building_empty"):
            continue  # in the reset banner; with the people inside
        else:
            safety += _button(branch, button, role, cat)
    sections.append({"type": "grid", "cards": safety})

    doors: list[dict[str, Any]] = [_heading(cat("headings.doors"), "mdi:door")]
    for lock in branch.each("lock"):
        door = lock.key.removeprefix("lock.")
        tile: dict[str, Any] = {
            "type": "tile",
            "entity": lock.entity_id,
            "name": lock.name,
            "grid_options": {"columns": "full"},
        }
        if role != READ_ONLY:
            tile |= {
                "features": [{"type": "lock-open-door"}],
                "features_position": "bottom",
            }
        doors.append(tile)
        rows: list[dict[str, Any]] = []
        if opened := branch.get("binary_sensor", f"door.{door}.open"):
            rows += _shown_if(_row(opened), _state_not(opened.entity_id, "off"))
        for what in ("forced", "held_open"):
            if alarm := branch.get("binary_sensor", f"door.{door}.{what}"):
                rows += _not_off(alarm)
        doors += _entities(rows)
    sections.append({"type": "grid", "cards": doors})

    attempts = branch.each("event", "access.")
    people: list[dict[str, Any]] = [
        _heading(cat("headings.at_the_doors"), "mdi:card-account-details")
    ]
    people += _entities(
        [
            *_row(branch.get("sensor", "people_inside"), cat("rows.people_inside")),
            *_row(branch.get("sensor", "entries_today"), cat("rows.entries_today")),
        ]
    )  # (tailgating is among the alarms)
    if attempts:
        people.append(
            {
                # Served with the strategy: each attempt's time, door, outcome, reason and
                # masked card from the event entities' history, without start-up states.
                "type": f"custom:{ATTEMPTS_CARD}",
                "title": cat("cards.recent_attempts"),
                "hours": 24,
                "limit": 6,
                "entities": [
                    {"entity": i.entity_id, "name": _door_name(i, cat)}
                    for i in attempts
                ],
                "grid_options": {"columns": "full"},
            }
        )
    if (empty := branch.get("button", "building_empty")) is not None:
        people += _button(branch, empty, role, cat)
    sections.append({"type": "grid", "cards": people})

    # After what needs a person, the doors and the people: at phone width a plan is tall.
    if (plan := floor_plan(branch, cat)) is not None:
        sections.append(
            {
                "type": "grid",
                "column_span": 2,  # a plan needs the room
                "cards": [_heading(cat("headings.floor_plan"), "mdi:floor-plan"), plan],
            }
        )

    hours: list[dict[str, Any]] = [_heading(cat("headings.hours"), "mdi:clock-outline")]
    hours += _entities(
        _plain(
            [
                *_row(branch.get("sensor", "mode"), cat("rows.mode")),
                *_row(
                    branch.get("binary_sensor", "open_to_members"),
                    cat("rows.open_to_members"),
                ),
                *schedule_rows(branch, cat),
                *_row(branch.get("select", "mode_override"), cat("rows.override")),
            ],
            role,
        )
    )
    sections.append({"type": "grid", "cards": hours})
    calendars = branch.each(
        "calendar"
    )  # last: tall, and for booking ahead, not for now

    # Incidents (the safety module): the review list, then each category's last 30 days.
    open_incidents = branch.get("sensor", "incidents_open")
    counts = [i for i in branch.each("sensor", "incidents_") if i is not open_incidents]
    lists = branch.each("todo")
    if open_incidents or counts or lists:
        incidents: list[dict[str, Any]] = [
            _heading(cat("headings.incidents"), "mdi:clipboard-alert")
        ]
        if role == READ_ONLY or not lists:
            # Counts only: incident texts are for staff (read-only users never read them).
            incidents += _entities(_row(open_incidents, cat("rows.open_incidents")))
        else:
            incidents += [
                {
                    "type": f"custom:{INCIDENTS_CARD}",
                    "title": cat("cards.incidents_to_review"),
                    "entity": item.entity_id,
                    # What happened is read through smart_library/incidents (staff only).
                    "branch_id": branch.id,
                    "grid_options": {"columns": "full"},
                }
                for item in lists
            ]
        incidents += _entities(
            [
                row
                for item in counts
                for row in _shown_if(
                    _row(item, _category_name(item, cat)),
                    _state_not(item.entity_id, ["0", *UNKNOWN_STATES]),
                )
            ],
            title=cat("cards.incidents_30_days"),
        )
        sections.append({"type": "grid", "cards": incidents})

    building: list[dict[str, Any]] = [
        _heading(cat("headings.building"), "mdi:lightbulb-group")
    ]
    building += _entities(
        _plain(
            [
                row
                for item in (*branch.each("light"), *branch.each("switch"))
                for row in _row(item)
            ],
            role,
        )
    )
    sections.append({"type": "grid", "cards": building})

    if zones := branch.each("media_player"):
        pa: list[dict[str, Any]] = [
            _heading(cat("headings.announcements"), "mdi:bullhorn")
        ]
        # Each zone's state only (what plays): the buttons below act, in every zone at once.
        pa += _entities(
            [{"type": "simple-entity", **row} for item in zones for row in _row(item)]
        )
        targets = [z.entity_id for z in zones]
        if role != READ_ONLY:
            for message, icon in ANNOUNCEMENT_BUTTONS:
                text = cat(f"announcements.{message}.text")
                pa.append(
                    _confirmed(
                        cat(f"announcements.{message}.name"),
                        icon,
                        "media_player.play_media",
                        targets,
                        cat("announcements.confirm", text=text, branch=branch.title),
                        cat=cat,
                        media_content_id=message,
                        media_content_type="announcement",
                    )
                )
        sections.append({"type": "grid", "cards": pa})

    if calendars:
        # The week's list on a wide screen; on a phone one line each (tap: the calendar).
        wide = {"condition": "screen", "media_query": f"(min-width: {WIDE_PX}px)"}
        narrow = {"condition": "screen", "media_query": f"(max-width: {WIDE_PX - 1}px)"}
        sections.append(
            {
                "type": "grid",
                "cards": [
                    _heading(cat("headings.bookings"), "mdi:calendar-account"),
                    *(
                        {
                            "type": "calendar",
                            "initial_view": "listWeek",
                            "entities": [calendar.entity_id],
                            "grid_options": {"columns": "full"},
                            "visibility": [wide],
                        }
                        for calendar in calendars
                    ),
                    *(
                        card | {"visibility": [narrow]}
                        for card in _entities(
                            [{"entity": c.entity_id, "name": c.name} for c in calendars]
                        )
                    ),
                ],
            }
        )

    if rest := branch.rest():
        sections.append(
            {
                "type": "grid",
                "cards": [
                    _heading(cat("headings.more"), "mdi:dots-horizontal"),
                    *_entities(
                        _plain([row for item in rest for row in _row(item)], role)
                    ),
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


def statistics_view(
    branches: list[BranchLayout],
    stored: set[str],
    role: str = READ_ONLY,
    cat: Catalogue = ENGLISH,
) -> dict[str, Any]:
    """Return the usage view: one card drawing entries, refusals and people inside.

    The card (served with the strategy) reads the long-term statistics itself: each branch or
    the county total, a day in hourly bars or a week in daily bars, and, for administrators, the
    month as CSV (the `export_usage` action). Only statistics the recorder has are named.
    """
    listed = []
    for branch in branches:
        prefix = statistic_prefix(branch.id)
        metrics: dict[str, list[str]] = {
            "modes": [
                statistic_id(branch.id, f"entries_{m}")
                for m in MODES
                if statistic_id(branch.id, f"entries_{m}") in stored
            ],
            "ages": [
                statistic_id(branch.id, f"age_{band}")
                for band in AGE_BANDS
                if statistic_id(branch.id, f"age_{band}") in stored
            ],
            "refusals": sorted(i for i in stored if i.startswith(f"{prefix}refusals_")),
            "occupancy": [
                i for i in (statistic_id(branch.id, METRIC_OCCUPANCY),) if i in stored
            ],
        }
        entry: dict[str, Any] = {
            "title": branch.title,
            "prefix": prefix,
            "statistics": metrics,
        }
        if branch.device:
            entry["device"] = branch.device
        listed.append(entry)
    return {
        "title": cat("views.usage"),
        "path": "statistics",
        "type": "sections",
        "max_columns": 2,
        "sections": [
            {
                "type": "grid",
                "column_span": 2,
                "cards": [
                    {
                        "type": f"custom:{USAGE_CARD}",
                        "title": cat("cards.usage"),
                        "branches": listed,
                        "csv": role == ADMIN,
                        "grid_options": {"columns": "full"},
                    }
                ],
            }
        ],
    }


def build_dashboard(
    hass: HomeAssistant,
    *,
    dashboard: str | None = None,
    stored: set[str] | None = None,
    role: str = READ_ONLY,
    cat: Catalogue = ENGLISH,
    translations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the whole dashboard for one kind of user: the overview, branches, usage.

    In the catalogue's language; `translations` (the integration's entity translations in that
    language) names the entities nobody renamed in it.
    """
    branches = discover(hass, translations)
    if not branches:
        return {
            "title": cat("title"),
            "views": [
                {
                    "title": cat("views.overview"),
                    "path": "overview",
                    "cards": [_alert("info", cat("empty.title"), cat("empty.text"))],
                }
            ],
        }
    services = len({b.service for b in branches})
    sections = [
        overview_section(b, dashboard, services=services, cat=cat) for b in branches
    ]
    if (alarms := attention(branches, role, cat=cat)) is not None:
        sections.insert(0, alarms)
    # Staffed cover nearby: smart periods ahead with no neighbour staffed (the card hides itself
    # while there are none; it follows every change of hours or neighbours by itself).
    sections.append(
        {"type": "grid", "column_span": 4, "cards": [{"type": f"custom:{COVER_CARD}"}]}
    )
    overview = {
        "title": cat("views.overview"),
        "path": "overview",
        "type": "sections",
        "max_columns": 4,
        "sections": sections,
    }
    views = []
    for branch in branches:
        branch.used.clear()  # the branch view shows everything again
        views.append(branch_view(branch, role, cat))
    return {
        "title": cat("title"),
        "views": [
            overview,
            *views,
            statistics_view(branches, stored or set(), role, cat),
        ],
    }
