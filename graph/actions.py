"""Typed payloads that cross the human-in-the-loop boundary: what the human node asks and is told.

Text lengths here are absolute ceilings; the configured limit (BATON_MAX_MESSAGE_CHARS) is the door's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: str = Field(default="", description="Which human agent acted.")


class Reply(_Action):
    """The human writes to the customer; the run pauses again for the next turn."""

    type: Literal["reply"] = "reply"
    text: str = Field(
        min_length=1, max_length=100_000, examples=["Hi Dana, I can see your offer on 12 Oak St."]
    )


class ReturnToAI(_Action):
    """The human hands the conversation back to a bot with a note of what they did."""

    type: Literal["return_to_ai"] = "return_to_ai"
    note: str = Field(default="", max_length=2000, examples=["Confirmed the valuation visit for Friday."])
    target: str | None = Field(
        default=None, description="Bot to return to; default: the one that handed off."
    )


class Close(_Action):
    """The human closes the conversation."""

    type: Literal["close"] = "close"
    note: str = Field(default="", max_length=2000)
    text: str = Field(default="", max_length=100_000, description="Optional last message to the customer.")


HumanAction = Annotated[Reply | ReturnToAI | Close, Field(discriminator="type")]
# mypy cannot see through the Annotated union; pydantic accepts it.
HUMAN_ACTION: TypeAdapter[Reply | ReturnToAI | Close] = TypeAdapter(HumanAction)  # type: ignore[arg-type]
