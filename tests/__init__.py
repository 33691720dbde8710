"""Test suite of visual-search (a package so that tests.support is importable)."""
