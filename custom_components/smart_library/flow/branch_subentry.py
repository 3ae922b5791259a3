"""The branch sub-entry flow: a branch building's controller, opening hours and safety."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.helpers.selector import SelectOptionDict

from ..building.cover import named_neighbours, neighbour_choices
from ..const import (
    CONF_CONTROLLER_ID,
    CONF_EMPTY_AFTER_HOURS,
    CONF_MODULES,
    CONF_NEIGHBOURS,
    CONF_POINT_MAP,
    CONF_SCHEDULE,
    CONF_STAFFED_FREE_ENTRY,
    CONF_UNIT,
)
from ..engine.building.pointmap import POINT_MAPS
from ..engine.building.schedule import (
    WEEKDAYS,
    Mode,
    Schedule,
    example_schedule,
    format_periods,
    format_time,
)
from .discovery import async_abort_offers_for
from .moved import async_delete_moved_issue
from .safety_options import BRANCH_KEYS, branch_safety_data, branch_safety_schema
from .schemas import (
    CONF_CLEARANCE,
    CONF_LATEST_SMART_END,
    EMPTY_AFTER_HOURS_SCHEMA,
    HOURS_SUGGESTED,
    branch_schema,
    hours_schema,
    module_schema,
    suggested,
)
from .validation import (
    async_validate_branch,
    branch_unique_id,
    clean_branch,
    form_errors,
    normal_host,
    probe,
    schedule_from_form,
)

# What the connection step keeps of a branch's data that other steps set (hours, free entry,
# safety), and the controller's id learnt from its advertisement.
KEPT_ON_RECONNECT = (
    CONF_CONTROLLER_ID,
    CONF_SCHEDULE,
    CONF_NEIGHBOURS,
    CONF_STAFFED_FREE_ENTRY,
    CONF_EMPTY_AFTER_HOURS,
    *BRANCH_KEYS,
)


class BranchSubentryFlow(ConfigSubentryFlow):
    """Add or change a branch building: its controller's address and point map.

    A point map with several I/O modules asks for each further module's address in turn.
    """

    _data: dict[str, Any]
    _pending: list[str]

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a branch."""
        return await self._async_step_branch("user", user_input, {}, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose what to change: the controller connection, the opening hours or safety."""
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=["connection", "hours", "safety"],
            description_placeholders={"branch": self._get_reconfigure_subentry().title},
        )

    async def async_step_connection(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a branch's controller address or settings."""
        subentry = self._get_reconfigure_subentry()
        defaults = dict(subentry.data) | {CONF_NAME: subentry.title}
        return await self._async_step_branch(
            "connection", user_input, defaults, subentry.subentry_id
        )

    async def async_step_hours(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit the weekly plan: staffed and smart periods per weekday, without YAML.

        And the branch's neighbours: the other branches (of any library service) whose staffed
        hours should cover its smart hours. A neighbour removed since drops out of the choice.
        """
        subentry = self._get_reconfigure_subentry()
        current = Schedule.from_dict(subentry.data.get(CONF_SCHEDULE) or {})
        errors: dict[str, str] = {}
        doors = [d.id for d in POINT_MAPS[subentry.data[CONF_POINT_MAP]].doors]
        choices = neighbour_choices(self.hass, subentry.subentry_id)
        services = {c.service for c in choices} | {self._get_entry().title}
        options = [
            SelectOptionDict(
                value=c.id,
                label=c.title if len(services) == 1 else f"{c.title} ({c.service})",
            )
            for c in choices
        ]
        known = {c.id for c in choices}
        if user_input is not None:
            schedule, errors = schedule_from_form(user_input)
            if schedule is not None:
                # Taken without a reload (the service's update listener): the mode moves now
                # if the new plan says so, so the opening or closing routine runs.
                data = dict(subentry.data) | {
                    CONF_SCHEDULE: schedule.to_dict(),
                    CONF_STAFFED_FREE_ENTRY: list(
                        user_input.get(CONF_STAFFED_FREE_ENTRY, [])
                    ),
                    CONF_NEIGHBOURS: named_neighbours(user_input, known),
                }
                return self.async_update_and_abort(
                    self._get_entry(), subentry, data=data
                )
        shown: dict[str, Any] = {
            CONF_LATEST_SMART_END: format_time(current.latest_smart_end),
            CONF_CLEARANCE: current.clearance_minutes,
            CONF_STAFFED_FREE_ENTRY: subentry.data.get(
                CONF_STAFFED_FREE_ENTRY, doors[:1]
            ),
            CONF_NEIGHBOURS: named_neighbours(subentry.data, known),
        }
        for n, day in enumerate(WEEKDAYS):
            shown[f"{day}_staffed"] = format_periods(current.week[n], Mode.STAFFED)
            shown[f"{day}_smart"] = format_periods(current.week[n], Mode.SMART)
        if user_input is not None:
            shown |= user_input
        schema = hours_schema(
            doors,
            latest_smart_end=shown[CONF_LATEST_SMART_END],
            clearance=shown[CONF_CLEARANCE],
            neighbours=options,
        )
        latest = shown[CONF_LATEST_SMART_END]
        return self.async_show_form(
            step_id="hours",
            data_schema=self.add_suggested_values_to_schema(
                schema, suggested(shown, HOURS_SUGGESTED)
            ),
            errors=errors,
            description_placeholders={
                "branch": subentry.title,
                "latest": str(latest)[:5],
            },
        )

    async def async_step_safety(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Set a branch's cameras, speakers and speech, and the empty-building rule."""
        subentry = self._get_reconfigure_subentry()
        if user_input is not None:
            data = dict(subentry.data) | branch_safety_data(user_input)
            data.pop(CONF_EMPTY_AFTER_HOURS, None)
            if (hours := user_input.get(CONF_EMPTY_AFTER_HOURS)) is not None:
                data[CONF_EMPTY_AFTER_HOURS] = int(hours)
            return self.async_update_and_abort(self._get_entry(), subentry, data=data)
        schema = branch_safety_schema().extend(EMPTY_AFTER_HOURS_SCHEMA.schema)
        shown = branch_safety_data(subentry.data) | {
            CONF_EMPTY_AFTER_HOURS: subentry.data.get(CONF_EMPTY_AFTER_HOURS)
        }
        return self.async_show_form(
            step_id="safety",
            data_schema=self.add_suggested_values_to_schema(schema, shown),
            description_placeholders={"branch": subentry.title},
        )

    async def _async_step_branch(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        defaults: dict[str, Any],
        ignore: str | None,
    ) -> SubentryFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_branch(user_input)
            defaults = data
            error = await async_validate_branch(self.hass, data, ignore)
            if error == "already_configured" and ignore is None:
                return self.async_abort(reason="already_configured")
            if error:
                errors = form_errors(error)
            else:
                previous = (
                    dict(self._get_reconfigure_subentry().data)
                    if ignore is not None
                    else {}
                )
                if previous.get(CONF_POINT_MAP) == data[CONF_POINT_MAP]:
                    if CONF_MODULES in previous:
                        data[CONF_MODULES] = previous[CONF_MODULES]
                for key in KEPT_ON_RECONNECT:
                    if key in previous:
                        data[key] = previous[key]
                self._data = data
                self._pending = list(POINT_MAPS[data[CONF_POINT_MAP]].modules[1:])
                return await self.async_step_module()
        return self.async_show_form(
            step_id=step_id,
            data_schema=branch_schema(defaults),
            errors=errors,
            description_placeholders=(
                {"branch": self._get_reconfigure_subentry().title}
                if ignore is not None
                else None
            ),
        )

    async def async_step_module(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the address of the map's next I/O module; save when none is left."""
        errors: dict[str, str] = {}
        if self._pending and user_input is not None:
            module = self._pending[0]
            host = normal_host(str(user_input[CONF_HOST]).strip())
            address: dict[str, Any] = {
                CONF_HOST: host,
                CONF_PORT: int(user_input[CONF_PORT]),
                CONF_UNIT: int(user_input[CONF_UNIT]),
            }
            modules = dict(self._data.get(CONF_MODULES, {})) | {module: address}
            candidate = self._data | {CONF_MODULES: modules}
            if host is None:
                errors = {CONF_HOST: "invalid_host"}
            elif error := await probe(candidate, module):
                errors = form_errors(error)
            else:
                self._data = candidate
                self._pending.pop(0)
                user_input = None
        if self._pending:
            module = self._pending[0]
            return self.async_show_form(
                step_id="module",
                data_schema=module_schema(
                    self._data.get(CONF_MODULES, {}).get(module, {})
                ),
                description_placeholders={
                    "module": module,
                    "map": POINT_MAPS[self._data[CONF_POINT_MAP]].description,
                },
                errors=errors,
            )
        data = dict(self._data)
        title = data.pop(CONF_NAME)
        data.setdefault(CONF_SCHEDULE, example_schedule().to_dict())
        # An offer of this controller still waiting under *Discovered* goes.
        async_abort_offers_for(self.hass, data)
        if self.source == SOURCE_RECONFIGURE:
            # Pointed by hand: any pending "controller at a new address" question is answered.
            async_delete_moved_issue(
                self.hass, self._get_reconfigure_subentry().subentry_id
            )
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=branch_unique_id(data),
            )
        return self.async_create_entry(
            title=title, data=data, unique_id=branch_unique_id(data)
        )
