"""Data written by earlier versions keeps loading: checkpoints from before ``HandoffRecord`` was a model."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from graph.actions import Reply, ReturnToAI
from graph.runtime import BatonRuntime
from graph.state import HandoffRecord
from tests.conftest import make_settings

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoints" / "v1_handoffs.sqlite.gz"


def _copy(tmp_path: Path) -> str:
    db = tmp_path / "old.sqlite"
    with gzip.open(FIXTURE) as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return f"sqlite:///{db}"


async def test_a_paused_handoff_from_v1_is_read_and_resumed(tmp_path: Path) -> None:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=_copy(tmp_path)) as runtime:
        view = await runtime.get("old-paused")
        assert view.status == "awaiting_human"
        assert isinstance(view.handoff, HandoffRecord)
        assert view.handoff.kind == "human"
        assert view.handoff.metadata == {}  # a field v1 did not have gets its default
        assert view.pending_interrupt is not None
        assert view.pending_interrupt.handoff_id == view.handoff.id
        replied = await runtime.resume("old-paused", Reply(text="Hi Dana, Maria here.", agent_id="maria"))
        assert replied.status == "human"
        back = await runtime.resume("old-paused", ReturnToAI(note="lien cleared", agent_id="maria"))
        assert back.active_agent == "seller_bot"
        assert (await runtime.get("old-paused")).handoffs[-1].status == "returned"


async def test_an_ended_handoff_from_v1_keeps_its_history(tmp_path: Path) -> None:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url=_copy(tmp_path)) as runtime:
        view = await runtime.get("old-returned")
        assert [h.status for h in view.handoffs][-1] == "returned"
        assert view.handoffs[-1].note == "called back"
        turn = await runtime.post_message("old-returned", "Thanks, what happens next?")
        assert turn.status == "bot"  # the conversation goes on with the bot it was returned to
