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
  time_zone: {time_zone}
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

    def __init__(self, config: Path, *, time_zone: str = "Europe/London") -> None:
        """Write a minimal configuration with the integration installed as HACS installs it.

        `time_zone` is Home Assistant's (its local time decides the opening hours' modes).
        """
        self.config = config
        self.port = _free_port()
        (config / "custom_components").mkdir(parents=True)
        (config / "custom_components" / "smart_library").symlink_to(
            REPO / "custom_components" / "smart_library"
        )
        (config / "configuration.yaml").write_text(
            CONFIGURATION.format(time_zone=time_zone)
        )
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
        return self._status_kib("VmHWM:") / 1024

    def rss_mib(self) -> float:
        """Return the process's resident memory now (Linux), in MiB."""
        return self._status_kib("VmRSS:") / 1024

    def _status_kib(self, field: str) -> int:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return next(
            int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(field)
        )

    def cpu_seconds(self) -> float:
        """Return the process's user + system CPU time so far (all its threads), in seconds."""
        assert self.process is not None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def log_size(self) -> int:
        """Return how many bytes Home Assistant has written to its log so far."""
        return (self.config / "hass.log").stat().st_size

    def log_since(self, offset: int) -> str:
        """Return what Home Assistant wrote to its log after `offset` bytes."""
        with (self.config / "hass.log").open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    async def websocket(self, message: dict[str, Any]) -> Any:
        """Send one command over Home Assistant's websocket API; return its result.

        For what REST does not offer (disabling a config entry, for one). Raises RuntimeError
        with Home Assistant's answer when the command fails.
        """
        assert self.session is not None
        token = self.auth["Authorization"].removeprefix("Bearer ")
        async with self.session.ws_connect("/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": token})
            if (hello := await ws.receive_json()).get("type") != "auth_ok":
                raise RuntimeError(f"websocket log-in refused: {hello}")
            await ws.send_json({"id": 1} | message)
            answer: dict[str, Any] = await ws.receive_json()
        if not answer.get("success"):
            raise RuntimeError(f"{message.get('type')}: {answer.get('error', answer)}")
        return answer.get("result")

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
