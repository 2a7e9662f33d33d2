"""What a browser's MediaRecorder sends, made here from PCM: Opus in a live WebM (or Ogg) stream.

The voice channel only decodes (``api/voice/decode.py``); this is the other end, for the voice eval's
latency over the widget's format and for the tests, which have no browser to record with.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import av
import numpy as np

from api.voice.audio import RATE, SAMPLE_BYTES


class OpusStream:
    """16 kHz PCM in, the next bytes of a WebM (or Ogg) Opus stream out, as MediaRecorder sends them.

    The muxer writes a cluster (an Ogg page) every 100 ms and flushes each packet, so bytes come out
    while the caller speaks, cut wherever the encoder is, not at any boundary the server could rely on.
    """

    def __init__(self, container: str = "webm") -> None:
        self._out = io.BytesIO()
        self._sent = 0
        options = {"flush_packets": "1"}
        options |= (
            {"live": "1", "cluster_time_limit": "100"} if container == "webm" else {"page_duration": "100000"}
        )
        self._box = av.open(self._out, "w", format=container, options=options)
        self._stream = self._box.add_stream("libopus", rate=48000)
        self._stream.layout = "mono"
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        self._pts = 0

    def _new_bytes(self) -> bytes:
        with self._out.getbuffer() as written:  # no copy of what was sent before
            data = bytes(written[self._sent :])
        self._sent += len(data)
        return data

    def _mux(self, frames: Iterable[av.AudioFrame | None]) -> None:
        for frame in frames:
            for packet in self._stream.encode(frame):
                self._box.mux(packet)

    def encode(self, pcm: bytes) -> bytes:
        """The stream's bytes for ``pcm`` (possibly none yet: the encoder works in 20 ms packets)."""
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = RATE, self._pts
        self._pts += frame.samples
        self._mux(self._resampler.resample(frame))
        return self._new_bytes()

    def chunks(self, pcm: bytes, chunk_s: float = 0.1) -> Iterator[bytes]:
        """The bytes of every ``chunk_s`` of ``pcm`` that has any (MediaRecorder's timeslice)."""
        step = int(RATE * chunk_s) * SAMPLE_BYTES
        for i in range(0, len(pcm), step):
            data = self.encode(pcm[i : i + step])
            if data:
                yield data

    def close(self) -> bytes:
        """The stream's last bytes (what the encoder still held)."""
        self._mux([*self._resampler.resample(None), None])
        self._box.close()
        return self._new_bytes()
