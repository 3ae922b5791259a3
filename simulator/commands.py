"""The simulator's commands, as typed on its standard input or sent to its control port."""

from __future__ import annotations

from custom_components.smart_library.engine.building.pointmap import (
    PULSE_COUNT,
    PULSE_OFF_WIDTH,
    PULSE_ON_WIDTH,
)

from .building import SimulatedBuilding
from .protocol import ERROR, HELP

_SETTINGS = {
    "pulse_count": PULSE_COUNT,
    "on_width": PULSE_ON_WIDTH,
    "off_width": PULSE_OFF_WIDTH,
}

__all__ = ["HELP", "CommandError", "command", "run"]


class CommandError(Exception):
    """A command the simulator cannot carry out; its text is what the person is told."""


def _switch(verb: str, args: list[str]) -> bool:
    if len(args) == 1 and args[0].lower() in ("on", "1", "true"):
        return True
    if len(args) == 1 and args[0].lower() in ("off", "0", "false"):
        return False
    raise CommandError(f"say '{verb} on' or '{verb} off'")


def _people_and_door(
    building: SimulatedBuilding, verb: str, args: list[str]
) -> tuple[int, str]:
    people, door = 1, "entrance"
    for arg in args:
        if arg.isdigit() and int(arg) > 0:
            people = int(arg)
        else:
            door = _door(building, verb, arg)
    return people, door


def _door(building: SimulatedBuilding, verb: str, door: str) -> str:
    doors = [d.id for d in building.point_map.doors]
    if door not in doors:
        raise CommandError(
            f"{verb}: no door {door!r} in this building (doors: {', '.join(doors)})"
        )
    return door


def _setting(building: SimulatedBuilding, verb: str, args: list[str]) -> None:
    """Set a door relay's pulse setting: `pulse_count 0`, `on_width 4 meeting_room`."""
    if not args or not args[0].isdigit():
        raise CommandError(f"say '{verb} N [door]' with N a whole number")
    value = int(args[0])
    door = _door(building, verb, args[1]) if len(args) > 1 else "entrance"
    key = f"door.{door}.{_SETTINGS[verb]}"
    if building.point_map.setting(key) is None:
        raise CommandError(
            f"{verb}: this building's map reads no {_SETTINGS[verb]} for {door} "
            "(only modules with pulse settings, such as the Moxa E1214, have one)"
        )
    try:
        building.set_setting(key, value)
    except ValueError as err:
        raise CommandError(f"{verb}: {value} is out of range") from err


def _help_button(building: SimulatedBuilding, args: list[str]) -> None:
    """Press or release a member's help button: `help on [point]`."""
    ids = building.point_map.ids("help")
    point = args[1] if len(args) > 1 else (ids[0] if ids else None)
    if point is None or point not in ids:
        raise CommandError(
            "help: no help button "
            + (f"{point!r} " if point else "")
            + f"in this building (help buttons: {', '.join(ids) or 'none'})"
        )
    building.press_help(point, _switch("help", args[:1]))


def run(building: SimulatedBuilding, line: str) -> str:
    """Apply one command line to the building and return what to tell the person.

    Raises CommandError for a command that is unknown, malformed or impossible in this
    building (a map without a fire panel, say); the building is then unchanged.
    """
    words = line.split()
    if not words:
        return ""
    verb, args = words[0].lower(), words[1:]
    try:
        match verb:
            case "fire":
                if _switch(verb, args):
                    building.raise_fire_alarm()
                else:
                    building.clear_fire_alarm()
            case "fault":
                building.set_fire_fault(_switch(verb, args))
            case "panic":
                building.press_panic("counter", _switch(verb, args))
            case "arrive":
                building.arrive(*_people_and_door(building, verb, args))
            case "leave":
                building.leave(*_people_and_door(building, verb, args))
            case "rex":
                building.request_exit(
                    _door(building, verb, args[0] if args else "entrance")
                )
            case "force":
                building.force_door(
                    _door(building, verb, args[0] if args else "entrance")
                )
            case "offline":
                building.online = not _switch(verb, args)
            case "silent":
                building.silent = _switch(verb, args)
            case "pulse_count" | "on_width" | "off_width":
                _setting(building, verb, args)
            case "status":
                return "\n".join(
                    [
                        f"{'people inside':28} {building.inside}",
                        f"{'controller answering':28} "
                        + ("no (silent)" if building.silent else str(building.online)),
                    ]
                    + [
                        f"{p.key:28} {building.get(p.key)}"
                        for p in building.point_map.points
                    ]
                    + [
                        f"{p.key:28} {building.setting(p.key)}  (module setting)"
                        for p in building.point_map.settings
                    ]
                )
            case "help" if args:
                _help_button(building, args)
            case "help":
                return HELP
            case _:
                raise CommandError(f"unknown command {verb!r}; try help")
    except KeyError as err:
        raise CommandError(
            f"{verb}: this building's map has no {err.args[0]}"
        ) from None
    return "ok"


def command(building: SimulatedBuilding, line: str) -> str:
    """Apply one command line; a refused command's reply starts with 'error: '."""
    try:
        return run(building, line)
    except CommandError as err:
        return f"{ERROR}{err}"
