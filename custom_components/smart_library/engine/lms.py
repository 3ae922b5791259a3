"""Decisions from the library management system (LMS) over SIP2, and the offline cache.

The LMS holds the members, their cards and their PINs; it answers a 63 patron information
request (PIN in `AD`) with a 64. This module turns that answer into what the access rules need:

1. `evaluate(answer, card, policy, today)` -> `LmsVerdict`: the LMS's refusal, or GRANTED with the
   facts the house rules still need (birth date for 16+, expiry, category). In order:
   - `BL` (valid patron) must be Y, else `unknown_card`;
   - `CQ` (valid patron password) must be Y: N is `wrong_pin`, and a *missing* CQ is
     `pin_not_checked` (an LMS that leaves it out has not checked the PIN; one such ILS let
     made-up barcodes "authenticate");
   - the card's expiry (from the dialect's field) must not be past: `card_expired`;
   - the patron status flags: each of the 14 refuses or not by the policy (`FlagPolicy`), with a
     reason code per flag;
   - the patron category, against an optional allow list and deny list: `category_denied`;
   - a birth date must be known (the 16+ rule needs it) unless the policy says otherwise:
     `age_unknown`.
   The PIN is checked before anything about the account is told, so a card's finder learns
   nothing about its holder's fines or status without the PIN.
2. `member_from_lms(...)`: the `Member` the house rules (16+, under-16s with an adult of 18+,
   induction, bans, rooms) run on: birth date and expiry from the LMS, induction and local
   restrictions from the local record kept under the card; a later LMS expiry is a renewal.
3. `OfflineCache`: members the LMS granted recently (card digest, peppered PIN hash made with
   engine/pins.py, the facts the rules need, when), for at most `max_age` (7 days by default).
   When the LMS does not answer, a cached member with the right PIN is let in
   (`granted_offline`), everyone else refused (`lms_unavailable`). Persistence goes through the
   small `GrantStore` protocol (Home Assistant's glue backs it with SQLite or its storage).
4. `CircuitBreaker` and `LmsGateway`: after the LMS failed to answer in time, later requests go
   straight to the cache while a cheap background probe (log-in + 99) waits for the LMS to come
   back.

Cards reach the LMS as typed. Barcodes are not always digits, and an LMS may tell `ab12` from
`AB12`: the gateway's one setting `card_case` (`CardCase`: `as_typed` by default, `upper`,
`lower`) is applied in one place, `LmsGateway.lms_card`, to everything sent. The local store's
own form of a card number (trimmed, upper case: `membership.normalise_card`) names the card for
its lookups, the lock-out and the offline cache's digest, and never goes to the LMS.

Default flag policy (which flags refuse entry), and why. Entry to an unstaffed building is not
borrowing; a flag refuses only when it says the person should not be using the library alone:
- 0 charge privileges denied: the LMS's general block (Koha and Evergreen set it for debarred,
  expired or barred patrons and for fines over the limit);
- 4 card reported lost: whoever holds the card may not be its holder;
- 10 excessive outstanding fines and 11 excessive outstanding fees: the library's own limit,
  over which it blocks self-service (SSAuthenticator refuses doors on fines and debarment).
The rest (renewal, recall, hold privileges, too many items charged/overdue/lost/billed, claims
returned, recall overdue) are about lending; Evergreen sets flag 2 on patrons as a matter of
course, so refusing on it would lock out everyone. A library chooses otherwise in the settings.

Pure Python, no Home Assistant import; the blocking parts (key derivations) are the cache's and
run in an executor through the gateway's `run_blocking`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
import contextlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
import hashlib
import hmac
import logging
import re
import threading
import time
from typing import Any, Protocol

from .membership import Member, MemberError, Reason, mask_card, normalise_card
from .pins import hash_pin, valid_pin, verify_pin
from .sip2 import (
    PATRON_STATUS_FLAGS,
    PatronInformation,
    Sip2Client,
    Sip2Error,
    Sip2InputError,
    Sip2LoginError,
    Sip2MalformedError,
    Sip2TimeoutError,
    patron_input_problem,
)

# The offline cache keeps the PIN the LMS accepted as a scrypt hash at half the local store's cost
# (2^13 instead of 2^14): an offline decision is one derivation, and the door answers within the
# 50 ms an offline member expects. What protects a 4-8 digit PIN is the pepper kept apart from the
# hashes (without it no cost is too low to matter, with it none is high enough); the cache holds
# a grant for at most its maximum age (7 days by default), and only recently granted members.
OFFLINE_LOG2_N = 13

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds the LMS has to answer before the cache decides
DEFAULT_MAX_AGE = timedelta(days=7)
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_PROBE_INTERVAL = 15.0  # seconds between background probes while the LMS is away
HEDGE = 0.25  # seconds before the timeout at which a slow LMS's caller starts the cache's check
SCREEN_MESSAGE_MAX = 200


class LmsReason(StrEnum):
    """Reasons of the LMS backend that the local rules do not have.

    Where a reason means the same as one in `membership.Reason` (unknown card, wrong PIN, card
    expired, granted) that one is used instead.
    """

    GRANTED_OFFLINE = (
        "granted_offline"  # the LMS did not answer; a recent grant let them in
    )
    LMS_UNAVAILABLE = (
        "lms_unavailable"  # the LMS did not answer; no recent grant for the card
    )
    PIN_NOT_CHECKED = "pin_not_checked"  # the LMS left CQ (valid PIN) out of its answer
    AGE_UNKNOWN = (
        "age_unknown"  # no birth date from the LMS: the 16+ rule cannot be checked
    )
    CATEGORY_DENIED = "category_denied"
    # The 14 patron status flags of SIP2, in order (flag n refuses as FLAG_REASONS[n]).
    CHARGE_PRIVILEGES_DENIED = "charge_privileges_denied"
    RENEWAL_PRIVILEGES_DENIED = "renewal_privileges_denied"
    RECALL_PRIVILEGES_DENIED = "recall_privileges_denied"
    HOLD_PRIVILEGES_DENIED = "hold_privileges_denied"
    CARD_REPORTED_LOST = "card_reported_lost"
    TOO_MANY_ITEMS_CHARGED = "too_many_items_charged"
    TOO_MANY_ITEMS_OVERDUE = "too_many_items_overdue"
    TOO_MANY_RENEWALS = "too_many_renewals"
    TOO_MANY_CLAIMS_RETURNED = "too_many_claims_returned"
    TOO_MANY_ITEMS_LOST = "too_many_items_lost"
    EXCESSIVE_FINES = "excessive_fines"
    EXCESSIVE_FEES = "excessive_fees"
    RECALL_OVERDUE = "recall_overdue"
    TOO_MANY_ITEMS_BILLED = "too_many_items_billed"


FLAG_REASONS: tuple[LmsReason, ...] = (
    LmsReason.CHARGE_PRIVILEGES_DENIED,
    LmsReason.RENEWAL_PRIVILEGES_DENIED,
    LmsReason.RECALL_PRIVILEGES_DENIED,
    LmsReason.HOLD_PRIVILEGES_DENIED,
    LmsReason.CARD_REPORTED_LOST,
    LmsReason.TOO_MANY_ITEMS_CHARGED,
    LmsReason.TOO_MANY_ITEMS_OVERDUE,
    LmsReason.TOO_MANY_RENEWALS,
    LmsReason.TOO_MANY_CLAIMS_RETURNED,
    LmsReason.TOO_MANY_ITEMS_LOST,
    LmsReason.EXCESSIVE_FINES,
    LmsReason.EXCESSIVE_FEES,
    LmsReason.RECALL_OVERDUE,
    LmsReason.TOO_MANY_ITEMS_BILLED,
)
FLAG_NAMES = PATRON_STATUS_FLAGS  # "charge privileges denied", … by position

DEFAULT_REFUSING_FLAGS = frozenset({0, 4, 10, 11})
# When several refusing flags are set, the one told is the most useful to the person at the door.
_FLAG_PRIORITY = (4, 0, 10, 11, 1, 2, 3, 5, 6, 7, 8, 9, 12, 13)

type AnyReason = Reason | LmsReason


class CardCase(StrEnum):
    """How a typed card number's letters are sent to the LMS (`LmsGateway.card_case`)."""

    AS_TYPED = "as_typed"  # the default: exactly as the reader or the person typed it
    UPPER = "upper"  # an LMS that keeps barcodes in upper case and compares exactly
    LOWER = "lower"


DEFAULT_CARD_CASE = CardCase.AS_TYPED


def apply_card_case(card: str, case: CardCase | str) -> str:
    """Return `card` as it is sent to the LMS under `case` (nothing else is changed)."""
    card = str.__str__(card)
    match CardCase(case):
        case CardCase.UPPER:
            return card.upper()
        case CardCase.LOWER:
            return card.lower()
        case _:
            return card


# -- dialects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """Which extension fields of a 64 carry the expiry, the birth date and the category."""

    name: str
    expiry: str | None
    birth_date: str | None
    category: str | None


DIALECTS: Mapping[str, Dialect] = {
    "evergreen": Dialect("evergreen", expiry="PA", birth_date="PB", category="PC"),
    "koha": Dialect("koha", expiry="PA", birth_date="PB", category="PC"),
    # Polaris: BC birth date, PX expiry; its PA means something else. No category field.
    "polaris": Dialect("polaris", expiry="PX", birth_date="BC", category=None),
}
DIALECT_NAMES = (*DIALECTS, "custom")
_FIELD_CODE_RE = re.compile(r"[A-Z0-9]{2}")


def make_dialect(
    name: str,
    *,
    expiry: str | None = None,
    birth_date: str | None = None,
    category: str | None = None,
) -> Dialect:
    """Return a named dialect, or for "custom" one of the given field codes (two characters).

    Raise ValueError for an unknown name or a malformed field code.
    """
    if name in DIALECTS:
        return DIALECTS[name]
    if name != "custom":
        raise ValueError(f"dialect must be one of {DIALECT_NAMES}")
    codes: list[str | None] = []
    for code in (expiry, birth_date, category):
        value = (code or "").strip().upper() or None
        if value is not None and not _FIELD_CODE_RE.fullmatch(value):
            raise ValueError(
                f"a SIP2 field code is two letters or digits, not {code!r}"
            )
        codes.append(value)
    return Dialect("custom", codes[0], codes[1], codes[2])


_DATE_RE = re.compile(r"\s*(\d{4})-?(\d{2})-?(\d{2})")


def parse_sip_date(value: str | None) -> date | None:
    """Return the date in an LMS field: YYYYMMDD, YYYY-MM-DD or an 18-character SIP2 date.

    None when the field is absent, blank or not a date.
    """
    if not value:
        return None
    match = _DATE_RE.match(value)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


# -- policy and verdict ---------------------------------------------------------------------------


def _codes(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().upper() for v in values if v.strip())


@dataclass(frozen=True)
class LmsPolicy:
    """How a library service reads its LMS: dialect, refusing flags, categories, birth dates."""

    dialect: Dialect = DIALECTS["evergreen"]
    refusing_flags: frozenset[int] = DEFAULT_REFUSING_FLAGS
    categories_allowed: frozenset[str] = frozenset()  # empty: every category
    categories_denied: frozenset[str] = frozenset()
    # False: a member without a birth date is taken for an adult (the library vouches for it).
    require_birth_date: bool = True

    def __post_init__(self) -> None:
        """Normalise the categories (upper case) and check the flags."""
        if any(not 0 <= n <= 13 for n in self.refusing_flags):
            raise ValueError("patron status flags are numbered 0 to 13")
        object.__setattr__(
            self, "refusing_flags", frozenset(int(n) for n in self.refusing_flags)
        )
        object.__setattr__(self, "categories_allowed", _codes(self.categories_allowed))
        object.__setattr__(self, "categories_denied", _codes(self.categories_denied))


@dataclass(frozen=True)
class LmsPatron:
    """What the rules take from the LMS about one card: no name, no full card number."""

    masked_card: str
    valid_patron: bool
    valid_pin: bool | None  # None: CQ missing
    flags: frozenset[int]
    expiry: date | None
    birth_date: date | None
    category: str | None
    screen_message: str  # the LMS's message (AF), for the reader's screen
    used: tuple[
        tuple[str, str], ...
    ] = ()  # (field code, raw value) read, for the probe

    def age(self, day: date) -> int | None:
        """Return the age in whole years on `day`, or None without a birth date."""
        if self.birth_date is None:
            return None
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class LmsVerdict:
    """The LMS's side of a decision: GRANTED (the house rules still apply) or why not."""

    reason: AnyReason
    patron: LmsPatron
    refusing_flags: tuple[int, ...] = ()  # set flags that refuse under the policy
    ignored_flags: tuple[int, ...] = ()  # set flags the policy lets through

    @property
    def granted(self) -> bool:
        """Return True when the LMS lets the card in (online or from the cache)."""
        return self.reason in (Reason.GRANTED, LmsReason.GRANTED_OFFLINE)

    @property
    def reader_message(self) -> str:
        """Return the LMS's screen message for the door reader, once the PIN was right.

        Before that it is withheld: an LMS says "invalid card number" or "invalid password",
        which would tell whoever holds a card whether it belongs to a member.
        """
        patron = self.patron
        return patron.screen_message if patron.valid_patron and patron.valid_pin else ""


def _screen_message(parts: Iterable[str]) -> str:
    text = " ".join(p.strip() for p in parts if p.strip())
    text = "".join(c for c in text if c.isprintable())
    return text[:SCREEN_MESSAGE_MAX]


def patron_from_answer(
    answer: PatronInformation, card: str, dialect: Dialect
) -> LmsPatron:
    """Read the facts the rules need out of a 64 answer, by the dialect's fields."""
    used: list[tuple[str, str]] = []

    def pick(code: str | None) -> str | None:
        if code is None:
            return None
        value = answer.value(code)
        if value is not None:
            used.append((code, value))
        return value

    used.extend(
        (code, value)
        for code in ("BL", "CQ")
        if (value := answer.value(code)) is not None
    )
    used.append(("status", answer.patron_status))
    expiry = parse_sip_date(pick(dialect.expiry))
    birth_date = parse_sip_date(pick(dialect.birth_date))
    category = (pick(dialect.category) or "").strip().upper() or None
    return LmsPatron(
        masked_card=mask_card(card),
        valid_patron=answer.valid_patron is True,
        valid_pin=answer.valid_patron_password,
        flags=answer.denied_flags,
        expiry=expiry,
        birth_date=birth_date,
        category=category,
        screen_message=_screen_message(answer.screen_message),
        used=tuple(used),
    )


def _account_reason(
    patron: LmsPatron, policy: LmsPolicy, today: date
) -> tuple[AnyReason | None, tuple[int, ...], tuple[int, ...]]:
    """Return the first refusal from the account (expiry, flags, category, age), if any."""
    refusing = tuple(
        n for n in _FLAG_PRIORITY if n in patron.flags and n in policy.refusing_flags
    )
    ignored = tuple(sorted(patron.flags - policy.refusing_flags))
    if patron.expiry is not None and patron.expiry < today:
        return Reason.CARD_EXPIRED, refusing, ignored
    if refusing:
        return FLAG_REASONS[refusing[0]], refusing, ignored
    category = patron.category
    if policy.categories_allowed and category not in policy.categories_allowed:
        return LmsReason.CATEGORY_DENIED, refusing, ignored
    if category is not None and category in policy.categories_denied:
        return LmsReason.CATEGORY_DENIED, refusing, ignored
    if patron.birth_date is None and policy.require_birth_date:
        return LmsReason.AGE_UNKNOWN, refusing, ignored
    return None, refusing, ignored


def evaluate(
    answer: PatronInformation, card: str, policy: LmsPolicy, today: date
) -> LmsVerdict:
    """Decide what the LMS's 64 answer means for the door (see the module's docstring)."""
    patron = patron_from_answer(answer, card, policy.dialect)
    if not patron.valid_patron:
        return LmsVerdict(Reason.UNKNOWN_CARD, patron)
    if patron.valid_pin is None:
        return LmsVerdict(LmsReason.PIN_NOT_CHECKED, patron)
    if not patron.valid_pin:
        return LmsVerdict(Reason.WRONG_PIN, patron)
    reason, refusing, ignored = _account_reason(patron, policy, today)
    return LmsVerdict(reason or Reason.GRANTED, patron, refusing, ignored)


def member_from_lms(
    card: str, patron: LmsPatron, local: Member | None, today: date
) -> tuple[Member, bool]:
    """Return the Member the house rules run on, and whether the local record must be saved.

    Birth date and expiry come from the LMS; induction, renewal, bans and final warnings from
    the local record kept for the card (None: nothing local yet, so an induction is needed).
    A later expiry than the one recorded is a renewal: a new induction is due. Without an
    expiry from the LMS the card does not expire here (the LMS's flags govern it); without a
    birth date (allowed only when the policy does not require one) the member counts as adult.
    """
    expiry = patron.expiry or date.max
    birth_date = patron.birth_date or date.min
    if local is None:
        return Member(card=card, birth_date=birth_date, card_expiry=expiry), True
    member = replace(local, birth_date=birth_date)
    renewed = (
        patron.expiry is not None
        and local.card_expiry != date.max
        and local.card_expiry < patron.expiry
        and patron.expiry > today
    )
    if renewed:
        return member.renewed(today, expiry), True
    changed = member.card_expiry != expiry or local.birth_date != birth_date
    return replace(member, card_expiry=expiry), changed


# -- the offline cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedGrant:
    """A member the LMS granted recently: enough to decide offline, nothing more."""

    card_key: str  # grant_key(card, pepper), never the number
    pin_hash: str = field(repr=False)  # pins.hash_pin of the PIN the LMS accepted
    granted_at: datetime
    expiry: date | None
    birth_date: date | None
    category: str | None

    def as_dict(self) -> dict[str, str | None]:
        """Return a JSON-ready form (for Home Assistant's storage or a SQLite row)."""
        return {
            "card_key": self.card_key,
            "pin_hash": self.pin_hash,
            "granted_at": self.granted_at.isoformat(),
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "category": self.category,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CachedGrant:
        """Read the form `as_dict` wrote. Raise ValueError or KeyError when it is not one."""
        expiry, birth = data.get("expiry"), data.get("birth_date")
        return cls(
            card_key=str(data["card_key"]),
            pin_hash=str(data["pin_hash"]),
            granted_at=datetime.fromisoformat(str(data["granted_at"])),
            expiry=date.fromisoformat(expiry) if expiry else None,
            birth_date=date.fromisoformat(birth) if birth else None,
            category=data.get("category") or None,
        )


class GrantStore(Protocol):
    """Where the offline cache keeps its grants across restarts (blocking calls)."""

    def load_grants(self) -> Iterable[CachedGrant]:
        """Return every grant kept."""

    def save_grant(self, grant: CachedGrant) -> None:
        """Keep `grant`, replacing any grant with the same card key."""

    def delete_grant(self, card_key: str) -> None:
        """Drop the grant of `card_key`, if any."""


@dataclass
class MemoryGrantStore:
    """A GrantStore in memory (tests; a service that accepts losing the cache on restart)."""

    grants: dict[str, CachedGrant] = field(default_factory=dict)

    def load_grants(self) -> Iterable[CachedGrant]:
        """Return every grant kept."""
        return list(self.grants.values())

    def save_grant(self, grant: CachedGrant) -> None:
        """Keep `grant`."""
        self.grants[grant.card_key] = grant

    def delete_grant(self, card_key: str) -> None:
        """Drop the grant of `card_key`."""
        self.grants.pop(card_key, None)


def grant_key(card: str, pepper: bytes) -> str | None:
    """Return the peppered digest a grant is kept under, or None for a malformed card number.

    HMAC-SHA256 keyed with the service's pepper: a card number has too few digits for a plain
    hash to hide it from whoever reads the stored cache.
    """
    try:
        value = normalise_card(card)
    except MemberError:
        return None
    return hmac.new(pepper, b"lms-grant:" + value.encode(), hashlib.sha256).hexdigest()[
        :32
    ]


class OfflineCache:
    """Recent LMS grants, bounded by age and by count, for deciding while the LMS is away.

    Blocking (each remember, check and forget-if-PIN costs one key derivation): run it in an
    executor. Thread-safe.
    """

    def __init__(
        self,
        pepper: bytes,
        store: GrantStore | None = None,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        now: datetime | None = None,
    ) -> None:
        """Load the grants kept by `store`, dropping those older than `max_age` at `now`."""
        self.pepper = pepper
        self.store: GrantStore = store if store is not None else MemoryGrantStore()
        self.max_age = max_age
        self.max_entries = max_entries
        self._lock = threading.Lock()
        grants = sorted(self.store.load_grants(), key=lambda g: g.granted_at)
        self._grants: dict[str, CachedGrant] = {g.card_key: g for g in grants}
        self._tags: dict[
            str, bytes
        ] = {}  # card key -> tag of the PIN last granted (memory)
        if now is not None:
            self.prune(now)

    def __len__(self) -> int:
        """Return how many grants are kept."""
        return len(self._grants)

    def _pin_tag(self, key: str, pin: str) -> bytes:
        """Return the in-memory tag of the PIN last granted for a card (see `remember`)."""
        message = b"lms-pin:" + key.encode() + b":" + pin.encode("ascii")
        return hmac.new(self.pepper, message, hashlib.sha256).digest()

    def remember(self, card: str, pin: str, patron: LmsPatron, now: datetime) -> None:
        """Keep the grant the LMS just gave (card digest, peppered PIN hash, facts, time).

        A member granted again with the same PIN keeps the hash already made: its time and
        facts are renewed without a new key derivation (a busy door would otherwise cost one
        scrypt per grant). Whether the PIN is the same is told by a keyed tag kept in memory
        only, never stored: it is no weaker than the pepper it is keyed with, which the same
        process holds; a restart forgets the tags and the next grant derives again.
        """
        key = grant_key(card, self.pepper)
        if key is None or not valid_pin(pin):
            return
        tag = self._pin_tag(key, pin)
        current = self._grants.get(key)
        known = self._tags.get(key)
        if (
            current is not None
            and known is not None
            and hmac.compare_digest(known, tag)
        ):
            pin_hash = current.pin_hash
        else:
            pin_hash = hash_pin(pin, self.pepper, log2_n=OFFLINE_LOG2_N)
        grant = CachedGrant(
            card_key=key,
            pin_hash=pin_hash,
            granted_at=now,
            expiry=patron.expiry,
            birth_date=patron.birth_date,
            category=patron.category,
        )
        evicted: list[str] = []
        with self._lock:
            self._grants.pop(key, None)
            self._grants[key] = grant
            self._tags[key] = tag
            while len(self._grants) > self.max_entries:
                oldest = next(iter(self._grants))
                del self._grants[oldest]
                self._tags.pop(oldest, None)
                evicted.append(oldest)
        self.store.save_grant(grant)
        for old in evicted:
            self.store.delete_grant(old)

    def forget(self, card: str) -> bool:
        """Drop the card's grant (the LMS refused it now); return True when there was one."""
        key = grant_key(card, self.pepper)
        with self._lock:
            gone = key is not None and self._grants.pop(key, None) is not None
            if key is not None:
                self._tags.pop(key, None)
        if gone and key is not None:
            self.store.delete_grant(key)
        return gone

    def forget_if_pin(self, card: str, pin: str) -> bool:
        """Drop the grant when the LMS just called `pin` wrong yet it is the PIN cached.

        The member changed their PIN at the LMS: the old one must stop working offline. A wrong
        PIN that is not the cached one leaves the grant alone (no one can wipe a member's grant
        by trying PINs).
        """
        key = grant_key(card, self.pepper)
        grant = self._grants.get(key) if key is not None else None
        if grant is None or not verify_pin(pin, grant.pin_hash, self.pepper):
            return False
        return self.forget(card)

    def prune(self, now: datetime) -> int:
        """Drop grants older than `max_age`; return how many."""
        with self._lock:
            stale = [
                k for k, g in self._grants.items() if now - g.granted_at > self.max_age
            ]
            for k in stale:
                del self._grants[k]
                self._tags.pop(k, None)
        for k in stale:
            self.store.delete_grant(k)
        return len(stale)

    def decide(
        self, card: str, pin: str, policy: LmsPolicy, today: date, now: datetime
    ) -> LmsVerdict:
        """Decide without the LMS: a recent grant and the right PIN, else refused.

        The grant's facts go through the policy again (the card may have expired since, the
        categories changed). An unknown card costs one key derivation like a known one.
        """
        key = grant_key(card, self.pepper)
        grant = self._grants.get(key) if key is not None else None
        if grant is not None and now - grant.granted_at > self.max_age:
            grant = None
        if grant is None:
            # same time as a real check of a cached grant
            verify_pin(pin, None, self.pepper, dummy_log2_n=OFFLINE_LOG2_N)
            return LmsVerdict(LmsReason.LMS_UNAVAILABLE, _unknown_patron(card))
        patron = LmsPatron(
            masked_card=mask_card(card),
            valid_patron=True,
            valid_pin=None,
            flags=frozenset(),
            expiry=grant.expiry,
            birth_date=grant.birth_date,
            category=grant.category,
            screen_message="",
        )
        if not verify_pin(pin, grant.pin_hash, self.pepper):
            return LmsVerdict(Reason.WRONG_PIN, replace(patron, valid_pin=False))
        patron = replace(patron, valid_pin=True)
        reason, _, _ = _account_reason(patron, policy, today)
        return LmsVerdict(reason or LmsReason.GRANTED_OFFLINE, patron)


def _unknown_patron(card: str) -> LmsPatron:
    return LmsPatron(
        masked_card=mask_card(card),
        valid_patron=False,
        valid_pin=None,
        flags=frozenset(),
        expiry=None,
        birth_date=None,
        category=None,
        screen_message="",
    )


# -- the circuit breaker --------------------------------------------------------------------------


class CircuitBreaker:
    """When to ask the LMS and when to go straight to the cache.

    Closed: ask the LMS. Open (after a failure): decide from the cache at once, probe now and
    then, close on the first answer. Pure; the clock is injected (monotonic seconds).
    """

    def __init__(
        self,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a closed breaker."""
        self.probe_interval = probe_interval
        self.clock = clock
        self.open = False
        self.opened_at: float | None = None
        self._last_probe: float | None = None

    def allows_request(self) -> bool:
        """Return True when a request should ask the LMS."""
        return not self.open

    def record_success(self) -> bool:
        """Note an answer from the LMS; return True when that closed the breaker."""
        was_open = self.open
        self.open = False
        self.opened_at = self._last_probe = None
        return was_open

    def record_failure(self) -> bool:
        """Note a failure to answer; return True when that opened the breaker."""
        if self.open:
            return False
        self.open = True
        self.opened_at = self._last_probe = self.clock()
        return True

    def probe_due(self) -> bool:
        """Return True when the breaker is open and the next probe is due."""
        if not self.open or self._last_probe is None:
            return False
        return self.clock() - self._last_probe >= self.probe_interval

    def probe_started(self) -> None:
        """Note that a probe starts now."""
        self._last_probe = self.clock()


# -- the gateway: LMS first, cache when it does not answer ---------------------------------------


class LmsFailure(StrEnum):
    """Why the LMS gave no usable answer."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    LOGIN_REFUSED = "login_refused"  # the SIP account or its password: reauthenticate
    MALFORMED = "malformed"


def failure_of(err: BaseException) -> LmsFailure:
    """Return the LmsFailure a client error (or a timeout) stands for."""
    if isinstance(err, Sip2LoginError):
        return LmsFailure.LOGIN_REFUSED
    if isinstance(err, (Sip2TimeoutError, TimeoutError)):
        return LmsFailure.TIMEOUT
    if isinstance(err, Sip2MalformedError):
        return LmsFailure.MALFORMED
    return LmsFailure.CONNECTION


@dataclass(frozen=True)
class LmsResult:
    """One card + PIN checked against the LMS, or against the cache when it did not answer."""

    verdict: LmsVerdict
    online: bool  # False: decided from the offline cache
    failure: LmsFailure | None = None  # why offline

    @property
    def reason(self) -> AnyReason:
        """Return the verdict's reason."""
        return self.verdict.reason

    @property
    def granted(self) -> bool:
        """Return True when the LMS (or the cache) lets the card in."""
        return self.verdict.granted


async def _to_thread[T](func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args)


type RunBlocking = Callable[..., Awaitable[Any]]


class LmsGateway:
    """The LMS as the membership backend of one library service.

    `authenticate` asks the LMS (within `timeout`), applies the policy and keeps the offline
    cache up to date; when the LMS gives no usable answer it decides from the cache and opens
    the circuit breaker, so later requests do not wait: they go straight to the cache while a
    background probe (log-in + 99 every `probe_interval` seconds) waits for the LMS.
    `run_blocking(func, *args)` runs key derivations off the event loop (Home Assistant passes
    `hass.async_add_executor_job`).
    """

    def __init__(
        self,
        client: Sip2Client,
        policy: LmsPolicy,
        cache: OfflineCache,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        run_blocking: RunBlocking | None = None,
        clock: Callable[[], float] = time.monotonic,
        card_case: CardCase | str = DEFAULT_CARD_CASE,
    ) -> None:
        """Create the gateway; nothing is opened until `start` or the first request."""
        self.client = client
        self.policy = policy
        self.cache = cache
        self.timeout = timeout
        self.card_case = CardCase(card_case)
        self.breaker = CircuitBreaker(probe_interval, clock)
        self._run: RunBlocking = run_blocking or _to_thread
        self.failure: LmsFailure | None = None
        self._listeners: list[Callable[[bool], None]] = []
        self._probe_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # -- state ----------------------------------------------------------------------------------

    @property
    def reachable(self) -> bool:
        """Return True unless the LMS failed to answer and has not answered since."""
        return self.breaker.allows_request()

    def add_listener(self, callback: Callable[[bool], None]) -> Callable[[], None]:
        """Call `callback(reachable)` whenever the LMS goes away or comes back; return a remover.

        Also while it is away, whenever why changes (`failure`: a timeout becomes a refused
        login, for example), so the glue can ask an administrator to reauthenticate.
        """
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback(self.reachable)
            except Exception:
                _LOGGER.exception("LMS reachability listener failed")

    def _succeeded(self) -> None:
        self.failure = None
        if self.breaker.record_success():
            _LOGGER.info("The library management system answers again")
            self._notify()

    def _failed(self, err: BaseException) -> None:
        previous, self.failure = self.failure, failure_of(err)
        if self.breaker.record_failure():
            _LOGGER.warning(
                "The library management system did not answer (%s: %s); deciding from "
                "recent grants until it does",
                self.failure,
                err,
            )
            self._notify()
        elif previous is not self.failure:
            self._notify()
        if self.failure is LmsFailure.LOGIN_REFUSED:
            return
        if self._probe_task is None or self._probe_task.done():
            self._probe_task = asyncio.create_task(self._probe_loop(), name="lms-probe")

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> bool:
        """Connect and log in now (not required: the first request would). Return reachable."""
        self.client.start_keepalive()
        return await self.probe()

    async def stop(self) -> None:
        """Stop the probe, finish cache updates, close the connection."""
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        await self.drain()
        await self.client.close()

    async def drain(self) -> None:
        """Wait for the cache updates started by earlier requests."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def probe(self) -> bool:
        """Log in and ask the status (99) now; return True when the LMS answered."""
        self.breaker.probe_started()
        try:
            async with asyncio.timeout(self.timeout):
                if self.client.connected:
                    await self.client.sc_status()
                else:
                    await self.client.connect()
        except (Sip2Error, TimeoutError) as err:
            self._failed(err)
            return False
        self._succeeded()
        return True

    async def _probe_loop(self) -> None:
        """Probe every `probe_interval` seconds until the LMS answers.

        Not while the LMS refuses the login: repeating a wrong password could lock the SIP
        account at the LMS. The glue asks an administrator to reauthenticate, then builds a new
        gateway (or calls `probe`).
        """
        while not self.reachable and self.failure is not LmsFailure.LOGIN_REFUSED:
            await asyncio.sleep(self.breaker.probe_interval)
            self.breaker.probe_started()
            try:
                async with asyncio.timeout(self.timeout):
                    await self.client.connect()
            except (Sip2Error, TimeoutError) as err:
                previous, self.failure = self.failure, failure_of(err)
                _LOGGER.debug("LMS probe failed: %s", err)
                if previous is not self.failure:
                    self._notify()
                continue
            self._succeeded()

    def _in_background(self, func: Callable[..., Any], *args: Any) -> None:
        task = asyncio.ensure_future(self._run(func, *args))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the decision ---------------------------------------------------------------------------

    def lms_card(self, card: str) -> str:
        """Return the card number as it is sent to the LMS: as typed, or cased by `card_case`.

        The one place the case is decided; everything the gateway sends goes through it.
        """
        return apply_card_case(card, self.card_case)

    def input_problem(self, card: str, pin: str | None) -> Sip2InputError | None:
        """Return why `card` and `pin` cannot go to this LMS (None: they can).

        engine.sip2's one check (`patron_input_problem`: no `|`, nothing unprintable, nothing
        the connection's charset lacks), on the card as it would be sent (after `card_case`:
        a case mapping can make characters of its own). engine.access asks this before it
        counts an attempt; `authenticate` asks it again.
        """
        return patron_input_problem(
            self.lms_card(card), pin, self.client.config.encoding
        )

    async def authenticate(
        self, card: str, pin: str, *, today: date, now: datetime
    ) -> LmsResult:
        """Check `card` and `pin`: with the LMS when it answers in time, else from the cache.

        Online, a grant is remembered (and any refusal other than a wrong PIN forgets the card)
        in the background. Offline, an unknown card is refused with `lms_unavailable`. When the
        LMS is slow, the cache is consulted during the last `HEDGE` seconds of the wait, so a
        timeout costs the timeout and not a key derivation more. A card or PIN the LMS cannot
        carry is refused `invalid_request` without the LMS or the cache being asked.
        """
        if self.input_problem(card, pin) is not None:
            return LmsResult(
                LmsVerdict(Reason.INVALID_REQUEST, _unknown_patron(card)), online=True
            )
        spare: asyncio.Future[LmsVerdict] | None = None
        if self.breaker.allows_request():
            outcome, spare = await self._ask(card, pin, today, now)
            if isinstance(outcome, PatronInformation):
                verdict = self._online(outcome, card, pin, today, now)
                return LmsResult(verdict, online=True)
            self._failed(outcome)
        if spare is None:
            spare = asyncio.ensure_future(
                self._run(self.cache.decide, card, pin, self.policy, today, now)
            )
        return LmsResult(await spare, online=False, failure=self.failure)

    async def _ask(
        self, card: str, pin: str, today: date, now: datetime
    ) -> tuple[PatronInformation | Exception, asyncio.Future[LmsVerdict] | None]:
        """Ask the LMS within the timeout; start the cache's check if it is slow to answer.

        Return the answer, or the client's error (a TimeoutError when there was no answer in
        time), with the cache's check when one was started and is still wanted.
        """
        ask = asyncio.ensure_future(
            self.client.patron_information(self.lms_card(card), pin)
        )
        first_wait = max(self.timeout - HEDGE, self.timeout / 2)
        spare: asyncio.Future[LmsVerdict] | None = None
        try:
            done, _ = await asyncio.wait({ask}, timeout=first_wait)
            if not done:
                spare = asyncio.ensure_future(
                    self._run(self.cache.decide, card, pin, self.policy, today, now)
                )
                done, _ = await asyncio.wait({ask}, timeout=self.timeout - first_wait)
            if not done:
                ask.cancel()
                await asyncio.wait({ask})  # the client drops the connection
                return TimeoutError(f"no answer within {self.timeout:g} s"), spare
        except BaseException:
            ask.cancel()
            if spare is not None:
                spare.cancel()
            raise
        error = ask.exception()
        if error is None:
            if spare is not None:
                spare.cancel()
            return ask.result(), None
        if isinstance(error, Sip2Error):
            return error, spare
        if spare is not None:
            spare.cancel()
        raise error

    def _online(
        self,
        answer: PatronInformation,
        card: str,
        pin: str,
        today: date,
        now: datetime,
    ) -> LmsVerdict:
        """Apply the policy to the LMS's answer and keep the cache in step with it."""
        self._succeeded()
        verdict = evaluate(answer, card, self.policy, today)
        if verdict.granted:
            self._in_background(self.cache.remember, card, pin, verdict.patron, now)
        elif verdict.reason is Reason.WRONG_PIN:
            self._in_background(self.cache.forget_if_pin, card, pin)
        else:
            self.cache.forget(card)
        return verdict


__all__ = [
    "DEFAULT_CARD_CASE",
    "DEFAULT_MAX_AGE",
    "DEFAULT_REFUSING_FLAGS",
    "DEFAULT_TIMEOUT",
    "DIALECTS",
    "DIALECT_NAMES",
    "FLAG_NAMES",
    "FLAG_REASONS",
    "CachedGrant",
    "CardCase",
    "CircuitBreaker",
    "Dialect",
    "GrantStore",
    "LmsFailure",
    "LmsGateway",
    "LmsPatron",
    "LmsPolicy",
    "LmsReason",
    "LmsResult",
    "LmsVerdict",
    "MemoryGrantStore",
    "OfflineCache",
    "apply_card_case",
    "evaluate",
    "grant_key",
    "make_dialect",
    "member_from_lms",
    "parse_sip_date",
    "patron_from_answer",
]
