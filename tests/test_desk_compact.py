"""The in-process desk holds held and ended handoffs compactly, and reads them back unchanged.

A held handoff used to be a tree of ~50 objects the garbage collector tracks; with 10,000 held every
full collection walked all of them while requests waited (benchmarks/README.md).
"""

from __future__ import annotations

import gc

from test_desk_helpers import request, spec

from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.memory import InMemoryDesk
from desk.models import ContextNote

CONFIG = DeskConfig(heartbeat_ttl_s=1e9)
BRIEF = {
    "summary": "Le client veut vendre son appartement à Lyon — 3 pièces, 72 m²",
    "facts": [
        {"key": "budget", "value": "450 000 €", "turn": 2},
        {"key": "city", "value": "Lyon", "turn": 1},
    ],
    "openers": ["Bonjour !", "Je reprends votre demande.", "Vous vendez à Lyon, c'est bien ça ?"],
    "sections": {"urgency_factors": ["délai court"], "emotional_context": {"stress": "low"}},
}


async def hold(desk: InMemoryDesk, count: int, agent_id: str, first: int = 0) -> None:
    for i in range(first, first + count):
        hid = f"{agent_id}-{i}"
        await desk.submit(
            request(hid, "billing", brief=BRIEF, metadata={"n": i}, preferred_agent_id=agent_id)
        )
        await desk.accept(hid, agent_id)


async def test_a_held_handoff_reads_back_exactly_as_written() -> None:
    desk = InMemoryDesk(CONFIG, clock=FakeClock())
    await desk.register_agent(spec("ana", {"billing": 0.9}))
    await desk.submit(request("h", "billing", brief=BRIEF))
    await desk.accept("h", "ana")
    started = await desk.start("h", "ana")
    noted = await desk.add_context("h", "admin", [ContextNote(kind="fact", key="plan", text="Pro — annuel")])
    assert started.status == noted.status == "active"
    read = await desk.get("h")
    assert read == noted
    assert read.brief == BRIEF
    assert read.context_notes[-1].text == "Pro — annuel"
    completed = await desk.complete("h", "ana", notes="vendu", rating=5)
    assert await desk.get("h") == completed


async def test_held_handoffs_add_almost_no_objects_for_the_garbage_collector() -> None:
    desk = InMemoryDesk(CONFIG, clock=FakeClock())
    await desk.register_agent(spec("ana", {"billing": 0.9}, max_concurrent=50))
    await desk.register_agent(spec("bo", {"billing": 0.9}, max_concurrent=50))
    await hold(desk, 5, "ana")  # warm every code path once
    gc.collect()
    before = len(gc.get_objects())
    await hold(desk, 45, "ana", first=5)
    await hold(desk, 50, "bo")
    gc.collect()
    per_held = (len(gc.get_objects()) - before) / 95
    assert per_held < 2, per_held  # was ~50: the handoff's models, lists, dicts, and its events


async def test_an_agents_list_reads_only_what_it_holds_in_creation_order() -> None:
    clock = FakeClock()
    desk = InMemoryDesk(CONFIG, clock=clock)
    await desk.register_agent(spec("ana", {"billing": 0.9}, max_concurrent=50))
    await desk.register_agent(spec("bo", {"billing": 0.9}, max_concurrent=50))
    await hold(desk, 4, "bo")
    clock.advance(1)
    await hold(desk, 3, "ana")
    await desk.complete("bo-0", "bo")
    everything = await desk.list()
    assert [h.handoff_id for h in await desk.list(agent_id="bo")] == ["bo-0", "bo-1", "bo-2", "bo-3"]
    assert [h.handoff_id for h in await desk.list(status="accepted", agent_id="ana")] == [
        "ana-0",
        "ana-1",
        "ana-2",
    ]
    assert [h.handoff_id for h in everything] == [
        *(f"bo-{i}" for i in range(4)),
        *(f"ana-{i}" for i in range(3)),
    ]
    assert [h.handoff_id for h in await desk.list(status="completed")] == ["bo-0"]
