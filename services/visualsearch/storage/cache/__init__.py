"""The search result cache: ``base`` (the interface), ``redis``, ``memory``."""
