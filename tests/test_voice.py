"""The voice channel's parts on real engines: eSpeak NG speaks, webrtcvad finds the turn, PocketSphinx hears."""

from __future__ import annotations

import json

import numpy as np
import pytest

from api.voice.audio import RATE, read_wav, resample, seconds, silence, write_wav
from api.voice.choices import options_prompt, read_choice
from api.voice.notes import Heard, channel_note
from api.voice.settings import VoiceSettings
from api.voice.speech import (
    ESpeakNG,
    HearWithFallback,
    OpenAIAudio,
    PocketSphinx,
    SpeakWithFallback,
    Speech,
    Transcript,
)
from api.voice.spoken import spoken, wait_line
from api.voice.vad import Endpointer, SpeechStarted, TooLong, Utterance
from tests.voice_support import need_espeak, spoken_pcm


def _feed(endpointer: Endpointer, pcm: bytes, chunk: int = 1000) -> list[object]:
    events: list[object] = []
    for i in range(0, len(pcm), chunk):  # chunks that do not line up with VAD frames
        events += endpointer.feed(pcm[i : i + chunk])
    return events


@pytest.fixture(scope="module")
def recogniser() -> PocketSphinx:
    engine = PocketSphinx()
    engine.warm()
    return engine


async def test_espeak_speaks_a_wav_that_plays_as_long_as_it_says() -> None:
    tts = need_espeak()
    short = await tts.synthesize("yes")
    long = await tts.synthesize("I would like to sell my house on Oak Street before the summer")
    assert short.wav[:4] == b"RIFF"
    assert 0.2 < short.seconds < long.seconds
    pcm, rate = read_wav(long.wav)
    assert seconds(pcm, rate) == pytest.approx(long.seconds, abs=0.01)
    at16 = resample(pcm, rate)
    assert seconds(at16) == pytest.approx(long.seconds, abs=0.01)


def test_a_stereo_wav_is_mixed_down_and_a_non_wav_is_refused() -> None:
    left = np.full(1600, 1000, dtype="<i2")
    stereo = np.stack([left, -left], axis=1).reshape(-1).tobytes()
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo)
    pcm, rate = read_wav(buf.getvalue())
    assert rate == RATE
    assert set(np.frombuffer(pcm, dtype="<i2").tolist()) == {0}
    with pytest.raises(ValueError, match="not a WAV"):
        read_wav(b"OggS not a wav at all")
    assert read_wav(write_wav(b"\x01\x00" * 10))[0] == b"\x01\x00" * 10


async def test_the_endpointer_finds_one_turn_between_silences() -> None:
    need_espeak()
    speech = await ESpeakNG().speak_pcm("I would like to book a viewing for Saturday")
    events = _feed(Endpointer(end_silence_ms=600), silence(0.6) + speech + silence(1.2))
    assert [type(e) for e in events] == [SpeechStarted, Utterance]
    turn = events[1]
    assert isinstance(turn, Utterance)
    # the turn holds the words (give or take the 300 ms start window and a short tail), not the pauses
    assert seconds(speech) - 0.4 < seconds(turn.pcm) < seconds(speech) + 0.5


def test_silence_and_hum_are_not_speech() -> None:
    hum = (np.sin(np.arange(RATE * 2) * 2 * np.pi * 50 / RATE) * 300).astype("<i2").tobytes()
    assert _feed(Endpointer(), silence(2.0) + hum + silence(1.0)) == []


async def test_a_turn_longer_than_the_limit_is_dropped_and_the_next_one_heard() -> None:
    need_espeak()
    long = await ESpeakNG().speak_pcm("one two three four five six seven eight nine ten eleven twelve")
    short = await ESpeakNG().speak_pcm("hello there")
    endpointer = Endpointer(max_utterance_s=1.5, end_silence_ms=600)
    events = _feed(endpointer, long + silence(1.0) + short + silence(1.0))
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, TooLong, SpeechStarted, Utterance]
    assert isinstance(events[1], TooLong)
    assert events[1].seconds == 1.5


async def test_flush_ends_the_turn_when_the_caller_lets_go_of_the_button() -> None:
    need_espeak()
    endpointer = Endpointer()
    events = _feed(endpointer, silence(0.3) + await ESpeakNG().speak_pcm("hello there"))
    assert events == [SpeechStarted()]
    turn = endpointer.flush()
    assert turn is not None
    assert seconds(turn.pcm) > 0.5
    assert endpointer.flush() is None  # nothing said since


async def test_pocketsphinx_hears_espeak_and_says_how_sure_it_is(recogniser: PocketSphinx) -> None:
    need_espeak()
    heard = await recogniser.transcribe(await spoken_pcm("let me talk to a real person", after=0.3))
    assert heard.engine == "pocketsphinx"
    said = {"let", "me", "talk", "to", "a", "real", "person"}
    assert len(said & set(heard.text.split())) >= 5, heard.text
    assert heard.confidence is not None
    assert 0.3 < heard.confidence <= 1.0
    rng = np.random.default_rng(7)
    noise = (rng.normal(0, 3000, RATE * 2)).astype("<i2").tobytes()
    garbled = await recogniser.transcribe(noise)
    assert garbled.confidence is not None
    assert garbled.confidence < heard.confidence


async def test_a_spoken_choice_survives_the_recogniser(recogniser: PocketSphinx) -> None:
    need_espeak()
    for said, choice in [("please call me back", "callback"), ("I will keep waiting", "queue")]:
        heard = await recogniser.transcribe(await spoken_pcm(said, after=0.3))
        assert read_choice(heard.text) == choice, heard.text


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("call me back please", "callback"),
        ("tell me back", "callback"),  # what PocketSphinx makes of eSpeak's "call me back"
        ("can you ring me tomorrow", "callback"),
        ("continue with the assistant", "ai"),
        ("I'll carry on with the bot", "ai"),
        ("I'll keep waiting", "queue"),
        ("the waiting", "queue"),
        ("what is the weather like", None),
        ("", None),
    ],
)
def test_read_choice(text: str, choice: str | None) -> None:
    assert read_choice(text) == choice


def test_the_options_are_listed_in_the_order_offered() -> None:
    assert (
        options_prompt(["callback", "ai"]) == "You can say call me back, or say continue with the assistant."
    )


def test_what_the_caller_hears_of_each_event() -> None:
    bot = {"type": "bot_message", "seq": 3, "text": "What budget?", "speaker": "buyer_bot", "role": "bot"}
    line = spoken(json.dumps(bot))
    assert line is not None
    assert (line.text, line.source, line.seq) == ("What budget?", "bot_message", 3)
    assert spoken(json.dumps({**bot, "role": "system"})) is None  # internal lines are never spoken
    agent = {"type": "agent_message", "seq": 4, "text": "Hi, I'm Maria.", "agent_id": "m", "handoff_id": "h"}
    assert spoken(json.dumps(agent)).text == "Hi, I'm Maria."  # type: ignore[union-attr]
    state = {"type": "handoff_state", "handoff_id": "h", "state": "pending", "message": "Connecting you now."}
    waiting = spoken(json.dumps({**state, "queue_position": 2, "expected_wait_s": 170}))
    assert waiting is not None
    assert (
        waiting.text == "Connecting you now. You are number 2 in line. The expected wait is about 3 minutes."
    )
    assert spoken(json.dumps({**state, "snapshot": True})) is None
    assert spoken(json.dumps({"type": "customer_message", "text": "hi"})) is None
    assert wait_line(0, 60) == "An agent is answering now."
    assert wait_line(None, 30) == "The expected wait is about 1 minute."


def test_the_channel_note_marks_unsure_turns_to_confirm() -> None:
    sure = Transcript("i want to sell my house", 0.81, "pocketsphinx")
    unsure = Transcript("twelve oak street", 0.32, "pocketsphinx")
    note = channel_note([Heard(sure, False), Heard(unsure, True)])
    assert note.startswith("Channel: voice (pocketsphinx). Transcription confidence: mean 0.57, lowest 0.32")
    assert 'To confirm: heard "twelve oak street" (confidence 0.32).' in note
    assert "i want to sell" not in note  # a sure turn is not repeated
    silent = channel_note([Heard(Transcript("hello", None, "openai:whisper-1/tts-1"), False)])
    assert "not reported by the recogniser (to confirm)" in silent


def test_the_engines_follow_the_settings() -> None:
    offline = Speech.from_settings(VoiceSettings(openai_base_url=None))
    assert (offline.stt.name, offline.tts.name) == ("pocketsphinx", "espeak-ng")
    remote = Speech.from_settings(VoiceSettings(openai_base_url="http://127.0.0.1:9/v1"))
    assert isinstance(remote.stt, HearWithFallback)
    assert isinstance(remote.tts, SpeakWithFallback)
    assert isinstance(remote.stt.first, OpenAIAudio)
    assert remote.tts.first is remote.stt.first  # one client for both directions
    assert (remote.stt.then.name, remote.tts.then.name) == ("pocketsphinx", "espeak-ng")  # when it fails
    forced = Speech.from_settings(VoiceSettings(engine="offline", openai_base_url="http://127.0.0.1:9/v1"))
    assert forced.stt.name == "pocketsphinx"
