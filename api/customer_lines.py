"""The sentences a customer reads about people and callbacks (one place, so no internal text slips in)."""

from __future__ import annotations

from desk.callbacks import Contact
from desk.models import Agent

LEFT_QUEUE = "You've left the queue. I'm still here, with everything you told me."
STILL_WAITING = "Thanks for waiting. You keep your place in line."
AGENT_LOST = "Your agent got disconnected, so we're finding you another one. You keep your place."


def agent_line(agent: Agent | None, *, taken_over: bool) -> tuple[str, str]:
    """The agent's name as customers see it, and the line they read when that agent joins."""
    name = (agent.display_name if agent else "") or "One of our agents"
    team = f" from our {agent.team} team" if agent and agent.team else ""
    verb = "has taken over the chat" if taken_over else "joined the chat"
    return name, f"{name}{team} {verb}."


def callback_thanks(contact: Contact) -> str:
    """The customer gave a way to reach them."""
    return f"Thanks! One of our agents will call you back at {contact.value}."


def callback_promise(contact: Contact | None) -> str:
    """Nobody was free and the policy says callback: what happens next."""
    if contact is not None:
        return (
            f"All our agents are busy right now, so one of them will call you back at {contact.value}. "
            "Meanwhile I'm still here, with everything you told me."
        )
    return (
        "All our agents are busy right now, so one of them will call you back: please leave a phone "
        "number or e-mail address below. Meanwhile I'm still here, with everything you told me."
    )
