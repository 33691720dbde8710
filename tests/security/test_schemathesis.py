"""Schemathesis against the published OpenAPI schema, on a real socket: no request gets a 500.

Bounded in time (``--max-time``) and examples per operation; the write key is sent so the
write endpoints are exercised past authentication.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import API_KEY, SettingsFactory
from tests.security.live import live_server

MAX_SECONDS = 60


def schemathesis_binary() -> str:
    binary = Path(sys.executable).parent / "schemathesis"
    if not binary.exists():
        raise RuntimeError(
            "schemathesis is required by the tests and missing: pip install schemathesis"
        )
    return str(binary)


def test_no_request_from_the_schema_answers_500(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    with live_server(make_settings()) as port:
        result = subprocess.run(
            [
                schemathesis_binary(),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "12",
                "--max-time",
                str(MAX_SECONDS),
                "--request-timeout",
                "30",
                "--seed",
                "7242",
                "--header",
                f"X-API-Key: {API_KEY}",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=MAX_SECONDS + 120,
            cwd=tmp_path,
        )
    output = result.stdout + result.stderr
    print(output[-4000:])
    assert result.returncode == 0, output[-6000:]
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert tested and int(tested.group(1)) >= 12, output[-3000:]  # every operation ran
    assert cases and int(cases.group(2)) >= 300, output[-3000:]  # and many cases each
