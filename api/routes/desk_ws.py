"""``WS /v1/desk/ws``: the supervisors' (and the admin's) live stream of the whole desk.

It authenticates as the other sockets do (``api/routes/ws.py``: an ``auth`` message first, or a
bearer header) and answers 4403 to anyone else. The first event is a ``desk_state`` snapshot; then
the events of the supervisors' stream (a colleague's internal note, ``note_added``), with replay
after ``since``. It takes no messages: a supervisor acts through REST (reassign).
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from api.engine import SUPERVISOR_STREAM
from api.errors import ApiError
from api.ws_models import ClientMessage, DeskStateEvent
from api.ws_socket import LiveSocket

router = APIRouter(tags=["websockets"])


@router.websocket("/v1/desk/ws")
async def desk_socket(ws: WebSocket, since: int | None = None) -> None:
    """The live desk's stream (admin, supervisors)."""
    sock = await LiveSocket.open(ws, "supervisor", SUPERVISOR_STREAM)
    principal = await sock.authenticate()
    if principal is None:
        return
    if not principal.oversees:
        await sock.refuse(ApiError(403, "forbidden", "this token may not follow the desk"))
        return

    async def snapshot() -> DeskStateEvent:
        return DeskStateEvent(role=principal.role)

    async def handle(message: ClientMessage) -> None:
        raise ApiError(403, "forbidden", "the desk socket takes no messages; act through the REST API")

    await sock.run(since, snapshot, handle)
