"""The default wording in the member's language; what an administrator wrote, as written.

A library service's public text (what members can and cannot do, the help numbers, how to reach
the library) and its induction (the access rules, the quiz, the agreement) start as the default
wording, written in English in the engine (engine/members/public.py, induction.py) and shipped in
every language in texts/public/<language>.json (`default.*`). What is still the default is shown
in the member's language; anything an administrator changed is theirs and is shown as they wrote
it, in every language (a library that wants the rules in Welsh and English writes both). The
test is by value, field by field (and question by question): a field that equals the English
default is the default, whether it was ever stored or not.
"""

from __future__ import annotations

from dataclasses import replace

from ..engine.members.induction import (
    DEFAULT_AGREEMENT,
    DEFAULT_QUIZ,
    DEFAULT_RULES,
    InductionVersion,
    Question,
)
from ..engine.members.public import (
    DEFAULT_CAN,
    DEFAULT_CANNOT,
    DEFAULT_NUMBERS,
    HelpNumber,
    PublicInfo,
)
from ..helpers.texts import Catalogue

DEFAULT_CONTACT = PublicInfo().contact


def _lines(cat: Catalogue, key: str, count: int) -> tuple[str, ...]:
    return tuple(cat(f"default.{key}.{n}") for n in range(count))


def default_can(cat: Catalogue) -> tuple[str, ...]:
    """Return the default "in smart hours you can" list in the catalogue's language."""
    return _lines(cat, "can", len(DEFAULT_CAN))


def default_cannot(cat: Catalogue) -> tuple[str, ...]:
    """Return the default "in smart hours you cannot" list in the catalogue's language."""
    return _lines(cat, "cannot", len(DEFAULT_CANNOT))


def public_info(info: PublicInfo, cat: Catalogue) -> PublicInfo:
    """Return a service's public text with what is still the default in `cat`'s language."""
    if cat.language == "en":
        return info
    numbers = info.numbers
    if tuple(n.label for n in numbers) == tuple(n.label for n in DEFAULT_NUMBERS):
        numbers = tuple(
            HelpNumber(cat(f"default.number.{n}"), number.number)
            for n, number in enumerate(numbers)
        )
    return replace(
        info,
        can=default_can(cat) if info.can == DEFAULT_CAN else info.can,
        cannot=default_cannot(cat) if info.cannot == DEFAULT_CANNOT else info.cannot,
        numbers=numbers,
        contact=cat("default.contact")
        if info.contact == DEFAULT_CONTACT
        else info.contact,
    )


def default_rules(cat: Catalogue) -> str:
    """Return the default access rules in the catalogue's language."""
    return cat(
        "default.rules",
        can="\n".join(f"- {line}" for line in default_can(cat)),
        cannot="\n".join(f"- {line}" for line in default_cannot(cat)),
    )


def _question(question: Question, cat: Catalogue) -> Question:
    for n, default in enumerate(DEFAULT_QUIZ):
        if question == default:
            key = f"default.quiz.{n}"
            return replace(
                question,
                text=cat(f"{key}.question"),
                options=tuple(
                    cat(f"{key}.options.{m}") for m in range(len(question.options))
                ),
                hint=cat(f"{key}.hint"),
            )
    return question


def induction_version(version: InductionVersion, cat: Catalogue) -> InductionVersion:
    """Return a version whose default parts read in `cat`'s language (the answers unchanged).

    Only for showing: the quiz is checked against the stored version, by option number.
    """
    if cat.language == "en":
        return version
    content = version.content
    return replace(
        version,
        content=replace(
            content,
            rules=default_rules(cat)
            if content.rules.strip() == DEFAULT_RULES.strip()
            else content.rules,
            quiz=tuple(_question(q, cat) for q in content.quiz),
            agreement=cat("default.agreement")
            if content.agreement.strip() == DEFAULT_AGREEMENT.strip()
            else content.agreement,
        ),
    )
