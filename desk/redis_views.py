"""Read-only agent views for the Redis desk, kept by each worker with its rankings of the free agents.

An offer on Redis read every candidate agent's tag and heartbeat in a Lua script (400 commands inside
Redis with 200 agents) and scored every candidate in Python: two thirds of a submit's dispatch
(benchmarks/README.md, "Nineteenth session"). A worker now keeps each agent's last document and, like
the in-process desk, the free agents in offer order (``desk.ranking.Rankings``). A refresh reads two
keys and no per-agent key: every agent's tag (``tags``, a hash the commit writes beside each document,
with an entry per registered agent) and every heartbeat (``presence``). Only documents whose tag moved
are read again, and only they move in the rankings.

The tag is a random value every commit writes (``redis_scripts.COMMIT``), not the version: versions
start over when Redis comes back empty or from an older snapshot, and a kept document would then match
a different one with the same number. A document stored before tags existed (entered in ``tags`` with
'' when a worker of this release starts, ``redis_scripts.INDEX_AGENTS``) is read on every refresh
until its next write.

The views only choose; the offer reads the chosen agent's document in its transaction and checks it
again (``RedisTx.ranked_pick``), so a view that is behind costs a second pick, never a wrong offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from desk.config import DeskConfig
from desk.models import Agent
from desk.ranking import Ranking, Rankings


def beat_time(score: Any) -> datetime:
    """An agent's last heartbeat from its ``presence`` score (seconds since the epoch, as Redis sends it)."""
    return datetime.fromtimestamp(float(score), UTC)


def _decoder(sample: Any) -> Callable[[Any], str]:
    """How to turn the ids of one reply into text: bytes.decode, or nothing to do (a client that
    decodes replies itself). One check per reply, not per id."""
    return bytes.decode if isinstance(sample, bytes) else str


@dataclass(slots=True)
class _Kept:
    tag: Any  # as Redis returned it: compared, never parsed
    stored: Agent  # the document as committed
    beat: Any = None  # the heartbeat score ``view`` carries
    view: Agent | None = None  # ``stored`` with that heartbeat


class AgentViews:
    """One worker's last-read agent documents and rankings, checked against Redis's tags on refresh."""

    def __init__(self, redis: aioredis.Redis, key: Callable[..., str]) -> None:
        self._redis = redis
        self._key = key
        self._kept: dict[str, _Kept] = {}
        self._rankings = Rankings()

    async def refresh(self) -> dict[str, Agent]:
        """The current view of every registered agent (shared objects: never change them)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._key("tags"))  # every registered agent has an entry ('' before tags existed)
        pipe.zrange(self._key("presence"), 0, -1, withscores=True)
        tag_rows, beat_rows = await pipe.execute()
        text = _decoder(next(iter(tag_rows), b""))
        tags = {text(k): v for k, v in tag_rows.items()}
        beats = {text(m): score for m, score in beat_rows}
        kept = self._kept
        for agent_id in [i for i in kept if i not in tags]:  # gone from the desk (Redis emptied)
            self.forget(agent_id)
        stale = [i for i, tag in tags.items() if not tag or i not in kept or kept[i].tag != tag]
        if stale:
            await self._reload(sorted(stale))
        views: dict[str, Agent] = {}
        for agent_id in tags:
            found = kept.get(agent_id)  # deleted since its tag was read (by this read or another)
            if found is not None:
                views[agent_id] = self._view(found, beats.get(agent_id))
        return views

    async def read(self, ids: list[str]) -> dict[str, Agent]:
        """The current view of each registered agent among ``ids``: their tags and heartbeats only
        (a waiting customer's widget asks about the one agent answering its offer)."""
        if not ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(self._key("tags"), ids)
        pipe.zmscore(self._key("presence"), ids)
        tags, beats = await pipe.execute()
        kept = self._kept
        stale = [
            i
            for i, tag in zip(ids, tags, strict=True)
            if tag is not None and (not tag or i not in kept or kept[i].tag != tag)  # None: not registered
        ]
        if stale:
            await self._reload(stale)
        views: dict[str, Agent] = {}
        for agent_id, tag, beat in zip(ids, tags, beats, strict=True):
            found = kept.get(agent_id)
            if tag is not None and found is not None:
                views[agent_id] = self._view(found, beat)
        return views

    def ranking(self, asked: tuple[str, ...], config: DeskConfig, views: dict[str, Agent]) -> Ranking:
        """The free agents in offer order for the skills ``asked``; ``views`` is the last refresh."""
        return self._rankings.get(asked, config, views)

    def forget(self, agent_id: str) -> None:
        """Drop an agent's view (its document is gone, or differs from what was kept)."""
        self._kept.pop(agent_id, None)
        self._rankings.drop(agent_id)

    def tag(self, agent_id: str) -> Any:
        """The tag of the kept document (None when none is kept)."""
        kept = self._kept.get(agent_id)
        return None if kept is None else kept.tag

    async def _reload(self, ids: list[str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hmget(self._key("a", agent_id), "tag", "d")
        for agent_id, (tag, doc) in zip(ids, await pipe.execute(), strict=True):
            if doc is None:  # deleted since the tags were read
                self.forget(agent_id)
                continue
            stored = Agent.model_validate_json(doc)
            self._kept[agent_id] = _Kept(tag, stored)
            self._rankings.put(stored)

    @staticmethod
    def _view(kept: _Kept, beat: Any) -> Agent:
        if kept.view is None or kept.beat != beat:
            # The heartbeat lives in ``presence``, not in the document (as ``RedisTx._load_agents``).
            kept.beat = beat
            kept.view = (
                kept.stored
                if beat is None
                else kept.stored.model_copy(update={"last_heartbeat": beat_time(beat)})
            )
        return kept.view
