"""The short soak in ``make test``: 20 s of mixed load on ``visualsearch serve`` (``make soak``
runs the 2-minute one). Zero errors but the abuser's 429s, nothing lost, flat memory."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.soak import problems, soak


async def test_short_soak(tmp_path: Path) -> None:
    report = await soak(duration=20, concurrency=8, catalogue=24, workdir=tmp_path)
    print(json.dumps(report, indent=2))
    assert problems(report) == [], json.dumps(report, indent=2)
    assert report["shopper_requests"] > 100 and report["indexed_during_soak"] > 0
