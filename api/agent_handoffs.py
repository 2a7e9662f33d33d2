"""An agent taking, declining or passing on a handoff, behind the one door (``TurnService``).

None of these is a turn: accepting tells the customer who joined, declining and transferring change
only the desk handoff. Each is the calling agent's own, for a handoff offered or assigned to them
(accepting may also pick a waiting one from the queue); whether the desk allows it is the desk's
check (409).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.auth import Principal, forbidden
from api.errors import ApiError
from desk.errors import Conflict, IllegalTransition
from desk.models import Handoff

if TYPE_CHECKING:
    from api.turns import TurnService


async def accept(turns: TurnService, principal: Principal, handoff_id: str) -> Handoff:
    """Accept an offer made to the calling agent, or pick a waiting handoff from the queue.

    Whether the agent may pick it (online, skills, a free slot) is the desk's check (409). The desk
    accepts only an offer made to this agent or a waiting handoff, so the handoff is read only when it
    refuses: to tell an agent it was never theirs (403) from one whose offer ended (409).
    """
    agent_id = _agent(principal)
    try:
        return await turns.handoffs.accept(handoff_id, agent_id)
    except (Conflict, IllegalTransition):
        handoff = await turns.engine.desk.get(handoff_id)
        if handoff.status == "pending" or agent_id in (handoff.offered_agent_id, handoff.assigned_agent_id):
            raise  # theirs, or theirs to pick: the desk's reason stands
        if mine := [o for o in handoff.offers if o.agent_id == agent_id]:
            # An agent answering late: their offer ended (timed out, withdrawn) and the handoff moved on.
            # Not a 403: it was theirs to accept, and the console should say what happened.
            outcome = mine[-1].outcome.replace("_", " ")
            msg = f"the offer of handoff {handoff_id} to you ended ({outcome}); it is {handoff.status} now"
            raise ApiError(409, "offer_ended", msg) from None
        raise forbidden(f"act on handoff {handoff_id}") from None


async def decline(turns: TurnService, principal: Principal, handoff_id: str, reason: str) -> Handoff:
    """Decline an offer made to the calling agent; it goes to someone else."""
    agent_id = _agent(principal)
    handoff = await turns.engine.desk.get(handoff_id)
    if agent_id not in (handoff.offered_agent_id, handoff.assigned_agent_id):
        raise forbidden(f"act on handoff {handoff_id}")
    return await turns.engine.desk.decline(handoff_id, agent_id, reason)


async def transfer(
    turns: TurnService,
    principal: Principal,
    handoff_id: str,
    *,
    to_agent_id: str | None = None,
    to_queue: str | None = None,
    to_skills: list[str] | None = None,
    reason: str = "",
) -> Handoff:
    """Transfer a held handoff to a known agent, a queue of the policy, or known skills.

    Raises:
        ApiError: 422 when the target is not exactly one of those, or is unknown.
    """
    agent_id = _agent(principal)
    desk = turns.engine.desk
    handoff = await desk.get(handoff_id)
    if agent_id not in (handoff.offered_agent_id, handoff.assigned_agent_id):
        raise forbidden(f"act on handoff {handoff_id}")
    given = [x for x in (to_agent_id, to_queue, to_skills) if x is not None]
    if len(given) != 1:
        raise _bad_target("target", "give exactly one of to_agent_id, to_queue or to_skills")
    if to_agent_id is not None:
        known = {a.id for a in await desk.list_agents()}
        if to_agent_id not in known:
            close = sorted(a for a in known if a.endswith(to_agent_id) or to_agent_id in a)[:3]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise _bad_target("to_agent_id", f"no agent {to_agent_id!r}{hint}")
    policy = turns.engine.runtime.context.policies.current().policy
    queues = {name: spec for name, spec in policy.targets.items() if spec.kind == "human"}
    if to_queue is not None:
        if to_queue not in queues:
            raise _bad_target("to_queue", f"no queue {to_queue!r}; queues: {', '.join(sorted(queues))}")
        to_skills = list(queues[to_queue].skills)
    if to_skills is not None:
        if not to_skills:
            raise _bad_target("to_skills", "name at least one skill")
        known_skills = await desk.known_skills()
        unknown = sorted(set(to_skills) - known_skills)
        if unknown:
            raise _bad_target("to_skills", f"no agent has skill(s) {', '.join(unknown)}")
    transcript = await turns.engine.runtime.transcript(handoff.conversation_id)
    segment = [t.model_dump() for t in transcript if t.role == "agent"]
    return await desk.transfer(
        handoff_id,
        agent_id,
        to_agent_id=to_agent_id,
        to_skills=to_skills if to_agent_id is None else None,
        reason=reason,
        human_segment=segment,
    )


def _bad_target(field: str, message: str) -> ApiError:
    return ApiError(
        422, "invalid_target", message, details=[{"field": field, "location": "body", "message": message}]
    )


def _agent(principal: Principal) -> str:
    if principal.role != "agent":
        raise forbidden("act as an agent")
    return principal.subject
