"""Serve the administrator's panel and register it in the sidebar, for administrators only."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from typing import Final

from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_when_setup
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .websocket import async_register_commands

PANEL_FILE: Final = Path(__file__).parent.parent / "frontend" / "smart-library-panel.js"
PANEL_URL: Final = f"/{DOMAIN}_panel/smart-library-panel.js"
PANEL_PATH: Final = (
    "smart-library-admin"  # the sidebar item's address: /smart-library-admin
)
PANEL_ELEMENT: Final = "smart-library-panel"  # the web component the module defines
# One title for everybody: Home Assistant registers a panel's sidebar title once, for all users
# (frontend.Panel.sidebar_title); the panel's own words follow each user's language.
PANEL_TITLE: Final = "Library admin"
PANEL_ICON: Final = "mdi:card-account-details-outline"
DATA_PANEL: HassKey[bool] = HassKey(f"{DOMAIN}_panel")


async def async_setup_panel(hass: HomeAssistant) -> None:
    """Answer the panel's commands, serve its module, add it to the sidebar (once).

    The sidebar item is added once the frontend is set up (at once if it already is); without a
    frontend (tests, headless installs) only the commands are registered. The frontend offers
    the item to administrators only; the commands and the actions refuse anybody else anyway.
    """
    if hass.data.get(DATA_PANEL):
        return
    hass.data[DATA_PANEL] = True
    async_register_commands(hass)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(PANEL_URL, str(PANEL_FILE), cache_headers=False)]
    )
    version = await hass.async_add_executor_job(_file_version, PANEL_FILE)

    async def add_panel(hass: HomeAssistant, _component: str) -> None:
        from homeassistant.components import panel_custom  # noqa: PLC0415

        await panel_custom.async_register_panel(
            hass,
            frontend_url_path=PANEL_PATH,
            webcomponent_name=PANEL_ELEMENT,
            sidebar_title=PANEL_TITLE,
            sidebar_icon=PANEL_ICON,
            module_url=f"{PANEL_URL}?v={version}",
            embed_iframe=False,
            require_admin=True,
            config={"domain": DOMAIN},
        )

    async_when_setup(hass, "frontend", add_panel)


def _file_version(path: Path) -> str:
    """Return a short digest of the module, so a browser loads a changed panel, not its cache."""
    return sha256(path.read_bytes()).hexdigest()[:12]
