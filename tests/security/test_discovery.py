"""Attacks through the network and the branch form: re-pointing a branch, junk adverts, junk hosts.

A zeroconf advertisement is a claim anyone on the network can make, so it never moves a branch by
itself: a known controller seen at a new address becomes a repair issue that only an
administrator can accept. Malformed adverts and hosts are refused quietly, never with a traceback.
"""

from __future__ import annotations

from http import HTTPStatus
from ipaddress import ip_address
import logging
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.config_entries import SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_library.const import (
    CONF_CONTROLLER_ID,
    CONF_SCHEDULE,
    DOMAIN,
    SUBENTRY_BRANCH,
    ZEROCONF_TYPE,
)
from custom_components.smart_library.engine.building.pointmap import POINT_MAPS
from custom_components.smart_library.flow.validation import normal_host
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_data

pytestmark = pytest.mark.usefixtures("socket_enabled")

ISSUE = "controller_moved_branch_oadby"
LOGGER_NAME = "custom_components.smart_library"


def _advert(port: int | None, **props: Any) -> ZeroconfServiceInfo:
    """Return an advertisement of controller SL-0001 on 127.0.0.1, with changes."""
    return ZeroconfServiceInfo(
        ip_address=ip_address("127.0.0.1"),
        ip_addresses=[ip_address("127.0.0.1")],
        hostname="sl-0001.local.",
        name=f"Oadby Library.{ZEROCONF_TYPE}",
        port=port,
        type=ZEROCONF_TYPE,
        properties={"id": "SL-0001", "branch": "Oadby Library", "map": "reference"}
        | props,
    )


async def _advertise(hass: HomeAssistant, advert: ZeroconfServiceInfo) -> Any:
    """Hand an advertisement to the config flow as the zeroconf integration does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=advert
    )


@pytest.fixture
async def staff_token(hass: HomeAssistant) -> str:
    """Return an access token of a non-admin Home Assistant user."""
    user = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    user.add_to_hass(hass)
    assert not user.is_admin
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


@pytest.fixture
async def known_branch(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> MockConfigEntry:
    """Return the service once its branch has learnt controller SL-0001 from an advert."""
    result = await _advertise(hass, _advert(building.port, unit="1"))
    assert result["reason"] == "already_configured"
    subentry = init_integration.subentries["branch_oadby"]
    assert subentry.data[CONF_CONTROLLER_ID] == "SL-0001"
    return init_integration


@pytest.fixture
async def intruder() -> Any:
    """Serve a second controller: the address an attacker (or a real move) points at."""
    other = SimulatedBuilding()
    await other.start("127.0.0.1", 0)
    yield other
    await other.stop()


async def test_advert_from_elsewhere_does_not_move_the_branch(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    building: SimulatedBuilding,
    intruder: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
    staff_token: str,
) -> None:
    """The known controller's id from another address leaves the branch where it is.

    It is logged once (info), becomes a fixable repair issue naming both addresses, and neither
    a read-only nor a non-admin user can accept it.
    """
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    for _ in range(3):  # adverts repeat: one line, one issue
        result = await _advertise(hass, _advert(intruder.port))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    await hass.async_block_till_done()

    subentry = known_branch.subentries["branch_oadby"]
    assert (subentry.data[CONF_HOST], subentry.data[CONF_PORT]) == (
        "127.0.0.1",
        building.port,
    )
    assert subentry.unique_id == f"127.0.0.1:{building.port}:1"
    seen = [
        r
        for r in caplog.records
        if r.name == LOGGER_NAME and f":{intruder.port}" in r.getMessage()
    ]
    assert [r.levelno for r in seen] == [logging.INFO]
    assert "SL-0001" in seen[0].getMessage()
    assert "Oadby Library" in seen[0].getMessage()
    issue = issue_registry.async_get_issue(DOMAIN, ISSUE)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "controller_moved"
    assert issue.translation_placeholders == {
        "controller": "SL-0001",
        "branch": "Oadby Library",
        "host": f"127.0.0.1:{intruder.port}",
        "old": f"127.0.0.1:{building.port}",
    }
    # Only an administrator may accept: Home Assistant refuses the fix flow to anyone else.
    assert await async_setup_component(hass, "repairs", {})
    for token in (hass_read_only_access_token, staff_token):
        client = await hass_client(token)
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
        )
        assert response.status == HTTPStatus.UNAUTHORIZED
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == building.port

    # The controller heard again at its own address: the question stays for an administrator
    # (an advert claiming the old address proves no more than one claiming the new).
    await _advertise(hass, _advert(building.port))
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is not None
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == building.port


async def test_admin_accepts_the_move(
    hass: HomeAssistant,
    known_branch: MockConfigEntry,
    intruder: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """An administrator accepts in the repair flow (REST, as the UI does): then it moves."""
    await _advertise(hass, _advert(intruder.port))
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    assert response.status == HTTPStatus.OK
    flow = await response.json()
    assert flow["step_id"] == "init"  # move, or keep the branch where it is
    response = await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": "confirm"}
    )
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"]["host"] == f"127.0.0.1:{intruder.port}"
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    assert response.status == HTTPStatus.OK
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    subentry = known_branch.subentries["branch_oadby"]
    assert subentry.data[CONF_PORT] == intruder.port
    assert subentry.unique_id == f"127.0.0.1:{intruder.port}:1"
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is None
    # The service reloaded onto the new address and reads that building.
    assert hass.states.get("light.oadby_library_lighting_zone_1") is not None


async def test_move_to_a_silent_address_is_not_accepted(
    hass: HomeAssistant,
    *,
    known_branch: MockConfigEntry,
    building: SimulatedBuilding,
    intruder: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Accepting tries the new address first: a controller that does not answer is refused."""
    await _advertise(hass, _advert(intruder.port))
    await intruder.stop()
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    flow = await (
        await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
        )
    ).json()
    await client.post(
        f"/api/repairs/issues/fix/{flow['flow_id']}", json={"next_step_id": "confirm"}
    )
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    result = await response.json()
    assert result["type"] == "form"
    assert result["errors"] == {"base": "cannot_connect"}
    assert known_branch.subentries["branch_oadby"].data[CONF_PORT] == building.port
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is not None


async def test_move_of_a_removed_branch_is_dropped(
    hass: HomeAssistant,
    known_branch: MockConfigEntry,
    intruder: SimulatedBuilding,
    issue_registry: ir.IssueRegistry,
    hass_client: ClientSessionGenerator,
) -> None:
    """A question about a branch deleted meanwhile goes with it, touching nothing.

    Removing the branch reloads the service, whose set-up drops questions about branches it no
    longer has: there is nothing left to accept.
    """
    await _advertise(hass, _advert(intruder.port))
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is not None
    hass.config_entries.async_remove_subentry(known_branch, "branch_oadby")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE) is None
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE}
    )
    assert response.status >= 400  # no such question
    assert known_branch.subentries == {}


@pytest.mark.parametrize(
    ("port", "props", "reason"),
    [
        (None, {"unit": "abc"}, "invalid_advertisement"),
        (None, {"unit": "-1"}, "invalid_advertisement"),
        (None, {"unit": "248"}, "invalid_advertisement"),
        (None, {"unit": "١"}, "invalid_advertisement"),  # an Arabic-Indic digit
        (0, {}, "invalid_advertisement"),
        (65536, {}, "invalid_advertisement"),
        (None, {"id": "SL 0001"}, "invalid_advertisement"),
        (None, {"id": "SL-0001\x00"}, "invalid_advertisement"),
        (None, {"id": "x" * 65}, "invalid_advertisement"),
        (None, {"id": None}, "not_smart_library"),
        (None, {"id": ""}, "not_smart_library"),
        (None, {"map": "mystery"}, "unknown_point_map"),
    ],
)
async def test_malformed_adverts_are_ignored(
    hass: HomeAssistant,
    *,
    building: SimulatedBuilding,
    caplog: pytest.LogCaptureFixture,
    port: int | None,
    props: dict[str, Any],
    reason: str,
) -> None:
    """A malformed advert ends the discovery quietly: a debug line, no error, nothing offered."""
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    advert = _advert(building.port if port is None else port, **props)
    result = await _advertise(hass, advert)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert hass.config_entries.flow.async_progress() == []
    assert hass.config_entries.async_entries(DOMAIN) == []
    ours = [r for r in caplog.records if r.name.startswith(LOGGER_NAME)]
    assert all(r.levelno == logging.DEBUG for r in ours)
    assert all(r.exc_info is None for r in caplog.records)
    if reason == "invalid_advertisement":
        assert any("Ignoring" in r.getMessage() for r in ours)


async def test_advert_with_odd_name_is_tidied(
    hass: HomeAssistant, building: SimulatedBuilding
) -> None:
    """A branch name with control characters or of any length is cut down for the form."""
    result = await _advertise(
        hass, _advert(building.port, branch="Oadby\x1b[31m" + "y" * 500)
    )
    assert result["step_id"] == "zeroconf_confirm"
    name = result["description_placeholders"]["name"]
    assert name.startswith("Oadby[31m")
    assert len(name) == 64
    assert name.isprintable()


@pytest.mark.parametrize(
    "host",
    [
        "a" * 64 + ".example",  # a label over 63 characters
        ".".join(["a" * 63] * 4) + ".ab",  # 257 characters in all
        "x" * 300,
        "controller\x00.local",
        "controller\x07",
        "tab\there",
        "two words",
        " ",
        "contr\u2028oller",
        "-controller",
        "controller-",
        "a..b",
        "[::1",
    ],
)
async def test_branch_form_refuses_junk_hosts(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    building: SimulatedBuilding,
    hass_client: ClientSessionGenerator,
    host: str,
) -> None:
    """Over REST, as the UI sends it, a junk host is a translated field error, not HTTP 500."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post(
        "/api/config/config_entries/subentries/flow",
        json={"handler": [init_integration.entry_id, SUBENTRY_BRANCH]},
    )
    flow = await response.json()
    form = {CONF_NAME: "Wigston Library"} | branch_data(building, host=host)
    del form[CONF_SCHEDULE]
    response = await client.post(
        f"/api/config/config_entries/subentries/flow/{flow['flow_id']}", json=form
    )
    assert response.status == HTTPStatus.OK
    result = await response.json()
    assert result["type"] == "form"
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert list(init_integration.subentries) == ["branch_oadby"]


async def test_module_form_refuses_junk_hosts(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A further I/O module's host is checked the same way."""
    moxa = SimulatedBuilding(point_map=POINT_MAPS["moxa_e1214_e1212"])
    await moxa.start("127.0.0.1", 0)
    try:
        result = await hass.config_entries.subentries.async_init(
            (init_integration.entry_id, SUBENTRY_BRANCH), context={"source": "user"}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_NAME: "Wigston Library",
                CONF_HOST: "127.0.0.1",
                CONF_PORT: moxa.ports["e1214"],
                "unit": 1,
                "point_map": "moxa_e1214_e1212",
                "release_seconds": 5,
            },
        )
        assert result["step_id"] == "module"
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_HOST: "io\x00module", CONF_PORT: moxa.ports["e1212"], "unit": 1},
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_HOST: "invalid_host"}
        assert list(init_integration.subentries) == ["branch_oadby"]
    finally:
        await moxa.stop()


@pytest.mark.parametrize(
    ("host", "stored"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("2001:db8::7", "2001:db8::7"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        (
            ".".join(["a" * 63] * 3) + "." + "a" * 61,
            ".".join(["a" * 63] * 3) + "." + "a" * 61,
        ),
        ("controller-1.branch.example.", "controller-1.branch.example."),
        ("bibliothèque.example", "bibliothèque.example"),
        ("a" * 64, None),
        (".".join(["a" * 63] * 3) + "." + "a" * 62, None),  # 254 characters
        ("", None),
        (".", None),
        (
            "ctrl\ud800",
            None,
        ),  # a lone surrogate (JSON cannot carry one: Python callers can)
        ("[::1", None),
        ("[::1]", "::1"),
    ],
)
def test_host_rules(host: str, stored: str | None) -> None:
    """The edges of what counts as a host: 63 per label, 253 in all, IP literals normalised."""
    assert normal_host(host) == stored
