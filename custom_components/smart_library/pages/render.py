"""The public pages' HTML: every value escaped, no inline script or style, nothing of Home Assistant.

Pages are built from plain data (the dataclasses below) by small functions; every text that
comes from an administrator, a branch or a member goes through `esc` (HTML-escaped, quotes
included) and only ever lands in element content or a quoted attribute. Every word of the pages'
own comes from the `public` texts (texts/public/<language>.json) in the member's language, the
context's catalogue; `<html lang>` and the language switch name only shipped language codes. Styles come from one
stylesheet and the only script (the video's "watched to the end") from one file, both served
beside the pages, so the pages' Content-Security-Policy forbids everything inline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html import escape
from urllib.parse import urlsplit

from ..engine.building.floorplan import Marker, MarkerKind
from ..engine.building.opening import DayHours
from ..engine.building.schedule import Mode
from ..engine.members.induction import InductionVersion, QuizResult, text_blocks
from ..engine.members.public import HelpNumber, PublicInfo
from ..helpers.texts import Catalogue, TextSet
from .induction import Notice

MEDIA_SUFFIXES = (".mp4", ".webm", ".ogv", ".ogg", ".m4v")
# The members' texts, every shipped language (read once, at import).
PUBLIC_TEXTS = TextSet("public")
# Each language by its own name, for the language switch.
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Cymraeg",
    "da": "Dansk",
    "nb": "Norsk bokmål",
    "sv": "Svenska",
}
MARKER_SHORT = {
    MarkerKind.DOOR: "D",
    MarkerKind.FIRE_EXIT: "E",
    MarkerKind.HELP_POINT: "H",
    MarkerKind.PA_ZONE: "A",
}


def esc(value: object) -> str:
    """Return text safe in HTML element content and in a quoted attribute."""
    return escape(str(value), quote=True)


def weekday(cat: Catalogue, day: date) -> str:
    """Return a day's name ("Monday")."""
    return cat(f"date.weekday.{day.weekday()}")


def day_month(cat: Catalogue, day: date) -> str:
    """Return "7 December" in the catalogue's language."""
    return cat("date.day_month", day=day.day, month=cat(f"date.month.{day.month}"))


def full_date(cat: Catalogue, day: date) -> str:
    """Return "7 December 2026" in the catalogue's language."""
    return cat(
        "date.full", day=day.day, month=cat(f"date.month.{day.month}"), year=day.year
    )


def language_switch(ctx: Context) -> str:
    """Return the language switch: each offered language by its own name (none for one)."""
    if len(ctx.offered) < 2 or not (ctx.here or ctx.switch_form):
        return ""
    items = []
    for code in ctx.offered:
        name = esc(LANGUAGE_NAMES[code])
        if code == ctx.language:
            items.append(
                f'<li><strong lang="{code}" aria-current="true">{name}</strong></li>'
            )
        elif ctx.switch_form:
            items.append(
                f'<li><button class="link" type="submit" form="{esc(ctx.switch_form)}" '
                f'name="go" value="lang:{code}" lang="{code}" formnovalidate>{name}</button></li>'
            )
        else:
            items.append(
                f'<li><a href="{esc(ctx.here)}?lang={code}" hreflang="{code}" lang="{code}">'
                f"{name}</a></li>"
            )
    return (
        f'<nav class="languages" aria-label="{esc(ctx.cat("page.languages"))}"><ul>'
        + "".join(items)
        + "</ul></nav>"
    )


@dataclass(frozen=True)
class Context:
    """The library service a page belongs to and where its addresses start."""

    service: str  # the service's name
    base: str  # the service's public address, e.g. /api/smart_library/public/shire-libraries
    assets: str  # where the stylesheet and the script are served
    info: PublicInfo  # in the page's language where it is the default wording
    cat: Catalogue = field(default_factory=lambda: PUBLIC_TEXTS("en"))
    offered: tuple[str, ...] = ("en",)  # the service's languages, shipped ones only
    here: str = ""  # the page's address: the language switch links to it with ?lang=
    switch_form: str = (
        ""  # or the id of the form whose buttons switch (induction steps)
    )

    @property
    def language(self) -> str:
        """Return the page's language (a shipped code)."""
        return self.cat.language


@dataclass(frozen=True)
class BranchView:
    """What a branch's public page shows: no personal data, no live state."""

    title: str
    url: str
    address: str
    note: str
    numbers: tuple[HelpNumber, ...]
    now: str  # "Open now: smart hours until 19:00" / "Closed now. Opens Tuesday at 09:00."
    is_open: bool
    days: Sequence[DayHours]
    today: date
    ics_url: str
    plan_url: str = ""  # "" when the branch has no floor plan
    plan_size: tuple[int, int] = (0, 0)
    markers: tuple[Marker, ...] = ()
    event_times: dict[str, str] = field(
        default_factory=dict
    )  # event id -> "19:30-21:00"


# -- the frame ---------------------------------------------------------------------------------


def document(
    ctx: Context, title: str, body: str, *, script: bool = False, heading: str = ""
) -> str:
    """Return a whole page: the service's name, the body, the stylesheet, maybe the script."""
    script_tag = (
        f'<script src="{esc(ctx.assets)}/induction.js" defer></script>'
        if script
        else ""
    )
    return (
        "<!doctype html>\n"
        f'<html lang="{esc(ctx.language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — {esc(ctx.service)}</title>"
        f'<link rel="icon" href="{esc(ctx.assets)}/icon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{esc(ctx.assets)}/pages.css">{script_tag}'
        "</head><body>"
        f'<header><a class="service" href="{esc(_link(ctx, ctx.base))}">{esc(ctx.service)}</a>'
        f"<span>{esc(ctx.cat('page.brand'))}</span>{language_switch(ctx)}</header>"
        f"<main>{heading}{body}</main>"
        "</body></html>\n"
    )


def blocks(text: str) -> str:
    """Return an administrator's light-markup text as headings, paragraphs and lists."""
    out = []
    for block in text_blocks(text):
        if block.kind == "heading":
            out.append(f"<h3>{esc(block.text)}</h3>")
        elif block.kind == "list":
            items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p>{esc(block.text)}</p>")
    return "".join(out)


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def alert(kind: str, text: str, title: str = "") -> str:
    """Return a notice box (kind: error, warning, info, success)."""
    heading = f"<strong>{esc(title)}</strong> " if title else ""
    role = ' role="alert"' if kind in ("error", "warning") else ""
    return f'<div class="alert {esc(kind)}"{role}>{heading}{esc(text)}</div>'


# -- hours and plans ---------------------------------------------------------------------------


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def day_line(cat: Catalogue, day: DayHours, event_times: dict[str, str]) -> str:
    """Return one day's hours: staffed and smart periods, the holiday, the events."""
    parts = []
    for period in day.periods:
        kind = esc(
            cat("hours.staffed" if period.mode is Mode.STAFFED else "hours.smart")
        )
        parts.append(
            f'<span class="period {period.mode.value}">{kind} '
            f"{_hhmm(period.start)}–{_hhmm(period.end)}</span>"
        )
    if not day.periods:
        parts.append(f'<span class="period closed">{esc(cat("hours.closed"))}</span>')
    if day.label:
        parts.append(f'<span class="label">{esc(day.label)}</span>')
    parts.extend(
        f'<span class="period event">{esc(e.title)} {esc(event_times.get(e.id, ""))}</span>'
        for e in day.events
    )
    return " ".join(parts)


def week_table(cat: Catalogue, branch: BranchView) -> str:
    """Return the week ahead as a table (today first)."""
    rows = []
    for day in branch.days:
        name = cat("hours.today") if day.day == branch.today else weekday(cat, day.day)
        rows.append(
            f'<tr><th scope="row">{esc(name)}<small>{esc(day_month(cat, day.day))}'
            f"</small></th><td>{day_line(cat, day, branch.event_times)}</td></tr>"
        )
    return (
        f'<table class="week"><caption>{esc(cat("hours.week_ahead"))}</caption>'
        + "".join(rows)
        + "</table>"
    )


def floor_plan(cat: Catalogue, branch: BranchView) -> str:
    """Return the floor plan with its markers drawn over it and a numbered legend.

    One inline SVG: the plan as an image (loaded from the branch's own address) and the markers
    as numbered circles, in the plan's own units so they scale with it. No live state.
    """
    if not branch.plan_url:
        return f'<p class="muted">{esc(cat("plan.none"))}</p>'
    width, height = branch.plan_size
    radius = max(width, height) * 0.018
    marks = []
    legend = []
    for number, marker in enumerate(branch.markers, start=1):
        x, y = marker.x / 100 * width, marker.y / 100 * height
        kind = marker.kind.value
        marks.append(
            f'<g class="marker {esc(kind)}"><circle cx="{x:.1f}" cy="{y:.1f}" '
            f'r="{radius:.1f}"/><text x="{x:.1f}" y="{y:.1f}" font-size="{radius:.1f}" '
            f'text-anchor="middle" dominant-baseline="central">{number}</text></g>'
        )
        kind_name = cat(f"plan.marker.{marker.kind.value}")
        label = marker.label or (
            marker.ref.replace("_", " ").capitalize() if marker.ref else kind_name
        )
        legend.append(
            f'<li class="{esc(kind)}"><span class="key">{number}</span> {esc(label)}'
            + (f" <small>({esc(kind_name)})</small>" if label != kind_name else "")
            + "</li>"
        )
    exits = sum(1 for m in branch.markers if m.kind is MarkerKind.FIRE_EXIT)
    caption = (
        cat.count("plan.caption_exits", exits, branch=branch.title)
        if exits
        else cat("plan.caption", branch=branch.title)
    )
    return (
        '<figure class="plan">'
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{esc(caption)}">'
        f'<image href="{esc(branch.plan_url)}" width="{width}" height="{height}"/>'
        + "".join(marks)
        + "</svg>"
        f"<figcaption>{esc(caption)}</figcaption>"
        + (f'<ol class="legend">{"".join(legend)}</ol>' if legend else "")
        + "</figure>"
    )


def numbers_list(cat: Catalogue, numbers: Iterable[HelpNumber]) -> str:
    """Return the help and emergency numbers, each a phone link."""
    items = []
    for n in numbers:
        if n.dial:
            items.append(
                f'<li><a href="tel:{esc(n.dial)}">{esc(n.number)}</a> '
                f"<span>{esc(n.label)}</span></li>"
            )
        else:
            items.append(
                f"<li><span>{esc(n.label)}</span> "
                f"<small>{esc(cat('branch.number_on_notice'))}</small></li>"
            )
    return '<ul class="numbers">' + "".join(items) + "</ul>"


# -- a branch's page ---------------------------------------------------------------------------


def branch_page(ctx: Context, branch: BranchView) -> str:
    """Return a branch's public page."""
    cat = ctx.cat
    today = branch.days[0] if branch.days else None
    status = "open" if branch.is_open else "closed"
    body = [
        f'<p class="now {status}">{esc(branch.now)}</p>',
    ]
    if branch.address:
        body.append(
            f"<address>{'<br>'.join(esc(x) for x in branch.address.split(chr(10)))}</address>"
        )
    if branch.note:
        body.append(f"<p>{esc(branch.note)}</p>")
    if today is not None:
        body.append(
            f"<section><h2>{esc(cat('hours.today'))}</h2>"
            f'<p class="today">{day_line(cat, today, branch.event_times)}</p>'
            f'<p class="muted">{esc(cat("branch.today_note"))}</p></section>'
        )
    body.append(f"<section>{week_table(cat, branch)}")
    body.append(
        f'<p><a class="button secondary" href="{esc(_link(ctx, branch.ics_url))}">'
        f"{esc(cat('branch.calendar'))}</a></p></section>"
    )
    body.append(
        f"<section><h2>{esc(cat('branch.floor_plan'))}</h2>"
        f"{floor_plan(cat, branch)}</section>"
    )
    info = ctx.info
    body.append(
        f"<section><h2>{esc(cat('branch.can'))}</h2>{_list(info.can)}"
        f"<h2>{esc(cat('branch.cannot'))}</h2>{_list(info.cannot)}</section>"
    )
    body.append(
        f"<section><h2>{esc(cat('branch.help'))}</h2>"
        f"{numbers_list(cat, (*branch.numbers, *info.numbers))}"
        f'<p class="muted">{esc(cat("branch.help_note"))}</p></section>'
    )
    body.append(_call_to_action(ctx, "branch.cta_branch"))
    return document(
        ctx, branch.title, "".join(body), heading=f"<h1>{esc(branch.title)}</h1>"
    )


def service_page(ctx: Context, branches: Sequence[BranchView]) -> str:
    """Return the service's page: its branches, open now or not, and the induction."""
    cat = ctx.cat
    items = "".join(
        f'<li><a href="{esc(_link(ctx, b.url))}">{esc(b.title)}</a> '
        f'<span class="now {"open" if b.is_open else "closed"}">{esc(b.now)}</span></li>'
        for b in branches
    )
    body = f'<ul class="branches">{items}</ul>' + _call_to_action(
        ctx, "branch.cta_service"
    )
    return document(
        ctx,
        cat("page.libraries_title"),
        body,
        heading=f"<h1>{esc(cat('page.libraries_heading'))}</h1>",
    )


def _link(ctx: Context, address: str) -> str:
    """Return one of the service's addresses, carrying the page's language when it was chosen."""
    if len(ctx.offered) < 2:
        return address
    return f"{address}?lang={ctx.language}"


def _call_to_action(ctx: Context, title: str) -> str:
    cat = ctx.cat
    return (
        f'<section class="cta"><h2>{esc(cat(title))}</h2>'
        f"<p>{esc(cat('branch.cta_text'))}</p>"
        f'<p><a class="button" href="{esc(_link(ctx, f"{ctx.base}/induction"))}">'
        f"{esc(cat('branch.start'))}</a></p></section>"
    )


# -- the induction -----------------------------------------------------------------------------


FORM_ID = "induction"  # the induction's form: the language switch's buttons send it


def _form(ctx: Context, inner: str, *, token: str = "", step: str = "") -> str:
    hidden = f'<input type="hidden" name="lang" value="{esc(ctx.language)}">'
    if token:
        hidden += (
            f'<input type="hidden" name="token" value="{esc(token)}">'
            f'<input type="hidden" name="step" value="{esc(step)}">'
        )
    return (
        f'<form id="{FORM_ID}" method="post" action="{esc(ctx.base)}/induction" '
        f'autocomplete="off">{hidden}{inner}</form>'
    )


SIGN_IN_MESSAGES = {
    "not_recognised": "error",
    "throttled": "warning",
    "unavailable": "warning",
    "session_ended": "info",
}


def sign_in_page(
    ctx: Context, *, message: str = "", locked_until: str = "", lockout: tuple[int, int]
) -> str:
    """Return the first page: what the induction is, then card and PIN."""
    cat = ctx.cat
    notice = ""
    if message == "locked_out":
        notice = alert(
            "error",
            cat("induction.locked", until=locked_until),
            cat("induction.locked_title"),
        )
    elif message in SIGN_IN_MESSAGES:
        notice = alert(SIGN_IN_MESSAGES[message], cat(f"induction.message.{message}"))
    attempts, minutes = lockout
    body = (
        f"<p>{esc(cat('induction.intro'))}</p>"
        f"<p>{esc(cat('induction.who'))}</p>"
        f"{notice}"
        + _form(
            ctx,
            f'<label for="card">{esc(cat("induction.card"))}</label>'
            '<input id="card" name="card" inputmode="text" autocomplete="off" '
            'autocapitalize="characters" spellcheck="false" maxlength="32" required>'
            f'<label for="pin">{esc(cat("induction.pin"))}</label>'
            '<input id="pin" name="pin" type="password" inputmode="numeric" '
            'autocomplete="off" maxlength="16" required>'
            '<button type="submit" name="go" value="sign_in">'
            f"{esc(cat('induction.start'))}</button>"
            f'<p class="muted">'
            f"{esc(cat('induction.lockout_note', attempts=attempts, minutes=minutes))}</p>",
        )
    )
    title = cat("induction.title")
    return document(ctx, title, body, heading=f"<h1>{esc(title)}</h1>")


REFUSALS = frozenset(
    {"staff_card", "under_16", "card_expired", "contact_library", "changed"}
)


def refusal_page(ctx: Context, outcome: str) -> str:
    """Return the page for a member who may not (or need not) do the induction."""
    cat = ctx.cat
    if outcome not in REFUSALS:
        outcome = "contact_library"
    title = cat(f"induction.refusal.{outcome}.title")
    text = cat(f"induction.refusal.{outcome}.text")
    extra = ""
    if outcome == "contact_library":
        extra = f"<p>{esc(ctx.info.contact)}</p>"
    body = (
        f"{alert('info', text)}{extra}"
        f'<p class="muted">{esc(cat("induction.nothing_recorded"))}</p>'
        f'<p><a class="button secondary" href="{esc(_link(ctx, ctx.base))}">'
        f"{esc(cat('page.libraries_heading'))}</a></p>"
    )
    return document(ctx, title, body, heading=f"<h1>{esc(title)}</h1>")


def step_title(cat: Catalogue, step: str) -> str:
    """Return the title of a step of the induction (video, branches, rules, quiz, agreement)."""
    return cat(f"induction.step.{step}")


def _progress(cat: Catalogue, steps: Sequence[str], current: str) -> str:
    items = []
    for number, step in enumerate(steps, start=1):
        state = "current" if step == current else ""
        aria = ' aria-current="step"' if step == current else ""
        items.append(
            f'<li class="{state}"{aria}>{number}. {esc(step_title(cat, step))}</li>'
        )
    return f'<ol class="progress">{"".join(items)}</ol>'


def _video(ctx: Context, version: InductionVersion, video_url: str) -> str:
    """Return the video step: a player that tells when it ended, or an embedded page."""
    cat = ctx.cat
    source = version.content.video
    url = video_url if source == "file" else source
    path = urlsplit(url).path.lower()
    confirm = esc(cat("induction.video.confirm"))
    if source == "file" or path.endswith(MEDIA_SUFFIXES):
        return (
            f"<p>{esc(cat('induction.video.watch'))}</p>"
            f'<video id="induction-video" controls preload="metadata" playsinline '
            f'src="{esc(url)}"></video>'
            '<input type="hidden" id="watched" name="watched" value="">'
            f'<p id="video-note" class="muted" hidden '
            f'data-watched="{esc(cat("induction.video.watched"))}">'
            f"{esc(cat('induction.video.note'))}</p>"
            '<noscript><label class="check"><input type="checkbox" name="watched" value="1" '
            f"required> {confirm}</label></noscript>"
        )
    return (
        f"<p>{esc(cat('induction.video.watch'))}</p>"
        f'<iframe class="video" src="{esc(url)}" '
        f'title="{esc(cat("induction.video.frame_title"))}" '
        'allow="fullscreen; picture-in-picture" referrerpolicy="no-referrer"></iframe>'
        f'<p><a href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
        f"{esc(cat('induction.video.open'))}</a></p>"
        '<label class="check"><input type="checkbox" name="watched" value="1" required> '
        f"{confirm}</label>"
    )


def _quiz(
    cat: Catalogue,
    version: InductionVersion,
    result: QuizResult | None,
    answers: Mapping[int, int],
) -> str:
    out = []
    if result is not None and not result.passed:
        out.append(
            alert(
                "warning",
                cat("induction.quiz.wrong"),
                cat("induction.quiz.wrong_title"),
            )
        )
    for number, question in enumerate(version.content.quiz):
        options = "".join(
            f'<label class="option"><input type="radio" name="q{number}" value="{i}" '
            f"required{' checked' if answers.get(number) == i else ''}> {esc(option)}</label>"
            for i, option in enumerate(question.options)
        )
        wrong = ""
        if result is not None and number in result.wrong:
            hint = f" {esc(question.hint)}" if question.hint else ""
            again = cat(
                "induction.quiz.read_again", section=step_title(cat, question.section)
            )
            wrong = (
                f'<div class="wrong" role="alert">{esc(cat("induction.quiz.not_quite"))}'
                f'{hint} <button class="link" type="submit" name="go" '
                f'value="back:{esc(question.section)}" formnovalidate>{esc(again)}'
                "</button></div>"
            )
        out.append(
            f'<fieldset class="question"><legend>{number + 1}. {esc(question.text)}'
            f"</legend>{options}{wrong}</fieldset>"
        )
    return "".join(out)


def step_page(
    ctx: Context,
    *,
    token: str,
    steps: Sequence[str],
    step: str,
    version: InductionVersion,
    branches: Sequence[BranchView],
    video_url: str,
    quiz: QuizResult | None,
    answers: Mapping[int, int] | None = None,
    error: str = "",
    already: date | None = None,
    notice: Notice | None = None,
) -> str:
    """Return the page of one step of the induction, in a form carrying the session's token."""
    cat = ctx.cat
    parts = [_progress(cat, steps, step)]
    if notice is not None and step == steps[0]:
        if notice.renewed_on is not None:
            why = cat("induction.renewed", date=full_date(cat, notice.renewed_on))
        else:
            why = f"{cat('induction.revised')} {notice.summary}".strip()
        parts.append(alert("info", why, cat("induction.why_again")))
    if already is not None and step == steps[0]:
        parts.append(
            alert("info", cat("induction.already", date=full_date(cat, already)))
        )
    if error in ("video_not_watched", "agree_needed"):
        parts.append(alert("error", cat(f"induction.error.{error}")))
    title = step_title(cat, step)
    inner = ""
    button = cat("induction.continue")
    if step == "video":
        inner = _video(ctx, version, video_url)
    elif step == "branches":
        inner = f"<p>{esc(cat('induction.branches_intro'))}</p>" + "".join(
            f'<section class="branch"><h2>{esc(b.title)}</h2>'
            f"{week_table(cat, b)}{floor_plan(cat, b)}"
            f'<p><a href="{esc(_link(ctx, b.url))}" target="_blank" rel="noopener">'
            f"{esc(cat('induction.branch_link', branch=b.title))}</a></p></section>"
            for b in branches
        )
    elif step == "rules":
        inner = f'<div class="rules">{blocks(version.content.rules)}</div>'
    elif step == "quiz":
        inner = _quiz(cat, version, quiz, answers or {})
        button = cat("induction.check_answers")
    elif step == "agreement":
        inner = (
            f'<div class="agreement">{blocks(version.content.agreement)}</div>'
            '<label class="check"><input type="checkbox" name="agree" value="yes" required> '
            f"{esc(cat('induction.agree'))}</label>"
        )
        button = cat("induction.complete_button")
    back = ""
    position = steps.index(step)
    if position > 0:
        previous = steps[position - 1]
        back = (
            f'<button class="secondary" type="submit" name="go" value="back:{esc(previous)}" '
            f"formnovalidate>{esc(cat('induction.back'))}</button>"
        )
    parts.append(
        _form(
            ctx,
            f'{inner}<div class="actions">{back}<button id="continue" type="submit" '
            f'name="go" value="next">{esc(button)}</button></div>',
            token=token,
            step=step,
        )
    )
    return document(
        ctx,
        cat("induction.page_title", step=title),
        "".join(parts),
        script=step == "video",
        heading=f"<h1>{esc(title)}</h1>",
    )


def complete_page(
    ctx: Context, *, version: int, day: date, branches: Sequence[BranchView]
) -> str:
    """Return the last page: "Induction complete"."""
    cat = ctx.cat
    links = "".join(
        f'<li><a href="{esc(_link(ctx, b.url))}">{esc(b.title)}</a></li>'
        for b in branches
    )
    title = cat("induction.complete.title")
    body = (
        alert("success", cat("induction.complete.access", service=ctx.service))
        + '<p class="muted">'
        + esc(
            cat(
                "induction.complete.recorded",
                date=full_date(cat, day),
                version=version,
            )
        )
        + "</p>"
        f"<p>{esc(cat('induction.complete.renew'))}</p>"
        f"<h2>{esc(cat('induction.complete.libraries'))}</h2>"
        f'<ul class="branches">{links}</ul>'
    )
    return document(ctx, title, body, heading=f"<h1>{esc(title)}</h1>")


def format_moment(moment: datetime) -> str:
    """Return a time for a member: 14:05, or Tuesday 14:05 when not today."""
    return moment.strftime("%H:%M")
