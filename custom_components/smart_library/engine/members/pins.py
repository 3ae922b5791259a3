"""PINs: salted and peppered key derivation, constant-time checks, the lock-out policy.

A PIN exists in clear only inside one request. What is stored is
`scrypt$<log2 n>$<r>$<p>$<salt>$<key>`, where key = scrypt(HMAC-SHA256(pepper, pin), salt). The
pepper is a secret kept apart from the member data (Home Assistant keeps it in its own storage
file), so a copy of the member store alone cannot be attacked offline. The parameters travel with
each hash, so they can be raised later without invalidating stored PINs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
import hashlib
import hmac
import re
import secrets

from ..errors import CodedError

PIN_RE = re.compile(r"\d{4,8}")
PEPPER_BYTES = 32
SALT_BYTES = 16
# scrypt cost: 16 MiB and a few tens of milliseconds per check on a small server; a door waits
# for one check, an attacker with the store (but not the pepper) has nothing to work with.
SCRYPT_LOG2_N = 14
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32


class PinFormatError(CodedError):
    """A PIN that is not 4 to 8 digits. Neither its code nor its message holds the PIN."""

    def __init__(self) -> None:
        """Create the error without the offending value."""
        super().__init__("invalid_pin")

    def __str__(self) -> str:
        """Say what a PIN must be."""
        return "A PIN is 4 to 8 digits"


def new_pepper() -> bytes:
    """Return a fresh random pepper."""
    return secrets.token_bytes(PEPPER_BYTES)


def valid_pin(pin: str) -> bool:
    """Return True for 4 to 8 ASCII digits."""
    return PIN_RE.fullmatch(pin) is not None and pin.isascii()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(
    pin: str, pepper: bytes, salt: bytes, *, log2_n: int, r: int, p: int
) -> bytes:
    peppered = hmac.new(pepper, pin.encode("ascii"), hashlib.sha256).digest()
    return hashlib.scrypt(
        peppered,
        salt=salt,
        n=1 << log2_n,
        r=r,
        p=p,
        maxmem=(1 << log2_n) * r * 128 * 2,
        dklen=KEY_BYTES,
    )


def hash_pin(pin: str, pepper: bytes, *, log2_n: int = SCRYPT_LOG2_N) -> str:
    """Return the stored form of a PIN; raise PinFormatError unless it is 4-8 digits.

    The cost is written into the stored form, so `verify_pin` reads it back from there.
    """
    if not valid_pin(pin):
        raise PinFormatError
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(pin, pepper, salt, log2_n=log2_n, r=SCRYPT_R, p=SCRYPT_P)
    return f"scrypt${log2_n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


# A well-formed hash of nothing, so an unknown card costs as much time as a known one.
_DUMMY_SALT = bytes(SALT_BYTES)


def verify_pin(
    pin: str, stored: str | None, pepper: bytes, *, dummy_log2_n: int = SCRYPT_LOG2_N
) -> bool:
    """Return True when `pin` matches the stored hash (constant time in the key comparison).

    An unknown card or a member without a PIN (`stored` None) still pays for one derivation, so
    the time taken does not tell whether a card exists.
    """
    try:
        scheme, log2_n, r, p, salt_b64, key_b64 = (stored or "").split("$")
        salt, key = base64.b64decode(salt_b64), base64.b64decode(key_b64)
        params = (int(log2_n), int(r), int(p))
    except ValueError:
        scheme = ""
    if scheme != "scrypt":
        salt, key, params = _DUMMY_SALT, b"", (dummy_log2_n, SCRYPT_R, SCRYPT_P)
        stored = None
    candidate = _derive(
        pin if valid_pin(pin) else "0000",
        pepper,
        salt,
        log2_n=params[0],
        r=params[1],
        p=params[2],
    )
    matches = hmac.compare_digest(candidate, key)
    return matches and stored is not None and valid_pin(pin)


def spend_derivation(pin: str, pepper: bytes, log2_n: int = SCRYPT_LOG2_N) -> None:
    """Spend one key derivation at 2^`log2_n` on nothing (the time of a PIN check).

    Where a path evaluates no PIN, or another system evaluates it, and must take as long as
    one that does (engine.access: closed hours, a card number that is none, a PIN the LMS
    checks while a staff card's is checked here).
    """
    verify_pin(pin, None, pepper, dummy_log2_n=log2_n)


@dataclass(frozen=True)
class LockoutPolicy:
    """How many PINs may be tried on a card in what window, and how long a lock-out lasts.

    Counted in the membership store (engine.lockout): at most `attempts` PINs are evaluated for
    one card in any `window`, however many arrive at once.
    """

    attempts: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)
