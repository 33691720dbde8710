"""Cron schedules of CatalogSource re-syncs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from visualsearch_operator.exceptions import InvalidSpecError
from visualsearch_operator.schedule import next_fire, parse_cron
from visualsearch_operator.services.source_sync import due_slot

T0 = datetime(2025, 1, 31, 23, 59, 30, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/15 * * * *", datetime(2025, 2, 1, 0, 0, tzinfo=UTC)),
        ("@hourly", datetime(2025, 2, 1, 0, 0, tzinfo=UTC)),
        ("30 2 * * *", datetime(2025, 2, 1, 2, 30, tzinfo=UTC)),
        ("0 3 * * 1", datetime(2025, 2, 3, 3, 0, tzinfo=UTC)),  # next Monday
        ("0 3 * * 7", datetime(2025, 2, 2, 3, 0, tzinfo=UTC)),  # 7 is Sunday too
        ("0 0 29 2 *", datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),  # next leap day
        ("30 6 15 * 6", datetime(2025, 2, 1, 6, 30, tzinfo=UTC)),  # dom OR dow: Saturday wins
        ("0 12 1-7/3 * *", datetime(2025, 2, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_next_fire(expression: str, expected: datetime) -> None:
    assert next_fire(expression, T0) == expected


def test_next_fire_is_strictly_after() -> None:
    at = datetime(2025, 1, 1, 2, 30, tzinfo=UTC)
    assert next_fire("30 2 * * *", at) == datetime(2025, 1, 2, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression", ["* * * *", "a * * * *", "0 24 * * *", "0 0 0 * *", "5-1 * * * *"]
)
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(InvalidSpecError):
        parse_cron(expression)


def test_due_slot_collapses_missed_slots_into_the_latest() -> None:
    last = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    now = datetime(2025, 1, 1, 5, 10, tzinfo=UTC)
    assert due_slot("0 * * * *", last, now) == datetime(2025, 1, 1, 5, 0, tzinfo=UTC)
    assert due_slot("0 * * * *", datetime(2025, 1, 1, 5, 0, tzinfo=UTC), now) is None
    assert due_slot("0 * * * *", None, now) is None
