"""Limits per client address: new conversations, and customers' messages (count and characters).

A customer needs no account: anyone may start a conversation, and each conversation has its own
message limit, so without these one address could open conversations without end and send each its
share of costly turns (reading 4,000 characters takes 0.3-1 s of a worker's CPU). The address is the
socket's peer, or the ``X-Forwarded-For`` of a proxy uvicorn trusts (``FORWARDED_ALLOW_IPS``; only
127.0.0.1 by default). An IPv6 client counts by its /64, the block one subscriber is usually given.
The admin token (a trusted backend acting for its customers) is not limited here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Counter

from api.limits import RateLimiter
from graph.settings import Settings

if TYPE_CHECKING:
    import redis.asyncio as aioredis


def client_key(host: str | None) -> str | None:
    """The key a client's requests count under: its IPv4 address or IPv6 /64; None when unknown."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client's name): counted as written
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class ClientLimits:
    """The three per-client limits; a limit set to 0 in the settings is off (None)."""

    conversations: RateLimiter | None = None
    messages: RateLimiter | None = None
    characters: RateLimiter | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, redis: aioredis.Redis | None = None, refused: Counter | None = None
    ) -> ClientLimits:
        """The limits of ``settings``, counted in ``redis`` when several workers share it."""

        def limiter(limit: int, what: str) -> RateLimiter | None:
            if not limit:
                return None
            return RateLimiter(limit, redis, settings.redis_prefix, refused, what=f"{what} from this address")

        return cls(
            conversations=limiter(settings.client_conversations_per_minute, "new conversations"),
            messages=limiter(settings.client_messages_per_minute, "messages"),
            characters=limiter(settings.client_chars_per_minute, "characters of messages"),
        )

    async def new_conversation(self, host: str | None) -> None:
        """Count a new conversation started by ``host``.

        Raises:
            ApiError: 429 with ``Retry-After`` past the limit.
        """
        key = client_key(host)
        if key is not None and self.conversations is not None:
            await self.conversations.check(f"client-conversations:{key}")

    async def customer_turn(self, host: str | None, texts: Sequence[str]) -> None:
        """Count a customer turn's messages and characters sent from ``host``.

        Raises:
            ApiError: 429 with ``Retry-After`` past either limit.
        """
        key = client_key(host)
        if key is None:
            return
        if self.messages is not None:
            await self.messages.check(f"client-messages:{key}", len(texts))
        if self.characters is not None:
            await self.characters.check(f"client-chars:{key}", sum(len(t) for t in texts))
