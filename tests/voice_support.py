"""Speech for the voice tests: eSpeak NG says it, the caller's socket streams it like a microphone.

Also what a browser's MediaRecorder would send (``stream_opus``), a voiced signal that webrtcvad takes
for speech without eSpeak NG, and the scripted engines for tests that stub the transcript stage.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterable
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection

from api.voice.audio import RATE, Audio, silence, write_wav
from api.voice.opus import OpusStream
from api.voice.speech import ESpeakNG, Transcript
from tests.conftest import service_missing

FRAME = 960  # 30 ms of 16 kHz PCM, what a browser's audio callback sends at a time


def need_espeak() -> ESpeakNG:
    """eSpeak NG (installed by ``make voice``); in CI its absence is a failure, elsewhere a skip."""
    if shutil.which("espeak-ng") is None:
        service_missing("espeak-ng", "not on PATH (make voice installs Debian's espeak-ng)")
    return ESpeakNG()


async def spoken_pcm(text: str, before: float = 0.3, after: float = 1.0) -> bytes:
    """``text`` as a caller says it: a little silence, the words, then the pause that ends a turn."""
    return silence(before) + await ESpeakNG().speak_pcm(text) + silence(after)


async def stream(ws: ClientConnection, pcm: bytes) -> None:
    """Send PCM in 30 ms frames, as fast as the socket takes them."""
    for i in range(0, len(pcm), FRAME):
        await ws.send(pcm[i : i + FRAME])
        await asyncio.sleep(0)


async def until(ws: ClientConnection, type_: str, timeout: float = 60, **match: Any) -> dict[str, Any]:
    """The next message of ``type_`` whose fields equal ``match`` (pings answered, others skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - loop.time()))
        event = json.loads(raw)
        if event["type"] == "ping":
            await ws.send('{"type": "pong"}')
        if event["type"] == type_ and all(event.get(k) == v for k, v in match.items()):
            return dict(event)


def voiced(secs: float, pitch: float = 140.0) -> bytes:
    """A buzz with a voice's harmonics, pitch wobble and syllable rhythm: speech to webrtcvad."""
    t = np.arange(int(RATE * secs)) / RATE
    phase = 2 * np.pi * np.cumsum(pitch + 20 * np.sin(2 * np.pi * 3 * t)) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return bytes((wave / np.abs(wave).max() * 9000).astype("<i2").tobytes())


async def stream_opus(ws: ClientConnection, opus: OpusStream, pcm: bytes) -> None:
    """Send ``pcm`` as MediaRecorder would: the encoded bytes of every 100 ms, as fast as the socket takes them."""
    for chunk in opus.chunks(pcm):
        await ws.send(chunk)
        await asyncio.sleep(0)


class ScriptedSTT:
    """Hears the next line of its script on each turn; raises when the script runs out."""

    name = "scripted"

    def __init__(self, lines: Iterable[str], confidence: float = 0.9) -> None:
        self.lines = list(lines)
        self.confidence = confidence
        self.heard: list[bytes] = []

    async def transcribe(self, pcm: bytes) -> Transcript:
        if not self.lines:
            msg = f"the scripted recogniser ran out of lines at turn {len(self.heard) + 1}"
            raise AssertionError(msg)
        self.heard.append(pcm)
        return Transcript(self.lines.pop(0), self.confidence, self.name)


class QuietTTS:
    """Speaks every line as 0.2 s of silence and remembers the texts."""

    name = "quiet"

    def __init__(self) -> None:
        self.said: list[str] = []

    async def synthesize(self, text: str) -> Audio:
        self.said.append(text)
        return Audio(wav=write_wav(silence(0.2)), seconds=0.2)
