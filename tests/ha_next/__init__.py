"""Home Assistant's next release as a real process (scripts/ha_next_check)."""
