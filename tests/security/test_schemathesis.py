"""Schemathesis against the published OpenAPI schema, on a real socket, with every check.

Not only "no request gets a 500": each answer's status, content type, headers and body must
be the ones the schema declares, schema-valid requests must be accepted and invalid ones
refused, and the write key must really be checked. The catalogue holds products (written
straight into PostgreSQL) so the read routes answer real pages, facets and products. Bounded
in time (``--max-time``) and examples per operation; the write key is sent so the write
endpoints are exercised past authentication.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.api.test_catalogue_filters import catalogue
from tests.conftest import API_KEY, SettingsFactory
from tests.security.live import live_server
from visualsearch.storage.catalog import CatalogStore

MAX_SECONDS = 60
# Every check runs on every operation, but for one check on the operations below.
# positive_data_acceptance means "a schema-valid request is accepted"; these operations take an
# upload whose content the schema cannot describe (a decodable image, a catalogue file) or, for
# /search, need a model with a text tower for `q` alone (the test model has none; text search on
# every model is issue 15's search part): they answer 400 with an ErrorBody, as declared.
# PUT /synonyms takes rules in a text format the schema cannot describe (a 422 names the line).
CONFIG = """
[checks]
enabled = true

[[operations]]
include-name = ["POST /index", "POST /index/bulk", "POST /search", "GET /search", "PUT /synonyms"]
checks.positive_data_acceptance.enabled = false

# price_min <= price_max relates two parameters, which OpenAPI cannot say: the fuzzing phase
# keeps positive cases valid (schemathesis_hooks.py); the coverage phase ignores hooks.
[[operations]]
include-name = ["GET /products/", "GET /products/{product_id}/similar"]
phases.coverage.checks.positive_data_acceptance.enabled = false

# The filters `category` and `brand` take any text. In a query string every value arrives as
# text, so a "number" or "object" the fuzzer means as invalid for them (brand=-7.08e-219) is a
# valid brand once serialised, and accepting it is right: negative data rejection cannot be
# judged on these three. The 422s for their numeric parameters are tested in tests/api.
[[operations]]
include-name = ["GET /search", "GET /products/", "GET /products/{product_id}/similar"]
phases.fuzzing.checks.negative_data_rejection.enabled = false
"""


def schemathesis_binary() -> str:
    binary = Path(sys.executable).parent / "schemathesis"
    if not binary.exists():
        raise RuntimeError(
            "schemathesis is required by the tests and missing: pip install schemathesis"
        )
    return str(binary)


async def _seed(url: str) -> None:
    store = CatalogStore(url, pool_size=1)
    await store.open()
    try:
        await store.upsert(catalogue(40))
    finally:
        await store.close()


def test_every_answer_is_the_one_the_schema_declares(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings()
    assert settings.database_url
    asyncio.run(_seed(settings.database_url))
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.security.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2]), *sys.path]),
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    with live_server(settings) as port:
        result = subprocess.run(
            [
                schemathesis_binary(),
                "--config-file",
                str(config),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
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
            env=env,
        )
    output = result.stdout + result.stderr
    print(output[-4000:])
    (Path(__file__).parents[2] / "artifacts").mkdir(exist_ok=True)
    (Path(__file__).parents[2] / "artifacts" / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert tested and int(tested.group(1)) >= 12, output[-3000:]  # every operation ran
    assert cases and int(cases.group(2)) >= 300, output[-3000:]  # and many cases each
