"""Advertise a simulated branch controller over zeroconf (DNS-SD), as a real one would."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from custom_components.smart_library.engine.building.discovery import ZEROCONF_TYPE


def service_info(
    name: str,
    host: str,
    port: int,
    *,
    controller_id: str,
    unit: int = 1,
    point_map: str = "reference",
    instance: str | None = None,
) -> AsyncServiceInfo:
    """Return the DNS-SD record of a branch controller.

    The instance name is the branch name with a random suffix unless `instance` is given, so two
    simulators on one network (a test beside scripts/develop) never claim the same name; the
    integration takes the branch's name from the `branch` property, not from the instance name.
    """
    suffix = secrets.token_hex(3)
    return AsyncServiceInfo(
        ZEROCONF_TYPE,
        f"{instance or f'{name} ({suffix})'}.{ZEROCONF_TYPE}",
        addresses=[socket.inet_aton(host)],
        port=port,
        properties={
            "id": controller_id,
            "branch": name,
            "map": point_map,
            "unit": str(unit),
        },
        server=f"{controller_id.lower()}-{suffix}.local.",
    )


class Advertiser:
    """Registers the controller's service while the simulator runs."""

    def __init__(self, info: AsyncServiceInfo) -> None:
        """Prepare the advertisement."""
        self.info = info
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Announce the service on the network."""
        zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
        try:
            await zc.async_register_service(self.info)
        except BaseException:
            await zc.async_close()
            raise
        self._zc = zc

    @property
    def name(self) -> str:
        """Return the advertised instance name (without the service type)."""
        return self.info.name.removesuffix(f".{ZEROCONF_TYPE}")

    async def stop(self) -> None:
        """Withdraw the service (at most a few seconds: the goodbye is best effort)."""
        if self._zc is not None:
            zc, self._zc = self._zc, None
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await zc.async_unregister_service(self.info)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await zc.async_close()
