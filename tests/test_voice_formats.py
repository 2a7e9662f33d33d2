"""MediaRecorder's compressed audio on the voice door: WebM/Ogg Opus decoded as it arrives, refused when it is not.

The decoder is fed what a browser sends (``OpusStream``: PyAV's libopus muxed live, cut wherever the
encoder is); the socket test speaks eSpeak NG through it to the real recogniser and barges in.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.voice.audio import seconds, silence
from api.voice.decode import Decoded, Failed, Mark, StreamDecoder, UnsupportedAudio, container_of
from api.voice.opus import OpusStream
from api.voice.vad import Endpointer, SpeechStarted, Utterance
from tests.test_api_support import Api, api_settings, serve_in_thread
from tests.voice_support import need_espeak, spoken_pcm, stream_opus, until, voiced

WEBM = "audio/webm;codecs=opus"


class Collected:
    """What a decoder emitted, and a way to wait (in this thread) until something arrives."""

    def __init__(self) -> None:
        self.items: list[Decoded] = []
        self.changed = threading.Condition()

    def __call__(self, item: Decoded) -> None:
        with self.changed:
            self.items.append(item)
            self.changed.notify_all()

    def pcm(self) -> bytes:
        return b"".join(i for i in self.items if isinstance(i, bytes))

    def wait_for(self, kind: type, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: any(isinstance(i, kind) for i in self.items), timeout), (
                f"no {kind.__name__} from the decoder: {self.items[-3:]}"
            )


def _caller() -> bytes:
    return silence(0.5) + voiced(1.5) + silence(1.2)


@pytest.mark.parametrize("container", ["webm", "ogg"])
def test_the_stream_is_decoded_as_it_arrives_and_the_turn_is_found(container: str) -> None:
    said = _caller()
    opus, out = OpusStream(container), Collected()
    decoder = StreamDecoder(f"audio/{container};codecs=opus", out, max_s=60)
    for i in range(0, len(said), 3200):  # 100 ms of audio per chunk, as MediaRecorder(timeslice=100)
        chunk = opus.encode(said[i : i + 3200])
        if chunk:
            decoder.feed(chunk)
    decoder.mark()  # the stream is still open: only what was sent so far
    out.wait_for(Mark)
    before_close = out.pcm()
    # all but what the encoder and muxer still hold (their last packet or page) was decoded by now
    assert seconds(said) - 0.3 < seconds(before_close) <= seconds(said)
    assert out.items.index(Mark()) == len(out.items) - 1
    events = Endpointer(end_silence_ms=600).feed(before_close)
    assert [type(e) for e in events] == [SpeechStarted, Utterance]
    turn = events[1]
    assert isinstance(turn, Utterance)
    assert 1.2 < seconds(turn.pcm) < 2.4  # the 1.5 s of speech, not the pauses around it
    loud = np.frombuffer(turn.pcm, dtype="<i2").astype(np.float64)
    assert np.sqrt(np.mean(loud**2)) > 1000  # a voice, not Opus's comfort noise

    decoder.feed(opus.close())
    decoder.close()
    decoder._thread.join(10)
    assert not decoder._thread.is_alive()
    assert seconds(out.pcm()) == pytest.approx(seconds(said), abs=0.05)
    assert not any(isinstance(i, Failed) for i in out.items)


def test_decoding_stops_at_the_call_limit() -> None:
    opus, out = OpusStream(), Collected()
    decoder = StreamDecoder(WEBM, out, max_s=1.0)
    decoder.feed(opus.encode(voiced(3.0)) + opus.close())
    decoder._thread.join(10)
    assert not decoder._thread.is_alive()  # it stopped by itself, the stream never closed
    assert 1.0 < seconds(out.pcm()) < 1.5


@pytest.mark.parametrize(
    ("mime", "container"),
    [
        ("audio/webm;codecs=opus", "webm"),
        ("audio/webm", "webm"),
        ('audio/ogg; codecs="opus"', "ogg"),
        ("Audio/WebM;Codecs=Opus", "webm"),
    ],
)
def test_mediarecorder_types_name_their_container(mime: str, container: str) -> None:
    assert container_of(mime) == container


@pytest.mark.parametrize("mime", ["audio/mp4", "audio/webm;codecs=pcm", "video/webm", ""])
def test_other_types_are_refused_with_what_is_accepted(mime: str) -> None:
    with pytest.raises(UnsupportedAudio, match=r"send pcm_s16le frames or one of audio/webm;codecs=opus"):
        container_of(mime)


def test_a_stream_that_does_not_start_like_its_container_is_refused() -> None:
    decoder = StreamDecoder(WEBM, Collected(), max_s=10)
    try:
        with pytest.raises(UnsupportedAudio, match="does not start like"):
            decoder.feed(b"OggS\x00\x02" + bytes(200))  # an Ogg page announced as WebM
        decoder.feed(OpusStream("webm").encode(voiced(0.3)))  # the right start is still taken
    finally:
        decoder.close()


async def test_formats_are_announced_and_refused_with_a_reason(tmp_path: Path) -> None:
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                ready = await until(ws, "voice.ready")
                assert ready["formats"] == ["pcm_s16le", WEBM, "audio/ogg;codecs=opus"]
                await ws.send(json.dumps({"type": "voice.format", "mime": "audio/mp4"}))
                refused = await until(ws, "error")
                assert refused["code"] == "unsupported_audio"
                assert "audio/mp4" in refused["message"]
                with pytest.raises(ConnectionClosed) as closed:
                    await until(ws, "never")
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4415

            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await ws.send(silence(0.03))  # raw PCM first: the format is settled
                await ws.send(json.dumps({"type": "voice.format", "mime": WEBM}))
                late = await until(ws, "error")
                assert (late["code"], late["message"]) == (
                    "validation_error",
                    "voice.format comes once, before the first audio frame",
                )
                await ws.send(json.dumps({"type": "voice.end"}))  # the call goes on
                await ws.send(json.dumps({"type": "nonsense"}))
                assert (await until(ws, "error"))["code"] == "validation_error"

            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await ws.send(json.dumps({"type": "voice.format", "mime": WEBM}))
                assert (await until(ws, "voice.format"))["mime"] == WEBM
                await ws.send(b"RIFF" + bytes(400))  # a WAV file, not the WebM announced
                bad = await until(ws, "error")
                assert bad["code"] == "unsupported_audio"
                with pytest.raises(ConnectionClosed) as closed:
                    await until(ws, "never")
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4415


async def test_a_mediarecorder_caller_is_heard_as_they_speak_and_can_barge_in(tmp_path: Path) -> None:
    need_espeak()
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation(name="Dana")
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await ws.send(json.dumps({"type": "voice.format", "mime": WEBM}))
                await until(ws, "voice.format")
                opus = OpusStream("webm")
                said = "I want to buy a house in Oakland"
                await stream_opus(ws, opus, await spoken_pcm(said))
                await until(ws, "voice.speech_started")
                # the pause ended the turn while the stream is still open (decoded as it came)
                heard = await until(ws, "voice.transcript")
                assert len(set(heard["text"].split()) & set(said.lower().split())) >= 4, heard
                assert (await until(ws, "customer_message"))["text"] == heard["text"]  # a normal turn
                reply = await until(ws, "voice.audio", **{"for": "bot_message"})
                assert reply["latency_ms"] > 0
                assert reply["seconds"] > 1

                # the caller talks over the reply that is playing: the client is told to stop it
                await stream_opus(ws, opus, await spoken_pcm("hello there"))
                await until(ws, "voice.barge_in")
                await until(ws, "voice.transcript")
                await ws.send(opus.close())
                await asyncio.sleep(0)


async def test_compressed_audio_counts_toward_the_call_limit_as_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_VOICE_MAX_CALL_S", "1.5")
    with serve_in_thread(create_app(api_settings(tmp_path))) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await ws.send(json.dumps({"type": "voice.format", "mime": WEBM}))
                await until(ws, "voice.format")
                # 3 s of audio in a few kilobytes: the limit is on what it decodes to, not on the bytes
                await ws.send(OpusStream("webm").encode(silence(3.0)))
                refused = await until(ws, "error")
                assert (refused["code"], refused["message"]) == (
                    "call_too_long",
                    "a call sends at most 1.5 s of audio",
                )
                with pytest.raises(ConnectionClosed) as closed:
                    await until(ws, "never")
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4413
