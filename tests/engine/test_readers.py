"""Reader keys and the per-reader throttle, with a fake clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json

import pytest

from custom_components.smart_library.engine.members.readers import (
    ReaderKeyError,
    ReaderKeyring,
    ReaderThrottle,
    ThrottlePolicy,
    ThrottleTrip,
    key_digest,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DOORS = ("entrance", "meeting_room", "staff_door")


def make(ring: ReaderKeyring, name: str = "Porch", **kw: object) -> tuple[str, str]:
    """Make a key on the entrance of branch A of service S; return (id, whole key)."""
    args: dict[str, object] = {
        "name": name,
        "entry_id": "S",
        "branch": "A",
        "doors": ["entrance"],
        "known_doors": DOORS,
        "now": T0,
    } | kw
    key, token = ring.create(**args)  # type: ignore[arg-type]
    return key.id, token


def test_a_key_is_shown_once_and_kept_as_a_digest() -> None:
    """The whole key authenticates; what is stored holds neither it nor its secret."""
    ring = ReaderKeyring()
    key_id, token = make(ring)
    secret = token.split(".", 1)[1]
    assert token.startswith(f"{key_id}.") and len(secret) == 43
    stored = json.dumps(ring.to_dict())
    assert secret not in stored and token not in stored
    assert key_digest(token) in stored
    again = ReaderKeyring.from_dict(json.loads(stored))
    key = again.authenticate(token)
    assert key is not None and key.name == "Porch" and key.doors == ("entrance",)
    assert (
        again.authenticate(f"  {token}\n") is not None
    )  # a pasted key with whitespace


def test_only_the_exact_key_authenticates() -> None:
    """A wrong secret, another key's id, a malformed or missing key: nothing."""
    ring = ReaderKeyring()
    key_id, token = make(ring)
    other_id, other = make(ring, "Kiosk")
    secret = token.split(".", 1)[1]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (
        f"{key_id}.{flipped}",
        f"{other_id}.{secret}",  # a secret moved to another id
        f"{'0' * 16}.{secret}",
        key_id,
        secret,
        "",
        None,
        f"Bearer {token}",
        token + "x",
        "é" * 60,
    ):
        assert ring.authenticate(bad) is None, bad
    assert ring.authenticate(other) is not None


def test_revoked_keys_stop_and_stay_listed() -> None:
    """A revoked key no longer authenticates; it is still listed, with when it was revoked."""
    ring = ReaderKeyring()
    key_id, token = make(ring)
    later = T0 + timedelta(hours=1)
    ring.revoke(ring.find("porch").id, later)  # by name, any case
    assert ring.authenticate(token) is None
    (key,) = ring.listed("S")
    assert key.revoked == later
    assert ring.revoke(key_id, later + timedelta(hours=1)).revoked == later  # once only
    with pytest.raises(ReaderKeyError) as err:
        ring.find("Porch")  # by name: active keys only
    assert err.value.code == "unknown_reader_key"
    assert ring.find(key_id).id == key_id  # by id: always
    make(ring)  # the name is free again


def test_scope_is_one_branch_and_its_named_doors() -> None:
    """A key allows its doors of its branch, nothing else."""
    ring = ReaderKeyring()
    key_id, _ = make(ring, doors=["entrance", "meeting_room", "entrance"])
    key = ring.get(key_id)
    assert key is not None
    assert key.doors == ("entrance", "meeting_room")
    assert key.allows("A", "entrance") and key.allows("A", "meeting_room")
    assert not key.allows("A", "staff_door")
    assert not key.allows("B", "entrance")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"name": "  "}, "reader_key_bad_name"),
        ({"name": "x" * 65}, "reader_key_bad_name"),
        ({"name": "Porch\x00"}, "reader_key_bad_name"),
        ({"doors": []}, "reader_key_no_door"),
        ({"doors": [" "]}, "reader_key_no_door"),
        ({"doors": ["back_door"]}, "reader_key_unknown_door"),
        ({"name": "PORCH"}, "reader_key_name_taken"),
    ],
)
def test_bad_keys_are_not_made(changes: dict[str, object], code: str) -> None:
    """Each bad request is refused with its own code and nothing is added."""
    ring = ReaderKeyring()
    make(ring)
    with pytest.raises(ReaderKeyError) as err:
        make(ring, **changes)  # type: ignore[arg-type]
    assert err.value.code == code
    assert len(ring.listed()) == 1


def test_the_same_name_in_another_service_and_removal() -> None:
    """Names are unique within a service; removing a service forgets its keys only."""
    ring = ReaderKeyring()
    make(ring)
    _, token = make(ring, entry_id="T")
    assert ring.remove_entry("S") == 1
    assert [k.entry_id for k in ring.listed()] == ["T"]
    assert ring.authenticate(token) is not None


def test_last_use_is_kept() -> None:
    """A key's last use is recorded and stored."""
    ring = ReaderKeyring()
    key_id, _ = make(ring)
    ring.touch(key_id, T0 + timedelta(minutes=3))
    again = ReaderKeyring.from_dict(ring.to_dict())
    key = again.get(key_id)
    assert key is not None and key.last_used == T0 + timedelta(minutes=3)


# -- throttle ----------------------------------------------------------------------------------

POLICY = ThrottlePolicy(
    refusals=10, window=timedelta(minutes=1), duration=timedelta(minutes=5)
)


def refuse(
    throttle: ReaderThrottle, at: datetime, reason: str = "unknown_card"
) -> ThrottleTrip | None:
    """Admit and settle one refused request; return the trip (if any)."""
    assert throttle.admit("R", at, POLICY) is None
    return throttle.settle("R", at, POLICY, reason)


def test_the_eleventh_refusal_in_a_minute_stops_the_reader() -> None:
    """Ten refusals in a minute are allowed; the eleventh throttles for five minutes."""
    throttle = ReaderThrottle()
    for n in range(10):
        reason = "wrong_pin" if n % 2 else "unknown_card"
        assert refuse(throttle, T0 + timedelta(seconds=n), reason) is None
    trip = refuse(throttle, T0 + timedelta(seconds=30))
    assert trip is not None
    assert trip.refusals == 11
    assert trip.reasons == {"unknown_card": 6, "wrong_pin": 5}
    until = T0 + timedelta(seconds=30, minutes=5)
    assert trip.until == until
    # Nothing is admitted, nothing decided, until the five minutes are over.
    assert throttle.admit("R", T0 + timedelta(minutes=4), POLICY) == until
    assert throttle.admit("other reader", T0 + timedelta(minutes=4), POLICY) is None
    assert throttle.admit("R", until, POLICY) is None


def test_refusals_spread_over_more_than_a_minute_do_not_throttle() -> None:
    """A refusal every seven seconds never makes eleven within a minute."""
    throttle = ReaderThrottle()
    for n in range(100):
        assert refuse(throttle, T0 + timedelta(seconds=7 * n)) is None


def test_grants_and_building_refusals_are_not_counted() -> None:
    """Grants, closed hours, a fire alarm or evacuation, a lockdown, no controller: uncounted."""
    throttle = ReaderThrottle()
    building = [
        None,
        "not_open",
        "fire_alarm",
        "evacuation",
        "lockdown",
        "controller_unreachable",
    ]
    for n, reason in enumerate(building * 7):
        at = T0 + timedelta(seconds=n)
        assert throttle.admit("R", at, POLICY) is None
        assert throttle.settle("R", at, POLICY, reason) is None
    for n in range(10):
        assert refuse(throttle, T0 + timedelta(seconds=45, milliseconds=n)) is None
    assert refuse(throttle, T0 + timedelta(seconds=46)) is not None


def test_a_burst_in_flight_is_bounded_like_a_slow_one() -> None:
    """Fifty sent at once: eleven admitted, the rest told to wait; all wrong -> throttled once."""
    throttle = ReaderThrottle()
    admitted = [throttle.admit("R", T0, POLICY) is None for _ in range(50)]
    assert sum(admitted) == 11
    trips = [throttle.settle("R", T0, POLICY, "wrong_pin") for _ in range(11)]
    assert sum(t is not None for t in trips) == 1
    assert throttle.admit("R", T0 + timedelta(seconds=1), POLICY) is not None


def test_in_flight_grants_free_their_place() -> None:
    """A reader whose requests are granted is never held back."""
    throttle = ReaderThrottle()
    for n in range(200):
        at = T0 + timedelta(milliseconds=100 * n)
        assert throttle.admit("R", at, POLICY) is None
        assert throttle.settle("R", at, POLICY, None) is None


def test_lifting_forgets_the_counts() -> None:
    """A lifted reader starts again from nothing."""
    throttle = ReaderThrottle()
    for n in range(11):
        refuse(throttle, T0 + timedelta(seconds=n))
    assert throttle.throttled_until("R", T0 + timedelta(seconds=20), POLICY)
    throttle.lift("R")
    assert throttle.throttled_until("R", T0 + timedelta(seconds=20), POLICY) is None
    assert refuse(throttle, T0 + timedelta(seconds=21)) is None


# -- issue 19, 4c: a key revoked while its request is decided ----------------------------------


async def test_a_key_revoked_while_its_request_is_decided_releases_nothing() -> None:
    """A key revoked while its request is decided is no longer valid when the door would open.

    The glue authenticates, decides (which takes time: an LMS, a key derivation), then asks
    `still_valid` before it releases a door: a key revoked meanwhile gets no release.

    Also a key removed with its service, and a key replaced under the same id (a restored
    backup), are no longer valid; another key is unaffected.
    """
    ring = ReaderKeyring()
    key_id, token = make(ring)
    _, other_token = make(ring, "Side door")
    key, other = ring.authenticate(token), ring.authenticate(other_token)
    assert key is not None and other is not None
    deciding = asyncio.Event()
    revoked = asyncio.Event()

    async def glue() -> bool:
        deciding.set()
        await revoked.wait()  # the decision is being taken
        return ring.still_valid(key)  # released only if still valid

    async def admin() -> None:
        await deciding.wait()
        ring.revoke(key_id, T0 + timedelta(seconds=1))
        revoked.set()

    released, _ = await asyncio.gather(glue(), admin())
    assert not released
    assert ring.still_valid(other) and ring.still_valid(other.id)
    assert not ring.still_valid("0" * 16)
    replaced = replace(other, digest=key_digest(other.id + ".x"))
    assert not ring.still_valid(replaced)  # not the key the request came with
    ring.remove_entry("S")
    assert not ring.still_valid(other)
