"""Five-field cron schedules (UTC), enough for CatalogSource re-syncs.

Kubernetes 1.20 has no ``batch/v1`` CronJob, and a CronJob could not name its Jobs after the
source's spec hash, so the operator keeps the schedule itself: a timer asks :func:`next_fire`
whether a slot has passed since the last sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from visualsearch_operator.exceptions import InvalidSpecError

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")


@dataclass(frozen=True)
class Cron:
    """The allowed values of each field; ``dom_any``/``dow_any`` record a bare ``*``."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    dom_any: bool
    dow_any: bool

    def day_matches(self, moment: datetime) -> bool:
        """Classic cron: when both day fields are restricted, either one may match."""
        weekday = (moment.weekday() + 1) % 7  # cron: 0 = Sunday
        dom = moment.day in self.days
        dow = weekday in self.weekdays
        if self.dom_any and self.dow_any:
            return True
        if self.dom_any:
            return dow
        if self.dow_any:
            return dom
        return dom or dow


def _parse_field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                first, last = body.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = int(body)
                end = high if step_text else start
        except ValueError:
            raise InvalidSpecError(f"cron {_NAMES[index]} field {text!r} is not a number") from None
        if step < 1 or start < low or end > high or start > end:
            raise InvalidSpecError(f"cron {_NAMES[index]} field {text!r} is out of {low}-{high}")
        values.update(range(start, end + 1, step))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """Parse ``expression``; raise :class:`InvalidSpecError` saying which field is wrong."""
    text = _MACROS.get(expression.strip(), expression.strip())
    fields = text.split()
    if len(fields) != 5:
        raise InvalidSpecError(f"cron schedule {expression!r} needs five fields")
    parsed = [_parse_field(value, i) for i, value in enumerate(fields)]
    minutes, hours, days, months, weekdays = parsed
    return Cron(minutes, hours, days, months, weekdays, fields[2] == "*", fields[4] == "*")


def next_fire(expression: str, after: datetime) -> datetime:
    """The first scheduled minute strictly after ``after`` (timezone kept as given)."""
    cron = parse_cron(expression)
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = moment + timedelta(days=366 * 5)
    while moment < limit:
        if moment.month not in cron.months or not cron.day_matches(moment):
            moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
        elif moment.hour not in cron.hours:
            moment = (moment + timedelta(hours=1)).replace(minute=0)
        elif moment.minute not in cron.minutes:
            moment += timedelta(minutes=1)
        else:
            return moment
    raise InvalidSpecError(f"cron schedule {expression!r} never fires")
