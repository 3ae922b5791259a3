"""Repairs an administrator fixes: a controller at a new address, nobody getting staff alerts.

Zeroconf advertisements are unauthenticated, so a known controller seen elsewhere never moves its
branch by itself (the issue and its acceptance are in flow/moved.py). The fix flow shows the old
and new address and asks: move the branch (the new address is tried, and only when it answers is
the branch pointed there) or keep it where it is (the question goes; a later advert may ask
again). Home Assistant lets only administrators run fix flows; it lets anyone *ignore* an issue,
which therefore answers nothing.

"Nobody gets the staff alerts" (raised from set-up on while no on-call phone would be alerted,
safety/alerts.py): its fix flow asks for the on-call and escalation phones, companion-app devices
chosen from a list, and stores them in the service's options (as its *Configure* does); the issue
goes by itself once a phone would be alerted.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import (
    ConfirmRepairFlow,
    RepairsFlow,
    RepairsFlowResult,
)
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
import probatio

from .const import CONF_CONTROLLER_ID, DOMAIN
from .flow.moved import (
    ISSUE_CONTROLLER_MOVED,
    async_accept_move,
    async_delete_moved_issue,
    async_keep_branch,
)
from .flow.safety_options import on_call_schema
from .safety.alerts import ISSUE_NO_ON_CALL, MOBILE_APP, reachable_phones
from .safety.common import CONF_ESCALATION_PHONES, CONF_ON_CALL


class ControllerMovedRepairFlow(RepairsFlow):
    """Accept (or not) that a branch's controller now answers at a new address."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Remember what the advertisement said."""
        super().__init__()
        self._entry_id = str(data.get("entry_id"))
        self._subentry_id = str(data.get("subentry_id"))
        self._controller_id = str(data.get(CONF_CONTROLLER_ID))
        self._host = str(data.get(CONF_HOST))
        self._port = int(data.get(CONF_PORT) or 0)

    def _branch(self) -> tuple[ConfigEntry, ConfigSubentry] | None:
        """Return the branch the issue is about, if it is still that controller's."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.domain != DOMAIN:
            return None
        subentry = entry.subentries.get(self._subentry_id)
        if (
            subentry is None
            or subentry.data.get(CONF_CONTROLLER_ID) != self._controller_id
        ):
            return None
        return entry, subentry

    def _placeholders(self, subentry: ConfigSubentry) -> dict[str, str]:
        """Return the question's words: controller, branch, new and old address."""
        return {
            "controller": self._controller_id,
            "branch": subentry.title,
            "host": f"{self._host}:{self._port}",
            "old": f"{subentry.data[CONF_HOST]}:{subentry.data[CONF_PORT]}",
        }

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask: move the branch to the new address, or keep it where it is."""
        found = self._branch()
        if found is None:
            async_delete_moved_issue(self.hass, self._subentry_id)
            return self.async_abort(reason="branch_gone")
        return self.async_show_menu(
            step_id="init",
            menu_options=["confirm", "keep"],
            description_placeholders=self._placeholders(found[1]),
        )

    async def async_step_keep(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Keep the branch at its address; the question goes."""
        found = self._branch()
        if found is None:
            async_delete_moved_issue(self.hass, self._subentry_id)
            return self.async_abort(reason="branch_gone")
        async_keep_branch(self.hass, found[1], host=self._host, port=self._port)
        return self.async_create_entry(data={})

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Show old and new address; on accept, try the new one and point the branch there."""
        found = self._branch()
        if found is None:
            async_delete_moved_issue(self.hass, self._subentry_id)
            return self.async_abort(reason="branch_gone")
        entry, subentry = found
        errors: dict[str, str] = {}
        if user_input is not None:
            error = await async_accept_move(
                self.hass, entry, subentry, host=self._host, port=self._port
            )
            if error is None:
                return self.async_create_entry(data={})
            errors["base"] = error
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders=self._placeholders(subentry),
            errors=errors,
        )


class OnCallRepairFlow(RepairsFlow):
    """Choose the on-call phones of a library service nobody's alerts would reach."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Remember which library service it is about."""
        super().__init__()
        self._entry_id = str(data.get("entry_id"))

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the phones."""
        return await self.async_step_phones()

    async def async_step_phones(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask for the on-call and escalation phones; store them when one would be alerted."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.domain != DOMAIN:
            return self.async_abort(reason="service_gone")
        errors: dict[str, str] = {}
        shown: dict[str, Any] = dict(entry.options)
        if user_input is not None:
            on_call = reachable_phones(self.hass, user_input.get(CONF_ON_CALL) or [])
            escalation = reachable_phones(
                self.hass, user_input.get(CONF_ESCALATION_PHONES) or []
            )
            if on_call:
                self.hass.config_entries.async_update_entry(
                    entry,
                    options=dict(entry.options)
                    | {CONF_ON_CALL: on_call, CONF_ESCALATION_PHONES: escalation},
                )
                return self.async_create_entry(data={})
            errors[CONF_ON_CALL] = "on_call_none"
            shown |= user_input
        phones = len(self.hass.config_entries.async_entries(MOBILE_APP))
        return self.async_show_form(
            step_id="phones",
            data_schema=self.add_suggested_values_to_schema(
                on_call_schema(),
                {k: shown.get(k) or [] for k in (CONF_ON_CALL, CONF_ESCALATION_PHONES)},
            ),
            description_placeholders={
                "service": entry.title,
                "phones": str(phones),
            },
            errors=errors,
        )


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Return the fix flow of one of Smart Library's repair issues."""
    if issue_id.startswith(f"{ISSUE_CONTROLLER_MOVED}_") and data is not None:
        return ControllerMovedRepairFlow(dict(data))
    if issue_id.startswith(f"{ISSUE_NO_ON_CALL}_") and data is not None:
        return OnCallRepairFlow(dict(data))
    return ConfirmRepairFlow()
