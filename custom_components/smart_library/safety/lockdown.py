"""Lockdown of a branch at run time (the rules are engine.lockdown's).

Started by staff (the `lockdown` action, a phone's "Lock down" answer, a voice command; never by
a read-only user), ended only by an administrator (`end_lockdown`). Stored with its incident, so
a restart does not end it. While it lasts:

- the access decision refuses every card but a staff card with the reason `lockdown`
  (`safety_runtime.lockdown_active`, asked by the access decision);
- no door is held released: the building's rules (`BuildingRules.set_lockdown`, through the
  branch's coordinator) take a free-entry hold off when the lockdown starts and on any poll that
  finds one, and hold nothing for a mode change; never during a fire alarm;
- the lockdown message plays on the PA in the service's languages, and staff are alerted.

When it ends the doors follow the opening hours again (the rules' mode holds), "the lockdown is
over" plays, and the on-call phones are told.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..engine.safety import incidents as rules
from ..engine.safety.incidents import Category, IncidentError, Source
from ..engine.safety.lockdown import Lockdown
from ..helpers.errors import translated
from ..helpers.staff_texts import staff_texts
from .alerts import StaffAlerts
from .common import EVENT_LOCKDOWN, SYSTEM, SafetyBase, signal_lockdown
from .incidents import IncidentLog
from .pa import PublicAddress

if TYPE_CHECKING:
    from ..branch import Branch


class Lockdowns:
    """The lockdowns of a library service's branches."""

    def __init__(
        self,
        runtime: SafetyBase,
        log: IncidentLog,
        alerts: StaffAlerts,
        pa: PublicAddress,
    ) -> None:
        """Start with none known (see `async_load`)."""
        self.runtime = runtime
        self.log = log
        self.alerts = alerts
        self.pa = pa
        self.hass = runtime.hass
        self.running: dict[str, Lockdown] = {}

    async def async_load(self) -> None:
        """Load the lockdowns still running (a restart does not end one); enforce them."""
        try:
            store = self.log.store
            self.running = await self.hass.async_add_executor_job(store.lockdowns)
        except (HomeAssistantError, sqlite3.Error, OSError) as err:
            LOGGER.error(
                "%s: running lockdowns could not be read from the incident store (%s); "
                "a lockdown started before the restart must be started again",
                self.runtime.entry.title,
                err,
            )
        for branch_id in self.running:
            if (branch := self.runtime.branch(branch_id)) is not None:
                await branch.coordinator.async_set_lockdown(True)

    def active(self, branch_id: str) -> bool:
        """Return True while the branch is locked down."""
        return branch_id in self.running

    def _fire(
        self, branch: Branch, active: bool, by: str, context: Context | None
    ) -> None:
        self.hass.bus.async_fire(
            EVENT_LOCKDOWN,
            {
                "branch": branch.subentry.title,
                "branch_id": branch.id,
                "active": active,
                "by": by,
            },
            context=context,
        )
        async_dispatcher_send(self.hass, signal_lockdown(self.runtime.entry.entry_id))
        self.runtime.changed()

    async def async_start(
        self,
        branch: Branch,
        *,
        by: str,
        source: Source = Source.STAFF,
        reason: str = "",
        context: Context | None = None,
    ) -> tuple[Lockdown, bool]:
        """Lock a branch down; return the lockdown and whether it started now."""
        if (running := self.running.get(branch.id)) is not None:
            return running, False
        now = dt_util.utcnow()
        cat = staff_texts(self.hass)
        started_text = cat(
            {
                Source.PHONE: "incident.lockdown_started_phone",
                Source.VOICE: "incident.lockdown_started_voice",
            }.get(source, "incident.lockdown_started")
        )
        try:
            incident = rules.new_incident(
                branch=branch.id,
                branch_name=branch.subentry.title,
                category=Category.LOCKDOWN,
                occurred_at=now,
                now=now,
                recorded_by=by,
                source=source,
                location=cat("incident.whole_building"),
                description=reason or cat("incident.lockdown"),
                recorded_text=cat("incident.recorded"),
            )
            incident = rules.with_entry(incident, rules.LogEntry(now, started_text, by))
        except IncidentError as err:
            raise translated(err) from None
        lockdown = Lockdown(branch.id, now, by, incident.id)
        started = await self.log.async_write(
            lambda store: store.start_lockdown(lockdown, incident)
        )
        if started is None:
            self.log.remember(incident)  # written when the store can be
        elif not started:
            found = await self.hass.async_add_executor_job(self.log.store.lockdowns)
            self.running = found
            return found[branch.id], False
        self.running[branch.id] = lockdown
        LOGGER.warning(
            "%s locked down by %s: entry for staff cards only",
            branch.subentry.title,
            by,
        )
        self._fire(branch, True, by, context)
        dropped = await branch.coordinator.async_set_lockdown(True)
        if dropped:
            await self.log.async_note(
                incident.id,
                cat("incident.free_entry_ended", doors=", ".join(dropped)),
                SYSTEM,
            )
        self.pa.async_play_in_background(branch, "lockdown")
        await self.alerts.async_raise(
            branch,
            incident,
            critical=False,
            detail=cat("incident.locked_down_by", who=by),
        )
        return lockdown, True

    async def async_end(
        self, branch: Branch, *, by: str, context: Context | None = None
    ) -> Lockdown:
        """End a branch's lockdown (the caller checked it is an administrator)."""
        lockdown = self.running.get(branch.id)
        ended = await self.log.async_write(lambda store: store.end_lockdown(branch.id))
        if ended is not None or lockdown is None:
            lockdown = ended
        if lockdown is None:
            self.running.pop(branch.id, None)
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="lockdown_not_active",
                translation_placeholders={"branch": branch.subentry.title},
            )
        self.running.pop(branch.id, None)
        LOGGER.warning("%s: lockdown ended by %s", branch.subentry.title, by)
        cat = staff_texts(self.hass)
        await self.log.async_note(lockdown.incident, cat("incident.lockdown_ended"), by)
        self._fire(branch, False, by, context)
        await branch.coordinator.async_set_lockdown(False)
        self.pa.async_play_in_background(branch, "lockdown_over")
        for alert in list(self.alerts.alerts.values()):
            if alert.incident == lockdown.incident:
                await self.alerts.async_tell(
                    alert, cat("alert.lockdown_ended_by", who=by)
                )
        return lockdown
