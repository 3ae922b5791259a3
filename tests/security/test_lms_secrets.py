"""The library system's secrets: the SIP password, members' PINs, what the LMS says of a member.

The SIP account opens every member's record at the LMS: its password (and login) appear in no
log line (at DEBUG, through set-up, a refused login, a reauthentication, a reconfigure and
decisions), in no diagnostics, in no state. Members' PINs reach the LMS and nowhere else but
as a peppered scrypt hash in the offline cache; the LMS's screen message (fines, names) goes to
the door's answer only, never to an event, a state or the recorder of events.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_library.access.decisions import store_path
from custom_components.smart_library.const import DOMAIN, EVENT_ACCESS
from custom_components.smart_library.engine.lms.gateway import OFFLINE_LOG2_N
from simulator.lms import SimulatedLms
from tests.components.test_sip2_backend import (
    ADULT,
    ADULT_PIN,
    FINES,
    induct,
    lms as lms,  # noqa: PLC0414 - the fixture
    mock_config_entry,  # noqa: F401 - the fixture, for this module
    request,
    set_mode,
    sip2_data,
)

PASSWORD = "sip-password"
OTHER_PASSWORD = "n3w-S1P-secret"


def _ours(record: logging.LogRecord) -> bool:
    """Return True for a log record of Home Assistant or of the integration (not the simulator)."""
    return not record.name.startswith(("pysip2", "simulator"))


async def test_the_sip_password_is_never_logged_nor_shown(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    lms: SimulatedLms,
    mock_config_entry: MockConfigEntry,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Set-up, a refused login, the reauth flow, decisions, diagnostics: no password anywhere."""
    caplog.set_level(logging.DEBUG)
    lms.faults.refuse_login = True
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"username": "sip", "password": OTHER_PASSWORD}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    lms.faults.refuse_login = False
    lms.login_password = OTHER_PASSWORD
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"username": "sip", "password": OTHER_PASSWORD}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    await set_mode(hass, "smart")
    await request(hass, ADULT, ADULT_PIN)
    await request(hass, ADULT, "0000")
    # A reconfigure that fails (a wrong password) and one that keeps the saved password.
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sip2"}
    )
    form = {
        key: value
        for key, value in sip2_data(lms).items()
        if key not in ("name", "backend", "password")
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form | {"password": PASSWORD}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    shown = [
        (str(key), key.default() if callable(key.default) else None, key.description)
        for key in result["data_schema"].schema
    ]
    assert form["institution"] in str(shown)  # what the form gives back …
    assert PASSWORD not in str(shown)  # … is never the password typed
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    text = json.dumps(diagnostics)
    assert diagnostics["library_system"]["reachable"] is True
    assert diagnostics["library_system"]["host"] == "127.0.0.1"
    assert diagnostics["library_system"]["dialect"]["name"] == "evergreen"
    assert diagnostics["service"]["password"] == "**REDACTED**"
    for secret in (PASSWORD, OTHER_PASSWORD, '"sip"', ADULT_PIN):
        assert secret not in text, secret
    logged = "\n".join(r.getMessage() for r in caplog.records if _ours(r))
    for secret in (PASSWORD, OTHER_PASSWORD, ADULT_PIN, ADULT):
        assert secret not in logged, secret
    for state in hass.states.async_all():
        assert OTHER_PASSWORD not in str(state.as_dict())


async def test_pins_and_screen_messages_stay_where_they_belong(
    hass: HomeAssistant,
    lms: SimulatedLms,
    mock_config_entry: MockConfigEntry,  # noqa: F811
) -> None:
    """The offline cache holds a peppered scrypt hash, never the PIN; the LMS's message no event."""
    events = async_capture_events(hass, EVENT_ACCESS)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await set_mode(hass, "smart")
    await request(hass, ADULT, ADULT_PIN)
    await induct(hass, ADULT)
    assert (await request(hass, ADULT, ADULT_PIN))["granted"]
    fines = await request(hass, *FINES)
    assert fines["message"] == "Fines of 25.00 exceed the limit"
    system = mock_config_entry.runtime_data.access.system
    await system.gateway.drain()
    grants = await hass.async_add_executor_job(system.access.decider.store.load_grants)
    # the PIN only as a salted, peppered scrypt hash, at the offline cache's cost
    assert len(grants) == 1
    assert grants[0].pin_hash.startswith(f"scrypt${OFFLINE_LOG2_N}$")
    assert ADULT not in grants[0].card_key
    member = await hass.async_add_executor_job(
        system.access.decider.store.member, ADULT
    )
    assert member is not None and member.pin_hash is None  # the PIN is the LMS's
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    folder = Path(store_path(hass, mock_config_entry.entry_id)).parent
    raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
    assert b"25.00" not in raw and b"Fines" not in raw
    for event in events:
        assert "Fines" not in json.dumps(event.data)
    for state in hass.states.async_all():
        assert "Fines" not in str(state.as_dict())
