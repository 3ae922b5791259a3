"""Home Assistant tests for the integration."""
