"""Staff alerts that reach a lone worker: on-call phones, critical alerts, answers, escalation.

The library service chooses its on-call phones once: companion-app devices (a device selector
filtered to `mobile_app`), never a typed action name. Each device is reached through its own
notify action (`notify.mobile_app_<device name>`), looked up when an alert is sent, so a renamed
phone still gets it. Fire and panic go as critical alerts (engine.alerts.payload); everything
else as normal notifications. Each can be answered from the phone:

- Acknowledge: the alert is acknowledged and stops escalating, and the branch's latched alarms
  are acknowledged through `smart_library.acknowledge_alarm` with the phone user's own rights;
- Lock down: the branch is locked down (lockdown.py), in the phone user's name;
- I'm on my way: recorded, and told to the other phones.

An alert nobody answers within the service's escalation minutes goes on to the escalation phones
(or, when none are set, again to the on-call phones). Every step is a line of the incident's
timeline. When no phone is set, the incident says nobody was alerted, and a repair issue asks an
administrator to choose the on-call phones.

What the phones show (titles, messages, the buttons' titles) and the lines written into the
incident's timeline are in Home Assistant's language at the time of sending
(helpers/staff_texts.py says why not the phone user's own): a sent alert and a written line are
kept as they were written. The buttons' action ids are the same in every language.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Context, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util, slugify

from ..const import DOMAIN, LOGGER
from ..engine.safety import alerts as rules
from ..engine.safety.alerts import Alert, Answer
from ..engine.safety.incidents import Category, Incident, Source
from ..helpers.permissions import NO_USER, async_actor
from ..helpers.staff_texts import answer_titles, category_title, staff_texts
from .common import SYSTEM, SafetyBase
from .incidents import IncidentLog

if TYPE_CHECKING:
    from ..branch import Branch

MOBILE_APP = "mobile_app"
ISSUE_NO_ON_CALL = "no_on_call_phones"
ACKNOWLEDGE_ACTION = (
    "acknowledge_alarm"  # safety.py's action: acknowledges latched alarms
)
# The building's latched alarms (engine.alarms.AlarmKind): an answer "Acknowledge" acknowledges
# them; a fire alarm is reset by an administrator instead, a help point is not latched.
LATCHED_KINDS = frozenset(
    {"panic", "door_forced", "door_held_open", "fire_fault", "controller_lost"}
)
STORE_DELAY = 1  # seconds: pending alerts are on disk within a second
KEPT_ALERTS = 50  # answered alerts remembered (late answers from the phones)


def notify_target(hass: HomeAssistant, device_id: str) -> tuple[str, str] | None:
    """Return (notify action, display name) of a companion-app device, or None.

    The mobile app's notify action is named after the device name it registered with.
    """
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    entry = hass.config_entries.async_get_entry(device.config_entry_id)
    if entry is None or entry.domain != MOBILE_APP:
        return None
    registered = str(entry.data.get("device_name") or device.name or entry.title)
    shown = device.name_by_user or device.name or registered
    return f"{MOBILE_APP}_{slugify(registered)}", shown


def phone_user(hass: HomeAssistant, device_id: str) -> str | None:
    """Return the Home Assistant user a companion-app phone registered as (None: unknown)."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    entry = hass.config_entries.async_get_entry(device.config_entry_id)
    if entry is None or entry.domain != MOBILE_APP:
        return None
    user_id = entry.data.get("user_id")
    return str(user_id) if user_id else None


def is_phone(hass: HomeAssistant, device_id: str) -> bool:
    """Return True for a companion-app device."""
    return notify_target(hass, device_id) is not None


def reachable_phones(hass: HomeAssistant, devices: Iterable[str]) -> list[str]:
    """Return the devices among `devices` that are companion-app phones now (in order)."""
    return [d for d in dict.fromkeys(devices) if is_phone(hass, d)]


def signal_phones(entry_id: str) -> str:
    """Return the dispatcher signal telling a service's entities its phones changed."""
    return f"{DOMAIN}_{entry_id}_phones"


@callback
def async_sync_no_phone_issue(
    hass: HomeAssistant, entry: ConfigEntry, phones: bool
) -> None:
    """Raise the repair issue asking for on-call phones, or delete it once they are set.

    Fixable: its fix flow (repairs.py) lets an administrator choose the phones.
    """
    issue_id = f"{ISSUE_NO_ON_CALL}_{entry.entry_id}"
    if phones:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_NO_ON_CALL,
        translation_placeholders={"service": entry.title},
        data={"entry_id": entry.entry_id},
    )


class StaffAlerts:
    """The staff alerts of one library service."""

    def __init__(self, runtime: SafetyBase, log: IncidentLog) -> None:
        """Start with no alert sent (`async_load` takes back those still pending)."""
        self.runtime = runtime
        self.hass = runtime.hass
        self.log = log
        self.alerts: dict[str, Alert] = {}
        self._sent_to: dict[str, set[str]] = {}  # alert id -> device ids
        self._timers: dict[str, CALLBACK_TYPE] = {}
        # Set by the runtime: a phone's "Lock down" starts a lockdown through this.
        self.start_lockdown: Callable[..., Coroutine[Any, Any, object]] | None = None
        self._store: Store[dict[str, Any]] = Store(
            runtime.hass, 1, f"{DOMAIN}.{runtime.entry.entry_id}.alerts", private=True
        )

    @callback
    def async_stop(self) -> None:
        """Cancel every escalation timer (the alerts stay stored: a restart resumes them)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    # -- what survives a restart ----------------------------------------------------------------

    def _data(self) -> dict[str, Any]:
        return {
            "alerts": [a.to_dict() for a in self.alerts.values()],
            "sent_to": {k: sorted(v) for k, v in self._sent_to.items()},
        }

    @callback
    def _changed(self) -> None:
        """Store the alerts soon (an escalation's deadline survives a restart)."""
        self._store.async_delay_save(self._data, STORE_DELAY)

    async def async_save(self) -> None:
        """Store the alerts now (on unload)."""
        await self._store.async_save(self._data())

    async def async_load(self) -> None:
        """Take back the stored alerts; one whose deadline passed meanwhile escalates now."""
        try:
            stored = await self._store.async_load() or {}
        except HomeAssistantError as err:
            LOGGER.warning(
                "Stored staff alerts of %s unreadable: %s",
                self.runtime.entry.title,
                err,
            )
            stored = {}
        for raw in stored.get("alerts", ()):
            try:
                alert = Alert.from_dict(raw)
            except KeyError, TypeError, ValueError:
                continue
            self.alerts.setdefault(alert.id, alert)
        for alert_id, devices in (stored.get("sent_to") or {}).items():
            if alert_id in self.alerts:
                self._sent_to.setdefault(alert_id, set()).update(map(str, devices))
        for alert in self.alerts.values():
            if not alert.acknowledged and alert.escalated_at is None:
                self._schedule_escalation(alert)

    @callback
    def settings_changed(self) -> None:
        """Reschedule the pending escalations for new settings (no alert is forgotten)."""
        for alert_id in list(self._timers):
            self._timers.pop(alert_id)()
            if (alert := self.alerts.get(alert_id)) is not None:
                self._schedule_escalation(alert)
        self.async_check_phones()

    # -- whether anybody would be told ------------------------------------------------------------

    @property
    def phones(self) -> list[str]:
        """Return the on-call phones an alert would reach now (companion-app devices)."""
        return reachable_phones(self.hass, self.runtime.settings.on_call)

    @callback
    def async_check_phones(self) -> None:
        """Say whether an alert would reach a phone: the repair issue, the service's entity.

        Called from set-up onwards (not only at the first alarm), when the settings change and
        when a device is removed or changed: nobody finds out at the first panic press.
        """
        async_sync_no_phone_issue(self.hass, self.runtime.entry, bool(self.phones))
        async_dispatcher_send(self.hass, signal_phones(self.runtime.entry.entry_id))

    @callback
    def async_on_device_changed(
        self, event: Event[dr.EventDeviceRegistryUpdatedData]
    ) -> None:
        """Check the phones again when an on-call device is removed or changed."""
        if event.data["device_id"] in self.runtime.settings.on_call:
            self.async_check_phones()

    # -- sending ------------------------------------------------------------------------------

    def _message(self, branch: Branch, incident: Incident, detail: str) -> str:
        """Return what the phone shows: what, where, when, the mode, how many inside."""
        cat = staff_texts(self.hass)
        zone = dt_util.get_default_time_zone()
        parts = [detail or category_title(cat, incident.category)]
        if incident.location:
            parts.append(incident.location)
        parts.append(f"{incident.occurred_at.astimezone(zone):%H:%M}")
        parts.append(cat(f"modes.{branch.hours.mode.value}"))
        if "counter.in" in branch.coordinator.point_map:
            parts.append(
                cat("alert.counted_inside", count=branch.coordinator.occupancy.inside)
            )
        return ", ".join(parts)

    async def async_raise(
        self,
        branch: Branch,
        incident: Incident,
        *,
        critical: bool,
        alarm_kind: str | None = None,
        detail: str = "",
        answers: tuple[Answer, ...] | None = None,
    ) -> Alert | None:
        """Alert the on-call phones about an incident; escalate if nobody answers in time."""
        settings = self.runtime.settings
        cat = staff_texts(self.hass)
        if answers is None:
            answers = (
                (Answer.ACKNOWLEDGE, Answer.ON_MY_WAY)
                if incident.category is Category.LOCKDOWN
                else tuple(Answer)
            )
        alert = Alert(
            id=rules.new_alert_id(),
            branch=branch.id,
            branch_name=branch.subentry.title,
            incident=incident.id,
            title=cat(
                "alert.title",
                what=category_title(cat, incident.category),
                branch=branch.subentry.title,
            ),
            message=self._message(branch, incident, detail),
            critical=critical,
            sent_at=dt_util.utcnow(),
            alarm_kind=alarm_kind,
            answers=answers,
        )
        self.async_check_phones()
        if not self.phones:
            why = (
                "the on-call phones are no longer companion-app devices"
                if settings.on_call
                else "no on-call phone is set"
            )
            LOGGER.warning(
                "%s at %s: %s, nobody was alerted",
                incident.title,
                branch.subentry.title,
                why,
            )
            await self.log.async_note(
                incident.id,
                cat("alert.phones_gone" if settings.on_call else "alert.no_phone_set"),
                SYSTEM,
            )
            return None
        self.alerts[alert.id] = alert
        self._forget_old()
        self._schedule_escalation(alert)
        reached = await self._async_send(
            alert, settings.on_call, rules.payload(alert, titles=answer_titles(cat))
        )
        await self.log.async_note(
            incident.id,
            cat(
                "alert.alerted_critical" if critical else "alert.alerted_normal",
                phones=", ".join(reached) or cat("alert.no_phone_answered"),
            ),
            SYSTEM,
        )
        return alert

    async def _async_send(
        self, alert: Alert, devices: Iterable[str], data: dict[str, Any]
    ) -> list[str]:
        """Send one notification to each device; return the names of those it was sent to."""
        targets = []
        for device_id in dict.fromkeys(devices):
            if (target := notify_target(self.hass, device_id)) is None:
                LOGGER.warning(
                    "On-call device %s is not a companion-app phone (any more)",
                    device_id,
                )
                continue
            targets.append((device_id, *target))

        async def send(service: str, name: str) -> str | None:
            try:
                await self.hass.services.async_call(
                    "notify", service, dict(data), blocking=True
                )
            except HomeAssistantError as err:
                LOGGER.warning("Alert to %s (notify.%s) failed: %s", name, service, err)
                return None
            return name

        results = await asyncio.gather(
            *(send(service, name) for _, service, name in targets)
        )
        self._sent_to.setdefault(alert.id, set()).update(
            device_id
            for (device_id, _, _), done in zip(targets, results, strict=True)
            if done
        )
        self._changed()
        return [name for name in results if name]

    async def async_tell(self, alert: Alert, message: str) -> None:
        """Tell every phone that got the alert what happened to it (replacing it there)."""
        devices = self._sent_to.get(alert.id, set())
        if devices:
            await self._async_send(alert, devices, rules.follow_up(alert, message))

    # -- escalation ---------------------------------------------------------------------------

    def _schedule_escalation(self, alert: Alert) -> None:
        """Escalate at the alert's deadline (at once if it passed while nobody listened)."""
        minutes = self.runtime.settings.escalation_minutes
        deadline = rules.escalation_deadline(alert, minutes)

        @callback
        def due(_now: datetime) -> None:
            self._timers.pop(alert.id, None)
            self.runtime.entry.async_create_background_task(
                self.hass, self._async_escalate(alert.id), f"{DOMAIN} alert escalation"
            )

        if (cancel := self._timers.pop(alert.id, None)) is not None:
            cancel()
        self._timers[alert.id] = async_track_point_in_utc_time(
            self.hass, due, max(deadline, dt_util.utcnow())
        )

    async def _async_escalate(self, alert_id: str) -> None:
        """Send an unanswered alert on to the escalation phones."""
        settings = self.runtime.settings
        alert = self.alerts.get(alert_id)
        if alert is None or not rules.escalation_due(
            alert, dt_util.utcnow(), settings.escalation_minutes
        ):
            return
        alert = replace(alert, escalated_at=dt_util.utcnow())
        self.alerts[alert.id] = alert
        self._changed()
        devices = settings.escalation or settings.on_call
        cat = staff_texts(self.hass)
        minutes = settings.escalation_minutes
        reached = await self._async_send(
            alert,
            devices,
            rules.payload(
                alert,
                note=cat.count("alert.escalation_note", minutes),
                titles=answer_titles(cat),
            ),
        )
        await self.log.async_note(
            alert.incident,
            cat.count(
                "alert.escalated",
                minutes,
                phones=", ".join(reached) or cat("alert.no_phone_answered"),
            ),
            SYSTEM,
        )

    def _settle(self, alert: Alert, by: str) -> Alert:
        """Mark an alert answered: it stops escalating."""
        alert = rules.acknowledged(alert, by, dt_util.utcnow())
        self.alerts[alert.id] = alert
        if (cancel := self._timers.pop(alert.id, None)) is not None:
            cancel()
        self._changed()
        return alert

    def _forget_old(self) -> None:
        answered = [a for a in self.alerts.values() if a.acknowledged]
        for alert in answered[: max(0, len(answered) - KEPT_ALERTS)]:
            self.alerts.pop(alert.id, None)
            self._sent_to.pop(alert.id, None)

    # -- answers ------------------------------------------------------------------------------

    @callback
    def async_on_action(self, event: Event) -> None:
        """Take an answer from a phone's notification (`mobile_app_notification_action`)."""
        parsed = rules.parse_action(event.data.get("action"))
        if parsed is None:
            return
        answer, alert_id = parsed
        if (alert := self.alerts.get(alert_id)) is None:
            return  # another service's alert, or one long answered
        if answer not in alert.answers or not self._answered_by_recipient(
            alert, event.context
        ):
            LOGGER.warning(
                "An answer to the staff alert about %s came from a user it was not sent "
                "to; ignored",
                alert.branch_name,
            )
            return
        self.runtime.entry.async_create_background_task(
            self.hass,
            self._async_answer(alert, answer, event.context),
            f"{DOMAIN} alert answer",
        )

    def _answered_by_recipient(self, alert: Alert, context: Context) -> bool:
        """Return True when the answer comes from the user of a phone the alert went to.

        Any registered phone (any user's) can fire `mobile_app_notification_action`; the mobile
        app fires it in the name of the user the phone registered as. So an answer counts only
        with the alert's unguessable id and from one of the users its phones belong to.
        """
        users = {
            user
            for device_id in self._sent_to.get(alert.id, ())
            if (user := phone_user(self.hass, device_id)) is not None
        }
        return context.user_id is not None and context.user_id in users

    async def _async_who(self, context: Context) -> str:
        if context.user_id and (
            user := await self.hass.auth.async_get_user(context.user_id)
        ):
            return user.name or staff_texts(self.hass)("alert.a_phone")
        return staff_texts(self.hass)("alert.a_phone")

    async def _async_answer(
        self, alert: Alert, answer: Answer, context: Context
    ) -> None:
        """Act on a phone's answer in the phone user's name and with their rights."""
        who = await self._async_who(context)
        alert = self.alerts.get(alert.id, alert)
        branch = self.runtime.branch(alert.branch)
        zone = dt_util.get_default_time_zone()
        at = f"{dt_util.now(zone):%H:%M}"
        cat = staff_texts(self.hass)
        match answer:
            case Answer.ACKNOWLEDGE:
                self._settle(alert, who)
                await self.log.async_note(
                    alert.incident, cat("alert.acknowledged_from_phone"), who
                )
                if branch is not None and alert.alarm_kind in LATCHED_KINDS:
                    await self._async_acknowledge_alarms(branch, context)
                await self.async_tell(
                    alert, cat("alert.acknowledged_by_at", who=who, time=at)
                )
            case Answer.ON_MY_WAY:
                self.alerts[alert.id] = rules.on_the_way(self._settle(alert, who), who)
                await self.log.async_note(
                    alert.incident, cat("alert.on_the_way_noted"), who
                )
                await self.async_tell(alert, cat("alert.on_the_way", who=who, time=at))
            case Answer.LOCKDOWN:
                if branch is None:
                    return
                try:
                    await async_actor(self.hass, context)
                except HomeAssistantError:
                    await self.log.async_note(
                        alert.incident, cat("alert.lockdown_refused"), who
                    )
                    return
                if self.start_lockdown is None:
                    return
                self._settle(alert, who)
                await self.start_lockdown(
                    branch, by=who, source=Source.PHONE, context=context
                )
                await self.async_tell(
                    alert, cat("alert.lockdown_started_by", who=who, time=at)
                )

    async def _async_acknowledge_alarms(self, branch: Branch, context: Context) -> None:
        """Acknowledge the branch's latched alarms through the building's own action."""
        device_id = self.runtime.device_id(branch)
        if device_id is None or not self.hass.services.has_service(
            DOMAIN, ACKNOWLEDGE_ACTION
        ):
            LOGGER.warning(
                "%s: the alarms could not be acknowledged from the phone (no %s action)",
                branch.subentry.title,
                ACKNOWLEDGE_ACTION,
            )
            return
        try:
            await self.hass.services.async_call(
                DOMAIN,
                ACKNOWLEDGE_ACTION,
                {"branch": device_id},
                blocking=True,
                context=context,
            )
        except HomeAssistantError as err:
            LOGGER.warning(
                "%s: the alarms could not be acknowledged from the phone: %s",
                branch.subentry.title,
                err,
            )

    async def async_alarms_acknowledged(
        self, branch: Branch, by: str, kinds: list[str]
    ) -> None:
        """Settle the alerts about alarms a person acknowledged at the branch (not by phone)."""
        for alert in list(self.alerts.values()):
            if (
                alert.branch != branch.id
                or alert.acknowledged
                or alert.alarm_kind not in LATCHED_KINDS
                or (kinds and alert.alarm_kind not in kinds)
            ):
                continue
            self._settle(alert, by)
            cat = staff_texts(self.hass)
            await self.log.async_note(
                alert.incident, cat("alert.alarm_acknowledged"), by
            )
            await self.async_tell(
                alert, cat("alert.acknowledged_by", who=by or NO_USER)
            )
