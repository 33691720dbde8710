"""Storage adapters: one small module per backend, each behind a narrow interface."""
