"""Timing helpers: percentiles, and interleaved rounds so that variants compared side by side
share the same moments of a noisy machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 (and mean) in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "mean": float("nan")}

    def at(q: float) -> float:
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index] * 1000

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": statistics.fmean(ordered) * 1000,
    }


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_rates(
    variants: dict[str, tuple[Callable[[], object], int]], rounds: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Items per second of each variant in each of ``rounds``, the variants taking turns.

    ``variants`` maps a name to (a call, the items that call processes). Taking turns spreads
    the machine's background load evenly over the variants being compared.
    """
    if warmup:
        for fn, _ in variants.values():
            fn()
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (fn, items) in variants.items():
            rates[name].append(items / timed(fn))
    return rates


def median_ms(fn: Callable[[], object], calls: int) -> float:
    return statistics.median(timed(fn) for _ in range(calls)) * 1000
