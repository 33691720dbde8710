"""Shared test helpers (real components started on loopback)."""
