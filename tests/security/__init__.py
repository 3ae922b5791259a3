"""Attacks on the integration, each tried as an attacker would try it."""
