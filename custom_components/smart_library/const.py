"""Constants for the Smart Library integration."""

from datetime import timedelta
import logging
from typing import Final

from .engine.building import discovery

DOMAIN: Final = "smart_library"
LOGGER = logging.getLogger(__package__)
# The library service's languages (an option): the stored PA messages play in each, in order;
# members' pages and the doors' displays use the shipped ones among them, the first by default.
CONF_LANGUAGES: Final = "announcement_languages"

MANUFACTURER: Final = "Smart Library"
ZEROCONF_TYPE: Final = discovery.ZEROCONF_TYPE

SUBENTRY_BRANCH: Final = "branch"

CONF_BACKEND: Final = "backend"
BACKEND_LOCAL: Final = "local"

CONF_UNIT: Final = "unit"
CONF_POINT_MAP: Final = "point_map"
CONF_CONTROLLER_ID: Final = "controller_id"
CONF_RELEASE_SECONDS: Final = "release_seconds"
CONF_MODULES: Final = "modules"  # addresses of a map's second and further I/O modules
CONF_SCHEDULE: Final = (
    "schedule"  # the weekly plan (engine.schedule.Schedule.to_dict())
)
CONF_STAFFED_FREE_ENTRY: Final = (
    "staffed_free_entry"  # doors held open in staffed hours
)
# Branches (sub-entry ids, of any library service) whose staffed hours cover this branch's smart
# hours: set in the branch's opening-hours step (building/cover.py).
CONF_NEIGHBOURS: Final = "neighbours"
# A branch's optional rule: closed, every door locked and the people counter still for this many
# hours -> nobody is counted inside (set in the branch's safety step; absent: no such rule).
CONF_EMPTY_AFTER_HOURS: Final = "empty_after_hours"

DEFAULT_PORT: Final = 502
DEFAULT_UNIT: Final = 1
DEFAULT_POINT_MAP: Final = "reference"
DEFAULT_RELEASE_SECONDS: Final = 5

SCAN_INTERVAL: Final = timedelta(seconds=1)

# Card + PIN access (the service entry's options)
CONF_LOCKOUT_ATTEMPTS: Final = "lockout_attempts"
CONF_LOCKOUT_WINDOW: Final = "lockout_window"  # minutes
CONF_LOCKOUT_MINUTES: Final = "lockout_minutes"
CONF_ROOM_GRACE: Final = "room_grace"  # minutes before a booking the room opens
DEFAULT_LOCKOUT_ATTEMPTS: Final = 5
DEFAULT_LOCKOUT_WINDOW: Final = 15
DEFAULT_LOCKOUT_MINUTES: Final = 15
DEFAULT_ROOM_GRACE: Final = 10
# Door readers: refusals allowed per reader key in a minute, then a pause of this many minutes.
CONF_READER_REFUSALS: Final = "reader_refusals"
CONF_READER_THROTTLE_MINUTES: Final = "reader_throttle_minutes"
DEFAULT_READER_REFUSALS: Final = 10
DEFAULT_READER_THROTTLE_MINUTES: Final = 5

EVENT_ACCESS: Final = "smart_library_access"
EVENT_TAILGATING: Final = "smart_library_tailgating"
TAILGATING_SHOWN: Final = timedelta(
    minutes=2
)  # how long the tailgating sensor stays on
# After a release, entries are counted against the admitted party for this long beyond the
# release itself (the door closing behind the last of them).
ENTRY_WATCH_EXTRA: Final = timedelta(seconds=5)
