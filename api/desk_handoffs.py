"""What the engine tells the desk of a graph handoff, and what it tells the customer once the desk has it."""

from __future__ import annotations

from api.ws_models import HandoffStateEvent
from desk.base import QueuePosition
from desk.models import ContextNote, Handoff, HandoffRequest
from graph.state import HandoffRecord


def placed(handoff: Handoff, position: QueuePosition, to: str) -> HandoffStateEvent:
    """Where a handoff the desk just took stands, for the customer. No message: the bot said the
    narration (a turn of the transcript)."""
    return HandoffStateEvent(
        handoff_id=handoff.handoff_id,
        state=handoff.status,
        to=to,
        queue_position=position.position,
        expected_wait_s=position.expected_wait_s,
    )


def desk_request(conversation_id: str, record: HandoffRecord, created_by: str = "graph") -> HandoffRequest:
    """The desk's view of a graph handoff: what the desk needs to queue, offer and brief it."""
    return HandoffRequest(
        handoff_id=record.id,
        conversation_id=conversation_id,
        priority=max(1, min(100, record.priority)),
        urgency=record.urgency,
        required_skills=list(record.required_skills),
        optional_skills=list(record.optional_skills),
        reason=record.reason,
        trigger=record.trigger,
        brief=record.brief,
        metadata=record.metadata,
        preferred_agent_id=record.preferred_agent_id,
        campaign_id=record.campaign_id,
        lead_id=record.lead_id,
        trigger_source=record.trigger_source,
        trigger_confidence=record.trigger_confidence,
        ai_confidence=record.ai_confidence,
        estimated_handle_time_min=record.estimated_handle_time_min,
        context_notes=[ContextNote.model_validate(n) for n in record.context_notes],
        created_by=created_by,
    )
