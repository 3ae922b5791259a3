"""Plain pytest tests of the Home Assistant-free domain core."""
