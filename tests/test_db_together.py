"""``together(db)``: the API store's writes in a block commit in one transaction when it ends.

Both backends (Postgres is the real server). Another connection sees none of the block's rows until
it ends, then all of them; a read inside sees them; a statement that fails at the commit leaves none
of them; the block's own error still commits what it wrote before, as one by one it would have.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from test_api_store import db_url, stores  # noqa: F401 (fixtures: a writer and another connection)
from test_api_support import api_settings, in_process

from api.app import create_app
from api.db import together
from api.store import ApiStore


def _ids(n: int) -> list[str]:
    run = uuid.uuid4().hex
    return [f"h-{run}-{i}" for i in range(n)]


async def _open(store: ApiStore, namespace: str) -> list[str]:
    return [h for h, _ in await store.open_handoffs(namespace)]


async def test_the_block_commits_once_when_it_ends(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
) -> None:
    writer, other = stores
    namespace, ids = f"ns-{uuid.uuid4().hex}", _ids(3)
    sent: list[int] = []
    original = writer.db.execute_all

    async def counted(statements: Any) -> None:
        sent.append(len(statements))
        await original(statements)

    writer.db.execute_all = counted  # type: ignore[method-assign]
    async with together(writer.db):
        for handoff_id in ids:
            await writer.open_handoff(handoff_id, "c1", namespace)
        await writer.add_handoff(ids[0], "c1", "human", "explicit", "human_agent")
        assert await _open(other, namespace) == []  # nothing committed yet
    assert sent == [4]
    assert await _open(other, namespace) == ids
    for handoff_id in ids:
        await writer.close_handoff(handoff_id)


async def test_a_read_inside_the_block_sees_its_writes(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
) -> None:
    writer, _ = stores
    namespace, ids = f"ns-{uuid.uuid4().hex}", _ids(2)
    async with together(writer.db):
        await writer.open_handoff(ids[0], "c1", namespace)
        assert await _open(writer, namespace) == ids[:1]
        await writer.open_handoff(ids[1], "c1", namespace)
    assert await _open(writer, namespace) == ids
    for handoff_id in ids:
        await writer.close_handoff(handoff_id)


async def _open_then_fail_at_commit(writer: ApiStore, handoff_id: str, namespace: str) -> None:
    async with together(writer.db):
        await writer.open_handoff(handoff_id, "c1", namespace)
        await writer.db.execute("INSERT INTO baton_api_no_such_table (id) VALUES (?)", ("x",))


async def test_a_statement_failing_at_the_commit_leaves_none_of_the_blocks_rows(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
) -> None:
    writer, other = stores
    namespace, ids = f"ns-{uuid.uuid4().hex}", _ids(1)
    with pytest.raises(Exception, match=r"(?i)no such table|does not exist"):
        await _open_then_fail_at_commit(writer, ids[0], namespace)
    assert await _open(other, namespace) == []


async def _open_then_raise(writer: ApiStore, handoff_id: str, namespace: str) -> None:
    async with together(writer.db):
        await writer.open_handoff(handoff_id, "c1", namespace)
        msg = "after the write"
        raise RuntimeError(msg)


async def test_an_error_in_the_block_still_commits_what_it_wrote(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
) -> None:
    writer, other = stores
    namespace, ids = f"ns-{uuid.uuid4().hex}", _ids(1)
    with pytest.raises(RuntimeError, match="after the write"):
        await _open_then_raise(writer, ids[0], namespace)
    assert await _open(other, namespace) == ids
    await writer.close_handoff(ids[0])


async def test_a_handoff_writes_its_rows_in_one_transaction_before_the_desk(tmp_path: Path) -> None:
    app = create_app(api_settings(tmp_path))
    async with in_process(app) as api:
        db = app.state.store.db
        sent: list[list[str]] = []
        original = db.execute_all

        async def counted(statements: Any) -> None:
            names = [sql.split(" (")[0] for sql, _ in statements]
            if "INSERT INTO baton_api_desk_events" not in names:  # the desk events' consumer, meanwhile
                sent.append(names)
            await original(statements)

        db.execute_all = counted
        handoff_ids: list[str] = []
        for _ in range(2):  # the first handoff in a process creates the analytics tables first
            sent.clear()
            cid, token = await api.conversation()
            turn: dict[str, Any] = await api.say(cid, token, "Can I talk to a real person please?")
            handoff_ids.append(turn["handoff"]["handoff_id"])
        handoff_rows = [
            "INSERT INTO baton_api_handoffs",
            "INSERT INTO baton_api_handoff_policies",
            "UPDATE baton_api_conversations SET handoff_id = ?, agent_id = ? WHERE id = ?",
            "INSERT INTO baton_api_open_handoffs",
        ]
        events = ["INSERT INTO baton_api_events"]
        # The customer's line and the bot's narration: one write; the handoff's rows: one; then the
        # handoff's state for the customer (queue position) after the desk took it.
        assert sent == [events * 2, handoff_rows, events]
        opened = [h for h, _ in await app.state.store.open_handoffs(app.state.engine.prefix)]
        assert sorted(opened) == sorted(handoff_ids)
