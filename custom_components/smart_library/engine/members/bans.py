"""Bars and their reviews: the reminder when a review is due, lifting with an agreement.

Seed 003's banning policies (Kent's, in its appendices) review every bar on a date set when it is
given, and lift it against an acceptable-behaviour agreement the member signs. The member's bar
itself (`restriction`, `restriction_date`, `review_date`) is the membership rules'
(engine.membership); this module adds the review's rules on top:

- a bar whose review date has come (today or earlier) is *due*: staff get a reminder;
- a bar is kept at a review by moving its review date on (after today);
- lifting a bar records the date of the agreement, which cannot be a date to come.

The history of each bar (given, kept, lifted) is kept with the member's incidents in the
incident store, under the member's peppered digest and masked card only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from ..safety.incidents import IncidentError, MemberLink
from .membership import (
    Member,
    Restriction,
    card_key,
    lift_restriction,
    mask_card,
    normalise_card,
)
from .store import MembershipStore


def member_link(card: str, pepper: bytes) -> MemberLink:
    """Return how an incident or a bar's history names a member: digest and masked card."""
    return MemberLink(card_key(card, pepper), mask_card(normalise_card(card)))


def is_barred(member: Member) -> bool:
    """Return True when the member is barred."""
    return member.restriction is Restriction.BARRED


def reviews_due(members: Iterable[Member], today: date) -> list[Member]:
    """Return the barred members whose review date has come, earliest review first."""
    due = [
        m
        for m in members
        if is_barred(m) and m.review_date is not None and m.review_date <= today
    ]
    return sorted(due, key=lambda m: (m.review_date or today, m.card))


def barred(members: Iterable[Member]) -> list[Member]:
    """Return the barred members."""
    return [m for m in members if is_barred(m)]


def barred_members(store: MembershipStore) -> list[Member]:
    """Return every barred member of a membership store (blocking; reads every member).

    The member store has no query for bars yet; a service with 100,000 members reads them all
    once a day, in the executor.
    """
    return barred(store.members())


def keep_bar(member: Member, today: date, review_date: date) -> Member:
    """Return the member still barred, reviewed again on `review_date` (after today)."""
    if not is_barred(member):
        raise IncidentError("ban_not_barred", card=member.masked_card)
    if review_date <= today:
        raise IncidentError("ban_review_not_after_today")
    return replace(member, review_date=review_date)


def lift_bar(member: Member, today: date, agreement_date: date) -> Member:
    """Return the member with the bar lifted on an acceptable-behaviour agreement.

    The agreement must be signed already (today or before) and not before the bar was given.
    """
    if not is_barred(member):
        raise IncidentError("ban_not_barred", card=member.masked_card)
    if agreement_date > today:
        raise IncidentError("ban_agreement_in_future")
    if member.restriction_date is not None and agreement_date < member.restriction_date:
        raise IncidentError("ban_agreement_before_bar")
    return lift_restriction(member)
