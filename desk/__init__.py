"""Baton's human-agent desk: agents, the handoff queue, offers, timers and events.

Independent of the graph: callers pass callbacks (``on_revert``, ``on_notice``) in. Build one with
``desk.factory.make_desk``; see ``desk.base.Desk`` for the interface.
"""

from desk.base import Desk, OnNotice, OnRevert, QueuePosition
from desk.clock import Clock, FakeClock, SystemClock
from desk.config import DeskConfig, Weights, load_config
from desk.errors import Conflict, DeskError, IllegalTransition, InvalidRequest, NotFound
from desk.events import DeskEvent, EventPage
from desk.factory import make_desk
from desk.memory import InMemoryDesk
from desk.models import (
    Agent,
    AgentSpec,
    CustomerNotice,
    Handoff,
    HandoffRequest,
    Performance,
    Schedule,
    TimeSlot,
)
from desk.ops import TickReport

__all__ = [
    "Agent",
    "AgentSpec",
    "Clock",
    "Conflict",
    "CustomerNotice",
    "Desk",
    "DeskConfig",
    "DeskError",
    "DeskEvent",
    "EventPage",
    "FakeClock",
    "Handoff",
    "HandoffRequest",
    "IllegalTransition",
    "InMemoryDesk",
    "InvalidRequest",
    "NotFound",
    "OnNotice",
    "OnRevert",
    "Performance",
    "QueuePosition",
    "Schedule",
    "SystemClock",
    "TickReport",
    "TimeSlot",
    "Weights",
    "load_config",
    "make_desk",
]
