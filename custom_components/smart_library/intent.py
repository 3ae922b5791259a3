"""Assist intents: a branch's people and hours, announcements, lockdown, a silent alert.

Home Assistant's `intent` integration loads this platform by itself. Each intent has a description
and a slot schema, so an LLM agent can use it (llm.py offers them as tools); the default agent
reaches them through the sentences of the voice blueprint (a custom integration cannot ship
sentences for it).

Intents run with the speaking user's context and are held to the same rules as the actions:

- how many people are in a branch, when it closes: anyone;
- a silent alert (a codeword): anyone who may act (not a read-only user); no user at all (a voice
  satellite) may too: a codeword must work wherever it is said. It answers with nothing at all;
- announce a stored message, lock a branch down: a known user who may control the building (a
  voice satellite with no user is refused: a member could otherwise play the evacuation message
  or lock the doors to outsiders; the voice blueprint can allow them on a chosen satellite);
- extend today by N minutes: an administrator (opening hours are theirs).

Every answer is spoken in the conversation's language (`intent.Intent.language`; texts/staff, a
language the integration does not ship answers in English), a refusal from an action included.
The descriptions and slot schemas stay in English: they are read by LLM agents, not people.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import config_validation as cv, intent, translation
from homeassistant.util import dt as dt_util
import probatio

from .branch import Branch
from .const import DOMAIN
from .engine.building.announcements import ANNOUNCEMENTS
from .engine.safety.incidents import Category, Source
from .helpers.permissions import async_actor
from .helpers.staff_texts import STAFF, weekday
from .helpers.texts import Catalogue
from .runtime import SmartLibraryConfigEntry, safety_of

INTENT_OCCUPANCY = "SmartLibraryOccupancy"
INTENT_CLOSING_TIME = "SmartLibraryClosingTime"
INTENT_ANNOUNCE = "SmartLibraryAnnounce"
INTENT_EXTEND_TODAY = "SmartLibraryExtendToday"
INTENT_LOCKDOWN = "SmartLibraryLockdown"
INTENT_SILENT_ALERT = "SmartLibrarySilentAlert"

SLOT_BRANCH = "branch"
SLOT_MESSAGE = "message"
SLOT_MINUTES = "minutes"
MAX_EXTEND_MINUTES = 240
MESSAGES = [a.key for a in ANNOUNCEMENTS]


def _branches(hass: HomeAssistant) -> Iterator[Branch]:
    entry: SmartLibraryConfigEntry
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        yield from entry.runtime_data.branches.values()


def _simple(name: str) -> str:
    words = name.lower().replace("'", "").split()
    return " ".join(w for w in words if w not in ("the", "library", "branch"))


def find_branch(
    hass: HomeAssistant, name: str | None, cat: Catalogue | None = None
) -> Branch:
    """Return the branch a spoken name means (the only branch when no name is given)."""
    cat = cat or STAFF(hass.config.language)
    branches = list(_branches(hass))
    if not name:
        if len(branches) == 1:
            return branches[0]
        raise intent.IntentHandleError(cat("intent.branch_needed"), "branch_needed")
    wanted = _simple(name)
    for match in (
        lambda b: b.subentry.title.lower() == name.strip().lower(),
        lambda b: _simple(b.subentry.title) == wanted,
        lambda b: wanted and wanted in _simple(b.subentry.title),
    ):
        found = [b for b in branches if match(b)]
        if len(found) == 1:
            return found[0]
    raise intent.IntentHandleError(cat("intent.no_branch", name=name), "no_branch")


def _slot(intent_obj: intent.Intent, name: str) -> Any:
    slot = intent_obj.slots.get(name)
    return None if slot is None else slot.get("value")


async def _error_text(
    hass: HomeAssistant, err: HomeAssistantError, language: str
) -> str:
    """Return an action's refusal in the conversation's language (our own errors).

    Home Assistant words a translated error in English (`str(err)`); the integration's own are
    looked up in its translations for the conversation's language.
    """
    if err.translation_domain == DOMAIN and err.translation_key:
        key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
        texts = await translation.async_get_translations(
            hass, language, "exceptions", {DOMAIN}
        )
        if text := texts.get(key):
            try:
                return text.format(**(err.translation_placeholders or {}))
            except KeyError, IndexError, ValueError:
                pass
    return str(err) or type(err).__name__


class _BranchIntent(intent.IntentHandler):
    """An intent about one branch."""

    @property
    def slot_schema(self) -> dict[Any, Any] | None:
        """Return the slots: the branch's name (optional when there is only one)."""
        return {probatio.Optional(SLOT_BRANCH): cv.string}

    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Check the slots, find the branch, then answer."""
        intent_obj.slots = self.async_validate_slots(intent_obj.slots)
        cat = STAFF(intent_obj.language)
        branch = find_branch(intent_obj.hass, _slot(intent_obj, SLOT_BRANCH), cat)
        response = intent_obj.create_response()
        try:
            speech = await self.async_answer(intent_obj, branch, cat)
        except Unauthorized as err:
            raise intent.IntentHandleError(
                cat("intent.not_allowed"), "not_allowed"
            ) from err
        except HomeAssistantError as err:
            raise intent.IntentHandleError(
                await _error_text(intent_obj.hass, err, cat.language)
            ) from err
        response.response_type = intent.IntentResponseType.ACTION_DONE
        response.async_set_speech(speech)
        return response

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Return what to say."""
        raise NotImplementedError


class OccupancyIntent(_BranchIntent):
    """How many people are in a branch."""

    intent_type = INTENT_OCCUPANCY
    description = (
        "Tells how many people are counted inside a public library branch now (its people "
        "counter at the entrance). Optional slot 'branch': the library's name."
    )

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Say the count."""
        coordinator = branch.coordinator
        name = branch.subentry.title
        if "counter.in" not in coordinator.point_map:
            return cat("intent.no_counter", branch=name)
        if coordinator.data is None or coordinator.data.counter is None:
            return cat("intent.counter_silent", branch=name)
        return cat.count("intent.inside", coordinator.occupancy.inside, branch=name)


class ClosingTimeIntent(_BranchIntent):
    """When a branch closes today."""

    intent_type = INTENT_CLOSING_TIME
    description = (
        "Tells when a public library branch closes today, or that it is closed now and when "
        "it opens. Optional slot 'branch': the library's name."
    )

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Say the closing time, or when it opens."""
        hours = branch.hours
        zone = dt_util.get_default_time_zone()
        name = branch.subentry.title
        if hours.mode.is_open and hours.closes_at is not None:
            closes = hours.closes_at.astimezone(zone)
            return cat("intent.closes_at", branch=name, time=f"{closes:%H:%M}")
        if hours.next_change is not None and hours.next_change[1].is_open:
            when = hours.next_change[0].astimezone(zone)
            return cat(
                "intent.closed_opens",
                branch=name,
                time=f"{when:%H:%M}",
                day=weekday(cat, when),
            )
        return cat("intent.closed", branch=name)


class AnnounceIntent(_BranchIntent):
    """Play a stored message at a branch."""

    intent_type = INTENT_ANNOUNCE
    description = (
        "Plays one of the library's stored PA messages on every zone of a branch, in each of "
        "the library service's languages. Slot 'message': one of "
        + ", ".join(MESSAGES)
        + ". Optional slot 'branch': the library's name."
    )

    @property
    def slot_schema(self) -> dict[Any, Any] | None:
        """Return the slots: the stored message and the branch."""
        return {
            probatio.Required(SLOT_MESSAGE): probatio.In(MESSAGES),
            probatio.Optional(SLOT_BRANCH): cv.string,
        }

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Play the message (in the background) and say so."""
        hass = intent_obj.hass
        await async_actor(hass, intent_obj.context, require_user=True)
        runtime = safety_of(hass, branch.coordinator.config_entry.entry_id)
        if runtime is None or not branch.coordinator.point_map.pa_zones:
            return cat("intent.no_pa", branch=branch.subentry.title)
        message = next(
            a for a in ANNOUNCEMENTS if a.key == _slot(intent_obj, SLOT_MESSAGE)
        )
        runtime.pa.async_play_in_background(branch, message.key)
        return cat(
            "intent.playing",
            message=cat(f"announcements.{message.key}"),
            branch=branch.subentry.title,
        )


class ExtendTodayIntent(_BranchIntent):
    """Keep a branch open N minutes longer today (administrators)."""

    intent_type = INTENT_EXTEND_TODAY
    description = (
        "Keeps a public library branch open later today: its closing time moves N minutes "
        "later. Only for Home Assistant administrators. Slot 'minutes': 1 to 240. Optional "
        "slot 'branch': the library's name."
    )

    @property
    def slot_schema(self) -> dict[Any, Any] | None:
        """Return the slots: the minutes and the branch."""
        return {
            probatio.Required(SLOT_MINUTES): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_EXTEND_MINUTES)
            ),
            probatio.Optional(SLOT_BRANCH): cv.string,
        }

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Move today's closing time later through the extend_today action."""
        hass = intent_obj.hass
        await async_actor(hass, intent_obj.context, admin=True, require_user=True)
        hours = branch.hours
        name = branch.subentry.title
        if not hours.mode.is_open or hours.closes_at is None:
            return cat("intent.not_open", branch=name)
        zone = dt_util.get_default_time_zone()
        closes = hours.closes_at.astimezone(zone)
        until = closes + timedelta(minutes=int(_slot(intent_obj, SLOT_MINUTES)))
        if until.date() != closes.date():
            return cat("intent.past_midnight", branch=name)
        runtime = safety_of(hass, branch.coordinator.config_entry.entry_id)
        device_id = runtime.device_id(branch) if runtime else None
        await hass.services.async_call(
            DOMAIN,
            "extend_today",
            {"branch": device_id, "until": f"{until:%H:%M:%S}"},
            blocking=True,
            context=intent_obj.context,
        )
        return cat("intent.now_closes", branch=name, time=f"{until:%H:%M}")


class LockdownIntent(_BranchIntent):
    """Lock a branch down."""

    intent_type = INTENT_LOCKDOWN
    description = (
        "Locks a public library branch down against a threat outside: entry for staff cards "
        "only (leaving stays possible), the lockdown message on the PA, on-call staff alerted, "
        "recorded as an incident. Only an administrator can end it. Optional slot 'branch'."
    )

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Start the lockdown."""
        hass = intent_obj.hass
        by = await async_actor(hass, intent_obj.context, require_user=True)
        runtime = safety_of(hass, branch.coordinator.config_entry.entry_id)
        name = branch.subentry.title
        if runtime is None:
            return cat("intent.cannot_lock_down", branch=name)
        _lockdown, started = await runtime.lockdowns.async_start(
            branch, by=by, source=Source.VOICE, context=intent_obj.context
        )
        if not started:
            return cat("intent.already_locked_down", branch=name)
        return cat("intent.locked_down", branch=name)


class SilentAlertIntent(_BranchIntent):
    """Raise a silent staff alert (a codeword); nothing is said aloud."""

    intent_type = INTENT_SILENT_ALERT
    description = (
        "Raises a silent alert: the on-call staff get a critical alert and an incident is "
        "opened, and nothing is said aloud (for a codeword a person in danger can say without "
        "alerting whoever threatens them). Optional slot 'branch'."
    )

    async def async_answer(
        self, intent_obj: intent.Intent, branch: Branch, cat: Catalogue
    ) -> str:
        """Alert staff; say nothing."""
        hass = intent_obj.hass
        by = await async_actor(hass, intent_obj.context)
        runtime = safety_of(hass, branch.coordinator.config_entry.entry_id)
        if runtime is not None:
            # Stored with the incident: Home Assistant's language, not the conversation's.
            staff = STAFF(hass.config.language)
            await runtime.async_report(
                branch,
                Category.PANIC,
                source=Source.VOICE,
                location=staff("incident.codeword"),
                description=staff("incident.silent_alert"),
                by=by,
            )
        return ""


INTENTS: tuple[intent.IntentHandler, ...] = (
    OccupancyIntent(),
    ClosingTimeIntent(),
    AnnounceIntent(),
    ExtendTodayIntent(),
    LockdownIntent(),
    SilentAlertIntent(),
)


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents (the intent integration calls this once)."""
    for handler in INTENTS:
        intent.async_register(hass, handler)
