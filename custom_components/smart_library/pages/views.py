"""The public pages over HTTP, with no Home Assistant account, under one path prefix.

    GET  /api/smart_library/public/<service>                            the service's branches
    GET  /api/smart_library/public/<service>/induction                  sign in (card + PIN)
    POST /api/smart_library/public/<service>/induction                  every step of it
    GET  /api/smart_library/public/<service>/induction/video            the induction video file
    GET  /api/smart_library/public/<service>/branches/<branch>          a branch's page
    GET  /api/smart_library/public/<service>/branches/<branch>/hours.ics
    GET  /api/smart_library/public/<service>/branches/<branch>/floor-plan
    GET  /api/smart_library/public/_assets/<pages.css|induction.js>

`<service>` and `<branch>` are the names as they read in an address ("shire-libraries",
"oadby-library"), looked up among the loaded services and their branches: never joined into a
file path. Every view sets `requires_auth = False`, reads no Home Assistant session and sets no
cookie; a form's session is a token in the page (see induction.py). Every answer carries a strict
Content-Security-Policy (nothing inline, nothing from elsewhere but the induction video's own
site), `nosniff`, no referrer, and the induction pages are never cached or indexed.

Language: every page and the hours feed come in one of the service's languages
(`PublicPages.languages`): the member's explicit choice first (`?lang=da` on a page's address,
the form's `lang` field on the induction's steps, a language switch button `go=lang:da`), then
their browser's Accept-Language, then the service's first. A requested code that is not one the
service offers is ignored (never echoed: a page names only shipped codes). Answers that follow
Accept-Language say so (`Vary: Accept-Language`), so a cache keeps one per language.

A reverse proxy publishes `PUBLIC` and nothing else (README: nginx and Caddy). Home Assistant
sees the proxy's address unless `http: use_x_forwarded_for` and `trusted_proxies` are set; the
per-address limits then count the proxy as one address: set them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from homeassistant.components.http import KEY_HASS, HomeAssistantView
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..engine.building.opening import build_ics
from ..helpers.texts import accepted_language, offered_language
from .induction import Outcome, Session
from .public import ASSETS, PUBLIC, PublicPages
from .render import (
    FORM_ID,
    MEDIA_SUFFIXES,
    PUBLIC_TEXTS,
    branch_page,
    complete_page,
    format_moment,
    refusal_page,
    service_page,
    sign_in_page,
    step_page,
)
from .wording import induction_version

STATIC: Final = Path(__file__).parent / "static"
ASSET_FILES: Final = {
    "pages.css": "text/css",
    "induction.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
FORM_MAX: Final = 16 * 1024  # bytes a form may send
BASE_POLICY: Final = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PLAN_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _policy(*, script: bool = False, media: str = "", frame: str = "") -> str:
    """Return the Content-Security-Policy of an HTML page."""
    policy = BASE_POLICY + ("; script-src 'self'" if script else "; script-src 'none'")
    policy += f"; media-src 'self'{f' {media}' if media else ''}"
    if frame:
        policy += f"; frame-src {frame}"
    return policy


LANG_FIELD: Final = (
    "lang"  # the query parameter and form field naming a chosen language
)
SWITCH_PREFIX: Final = "lang:"  # a language switch button's `go` value


def choose_language(
    pages: PublicPages, request: web.Request, chosen: str | None = None
) -> str:
    """Return the page's language: `chosen`'s if offered, else Accept-Language's, else the first."""
    offered = pages.languages
    if (picked := offered_language(chosen, offered)) is not None:
        return picked  # "da" or "da-DK" typed by hand: only ever an offered code
    return accepted_language(request.headers.get("Accept-Language"), offered)


def _headers(policy: str, *, private: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store" if private else "public, max-age=60",
    }
    if private:
        headers["X-Robots-Tag"] = "noindex, nofollow"
    return headers


def _html(
    text: str,
    *,
    private: bool,
    status: HTTPStatus = HTTPStatus.OK,
    policy: str | None = None,
) -> web.Response:
    headers = _headers(policy or _policy(), private=private)
    headers["Vary"] = "Accept-Language"  # a page's language may follow the browser's
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers=headers,
    )


def _not_found() -> web.Response:
    return web.Response(
        text="Not found",
        status=HTTPStatus.NOT_FOUND,
        content_type="text/plain",
        headers=_headers("default-src 'none'", private=True),
    )


def pages_for(hass: HomeAssistant, service: str) -> PublicPages | None:
    """Return the public pages of the loaded service with this address part, or None."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if entry.state is not ConfigEntryState.LOADED:
            continue
        pages = getattr(entry.runtime_data, "pages", None)
        if isinstance(pages, PublicPages) and service in (pages.slug, entry.entry_id):
            return pages
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _remote(request: web.Request) -> str:
    return request.remote or "unknown"


class AssetView(HomeAssistantView):
    """The public pages' stylesheet and the induction's one script."""

    url = f"{ASSETS}/{{name}}"
    name = "api:smart_library:public:assets"
    requires_auth = False

    async def get(self, request: web.Request, name: str) -> web.StreamResponse:
        """Serve a file of the fixed list (any other name: 404)."""
        content_type = ASSET_FILES.get(name)
        if content_type is None:
            return _not_found()
        hass = request.app[KEY_HASS]
        data = await hass.async_add_executor_job((STATIC / name).read_bytes)
        headers = _headers("default-src 'none'", private=False)
        headers["Cache-Control"] = "public, max-age=3600"
        return web.Response(body=data, content_type=content_type, headers=headers)


class ServiceView(HomeAssistantView):
    """A library service's page: its branches, open now or not, the induction."""

    url = f"{PUBLIC}/{{service}}"
    name = "api:smart_library:public:service"
    requires_auth = False

    async def get(self, request: web.Request, service: str) -> web.StreamResponse:
        """Serve the page."""
        pages = pages_for(request.app[KEY_HASS], service)
        if pages is None:
            return _not_found()
        language = choose_language(pages, request, request.query.get(LANG_FIELD))
        ctx = pages.context(language, here=pages.base)
        return _html(service_page(ctx, pages.branch_views(ctx.cat)), private=False)


class BranchPageView(HomeAssistantView):
    """A branch's public page."""

    url = f"{PUBLIC}/{{service}}/branches/{{branch}}"
    name = "api:smart_library:public:branch"
    requires_auth = False

    async def get(
        self, request: web.Request, service: str, branch: str
    ) -> web.StreamResponse:
        """Serve the page (no personal data, no live state)."""
        pages = pages_for(request.app[KEY_HASS], service)
        found = pages.branch_by_slug(branch) if pages else None
        if pages is None or found is None:
            return _not_found()
        language = choose_language(pages, request, request.query.get(LANG_FIELD))
        ctx = pages.context(language, here=pages.branch_url(found[0]))
        view = pages.branch_view(*found, ctx.cat)
        return _html(branch_page(ctx, view), private=False)


class HoursFeedView(HomeAssistantView):
    """A branch's opening hours as an iCalendar feed a website can subscribe to."""

    url = f"{PUBLIC}/{{service}}/branches/{{branch}}/hours.ics"
    name = "api:smart_library:public:hours"
    requires_auth = False

    async def get(
        self, request: web.Request, service: str, branch: str
    ) -> web.StreamResponse:
        """Serve the feed (eight weeks ahead)."""
        pages = pages_for(request.app[KEY_HASS], service)
        found = pages.branch_by_slug(branch) if pages else None
        if pages is None or found is None:
            return _not_found()
        slug, item = found
        language = choose_language(pages, request, request.query.get(LANG_FIELD))
        cat = PUBLIC_TEXTS(language)
        now = dt_util.now()
        text = build_ics(
            name=item.title,
            owner=item.id,
            schedule=item.hours.schedule,
            today=now.date(),
            zone=dt_util.get_default_time_zone(),
            now=now,
            location=pages.store.branch(item.id).address,
            words=cat.section("calendar"),
            language=language,
        )
        headers = _headers("default-src 'none'", private=False)
        headers["Content-Disposition"] = f'inline; filename="{slug}-hours.ics"'
        headers["Cache-Control"] = "public, max-age=900"
        headers["Content-Language"] = language
        headers["Vary"] = "Accept-Language"
        return web.Response(
            text=text, content_type="text/calendar", charset="utf-8", headers=headers
        )


class FloorPlanView(HomeAssistantView):
    """A branch's floor plan image (made safe when it was uploaded)."""

    url = f"{PUBLIC}/{{service}}/branches/{{branch}}/floor-plan"
    name = "api:smart_library:public:floor_plan"
    requires_auth = False

    async def get(
        self, request: web.Request, service: str, branch: str
    ) -> web.StreamResponse:
        """Serve the image; an SVG with a policy that lets nothing run even opened alone."""
        pages = pages_for(request.app[KEY_HASS], service)
        found = pages.branch_by_slug(branch) if pages else None
        if pages is None or found is None:
            return _not_found()
        read = await pages.store.async_read_plan(found[1].id)
        if read is None:
            return _not_found()
        plan, data = read
        headers = _headers(PLAN_POLICY, private=False)
        headers["Cache-Control"] = "public, max-age=300"
        headers["ETag"] = f'"{plan.version}"'
        headers["Content-Disposition"] = "inline"
        return web.Response(
            body=data, content_type=plan.kind.content_type, headers=headers
        )


class InductionVideoView(HomeAssistantView):
    """The induction video the library uploaded (ranges served for seeking)."""

    url = f"{PUBLIC}/{{service}}/induction/video"
    name = "api:smart_library:public:video"
    requires_auth = False

    async def get(self, request: web.Request, service: str) -> web.StreamResponse:
        """Serve the file."""
        pages = pages_for(request.app[KEY_HASS], service)
        path = pages.store.video_path() if pages else None
        if pages is None or path is None or pages.store.data.video is None:
            return _not_found()
        if not await request.app[KEY_HASS].async_add_executor_job(path.is_file):
            return _not_found()
        headers = _headers("default-src 'none'", private=False)
        headers["Content-Type"] = pages.store.data.video.content_type
        return web.FileResponse(path, headers=headers)


class InductionView(HomeAssistantView):
    """The online induction: sign in with card and PIN, then its steps, all in one form."""

    url = f"{PUBLIC}/{{service}}/induction"
    name = "api:smart_library:public:induction"
    requires_auth = False

    async def get(self, request: web.Request, service: str) -> web.StreamResponse:
        """Serve the sign-in page."""
        pages = pages_for(request.app[KEY_HASS], service)
        if pages is None:
            return _not_found()
        return self._sign_in(
            pages, choose_language(pages, request, request.query.get(LANG_FIELD))
        )

    @staticmethod
    def _sign_in(
        pages: PublicPages,
        language: str,
        message: str = "",
        until: datetime | None = None,
        status: HTTPStatus = HTTPStatus.OK,
    ) -> web.Response:
        policy = (
            pages.access.decider.lockout.policy
            if pages.access.problem is None
            else None
        )
        lockout = (
            (policy.attempts, int(policy.duration.total_seconds() // 60))
            if policy
            else (5, 15)
        )
        text = sign_in_page(
            pages.context(language, here=f"{pages.base}/induction"),
            message=message,
            locked_until=format_moment(dt_util.as_local(until)) if until else "",
            lockout=lockout,
        )
        return _html(text, private=True, status=status)

    async def post(self, request: web.Request, service: str) -> web.StreamResponse:
        """Take a sign-in or a step's form; answer with the next page."""
        hass = request.app[KEY_HASS]
        pages = pages_for(hass, service)
        if pages is None:
            return _not_found()
        if request.content_length is None or request.content_length > FORM_MAX:
            return web.Response(
                text="Request too large",
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                content_type="text/plain",
                headers=_headers("default-src 'none'", private=True),
            )
        if request.content_type != "application/x-www-form-urlencoded":
            # The pages' forms send nothing else (no files): anything else is not a form.
            return self._sign_in(
                pages,
                choose_language(pages, request),
                "session_ended",
                status=HTTPStatus.BAD_REQUEST,
            )
        try:
            raw = await request.post()
        except ValueError:  # a body that is not a form
            return self._sign_in(
                pages,
                choose_language(pages, request),
                "session_ended",
                status=HTTPStatus.BAD_REQUEST,
            )
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        go = form.get("go", "")
        language = choose_language(
            pages,
            request,
            go.removeprefix(SWITCH_PREFIX)
            if go.startswith(SWITCH_PREFIX)
            else form.get(LANG_FIELD),
        )
        if go == "sign_in":
            return await self._post_sign_in(request, pages, form, language)
        now = dt_util.utcnow()
        session = pages.desk.sessions.get(form.get("token"), now)
        if session is None:
            return self._sign_in(pages, language, "session_ended")
        # A language switch button changes nothing but the language (the desk ignores it).
        result = await pages.desk.async_step(session, form, now)
        ctx = pages.context(language)
        if result.completed is Outcome.COMPLETED:
            recorded = result.recorded
            day = (
                recorded.induction_date
                if recorded and recorded.induction_date
                else now.date()
            )
            return _html(
                complete_page(
                    ctx,
                    version=session.version.number,
                    day=day,
                    branches=pages.branch_views(ctx.cat),
                ),
                private=True,
            )
        if result.completed is Outcome.ENDED:
            return self._sign_in(pages, language, "session_ended")
        if result.completed is not None:
            return _html(refusal_page(ctx, result.completed.value), private=True)
        return self._step(pages, session, form.get("token", ""), language, result.error)

    async def _post_sign_in(
        self,
        request: web.Request,
        pages: PublicPages,
        form: Mapping[str, str],
        language: str,
    ) -> web.Response:
        result = await pages.desk.async_sign_in(
            form.get("card", ""), form.get("pin", ""), _remote(request)
        )
        outcome = result.outcome
        if outcome is Outcome.SIGNED_IN and result.session is not None:
            return self._step(pages, result.session, result.token, language)
        if outcome in (
            Outcome.NOT_RECOGNISED,
            Outcome.LOCKED_OUT,
            Outcome.THROTTLED,
            Outcome.UNAVAILABLE,
        ):
            status = (
                HTTPStatus.TOO_MANY_REQUESTS
                if outcome is Outcome.THROTTLED
                else HTTPStatus.OK
            )
            response = self._sign_in(
                pages, language, outcome.value, result.until, status
            )
            if outcome is Outcome.THROTTLED and result.until is not None:
                wait = max(1, int((result.until - dt_util.utcnow()).total_seconds()))
                response.headers["Retry-After"] = str(wait)
            return response
        return _html(refusal_page(pages.context(language), outcome.value), private=True)

    @staticmethod
    def _step(
        pages: PublicPages,
        session: Session,
        token: str,
        language: str,
        error: str = "",
    ) -> web.Response:
        content = session.version.content
        video_url = pages.video_url()
        media = frame = ""
        if session.step == "video" and content.video and not content.video_is_file:
            origin = _origin(content.video)
            if urlsplit(content.video).path.lower().endswith(MEDIA_SUFFIXES):
                media = origin
            else:
                frame = origin
        ctx = pages.context(language, switch_form=FORM_ID)
        text = step_page(
            ctx,
            token=token,
            steps=session.steps,
            step=session.step,
            version=induction_version(session.version, ctx.cat),
            branches=pages.branch_views(ctx.cat) if session.step == "branches" else (),
            video_url=video_url,
            quiz=session.quiz,
            answers=session.answers,
            error=error,
            already=session.already,
            notice=session.notice,
        )
        policy = _policy(script=session.step == "video", media=media, frame=frame)
        return _html(text, private=True, policy=policy)


VIEWS: Final[tuple[type[HomeAssistantView], ...]] = (
    AssetView,
    ServiceView,
    BranchPageView,
    HoursFeedView,
    FloorPlanView,
    InductionVideoView,
    InductionView,
)


def async_register_views(hass: HomeAssistant) -> None:
    """Register the public pages' views (once, in async_setup)."""
    for view in VIEWS:
        hass.http.register_view(view)


def public_links(pages: PublicPages) -> dict[str, Any]:
    """Return the service's public addresses (for administrators' answers)."""
    return {
        "service": pages.base,
        "induction": f"{pages.base}/induction",
        "branches": {
            b.title: pages.branch_url(slug) for slug, b in pages.branch_slugs().items()
        },
    }
