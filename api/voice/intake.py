"""The caller's microphone as 16 kHz PCM, in the order it was said, within the call's limits.

Raw PCM frames (the default) go straight through; after ``voice.format`` names MediaRecorder's WebM or
Ogg Opus, the chunks are decoded as they arrive (``api/voice/decode.py``). A push-to-talk ``voice.end``
is a ``Mark`` in the same order, so the turn ends after the audio sent before it, decoded or not.
"""

from __future__ import annotations

import asyncio
import contextlib

from api.voice.audio import RATE, seconds
from api.voice.decode import CONTAINERS, PCM, Decoded, Failed, Mark, StreamDecoder, UnsupportedAudio
from api.voice.settings import VoiceSettings

FORMATS = [PCM, *(f"{mime};codecs=opus" for mime in CONTAINERS)]
CLOSE_TOO_LARGE = 4413
CLOSE_BAD_AUDIO = 4415


class Refused(Exception):
    """Audio the call cannot take: an ``error`` event with ``code`` and ``message``, then close ``close``."""

    def __init__(self, code: str, message: str, close: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close  # None: the call goes on


class Intake:
    """What the socket received, as PCM for voice activity detection (``next``), in order."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self._queue: asyncio.Queue[Decoded] = asyncio.Queue()
        self._decoder: StreamDecoder | None = None
        self._started = False
        self.heard_s = 0.0

    def choose(self, mime: str) -> dict[str, object]:
        """The client's format, before its first frame; the ``voice.format`` answer.

        Raises:
            Refused: Too late (the call goes on in the format it has), or a format that cannot be decoded.
        """
        if self._started or self._decoder is not None:
            raise Refused("validation_error", "voice.format comes once, before the first audio frame")
        if mime != PCM:
            loop = asyncio.get_running_loop()

            def emit(item: Decoded) -> None:  # from the decoder's thread
                with contextlib.suppress(RuntimeError):  # the loop closed: the call is over anyway
                    loop.call_soon_threadsafe(self._queue.put_nowait, item)

            try:
                self._decoder = StreamDecoder(mime, emit, max_s=self.settings.max_call_s + 1)
            except UnsupportedAudio as exc:
                raise Refused("unsupported_audio", str(exc), CLOSE_BAD_AUDIO) from None
        return {"type": "voice.format", "mime": mime, "sample_rate": RATE}

    def frame(self, data: bytes) -> None:
        """One binary frame from the client.

        Raises:
            Refused: Over ``max_frame_bytes``, or not the stream announced.
        """
        limit = self.settings.max_frame_bytes
        if len(data) > limit:
            raise Refused("frame_too_large", f"audio frames are at most {limit} bytes", CLOSE_TOO_LARGE)
        self._started = True
        if self._decoder is None:
            self._queue.put_nowait(data)
            return
        try:
            self._decoder.feed(data)
        except UnsupportedAudio as exc:
            raise Refused("unsupported_audio", str(exc), CLOSE_BAD_AUDIO) from None

    def end(self) -> None:
        """The client ended the turn (push to talk): a ``Mark`` after what it sent so far."""
        if self._decoder is None:
            self._queue.put_nowait(Mark())
        else:
            self._decoder.mark()

    async def next(self) -> bytes | Mark:
        """The next PCM block or mark.

        Raises:
            Refused: The stream cannot be decoded, or the call went over ``max_call_s`` of audio.
        """
        item = await self._queue.get()
        if isinstance(item, Failed):
            raise Refused("bad_audio", item.message, CLOSE_BAD_AUDIO)
        if isinstance(item, bytes):
            self.heard_s += seconds(item)
            limit = self.settings.max_call_s
            if self.heard_s > limit:
                raise Refused("call_too_long", f"a call sends at most {limit:g} s of audio", CLOSE_TOO_LARGE)
        return item

    def close(self) -> None:
        """The call is over (ends the decoder's thread)."""
        if self._decoder is not None:
            self._decoder.close()
