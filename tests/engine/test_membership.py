"""A member's life as pure rules, what a door reader is told, and bookings' bounds (plain pytest)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custom_components.smart_library.engine.members.membership import (
    NOT_RECOGNISED,
    Member,
    MemberError,
    Reason,
    Restriction,
    bar_member,
    check_booking,
    check_member_fields,
    check_text,
    issue_final_warning,
    lift_restriction,
    public_reason,
    record_induction,
    renew_card,
)

TODAY = date(2026, 11, 24)
ANN = Member(
    "20000001",
    date(1971, 2, 14),
    date(2028, 1, 31),
    "Ann Reader",
    induction_date=date(2026, 5, 1),
)


def test_induction_cannot_be_dated_ahead() -> None:
    """An induction recorded for tomorrow is refused; today's or an earlier one is kept."""
    with pytest.raises(MemberError, match="induction_in_future"):
        record_induction(ANN, TODAY, TODAY + timedelta(days=1))
    assert record_induction(ANN, TODAY).induction_date == TODAY
    assert record_induction(ANN, TODAY, date(2026, 1, 1)).induction_date == date(
        2026, 1, 1
    )


def test_a_renewal_asks_for_a_new_induction_even_one_done_today() -> None:
    """After a renewal the old induction stops counting; an expiry not after today is refused."""
    renewed = renew_card(ANN, TODAY, date(2030, 1, 31))
    assert renewed.eligibility(TODAY) is Reason.INDUCTION_OUTDATED
    assert record_induction(renewed, TODAY).eligibility(TODAY) is Reason.GRANTED
    with pytest.raises(MemberError, match="expiry_not_after_renewal"):
        renew_card(ANN, TODAY, TODAY)


def test_a_bar_needs_a_review_after_today() -> None:
    """A bar reviewed today or earlier would lift itself: refused. A bar refuses the door."""
    with pytest.raises(MemberError, match="review_date_not_after_today"):
        bar_member(ANN, TODAY, "Abuse of staff", TODAY)
    barred = bar_member(ANN, TODAY, "Abuse of staff", TODAY + timedelta(days=90))
    assert barred.eligibility(TODAY) is Reason.BARRED
    assert (barred.restriction_date, barred.review_date) == (
        TODAY,
        TODAY + timedelta(days=90),
    )


def test_a_final_warning_cannot_soften_a_bar() -> None:
    """A barred member cannot be moved to a final warning (a lesser restriction) directly."""
    barred = bar_member(ANN, TODAY, "x", TODAY + timedelta(days=30))
    with pytest.raises(MemberError, match="member_barred") as err:
        issue_final_warning(barred, TODAY, "Noise")
    assert "20000001" not in str(err.value.placeholders)
    warned = issue_final_warning(ANN, TODAY, "Noise")
    assert warned.restriction is Restriction.FINAL_WARNING
    assert warned.eligibility(TODAY) is Reason.FINAL_WARNING


def test_lifting_clears_the_restriction_and_its_reason() -> None:
    """Lifting a bar leaves nothing of it behind (data minimisation)."""
    barred = bar_member(ANN, TODAY, "Abuse of staff", TODAY + timedelta(days=30))
    lifted = lift_restriction(barred)
    assert lifted.eligibility(TODAY) is Reason.GRANTED
    assert (
        lifted.restriction,
        lifted.restriction_date,
        lifted.review_date,
        lifted.restriction_reason,
    ) == (Restriction.NONE, None, None, "")


@pytest.mark.parametrize("text", ["\ud800", "Ann \udfff Reader"])
def test_text_with_a_lone_surrogate_is_refused(text: str) -> None:
    """A lone surrogate has no UTF-8 form: refused by name, never half-stored."""
    with pytest.raises(MemberError, match="invalid_text"):
        check_text(text, "name")
    with pytest.raises(MemberError, match="invalid_text"):
        check_member_fields(Member("20000002", date(1980, 1, 1), TODAY, text), TODAY)
    with pytest.raises(MemberError, match="invalid_text"):
        bar_member(ANN, TODAY, text, TODAY + timedelta(days=1))
    assert check_text("Zoë Ó Dálaigh 李", "name") == "Zoë Ó Dálaigh 李"


def test_a_reader_cannot_tell_a_members_card_from_a_strangers() -> None:
    """Unknown card, wrong PIN and no PIN set read the same at the door; the rest are kept."""
    assert public_reason(Reason.UNKNOWN_CARD) == NOT_RECOGNISED
    assert public_reason(Reason.WRONG_PIN) == NOT_RECOGNISED
    assert public_reason("wrong_pin") == NOT_RECOGNISED
    assert public_reason("no_pin_set") == NOT_RECOGNISED
    kept = set(Reason) - {Reason.UNKNOWN_CARD, Reason.WRONG_PIN, Reason.NO_PIN_SET}
    assert {public_reason(r) for r in kept} == {r.value for r in kept}
    assert public_reason("controller_unreachable") == "controller_unreachable"


LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 24, 18, 0, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (NOW, datetime(9999, 12, 31, 23, 59, 59, tzinfo=LONDON), "booking_too_long"),
        (
            datetime(9999, 12, 31, 20, tzinfo=ZoneInfo("America/New_York")),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("America/New_York")),
            "booking_too_far_ahead",
        ),
        (
            datetime(1, 1, 1, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
            datetime(1, 1, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo")),
            "booking_in_past",
        ),
        (NOW, NOW, "booking_end_before_start"),
        (NOW, NOW + timedelta(days=8), "booking_too_long"),
    ],
)
def test_a_booking_no_clock_can_reach_is_refused(
    start: datetime, end: datetime, code: str
) -> None:
    """Bookings ending in year 9999 (or starting in year 1) are refused, not overflowed."""
    with pytest.raises(MemberError, match=code):
        check_booking(start, end, NOW, "Knit and natter")
    check_booking(NOW, NOW + timedelta(hours=2), NOW, "Knit and natter")
