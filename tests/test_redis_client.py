"""The desk's Redis client parses replies in C (hiredis), as the declared dependency promises."""

from __future__ import annotations

import pytest
from redis._parsers import _AsyncHiredisParser
from test_desk_helpers import REDIS_URL, require_redis, spec

from desk.redis_desk import RedisDesk, unique_prefix

pytestmark = pytest.mark.services


async def test_the_desk_reads_replies_with_hiredis() -> None:
    # redis-py picks hiredis only when it is installed; without it every reply is parsed in Python
    # (73 vs 49 us of client CPU per desk command, benchmarks/redis_parser.py).
    await require_redis()
    desk = RedisDesk(REDIS_URL, prefix=unique_prefix())
    try:
        await desk.register_agent(spec("a1", skills={"billing": 0.8}))
        assert [a.id for a in await desk.list_agents()] == ["a1"]
        conn = await desk.redis.connection_pool.get_connection()
        try:
            assert isinstance(conn._parser, _AsyncHiredisParser)
        finally:
            await desk.redis.connection_pool.release(conn)
    finally:
        await desk.clear()
        await desk.close()
