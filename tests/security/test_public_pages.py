"""Attacks on the public pages: the online induction, the branch pages, the floor plans.

Each test tries to get round one rule of issue 21 and checks it holds:
- the pages set no Home Assistant session and show nothing of Home Assistant;
- the sign-in form shares the doors' lock-out (five wrong PINs here lock the card at the door,
  and the other way round), also with many guesses sent at once; it is rate-limited per address
  and per card;
- no answer tells whether a card exists before the PIN is right;
- a completed session cannot be replayed; a session token is long, one-time, short-lived,
  server-side and never in an address;
- floor-plan names and uploads cannot traverse paths or run script; uploads are size-limited;
- administrators' texts cannot inject script into the public pages (escaped everywhere, and a
  strict Content-Security-Policy);
- the induction record holds the date, the version and where, nothing more;
- only administrators change the induction, the public text and the floor plans.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch
from urllib.parse import quote

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import Context, Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.smart_library.const import DOMAIN
from custom_components.smart_library.engine.members.store import MembershipStore
from custom_components.smart_library.pages import induction as desk_module
from custom_components.smart_library.pages.induction import EVENT_INDUCTION
from custom_components.smart_library.pages.public import slug_of
from simulator.building import SimulatedBuilding
from tests.components.conftest import branch_device
from tests.components.pages_common import (
    ADULT,
    ADULT_PIN,
    BRANCH,
    INDUCTION,
    OTHER,
    OTHER_PIN,
    SERVICE,
    ClientFactory,
    Page,
    Walker,
    at_the_door,
    call,
    enroll,
    inducted,
    offer_languages,
    open_smart,
    right_answers,
)

SCRIPT = '<script>alert("x")</script>'
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
PAYLOAD = f"{SCRIPT}{ATTRIBUTE}</title></style><svg onload=alert(2)>"
# What must never appear raw in a page once an administrator's text holds PAYLOAD.
RAW = ("<script>", "<img", "<svg onload", "</title></style>")


@pytest.fixture
async def library(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> MockConfigEntry:
    """Two adult members not yet inducted; the branch open in smart hours."""
    hass.config.allowlist_external_dirs.add(hass.config.path("www"))
    Path(hass.config.path("www")).mkdir(exist_ok=True)
    await enroll(hass, ADULT, ADULT_PIN)
    await enroll(hass, OTHER, OTHER_PIN)
    await open_smart(hass)
    return init_integration


def _store(hass: HomeAssistant) -> MembershipStore:
    store: MembershipStore = hass.config_entries.async_entries(DOMAIN)[
        0
    ].runtime_data.access.store
    return store


def _desk(hass: HomeAssistant) -> desk_module.InductionDesk:
    desk: desk_module.InductionDesk = hass.config_entries.async_entries(DOMAIN)[
        0
    ].runtime_data.pages.desk
    return desk


async def _get(client: Any, path: str) -> Page:
    async with client.get(path) as resp:
        return Page(resp.status, await resp.text(), resp.headers)


# -- nothing of Home Assistant ------------------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_no_session_is_set_and_nothing_of_home_assistant_is_shown(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Every page: no cookie, no Home Assistant name, frontend, API or auth address in it."""
    await call(
        hass,
        "upload_floor_plan",
        {
            "branch": branch_device(hass),
            "path": _plan_file(
                hass, b"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'/>"
            ),
        },
    )
    client = await hass_client_no_auth()
    walker = Walker(client)
    pages = [
        await walker.open(),
        await walker.sign_in(ADULT, ADULT_PIN),
        await walker.send(),
        await walker.send(),
        await walker.send(q0="0"),
        await _get(client, SERVICE),
        await _get(client, BRANCH),
        await _get(client, f"{BRANCH}/hours.ics"),
        await _get(client, f"{BRANCH}/floor-plan"),
        await _get(client, "/api/smart_library/public/_assets/pages.css"),
    ]
    for page in pages:
        assert page.status == 200
        assert "Set-Cookie" not in page.headers
        text = page.text.lower()
        for trace in (
            "home assistant",
            "home-assistant",
            "hass",
            "frontend_latest",
            "/auth/",
            "/api/websocket",
            "lovelace",
        ):
            assert trace not in text, trace


@pytest.mark.usefixtures("library")
async def test_every_page_has_a_strict_content_security_policy(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Nothing inline, nothing from elsewhere, no framing; no caching of the induction."""
    client = await hass_client_no_auth()
    walker = Walker(client)
    for page in (await walker.open(), await walker.sign_in(ADULT, ADULT_PIN)):
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "script-src 'none'" in policy  # no script but on the video's page
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "style=" not in page.text and "<script>" not in page.text
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text)  # no event handler
    branch = await _get(client, BRANCH)
    assert "default-src 'none'" in branch.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in branch.headers["Content-Security-Policy"]


# -- the lock-out, shared with the doors --------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_five_wrong_pins_on_the_page_lock_the_card_at_the_door(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """The page's wrong PINs count at the door: the right PIN is then refused at both."""
    walker = Walker(await hass_client_no_auth())
    for _ in range(5):
        page = await walker.sign_in(ADULT, "0000")
        assert "Card number or PIN not recognised" in page.text
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert "Card locked." in page.text and not page.hidden("token")
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "locked_out"


@pytest.mark.usefixtures("library")
async def test_five_wrong_pins_at_the_door_lock_the_card_on_the_page(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """And the other way round: locked at the door, locked here."""
    for _ in range(5):
        assert await at_the_door(hass, ADULT, "0000") == "wrong_pin"
    page = await Walker(await hass_client_no_auth()).sign_in(ADULT, ADULT_PIN)
    assert "Card locked." in page.text and not page.hidden("token")


@pytest.mark.usefixtures("library")
async def test_guesses_sent_at_once_are_no_faster_than_one_by_one(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """60 sign-ins at once, the right PIN 30th: at most 5 PINs evaluated, no session."""
    evaluated = 0
    real = desk_module.LibraryAccess.async_identify

    async def counting(self: Any, card: str, pin: str) -> Any:
        result = await real(self, card, pin)
        nonlocal evaluated
        if str(result.reason) in ("wrong_pin", "unknown_card", "granted"):
            evaluated += 1
        return result

    client = await hass_client_no_auth()
    pins = [f"{n:04d}" for n in range(1000, 1060)]
    pins[29] = ADULT_PIN
    with patch.object(desk_module.LibraryAccess, "async_identify", counting):
        pages = await asyncio.gather(
            *(Walker(client).sign_in(ADULT, pin) for pin in pins)
        )
    assert evaluated <= 5
    assert not any(p.hidden("token") for p in pages)
    assert len(_desk(hass).sessions) == 0
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "locked_out"


@pytest.mark.usefixtures("library")
async def test_the_form_is_rate_limited_per_address(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """More than 10 refused sign-ins from one address: paused, even a right PIN (429)."""
    walker = Walker(await hass_client_no_auth())
    for n in range(11):
        page = await walker.sign_in(f"9999000000{n:04d}", "1234")
        assert page.status == 200
    page = await walker.sign_in(OTHER, OTHER_PIN)
    assert page.status == 429 and "Too many attempts" in page.text
    assert int(page.headers["Retry-After"]) > 60
    assert not page.hidden("token")
    # Another address is not paused (the desk, as a second address would reach it).
    other = await _desk(hass).async_sign_in(OTHER, OTHER_PIN, "192.0.2.10")
    assert other.outcome == "signed_in"


@pytest.mark.usefixtures("library")
async def test_the_form_is_rate_limited_per_card(hass: HomeAssistant) -> None:
    """More than 10 sign-ins of one card in 15 minutes, from any addresses: then paused."""
    desk = _desk(hass)
    for n in range(11):
        result = await desk.async_sign_in(OTHER, OTHER_PIN, f"192.0.2.{n}")
        assert result.outcome == "signed_in"
    result = await desk.async_sign_in(OTHER, OTHER_PIN, "192.0.2.200")
    assert result.outcome == "throttled"
    assert len(desk.sessions) == 1  # each sign-in of a card ends its earlier session


# -- no answer tells a member's card from a stranger's -----------------------------------------


@pytest.mark.usefixtures("library")
async def test_an_unknown_card_and_a_wrong_pin_read_the_same(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Same status, same page, same events but the masked card, for a member and a stranger."""
    many = desk_module.ThrottlePolicy(refusals=100)
    patcher = patch.object(desk_module, "ADDRESS_POLICY", many)
    patcher.start()
    events: list[Event] = []
    hass.bus.async_listen(EVENT_INDUCTION, events.append)
    client = await hass_client_no_auth()
    member = await Walker(client).sign_in(ADULT, "0000")
    stranger = await Walker(client).sign_in("21234000009999", "0000")
    malformed = await Walker(client).sign_in("<b>", "0000")
    assert member.status == stranger.status == malformed.status == 200
    assert member.text == stranger.text == malformed.text
    await hass.async_block_till_done()
    assert [e.data["outcome"] for e in events] == ["not_recognised"] * 3, events
    # A stranger's number is counted and locked out like a member's.
    for _ in range(4):
        await Walker(client).sign_in("21234000009999", "0000")
        await Walker(client).sign_in(ADULT, "0000")
    locked_member = await Walker(client).sign_in(ADULT, "0000")
    locked_stranger = await Walker(client).sign_in("21234000009999", "0000")
    patcher.stop()
    assert "Card locked." in locked_member.text
    assert _body(locked_member.text) == _body(locked_stranger.text)


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize("browser", ["cy-GB,cy", "da-DK,da;q=0.9", ""])
async def test_a_member_and_a_stranger_read_the_same_in_every_language(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, browser: str
) -> None:
    """Member, stranger, malformed card: one page per language, byte for byte."""
    await offer_languages(hass, ["en", "cy", "da"])
    many = desk_module.ThrottlePolicy(refusals=100)
    client = await hass_client_no_auth()
    with patch.object(desk_module, "ADDRESS_POLICY", many):
        pages = []
        for card in (ADULT, "21234000009999", "<b>"):
            walker = Walker(client, browser)
            await walker.open()
            pages.append(await walker.sign_in(card, "0000"))
    expected = {"cy-GB,cy": "cy", "da-DK,da;q=0.9": "da", "": "en"}[browser]
    assert {page.language for page in pages} == {expected}
    assert pages[0].text == pages[1].text == pages[2].text
    assert pages[0].status == pages[1].status == pages[2].status == 200


@pytest.mark.usefixtures("library")
async def test_a_requested_language_is_never_echoed(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """?lang=<script>, a huge or malformed Accept-Language, a forged form field: harmless."""
    await offer_languages(hass, ["cy", "en"])
    client = await hass_client_no_auth()
    attempts = [
        ("?lang=" + SCRIPT, ""),
        ("?lang=" + quote(SCRIPT), ""),
        ("?lang=" + quote(ATTRIBUTE), ""),
        ("?lang=" + "x" * 5000, ""),
        ("?lang=nb", ""),  # shipped, not offered
        ("", "fr;q=abc, " + "de;q=0.1," * 700 + "en<script>"),
        ("", ";;;,,,q=,-,"),
    ]
    for query, header in attempts:
        page = await Walker(client, header).open(query)
        assert not any(raw in page.text for raw in RAW)
        if page.status == 400:  # Home Assistant's own filter refused the address first
            assert page.text == "400: Bad Request"
            continue
        assert page.status == 200
        assert page.language == "cy"  # the service's first
        assert "xxxxx" not in page.text and "nb" not in page.text
        assert set(re.findall(r'lang="([^"]*)"', page.text)) == {"cy", "en"}
    # A forged language in the form or the switch: the service's first, no trace of it.
    for field in ({"lang": SCRIPT}, {"go": "lang:" + SCRIPT}, {"lang": "sv"}):
        async with client.post(
            INDUCTION, data={"token": "x", "step": "rules", "go": "next"} | field
        ) as resp:
            text = await resp.text()
        assert resp.status == 200 and '<html lang="cy">' in text
        assert not any(raw in text for raw in RAW)
    # Every language of the service's page is served under its own address or Vary.
    async with client.get(f"{SERVICE}?lang=en") as resp:
        assert resp.headers["Vary"] == "Accept-Language"
        assert '<html lang="en">' in await resp.text()


def _body(text: str) -> str:
    return re.sub(r"until \d\d:\d\d", "until HH:MM", text)


# -- sessions ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_a_completed_session_cannot_be_replayed(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Completing again with the same token (also at once) records nothing more."""
    events: list[Event] = []
    hass.bus.async_listen(EVENT_INDUCTION, events.append)
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    token = walker.token
    assert len(token) >= 43 and token not in INDUCTION
    await walker.send()  # the floor plans and hours
    await walker.send()  # the rules
    agreement = await walker.send(**right_answers())
    assert agreement.hidden("step") == "agreement"
    form = {"token": token, "step": "agreement", "go": "next", "agree": "yes"}
    client = walker.client

    async def send() -> str:
        async with client.post(INDUCTION, data=form) as resp:
            return await resp.text()

    answers = await asyncio.gather(*(send() for _ in range(5)))
    assert sum("<h1>Induction complete</h1>" in a for a in answers) == 1
    again = await send()
    assert "expired or was already completed" in again
    assert [e.data["outcome"] for e in events].count("completed") == 1


@pytest.mark.usefixtures("library")
async def test_sessions_are_server_side_short_lived_and_not_in_the_address(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The token travels in the form only; a made-up or idle token leads back to sign-in."""
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert f'action="{INDUCTION}"' in page.text  # the same address, no token in it
    assert "Location" not in page.headers
    desk = _desk(hass)
    assert walker.token not in repr(desk.sessions._sessions)  # only its digest is kept
    forged = Walker(walker.client)
    forged.page = Page(200, page.text.replace(walker.token, "A" * 43), page.headers)
    assert "expired or was already completed" in (await forged.send()).text
    freezer.tick(timedelta(minutes=21))
    assert "expired or was already completed" in (await walker.send()).text
    # Skipping to the end without the quiz: refused, back to the first step not done.
    walker = Walker(walker.client)
    page = await walker.sign_in(ADULT, ADULT_PIN)
    forged_step = await walker.send()  # branches done
    assert forged_step.hidden("step") == "rules"
    skip = Walker(walker.client)
    skip.page = Page(
        200,
        forged_step.text.replace(
            'name="step" value="rules"', 'name="step" value="agreement"'
        ),
        forged_step.headers,
    )
    page = await skip.send(agree="yes")
    assert page.title != "Induction complete"
    assert (await inducted(hass, ADULT))[0] is None


# -- floor plans: names, uploads, script -------------------------------------------------------


def _plan_file(hass: HomeAssistant, data: bytes, name: str = "plan.svg") -> str:
    path = Path(hass.config.path("www", name))
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return str(path)


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    "path",
    [
        f"{SERVICE}/branches/..%2F..%2F..%2Fetc%2Fpasswd/floor-plan",
        f"{SERVICE}/branches/%2E%2E/floor-plan",
        f"{SERVICE}/branches/oadby-library%00/floor-plan",
        f"{SERVICE}/branches/branch_oadby/floor-plan",
        "/api/smart_library/public/_assets/..%2F..%2Fmanifest.json",
        "/api/smart_library/public/_assets/%2E%2E%2Fstore.py",
        "/api/smart_library/public/..%2F..%2Fconfig/branches/x/floor-plan",
        f"{SERVICE}/induction/video/../../../../etc/passwd",
    ],
)
async def test_names_in_addresses_cannot_reach_files(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, path: str
) -> None:
    """Addresses are looked up among the loaded services and branches, never joined to a path."""
    _plan_file(hass, b"secret")
    client = await hass_client_no_auth()
    async with client.get(path) as resp:
        assert resp.status in (400, 404)
        body = await resp.read()
    assert b"secret" not in body and b"root:" not in body and b"domain" not in body


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../../etc/passwd",
        "/config/../../etc/passwd",
        "/proc/self/environ",
    ],
)
async def test_uploads_read_only_allowed_folders(
    hass: HomeAssistant, path: str
) -> None:
    """A path outside allowlist_external_dirs is refused before anything is read."""
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "upload_floor_plan", {"branch": branch_device(hass), "path": path}
        )
    assert err.value.translation_key == "file_path_not_allowed"


@pytest.mark.usefixtures("library")
async def test_a_floor_plan_cannot_run_script(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """An SVG with scripts and handlers is kept without them, served so nothing could run."""
    evil = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
        b"<script>alert(2)</script><rect width='5' height='5' onclick='alert(3)'/>"
        b'<foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(4)"/>'
        b"</foreignObject></svg>"
    )
    await call(
        hass,
        "upload_floor_plan",
        {"branch": branch_device(hass), "path": _plan_file(hass, evil)},
    )
    stored = list(Path(hass.config.path(DOMAIN, "pages")).rglob("plan-*"))
    assert len(stored) == 1 and stored[0].name == "plan-branch_oadby.svg"
    assert stored[0].stat().st_mode & 0o077 == 0  # private to Home Assistant's user
    assert b"alert" not in stored[0].read_bytes()
    client = await hass_client_no_auth()
    async with client.get(f"{BRANCH}/floor-plan") as resp:
        body = await resp.read()
        assert resp.content_type == "image/svg+xml"
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert "script-src" not in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert b"alert" not in body and b"script" not in body


@pytest.mark.usefixtures("library")
async def test_an_upload_pretending_to_be_an_image_is_refused(
    hass: HomeAssistant,
) -> None:
    """The kind comes from the bytes: an HTML page named .png is no floor plan."""
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "upload_floor_plan",
            {
                "branch": branch_device(hass),
                "path": _plan_file(hass, b"<html><script>alert(1)</script>", "x.png"),
            },
        )
    assert err.value.translation_key == "plan_not_image"
    assert not list(Path(hass.config.path(DOMAIN)).rglob("plan-*"))


@pytest.mark.usefixtures("library")
async def test_oversized_uploads_and_forms_are_refused(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A plan over 4 MB, an SVG over 1 MB, a video over the limit, a form over 16 KB."""
    device = branch_device(hass)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (4 * 1024 * 1024)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "upload_floor_plan",
            {"branch": device, "path": _plan_file(hass, big, "big.png")},
        )
    assert err.value.translation_key == "plan_too_large"
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">'
        + b" " * (1024 * 1024)
        + b"</svg>"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "upload_floor_plan", {"branch": device, "path": _plan_file(hass, svg)}
        )
    assert err.value.translation_key == "plan_too_large"
    with (
        patch("custom_components.smart_library.pages.store.MAX_VIDEO_BYTES", 1000),
        pytest.raises(ServiceValidationError) as err,
    ):
        await call(
            hass,
            "upload_induction_video",
            {"path": _plan_file(hass, b"\x1a\x45\xdf\xa3" + b"\x00" * 2000, "v.webm")},
        )
    assert err.value.translation_key == "video_too_large"
    assert not list(Path(hass.config.path(DOMAIN)).rglob("video*"))
    client = await hass_client_no_auth()
    async with client.post(
        INDUCTION, data={"go": "sign_in", "card": "x" * 20_000, "pin": "1234"}
    ) as resp:
        assert resp.status == 413


# -- administrators' texts cannot inject script --------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_administrators_texts_cannot_inject_script(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Every text an administrator edits, holding markup, is shown as text on every page."""
    device = branch_device(hass)
    await call(
        hass,
        "publish_induction",
        {
            "rules": f"## {PAYLOAD}\n{PAYLOAD}\n- {PAYLOAD}",
            "agreement": PAYLOAD,
            "quiz": [
                {
                    "question": PAYLOAD,
                    "options": [PAYLOAD, "b"],
                    "answer": 2,
                    "section": "rules",
                    "hint": PAYLOAD,
                }
            ],
        },
    )
    await call(
        hass,
        "set_public_info",
        {
            "can": PAYLOAD,
            "cannot": PAYLOAD,
            "help_numbers": f"{PAYLOAD}: 999\n{PAYLOAD}",
            "contact": PAYLOAD,
        },
    )
    await call(
        hass,
        "set_branch_page",
        {
            "branch": device,
            "address": PAYLOAD,
            "note": PAYLOAD,
            "help_numbers": PAYLOAD,
        },
    )
    await call(
        hass,
        "upload_floor_plan",
        {
            "branch": device,
            "path": _plan_file(
                hass, b"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'/>"
            ),
        },
    )
    await call(
        hass,
        "set_floor_plan_markers",
        {
            "branch": device,
            "markers": [{"kind": "fire_exit", "x": 1, "y": 1, "label": PAYLOAD[:40]}],
        },
    )
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    hass.config_entries.async_update_entry(entry, title=f"Shire Libraries {SCRIPT}")
    await hass.async_block_till_done()
    service = f"/api/smart_library/public/{slug_of(entry.title)}"
    client = await hass_client_no_auth()
    walker = Walker(client)
    with patch("tests.components.pages_common.INDUCTION", f"{service}/induction"):
        seen = [await walker.open(), await walker.sign_in(ADULT, ADULT_PIN)]
        while (step := seen[-1].hidden("step")) and step != "agreement":
            seen.append(await walker.send(**({"q0": "0"} if step == "quiz" else {})))
            if step == "quiz":  # answered wrong: the hint, then the right answer
                assert seen[-1].hidden("step") == "quiz"
                seen.append(await walker.send(q0="1"))
        seen.append(await walker.send(agree="yes"))
    seen.append(await _get(client, f"{service}/branches/oadby-library"))
    seen.append(await _get(client, service))
    titles = [p.title for p in seen]
    assert "Induction complete" in titles and "A short quiz" in titles
    for page in seen:
        assert page.status == 200
        for raw in RAW:
            assert raw not in page.text, (raw, page.title)
        # Every real tag is the page's own: none carries an event handler.
        assert not re.search(r"<[^>]+\son[a-z]+=", page.text), page.title
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert any(escaped in p.text for p in seen)


@pytest.mark.usefixtures("library")
async def test_unsafe_video_addresses_and_numbers_are_refused(
    hass: HomeAssistant,
) -> None:
    """A javascript: video or a number with markup never reaches a page."""
    for video in ("javascript:alert(1)", 'https://x.example/"onerror="alert(1)'):
        with pytest.raises(ServiceValidationError):
            await call(hass, "publish_induction", {"video": video})
    await call(hass, "set_public_info", {"help_numbers": "Desk: javascript:alert(1)"})
    info = hass.config_entries.async_entries(DOMAIN)[
        0
    ].runtime_data.pages.store.data.info
    assert [n.number for n in info.numbers] == [""]  # a label, not a number to dial


# -- what is recorded -------------------------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_the_record_holds_date_version_and_where_only(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """After the induction only the three induction columns changed; no answers, no address."""
    store = _store(hass)
    path = Path(
        hass.config.path(
            DOMAIN, f"{hass.config_entries.async_entries(DOMAIN)[0].entry_id}.db"
        )
    )

    def row() -> dict[str, Any]:
        with store._lock:
            found = store._db.execute(
                "SELECT * FROM members WHERE card = ?", (ADULT,)
            ).fetchone()
        return dict(found)

    def tables() -> dict[str, int]:
        with store._lock:
            names = [
                r[0]
                for r in store._db.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            ]
            return {
                n: store._db.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0]  # noqa: S608
                for n in names
            }

    before_row = await hass.async_add_executor_job(row)
    before_tables = await hass.async_add_executor_job(tables)
    events: list[Event] = []
    hass.bus.async_listen(EVENT_INDUCTION, events.append)
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    page = await walker.through()
    assert page.title == "Induction complete"
    after_row = await hass.async_add_executor_job(row)
    changed = {k for k in after_row if after_row[k] != before_row[k]}
    assert changed == {"induction_date", "induction_version", "induction_where"}
    assert after_row["induction_where"] == "online"
    after_tables = await hass.async_add_executor_job(tables)
    grown = {n for n in after_tables if after_tables[n] > before_tables.get(n, 0)}
    assert grown <= {
        "pin_attempts"
    }  # none, or an attempt still counted: never an answer
    data = await hass.async_add_executor_job(path.read_bytes)
    wal = Path(f"{path}-wal")
    data += await hass.async_add_executor_job(wal.read_bytes) if wal.exists() else b""
    for secret in (b"127.0.0.1", ADULT_PIN.encode(), b"I agree"):
        assert secret not in data
    for event in events:
        assert set(event.data) <= {"service", "outcome", "card", "version"}
        assert ADULT not in str(event.data)


# -- only administrators -----------------------------------------------------------------------

ADMIN_ACTIONS: dict[str, Callable[[HomeAssistant], dict[str, Any]]] = {
    "publish_induction": lambda hass: {"significant": True, "summary": "x"},
    "get_induction": lambda hass: {},
    "upload_induction_video": lambda hass: {"path": "/config/www/v.webm"},
    "set_public_info": lambda hass: {"contact": "x"},
    "set_branch_page": lambda hass: {"branch": branch_device(hass), "address": "x"},
    "upload_floor_plan": lambda hass: {"branch": branch_device(hass), "path": "/x.svg"},
    "set_floor_plan_markers": lambda hass: {
        "branch": branch_device(hass),
        "markers": [],
    },
    "remove_floor_plan": lambda hass: {"branch": branch_device(hass)},
    "record_induction": lambda hass: {"card": ADULT},
}


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize("action", sorted(ADMIN_ACTIONS))
async def test_only_administrators_change_the_induction_and_the_pages(
    hass: HomeAssistant,
    hass_read_only_user: MockUser,
    action: str,
) -> None:
    """A read-only user and a non-admin staff member are refused; nothing changes."""
    staff = MockUser(groups=[await hass.auth.async_get_group(GROUP_ID_USER)])
    staff.add_to_hass(hass)
    assert not staff.is_admin
    for user in (hass_read_only_user, staff):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN,
                action,
                ADMIN_ACTIONS[action](hass),
                blocking=True,
                return_response=action == "get_induction",
                context=Context(user_id=user.id),
            )
    assert _store(hass).induction_required == 0
    assert (await inducted(hass, ADULT))[0] is None


# -- what changes during a session -------------------------------------------------------------


async def _to_agreement(walker: Walker) -> Page:
    await walker.send()  # the floor plans and hours
    await walker.send()  # the rules
    page = await walker.send(**right_answers())
    assert page.hidden("step") == "agreement"
    return page


@pytest.mark.usefixtures("library")
async def test_a_bar_given_during_the_session_wins(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Barred after signing in: the end of the induction records nothing."""
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    await _to_agreement(walker)
    await call(
        hass,
        "bar_member",
        {
            "card": ADULT,
            "reason": "x",
            "review_date": dt_util.now().date() + timedelta(days=30),
        },
    )
    page = await walker.send(agree="yes")
    assert page.title == "Please contact the library"
    assert (await inducted(hass, ADULT))[0] is None


@pytest.mark.usefixtures("library")
async def test_a_significant_version_published_during_the_session_is_not_skipped(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """The member finishing the old version is asked to start the new one; nothing recorded."""
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    await _to_agreement(walker)
    await call(hass, "publish_induction", {"significant": True, "summary": "New exit"})
    page = await walker.send(agree="yes")
    assert page.title == "The induction has just changed"
    assert (await inducted(hass, ADULT))[0] is None


@pytest.mark.usefixtures("library")
async def test_overlong_fields_read_as_an_unknown_card(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A 30-character card or a 16-character PIN: the same answer as any unknown card."""
    client = await hass_client_no_auth()
    plain = await Walker(client).sign_in("21234000009999", "0000")
    long_card = await Walker(client).sign_in("9" * 33, "0000")
    long_pin = await Walker(client).sign_in(ADULT, "1" * 17)
    assert plain.text == long_card.text == long_pin.text
