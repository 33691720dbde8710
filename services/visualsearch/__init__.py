"""visual-search: visual product search for e-commerce."""

__version__ = "0.1.0"
