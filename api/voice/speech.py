"""Speech in and speech out behind one interface, offline by default.

Offline: PocketSphinx (the wheel ships its en-US acoustic model, language model and dictionary) and
eSpeak NG (Debian's ``espeak-ng``). With ``OPENAI_BASE_URL`` set: the OpenAI-compatible
``/audio/transcriptions`` and ``/audio/speech`` endpoints (a local whisper server works the same way); when the server fails (an error status after
one retry, no answer within ``remote_timeout_s``), the offline engine takes that turn or line instead,
so a caller is still heard. Nothing is downloaded at run time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from api.voice.audio import RATE, Audio, AudioError, read_wav, resample, seconds, write_wav
from api.voice.settings import VoiceSettings

log = logging.getLogger("baton.api.voice")
_FILLERS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]", "[UM]", "[UH]"}


class SpeechUnavailable(RuntimeError):
    """An engine cannot run here (eSpeak NG missing, no endpoint)."""


@dataclass(frozen=True)
class Transcript:
    """What the caller said, and how sure the recogniser is (None: the engine does not say)."""

    text: str
    confidence: float | None
    engine: str


class SpeechToText(Protocol):
    """Turns 16-bit mono PCM at 16 kHz into text."""

    name: str

    async def transcribe(self, pcm: bytes) -> Transcript: ...


class TextToSpeech(Protocol):
    """Turns text into a WAV file."""

    name: str

    async def synthesize(self, text: str) -> Audio: ...


class PocketSphinx:
    """Offline recogniser; one decoder (about 1.5 s to load) shared under a lock, run off the event loop."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._decoder: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        from pocketsphinx import Decoder  # the import loads the model paths: only when used

        if self._decoder is None:
            self._decoder = Decoder(samprate=RATE, loglevel="FATAL")
        return self._decoder

    def warm(self) -> None:
        """Load the model now rather than on the first turn."""
        with self._lock:
            self._load()

    def transcribe_sync(self, pcm: bytes) -> Transcript:
        """Decode one utterance; confidence is the mean posterior of the words recognised."""
        with self._lock:
            decoder = self._load()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            words = [seg.prob for seg in decoder.seg() if seg.word not in _FILLERS]
        text = hyp.hypstr if hyp is not None else ""
        # The bindings give linear posteriors (0..1) per word; an empty result is no evidence at all.
        confidence = sum(words) / len(words) if words else 0.0
        return Transcript(text=text, confidence=round(min(1.0, confidence), 3), engine=self.name)

    async def transcribe(self, pcm: bytes) -> Transcript:
        return await asyncio.to_thread(self.transcribe_sync, pcm)


class ESpeakNG:
    """Offline synthesiser: the ``espeak-ng`` program, text on stdin (never a command-line argument)."""

    name = "espeak-ng"

    def __init__(self, voice: str = "en-us+f2", speed: int = 150) -> None:
        self.voice = voice
        self.speed = speed

    def command(self) -> list[str]:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise SpeechUnavailable(
                "espeak-ng is not installed (make install-voice, or apt-get install espeak-ng)"
            )
        return [exe, "--stdout", "-v", self.voice, "-s", str(self.speed)]

    async def synthesize(self, text: str) -> Audio:
        proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(text.encode())
        if proc.returncode != 0:
            raise SpeechUnavailable(f"espeak-ng failed: {err.decode(errors='replace')[:200]}")
        return _as_audio(out)

    async def speak_pcm(self, text: str) -> bytes:
        """16 kHz PCM of ``text`` (what a caller's microphone would send): for evals and tests."""
        pcm, rate = read_wav((await self.synthesize(text)).wav)
        return resample(pcm, rate)


class OpenAIAudio:
    """The OpenAI-compatible audio endpoints, through the ``openai`` client (both directions)."""

    def __init__(self, settings: VoiceSettings) -> None:
        from openai import AsyncOpenAI

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused"
        # a caller is waiting: one retry, and a bounded wait (the client's default is ten minutes)
        self.client = AsyncOpenAI(
            base_url=settings.openai_base_url, api_key=key, timeout=settings.remote_timeout_s, max_retries=1
        )
        self.settings = settings
        self.name = f"openai:{settings.stt_model}/{settings.tts_model}"

    def _failed(self, exc: Exception, path: str) -> SpeechUnavailable:
        import openai

        where = f"the speech server at {self.client.base_url}"
        if isinstance(exc, openai.APIStatusError):
            said = str(exc.message)[:200]
            return SpeechUnavailable(f"{where} answered {exc.status_code} on {path}: {said}")
        return SpeechUnavailable(f"{where} did not answer on {path}: {type(exc).__name__}: {exc}")

    async def transcribe(self, pcm: bytes) -> Transcript:
        import openai

        try:
            result = await self.client.audio.transcriptions.create(
                file=("speech.wav", write_wav(pcm), "audio/wav"),
                model=self.settings.stt_model,
                response_format="verbose_json",
            )
        except openai.APIError as exc:
            raise self._failed(exc, "/audio/transcriptions") from exc
        text = getattr(result, "text", result if isinstance(result, str) else "")
        logprobs = [
            s.avg_logprob for s in getattr(result, "segments", None) or [] if s.avg_logprob is not None
        ]
        confidence = round(math.exp(sum(logprobs) / len(logprobs)), 3) if logprobs else None
        return Transcript(text=str(text).strip(), confidence=confidence, engine=self.name)

    async def synthesize(self, text: str) -> Audio:
        import openai

        try:
            response = await self.client.audio.speech.create(
                input=text,
                model=self.settings.tts_model,
                voice=self.settings.tts_voice,
                response_format="wav",
            )
            return _as_audio(response.content)
        except openai.APIError as exc:
            raise self._failed(exc, "/audio/speech") from exc
        except AudioError as exc:
            msg = f"the speech server at {self.client.base_url} sent no WAV from /audio/speech: {exc}"
            raise SpeechUnavailable(msg) from exc


class HearWithFallback:
    """The remote recogniser; the offline one for a turn the remote one cannot hear."""

    def __init__(self, first: SpeechToText, then: SpeechToText) -> None:
        self.first, self.then, self.name = first, then, first.name

    async def transcribe(self, pcm: bytes) -> Transcript:
        try:
            return await self.first.transcribe(pcm)
        except SpeechUnavailable as exc:
            log.warning("voice: %s; %s hears this turn", exc, self.then.name)
            return await self.then.transcribe(pcm)


class SpeakWithFallback:
    """The remote synthesiser; the offline one for a line the remote one cannot say."""

    def __init__(self, first: TextToSpeech, then: TextToSpeech) -> None:
        self.first, self.then, self.name = first, then, first.name

    async def synthesize(self, text: str) -> Audio:
        try:
            return await self.first.synthesize(text)
        except SpeechUnavailable as exc:
            log.warning("voice: %s; %s says this line", exc, self.then.name)
            return await self.then.synthesize(text)


def _as_audio(wav: bytes) -> Audio:
    pcm, rate = read_wav(wav)
    return Audio(wav=wav, seconds=round(seconds(pcm, rate), 3))


@dataclass
class Speech:
    """The pair of engines the voice channel uses."""

    stt: SpeechToText
    tts: TextToSpeech

    @classmethod
    def from_settings(cls, settings: VoiceSettings) -> Speech:
        """Remote endpoints when asked for (or ``auto`` with a base URL), else the offline engines.

        The remote pair falls back to the offline one, turn by turn, when the server fails.
        """
        offline = cls(stt=PocketSphinx(), tts=ESpeakNG(settings.espeak_voice, settings.espeak_speed))
        remote = settings.engine == "openai" or (settings.engine == "auto" and settings.openai_base_url)
        if not remote:
            return offline
        if not settings.openai_base_url and settings.openai_api_key is None:
            raise SpeechUnavailable("BATON_VOICE_ENGINE=openai needs OPENAI_BASE_URL or OPENAI_API_KEY")
        both = OpenAIAudio(settings)
        return cls(stt=HearWithFallback(both, offline.stt), tts=SpeakWithFallback(both, offline.tts))
