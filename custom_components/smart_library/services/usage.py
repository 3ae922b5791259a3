"""The usage statistics' action: a branch's month as CSV (admin)."""

from __future__ import annotations

from homeassistant.core import ServiceCall, ServiceResponse

from ..runtime import branch_for_device
from ..usage.statistics import ATTR_BRANCH, ATTR_MONTH, async_export_month


async def export_usage(call: ServiceCall) -> ServiceResponse:
    """Answer with a branch's usage for one month as CSV, per local hour, for planning."""
    branch = branch_for_device(call.hass, call.data[ATTR_BRANCH])
    return await async_export_month(call.hass, branch, call.data.get(ATTR_MONTH))
