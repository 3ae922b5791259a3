"""What the public pages show that administrators edit, and the files they upload.

Kept per library service: the public text (what members can and cannot do, the help numbers,
how to contact the library), each branch's address and note, each branch's floor plan (its kind,
size, version and markers) in Home Assistant's storage (`.storage/smart_library.<entry>.pages`);
the floor plan images and the induction video under the integration's own folder,
`config/smart_library/pages/<entry>/` (0700; files 0600). A file's name is made here from the
branch's id (`plan-<branch id>.<kind>`), never from anything uploaded; a file is written whole
under a temporary name, then renamed, so a reader never sees half of one.

The induction's content and versions are in the member store (engine.members.store), beside
the members whose induction they decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
import hashlib
import os
from pathlib import Path
import re
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..engine.building.floorplan import ImageKind, Marker, MarkerKind, PlanImage
from ..engine.members.induction import MAX_VIDEO_BYTES, VIDEO_TYPES, video_suffix
from ..engine.members.public import BranchPage, PublicInfo

STORAGE_VERSION = 1
_ID = re.compile(r"[A-Za-z0-9_]{1,64}")
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


class PagesFileError(ValueError):
    """A file that cannot be kept; `code` is a translation key."""

    def __init__(self, code: str, **placeholders: str) -> None:
        """Create the error."""
        super().__init__(code)
        self.code = code
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """A branch's floor plan as kept: the file's kind, size and version; its markers."""

    kind: ImageKind
    width: int
    height: int
    size: int  # bytes
    version: str  # a digest of the file: a new upload is a new address
    markers: tuple[Marker, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return JSON types."""
        return {
            "kind": self.kind.value,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "version": self.version,
            "markers": [m.to_dict() for m in self.markers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanInfo:
        """Read what `to_dict` wrote."""
        return cls(
            kind=ImageKind(data["kind"]),
            width=int(data["width"]),
            height=int(data["height"]),
            size=int(data["size"]),
            version=str(data["version"]),
            markers=tuple(
                Marker(
                    MarkerKind(m["kind"]),
                    float(m["x"]),
                    float(m["y"]),
                    str(m.get("label", "")),
                    str(m.get("ref", "")),
                )
                for m in data.get("markers", [])
            ),
        )


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """The induction video file the library uploaded."""

    suffix: str
    size: int
    version: str

    @property
    def content_type(self) -> str:
        """Return its MIME type."""
        return VIDEO_TYPES[self.suffix]


@dataclass(slots=True)
class PagesData:
    """Everything kept for one library service's public pages."""

    info: PublicInfo = field(default_factory=PublicInfo)
    branches: dict[str, BranchPage] = field(default_factory=dict)
    plans: dict[str, PlanInfo] = field(default_factory=dict)
    video: VideoInfo | None = None


def _check_id(branch_id: str) -> str:
    """Return a branch id fit for a file name (the sub-entry's id), or refuse it."""
    if not _ID.fullmatch(branch_id):
        raise PagesFileError("plan_unknown_branch")
    return branch_id


def _write_private(path: Path, data: bytes) -> None:
    """Write a whole file, private to the process's user, under a temporary name first."""
    path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    path.parent.chmod(PRIVATE_FOLDER)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE
    )
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


class PagesStore:
    """The public pages' text, floor plans and video of one library service."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store (nothing read yet)."""
        self.hass = hass
        self.entry_id = entry_id
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.pages"
        )
        self.folder = Path(hass.config.path(DOMAIN, "pages", entry_id))
        self.data = PagesData()

    async def async_load(self) -> None:
        """Read what was kept (anything unreadable is left out, never fatal)."""
        raw = await self._store.async_load() or {}
        data = PagesData(info=PublicInfo.from_dict(raw.get("info")))
        for branch_id, page in (raw.get("branches") or {}).items():
            data.branches[str(branch_id)] = BranchPage.from_dict(page)
        for branch_id, plan in (raw.get("plans") or {}).items():
            try:
                data.plans[str(branch_id)] = PlanInfo.from_dict(plan)
            except KeyError, TypeError, ValueError:
                continue
        video = raw.get("video")
        if isinstance(video, dict) and video.get("suffix") in VIDEO_TYPES:
            data.video = VideoInfo(
                str(video["suffix"]), int(video["size"]), str(video["version"])
            )
        self.data = data

    async def _async_save(self) -> None:
        data = self.data
        await self._store.async_save(
            {
                "info": data.info.to_dict(),
                "branches": {k: v.to_dict() for k, v in data.branches.items()},
                "plans": {k: v.to_dict() for k, v in data.plans.items()},
                "video": (
                    {
                        "suffix": data.video.suffix,
                        "size": data.video.size,
                        "version": data.video.version,
                    }
                    if data.video
                    else None
                ),
            }
        )

    # -- text -----------------------------------------------------------------------------------

    async def async_set_info(self, info: PublicInfo) -> None:
        """Keep the service's public text."""
        self.data.info = info
        await self._async_save()

    def branch(self, branch_id: str) -> BranchPage:
        """Return a branch's public text (empty when none was given)."""
        return self.data.branches.get(branch_id, BranchPage())

    async def async_set_branch(self, branch_id: str, page: BranchPage) -> None:
        """Keep a branch's public text."""
        self.data.branches[branch_id] = page
        await self._async_save()

    # -- floor plans ----------------------------------------------------------------------------

    def plan_path(self, branch_id: str, kind: ImageKind) -> Path:
        """Return where a branch's floor plan of a kind is kept."""
        return self.folder / f"plan-{_check_id(branch_id)}{kind.suffix}"

    async def async_set_plan(self, branch_id: str, image: PlanImage) -> PlanInfo:
        """Keep a branch's floor plan (made safe already); its markers stay where they were."""
        path = self.plan_path(branch_id, image.kind)

        def write() -> None:
            _write_private(path, image.data)
            for kind in ImageKind:  # a plan of another kind before it goes
                if kind is not image.kind:
                    self.plan_path(branch_id, kind).unlink(missing_ok=True)

        await self.hass.async_add_executor_job(write)
        before = self.data.plans.get(branch_id)
        plan = PlanInfo(
            kind=image.kind,
            width=image.width,
            height=image.height,
            size=len(image.data),
            version=hashlib.sha256(image.data).hexdigest()[:12],
            markers=before.markers if before else (),
        )
        self.data.plans[branch_id] = plan
        await self._async_save()
        return plan

    async def async_set_markers(
        self, branch_id: str, markers: tuple[Marker, ...]
    ) -> PlanInfo:
        """Keep the markers of a branch's floor plan."""
        plan = self.data.plans.get(branch_id)
        if plan is None:
            raise PagesFileError("plan_missing")
        plan = replace(plan, markers=markers)
        self.data.plans[branch_id] = plan
        await self._async_save()
        return plan

    async def async_remove_plan(self, branch_id: str) -> bool:
        """Forget a branch's floor plan and delete its file; False when it had none."""
        plan = self.data.plans.pop(branch_id, None)
        if plan is None:
            return False

        def delete() -> None:
            for kind in ImageKind:
                self.plan_path(branch_id, kind).unlink(missing_ok=True)

        await self.hass.async_add_executor_job(delete)
        await self._async_save()
        return True

    async def async_read_plan(self, branch_id: str) -> tuple[PlanInfo, bytes] | None:
        """Return a branch's floor plan and its bytes, or None."""
        plan = self.data.plans.get(branch_id)
        if plan is None:
            return None
        path = self.plan_path(branch_id, plan.kind)
        try:
            data = await self.hass.async_add_executor_job(path.read_bytes)
        except OSError:
            return None
        return plan, data

    # -- the induction video --------------------------------------------------------------------

    def video_path(self) -> Path | None:
        """Return where the induction video is kept, or None."""
        video = self.data.video
        return self.folder / f"video{video.suffix}" if video else None

    def copy_video(self, source: Path) -> VideoInfo:
        """Copy a video file in (blocking): MP4, WebM or Ogg by its bytes, size-limited.

        Only its info is returned; `async_set_video_info` keeps that once the copy is done.
        """
        try:
            size = source.stat().st_size
            with source.open("rb") as file:
                head = file.read(16)
        except OSError:
            raise PagesFileError("video_unreadable") from None
        most = f"{MAX_VIDEO_BYTES // (1024 * 1024)} MB"
        if size > MAX_VIDEO_BYTES:
            raise PagesFileError("video_too_large", most=most)
        suffix = video_suffix(head)
        if suffix is None:
            raise PagesFileError("video_not_video")
        target = self.folder / f"video{suffix}"
        self.folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        digest = hashlib.sha256()
        copied = 0
        descriptor = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
            PRIVATE_FILE,
        )
        try:
            with source.open("rb") as file, os.fdopen(descriptor, "wb") as out:
                while (chunk := file.read(1024 * 1024)) and copied <= MAX_VIDEO_BYTES:
                    copied += len(chunk)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        if copied > MAX_VIDEO_BYTES:  # it grew while being copied
            temporary.unlink(missing_ok=True)
            raise PagesFileError("video_too_large", most=most)
        temporary.replace(target)
        for other in VIDEO_TYPES:
            if other != suffix:
                (self.folder / f"video{other}").unlink(missing_ok=True)
        return VideoInfo(suffix, copied, digest.hexdigest()[:12])

    async def async_set_video_info(self, video: VideoInfo) -> None:
        """Keep the info of the video file just copied in."""
        self.data.video = video
        await self._async_save()

    # -- removal --------------------------------------------------------------------------------

    async def async_remove(self) -> None:
        """Delete everything kept for the service (it was removed)."""
        await self.hass.async_add_executor_job(
            lambda: shutil.rmtree(self.folder, ignore_errors=True)
        )
        await self._store.async_remove()
