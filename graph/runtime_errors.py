"""What the runtime refuses: the errors ``BatonRuntime`` raises (the API maps each to an HTTP answer)."""

from __future__ import annotations


class ConversationNotFound(LookupError):
    """No conversation (thread) with that id has any checkpoint."""


class CheckpointNotFound(LookupError):
    """No checkpoint with that id in the conversation."""


class NotInterrupted(RuntimeError):
    """A resume was sent to a conversation that is not waiting for a human."""


class NothingToRollBack(RuntimeError):
    """Rollback asked for a conversation with no human handoff in progress."""


class AwaitingHuman(RuntimeError):
    """A change that would drop the pending human task (a write on a paused head, a jump to a bot)."""


class InvalidStateUpdate(ValueError):
    """A state write the graph refuses (unknown node, a write as the human node, bad values)."""
