"""What a library service tells the public on its branch pages, and its defaults from the seeds.

Seed 000 and 001: what members can and cannot do in smart hours; the phone on the counter with
999, 101 and the County Council property help desk. Administrators edit all of it (service-wide:
the lists, the numbers, how to contact the library; per branch: its address and a note). None of
it is personal data; everything is plain text that whoever shows it escapes.

Pure Python, no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import re
from typing import Any

DEFAULT_CAN = (
    "borrow, return and renew library items and pay charges using the self-service kiosks",
    "collect reserved items and borrow them using the self-service kiosks",
    (
        "use the public PCs and free library Wi-Fi, print, and use the photocopier to scan and "
        "copy documents"
    ),
    (
        "browse the library catalogue, renew titles and place reservations online using the "
        "public PCs"
    ),
    "meet as a group free of charge in the open library space",
    "use a meeting room you have booked in advance",
)
DEFAULT_CANNOT = (
    "make general enquiries or get help from staff",
    "make changes to your membership",
    "use the toilets unless you have a radar key",
    "use the meeting rooms unless you have pre-booked",
    "use some library resources such as DVDs and local studies reference materials",
)


@dataclass(frozen=True, slots=True)
class HelpNumber:
    """A number on the notice by the library's phone."""

    label: str
    number: str = ""  # "" until the library gives it

    @property
    def dial(self) -> str:
        """Return the number as a tel: link takes it (digits and a leading +)."""
        return re.sub(r"[^0-9+]", "", self.number)


DEFAULT_NUMBERS = (
    HelpNumber("Emergency: fire, police, ambulance", "999"),
    HelpNumber("Police, when it is not an emergency", "101"),
    HelpNumber("Property help desk: problems with the building"),
)

TEXT_MAX = 2_000
LINE_MAX = 200
LINES_MAX = 20
_NUMBER = re.compile(r"\+?[0-9][0-9 ]{1,19}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class PublicInfoError(ValueError):
    """Public text that cannot be kept; `code` is a translation key."""

    def __init__(self, code: str, **placeholders: str) -> None:
        """Create the error."""
        super().__init__(code)
        self.code = code
        self.placeholders = placeholders


def check_text(value: Any, name: str, limit: int = TEXT_MAX) -> str:
    """Return administrator's text checked: a string, storable, not too long, no controls."""
    if not isinstance(value, str):
        raise PublicInfoError("public_text_invalid", field=name)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit or _CONTROL.search(text):
        raise PublicInfoError("public_text_invalid", field=name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PublicInfoError("public_text_invalid", field=name) from None
    return text


def parse_lines(text: str, name: str) -> tuple[str, ...]:
    """Return a typed list: one item a line (a leading `- ` or `• ` dropped)."""
    lines = tuple(
        line.strip().removeprefix("- ").removeprefix("• ").strip()
        for line in check_text(text, name, LINES_MAX * LINE_MAX).split("\n")
        if line.strip()
    )
    if len(lines) > LINES_MAX or any(len(line) > LINE_MAX for line in lines):
        raise PublicInfoError("public_text_invalid", field=name)
    return lines


def parse_numbers(text: str) -> tuple[HelpNumber, ...]:
    """Return `Label: number` lines as help numbers (a label alone: number to come)."""
    numbers = []
    for line in parse_lines(text, "help_numbers"):
        label, sep, number = line.rpartition(":")
        if not sep or not _NUMBER.fullmatch(number.strip()):
            label, number = line, ""
        label = label.strip()
        if not label:
            raise PublicInfoError("public_number_invalid", line=line[:40])
        numbers.append(HelpNumber(label, number.strip()))
    return tuple(numbers)


def format_numbers(numbers: tuple[HelpNumber, ...]) -> str:
    """Return help numbers as administrators type them."""
    return "\n".join(f"{n.label}: {n.number}" if n.number else n.label for n in numbers)


@dataclass(frozen=True, slots=True)
class PublicInfo:
    """A library service's public text: what members can and cannot do, the numbers, contact."""

    can: tuple[str, ...] = DEFAULT_CAN
    cannot: tuple[str, ...] = DEFAULT_CANNOT
    numbers: tuple[HelpNumber, ...] = DEFAULT_NUMBERS
    # How to reach the library (told to barred members and anyone who needs staff).
    contact: str = "Please contact your library during staffed hours."

    def to_dict(self) -> dict[str, Any]:
        """Return JSON types."""
        return {
            "can": list(self.can),
            "cannot": list(self.cannot),
            "numbers": [[n.label, n.number] for n in self.numbers],
            "contact": self.contact,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PublicInfo:
        """Read what `to_dict` wrote (defaults for what is missing)."""
        data = data or {}
        default = cls()
        return cls(
            can=tuple(str(x) for x in data.get("can", default.can)),
            cannot=tuple(str(x) for x in data.get("cannot", default.cannot)),
            numbers=tuple(
                HelpNumber(str(label), str(number))
                for label, number in data.get(
                    "numbers", [[n.label, n.number] for n in default.numbers]
                )
            ),
            contact=str(data.get("contact", default.contact)),
        )


@dataclass(frozen=True, slots=True)
class BranchPage:
    """A branch's own public text."""

    address: str = ""
    note: str = ""  # e.g. "Step-free entrance on Church Street"
    numbers: tuple[HelpNumber, ...] = field(
        default=()
    )  # the branch's own, before the service's

    def to_dict(self) -> dict[str, Any]:
        """Return JSON types."""
        return {
            "address": self.address,
            "note": self.note,
            "numbers": [[n.label, n.number] for n in self.numbers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BranchPage:
        """Read what `to_dict` wrote."""
        data = data or {}
        return cls(
            address=str(data.get("address", "")),
            note=str(data.get("note", "")),
            numbers=tuple(
                HelpNumber(str(label), str(number))
                for label, number in data.get("numbers", [])
            ),
        )
