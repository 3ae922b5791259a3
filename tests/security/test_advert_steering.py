"""Attacks by advertisement: steering a pending move, flooding discovery with made-up controllers.

Anyone on the network can send a zeroconf advertisement, from any address it likes to claim. So
a "controller at a new address" question stays pinned to the address an administrator was shown
(no advertisement rewrites or clears it, nor does a restart or a user ignoring it), and
discovery offers are bounded (one per controller id, a few per source address an hour, a few
waiting in all).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import timedelta
from http import HTTPStatus
from ipaddress import ip_address
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, flush_store
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.smart_library.const import (
    CONF_CONTROLLER_ID,
    DOMAIN,
    ZEROCONF_TYPE,
)
from simulator.building import SimulatedBuilding

pytestmark = pytest.mark.usefixtures("socket_enabled")

ISSUE = "controller_moved_branch_oadby"
OURS = "custom_components.smart_library"


def _advert(
    host: str = "127.0.0.1", port: int = 502, controller_id: str = "SL-0001"
) -> ZeroconfServiceInfo:
    """Return an advertisement of a controller, claiming whatever address the sender likes."""
    return ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(host)],
        hostname=f"{controller_id.lower()}.local.",
        name=f"{controller_id}.{ZEROCONF_TYPE}",
        port=port,
        type=ZEROCONF_TYPE,
        properties={"id": controller_id, "map": "reference"},
    )


async def _advertise(hass: HomeAssistant, advert: ZeroconfServiceInfo) -> Any:
    """Hand an advertisement to the config flow as the zeroconf integration does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=advert
    )


def _offers(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Return the discovered controllers an administrator is offered (flows at their form)."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_ZEROCONF
    ]


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return our log lines above debug."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(OURS) and r.levelno > logging.DEBUG
    ]


@pytest.fixture
async def known_branch(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> MockConfigEntry:
    """Return the service once its branch has learnt controller SL-0001 from an advert."""
    result = await _advertise(hass, _advert(port=building.port))
    assert result["reason"] == "already_configured"
    # The id learnt is saved in the branch (its service reloads): let that finish, or a test
    # may end in the middle of it (a set-up cancelled, a store's write left pending).
    await hass.async_block_till_done(wait_background_tasks=True)
    assert init_integration.subentries["branch_oadby"].data[CONF_CONTROLLER_ID] == (
        "SL-0001"
    )
    return init_integration


@pytest.fixture
async def moved() -> AsyncGenerator[SimulatedBuilding]:
    """Serve the controller at its new address (where it really moved)."""
    other = SimulatedBuilding()
    await other.start("127.0.0.1", 0)
    yield other
    await other.stop()


def _asked(issue_registry: ir.IssueRegistry) -> str | None:
    """Return the new address the pending question shows an administrator, if any."""
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    if issue is None or not issue.active or issue.translation_placeholders is None:
        return None
    return issue.translation_placeholders["host"]


# -- a pending move stays pinned ------------------------------------------------------------------


async def test_advert_cannot_rewrite_a_pending_move(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    building: SimulatedBuilding,
    moved: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Once asked about one address, later adverts from others leave the question as it is.

    The attacker waits for a real move to be asked about, then advertises the same controller
    id at an address of their own: the question still shows the real one, and accepting it
    moves the branch there, not to the attacker's.
    """
    await _advertise(hass, _advert(port=moved.port))
    shown = f"127.0.0.1:{moved.port}"
    assert _asked(issue_registry) == shown
    for host, port in (("192.0.2.66", 502), ("127.0.0.1", 4444), ("10.0.0.9", 1502)):
        result = await _advertise(hass, _advert(host, port))
        assert result["reason"] == "already_configured"
        assert _asked(issue_registry) == shown
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.data is not None
    assert (issue.data[CONF_HOST], issue.data[CONF_PORT]) == ("127.0.0.1", moved.port)

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    flow = await (
        await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
        )
    ).json()
    flow = await (
        await client.post(
            f"/api/repairs/issues/fix/{flow['flow_id']}",
            json={"next_step_id": "confirm"},
        )
    ).json()
    assert flow["description_placeholders"]["host"] == shown
    result = await (
        await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    ).json()
    assert result["type"] == "create_entry"
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == moved.port


async def test_advert_from_the_old_address_does_not_clear_a_pending_move(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    building: SimulatedBuilding,
    moved: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An advert claiming the configured address does not answer the question for the admin."""
    await _advertise(hass, _advert(port=moved.port))
    for _ in range(3):
        result = await _advertise(hass, _advert(port=building.port))
        assert result["reason"] == "already_configured"
    assert _asked(issue_registry) == f"127.0.0.1:{moved.port}"
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == building.port


async def test_a_pending_move_survives_a_restart(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    moved: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
) -> None:
    """After a restart the question is still there, still pinned: the first advert does not win."""
    await _advertise(hass, _advert(port=moved.port))
    await flush_store(issue_registry._store)  # noqa: SLF001 - what Home Assistant saved
    await issue_registry.async_load()  # read back as at the next start
    assert _asked(issue_registry) == f"127.0.0.1:{moved.port}"

    await _advertise(hass, _advert("192.0.2.66", 502))
    assert _asked(issue_registry) == f"127.0.0.1:{moved.port}"


async def test_a_user_who_ignores_the_question_does_not_release_it(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    moved: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
) -> None:
    """Home Assistant lets any user ignore a repair; ignoring does not make room for another.

    A read-only user ignores the question, then an advert names the attacker's address: the
    question, when shown again, still names the address first asked about.
    """
    await _advertise(hass, _advert(port=moved.port))
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_ws_client(hass, hass_read_only_access_token)
    await client.send_json_auto_id(
        {
            "type": "repairs/ignore_issue",
            "domain": DOMAIN,
            "issue_id": ISSUE,
            "ignore": True,
        }
    )
    assert (await client.receive_json())["success"]  # core allows it to anyone
    await _advertise(hass, _advert("192.0.2.66", 502))
    await _advertise(hass, _advert("192.0.2.66", 503))
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["host"] == f"127.0.0.1:{moved.port}"


async def test_an_administrator_keeps_the_branch_and_a_new_question_may_come(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    building: SimulatedBuilding,
    moved: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The administrator answers "keep it where it is": the question goes, the branch stays.

    Only then may a later advert ask again (about whatever address it names).
    """
    await _advertise(hass, _advert("192.0.2.66", 502))
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    flow = await (
        await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
        )
    ).json()
    assert flow["type"] == "menu"
    assert flow["menu_options"] == ["confirm", "keep"]
    assert flow["description_placeholders"]["host"] == "192.0.2.66:502"
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": "keep"}
    )
    assert response.status == HTTPStatus.OK
    assert (await response.json())["type"] == "create_entry"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is None
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == building.port

    await _advertise(hass, _advert(port=moved.port))
    assert _asked(issue_registry) == f"127.0.0.1:{moved.port}"


# -- discovery offers are bounded -----------------------------------------------------------------


async def test_made_up_ids_from_one_address_are_bounded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """50 made-up controllers from one address, at once: a few offers, the rest a debug line.

    Another address (the real controller) is still offered, and the noisy address may offer
    again an hour later.
    """
    caplog.set_level(logging.DEBUG, logger=OURS)
    results = await asyncio.gather(
        *(
            _advertise(hass, _advert("192.0.2.9", 502, f"FAKE-{n:02}"))
            for n in range(50)
        )
    )
    offered = [r for r in results if r["type"] is FlowResultType.FORM]
    assert len(offered) == 5
    assert len(_offers(hass)) == 5
    assert {r["reason"] for r in results if r["type"] is FlowResultType.ABORT} == {
        "too_many_discoveries"
    }
    assert _loud(caplog) == []

    result = await _advertise(hass, _advert("127.0.0.1", 502, "SL-0001"))
    assert result["step_id"] == "zeroconf_confirm"

    freezer.tick(timedelta(minutes=61))
    result = await _advertise(hass, _advert("192.0.2.9", 502, "FAKE-50"))
    assert result["step_id"] == "zeroconf_confirm"
    assert len(_offers(hass)) == 7


async def test_one_id_from_many_addresses_is_one_offer(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """The same controller id from 50 addresses: one offer, whichever came first."""
    caplog.set_level(logging.DEBUG, logger=OURS)
    for n in range(50):
        await _advertise(hass, _advert(f"198.51.100.{n + 1}", 502, "SL-0777"))
    offers = _offers(hass)
    assert len(offers) == 1
    assert offers[0]["context"]["unique_id"] == "controller_SL-0777"
    assert _loud(caplog) == []


async def test_made_up_ids_from_made_up_addresses_are_bounded(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """An advert's address is the sender's claim: 50 ids from 50 addresses still make few offers."""
    caplog.set_level(logging.DEBUG, logger=OURS)
    await asyncio.gather(
        *(
            _advertise(hass, _advert(f"203.0.113.{n + 1}", 502, f"FAKE-{n:02}"))
            for n in range(50)
        )
    )
    assert len(_offers(hass)) == 10
    assert _loud(caplog) == []
