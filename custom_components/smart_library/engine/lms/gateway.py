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
   engine/pins.py, the facts the rules need, when), for at most `max_age` (24 hours by
   default) after the LMS last accepted the card and PIN. When the LMS does not answer, a
   cached member with the right PIN is let in (`granted_offline`), everyone else refused
   (`lms_unavailable`). Persistence goes through the small `GrantStore` protocol (Home
   Assistant's glue backs it with SQLite or its storage). The refusal wins: answers are
   ordered by when they were asked (`Ticket`), a grant that also says the card is reported
   lost is never kept (`cacheable`), and any refusal drops the card's grant.
4. `CircuitBreaker` and `LmsGateway`: after the LMS failed to answer in time, later requests go
   straight to the cache while a cheap background probe (log-in + 99) waits for the LMS to come
   back.
5. `RecheckPlanner` and `LmsGateway.recheck_one`: while the LMS answers, the cached grants are
   re-checked one at a time without their PIN (a 63 without `AD`, read by `evaluate_standing`),
   oldest-checked first, 2 a minute by default: a card blocked, reported lost or expired at
   the LMS leaves the cache without its holder coming to a door.

The offline period, and the window it leaves. Redia Access admits nobody offline unless told
to; PV-Supa keeps only staff (cleaners, guards) on the controller; SSAuthenticator falls back
to its cache after a 5 s API timeout. Staff and contractor cards here are the service's own and
never need the LMS, so the cache is for members only, and its period is a library's trade
between letting regulars in through an outage and letting a card in that the LMS has blocked
meanwhile. 24 hours (`DEFAULT_MAX_AGE`): an LMS outage is most often an overnight or weekend
maintenance window or a network fault fixed within the day; a member who came in the last day
comes again, and a card blocked while the LMS is away, or a PIN changed at the LMS, works
offline for at most one day after its last online grant (7 days, the earlier default, was a
week of both). Set 0 for Redia's default (nobody offline).

Precisely, with `DEFAULT_MAX_AGE` P = 24 h and `DEFAULT_RECHECKS_PER_MINUTE` 2 (a re-check
every 30 s, so N cached grants are each re-checked within R(N) = N x 30 s: 8 h 20 min for
1,000): take a card whose last online grant was at G and that the LMS blocks at B > G.
- Online it never enters after B: every door request asks the LMS, which refuses, and the
  refusal drops the grant at once.
- Offline it enters at time T only if the cache still holds it, which needs the LMS to have
  gone away before anything asked about the card after B: before its next re-check, so within
  R(N) of its last check (R(1,000) = 8 h 20 min after B at most); and only while T - G <= P,
  so T < B + 24 h. The window is therefore at most the rest of the 24 hours since its last
  grant, P - (B - G), and exists only when the outage starts within R(N) of the block.
It is not R(N) + P: the period runs from the last online grant, not from the start of the
outage, and a re-check never extends it. Grants loaded from the store after a restart cannot be
re-checked (the store keeps no card number), so for them the window is P - (B - G) whenever
the LMS goes away before the card is next used at a door.

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
import functools
import hashlib
import hmac
import logging
import re
import threading
import time
from typing import Any, Protocol

from ..database import StorageError
from ..members.membership import Member, MemberError, Reason, mask_card, normalise_card
from ..members.pins import hash_pin, valid_pin, verify_pin
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
# a grant for at most its maximum age (24 hours by default), and only recently granted members.
OFFLINE_LOG2_N = 13

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds the LMS has to answer before the cache decides
# The offline period: how long after the LMS last accepted a card and PIN the cache may let
# them in while the LMS does not answer. Why 24 hours: the module's notes on the offline period.
DEFAULT_MAX_AGE = timedelta(hours=24)
DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_RECHECKS_PER_MINUTE = 2.0  # see RecheckPlanner
MAX_RECHECKS_PER_MINUTE = 6.0
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


# Flags after which an answer is never kept as an offline grant, whatever the policy lets in
# online: a card reported lost may be in anyone's hand, and offline nobody can ask again.
NEVER_CACHED_FLAGS = frozenset({4})


def cacheable(verdict: LmsVerdict) -> bool:
    """Return True when an online answer may be kept as an offline grant.

    Only a grant of the LMS with the PIN checked (BL=Y, CQ=Y, no refusal), and none that also
    says the card is reported lost: such an answer drops the card's grant instead.
    """
    patron = verdict.patron
    return (
        verdict.reason is Reason.GRANTED
        and patron.valid_patron
        and patron.valid_pin is True
        and not patron.flags & NEVER_CACHED_FLAGS
    )


def evaluate_standing(
    answer: PatronInformation, card: str, policy: LmsPolicy, today: date
) -> LmsVerdict:
    """Read a 64 answering a 63 *without* a PIN: is the card still in order? (for re-checks).

    `CQ` is not read (no PIN was sent; Koha leaves it out, others answer N). GRANTED means only
    "nothing against the card": the LMS still knows it (`BL`), it is not reported lost, and
    the account passes the policy (expiry, refusing flags, category, birth date). Never a
    grant to keep: a re-check only drops a cached grant or refreshes its facts.
    """
    patron = patron_from_answer(answer, card, policy.dialect)
    if not patron.valid_patron:
        return LmsVerdict(Reason.UNKNOWN_CARD, patron)
    reason, refusing, ignored = _account_reason(patron, policy, today)
    if reason is None and patron.flags & NEVER_CACHED_FLAGS:
        reason = LmsReason.CARD_REPORTED_LOST
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


@dataclass(eq=False)
class Ticket:
    """The place of one LMS answer about a card in the order the LMS was asked.

    Taken when a request is sent (`OfflineCache.ticket`), spent when its answer is applied
    (`remember`, `refresh`, `forget`, `forget_if_pin`) or given back (`settle`). Sequence
    numbers only grow, so a later question's answer always outranks an earlier one's,
    whichever is applied first.
    """

    key: str
    seq: int
    open: bool = True


class OfflineCache:
    """Recent LMS grants, bounded by age and by count, for deciding while the LMS is away.

    Blocking (each remember, check and forget-if-PIN costs one key derivation): run it in an
    executor. Thread-safe.

    The refusal wins. Every answer of the LMS about a card carries a `Ticket` taken when the
    question was sent: a grant is kept only if no refusal of a *later* question for the same
    card (any refusal of its standing; a wrong PIN for the same PIN) has been applied, and a
    refusal drops a grant only if the grant's question came earlier. A grant whose key
    derivation finishes after a later refusal therefore never re-inserts the card, and a stale
    refusal never removes a fresher grant. Refusals are remembered (as sequence numbers, no
    card) only while questions about the same card are still unanswered.

    The store follows memory: every change writes the card's *current* state (its grant, or
    nothing) under one lock, so whatever order the writes run in, the last one is right.

    For re-checks (`LmsGateway.recheck_one`) the cache keeps, in memory only, the card number
    as typed at the door (the store has a digest only: grants loaded after a restart cannot be
    re-checked and simply run out at their maximum age) and when the LMS was last asked about
    each card's standing.
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
        self._lock = threading.Lock()  # memory
        self._store_lock = threading.Lock()  # writes to the store, in memory's order
        grants = sorted(self.store.load_grants(), key=lambda g: g.granted_at)
        self._grants: dict[str, CachedGrant] = {g.card_key: g for g in grants}
        # Memory only, never stored: card key -> tag of the PIN last granted (see `remember`),
        # sequence of the answer that made the grant, the card as typed (for re-checks), when
        # the LMS was last asked about the card's standing.
        self._tags: dict[str, bytes] = {}
        self._seq: dict[str, int] = {}
        self._cards: dict[str, str] = {}
        self._checked: dict[str, datetime] = {g.card_key: g.granted_at for g in grants}
        self._next_seq = 0
        self._unsaved: set[str] = (
            set()
        )  # card keys whose last write to the store failed
        self._open: dict[str, int] = {}  # card key -> tickets not yet spent
        # card key -> refusals applied while tickets were open: (sequence, PIN tag or None)
        self._vetoes: dict[str, list[tuple[int, bytes | None]]] = {}
        if now is not None:
            self.prune(now)

    def __len__(self) -> int:
        """Return how many grants are kept."""
        return len(self._grants)

    def _pin_tag(self, key: str, pin: str) -> bytes:
        """Return the in-memory tag of the PIN last granted for a card (see `remember`)."""
        message = b"lms-pin:" + key.encode() + b":" + pin.encode("utf-8")
        return hmac.new(self.pepper, message, hashlib.sha256).digest()

    # -- the order of answers -------------------------------------------------------------------

    def ticket(self, card: str) -> Ticket | None:
        """Take the next place in the order of answers for `card` (None: not a card number).

        Take it when the question is sent; spend it with the answer, or `settle` it.
        """
        key = grant_key(card, self.pepper)
        if key is None:
            return None
        with self._lock:
            self._next_seq += 1
            self._open[key] = self._open.get(key, 0) + 1
            return Ticket(key, self._next_seq)

    def settle(self, ticket: Ticket | None) -> None:
        """Give back a ticket whose question got no answer to apply (idempotent)."""
        if ticket is not None:
            with self._lock:
                self._settle_locked(ticket)

    def _settle_locked(self, ticket: Ticket) -> None:
        if not ticket.open:
            return
        ticket.open = False
        left = self._open.get(ticket.key, 1) - 1
        if left > 0:
            self._open[ticket.key] = left
        else:
            self._open.pop(ticket.key, None)
            self._vetoes.pop(ticket.key, None)  # no earlier question left to outrank

    def _ticket_for(self, card: str, ticket: Ticket | None) -> Ticket | None:
        """Return `ticket`, or for a direct call (no question sent) a fresh, latest one."""
        return ticket if ticket is not None else self.ticket(card)

    def _vetoed(self, key: str, seq: int, tag: bytes) -> bool:
        """Return True when a refusal of a later question rules out a grant of `seq`."""
        return any(
            later > seq and (pin is None or hmac.compare_digest(pin, tag))
            for later, pin in self._vetoes.get(key, ())
        )

    # -- changes --------------------------------------------------------------------------------

    def remember(
        self,
        card: str,
        pin: str,
        patron: LmsPatron,
        now: datetime,
        *,
        ticket: Ticket | None = None,
    ) -> bool:
        """Keep the grant the LMS gave (card digest, peppered PIN hash, facts, time).

        Return False when it is not kept: a refusal of a later question for the card came
        first, a later grant is already kept, or the card number or PIN cannot be kept.

        A member granted again with the same PIN keeps the hash already made: its time and
        facts are renewed without a new key derivation (a busy door would otherwise cost one
        scrypt per grant). Whether the PIN is the same is told by a keyed tag kept in memory
        only, never stored: it is no weaker than the pepper it is keyed with, which the same
        process holds; a restart forgets the tags and the next grant derives again.
        """
        ticket = self._ticket_for(card, ticket)
        if ticket is None:
            return False
        key = ticket.key
        if not valid_pin(pin):
            self.settle(ticket)
            return False
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
        changed = [key]
        with self._lock:
            kept = not self._vetoed(key, ticket.seq, tag) and (
                key not in self._grants or self._seq.get(key, 0) < ticket.seq
            )
            if kept:
                self._grants.pop(key, None)
                self._grants[key] = grant
                self._tags[key] = tag
                self._seq[key] = ticket.seq
                self._cards[key] = str.__str__(card)
                self._checked[key] = now
                while len(self._grants) > self.max_entries:
                    oldest = next(iter(self._grants))
                    self._drop_locked(oldest)
                    changed.append(oldest)
            self._settle_locked(ticket)
        if kept:
            self.persist(*changed)
        return kept

    def refresh(
        self,
        card: str,
        patron: LmsPatron,
        now: datetime,
        *,
        ticket: Ticket | None = None,
    ) -> bool:
        """Bring a kept grant's facts up to date after a re-check found the card in order.

        Never makes a grant (a re-check evaluates no PIN) and never extends one: the grant's
        time, from which its maximum age runs, is when the LMS last accepted the PIN. Return
        False when there is no grant to refresh, or a later answer outranks this one.
        """
        ticket = self._ticket_for(card, ticket)
        if ticket is None:
            return False
        key = ticket.key
        with self._lock:
            grant = self._grants.get(key)
            fresh = (
                grant is not None
                and self._seq.get(key, 0) < ticket.seq
                and not any(
                    later > ticket.seq for later, _ in self._vetoes.get(key, ())
                )
            )
            if fresh and grant is not None:
                self._grants[key] = replace(
                    grant,
                    expiry=patron.expiry,
                    birth_date=patron.birth_date,
                    category=patron.category,
                )
                self._checked[key] = now
            self._settle_locked(ticket)
        if fresh:
            self.persist(key)
        return fresh

    def _drop_locked(self, key: str) -> bool:
        gone = self._grants.pop(key, None) is not None
        for table in (self._tags, self._seq, self._cards, self._checked):
            table.pop(key, None)
        return gone

    def forget(
        self, card: str, *, ticket: Ticket | None = None, persist: bool = True
    ) -> bool:
        """Drop the card's grant: the LMS refused it; return True when there was one.

        Any grant of a question sent before the refusal's is ruled out, now and when it comes
        later; a grant of a later question stands. `persist` False leaves the store's write to
        the caller (`persist`, off the event loop).
        """
        ticket = self._ticket_for(card, ticket)
        if ticket is None:
            return False
        key = ticket.key
        with self._lock:
            self._vetoes.setdefault(key, []).append((ticket.seq, None))
            gone = self._seq.get(key, 0) < ticket.seq and self._drop_locked(key)
            self._settle_locked(ticket)
        if gone and persist:
            self.persist(key)
        return gone

    def forget_if_pin(
        self, card: str, pin: str, *, ticket: Ticket | None = None
    ) -> bool:
        """Drop the grant when the LMS just called `pin` wrong yet it is the PIN cached.

        The member changed their PIN at the LMS: the old one must stop working offline, also
        when a grant of an earlier question with that PIN is still on its way. A wrong PIN
        that is not the cached one leaves the grant alone (no one can wipe a member's grant
        by trying PINs).
        """
        ticket = self._ticket_for(card, ticket)
        if ticket is None:
            return False
        key = ticket.key
        tag = self._pin_tag(key, pin)
        with self._lock:
            self._vetoes.setdefault(key, []).append((ticket.seq, tag))
            grant = self._grants.get(key)
            older = self._seq.get(key, 0) < ticket.seq
        same = (
            grant is not None and older and verify_pin(pin, grant.pin_hash, self.pepper)
        )
        with self._lock:
            gone = same and self._grants.get(key) is grant and self._drop_locked(key)
            self._settle_locked(ticket)
        if gone:
            self.persist(key)
        return gone

    def persist(self, *keys: str) -> None:
        """Write the current state of these cards' grants to the store (blocking).

        Under one lock and from memory as it is when the write runs, so the last write of a
        card is its latest state whatever order concurrent writes started in. A store that
        cannot be written (engine.database's StorageError) is logged, not raised: the cards'
        writes are tried again with the next call.
        """
        with self._store_lock:
            for key in dict.fromkeys((*keys, *self._unsaved)):
                with self._lock:
                    grant = self._grants.get(key)
                try:
                    if grant is None:
                        self.store.delete_grant(key)
                    else:
                        self.store.save_grant(grant)
                except StorageError as err:
                    # Memory stays right; the write is tried again with the next one. (A
                    # restart before then would load the store's older state.)
                    _LOGGER.warning("The offline cache could not be saved: %s", err)
                    self._unsaved.add(key)
                else:
                    self._unsaved.discard(key)

    def prune(self, now: datetime) -> int:
        """Drop grants older than `max_age`; return how many."""
        with self._lock:
            stale = [
                k for k, g in self._grants.items() if now - g.granted_at > self.max_age
            ]
            for k in stale:
                self._drop_locked(k)
        self.persist(*stale)
        return len(stale)

    # -- re-checks ------------------------------------------------------------------------------

    def recheck_queue(self, now: datetime) -> list[tuple[str, datetime]]:
        """Return (card key, when the LMS was last asked) of every grant a re-check can reach.

        Those still within their maximum age whose card number is known (not loaded from the
        store after a restart).
        """
        with self._lock:
            return [
                (key, self._checked.get(key, grant.granted_at))
                for key, grant in self._grants.items()
                if key in self._cards and now - grant.granted_at <= self.max_age
            ]

    def card_of(self, key: str) -> str | None:
        """Return the card number as typed of a kept grant (for its re-check), or None."""
        return self._cards.get(key)

    def checked(self, key: str, now: datetime) -> None:
        """Note that the LMS was asked about the card now, though it gave no usable answer."""
        with self._lock:
            if key in self._grants:
                self._checked[key] = now

    # -- the decision ---------------------------------------------------------------------------

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


# -- re-checks of cached grants while the LMS answers -----------------------------------------


class RecheckPlanner:
    """Which cached grant to re-check next, and when: oldest-checked first, `per_minute` at most.

    Pure; the clock is injected (monotonic seconds). `choose` returns a card key at most once
    every `interval` (= 60 / `per_minute`) seconds, so in any minute the LMS sees no more than
    `per_minute` re-checks, however often it is called; `cycle(n)` is how long a round of `n`
    grants takes.

    Why 2 a minute by default. A re-check is one 63 on the service's one SIP2 connection, which
    the doors share: it can hold a member's request back by one round trip (a few ms on a
    LAN), never more, since requests are serialised. An LMS's SIP2 service is built for
    self-check terminals, and one terminal serving one borrower sends a patron information
    request and then a message per item: two messages a minute is less than one terminal
    serving one borrower, a small load beside the LMS's own terminals. Yet two a minute is
    2,880 a day: 1,000 cached grants are each re-checked every 8 h 20 min (`cycle(1000)`),
    well inside the 24 h a grant lasts (`DEFAULT_MAX_AGE`), so each is looked at about three
    times in its life. Up to
    `MAX_RECHECKS_PER_MINUTE` (6) for a service with more grants a day than 2,880 (beyond
    that, a grant may run out before its first re-check: `cycle(n)` > 24 h).
    """

    def __init__(
        self,
        per_minute: float = DEFAULT_RECHECKS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Plan `per_minute` re-checks a minute at most (more than 0, at most 6)."""
        if not 0 < per_minute <= MAX_RECHECKS_PER_MINUTE:
            raise ValueError(
                f"re-checks per minute must be above 0 and at most {MAX_RECHECKS_PER_MINUTE:g}"
            )
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute  # seconds between two re-checks
        self.clock = clock
        self._last: float | None = None

    def wait(self) -> float:
        """Return the seconds until the next re-check may start (0: now)."""
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.interval - self.clock())

    def choose(self, queue: Iterable[tuple[str, datetime]]) -> str | None:
        """Return the card key to re-check now, or None (not yet due, or nothing to check).

        The one asked about least recently (ties by key, so the order is the same every
        time); choosing one counts as starting it.
        """
        if self.wait() > 0:
            return None
        oldest = min(queue, key=lambda entry: (entry[1], entry[0]), default=None)
        if oldest is None:
            return None
        self._last = self.clock()
        return oldest[0]

    def cycle(self, grants: int) -> timedelta:
        """Return how long it takes to re-check each of `grants` cached grants once."""
        return timedelta(seconds=grants * self.interval)


class RecheckOutcome(StrEnum):
    """What one re-check did to a cached grant."""

    REFRESHED = "refreshed"  # still in order: its facts brought up to date
    DROPPED = (
        "dropped"  # refused now (lost, blocked, expired, unknown): gone from the cache
    )
    FAILED = "failed"  # no usable answer: the grant is kept until its maximum age


@dataclass(frozen=True)
class RecheckResult:
    """One re-check: what it did, the LMS's reason for a drop, the card masked."""

    outcome: RecheckOutcome
    card: str  # masked
    reason: AnyReason | None = None


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
    `recheck_one` re-checks one cached grant without its PIN when the `planner` says one is
    due (the glue calls it every `planner.interval` seconds). Every card it sends goes through
    `lms_card` (the `card_case` setting). `run_blocking(func, *args)` runs key derivations and
    the cache's store writes off the event loop (Home Assistant passes
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
        planner: RecheckPlanner | None = None,
    ) -> None:
        """Create the gateway; nothing is opened until `start` or the first request."""
        self.client = client
        self.policy = policy
        self.cache = cache
        self.timeout = timeout
        self.card_case = CardCase(card_case)
        self.planner = planner or RecheckPlanner(clock=clock)
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
        """Wait for the cache updates started by earlier requests.

        Only the unfinished ones are awaited: a finished task stays listed until its done
        callback runs, and gathering finished tasks never yields, so looping on the list as it is
        would spin for ever without letting that callback run.
        """
        while pending := [task for task in self._background if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

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

    def _in_background(
        self,
        func: Callable[..., Any],
        *args: Any,
        ticket: Ticket | None = None,
        **kwargs: Any,
    ) -> None:
        """Run a blocking cache change off the loop; its ticket is given back if it fails."""
        if ticket is not None:
            kwargs["ticket"] = ticket
        task = asyncio.ensure_future(
            self._run(functools.partial(func, *args, **kwargs))
        )
        if ticket is not None:
            task.add_done_callback(lambda _: self.cache.settle(ticket))
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
            # The answer's place among the answers about this card, taken as it is asked.
            ticket = self.cache.ticket(card)
            try:
                outcome, spare = await self._ask(card, pin, today, now)
                if isinstance(outcome, PatronInformation):
                    # The answer spends the ticket (in the background for a grant).
                    verdict = self._online(
                        outcome, card, pin, now, today, ticket=ticket
                    )
                    return LmsResult(verdict, online=True)
            except BaseException:
                self.cache.settle(ticket)
                raise
            self.cache.settle(ticket)  # no answer to apply
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
        now: datetime,
        today: date,
        *,
        ticket: Ticket | None,
    ) -> LmsVerdict:
        """Apply the policy to the LMS's answer and keep the cache in step with it.

        A grant is kept (in the background: a key derivation) only when `cacheable`; a wrong
        PIN drops the grant only if it is the PIN cached; any other answer, a grant that also
        says the card is reported lost included, drops the card's grant at once (the store's
        write in the background). The ticket orders it against the other answers about the
        card (see `OfflineCache`).
        """
        self._succeeded()
        verdict = evaluate(answer, card, self.policy, today)
        if cacheable(verdict):
            self._in_background(
                self.cache.remember, card, pin, verdict.patron, now, ticket=ticket
            )
        elif verdict.reason is Reason.WRONG_PIN:
            self._in_background(self.cache.forget_if_pin, card, pin, ticket=ticket)
        elif self.cache.forget(card, ticket=ticket, persist=False) and ticket:
            self._in_background(self.cache.persist, ticket.key)
        return verdict

    # -- re-checks --------------------------------------------------------------------------------

    async def recheck_one(self, *, today: date, now: datetime) -> RecheckResult | None:
        """Re-check one cached grant with the LMS, without its PIN; drop or refresh it.

        Only while the LMS answers (never while the breaker is open: the probe is then the
        only thing that asks it), and only when the `planner` says one is due: the least
        recently asked grant, at most `planner.per_minute` a minute however often this is
        called. One 63 without `AD` (`Sip2Client.patron_standing`: no PIN evaluated, nothing
        counted against the member at the LMS), read by `evaluate_standing`: a card now
        refused (reported lost, blocked, expired, unknown) is dropped from the cache; one in
        order gets its facts refreshed (its maximum age still runs from its grant). No usable
        answer leaves the grant as it was (the door's own requests and the probe look after
        the breaker). Return what was done, or None when nothing was due.

        The glue calls this every `planner.interval` seconds (30 s by default).
        """
        if not self.reachable:
            return None
        key = self.planner.choose(self.cache.recheck_queue(now))
        card = self.cache.card_of(key) if key is not None else None
        if key is None or card is None:
            return None
        masked = mask_card(card)
        ticket = self.cache.ticket(card)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.client.patron_standing(self.lms_card(card))
        except (Sip2Error, TimeoutError) as err:
            self.cache.settle(ticket)
            self.cache.checked(key, now)
            _LOGGER.debug("Re-check of a cached grant got no answer: %s", err)
            return RecheckResult(RecheckOutcome.FAILED, masked)
        verdict = evaluate_standing(answer, card, self.policy, today)
        if verdict.granted:
            await self._run(
                functools.partial(
                    self.cache.refresh, card, verdict.patron, now, ticket=ticket
                )
            )
            return RecheckResult(RecheckOutcome.REFRESHED, masked)
        self.cache.forget(card, ticket=ticket, persist=False)
        await self._run(self.cache.persist, key)
        return RecheckResult(RecheckOutcome.DROPPED, masked, verdict.reason)


__all__ = [
    "DEFAULT_CARD_CASE",
    "DEFAULT_MAX_AGE",
    "DEFAULT_RECHECKS_PER_MINUTE",
    "MAX_RECHECKS_PER_MINUTE",
    "NEVER_CACHED_FLAGS",
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
    "RecheckOutcome",
    "RecheckPlanner",
    "RecheckResult",
    "Ticket",
    "apply_card_case",
    "cacheable",
    "evaluate",
    "evaluate_standing",
    "grant_key",
    "make_dialect",
    "member_from_lms",
    "parse_sip_date",
    "patron_from_answer",
]
