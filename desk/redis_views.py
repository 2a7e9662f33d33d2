"""Read-only agent views for the Redis desk, kept by each worker and read again only when they change.

An offer reads every candidate agent (online, a free slot, the skills asked). With 200 agents that was
200 HMGETs and 200 JSON documents parsed per offer: 215 HMGETs per handoff in the scaled load run
(benchmarks/README.md, "Seventeenth session"). A view is never changed (``Tx.view_agents``), so a
worker keeps each agent's last document. One script call returns every candidate's tag and heartbeat;
only the documents whose tag moved are read again.

The tag is a random value every commit writes beside an agent's document (``redis_scripts.COMMIT``),
not the version: versions start over when Redis comes back empty or from an older snapshot, and a
kept document would then match a different one with the same number. A document written before tags
existed has none and is read every time until its next write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from desk.models import Agent

# KEYS: the presence sorted set, then one agent hash per id; ARGV: the ids. Returns, per id, the hash's
# tag ('' for a document without one, nil for no hash) and the id's heartbeat score (nil when none).
TAGS = """
local out = {}
for i = 2, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'v', 'tag')
  out[#out + 1] = h[1] and (h[2] or '') or false
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], ARGV[i - 1]) or false
end
return out
"""
# Candidates per script call: a script holds Redis while it runs (10,000 agents took ~39 ms a call,
# 1,000 ~3.5 ms, measured from the client), so a large desk is read in slices other clients get between.
CHUNK = 500


def beat_time(score: Any) -> datetime:
    """An agent's last heartbeat from its ``presence`` score (seconds since the epoch, as Redis sends it)."""
    return datetime.fromtimestamp(float(score), UTC)


@dataclass(slots=True)
class _Kept:
    tag: Any  # as Redis returned it: compared, never parsed
    stored: Agent  # the document as committed
    beat: Any = None  # the heartbeat score ``view`` carries
    view: Agent | None = None  # ``stored`` with that heartbeat


class AgentViews:
    """One worker's last-read agent documents, checked against Redis by tag on every read."""

    def __init__(self, redis: aioredis.Redis, key: Callable[..., str]) -> None:
        self._redis = redis
        self._key = key
        self._tags = redis.register_script(TAGS)
        self._kept: dict[str, _Kept] = {}

    async def read(self, ids: list[str]) -> dict[str, Agent]:
        """The current view of each registered agent among ``ids`` (shared objects: never change them)."""
        if not ids:
            return {}
        presence = self._key("presence")
        flat: list[Any] = []
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            flat += await self._tags(keys=[presence, *(self._key("a", i) for i in part)], args=part)
        beats: dict[str, Any] = {}
        stale: list[str] = []
        for n, agent_id in enumerate(ids):
            tag, beat = flat[2 * n], flat[2 * n + 1]
            if tag is None:  # deleted (or never registered)
                self._kept.pop(agent_id, None)
                continue
            beats[agent_id] = beat
            kept = self._kept.get(agent_id)
            if kept is None or not tag or kept.tag != tag:
                stale.append(agent_id)
        if stale:
            await self._reload(stale)
        views: dict[str, Agent] = {}
        for agent_id, beat in beats.items():
            kept = self._kept.get(agent_id)  # deleted since its tag was read (by this read or another)
            if kept is not None:
                views[agent_id] = self._view(kept, beat)
        return views

    async def _reload(self, ids: list[str]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for agent_id in ids:
            pipe.hmget(self._key("a", agent_id), "tag", "d")
        for agent_id, (tag, doc) in zip(ids, await pipe.execute(), strict=True):
            if doc is None:  # deleted since the tags were read
                self._kept.pop(agent_id, None)
                continue
            self._kept[agent_id] = _Kept(tag, Agent.model_validate_json(doc))

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
