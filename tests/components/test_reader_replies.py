"""What a door's display is told: a message per answer, the next opening, the lock-out, the pause.

Each reason's reply through the real reader endpoint (a key an admin made, a member enrolled, the
simulated building), read as a display reads it: the fields the ESPHome packages take from the
reply (readers/esphome/common/reader.yaml) are there, the message key is one the door tablet has
words for, and no reply carries the card or the PIN. Then the door tablet's own page and its
pairing check, tried without a login, with a bad key and with paths it does not serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
import json
import logging
from pathlib import Path
import re
from typing import Any

from aiohttp.test_utils import TestClient
import freezegun
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.smart_library.access.reader_keys import READER_KEY_HEADER
from custom_components.smart_library.access.replies import (
    ENGLISH,
    decision_fields,
    throttled_fields,
)
from custom_components.smart_library.const import CONF_SCHEDULE, DOMAIN
from custom_components.smart_library.engine.building.schedule import (
    Mode,
    Period,
    Schedule,
)
from custom_components.smart_library.engine.lms.gateway import LmsReason
from custom_components.smart_library.engine.members.membership import (
    Reason,
    public_reason,
)
from simulator.building import SimulatedBuilding
from tests.components.conftest import years_before
from tests.components.test_reader_keys import call, device_of, make_key

ROOT = Path(__file__).resolve().parents[2]
READER_YAML = ROOT / "readers" / "esphome" / "common" / "reader.yaml"
TABLET = ROOT / "custom_components" / "smart_library" / "frontend" / "tablet"
ACCESS = "/api/smart_library/access"
PAGE = "/api/smart_library/tablet"
ADULT = "21234000000001"
CHILD = "21234000000002"
NEW_MEMBER = "21234000000003"  # not inducted yet
STRANGER = "21239999000000"
PIN = "80417263"
WRONG = "11112222"
OVERRIDE = "select.oadby_library_mode_override"
# Smart hours 18:00-21:00 every evening.
EVENINGS = Schedule(week=((Period(time(18), time(21), Mode.SMART),),) * 7)

type ClientFactory = Callable[[], Awaitable[TestClient]]


def esphome_fields() -> set[str]:
    """Return the reply fields the ESPHome packages read (`root["..."]` in reader.yaml)."""
    return set(re.findall(r'root\["(\w+)"\]', READER_YAML.read_text()))


def tablet_keys() -> set[str]:
    """Return the message keys the door tablet has words for (its English file)."""
    return set(json.loads((TABLET / "messages" / "en.json").read_text())["replies"])


@pytest.fixture
def clock() -> Iterator[Any]:
    """Tuesday 24 November 2026, 17:00 in London: an hour before the evening's smart hours."""
    with freezegun.freeze_time("2026-11-24 17:00:00+00:00", tick=True) as frozen:
        yield frozen


@pytest.fixture
async def library(
    hass: HomeAssistant,
    clock: Any,
    building: SimulatedBuilding,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Oadby open 18:00-21:00; an adult with PIN `PIN`, an under-16, a member not inducted."""
    await hass.config.async_update(time_zone="Europe/London")
    subentry = mock_config_entry.subentries["branch_oadby"]
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        subentry,
        data=dict(subentry.data) | {CONF_SCHEDULE: EVENINGS.to_dict()},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    today = dt_util.now().date()
    for card, born, inducted in (
        (ADULT, date(1970, 1, 1), today),
        (CHILD, years_before(today, 12), today),
        (NEW_MEMBER, date(1980, 5, 5), None),
    ):
        await call(
            hass,
            "enroll_member",
            {
                "card": card,
                "birth_date": born,
                "card_expiry": today + timedelta(days=365),
                "pin": PIN,
            }
            | ({"induction_date": inducted} if inducted else {}),
        )


def open_now(clock: Any) -> None:
    """Move the clock into the evening's smart hours (19:00)."""
    clock.move_to("2026-11-24 19:00:00+00:00")


async def tick(hass: HomeAssistant) -> None:
    """Let the branch's hours follow the moved clock."""
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def ask(
    client: TestClient, key: str, **body: Any
) -> tuple[int, dict[str, Any], str]:
    """POST to the reader endpoint; return the status, the JSON reply and its raw text."""
    response = await client.post(
        ACCESS,
        json={"card": ADULT, "pin": PIN} | body,
        headers={READER_KEY_HEADER: key},
    )
    text = await response.text()
    if response.status == HTTPStatus.TOO_MANY_REQUESTS:
        assert response.headers["Retry-After"] == str(json.loads(text)["retry_after"])
    return response.status, json.loads(text), text


def assert_display_reply(status: int, reply: dict[str, Any], raw: str) -> None:
    """Check a reply as a display reads it: ESPHome's fields, a known message, no secrets."""
    read = esphome_fields()
    assert {"granted", "reason", "release_seconds"} <= read  # what the packages rely on
    if status == HTTPStatus.OK:
        assert isinstance(reply["granted"], bool)
        assert isinstance(reply["reason"], str)
        assert isinstance(reply["release_seconds"], int)
    assert reply["message_key"] in tablet_keys()
    assert reply["text"] and "{" not in reply["text"]  # every fact filled in
    if reply["reason"] == "not_open" and "next_opening" in reply:
        assert "next_opening" in read
        value = reply["next_opening"]
        # How the packages take the hour and minute: "HH:MM", or characters 11-15 of an ISO time.
        assert (len(value) == 5 and value[2] == ":") or (
            len(value) >= 16 and value[10] == "T"
        )
    if reply["reason"] == "locked_out":
        assert "locked_minutes" in read
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        assert {"reason", "retry_after"} <= read
        assert reply["reason"] == "reader_throttled" and reply["retry_after"] > 0
    for secret in (ADULT, CHILD, NEW_MEMBER, STRANGER, PIN, WRONG):
        assert secret not in raw
    for card in (ADULT, CHILD, NEW_MEMBER, STRANGER):
        assert card[-4:] not in raw  # not even masked: a display has no use for it


@pytest.mark.usefixtures("library")
async def test_granted_reads_welcome(
    hass: HomeAssistant, clock: Any, hass_client_no_auth: ClientFactory
) -> None:
    """A member in smart hours: Welcome, with the release time; nothing of the card."""
    open_now(clock)
    await tick(hass)
    key = await make_key(hass)
    client = await hass_client_no_auth()
    status, reply, raw = await ask(client, key, minors=2)
    assert status == HTTPStatus.OK
    assert reply == {
        "granted": True,
        "reason": "granted",
        "door": "entrance",
        "release_seconds": 5,
        "party": 3,
        "message_key": "welcome",
        "text": "Welcome",
    }
    assert_display_reply(status, reply, raw)


@pytest.mark.usefixtures("library")
async def test_wrong_pin_and_unknown_card_read_alike(
    hass: HomeAssistant, clock: Any, hass_client_no_auth: ClientFactory
) -> None:
    """A wrong PIN and a stranger's card: the same reply, word for word."""
    open_now(clock)
    await tick(hass)
    key = await make_key(hass)
    client = await hass_client_no_auth()
    status, wrong, raw = await ask(client, key, pin=WRONG)
    assert_display_reply(status, wrong, raw)
    _, stranger, raw = await ask(client, key, card=STRANGER, pin=WRONG)
    assert_display_reply(status, stranger, raw)
    assert wrong == stranger
    assert wrong["message_key"] == "not_recognised"
    assert wrong["text"] == "Wrong card or PIN. Please try again"
    assert "locked_minutes" not in wrong and "next_opening" not in wrong


@pytest.mark.usefixtures("library")
async def test_closed_tells_the_next_opening(
    hass: HomeAssistant, clock: Any, hass_client_no_auth: ClientFactory
) -> None:
    """Closed at 17:00: opens at 18:00 today; closed by hand in smart hours: opens tomorrow."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    status, reply, raw = await ask(client, key)
    assert_display_reply(status, reply, raw)
    assert (reply["granted"], reply["reason"]) == (False, "not_open")
    assert reply["next_opening"] == "18:00"
    assert (reply["message_key"], reply["text"]) == (
        "closed_opens_today",
        "Closed. Opens at 18:00",
    )

    # In smart hours staff close the branch by hand: closed until the plan's next change
    # (21:00, closing), so the next opening is tomorrow's, with its date.
    open_now(clock)
    await tick(hass)
    await hass.services.async_call(
        "select",
        "select_option",
        {ATTR_ENTITY_ID: OVERRIDE, ATTR_OPTION: "closed"},
        blocking=True,
    )
    status, reply, raw = await ask(client, key)
    assert_display_reply(status, reply, raw)
    assert reply["reason"] == "not_open"
    assert reply["next_opening"] == "2026-11-25T18:00:00+00:00"
    assert reply["text"] == "Closed. Opens tomorrow at 18:00"
    assert reply["message_key"] == "closed_opens_later"


@pytest.mark.usefixtures("library")
async def test_locked_out_tells_the_minutes_for_any_card_alike(
    hass: HomeAssistant, clock: Any, hass_client_no_auth: ClientFactory
) -> None:
    """Five wrong PINs lock a member's card and a stranger's the same way, for the same time.

    So `locked_minutes` tells a reader nothing about whether a card is a member's: unknown card
    numbers are counted and locked out too (engine/members/lockout.py). Each card on its own
    reader key, so neither reader is throttled on the way.
    """
    open_now(clock)
    await tick(hass)
    client = await hass_client_no_auth()
    replies = []
    for card, name in ((ADULT, "Porch"), (STRANGER, "Side door")):
        key = await make_key(hass, name=name)
        for _ in range(5):
            _, reply, _ = await ask(client, key, card=card, pin=WRONG)
            assert reply["reason"] == "not_recognised"
            assert "locked_minutes" not in reply
        # Now even the right PIN is not evaluated.
        status, reply, raw = await ask(client, key, card=card, pin=PIN)
        assert_display_reply(status, reply, raw)
        replies.append(reply)
    member, stranger = replies
    assert member == stranger
    assert member["reason"] == "locked_out" and member["granted"] is False
    assert (
        member["locked_minutes"] == 15
    )  # the default lock-out, rounded up to whole minutes
    assert member["text"] == "Too many wrong PINs. Try again in 15 min"


@pytest.mark.usefixtures("library")
async def test_throttled_reader_is_told_when_to_come_back(
    hass: HomeAssistant, clock: Any, hass_client_no_auth: ClientFactory
) -> None:
    """Eleven refusals in a minute: 429 with retry_after and Retry-After, and what to show."""
    open_now(clock)
    await tick(hass)
    key = await make_key(hass)
    client = await hass_client_no_auth()
    for n in range(11):
        status, _, _ = await ask(client, key, card=f"2123999900{n:04d}", pin=WRONG)
        assert status == HTTPStatus.OK
    status, reply, raw = await ask(client, key)
    assert status == HTTPStatus.TOO_MANY_REQUESTS
    assert_display_reply(status, reply, raw)
    # The pause is 5 minutes from the 11th refusal; the text rounds what is left up.
    assert 240 < reply["retry_after"] <= 300
    assert reply["message_key"] == "reader_paused"
    assert reply["text"] == "Too many attempts. This door is paused for 5 min"


# (card, extra body, message key, text): refusals after the right PIN.
STANDING = [
    (CHILD, {}, "under_16", "Under-16s come in with an adult member"),
    (NEW_MEMBER, {}, "induction_needed", "Please complete the library induction first"),
    (ADULT, {"door": "meeting_room"}, "room_not_booked", ENGLISH["room_not_booked"]),
]


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize("case", STANDING, ids=[c[2] for c in STANDING])
async def test_a_members_standing_has_its_own_message(
    hass: HomeAssistant,
    clock: Any,
    hass_client_no_auth: ClientFactory,
    case: tuple[str, dict[str, Any], str, str],
) -> None:
    """After the right PIN a refusal says what to do about it (the public reason allows it)."""
    card, body, key, text = case
    open_now(clock)
    await tick(hass)
    token = await make_key(hass, doors=["entrance", "meeting_room"])
    client = await hass_client_no_auth()
    status, reply, raw = await ask(
        client, token, card=card, **({"door": "entrance"} | body)
    )
    assert_display_reply(status, reply, raw)
    assert (reply["granted"], reply["message_key"], reply["text"]) == (False, key, text)


def test_every_reason_has_words_and_says_no_more_than_its_public_reason() -> None:
    """Each reason a decision can end in maps to a message the tablet has, in English too.

    The private reasons (unknown card, wrong PIN, the LMS's 'PIN not checked' and 'LMS away')
    read exactly as `not_recognised` does; bars, warnings and the library system's flags are
    for staff to explain.
    """
    now = datetime(2026, 11, 24, 17, tzinfo=UTC)
    reasons = [*Reason, *LmsReason, "controller_unreachable", "store_unavailable"]
    keys = tablet_keys()
    seen = {}
    for reason in reasons:
        fields = decision_fields(granted=False, reason=public_reason(reason), now=now)
        assert fields["message_key"] in keys, reason
        assert fields["text"] == ENGLISH[fields["message_key"]], reason
        seen[str(reason)] = fields
    recognised = decision_fields(granted=False, reason="not_recognised", now=now)
    for private in ("unknown_card", "wrong_pin", "pin_not_checked", "lms_unavailable"):
        assert seen[private] == recognised
    for reason in ("barred", "final_warning", "excessive_fines", "card_reported_lost"):
        assert seen[reason]["message_key"] == "ask_staff"
    assert seen["fire_alarm"]["text"] == "Fire alarm. Do not enter"
    for granted in ("granted", "staff", "granted_offline"):
        assert decision_fields(granted=True, reason=granted, now=now) == {
            "message_key": "welcome",
            "text": "Welcome",
        }
    for busy in (1, 5):
        assert throttled_fields(busy)["message_key"] == "reader_busy"
    assert throttled_fields(61)["text"] == (
        "Too many attempts. This door is paused for 2 min"
    )


def test_the_next_opening_is_written_as_a_display_reads_it() -> None:
    """Today "HH:MM"; tomorrow and later an ISO time with its date; none known: just Closed."""
    zone = dt_util.get_time_zone("Europe/London")
    assert zone is not None
    now = datetime(2026, 11, 24, 17, tzinfo=UTC)  # a Tuesday

    def at(day: int, hour: int) -> dict[str, Any]:
        return decision_fields(
            granted=False,
            reason="not_open",
            now=now,
            next_opening=datetime(2026, 11, day, hour, tzinfo=zone),
        )

    assert at(24, 18)["next_opening"] == "18:00"
    later = at(30, 9)
    assert later["next_opening"] == "2026-11-30T09:00:00+00:00"
    assert later["text"] == "Closed. Opens Monday 30 November at 09:00"
    nothing = decision_fields(granted=False, reason="not_open", now=now)
    assert nothing == {"message_key": "closed", "text": "Closed"}
    # A lock-out not over yet but without an end known (its attempts still running).
    assert decision_fields(granted=False, reason="locked_out", now=now) == {
        "message_key": "locked_out_later",
        "text": ENGLISH["locked_out_later"],
    }


# -- the door tablet's page and its pairing check --------------------------------------------


@pytest.mark.usefixtures("library")
async def test_the_tablet_page_needs_no_login_and_holds_nothing(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory
) -> None:
    """The page, its script, style and messages: served to anybody, the same for everybody."""
    key = await make_key(hass)
    client = await hass_client_no_auth()
    response = await client.get(PAGE)
    assert response.status == HTTPStatus.OK
    assert response.content_type == "text/html"
    page = await response.text()
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
    assert key not in page and key.split(".")[0] not in page
    for asset, kind in (
        ("tablet.js", "text/javascript"),
        ("tablet.css", "text/css"),
        ("messages/en.json", "application/json"),
    ):
        response = await client.get(f"{PAGE}/{asset}")
        assert response.status == HTTPStatus.OK, asset
        assert response.content_type == kind
        assert (await response.read()) == (TABLET / asset).read_bytes()
    assert (await client.get(f"{PAGE}/messages/en.json")).headers[
        "Cache-Control"
    ] == "no-cache"


@pytest.mark.usefixtures("library")
@pytest.mark.parametrize(
    "path",
    [
        f"{PAGE}/index.html.bak",
        f"{PAGE}/..%2f..%2fsecrets.yaml",
        f"{PAGE}/%2e%2e%2fhttp.py",
        f"{PAGE}/messages/..%2fen.json",
        f"{PAGE}/messages/xx.json",
        f"{PAGE}/messages/en",
        f"{PAGE}/messages/en.json.gz",
        f"{PAGE}/reader_keys.py",
        # The dashboard strategy's static path serves its one file, not the tablet's folder.
        "/smart_library_static/tablet/index.html",
        "/smart_library_static/tablet/tablet.js",
    ],
)
async def test_the_tablet_serves_only_its_own_files(
    hass_client_no_auth: ClientFactory, path: str
) -> None:
    """Any other path under the tablet's URL is not found: no path reaches the file system.

    (Home Assistant's own security filter answers 400 to an encoded `..` before the view.)
    """
    client = await hass_client_no_auth()
    response = await client.get(path)
    assert response.status in (HTTPStatus.NOT_FOUND, HTTPStatus.BAD_REQUEST)
    body = await response.text()
    assert "import" not in body and "secret" not in body.lower()


@pytest.mark.usefixtures("library")
async def test_pairing_check_tells_a_key_what_it_is_for(
    hass: HomeAssistant,
    hass_client_no_auth: ClientFactory,
    hass_client: Callable[..., Awaitable[TestClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GET with a key: its branch, doors and language; a bad key or a login token: 401, counted."""
    key = await make_key(hass, doors=["entrance", "meeting_room"])
    client = await hass_client_no_auth()
    response = await client.get(ACCESS, headers={READER_KEY_HEADER: key})
    assert response.status == HTTPStatus.OK
    assert await response.json() == {
        "branch": "Oadby Library",
        "doors": ["entrance", "meeting_room"],
        "language": "en",
        "time_zone": "Europe/London",
    }
    assert response.headers["Cache-Control"] == "no-store"
    key_id, secret = key.split(".", 1)
    with caplog.at_level(logging.WARNING):
        for bad in (f"{key_id}.{secret[::-1]}", "nonsense", None):
            headers = {READER_KEY_HEADER: bad} if bad else {}
            response = await client.get(ACCESS, headers=headers)
            assert response.status == HTTPStatus.UNAUTHORIZED
            assert (await response.json())["code"] == "invalid_reader_key"
    assert (
        caplog.text.count("Login attempt or request with invalid authentication") == 3
    )
    # An admin's login is not a reader key either.
    response = await (await hass_client()).get(ACCESS)
    assert response.status == HTTPStatus.UNAUTHORIZED
    # Revoked: the tablet learns at once that its key is gone.
    await call(hass, "revoke_reader_key", {"reader_key": "Oadby porch"})
    response = await client.get(ACCESS, headers={READER_KEY_HEADER: key})
    assert response.status == HTTPStatus.UNAUTHORIZED
    assert device_of(hass, "branch_oadby")  # the branch itself is untouched
    assert DOMAIN in hass.config.components


@pytest.mark.usefixtures("library")
async def test_a_welsh_first_service_answers_its_doors_in_welsh(
    hass: HomeAssistant, hass_client_no_auth: ClientFactory, clock: Any
) -> None:
    """The pairing names Welsh; a refusal's `text` is Welsh, its facts in Welsh words."""
    await hass.services.async_call(
        DOMAIN, "configure_safety", {"languages": ["cy", "en"]}, blocking=True
    )
    key = await make_key(hass)
    client = await hass_client_no_auth()
    response = await client.get(ACCESS, headers={READER_KEY_HEADER: key})
    assert (await response.json())["language"] == "cy"
    # 17:00 on Tuesday: closed until 18:00 today.
    status, reply, raw = await ask(client, key)
    assert reply["text"] == "Ar gau. Yn agor am 18:00"
    assert_display_reply(status, reply, raw)
    open_now(clock)
    status, reply, raw = await ask(client, key, pin=WRONG)
    assert reply["message_key"] == "not_recognised"
    assert reply["text"] == "Cerdyn neu PIN anghywir. Rhowch gynnig arall arni"
    status, reply, raw = await ask(client, key)
    assert reply["granted"] and reply["text"] == "Croeso"
    # A day in Welsh: "ddydd Llun 30 Tachwedd" (Monday 30 November 2026).
    now = datetime(2026, 11, 24, 17, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 9, tzinfo=UTC)
    fields = decision_fields(
        granted=False, reason="not_open", now=now, next_opening=monday, language="cy"
    )
    assert fields["text"] == "Ar gau. Yn agor ddydd Llun 30 Tachwedd am 09:00"
    danish = decision_fields(
        granted=False, reason="not_open", now=now, next_opening=monday, language="da"
    )
    assert danish["text"] == "Lukket. Åbner mandag den 30. november kl. 09:00"
    # English, the default, unchanged.
    english = decision_fields(
        granted=False, reason="not_open", now=now, next_opening=monday
    )
    assert english["text"] == ENGLISH["closed_opens_later"].format(
        day="Monday 30 November", time="09:00"
    )
    # A language the tablet has no file for reads English.
    assert throttled_fields(61, "fr")["text"] == throttled_fields(61)["text"]
