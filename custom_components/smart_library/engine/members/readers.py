"""Door readers and kiosks: their keys, what each key may open, and a throttle on refusals.

A reader key is `<id>.<secret>`: `id` is 16 hex characters (public: it names the key in lists
and logs), `secret` 43 URL-safe characters from `secrets.token_urlsafe(32)` (256 random bits).
It is shown once, when it is made; what is kept is a digest of the whole key (see `key_digest`).

A key is scoped to one library service (config entry), one branch of it and named doors of that
branch. With it a reader may ask for a decision at those doors and nothing else.

The throttle counts a reader's refusals in a sliding window; one refusal too many stops the
reader for a while (`ThrottlePolicy`). It also holds under concurrency: a reader may have no more
requests in flight than the refusals it has left, so a burst sent at once cannot slip more
guesses past the count than a slow one.

A decision takes time (the library's system, a key derivation): a key revoked meanwhile must
open nothing. `ReaderKeyring.still_valid` checks the key again after the decision and before
any release (`REASON_KEY_REVOKED` names the refusal).

Pure Python, no Home Assistant import; times are passed in (a fake clock in tests). Used from one
thread (Home Assistant's event loop).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
import hashlib
import hmac
import re
import secrets
from typing import Any

from ..errors import CodedError

KEY_ID_BYTES = 8  # 16 hex characters
KEY_SECRET_BYTES = 32  # 256 bits
NAME_MAX = 64
_KEY_RE = re.compile(r"([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f]")

# Reasons the building causes, not the person at the door: they say nothing about guessing (a
# not_open refuses a member's card at closed hours before its PIN is evaluated; a lockdown or
# room refusal comes after a right PIN; a fire alarm, an evacuation or a store that cannot
# record attempts refuses before any check).
NOT_COUNTED = frozenset(
    {
        "not_open",
        "fire_alarm",
        "evacuation",
        "lockdown",
        "controller_unreachable",
        "store_unavailable",
    }
)
REASON_THROTTLED = "reader_throttled"
# A request whose key was revoked (or removed) while its decision was being taken: no release.
REASON_KEY_REVOKED = "reader_key_revoked"


class ReaderKeyError(CodedError):
    """A reader key that cannot be made or changed (placeholders never hold a key's secret)."""


def key_digest(token: str) -> str:
    """Return the stored form of a whole key `<id>.<secret>`: its SHA-256, hex.

    A password or a PIN needs a salted, slow key derivation because people choose them from a
    small space that can be searched. A reader key cannot be searched: its secret is 256 bits from
    `secrets`, so a single SHA-256 is as strong as any derivation (finding a preimage costs 2**256)
    and checking a key costs microseconds on the event loop. The key's own id is part of the
    hashed text, so two keys never share a digest and a digest cannot be moved to another id.
    Compared with `hmac.compare_digest` (constant time).
    """
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def parse_key(token: str) -> tuple[str, str] | None:
    """Return (id, secret) of a well-formed key, or None."""
    match = _KEY_RE.fullmatch(token)
    return (match[1], match[2]) if match else None


@dataclass(frozen=True)
class ReaderKey:
    """A stored reader key: never its secret, only the digest of the whole key."""

    id: str
    digest: str
    name: str
    entry_id: str  # the library service
    branch: str  # the branch's sub-entry id
    doors: tuple[str, ...]
    created: datetime
    last_used: datetime | None = None
    revoked: datetime | None = None

    @property
    def active(self) -> bool:
        """Return True until the key is revoked."""
        return self.revoked is None

    def allows(self, branch: str, door: str) -> bool:
        """Return True when the key may ask for `door` of `branch`."""
        return branch == self.branch and door in self.doors

    def to_dict(self) -> dict[str, Any]:
        """Return the key as stored (JSON-able; the digest, never a secret)."""
        return {
            "id": self.id,
            "digest": self.digest,
            "name": self.name,
            "entry_id": self.entry_id,
            "branch": self.branch,
            "doors": list(self.doors),
            "created": self.created.isoformat(),
            "last_used": self.last_used.isoformat() if self.last_used else None,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReaderKey:
        """Read a stored key."""

        def when(value: Any) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        created = when(data["created"])
        assert created is not None
        return cls(
            id=str(data["id"]),
            digest=str(data["digest"]),
            name=str(data["name"]),
            entry_id=str(data["entry_id"]),
            branch=str(data["branch"]),
            doors=tuple(str(d) for d in data["doors"]),
            created=created,
            last_used=when(data.get("last_used")),
            revoked=when(data.get("revoked")),
        )


def clean_name(name: str) -> str:
    """Return a key's name stripped, or raise ReaderKeyError when it is empty, long or odd."""
    name = name.strip()
    if not name or len(name) > NAME_MAX or _NAME_BAD.search(name):
        raise ReaderKeyError("reader_key_bad_name", max=str(NAME_MAX))
    return name


class ReaderKeyring:
    """Every reader key of an installation, by id."""

    def __init__(self, keys: Iterable[ReaderKey] = ()) -> None:
        """Hold the given keys."""
        self._keys: dict[str, ReaderKey] = {k.id: k for k in keys}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ReaderKeyring:
        """Read what `to_dict` stored."""
        return cls(ReaderKey.from_dict(k) for k in (data or {}).get("keys", []))

    def to_dict(self) -> dict[str, Any]:
        """Return every key as stored."""
        return {"keys": [k.to_dict() for k in self._keys.values()]}

    def listed(self, entry_id: str | None = None) -> list[ReaderKey]:
        """Return the keys (of one library service), oldest first."""
        return sorted(
            (k for k in self._keys.values() if entry_id in (None, k.entry_id)),
            key=lambda k: (k.created, k.id),
        )

    def get(self, key_id: str) -> ReaderKey | None:
        """Return a key by its id."""
        return self._keys.get(key_id)

    def create(
        self,
        *,
        name: str,
        entry_id: str,
        branch: str,
        doors: Iterable[str],
        known_doors: Iterable[str],
        now: datetime,
    ) -> tuple[ReaderKey, str]:
        """Make a key; return it and the whole key `<id>.<secret>` (shown once, never kept).

        Raises ReaderKeyError for an empty or odd name, a name already used by an active key of
        the same service, no door, or a door the branch does not have.
        """
        name = clean_name(name)
        known = list(known_doors)
        wanted = list(dict.fromkeys(d.strip() for d in doors if d.strip()))
        if not wanted:
            raise ReaderKeyError("reader_key_no_door", doors=", ".join(known) or "-")
        for door in wanted:
            if door not in known:
                raise ReaderKeyError(
                    "reader_key_unknown_door", door=door, doors=", ".join(known) or "-"
                )
        if any(
            k.active and k.entry_id == entry_id and k.name.casefold() == name.casefold()
            for k in self._keys.values()
        ):
            raise ReaderKeyError("reader_key_name_taken", name=name)
        key_id = secrets.token_hex(KEY_ID_BYTES)
        while key_id in self._keys:  # pragma: no cover - 2**64 ids
            key_id = secrets.token_hex(KEY_ID_BYTES)
        token = f"{key_id}.{secrets.token_urlsafe(KEY_SECRET_BYTES)}"
        key = ReaderKey(
            id=key_id,
            digest=key_digest(token),
            name=name,
            entry_id=entry_id,
            branch=branch,
            doors=tuple(wanted),
            created=now,
        )
        self._keys[key_id] = key
        return key, token

    def find(self, reference: str, entry_id: str | None = None) -> ReaderKey:
        """Return a key by its id, or an active key by its name; else raise ReaderKeyError."""
        reference = reference.strip()
        key = self._keys.get(reference)
        if key is not None and entry_id in (None, key.entry_id):
            return key
        for key in self._keys.values():
            if (
                key.active
                and entry_id in (None, key.entry_id)
                and key.name.casefold() == reference.casefold()
            ):
                return key
        raise ReaderKeyError("unknown_reader_key", key=reference)

    def revoke(self, key_id: str, now: datetime) -> ReaderKey:
        """Revoke a key for good (a revoked key stays listed; revoking twice changes nothing)."""
        key = self._keys[key_id]
        if key.active:
            key = self._keys[key_id] = replace(key, revoked=now)
        return key

    def remove_entry(self, entry_id: str) -> int:
        """Forget every key of a removed library service; return how many."""
        gone = [k.id for k in self._keys.values() if k.entry_id == entry_id]
        for key_id in gone:
            del self._keys[key_id]
        return len(gone)

    def authenticate(self, token: str | None) -> ReaderKey | None:
        """Return the active key `token` is, or None (malformed, unknown or revoked)."""
        token = (token or "").strip()
        parsed = parse_key(token)
        if parsed is None:
            return None
        digest = key_digest(token)
        key = self._keys.get(parsed[0])
        if key is None or not hmac.compare_digest(key.digest, digest):
            return None
        return key if key.active else None

    def still_valid(self, key: ReaderKey | str) -> bool:
        """Return True while the key a request authenticated with may still open a door.

        Call it after the decision and before any release: a decision takes time (the LMS, a
        key derivation), and a key revoked, removed with its service or replaced meanwhile
        must release nothing. `key` is the ReaderKey `authenticate` returned (its digest is
        compared, so a new key under the same id is not it), or a key id.
        """
        key_id = key if isinstance(key, str) else key.id
        current = self._keys.get(key_id)
        if current is None or not current.active:
            return False
        return isinstance(key, str) or hmac.compare_digest(current.digest, key.digest)

    def touch(self, key_id: str, now: datetime) -> None:
        """Record that a key was used now (shown to admins as its last use)."""
        if (key := self._keys.get(key_id)) is not None:
            self._keys[key_id] = replace(key, last_used=now)


# -- the throttle --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottlePolicy:
    """More than `refusals` refusals within `window` stops a reader for `duration`."""

    refusals: int = 10
    window: timedelta = timedelta(minutes=1)
    duration: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class ThrottleTrip:
    """A reader has just been throttled: what staff are told (never a card or a PIN)."""

    reader: str
    refusals: int  # counted in the window, the one that tripped it included
    reasons: dict[str, int]  # refusals by reason code
    until: datetime


@dataclass
class _ReaderCount:
    refused: deque[tuple[datetime, str]] = field(default_factory=deque)
    in_flight: int = 0
    until: datetime | None = None


class ReaderThrottle:
    """Counts each reader's refusals; one too many in the window stops the reader for a while.

    A request is first `admit`ted (None, or when the reader may ask again), then `settle`d with
    what came of it. While a request is in flight it counts as a refusal that may yet come, so no
    more requests are admitted at once than the refusals the reader has left: a burst of guesses
    sent together is stopped after as many as one sent slowly (`policy.refusals` + 1 at most).
    """

    def __init__(self) -> None:
        """Start with no counts."""
        self._readers: dict[str, _ReaderCount] = {}

    def to_dict(self) -> dict[str, Any]:
        """Return what survives a restart: each reader's refusals and pause (no card, no PIN)."""
        return {
            reader: {
                "until": count.until.isoformat() if count.until else None,
                "refused": [[at.isoformat(), why] for at, why in count.refused],
            }
            for reader, count in self._readers.items()
            if count.until is not None or count.refused
        }

    def restore(self, data: Mapping[str, Any] | None) -> None:
        """Take stored counts back (a restart does not free a paused reader)."""
        for reader, raw in (data or {}).items():
            try:
                until = raw.get("until")
                count = _ReaderCount(
                    refused=deque(
                        (datetime.fromisoformat(at), str(why))
                        for at, why in raw.get("refused", ())
                    ),
                    until=datetime.fromisoformat(until) if until else None,
                )
            except AttributeError, TypeError, ValueError:
                continue
            self._readers[str(reader)] = count

    def _count(
        self, reader: str, now: datetime, policy: ThrottlePolicy
    ) -> _ReaderCount:
        count = self._readers.setdefault(reader, _ReaderCount())
        while count.refused and count.refused[0][0] <= now - policy.window:
            count.refused.popleft()
        if count.until is not None and count.until <= now:
            count.until = None
        return count

    def throttled_until(
        self, reader: str, now: datetime, policy: ThrottlePolicy
    ) -> datetime | None:
        """Return until when a reader is stopped, or None."""
        return self._count(reader, now, policy).until

    def admit(
        self, reader: str, now: datetime, policy: ThrottlePolicy
    ) -> datetime | None:
        """Admit one request (None) or return until when the reader must wait.

        A reader that is throttled waits until its throttle ends. A reader with as many requests
        in flight as it has refusals left waits until one of them is settled: it is told to
        come back a second later (nothing is counted for that).
        """
        count = self._count(reader, now, policy)
        if count.until is not None:
            return count.until
        if len(count.refused) + count.in_flight > policy.refusals:
            return now + timedelta(seconds=1)
        count.in_flight += 1
        return None

    def settle(
        self,
        reader: str,
        now: datetime,
        policy: ThrottlePolicy,
        reason: str | None,
    ) -> ThrottleTrip | None:
        """Settle an admitted request with its refusal's reason (None: granted, or no decision).

        Return a ThrottleTrip when this refusal is the one too many.
        """
        count = self._count(reader, now, policy)
        count.in_flight = max(0, count.in_flight - 1)
        if reason is None or reason in NOT_COUNTED:
            return None
        count.refused.append((now, reason))
        if count.until is None and len(count.refused) > policy.refusals:
            count.until = now + policy.duration
            return ThrottleTrip(
                reader=reader,
                refusals=len(count.refused),
                reasons=dict(Counter(r for _, r in count.refused)),
                until=count.until,
            )
        return None

    def lift(self, reader: str) -> None:
        """Forget a reader's counts and throttle (its key revoked, or an admin lifts it)."""
        self._readers.pop(reader, None)
