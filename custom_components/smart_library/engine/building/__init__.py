"""engine.building."""
