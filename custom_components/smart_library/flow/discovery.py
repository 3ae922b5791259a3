"""Branch controllers that advertise themselves over zeroconf (`_smart-library._tcp.local.`).

An advertisement is a claim anyone on the network can make, from any address it likes to claim:
read strictly (`parse_advertisement`), it may offer a new branch, which an administrator
confirms, but never changes a configured one by itself (`async_known_controller`). Offers are
bounded (`async_may_offer`): one per controller id (the flow's unique id), a few per source
address an hour, and a few pending in all, so made-up adverts cannot bury the real ones.

A configured controller is never offered again: neither one whose id a branch knows, nor one at
the address of a configured branch (whatever id it now gives), and an offer still waiting under
*Discovered* goes as soon as a branch is set up at its address (`async_abort_offers_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import re
import time
from typing import Any, Final

from homeassistant.config_entries import SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util.hass_dict import HassKey

from ..const import (
    CONF_CONTROLLER_ID,
    CONF_POINT_MAP,
    CONF_UNIT,
    DEFAULT_POINT_MAP,
    DEFAULT_PORT,
    DEFAULT_UNIT,
    DOMAIN,
    LOGGER,
)
from .moved import async_report_moved_controller
from .validation import branch_unique_id

# What a controller may call itself in its advertisement.
_CONTROLLER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_ADVERT_NAME_MAX = 64

# New offers one source address may make in an hour (a real controller needs one).
OFFERS_PER_ADDRESS: Final = 5
OFFER_WINDOW: Final = 3600.0  # seconds
# Offers waiting for an administrator at once, from anywhere: an advert's address is the
# sender's claim, so a limit per address alone does not bound made-up ones.
PENDING_OFFERS_MAX: Final = 10


@dataclass(slots=True)
class _Offers:
    """The discovery offers made since Home Assistant started."""

    by_address: dict[str, list[float]] = field(default_factory=dict)  # when, by address
    flows: set[str] = field(default_factory=set)  # flow ids of the offers made


_OFFERS: HassKey[_Offers] = HassKey(f"{DOMAIN}_discovery_offers")


def _advert_text(value: Any) -> str | None:
    """Return a property of an advertisement as text, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("not text")
    return value.strip()


def parse_advertisement(discovery_info: ZeroconfServiceInfo) -> dict[str, Any]:
    """Read a controller's advertisement; raise ValueError or TypeError when malformed."""
    props = discovery_info.properties
    controller_id = _advert_text(props.get("id")) or ""
    if controller_id and not _CONTROLLER_ID.fullmatch(controller_id):
        raise ValueError("id")
    unit_text = _advert_text(props.get("unit")) or str(DEFAULT_UNIT)
    if not unit_text.isascii() or not unit_text.isdigit() or int(unit_text) > 247:
        raise ValueError("unit")
    port = DEFAULT_PORT if discovery_info.port is None else discovery_info.port
    if not 1 <= port <= 65535:
        raise ValueError("port")
    point_map = _advert_text(props.get("map")) or DEFAULT_POINT_MAP
    name = _advert_text(props.get("branch")) or discovery_info.name.split(".")[0]
    name = "".join(ch for ch in name if ch.isprintable())[:_ADVERT_NAME_MAX].strip()
    return {
        CONF_CONTROLLER_ID: controller_id,
        CONF_NAME: name or controller_id,
        CONF_HOST: str(discovery_info.ip_address),
        CONF_PORT: port,
        CONF_UNIT: int(unit_text),
        CONF_POINT_MAP: point_map,
    }


SERVICE_TYPE = "_smart-library._tcp.local."


def offer_placeholders(advert: Mapping[str, Any]) -> dict[str, str]:
    """Return what a row under *Discovered* shows: the name, the controller id, host:port."""
    return {
        "name": str(advert[CONF_NAME]),
        "controller": str(advert[CONF_CONTROLLER_ID]),
        "host": f"{advert[CONF_HOST]}:{advert[CONF_PORT]}",
    }


def configured_branch(hass: HomeAssistant, advert: Mapping[str, Any]) -> str | None:
    """Return the name of the branch set up with this controller or at its address, if any."""
    address_id = branch_unique_id(advert)
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        for subentry in entry.subentries.values():
            if (
                subentry.data.get(CONF_CONTROLLER_ID) == advert[CONF_CONTROLLER_ID]
                or subentry.unique_id == address_id
            ):
                return subentry.title
    return None


@callback
def async_abort_offers_for(
    hass: HomeAssistant, branch: Mapping[str, Any], keep: str | None = None
) -> None:
    """Take away the offers under *Discovered* of a controller being set up as a branch.

    An offer goes when it advertises the branch's address, or the controller id the branch
    holds; `keep` is the flow setting the branch up (it ends by itself).
    """
    address_id = branch_unique_id(branch)
    controller_id = branch.get(CONF_CONTROLLER_ID)

    def same(info: Any) -> bool:
        if not isinstance(info, ZeroconfServiceInfo) or info.type != SERVICE_TYPE:
            return False
        try:
            advert = parse_advertisement(info)
        except ValueError, TypeError:
            return False
        return branch_unique_id(advert) == address_id or (
            controller_id is not None and advert[CONF_CONTROLLER_ID] == controller_id
        )

    for flow in hass.config_entries.flow.async_progress_by_init_data_type(
        ZeroconfServiceInfo, same, include_uninitialized=True
    ):
        if (
            flow["handler"] == DOMAIN
            and flow["context"].get("source") == SOURCE_ZEROCONF
            and flow["flow_id"] != keep
        ):
            hass.config_entries.flow.async_abort(flow["flow_id"])


@callback
def async_known_controller(hass: HomeAssistant, advert: Mapping[str, Any]) -> bool:
    """Return True when the advertised controller is a configured branch's, after handling it.

    A known controller advertised at a new address is a question for an administrator (a repair
    issue, pinned to the first address asked about until an administrator answers it: see
    flow/moved.py); an advert from its configured address changes nothing. A branch added by hand
    at this very address learns the controller's id, so that a later advertisement from
    elsewhere is asked about rather than taken as a new branch.
    """
    controller_id = advert[CONF_CONTROLLER_ID]
    host, port = advert[CONF_HOST], advert[CONF_PORT]
    address_id = branch_unique_id(advert)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for subentry in entry.subentries.values():
            known_id = subentry.data.get(CONF_CONTROLLER_ID)
            if known_id == controller_id:
                if (subentry.data[CONF_HOST], subentry.data[CONF_PORT]) != (host, port):
                    async_report_moved_controller(
                        hass,
                        entry,
                        subentry,
                        controller_id=controller_id,
                        host=host,
                        port=port,
                    )
                # Back at its configured address, a pending question stays: an advert
                # cannot answer it for an administrator.
                return True
            if known_id is None and subentry.unique_id == address_id:
                hass.config_entries.async_update_subentry(
                    entry,
                    subentry,
                    data=dict(subentry.data) | {CONF_CONTROLLER_ID: controller_id},
                )
                return True
    # At a configured branch's address under another id (its controller replaced, or a
    # second advertisement): configured all the same. Its id is not learnt from a claim.
    return configured_branch(hass, advert) is not None


@callback
def async_may_offer(
    hass: HomeAssistant, advert: Mapping[str, Any], flow_id: str
) -> bool:
    """Return True, and count the offer, when a discovered controller may be offered now.

    False (and a debug line) when its source address made `OFFERS_PER_ADDRESS` offers in the
    last hour, or `PENDING_OFFERS_MAX` offers already wait for an administrator. One offer per
    controller id is the flow's unique id's business (checked before this).
    """
    offers = hass.data.setdefault(_OFFERS, _Offers())
    now = time.monotonic()
    for address, times in list(offers.by_address.items()):
        times[:] = [t for t in times if 0 <= now - t < OFFER_WINDOW]
        if not times:
            del offers.by_address[address]
    for pending in list(offers.flows):
        try:
            hass.config_entries.flow.async_get(pending)
        except UnknownFlow:
            offers.flows.discard(pending)
    address = advert[CONF_HOST]
    if len(offers.flows) >= PENDING_OFFERS_MAX:
        LOGGER.debug(
            "Not offering controller %s advertised at %s: %d discovered controllers already "
            "await an administrator",
            advert[CONF_CONTROLLER_ID],
            address,
            len(offers.flows),
        )
        return False
    times = offers.by_address.setdefault(address, [])
    if len(times) >= OFFERS_PER_ADDRESS:
        LOGGER.debug(
            "Not offering controller %s: %s made %d offers in the last hour",
            advert[CONF_CONTROLLER_ID],
            address,
            len(times),
        )
        return False
    times.append(now)
    offers.flows.add(flow_id)
    return True
