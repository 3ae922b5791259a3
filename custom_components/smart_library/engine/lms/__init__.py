"""engine.lms."""
