"""The widget's microphone in a real headless Chromium, fed by a WAV file that eSpeak NG spoke.

Chromium's fake capture device plays the file into ``getUserMedia``; the widget records it with
MediaRecorder (Opus in WebM) and streams the chunks to the voice socket of a real Baton process, which
decodes them as they come. The caller greets the bot, asks for a person, hears the narration,
hears the agent's typed reply spoken, and is back with the bot when the agent returns the conversation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import service_missing
from test_ui_pages import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, js_errors, new_page, shot
from ui_server import UiServer, run_server

from api.voice.audio import silence, write_wav
from tests.voice_support import need_espeak

pytestmark = pytest.mark.slow
TURN_S = 120  # a voice turn on a loaded 2-core box: recognition, the turn, speech


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    with run_server(tmp_path_factory.mktemp("ui-voice"), timeout_s=240) as running:
        yield running


async def _caller_wav(path: Path) -> Path:
    """Two caller turns with a long pause between them, then silence.

    The pause outlasts the bot's first reply (up to ~10 s to come on a loaded box, 7.5 s to play): a
    caller who talks while a reply starts is double talk, and the browser's audio processing lost words
    of it ("a real person" heard as "a real earth and"). Barge-in has its own tests (test_voice_socket.py).
    """
    tts = need_espeak()
    pcm = (
        silence(1.0)
        + await tts.speak_pcm("hello there")
        + silence(20.0)
        + await tts.speak_pcm("let me talk to a real person")
        + silence(2.0)
    )
    path.write_bytes(write_wav(pcm))
    return path


async def _barging_caller_wav(path: Path) -> Path:
    """A greeting, then a short interjection every few seconds: one of them falls in a spoken reply."""
    tts = need_espeak()
    excuse = await tts.speak_pcm("excuse me")
    pcm = silence(1.0) + await tts.speak_pcm("hello there") + silence(2.5)
    for _ in range(12):
        pcm += excuse + silence(3.0)
    path.write_bytes(write_wav(pcm))
    return path


@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The callers' recordings, spoken before Playwright runs its event loop in this thread."""
    folder = tmp_path_factory.mktemp("voice")
    return {
        "journey": asyncio.run(_caller_wav(folder / "journey.wav")),
        "barging": asyncio.run(_barging_caller_wav(folder / "barging.wav")),
    }


@pytest.fixture(scope="module")
def playwright(callers: dict[str, Path]) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_missing("playwright", str(exc))
    if not Path(CHROMIUM).exists():
        service_missing("chromium", f"{CHROMIUM} is missing (run .ci/browser.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@contextmanager
def _chromium_hearing(pw: Any, wav: Path) -> Iterator[Any]:
    """Chromium whose fake microphone plays `wav` once, from the moment the page opens it."""
    fake_mic = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
    ]
    chromium = pw.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *fake_mic], headless=True)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def browser(playwright: Any, callers: dict[str, Path]) -> Iterator[Any]:
    with _chromium_hearing(playwright, callers["journey"]) as chromium:
        yield chromium


@pytest.fixture
def barging_browser(playwright: Any, callers: dict[str, Path]) -> Iterator[Any]:
    with _chromium_hearing(playwright, callers["barging"]) as chromium:
        yield chromium


def _played(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.batonVoice.played"))


def _wait_played(page: Any, source: str, count: int = 1, timeout_s: float = TURN_S) -> list[dict[str, Any]]:
    """The lines played for `source`, once there are `count` of them."""
    lines = _wait_until(page, lambda lines: len([p for p in lines if p["for"] == source]) >= count, timeout_s)
    return [p for p in lines if p["for"] == source]


def _wait_until(page: Any, done: Any, timeout_s: float) -> list[dict[str, Any]]:
    """The played lines once `done(lines)` holds."""
    deadline = time.monotonic() + timeout_s
    while not done(lines := _played(page)):
        if time.monotonic() > deadline:
            raise AssertionError(f"played lines never got there in {timeout_s}s: {lines}")
        page.wait_for_timeout(250)
    return lines


def _offered(api: httpx.Client, agent: dict[str, str]) -> str:
    """The handoff the desk offers the agent (its next tick)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        handoffs = api.get("/v1/handoffs", headers=agent).json()
        if handoffs:
            return str(handoffs[0]["handoff_id"])
        time.sleep(0.25)
    raise AssertionError("no handoff was offered to the agent")


def test_a_caller_talks_to_the_bot_reaches_a_person_and_comes_back(browser: Any, server: UiServer) -> None:
    from playwright.sync_api import expect

    admin = {"Authorization": f"Bearer {server.admin_token}"}
    with httpx.Client(base_url=server.url, timeout=30) as api:
        _, widget = new_page(browser, 420, 760)
        widget.goto(f"{server.url}/widget")
        widget.click("#w-mic")
        expect(widget.locator("#w-mic")).to_have_attribute("aria-pressed", "true")

        # the microphone is recorded by MediaRecorder, and the server took its format
        expect(widget.locator("body")).not_to_have_attribute("data-voice", "connecting")  # the socket is open
        assert widget.evaluate("window.batonVoice.format") == "audio/webm;codecs=opus"
        # turn 1: the greeting reaches the concierge bot, whose reply is spoken
        expect(widget.locator(".msg.customer.spoken")).to_have_count(1, timeout=TURN_S * 1000)
        log = widget.evaluate("window.batonVoice.log")
        assert {"type": "voice.format", "mime": "audio/webm;codecs=opus", "sample_rate": 16000} in log
        heard = [e["text"] for e in log if e["type"] == "voice.transcript" and e["text"]]
        assert heard  # decoded Opus, heard by PocketSphinx, shown as the customer's turn
        expect(widget.locator(".msg.customer.spoken .bubble").first).to_have_text(heard[0])
        first = _wait_played(widget, "bot_message")[0]
        assert first["latency_ms"] > 0
        # the browser played it to its end (a page that may not play blob: audio fails it at once)
        out = _wait_until(
            widget, lambda lines: lines[0]["ended"] or lines[0]["failed"], first["seconds"] + 10
        )
        assert not out[0]["failed"]
        assert out[0]["ended"]
        # turn 2: a person is asked for; the narration is the bot's line, then the wait
        try:
            expect(widget.locator(".msg.customer.spoken")).to_have_count(2, timeout=TURN_S * 1000)
            expect(widget.locator(".msg.customer.spoken").nth(1)).to_contain_text("real person")
        except AssertionError:
            print("voice log:", widget.evaluate("window.batonVoice.log"), "played:", _played(widget))
            print("chat:", widget.locator(".msg .bubble").all_text_contents())
            raise
        narration = _wait_played(widget, "bot_message", 2)[1]
        # what the recogniser heard decides this: say it when the bot did not hand off
        heard_second = widget.locator(".msg.customer.spoken .bubble").nth(1).inner_text()
        assert "licensed agents" in narration["text"], (
            f"heard {heard_second!r}, bot said {narration['text']!r}"
        )
        shot(widget, "widget-voice-handoff")

        # the agent signs in now (an agent with no heartbeat for minutes is taken off the desk)
        made = api.post(
            "/v1/agents",
            headers=admin,
            json={
                "id": "agent-ana",
                "name": "Ana",
                "skills": {"real_estate": 0.9, "empathy": 0.8},
                "status": "online",
            },
        )
        assert made.status_code == 201, made.text
        agent = {"Authorization": f"Bearer {made.json()['agent_token']}"}

        hid = _offered(api, agent)
        brief = api.get(f"/v1/handoffs/{hid}", headers=agent).json()["brief"]
        assert any(n["text"].startswith("Channel: voice (pocketsphinx)") for n in brief["added"])
        assert api.post(f"/v1/handoffs/{hid}/accept", headers=agent).status_code == 200
        reply = "Hi, this is Ana. Which neighbourhood are you looking at?"
        assert api.post(f"/v1/handoffs/{hid}/reply", headers=agent, json={"text": reply}).status_code == 200
        assert _wait_played(widget, "agent_message")[0]["text"] == reply  # typed, then spoken
        expect(widget.locator(".msg.agent .bubble").last).to_have_text(reply)

        back = api.post(f"/v1/handoffs/{hid}/return", headers=agent, json={"note": "wants to browse first"})
        assert back.status_code == 200, back.text
        after = _wait_played(widget, "bot_message", 3)[2]
        assert "wants to browse" not in after["text"]  # the note is the team's
        expect(widget.locator("#w-with")).to_contain_text("back with our")
        shot(widget, "widget-voice-back")

        widget.click("#w-mic")
        expect(widget.locator("#w-mic")).to_have_attribute("aria-pressed", "false")
        assert js_errors(widget) == []


def test_a_caller_who_speaks_over_a_reply_stops_it(barging_browser: Any, server: UiServer) -> None:
    """Barge-in in the browser: the clip playing pauses where it is, and the widget listens again."""
    from playwright.sync_api import expect

    _, widget = new_page(barging_browser, 420, 760)
    widget.goto(f"{server.url}/widget")
    # every change of the voice state, with its time, to see what follows the barge-in
    widget.evaluate(
        """() => { window.voiceStates = [];
        new MutationObserver(() => window.voiceStates.push([performance.now(), document.body.dataset.voice]))
          .observe(document.body, { attributes: true, attributeFilter: ["data-voice"] }); }"""
    )
    widget.click("#w-mic")
    expect(widget.locator("#w-mic")).to_have_attribute("aria-pressed", "true")
    expect(widget.locator("body")).to_have_attribute("data-voice", "listening")
    expect(widget.locator("#w-mic")).to_have_css("background-color", "rgb(198, 40, 40)")  # widget.css

    try:
        lines = _wait_until(widget, lambda lines: any(p.get("stopped_after_s", 0) > 0 for p in lines), TURN_S)
    except AssertionError:
        print("voice log:", widget.evaluate("window.batonVoice.log"))
        raise
    cut = [p for p in lines if p.get("stopped_after_s", 0) > 0]
    assert any(e["type"] == "voice.barge_in" for e in widget.evaluate("window.batonVoice.log"))
    line = cut[0]
    assert not line["ended"]
    assert line["stopped_after_s"] < line["seconds"]  # stopped before its end
    states = widget.evaluate("window.voiceStates")
    after = [state for at, state in states if at >= line["stopped_at"]]
    assert after, states
    assert after[0] == "listening", states  # not left "speaking" with nothing playing

    widget.click("#w-mic")
    expect(widget.locator("#w-mic")).to_have_attribute("aria-pressed", "false")
    assert js_errors(widget) == []
