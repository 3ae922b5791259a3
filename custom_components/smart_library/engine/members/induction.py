"""The smart library induction: its content, its versions, the quiz and how answers are checked.

Seed 001: "To use a Smart Library during smart hours you must complete an induction": (1) the
induction video, watched all the way through; (2) the floor plans and the staffed and smart
opening hours of the libraries the member will visit; (3) the access rules (what can and cannot
be done in smart hours, CCTV, emergency evacuation, barred members and final warnings); then
"Induction complete". After a card renewal a new induction is needed before access is restored.

Here the content of one library service's induction is an `InductionContent`: the video (none,
the file the library provided, or a web address), the rules as editable text (the seeds' wording
by default), a short quiz (each question points to the part to read again when it is answered
wrong) and the agreement the member accepts. Administrators publish it as numbered versions
(`InductionVersion`); one marked *significant* asks every member inducted on an older version to
do it again before their next visit (`required_version`). Version 1 is the default wording.

Texts are plain text with a light markup (`text_blocks`): `## ` starts a heading, `- ` a list
item, a blank line a new paragraph. Nothing in them is HTML: whoever shows them escapes them.

Pure Python, no Home Assistant import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
import json
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from .membership import MIN_AGE, Member, Reason, Restriction
from .public import DEFAULT_CAN, DEFAULT_CANNOT

# The steps of the induction, in order; a quiz question points to one of them.
SECTIONS = ("video", "branches", "rules", "agreement")
VIDEO_FILE = "file"  # `InductionContent.video`: the file the library uploaded

RULES_MAX = 20_000
AGREEMENT_MAX = 4_000
SUMMARY_MAX = 300
QUESTION_MAX = 300
OPTION_MAX = 200
HINT_MAX = 300
QUESTIONS_MAX = 10
OPTIONS_MIN, OPTIONS_MAX = 2, 6
URL_MAX = 500
VIDEO_SECONDS_MAX = 7_200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

DEFAULT_RULES = """\
## Who can use a Smart Library
To use a Smart Library during smart hours you must be a library member aged 16 or over and have \
completed this induction. Your smart access is linked to your library card: scan your card at the \
door and enter your PIN. Smart library members can use any Smart Library of the service.

Young people under 16 can use the library during smart hours only when a parent or guardian \
over 18 comes in with them.

Barred library members and library members who have received a final warning are not able to \
use Smart Libraries.

## During smart hours you can
{can}

## During smart hours you cannot
{cannot}

## Your safety
CCTV cameras are in constant operation during smart hours. Staff are alerted to any issues; \
the footage is recorded to prevent and detect crime and to keep everyone in the library safe.

A phone on the library counter has the numbers to call beside it: 999 in an emergency, 101 for \
the police when it is not an emergency, and the property help desk for problems with the \
building. There is a first aid box for minor injuries.

The fire alarm both sounds and flashes. When it does, leave at once by the nearest exit: the \
doors release by themselves. The floor plans show each library's exits; we recommend a visit in \
staffed hours to ask a member of staff about the evacuation procedure of the library you use.

From 15 minutes before closing, announcements say the library is about to close. The public \
computers switch off 10 minutes before closing, and the lights go out at closing time.

## Your card
Smart access ends when your library card expires. Renew it at your local library; you will then \
need to complete this induction again before your access is restored, so that you are up to date \
with any changes in our libraries.
""".format(
    can="\n".join(f"- {line}" for line in DEFAULT_CAN),
    cannot="\n".join(f"- {line}" for line in DEFAULT_CANNOT),
)

DEFAULT_AGREEMENT = """\
I will use Smart Libraries safely and responsibly and follow the access rules. I will not let \
anyone in on my card, and I will bring under-16s in only when I am over 18 and stay with them. \
When the fire alarm sounds I will leave at once by the nearest exit. I understand that CCTV is in \
operation during smart hours, and that my smart access ends when my card expires until I renew it \
and complete the induction again.
"""


class InductionError(ValueError):
    """Induction content that cannot be published; `code` is a translation key."""

    def __init__(self, code: str, **placeholders: str) -> None:
        """Create the error (placeholders name the field, never a member)."""
        super().__init__(code)
        self.code = code
        self.placeholders = placeholders


@dataclass(frozen=True)
class Question:
    """A quiz question: one right option, and the part of the induction that answers it."""

    text: str
    options: tuple[str, ...]
    answer: int  # index into options
    section: str = (
        "rules"  # one of SECTIONS: where a wrong answer sends the member back to
    )
    hint: str = (
        ""  # shown with a wrong answer, e.g. "See 'Who can use a Smart Library'"
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the question as administrators write it (the answer counted from 1)."""
        return {
            "question": self.text,
            "options": list(self.options),
            "answer": self.answer + 1,
            "section": self.section,
            "hint": self.hint,
        }


DEFAULT_QUIZ = (
    Question(
        "Who can use a Smart Library during smart hours?",
        (
            "Anyone with a library card",
            "Library members aged 16 or over who have completed this induction",
            "Only people who have booked a visit",
        ),
        1,
        "rules",
        "See “Who can use a Smart Library” in the access rules.",
    ),
    Question(
        "The fire alarm sounds and flashes. What do you do?",
        (
            "Finish what I am doing, then leave",
            "Leave at once by the nearest exit shown on the floor plan",
            "Wait at the counter for a member of staff",
        ),
        1,
        "branches",
        "Look again at the exits on the floor plan of the library you will visit.",
    ),
    Question(
        "Can you ask library staff for help during smart hours?",
        (
            "Yes, at the counter",
            (
                "No: no staff are there; the phone on the counter has 999, 101 and the property "
                "help desk"
            ),
        ),
        1,
        "rules",
        "See “During smart hours you cannot” and “Your safety” in the access rules.",
    ),
    Question(
        "Someone under 16 wants to come in with you during smart hours. When may they?",
        (
            "Never",
            "Only when a parent or guardian over 18 comes in with them",
            "Whenever they have their own card",
        ),
        1,
        "rules",
        "See “Who can use a Smart Library” in the access rules.",
    ),
)


@dataclass(frozen=True)
class InductionContent:
    """What a member goes through: video, the branches (from the branch pages), rules, quiz."""

    video: str = ""  # "" (none), VIDEO_FILE, or an http(s) address
    video_seconds: int = (
        0  # the video's length, when known: "watched" is refused earlier
    )
    rules: str = DEFAULT_RULES
    quiz: tuple[Question, ...] = DEFAULT_QUIZ
    agreement: str = DEFAULT_AGREEMENT

    def to_dict(self) -> dict[str, Any]:
        """Return the content as JSON types."""
        return {
            "video": self.video,
            "video_seconds": self.video_seconds,
            "rules": self.rules,
            "quiz": [q.to_dict() for q in self.quiz],
            "agreement": self.agreement,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InductionContent:
        """Read (and check) the form `to_dict` wrote, or an administrator's edit of it."""
        default = cls()
        content = cls(
            video=str(data.get("video", default.video) or ""),
            video_seconds=_int(data.get("video_seconds", 0), "video_seconds"),
            rules=str(data.get("rules", default.rules)),
            quiz=parse_quiz(data["quiz"]) if "quiz" in data else default.quiz,
            agreement=str(data.get("agreement", default.agreement)),
        )
        return check_content(content)

    @property
    def video_is_file(self) -> bool:
        """Return True when the video is the file the library uploaded."""
        return self.video == VIDEO_FILE

    @property
    def steps(self) -> tuple[str, ...]:
        """Return the steps a member goes through (no video step without a video)."""
        return tuple(s for s in SECTIONS if s != "video" or self.video)


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except TypeError, ValueError:
        raise InductionError("induction_invalid_field", field=name) from None
    if isinstance(value, float) and value != number:
        raise InductionError("induction_invalid_field", field=name)
    return number


def _text(value: Any, name: str, limit: int, *, required: bool = True) -> str:
    """Return a text field checked: a string, not too long, storable, no control characters."""
    if not isinstance(value, str):
        raise InductionError("induction_invalid_field", field=name)
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if required and not text.strip():
        raise InductionError("induction_field_required", field=name)
    if len(text) > limit:
        raise InductionError("induction_field_too_long", field=name, limit=str(limit))
    if _CONTROL.search(text):
        raise InductionError("induction_invalid_field", field=name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InductionError("induction_invalid_field", field=name) from None
    return text


def check_video(video: str) -> str:
    """Return the video source checked: none, the uploaded file, or an http(s) address."""
    video = _text(video, "video", URL_MAX, required=False).strip()
    if video in ("", VIDEO_FILE):
        return video
    parts = urlsplit(video)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in video:
        raise InductionError("induction_invalid_video")
    if "\n" in video or '"' in video or "<" in video or ">" in video:
        raise InductionError("induction_invalid_video")
    return video


def parse_quiz(raw: Any) -> tuple[Question, ...]:
    """Read quiz questions as administrators write them (a list of mappings).

    Each: `question`, `options` (2 to 6), `answer` (the right option: its number from 1, or its
    text), optional `section` (video, branches, rules or agreement; default rules) and `hint`.
    """
    if not isinstance(raw, list | tuple) or not 1 <= len(raw) <= QUESTIONS_MAX:
        raise InductionError("induction_quiz_size", most=str(QUESTIONS_MAX))
    questions = []
    for number, item in enumerate(raw, start=1):
        where = f"quiz {number}"
        if not isinstance(item, Mapping):
            raise InductionError("induction_invalid_field", field=where)
        text = _text(
            item.get("question", item.get("text")), f"{where}: question", QUESTION_MAX
        )
        options_raw = item.get("options")
        if (
            not isinstance(options_raw, list | tuple)
            or not OPTIONS_MIN <= len(options_raw) <= OPTIONS_MAX
        ):
            raise InductionError("induction_quiz_options", question=str(number))
        options = tuple(
            _text(o, f"{where}: option", OPTION_MAX).strip() for o in options_raw
        )
        if len(set(options)) != len(options):
            raise InductionError("induction_quiz_options", question=str(number))
        answer_raw = item.get("answer")
        if isinstance(answer_raw, str) and answer_raw.strip() in options:
            answer = options.index(answer_raw.strip())
        elif isinstance(answer_raw, int) and not isinstance(answer_raw, bool):
            # Administrators count from 1; the stored form too ("answer": 2 is the second).
            answer = answer_raw - 1
        else:
            raise InductionError("induction_quiz_answer", question=str(number))
        if not 0 <= answer < len(options):
            raise InductionError("induction_quiz_answer", question=str(number))
        section = str(item.get("section") or "rules").strip().lower()
        if section not in SECTIONS:
            raise InductionError("induction_quiz_section", question=str(number))
        hint = _text(item.get("hint", ""), f"{where}: hint", HINT_MAX, required=False)
        questions.append(Question(text.strip(), options, answer, section, hint.strip()))
    return tuple(questions)


def check_content(content: InductionContent) -> InductionContent:
    """Return the content checked (texts storable and not too long, quiz sound), or raise."""
    seconds = content.video_seconds
    if not 0 <= seconds <= VIDEO_SECONDS_MAX:
        raise InductionError("induction_invalid_field", field="video_seconds")
    video = check_video(content.video)
    for question in content.quiz:
        if question.section == "video" and not video:
            raise InductionError("induction_quiz_no_video")
    return replace(
        content,
        video=video,
        rules=_text(content.rules, "rules", RULES_MAX),
        agreement=_text(content.agreement, "agreement", AGREEMENT_MAX),
    )


@dataclass(frozen=True)
class InductionVersion:
    """One published version of a library service's induction."""

    number: int
    content: InductionContent = field(default_factory=InductionContent)
    published: datetime | None = None  # None: the default wording, never published
    significant: bool = False  # members inducted on an older version must do it again
    summary: str = ""  # what changed, in the administrator's words (told to members)

    def to_json(self) -> str:
        """Return the content as stored (JSON text)."""
        return json.dumps(self.content.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_row(
        cls,
        number: int,
        content: str,
        published: str | None,
        significant: bool,
        summary: str,
    ) -> InductionVersion:
        """Read a stored version back."""
        return cls(
            number=number,
            content=InductionContent.from_dict(json.loads(content)),
            published=datetime.fromisoformat(published) if published else None,
            significant=bool(significant),
            summary=summary,
        )

    def describe(self) -> dict[str, Any]:
        """Return what administrators see of a version in a list (no content)."""
        return {
            "version": self.number,
            "published": self.published.isoformat() if self.published else None,
            "significant": self.significant,
            "summary": self.summary,
        }


DEFAULT_VERSION = InductionVersion(
    1, summary="The default wording (the seeds' induction and access rules)"
)


def current_version(history: Iterable[InductionVersion]) -> InductionVersion:
    """Return the version members go through now: the newest (the default when none)."""
    return max(history, key=lambda v: v.number, default=DEFAULT_VERSION)


def required_version(history: Iterable[InductionVersion]) -> int:
    """Return the newest version published as significant (0: none asks anyone again)."""
    return max((v.number for v in history if v.significant), default=0)


def revised_reason(history: Iterable[InductionVersion]) -> str:
    """Return what a member asked to do the induction again is told: what changed."""
    required = required_version(history)
    summary = next((v.summary for v in history if v.number == required), "")
    text = "The Smart Library induction has changed: please complete it again online."
    return f"{text} {summary}".strip() if summary else text


def next_version(
    history: Iterable[InductionVersion],
    content: InductionContent,
    *,
    significant: bool,
    summary: str,
    at: datetime,
) -> InductionVersion:
    """Return the version that publishing `content` now makes (checked; not yet stored).

    A significant version needs a summary: members asked to do the induction again are told why.
    """
    content = check_content(content)
    summary = _text(summary, "summary", SUMMARY_MAX, required=significant).strip()
    number = max(current_version(history).number, DEFAULT_VERSION.number) + 1
    return InductionVersion(number, content, at, significant, summary)


# -- the video file ---------------------------------------------------------------------------

MAX_VIDEO_BYTES = 200 * 1024 * 1024
VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".ogv": "video/ogg"}


def video_suffix(head: bytes) -> str | None:
    """Return the suffix of a video file from its first bytes (MP4, WebM, Ogg), or None."""
    if head[4:8] == b"ftyp":
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    if head.startswith(b"OggS"):
        return ".ogv"
    return None


# -- the quiz ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizResult:
    """How a member answered: passed, or the questions answered wrong and where to read again."""

    passed: bool
    wrong: tuple[
        int, ...
    ] = ()  # indexes of the questions answered wrong (or not answered)
    sections: tuple[str, ...] = ()  # the parts to read again, in the induction's order


def may_start(member: Member, today: date) -> Reason | None:
    """Return why a member may not do the induction (None: they may).

    Seeds 000 and 001: barred members and members on a final warning cannot use Smart Libraries
    (they are told to contact the library); under-16s come in only with an adult of 18 or over
    and are not inducted themselves; an expired card is renewed first (a renewal asks for the
    induction again anyway).
    """
    if member.restriction is Restriction.BARRED:
        return Reason.BARRED
    if member.restriction is Restriction.FINAL_WARNING:
        return Reason.FINAL_WARNING
    if member.age(today) < MIN_AGE:
        return Reason.UNDER_16
    if member.card_expiry < today:
        return Reason.CARD_EXPIRED
    return None


def check_quiz(
    quiz: Iterable[Question], answers: Mapping[int, int | None]
) -> QuizResult:
    """Check a member's answers (question index -> chosen option index, None: no answer).

    Every question must be answered right; a question left unanswered counts as wrong.
    """
    wrong = tuple(
        n
        for n, q in enumerate(quiz)
        if answers.get(n) is None or answers[n] != q.answer
    )
    questions = list(quiz)
    sections = tuple(
        s for s in SECTIONS if any(questions[n].section == s for n in wrong)
    )
    return QuizResult(not wrong, wrong, sections)


# -- texts -------------------------------------------------------------------------------------

type BlockKind = Literal["heading", "paragraph", "list"]


@dataclass(frozen=True)
class Block:
    """A piece of an administrator's text: a heading, a paragraph or a list of items."""

    kind: BlockKind
    text: str = ""
    items: tuple[str, ...] = ()


def text_blocks(text: str) -> list[Block]:
    """Split light-markup text into blocks: `## ` heading, `- ` (or `* `, `• `) item, paragraph.

    Lines of one paragraph or one item are joined with a space. Nothing is interpreted as HTML.
    """
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", " ".join(paragraph)))
            paragraph.clear()
        if items:
            blocks.append(Block("list", items=tuple(items)))
            items.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("#"):
            flush()
            blocks.append(Block("heading", line.lstrip("#").strip()))
        elif line[:2] in ("- ", "* ", "• "):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        elif items and raw[:1].isspace():
            items[-1] = f"{items[-1]} {line}"  # an item's continuation line
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def text_lines(text: str, limit: int, most: int, name: str) -> tuple[str, ...]:
    """Return the non-empty lines of a list an administrator typed (a leading `- ` dropped)."""
    text = _text(text, name, limit, required=False)
    lines = tuple(
        line.strip().removeprefix("- ").removeprefix("• ").strip()
        for line in text.split("\n")
        if line.strip()
    )
    if len(lines) > most:
        raise InductionError("induction_field_too_long", field=name, limit=str(most))
    return lines
