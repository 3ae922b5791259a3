"""Shared by the public pages' tests: members, the branch opened, and a walker for the forms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
import html
import re
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from multidict import CIMultiDictProxy

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.members.induction import (
    DEFAULT_QUIZ,
    Question,
)
from custom_components.smart_library.engine.members.membership import Member
from custom_components.smart_library.engine.members.store import MembershipStore

from .conftest import branch_device, years_before

SERVICE = "/api/smart_library/public/shire-libraries"
INDUCTION = f"{SERVICE}/induction"
BRANCH = f"{SERVICE}/branches/oadby-library"
ADULT, ADULT_PIN = "21234000000001", "80417263"
OTHER, OTHER_PIN = "21234000000002", "31415926"
YOUNG, YOUNG_PIN = "21234000000003", "27182818"
WARNED, WARNED_PIN = "21234000000004", "16180339"

type ClientFactory = Callable[[], Awaitable[TestClient]]


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call one of the integration's actions (as an automation: allowed); return its answer."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def enroll(
    hass: HomeAssistant,
    card: str,
    pin: str,
    *,
    age: int = 40,
    inducted: bool = False,
) -> None:
    """Enroll a member with a PIN (not inducted unless asked)."""
    today = dt_util.now().date()
    data: dict[str, Any] = {
        "card": card,
        "birth_date": years_before(today, age) - timedelta(days=3),
        "card_expiry": today + timedelta(days=365),
        "pin": pin,
    }
    if inducted:
        data["induction_date"] = today
    await call(hass, "enroll_member", data)


async def offer_languages(hass: HomeAssistant, languages: list[str]) -> None:
    """Set the library service's languages (the PA's, and the members' pages' and doors')."""
    await hass.services.async_call(
        DOMAIN, "configure_safety", {"languages": languages}, blocking=True
    )
    await hass.async_block_till_done()


async def open_smart(hass: HomeAssistant) -> None:
    """Put the branch in smart hours (members with card and PIN)."""
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: "select.oadby_library_mode_override", ATTR_OPTION: "smart"},
        blocking=True,
    )


async def at_the_door(hass: HomeAssistant, card: str, pin: str) -> str:
    """Ask for the entrance with a card and PIN; return the (staff-facing) reason."""
    answer = await call(
        hass,
        "request_access",
        {"branch": branch_device(hass), "card": card, "pin": pin},
    )
    return str(answer["reason"])


def stored_member(hass: HomeAssistant, card: str) -> Member | None:
    """Return the member as the store has it (blocking read: call from the executor)."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    store: MembershipStore = entry.runtime_data.access.store
    return store.member(card)


def right_answers(quiz: tuple[Question, ...] = DEFAULT_QUIZ) -> dict[str, str]:
    """Return the quiz form with every answer right."""
    return {f"q{n}": str(q.answer) for n, q in enumerate(quiz)}


@dataclass
class Page:
    """A page the induction answered with."""

    status: int
    text: str
    headers: CIMultiDictProxy[str]

    @property
    def language(self) -> str:
        """Return the page's `<html lang>`."""
        found = re.search(r'<html lang="([^"]*)"', self.text)
        return found.group(1) if found else ""

    @property
    def title(self) -> str:
        """Return the page's heading, unescaped."""
        found = re.search(r"<h1>(.*?)</h1>", self.text, re.DOTALL)
        return html.unescape(found.group(1)) if found else ""

    def hidden(self, name: str) -> str:
        """Return a hidden field's value, or ''."""
        found = re.search(rf'name="{name}" value="([^"]*)"', self.text)
        return html.unescape(found.group(1)) if found else ""


class Walker:
    """A member going through the online induction's forms, as a browser without script."""

    def __init__(self, client: TestClient, accept_language: str = "") -> None:
        """Use an HTTP client that has no Home Assistant login (and a browser's languages)."""
        self.client = client
        self.page: Page | None = None
        self.headers = {"Accept-Language": accept_language} if accept_language else {}

    async def _post(self, data: Mapping[str, str]) -> Page:
        async with self.client.post(
            INDUCTION, data=dict(data), headers=self.headers
        ) as resp:
            self.page = Page(resp.status, await resp.text(), resp.headers)
        return self.page

    async def open(self, query: str = "") -> Page:
        """Open the sign-in page (`query`: e.g. "?lang=da")."""
        async with self.client.get(f"{INDUCTION}{query}", headers=self.headers) as resp:
            self.page = Page(resp.status, await resp.text(), resp.headers)
        return self.page

    async def sign_in(self, card: str, pin: str) -> Page:
        """Send card and PIN from the sign-in page (its language field, as a browser does)."""
        data = {"go": "sign_in", "card": card, "pin": pin}
        if self.page is not None and self.page.hidden("lang"):
            data["lang"] = self.page.hidden("lang")
        return await self._post(data)

    @property
    def token(self) -> str:
        """Return the session's token the current page carries."""
        assert self.page is not None
        return self.page.hidden("token")

    async def send(self, go: str = "next", **fields: str) -> Page:
        """Send the current page's form."""
        assert self.page is not None
        data = {
            "token": self.page.hidden("token"),
            "step": self.page.hidden("step"),
            "go": go,
        }
        if self.page.hidden("lang"):
            data["lang"] = self.page.hidden("lang")
        return await self._post(data | fields)

    async def through(
        self, answers: Mapping[str, str] | None = None, *, watched: bool = True
    ) -> Page:
        """Go through every step from the current one to the end; return the last page."""
        for _ in range(10):
            assert self.page is not None
            step = self.page.hidden("step")
            if step == "video":
                await self.send(**({"watched": "1"} if watched else {}))
            elif step == "quiz":
                page = await self.send(**(answers or right_answers()))
                if page.hidden("step") == "quiz":
                    return page  # answered wrong: the quiz again
            elif step == "agreement":
                return await self.send(agree="yes")
            elif step:
                await self.send()
            else:
                return self.page
        raise AssertionError("the induction did not end")


async def inducted(
    hass: HomeAssistant, card: str
) -> tuple[date | None, int | None, str]:
    """Return a member's induction record: date, version, where."""
    member = await hass.async_add_executor_job(stored_member, hass, card)
    assert member is not None
    return member.induction_date, member.induction_version, member.induction_where
