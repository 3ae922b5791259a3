"""The "controller at a new address" repair issues: raised by discovery, fixed under Repairs.

Zeroconf advertisements are unauthenticated, so a known controller seen elsewhere never moves its
branch by itself: discovery asks an administrator (`async_report_moved_controller`), the fix flow
in repairs.py shows the question and, when accepted, `async_accept_move` tries the new address and
points the branch there; or the administrator keeps the branch where it is (`async_keep_branch`).

A question, once asked, is pinned to the address it shows: no later advertisement rewrites it
(an attacker cannot swap their address in under a real move) nor clears it (nor one claiming the
old address). It survives a restart (a persistent issue), and ignoring it — which Home Assistant
lets any user do — keeps it as it is. Only an administrator's answer ends it: accepting, keeping
the branch, pointing the branch by hand (its reconfigure flow) or removing it. Set-up and removal
of a service prune the questions of branches gone.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..const import CONF_CONTROLLER_ID, CONF_POINT_MAP, DOMAIN, LOGGER
from ..engine.building.pointmap import POINT_MAPS
from .validation import branch_unique_id, probe

ISSUE_CONTROLLER_MOVED = "controller_moved"


def moved_issue_id(subentry_id: str) -> str:
    """Return the repair issue id for a branch whose controller answers elsewhere."""
    return f"{ISSUE_CONTROLLER_MOVED}_{subentry_id}"


@callback
def async_delete_moved_issue(hass: HomeAssistant, subentry_id: str) -> None:
    """Forget a pending "controller at a new address" question for a branch."""
    ir.async_delete_issue(hass, DOMAIN, moved_issue_id(subentry_id))


@callback
def async_report_moved_controller(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry: ConfigSubentry,
    *,
    controller_id: str,
    host: str,
    port: int,
) -> None:
    """Ask an administrator whether a branch may follow its controller to a new address.

    An advertisement proves nothing (anyone on the network can send one, claiming any address),
    so the branch stays where it is until an administrator accepts the repair issue. One info
    line when asked; a question already pending is left as it is (a debug line when an advert
    names another address).
    """
    issue_id = moved_issue_id(subentry.subentry_id)
    known = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    if known is not None and known.active and known.data is not None:
        asked = (known.data.get(CONF_HOST), known.data.get(CONF_PORT))
        if asked != (host, port):
            LOGGER.debug(
                "Controller %s of branch %s is advertised at %s:%s; not asked about: the "
                "question about %s:%s awaits an administrator",
                controller_id,
                subentry.title,
                host,
                port,
                *asked,
            )
        return
    LOGGER.info(
        "Controller %s of branch %s is advertised at %s:%s (configured at %s:%s); "
        "the branch stays until an administrator accepts the move under Repairs",
        controller_id,
        subentry.title,
        host,
        port,
        subentry.data[CONF_HOST],
        subentry.data[CONF_PORT],
    )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=True,  # a restart does not let the next advert ask anew
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_CONTROLLER_MOVED,
        translation_placeholders={
            "controller": controller_id,
            "branch": subentry.title,
            "host": f"{host}:{port}",
            "old": f"{subentry.data[CONF_HOST]}:{subentry.data[CONF_PORT]}",
        },
        data={
            "entry_id": entry.entry_id,
            "subentry_id": subentry.subentry_id,
            CONF_CONTROLLER_ID: controller_id,
            CONF_HOST: host,
            CONF_PORT: port,
        },
    )


@callback
def async_prune_moved_issues(
    hass: HomeAssistant, entry_id: str, keep: Iterable[str] = ()
) -> None:
    """Drop "controller at a new address" questions of a service's branches not in `keep`.

    Meant for set-up, with the service's current branches (one may have been removed meanwhile),
    and for the service's removal, with none.
    """
    registry = ir.async_get(hass)
    kept = set(keep)
    for (domain, issue_id), issue in list(registry.issues.items()):
        if (
            domain == DOMAIN
            and issue_id.startswith(f"{ISSUE_CONTROLLER_MOVED}_")
            and issue.data is not None
            and issue.data.get("entry_id") == entry_id
            and issue.data.get("subentry_id") not in kept
        ):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def async_keep_branch(
    hass: HomeAssistant, subentry: ConfigSubentry, *, host: str, port: int
) -> None:
    """Answer the question "no": the branch stays where it is; a later advert may ask again."""
    LOGGER.info(
        "Branch %s stays at %s:%s; the move of controller %s to %s:%s was turned down by an "
        "administrator",
        subentry.title,
        subentry.data[CONF_HOST],
        subentry.data[CONF_PORT],
        subentry.data.get(CONF_CONTROLLER_ID),
        host,
        port,
    )
    async_delete_moved_issue(hass, subentry.subentry_id)


async def async_accept_move(
    hass: HomeAssistant,
    entry: ConfigEntry,
    subentry: ConfigSubentry,
    *,
    host: str,
    port: int,
) -> str | None:
    """Point a branch at its controller's new address, once it answers there.

    Return an error key (the address is another branch's, or nothing answers) and change
    nothing; or None when the branch now uses the new address.
    """
    data = dict(subentry.data) | {CONF_HOST: host, CONF_PORT: port}
    unique_id = branch_unique_id(data)
    taken = any(
        other.unique_id == unique_id
        for config_entry in hass.config_entries.async_entries(DOMAIN)
        for other in config_entry.subentries.values()
        if other.subentry_id != subentry.subentry_id
    )
    if taken:
        return "address_in_use"
    if error := await probe(data, POINT_MAPS[data[CONF_POINT_MAP]].modules[0]):
        return error
    LOGGER.info(
        "Branch %s now reaches controller %s at %s:%s (accepted by an administrator)",
        subentry.title,
        subentry.data.get(CONF_CONTROLLER_ID),
        host,
        port,
    )
    hass.config_entries.async_update_subentry(
        entry, subentry, data=data, unique_id=unique_id
    )
    return None
