"""An offer's agent without scoring every free agent: free agents kept in score order per skill set.

``assign.pick`` scores every free agent who holds the skills, for every offer: with 200 agents that
was three quarters of the in-process desk's time (``benchmarks/desk_scale.py`` under cProfile). Yet
an agent's score changes only when the agent does (skills, performance, load, status), except for
availability, which a schedule makes depend on the clock.

A ``Ranking`` keeps the agents online with a free slot sorted by the key ``assign.pick`` sorts by,
scored with availability 1. That is each agent's exact key without a schedule and a bound with one
(availability is at most 1, so the exact key is never better). ``pick`` walks it best first,
scores only scheduled agents exactly, and stops at the first entry whose bound cannot beat the best
found: usually after the first eligible agent. The desk keeps one per set of asked skills
(``MemoryStore.ranking``) and moves an agent in each when a commit stores it.

The result is ``assign.pick``'s over the same agents (``tests/test_desk_ranking.py`` checks it
against the scan on random desks and changes).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from desk import assign
from desk.config import DeskConfig
from desk.models import Agent, Handoff

# Rankings kept, one per set of asked skills (a policy's targets ask for a few); each change of an
# agent moves it in every one, so an unused set is dropped, least recently asked first.
RANKINGS = 32


class Ranking:
    """The free agents, best first for one set of asked skills under one desk configuration."""

    def __init__(self, asked: tuple[str, ...], config: DeskConfig, agents: Mapping[str, Agent]) -> None:
        self.config = config
        self._bound: Callable[[Agent], assign.Parts] = assign.skill_scorer(asked, None, config)
        self._entries: list[assign.OrderKey] = []  # sorted; each ends with the agent's id, so unique
        self._keys: dict[str, assign.OrderKey] = {}
        for agent in agents.values():
            self.put(agent)

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, agent: Agent) -> None:
        """Move ``agent`` (a committed version) to its place, or out when it cannot take an offer."""
        self.drop(agent.id)
        if assign.has_free_slot(agent):
            key = assign.order_key(agent, False, self._bound(agent)[0])
            self._keys[agent.id] = key
            insort(self._entries, key)

    def drop(self, agent_id: str) -> None:
        """Take the agent out (gone from the desk)."""
        old = self._keys.pop(agent_id, None)
        if old is not None:
            del self._entries[bisect_left(self._entries, old)]

    def pick(
        self,
        handoff: Handoff,
        stored: Mapping[str, Agent],
        changed: Mapping[str, Agent],
        now: datetime,
        config: DeskConfig,
    ) -> assign.Scored | None:
        """``assign.pick`` over every agent: the ``stored`` ones this ranking orders, except where
        ``changed`` holds a transaction's own version (those are scored one by one).

        ``handoff`` must ask for this ranking's skills, under its configuration.
        """
        needed = assign.skills_needed(handoff, now, config)
        exact = assign.scorer(handoff, now, config)
        preferred_id = handoff.preferred_agent_id
        if preferred_id is not None:  # an eligible preferred agent wins outright
            agent = changed.get(preferred_id) or stored.get(preferred_id)
            if agent is not None and assign.eligible(agent, handoff, needed, now, config):
                return assign.breakdown(agent, exact(agent), preferred_id)
        # From here the preferred agent is not eligible, so every key has preferred False.
        best: Agent | None = None
        best_key: assign.OrderKey | None = None
        for agent in changed.values():
            if assign.eligible(agent, handoff, needed, now, config):
                key = assign.order_key(agent, False, exact(agent)[0])
                if best_key is None or key < best_key:
                    best, best_key = agent, key
        for bound in self._entries:
            if best_key is not None and bound > best_key:
                break  # this and every later agent scores at most its bound: none can win
            agent_id = bound[3]
            if agent_id in changed:
                continue
            agent = stored.get(agent_id)
            # None: a Redis worker's ranking has an agent its caller's (earlier) views have not.
            if agent is None or not assign.eligible(agent, handoff, needed, now, config):
                continue
            key = bound if agent.schedule is None else assign.order_key(agent, False, exact(agent)[0])
            if best_key is None or key < best_key:
                best, best_key = agent, key
        return None if best is None else assign.breakdown(best, exact(best), preferred_id)


class Rankings:
    """The rankings a desk keeps: one per set of asked skills, the ``limit`` most recently asked."""

    def __init__(self, limit: int = RANKINGS) -> None:
        self._limit = limit
        self._by_skills: OrderedDict[tuple[str, ...], Ranking] = OrderedDict()

    def get(self, asked: tuple[str, ...], config: DeskConfig, agents: Mapping[str, Agent]) -> Ranking:
        """The free agents in offer order for the skills ``asked``, built from ``agents`` on first use
        (and again under another configuration)."""
        ranking = self._by_skills.get(asked)
        if ranking is None or (ranking.config is not config and ranking.config != config):
            ranking = self._by_skills[asked] = Ranking(asked, config, agents)
            if len(self._by_skills) > self._limit:
                self._by_skills.popitem(last=False)
        self._by_skills.move_to_end(asked)
        return ranking

    def put(self, agent: Agent) -> None:
        """Move ``agent`` (its new committed version) in every ranking."""
        for ranking in self._by_skills.values():
            ranking.put(agent)

    def drop(self, agent_id: str) -> None:
        """Take the agent out of every ranking."""
        for ranking in self._by_skills.values():
            ranking.drop(agent_id)
