"""A message of nothing but whitespace: refused at every door, and harmless to the language layer.

"   " once reached the cue reader, whose walk up spaCy's tree never ended on the lone whitespace token
(labelled "dep", its own head): the turn never answered, its conversation stayed locked and an
analysis thread spun for good.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from graph.language.cues import read_cues
from graph.language.pipeline import shared_pipeline
from graph.language.scope import clauses
from tests.test_api_support import ADMIN, Api, api_settings, next_event, serve_in_thread

BLANKS = ["   ", "\n\n", " \t ", "\u00a0"]


def _finishes(work: Any, seconds: float = 20.0) -> bool:
    """Whether ``work()`` returns within ``seconds`` (a loop that never ends fails the test, not CI)."""
    done = threading.Event()
    threading.Thread(target=lambda: (work(), done.set()), daemon=True).start()
    return done.wait(seconds)


@pytest.mark.parametrize("text", BLANKS)
def test_a_blank_text_has_no_clause_and_no_cue(text: str) -> None:
    found: dict[str, Any] = {}

    def read() -> None:
        found["clauses"] = clauses(shared_pipeline().parse(text))
        found["cues"] = read_cues(text).cues

    assert _finishes(read)
    assert found == {"clauses": [], "cues": ()}


async def test_a_blank_message_is_a_422_at_every_door_and_the_conversation_goes_on(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            for text in BLANKS:
                r = await http.post(
                    f"/v1/conversations/{cid}/messages", json={"text": text}, headers=api.auth(token)
                )
                assert r.status_code == 422, r.text
                error = r.json()["error"]
                assert error["code"] == "validation_error"
                assert error["details"] == [
                    {"field": "text", "location": "body", "message": "no text: empty or only whitespace"}
                ]
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                await ws.send(json.dumps({"type": "customer_message", "text": "  \n "}))
                refused = await next_event(ws, "error")
                assert refused["code"] == "validation_error"
                await ws.send(json.dumps({"type": "customer_message", "text": "Hi"}))
                said = await next_event(ws, "customer_message")
                assert said["text"] == "Hi"
            reply = await api.say(cid, token, "I want to talk to a person")
            hid = reply["handoff"]["handoff_id"]
            maria = await api.agent("maria", {"real_estate": 0.9})
            assert (await api.act(hid, "accept", maria)).status_code == 200
            blank = await api.act(hid, "reply", maria, {"text": " \t"})
            assert blank.status_code == 422, blank.text
            assert (await api.act(hid, "reply", maria, {"text": "Hi, Maria here."})).status_code == 200
            view = (await http.get(f"/v1/conversations/{cid}", headers=Api.auth(ADMIN))).json()
    texts = [m["text"] for m in view["transcript"]]
    assert all(t.strip() for t in texts), texts
    assert "Hi" in texts
    assert "Hi, Maria here." in texts
