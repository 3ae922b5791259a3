"""Fixtures for the attack tests: those of the Home Assistant tests (a library on the simulator)."""

from tests.components.conftest import *  # noqa: F403
