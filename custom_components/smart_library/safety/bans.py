"""Bars under review: a repair issue when a review date comes; lifting on an agreement.

The bar itself is the membership rules' (`bar_member` gives it with a review date). Every day,
and at start, each barred member whose review date has come raises a repair issue for the
administrators ("Review the bar of card ••••0001, given 1 November, review due 1 December, 2
incidents"); the issue goes when the bar is lifted (`lift_ban`, with the date of the member's
acceptable-behaviour agreement) or kept until a later review (`keep_ban`).

Each step of a bar (given, kept, lifted with its agreement's date) is kept in the incident store
beside the member's incidents, under the member's peppered digest and masked card; retention
keeps both while the bar lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from ..access.decisions import LibraryAccess
from ..const import DOMAIN
from ..engine.members import bans
from ..engine.members.membership import Member, MemberError
from ..engine.safety.incident_store import BanEvent
from ..engine.safety.incidents import IncidentError, MemberLink
from ..helpers.errors import translated
from .common import SafetyBase
from .incidents import IncidentLog

ISSUE_BAN_REVIEW = "ban_review"


def _day(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else "-"


class BanReviews:
    """The bar reviews of one library service."""

    def __init__(self, runtime: SafetyBase, log: IncidentLog) -> None:
        """Use the service's member store and incident store."""
        self.runtime = runtime
        self.log = log
        self.hass = runtime.hass

    @property
    def access(self) -> LibraryAccess:
        """Return the service's membership access (its member store and pepper)."""
        access: LibraryAccess = self.runtime.entry.runtime_data.access
        return access

    def _issue_prefix(self) -> str:
        return f"{ISSUE_BAN_REVIEW}_{self.runtime.entry.entry_id}_"

    def _note_bar(self, member: Member, link: MemberLink, by: str = "") -> None:
        """Record the bar's start in its history, once (blocking)."""
        store = self.log.store
        on = member.restriction_date or dt_util.now().date()
        if not any(
            e.event == "barred" and e.on == on for e in store.ban_history(link.key)
        ):
            store.record_ban(
                BanEvent(
                    link, "barred", on, member.review_date, by=by, at=dt_util.utcnow()
                )
            )

    async def async_check(self, today: date) -> set[str]:
        """Raise a repair issue for each bar due for review; return the barred members' keys.

        (Retention keeps the incidents of those members.)
        """
        access = self.access
        store = self.log.store

        def scan() -> tuple[list[tuple[Member, MemberLink, int]], set[str]]:
            barred = bans.barred_members(access.store)
            links = {m.card: bans.member_link(m.card, access.pepper) for m in barred}
            for member in barred:
                self._note_bar(member, links[member.card])
            due = [
                (m, links[m.card], len(store.incidents(member_key=links[m.card].key)))
                for m in bans.reviews_due(barred, today)
            ]
            return due, {link.key for link in links.values()}

        due, keep = await self.log.async_run(scan)
        registry = ir.async_get(self.hass)
        wanted = set()
        for member, link, count in due:
            issue_id = f"{self._issue_prefix()}{link.key[:16]}"
            wanted.add(issue_id)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_BAN_REVIEW,
                translation_placeholders={
                    "card": link.card,
                    "barred_on": _day(member.restriction_date),
                    "review_date": _day(member.review_date),
                    "incidents": str(count),
                    "service": self.runtime.entry.title,
                },
            )
        for domain, issue_id in list(registry.issues):
            if (
                domain == DOMAIN
                and issue_id.startswith(self._issue_prefix())
                and issue_id not in wanted
            ):
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        return keep

    async def _async_change(self, job: Callable[[], Member]) -> Member:
        """Run a change of a member's bar and its history in the executor; translate errors."""
        try:
            member = await self.hass.async_add_executor_job(job)
        except MemberError as err:
            raise translated(err) from None
        except IncidentError as err:
            raise translated(err) from None
        await self.async_check(dt_util.now().date())
        return member

    async def async_lift(self, card: str, agreement: date, by: str) -> Member:
        """Lift a bar on the member's acceptable-behaviour agreement signed on `agreement`."""
        access = self.access
        store = self.log.store
        today = dt_util.now().date()
        before: list[Member] = []

        def edit(member: Member) -> Member:
            before.append(member)
            return bans.lift_bar(member, today, agreement)

        def lift() -> Member:
            link = bans.member_link(card, access.pepper)
            lifted = access.store.change(card, edit)
            self._note_bar(before[0], link)
            store.record_ban(
                BanEvent(
                    link,
                    "lifted",
                    today,
                    agreement_date=agreement,
                    by=by,
                    at=dt_util.utcnow(),
                )
            )
            return lifted

        return await self._async_change(lift)

    async def async_keep(self, card: str, review_date: date, by: str) -> Member:
        """Keep a bar after its review, until a later review date."""
        access = self.access
        store = self.log.store
        today = dt_util.now().date()

        def keep() -> Member:
            link = bans.member_link(card, access.pepper)
            kept = access.store.change(
                card, lambda m: bans.keep_bar(m, today, review_date)
            )
            self._note_bar(kept, link)
            store.record_ban(
                BanEvent(
                    link,
                    "kept",
                    today,
                    review_date=review_date,
                    by=by,
                    at=dt_util.utcnow(),
                )
            )
            return kept

        return await self._async_change(keep)

    async def async_history(self, card: str) -> JsonObjectType:
        """Return a member's bar history and incidents (masked card only)."""
        access = self.access
        store = self.log.store
        zone = dt_util.get_default_time_zone()

        def read() -> JsonObjectType:
            link = bans.member_link(card, access.pepper)
            member = access.store.member(card)
            return {
                "card": link.card,
                "restriction": member.restriction.value if member else None,
                "review_date": member.review_date.isoformat()
                if member and member.review_date
                else None,
                "bar_history": [
                    {
                        "event": e.event,
                        "on": e.on.isoformat(),
                        "review_date": e.review_date.isoformat()
                        if e.review_date
                        else None,
                        "agreement_date": e.agreement_date.isoformat()
                        if e.agreement_date
                        else None,
                        "by": e.by,
                    }
                    for e in store.ban_history(link.key)
                ],
                "incidents": [
                    {
                        "id": i.id,
                        "summary": i.summary(zone),
                        "status": i.status.value,
                    }
                    for i in store.incidents(member_key=link.key)
                ],
            }

        try:
            return await self.hass.async_add_executor_job(read)
        except MemberError as err:
            raise translated(err) from None
