"""The ESPHome door reader packages (readers/esphome/) keep the reader rules, read from their text.

ESPHome itself validates them (scripts/esphome_check, `esphome config`); this checks what a valid
configuration may still get wrong: the logger never at DEBUG or VERBOSE (ESPHome's keypad, Wiegand
and NFC components log every key and card number at DEBUG), no log line or screen text with a PIN
or a card number, the reader key and the endpoint's URL only from `!secret`, the request going to
that URL only, and nothing that could switch a door: the reader asks, the door controller releases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
READERS = ROOT / "readers" / "esphome"
COMMON = READERS / "common" / "reader.yaml"
BUILDS = sorted(READERS.glob("*.yaml"))
PACKAGES = sorted(READERS.rglob("*.yaml"))

# What a door reader may have for outputs: its two LEDs and its buzzer. No relay, no strike.
ALLOWED_OUTPUTS = {"green_led", "red_led", "buzzer"}
# Components that could move a door (or anything else) by themselves.
FORBIDDEN_COMPONENTS = {
    "lock", "switch", "valve", "cover", "fan", "light", "servo", "button", "api", "mqtt",
    "web_server", "captive_portal", "remote_transmitter", "stepper", "external_components",
}  # fmt: skip
# Actions that would act through Home Assistant or log from the YAML.
FORBIDDEN_ACTIONS = {
    "homeassistant.action", "homeassistant.service", "homeassistant.event",
    "homeassistant.tag_scanned", "logger.log", "mqtt.publish",
}  # fmt: skip
SAFE_LOG_LEVELS = {"NONE", "ERROR", "WARN", "INFO"}
# The only names a log call may use: the HTTP status and the public reason of the answer.
LOG_NAMES_ALLOWED = {"status", "reason", "c_str"}
# Names that hold a card number, a PIN, a typed key or a body in the packages' lambdas.
SECRET_NAMES = {
    "pin",
    "card",
    "x",
    "number",
    "kept",
    "uid",
    "scan_buffer",
    "body",
    "root",
    "c",
}
# A reader key: <16 hex characters>.<43 URL-safe characters> (engine/readers.py).
KEY_LIKE = re.compile(r"\b[0-9a-f]{16}\.[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True)
class Tagged:
    """A YAML value with an ESPHome tag (!secret, !include, !lambda, ...)."""

    tag: str
    value: Any


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps ESPHome's tags instead of failing on them."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return Tagged(f"!{suffix}", value)


_Loader.add_multi_constructor("!", _tagged)


def load(path: Path) -> dict[str, Any]:
    """Return a package's YAML, its tags kept."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    assert isinstance(data, dict), path
    return data


def walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Yield (key, value) of every mapping entry, and every list item and scalar (key None)."""
    if isinstance(node, Tagged):
        yield None, node
        yield from walk(node.value)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield None, item
            yield from walk(item)
    else:
        yield None, node


def code_strings(node: Any) -> Iterator[str]:
    """Yield every string in a package: lambdas, templates and plain values alike."""
    for _key, value in walk(node):
        if isinstance(value, str):
            yield value


def log_calls(code: str) -> Iterator[tuple[str, str]]:
    """Yield the level letter and the argument text of every ESP_LOGx(...) call in C++ code."""
    for match in re.finditer(r"\bESP_LOG(\w*)\s*\(", code):
        depth, at = 1, match.end()
        while depth and at < len(code):
            depth += {"(": 1, ")": -1}.get(code[at], 0)
            at += 1
        yield match.group(1), code[match.end() : at - 1]


def names(code: str) -> set[str]:
    """Return the identifiers in C++ code, string and character literals left out."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)
    code = re.sub(r"'(?:[^'\\]|\\.)*'", "''", code)
    return set(re.findall(r"\b[A-Za-z_]\w*\b", code))


def test_there_are_the_three_builds() -> None:
    """A Wiegand, a barcode and a PN532 build, each on the shared package."""
    assert [p.name for p in BUILDS] == [
        "barcode-keypad.yaml",
        "pn532-keypad.yaml",
        "wiegand-keypad.yaml",
    ]
    for build in BUILDS:
        packages = load(build)["packages"]
        assert packages["reader"] == Tagged("!include", "common/reader.yaml"), build


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.relative_to(READERS)))
def test_logger_never_below_info(path: Path) -> None:
    """No package sets the logger (or a tag of it) to DEBUG, VERBOSE or VERY_VERBOSE."""
    data = load(path)
    for key, value in walk(data):
        if key in ("level", "log_level"):
            assert str(value).upper() in SAFE_LOG_LEVELS, (path, key, value)
    logger = data.get("logger")
    if logger is None:
        return
    assert logger.get("level") in SAFE_LOG_LEVELS, path
    for tag, level in (logger.get("logs") or {}).items():
        assert level in SAFE_LOG_LEVELS, (path, tag)


def test_the_shared_package_sets_the_logger_and_no_build_changes_it() -> None:
    """ESPHome's default level is DEBUG: the shared package must set INFO, and only it."""
    assert load(COMMON)["logger"]["level"] == "INFO"
    for path in PACKAGES:
        if path != COMMON:
            assert "logger" not in load(path), path


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.relative_to(READERS)))
def test_no_log_line_carries_a_card_or_a_pin(path: Path) -> None:
    """Every ESP_LOG call logs at INFO or above, with the HTTP status and public reason only."""
    data = load(path)
    for code in code_strings(data):
        for level, call in log_calls(code):
            assert level in {"I", "W", "E"}, (path, level, call)
            used = names(call)
            assert used <= LOG_NAMES_ALLOWED, (path, call, used - LOG_NAMES_ALLOWED)
            assert not used & SECRET_NAMES, (path, call)
    for key, _value in walk(data):
        assert key not in FORBIDDEN_ACTIONS, (path, key)


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.relative_to(READERS)))
def test_the_screen_never_shows_a_card_or_a_pin(path: Path) -> None:
    """What the display shows is set from words and the answer: a PIN only as its length."""
    for code in code_strings(load(path)):
        for line in code.splitlines():
            if not re.search(r"id\(screen_(title|detail)\)\s*=", line):
                continue
            used = names(line.replace("x.size()", "size"))
            assert not used & SECRET_NAMES, (path, line)


def test_the_reader_key_and_url_come_only_from_secrets() -> None:
    """Each build names its key and URL with !secret; the shared package sends only those."""
    for build in BUILDS:
        substitutions = load(build)["substitutions"]
        for name in ("reader_key", "reader_url"):
            value = substitutions[name]
            assert isinstance(value, Tagged), (build, name)
            assert value.tag == "!secret", (build, name)
    requests = [
        value
        for key, value in walk(load(COMMON))
        if isinstance(key, str) and key.startswith("http_request.")
    ]
    assert len(requests) == 1
    (request,) = requests
    assert request["url"] == "${reader_url}"
    assert request["request_headers"]["X-Reader-Key"] == "${reader_key}"
    assert set(request["request_headers"]) == {"X-Reader-Key", "Content-Type"}
    assert load(COMMON)["http_request"]["follow_redirects"] is False
    for path in PACKAGES:
        text = path.read_text(encoding="utf-8")
        assert not KEY_LIKE.search(text), path
        assert text.count("X-Reader-Key") <= (1 if path == COMMON else 0), path
        for key, _value in walk(load(path)):
            if isinstance(key, str) and key.startswith("http_request."):
                assert path == COMMON, path


def test_the_request_body_is_the_endpoint_contract() -> None:
    """card, pin and door: the fields AccessView (http.py) reads, sent as JSON."""
    (request,) = [
        value
        for key, value in walk(load(COMMON))
        if isinstance(key, str) and key.startswith("http_request.")
    ]
    body = request["json"]
    assert set(re.findall(r'root\["(\w+)"\]', body)) == {"card", "pin", "door"}
    assert request["capture_response"] is True


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.relative_to(READERS)))
def test_nothing_can_switch_a_door(path: Path) -> None:
    """No lock, relay, switch or Home Assistant action: only two LEDs and a buzzer are outputs."""
    data = load(path)
    assert not set(data) & FORBIDDEN_COMPONENTS, (
        path,
        set(data) & FORBIDDEN_COMPONENTS,
    )
    outputs = {item["id"] for item in data.get("output", [])}
    assert outputs <= ALLOWED_OUTPUTS, (path, outputs - ALLOWED_OUTPUTS)
    for key, value in walk(data):
        if key == "id":
            assert not re.search(
                r"relay|strike|door|lock", str(value), re.IGNORECASE
            ), (path, value)
