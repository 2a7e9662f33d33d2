"""Acting on a waiting caller's spoken choice, through the same services the widget's buttons use.

When the queue service (``app.state.waiting``: leave the queue, request a callback) is there and the
conversation still waits for a person, the choice goes through it, and the customer stream speaks the
result. Otherwise the choice is recorded as a ``voice_choice`` event on the conversation's stream (kept
with the conversation, followed by the agent holding it) and, while a handoff is open, as a note on it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from api.auth import Principal
from api.engine import ConversationEngine
from api.errors import ApiError
from api.voice.choices import OPTIONS, Choice
from api.voice.notes import add_note
from api.voice.speech import Transcript
from api.ws_models import _Event

log = logging.getLogger("baton.api.voice")

# What was offered: while waiting (the queue policy's notice), or once nobody answered (back with the AI).
WHILE_WAITING: list[Choice] = ["queue", "callback", "ai"]
NOBODY_ANSWERED: list[Choice] = ["callback", "ai"]


class VoiceChoiceEvent(_Event):
    """A caller chose, by voice, what happens while nobody is free (the conversation's record of it)."""

    type: Literal["voice_choice"] = "voice_choice"
    choice: str
    heard: str
    confidence: float | None = None
    done_by: str = ""


class VoiceHeardEvent(_Event):
    """A customer turn came in by voice: what was heard and how sure the recogniser was (for the console)."""

    type: Literal["voice_heard"] = "voice_heard"
    text: str
    confidence: float | None = None
    to_confirm: bool = False


async def act(app: Any, principal: Principal, cid: str, choice: Choice, heard: Transcript) -> str | None:
    """Carry out ``choice``; the line to speak, or None when the stream will say what happened."""
    engine: ConversationEngine = app.state.engine
    waiting = getattr(app.state, "waiting", None)
    done_by = ""
    line: str | None
    if choice == "queue":
        line = "Alright, you keep your place in line."
        done_by = "nothing to do"
    elif waiting is not None and choice in ("callback", "ai"):
        try:
            if choice == "ai":
                await waiting.leave(principal, cid)
            else:
                record = await engine.store.conversation(cid) or {}
                profile = record.get("profile") or {}
                contact = next((profile[k] for k in ("phone", "email") if profile.get(k)), "")
                if not contact:
                    raise ApiError(409, "contact_needed", "no phone number or e-mail known")
                await waiting.request_callback(principal, cid, str(contact))
            done_by, line = "queue service", None
        except ApiError as exc:  # not waiting any more, or no way to reach them: recorded below instead
            log.info("voice: %s through the queue service refused: %s", choice, exc.message)
            line = _recorded(choice)
    else:
        line = _recorded(choice)
    record = await engine.store.conversation(cid) or {}
    event = VoiceChoiceEvent(
        choice=choice, heard=heard.text, confidence=heard.confidence, done_by=done_by or "recorded"
    )
    await engine.publish(cid, event, agent_id=record.get("agent_id"))
    await add_note(engine, cid, f'Caller chose by voice: {OPTIONS[choice]} (heard "{heard.text}").')
    return line


def _recorded(choice: Choice) -> str:
    if choice == "callback":
        return (
            "Thanks. Your request for a call back is recorded with your conversation; the team will see it."
        )
    return "Alright, I'm still here with everything you told me. How can I help?"
