"""Callback records in the conversation store (SQLite and real Postgres): contact checks, take races, restarts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from api.store import open_db
from desk.callbacks import CallbackStore, parse_contact
from desk.errors import Conflict, InvalidRequest, NotFound
from tests.conftest import POSTGRES_URL, _postgres_ok, service_missing


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    problem = await _postgres_ok()
    if problem:
        service_missing("PostgreSQL", problem)
    return POSTGRES_URL


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("+49 151 123-4567", "phone", "+491511234567"),
        ("(030) 1234 5678", "phone", "03012345678"),
        (" Dana.W@Example.com ", "email", "dana.w@example.com"),
    ],
)
def test_contacts_are_read_and_normalised(typed: str, kind: str, value: str) -> None:
    contact = parse_contact(typed)
    assert (contact.kind, contact.value) == (kind, value)


@pytest.mark.parametrize("typed", ["12345", "call me maybe", "dana@", "a@b", "+49 151 12a4567", "1" * 16])
def test_what_is_neither_a_phone_nor_an_email_is_refused(typed: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_contact(typed)


async def test_a_callback_is_worked_once_and_survives_a_restart(db_url: str, tmp_path: Path) -> None:
    cid = f"c-{uuid.uuid4().hex}"
    async with open_db(db_url, tmp_path / "data") as db:
        store = CallbackStore(db)
        await store.setup()
        made = await store.create(
            cid, handoff_id="h1", reason="no_agent", contact=None, brief={"summary": "Lien on the title"}
        )
        assert (made.status, made.contact, made.summary) == ("open", None, "Lien on the title")
        again = await store.create(cid, handoff_id="h2", reason="requested", contact=None, brief={})
        assert again.id == made.id  # one open callback per conversation
        with pytest.raises(Conflict):
            await store.take(made.id, "maria")  # nobody can call without a contact
        await store.set_contact(made.id, parse_contact("+49 151 1234567"))
    async with open_db(db_url, tmp_path / "data") as db:  # a restart: a new connection, same records
        store = CallbackStore(db)
        await store.setup()
        got = await store.get(made.id)
        assert got.contact is not None
        assert got.contact.value == "+491511234567"
        assert made.id in [c.id for c in await store.list("open")]
        wins = await asyncio.gather(
            store.take(made.id, "maria"), store.take(made.id, "lee"), return_exceptions=True
        )
        taken = [w for w in wins if not isinstance(w, BaseException)]
        assert len(taken) == 1
        assert sum(isinstance(w, Conflict) for w in wins) == 1
        holder = taken[0].agent_id
        other = "lee" if holder == "maria" else "maria"
        with pytest.raises(Conflict):
            await store.complete(made.id, other, "reached")
        done = await store.complete(made.id, holder, "reached", "Booked a valuation")
        assert (done.status, done.outcome, done.note) == ("done", "reached", "Booked a valuation")
        assert await store.open_for(cid) is None
        with pytest.raises(Conflict):
            await store.complete(made.id, None, "no_answer")
        with pytest.raises(NotFound):
            await store.get("cb-nope")
        summary = await store.summary(made.created_at - 1, made.created_at + 3600)
        assert summary["outcomes"].get("reached", 0) >= 1
