"""Control and stray invisible characters leave a message at the door, whichever way it comes in."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.text_clean import clean_text
from tests.test_api_support import ADMIN, Api, api_settings, next_event, serve_in_thread

HIDDEN_REQUEST = "\u202e\u200bI want to talk to a human\u200d"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("I want to sell my house", "I want to sell my house"),
        ("hello\x00world", "helloworld"),
        ("\x1b[31mred\x1b[0m alert\x07", "red alert"),
        ("\x1b]0;pwned\x07hi", "hi"),
        ("line one\r\nline two\rthree\tfour", "line one\nline two\nthree\tfour"),
        ("a\x0bb\x0cc", "a b c"),
        (HIDDEN_REQUEST, "I want to talk to a human"),
        ("soft\u00adhyphen\ufeff and zero\u200bwidth\u2060", "softhyphen and zerowidth"),
        ("\u2066isolated\u2069 \u202aembedded\u202c", "isolated embedded"),
        # what scripts and emoji need stays: joiners and marks between non-ASCII characters, flag tags
        ("👩\u200d💻 here", "👩\u200d💻 here"),
        ("می\u200cخواهم", "می\u200cخواهم"),
        (
            "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",
            "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",
        ),
        ("Grüße, ça va? 東京", "Grüße, ça va? 東京"),
    ],
)
def test_what_a_message_keeps(sent: str, kept: str) -> None:
    assert clean_text(sent) == kept


async def test_every_door_stores_and_reads_the_cleaned_text(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
            # REST: the hidden request for a person is read as one
            cid, token = await api.conversation()
            said = await api.say(cid, token, HIDDEN_REQUEST)
            assert said["handoff"]["kind"] == "human", said
            # nothing but controls is an empty message
            r = await http.post(
                f"/v1/conversations/{cid}/messages",
                json={"text": "\x00\x1b[2J\u200b"},
                headers=api.auth(token),
            )
            assert r.status_code == 422
            assert r.json()["error"]["details"][0]["message"] == "no text: empty or only whitespace"
            # the agent's reply is cleaned too
            handoff_id = said["handoff"]["handoff_id"]
            assert (await api.act(handoff_id, "accept", maria)).status_code == 200
            reply = await api.act(handoff_id, "reply", maria, {"text": "Hi\x1b[5m there\x00"})
            assert reply.status_code == 200, reply.text
            blank = await api.act(handoff_id, "reply", maria, {"text": "\x00\u200b"})
            assert blank.status_code == 422, blank.text  # nothing left to send
            # the socket
            async with api.ws(f"/v1/conversations/{cid}/ws", token) as ws:
                await ws.send(json.dumps({"type": "customer_message", "text": "from\x07 the\u200b socket"}))
                event = await next_event(ws, "customer_message")
            assert event["text"] == "from the socket"
            # the LangGraph API
            other, other_token = await api.conversation()
            run = await http.post(
                f"/threads/{other}/runs/wait",
                json={
                    "assistant_id": "baton",
                    "input": {"messages": [{"role": "user", "content": "hi\x1b[1m!"}]},
                },
                headers={"x-api-key": other_token},
            )
            assert run.status_code == 200, run.text
            texts = [
                t["text"]
                for c in (cid, other)
                for t in (await http.get(f"/v1/conversations/{c}", headers=api.auth(ADMIN))).json()[
                    "transcript"
                ]
            ]
    assert "I want to talk to a human" in texts
    assert "Hi there" in texts
    assert "from the socket" in texts
    assert "hi!" in texts
    assert not any(ch in t for t in texts for ch in "\x00\x07\x1b\u200b\u202e")


async def test_a_profile_is_cleaned_after_its_signature_is_checked(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            api = Api(url, http)
            r = await http.post(
                "/v1/conversations",
                json={"customer": {"name": "\u202eanaD\x1b[31m", "plan": "pro\x00"}},
                headers=api.auth(ADMIN),
            )
            assert r.status_code == 201, r.text
            cid = r.json()["conversation_id"]
            panel = (await http.get(f"/v1/conversations/{cid}/customer", headers=api.auth(ADMIN))).json()
    assert panel["profile"]["name"] == "anaD"
    assert panel["profile"]["plan"] == "pro"
