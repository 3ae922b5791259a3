"""The panel's usage section: a branch's use over a period, the county total, the CSV."""

from __future__ import annotations

import csv
from datetime import timedelta
import io

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.smart_library.panel.websocket import WS_USAGE
from custom_components.smart_library.usage.statistics import DATA_USAGE

BRANCH = "branch_oadby"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """Start the recorder before Home Assistant (it needs its database first)."""


async def test_usage_over_a_period_with_the_county_total_and_a_csv(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Entries by mode and age band, refusals by reason, per branch and for the county."""
    usage = hass.data[DATA_USAGE][init_integration.entry_id]
    usage.count(BRANCH, "entries_smart", 5)
    usage.count(BRANCH, "entries_staffed", 2)
    usage.count(BRANCH, "age_16_59", 4)
    usage.count(BRANCH, "age_60_plus", 3)
    usage.count(BRANCH, "refusals_no_pin_set", 2)
    usage.count(BRANCH, "refusals_wrong_pin", 1)
    await usage.async_flush()
    await async_wait_recording_done(hass)
    today = dt_util.now().date()
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id(
        {
            "type": WS_USAGE,
            "start": str(today - timedelta(days=6)),
            "end": str(today),
        }
    )
    answer = await ws.receive_json()
    assert answer["success"], answer
    result = answer["result"]
    assert result["recorder"] is True
    (branch,) = result["branches"]
    assert branch["branch"] == "Oadby Library"
    assert (branch["entries"], branch["entries_smart"], branch["entries_staffed"]) == (
        7,
        5,
        2,
    )
    assert (branch["age_16_59"], branch["age_60_plus"]) == (4, 3)
    assert branch["refusals"] == 3
    assert branch["refusals_by_reason"] == {"no_pin_set": 2, "wrong_pin": 1}
    assert result["county"]["entries"] == 7
    lines = list(csv.DictReader(io.StringIO(result["csv"])))
    assert [(line["branch"], line["entries"]) for line in lines] == [
        ("Oadby Library", "7"),
        ("All branches", "7"),
    ]
    assert lines[0]["date"] == str(today)
    assert lines[0]["refusals_no_pin_set"] == "2"
    # A Welsh administrator's CSV names the county line in Welsh (the columns are codes).
    await ws.send_json_auto_id(
        {
            "type": WS_USAGE,
            "start": str(today - timedelta(days=6)),
            "end": str(today),
            "language": "cy-GB",
        }
    )
    welsh = (await ws.receive_json())["result"]["csv"]
    assert [line["branch"] for line in csv.DictReader(io.StringIO(welsh))] == [
        "Oadby Library",
        "Pob cangen",
    ]
    # Another week: nothing counted, the branch still listed with noughts.
    await ws.send_json_auto_id(
        {"type": WS_USAGE, "start": "2020-01-01", "end": "2020-01-07"}
    )
    answer = await ws.receive_json()
    assert answer["result"]["county"]["entries"] == 0
    assert answer["result"]["branches"][0]["entries"] == 0
    assert answer["result"]["csv"].count("\n") == 1  # the header only
