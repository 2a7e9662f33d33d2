"""A caller who asks to be called back and has given no number is asked for one by voice.

Units: spoken digits written as digits, the contact read through the language layer's patterns and the
desk's rule, the read-back, yes or no, and the dialogue's steps. On the voice door: the transcript
stage is scripted (``app.state.voice``, the seam the voice route reads its engines from) and the audio
is a voiced buzz, so every turn still goes through the socket, voice activity detection, the one turn
service, the desk and the callback store.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.voice.audio import silence
from api.voice.choices import read_yes_no
from api.voice.contact import (
    ASK,
    ASK_AGAIN,
    GIVE_UP,
    TURNS,
    NumberDialogue,
    heard_contact,
    read_back,
    written_digits,
)
from api.voice.settings import VoiceSettings
from api.voice.speech import Speech
from api.voice.spoken import speakable
from desk.callbacks import Contact
from desk.config import DeskConfig
from tests.test_api_support import ADMIN, Api, api_settings, serve_in_thread
from tests.voice_support import QuietTTS, ScriptedSTT, stream, until, voiced

PERSON = "let me talk to a real person"


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("five five five one two three four five six seven", "5551234567"),
        ("my number is five, five five one two three four five six seven.", "my number is 5551234567"),
        ("zero one five one two three far five six seven eight", "01512345678"),  # "far": four, mid-run
        ("oh seven seven double one two three", "0771123"),
        ("plus four four seven seven", "+4477"),
        ("one plus one", "1 plus 1"),
        ("talk to five people", "talk to 5 people"),  # "to" starts no run
        ("five five five for me to", "555 for me to"),  # nor ends one
        ("call me at 555-123-4567", "call me at 555-123-4567"),  # a whisper server writes digits itself
        ("I want to go for it", "I want to go for it"),
    ],
)
def test_spoken_digits_are_written_as_digits(said: str, written: str) -> None:
    assert written_digits(said) == written


@pytest.mark.parametrize(
    ("said", "contact"),
    [
        ("five five five one two three four five six seven", Contact(kind="phone", value="5551234567")),
        ("it's five five five one two three four five six seven", Contact(kind="phone", value="5551234567")),
        ("call me at (555) 123-4567", Contact(kind="phone", value="5551234567")),
        (
            "plus four four seven seven zero zero nine zero zero one two three",
            Contact(kind="phone", value="+447700900123"),
        ),
        ("zero one five one two three four five six seven eight", Contact(kind="phone", value="01512345678")),
        ("dana@example.com please", Contact(kind="email", value="dana@example.com")),
        ("five five one two three", None),  # too short to call
        ("I'd rather you called me tomorrow", None),
    ],
)
def test_the_number_is_read_from_what_the_caller_said(said: str, contact: Contact | None) -> None:
    assert heard_contact(said) == contact


def test_a_number_is_read_back_digit_by_digit() -> None:
    assert read_back(Contact(kind="phone", value="5551234567")) == "5 5 5, 1 2 3, 4 5 6 7"
    assert read_back(Contact(kind="phone", value="+4915112345678")) == "plus 4 9 1, 5 1 1, 2 3 4, 5 6 7 8"
    assert read_back(Contact(kind="email", value="dana@example.com")) == "dana@example.com"
    assert speakable("call you back at 5551234567.") == "call you back at 5 5 5 1 2 3 4 5 6 7."
    assert speakable("about 3 minutes in 2027") == "about 3 minutes in 2027"


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("yes", True),
        ("yes that's right", True),
        ("yeah correct", True),
        ("no", False),
        ("no that's wrong", False),
        ("that's not right", False),  # a "no" word wins
        ("what", None),
        ("", None),
    ],
)
def test_yes_or_no(said: str, answer: bool | None) -> None:
    assert read_yes_no(said) is answer


def test_the_dialogue_confirms_corrects_and_gives_up() -> None:
    talk = NumberDialogue("h1", ("callback", "ai"))
    assert talk.hear("hmm").line == ASK_AGAIN
    first = talk.hear("five five five one two three four five six seven")
    assert first.line == "I heard 5 5 5, 1 2 3, 4 5 6 7. Is that right?"
    assert first.contact is None
    assert talk.hear("what").line == "Is 5 5 5, 1 2 3, 4 5 6 7 right? Please say yes or no."
    # a corrected number instead of yes or no is read back in turn
    assert talk.hear("five five five one two three four five six eight").line.startswith(
        "I heard 5 5 5, 1 2 3, 4 5 6 8."
    )
    done = talk.hear("yes")
    assert (done.contact, done.over) == (Contact(kind="phone", value="5551234568"), True)

    refused = NumberDialogue("h1", ("callback", "ai"))
    refused.hear("five five five one two three four five six seven")
    assert refused.hear("no").line == ASK_AGAIN
    assert refused.heard is None

    elsewhere = NumberDialogue("h1", ("callback", "ai"))
    assert elsewhere.hear("actually continue with the assistant") == type(done)(choice="ai", over=True)

    lost = NumberDialogue("h1")
    steps = [lost.hear("pardon") for _ in range(TURNS)]
    assert [s.over for s in steps] == [False] * (TURNS - 1) + [True]
    assert steps[-1].line == GIVE_UP
    assert steps[-1].contact is None


async def _turn(ws: object, secs: float = 0.8) -> None:
    await stream(ws, silence(0.3) + voiced(secs) + silence(1.0))  # type: ignore[arg-type]


async def _spoken(ws: object, source: str) -> str:
    return str((await until(ws, "voice.audio", **{"for": source}))["text"])  # type: ignore[arg-type]


async def test_a_caller_without_a_number_is_asked_for_one_and_the_callback_recorded(tmp_path: Path) -> None:
    stt = ScriptedSTT(
        [
            "hello there",
            PERSON,
            "please call me back",
            "five five five one two three four five six seven",
            "no that's wrong",
            "it's five five five one two three four five six eight",
            "yes",
        ]
    )
    tts = QuietTTS()
    app = create_app(api_settings(tmp_path), desk_config=DeskConfig(expires_after_s=1.0))
    app.state.voice = (VoiceSettings(), Speech(stt=stt, tts=tts))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation(name="Dana")
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await _turn(ws)
                await _spoken(ws, "bot_message")
                await _turn(ws)
                ended = await until(ws, "handoff_state", timeout=30, state="rolled_back")  # nobody free
                assert await _spoken(ws, "voice.options") == (
                    "You can say call me back, or say continue with the assistant."
                )

                await _turn(ws)
                assert await _spoken(ws, "voice.contact") == ASK
                chosen = await until(ws, "voice_choice")
                assert (chosen["choice"], chosen["done_by"]) == ("callback", "asking for a number")
                await _turn(ws)
                assert await _spoken(ws, "voice.contact") == "I heard 5 5 5, 1 2 3, 4 5 6 7. Is that right?"
                await _turn(ws, 0.5)
                assert await _spoken(ws, "voice.contact") == ASK_AGAIN
                await _turn(ws)
                assert await _spoken(ws, "voice.contact") == "I heard 5 5 5, 1 2 3, 4 5 6 8. Is that right?"
                await _turn(ws, 0.5)
                thanks = await _spoken(ws, "voice.contact")
                assert thanks == "Thanks! One of our agents will call you back at 5551234568."
                assert tts.said[-1] == "Thanks! One of our agents will call you back at 5 5 5 1 2 3 4 5 6 8."
            assert stt.lines == []  # every scripted turn was heard, through the socket's VAD

            queue = (await http.get(f"/v1/conversations/{cid}/queue", headers=api.auth(token))).json()
            assert queue["state"] == "callback"
            assert (queue["callback"]["contact"], queue["callback"]["contact_needed"]) == (
                "5551234568",
                False,
            )
            [callback] = (await http.get("/v1/callbacks", headers=api.auth(ADMIN))).json()
            assert (callback["reason"], callback["handoff_id"]) == ("requested", ended["handoff_id"])
            assert callback["contact"] == {"kind": "phone", "value": "5551234568"}
            assert callback["brief"]  # the handoff nobody took: the agent who calls back reads its brief
            # the number was said to the voice channel, not to the bot: no customer turn holds it
            view = (await http.get(f"/v1/conversations/{cid}", headers=api.auth(token))).json()
            said = [t["text"] for t in view["transcript"] if t["role"] == "customer"]
            assert said == ["hello there", PERSON]


async def test_a_caller_whose_number_is_known_is_not_asked(tmp_path: Path) -> None:
    stt = ScriptedSTT(["hello there", PERSON, "call me back"])
    app = create_app(api_settings(tmp_path), desk_config=DeskConfig(expires_after_s=1.0))
    app.state.voice = (VoiceSettings(), Speech(stt=stt, tts=QuietTTS()))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation(name="Dana", phone="+1 415 555 0199")
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await _turn(ws)
                await _spoken(ws, "bot_message")
                await _turn(ws)
                await until(ws, "handoff_state", timeout=30, state="rolled_back")
                await _spoken(ws, "voice.options")
                await _turn(ws)
                assert await _spoken(ws, "voice.choice") == (
                    "Thanks! One of our agents will call you back at +14155550199."
                )
                assert (await until(ws, "voice_choice"))["done_by"] == "callback recorded"
            [callback] = (await http.get("/v1/callbacks", headers=api.auth(ADMIN))).json()
            assert callback["contact"] == {"kind": "phone", "value": "+14155550199"}


async def test_a_caller_whose_number_is_never_understood_is_told_the_request_stands(tmp_path: Path) -> None:
    stt = ScriptedSTT(["hello there", PERSON, "call me back", *["sorry what"] * TURNS])
    app = create_app(api_settings(tmp_path), desk_config=DeskConfig(expires_after_s=1.0))
    app.state.voice = (VoiceSettings(), Speech(stt=stt, tts=QuietTTS()))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            api = Api(url, http)
            cid, token = await api.conversation()
            async with api.ws(f"/v1/conversations/{cid}/voice", token) as ws:
                await until(ws, "voice.ready")
                await _turn(ws)
                await _spoken(ws, "bot_message")
                await _turn(ws)
                await until(ws, "handoff_state", timeout=30, state="rolled_back")
                await _spoken(ws, "voice.options")
                await _turn(ws)
                assert await _spoken(ws, "voice.contact") == ASK
                for _ in range(TURNS - 1):
                    await _turn(ws, 0.5)
                    assert await _spoken(ws, "voice.contact") == ASK_AGAIN
                await _turn(ws, 0.5)
                assert await _spoken(ws, "voice.contact") == GIVE_UP
                gave_up = await until(ws, "voice_choice", done_by="recorded without a number")
                assert gave_up["choice"] == "callback"
            assert stt.lines == []
            assert (
                await http.get("/v1/callbacks", headers=api.auth(ADMIN))
            ).json() == []  # no number, no call
