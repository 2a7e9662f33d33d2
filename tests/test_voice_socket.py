"""The voice door end to end: a caller's audio in, a normal customer turn, replies out as text and audio.

Real parts only: eSpeak NG speaks the caller's words, the socket streams them like a microphone,
webrtcvad ends the turn, PocketSphinx transcribes, the one turn service runs it, the desk hands it to
a person, and every line the caller should hear comes back as a WAV.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.voice.audio import read_wav, silence
from api.voice.contact import ASK
from desk.config import DeskConfig
from tests.test_api_support import Api, api_settings, serve_in_thread
from tests.voice_support import need_espeak, spoken_pcm, stream, until

PERSON = "let me talk to a real person"


async def _drain(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 10)


async def test_a_caller_reaches_a_person_hears_them_and_goes_back_to_the_bot(tmp_path: Path) -> None:
    need_espeak()
    # voice turns take seconds each on a loaded box: Maria's heartbeat (REST only here) must outlast them
    patient = DeskConfig(heartbeat_ttl_s=900)
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=patient)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            maria = await api.agent("maria", {"real_estate": 0.9, "empathy": 0.8})
            cid, token = await api.conversation(name="Dana")
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                assert (await until(ws, "handoff_state"))["snapshot"] is True
                ready = await until(ws, "voice.ready")
                assert (ready["sample_rate"], ready["stt"], ready["tts"]) == (
                    16000,
                    "pocketsphinx",
                    "espeak-ng",
                )

                await stream(ws, await spoken_pcm(PERSON))
                assert (await until(ws, "voice.speech_started"))["type"]
                heard = await until(ws, "voice.transcript")
                assert len(set(heard["text"].split()) & set(PERSON.split())) >= 5, heard
                assert 0 < heard["confidence"] <= 1
                said = await until(ws, "customer_message")  # a normal customer turn, on the stream
                assert said["text"] == heard["text"]
                narration = await until(ws, "voice.audio", **{"for": "bot_message"})
                assert "connecting you with one of our licensed agents" in narration["text"]
                assert narration["latency_ms"] > 0  # the turn's end of speech to its first reply audio
                pcm, rate = read_wav(base64.b64decode(narration["audio"]))
                assert rate == 22050
                assert len(pcm) / 2 / rate == pytest.approx(narration["seconds"], abs=0.01)
                state = await until(ws, "handoff_state", snapshot=False)
                assert state["state"] in ("pending", "offered")  # offered at once: Maria is free
                assert state["message"] == ""  # the bot's message was the narration
                hid = state["handoff_id"]
                wait = await until(ws, "voice.audio", **{"for": "handoff_state"})
                assert wait["text"] == "An agent is answering now."  # the narration is not said twice

                # the brief notes the channel and how sure the recogniser was
                detail = (await http.get(f"/v1/handoffs/{hid}", headers=api.auth(maria))).json()
                notes = [n["text"] for n in detail["brief"]["added"]]  # the brief as agents read it
                assert any(
                    n.startswith("Channel: voice (pocketsphinx). Transcription confidence:") for n in notes
                )
                if heard["to_confirm"]:
                    assert any(f'To confirm: heard "{heard["text"]}"' in n for n in notes)

                assert (await api.act(hid, "accept", maria)).status_code == 200
                assert (await until(ws, "handoff_state", state="accepted"))["agent_id"] == "maria"
                r = await api.act(hid, "reply", maria, {"text": "Hi Dana, this is Maria. How can I help?"})
                assert r.status_code == 200, r.text
                typed = await until(ws, "voice.audio", **{"for": "agent_message"})
                assert typed["text"] == "Hi Dana, this is Maria. How can I help?"  # typed, then spoken

                # the caller talks over the reply that is playing: playback stops, the turn goes to Maria
                await stream(ws, await spoken_pcm("hello there"))
                await until(ws, "voice.barge_in")
                to_maria = (await until(ws, "customer_message"))["text"]
                marked = await until(ws, "voice_heard", text=to_maria)  # the console marks it as spoken
                assert marked["to_confirm"] == (marked["confidence"] < 0.5)

                r = await api.act(hid, "return", maria, {"note": "Dana wants to keep talking to the bot."})
                assert r.status_code == 200, r.text
                back = await until(ws, "voice.audio", **{"for": "bot_message"})
                assert back["text"]
                assert "Dana wants" not in back["text"]  # the agent's note is the team's


async def test_nobody_answers_the_options_are_spoken_and_a_spoken_choice_is_understood(
    tmp_path: Path,
) -> None:
    need_espeak()
    quick = DeskConfig(expires_after_s=1.0)
    with serve_in_thread(create_app(api_settings(tmp_path), desk_config=quick)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                # a first turn that hands off leaves no checkpoint to roll back to (graph/runtime.py's
                # NothingToRollBack, text or voice alike): the caller greets the bot first
                await stream(ws, await spoken_pcm("hello there"))
                await until(ws, "voice.audio", **{"for": "bot_message"})
                await stream(ws, await spoken_pcm(PERSON))
                await until(ws, "handoff_state", snapshot=False)
                ended = await until(ws, "handoff_state", timeout=30, state="rolled_back")
                options = await until(ws, "voice.audio", **{"for": "voice.options"})
                assert options["text"] == "You can say call me back, or say continue with the assistant."
                assert ended["handoff_id"]

                await ws.send(json.dumps({"type": "voice.playback_done"}))
                await stream(ws, await spoken_pcm("please call me back"))
                heard = await until(ws, "voice.transcript")
                chosen = await until(ws, "voice_choice")
                assert (chosen["choice"], chosen["heard"]) == ("callback", heard["text"])
                # no phone number or e-mail is known: the caller is asked for one, and it is read back
                assert (await until(ws, "voice.audio", **{"for": "voice.contact"}))["text"] == ASK
                await stream(ws, await spoken_pcm("five five five, one two three, four five six seven"))
                read_back = (await until(ws, "voice.audio", **{"for": "voice.contact"}))["text"]
                assert read_back == "I heard 5 5 5, 1 2 3, 4 5 6 7. Is that right?"
                await stream(ws, await spoken_pcm("yes"))
                thanks = await until(ws, "voice.audio", **{"for": "voice.contact"})
                assert thanks["text"] == "Thanks! One of our agents will call you back at 5551234567."
            status = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            assert status["callback"]["contact"] == "5551234567"


async def test_limits_are_refused_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_espeak()
    monkeypatch.setenv("BATON_VOICE_MAX_UTTERANCE_S", "2.5")
    monkeypatch.setenv("BATON_VOICE_MAX_FRAME_BYTES", "4000")
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await stream(ws, await spoken_pcm("one two three four five six seven eight nine ten"))
                too_long = await until(ws, "error")
                assert too_long["code"] == "audio_too_long"
                assert "at most 2.5 s" in too_long["message"]

                # push to talk: the button is released before any pause; the turn ends on voice.end
                await stream(ws, await spoken_pcm("hello there", after=0.0))
                await ws.send(json.dumps({"type": "voice.end"}))
                assert (await until(ws, "voice.transcript"))["text"]

                await ws.send(silence(0.2))  # 6,400 bytes: over the frame limit
                refused = await until(ws, "error")
                assert refused["code"] == "frame_too_large"
                with pytest.raises(ConnectionClosed) as closed:
                    await _drain(ws)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4413
