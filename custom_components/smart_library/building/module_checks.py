"""The I/O modules' own safety settings, checked: a repair issue telling the installer what to set.

A door on a generic module's relay in pulse mode is released for as long as the *module* is set
to pulse: a Moxa relay left at pulse count 0 pulses without end (the door never locks again), and
a long ON width keeps it released longer than the branch's release time. Where the point map can
read those settings (`PointMap.settings`), the controller reads them once per connection; this
module checks them (`engine.pointmap.check_door_pulses`) at set-up and again whenever the
controller has read them anew (the module reconnected), and keeps one translated repair issue per
problem: created while the problem is read, deleted once the setting is read safe. A module that
cannot be read leaves its issues as they were: unknown is never shown as all clear.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN, LOGGER
from ..engine.building.controller import ControllerError, PointValues
from ..engine.building.pointmap import (
    PULSE_COUNT,
    PULSE_ON_WIDTH,
    PointMap,
    Problem,
    ProblemKind,
    check_door_pulses,
)

if TYPE_CHECKING:
    from ..branch import Branch

_SEVERITY = {
    ProblemKind.PULSES_FOR_EVER: ir.IssueSeverity.ERROR,
    ProblemKind.RELEASE_TOO_LONG: ir.IssueSeverity.WARNING,
}


def issue_id(entry_id: str, subentry_id: str, door: str, kind: ProblemKind) -> str:
    """Return the repair issue id of one problem at one door of one branch."""
    return f"{kind.value}_{entry_id}_{subentry_id}_{door}"


def _seconds(value: float) -> str:
    """Return seconds as a person writes them: 4.5, 6, for ever."""
    if math.isinf(value):
        return "∞"
    return f"{value:g}"


def _placeholders(branch: str, problem: Problem) -> dict[str, str]:
    """Return the repair issue's placeholders (nothing personal in them)."""
    return {
        "branch": branch,
        "door": problem.door.replace("_", " "),
        "module": problem.module,
        "where": problem.where or problem.module,
        "pulse_count": str(problem.pulse_count),
        "on_width": str(problem.on_width),
        "off_width": str(problem.off_width),
        "step": _seconds(problem.step_seconds),
        "seconds": _seconds(problem.released_seconds),
        "release_seconds": _seconds(problem.release_seconds),
        "max_on_width": str(problem.max_on_width),
        "max_on_seconds": _seconds(problem.max_on_width * problem.step_seconds),
    }


def _known_doors(point_map: PointMap, values: PointValues) -> list[str]:
    """Return the doors whose pulse settings were read (only those are judged)."""
    return [
        door.id
        for door in point_map.doors
        if f"door.{door.id}.{PULSE_COUNT}" in values
        and f"door.{door.id}.{PULSE_ON_WIDTH}" in values
    ]


@callback
def async_apply_checks(
    hass: HomeAssistant, entry: ConfigEntry, branch: Branch, values: PointValues
) -> list[Problem]:
    """Check settings as read; create an issue per problem, delete those read safe again."""
    coordinator = branch.coordinator
    point_map = coordinator.controller.point_map
    problems = check_door_pulses(point_map, values, coordinator.release_seconds)
    found = {(p.door, p.kind): p for p in problems}
    registry = ir.async_get(hass)
    for door in _known_doors(point_map, values):
        for kind in ProblemKind:
            ident = issue_id(entry.entry_id, branch.id, door, kind)
            problem = found.get((door, kind))
            if problem is None:
                ir.async_delete_issue(hass, DOMAIN, ident)
                continue
            placeholders = _placeholders(branch.subentry.title, problem)
            if registry.async_get_issue(DOMAIN, ident) is None:
                LOGGER.warning(
                    "%s: the %s (%s) that releases the %s door is set to pulse count %s, "
                    "ON width %s: one release lasts %s s (the branch's release time is %s s); "
                    "see Settings > Repairs",
                    branch.subentry.title,
                    problem.module,
                    placeholders["where"],
                    placeholders["door"],
                    problem.pulse_count,
                    problem.on_width,
                    placeholders["seconds"],
                    placeholders["release_seconds"],
                )
            ir.async_create_issue(
                hass,
                DOMAIN,
                ident,
                is_fixable=False,
                is_persistent=True,  # shown after a restart until the module reads safe
                severity=_SEVERITY[kind],
                translation_key=kind.value,
                translation_placeholders=placeholders,
                data={"entry_id": entry.entry_id, "subentry_id": branch.id},
            )
    return problems


@callback
def async_delete_module_issues(
    hass: HomeAssistant, entry_id: str, keep: set[str] | None = None
) -> None:
    """Delete a library service's module-setting issues (except those of the branches in `keep`)."""
    kinds = tuple(f"{kind.value}_" for kind in ProblemKind)
    for (domain, ident), issue in list(ir.async_get(hass).issues.items()):
        data = issue.data or {}
        if (
            domain == DOMAIN
            and ident.startswith(kinds)
            and data.get("entry_id") == entry_id
            and (keep is None or data.get("subentry_id") not in keep)
        ):
            ir.async_delete_issue(hass, DOMAIN, ident)


async def async_check_modules(
    hass: HomeAssistant, entry: ConfigEntry, branch: Branch
) -> None:
    """Check a branch's module safety settings now, and again after each reconnection.

    Call once per branch when the entry is set up (after the first poll, so the settings that
    poll read are used and nothing is read twice); it never raises for a module that does not
    answer. Issues of branches no longer in the entry are removed.
    """
    async_delete_module_issues(hass, entry.entry_id, keep=set(entry.subentries))
    coordinator = branch.coordinator
    controller = coordinator.controller
    point_map = controller.point_map
    if not point_map.settings:
        return
    modules = {point.module for point in point_map.settings}
    values = controller.settings
    for module in sorted(modules):
        if not any(p.module == module and p.key in values for p in point_map.settings):
            try:
                values = await controller.read_settings(module)
            except ControllerError as err:
                LOGGER.debug(
                    "%s: the settings of module %s could not be read (%s); checked when it "
                    "answers",
                    branch.subentry.title,
                    module,
                    err,
                )
    async_apply_checks(hass, entry, branch, controller.settings)

    @callback
    def _recheck() -> None:
        """Check again: the controller has read the settings anew (the module reconnected)."""
        async_apply_checks(hass, entry, branch, controller.settings)

    entry.async_on_unload(controller.add_settings_listener(_recheck))
