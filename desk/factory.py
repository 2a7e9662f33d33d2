"""Build the configured desk backend."""

from __future__ import annotations

from desk.base import Desk, OnNotice, OnRevert
from desk.clock import Clock
from desk.config import DeskConfig
from desk.memory import InMemoryDesk


def make_desk(
    redis_url: str | None,
    config: DeskConfig | None = None,
    *,
    on_revert: OnRevert | None = None,
    on_notice: OnNotice | None = None,
    clock: Clock | None = None,
    prefix: str = "baton:desk:",
) -> Desk:
    """Return a ``RedisDesk`` when ``redis_url`` is set, else the embedded ``InMemoryDesk``.

    Args:
        redis_url: ``redis://`` URL, or None/'' for the in-process desk.
        config: Desk configuration (defaults when None; see ``desk.config.load_config``).
        on_revert: Awaited after a handoff goes back to the AI or expires.
        on_notice: Awaited when the queue policy notifies a waiting customer.
        clock: Time source (tests pass a ``FakeClock``).
        prefix: Redis key prefix (Redis only).
    """
    if redis_url:
        from desk.redis_desk import RedisDesk  # imported lazily: the embedded desk needs no redis

        return RedisDesk(
            redis_url, config, prefix=prefix, clock=clock, on_revert=on_revert, on_notice=on_notice
        )
    return InMemoryDesk(config, clock=clock, on_revert=on_revert, on_notice=on_notice)
