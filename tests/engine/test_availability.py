"""What the log says about a module that comes and goes: one warning a while, flaps counted."""

from __future__ import annotations

from custom_components.smart_library.engine.building.availability import (
    WARN_EVERY,
    AvailabilityLog,
    Line,
    Say,
)


def test_a_loss_and_a_return_are_said_once() -> None:
    """A module lost for a while: one warning, then nothing, then one "back"."""
    log = AvailabilityLog()
    assert log.update("main", True, 0.0) is None
    assert log.update("main", False, 1.0) == Line(Say.LOST, flaps=0)
    assert log.update("main", False, 2.0) is None
    assert log.update("main", False, 2.0 + WARN_EVERY) is None  # already said
    assert log.update("main", True, 3.0 + WARN_EVERY) == Line(Say.BACK)
    assert log.update("main", True, 4.0 + WARN_EVERY) is None


def test_flaps_are_quiet_until_the_window_ends_then_counted() -> None:
    """Ten flaps in a minute: one warning, one "back"; the next warning counts the nine."""
    log = AvailabilityLog()
    said = []
    for n in range(10):
        said.append(log.update("main", False, n * 6.0))
        said.append(log.update("main", True, n * 6.0 + 3))
    assert said[:2] == [Line(Say.LOST), Line(Say.BACK)]
    assert set(said[2:]) == {Line(Say.QUIET_LOST), Line(Say.QUIET_BACK)}
    assert log.update("main", False, WARN_EVERY + 1) == Line(Say.LOST, flaps=9)


def test_a_quiet_loss_that_lasts_is_said_when_the_window_ends() -> None:
    """The log's last word is never "back" while the module is away past the window."""
    log = AvailabilityLog()
    log.update("main", False, 0.0)
    log.update("main", True, 1.0)
    assert log.update("main", False, 2.0) == Line(Say.QUIET_LOST)
    assert log.update("main", False, 100.0) is None
    assert log.update("main", False, WARN_EVERY) == Line(Say.LOST, flaps=0)
    assert log.update("main", True, WARN_EVERY + 1) == Line(Say.BACK)


def test_modules_are_paced_apart() -> None:
    """One module's warning does not quieten another's."""
    log = AvailabilityLog()
    assert log.update("e1214", False, 0.0) == Line(Say.LOST)
    assert log.update("e1212", False, 0.0) == Line(Say.LOST)


def test_a_clock_going_back_does_not_silence_a_module() -> None:
    """A time before the last warning (a clock that jumped) warns rather than stays quiet."""
    log = AvailabilityLog()
    log.update("main", False, 1000.0)
    log.update("main", True, 1001.0)
    assert log.update("main", False, 10.0) == Line(Say.LOST)
