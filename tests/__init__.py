"""Tests for Smart Library."""
