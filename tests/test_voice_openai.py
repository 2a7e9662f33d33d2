"""The OpenAI-compatible speech path against a stand-in whisper server on 127.0.0.1, started by the test.

The stand-in implements ``/v1/audio/transcriptions`` (multipart: file, model, response_format) and
``/v1/audio/speech`` (JSON; a WAV back), records every request, and can be told to fail. Nothing but
the stand-in may be reached: any other connection (a model download, a telemetry call) fails the test.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai._base_client as openai_base
import pytest

from api.app import create_app
from api.voice.audio import RATE, read_wav, silence, write_wav
from api.voice.settings import VoiceSettings
from api.voice.speech import OpenAIAudio, Speech, SpeechUnavailable
from tests.test_api_support import Api, api_settings, serve_in_thread
from tests.voice_support import need_espeak, spoken_pcm, stream, until, voiced

_REAL_REQUEST = openai_base.AsyncAPIClient.request  # before the suite's guard replaces it per test
HEARD = "I'd like to sell my house on Oak Street."
LOCAL = ("127.0.0.1", "::1", "localhost")


@dataclass
class Seen:
    """One request the stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)  # multipart fields, or the JSON body
    file: tuple[str, str, bytes] | None = None  # name, content type, bytes


@dataclass
class StandIn:
    """What the stand-in answers and what it was asked."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # path -> HTTP status to answer instead
    delay_s: float = 0.0
    reply_wav: bytes = b""


def _tone(secs: float, rate: int = 24_000) -> bytes:
    t = np.arange(int(rate * secs)) / rate
    return write_wav((np.sin(2 * np.pi * 220 * t) * 6000).astype("<i2").tobytes(), rate)


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()})
            kind = self.headers.get("Content-Type", "")
            if kind.startswith("multipart/form-data"):
                parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(
                    f"Content-Type: {kind}\r\n\r\n".encode() + body
                )
                for part in parsed.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True) or b""
                    if part.get_filename():
                        seen.file = (part.get_filename(), part.get_content_type(), payload)
                    else:
                        seen.fields[str(name)] = payload.decode()
            elif body:
                seen.fields = json.loads(body)
            stand_in.seen.append(seen)
            time.sleep(stand_in.delay_s)
            if self.path in stand_in.fail:
                error = {"error": {"message": "the model is loading", "type": "server_error"}}
                return self._answer(stand_in.fail[self.path], json.dumps(error).encode(), "application/json")
            if self.path == "/v1/audio/transcriptions":
                segment = {"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": HEARD, "tokens": [1]}
                segment |= {"temperature": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.01}
                result = {
                    "text": f" {HEARD} ",
                    "language": "english",
                    "duration": 1.0,
                    "segments": [{**segment, "avg_logprob": -0.1}, {**segment, "id": 1, "avg_logprob": -0.3}],
                }
                return self._answer(200, json.dumps(result).encode(), "application/json")
            if self.path == "/v1/audio/speech":
                return self._answer(200, stand_in.reply_wav or _tone(0.8), "audio/wav")
            return self._answer(404, b'{"error": {"message": "no such route"}}', "application/json")

    return Handler


@pytest.fixture
def offline_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Connections beyond this machine fail (and are listed); the openai client may reach loopback only."""
    tried: list[object] = []
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOCAL:
            tried.append(address)
            msg = f"this test may not leave the machine (tried {address})"
            raise OSError(msg)
        return connect(sock, address)

    async def request(client: Any, *args: Any, **kwargs: Any) -> Any:
        assert client.base_url.host in LOCAL, f"the openai client was pointed at {client.base_url}"
        return await _REAL_REQUEST(client, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    monkeypatch.setattr(openai_base.AsyncAPIClient, "request", request)
    return tried


@pytest.fixture
def stand_in(offline_network: list[object]) -> Iterator[StandIn]:
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(5)
    assert offline_network == []  # nothing was downloaded or called beyond the stand-in


def _settings(stand_in: StandIn, **extra: Any) -> VoiceSettings:
    return VoiceSettings(
        openai_base_url=stand_in.url,
        openai_api_key="sk-test-key",
        stt_model="whisper-small",
        tts_model="kokoro",
        tts_voice="af_heart",
        **extra,
    )


async def test_a_turn_is_sent_as_whisper_expects_and_read_with_its_confidence(stand_in: StandIn) -> None:
    pcm = voiced(0.6)
    heard = await OpenAIAudio(_settings(stand_in)).transcribe(pcm)
    assert heard.text == HEARD  # the server's padding is trimmed
    assert heard.confidence == pytest.approx(float(np.exp(-0.2)), abs=0.001)  # mean avg_logprob, as a share
    assert heard.engine == "openai:whisper-small/kokoro"
    [request] = stand_in.seen
    assert (request.method, request.path) == ("POST", "/v1/audio/transcriptions")
    assert request.headers["authorization"] == "Bearer sk-test-key"
    assert request.fields == {"model": "whisper-small", "response_format": "verbose_json"}
    assert request.file is not None
    name, kind, wav = request.file
    assert (name, kind) == ("speech.wav", "audio/wav")
    assert read_wav(wav) == (pcm, RATE)  # the caller's 16 kHz turn, unchanged


async def test_a_line_is_asked_for_as_a_wav_in_the_configured_voice(stand_in: StandIn) -> None:
    stand_in.reply_wav = _tone(1.25)
    audio = await OpenAIAudio(_settings(stand_in)).synthesize("Let me transfer you to our sales team.")
    assert audio.wav == stand_in.reply_wav
    assert audio.seconds == pytest.approx(1.25, abs=0.001)
    [request] = stand_in.seen
    assert request.path == "/v1/audio/speech"
    assert request.fields == {
        "input": "Let me transfer you to our sales team.",
        "model": "kokoro",
        "voice": "af_heart",
        "response_format": "wav",
    }


async def test_a_failing_server_is_a_clear_error_after_one_retry(stand_in: StandIn) -> None:
    engine = OpenAIAudio(_settings(stand_in))
    stand_in.fail = {"/v1/audio/transcriptions": 503, "/v1/audio/speech": 500}
    with pytest.raises(
        SpeechUnavailable, match=r"answered 503 on /audio/transcriptions: .*model is loading"
    ) as e:
        await engine.transcribe(voiced(0.3))
    assert stand_in.url in str(e.value)
    with pytest.raises(SpeechUnavailable, match=r"answered 500 on /audio/speech"):
        await engine.synthesize("hello")
    assert [r.path for r in stand_in.seen] == ["/v1/audio/transcriptions"] * 2 + ["/v1/audio/speech"] * 2

    stand_in.fail = {"/v1/audio/speech": 200}  # "200" with a JSON error body: not a WAV
    with pytest.raises(SpeechUnavailable, match="sent no WAV from /audio/speech"):
        await engine.synthesize("hello")


async def test_a_server_that_does_not_answer_in_time_is_a_clear_error(stand_in: StandIn) -> None:
    stand_in.delay_s = 1.0
    engine = OpenAIAudio(_settings(stand_in, remote_timeout_s=0.2))
    with pytest.raises(SpeechUnavailable, match=r"did not answer on /audio/transcriptions: APITimeoutError"):
        await engine.transcribe(voiced(0.3))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    nobody = OpenAIAudio(VoiceSettings(openai_base_url=closed))
    with pytest.raises(SpeechUnavailable, match=r"did not answer on /audio/speech: APIConnectionError"):
        await nobody.synthesize("hello")


async def test_a_failed_turn_is_heard_by_the_offline_recogniser_instead(stand_in: StandIn) -> None:
    speech = Speech.from_settings(_settings(stand_in))
    assert stand_in.seen == []  # building the engines asks nothing of anyone
    assert speech.stt.name == "openai:whisper-small/kokoro"
    assert (await speech.stt.transcribe(voiced(0.5))).engine == "openai:whisper-small/kokoro"
    stand_in.fail = {"/v1/audio/transcriptions": 502}
    fallback = await speech.stt.transcribe(silence(0.2) + voiced(0.8) + silence(0.3))
    assert fallback.engine == "pocketsphinx"  # the turn is still heard, and the agent sees by what
    assert fallback.confidence is not None


async def test_a_caller_on_the_remote_engines_keeps_talking_when_the_server_fails(
    stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_espeak()  # the offline voice that speaks once the server fails
    monkeypatch.setenv("BATON_VOICE_OPENAI_BASE_URL", stand_in.url)
    monkeypatch.setenv("BATON_VOICE_STT_MODEL", "whisper-small")
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                ready = await until(ws, "voice.ready")
                assert ready["stt"] == "openai:whisper-small/tts-1"
                await stream(ws, silence(0.3) + voiced(1.0) + silence(1.0))
                heard = await until(ws, "voice.transcript")
                assert (heard["text"], heard["engine"]) == (HEARD, "openai:whisper-small/tts-1")
                assert (await until(ws, "customer_message"))["text"] == HEARD  # a normal turn
                reply = await until(ws, "voice.audio", **{"for": "bot_message"})
                assert read_wav(base64.b64decode(reply["audio"]))[1] == 24_000  # the server's voice

                stand_in.fail = {"/v1/audio/transcriptions": 503, "/v1/audio/speech": 503}
                await ws.send(json.dumps({"type": "voice.playback_done"}))
                await stream(ws, await spoken_pcm("I want to buy a house"))
                second = await until(ws, "voice.transcript")
                assert second["engine"] == "pocketsphinx"  # heard all the same: the turn is not lost
                assert "house" in second["text"]
                assert (await until(ws, "customer_message"))["text"] == second["text"]
                spoken = await until(ws, "voice.audio", **{"for": "bot_message"})
                assert read_wav(base64.b64decode(spoken["audio"]))[1] == 22_050  # eSpeak NG's
    paths = {r.path for r in stand_in.seen}
    assert paths == {"/v1/audio/transcriptions", "/v1/audio/speech"}
