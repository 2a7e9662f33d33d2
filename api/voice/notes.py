"""What the agent is told about a voice conversation: the channel, and how sure the recogniser was.

Written as context notes on the desk handoff (the brief shows them, "added by voice"): when a voice
turn starts a handoff, one note gives the channel and the confidence of every turn so far; a later
turn heard with low confidence, and a waiting caller's spoken choice, add one note each. A transcript
below the threshold is marked "to confirm": the agent checks it with the caller, never trusts it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from api.engine import ConversationEngine
from api.voice.speech import Transcript
from desk.errors import DeskError
from desk.models import ContextNote

log = logging.getLogger("baton.api.voice")
ACTOR = "voice"


@dataclass(frozen=True)
class Heard:
    """One caller turn as recognised, and whether it is below the confirmation threshold."""

    transcript: Transcript
    to_confirm: bool


def channel_note(heard: Sequence[Heard]) -> str:
    """'Channel: voice (pocketsphinx). Transcription confidence: mean 0.62, lowest 0.41 over 3 turns.'"""
    scores = [h.transcript.confidence for h in heard if h.transcript.confidence is not None]
    engine = heard[-1].transcript.engine if heard else "unknown"
    if scores:
        how = f"mean {sum(scores) / len(scores):.2f}, lowest {min(scores):.2f} over {len(scores)} turn(s)"
    else:
        how = "not reported by the recogniser (to confirm)"
    lines = [f"Channel: voice ({engine}). Transcription confidence: {how}."]
    lines += [confirm_note(h.transcript) for h in heard if h.to_confirm]
    return " ".join(lines)


def confirm_note(t: Transcript) -> str:
    """A low-confidence turn, quoted, for the agent to check with the caller."""
    return f'To confirm: heard "{t.text}" (confidence {t.confidence:.2f}).'


async def add_note(engine: ConversationEngine, conversation_id: str, text: str) -> bool:
    """Add ``text`` to the conversation's open desk handoff; False when there is none (or it closed)."""
    record = await engine.store.conversation(conversation_id) or {}
    handoff_id = record.get("handoff_id")
    if not handoff_id:
        return False
    try:
        await engine.desk.add_context(handoff_id, ACTOR, [ContextNote(kind="note", text=text[:2000])])
    except DeskError as exc:  # closed or lost between the two reads
        log.info("voice: no note on %s: %s", handoff_id, exc)
        return False
    return True


async def note_turn(
    engine: ConversationEngine, conversation_id: str, heard: Sequence[Heard], started_handoff: bool
) -> bool:
    """After a voice turn: the channel note when it started a handoff, a 'to confirm' note when unsure."""
    if started_handoff:
        return await add_note(engine, conversation_id, channel_note(heard))
    if heard and heard[-1].to_confirm:
        return await add_note(engine, conversation_id, confirm_note(heard[-1].transcript))
    return False
