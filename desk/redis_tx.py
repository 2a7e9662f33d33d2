"""The Redis desk's transaction: what one operation reads and the arguments of its atomic commit.

A ``RedisTx`` reads documents and indexes under the desk's prefix (agent views and offer rankings
through the worker's ``desk.redis_views.AgentViews``), records the versions it read, and turns its
staged writes, accept guards and events into the keys and arguments of ``desk.redis_scripts.COMMIT``
(``commit_args``).
``desk.redis_desk.RedisDesk`` runs the operation and the commit, and re-runs both when it lost a race.
"""

from __future__ import annotations

import json
import math
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from desk import assign, timers
from desk.config import DeskConfig
from desk.events import dump_event
from desk.lifecycle import HELD, TERMINAL
from desk.models import Agent, Handoff, HandoffStatus
from desk.redis_views import beat_time
from desk.store import Tx

if TYPE_CHECKING:
    from desk.redis_desk import RedisDesk

_FIXED_KEYS = 8  # queue, open, handoffs, agents, events, waiting, avail, tags
_STREAM_MAXLEN = 100_000


def decoded(value: Any) -> str:
    """A Redis reply (bytes or not) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def _skills_json(agent: Agent) -> str:
    return json.dumps(sorted(agent.skills), separators=(",", ":"))


class RedisTx(Tx):
    """One desk operation's reads (documents, indexes, the worker's kept agent views) and its commit."""

    def __init__(self, desk: RedisDesk) -> None:
        super().__init__()
        self._r = desk.redis
        self._k = desk.key
        self._config = desk.config
        self._views = desk.views
        self._seen: dict[str, Agent] | None = None  # the views, refreshed once per transaction
        self._tags: dict[str, Any] = {}  # the tag of each agent document this transaction read
        self.versions: dict[str, str] = {}

    async def _load_handoffs(self, ids: list[str]) -> list[Handoff | None]:
        return (await self._load(ids, []))[0]

    async def _load_agents(self, ids: list[str]) -> list[Agent | None]:
        return (await self._load([], ids))[1] if ids else []

    async def _load(
        self, handoff_ids: list[str], agent_ids: list[str]
    ) -> tuple[list[Handoff | None], list[Agent | None]]:
        pipe = self._r.pipeline(transaction=False)  # documents and heartbeats in one round trip
        for hid in handoff_ids:
            pipe.hmget(self._k("h", hid), "v", "d")
        for aid in agent_ids:
            pipe.hmget(self._k("a", aid), "v", "d", "tag")
        if agent_ids:
            pipe.zmscore(self._k("presence"), agent_ids)
        replies = list(await pipe.execute())
        handoffs = self._handoffs_from(handoff_ids, replies[: len(handoff_ids)])
        rest = replies[len(handoff_ids) :]
        return handoffs, self._agents_from(agent_ids, rest[:-1], rest[-1]) if agent_ids else []

    def _handoffs_from(self, ids: list[str], rows: list[Any]) -> list[Handoff | None]:
        out: list[Handoff | None] = []
        for hid, (version, doc) in zip(ids, rows, strict=True):
            self.versions[self._k("h", hid)] = version or "0"
            out.append(None if doc is None else Handoff.model_validate_json(doc))
        return out

    def _agents_from(self, ids: list[str], rows: list[Any], beats: list[Any]) -> list[Agent | None]:
        keys = [self._k("a", i) for i in ids]
        out: list[Agent | None] = []
        for agent_id, key, (version, doc, tag), beat in zip(ids, keys, rows, beats, strict=True):
            self.versions[key] = version or "0"
            self._tags[agent_id] = tag
            if doc is None:
                out.append(None)
                continue
            agent = Agent.model_validate_json(doc)
            if beat is not None:
                agent.last_heartbeat = beat_time(beat)
            out.append(agent)
        return out

    async def _views_now(self) -> dict[str, Agent]:
        if self._seen is None:
            self._seen = await self._views.refresh()
        return self._seen

    async def view_agents(self, ids: list[str] | None = None) -> list[Agent]:
        # What this transaction read or wrote wins; the rest is the worker's kept views: all of them
        # refreshed (once per transaction), or just the few asked for.
        own = self.agent_cache
        if ids is None:
            views = await self._views_now()
            ids = sorted(views.keys() | self.dirty_agents.keys())
        elif self._seen is not None:
            views = self._seen
        else:
            views = await self._views.read([i for i in ids if i not in own])
        found = [own.get(i) or views.get(i) for i in ids]
        return [a for a in found if a is not None]

    async def ranked_pick(self, handoff: Handoff, now: datetime, config: DeskConfig) -> assign.Scored | None:
        views = await self._views_now()
        ranking = self._views.ranking(tuple(assign.asked_skills(handoff)), config, views)
        while True:
            # Agents this transaction read are scored apart, as it read them.
            best = ranking.pick(handoff, views, self.agent_cache, now, config)
            if best is None or best.agent_id in self.agent_cache:
                return best
            agent_id = best.agent_id
            # The offer reads the agent's document anyway: read it now, and keep the pick only if it
            # is the document the view holds. Otherwise (another worker's commit since the refresh, a
            # document gone) drop the view and pick again: the agent now counts as read, or not at all.
            if await self.maybe_agent(agent_id) is not None and self._tags.get(agent_id) == self._views.tag(
                agent_id
            ):
                return best
            self._views.forget(agent_id)

    async def _stored_available(self) -> set[str]:
        members: Any = await self._r.smembers(self._k("avail"))
        return {decoded(m) for m in members}

    async def agent_ids(self) -> list[str]:
        members: Any = await self._r.smembers(self._k("agents"))
        stored = {decoded(m) for m in members}
        return sorted(stored | set(self.dirty_agents))

    async def queue(self) -> list[str]:
        own = self.dirty_handoffs
        if not own:
            members: Any = await self._r.zrange(self._k("queue"), 0, -1)
            return [decoded(m) for m in members]
        # This transaction's writes win: a handoff it queued (a submit offers in its own commit) is
        # placed by its queue score, one it moved on leaves the queue. Redis orders equal scores by id.
        rows: Any = await self._r.zrange(self._k("queue"), 0, -1, withscores=True)
        entries = [(float(score), decoded(m)) for m, score in rows]
        entries = [(score, i) for score, i in entries if i not in own]
        entries += [(assign.queue_score(h), i) for i, h in own.items() if h.status == "pending"]
        return [i for _score, i in sorted(entries)]

    async def may_queue(self) -> bool:
        if any(h.status == "pending" for h in self.dirty_handoffs.values()):
            return True
        return bool(await self._r.zcard(self._k("queue")))

    async def count_ahead(self, handoff: Handoff) -> int:
        rank: Any = await self._r.zrank(self._k("queue"), handoff.handoff_id)
        if rank is not None and handoff.status == "pending":
            return int(rank)
        return int(await self._r.zcount(self._k("queue"), "-inf", f"({assign.queue_score(handoff)}"))

    async def handoff_ids(
        self, open_only: bool, agent_id: str | None = None, status: HandoffStatus | None = None
    ) -> list[str]:
        if status == "pending":  # the ``queue`` index holds just the pending ones
            return await self._by_creation(
                [decoded(m) for m in await self._r.zrange(self._k("queue"), 0, -1)]
            )
        if status == "offered" or status in HELD:
            # ``waiting`` holds the pending and the offered ones; the held ones are the other open ones.
            pipe = self._r.pipeline(transaction=False)
            pipe.zrange(self._k("waiting"), 0, -1)
            pipe.zrange(self._k("queue" if status == "offered" else "open"), 0, -1)
            waiting, other = ({decoded(m) for m in reply} for reply in await pipe.execute())
            return await self._by_creation(
                sorted(waiting - other if status == "offered" else other - waiting)
            )
        index = self._k("open" if open_only else "handoffs")
        members: Any = await self._r.zrange(index, 0, -1)
        return [decoded(m) for m in members]

    async def _by_creation(self, ids: list[str]) -> list[str]:
        """``ids`` in creation order (the ``handoffs`` index's scores, then the id), as ``open`` lists them."""
        created: Any = await self._r.zmscore(self._k("handoffs"), ids) if ids else []
        return [i for _created, i in sorted(zip((float(c or 0) for c in created), ids, strict=True))]

    def commit_args(self) -> tuple[list[str], list[str]]:
        names = ("queue", "open", "handoffs", "agents", "events", "waiting", "avail", "tags")
        keys = [self._k(n) for n in names]
        argv: list[str] = []
        position: dict[str, int] = {}
        for hid, h in self.dirty_handoffs.items():
            key = self._k("h", hid)
            keys.append(key)
            position[key] = len(keys) - _FIXED_KEYS
            queued = str(assign.queue_score(h)) if h.status == "pending" else ""
            is_open = "0" if h.status in TERMINAL else "1"
            version = self.versions.get(key, "0")
            deadline = timers.timer_deadline(h, self._config)
            argv += [
                "h",
                hid,
                version,
                h.model_dump_json(),
                h.status,
                queued,
                str(_ms(h.created_at)),
                is_open,
                h.offered_agent_id or "",
                "" if deadline is None else str(math.floor(deadline.timestamp() * 1000)),
            ]
        for aid, a in self.dirty_agents.items():
            key = self._k("a", aid)
            keys.append(key)
            position[key] = len(keys) - _FIXED_KEYS
            version = self.versions.get(key, "0")
            held, cap = str(len(a.active_handoff_ids)), str(a.max_concurrent)
            free = "1" if assign.has_free_slot(a) else "0"
            skills = _skills_json(a)
            argv += [
                "a",
                aid,
                version,
                a.model_dump_json(),
                held,
                cap,
                free,
                skills,
                secrets.token_hex(8),  # names this document for the workers' kept views
            ]
        guards: list[str] = []
        for hid, status, aid in self.accept_guards:
            agent = self.agent_cache[aid]
            guards += [str(position[self._k("h", hid)]), "eq", "status", status]
            if status == "offered":  # the offer must still be this agent's
                guards += [str(position[self._k("h", hid)]), "eq", "offered_to", aid]
            guards += [str(position[self._k("a", aid)]), "lt", "held", str(agent.max_concurrent)]
        argv = [str(len(keys) - _FIXED_KEYS), *argv, str(len(guards) // 4), *guards]
        argv += [str(len(self.events)), str(_STREAM_MAXLEN), *(dump_event(e) for e in self.events)]
        return keys, argv
