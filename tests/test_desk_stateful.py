"""Property-based state machine over the in-memory desk: random operations, invariants after each."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from desk.assign import queue_key
from desk.clock import FakeClock
from desk.config import DeskConfig
from desk.errors import DeskError
from desk.lifecycle import TERMINAL, TRANSIENT
from desk.memory import InMemoryDesk
from desk.models import AgentSpec, AgentStatus, CustomerNotice, Handoff, HandoffRequest, HeldStatus

AGENTS = [f"a{i}" for i in range(4)]
SKILLS = ["x", "y"]
agent_ids = st.sampled_from(AGENTS)
statuses: st.SearchStrategy[AgentStatus] = st.sampled_from(["online", "online", "online", "away", "offline"])


class DeskMachine(RuleBasedStateMachine):
    """Random desk traffic on a fake clock."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.reverts = 0
        self.desk = InMemoryDesk(
            DeskConfig(
                accept_timeout_s=10,
                expires_after_s=120,
                relax_after_s=20,
                heartbeat_ttl_s=30,
                stuck_after_s=40,
            ),
            clock=self.clock,
            on_revert=self._on_revert,
        )
        self.next_id = 0
        self.terminal: dict[str, dict[str, Any]] = {}

    async def _on_revert(self, handoff: Handoff, notice: CustomerNotice) -> None:
        self.reverts += 1

    def run(self, coro: Any) -> Any:
        try:
            return self.loop.run_until_complete(coro)
        except DeskError:
            return None  # rejected operations are fine; the invariants check nothing broke

    def teardown(self) -> None:
        self.loop.close()

    def handoff_ids(self) -> list[str]:
        return [f"h{i}" for i in range(self.next_id)] or ["h0"]

    @initialize()
    def seed_agent(self) -> None:
        self.run(self.desk.register_agent(AgentSpec(id="a0", skills={"x": 0.5}, status="online")))

    @rule(agent_id=agent_ids, cap=st.integers(1, 3), skills=st.sets(st.sampled_from(SKILLS)), status=statuses)
    def register(self, agent_id: str, cap: int, skills: set[str], status: AgentStatus) -> None:
        spec = AgentSpec(id=agent_id, skills={s: 0.7 for s in skills}, max_concurrent=cap, status=status)
        self.run(self.desk.register_agent(spec))

    @rule(agent_id=agent_ids, status=statuses)
    def set_status(self, agent_id: str, status: AgentStatus) -> None:
        self.run(self.desk.set_status(agent_id, status))

    @rule(agent_id=agent_ids)
    def heartbeat(self, agent_id: str) -> None:
        self.run(self.desk.heartbeat(agent_id))

    @rule(required=st.lists(st.sampled_from(SKILLS), max_size=1), priority=st.integers(1, 100))
    def submit(self, required: list[str], priority: int) -> None:
        hid = f"h{self.next_id}"
        self.next_id += 1
        req = HandoffRequest(handoff_id=hid, conversation_id=hid, required_skills=required, priority=priority)
        self.run(self.desk.submit(req))

    @rule(data=st.data(), agent_id=agent_ids)
    def accept(self, data: st.DataObject, agent_id: str) -> None:
        self.run(self.desk.accept(data.draw(st.sampled_from(self.handoff_ids())), agent_id))

    @rule(data=st.data())
    def answer_an_offer(self, data: st.DataObject) -> None:
        offered = self.run(self.desk.list(status="offered")) or []
        if offered:
            handoff = data.draw(st.sampled_from(offered))
            if data.draw(st.booleans()):
                self.run(self.desk.accept(handoff.handoff_id, handoff.offered_agent_id or ""))
            else:
                self.run(self.desk.decline(handoff.handoff_id, handoff.offered_agent_id or "", "no"))

    @rule(data=st.data())
    def finish_a_conversation(self, data: st.DataObject) -> None:
        held = [h for h in self.run(self.desk.list()) or [] if h.status in ("accepted", "active")]
        if held:
            handoff = data.draw(st.sampled_from(held))
            agent_id = handoff.assigned_agent_id or ""
            if handoff.status == "accepted" and data.draw(st.booleans()):
                self.run(self.desk.start(handoff.handoff_id, agent_id))
            else:
                self.run(self.desk.complete(handoff.handoff_id, agent_id, rating=5))

    @rule(data=st.data())
    def start_again(self, data: st.DataObject) -> None:
        """A repeated start by the holder (concurrent replies) changes nothing."""
        active = self.run(self.desk.list(status="active")) or []
        if active:
            before = data.draw(st.sampled_from(active))
            after = self.run(self.desk.start(before.handoff_id, before.assigned_agent_id or ""))
            assert after == before

    @rule(agent_id=agent_ids, status=st.sampled_from(["accepted", "active"]), known=st.booleans())
    def restore(self, agent_id: str, status: HeldStatus, known: bool) -> None:
        """A restarted desk gets a held handoff back; one it still knows is refused, unchanged."""
        if known:
            hid = self.handoff_ids()[-1]
            before = self.run(self.desk.get(hid))
        else:
            hid, before = f"h{self.next_id}", None
            self.next_id += 1
        req = HandoffRequest(handoff_id=hid, conversation_id=hid, required_skills=["x"])
        restored = self.run(self.desk.restore(req, agent_id, status))
        if before is not None:
            assert restored is None
            assert self.run(self.desk.get(hid)) == before
        elif restored is not None:
            assert restored.status == status
            assert hid in self.run(self.desk.get_agent(agent_id)).active_handoff_ids

    @rule(data=st.data(), agent_id=agent_ids)
    def decline(self, data: st.DataObject, agent_id: str) -> None:
        self.run(self.desk.decline(data.draw(st.sampled_from(self.handoff_ids())), agent_id))

    @rule(data=st.data())
    def complete_or_start(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(self.handoff_ids()))
        handoff = self.run(self.desk.get(hid))
        agent_id = (handoff.assigned_agent_id if handoff else None) or data.draw(agent_ids)
        op = data.draw(st.sampled_from(["start", "complete"]))
        if op == "start":
            self.run(self.desk.start(hid, agent_id))
        else:
            self.run(self.desk.complete(hid, agent_id, rating=4))

    @rule(data=st.data(), to_skills=st.lists(st.sampled_from(SKILLS), max_size=1))
    def transfer(self, data: st.DataObject, to_skills: list[str]) -> None:
        hid = data.draw(st.sampled_from(self.handoff_ids()))
        handoff = self.run(self.desk.get(hid))
        if handoff is not None and handoff.assigned_agent_id:
            self.run(self.desk.transfer(hid, handoff.assigned_agent_id, to_skills=to_skills, reason="r"))

    @rule(data=st.data())
    def cancel_or_return(self, data: st.DataObject) -> None:
        hid = data.draw(st.sampled_from(self.handoff_ids()))
        if data.draw(st.booleans()):
            self.run(self.desk.cancel(hid, reason="left"))
        else:
            self.run(self.desk.return_to_ai(hid))

    @rule(seconds=st.sampled_from([1, 5, 11, 25, 45]), beat=st.sampled_from([True, True, True, False]))
    def advance_and_tick(self, seconds: int, beat: bool) -> None:
        self.clock.advance(seconds)
        if beat:  # usually agents stay alive; sometimes they all vanish
            for agent_id in AGENTS:
                self.run(self.desk.heartbeat(agent_id))
        self.run(self.desk.tick())

    @invariant()
    def consistent(self) -> None:
        agents = {a.id: a for a in self.run(self.desk.list_agents())}
        handoffs = {h.handoff_id: h for h in self.run(self.desk.list())}
        for agent in agents.values():
            assert len(agent.active_handoff_ids) <= agent.max_concurrent
            assert agent.load <= agent.max_concurrent
            for hid in agent.active_handoff_ids:
                assert handoffs[hid].status in ("accepted", "active")
                assert handoffs[hid].assigned_agent_id == agent.id
            for hid in agent.offered_handoff_ids:
                assert handoffs[hid].status == "offered"
                assert handoffs[hid].offered_agent_id == agent.id
        for hid, handoff in handoffs.items():
            assert handoff.status not in TRANSIENT
            holders = [a.id for a in agents.values() if hid in a.active_handoff_ids]
            if handoff.status in ("accepted", "active"):
                assert holders == [handoff.assigned_agent_id]  # never active with two agents
            else:
                assert holders == []
            if handoff.status == "offered":
                assert [a.id for a in agents.values() if hid in a.offered_handoff_ids] == [
                    handoff.offered_agent_id
                ]
            if handoff.status in TERMINAL:
                snapshot = handoff.model_dump()
                assert self.terminal.setdefault(hid, snapshot) == snapshot  # terminal never changes
        # The queue's index (desk.memory_store.PendingQueue) agrees with a full scan: each queued
        # handoff's place is one after those that sort before it (a stuck one's bumped priority included).
        queued = sorted((h for h in handoffs.values() if h.status == "pending"), key=queue_key)
        for place, handoff in enumerate(queued, start=1):
            assert self.run(self.desk.queue_position(handoff.handoff_id)).position == place


DeskMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestDeskStateMachine = DeskMachine.TestCase
