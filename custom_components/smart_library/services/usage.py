"""The usage action: a branch's month as CSV, for planning staffed hours (admin, like every export).

Registered from the one table in registry.py. The counting and the reading back are in
usage/statistics.py; this handler validates, finds the branch and answers.
"""

from __future__ import annotations

from typing import Final

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import probatio

from ..const import DOMAIN
from ..runtime import branch_for_device
from ..usage.statistics import async_usage_month, parse_month

ATTR_BRANCH: Final = "branch"
ATTR_MONTH: Final = "month"
EXPORT_USAGE_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_BRANCH): cv.string,
        probatio.Optional(ATTR_MONTH): cv.string,
    }
)


async def export_usage(call: ServiceCall) -> ServiceResponse:
    """Answer with a branch's usage for one month as CSV, per local hour, for planning."""
    hass = call.hass
    branch = branch_for_device(hass, call.data[ATTR_BRANCH])
    try:
        month = parse_month(call.data.get(ATTR_MONTH), dt_util.now().date())
    except ValueError:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_month",
            translation_placeholders={"month": str(call.data.get(ATTR_MONTH))},
        ) from None
    if "recorder" not in hass.config.components:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="usage_needs_recorder"
        )
    text, lines = await async_usage_month(hass, branch.id, month)
    return {
        "branch": branch.subentry.title,
        "month": f"{month.year:04d}-{month.month:02d}",
        "hours": lines,
        "csv": text,
    }
