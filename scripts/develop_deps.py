"""Print the requirements a real Home Assistant UI needs beyond the test harness.

The frontend at the version Home Assistant pins, plus the requirements of the integrations that
are always loaded (homeassistant.bootstrap.DEFAULT_INTEGRATIONS) and of those scripts/develop's
configuration.yaml names, collected the way Home Assistant's own requirements manager collects
them when it installs an integration (homeassistant/requirements.py): each manifest's
`dependencies` and `after_dependencies`, and the discovery integrations its manifest names
(zeroconf, ssdp, dhcp, mqtt), recursively. An always-loaded integration may import an
after-dependency's code (on 2026.11 `analytics` fails without `hassio`'s `aiohasupervisor`).
Installed with homeassistant/package_constraints.txt as constraints. Run inside the project's
environment.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

from homeassistant import bootstrap, requirements
import homeassistant.components

COMPONENTS = Path(homeassistant.components.__path__[0])
CONFIGURED = ["frontend", "config", "api", "history", "logbook", "zeroconf", "lovelace",
              "automation", "script", "blueprint", "onboarding", "auth", "http",
              "mobile_app", "notify"]  # fmt: skip


def collect(domains: list[str]) -> tuple[set[str], set[str]]:
    """Return the integrations reached from these domains and their requirements."""
    seen: set[str] = set()
    todo = list(domains)
    wanted: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = COMPONENTS / domain / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text())
        wanted.update(manifest.get("requirements", []))
        todo.extend(manifest.get("dependencies", []))
        todo.extend(manifest.get("after_dependencies", []))
        todo.extend(
            discovery
            for discovery, keys in requirements.DISCOVERY_INTEGRATIONS.items()
            if any(key in manifest for key in keys)
        )
    return seen, wanted


def main() -> None:
    """Print one requirement per line."""
    _, wanted = collect([*sorted(bootstrap.DEFAULT_INTEGRATIONS), *CONFIGURED])
    sys.stdout.write("".join(f"{r}\n" for r in sorted(wanted)))


if __name__ == "__main__":
    main()
