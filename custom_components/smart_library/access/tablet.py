"""The door tablet: a page for a tablet or touchscreen at a door, served without a login.

GET /api/smart_library/tablet serves the page (frontend/tablet/index.html), with its script and
style beside it (/api/smart_library/tablet/tablet.js, .../tablet.css) and its messages per
language (/api/smart_library/tablet/messages/en.json). The page holds nothing secret and no
data: it is the same for everybody. It is paired once with a reader key, typed or pasted on the
tablet and kept in the tablet's own storage; with it the page asks the reader endpoint
(http.py, POST /api/smart_library/access, the key in its header) for each card and PIN. Home
Assistant never puts a key in the page, and no Home Assistant login is needed or used: the
views have `requires_auth = False` and serve only these fixed files, read once at start (no
path from the request reaches the file system).

Headers: the page may not be framed (a frame could watch PINs being typed), runs only its own
script and style, talks only to this origin, and is never stored by a cache on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Final

from aiohttp import web
from homeassistant.components.http import HomeAssistantView
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from .replies import LANGUAGES, MESSAGES_DIR

TABLET_DIR: Final = MESSAGES_DIR.parent
TABLET_URL: Final = f"/api/{DOMAIN}/tablet"
DATA_TABLET: HassKey[bool] = HassKey(f"{DOMAIN}_tablet")

# The page's own files: URL name -> (file, content type).
ASSETS: Final[dict[str, tuple[str, str]]] = {
    "tablet.js": ("tablet.js", "text/javascript"),
    "tablet.css": ("tablet.css", "text/css"),
}
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS: Final = {
    "Cache-Control": "no-cache",  # revalidated: a new version reaches tablets at once
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class TabletFiles:
    """The tablet's files, read once."""

    page: bytes
    assets: dict[str, tuple[bytes, str]]
    messages: dict[str, bytes]

    @classmethod
    def read(cls, folder: Path = TABLET_DIR) -> TabletFiles:
        """Read every file the tablet serves (blocking: run it in the executor)."""
        return cls(
            page=(folder / "index.html").read_bytes(),
            assets={
                name: ((folder / file).read_bytes(), kind)
                for name, (file, kind) in ASSETS.items()
            },
            messages={
                language: (folder / "messages" / f"{language}.json").read_bytes()
                for language in LANGUAGES
            },
        )


def _response(body: bytes, content_type: str) -> web.Response:
    return web.Response(
        body=body, content_type=content_type, charset="utf-8", headers=HEADERS
    )


def _not_found() -> web.Response:
    return web.Response(status=HTTPStatus.NOT_FOUND, text="Not found")


class TabletPageView(HomeAssistantView):
    """The door tablet's page (no login: it holds nothing but the page)."""

    url = TABLET_URL
    name = f"api:{DOMAIN}:tablet"
    requires_auth = False

    def __init__(self, files: TabletFiles) -> None:
        """Serve these files."""
        self._files = files

    async def get(self, request: web.Request) -> web.Response:
        """Return the page."""
        return _response(self._files.page, "text/html")


class TabletAssetView(HomeAssistantView):
    """The page's script and style."""

    url = f"{TABLET_URL}/{{asset}}"
    name = f"api:{DOMAIN}:tablet:asset"
    requires_auth = False

    def __init__(self, files: TabletFiles) -> None:
        """Serve these files."""
        self._files = files

    async def get(self, request: web.Request, asset: str) -> web.Response:
        """Return one of the page's own files, or 404."""
        if (found := self._files.assets.get(asset)) is None:
            return _not_found()
        return _response(*found)


class TabletMessagesView(HomeAssistantView):
    """The page's messages in one language: /messages/<language>.json."""

    url = f"{TABLET_URL}/messages/{{name}}"
    name = f"api:{DOMAIN}:tablet:messages"
    requires_auth = False

    def __init__(self, files: TabletFiles) -> None:
        """Serve these files."""
        self._files = files

    async def get(self, request: web.Request, name: str) -> web.Response:
        """Return a language's messages, or 404."""
        language, dot, suffix = name.partition(".")
        if (dot, suffix) != (".", "json") or language not in self._files.messages:
            return _not_found()
        return _response(self._files.messages[language], "application/json")


async def async_setup_tablet(hass: HomeAssistant) -> None:
    """Serve the door tablet (once, from async_setup)."""
    if hass.data.get(DATA_TABLET):
        return
    hass.data[DATA_TABLET] = True
    files = await hass.async_add_executor_job(TabletFiles.read)
    for view in (
        TabletPageView(files),
        TabletAssetView(files),
        TabletMessagesView(files),
    ):
        hass.http.register_view(view)
