"""Pure manifest builders: spec in, Kubernetes objects (dicts) out; no I/O, no kopf."""
