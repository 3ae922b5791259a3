"""The toolchain finds the Debian mirror in the host's apt sources instead of naming one."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import subprocess
import sys

SCRIPT = Path(__file__).parent.parent / "scripts" / "apt_mirror.py"
_spec = importlib.util.spec_from_file_location("apt_mirror", SCRIPT)
assert _spec and _spec.loader
apt_mirror = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(apt_mirror)


def test_deb822_security_and_third_party_skipped(tmp_path: Path) -> None:
    """A deb822 file: the security suite and a vendor's repository are not the mirror."""
    vendor = tmp_path / "vendor.sources"
    vendor.write_text(
        "Types: deb\nURIs: https://vendor.example/apt\nSuites: nodistro\nComponents: main\n"
    )
    debian = tmp_path / "debian.sources"
    debian.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian/\n"
        "Suites: bookworm bookworm-updates\nComponents: main contrib\n"
    )
    assert (
        apt_mirror.mirror([str(vendor), str(debian)]) == "http://mirror.example/debian"
    )


def test_classic_one_line_with_options(tmp_path: Path) -> None:
    """A one-line source with [options]; deb-src and disabled lines are ignored."""
    classic = tmp_path / "sources.list"
    classic.write_text(
        "# deb http://old.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://local.example/debian trixie main\n"
    )
    assert apt_mirror.mirror([str(classic)]) == "http://local.example/debian"


def test_no_mirror_prints_nothing(tmp_path: Path) -> None:
    """With no Debian source the script prints nothing, and _env.sh reports the error."""
    empty = tmp_path / "sources.list"
    empty.write_text("deb https://vendor.example/apt stable-vendor main\n")
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(empty)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == ""
