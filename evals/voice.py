"""Voice eval: how well the offline recogniser hears customers, what the brief keeps, and how fast a turn is.

* **WER**: customer turns of an SGD-shaped dataset, spoken by eSpeak NG and transcribed by PocketSphinx
  (the offline engines the voice channel uses), scored as word error rate against the text.
* **Context**: the same conversations with every customer turn before the handoff replaced by what
  the recogniser heard, through the context eval beside the text originals: how many gold facts the
  brief still carries once recognition errors are in.
* **Latency**: end of speech → first reply audio, as the voice socket measures it (``latency_ms`` on
  the first ``voice.audio`` after a turn), over a real server and socket, offline; the caller's audio
  is sent as raw PCM or, with ``audio="webm"``, as the widget's MediaRecorder sends it (Opus in WebM,
  a chunk per 100 ms, decoded by the server as it arrives).

Run: ``baton eval voice --dataset ../shared/datasets/sgd_dev.jsonl --report reports/voice.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import BaseModel, Field
from tqdm import tqdm
from websockets.asyncio.client import connect

from api.voice.audio import silence
from api.voice.opus import OpusStream
from api.voice.speech import ESpeakNG, PocketSphinx
from evals.context import DirectProvider, run_context_eval
from evals.metrics import percentile
from evals.turn_latency import load_average

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped (digits stay digits: '3:30' is '3', '30')."""
    return _WORD.findall(text.lower())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, deletions, insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


class TurnHeard(BaseModel):
    """One customer turn: what was said, what was heard, the errors and the recogniser's confidence."""

    case_id: str
    turn: int
    text: str
    heard: str
    errors: int
    words: int
    confidence: float | None


class ContextSide(BaseModel):
    """The context eval's headline on one side (text or voice)."""

    fact_recall: float
    fact_precision: float | None
    repeat_question_rate: float
    n: int


class VoiceReport(BaseModel):
    """WER, the context eval on text and on transcripts, and the voice turn latency."""

    turns: int
    wer: float
    wer_median_turn: float
    sentence_exact: float = Field(description="Share of turns heard word for word.")
    confidence_mean: float | None
    to_confirm_share: float = Field(description="Share of turns under the confirmation threshold.")
    context_text: ContextSide
    context_voice: ContextSide
    facts_surviving: float = Field(
        description="Of the gold facts the text brief carries, the share still carried."
    )
    latency_ms_p50: float | None = None
    latency_ms_p95: float | None = None
    latency_turns: int = 0
    latency_audio: str = Field(default="pcm", description="How the calls sent their audio: pcm or webm.")
    meta: dict[str, Any] = Field(default_factory=dict)
    heard: list[TurnHeard] = Field(default_factory=list, exclude=True)


async def transcribe_turns(
    dataset: Path, max_turns: int, progress: bool
) -> tuple[list[dict[str, Any]], list[TurnHeard]]:
    """Whole conversations, in file order, until ``max_turns`` customer turns before the handoff are heard."""
    tts, stt = ESpeakNG(), PocketSphinx()
    stt.warm()
    rows: list[dict[str, Any]] = []
    heard: list[TurnHeard] = []
    with dataset.open(encoding="utf-8") as lines:
        raw_rows = [json.loads(line) for line in lines if line.strip()]
    bar = tqdm(total=max_turns, desc="voice: speak + hear", unit="turn", disable=not progress)
    for row in raw_rows:
        if len(heard) >= max_turns:
            break
        spoken = dict(row)
        spoken["turns"] = [dict(t) for t in row["turns"]]
        for i, turn in enumerate(spoken["turns"][: row["handoff_at"]]):
            if turn["role"] != "customer":
                continue
            pcm = silence(0.2) + await tts.speak_pcm(turn["text"]) + silence(0.3)
            got = await stt.transcribe(pcm)
            ref, hyp = words(turn["text"]), words(got.text)
            heard.append(
                TurnHeard(
                    case_id=row["id"],
                    turn=i,
                    text=turn["text"],
                    heard=got.text,
                    errors=edit_distance(ref, hyp),
                    words=len(ref),
                    confidence=got.confidence,
                )
            )
            turn["text"] = got.text or "..."
            bar.update(1)
        rows.append(spoken)
    bar.close()
    return rows, heard


async def context_sides(
    dataset: Path, spoken: list[dict[str, Any]]
) -> tuple[ContextSide, ContextSide, float]:
    """The context eval on the original conversations and on their transcripts (same rows, offline briefs)."""
    with tempfile.TemporaryDirectory() as tmp:
        text_file, voice_file = Path(tmp) / "text.jsonl", Path(tmp) / "voice.jsonl"
        ids = {r["id"] for r in spoken}
        with dataset.open(encoding="utf-8") as lines:
            originals = [line for line in lines if line.strip() and json.loads(line)["id"] in ids]
        text_file.write_text("".join(originals), encoding="utf-8")
        voice_file.write_text("".join(json.dumps(r) + "\n" for r in spoken), encoding="utf-8")
        text = await run_context_eval(text_file, provider=DirectProvider(), progress=False)
        voice = await run_context_eval(voice_file, provider=DirectProvider(), progress=False)
    carried_text = {(c.case_id, k): v[0] for c in text.cases for k, v in c.per_key.items()}
    carried_voice = {(c.case_id, k): v[0] for c in voice.cases for k, v in c.per_key.items()}
    kept = sum(min(n, carried_voice.get(key, 0)) for key, n in carried_text.items())
    surviving = kept / max(1, sum(carried_text.values()))

    def side(r: Any) -> ContextSide:
        return ContextSide(
            fact_recall=r.fact_recall,
            fact_precision=r.fact_precision,
            repeat_question_rate=r.repeat_question_rate,
            n=r.n,
        )

    return side(text), side(voice), round(surviving, 3)


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


async def _first_reply_ms(host: str, cid: str, token: str, pcm: bytes, audio: str) -> float | None:
    async with connect(f"ws://{host}/v1/conversations/{cid}/voice", open_timeout=30, max_size=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        if audio == "webm":  # the widget: MediaRecorder's chunks
            await ws.send(json.dumps({"type": "voice.format", "mime": "audio/webm;codecs=opus"}))
            for chunk in OpusStream("webm").chunks(pcm):
                await ws.send(chunk)
        else:
            for i in range(0, len(pcm), 960):  # 30 ms frames, as a Web Audio client sends them
                await ws.send(pcm[i : i + 960])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
            if event["type"] == "ping":
                await ws.send('{"type": "pong"}')
            if event["type"] == "voice.audio" and "latency_ms" in event:
                return float(event["latency_ms"])
    return None


async def measure_latency(
    texts: list[str], data_dir: Path, progress: bool, audio: str = "pcm"
) -> list[float]:
    """Each text as the first turn of a new call over the real voice socket; the server's latency_ms."""
    import httpx

    from api.app import create_app
    from graph.settings import Settings

    # idle sockets are closed after ws_idle_s; a turn on a loaded box can take longer than the default
    settings = Settings(
        data_dir=data_dir, offline=True, checkpoint_url="memory", case_memory=False, ws_idle_s=600
    )
    tts = ESpeakNG()
    out: list[float] = []
    with _serve(create_app(settings)) as host:
        async with httpx.AsyncClient(base_url=f"http://{host}", timeout=60) as http:
            for i, text in enumerate(
                tqdm([texts[0], *texts], desc="voice: latency", unit="turn", disable=not progress)
            ):
                created = (await http.post("/v1/conversations")).json()
                pcm = silence(0.3) + await tts.speak_pcm(text) + silence(1.0)
                ms = await _first_reply_ms(
                    host, created["conversation_id"], created["customer_token"], pcm, audio
                )
                if ms is not None and i > 0:  # the first call loads the recogniser: a warm-up, not counted
                    out.append(ms)
    return out


async def run_voice_eval(
    dataset: Path,
    *,
    turns: int = 100,
    latency_turns: int = 30,
    latency_audio: str = "pcm",
    confirm_below: float = 0.5,
    progress: bool = True,
) -> VoiceReport:
    """The whole voice eval (see the module docstring)."""
    load_before = load_average()
    spoken, heard = await transcribe_turns(dataset, turns, progress)
    text, voice, surviving = await context_sides(dataset, spoken)
    firsts = list({h.case_id: h.text for h in reversed(heard)}.values())[::-1]  # each call's first turn
    latency_error = ""
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if latency_turns:
                latencies = await measure_latency(firsts[:latency_turns], Path(tmp), progress, latency_audio)
        except Exception as exc:  # the recognition figures stand without it
            latency_error = f"{type(exc).__name__}: {exc}"
    errors, total = sum(h.errors for h in heard), sum(h.words for h in heard)
    scores = [h.confidence for h in heard if h.confidence is not None]
    return VoiceReport(
        turns=len(heard),
        wer=round(errors / max(1, total), 3),
        wer_median_turn=round(statistics.median(h.errors / max(1, h.words) for h in heard), 3)
        if heard
        else 0.0,
        sentence_exact=round(sum(h.errors == 0 for h in heard) / max(1, len(heard)), 3),
        confidence_mean=round(statistics.fmean(scores), 3) if scores else None,
        to_confirm_share=round(sum(s < confirm_below for s in scores) / max(1, len(scores)), 3),
        context_text=text,
        context_voice=voice,
        facts_surviving=surviving,
        latency_ms_p50=round(percentile(latencies, 50), 1) if latencies else None,
        latency_ms_p95=round(percentile(latencies, 95), 1) if latencies else None,
        latency_turns=len(latencies),
        latency_audio=latency_audio,
        meta={
            "dataset": str(dataset),
            "conversations": len(spoken),
            "stt": "pocketsphinx (en-US model from the wheel)",
            "tts": "espeak-ng en-us+f2, 150 wpm",
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "cpus": os.cpu_count(),
            "latency_error": latency_error,
        },
        heard=heard,
    )
