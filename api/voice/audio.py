"""PCM and WAV helpers: everything inside Baton is 16-bit mono PCM at the recogniser's rate."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from math import gcd

import numpy as np

RATE = 16_000  # what PocketSphinx's en-US model and webrtcvad expect
SAMPLE_BYTES = 2


class AudioError(ValueError):
    """Audio that cannot be read (not a WAV, not 16-bit PCM)."""


@dataclass(frozen=True)
class Audio:
    """Synthesised speech: a WAV file and how long it plays."""

    wav: bytes
    seconds: float
    mime: str = "audio/wav"


def seconds(pcm: bytes, rate: int = RATE) -> float:
    """Duration of 16-bit mono PCM."""
    return len(pcm) / (SAMPLE_BYTES * rate)


def resample(pcm: bytes, src: int, dst: int = RATE) -> bytes:
    """16-bit mono PCM from ``src`` Hz to ``dst`` Hz (polyphase filter: no aliasing from eSpeak's 22 kHz)."""
    if src == dst or not pcm:
        return pcm
    from scipy.signal import resample_poly  # ~30 MB a worker without callers never needs

    g = gcd(src, dst)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    out = resample_poly(samples, dst // g, src // g)
    return bytes(np.clip(out, -32768, 32767).astype("<i2").tobytes())


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(16-bit mono PCM, sample rate) of a WAV file; stereo is mixed down.

    Raises:
        AudioError: Not a WAV file, or not 16-bit PCM.
    """
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != SAMPLE_BYTES or w.getcomptype() != "NONE":
                raise AudioError("audio must be 16-bit PCM WAV")
            channels, rate = w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a WAV file: {exc}") from None
    if channels > 1:
        mixed = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
        frames = mixed.astype("<i2").tobytes()
    return frames, rate


def write_wav(pcm: bytes, rate: int = RATE) -> bytes:
    """A mono 16-bit WAV file around PCM."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_BYTES)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def silence(secs: float, rate: int = RATE) -> bytes:
    """Digital silence."""
    return b"\x00\x00" * int(secs * rate)
