"""Hostile HTTP input: schemathesis drives every operation of the OpenAPI schema of a real server.

Each generated request goes to a ``baton serve`` subprocess with the admin token: the examples of the
schema, schemathesis's coverage cases (boundary values, each constraint broken on its own, methods the
path does not declare) and fuzzed requests, valid and invalid. Path ids are real (a conversation with
a human handoff, its handoff, a registered agent) about half of the time, so requests reach the deep
code paths instead of stopping at 404. The API must conform to its own document: no 5xx, only
documented status codes, responses that match their schema, invalid requests refused, valid ones
accepted, and a 405 with an ``Allow`` header naming the path's methods. ``schemathesis.toml`` (also
what ``st run`` reads) lists the few operations whose bodies are checked for meaning as well as shape.
``BATON_FUZZ_EXAMPLES`` sets the fuzzed examples per operation and mode.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from bench_server import ROOT, TRIGGER, BatonServer, admin, new_customer, register, say
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    unsupported_method,
    allow_header_conformance,
]
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


def _path_is_the_invalid_part(case: Case) -> bool:
    component = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    return component is not None and component.mode.is_negative


def test_api_conforms_to_its_schema(fuzz_server: BatonServer) -> None:
    config = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json", config=config)
    hypothesis_settings = settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    failures: list[str] = []
    operations = 0
    calls = [0]

    def run(case: Case) -> None:
        if not _path_is_the_invalid_part(case):  # a real id would make an invalid request valid
            rng = random.Random(repr(case.path_parameters) + repr(case.body))
            for key in list(case.path_parameters or {}):
                if key in _real and rng.random() < 0.5:
                    case.path_parameters[key] = _real[key]
        calls[0] += 1
        case.call_and_validate(
            base_url=fuzz_server.url, headers=admin(fuzz_server), checks=CHECKS, timeout=60
        )

    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        # What `st run` does per operation (bar the stateful phase): the schema's examples, the
        # coverage cases, then fuzzing, each valid and invalid.
        test = create_test(
            operation=operation,
            test_func=run,
            config=HypothesisTestConfig(
                project=api.config, modes=list(HypothesisTestMode), explicit_settings=hypothesis_settings
            ),
        )
        try:
            test()
        except BaseException as exc:  # collect every operation's first failure, then report them all
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    print(f"schemathesis: {calls[0]} requests over {operations} operations")
    assert operations > 10
    assert not failures, "\n\n".join(failures)
