"""``baton eval``: context preservation and routing evals, report comparison, YAML cases."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.cli_voice import voice_cmd
from evals.cases import CaseError, run_cases
from evals.compare import compare
from evals.context import BriefProvider, ContextReport, DirectProvider, RowPart, run_context_eval
from evals.experiments import PolicyArm, arm_files, compare_routes, render_routes, resolve_arms
from evals.providers import GraphProvider
from evals.suite import ContextSuite, dataset_name
from evals.turn_latency import TurnTimer
from graph.runtime import BatonRuntime
from graph.settings import get_settings
from policies.loader import PolicyError

eval_app = typer.Typer(
    help="Measure context preservation and routing on real conversations.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
SUPPORT_POLICY = Path(__file__).resolve().parent.parent / "policies" / "support.yaml"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)  # messages quote user input
    return typer.Exit(code=2)


def _need_file(path: Path) -> None:
    if not path.is_file():
        raise _fail(f"dataset {path} does not exist")


async def _context(
    datasets: list[Path],
    limit: int | None,
    provider: str,
    policy: Path,
    progress: bool,
    timer: TurnTimer | None,
    part: RowPart,
) -> dict[str, ContextReport]:
    async def run(briefs: BriefProvider) -> dict[str, ContextReport]:
        return {
            dataset_name(dataset): await run_context_eval(
                dataset, provider=briefs, limit=limit, progress=progress, timer=timer, part=part
            )
            for dataset in datasets
        }

    if provider == "direct":
        return await run(DirectProvider())
    settings = get_settings().model_copy(update={"policy": policy})
    async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
        return await run(GraphProvider(runtime))


def _print_context(name: str, result: ContextReport) -> None:
    # The report modules pull in matplotlib and sklearn (~70 MB): imported by the commands that use
    # them, never by `baton serve`, which imports this CLI too.
    from evals.report import DOMAIN_COLUMNS, HEADLINE

    table = Table("metric", "baton", *result.baselines, title=name)
    data = result.model_dump()
    for key in HEADLINE:
        if key == "n":
            continue
        table.add_row(key, f"{data[key]}", *(f"{getattr(b, key)}" for b in result.baselines.values()))
    out.print(table)
    load = result.meta.get("load_average_1m")
    if load:  # wall-clock latency on a shared machine means little without it
        out.print(f"{name}: load average (1 min) at start / end of the run: {load[0]} / {load[-1]}")
    if result.per_domain:
        domains = Table("domain", *DOMAIN_COLUMNS, title=f"{name}: per domain")
        for domain, scores in result.per_domain.items():
            domains.add_row(domain or "(none)", *(f"{getattr(scores, c)}" for c in DOMAIN_COLUMNS))
        out.print(domains)


@eval_app.command("context")
def context_cmd(
    dataset: Annotated[
        list[Path], typer.Option(help="ABCD-style JSONL (turns, facts, handoff_at); repeat for several.")
    ],
    report: Annotated[Path, typer.Option(help="Where to write the JSON report.")],
    html: Annotated[
        Path | None, typer.Option(help="Also write an HTML report (Markdown and PNGs beside it).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N conversations of each dataset.")
    ] = None,
    provider: Annotated[
        Literal["graph", "direct"],
        typer.Option(help="graph: through the LangGraph graph; direct: the builder only."),
    ] = "graph",
    policy: Annotated[
        list[str] | None,
        typer.Option(
            help="Policy whose human target receives the handoff: FILE, FILE#VARIANT or VARIANT (of the "
            "last FILE, else of the support policy); repeat to compare arms side by side."
        ),
    ] = None,
    turn_latency: Annotated[
        bool, typer.Option(help="Also time the offline signals + brief of every customer turn.")
    ] = True,
    rows: Annotated[
        RowPart, typer.Option(help="all rows, or the even (development) or odd (check) half (0-based).")
    ] = "all",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Replay each conversation up to its handoff, brief the receiver, and score what was carried.

    With one dataset the report is one ContextReport; with several, a suite with one report per
    dataset (each beside its own baselines).
    """
    for path in dataset:
        _need_file(path)
    names = [dataset_name(path) for path in dataset]
    if len(set(names)) != len(names):
        raise _fail(f"datasets need distinct file names, got {names}")
    try:
        arms = resolve_arms(policy or [str(SUPPORT_POLICY)], SUPPORT_POLICY)
    except (ValueError, PolicyError) as exc:
        raise _fail(str(exc)) from exc
    if len(arms) > 1:
        if html is not None:
            raise _fail("--html writes one report; compare arms without it (or run each arm alone)")
        asyncio.run(_compare_arms(arms, dataset, report, limit, provider, progress, rows))
        return
    folder, files = arm_files(arms)
    with folder:
        only = files[arms[0].label]
        timer = TurnTimer.for_policy(only) if turn_latency else None
        results = asyncio.run(_context(dataset, limit, provider, only, progress, timer, rows))
    report.parent.mkdir(parents=True, exist_ok=True)
    saved: ContextReport | ContextSuite
    saved = next(iter(results.values())) if len(results) == 1 else ContextSuite(datasets=results)
    saved.save(report)
    if html is not None:
        from evals.report import write_report

        html.parent.mkdir(parents=True, exist_ok=True)
        written, _ = write_report(saved, html.parent)
        if written != html:
            shutil.move(written, html)
    for name, result in results.items():
        _print_context(name, result)
    out.print(f"wrote {report}" + (f" and {html}" if html else ""))


async def _compare_arms(
    arms: list[PolicyArm],
    datasets: list[Path],
    report: Path,
    limit: int | None,
    provider: str,
    progress: bool,
    part: RowPart,
) -> None:
    """Each arm's briefs and routing on the same conversations, side by side (``--policy`` repeated)."""
    from evals.report import HEADLINE

    folder, files = arm_files(arms)
    with folder:
        briefs = {
            arm.label: await _context(datasets, limit, provider, files[arm.label], progress, None, part)
            for arm in arms
        }
    routes = {
        dataset_name(path): await compare_routes(arms, path, limit=limit, part=part) for path in datasets
    }
    for name in routes:
        table = Table("metric", *(arm.label for arm in arms), title=f"{name}: briefs per arm")
        for key in HEADLINE:
            cells = [f"{briefs[arm.label][name].model_dump()[key]}" for arm in arms]
            table.add_row(key, *cells)
        out.print(table)
        render_routes(out, f"{name}: routing at the handoff point", routes[name])
    report.parent.mkdir(parents=True, exist_ok=True)
    saved = {
        "arms": {
            label: {name: result.model_dump(mode="json") for name, result in results.items()}
            for label, results in briefs.items()
        },
        "routing": {name: {k: v.model_dump() for k, v in t.items()} for name, t in routes.items()},
    }
    report.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    out.print(f"wrote {report}")


@eval_app.command("routing")
def routing_cmd(
    dataset: Annotated[Path, typer.Option(help="Banking77-style JSONL (text, label, department).")],
    report: Annotated[Path, typer.Option(help="Where to write the JSON report.")],
    train: Annotated[Path | None, typer.Option(help="Learn from this file instead of the policy.")] = None,
    cv: Annotated[int | None, typer.Option(min=2, help="Cross-validate over DATASET with K folds.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write an HTML report with a confusion matrix.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Fold shuffling seed.")] = 0,
) -> None:
    """Score department and intent routing; never learns from the rows it scores."""
    _need_file(dataset)
    if train is None and cv is None:
        raise _fail("give --train FILE (learn from it, score DATASET) or --cv K (cross-validate DATASET)")
    if train is not None:
        _need_file(train)
    from evals.report_routing import write_routing_report
    from evals.routing import run_routing_eval

    result = run_routing_eval(dataset, train=train, cv=cv, seed=seed)
    report.parent.mkdir(parents=True, exist_ok=True)
    write_routing_report(result, report, html)
    data = result.model_dump()
    table = Table("metric", "baton", *data.get("baselines", {}))
    for key in ("accuracy", "macro_f1", "intent_accuracy", "intent_macro_f1"):
        table.add_row(key, f"{data[key]:.4f}", *(f"{b[key]:.4f}" for b in data.get("baselines", {}).values()))
    out.print(table)
    out.print(f"wrote {report}" + (f" and {html}" if html else ""))


@eval_app.command("signals")
def signals_cmd(
    dataset: Annotated[Path, typer.Option(help="JSONL of labelled messages (text, history, labels).")],
    report: Annotated[Path | None, typer.Option(help="Also write the JSON report here.")] = None,
) -> None:
    """Per-signal precision and recall of the offline analyzer, and the messages it gets wrong."""
    from evals.signals import DatasetError, run_signal_eval, summary  # loads the language models

    _need_file(dataset)
    try:
        result = run_signal_eval(dataset)
    except DatasetError as exc:
        raise _fail(str(exc)) from exc
    table = Table("signal", "support", "precision", "recall", "f1")
    for row in summary(result):
        table.add_row(*row)
    out.print(table)
    out.print(f"macro F1 {result.macro_f1:.2f} over {result.n} messages", highlight=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        result.save(report)
        out.print(f"wrote {report}")


@eval_app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(help="Baseline report JSON.")],
    b: Annotated[Path, typer.Argument(help="New report JSON.")],
) -> None:
    """Print the deltas between two eval reports."""
    for path in (a, b):
        if not path.is_file():
            raise _fail(f"report {path} does not exist")
    try:
        out.print(compare(a, b), highlight=False)
    except (ValueError, json.JSONDecodeError) as exc:
        raise _fail(str(exc)) from exc


@eval_app.command("cases")
def cases_cmd(paths: Annotated[list[Path], typer.Argument(help="YAML case files or folders.")]) -> None:
    """Run prompt engineers' YAML eval cases and report missed facts and sections."""
    try:
        outcomes = asyncio.run(run_cases(paths))
    except CaseError as exc:
        raise _fail(str(exc)) from exc
    failed = 0
    for outcome in outcomes:
        ok = outcome.passed
        failed += 0 if ok else 1
        out.print(
            f"{'[green]pass[/]' if ok else '[red]FAIL[/]'} {outcome.model_dump_json()}", highlight=False
        )
    if failed:
        raise typer.Exit(code=1)


# the voice channel's eval lives beside its engines (api/cli_voice.py)
eval_app.command("voice")(voice_cmd)
