"""Hostile HTTP input: schemathesis drives every operation of the OpenAPI schema of a real server.

Each generated request goes to a ``baton serve`` subprocess with the admin token. Path ids are real
(a conversation with a human handoff, its handoff, a registered agent) about half of the time, so
requests reach the deep code paths instead of stopping at 404. Every response must be a non-5xx
that conforms to the documented schema. ``BATON_FUZZ_EXAMPLES`` sets the examples per operation.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from bench_server import TRIGGER, BatonServer, admin, new_customer, register, say
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "60"))
_real: dict[str, str] = {}


async def _seed(server: BatonServer) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        agent = await register(http, server, "fuzz")
        customer = await new_customer(http)
        await say(http, customer, "Hi")
        turn = await say(http, customer, TRIGGER)
        handoff_id = turn["handoff"]["handoff_id"]
        await http.post(f"/v1/handoffs/{handoff_id}/accept", headers=agent.auth)
        return {
            "conversation_id": customer.cid,
            "handoff_id": handoff_id,
            "agent_id": agent.agent_id,
            "thread_id": customer.cid,
            "name": "real_estate",
        }


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BatonServer]:
    """One real server for the whole module (rate limit raised so message paths run the graph)."""
    root: Path = tmp_path_factory.mktemp("fuzz")
    server = BatonServer(root / "data", env={"BATON_RATE_LIMIT_PER_MINUTE": "100000"}).start(180)
    try:
        _real.update(asyncio.run(_seed(server)))
        yield server
    finally:
        server.stop()


def test_no_server_errors_and_responses_match_schema(fuzz_server: BatonServer) -> None:
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    calls = [0]
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def run(case: Any) -> None:
            rng = random.Random(repr(case.path_parameters) + repr(case.body))
            for key in list(case.path_parameters or {}):
                if key in _real and rng.random() < 0.5:
                    case.path_parameters[key] = _real[key]
            calls[0] += 1
            case.call_and_validate(
                base_url=fuzz_server.url,
                headers=admin(fuzz_server),
                checks=[not_a_server_error, response_schema_conformance],
                timeout=60,
            )

        try:
            run()
        except BaseException as exc:  # collect every operation's first failure, then report them all
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"schemathesis: {calls[0]} requests over {operations} operations")
    assert operations > 10
    assert not failures, "\n\n".join(failures)
