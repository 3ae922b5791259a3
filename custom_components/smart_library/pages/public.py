"""A library service's public pages at run time: its address, its branches, its induction desk.

One `PublicPages` per library service, built with its entry and kept in its runtime data. The
views (views.py) find it by the service's address (`slug`); everything a page shows is built
here from the branch's opening hours (`building.hours`), its public text and floor plan
(`store.py`), never from live building states.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util, slugify

from ..access.decisions import LibraryAccess
from ..branch import Branch
from ..engine.building.opening import week_ahead
from ..engine.building.schedule import Mode
from .induction import InductionDesk
from .render import BranchView, Context
from .store import PagesStore, PlanInfo

PUBLIC = "/api/smart_library/public"  # the one path a reverse proxy publishes
ASSETS = f"{PUBLIC}/_assets"

MODE_NOW = {
    Mode.STAFFED: "staffed hours",
    Mode.SMART: "smart hours (members with card and PIN)",
    Mode.EVENT: "an event",
}


def slug_of(title: str) -> str:
    """Return the address part of a service's or branch's name."""
    return slugify(title, separator="-") or "library"


class PublicPages:
    """The public pages of one library service."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        branches: Mapping[str, Branch],
        access: LibraryAccess,
        store: PagesStore,
    ) -> None:
        """Serve `entry`'s branches; members sign in through `access`."""
        self.hass = hass
        self.entry = entry
        self.branches = branches
        self.access = access
        self.store = store
        self.desk = InductionDesk(hass, entry.entry_id, access, entry.title)

    @property
    def slug(self) -> str:
        """Return the service's part of the public address."""
        return slug_of(self.entry.title)

    @property
    def base(self) -> str:
        """Return the service's public address."""
        return f"{PUBLIC}/{self.slug}"

    def context(self) -> Context:
        """Return what every page of the service needs."""
        return Context(
            service=self.entry.title,
            base=self.base,
            assets=ASSETS,
            info=self.store.data.info,
        )

    def branch_slugs(self) -> dict[str, Branch]:
        """Return the branches by their address part, in name order (clashes numbered)."""
        found: dict[str, Branch] = {}
        for branch in sorted(self.branches.values(), key=lambda b: b.title.casefold()):
            slug = base = slug_of(branch.title)
            number = 1
            while slug in found:
                number += 1
                slug = f"{base}-{number}"
            found[slug] = branch
        return found

    def branch_by_slug(self, slug: str) -> tuple[str, Branch] | None:
        """Return a branch (and its address part) by its address part, or None."""
        branch = self.branch_slugs().get(slug)
        return (slug, branch) if branch is not None else None

    def branch_url(self, slug: str) -> str:
        """Return a branch's public page address."""
        return f"{self.base}/branches/{slug}"

    def plan_url(self, branch_id: str, slug: str) -> str:
        """Return a branch's floor plan address, versioned by its content ("" if none)."""
        plan = self.store.data.plans.get(branch_id)
        if plan is None:
            return ""
        return f"{self.branch_url(slug)}/floor-plan?v={plan.version}"

    def plan_of(self, branch_id: str) -> tuple[str, PlanInfo] | None:
        """Return a branch's floor plan address and info (for the staff dashboard), or None."""
        plan = self.store.data.plans.get(branch_id)
        if plan is None:
            return None
        for slug, branch in self.branch_slugs().items():
            if branch.id == branch_id:
                return self.plan_url(branch_id, slug), plan
        return None

    def video_url(self) -> str:
        """Return the induction video file's address (versioned)."""
        video = self.store.data.video
        return f"{self.base}/induction/video?v={video.version}" if video else ""

    @staticmethod
    def now_text(branch: Branch, now: datetime) -> tuple[str, bool]:
        """Return "open now" or "closed now" in words, from the opening hours (no alarms)."""
        hours = branch.hours
        if hours.mode.is_open:
            what = MODE_NOW.get(hours.mode, "open")
            until = (
                f" until {dt_util.as_local(hours.closes_at):%H:%M}"
                if hours.closes_at
                else ""
            )
            return f"Open now: {what}{until}.", True
        change = hours.next_change
        if change is not None and change[1].is_open:
            moment = dt_util.as_local(change[0])
            day = (
                "today"
                if moment.date() == dt_util.as_local(now).date()
                else moment.strftime("%A")
            )
            kind = "staffed" if change[1] is Mode.STAFFED else change[1].value
            return f"Closed now. Opens {day} at {moment:%H:%M} ({kind}).", False
        return "Closed now.", False

    def branch_view(self, slug: str, branch: Branch) -> BranchView:
        """Return what the branch's public page and the induction show of it."""
        now = dt_util.now()
        zone = dt_util.get_default_time_zone()
        schedule = branch.hours.schedule
        days = week_ahead(schedule, now.date(), zone)
        times = {
            e.id: f"{dt_util.as_local(e.start):%H:%M}–{dt_util.as_local(e.end):%H:%M}"
            for e in schedule.events
        }
        page = self.store.branch(branch.id)
        plan = self.store.data.plans.get(branch.id)
        text, is_open = self.now_text(branch, now)
        url = self.branch_url(slug)
        return BranchView(
            title=branch.title,
            url=url,
            address=page.address,
            note=page.note,
            numbers=page.numbers,
            now=text,
            is_open=is_open,
            days=days,
            today=now.date(),
            ics_url=f"{url}/hours.ics",
            plan_url=self.plan_url(branch.id, slug),
            plan_size=(plan.width, plan.height) if plan else (0, 0),
            markers=plan.markers if plan else (),
            event_times=times,
        )

    def branch_views(self) -> list[BranchView]:
        """Return every branch's view, in name order."""
        return [self.branch_view(s, b) for s, b in self.branch_slugs().items()]

    async def async_remove(self) -> None:
        """Delete the service's public text and files (the service was removed)."""
        await self.store.async_remove()
