"""Administrators' actions for the online induction, the branch pages and the floor plans.

All admin-only (registered from the one table, registry.py): the induction decides who may
enter, and the public pages speak for the library. Handlers are thin: validate, call the engine
(induction versions, public text, floor plans), keep the result (the member store, pages/store.py)
and translate errors. Files come as an upload (the action's file selector: Home Assistant's
`file_upload`, administrators only) or as a path Home Assistant may read (`allowlist_external_dirs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_get_config_entry
from homeassistant.util import dt as dt_util
import probatio

from ..branch import Branch
from ..const import DOMAIN
from ..engine.building.floorplan import (
    MAX_BYTES,
    MarkerKind,
    PlanError,
    parse_markers,
    read_plan,
)
from ..engine.members.induction import (
    VIDEO_FILE,
    VIDEO_SECONDS_MAX,
    InductionError,
    check_content,
    current_version,
    parse_quiz,
)
from ..engine.members.public import (
    BranchPage,
    PublicInfoError,
    check_text,
    format_numbers,
    parse_lines,
    parse_numbers,
)
from ..pages.public import PublicPages
from ..pages.store import PagesFileError, VideoInfo
from ..pages.views import public_links
from ..runtime import branch_for_device

ATTR_BRANCH = "branch"
ATTR_FILE = "file"
ATTR_PATH = "path"

ENTRY = {probatio.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
BRANCH = {probatio.Required(ATTR_BRANCH): cv.string}
FILE = {
    probatio.Exclusive(ATTR_FILE, "source"): cv.string,
    probatio.Exclusive(ATTR_PATH, "source"): cv.string,
}
TEXT = probatio.Any(None, cv.string)

SCHEMAS: dict[str, probatio.Schema] = {
    "publish_induction": probatio.Schema(
        ENTRY
        | {
            probatio.Optional("significant", default=False): cv.boolean,
            probatio.Optional("summary", default=""): cv.string,
            probatio.Optional("rules"): cv.string,
            probatio.Optional("agreement"): cv.string,
            probatio.Optional("quiz"): list,
            probatio.Optional("video"): probatio.Any(None, str),
            probatio.Optional("video_seconds"): probatio.All(
                probatio.Coerce(int), probatio.Range(min=0, max=VIDEO_SECONDS_MAX)
            ),
        }
    ),
    "get_induction": probatio.Schema(ENTRY),
    "upload_induction_video": probatio.Schema(ENTRY | FILE),
    "set_public_info": probatio.Schema(
        ENTRY
        | {
            probatio.Optional("can"): TEXT,
            probatio.Optional("cannot"): TEXT,
            probatio.Optional("help_numbers"): TEXT,
            probatio.Optional("contact"): TEXT,
        }
    ),
    "set_branch_page": probatio.Schema(
        BRANCH
        | {
            probatio.Optional("address"): TEXT,
            probatio.Optional("note"): TEXT,
            probatio.Optional("help_numbers"): TEXT,
        }
    ),
    "upload_floor_plan": probatio.Schema(BRANCH | FILE),
    "set_floor_plan_markers": probatio.Schema(
        BRANCH | {probatio.Required("markers"): list}
    ),
    "remove_floor_plan": probatio.Schema(BRANCH),
}


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


def _translated(
    err: InductionError | PlanError | PublicInfoError | PagesFileError,
) -> ServiceValidationError:
    return _error(err.code, **err.placeholders)


def _pages(call: ServiceCall) -> PublicPages:
    """Return the public pages of the service the call names (or the only one)."""
    entry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    pages: PublicPages = entry.runtime_data.pages
    return pages


def _branch(call: ServiceCall) -> tuple[Branch, PublicPages]:
    """Return the branch the call names and its service's public pages."""
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    pages: PublicPages = branch.coordinator.config_entry.runtime_data.pages
    return branch, pages


async def _blocking[T](hass: HomeAssistant, job: Callable[[], T]) -> T:
    """Run a blocking job; translate the engine's and the store's errors."""
    try:
        return await hass.async_add_executor_job(job)
    except (InductionError, PlanError, PublicInfoError, PagesFileError) as err:
        raise _translated(err) from None


def _with_file[T](call: ServiceCall, use: Callable[[Path], T]) -> Callable[[], T]:
    """Return a blocking job handing the call's file (an upload or a path) to `use`."""
    hass = call.hass
    file_id: str | None = call.data.get(ATTR_FILE)
    path: str | None = call.data.get(ATTR_PATH)
    if file_id is None and path is None:
        raise _error("file_missing")
    if path is not None and not hass.config.is_allowed_path(path):
        raise _error("file_path_not_allowed", path=path)

    def job() -> T:
        if path is not None:
            return use(Path(path))
        from homeassistant.components.file_upload import process_uploaded_file  # noqa: PLC0415 - only for uploads

        try:
            with process_uploaded_file(hass, str(file_id)) as uploaded:
                return use(uploaded)
        except ValueError as err:
            if isinstance(
                err, (InductionError, PlanError, PublicInfoError, PagesFileError)
            ):
                raise
            raise PagesFileError("file_missing") from None

    return job


# -- the induction ------------------------------------------------------------------------------


async def publish_induction(call: ServiceCall) -> ServiceResponse:
    """Publish a new version of the induction; what is not given stays as it is now."""
    pages = _pages(call)
    store = pages.access.store
    data = call.data
    history = await pages.access.async_run(store.induction_history)
    content = current_version(history).content
    changes: dict[str, Any] = {}
    for name in ("rules", "agreement"):
        if name in data:
            changes[name] = data[name]
    if "video" in data:
        changes["video"] = data["video"] or ""
    if "video_seconds" in data:
        changes["video_seconds"] = data["video_seconds"]
    try:
        if "quiz" in data:
            changes["quiz"] = parse_quiz(data["quiz"])
        content = check_content(replace(content, **changes))
    except InductionError as err:
        raise _translated(err) from None
    if content.video == VIDEO_FILE and pages.store.data.video is None:
        raise _error("induction_no_video_file")
    now = dt_util.now()

    def publish() -> dict[str, Any]:
        version = store.publish_induction(
            content,
            significant=data["significant"],
            summary=data["summary"],
            at=now,
        )
        return {
            "version": version.number,
            "significant": version.significant,
            "required_version": store.induction_required,
            "members_to_induct_again": (
                store.count_inducted_before(version.number)
                if version.significant
                else 0
            ),
        }

    try:
        answer = await pages.access.async_run(publish)
    except InductionError as err:
        raise _translated(err) from None
    return answer | {"induction": f"{pages.base}/induction"}


async def get_induction(call: ServiceCall) -> ServiceResponse:
    """Answer with the induction members go through now, its versions and its addresses."""
    pages = _pages(call)
    store = pages.access.store
    history = await pages.access.async_run(store.induction_history)
    current = current_version(history)
    video = pages.store.data.video
    return {
        "current": current.describe() | {"content": current.content.to_dict()},
        "versions": [v.describe() for v in history],
        "required_version": store.induction_required,
        "video_file": (
            {"type": video.content_type, "bytes": video.size} if video else None
        ),
        "links": public_links(pages),
    }


async def upload_induction_video(call: ServiceCall) -> ServiceResponse:
    """Keep the induction video file (publish with video "file" to use it)."""
    pages = _pages(call)
    video: VideoInfo = await _blocking(
        call.hass, _with_file(call, pages.store.copy_video)
    )
    await pages.store.async_set_video_info(video)
    return {"type": video.content_type, "bytes": video.size}


# -- the public text ----------------------------------------------------------------------------


async def set_public_info(call: ServiceCall) -> ServiceResponse:
    """Change the service's public text; what is not given stays."""
    pages = _pages(call)
    info = pages.store.data.info
    data = call.data
    try:
        if data.get("can") is not None:
            info = replace(info, can=parse_lines(data["can"], "can"))
        if data.get("cannot") is not None:
            info = replace(info, cannot=parse_lines(data["cannot"], "cannot"))
        if data.get("help_numbers") is not None:
            info = replace(info, numbers=parse_numbers(data["help_numbers"]))
        if data.get("contact") is not None:
            info = replace(info, contact=check_text(data["contact"], "contact"))
    except PublicInfoError as err:
        raise _translated(err) from None
    await pages.store.async_set_info(info)
    return {
        "can": list(info.can),
        "cannot": list(info.cannot),
        "help_numbers": format_numbers(info.numbers),
        "contact": info.contact,
        "links": public_links(pages),
    }


async def set_branch_page(call: ServiceCall) -> ServiceResponse:
    """Change a branch's address, note or own help numbers."""
    branch, pages = _branch(call)
    page = pages.store.branch(branch.id)
    data = call.data
    try:
        if data.get("address") is not None:
            page = replace(page, address=check_text(data["address"], "address", 400))
        if data.get("note") is not None:
            page = replace(page, note=check_text(data["note"], "note", 600))
        if data.get("help_numbers") is not None:
            page = replace(page, numbers=parse_numbers(data["help_numbers"]))
    except PublicInfoError as err:
        raise _translated(err) from None
    await pages.store.async_set_branch(branch.id, page)
    return _branch_answer(pages, branch, page)


def _branch_answer(
    pages: PublicPages, branch: Branch, page: BranchPage | None = None
) -> dict[str, Any]:
    slug = next(s for s, b in pages.branch_slugs().items() if b.id == branch.id)
    page = page or pages.store.branch(branch.id)
    return {
        "address": page.address,
        "note": page.note,
        "help_numbers": format_numbers(page.numbers),
        "page": pages.branch_url(slug),
        "hours_feed": f"{pages.branch_url(slug)}/hours.ics",
    }


# -- floor plans --------------------------------------------------------------------------------


def _read_upload(path: Path) -> bytes:
    """Read an uploaded plan, refusing one too large before reading it."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise PlanError("plan_too_large", most=f"{MAX_BYTES // (1024 * 1024)} MB")
        return path.read_bytes()
    except OSError:
        raise PagesFileError("file_unreadable") from None


async def upload_floor_plan(call: ServiceCall) -> ServiceResponse:
    """Keep a branch's floor plan: PNG, JPEG or SVG, made safe; its markers stay."""
    branch, pages = _branch(call)
    image = await _blocking(
        call.hass, _with_file(call, lambda path: read_plan(_read_upload(path)))
    )
    try:
        plan = await pages.store.async_set_plan(branch.id, image)
    except PagesFileError as err:
        raise _translated(err) from None
    answer: dict[str, Any] = {
        "type": plan.kind.content_type,
        "width": plan.width,
        "height": plan.height,
        "bytes": plan.size,
        "markers": len(plan.markers),
    }
    return answer | _branch_answer(pages, branch)


async def set_floor_plan_markers(call: ServiceCall) -> ServiceResponse:
    """Place doors, fire exits, the help point and PA zones on a branch's floor plan."""
    branch, pages = _branch(call)
    try:
        markers = parse_markers(call.data["markers"])
    except PlanError as err:
        raise _translated(err) from None
    point_map = branch.coordinator.point_map
    doors = {d.id for d in point_map.doors}
    zones = set(point_map.pa_zones)
    for number, marker in enumerate(markers, start=1):
        known = doors if marker.kind is MarkerKind.DOOR else zones
        if marker.ref and marker.ref not in known:
            raise _error(
                "marker_unknown_ref",
                marker=str(number),
                ref=marker.ref,
                known=", ".join(sorted(known)) or "-",
            )
    try:
        plan = await pages.store.async_set_markers(branch.id, markers)
    except PagesFileError as err:
        raise _translated(err) from None
    return {"markers": len(plan.markers)} | _branch_answer(pages, branch)


async def remove_floor_plan(call: ServiceCall) -> ServiceResponse:
    """Remove a branch's floor plan (its file and markers)."""
    branch, pages = _branch(call)
    if not await pages.store.async_remove_plan(branch.id):
        raise _error("plan_missing")
    return {"removed": True}
