"""The voice door: ``WS /v1/conversations/{id}/voice``, one more way into the one turn service.

Authentication is the conversation socket's (``{"type": "auth", "token": "..."}`` first, or an
``Authorization: Bearer`` header; never the URL): the conversation's customer or the admin. Then:

* the client streams the microphone: binary frames of 16-bit mono PCM at 16 kHz, or, after
  ``{"type": "voice.format", "mime": "audio/webm;codecs=opus"}`` (or Ogg Opus), MediaRecorder's
  chunks, decoded as they arrive (``api/voice/decode.py``);
* voice activity detection finds the end of each caller turn (or the client sends
  ``{"type": "voice.end"}``); the turn is transcribed (``voice.transcript``) and posted as a normal
  customer turn through ``TurnService`` (auth, rate limit, load shedding, lock, checkpoints, desk);
* every event of the conversation's stream is forwarded as on the conversation socket, and what the
  caller should hear (bot and agent messages, the handoff narration, the wait and position) follows
  as ``voice.audio`` (a base64 WAV);
* speech while a reply plays is a barge-in: the server sends ``voice.barge_in`` (stop playback);
* when the wait for a person runs out, the failure options are spoken and the caller's next turn is
  read as a choice (keep waiting, call me back, continue with the assistant); a call back without a
  known phone number or e-mail asks for a number, reads it back and records it once confirmed.

Limits: a frame over ``max_frame_bytes`` or a call over ``max_call_s`` of audio closes 4413 after an
``error`` event, audio that cannot be decoded 4415; a turn over ``max_utterance_s`` is dropped with
``audio_too_long``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.auth import Principal
from api.engine import ConversationEngine, conv_stream
from api.errors import ApiError
from api.routes.ws import customer_state
from api.turns import CustomerTurn, TurnService
from api.voice.audio import RATE, seconds
from api.voice.choices import Choice, options_prompt, read_choice
from api.voice.choosing import (
    NOBODY_ANSWERED,
    WHILE_WAITING,
    VoiceHeardEvent,
    act,
    confirmed,
    contact_of,
    record_choice,
)
from api.voice.contact import ASK, NumberDialogue
from api.voice.decode import PCM, Mark
from api.voice.intake import FORMATS, Intake, Refused
from api.voice.notes import Heard, note_turn
from api.voice.settings import VoiceSettings
from api.voice.speech import Speech, SpeechUnavailable, Transcript
from api.voice.spoken import WAITING_STATES, Spoken, speakable, spoken
from api.voice.vad import Endpointer, SpeechStarted, TooLong, Utterance, VadEvent
from api.ws_socket import LiveSocket
from desk.errors import DeskError
from graph.runtime import ConversationNotFound, NothingToRollBack, NotInterrupted

router = APIRouter(tags=["voice"])
log = logging.getLogger("baton.api.voice")

NOT_HEARD = "Sorry, I didn't catch that. Could you say it again?"


def voice_of(app: Any) -> tuple[VoiceSettings, Speech]:
    """The app's voice settings and engines, made on first use (the recogniser loads once per process)."""
    state = app.state
    if getattr(state, "voice", None) is None:
        settings = VoiceSettings()
        state.voice = (settings, Speech.from_settings(settings))
    voice: tuple[VoiceSettings, Speech] = state.voice
    return voice


class VoiceCall:
    """One caller: the endpointer over their audio, the queue of turns, what is being played."""

    def __init__(self, sock: LiveSocket, principal: Principal, conversation_id: str) -> None:
        self.sock = sock
        self.principal = principal
        self.cid = conversation_id
        self.app = sock.app
        self.settings, self.speech = voice_of(self.app)
        s = self.settings
        self.endpointer = Endpointer(
            end_silence_ms=s.end_silence_ms,
            max_utterance_s=s.max_utterance_s,
            aggressiveness=s.vad_aggressiveness,
        )
        self.intake = Intake(s)
        self.turns: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self.playing_until = 0.0  # monotonic time the client's queued audio should end
        self.end_of_speech: float | None = None  # the turn waiting for its first reply audio
        self.offered: list[Choice] = []  # the options just spoken; the next turn may pick one
        self.later: list[Choice] = []  # options to speak after the bot's next line
        self.announced: set[str] = set()
        self.joined: set[str] = set()
        self.last_said = "\0"  # the last line spoken from the stream
        self.heard: list[Heard] = []
        self.handoff = ""  # the handoff the options are about (a callback asked for is recorded on it)
        self.settled: set[str] = set()  # handoffs the caller already chose for (no second offer)
        self.asking: NumberDialogue | None = None

    # -- sending ------------------------------------------------------------------------------
    async def send(self, payload: dict[str, Any]) -> None:
        await self.sock.send(json.dumps(payload))

    async def say(self, line: Spoken) -> None:
        """Synthesise and send one line; the first after a caller turn carries the turn's latency."""
        try:
            audio = await self.speech.tts.synthesize(speakable(line.text))
        except (SpeechUnavailable, OSError) as exc:
            log.warning("voice: cannot speak: %s", exc)
            await self.sock.error("speech_unavailable", "replies cannot be spoken now; read them instead")
            return
        payload: dict[str, Any] = {
            "type": "voice.audio",
            "text": line.text,
            "for": line.source,
            "seq": line.seq,
            "mime": audio.mime,
            "seconds": audio.seconds,
            "audio": base64.b64encode(audio.wav).decode(),
        }
        if self.end_of_speech is not None:
            payload["latency_ms"] = round((time.monotonic() - self.end_of_speech) * 1000, 1)
            self.end_of_speech = None
        now = time.monotonic()
        self.playing_until = max(now, self.playing_until) + audio.seconds
        await self.send(payload)

    # -- the stream: forward every event, speak what the caller should hear ----------------------
    async def follow(self, since: int | None) -> None:
        engine: ConversationEngine = self.app.state.engine
        snapshot = await customer_state(engine, self.cid)
        snapshot.seq = self.sock.head
        self.announced.update([snapshot.handoff_id] if snapshot.handoff_id else [])
        await self.sock.send(snapshot.model_dump_json())
        await self.send(
            {
                "type": "voice.ready",
                "sample_rate": RATE,
                "encoding": PCM,
                "formats": FORMATS,
                "max_utterance_s": self.settings.max_utterance_s,
                "stt": self.speech.stt.name,
                "tts": self.speech.tts.name,
            }
        )
        start = self.sock.head if since is None else min(max(0, since), self.sock.head)
        async for raw in engine.events.follow(conv_stream(self.cid), start):
            await self.sock.send(raw)
            line = spoken(raw)
            if line is not None and line.source == "handoff_state" and line.text.startswith(self.last_said):
                # the bot already said the narration: only the wait and position are new
                rest = line.text[len(self.last_said) :].strip()
                line = replace(line, text=rest) if rest else None
            if line is not None:
                await self.say(line)
                self.last_said = line.text
            await self.track(json.loads(raw))
            if self.later and line is not None and line.source == "bot_message":
                # nobody answered: the bot says so first, then the caller hears what they can do
                self.offered, self.later = self.later, []
                await self.say(Spoken(options_prompt(self.offered), "voice.options", 0))

    async def track(self, event: dict[str, Any]) -> None:
        """Offer the failure options when the wait runs out (queue policy) or nobody answered."""
        if event.get("type") != "handoff_state" or event.get("snapshot"):
            return
        handoff_id, state = str(event.get("handoff_id") or ""), str(event.get("state") or "")
        offered: list[Choice] | None = None
        if state in WAITING_STATES:
            if handoff_id in self.announced and event.get("queue_position") is not None:
                offered = WHILE_WAITING  # the wait ran out and the caller kept their place
                self.handoff = handoff_id
            self.announced.add(handoff_id)
        elif state in ("accepted", "active"):
            self.joined.add(handoff_id)
            self.offered = []
            self.asking = None  # a person joined: the caller talks to them now
        elif state in ("rolled_back", "callback") and handoff_id not in self.joined | self.settled:
            self.handoff = handoff_id
            self.later = NOBODY_ANSWERED  # back with the assistant: a call back is still possible
        else:
            self.offered = []
        if offered:
            self.offered = offered
            await self.say(Spoken(options_prompt(offered), "voice.options", 0))

    # -- the caller's audio ---------------------------------------------------------------------
    async def read(self) -> None:
        ws = self.sock.ws
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), timeout=self.app.state.settings.ws_idle_s)
            except TimeoutError:
                await ws.close(code=4408, reason="idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            data: bytes | None = message.get("bytes")
            try:
                if data is not None:
                    self.intake.frame(data)
                else:
                    await self.control(message.get("text") or "")
            except Refused as exc:
                if not await self.refused(exc):
                    return

    async def refused(self, exc: Refused) -> bool:
        """Tell the client; False when the socket is closed over it."""
        await self.sock.error(exc.code, exc.message)
        if exc.close is None:
            return True
        await self.sock.ws.close(code=exc.close, reason=exc.message[:120])
        return False

    async def control(self, text: str) -> None:
        try:
            message = json.loads(text)
            kind = message.get("type")
        except (ValueError, AttributeError):
            message, kind = {}, None
        if kind == "voice.end":
            self.intake.end()
        elif kind == "voice.playback_done":
            self.playing_until = 0.0
        elif kind == "voice.format":
            await self.send(self.intake.choose(str(message.get("mime") or "")))
        elif kind not in ("pong", "auth"):
            await self.sock.error(
                "validation_error",
                "voice sockets take audio frames, voice.format, voice.end, voice.playback_done",
            )

    async def listen(self) -> None:
        """The caller's audio, decoded, through voice activity detection, in the order it was said."""
        while True:
            try:
                pcm = await self.intake.next()
            except Refused as exc:
                await self.refused(exc)
                return
            if isinstance(pcm, Mark):  # push to talk: what was said before voice.end is the turn
                utterance = self.endpointer.flush()
                events: list[VadEvent] = [utterance] if utterance is not None else []
            else:
                events = self.endpointer.feed(pcm)
            for event in events:
                await self.on_vad(event)

    async def on_vad(self, event: SpeechStarted | Utterance | TooLong) -> None:
        if isinstance(event, SpeechStarted):
            if time.monotonic() < self.playing_until:
                self.playing_until = 0.0
                await self.send({"type": "voice.barge_in"})
            await self.send({"type": "voice.speech_started"})
        elif isinstance(event, TooLong):
            await self.sock.error(
                "audio_too_long", f"a turn lasts at most {event.seconds:g} s; say it in parts"
            )
        else:
            self.turns.put_nowait((event.pcm, time.monotonic()))

    # -- turns, one at a time, in order -------------------------------------------------------------
    async def work(self) -> None:
        while True:
            pcm, ended = await self.turns.get()
            try:
                await self.turn(pcm, ended)
            except ApiError as exc:
                await self.sock.error(exc.code, exc.message)
            except DeskError as exc:
                await self.sock.error(exc.code, str(exc))
            except (NotInterrupted, NothingToRollBack, ConversationNotFound) as exc:
                await self.sock.error("conflict", str(exc))
            except Exception:  # one failed turn must not end the call
                log.exception("voice turn failed")
                await self.sock.error("internal_error", "the server failed to handle this turn")

    async def turn(self, pcm: bytes, ended: float) -> None:
        try:
            heard = await self.speech.stt.transcribe(pcm)
        except (SpeechUnavailable, OSError) as exc:
            log.warning("voice: cannot transcribe: %s", exc)
            await self.sock.error("speech_unavailable", "speech cannot be recognised now; type instead")
            return
        low = heard.confidence is not None and heard.confidence < self.settings.confirm_below
        await self.send(
            {
                "type": "voice.transcript",
                "text": heard.text,
                "confidence": heard.confidence,
                "to_confirm": low,
                "engine": heard.engine,
                "seconds": round(seconds(pcm), 2),
            }
        )
        self.end_of_speech = ended
        if not heard.text.strip():
            await self.say(Spoken(NOT_HEARD, "voice.not_heard", 0))
            return
        if self.asking is not None:
            return await self.number(heard)
        if self.offered and await self.choose(heard):
            return
        turns: TurnService = self.app.state.turns
        outcome = await turns.turn(self.principal, CustomerTurn(self.cid, (heard.text,)))
        self.heard.append(Heard(heard, low))
        record = await self.app.state.engine.store.conversation(self.cid) or {}
        marked = VoiceHeardEvent(text=heard.text, confidence=heard.confidence, to_confirm=low)
        await self.app.state.engine.publish(self.cid, marked, agent_id=record.get("agent_id"))
        started = outcome.result.handoff is not None and outcome.result.handoff.kind == "human"
        await note_turn(self.app.state.engine, self.cid, self.heard, started)

    async def choose(self, heard: Transcript) -> bool:
        """The caller's spoken choice among the options offered; False when the words name none."""
        choice = read_choice(heard.text)
        if choice is None or choice not in self.offered:
            return False
        offered, self.offered = self.offered, []
        if choice != "queue":  # they left the line: its end is not news (a caller who waits may hear it)
            self.settled.add(self.handoff)
        if choice == "callback" and await contact_of(self.app, self.cid) is None:
            self.asking = NumberDialogue(self.handoff, tuple(offered))
            await record_choice(self.app, self.cid, choice, heard, "asking for a number")
            await self.say(Spoken(ASK, "voice.contact", 0))
            return True
        line = await act(self.app, self.principal, self.cid, choice, heard, self.handoff)
        if line is not None:
            await self.say(Spoken(line, "voice.choice", 0))
        return True

    async def number(self, heard: Transcript) -> None:
        """The caller's answer while asked for a number (``api/voice/contact.py``)."""
        asking = self.asking
        assert asking is not None
        step = asking.hear(heard.text)
        self.asking = None if step.over else asking
        line = step.line
        if step.contact is not None:
            line = await confirmed(self.app, self.principal, self.cid, step.contact, asking.handoff_id)
        elif step.choice is not None:
            line = await act(self.app, self.principal, self.cid, step.choice, heard, asking.handoff_id)
        elif step.over:  # gave up: the request stands, without a number
            await record_choice(self.app, self.cid, "callback", heard, "recorded without a number")
        if line is not None:
            await self.say(Spoken(line, "voice.contact", 0))


@router.websocket("/v1/conversations/{conversation_id}/voice")
async def voice_socket(ws: WebSocket, conversation_id: str, since: int | None = None) -> None:
    """A caller's voice channel (see the module docstring for the protocol)."""
    opened = await LiveSocket.for_customer(ws, "voice", conversation_id)
    if opened is None:
        return
    sock, principal = opened
    try:
        await ws.app.state.turns.require_known(conversation_id)
    except Exception:
        await sock.refuse(ApiError(404, "not_found", f"no conversation {conversation_id}"))
        return
    call = VoiceCall(sock, principal, conversation_id)
    tasks = [
        asyncio.create_task(call.follow(since)),
        asyncio.create_task(call.read()),
        asyncio.create_task(call.listen()),
        asyncio.create_task(call.work()),
    ]
    sock.start_pinging(ws.app.state.settings.ws_ping_s)  # a caller gone is the reader's to see
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.error("voice socket task failed", exc_info=exc)
                with contextlib.suppress(Exception):
                    await ws.close(code=1011, reason="internal error")
    finally:
        call.intake.close()
        await sock.stop_pinging()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
