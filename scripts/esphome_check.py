"""Validate every door reader build in readers/esphome/ with ESPHome's own `esphome config`.

Run by scripts/esphome_check with the Python of ESPHome's own virtualenv (requirements_esphome.txt).
The packages are copied into a temporary folder with a secrets.yaml of made-up values (never a real
key, and nothing is written into the checkout: ESPHome keeps a .esphome/ folder beside the config).
Each build is checked as it is and with its optional display package switched on (the commented
`# display: !include ...` line uncommented, as docs/readers.md tells). Exit 1 when any fails.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess
import sys
import tempfile
import time

READERS = Path(__file__).resolve().parent.parent / "readers" / "esphome"
DISPLAY_OFF = "  # display: !include common/display-ssd1306.yaml"
DISPLAY_ON = "  display: !include common/display-ssd1306.yaml"

# Made-up values of the right shape: the reader key is <16-character id>.<secret>.
TEST_SECRETS = """\
wifi_ssid: test-network
wifi_password: test-password-1234
ota_password: test-ota-password
smart_library_url: https://homeassistant.invalid:8123/api/smart_library/access
smart_library_reader_key: 0000000000000000.test-only-not-a-reader-key
"""


def _variants(folder: Path) -> list[tuple[str, Path | None]]:
    """Return (label, config file) of every build, and of every build with the display.

    A build without the commented display line gets None: its display cannot be switched on.
    """
    variants: list[tuple[str, Path | None]] = []
    for build in sorted(folder.glob("*.yaml")):
        if build.name == "secrets.yaml":
            continue
        variants.append((build.name, build))
        text = build.read_text(encoding="utf-8")
        if DISPLAY_OFF not in text.splitlines():
            variants.append((f"{build.name} + display", None))
            continue
        with_display = build.with_name(f"{build.stem}.with-display.yaml")
        with_display.write_text(
            "\n".join(
                DISPLAY_ON if line == DISPLAY_OFF else line
                for line in text.splitlines()
            )
            + "\n",
            encoding="utf-8",
        )
        variants.append((f"{build.name} + display", with_display))
    return variants


def main() -> int:
    """Check every build; print one line each, ESPHome's output for a failure."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="esphome-check-") as tmp:
        folder = Path(tmp) / "esphome"
        shutil.copytree(
            READERS,
            folder,
            ignore=shutil.ignore_patterns(
                "secrets.yaml", ".esphome", "*.with-display.yaml"
            ),
        )
        (folder / "secrets.yaml").write_text(TEST_SECRETS, encoding="utf-8")
        variants = _variants(folder)
        if not variants:
            print(f"No build (*.yaml) in {READERS}")
            return 1
        for label, config in variants:
            if config is None:
                print(f"FAIL {label}: no `{DISPLAY_OFF.strip()}` line to uncomment")
                failed += 1
                continue
            started = time.monotonic()
            run = subprocess.run(
                [sys.executable, "-m", "esphome", "config", config.name],
                cwd=folder,
                capture_output=True,
                text=True,
                check=False,
            )
            took = time.monotonic() - started
            if (
                run.returncode == 0
                and "Configuration is valid!" in run.stdout + run.stderr
            ):
                print(f"ok   {label} ({took:.1f} s)")
                continue
            failed += 1
            print(f"FAIL {label} (esphome config exited {run.returncode}):")
            print(run.stdout[-6000:], run.stderr[-6000:], sep="\n")
    print(f"ESPHome packages: {len(variants) - failed} valid, {failed} invalid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
