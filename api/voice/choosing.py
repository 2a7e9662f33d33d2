"""Acting on a waiting caller's spoken choice, through the same services the widget's buttons use.

When the queue service (``app.state.waiting``: leave the queue, request a callback) is there and the
conversation still waits for a person, the choice goes through it, and the customer stream speaks the
result. A callback asked for after nobody answered is recorded in the callback store with the handoff
nobody took; one without a phone number or e-mail first asks the caller for a number
(``api/voice/contact.py``). Every choice is also a ``voice_choice`` event on the conversation's stream
(kept with the conversation, followed by the agent holding it) and, while a handoff is open, a note on it.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from api.auth import Principal
from api.customer_lines import callback_thanks
from api.engine import ConversationEngine
from api.errors import ApiError
from api.voice.choices import OPTIONS, Choice
from api.voice.notes import add_note
from api.voice.speech import Transcript
from api.waiting import WaitingService, known_contact
from api.ws_models import _Event
from desk.callbacks import Contact
from desk.errors import NotFound

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


async def contact_of(app: Any, cid: str) -> Contact | None:
    """The phone number or e-mail the conversation's profile gives, if it is a valid one."""
    record = await app.state.engine.store.conversation(cid) or {}
    return known_contact(record.get("profile") or {})


async def call_back_at(
    app: Any, principal: Principal, cid: str, contact: Contact, handoff_id: str
) -> str | None:
    """Record a callback to ``contact``; the line to speak, or None when the stream will say it.

    While the caller waits (or a callback waits for its contact) the queue service does it, as for the
    widget's form; once the handoff ended without an agent, the callback store records it with the
    brief of ``handoff_id``, the handoff nobody took.

    Raises:
        ApiError: The queue service refused for another reason than "not waiting".
    """
    waiting: WaitingService = app.state.waiting
    try:
        await waiting.request_callback(principal, cid, contact.value)
        return None
    except ApiError as exc:
        if exc.code != "not_waiting" or not handoff_id:
            raise
    try:
        brief = (await app.state.engine.desk.get(handoff_id)).brief
    except NotFound:  # the desk forgot it (restarted in memory): the conversation still has the story
        brief = {}
    await waiting.callbacks.create(
        cid, handoff_id=handoff_id, reason="requested", contact=contact, brief=brief
    )
    return callback_thanks(contact)


async def confirmed(
    app: Any, principal: Principal, cid: str, contact: Contact, handoff_id: str
) -> str | None:
    """The caller confirmed the number read back: record the callback and note it on the handoff."""
    try:
        line = await call_back_at(app, principal, cid, contact, handoff_id)
    except ApiError as exc:  # e.g. an agent joined meanwhile
        log.info("voice: a callback to a spoken number was refused: %s", exc.message)
        return f"Sorry, I couldn't record the call back: {exc.message}."
    note = f"Caller asked by voice to be called back at {contact.value} (read back and confirmed)."
    await add_note(app.state.engine, cid, note)
    return line


async def record_choice(app: Any, cid: str, choice: Choice, heard: Transcript, done_by: str) -> None:
    """The ``voice_choice`` event on the conversation's stream and a note on its open handoff."""
    engine: ConversationEngine = app.state.engine
    record = await engine.store.conversation(cid) or {}
    event = VoiceChoiceEvent(choice=choice, heard=heard.text, confidence=heard.confidence, done_by=done_by)
    await engine.publish(cid, event, agent_id=record.get("agent_id"))
    await add_note(engine, cid, f'Caller chose by voice: {OPTIONS[choice]} (heard "{heard.text}").')


async def act(
    app: Any, principal: Principal, cid: str, choice: Choice, heard: Transcript, handoff_id: str = ""
) -> str | None:
    """Carry out ``choice``; the line to speak, or None when the stream will say what happened.

    A callback needs a contact the profile gives; without one, ask for a number first
    (``contact_of`` is None) and call ``call_back_at`` once the caller confirmed it.
    """
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
                line, done_by = None, "queue service"
            else:
                contact = await contact_of(app, cid)
                if contact is None:
                    raise ApiError(409, "contact_needed", "no phone number or e-mail known")
                line = await call_back_at(app, principal, cid, contact, handoff_id)
                done_by = "callback recorded"
        except ApiError as exc:  # not waiting any more, or no way to reach them: recorded below instead
            log.info("voice: %s through the queue service refused: %s", choice, exc.message)
            line = _recorded(choice)
    else:
        line = _recorded(choice)
    await record_choice(app, cid, choice, heard, done_by or "recorded")
    return line


def _recorded(choice: Choice) -> str:
    if choice == "callback":
        return (
            "Thanks. Your request for a call back is recorded with your conversation; the team will see it."
        )
    return "Alright, I'm still here with everything you told me. How can I help?"
