"""The analytics rows of the desk events a worker takes at once: one transaction, each event kept once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.desk_events import record_desk_events
from api.store import ApiStore
from desk.events import DeskEvent, HandoffAccepted, HandoffCreated, HandoffOffered
from tests.test_api_store import db_url, stores  # noqa: F401  (fixtures)

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _batch(handoff_id: str) -> list[DeskEvent]:
    base = {"handoff_id": handoff_id, "conversation_id": f"c-{handoff_id}"}
    return [
        HandoffCreated(ts=AT, **base, priority=1, urgency="high", required_skills=["sales"]),
        HandoffOffered(
            ts=AT + timedelta(seconds=1),
            **base,
            agent_id="ana",
            attempt=1,
            score=0.9,
            expires_at=AT + timedelta(seconds=31),
        ),
        HandoffAccepted(ts=AT + timedelta(seconds=2), **base, agent_id="ana", time_to_accept_s=2.0),
    ]


async def test_a_batch_is_one_transaction_and_a_batch_taken_again_is_kept_once(
    stores: tuple[ApiStore, ApiStore],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = stores
    calls: list[int] = []
    real = type(first.db).execute_all

    async def counted(db: Any, statements: Any) -> None:
        calls.append(len(statements))
        await real(db, statements)

    monkeypatch.setattr(type(first.db), "execute_all", counted)
    handoff_id = f"h-{datetime.now(UTC).timestamp()}"
    await record_desk_events(first, _batch(handoff_id))
    assert calls == [3]
    await record_desk_events(second, _batch(handoff_id))  # another worker took the batch again
    rows = await first.desk_events(AT.timestamp() - 1, AT.timestamp() + 10)
    mine = [r for r in rows if r.get("handoff_id") == handoff_id]
    assert [r["type"] for r in mine] == ["handoff_created", "handoff_offered", "handoff_accepted"]
