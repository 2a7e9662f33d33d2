"""Terminal conversations: the scripted ``baton demo`` and the interactive ``baton chat``.

Both run the service in process and go through its one door (``api/turns.py``), like REST: the
terminal posts customer turns as the admin and acts as a human agent through the desk.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from api import agent_handoffs
from api.app import create_app
from api.auth import Principal
from api.errors import ApiError
from api.turns import CustomerTurn, HumanTurn, TurnService
from desk.errors import DeskError
from desk.models import AgentSpec
from graph.actions import Close, Reply, ReturnToAI
from graph.runtime import NotInterrupted
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


@dataclass
class Terminal:
    """The terminal user as Baton sees them: the admin posting customer turns, and one agent."""

    turns: TurnService
    agent_id: str

    @property
    def admin(self) -> Principal:
        return Principal("admin")

    @property
    def agent(self) -> Principal:
        return Principal("agent", self.agent_id)

    async def say(self, conversation: str, text: str) -> TurnResult:
        """A customer turn through the one door; a human handoff it starts is taken by this agent."""
        outcome = await self.turns.turn(self.admin, CustomerTurn(conversation, (text,)))
        if outcome.result.handoff and outcome.result.handoff.kind == "human":
            await self._take(outcome.result.handoff.id)
        return outcome.result

    async def act(self, conversation: str, action: Reply | ReturnToAI | Close) -> TurnResult:
        """A human action as this agent, through the desk like any agent's."""
        await self.turns.engine.desk.heartbeat(self.agent_id)
        request = HumanTurn(action, conversation_id=conversation)
        return (await self.turns.turn(self.agent, request)).result

    async def _take(self, handoff_id: str) -> None:
        handoff = await self.turns.engine.desk.get(handoff_id)
        if handoff.offered_agent_id == self.agent_id:
            await agent_handoffs.accept(self.turns, self.agent, handoff_id)


@asynccontextmanager
async def terminal(policy: Path | None, agent_id: str) -> AsyncIterator[Terminal]:
    """The service in process (same runtime, desk, store and door as ``baton serve``) and its agent.

    The agent has every skill the policy asks for, so each human handoff is offered to the terminal.
    """
    app = create_app(_settings(policy))
    async with app.router.lifespan_context(app):
        turns: TurnService = app.state.turns
        policy_now = turns.engine.runtime.context.policies.current().policy
        skills = {s for t in policy_now.targets.values() for s in t.skills}
        skills |= {s for r in policy_now.rules for s in (*r.required_skills, *r.optional_skills)}
        spec = AgentSpec(
            id=agent_id, display_name=agent_id, skills=dict.fromkeys(skills, 1.0), max_concurrent=50
        )
        await turns.engine.desk.register_agent(spec.model_copy(update={"status": "online"}))
        beat = asyncio.create_task(_heartbeat(turns, agent_id))
        try:
            yield Terminal(turns, agent_id)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat


async def _heartbeat(turns: TurnService, agent_id: str) -> None:
    while True:  # the person at the terminal is there as long as the command runs
        await turns.engine.desk.heartbeat(agent_id)
        await asyncio.sleep(5)


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
            f"  [bold yellow]handoff[/] {h.from_agent} -> {h.to} ({h.kind}), trigger {h.trigger}, "
            f"urgency {h.urgency}, priority {h.priority}, skills {h.required_skills}",
        )
        brief = h.brief
        if brief.get("summary"):
            console.print(f"  [bold]brief[/]: {brief['summary']}", highlight=False)
        for fact in brief.get("facts", [])[:8]:
            console.print(f"    - {fact['key']}: {fact['value']} (turn {fact['turn']})", highlight=False)
    waiting = result.pending_interrupt
    if waiting:
        console.print(
            f"  [bold red]paused[/] waiting for a human agent (handoff {waiting.handoff_id[:8]}, "
            f"{waiting.waiting_customer_messages} customer message(s) waiting)"
        )


async def run_demo(console: Console, policy: Path | None) -> None:
    """Play ``DEMO_SCRIPT`` through the service's one door and print every step."""
    conversation = f"demo-{uuid.uuid4().hex[:8]}"
    async with terminal(policy, "maria") as term:
        runtime = term.turns.engine.runtime
        await term.turns.engine.register(conversation)
        console.print(
            f"[bold]Baton demo[/] conversation {conversation} "
            f"(model: {'configured' if runtime.context.model else 'offline'})"
        )
        for who, text in DEMO_SCRIPT:
            if who == "customer":
                console.print(f"[bold green]customer[/]: {text}", highlight=False)
                result = await term.say(conversation, text)
            elif who == "human":
                console.print(f"[bold magenta]human agent resumes with a reply[/]: {text}", highlight=False)
                result = await term.act(conversation, Reply(text=text, agent_id="maria"))
            else:
                console.print(
                    f"[bold magenta]human agent returns to AI[/] with note: {text}", highlight=False
                )
                result = await term.act(conversation, ReturnToAI(note=text, agent_id="maria"))
            show(console, result, routed=who == "customer")
        view = await runtime.get(conversation)
        console.print(
            f"[bold]done[/]: {len(view.transcript)} messages, {len(view.handoffs)} handoffs "
            f"({', '.join(f'{h.from_agent}->{h.to}:{h.status}' for h in view.handoffs)}), "
            f"active agent {view.active_agent}"
        )


async def run_chat(console: Console, policy: Path | None, conversation: str) -> None:
    """Interactive loop; slash commands let the user act as the human agent (``cli``)."""
    async with terminal(policy, "cli") as term:
        if not await term.turns.engine.register(conversation):
            console.print(f"[red]conversation {conversation} was deleted; ids are not reused[/]")
            return
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
                    result = await term.act(conversation, Reply(text=line[7:].strip(), agent_id="cli"))
                elif line.startswith("/return"):
                    result = await term.act(conversation, ReturnToAI(note=line[7:].strip(), agent_id="cli"))
                elif line.startswith("/close"):
                    result = await term.act(conversation, Close(note=line[6:].strip(), agent_id="cli"))
                elif line.startswith("/"):
                    console.print("[red]unknown command[/]; use /human TEXT, /return [NOTE], /close, /quit")
                    continue
                else:
                    show(console, await term.say(conversation, line))
                    continue
            except NotInterrupted:
                console.print("[red]no human handoff is waiting in this conversation[/]")
                continue
            except (ApiError, DeskError, ValueError) as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                continue
            show(console, result, routed=False)
