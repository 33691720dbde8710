"""Benchmarks of visual-search: embedding, search latency, indexing and vector search.

Each benchmark compares side by side, in one run on one machine, our path against a baseline
(the seed's way, exact brute force, the machine's measured limit). ``python -m bench`` runs them
all and writes ``bench/RESULTS.md``; ``make bench`` does the same. These are measurements, never
tests: nothing here asserts a time.
"""
