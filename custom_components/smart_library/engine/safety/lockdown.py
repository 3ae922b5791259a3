"""Lockdown of a branch: nobody comes in but staff; everybody can always leave.

A lockdown answers a threat outside (seed 003: "protocols for closing ... buildings", crisis
plans). While it lasts:

- **entry** is refused to every card but a staff or contractor card, with its own reason
  (`lockdown`), so staff arriving to help still get in; a member's card is refused only after
  its PIN was checked, like every other refusal about the member's standing;
- **no door is held released** for free entry (staffed hours hold the entrance released: a
  lockdown takes that hold off; `engine.building.BuildingRules.set_lockdown`);
- **leaving is never prevented**: the strikes the controller drives only control entry from
  outside; egress is mechanical (push bar, handle) and is not the integration's to lock, so a
  lockdown writes nothing that could trap a person inside;
- a **fire alarm still wins**: the building's fire rule holds every door released and suspends
  card checks whatever the lockdown says (people leave a burning building).

Ended only by an administrator. Recorded as an incident with its times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

REASON_LOCKDOWN = "lockdown"


@dataclass(frozen=True, slots=True)
class Lockdown:
    """A running lockdown of one branch."""

    branch: str  # the branch's id (its sub-entry)
    started_at: datetime
    started_by: str
    incident: str  # the incident recording it


def refuses_entry(lockdown: bool, staff_card: bool) -> bool:
    """Return True when a lockdown refuses this card: every card but a staff card."""
    return lockdown and not staff_card
