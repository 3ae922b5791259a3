"""The next Home Assistant's check (scripts/ha_next_check): how it reads a log, and what it claims.

The check itself runs a real Home Assistant of the next release in its own environment; here, in
the test harness's, its log reading is tried on lines Home Assistant 2026.11 really writes, and
the versions hacs.json and the README state are held to the ones the environments pin.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re

from homeassistant.const import __version__ as HARNESS_VERSION

from tests.ha_next.log_scan import warnings

ROOT = Path(__file__).resolve().parents[2]

# Lines as Home Assistant 2026.11.0 wrote them in the check's log (a frame-helper report taken
# from a run with a non-string sw_version put in on purpose; the rest from a clean run).
LOG = """\
/opt/ha-next-venv/lib/python3.14/site-packages/backoff/_async.py:11: DeprecationWarning: 'asyncio.iscoroutinefunction' is deprecated and slated for removal in Python 3.16; use inspect.iscoroutinefunction() instead
  assert not asyncio.iscoroutinefunction(jitter)
2026-12-07 00:52:49.175+00:00 WARNING (MainThread) [homeassistant.bootstrap] Skipping pip installation of required modules. This may cause issues
2026-12-07 00:52:49.177+00:00 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom integration smart_library which has not been tested by Home Assistant. This component might cause stability problems, be sure to disable it if you experience issues with Home Assistant
2026-12-07 00:52:49.300+00:00 INFO (MainThread) [custom_components.smart_library] Demo Branch answering
2026-12-07 00:53:32.288+00:00 WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom integration 'smart_library' passes a non-string value of type int as sw_version to the device registry at custom_components/smart_library/binary_sensor.py, line 290: async_add_entities(entities, config_subentry_id=subentry_id). This will stop working in Home Assistant 2026.12.0, please create a bug report at https://github.com/smart-library/smart-library/issues
Stack (most recent call last):
  File "/usr/lib/python3.14/runpy.py", line 198, in _run_module_as_main
2026-12-07 00:52:54.637+00:00 ERROR (MainThread) [homeassistant.config_entries] Error setting up entry Google Translate text-to-speech for google_translate
Traceback (most recent call last):
ModuleNotFoundError: No module named 'gtts'
2026-12-07 00:52:55.001+00:00 ERROR (MainThread) [homeassistant.core] Error doing job: Exception in callback
Traceback (most recent call last):
  File "/src/custom_components/smart_library/building/coordinator.py", line 300, in _poll
KeyError: 'door.entrance'
/src/custom_components/smart_library/usage/statistics.py:12: DeprecationWarning: something we call is going away
  from x import y
2026-12-07 00:52:56.000+00:00 WARNING (MainThread) [custom_components.smart_library.building] Demo Branch: the controller did not answer
"""


def test_the_log_reading_finds_our_warnings_and_only_ours() -> None:
    """A frame report, a traceback through our code, a Python warning and our logger: ours."""
    found = list(warnings(LOG.splitlines()))
    ours = [w.first_line for w in found if w.ours]
    assert len(ours) == 4, ours
    assert "passes a non-string value of type int as sw_version" in ours[0]
    # The next one's traceback (its continuation lines) names our file.
    assert "Error doing job" in ours[1]
    assert ours[2].startswith(
        "/src/custom_components/smart_library/usage/statistics.py:12"
    )
    assert "the controller did not answer" in ours[3]
    # Home Assistant's notice about every custom integration, other integrations' trouble and
    # other libraries' deprecations are listed but not ours; INFO lines are not warnings.
    others = [w.first_line for w in found if not w.ours]
    assert len(others) == 4, others
    assert any("We found a custom integration smart_library" in o for o in others)
    assert not any(" INFO " in w.text for w in found)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_versions_stated_are_the_versions_tested() -> None:
    """hacs.json's minimum is the harness's release; the README names it and the next one run."""
    pinned = re.search(
        r"^homeassistant==(\S+)$",
        (ROOT / "requirements_ha_next.txt").read_text(),
        re.MULTILINE,
    )
    assert pinned is not None
    next_version = pinned[1]
    assert _version(next_version) > _version(HARNESS_VERSION)
    assert (
        json.loads((ROOT / "hacs.json").read_text())["homeassistant"] == HARNESS_VERSION
    )
    readme = (ROOT / "README.md").read_text()
    tested = re.search(r"Tested with Home Assistant ([^\n]*)", readme)
    assert tested is not None, "README: no 'Tested with Home Assistant' line"
    assert HARNESS_VERSION in tested[1], tested[1]
    assert next_version in tested[1], tested[1]


def _calls_and_bases(folder: Path) -> tuple[set[str], set[str]]:
    """Return the names the integration calls (`x.name(...)`, `name(...)`) and its base classes."""
    calls: set[str] = set()
    bases: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute):
                    calls.add(func.attr)
                elif isinstance(func, ast.Name):
                    calls.add(func.id)
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "_abort_if_unique_id_configured"
                    and (node.args or any(k.arg == "updates" for k in node.keywords))
                ):
                    calls.add("_abort_if_unique_id_configured(updates)")
            elif isinstance(node, ast.ClassDef):
                bases.update(
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                    for b in node.bases
                )
    return calls, bases


def test_no_reloading_flow_helper_beside_the_update_listener() -> None:
    """What 2026.11 reports and 2026.12 refuses, on paths the real process may not walk.

    The service keeps an update listener (a branch added or changed reloads it; safety options
    apply without a reload), so no flow may reload it too: not `async_update_reload_and_abort`,
    not `_abort_if_unique_id_configured(updates=...)` (it reloads by default), and no
    `OptionsFlowWithReload` (Home Assistant raises when one meets an update listener).
    """
    calls, bases = _calls_and_bases(ROOT / "custom_components" / "smart_library")
    assert "add_update_listener" in calls  # else this test guards nothing: rethink it
    reloading = {
        "async_update_reload_and_abort",
        "_abort_if_unique_id_configured(updates)",
    }
    assert not calls & reloading, sorted(calls & reloading)
    assert "OptionsFlowWithReload" not in bases
