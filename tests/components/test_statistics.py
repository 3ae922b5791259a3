"""Usage statistics in Home Assistant's long-term statistics, and the monthly CSV for planning."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
import io
from typing import Any

from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.statistics import (
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.components.select import (
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.services.usage import (
    EXPORT_USAGE_SCHEMA,
    export_usage,
)
from custom_components.smart_library.usage.statistics import (
    DATA_USAGE,
    UsageStatistics,
    age_band,
    async_setup_usage_statistics,
    parse_month,
    record_decision,
    safe_cell,
    statistic_id,
)
from simulator.building import SimulatedBuilding
from tests.components.conftest import years_before
from tests.components.test_access import PIN, call, open_smart, request

BRANCH = "branch_oadby"


def _id(metric: str) -> str:
    return statistic_id(BRANCH, metric)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant (it needs its database first)."""


@pytest.fixture
async def usage(
    recorder_mock: Recorder, hass: HomeAssistant, init_integration: MockConfigEntry
) -> UsageStatistics:
    """Return the library service's usage statistics, with the recorder running."""
    if init_integration.entry_id not in hass.data.get(DATA_USAGE, {}):
        # Until the integration's own set-up starts it: the same call.
        init_integration.async_on_unload(
            await async_setup_usage_statistics(hass, init_integration)
        )
    if not hass.services.has_service(DOMAIN, "export_usage"):
        hass.services.async_register(
            DOMAIN,
            "export_usage",
            export_usage,
            schema=EXPORT_USAGE_SCHEMA,
            supports_response=SupportsResponse.ONLY,
        )
    return hass.data[DATA_USAGE][init_integration.entry_id]


async def _stored(
    hass: HomeAssistant, ids: set[str], types: set[Any], period: Any = "hour"
) -> dict[str, list[dict[str, Any]]]:
    """Write what is pending and read the statistics back."""
    for usage in hass.data[DATA_USAGE].values():
        await usage.async_flush()
    await async_wait_recording_done(hass)
    rows: dict[str, list[dict[str, Any]]] = await get_instance(
        hass
    ).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.utcnow() - timedelta(days=2),
        None,
        ids,
        period,
        None,
        types,
    )
    return rows


async def test_refusals_and_age_bands_counted_per_hour_and_never_a_person(
    hass: HomeAssistant, usage: UsageStatistics
) -> None:
    """Each refusal counts under its reason; each grant's people under their age bands."""
    entry_id = next(iter(hass.data[DATA_USAGE]))
    for reason in ("wrong_pin", "wrong_pin", "not_open"):
        record_decision(hass, entry_id, BRANCH, granted=False, reason=reason)
    record_decision(
        hass,
        entry_id,
        BRANCH,
        granted=True,
        reason="granted",
        party=3,
        age_bands={"16_59": 1, "under_16": 2},
    )
    record_decision(
        hass,
        entry_id,
        BRANCH,
        granted=True,
        reason="granted",
        party=1,
        age_bands={age_band(67): 1},
    )
    record_decision(hass, "another service", BRANCH, granted=False, reason="barred")
    rows = await _stored(
        hass,
        {
            _id("refusals_wrong_pin"),
            _id("refusals_not_open"),
            _id("refusals_barred"),
            _id("age_under_16"),
            _id("age_16_59"),
            _id("age_60_plus"),
        },
        {"state", "sum"},
    )
    counted = {ident: [r["state"] for r in hours] for ident, hours in rows.items()}
    assert counted == {
        _id("refusals_wrong_pin"): [2],
        _id("refusals_not_open"): [1],
        _id("age_under_16"): [2],
        _id("age_16_59"): [1],
        _id("age_60_plus"): [1],
    }
    # The rows are whole hours of counts: nothing else is kept about anybody.
    assert all(
        set(r) <= {"start", "end", "state", "sum"}
        for hours in rows.values()
        for r in hours
    )
    listed = await get_instance(hass).async_add_executor_job(
        list_statistic_ids, hass, {_id("age_under_16")}
    )
    assert listed[0]["name"] == "Oadby Library entries aged under 16"
    assert listed[0]["source"] == DOMAIN


async def test_entries_by_mode_from_the_people_counter(
    hass: HomeAssistant, usage: UsageStatistics, building: SimulatedBuilding
) -> None:
    """People the counter sees come in count under the branch's mode at the time."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "staffed"},
        blocking=True,
    )
    coordinator = next(iter(hass.config_entries.async_entries(DOMAIN))).runtime_data
    branch = coordinator.branches[BRANCH]
    counter = int(building.get("counter.in"))
    building.set("counter.in", counter + 4)
    await branch.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert branch.coordinator.occupancy.entries_today == 4
    rows = await _stored(
        hass,
        {_id("entries_staffed"), _id("entries_closed"), _id("occupancy")},
        {"state", "max"},
    )
    assert [r["state"] for r in rows[_id("entries_staffed")]] == [4]
    assert _id("entries_closed") not in rows
    assert rows[_id("occupancy")][-1]["max"] == 4


async def test_a_grant_without_a_people_counter_counts_its_party_as_entries(
    hass: HomeAssistant, usage: UsageStatistics
) -> None:
    """Where the branch has no counter, the people a card admitted are its entries."""
    counted = UsageStatistics(
        hass,
        {"b": "Counterless"},
        mode_of=lambda _: "smart",
        has_counter=lambda _: False,
    )
    counted.decision("b", granted=True, reason="granted", party=2)
    await counted.async_flush()
    rows = await _stored(hass, {statistic_id("b", "entries_smart")}, {"state"})
    assert [r["state"] for r in rows[statistic_id("b", "entries_smart")]] == [2]


async def test_counting_goes_on_after_a_restart_within_the_hour(
    hass: HomeAssistant, usage: UsageStatistics
) -> None:
    """A restart in the middle of an hour adds to that hour; the running sum never drops."""
    first = UsageStatistics(
        hass, {BRANCH: "Oadby Library"}, lambda _: "smart", lambda _: True
    )
    last_hour = dt_util.utcnow() - timedelta(hours=1)
    first.count(BRANCH, "refusals_locked_out", 2, at=last_hour)
    first.count(BRANCH, "refusals_locked_out", 3)
    await first.async_flush()
    await async_wait_recording_done(hass)
    again = UsageStatistics(
        hass, {BRANCH: "Oadby Library"}, lambda _: "smart", lambda _: True
    )  # as after a restart: it knows only what is stored
    again.count(BRANCH, "refusals_locked_out", 1)
    await again.async_flush()
    rows = await _stored(hass, {_id("refusals_locked_out")}, {"state", "sum"})
    hours = rows[_id("refusals_locked_out")]
    assert [(r["state"], r["sum"]) for r in hours] == [(2, 2), (4, 6)]


async def test_counts_still_waiting_are_written_when_the_service_unloads(
    hass: HomeAssistant, usage: UsageStatistics, init_integration: MockConfigEntry
) -> None:
    """Unloading the service (a reload, a removed branch) loses no count."""
    usage.count(BRANCH, "refusals_barred", 2)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    rows = await _stored(hass, {_id("refusals_barred")}, {"state"})
    assert [r["state"] for r in rows[_id("refusals_barred")]] == [2]
    assert init_integration.entry_id not in hass.data[DATA_USAGE]


async def test_peak_occupancy_per_hour(
    hass: HomeAssistant, usage: UsageStatistics
) -> None:
    """People inside: each hour's peak, lowest and time-weighted mean."""
    counted = UsageStatistics(hass, {"b": "Branch"}, lambda _: "smart", lambda _: True)
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=2
    )
    counted.occupancy("b", 10, at=start)
    counted.occupancy("b", 30, at=start + timedelta(minutes=30))
    counted.occupancy("b", 0, at=start + timedelta(minutes=90))
    await counted.async_flush(now=start + timedelta(hours=2))
    rows = await _stored(hass, {statistic_id("b", "occupancy")}, {"max", "min", "mean"})
    hours = rows[statistic_id("b", "occupancy")]
    assert [(r["min"], r["max"], r["mean"]) for r in hours[:2]] == [
        (10, 30, 20),  # 10 for half an hour, then 30
        (0, 30, 15),  # 30 for half an hour, then 0
    ]


async def test_monthly_csv_for_planning(
    hass: HomeAssistant, usage: UsageStatistics, init_integration: MockConfigEntry
) -> None:
    """The month's CSV: a line per local hour, entries by mode and age, refusals by reason."""
    usage.count(BRANCH, "entries_smart", 5)
    usage.count(BRANCH, "age_16_59", 3)
    usage.count(BRANCH, "refusals_wrong_pin", 2)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, BRANCH), init_integration.entry_id
    )
    assert device is not None
    month = dt_util.now().strftime("%Y-%m")
    answer = await hass.services.async_call(
        DOMAIN,
        "export_usage",
        {"branch": device.id, "month": month},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["branch"] == "Oadby Library"
    assert answer["month"] == month
    lines = list(csv.DictReader(io.StringIO(str(answer["csv"]))))
    assert answer["hours"] == len(lines) == 1
    line = lines[0]
    now = dt_util.now()
    assert line["date"] == now.date().isoformat()
    assert line["hour"] == now.strftime("%H:00")
    assert line["entries_smart"] == "5"
    assert line["entries_staffed"] == "0"
    assert line["age_16_59"] == "3"
    assert line["refusals"] == "2"
    assert line["refusals_wrong_pin"] == "2"
    # Another month: no lines, just the header.
    answer = await hass.services.async_call(
        DOMAIN,
        "export_usage",
        {"branch": device.id, "month": "2020-01"},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["hours"] == 0
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "export_usage",
            {"branch": device.id, "month": "last month"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "invalid_month"


def test_months_and_cells() -> None:
    """Months are YYYY-MM; a cell a spreadsheet would run as a formula is kept as text."""
    today = datetime(2026, 11, 25, tzinfo=UTC).date()
    assert parse_month(None, today) == today.replace(day=1)
    assert parse_month("2026-02", today).isoformat() == "2026-02-01"
    for bad in ("2026", "26-02", "2026-13", "2026-xx"):
        with pytest.raises(ValueError):
            parse_month(bad, today)
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-3") == "'-3"
    assert safe_cell("Oadby") == "Oadby"
    assert [age_band(a) for a in (0, 15, 16, 59, 60, 99)] == [
        "under_16",
        "under_16",
        "16_59",
        "16_59",
        "60_plus",
        "60_plus",
    ]


async def test_decisions_at_the_door_are_counted_by_reason_and_age_band(
    hass: HomeAssistant, usage: UsageStatistics
) -> None:
    """Through request_access: a wrong PIN by reason, grants by the age bands they let in.

    A 17-year-old, a member of 70 with two children, and a 12-year-old with the 70-year-old as
    the accompanying adult: 16-59 once, 60+ twice, under 16 three times (two declared, one card).
    """
    today = dt_util.now().date()
    teen, senior, child = "21234000000002", "21234000000004", "21234000000003"
    for card, born in (
        (teen, years_before(today, 17)),
        (senior, years_before(today, 70)),
        (child, years_before(today, 12) - timedelta(days=1)),
    ):
        await call(
            hass,
            "enroll_member",
            {
                "card": card,
                "birth_date": born,
                "card_expiry": today + timedelta(days=365),
                "induction_date": today,
                "pin": PIN,
            },
        )
    await open_smart(hass)
    assert (await request(hass, teen, pin="00000000"))["reason"] == "wrong_pin"
    assert (await request(hass, teen))["granted"]
    assert (await request(hass, senior, minors=2))["party"] == 3
    assert (await request(hass, child, adult_card=senior, adult_pin=PIN))["party"] == 2
    rows = await _stored(
        hass,
        {
            _id("refusals_wrong_pin"),
            _id("age_under_16"),
            _id("age_16_59"),
            _id("age_60_plus"),
        },
        {"state"},
    )
    assert {ident: sum(r["state"] for r in hours) for ident, hours in rows.items()} == {
        _id("refusals_wrong_pin"): 1,
        _id("age_16_59"): 1,
        _id("age_60_plus"): 2,
        _id("age_under_16"): 3,
    }
