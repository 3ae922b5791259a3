"""engine.members."""
