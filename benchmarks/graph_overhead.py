"""Per-turn cost of Baton's graph versus a bare LangGraph graph of the same shape, in one run.

Both run the same conversation script over the same kind of checkpointer with ``durability="sync"``:
"Hi" -> a bot answers; "I want to sell my house" -> a bot answers; "Can I talk to a real person
please?" -> the human node pauses (``interrupt``); a human reply resumes and pauses again; a close
resumes and ends. Five turns per conversation.

* Baton: ``BatonRuntime`` offline with the real real_estate policy (signal extraction with the
  embedding/TF-IDF intent classifier, policy evaluation, brief building, transcript bookkeeping; the
  runtime takes the states it reports from the ``values`` stream, and a resume reads the state once to
  check that a human is awaited).
* Bare: router -> bot | human nodes doing trivial work, the same interrupt/resume pattern,
  ``ainvoke`` only; on Baton's checkpointer, or (``--bare-saver langgraph``) on LangGraph's stock
  ``AsyncSqliteSaver``, which a LangGraph user would pick (Baton's runs ``SqliteSaver`` in place).

A profiled second pass of Baton (pyinstrument, async mode) splits Baton's turn into the analyzer,
brief building, checkpointer calls and the rest (LangGraph + runtime + nodes' own code). With
``--calls``, cProfile counts the Python calls per turn of each graph on the event loop's thread (the
analysis threads' work is not in it): a figure that does not move with the machine's load.

    .venv/bin/python benchmarks/graph_overhead.py --turns 500 --checkpointer sqlite \\
        --json benchmarks/results/graph_overhead_sqlite.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import common
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from graph.actions import Close, Reply
from graph.checkpointer import open_checkpointer
from graph.runtime import BatonRuntime
from graph.settings import Settings

SCRIPT = ["Hi", "I want to sell my house", "Can I talk to a real person please?"]
TURNS_PER_CONVERSATION = 5


def bare_graph(saver: Any) -> Any:
    """router -> bot | human, trivial work, the human node interrupts like Baton's."""

    async def router(state: MessagesState) -> Command[Any]:
        text = str(state["messages"][-1].content)
        return Command(goto="human" if "real person" in text else "bot")

    async def bot(state: MessagesState) -> dict[str, Any]:
        return {"messages": [AIMessage("ok", name="bot")]}

    async def human(state: MessagesState) -> Command[Any]:
        action = interrupt({"waiting": len(state["messages"])})
        if action["type"] == "close":
            return Command(goto=END, update={"messages": [AIMessage("bye", name="human")]})
        return Command(goto="human", update={"messages": [AIMessage(action["text"], name="human")]})

    builder = StateGraph(MessagesState)
    builder.add_node("router", router, destinations=("bot", "human"))
    builder.add_node("bot", bot)
    builder.add_node("human", human, destinations=("human", END))
    builder.add_edge(START, "router")
    builder.add_edge("bot", END)
    return builder.compile(checkpointer=saver)


async def run_bare(saver: Any, conversations: int, prefix: str, snapshots: bool = False) -> float:
    """Seconds for ``conversations`` scripted conversations on the bare graph.

    With ``snapshots`` each turn also reads the state before and after, as ``BatonRuntime`` did
    before it took both from the ``values`` stream (kept to show what those reads cost).
    """
    graph = bare_graph(saver)
    started = time.perf_counter()
    for i in range(conversations):
        config: Any = {"configurable": {"thread_id": f"{prefix}-{i}"}}
        inputs: list[Any] = [{"messages": [HumanMessage(text)]} for text in SCRIPT]
        inputs += [Command(resume={"type": "reply", "text": "hello"}), Command(resume={"type": "close"})]
        for payload in inputs:
            if snapshots:
                await graph.aget_state(config)
            await graph.ainvoke(payload, config, durability="sync")
            if snapshots:
                await graph.aget_state(config)
    return time.perf_counter() - started


async def run_baton(runtime: BatonRuntime, conversations: int, prefix: str) -> float:
    """Seconds for ``conversations`` scripted conversations through ``BatonRuntime``."""
    started = time.perf_counter()
    for i in range(conversations):
        cid = f"{prefix}-{i}"
        for text in SCRIPT:
            await runtime.post_message(cid, text)
        await runtime.resume(cid, Reply(text="Hello, I'm Maria.", agent_id="a1"))
        await runtime.resume(cid, Close(note="done", text="", agent_id="a1"))
    return time.perf_counter() - started


async def state_bytes(graph: Any, thread_id: str) -> float:
    """Mean serialised size of the state over one conversation's checkpoints (what each one stores)."""
    serde = JsonPlusSerializer()
    sizes = [
        sum(len(serde.dumps_typed(v)[1]) for v in snap.values.values())
        async for snap in graph.aget_state_history({"configurable": {"thread_id": thread_id}})
    ]
    return sum(sizes) / max(1, len(sizes))


BUCKETS: dict[str, Callable[[str, str], bool]] = {
    "analyzer_classifier": lambda fn, path: fn == "extract" and "signal_service" in path,
    "brief_building": lambda fn, path: fn == "build_brief" and "context" in path,
    "checkpointer": lambda fn, path: (
        fn in {"aput", "aput_writes", "aget_tuple", "alist"}
        and ("checkpoint" in path or "inline_sqlite" in path)
    ),
}


def breakdown(root: Any) -> dict[str, float]:
    """Seconds in the outermost frame of each bucket (a bucket never counts itself twice)."""
    totals = dict.fromkeys(BUCKETS, 0.0)

    def walk(frame: Any, inside: frozenset[str]) -> None:
        here = inside
        for name, match in BUCKETS.items():
            if name not in inside and match(frame.function or "", frame.file_path or ""):
                totals[name] += frame.time
                here = here | {name}
        for child in frame.children:
            walk(child, here)

    walk(root, frozenset())
    return totals


@contextlib.asynccontextmanager
async def _bare_saver(kind: str, url: str, tmp: Path) -> AsyncIterator[Any]:
    """Baton's checkpointer for ``url``, or LangGraph's ``AsyncSqliteSaver`` on the same file."""
    if kind == "langgraph" and url.startswith("sqlite:///"):
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(url.removeprefix("sqlite:///")) as saver:
            await saver.conn.execute("PRAGMA journal_mode=WAL")
            await saver.conn.execute("PRAGMA synchronous=NORMAL")
            await saver.setup()
            yield saver
        return
    async with open_checkpointer(url, tmp) as saver:
        yield saver


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Run both graphs (after a warm-up) and the profiled Baton pass."""
    conversations = max(1, args.turns // TURNS_PER_CONVERSATION)
    tmp = Path(tempfile.mkdtemp(prefix="baton-overhead-"))
    url = "memory" if args.checkpointer == "memory" else f"sqlite:///{tmp / 'checkpoints.sqlite'}"
    bare_url = "memory" if args.checkpointer == "memory" else f"sqlite:///{tmp / 'bare.sqlite'}"
    policy = common.ROOT / "policies" / "real_estate.yaml"
    settings = Settings(data_dir=tmp / "data", policy=policy, offline=True, case_memory=args.case_memory)
    async with (
        BatonRuntime.open(settings, checkpoint_url=url) as runtime,
        _bare_saver(args.bare_saver, bare_url, tmp) as bare_saver,
    ):
        await run_baton(runtime, 3, "warm")
        await run_bare(bare_saver, 3, "warm")
        baton_s, bare_s, snap_s = 0.0, 0.0, 0.0
        for rnd in range(args.rounds):  # interleaved, so machine noise hits all alike
            bare_s += await run_bare(bare_saver, conversations, f"bare{rnd}")
            snap_s += await run_bare(bare_saver, conversations, f"snap{rnd}", snapshots=True)
            baton_s += await run_baton(runtime, conversations, f"baton{rnd}")
        turns = conversations * TURNS_PER_CONVERSATION * args.rounds
        calls = {
            "bare_calls_per_turn": await calls_per_turn(lambda n: run_bare(bare_saver, n, "calls")),
            "baton_calls_per_turn": await calls_per_turn(lambda n: run_baton(runtime, n, "calls")),
        } if args.calls else {}  # fmt: skip
        sizes = {
            **calls,
            "baton_state_bytes_per_checkpoint": round(await state_bytes(runtime.graph, "baton0-0")),
            "bare_state_bytes_per_checkpoint": round(await state_bytes(bare_graph(bare_saver), "bare0-0")),
        }
        parts: dict[str, float] = {}
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled", interval=0.0005)
            profiler.start()
            profiled_s = await run_baton(runtime, max(1, conversations // 2), "prof")
            session = profiler.stop()
            found = breakdown(session.root_frame())
            share = {k: v / profiled_s for k, v in found.items()}
            baton_ms = baton_s / turns * 1000
            parts = {f"{k}_ms_per_turn": round(v * baton_ms, 3) for k, v in share.items()}
            parts["langgraph_runtime_nodes_ms_per_turn"] = round(baton_ms * (1 - sum(share.values())), 3)
            if args.profile_out:
                Path(args.profile_out).write_text(session_text(profiler), encoding="utf-8")
    baton_ms, bare_ms = baton_s / turns * 1000, bare_s / turns * 1000
    return {
        "checkpointer": args.checkpointer,
        "bare_saver": args.bare_saver,
        "case_memory": args.case_memory,
        "turns": turns,
        "baton_ms_per_turn": round(baton_ms, 3),
        "bare_ms_per_turn": round(bare_ms, 3),
        "ratio": round(baton_ms / bare_ms, 2),
        "bare_with_runtime_snapshots_ms_per_turn": round(snap_s / turns * 1000, 3),
        "ratio_vs_bare_with_snapshots": round(baton_s / snap_s, 2),
        "bare_plus_analyzer_and_brief_ms_per_turn": round(
            bare_ms
            + parts.get("analyzer_classifier_ms_per_turn", 0)
            + parts.get("brief_building_ms_per_turn", 0),
            3,
        )
        if parts
        else None,
        **parts,
        **sizes,
    }


async def calls_per_turn(run: Callable[[int], Awaitable[float]], conversations: int = 20) -> float:
    """Python function calls on the event loop's thread per turn of ``run(conversations)`` (five turns
    each), counted by cProfile: unlike seconds, the same on a busy machine and a quiet one."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await run(conversations)
    finally:
        profiler.disable()
    calls = sum(entry[1] for entry in pstats.Stats(profiler).stats.values())  # type: ignore[attr-defined]
    return round(calls / (conversations * TURNS_PER_CONVERSATION), 1)


def session_text(profiler: Any) -> str:
    """The profile as text (pyinstrument's console renderer, no colour)."""
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


def parse() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--turns", type=int, default=500, help="turns per graph per round (5 per conversation)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved bare/baton rounds")
    p.add_argument("--checkpointer", choices=["sqlite", "memory"], default="sqlite")
    p.add_argument(
        "--bare-saver",
        choices=["same", "langgraph"],
        default="same",
        help="the bare graph's SQLite saver: Baton's, or LangGraph's AsyncSqliteSaver",
    )
    p.add_argument("--case-memory", action="store_true", help="cite similar resolved cases (the case memory)")
    p.add_argument("--no-profile", dest="profile", action="store_false", help="skip the profiled pass")
    p.add_argument("--profile-out", default=None, help="write the pyinstrument text profile here")
    p.add_argument(
        "--calls", action="store_true", help="also count Python calls per turn of each graph (cProfile)"
    )
    p.add_argument("--json", default=None, help="write the report here")
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    result = asyncio.run(main(options))
    print(common.table(result.items(), f"graph_overhead ({options.checkpointer})"))
    common.write_json(options.json, result)
