"""Schemathesis against the served OpenAPI document (bounded): no input gives a 5xx, with and
without credentials. And the document checked into docs/ is the one the service serves."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from service_helpers import Running

ROOT = Path(__file__).resolve().parents[2]


@schemathesis.serializer("application/cbor")
def _cbor(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    """Generated binary bodies go out as they are (arbitrary bytes: the decoder must cope)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def test_no_input_gives_a_server_error(running: Running) -> None:
    schema = schemathesis.openapi.from_url(running.url + "/openapi.json")
    admin = {"Authorization": f"Bearer {running.admin}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 20

    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])
            case.call_and_validate(checks=[not_a_server_error], headers=admin)

        run()


def test_checked_in_openapi_is_the_served_one(running: Running) -> None:
    served = httpx.get(running.url + "/openapi.json").json()
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert served == checked_in, (
        "regenerate: python -m privbill.service.openapi > docs/openapi.json"
    )
