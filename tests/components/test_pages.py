"""The online induction and the branch pages, as a member and an administrator use them.

Against the simulated building over real TCP, through Home Assistant's HTTP server with no login.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import re
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_library import logbook
from custom_components.smart_library.dashboard.strategy import build_dashboard
from custom_components.smart_library.engine.members.induction import DEFAULT_QUIZ
from custom_components.smart_library.pages.induction import EVENT_INDUCTION
from simulator.building import SimulatedBuilding

from .conftest import branch_device
from .pages_common import (
    ADULT,
    ADULT_PIN,
    BRANCH,
    INDUCTION,
    SERVICE,
    WARNED,
    WARNED_PIN,
    YOUNG,
    YOUNG_PIN,
    ClientFactory,
    Walker,
    at_the_door,
    call,
    enroll,
    inducted,
    offer_languages,
    open_smart,
    right_answers,
)

PLAN = b"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 500">
<rect x="10" y="10" width="780" height="480" fill="#fff" stroke="#333" stroke-width="4"/>
<text x="400" y="250" text-anchor="middle">Lending</text></svg>"""


@pytest.fixture
async def library(
    hass: HomeAssistant, init_integration: MockConfigEntry, building: SimulatedBuilding
) -> MockConfigEntry:
    """Give the service an adult member not yet inducted; open the branch in smart hours."""
    hass.config.allowlist_external_dirs.add(hass.config.path("www"))
    await enroll(hass, ADULT, ADULT_PIN)
    await open_smart(hass)
    return init_integration


@pytest.fixture
def induction_events(hass: HomeAssistant) -> list[Event]:
    """Collect the induction's events."""
    events: list[Event] = []
    hass.bus.async_listen(EVENT_INDUCTION, events.append)
    return events


@pytest.mark.usefixtures("library")
async def test_a_member_completes_the_induction_and_the_door_grants_them(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    induction_events: list[Event],
) -> None:
    """Card + PIN, the floor plans and hours, the rules, the quiz, the agreement: granted."""
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "induction_needed"
    walker = Walker(await hass_client_no_auth())
    page = await walker.open()
    assert page.status == 200 and page.title == "Smart Library induction"
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert page.title == "Floor plans and opening hours"  # no video by default
    assert "Oadby Library" in page.text and "The week ahead" in page.text
    page = await walker.send()
    assert page.title == "The access rules"
    assert "radar key" in page.text and "CCTV" in page.text
    page = await walker.send()
    assert page.title == "A short quiz"
    # One wrong answer: the question says which part to read again.
    answers = right_answers() | {"q1": "0"}
    page = await walker.send(**answers)
    assert page.title == "A short quiz" and "Not quite." in page.text
    assert page.text.count('class="wrong"') == 1
    assert 'value="back:branches"' in page.text
    assert "Read again: Floor plans and opening hours" in page.text
    page = await walker.send(go="back:branches")
    assert page.title == "Floor plans and opening hours"
    page = await walker.through()
    assert page.title == "Induction complete"
    assert "induction version 1, online" in page.text
    today = dt_util.now().date()
    assert await inducted(hass, ADULT) == (today, 1, "online")
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"
    outcomes = [e.data["outcome"] for e in induction_events]
    assert outcomes == ["signed_in", "completed"]
    assert all(e.data["card"] == "••••0001" for e in induction_events)


@pytest.mark.usefixtures("library")
async def test_a_renewal_asks_for_the_induction_again(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Seed 001: after a renewal a new induction before access is restored."""
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    assert (await walker.through()).title == "Induction complete"
    await call(
        hass,
        "renew_card",
        {"card": ADULT, "card_expiry": dt_util.now().date() + timedelta(days=900)},
    )
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "induction_outdated"
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert "Your card was renewed on" in page.text
    assert (await walker.through()).title == "Induction complete"
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"


@pytest.mark.usefixtures("library")
async def test_a_significant_version_asks_again_a_minor_one_does_not(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A significant version: induction_revised at the door until the member does it again."""
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, ADULT_PIN)
    await walker.through()
    minor = await call(hass, "publish_induction", {"summary": "Typo"})
    assert minor["version"] == 2 and minor["required_version"] == 0
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"
    quiz = [
        {
            "question": "Where is the new fire exit?",
            "options": ["By the children's library", "There is none"],
            "answer": 1,
            "section": "branches",
            "hint": "See the floor plan.",
        }
    ]
    answer = await call(
        hass,
        "publish_induction",
        {
            "significant": True,
            "summary": "A new fire exit by the children's library",
            "quiz": quiz,
        },
    )
    assert answer["version"] == 3 and answer["required_version"] == 3
    assert answer["members_to_induct_again"] == 1
    assert answer["induction"] == INDUCTION
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "induction_revised"
    door = await call(
        hass,
        "request_access",
        {"branch": branch_device(hass), "card": ADULT, "pin": ADULT_PIN},
    )
    assert door["message"].endswith("A new fire exit by the children's library")
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert "Why again?" in page.text
    assert "A new fire exit by the children&#x27;s library" in page.text
    page = await walker.through({"q0": "1"})
    assert page.title == "A short quiz"  # the wrong one: the new question's answer is 0
    page = await walker.through({"q0": "0"})
    assert page.title == "Induction complete"
    assert (await inducted(hass, ADULT))[1] == 3
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"
    listed = await call(hass, "get_induction", {})
    assert [v["version"] for v in listed["versions"]] == [2, 3]
    assert listed["current"]["content"]["quiz"][0]["answer"] == 1


@pytest.mark.usefixtures("library")
async def test_a_face_to_face_induction_records_its_version_and_branch(
    hass: HomeAssistant,
) -> None:
    """record_induction (staff, after an induction in person): date, current version, where."""
    answer = await call(
        hass, "record_induction", {"card": ADULT, "branch": branch_device(hass)}
    )
    assert answer["eligibility"] == "granted"
    assert answer["induction"]["version"] == 1
    assert answer["induction"]["where"] == "branch_oadby"


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    ("setup", "title"),
    [
        ("under_16", "Under-16s cannot complete the Smart Library induction"),
        ("barred", "Please contact the library"),
        ("final_warning", "Please contact the library"),
        ("expired", "Your library card has expired"),
    ],
)
async def test_who_cannot_complete_it_is_told_what_to_do_and_nothing_is_recorded(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, setup: str, title: str
) -> None:
    """Under-16s (the adult-accompanied path), barred, final warning, expired: no record."""
    card, pin = {"under_16": (YOUNG, YOUNG_PIN)}.get(setup, (WARNED, WARNED_PIN))
    await enroll(hass, card, pin, age=15 if setup == "under_16" else 40)
    today = dt_util.now().date()
    if setup == "barred":
        await call(
            hass,
            "bar_member",
            {"card": card, "reason": "x", "review_date": today + timedelta(days=30)},
        )
    elif setup == "final_warning":
        await call(hass, "issue_final_warning", {"card": card, "reason": "x"})
    elif setup == "expired":
        await call(
            hass,
            "import_members",
            {
                "csv": "card,birth_date,card_expiry\n"
                f"{card},1980-01-01,{today - timedelta(days=1)}\n"
            },
        )
    await call(
        hass,
        "set_public_info",
        {"contact": "Email smartlibraries@example.gov.uk"},
    )
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(card, pin)
    assert page.title == title
    assert "Nothing has been recorded." in page.text
    assert not page.hidden("token")
    if setup == "under_16":
        assert "parent or guardian over 18" in page.text
    if setup in ("barred", "final_warning"):
        assert "smartlibraries@example.gov.uk" in page.text
        assert "barred" not in page.text.lower() and "warning" not in page.text.lower()
    assert (await inducted(hass, card))[0] is None


@pytest.mark.usefixtures("library")
async def test_the_video_must_be_watched_to_the_end(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A video the player can follow: "watched" is needed, and not before it could have ended."""
    await call(
        hass,
        "publish_induction",
        {"video": "https://videos.example.org/induction.mp4", "video_seconds": 60},
    )
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert page.title == "The induction video"
    assert 'src="https://videos.example.org/induction.mp4"' in page.text
    assert (
        "media-src 'self' https://videos.example.org"
        in page.headers["Content-Security-Policy"]
    )
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    page = await walker.send()
    assert "watch the video all the way through first" in page.text
    page = await walker.send(watched="1")  # at once: a 60 s video cannot have ended
    assert page.title == "The induction video"
    freezer.tick(timedelta(seconds=61))
    page = await walker.send(watched="1")
    assert page.title == "Floor plans and opening hours"


@pytest.mark.usefixtures("library")
async def test_a_video_page_from_elsewhere_is_embedded_with_a_box_to_tick(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A video site's page: framed from its own origin only; the member says they watched."""
    await call(
        hass, "publish_induction", {"video": "https://video.example.net/embed/42"}
    )
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert '<iframe class="video" src="https://video.example.net/embed/42"' in page.text
    assert (
        "frame-src https://video.example.net" in page.headers["Content-Security-Policy"]
    )
    assert 'name="watched" value="1" required' in page.text


@pytest.mark.usefixtures("library")
async def test_an_uploaded_video_is_served_for_the_player(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, tmp_path: Path
) -> None:
    """A WebM file uploaded by path: served with ranges; publish with video "file"."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "publish_induction", {"video": "file"})
    assert err.value.translation_key == "induction_no_video_file"
    video = Path(hass.config.path("www", "induction.webm"))
    video.parent.mkdir(exist_ok=True)
    video.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 5000)
    answer = await call(hass, "upload_induction_video", {"path": str(video)})
    assert answer == {"type": "video/webm", "bytes": 5004}
    await call(hass, "publish_induction", {"video": "file"})
    walker = Walker(await hass_client_no_auth())
    page = await walker.sign_in(ADULT, ADULT_PIN)
    src = re.search(r'<video id="induction-video"[^>]* src="([^"]+)"', page.text)
    assert src is not None
    client = walker.client
    async with client.get(src.group(1).replace("&amp;", "&")) as resp:
        assert resp.status == 200 and resp.content_type == "video/webm"
        assert len(await resp.read()) == 5004
    async with client.get(src.group(1), headers={"Range": "bytes=0-3"}) as resp:
        assert resp.status == 206 and await resp.read() == b"\x1a\x45\xdf\xa3"


@pytest.mark.usefixtures("library")
async def test_the_branch_page(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Name, address, open now, today and the week, what can and cannot be done, numbers."""
    device = branch_device(hass)
    answer = await call(
        hass,
        "set_branch_page",
        {
            "branch": device,
            "address": "Church Street\nOadby LE2 5AB",
            "note": "Step-free entrance on Church Street",
        },
    )
    assert answer["page"] == BRANCH and answer["hours_feed"] == f"{BRANCH}/hours.ics"
    await call(
        hass,
        "set_public_info",
        {
            "help_numbers": "Emergency: 999\nPolice: 101\nProperty help desk: 0116 305 0000"
        },
    )
    today = dt_util.now().date()
    await hass.services.async_call(
        "smart_library",
        "add_exception",
        {
            "branch": device,
            "date": today + timedelta(days=2),
            "label": "Staff training",
        },
        blocking=True,
    )
    client = await hass_client_no_auth()
    async with client.get(BRANCH) as resp:
        text = await resp.text()
        assert resp.status == 200
    assert "<h1>Oadby Library</h1>" in text
    assert "Church Street<br>Oadby LE2 5AB" in text
    assert "Open now: smart hours" in text  # the override opened it
    assert "Staff training" in text and "The week ahead" in text
    assert "radar key" in text and "self-service kiosks" in text
    assert 'href="tel:01163050000"' in text and 'href="tel:999"' in text
    assert f'href="{BRANCH}/hours.ics"' in text
    assert "No floor plan has been added" in text
    async with client.get(f"{BRANCH}/hours.ics") as resp:
        assert resp.status == 200 and resp.content_type == "text/calendar"
        feed = await resp.text()
    assert feed.startswith("BEGIN:VCALENDAR") and "Closed: Staff training" in feed
    async with client.get(SERVICE) as resp:
        index = await resp.text()
    assert f'href="{BRANCH}"' in index and f'href="{INDUCTION}"' in index


@pytest.mark.usefixtures("library")
async def test_a_floor_plan_with_markers_on_the_pages_and_the_dashboard(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Uploaded by path, placed markers; the public page without live states, the dashboard with."""
    plan = Path(hass.config.path("www", "oadby.svg"))
    plan.parent.mkdir(exist_ok=True)
    plan.write_bytes(PLAN)
    device = branch_device(hass)
    answer = await call(
        hass, "upload_floor_plan", {"branch": device, "path": str(plan)}
    )
    assert (answer["type"], answer["width"], answer["height"]) == (
        "image/svg+xml",
        800,
        500,
    )
    markers: list[dict[str, Any]] = [
        {
            "kind": "door",
            "door": "entrance",
            "x": 50,
            "y": 96,
            "label": "Main entrance",
        },
        {"kind": "fire_exit", "x": 2, "y": 50},
        {"kind": "help_point", "x": 60, "y": 40},
        {"kind": "pa_zone", "zone": "zone_1", "x": 30, "y": 30},
    ]
    assert (
        await call(
            hass, "set_floor_plan_markers", {"branch": device, "markers": markers}
        )
    )["markers"] == 4
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "set_floor_plan_markers",
            {
                "branch": device,
                "markers": [{"kind": "door", "door": "vault", "x": 1, "y": 1}],
            },
        )
    assert err.value.translation_key == "marker_unknown_ref"
    client = await hass_client_no_auth()
    async with client.get(BRANCH) as resp:
        text = await resp.text()
    assert (
        '<image href="/api/smart_library/public/shire-libraries/branches/oadby-library/floor-plan?v='
        in text
    )
    assert "Main entrance" in text and "1 fire exit marked" in text
    assert "locked" not in text.lower()  # no live state on the public page
    url = re.search(r'<image href="([^"]+)"', text)
    assert url is not None
    async with client.get(url.group(1).replace("&amp;", "&")) as resp:
        assert resp.status == 200 and resp.content_type == "image/svg+xml"
        assert b"Lending" in await resp.read()
    dashboard = build_dashboard(hass)
    view = next(v for v in dashboard["views"] if v.get("path") == "oadby-library")
    cards = [c for s in view["sections"] for c in s["cards"]]
    card = next(c for c in cards if c["type"] == "picture-elements")
    assert card["image"] == url.group(1).replace("&amp;", "&")
    entities = {e.get("entity") for e in card["elements"]}
    assert "lock.oadby_library_entrance_door" in entities
    assert "sensor.oadby_library_people_inside" in entities
    conditions = [
        c["entity"]
        for e in card["elements"]
        if e["type"] == "conditional"
        for c in e["conditions"]
    ]
    assert "binary_sensor.oadby_library_fire_alarm" in conditions
    assert any("entrance" in c and "forced" in c for c in conditions)
    assert (await call(hass, "remove_floor_plan", {"branch": device}))["removed"]
    async with client.get(url.group(1)) as resp:
        assert resp.status == 404


def _describe(event: Event) -> dict[str, str]:
    """Return the logbook entry the integration writes for an event."""
    described: dict[str, Any] = {}
    logbook.async_describe_events(
        None,  # type: ignore[arg-type]
        lambda domain, name, describe: described.__setitem__(name, describe),
    )
    entry: dict[str, str] = described[event.event_type](event)
    return entry


@pytest.mark.usefixtures("library")
async def test_every_sign_in_and_completion_is_a_logbook_line(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    induction_events: list[Event],
) -> None:
    """The outcome and the masked card: never a PIN, never the whole card."""
    walker = Walker(await hass_client_no_auth())
    await walker.sign_in(ADULT, "0000")
    await walker.sign_in(ADULT, ADULT_PIN)
    await walker.through()
    await hass.async_block_till_done()
    lines = [_describe(e) for e in induction_events]
    assert [line["name"] for line in lines] == ["Shire Libraries"] * 3
    assert [line["message"] for line in lines] == [
        "online induction: card or PIN not recognised (card ••••0001)",
        "signed in to the online induction (card ••••0001)",
        "online induction completed (card ••••0001, version 1)",
    ]


@pytest.mark.usefixtures("library")
async def test_a_floor_plan_uploaded_with_the_file_selector(
    hass: HomeAssistant, hass_client: ClientFactory
) -> None:
    """The action's file field: Home Assistant's upload (administrators), then the plan."""
    assert await async_setup_component(hass, "file_upload", {})
    client = await hass_client()
    form = aiohttp.FormData()
    form.add_field(
        "file", PLAN, filename="Oadby plan (final).svg", content_type="image/svg+xml"
    )
    async with client.post("/api/file_upload", data=form) as resp:
        assert resp.status == 200
        file_id = (await resp.json())["file_id"]
    answer = await call(
        hass, "upload_floor_plan", {"branch": branch_device(hass), "file": file_id}
    )
    assert answer["type"] == "image/svg+xml"
    kept = [p.name for p in Path(hass.config.path("smart_library", "pages")).rglob("*")]
    assert "plan-branch_oadby.svg" in kept and not any("final" in n for n in kept)
    with pytest.raises(ServiceValidationError) as err:  # used once: the upload is gone
        await call(
            hass, "upload_floor_plan", {"branch": branch_device(hass), "file": file_id}
        )
    assert err.value.translation_key == "file_missing"


@pytest.mark.usefixtures("library")
async def test_removing_the_service_deletes_its_pages(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Its public text, floor plans and video go with it."""
    plan = Path(hass.config.path("www", "oadby.svg"))
    plan.parent.mkdir(exist_ok=True)
    plan.write_bytes(PLAN)
    await call(
        hass, "upload_floor_plan", {"branch": branch_device(hass), "path": str(plan)}
    )
    folder = Path(hass.config.path("smart_library", "pages", init_integration.entry_id))
    assert folder.is_dir()
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert not folder.exists()
    assert not Path(
        hass.config.path(".storage", f"smart_library.{init_integration.entry_id}.pages")
    ).exists()


@pytest.mark.usefixtures("library")
async def test_a_body_that_is_not_a_form_gets_the_sign_in_page(
    hass_client_no_auth: ClientFactory,
) -> None:
    """JSON, a broken multipart body, nothing: a page, never a traceback."""
    client = await hass_client_no_auth()
    async with client.post(INDUCTION, json={"go": "sign_in"}) as resp:
        assert resp.status == 400 and "Smart Library induction" in await resp.text()
    async with client.post(
        INDUCTION,
        data=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    ) as resp:
        assert resp.status == 400
        assert "Traceback" not in await resp.text()
    async with client.get(f"{SERVICE}/nowhere") as resp:
        assert resp.status == 404


@pytest.mark.usefixtures("library")
async def test_a_staff_card_needs_no_induction(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """A cleaner's card and PIN: told it needs none; nothing recorded, no session."""
    await call(
        hass,
        "add_staff_card",
        {
            "card": "STAFF0001",
            "name": "Cleaner",
            "role": "cleaner",
            "windows": "mon-fri 06:00-08:00",
            "pin": "55554444",
        },
    )
    page = await Walker(await hass_client_no_auth()).sign_in("STAFF0001", "55554444")
    assert page.title == "Staff and contractor cards need no induction"
    assert not page.hidden("token")


async def test_a_closed_branch_says_so_and_when_it_opens(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
) -> None:
    """Closed all week: "Closed now."; staffed hours tomorrow: it says when it opens."""
    client = await hass_client_no_auth()
    async with client.get(BRANCH) as resp:
        assert "Closed now.</p>" in await resp.text()
    tomorrow = dt_util.now().date() + timedelta(days=1)
    await hass.services.async_call(
        "smart_library",
        "add_exception",
        {"branch": branch_device(hass), "date": tomorrow, "staffed": "09:00-10:00"},
        blocking=True,
    )
    async with client.get(BRANCH) as resp:
        text = await resp.text()
    assert f"Closed now. Opens {tomorrow:%A} at 09:00 (staffed)." in text


# -- in the library's languages ----------------------------------------------------------------


@pytest.mark.usefixtures("library")
async def test_pages_come_in_the_languages_the_service_offers(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """English first, Welsh and Danish offered: the browser's language, then a choice."""
    client = await hass_client_no_auth()
    # One language (the default): English, no language switch.
    page = await Walker(client, "da-DK,da;q=0.9").open()
    assert page.language == "en" and "Smart Library induction" in page.text
    assert 'class="languages"' not in page.text
    await offer_languages(hass, ["en", "cy", "da"])
    english = await Walker(client).open()
    danish = await Walker(client, "da-DK,da;q=0.9,en;q=0.5").open()
    welsh = await Walker(client, "da;q=0.5").open("?lang=cy")
    assert english.language == "en" and english.title == "Smart Library induction"
    assert (
        danish.language == "da" and danish.title == "Introduktion til Åbent bibliotek"
    )
    assert "Lånerkortnummer" in danish.text and "Pinkode" in danish.text
    assert "Start introduktionen" in danish.text
    assert welsh.language == "cy"
    assert welsh.title == "Cyflwyniad i lyfrgelloedd hunanwasanaeth"
    assert (
        "Rhif cerdyn llyfrgell" in welsh.text
        and "Dechrau&#x27;r cyflwyniad" in welsh.text
    )
    # The switch names each offered language in its own words, linking to this page.
    for page in (english, danish, welsh):
        for name in ("English", "Cymraeg", "Dansk"):
            assert name in page.text
        assert "Svenska" not in page.text and "Norsk" not in page.text
    assert f'href="{INDUCTION}?lang=da"' in welsh.text
    assert page.headers["Vary"] == "Accept-Language"
    # A language the service does not offer: its first.
    swedish = await Walker(client, "sv-SE,sv").open("?lang=sv")
    assert swedish.language == "en" and swedish.title == "Smart Library induction"
    # The branch page and the service page, in Welsh; the hours feed in Danish.
    async with client.get(f"{BRANCH}?lang=cy") as resp:
        text = await resp.text()
    assert '<html lang="cy">' in text and "Yr wythnos i ddod" in text
    assert "Ar agor nawr: oriau hunanwasanaeth" in text
    assert "Yn ystod oriau hunanwasanaeth allwch chi ddim" in text
    assert "Argyfwng: tân, heddlu, ambiwlans" in text  # the default numbers' labels
    assert f'href="{BRANCH}/hours.ics?lang=cy"' in text
    async with client.get(SERVICE, headers={"Accept-Language": "da"}) as resp:
        text = await resp.text()
    assert '<html lang="da">' in text and "Vores biblioteker" in text
    async with client.get(f"{BRANCH}/hours.ics?lang=da") as resp:
        feed = await resp.text()
        assert resp.headers["Content-Language"] == "da"
    assert "X-WR-CALNAME:Åbningstider for Oadby Library" in feed
    # English is unchanged.
    async with client.get(BRANCH) as resp:
        text = await resp.text()
    assert "The week ahead" in text and "Open now: smart hours" in text


@pytest.mark.usefixtures("library")
async def test_a_member_completes_the_induction_in_danish(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Every step in Danish (the default wording too), a switch to Welsh keeps the session."""
    await offer_languages(hass, ["en", "cy", "da"])
    walker = Walker(await hass_client_no_auth())  # a browser asking for nothing
    page = await walker.open("?lang=da")
    page = await walker.sign_in(ADULT, ADULT_PIN)
    assert page.language == "da" and page.title == "Plantegninger og åbningstider"
    assert "Den kommende uge" in page.text
    page = await walker.send()
    assert page.title == "Adgangsreglerne"
    assert "Hvem må bruge et åbent bibliotek" in page.text
    assert "bruge toiletterne, medmindre du har en toiletnøgle" in page.text
    # The language switch sends the step's form: same step, same session, now in Welsh.
    page = await walker.send(go="lang:cy")
    assert page.language == "cy" and page.title == "Y rheolau mynediad"
    assert "Pwy sy&#x27;n gallu defnyddio llyfrgell hunanwasanaeth" in page.text
    page = await walker.send(go="lang:da")
    page = await walker.send()
    assert page.title == "En kort quiz"
    assert "Brandalarmen hyler og blinker. Hvad gør du?" in page.text
    page = await walker.send(**(right_answers() | {"q1": "0"}))
    assert "Ikke helt." in page.text
    assert "Læs igen: Plantegninger og åbningstider" in page.text
    page = await walker.send(**right_answers())
    assert page.title == "Aftalen" and "Jeg accepterer" in page.text
    page = await walker.send(agree="yes")
    assert page.language == "da" and page.title == "Introduktionen er gennemført"
    today = dt_util.now().date()
    assert f"Registreret: {today.day}." in page.text
    assert "introduktion version 1, online" in page.text
    assert await inducted(hass, ADULT) == (today, 1, "online")
    assert await at_the_door(hass, ADULT, ADULT_PIN) == "granted"


@pytest.mark.usefixtures("library")
async def test_what_an_administrator_wrote_is_shown_as_written_in_every_language(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Edited rules and a question of their own stay as written; the rest is the default."""
    await offer_languages(hass, ["da", "en"])
    await call(
        hass,
        "publish_induction",
        {
            "rules": "## Husregler\nRygning forbudt.",
            "quiz": [
                *[q.to_dict() for q in DEFAULT_QUIZ],
                {"question": "Må man ryge?", "options": ["Ja", "Nej"], "answer": 2},
            ],
        },
    )
    walker = Walker(await hass_client_no_auth())
    await walker.open()
    await walker.sign_in(ADULT, ADULT_PIN)
    page = await walker.send()
    assert page.language == "da"  # the service's first language
    assert "Husregler" in page.text and "Hvem må bruge" not in page.text
    page = await walker.send()
    assert "Må man ryge?" in page.text  # theirs
    assert "Brandalarmen hyler og blinker." in page.text  # the default, in Danish
    page = await walker.send(**(right_answers() | {"q4": "1"}))
    assert page.title == "Aftalen"


@pytest.mark.usefixtures("library")
async def test_a_language_switch_on_the_quiz_keeps_what_was_ticked(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """Ticked answers survive a switch to Welsh; odd answer values are no answer, no error."""
    await offer_languages(hass, ["en", "cy", "da"])
    walker = Walker(await hass_client_no_auth())
    await walker.open("?lang=da")
    page = await walker.sign_in(ADULT, ADULT_PIN)
    while page.hidden("step") != "quiz":
        page = await walker.send()
    ticked = right_answers()
    page = await walker.send(go="lang:cy", **ticked)
    assert page.language == "cy" and page.hidden("step") == "quiz"
    checked = re.findall(r'name="(q\d+)" value="(\d+)"[^>]*checked', page.text)
    assert dict(checked) == ticked
    # Digits Python's int() refuses, and huge numbers: read as not answered.
    page = await walker.send(q0="²", q1="9" * 5000, q2="1")
    assert page.status == 200 and page.hidden("step") == "quiz"
    page = await walker.send(**right_answers())
    assert page.hidden("step") == "agreement"
