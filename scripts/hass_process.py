"""A real Home Assistant process on a free port of 127.0.0.1, for tests and benchmarks.

Home Assistant runs as users run it (`python -m homeassistant -c <config>`) with this checkout's
integration installed as HACS installs it, and is set up through its REST API exactly as
`scripts/develop` does it (scripts/develop_setup.py). Run inside the project's environment.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
from typing import Any

import aiohttp

from scripts import develop_setup

REPO = Path(__file__).resolve().parents[1]
CONFIGURATION = """\
homeassistant:
  name: Smart Library (real process)
  time_zone: Europe/London
api:
config:
onboarding:
logger:
  default: warning
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HomeAssistantProcess:
    """One configuration directory; Home Assistant started on it and killed, as often as asked."""

    def __init__(self, config: Path) -> None:
        """Write a minimal configuration with the integration installed as HACS installs it."""
        self.config = config
        self.port = _free_port()
        (config / "custom_components").mkdir(parents=True)
        (config / "custom_components" / "smart_library").symlink_to(
            REPO / "custom_components" / "smart_library"
        )
        (config / "configuration.yaml").write_text(CONFIGURATION)
        # The HTTP port lives in Home Assistant's storage, not in YAML (see write_http_config).
        develop_setup.write_http_config(config, self.port, "127.0.0.1")
        self.process: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.auth: dict[str, str] = {}

    async def start(self) -> aiohttp.ClientSession:
        """Start Home Assistant, wait for its API, log in (onboarding the first time)."""
        with (self.config / "hass.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - nothing is awaited on it here
                [
                    sys.executable,
                    "-m",
                    "homeassistant",
                    "-c",
                    str(self.config),
                    "--skip-pip",
                ],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | {"PYTHONPATH": str(REPO)},
            )
        self.session = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{self.port}")
        await develop_setup.wait_up(self.session)
        token = await develop_setup.onboard_or_login(self.session)
        self.auth = {"Authorization": f"Bearer {token}"}
        return self.session

    async def action(self, domain: str, name: str, data: dict[str, Any]) -> Any:
        """Call an action over REST; its 200 answer is Home Assistant's acknowledgement."""
        assert self.session is not None
        response = domain == "smart_library"
        async with self.session.post(
            f"/api/services/{domain}/{name}" + ("?return_response" if response else ""),
            json=data,
            headers=self.auth,
        ) as resp:
            assert resp.status == 200, f"{await resp.text()}\n{self.log()}"
            body = await resp.json()
        return body["service_response"] if response else body

    async def kill(self) -> None:
        """Kill Home Assistant with SIGKILL: no shutdown, no flush, nothing of ours runs."""
        assert self.process is not None and self.session is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL
        await self.session.close()
        self.process = self.session = None

    def log(self) -> str:
        """Return what Home Assistant wrote, for a failing assertion's message."""
        return (self.config / "hass.log").read_text(errors="replace")[-3000:]

    def peak_rss_mib(self) -> float:
        """Return the process's peak resident memory so far (Linux), in MiB."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(
            int(line.split()[1])
            for line in status.splitlines()
            if line.startswith("VmHWM:")
        )
        return kib / 1024

    async def stop(self, seconds: float = 60) -> str:
        """Stop Home Assistant the orderly way (its stop action), bounded; return what stopped it.

        Waits at most `seconds` for the process to end after the action ("action"), then sends
        SIGTERM (Home Assistant's own orderly stop again) and waits 10 s more ("SIGTERM"), then
        SIGKILL ("SIGKILL").
        """
        assert self.process is not None and self.session is not None
        await develop_setup.stop_home_assistant(self.session, self.auth)
        await self.session.close()
        process, self.process, self.session = self.process, None, None
        if await _ended(process, seconds):
            return "action"
        process.terminate()
        if await _ended(process, 10):
            return "SIGTERM"
        process.kill()
        process.wait()
        return "SIGKILL"


async def _ended(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to `seconds` for the process to end; return True if it did."""
    for _ in range(int(seconds * 10)):
        if process.poll() is not None:
            return True
        await asyncio.sleep(0.1)
    return process.poll() is not None
