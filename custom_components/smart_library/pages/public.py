"""A library service's public pages at run time: its address, its branches, its induction desk.

One `PublicPages` per library service, built with its entry and kept in its runtime data. The
views (views.py) find it by the service's address (`slug`); everything a page shows is built
here from the branch's opening hours (`building.hours`), its public text and floor plan
(`store.py`), never from live building states.

Members read the pages in one of the service's languages (`languages`: the service option
`CONF_LANGUAGES`, the shipped ones among them, in the administrator's order): the one they
chose, else the one their browser prefers, else the first (views.py decides; `context` takes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util, slugify

from ..access.decisions import LibraryAccess
from ..branch import Branch
from ..const import CONF_LANGUAGES
from ..engine.building.opening import week_ahead
from ..engine.building.schedule import Mode
from ..helpers.texts import Catalogue, member_languages
from .induction import InductionDesk
from .render import PUBLIC_TEXTS, BranchView, Context
from .store import PagesStore, PlanInfo
from .wording import public_info

PUBLIC = "/api/smart_library/public"  # the one path a reverse proxy publishes
ASSETS = f"{PUBLIC}/_assets"

# The modes a branch is open in, as "Open now: ..." names them (texts: now.what.<mode>).
MODE_NOW = frozenset({Mode.STAFFED, Mode.SMART, Mode.EVENT})


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

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the languages members may read the pages in, the default first."""
        return member_languages(self.entry.options.get(CONF_LANGUAGES))

    def context(
        self, language: str, *, here: str = "", switch_form: str = ""
    ) -> Context:
        """Return what every page of the service needs, in a language (one of `languages`).

        `here` is the page's address (the language switch links to it), or `switch_form` the
        id of the form whose buttons switch (an induction step: its session stays).
        """
        cat = PUBLIC_TEXTS(language)
        return Context(
            service=self.entry.title,
            base=self.base,
            assets=ASSETS,
            info=public_info(self.store.data.info, cat),
            cat=cat,
            offered=self.languages,
            here=here,
            switch_form=switch_form,
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
    def now_text(branch: Branch, now: datetime, cat: Catalogue) -> tuple[str, bool]:
        """Return "open now" or "closed now" in words, from the opening hours (no alarms)."""
        hours = branch.hours
        if hours.mode.is_open:
            mode = hours.mode.value if hours.mode in MODE_NOW else "open"
            what = cat(f"now.what.{mode}")
            if hours.closes_at:
                until = f"{dt_util.as_local(hours.closes_at):%H:%M}"
                return cat("now.open_until", what=what, time=until), True
            return cat("now.open", what=what), True
        change = hours.next_change
        if change is not None and change[1].is_open:
            moment = dt_util.as_local(change[0])
            day = (
                cat("date.today")
                if moment.date() == dt_util.as_local(now).date()
                else cat(f"date.on_weekday.{moment.weekday()}")
            )
            kind = change[1].value if change[1] in MODE_NOW else "smart"
            return cat(
                "now.closed_opens",
                day=day,
                time=f"{moment:%H:%M}",
                kind=cat(f"now.kind.{kind}"),
            ), False
        return cat("now.closed"), False

    def branch_view(
        self, slug: str, branch: Branch, cat: Catalogue | None = None
    ) -> BranchView:
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
        text, is_open = self.now_text(branch, now, cat or PUBLIC_TEXTS(None))
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

    def branch_views(self, cat: Catalogue | None = None) -> list[BranchView]:
        """Return every branch's view, in name order."""
        return [self.branch_view(s, b, cat) for s, b in self.branch_slugs().items()]

    async def async_remove(self) -> None:
        """Delete the service's public text and files (the service was removed)."""
        await self.store.async_remove()
