"""Reconcile logic (services layer): reads the world, applies what the builders say; no kopf."""
