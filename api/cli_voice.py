"""``baton eval voice``: WER of the offline recogniser, the context eval on transcripts, voice turn latency."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

out = Console()
err = Console(stderr=True)


def voice_cmd(
    dataset: Annotated[Path, typer.Option(help="SGD/ABCD-shaped JSONL (customer turns, facts).")],
    turns: Annotated[int, typer.Option(min=1, help="Customer turns to speak and transcribe.")] = 100,
    latency_turns: Annotated[int, typer.Option(min=0, help="Calls timed over the voice socket.")] = 30,
    latency_audio: Annotated[
        str, typer.Option(help="How the timed calls send audio: pcm, or webm as the widget's MediaRecorder.")
    ] = "pcm",
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Speak customer turns with eSpeak NG, hear them with PocketSphinx, and score what survives."""
    from evals.voice import run_voice_eval

    if not dataset.is_file():
        err.print(f"[bold red]error:[/] dataset {escape(str(dataset))} does not exist", highlight=False)
        raise typer.Exit(code=2)
    if shutil.which("espeak-ng") is None:
        err.print("[bold red]error:[/] espeak-ng is not installed (make voice)", highlight=False)
        raise typer.Exit(code=2)
    if latency_audio not in ("pcm", "webm"):
        err.print("[bold red]error:[/] --latency-audio is pcm or webm", highlight=False)
        raise typer.Exit(code=2)
    result = asyncio.run(
        run_voice_eval(
            dataset,
            turns=turns,
            latency_turns=latency_turns,
            latency_audio=latency_audio,
            progress=progress,
        )
    )
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        with report.with_suffix(".turns.jsonl").open("w", encoding="utf-8") as rows:
            for heard in result.heard:
                rows.write(heard.model_dump_json() + "\n")
    t, v = result.context_text, result.context_voice
    out.print(f"WER {result.wer:.3f} over {result.turns} turns ({result.sentence_exact:.0%} heard exactly)")
    out.print(
        f"fact recall: text {t.fact_recall:.3f}, voice {v.fact_recall:.3f} (n={t.n}); "
        f"facts surviving recognition {result.facts_surviving:.1%}"
    )
    if result.latency_turns:
        out.print(
            f"end of speech -> first reply audio: p50 {result.latency_ms_p50} ms, "
            f"p95 {result.latency_ms_p95} ms over {result.latency_turns} calls ({result.latency_audio}) "
            f"(load {result.meta['load_average_before']} -> {result.meta['load_average_after']})"
        )
