"""Cost of one handoff's desk work (submit + accept) as the number of held handoffs grows.

In-process ``InMemoryDesk`` (the embedded profile's desk), 200 agents x 50 slots, no HTTP: isolates
the desk's own scaling from the graph and the API. ``--skills N`` spreads the agents over N skills
(each handoff needs one), so an offer has 200 / N candidates instead of 200.

``--queued``: no agent is free, so every handoff waits; times what a customer's handoff costs the desk
as the queue grows (``submit_placed``, the engine's call: the submit and the customer's place in
line) and a waiting customer's widget asking its place (``queue_position``).

    .venv/bin/python benchmarks/desk_scale.py --json benchmarks/results/desk_scale.json
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import common

from desk.config import DeskConfig
from desk.memory import InMemoryDesk
from desk.models import AgentSpec, HandoffRequest


def skill(i: int, skills: int) -> str:
    """The i-th agent's (or handoff's) skill when ``skills`` skills are spread evenly."""
    return "real_estate" if skills == 1 else f"skill{i % skills}"


async def one(desk: InMemoryDesk, needs: str = "real_estate") -> None:
    """Submit a handoff and accept it as the agent it was offered to."""
    hid = uuid.uuid4().hex
    request = HandoffRequest(
        handoff_id=hid,
        conversation_id=f"c-{hid}",
        priority=50,
        urgency="high",
        required_skills=[needs],
    )
    handoff = await desk.submit(request)
    assert handoff.offered_agent_id is not None
    await desk.accept(hid, handoff.offered_agent_id)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the desk to each level and time ``--sample`` more handoffs there."""
    desk = InMemoryDesk(DeskConfig(heartbeat_ttl_s=1e9))
    for i in range(args.agents):
        spec = AgentSpec(id=f"a{i}", skills={skill(i, args.skills): 1.0}, max_concurrent=50, status="online")
        await desk.register_agent(spec)
    held, rows = 0, []
    for level in args.levels:
        while held < level:
            await one(desk, skill(held, args.skills))
            held += 1
        started = time.perf_counter()
        for i in range(args.sample):
            await one(desk, skill(held + i, args.skills))
        held += args.sample
        ms = (time.perf_counter() - started) / args.sample * 1000
        rows.append({"held": held, "submit_accept_ms": round(ms, 2)})
        print(f"held {held:6d}: submit + accept {ms:7.2f} ms")
    return {"agents": args.agents, "skills": args.skills, "rows": rows}


async def queued(args: argparse.Namespace) -> dict[str, Any]:
    """Grow the queue (nobody online) to each level; time ``--sample`` submits and position reads there."""
    desk = InMemoryDesk(DeskConfig(heartbeat_ttl_s=1e9, expires_after_s=1e9, stuck_after_s=1e9))
    waiting: list[str] = []

    async def submit() -> None:
        hid = uuid.uuid4().hex
        request = HandoffRequest(handoff_id=hid, conversation_id=f"c-{hid}", priority=50, urgency="high")
        handoff, place = await desk.submit_placed(request)
        assert handoff.status == "pending"
        assert place.position == len(waiting) + 1
        waiting.append(hid)

    rows = []
    for level in args.levels:
        while len(waiting) < level:
            await submit()
        started = time.perf_counter()
        for _ in range(args.sample):
            await submit()
        submit_ms = (time.perf_counter() - started) / args.sample * 1000
        started = time.perf_counter()
        for hid in waiting[-args.sample :]:
            await desk.queue_position(hid)
        position_ms = (time.perf_counter() - started) / args.sample * 1000
        rows.append(
            {
                "queued": len(waiting),
                "submit_placed_ms": round(submit_ms, 3),
                "queue_position_ms": round(position_ms, 3),
            }
        )
        print(
            f"queued {len(waiting):6d}: submit_placed {submit_ms:7.3f} ms, queue_position {position_ms:7.3f} ms"
        )
    return {"queued": True, "rows": rows}


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--skills", type=int, default=1, help="skills the agents are spread over")
    p.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 5000, 9900])
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--queued", action="store_true", help="every handoff waits: the queue's growth instead")
    p.add_argument("--json", default=None)
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    report = asyncio.run(queued(options) if options.queued else main(options))
    common.write_json(options.json, report)
