"""The incident log of a library service: recording, completing, snapshots, export, retention.

Thin glue over engine.incidents and engine.incident_store: every store call runs in the
executor, every rule's error is translated, every change tells the incident views (the to-do
lists, the counts). Incidents arrive by themselves from the building's events (see
safety_runtime.py) and from staff (the `record_incident` action, a to-do list's new item).

Camera snapshots: each camera a branch names gives one still picture when an alarm opens an
incident. They are written by the integration itself (not `camera.snapshot`, which writes only
to folders the configuration opens to everyone) under
`<config>/smart_library/incidents/<service>/<incident>/`, readable by Home Assistant's user alone
(0600 files in 0700 folders), and deleted with their incident.

The lines the integration writes into a timeline ("Recorded", "Review completed", a repeat, the
snapshots kept) are in Home Assistant's language at the time of writing and stay as written:
stored records are never translated again (helpers/staff_texts.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
import os
from pathlib import Path
import re
import shutil
import sqlite3
from typing import TYPE_CHECKING, TypeVar

from homeassistant.core import CALLBACK_TYPE, Context
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..engine.database import StorageError
from ..engine.safety import incidents as rules
from ..engine.safety.incident_store import IncidentStore
from ..engine.safety.incidents import (
    Category,
    Incident,
    IncidentError,
    LogEntry,
    MemberLink,
    Source,
    Status,
)
from ..helpers.errors import translated
from ..helpers.staff_texts import category_title, staff_texts
from ..helpers.storage import storage_problem
from .common import EVENT_INCIDENT, SafetyBase, snapshots_folder

if TYPE_CHECKING:
    from ..branch import Branch

_T = TypeVar("_T")
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SNAPSHOT_TIMEOUT = 10  # seconds per camera
_SAFE_NAME = re.compile(r"[^a-z0-9_]+")
RETRY_INTERVAL = timedelta(minutes=1)
ISSUE_INCIDENT_STORE = "incident_store"


class IncidentLog:
    """The incidents of one library service.

    Life safety never waits for this store. An incident store that cannot be opened (corrupt,
    unreadable) or written (disk full, read-only) keeps new records and their timeline lines in
    memory, in order, and writes them when it can: tried again every minute, with a repair
    issue meanwhile. A damaged file is never touched: an administrator restores it from a backup
    or deletes it (a new store is then made).
    """

    def __init__(self, runtime: SafetyBase, path: Path) -> None:
        """Know where the store is (`async_open` opens it)."""
        self.runtime = runtime
        self.hass = runtime.hass
        self._path = path
        self._store: IncidentStore | None = None
        self._pending: list[Callable[[IncidentStore], object]] = []
        self._memory: dict[str, Incident] = {}  # recorded, not yet written
        self._unsub_retry: CALLBACK_TYPE | None = None
        self.problem: str | None = None  # why the store cannot be used now

    @property
    def store(self) -> IncidentStore:
        """Return the open store, or a translated error while it cannot be used."""
        if self._store is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="incident_store_unavailable",
                translation_placeholders={"error": self.problem or "not open"},
            )
        return self._store

    @property
    def waiting(self) -> int:
        """Return how many writes wait for the store."""
        return len(self._pending)

    async def async_open(self) -> None:
        """Open the store; if it cannot be opened, keep incidents in memory meanwhile."""
        try:
            self._store = await self.hass.async_add_executor_job(
                IncidentStore, self._path
            )
        except (sqlite3.Error, OSError, StorageError) as err:
            self._storage_failed(err)
        self._unsub_retry = async_track_time_interval(
            self.hass, self._async_retry, RETRY_INTERVAL
        )

    async def async_close(self) -> None:
        """Write what waits, if it can, then close the store."""
        if self._unsub_retry is not None:
            self._unsub_retry()
            self._unsub_retry = None
        await self._async_flush()
        if self._pending:
            LOGGER.error(
                "%s: %d incident change(s) could not be written before unloading (%s)",
                self.runtime.entry.title,
                len(self._pending),
                self.problem,
            )
        if self._store is not None:
            await self.hass.async_add_executor_job(self._store.close)
            self._store = None

    def _storage_failed(self, err: BaseException) -> None:
        """Say once why the store cannot be used; raise the repair issue."""
        problem = storage_problem(err)
        if self.problem != problem:
            LOGGER.error(
                "The incident store of %s cannot be used (%s): incidents are kept in "
                "memory and written when it can be; staff alerts go out meanwhile",
                self.runtime.entry.title,
                err,
            )
        self.problem = problem
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_INCIDENT_STORE}_{self.runtime.entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=f"{ISSUE_INCIDENT_STORE}_{problem}",
            translation_placeholders={
                "service": self.runtime.entry.title,
                "path": str(self._path),
            },
        )

    async def _async_retry(self, _now: datetime | None = None) -> None:
        await self._async_flush()

    async def _async_flush(self) -> None:
        """Open the store if it is not, then write what waits, in order."""
        if self._store is None:
            if self.problem == "corrupt" and not self._path.exists():
                self.problem = None  # the damaged file was taken away: start a new one
            if self.problem == "corrupt":
                return  # never touch a damaged file
            try:
                self._store = await self.hass.async_add_executor_job(
                    IncidentStore, self._path
                )
            except (sqlite3.Error, OSError, StorageError) as err:
                self._storage_failed(err)
                return
        store = self._store
        while self._pending:
            job = self._pending[0]
            try:
                await self.hass.async_add_executor_job(job, store)
            except IncidentError:
                pass  # the rules refuse it now (the incident went meanwhile)
            except (sqlite3.Error, OSError, StorageError) as err:
                self._storage_failed(err)
                return
            self._pending.pop(0)
        if self.problem is not None:
            LOGGER.warning(
                "The incident store of %s is written again", self.runtime.entry.title
            )
        self.problem = None
        self._memory.clear()
        ir.async_delete_issue(
            self.hass, DOMAIN, f"{ISSUE_INCIDENT_STORE}_{self.runtime.entry.entry_id}"
        )
        self.runtime.changed()

    async def _async_write(self, job: Callable[[IncidentStore], _T]) -> _T | None:
        """Write now, or queue the write behind those waiting (None: queued).

        A rule's refusal is a translated error; a storage failure never is.
        """
        if self._store is not None and not self._pending:
            store = self._store
            try:
                return await self.hass.async_add_executor_job(job, store)
            except IncidentError as err:
                raise translated(err) from None
            except (sqlite3.Error, OSError, StorageError) as err:
                self._storage_failed(err)
        self._pending.append(job)
        return None

    async def async_write(self, job: Callable[[IncidentStore], _T]) -> _T | None:
        """Write now, or after the writes waiting for the store (None: it waits)."""
        return await self._async_write(job)

    def remember(self, incident: Incident) -> None:
        """Keep an incident whose write waits, so its timeline can grow meanwhile."""
        self._memory[incident.id] = incident

    async def async_run(self, job: Callable[[], _T]) -> _T:
        """Run a store job in the executor; translate the rules' and the storage's errors."""
        try:
            return await self.hass.async_add_executor_job(job)
        except IncidentError as err:
            raise translated(err) from None
        except (sqlite3.Error, OSError, StorageError) as err:
            self._storage_failed(err)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="incident_store_unavailable",
                translation_placeholders={"error": self.problem or str(err)},
            ) from err

    def _fire(self, incident: Incident, context: Context | None = None) -> None:
        """Tell automations and the logbook (no personal data in the event)."""
        self.hass.bus.async_fire(
            EVENT_INCIDENT,
            {
                "branch": incident.branch_name,
                "branch_id": incident.branch,
                "incident": incident.id,
                "category": incident.category.value,
                "status": incident.status.value,
            },
            context=context,
        )
        self.runtime.changed()

    # -- recording ---------------------------------------------------------------------------

    async def async_record(
        self,
        branch: Branch,
        category: Category,
        *,
        by: str,
        source: Source = Source.STAFF,
        occurred_at: datetime | None = None,
        location: str = "",
        description: str = "",
        actions_taken: str = "",
        member: MemberLink | None = None,
        police_reference: str = "",
        context: Context | None = None,
    ) -> Incident:
        """Record a new incident (a translated error for data that cannot be kept)."""
        now = dt_util.utcnow()
        try:
            incident = rules.new_incident(
                branch=branch.id,
                branch_name=branch.subentry.title,
                category=category,
                occurred_at=occurred_at or now,
                now=now,
                recorded_by=by,
                source=source,
                location=location,
                description=description,
                actions_taken=actions_taken,
                member=member,
                police_reference=police_reference,
                recorded_text=staff_texts(self.hass)("incident.recorded"),
            )
        except IncidentError as err:
            raise translated(err) from None
        if await self._async_write(lambda store: store.add(incident)) is None:
            self._memory[incident.id] = incident
        self._fire(incident, context)
        return incident

    async def async_open_or_repeat(
        self,
        branch: Branch,
        category: Category,
        *,
        source: Source,
        location: str,
        description: str,
        by: str,
    ) -> tuple[Incident, bool]:
        """Open an incident for something happening now, or add to the same one still open.

        Returns the incident and whether it is new.
        """
        now = dt_util.utcnow()
        recent = [
            i
            for i in self._memory.values()
            if i.branch == branch.id and i.status is Status.OPEN
        ]
        if self._store is not None and not self._pending:
            store = self._store
            try:
                recent = await self.hass.async_add_executor_job(
                    lambda: store.incidents(
                        branch=branch.id,
                        status=Status.OPEN,
                        since=now - rules.REPEAT_WINDOW,
                    )
                )
            except (sqlite3.Error, OSError, StorageError) as err:
                self._storage_failed(err)
        for incident in reversed(recent):
            if rules.is_repeat(incident, category, location, now):
                cat = staff_texts(self.hass)
                what = description or category_title(cat, incident.category)
                entry = LogEntry(now, cat("incident.again", what=what), by)
                again = await self.async_log(incident.id, entry)
                return again or incident, False
        incident = await self.async_record(
            branch,
            category,
            by=by,
            source=source,
            location=location,
            description=description,
        )
        return incident, True

    async def async_log(self, incident_id: str, entry: LogEntry) -> Incident | None:
        """Add a line to an incident's timeline (None: queued until the store is written)."""

        def change(store: IncidentStore) -> Incident:
            return store.change(incident_id, lambda i: rules.with_entry(i, entry))

        if (kept := self._memory.get(incident_id)) is not None:
            self._memory[incident_id] = kept = rules.with_entry(kept, entry)
            self._pending.append(change)
            self.runtime.changed()
            return kept
        incident = await self._async_write(change)
        self.runtime.changed()
        return incident

    async def async_note(self, incident_id: str, text: str, by: str) -> Incident | None:
        """Add a line to a timeline, if the incident is still kept (None when it is not)."""
        try:
            return await self.async_log(
                incident_id, LogEntry(dt_util.utcnow(), text, by)
            )
        except HomeAssistantError as err:
            LOGGER.debug("Incident %s not noted (%s): %s", incident_id, text, err)
            return None

    async def async_note_open(
        self, branch: Branch, category: Category, text: str, by: str
    ) -> None:
        """Add a line to the newest open incident of a category at a branch, if any."""
        found = await self.async_run(
            lambda: self.store.incidents(branch=branch.id, status=Status.OPEN)
        )
        for incident in reversed(found):
            if incident.category is category:
                await self.async_note(incident.id, text, by)
                return

    async def async_complete(
        self,
        incident_id: str,
        *,
        by: str,
        actions_taken: str | None = None,
        police_reference: str | None = None,
        member: MemberLink | None = None,
        context: Context | None = None,
    ) -> Incident:
        """Complete an incident's review."""
        now = dt_util.utcnow()
        completed_text = staff_texts(self.hass)("incident.review_completed")
        incident = await self.async_run(
            lambda: self.store.change(
                incident_id,
                lambda i: rules.complete(
                    i,
                    now=now,
                    by=by,
                    actions_taken=actions_taken,
                    police_reference=police_reference,
                    member=member,
                    completed_text=completed_text,
                ),
            )
        )
        self._fire(incident, context)
        return incident

    async def async_add_note(self, incident_id: str, text: str) -> Incident:
        """Add a duty manager's words to the actions taken."""
        incident = await self.async_run(
            lambda: self.store.change(incident_id, lambda i: rules.add_note(i, text))
        )
        self.runtime.changed()
        return incident

    async def async_set_police_reference(
        self, incident_id: str, reference: str
    ) -> Incident:
        """Keep the crime or incident number the police gave."""
        incident = await self.async_run(
            lambda: self.store.change(
                incident_id, lambda i: rules.with_police_reference(i, reference)
            )
        )
        self.runtime.changed()
        return incident

    # -- reading -----------------------------------------------------------------------------

    async def async_get(self, incident_id: str) -> Incident:
        """Return an incident, or a translated error."""
        return await self.async_run(lambda: self.store.require(incident_id))

    async def async_incidents(
        self,
        *,
        branch: str | None = None,
        status: Status | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Incident]:
        """Return incidents, oldest first (those waiting for the store included)."""
        if self._store is None:
            return [
                i
                for i in self._memory.values()
                if (branch is None or i.branch == branch)
                and (status is None or i.status is status)
            ]
        return await self.async_run(
            lambda: self.store.incidents(
                branch=branch, status=status, since=since, until=until
            )
        )

    async def async_export(
        self,
        *,
        branch: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[str, int]:
        """Return the incidents as spreadsheet-safe CSV, and how many there are."""
        zone = dt_util.get_default_time_zone()

        def export() -> tuple[str, int]:
            found = self.store.incidents(branch=branch, since=since, until=until)
            return rules.export_csv(found, zone), len(found)

        return await self.async_run(export)

    # -- snapshots ---------------------------------------------------------------------------

    def folder(self, incident_id: str) -> Path:
        """Return the folder of an incident's snapshots."""
        base = snapshots_folder(self.hass, self.runtime.entry.entry_id)
        return base / _SAFE_NAME.sub("_", incident_id.lower())

    async def async_snapshots(self, branch: Branch, incident_id: str) -> list[str]:
        """Keep one still picture from each camera the branch names; return the file names."""
        cameras = self.runtime.branch_settings(branch).cameras
        if not cameras:
            return []
        # Imported only where a branch names a camera.
        from homeassistant.components.camera import async_get_image  # noqa: PLC0415

        taken: list[tuple[str, bytes]] = []
        for number, entity_id in enumerate(cameras, 1):
            try:
                image = await async_get_image(
                    self.hass, entity_id, timeout=SNAPSHOT_TIMEOUT
                )
            except HomeAssistantError as err:
                LOGGER.warning(
                    "No snapshot from %s for an incident at %s: %s",
                    entity_id,
                    branch.subentry.title,
                    err,
                )
                await self.async_note(
                    incident_id,
                    staff_texts(self.hass)("incident.no_snapshot", camera=entity_id),
                    "Smart Library",
                )
                continue
            suffix = "png" if image.content_type == "image/png" else "jpg"
            name = f"{number}_{_SAFE_NAME.sub('_', entity_id.lower())}.{suffix}"
            taken.append((name, image.content))
        if not taken:
            return []
        folder = self.folder(incident_id)
        await self.hass.async_add_executor_job(_write_private, folder, taken)
        names = [name for name, _ in taken]

        def keep(incident: Incident) -> Incident:
            return replace(incident, files=(*incident.files, *names))

        try:
            await self.async_run(lambda: self.store.change(incident_id, keep))
        except HomeAssistantError:
            if incident_id in self._memory:
                return names  # kept with the incident when it is written
            # The incident went meanwhile: its pictures go too.
            await self.hass.async_add_executor_job(_remove_folder, folder)
            return []
        await self.async_note(
            incident_id,
            staff_texts(self.hass).count("incident.snapshots_kept", len(names)),
            "Smart Library",
        )
        return names

    # -- retention ---------------------------------------------------------------------------

    async def async_purge(self, keep_members: Iterable[str] = ()) -> list[Incident]:
        """Delete completed incidents past the retention period, with their snapshots."""
        days = self.runtime.settings.retention_days
        cutoff = dt_util.utcnow() - timedelta(days=days)
        keep = set(keep_members)
        gone = await self.async_run(lambda: self.store.purge(cutoff, keep))
        if gone:
            folders = [self.folder(i.id) for i in gone]

            def remove() -> None:
                for folder in folders:
                    _remove_folder(folder)

            await self.hass.async_add_executor_job(remove)
            LOGGER.info(
                "%s: %d incident(s) older than %d days deleted",
                self.runtime.entry.title,
                len(gone),
                days,
            )
            self.runtime.changed()
        return gone


def _write_private(folder: Path, files: list[tuple[str, bytes]]) -> None:
    """Write files readable by their owner alone, in folders only the owner may enter."""
    for path in (folder.parent.parent, folder.parent, folder):
        path.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        path.chmod(PRIVATE_FOLDER)
    for name, content in files:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        (folder / name).chmod(PRIVATE_FILE)


def _remove_folder(folder: Path) -> None:
    """Delete an incident's snapshots."""
    shutil.rmtree(folder, ignore_errors=True)
