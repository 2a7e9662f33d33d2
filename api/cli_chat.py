"""Terminal conversations: the scripted ``baton demo`` and the interactive ``baton chat``."""

from __future__ import annotations

import uuid
from pathlib import Path

from rich.console import Console

from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import BatonRuntime, NotInterrupted
from graph.runtime_models import TurnResult
from graph.settings import Settings, get_settings

DEMO_SCRIPT: tuple[tuple[str, str], ...] = (
    ("customer", "Hi there"),
    (
        "customer",
        "My name is Dana Whitfield. I'm thinking of selling my house at 12 Oak Street, "
        "we're relocating for a new job.",
    ),
    ("customer", "We'd like to sell within two months, hoping for around $850,000."),
    (
        "customer",
        "Honestly I'm really stressed. My ex-husband's lawyer says there's a lien on the title "
        "and I don't know what that means for the sale.",
    ),
    ("customer", "Hello? Is anyone there?"),
    (
        "human",
        "Hi Dana, I'm Maria, a licensed agent. I can see the lien question on 12 Oak Street; "
        "I'll call the title company now.",
    ),
    (
        "return",
        "Lien is a paid-off mortgage the bank never released; title company is clearing it. "
        "Valuation visit booked Friday 10am.",
    ),
    ("customer", "Thank you! What happens after the valuation?"),
)


def _settings(policy: Path | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"policy": policy}) if policy else settings


def show(console: Console, result: TurnResult, *, routed: bool = True) -> None:
    """Print what a run produced: routing (when the router ran), replies, handoff, pending interrupt."""
    routing = result.routing
    if routing and (result.handoff or (routed and result.status not in ("awaiting_human", "human"))):
        flag = "handoff" if routing.get("handoff") else "route"
        console.print(
            f"  [dim]router: {flag} -> {routing['target']} by rule {routing['rule_id']} "
            f"(policy {routing['policy']}@{routing['policy_version']}): {routing['explanation']}[/]"
        )
    for reply in result.replies:
        colour = {"bot": "cyan", "agent": "magenta", "system": "yellow"}.get(reply.role, "white")
        console.print(f"  [{colour}]{reply.speaker or reply.role}[/]: {reply.text}", highlight=False)
    if result.handoff:
        h = result.handoff
        console.print(
            f"  [bold yellow]handoff[/] {h['from_agent']} -> {h['to']} ({h['kind']}), trigger {h['trigger']}, "
            f"urgency {h['urgency']}, priority {h['priority']}, skills {h['required_skills']}",
        )
        brief = h.get("brief", {})
        if brief.get("summary"):
            console.print(f"  [bold]brief[/]: {brief['summary']}", highlight=False)
        for fact in brief.get("facts", [])[:8]:
            console.print(f"    - {fact['key']}: {fact['value']} (turn {fact['turn']})", highlight=False)
    if result.pending_interrupt:
        console.print(
            f"  [bold red]paused[/] waiting for a human agent (handoff {result.pending_interrupt['handoff_id'][:8]}, "
            f"{result.pending_interrupt['waiting_customer_messages']} customer message(s) waiting)"
        )


async def run_demo(console: Console, policy: Path | None) -> None:
    """Play ``DEMO_SCRIPT`` against the real graph and print every step."""
    conversation = f"demo-{uuid.uuid4().hex[:8]}"
    async with BatonRuntime.open(_settings(policy)) as runtime:
        console.print(
            f"[bold]Baton demo[/] conversation {conversation} "
            f"(model: {'configured' if runtime.context.model else 'offline'})"
        )
        for who, text in DEMO_SCRIPT:
            if who == "customer":
                console.print(f"[bold green]customer[/]: {text}", highlight=False)
                result = await runtime.post_message(conversation, text)
            elif who == "human":
                console.print(f"[bold magenta]human agent resumes with a reply[/]: {text}", highlight=False)
                result = await runtime.resume(conversation, Reply(text=text, agent_id="maria"))
            else:
                console.print(
                    f"[bold magenta]human agent returns to AI[/] with note: {text}", highlight=False
                )
                result = await runtime.resume(conversation, ReturnToAI(note=text, agent_id="maria"))
            show(console, result, routed=who == "customer")
        view = await runtime.get(conversation)
        console.print(
            f"[bold]done[/]: {len(view.transcript)} messages, {len(view.handoffs)} handoffs "
            f"({', '.join(h['from_agent'] + '->' + h['to'] + ':' + h['status'] for h in view.handoffs)}), "
            f"active agent {view.active_agent}"
        )


async def run_chat(console: Console, policy: Path | None, conversation: str) -> None:
    """Interactive loop; slash commands let the user act as the human agent."""
    async with BatonRuntime.open(_settings(policy)) as runtime:
        console.print(
            f"conversation {conversation}. Type a message; /human TEXT, /return [NOTE], /close, /quit."
        )
        while True:
            try:
                line = console.input("[bold green]you[/]: ").strip()
            except (EOFError, KeyboardInterrupt):
                return
            if not line:
                continue
            if line in ("/quit", "/exit"):
                return
            try:
                if line.startswith("/human "):
                    result = await runtime.resume(conversation, Reply(text=line[7:].strip(), agent_id="cli"))
                elif line.startswith("/return"):
                    result = await runtime.resume(
                        conversation, ReturnToAI(note=line[7:].strip(), agent_id="cli")
                    )
                elif line.startswith("/close"):
                    result = await runtime.resume(conversation, Close(note=line[6:].strip(), agent_id="cli"))
                elif line.startswith("/"):
                    console.print("[red]unknown command[/]; use /human TEXT, /return [NOTE], /close, /quit")
                    continue
                else:
                    result = await runtime.post_message(conversation, line)
                    show(console, result)
                    continue
            except NotInterrupted:
                console.print("[red]no human handoff is waiting in this conversation[/]")
                continue
            except ValueError as exc:
                console.print(f"[red]{exc}[/]")
                continue
            show(console, result, routed=False)
