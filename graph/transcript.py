"""A role-tagged view of the message history that every consumer (briefs, evals, API) shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict

Role = Literal["customer", "bot", "agent", "system"]

# Message ``name`` values that mark who spoke; bots use their node name.
HUMAN_AGENT_NAME = "human_agent"
SYSTEM_NAME = "system"


class Turn(BaseModel):
    """One utterance: who said it, what, and its position in the conversation."""

    model_config = ConfigDict(frozen=True)

    index: int
    role: Role
    text: str
    speaker: str = ""


def role_of(message: BaseMessage) -> Role:
    """Classify a LangChain message by who said it."""
    if isinstance(message, HumanMessage):
        return "customer"
    if isinstance(message, SystemMessage) or message.name == SYSTEM_NAME:
        return "system"
    if isinstance(message, AIMessage) and message.name == HUMAN_AGENT_NAME:
        return "agent"
    return "bot"


def to_turns(messages: Sequence[BaseMessage], start: int = 0) -> list[Turn]:
    """The graph's messages from position ``start`` on as indexed turns (index = position in history)."""
    turns: list[Turn] = []
    for i, message in enumerate(messages[start:], start):
        text = message.text
        speaker = message.name or ("customer" if isinstance(message, HumanMessage) else "")
        turns.append(Turn(index=i, role=role_of(message), text=text, speaker=speaker))
    return turns
