"""Voice activity detection: where the caller's speech starts (barge-in) and ends (their turn is over).

webrtcvad classifies 30 ms frames as speech or not; the endpointer smooths that into turns: speech
starts when most of the last 300 ms is voiced (the 300 ms are kept, so the first word is not clipped)
and ends after ``end_silence_ms`` of unvoiced frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

from api.voice.audio import RATE, SAMPLE_BYTES

FRAME_MS = 30
FRAME_BYTES = RATE * FRAME_MS // 1000 * SAMPLE_BYTES
_WINDOW = 10  # frames (300 ms) looked at to decide that speech started
_START_RATIO = 0.6


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started speaking (stop any reply that is playing)."""


@dataclass(frozen=True)
class Utterance:
    """The caller stopped speaking: their turn, as 16 kHz PCM."""

    pcm: bytes


@dataclass(frozen=True)
class TooLong:
    """The caller spoke for longer than one turn may last; what was said is dropped."""

    seconds: float


VadEvent = SpeechStarted | Utterance | TooLong


class Endpointer:
    """Feed PCM in any chunk size; get speech start, utterance and too-long events back."""

    def __init__(
        self, *, end_silence_ms: int = 700, max_utterance_s: float = 20.0, aggressiveness: int = 2
    ) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._end_frames = max(1, end_silence_ms // FRAME_MS)
        self._max_frames = int(max_utterance_s * 1000 / FRAME_MS)
        self._max_s = max_utterance_s
        self._pending = b""
        self._window: deque[tuple[bytes, bool]] = deque(maxlen=_WINDOW)
        self._speech: list[bytes] = []
        self._silent = 0
        self._dropping = False  # after a too-long turn: ignore the rest of it until silence
        self.in_speech = False

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Events for the complete frames in ``pcm`` (a partial frame waits for the next chunk)."""
        data = self._pending + pcm
        cut = len(data) - len(data) % FRAME_BYTES
        self._pending = data[cut:]
        events: list[VadEvent] = []
        for i in range(0, cut, FRAME_BYTES):
            event = self._frame(data[i : i + FRAME_BYTES])
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> Utterance | None:
        """End the turn now (the caller released the button): what was said so far, if anything."""
        speech = b"".join(self._speech) if self.in_speech and not self._dropping else b""
        self._reset()
        return Utterance(speech) if speech else None

    def _reset(self) -> None:
        self._window.clear()
        self._speech = []
        self._silent = 0
        self._dropping = False
        self.in_speech = False

    def _frame(self, frame: bytes) -> VadEvent | None:
        voiced = self._vad.is_speech(frame, RATE)
        if not self.in_speech:
            self._window.append((frame, voiced))
            if len(self._window) == _WINDOW and sum(v for _, v in self._window) >= _START_RATIO * _WINDOW:
                self.in_speech = True
                self._speech = [f for f, _ in self._window]
                self._window.clear()
                self._silent = 0
                return SpeechStarted()
            return None
        self._silent = 0 if voiced else self._silent + 1
        if not self._dropping:
            self._speech.append(frame)
        if self._silent >= self._end_frames:
            dropped = self._dropping
            # keep a little of the trailing silence: the recogniser likes a clean end
            speech = b"".join(self._speech[: len(self._speech) - self._end_frames + 3])
            self._reset()
            return None if dropped else Utterance(speech)
        if (
            not self._dropping and len(self._speech) - self._silent > self._max_frames
        ):  # a pause is not speech
            self._dropping = True
            self._speech = []
            return TooLong(seconds=self._max_s)
        return None
