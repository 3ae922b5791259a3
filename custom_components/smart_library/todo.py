"""Incidents to review: a to-do list per branch that a duty manager works through.

Each open incident of the branch is an item ("Panic alarm at Oadby Library, panic button counter
(25 Nov 20:00)"), its description what happened, the actions taken and the timeline. Ticking an
item completes the incident's review in the name of the user who ticked it (stored: it stays
ticked after a reload); what is written below its description is the actions taken, and a line
"Police reference: …" its police reference (the dashboard's incidents card asks for both before
it ticks); a new item records an incident ("Damage: window in the children's library" ->
category damage). Completed incidents stay listed for a week.

Any user who may control the list may do this (Home Assistant refuses read-only users); the
admin actions (`record_incident`, `complete_incident`) do the same from scripts. The list's
attributes hold the branch's incident counts per category over 30 days.

An item's summary and description are composed each time the list is read, in Home Assistant's
language (helpers/staff_texts.py): the category's title and the date in the language of the
moment, the location as it was stored (in the language of the day it was written: stored records
are never translated again). A new item's category is read from its title in any language the
integration ships ("Damage: …", "Hærværk: …").
"""

from __future__ import annotations

from datetime import timedelta
import re
from typing import Any

from homeassistant.components.todo import (
    TodoItem,
    TodoItemStatus,
    TodoListEntity,
    TodoListEntityFeature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .branch import Branch
from .const import DOMAIN
from .engine.safety import incidents as rules
from .engine.safety.incidents import Category, Incident, Status
from .entity import branch_device_info
from .helpers.permissions import async_actor
from .helpers.staff_texts import (
    STAFF,
    category_from_title,
    category_title,
    short_date,
    staff_texts,
)
from .helpers.texts import LANGUAGES, Catalogue
from .runtime import SmartLibraryConfigEntry
from .safety.common import signal_incidents
from .safety.runtime import SafetyRuntime

PARALLEL_UPDATES = 0
COMPLETED_SHOWN = timedelta(days=7)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartLibraryConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an incidents-to-review list per branch."""
    runtime = entry.runtime_data.safety
    for subentry_id, branch in entry.runtime_data.branches.items():
        async_add_entities(
            [IncidentList(runtime, branch)], config_subentry_id=subentry_id
        )


def _category_of(summary: str) -> tuple[Category, str]:
    """Read a category from the start of a new item's text ("Damage: window ...")."""
    head, sep, rest = summary.partition(":")
    if sep and (category := category_from_title(head)) is not None:
        return category, rest.strip()
    return Category.OTHER, summary.strip()


class IncidentList(TodoListEntity):
    """A branch's incidents to review."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "incidents"
    _attr_supported_features = (
        TodoListEntityFeature.CREATE_TODO_ITEM
        | TodoListEntityFeature.UPDATE_TODO_ITEM
        | TodoListEntityFeature.SET_DESCRIPTION_ON_ITEM
    )

    def __init__(self, runtime: SafetyRuntime, branch: Branch) -> None:
        """Initialise the list of one branch."""
        self.runtime = runtime
        self.branch = branch
        self._attr_unique_id = f"{branch.id}_incidents"
        self._attr_device_info = branch_device_info(branch.subentry)
        self._attr_todo_items = []
        self._incidents: dict[str, Incident] = {}
        self._descriptions: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    async def async_added_to_hass(self) -> None:
        """Follow the service's incidents."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_incidents(self.runtime.entry.entry_id),
                self._changed,
            )
        )
        await self.async_update()

    @callback
    def _changed(self) -> None:
        self.async_schedule_update_ha_state(True)

    async def async_update(self) -> None:
        """Read the branch's open incidents and those completed this week."""
        now = dt_util.utcnow()
        store = self.runtime.log.store
        branch = self.branch.id

        def read() -> tuple[list[Incident], dict[str, int]]:
            found = [
                i
                for i in store.incidents(branch=branch)
                if i.is_open
                or (
                    i.completed_at is not None
                    and now - i.completed_at <= COMPLETED_SHOWN
                )
            ]
            counts, _open = store.counts(branch, now - rules.RECENT_WINDOW)
            return found, counts

        found, self._counts = await self.hass.async_add_executor_job(read)
        zone = dt_util.get_default_time_zone()
        cat = staff_texts(self.hass)
        items: list[TodoItem] = []
        self._incidents = {}
        self._descriptions = {}
        for incident in sorted(found, key=lambda i: (not i.is_open, i.occurred_at)):
            description = _describe(cat, incident)
            self._incidents[incident.id] = incident
            self._descriptions[incident.id] = description
            items.append(
                TodoItem(
                    summary=_summary(cat, incident, zone),
                    uid=incident.id,
                    status=TodoItemStatus.NEEDS_ACTION
                    if incident.is_open
                    else TodoItemStatus.COMPLETED,
                    description=description,
                    completed=incident.completed_at,
                )
            )
        self._attr_todo_items = items

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the branch's incidents per category over the last 30 days."""
        return {"last_30_days": dict(self._counts)}

    async def _who(self) -> str:
        return await async_actor(self.hass, self._context)

    async def async_create_todo_item(self, item: TodoItem) -> None:
        """Record an incident from a new item."""
        by = await self._who()
        category, text = _category_of(item.summary or "")
        await self.runtime.log.async_record(
            self.branch,
            category,
            by=by,
            description="\n".join(filter(None, (text, item.description or ""))),
            context=self._context,
        )
        await self._async_refresh()

    async def async_update_todo_item(self, item: TodoItem) -> None:
        """Complete an incident (ticked), or add to its actions taken (its description).

        Home Assistant hands the status as the action gave it (a plain string through
        `todo.update_item` and the frontend's tick), so it is compared by value. What is written
        after the description shown is the person's: a line "Police reference: …" is the
        incident's police reference, the rest its actions taken.
        """
        incident = self._incidents.get(item.uid or "")
        if incident is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="incident_unknown",
                translation_placeholders={"incident": str(item.uid)[:40]},
            )
        by = await self._who()
        shown = self._descriptions.get(incident.id, "")
        note = ""
        if item.description is not None and item.description != shown:
            note = _below(item.description, shown, incident)
        actions, police = read_note(note)
        status = TodoItemStatus(item.status) if item.status else None
        if incident.status is Status.COMPLETE:
            if status == TodoItemStatus.NEEDS_ACTION or actions or police:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="incident_already_complete",
                    translation_placeholders={"incident": incident.id},
                )
            return
        if status == TodoItemStatus.COMPLETED:
            await self.runtime.log.async_complete(
                incident.id,
                by=by,
                actions_taken=actions or None,
                police_reference=police,
                context=self._context,
            )
        elif actions or police:
            if actions:
                await self.runtime.log.async_add_note(incident.id, actions)
            if police:
                await self.runtime.log.async_set_police_reference(incident.id, police)
        await self._async_refresh()

    async def _async_refresh(self) -> None:
        """Show the change before the action returns (not only when the signal arrives)."""
        await self.async_update()
        self.async_write_ha_state()


POLICE_LINE = re.compile(
    r"^\s*police\s+ref(?:erence)?\s*[:#-]?\s*(.*?)\s*$", re.IGNORECASE
)
ACTIONS_LINE = re.compile(r"^\s*actions\s+taken\s*:\s*", re.IGNORECASE)


def read_note(note: str) -> tuple[str, str | None]:
    """Return what a person wrote below an item's description: actions taken, police reference.

    "Police reference: 24/1234" (or "Police ref 24/1234") on a line of its own is the police
    reference; an "Actions taken:" at the start of a line is dropped (the dashboard writes it).
    """
    actions: list[str] = []
    police: str | None = None
    for line in note.splitlines():
        if (found := POLICE_LINE.match(line)) is not None:
            police = found.group(1) or None
            continue
        actions.append(ACTIONS_LINE.sub("", line))
    return "\n".join(actions).strip(), police


def _summary(cat: Catalogue, incident: Incident, zone: Any) -> str:
    """Return an item's summary: what, where, when ("Panic alarm at Oadby Library, …")."""
    what = category_title(cat, incident.category)
    date = short_date(cat, incident.occurred_at.astimezone(zone))
    if incident.location:
        return cat(
            "todo.summary_at",
            what=what,
            branch=incident.branch_name,
            where=incident.location,
            date=date,
        )
    return cat("todo.summary", what=what, branch=incident.branch_name, date=date)


def _below(written: str, shown: str, incident: Incident) -> str:
    """Return what a person wrote below an item's description.

    The description they saw may be in another language than the one shown now (Home
    Assistant's language changed in between): each shipped language's is taken off.
    """
    for description in (
        shown,
        *(_describe(STAFF(lang), incident) for lang in LANGUAGES),
    ):
        if written.startswith(description):
            return written.removeprefix(description)
    return written


def _describe(cat: Catalogue, incident: Incident) -> str:
    """Return an item's description: the incident's id and state, never its text.

    Home Assistant's `todo/item/list` answers any logged-in user, read-only ones included, so
    what happened, the member's masked card, the police reference and who recorded it stay out
    of the item: staff read them through `smart_library/incidents` (safety/websocket.py) and
    administrators in the panel and the export. What a person writes below this line is kept as
    the actions taken.
    """
    return cat(
        "todo.open" if incident.is_open else "todo.reviewed", incident=incident.id
    )
