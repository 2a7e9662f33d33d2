"""How many WebSockets one holder may keep open in a worker: a conversation's customer, an agent, a
supervisor, and all the customers of one client address together.

Each open socket holds a follower, a reader and a pinger (~26 KB); with no bound, one customer token
opened 1,000 sockets on its conversation in 1.5 s and a worker would have kept opening them until it
ran out of memory. The admin is not limited. A socket takes its slots once it is authenticated and
gives them back when its handler ends, whatever way it ends (``api/ws_fastpath.py``).
"""

from __future__ import annotations

from collections import Counter

from api.auth import Principal
from api.client_limits import client_key
from api.errors import ApiError

SLOTS_KEY = "baton.socket_slots"  # the scope's list of the slots its socket took


class SocketLimits:
    """Open sockets per holder and per client address in this worker (0: no limit)."""

    def __init__(self, per_holder: int, per_client: int) -> None:
        self.per_holder = per_holder
        self.per_client = per_client
        self.open: Counter[str] = Counter()

    def take(self, principal: Principal, slots: list[str] | None) -> None:
        """Count one more socket of ``principal``; ``slots`` (the scope's) remembers what to give back.

        Raises:
            ApiError: 429 ``too_many_sockets`` when the holder or its address has as many open already.
        """
        if slots is None or principal.role == "admin":
            return
        wanted = [(f"{principal.role}:{principal.subject}", self.per_holder, f"this {_holder(principal)}")]
        address = client_key(principal.client) if principal.role == "customer" else None
        if address is not None:
            wanted.append((f"client:{address}", self.per_client, "this address"))
        for key, limit, whose in wanted:
            if limit and self.open[key] >= limit:
                msg = f"too many open sockets for {whose} (at most {limit}); close one first"
                raise ApiError(429, "too_many_sockets", msg)
        for key, _, _ in wanted:
            self.open[key] += 1
            slots.append(key)

    def release(self, slots: list[str]) -> None:
        """Give back the slots a socket took."""
        for key in slots:
            self.open[key] -= 1
            if self.open[key] <= 0:
                del self.open[key]
        slots.clear()


def _holder(principal: Principal) -> str:
    return "conversation" if principal.role == "customer" else principal.role
