"""The short soak in ``make test``: 20 s of mixed load on ``visualsearch serve`` (``make soak``
runs the 2-minute one). Zero errors but the abuser's 429s, nothing lost, flat memory."""

from __future__ import annotations

import json

from tests.reliability.soak import problems, soak
from tests.support.servers import shared_tmpdir


async def test_short_soak() -> None:
    # the embedded PostgreSQL runs unprivileged: keep its data out of pytest's root-only tree
    with shared_tmpdir("vs-soak-") as workdir:
        report = await soak(duration=20, concurrency=8, catalogue=24, workdir=workdir)
    print(json.dumps(report, indent=2))
    assert problems(report) == [], json.dumps(report, indent=2)
    assert report["shopper_requests"] > 100 and report["indexed_during_soak"] > 0
