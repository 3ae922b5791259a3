"""What HACS and Home Assistant's hassfest would check before a release, checked on every run.

Neither can run here (hassfest needs Home Assistant core's repository, the HACS action needs
GitHub), so their published rules are checked directly: manifest.json (hassfest's schema for a
custom integration, HACS's required keys, key order, dependencies of what the code imports),
hacs.json (HACS's schema: `name` required, no other key than its own), the brand icons, the
quality scale the manifest claims against quality_scale.yaml, every translation key the code uses
against translations/en.json (and back, where a key can be found in the code), and services.yaml
against the actions the integration registers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from simulator.building import SimulatedBuilding

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "smart_library"
MANIFEST: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text())
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())

# hassfest (script/hassfest/manifest.py, CUSTOM_INTEGRATION_MANIFEST_SCHEMA): the keys a custom
# integration's manifest may have.
MANIFEST_KEYS = {
    "domain", "name", "integration_type", "config_flow", "mqtt", "zeroconf", "ssdp",
    "bluetooth", "homekit", "dhcp", "usb", "documentation", "issue_tracker",
    "quality_scale", "requirements", "dependencies", "after_dependencies", "codeowners",
    "loggers", "disabled", "iot_class", "single_config_entry", "version", "import_executor",
}  # fmt: skip
# HACS (custom_components/hacs/utils/validate.py): what an integration's manifest must have,
# and the only keys hacs.json may have (extra=PREVENT_EXTRA).
HACS_MANIFEST_REQUIRED = {"codeowners", "documentation", "domain", "issue_tracker", "name", "version"}  # fmt: skip
HACS_JSON_KEYS = {
    "content_in_root": bool, "country": (str, list), "filename": str, "hacs": str,
    "hide_default_branch": bool, "homeassistant": str, "persistent_directory": str,
    "render_readme": bool, "zip_release": bool, "name": str,
}  # fmt: skip
IOT_CLASSES = {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}  # fmt: skip
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
}
# hassfest (script/hassfest/dependencies.py): integrations any integration may import.
ALLOWED_USED_COMPONENTS = {
    *(p.value for p in Platform),
    "alert", "automation", "conversation", "default_config", "device_automation", "frontend",
    "group", "homeassistant", "input_boolean", "input_button", "input_datetime",
    "input_number", "input_select", "input_text", "media_source", "onboarding",
    "panel_custom", "persistent_notification", "person", "script", "shopping_list", "sun",
    "system_health", "system_log", "timer", "webhook", "websocket_api", "zone",
}  # fmt: skip
# The integration quality scale's rules by tier (developers.home-assistant.io/docs/core/
# integration-quality-scale/rules): a manifest may claim a tier only when every rule of it and
# of the tiers below is done or exempt.
TIERS: dict[str, set[str]] = {
    "bronze": {
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    },
    "silver": {
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    },
    "gold": {
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases",
        "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations",
        "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    },
    "platinum": {"async-dependency", "inject-websession", "strict-typing"},
}  # fmt: skip


# -- manifest.json and hacs.json ---------------------------------------------------------------


def test_manifest_follows_hassfest_and_hacs() -> None:
    """The keys a custom integration needs and may have, in hassfest's order, with valid values."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"], "manifest: domain, then name, first"
    assert keys[2:] == sorted(keys[2:]), (
        "manifest: after domain and name, alphabetical order"
    )
    assert set(keys) <= MANIFEST_KEYS, (
        f"unknown manifest keys: {set(keys) - MANIFEST_KEYS}"
    )
    assert set(keys) >= HACS_MANIFEST_REQUIRED, "HACS needs these manifest keys"
    assert MANIFEST["domain"] == PACKAGE.name
    assert MANIFEST["version"] and AwesomeVersion(MANIFEST["version"]).valid
    assert MANIFEST["iot_class"] in IOT_CLASSES
    assert MANIFEST.get("integration_type", "hub") in INTEGRATION_TYPES
    assert MANIFEST["codeowners"] and all(
        c.startswith("@") for c in MANIFEST["codeowners"]
    )
    for url in (MANIFEST["documentation"], MANIFEST["issue_tracker"]):
        assert url.startswith("https://"), url
    for requirement in MANIFEST.get("requirements", []):
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.]*", requirement), (
            f"{requirement}: pin an exact version"
        )
    both = set(MANIFEST.get("dependencies", [])) & set(
        MANIFEST.get("after_dependencies", [])
    )
    assert not both, f"both a dependency and an after-dependency: {both}"


def _imported_components() -> dict[str, set[str]]:
    """Return the Home Assistant integrations each module imports (TYPE_CHECKING left out)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        refs: set[str] = set()

        def visit(node: ast.AST, refs: set[str] = refs) -> None:
            if (
                isinstance(node, ast.If)
                and getattr(node.test, "id", "") == "TYPE_CHECKING"
            ):
                return
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("homeassistant.components."):
                    refs.add(node.module.split(".")[2])
                elif node.module == "homeassistant.components":
                    refs.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                refs.update(
                    a.name.split(".")[2]
                    for a in node.names
                    if a.name.startswith("homeassistant.components.")
                )
            for child in ast.iter_child_nodes(node):
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        found[str(path.relative_to(PACKAGE))] = refs
    return found


def test_manifest_names_every_integration_the_code_uses() -> None:
    """As hassfest's dependency check: an imported integration is a (after-)dependency.

    Otherwise Home Assistant may set this integration up before the one it uses (the recorder
    for statistics, say), or without it.
    """
    allowed = (
        ALLOWED_USED_COMPONENTS
        | set(MANIFEST.get("dependencies", []))
        | set(MANIFEST.get("after_dependencies", []))
        | {
            p.stem for p in PACKAGE.glob("*.py")
        }  # our own platform files (logbook.py …)
        | {MANIFEST["domain"]}
    )
    if "zeroconf" in MANIFEST:
        allowed.add("zeroconf")
    missing = {
        f"{module}: {ref}"
        for module, refs in _imported_components().items()
        for ref in refs - allowed
    }
    assert not missing, (
        "imported but not in the manifest's dependencies or after_dependencies: "
        f"{sorted(missing)}"
    )


def test_hacs_json_follows_hacs() -> None:
    """hacs.json: `name` required, only HACS's own keys, a valid minimum Home Assistant."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs.get("name")
    unknown = set(hacs) - set(HACS_JSON_KEYS)
    assert not unknown, f"HACS rejects unknown keys in hacs.json: {unknown}"
    for key, value in hacs.items():
        assert isinstance(value, HACS_JSON_KEYS[key]), f"hacs.json {key}: {value!r}"
    if "homeassistant" in hacs:
        assert AwesomeVersion(hacs["homeassistant"]).valid
    assert hacs["name"] == MANIFEST["name"]


def _png_size(path: Path) -> tuple[int, int]:
    """Return a PNG's width and height (its IHDR chunk)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_brand_icons() -> None:
    """The integration's own brand icons (Home Assistant 2026.3+): 256 px and 512 px squares."""
    assert _png_size(PACKAGE / "brand" / "icon.png") == (256, 256)
    if (PACKAGE / "brand" / "icon@2x.png").exists():
        assert _png_size(PACKAGE / "brand" / "icon@2x.png") == (512, 512)


def test_quality_scale_claimed_holds() -> None:
    """The tier the manifest claims: every rule of it and below is done or exempt (with why)."""
    rules: dict[str, Any] = yaml.safe_load(
        (PACKAGE / "quality_scale.yaml").read_text()
    )["rules"]
    known = set().union(*TIERS.values())
    assert set(rules) <= known, f"unknown rules: {set(rules) - known}"
    claimed = MANIFEST.get("quality_scale")
    assert claimed in TIERS, f"manifest quality_scale {claimed!r}"
    for tier, names in TIERS.items():
        for name in names:
            rule = rules.get(name)
            assert rule is not None, f"quality_scale.yaml misses {name}"
            status = rule if isinstance(rule, str) else rule["status"]
            if status == "exempt":
                assert isinstance(rule, dict) and rule.get("comment"), (
                    f"{name}: exempt needs a comment saying why"
                )
            if status not in ("done", "exempt"):
                assert list(TIERS).index(tier) > list(TIERS).index(claimed), (
                    f"manifest claims {claimed}, but {tier} rule {name} is {status}"
                )
        if tier == claimed:
            break


# -- translations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A translation key the code uses: where (en.json section) and the key or its pattern."""

    section: str  # "exceptions", "issues", "selector", "entity:<platform>", "entity:*"
    key: str | None  # a literal key
    pattern: (
        re.Pattern[str] | None
    )  # an f-string's key: its literal parts, anything between
    where: str


def _constants() -> dict[str, str]:
    """Return every module-level string constant of the integration (NAME = "text")."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = value = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                found[target.id] = value.value
    return found


def _part(node: ast.expr) -> str:
    """Return the pattern of one part of an f-string key."""
    if isinstance(node, ast.Constant):
        return re.escape(str(node.value))
    if isinstance(node, ast.FormattedValue):
        return _part(node.value)
    if (
        isinstance(node, ast.IfExp)
        and isinstance(node.body, ast.Constant)
        and isinstance(node.orelse, ast.Constant)
    ):
        return (
            f"(?:{re.escape(str(node.body.value))}|{re.escape(str(node.orelse.value))})"
        )
    return ".*"


def _key(
    node: ast.expr, constants: dict[str, str], local: dict[str, ast.expr]
) -> tuple[str | None, re.Pattern[str] | None]:
    """Return a translation key expression as a literal, a pattern, or neither (unknowable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, None
    if isinstance(node, ast.Name):
        if node.id in local:
            return _key(local[node.id], constants, {})
        if node.id in constants:
            return constants[node.id], None
    if isinstance(node, ast.JoinedStr):
        return None, re.compile("".join(_part(p) for p in node.values))
    return None, None


def _literal(pattern: re.Pattern[str]) -> bool:
    """Return True if a pattern names something (it is not only "anything")."""
    return bool(re.sub(r"\.\*|\(\?:|\||\)", "", pattern.pattern))


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def translation_uses() -> Iterator[Use]:
    """Yield every translation key the integration's code names."""
    constants = _constants()
    platforms = {p.value for p in Platform}
    for path in sorted(PACKAGE.glob("*.py")):
        module = path.stem
        entity_section = f"entity:{module}" if module in platforms else "entity:*"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Keys built in a local variable first (key = f"..."; Error(translation_key=key)).
        local = {
            t.id: n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            for t in n.targets
            if isinstance(t, ast.Name)
            and isinstance(n.value, ast.JoinedStr | ast.Constant)
        }
        for node in ast.walk(tree):
            expr: ast.expr | None = None
            section = ""
            if isinstance(node, ast.Call):
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
                if "translation_key" not in keywords:
                    continue
                expr = keywords["translation_key"]
                name = _call_name(node)
                if name in ("async_create_issue", "create_issue"):
                    section = "issues"
                elif name.endswith("SelectorConfig"):
                    section = "selector"
                elif "translation_domain" in keywords:
                    section = "exceptions"
                elif name.endswith("Description"):
                    section = entity_section
                else:
                    continue
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = (
                    node.targets if isinstance(node, ast.Assign) else [node.target]
                )
                if (
                    not any(
                        isinstance(t, ast.Name) and t.id == "_attr_translation_key"
                        for t in targets
                    )
                    or node.value is None
                ):
                    continue
                expr, section = node.value, "entity:*"
            else:
                continue
            key, pattern = _key(expr, constants, local)
            if key is not None or pattern is not None:
                yield Use(section, key, pattern, f"{path.name}:{node.lineno}")


def _section(name: str) -> list[str]:
    """Return the keys of an en.json section ("entity:*": every platform's)."""
    if name == "entity:*":
        return [k for platform in EN.get("entity", {}).values() for k in platform]
    if name.startswith("entity:"):
        return list(EN.get("entity", {}).get(name.split(":", 1)[1], {}))
    return list(EN.get(name, {}))


def test_every_translation_key_the_code_uses_exists() -> None:
    """Each key the code names is in en.json; an f-string key matches at least one there."""
    uses = list(translation_uses())
    assert len(uses) > 20  # the scan found the code's keys
    missing = []
    for use in uses:
        keys = _section(use.section)
        if use.key is not None and use.key not in keys:
            missing.append(f"{use.where}: {use.section} {use.key}")
        if use.pattern is not None and not any(use.pattern.fullmatch(k) for k in keys):
            missing.append(f"{use.where}: {use.section} {use.pattern.pattern}")
    assert not missing, "translation keys not in translations/en.json:\n" + "\n".join(
        missing
    )


def test_every_error_and_issue_text_is_used() -> None:
    """Each error and repair-issue text in en.json is named by the code, as a key or a code.

    A key counts as used when the code names it (literally or through an f-string key's
    pattern), holds it as a string anywhere (an engine error code the glue translates), or
    builds it with an f-string anywhere (an engine code like f"invalid_{field}").
    """
    uses = list(translation_uses())
    sources = [p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")]
    source = "\n".join(sources)
    built = [
        re.compile("".join(_part(p) for p in node.values))
        for text in sources
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.JoinedStr)
    ]
    unused = []
    for section in ("exceptions", "issues"):
        literal = {u.key for u in uses if u.section == section}
        patterns = [
            u.pattern
            for u in uses
            if u.section == section and u.pattern and _literal(u.pattern)
        ]
        for key in EN.get(section, {}):
            if key in literal or any(p.fullmatch(key) for p in patterns):
                continue
            if f'"{key}"' in source or f"'{key}'" in source:
                continue
            if any(_literal(p) and p.fullmatch(key) for p in built):
                continue
            unused.append(f"{section}.{key}")
    assert not unused, f"texts in en.json that no code names: {unused}"


# -- actions ---------------------------------------------------------------------------------------


@pytest.fixture
async def registered(
    hass: HomeAssistant, enable_custom_integrations: None, building: SimulatedBuilding
) -> set[str]:
    """Return the actions Home Assistant has once a library service with a branch is set up."""
    entry = MockConfigEntry(
        domain="smart_library",
        title="Shire Libraries",
        data={"name": "Shire Libraries", "backend": "local"},
        subentries_data=[
            {
                "data": {
                    "host": "127.0.0.1",
                    "port": building.port,
                    "unit": 1,
                    "point_map": "reference",
                    "release_seconds": 5,
                },
                "subentry_id": "branch_oadby",
                "subentry_type": "branch",
                "title": "Oadby Library",
                "unique_id": f"127.0.0.1:{building.port}:1",
            }
        ],
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(
        hass, "smart_library", {}
    )  # sets the entry up too
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return set(hass.services.async_services_for_domain("smart_library"))


async def test_services_yaml_matches_the_registered_actions(
    registered: set[str],
) -> None:
    """services.yaml, en.json and icons.json describe exactly the actions Home Assistant has."""
    described: dict[str, Any] = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    icons: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())
    assert registered, "no action registered"
    assert set(described) == registered, (
        f"in services.yaml only: {set(described) - registered}; "
        f"registered only: {registered - set(described)}"
    )
    assert set(EN["services"]) == registered
    assert set(icons.get("services", {})) == registered
    for action, spec in described.items():
        texts = EN["services"][action]
        assert texts.get("name") and texts.get("description"), action
        for field, field_spec in ((spec or {}).get("fields") or {}).items():
            if isinstance(field_spec, dict) and "fields" in field_spec:  # a section
                assert texts.get("sections", {}).get(field, {}).get("name"), (
                    f"{action}: section {field} has no name in en.json"
                )
                nested = list(field_spec["fields"])
            else:
                nested = [field]
            for name in nested:
                assert texts.get("fields", {}).get(name, {}).get("name"), (
                    f"{action}.{name} has no name in en.json"
                )
