"""engine.safety."""
