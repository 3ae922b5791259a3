"""Print the requirements a real Home Assistant UI needs beyond the test harness.

The frontend at the version Home Assistant pins, plus the requirements of the integrations that
are always loaded (homeassistant.bootstrap.DEFAULT_INTEGRATIONS) and of those scripts/develop's
configuration.yaml names, following each manifest's dependencies. Installed with
homeassistant/package_constraints.txt as constraints. Run inside the project's environment.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

from homeassistant import bootstrap
import homeassistant.components

COMPONENTS = Path(homeassistant.components.__path__[0])
CONFIGURED = ["frontend", "config", "api", "history", "logbook", "zeroconf", "lovelace",
              "automation", "script", "blueprint", "onboarding", "auth", "http",
              "mobile_app", "notify"]  # fmt: skip


def main() -> None:
    """Print one requirement per line."""
    seen: set[str] = set()
    todo = [*sorted(bootstrap.DEFAULT_INTEGRATIONS), *CONFIGURED]
    requirements: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = COMPONENTS / domain / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text())
        requirements.update(manifest.get("requirements", []))
        todo.extend(manifest.get("dependencies", []))
    sys.stdout.write("".join(f"{r}\n" for r in sorted(requirements)))


if __name__ == "__main__":
    main()
