"""The online induction's desk: signing in with card and PIN, the steps, the record at the end.

Signing in goes through the doors' own path (`LibraryAccess.async_identify`): the same PIN check,
the same lock-out (five wrong PINs here lock the card at every door, and a card locked at a door
is locked here), with SIP2 the library system's own check and the member's local record made as
at the door. On top of that the form is rate-limited per address and per card
(`engine.members.readers.ReaderThrottle`, the readers' throttle). Until the PIN is right the
answer is the same for a member's card and a stranger's.

A member who signed in gets a session: a random token (256 bits) kept on the server as its
digest, carried in the page's form (never in the address, never in a cookie), ending at the
completion (it cannot be used twice), after 20 idle minutes and after an hour. The session holds
the card number in memory only, for the record at the end.

What is recorded is what a rule needs: the date, the induction's version and "online" (the
member store's record of the member). Barred members, members on a final warning, under-16s and
expired cards are told what to do and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
import hashlib
import hmac
import secrets
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from ..access.decisions import LibraryAccess
from ..engine.members.induction import (
    InductionVersion,
    QuizResult,
    check_quiz,
    current_version,
    may_start,
    required_version,
)
from ..engine.members.membership import (
    INDUCTED_ONLINE,
    Member,
    MemberError,
    Reason,
    StaffCard,
    mask_card,
    normalise_card,
    record_induction,
)
from ..engine.members.readers import ReaderThrottle, ThrottlePolicy

EVENT_INDUCTION = "smart_library_induction"

SESSION_IDLE = timedelta(minutes=20)
SESSION_LONGEST = timedelta(hours=1)
SESSIONS_MAX = 500  # per library service; the oldest goes first
TOKEN_BYTES = 32
# More than 10 refused sign-ins from one address in a minute pause that address for 5 minutes.
ADDRESS_POLICY = ThrottlePolicy(
    refusals=10, window=timedelta(minutes=1), duration=timedelta(minutes=5)
)
# More than 10 sign-ins of one card (whatever came of them) in 15 minutes pause that card here.
CARD_POLICY = ThrottlePolicy(
    refusals=10, window=timedelta(minutes=15), duration=timedelta(minutes=15)
)
CARD_FIELD_MAX = 32
PIN_FIELD_MAX = 16
QUIZ = "quiz"

# What the door's check says, as the induction page says it: until the PIN is right, one answer.
_NOT_RECOGNISED = frozenset(
    {"unknown_card", "wrong_pin", "pin_not_checked", "lms_unavailable"}
)


class Outcome(StrEnum):
    """What a sign-in (or the end of an induction) came to."""

    SIGNED_IN = "signed_in"
    NOT_RECOGNISED = (
        "not_recognised"  # an unknown card or a wrong PIN: the same to the page
    )
    LOCKED_OUT = "locked_out"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"  # the member store cannot be used just now
    STAFF_CARD = "staff_card"
    CONTACT_LIBRARY = (
        "contact_library"  # barred, a final warning, the LMS's own refusal
    )
    UNDER_16 = "under_16"
    CARD_EXPIRED = "card_expired"
    COMPLETED = "completed"
    ENDED = "ended"  # the session had ended already (a second completion)
    # A significant version came out during the session: start again.
    CHANGED = "changed"


# The outcomes that count against an address: a guess that failed.
_GUESSES = frozenset({Outcome.NOT_RECOGNISED, Outcome.LOCKED_OUT})


@dataclass(frozen=True)
class Notice:
    """Why a member is asked to do the induction again (the page says it in their language)."""

    renewed_on: date | None = None  # the card was renewed on this day
    summary: str = ""  # a new version: what changed, in the administrator's words


@dataclass
class Session:
    """One member going through the induction. Lives in memory only."""

    digest: str
    card: str  # normalised; for the record at the end, never shown or logged
    masked: str
    version: InductionVersion
    steps: tuple[str, ...]
    created: datetime
    seen: datetime
    step: str
    done: set[str] = field(default_factory=set)
    video_started: datetime | None = None
    quiz: QuizResult | None = None  # the last answers' result, while not passed
    # The last answers, shown again.
    answers: dict[int, int] = field(default_factory=dict)
    # Inducted on this version before (they may do it again).
    already: date | None = None
    # Why the induction is asked for again (a renewal, a new version).
    notice: Notice | None = None

    @property
    def position(self) -> int:
        """Return the current step's index."""
        return self.steps.index(self.step)


def steps_of(version: InductionVersion) -> tuple[str, ...]:
    """Return the pages of an induction: [video], branches, rules, the quiz, the agreement."""
    content_steps = version.content.steps  # ends with "agreement"
    return (*content_steps[:-1], QUIZ, content_steps[-1])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class Sessions:
    """The induction sessions of one library service."""

    def __init__(self) -> None:
        """Start with none."""
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        """Return how many sessions are open."""
        return len(self._sessions)

    def create(
        self, card: str, version: InductionVersion, now: datetime
    ) -> tuple[str, Session]:
        """Open a session for a card (a card's earlier session ends); return its token."""
        for digest in [d for d, s in self._sessions.items() if s.card == card]:
            del self._sessions[digest]
        while len(self._sessions) >= SESSIONS_MAX:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            del self._sessions[oldest.digest]
        token = secrets.token_urlsafe(TOKEN_BYTES)
        steps = steps_of(version)
        session = Session(
            digest=_digest(token),
            card=card,
            masked=mask_card(card),
            version=version,
            steps=steps,
            created=now,
            seen=now,
            step=steps[0],
            video_started=now if steps[0] == "video" else None,
        )
        self._sessions[session.digest] = session
        return token, session

    def get(self, token: str | None, now: datetime) -> Session | None:
        """Return the live session of a token, or None (unknown, ended, idle or too old)."""
        if not token or len(token) > 100:
            return None
        session = self._sessions.get(_digest(token))
        if session is None:
            return None
        if now - session.seen > SESSION_IDLE or now - session.created > SESSION_LONGEST:
            del self._sessions[session.digest]
            return None
        session.seen = now
        return session

    def end(self, session: Session) -> bool:
        """End a session; False when it had ended already (a second completion)."""
        return self._sessions.pop(session.digest, None) is not None

    def end_card(self, card: str) -> None:
        """End every session of a card (its holder was barred, removed, renewed ...)."""
        for digest in [d for d, s in self._sessions.items() if s.card == card]:
            del self._sessions[digest]


@dataclass(frozen=True)
class SignIn:
    """What came of a sign-in: a session, or why not."""

    outcome: Outcome
    token: str = ""
    session: Session | None = None
    until: datetime | None = None  # the end of a lock-out or a pause


@dataclass(frozen=True)
class StepResult:
    """What came of a form sent from a step's page."""

    error: str = ""  # a sentence's key: video_not_watched, agree_needed
    completed: Outcome | None = None  # COMPLETED, CHANGED, CONTACT_LIBRARY ...
    recorded: Member | None = None


class InductionDesk:
    """Signs members in with card and PIN and records their induction, for one service."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, access: LibraryAccess, title: str
    ) -> None:
        """Use the service's access (its store, decider and library system)."""
        self.hass = hass
        self.entry_id = entry_id
        self.access = access
        self.title = title
        self.sessions = Sessions()
        self.addresses = ReaderThrottle()
        self.cards = ReaderThrottle()

    def _card_key(self, card: str) -> str:
        """Return the digest a typed card number is throttled under (any text, peppered)."""
        text = card.strip().replace(" ", "").upper()[:CARD_FIELD_MAX]
        return hmac.new(self.access.pepper, text.encode(), hashlib.sha256).hexdigest()

    def _fire(self, outcome: Outcome, card: str, version: int | None = None) -> None:
        """Tell the logbook and automations (a masked card, never a PIN)."""
        data: dict[str, Any] = {
            "service": self.title,
            "outcome": outcome.value,
            "card": mask_card(card),
        }
        if version is not None:
            data["version"] = version
        self.hass.bus.async_fire(EVENT_INDUCTION, data)

    async def async_current(self) -> InductionVersion:
        """Return the version members go through now."""
        history = await self.hass.async_add_executor_job(
            self.access.store.induction_history
        )
        return current_version(history)

    async def async_sign_in(self, card: str, pin: str, address: str) -> SignIn:
        """Check a card and PIN as a door does; open a session for a member who may start."""
        now = dt_util.utcnow()
        card = card[: CARD_FIELD_MAX + 1]
        pin = pin[: PIN_FIELD_MAX + 1]
        card_key = self._card_key(card)
        if (until := self.addresses.admit(address, now, ADDRESS_POLICY)) is not None:
            return SignIn(Outcome.THROTTLED, until=until)
        if (until := self.cards.admit(card_key, now, CARD_POLICY)) is not None:
            self.addresses.settle(address, now, ADDRESS_POLICY, None)
            return SignIn(Outcome.THROTTLED, until=until)
        result = SignIn(Outcome.UNAVAILABLE)
        try:
            result = await self._sign_in(card, pin, now)
        finally:
            later = dt_util.utcnow()
            guess = result.outcome in _GUESSES
            self.addresses.settle(
                address, later, ADDRESS_POLICY, result.outcome if guess else None
            )
            self.cards.settle(card_key, later, CARD_POLICY, "sign_in")
        self._fire(
            result.outcome,
            card,
            result.session.version.number if result.session else None,
        )
        return result

    async def _sign_in(self, card: str, pin: str, now: datetime) -> SignIn:
        if len(card) > CARD_FIELD_MAX or len(pin) > PIN_FIELD_MAX:
            card, pin = "0", "x"  # counted and checked as an unknown card: same answer
        try:
            identified = await self.access.async_identify(card, pin)
        except HomeAssistantError:
            return SignIn(Outcome.UNAVAILABLE)
        reason = str(identified.reason)
        if reason == Reason.LOCKED_OUT:
            return SignIn(Outcome.LOCKED_OUT, until=identified.until)
        if reason in _NOT_RECOGNISED:
            return SignIn(Outcome.NOT_RECOGNISED)
        holder = identified.holder
        if isinstance(holder, StaffCard):
            return SignIn(Outcome.STAFF_CARD)
        if reason == Reason.CARD_EXPIRED:
            return SignIn(Outcome.CARD_EXPIRED)
        if reason != Reason.GRANTED or holder is None:
            return SignIn(Outcome.CONTACT_LIBRARY)  # the library system's own refusal
        today = dt_util.now().date()
        why = may_start(holder, today)
        if why is not None:
            return SignIn(
                {
                    Reason.UNDER_16: Outcome.UNDER_16,
                    Reason.CARD_EXPIRED: Outcome.CARD_EXPIRED,
                }.get(why, Outcome.CONTACT_LIBRARY)
            )
        history = await self.hass.async_add_executor_job(
            self.access.store.induction_history
        )
        version = current_version(history)
        token, session = self.sessions.create(normalise_card(holder.card), version, now)
        standing = holder.eligibility(today, required_version(history))
        if standing is Reason.INDUCTION_OUTDATED and holder.renewed_on:
            session.notice = Notice(renewed_on=holder.renewed_on)
        elif standing is Reason.INDUCTION_REVISED:
            required = required_version(history)
            summary = next((v.summary for v in history if v.number == required), "")
            session.notice = Notice(summary=summary)
        elif holder.induction_version == version.number and holder.induction_date:
            session.already = holder.induction_date
        return SignIn(Outcome.SIGNED_IN, token, session)

    # -- the steps ------------------------------------------------------------------------------

    @staticmethod
    def _answers(session: Session, form: Mapping[str, str]) -> dict[int, int | None]:
        """Return the quiz's answers a form ticked (None: not answered or not a number)."""
        answers: dict[int, int | None] = {}
        for number in range(len(session.version.content.quiz)):
            value = form.get(f"q{number}", "")
            # ASCII digits only ("²" is a digit to str.isdigit, not to int), and short.
            ok = value.isascii() and value.isdigit() and len(value) <= 6
            answers[number] = int(value) if ok else None
        return answers

    async def async_step(
        self, session: Session, form: Mapping[str, str], now: datetime
    ) -> StepResult:
        """Apply a form sent from the session's current page (a stale page changes nothing)."""
        go = form.get("go", "next")
        if form.get("step") != session.step:
            return StepResult()  # an old page (the browser's Back, a second click)
        if go.startswith("back:"):
            target = go.removeprefix("back:")
            if target in session.steps[: session.position + 1]:
                self._enter(session, target, now)
            return StepResult()
        if go != "next":
            if session.step == QUIZ and go.startswith("lang:"):
                # A language switch sends the step's form: what was ticked stays ticked.
                session.answers = {
                    n: a
                    for n, a in self._answers(session, form).items()
                    if a is not None
                }
            return StepResult()
        step = session.step
        if step == "video":
            if form.get("watched") != "1":
                return StepResult(error="video_not_watched")
            seconds = session.version.content.video_seconds
            started = session.video_started or now
            if seconds and (now - started).total_seconds() < seconds - 2:
                return StepResult(error="video_not_watched")
        elif step == QUIZ:
            answers = self._answers(session, form)
            result = check_quiz(session.version.content.quiz, answers)
            session.answers = {n: a for n, a in answers.items() if a is not None}
            if not result.passed:
                session.quiz = result
                session.done.discard(QUIZ)
                return StepResult()
            session.quiz = None
        elif step == "agreement":
            if form.get("agree") != "yes":
                return StepResult(error="agree_needed")
            if not set(session.steps[:-1]) <= session.done:
                # Every page before, the quiz passed: otherwise back to the first missing one.
                missing = next(s for s in session.steps if s not in session.done)
                self._enter(session, missing, now)
                return StepResult()
            return await self._async_complete(session)
        session.done.add(step)
        self._enter(session, session.steps[session.position + 1], now)
        return StepResult()

    @staticmethod
    def _enter(session: Session, step: str, now: datetime) -> None:
        session.step = step
        if step == "video" and session.video_started is None:
            session.video_started = now

    async def _async_complete(self, session: Session) -> StepResult:
        """Record the induction (date, version, "online"), end the session: once only."""
        if not self.sessions.end(session):
            return StepResult(completed=Outcome.ENDED)
        version = session.version.number
        today = dt_util.now().date()

        def record(member: Member) -> Member:
            # Read again in the store's transaction: a bar given meanwhile wins.
            if may_start(member, today) is not None:
                raise MemberError("induction_refused")
            if self.access.store.induction_required > version:
                raise MemberError("induction_changed")
            return record_induction(
                member, today, version=version, where=INDUCTED_ONLINE
            )

        try:
            member = await self.access.async_run(
                lambda: self.access.store.change(session.card, record)
            )
        except HomeAssistantError as err:
            outcome = (
                Outcome.CHANGED
                if getattr(err, "translation_key", "") == "induction_changed"
                else Outcome.CONTACT_LIBRARY
            )
            self._fire(outcome, session.card, version)
            return StepResult(completed=outcome)
        self._fire(Outcome.COMPLETED, session.card, version)
        return StepResult(completed=Outcome.COMPLETED, recorded=member)
