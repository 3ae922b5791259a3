"""The I/O modules' safety settings checked: a repair issue that tells the installer what to set."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import re
from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_library.building.module_checks import (
    _placeholders,
    async_check_modules,
    async_delete_module_issues,
    issue_id,
)
from custom_components.smart_library.const import (
    CONF_BACKEND,
    CONF_MODULES,
    CONF_POINT_MAP,
    CONF_RELEASE_SECONDS,
    CONF_SCHEDULE,
    CONF_UNIT,
    DOMAIN,
    SUBENTRY_BRANCH,
)
from custom_components.smart_library.engine.building.pointmap import (
    POINT_MAPS,
    ProblemKind,
    check_door_pulses,
)
from custom_components.smart_library.engine.building.schedule import Schedule
from simulator.__main__ import command
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_data, closed_port

pytestmark = pytest.mark.usefixtures("socket_enabled")
EN = Path(__file__).parents[2] / "custom_components/smart_library/translations/en.json"
BRANCH = "branch_wigston"


def _service(moxa: SimulatedBuilding, e1214_port: int | None = None) -> MockConfigEntry:
    """Return a library service with one branch on the Moxa modules."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Shire",
        data={CONF_NAME: "Shire", CONF_BACKEND: "local"},
        subentries_data=[
            {
                "data": {
                    CONF_HOST: "127.0.0.1",
                    CONF_PORT: e1214_port or moxa.ports["e1214"],
                    CONF_UNIT: 1,
                    CONF_POINT_MAP: "moxa_e1214_e1212",
                    CONF_RELEASE_SECONDS: 5,
                    CONF_SCHEDULE: Schedule().to_dict(),
                    CONF_MODULES: {
                        "e1212": {
                            CONF_HOST: "127.0.0.1",
                            CONF_PORT: moxa.ports["e1212"],
                            CONF_UNIT: 1,
                        }
                    },
                },
                "subentry_id": BRANCH,
                "subentry_type": SUBENTRY_BRANCH,
                "title": "Wigston Library",
                "unique_id": None,
            }
        ],
    )


async def _set_up_and_check(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the service up and check its modules, as its set-up does."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_check_modules(hass, entry, entry.runtime_data.branches[BRANCH])
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done(wait_background_tasks=True)


def _issues(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, ir.IssueEntry]:
    """Return this service's module-setting issues by door and kind."""
    found = {}
    for kind in ProblemKind:
        for door in ("entrance", "meeting_room"):
            ident = issue_id(entry.entry_id, BRANCH, door, kind)
            if issue := ir.async_get(hass).async_get_issue(DOMAIN, ident):
                found[f"{door} {kind.value}"] = issue
    return found


async def test_a_relay_that_pulses_for_ever_is_an_error_until_it_reads_safe(
    hass: HomeAssistant, moxa: SimulatedBuilding
) -> None:
    """Pulse count 0 on the entrance relay: an error telling the installer to set 1, checked again on reconnect.

    The settings are read with the first poll of a connection, not on every poll: the fix is
    seen when the module reconnects (a restart after the installer's change), and a second
    wrong setting (a release of 6 s for 5 configured) is then a warning of its own.
    """
    assert command(moxa, "pulse_count 0") == "ok"
    entry = _service(moxa)
    await _set_up_and_check(hass, entry)
    assert moxa.setting_reads == 3  # read once: count, ON width, OFF width

    issues = _issues(hass, entry)
    assert list(issues) == ["entrance door_pulses_for_ever"]
    issue = issues["entrance door_pulses_for_ever"]
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.translation_key == "door_pulses_for_ever"
    assert issue.translation_placeholders is not None
    assert {
        k: issue.translation_placeholders[k]
        for k in ("branch", "door", "module", "where", "max_on_width", "max_on_seconds")
    } == {
        "branch": "Wigston Library",
        "door": "entrance",
        "module": "e1214",
        "where": "relay R0",
        "max_on_width": "3",
        "max_on_seconds": "4.5",
    }

    # The installer sets the entrance right and, by mistake, the meeting room too long.
    command(moxa, "pulse_count 1")
    command(moxa, "on_width 4 meeting_room")
    for _ in range(3):
        await _poll(hass)
    assert moxa.setting_reads == 3  # not read every poll
    assert list(_issues(hass, entry)) == ["entrance door_pulses_for_ever"]

    await moxa.restart()  # the module reconnects: its settings are read anew
    for _ in range(3):
        await _poll(hass)
    assert moxa.setting_reads == 6
    issues = _issues(hass, entry)
    assert list(issues) == ["meeting_room door_release_too_long"]
    issue = issues["meeting_room door_release_too_long"]
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["seconds"] == "6"
    assert issue.translation_placeholders["release_seconds"] == "5"


async def test_a_module_that_does_not_answer_keeps_its_issue(
    hass: HomeAssistant, moxa: SimulatedBuilding
) -> None:
    """Settings that cannot be read are unknown: an issue found before is not taken back."""
    command(moxa, "pulse_count 0")
    entry = _service(moxa)
    await _set_up_and_check(hass, entry)
    assert list(_issues(hass, entry)) == ["entrance door_pulses_for_ever"]

    # Restarted with the E1214 away (here: at an address where nothing answers).
    subentry = entry.subentries[BRANCH]
    hass.config_entries.async_update_subentry(
        entry, subentry, data=dict(subentry.data) | {CONF_PORT: closed_port()}
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    branch = entry.runtime_data.branches[BRANCH]
    assert branch.coordinator.controller.settings == {}
    await async_check_modules(hass, entry, branch)
    assert list(_issues(hass, entry)) == ["entrance door_pulses_for_ever"]


async def test_issues_of_a_removed_branch_are_removed(
    hass: HomeAssistant, moxa: SimulatedBuilding, building: SimulatedBuilding
) -> None:
    """A branch taken out of the service takes its module questions with it."""
    command(moxa, "pulse_count 0")
    entry = _service(moxa)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(branch_data(building)),
            subentry_id="branch_oadby",
            subentry_type=SUBENTRY_BRANCH,
            title="Oadby Library",
            unique_id=None,
        ),
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for branch in entry.runtime_data.branches.values():
        await async_check_modules(hass, entry, branch)
    assert list(_issues(hass, entry)) == ["entrance door_pulses_for_ever"]

    assert hass.config_entries.async_remove_subentry(entry, BRANCH)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert list(entry.runtime_data.branches) == ["branch_oadby"]
    await async_check_modules(hass, entry, entry.runtime_data.branches["branch_oadby"])
    assert _issues(hass, entry) == {}

    # Removing the service removes what is left of its questions.
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry.entry_id, BRANCH, "entrance", ProblemKind.PULSES_FOR_EVER),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ProblemKind.PULSES_FOR_EVER.value,
        data={"entry_id": entry.entry_id, "subentry_id": BRANCH},
    )
    async_delete_module_issues(hass, entry.entry_id)
    assert _issues(hass, entry) == {}


def test_every_placeholder_of_the_issues_is_given() -> None:
    """The repair texts name only placeholders the check fills in (a missing one shows raw)."""
    issues = json.loads(EN.read_text())["issues"]
    values = {
        "door.entrance.pulse_count": 0,
        "door.entrance.pulse_on_width": 3,
        "door.entrance.pulse_off_width": 1,
    }
    (problem,) = check_door_pulses(POINT_MAPS["moxa_e1214_e1212"], values, 5)
    given = set(_placeholders("Wigston Library", problem))
    for kind in ProblemKind:
        text = issues[kind.value]["title"] + issues[kind.value]["description"]
        used = set(re.findall(r"{(\w+)}", text))
        assert used, kind
        assert used <= given, (kind, used - given)
