"""Resolved human handoffs are remembered and cited as similar cases in later briefs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from test_retrieval import _chroma_file

from graph.actions import ReturnToAI
from graph.case_memory import CaseMemory
from graph.runtime import BatonRuntime
from graph.state import HandoffRecord

LIEN = "I want to sell my house but the lawyer says there's a lien on the title from my late father's estate."


async def test_a_returned_handoff_becomes_a_similar_case(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, case_memory=True)
    async with BatonRuntime.open(settings, checkpoint_url="memory") as rt:
        await rt.post_message("first", "Hi")
        first = await rt.post_message("first", LIEN)
        assert first.pending_interrupt is not None
        assert first.pending_interrupt.brief["similar_cases"] == []  # nothing remembered yet
        await rt.resume("first", ReturnToAI(note="Title company released the lien after probate paperwork"))
        assert rt.memory is not None
        assert rt.memory.store.count() == 1

        await rt.post_message("second", "Hello")
        second = await rt.post_message(
            "second", "We need to sell mom's house; the attorney found a lien on the title from the estate."
        )
    assert second.pending_interrupt is not None
    cases = second.pending_interrupt.brief["similar_cases"]
    assert cases, "the earlier resolution should be offered to the next agent"
    assert "probate" in cases[0]["resolution"]
    assert cases[0]["score"] > 0.45


def _closed(note: str, brief: dict[str, Any]) -> HandoffRecord:
    """A human handoff an agent closed with ``note``."""
    return HandoffRecord(
        id="h1",
        from_agent="seller_bot",
        to="human_agent",
        kind="human",
        trigger="explicit_request",
        rule_id="human_explicit",
        status="closed",
        note=note,
        brief=brief,
    )


def test_remembered_cases_carry_no_customer_identifiers(tmp_path: Path) -> None:
    memory = CaseMemory(tmp_path)
    memory.remember(
        _closed(
            "Listed at 905k for Carol, called her on 617-555-0142",
            {
                "goal": "I want to sell my house at 12 Quince Lane for about 910k",
                "facts": [
                    {"key": "customer_name", "value": "Carol Zabriskie", "turn": 0},
                    {"key": "phone", "value": "617-555-0142", "turn": 0},
                ],
            },
        )
    )
    (case,) = memory.similar("I want to sell my house")
    text = case.summary + " " + case.resolution
    for leak in ("Carol", "Zabriskie", "617", "Quince", "910", "905"):
        assert leak not in text
    assert "[street_address]" in case.summary


def test_no_case_remembered_yet_opens_no_store(tmp_path: Path) -> None:
    first_worker = CaseMemory(tmp_path)
    assert first_worker.similar("I want to sell my house") == []
    assert first_worker._store is None  # nothing opened for an empty memory
    assert not (tmp_path / "cases.sqlite").exists()

    other_worker = CaseMemory(tmp_path)  # another process on the same data dir remembers a case
    other_worker.remember(
        _closed(
            "Title company released the lien after probate paperwork",
            {"goal": "I want to sell my house but there is a lien on the title"},
        )
    )
    (case,) = first_worker.similar("selling a house with a lien on the title")
    assert "probate" in case.resolution


def test_cases_an_earlier_release_kept_in_chromadb_are_found(tmp_path: Path) -> None:
    (tmp_path / "chroma").mkdir()
    _chroma_file(tmp_path / "chroma" / "chroma.sqlite3")
    memory = CaseMemory(tmp_path)
    (case,) = memory.similar("We need to sell mom's house; there is a lien on the title")
    assert case.case_id == "h-lien"
    assert "probate" in case.resolution
    memory.close()
    again = CaseMemory(tmp_path)  # read over once: the table has them now
    assert again.store.count() == 2
    again.close()


def test_workers_on_postgres_share_their_cases(postgres_schema: str, tmp_path: Path) -> None:
    first, second = CaseMemory(tmp_path / "a", postgres_schema), CaseMemory(tmp_path / "b", postgres_schema)
    assert second.similar("selling a house with a lien on the title") == []  # opened, empty
    first.remember(
        _closed(
            "Title company released the lien after probate paperwork",
            {"goal": "I want to sell my house but there is a lien on the title"},
        )
    )
    fresh = CaseMemory(tmp_path / "c", postgres_schema)  # another host: no files of its own
    (case,) = fresh.similar("selling a house with a lien on the title")
    assert "probate" in case.resolution
    assert not (tmp_path / "c").exists()
    for memory in (first, second, fresh):
        memory.close()


def test_an_unreachable_postgres_fails_the_call_and_is_tried_again(tmp_path: Path) -> None:
    import psycopg

    memory = CaseMemory(tmp_path, "postgresql://postgres@127.0.0.1:1/test")  # nothing listens there
    with pytest.raises(psycopg.OperationalError):
        memory.similar("selling a house with a lien on the title")  # the brief logs it and goes on
    assert memory._store is None  # nothing half-open kept: the next brief tries again
    memory.remember(
        _closed("Released the lien", {"goal": "There is a lien on the title"})
    )  # logged, not raised
