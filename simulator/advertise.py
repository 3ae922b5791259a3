"""Advertise a simulated branch controller over zeroconf (DNS-SD), as a real one would."""

from __future__ import annotations

import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from custom_components.smart_library.const import ZEROCONF_TYPE


def service_info(
    name: str,
    host: str,
    port: int,
    *,
    controller_id: str,
    unit: int = 1,
    point_map: str = "reference",
) -> AsyncServiceInfo:
    """Return the DNS-SD record of a branch controller."""
    return AsyncServiceInfo(
        ZEROCONF_TYPE,
        f"{name}.{ZEROCONF_TYPE}",
        addresses=[socket.inet_aton(host)],
        port=port,
        properties={
            "id": controller_id,
            "branch": name,
            "map": point_map,
            "unit": str(unit),
        },
        server=f"{controller_id.lower()}.local.",
    )


class Advertiser:
    """Registers the controller's service while the simulator runs."""

    def __init__(self, info: AsyncServiceInfo) -> None:
        """Prepare the advertisement."""
        self.info = info
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Announce the service on the network."""
        self._zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        await self._zc.async_register_service(self.info)

    async def stop(self) -> None:
        """Withdraw the service."""
        if self._zc is not None:
            await self._zc.async_unregister_service(self.info)
            await self._zc.async_close()
            self._zc = None
