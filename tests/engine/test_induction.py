"""The induction's rules: versions, what a significant one asks of members, the quiz, the texts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from custom_components.smart_library.engine.members.access import AccessDecider
from custom_components.smart_library.engine.members.induction import (
    DEFAULT_AGREEMENT,
    DEFAULT_QUIZ,
    DEFAULT_RULES,
    DEFAULT_VERSION,
    InductionContent,
    InductionError,
    InductionVersion,
    check_quiz,
    current_version,
    next_version,
    parse_quiz,
    required_version,
    text_blocks,
)
from custom_components.smart_library.engine.members.membership import (
    INDUCTED_ONLINE,
    Member,
    MemberError,
    Reason,
    record_induction,
)
from custom_components.smart_library.engine.members.public import (
    DEFAULT_CAN,
    DEFAULT_CANNOT,
    HelpNumber,
    PublicInfo,
    PublicInfoError,
    parse_numbers,
)
from custom_components.smart_library.engine.members.store import MembershipStore

TODAY = date(2026, 12, 10)
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
ADULT = Member(
    card="20000001", birth_date=date(1980, 1, 1), card_expiry=date(2028, 1, 1)
)


def test_the_default_wording_is_the_seeds() -> None:
    """Seed 001's lists, CCTV, evacuation, barred members; seed 000's phone numbers."""
    for line in (*DEFAULT_CAN, *DEFAULT_CANNOT):
        assert f"- {line}" in DEFAULT_RULES
    for words in (
        "aged 16 or over",
        "CCTV",
        "nearest exit",
        "final warning",
        "999",
        "101",
        "property help desk",
        "parent or guardian over 18",
        "complete this induction again",
    ):
        assert words in DEFAULT_RULES, words
    assert "under-16s" in DEFAULT_AGREEMENT
    assert DEFAULT_VERSION.number == 1 and not DEFAULT_VERSION.significant
    assert [b.kind for b in text_blocks(DEFAULT_RULES)].count("list") == 2


def test_a_significant_version_asks_older_inductions_again() -> None:
    """Members inducted on an older version than the newest significant one are asked again."""
    history: list[InductionVersion] = []
    assert (
        current_version(history) is DEFAULT_VERSION and required_version(history) == 0
    )
    v2 = next_version(
        history, InductionContent(), significant=False, summary="", at=NOW
    )
    history.append(v2)
    assert (v2.number, required_version(history)) == (
        2,
        0,
    )  # not significant: nobody asked
    v3 = next_version(
        history, InductionContent(), significant=True, summary="New exit", at=NOW
    )
    history.append(v3)
    assert (v3.number, required_version(history)) == (3, 3)

    on_2 = record_induction(ADULT, TODAY, version=2, where=INDUCTED_ONLINE)
    on_3 = record_induction(ADULT, TODAY, version=3, where=INDUCTED_ONLINE)
    legacy = record_induction(ADULT, TODAY)  # recorded before versions were kept
    assert on_2.eligibility(TODAY, 3) is Reason.INDUCTION_REVISED
    assert legacy.eligibility(TODAY, 3) is Reason.INDUCTION_REVISED
    assert legacy.eligibility(TODAY, 0) is Reason.GRANTED
    assert on_3.eligibility(TODAY, 3) is Reason.GRANTED
    # A later, minor version does not ask again.
    history.append(
        next_version(history, InductionContent(), significant=False, summary="", at=NOW)
    )
    assert on_3.eligibility(TODAY, required_version(history)) is Reason.GRANTED


def test_a_significant_version_needs_a_reason_told_to_members() -> None:
    """Members asked to do it again are told why: a significant version needs its summary."""
    with pytest.raises(InductionError) as err:
        next_version([], InductionContent(), significant=True, summary=" ", at=NOW)
    assert err.value.code == "induction_field_required"


def test_a_renewal_forgets_the_induction_record() -> None:
    """After a renewal the record (date, version, where) is gone: a new induction is due."""
    inducted = record_induction(ADULT, TODAY, version=1, where="online")
    renewed = inducted.renewed(TODAY, date(2030, 1, 1))
    assert (
        renewed.induction_date,
        renewed.induction_version,
        renewed.induction_where,
    ) == (
        None,
        None,
        "",
    )
    assert renewed.eligibility(TODAY) is Reason.INDUCTION_OUTDATED


def test_the_record_keeps_date_version_where_only() -> None:
    """What a rule needs: the date, the version, where. Bad values are refused."""
    member = record_induction(ADULT, TODAY, version=4, where="branch_oadby")
    assert (
        member.induction_date,
        member.induction_version,
        member.induction_where,
    ) == (
        TODAY,
        4,
        "branch_oadby",
    )
    with pytest.raises(MemberError):
        record_induction(ADULT, TODAY, version=0)
    with pytest.raises(MemberError):
        record_induction(ADULT, TODAY, where="x" * 65)


def test_the_quiz_points_to_the_part_to_read_again() -> None:
    """A wrong answer names its question and the part of the induction that answers it."""
    right = {n: q.answer for n, q in enumerate(DEFAULT_QUIZ)}
    assert check_quiz(DEFAULT_QUIZ, right).passed
    wrong = right | {1: 0}  # the fire alarm question: the floor plans
    result = check_quiz(DEFAULT_QUIZ, wrong)
    assert not result.passed
    assert result.wrong == (1,) and result.sections == ("branches",)
    unanswered = {n: a for n, a in right.items() if n != 0}
    assert check_quiz(DEFAULT_QUIZ, unanswered).wrong == (0,)
    both = right | {0: 2, 1: 0}
    assert check_quiz(DEFAULT_QUIZ, both).sections == ("branches", "rules")


def test_administrators_quiz_is_checked() -> None:
    """Questions as administrators write them: options 2-6, the answer by number or text."""
    quiz = parse_quiz(
        [
            {"question": "Q1?", "options": ["a", "b"], "answer": 2, "section": "rules"},
            {"question": "Q2?", "options": ["x", "y", "z"], "answer": "x"},
        ]
    )
    assert [q.answer for q in quiz] == [1, 0] and quiz[1].section == "rules"
    for bad, code in (
        ([], "induction_quiz_size"),
        ([{"question": "Q", "options": ["a"], "answer": 1}], "induction_quiz_options"),
        (
            [{"question": "Q", "options": ["a", "a"], "answer": 1}],
            "induction_quiz_options",
        ),
        (
            [{"question": "Q", "options": ["a", "b"], "answer": 3}],
            "induction_quiz_answer",
        ),
        (
            [{"question": "Q", "options": ["a", "b"], "answer": 0}],
            "induction_quiz_answer",
        ),
        (
            [{"question": "Q", "options": ["a", "b"], "answer": True}],
            "induction_quiz_answer",
        ),
        (
            [{"question": "Q", "options": ["a", "b"], "answer": 1, "section": "x"}],
            "induction_quiz_section",
        ),
        (
            [{"question": "", "options": ["a", "b"], "answer": 1}],
            "induction_field_required",
        ),
        (
            [{"question": "Q\x00", "options": ["a", "b"], "answer": 1}],
            "induction_invalid_field",
        ),
    ):
        with pytest.raises(InductionError) as err:
            parse_quiz(bad)
        assert err.value.code == code, bad


@pytest.mark.parametrize(
    "video",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "https://",
        'https://example.org/"onerror="x',
        "https://example.org/<script>",
        "//example.org/video.mp4",
    ],
)
def test_a_video_is_a_web_address_or_the_file(video: str) -> None:
    """Only http(s) addresses (or the uploaded file) are a video: no script, no other scheme."""
    with pytest.raises(InductionError):
        InductionContent.from_dict({"video": video})


def test_content_round_trips_as_stored() -> None:
    """What is stored reads back the same (the answers counted from 1 as administrators do)."""
    content = InductionContent(
        video="https://example.org/induction.mp4", video_seconds=90
    )
    version = InductionVersion(5, content, NOW, True, "New video")
    again = InductionVersion.from_row(
        5, version.to_json(), NOW.isoformat(), True, "New video"
    )
    assert again == version
    assert '"answer": 2' in version.to_json()


def test_text_blocks_are_text_not_html() -> None:
    """Headings, paragraphs and lists; markup characters stay characters."""
    blocks = text_blocks(
        "## <b>Head</b>\nline one\nline two\n\n- item <i>1</i>\n- item 2\ntail"
    )
    assert [(b.kind, b.text, b.items) for b in blocks] == [
        ("heading", "<b>Head</b>", ()),
        ("paragraph", "line one line two", ()),
        ("list", "", ("item <i>1</i>", "item 2")),
        ("paragraph", "tail", ()),
    ]


def test_public_numbers_as_typed() -> None:
    """`Label: number` lines; a label alone waits for its number; junk is refused."""
    numbers = parse_numbers(
        "Emergency: 999\nPolice: 101\nHelp desk: +44 116 305 0000\nDuty"
    )
    assert numbers[2] == HelpNumber("Help desk", "+44 116 305 0000")
    assert numbers[2].dial == "+441163050000"
    assert numbers[3] == HelpNumber("Duty", "")
    assert (
        parse_numbers("Evil: javascript:alert(1)")[0].number == ""
    )  # not a number: a label
    with pytest.raises(PublicInfoError):
        parse_numbers(": 999")
    info = PublicInfo(numbers=numbers)
    assert PublicInfo.from_dict(info.to_dict()) == info


def test_the_store_keeps_versions_and_the_door_asks_again(tmp_path: Path) -> None:
    """Published versions survive reopening; the decider refuses an older induction."""
    pepper = b"p" * 32
    store = MembershipStore(tmp_path / "m.db")
    store.add(
        replace(
            ADULT, induction_date=TODAY, induction_version=1, induction_where="online"
        ),
        TODAY,
    )
    assert store.induction_required == 0
    version = store.publish_induction(
        InductionContent(rules="## New\nA new exit."),
        significant=True,
        summary="A new fire exit",
        at=NOW,
    )
    assert version.number == 2 and store.induction_required == 2
    store.close()
    store = MembershipStore(tmp_path / "m.db")
    assert [v.number for v in store.induction_history()] == [2]
    assert (
        current_version(store.induction_history()).content.rules
        == "## New\nA new exit."
    )
    member = store.member(ADULT.card)
    assert member is not None and member.eligibility(
        TODAY, store.induction_required
    ) is (Reason.INDUCTION_REVISED)
    decider = AccessDecider(store, pepper)
    assert store.counts(TODAY)["smart_access"] == 0
    del decider
    store.close()
