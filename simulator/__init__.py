"""Simulated Smart Library branch building (Modbus TCP + zeroconf)."""
