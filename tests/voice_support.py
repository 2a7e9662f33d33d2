"""Real speech for the voice tests: eSpeak NG says it, the caller's socket streams it like a microphone."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

from websockets.asyncio.client import ClientConnection

from api.voice.audio import silence
from api.voice.speech import ESpeakNG
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
