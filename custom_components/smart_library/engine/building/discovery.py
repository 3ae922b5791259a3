"""How a Smart Library controller advertises itself (shared by the integration and the simulator)."""

from __future__ import annotations

from typing import Final

# The zeroconf service type a controller advertises; manifest.json lists the same.
ZEROCONF_TYPE: Final = "_smart-library._tcp.local."
