"""The dashboard in a real browser (scripts/browser_test)."""
