"""A browser's compressed microphone audio (MediaRecorder's WebM or Ogg Opus) to 16 kHz mono PCM, as it comes.

MediaRecorder sends one container in chunks (a header, then clusters of Opus packets every timeslice).
Voice activity detection must hear the audio as it is spoken, so the stream is decoded while it grows:
FFmpeg (the libraries PyAV bundles) reads from a pipe that the socket fills, in a thread of its own per
call, and every decoded block, resampled to the recogniser's rate, goes back to the caller's queue in
the order it was said.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from api.voice.audio import RATE, seconds

# MediaRecorder's Opus containers: Chromium records WebM, Firefox Ogg. Safari's MP4 needs seeking.
CONTAINERS = {"audio/webm": "webm", "audio/ogg": "ogg"}
_MAGIC = {"webm": b"\x1a\x45\xdf\xa3", "ogg": b"OggS"}  # how each stream starts (EBML, an Ogg page)
PCM = "pcm_s16le"  # the raw alternative: 16-bit mono PCM at 16 kHz, no container


class UnsupportedAudio(ValueError):
    """A format the voice socket cannot decode."""


@dataclass(frozen=True)
class Mark:
    """A point in the caller's audio (their ``voice.end``): everything sent before it has been decoded."""


@dataclass(frozen=True)
class Failed:
    """The stream could not be decoded (not the format announced, or corrupt)."""

    message: str


Decoded = bytes | Mark | Failed


def container_of(mime: str) -> str:
    """FFmpeg's demuxer for a MediaRecorder MIME type ('audio/webm;codecs=opus' -> 'webm').

    Raises:
        UnsupportedAudio: Neither WebM nor Ogg, or a codec other than Opus named.
    """
    base, _, params = mime.strip().lower().partition(";")
    container = CONTAINERS.get(base.strip())
    codecs = params.strip().removeprefix("codecs=").strip('"') if params.strip() else "opus"
    if container is None or codecs != "opus":
        accepted = ", ".join(f"{m};codecs=opus" for m in CONTAINERS)
        msg = f"cannot decode {mime[:80]!r}: send {PCM} frames or one of {accepted}"
        raise UnsupportedAudio(msg)
    return container


class _Pipe:
    """The file FFmpeg reads: blocks until the socket brings more; empty bytes mean the call is over."""

    def __init__(
        self, chunks: queue.SimpleQueue[bytes | Mark | None], emit: Callable[[Decoded], None]
    ) -> None:
        self._chunks = chunks
        self._emit = emit
        self._rest = b""
        self.closed = False

    def read(self, size: int) -> bytes:
        while not self._rest and not self.closed:
            item = self._chunks.get()
            if item is None:
                self.closed = True
            elif isinstance(item, Mark):
                # FFmpeg asks for more only once it has handed over every packet it could parse, and
                # each packet is decoded and emitted before the next read: the mark is in place here.
                self._emit(item)
            else:
                self._rest = item
        out, self._rest = self._rest[:size], self._rest[size:]
        return out


class StreamDecoder:
    """Feed container chunks as they arrive; 16 kHz mono PCM (and marks, and a failure) go to ``emit``.

    ``emit`` is called from the decoder's thread, so it must be thread-safe (the voice route passes
    ``loop.call_soon_threadsafe`` around an asyncio queue). Decoding stops after ``max_s`` seconds of
    audio: the caller's limit is reached by then, and a tiny chunk of Opus must not fill memory.
    """

    def __init__(self, mime: str, emit: Callable[[Decoded], None], *, max_s: float) -> None:
        self.container = container_of(mime)
        self.mime = mime
        self._emit = emit
        self._max_s = max_s
        self._chunks: queue.SimpleQueue[bytes | Mark | None] = queue.SimpleQueue()
        self._started = False
        self._pipe = _Pipe(self._chunks, emit)
        self._thread = threading.Thread(target=self._run, name="voice-decode", daemon=True)
        self._thread.start()

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the container, as the client sent them.

        Raises:
            UnsupportedAudio: The first chunk does not start the container announced (FFmpeg would
                skip bytes looking for one, and the caller would never be heard).
        """
        if not self._started:
            magic = _MAGIC[self.container]
            if not chunk.startswith(magic[: len(chunk)]) or not chunk:
                msg = f"the audio does not start like a {self.mime[:80]!r} stream"
                raise UnsupportedAudio(msg)
            self._started = True
        self._chunks.put(chunk)

    def mark(self) -> None:
        """Emit a ``Mark`` once everything fed so far has been decoded."""
        self._chunks.put(Mark())

    def close(self) -> None:
        """The call is over: the thread decodes what it has and ends."""
        self._chunks.put(None)

    def _run(self) -> None:
        import av  # FFmpeg's libraries: loaded by the first call that sends compressed audio

        decoded_s = 0.0
        try:
            with av.open(self._pipe, mode="r", format=self.container) as box:
                if not box.streams.audio:
                    self._emit(Failed(f"the {self.container} stream holds no audio"))
                    return
                resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
                for packet in box.demux(box.streams.audio[0]):
                    frames: list[av.AudioFrame | None] = list(packet.decode())
                    if packet.size == 0:  # the end of the stream: flush the resampler too
                        frames.append(None)
                    for frame in frames:
                        for out in resampler.resample(frame):
                            pcm = out.to_ndarray().tobytes()
                            decoded_s += seconds(pcm)
                            self._emit(pcm)
                    if decoded_s > self._max_s:
                        return
        except (av.FFmpegError, ValueError) as exc:
            if not self._pipe.closed:
                self._emit(Failed(f"cannot decode the {self.container} audio: {exc}"))
