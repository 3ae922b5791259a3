"""The public pages' HTML: every value escaped, no inline script or style, nothing of Home Assistant.

Pages are built from plain data (the dataclasses below) by small functions; every text that
comes from an administrator, a branch or a member goes through `esc` (HTML-escaped, quotes
included) and only ever lands in element content or a quoted attribute. Styles come from one
stylesheet and the only script (the video's "watched to the end") from one file, both served
beside the pages, so the pages' Content-Security-Policy forbids everything inline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from html import escape
from urllib.parse import urlsplit

from ..engine.building.floorplan import MARKER_LABELS, Marker, MarkerKind
from ..engine.building.opening import DayHours
from ..engine.building.schedule import Mode
from ..engine.members.induction import (
    SECTION_TITLES,
    InductionVersion,
    QuizResult,
    text_blocks,
)
from ..engine.members.public import HelpNumber, PublicInfo

MEDIA_SUFFIXES = (".mp4", ".webm", ".ogv", ".ogg", ".m4v")
STEP_TITLES = SECTION_TITLES | {"quiz": "A short quiz"}
MARKER_SHORT = {
    MarkerKind.DOOR: "D",
    MarkerKind.FIRE_EXIT: "E",
    MarkerKind.HELP_POINT: "H",
    MarkerKind.PA_ZONE: "A",
}


def esc(value: object) -> str:
    """Return text safe in HTML element content and in a quoted attribute."""
    return escape(str(value), quote=True)


@dataclass(frozen=True)
class Context:
    """The library service a page belongs to and where its addresses start."""

    service: str  # the service's name
    base: str  # the service's public address, e.g. /api/smart_library/public/shire-libraries
    assets: str  # where the stylesheet and the script are served
    info: PublicInfo


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
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — {esc(ctx.service)}</title>"
        f'<link rel="icon" href="{esc(ctx.assets)}/icon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{esc(ctx.assets)}/pages.css">{script_tag}'
        "</head><body>"
        f'<header><a class="service" href="{esc(ctx.base)}">{esc(ctx.service)}</a>'
        f"<span>Smart Libraries</span></header>"
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


def day_line(day: DayHours, event_times: dict[str, str]) -> str:
    """Return one day's hours: staffed and smart periods, the holiday, the events."""
    parts = []
    for period in day.periods:
        kind = "Staffed" if period.mode is Mode.STAFFED else "Smart"
        parts.append(
            f'<span class="period {period.mode.value}">{kind} '
            f"{_hhmm(period.start)}–{_hhmm(period.end)}</span>"
        )
    if not day.periods:
        parts.append('<span class="period closed">Closed</span>')
    if day.label:
        parts.append(f'<span class="label">{esc(day.label)}</span>')
    parts.extend(
        f'<span class="period event">{esc(e.title)} {esc(event_times.get(e.id, ""))}</span>'
        for e in day.events
    )
    return " ".join(parts)


def week_table(branch: BranchView) -> str:
    """Return the week ahead as a table (today first)."""
    rows = []
    for day in branch.days:
        name = "Today" if day.day == branch.today else day.day.strftime("%A")
        rows.append(
            f'<tr><th scope="row">{esc(name)}<small>{esc(day.day.strftime("%d %B"))}'
            f"</small></th><td>{day_line(day, branch.event_times)}</td></tr>"
        )
    return (
        '<table class="week"><caption>The week ahead</caption>'
        + "".join(rows)
        + "</table>"
    )


def floor_plan(branch: BranchView) -> str:
    """Return the floor plan with its markers drawn over it and a numbered legend.

    One inline SVG: the plan as an image (loaded from the branch's own address) and the markers
    as numbered circles, in the plan's own units so they scale with it. No live state.
    """
    if not branch.plan_url:
        return '<p class="muted">No floor plan has been added for this library yet.</p>'
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
        label = marker.label or (
            marker.ref.replace("_", " ").capitalize()
            if marker.ref
            else MARKER_LABELS[marker.kind]
        )
        kind_name = MARKER_LABELS[marker.kind]
        legend.append(
            f'<li class="{esc(kind)}"><span class="key">{number}</span> {esc(label)}'
            + (f" <small>({esc(kind_name)})</small>" if label != kind_name else "")
            + "</li>"
        )
    exits = sum(1 for m in branch.markers if m.kind is MarkerKind.FIRE_EXIT)
    caption = f"Floor plan of {branch.title}" + (
        f", {exits} fire exit{'s' if exits != 1 else ''} marked" if exits else ""
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


def numbers_list(numbers: Iterable[HelpNumber]) -> str:
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
                f"<li><span>{esc(n.label)}</span> <small>the number is on the notice "
                f"beside the library phone</small></li>"
            )
    return '<ul class="numbers">' + "".join(items) + "</ul>"


# -- a branch's page ---------------------------------------------------------------------------


def branch_page(ctx: Context, branch: BranchView) -> str:
    """Return a branch's public page."""
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
            f'<section><h2>Today</h2><p class="today">{day_line(today, branch.event_times)}</p>'
            '<p class="muted">Staffed: library staff are there. Smart: members aged 16 or '
            "over who have done the induction come in with their card and PIN.</p></section>"
        )
    body.append(f"<section>{week_table(branch)}")
    body.append(
        f'<p><a class="button secondary" href="{esc(branch.ics_url)}">'
        "Opening hours calendar (iCalendar)</a></p></section>"
    )
    body.append(f"<section><h2>Floor plan</h2>{floor_plan(branch)}</section>")
    info = ctx.info
    body.append(
        "<section><h2>In smart hours you can</h2>"
        f"{_list(info.can)}<h2>In smart hours you cannot</h2>{_list(info.cannot)}</section>"
    )
    body.append(
        "<section><h2>Help and emergencies</h2>"
        f"{numbers_list((*branch.numbers, *info.numbers))}"
        '<p class="muted">A phone on the library counter has these numbers beside it. '
        "There is a first aid box; the fire alarm sounds and flashes: leave by the nearest "
        "exit.</p></section>"
    )
    body.append(
        '<section class="cta"><h2>Use this library in smart hours</h2>'
        "<p>Members aged 16 or over complete the Smart Library induction once, online.</p>"
        f'<p><a class="button" href="{esc(ctx.base)}/induction">Start the induction</a></p>'
        "</section>"
    )
    return document(
        ctx, branch.title, "".join(body), heading=f"<h1>{esc(branch.title)}</h1>"
    )


def service_page(ctx: Context, branches: Sequence[BranchView]) -> str:
    """Return the service's page: its branches, open now or not, and the induction."""
    items = "".join(
        f'<li><a href="{esc(b.url)}">{esc(b.title)}</a> '
        f'<span class="now {"open" if b.is_open else "closed"}">{esc(b.now)}</span></li>'
        for b in branches
    )
    body = (
        f'<ul class="branches">{items}</ul>'
        '<section class="cta"><h2>Use a Smart Library in smart hours</h2>'
        "<p>Members aged 16 or over complete the Smart Library induction once, online.</p>"
        f'<p><a class="button" href="{esc(ctx.base)}/induction">Start the induction</a></p>'
        "</section>"
    )
    return document(ctx, "Libraries", body, heading="<h1>Our libraries</h1>")


# -- the induction -----------------------------------------------------------------------------


def _form(ctx: Context, inner: str, *, token: str = "", step: str = "") -> str:
    hidden = ""
    if token:
        hidden = (
            f'<input type="hidden" name="token" value="{esc(token)}">'
            f'<input type="hidden" name="step" value="{esc(step)}">'
        )
    return (
        f'<form method="post" action="{esc(ctx.base)}/induction" autocomplete="off">'
        f"{hidden}{inner}</form>"
    )


SIGN_IN_MESSAGES = {
    "not_recognised": (
        "error",
        "Card number or PIN not recognised. Check them and try again.",
    ),
    "throttled": ("warning", "Too many attempts. Please wait and try again later."),
    "unavailable": (
        "warning",
        "The induction cannot be done just now. Please try again later.",
    ),
    "session_ended": (
        "info",
        "That induction page has expired or was already completed. Sign in again to start.",
    ),
}


def sign_in_page(
    ctx: Context, *, message: str = "", locked_until: str = "", lockout: tuple[int, int]
) -> str:
    """Return the first page: what the induction is, then card and PIN."""
    notice = ""
    if message == "locked_out":
        notice = alert(
            "error",
            "This card is locked after too many wrong PINs, here and at every library "
            f"door, until {locked_until}. Try again then, or ask staff.",
            "Card locked.",
        )
    elif message in SIGN_IN_MESSAGES:
        kind, text = SIGN_IN_MESSAGES[message]
        notice = alert(kind, text)
    attempts, minutes = lockout
    body = (
        "<p>To use a Smart Library when no staff are there (smart hours) you complete this "
        "induction once: the video, the floor plans and opening hours, the access rules, a "
        "short quiz and the agreement. It takes a few minutes.</p>"
        "<p>You need to be a library member aged 16 or over, with your library card and "
        "PIN.</p>"
        f"{notice}"
        + _form(
            ctx,
            '<label for="card">Library card number</label>'
            '<input id="card" name="card" inputmode="text" autocomplete="off" '
            'autocapitalize="characters" spellcheck="false" maxlength="32" required>'
            '<label for="pin">PIN</label>'
            '<input id="pin" name="pin" type="password" inputmode="numeric" '
            'autocomplete="off" maxlength="16" required>'
            '<button type="submit" name="go" value="sign_in">Start the induction</button>'
            f'<p class="muted">{attempts} wrong PINs lock the card for {minutes} minutes, '
            "here and at the library doors.</p>",
        )
    )
    return document(
        ctx, "Smart Library induction", body, heading="<h1>Smart Library induction</h1>"
    )


REFUSALS = {
    "staff_card": (
        "Staff and contractor cards need no induction",
        "This card opens the doors in its own hours.",
    ),
    "under_16": (
        "Under-16s cannot complete the Smart Library induction",
        (
            "You can still use a Smart Library in smart hours when a parent or guardian over 18 "
            "comes in with you: they must be a member who has completed this induction, and at "
            "the door they scan their card and enter their PIN for you both. In staffed hours "
            "you can come in as usual."
        ),
    ),
    "card_expired": (
        "Your library card has expired",
        (
            "Renew it at your local library during staffed hours, then complete this induction: "
            "a renewed card needs a new induction before it opens the doors."
        ),
    ),
    "contact_library": (
        "Please contact the library",
        "Smart access cannot be given to this card online.",
    ),
    "changed": (
        "The induction has just changed",
        (
            "A new version of the induction was published while you were going through it. "
            "Please sign in again and go through the new version."
        ),
    ),
}


def refusal_page(ctx: Context, outcome: str) -> str:
    """Return the page for a member who may not (or need not) do the induction."""
    title, text = REFUSALS[outcome]
    extra = ""
    if outcome == "contact_library":
        extra = f"<p>{esc(ctx.info.contact)}</p>"
    body = (
        f"{alert('info', text)}{extra}"
        '<p class="muted">Nothing has been recorded.</p>'
        f'<p><a class="button secondary" href="{esc(ctx.base)}">Our libraries</a></p>'
    )
    return document(ctx, title, body, heading=f"<h1>{esc(title)}</h1>")


def _progress(steps: Sequence[str], current: str) -> str:
    items = []
    for number, step in enumerate(steps, start=1):
        state = "current" if step == current else ""
        aria = ' aria-current="step"' if step == current else ""
        items.append(
            f'<li class="{state}"{aria}>{number}. {esc(STEP_TITLES[step])}</li>'
        )
    return f'<ol class="progress">{"".join(items)}</ol>'


def _video(ctx: Context, version: InductionVersion, video_url: str) -> str:
    """Return the video step: a player that tells when it ended, or an embedded page."""
    source = version.content.video
    url = video_url if source == "file" else source
    path = urlsplit(url).path.lower()
    if source == "file" or path.endswith(MEDIA_SUFFIXES):
        return (
            "<p>Please watch the induction video all the way through.</p>"
            f'<video id="induction-video" controls preload="metadata" playsinline '
            f'src="{esc(url)}"></video>'
            '<input type="hidden" id="watched" name="watched" value="">'
            '<p id="video-note" class="muted" hidden>Continue is available once the video has '
            "played to the end.</p>"
            '<noscript><label class="check"><input type="checkbox" name="watched" value="1" '
            "required> I have watched the video all the way through</label></noscript>"
        )
    return (
        "<p>Please watch the induction video all the way through.</p>"
        f'<iframe class="video" src="{esc(url)}" title="Induction video" '
        'allow="fullscreen; picture-in-picture" referrerpolicy="no-referrer"></iframe>'
        f'<p><a href="{esc(url)}" target="_blank" rel="noopener noreferrer">Open the video '
        "in a new tab</a></p>"
        '<label class="check"><input type="checkbox" name="watched" value="1" required> '
        "I have watched the video all the way through</label>"
    )


def _quiz(
    version: InductionVersion, result: QuizResult | None, answers: Mapping[int, int]
) -> str:
    out = []
    if result is not None and not result.passed:
        out.append(
            alert(
                "warning",
                "Some answers are not right yet. Read the parts shown again, then answer "
                "again.",
                "Not quite.",
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
            wrong = (
                f'<div class="wrong" role="alert">Not quite.{hint} '
                f'<button class="link" type="submit" name="go" '
                f'value="back:{esc(question.section)}" formnovalidate>Read again: '
                f"{esc(STEP_TITLES[question.section])}</button></div>"
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
    notice: str = "",
) -> str:
    """Return the page of one step of the induction, in a form carrying the session's token."""
    parts = [_progress(steps, step)]
    if notice and step == steps[0]:
        parts.append(alert("info", notice, "Why again?"))
    if already is not None and step == steps[0]:
        parts.append(
            alert(
                "info",
                f"You completed this version of the induction on {already:%d %B %Y}. "
                "You may go through it again.",
            )
        )
    if error == "video_not_watched":
        parts.append(
            alert("error", "Please watch the video all the way through first.")
        )
    elif error == "agree_needed":
        parts.append(alert("error", "Please tick the box to agree."))
    title = STEP_TITLES[step]
    inner = ""
    button = "Continue"
    if step == "video":
        inner = _video(ctx, version, video_url)
    elif step == "branches":
        inner = (
            "<p>Take time to get to know the opening hours, smart opening hours and floor "
            "plans of the libraries you will visit, and where their exits are.</p>"
            + "".join(
                f'<section class="branch"><h2>{esc(b.title)}</h2>'
                f"{week_table(b)}{floor_plan(b)}"
                f'<p><a href="{esc(b.url)}" target="_blank" rel="noopener">The page of '
                f"{esc(b.title)}</a></p></section>"
                for b in branches
            )
        )
    elif step == "rules":
        inner = f'<div class="rules">{blocks(version.content.rules)}</div>'
    elif step == "quiz":
        inner = _quiz(version, quiz, answers or {})
        button = "Check my answers"
    elif step == "agreement":
        inner = (
            f'<div class="agreement">{blocks(version.content.agreement)}</div>'
            '<label class="check"><input type="checkbox" name="agree" value="yes" required> '
            "I agree</label>"
        )
        button = "Complete my induction"
    back = ""
    position = steps.index(step)
    if position > 0:
        previous = steps[position - 1]
        back = (
            f'<button class="secondary" type="submit" name="go" value="back:{esc(previous)}" '
            "formnovalidate>Back</button>"
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
        f"Induction: {title}",
        "".join(parts),
        script=step == "video",
        heading=f"<h1>{esc(title)}</h1>",
    )


def complete_page(
    ctx: Context, *, version: int, day: date, branches: Sequence[BranchView]
) -> str:
    """Return the last page: "Induction complete"."""
    links = "".join(
        f'<li><a href="{esc(b.url)}">{esc(b.title)}</a></li>' for b in branches
    )
    body = (
        alert(
            "success",
            f"Your card now opens the doors of the Smart Libraries of {ctx.service} in "
            "smart hours, with your PIN.",
        )
        + f'<p class="muted">Recorded: {day:%d %B %Y}, induction version {version}, '
        "online.</p>"
        "<p>Your smart access is linked to your library card. When it expires, renew it at "
        "your local library; you will then need to complete the induction again before your "
        "access is restored, so that you are up to date with any changes in our libraries.</p>"
        f'<h2>Our libraries</h2><ul class="branches">{links}</ul>'
    )
    return document(
        ctx, "Induction complete", body, heading="<h1>Induction complete</h1>"
    )


def format_moment(moment: datetime) -> str:
    """Return a time for a member: 14:05, or Tuesday 14:05 when not today."""
    return moment.strftime("%H:%M")
