"""The ``baton`` command line: demo, chat, policy tools, evals and the desk simulator.

Every error prints a clear message to stderr and exits with code 2.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from api import listeners
from api.cli_chat import run_chat, run_demo
from api.cli_eval import eval_app
from api.cli_policy import explain_policy
from desk.cli import desk_app
from evals.experiments import render_variant_routes, variant_routes, with_variant
from graph.handoffs import HandoffLoadError, load_registry
from graph.policy_store import check_policy_file
from graph.settings import get_settings
from graph.turn_times import TIME_FIELDS
from policies.experiments import experiment_of
from policies.loader import PolicyError

app = typer.Typer(help="Baton: conversation handoffs between bots and humans.", no_args_is_help=True)
policy_app = typer.Typer(help="Check and explain routing policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(eval_app, name="eval")
app.add_typer(desk_app, name="desk")

# No emoji codes: "policy.yaml:100:13" is a line and a column, not ":100:" (rich would print 💯).
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr and return the exit-2 exception to raise."""
    # Escaped: messages quote user input. No wrapping: `file:line:col: message` stays one line for editors.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@app.command()
def demo(
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: real_estate).")] = None,
) -> None:
    """Scripted end-to-end run: routing, bot handoff, human handoff, human reply, return to AI."""
    try:
        asyncio.run(run_demo(out, policy))
    except PolicyError as exc:
        raise fail(str(exc)) from exc


@app.command()
def chat(
    policy: Annotated[Path | None, typer.Option(help="Policy YAML (default: real_estate).")] = None,
    conversation: Annotated[str | None, typer.Option(help="Resume this conversation id.")] = None,
) -> None:
    """Chat in the terminal; /human TEXT, /return [NOTE], /close act as the human agent."""
    try:
        asyncio.run(run_chat(out, policy, conversation or uuid.uuid4().hex[:12]))
    except PolicyError as exc:
        raise fail(str(exc)) from exc


@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="Policy YAML to validate.")]) -> None:
    """Validate a policy file: YAML syntax, schema, targets, fields and values, with line numbers."""
    try:
        loaded = check_policy_file(file)  # an unreadable, oversized or non-UTF-8 file is a PolicyError too
    except PolicyError as exc:
        raise fail(f"{len(exc.issues)} problem(s) in {file}\n{exc}") from exc
    p = loaded.policy
    for warning in loaded.warnings:  # valid, but a rule says something the author did not mean
        out.print(f"[yellow]warning[/] {escape(warning.render(str(file)))}")
    out.print(
        f"[green]ok[/] {file}: policy {p.name!r} version {loaded.version}, "
        f"{len(p.targets)} targets, {len(p.intents)} intents, {len(p.rules)} rules"
        + (f", {len(loaded.warnings)} warning(s)" if loaded.warnings else "")
    )


@policy_app.command("explain")
def policy_explain(
    file: Annotated[Path, typer.Argument(help="Policy YAML.")],
    message: Annotated[str, typer.Argument(help="The customer's message to route.")],
    history: Annotated[
        Path | None, typer.Option(help="Earlier customer turns: a JSON list of strings or one per line.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    variant: Annotated[
        str | None, typer.Option(help="Explain under this variant of the policy's experiment.")
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Explain as if the conversation began MINUTES ago and is still unresolved "
            "(sets elapsed_minutes, unresolved_minutes and waiting_minutes).",
        ),
    ] = None,
) -> None:
    """Show which rule fires for MESSAGE and why (every rule, every comparison, the signals)."""
    try:
        turns = _read_history(history) if history else []
    except OSError as exc:
        raise fail(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        loaded = check_policy_file(file)
        declared = loaded.policy  # with its experiment: every variant is compared below
        loaded = with_variant(loaded, variant)
    except (PolicyError, ValueError) as exc:
        raise fail(str(exc)) from exc
    times = dict.fromkeys(TIME_FIELDS, minutes) if minutes is not None else None
    explanation = asyncio.run(explain_policy(loaded, [*turns, message], times))
    routes = variant_routes(
        declared, explanation.signals, [*turns, message], getattr(explanation, "times", None)
    )
    if as_json:
        data = explanation.model_dump(mode="json")
        out.print_json(data=data | ({"variants": [r.model_dump() for r in routes]} if routes else {}))
    else:
        explanation.render(out)
        experiment = experiment_of(declared)
        if experiment is not None:
            render_variant_routes(out, experiment.id, routes)


def _read_history(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(raw)
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            msg = f"{path}: expected a JSON list of strings (earlier customer turns)"
            raise ValueError(msg)
        return data
    return [line.strip() for line in raw.splitlines() if line.strip()]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (share state via Postgres + Redis).")
    ] = 1,
    reuse_port: Annotated[
        bool,
        typer.Option(
            "--reuse-port/--shared-socket",
            help="With --workers > 1 on Linux: a socket per worker (SO_REUSEPORT), so the kernel spreads"
            " connections over them; --shared-socket: uvicorn's one socket, where one worker can end up"
            " with most of a client's kept-open connections.",
        ),
    ] = True,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log a line per HTTP request (uvicorn's access log). Off, a request costs ~70 us less"
            " server CPU (a quarter of a /healthz; benchmarks/README.md): for a deployment whose proxy"
            " logs requests; /metrics counts and times them by route either way.",
        ),
    ] = True,
) -> None:
    """Run the HTTP/WebSocket API (uvicorn on the ``api.app:create_app`` factory)."""
    import uvicorn

    settings = get_settings()
    modules = [m.strip() for m in settings.handoff_modules.split(",") if m.strip()]
    try:  # fail here, with a message, rather than in every worker's start-up
        load_registry(modules)
    except HandoffLoadError as exc:
        raise fail(str(exc)) from exc
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": "info",
        "log_config": uvicorn_log_config(),
        # A worker answers the supervisor's ping from a thread; while it imports and warms the models
        # on a busy host that took over uvicorn's default 5 s, so every worker was killed as hung and
        # restarted forever (--workers 2 at load average 12: never ready, benchmarks/README.md).
        "timeout_worker_healthcheck": 120,
        # Chat frames are a few hundred bytes: compressing each one (permessage-deflate) saved little
        # and kept a zlib compressor and decompressor per open socket, ~45 KB (benchmarks/README.md).
        "ws_per_message_deflate": False,
        "access_log": access_log,
    }
    if workers > 1 and reuse_port and port and listeners.available():
        try:
            listeners.run_workers(uvicorn.Config("api.app:create_app", **options))
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        return
    uvicorn.run("api.app:create_app", **options)


# ``token=`` (``access_token=`` too) in a logged URL: old WebSocket clients still send ``?token=``.
_TOKEN_PARAM = re.compile(r"([?&;][\w.-]*token=)[^&#\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the value of every ``token=`` query parameter replaced by ``[redacted]``."""
    return _TOKEN_PARAM.sub(r"\1[redacted]", text)


class RedactingFormatter(logging.Formatter):
    """Formats with uvicorn's formatter ``inner`` and redacts the whole line, a traceback included."""

    def __init__(self, inner: str, **options: Any) -> None:
        super().__init__()
        module, _, name = inner.rpartition(".")
        self._inner: logging.Formatter = getattr(importlib.import_module(module), name)(**options)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging config with every line redacted (``RedactingFormatter``).

    The root logger (Baton's own warnings and errors) gets the same handler, so its lines are
    redacted too, instead of going through Python's bare last resort.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        # by name, so a worker process (``--workers``) resolves it by importing this module
        formatter["inner"] = formatter.pop("()")
        formatter["()"] = "api.cli.RedactingFormatter"
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


if __name__ == "__main__":
    app()
