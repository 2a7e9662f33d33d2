"""A conversation's customer is asked of the database once per worker: it is set when the conversation
is created and never changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.console_store import ConsoleStore
from api.store import ApiStore
from tests.test_api_store import db_url, stores  # noqa: F401  (fixtures)


def _reads(store: ConsoleStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    real = store.db.fetchall

    async def counted(sql: str, params: Any = ()) -> Any:
        if "baton_api_customer_conversations WHERE conversation_id" in sql:
            asked.append(params[0])
        return await real(sql, params)

    monkeypatch.setattr(store.db, "fetchall", counted)
    return asked


async def test_a_conversations_customer_is_read_once_per_worker(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = ConsoleStore(stores[0].db), ConsoleStore(stores[1].db)
    known, anonymous = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    await first.remember_customer(known, "cust-7")
    await first.remember_customer(anonymous, None)
    asked_first, asked_second = _reads(first, monkeypatch), _reads(second, monkeypatch)
    for _ in range(3):
        for store in (first, second):
            assert await store.customer_of(known) == "cust-7"
            assert await store.customer_of(anonymous) is None
    assert asked_first == []  # the worker that created them knows
    assert asked_second == [known, anonymous]  # another worker asks once each
