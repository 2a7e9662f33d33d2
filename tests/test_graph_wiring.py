"""How the compiled graph runs its own functions: on the event loop, reading only what they need.

LangGraph runs a plain (non-async) node or branch on its thread pool, so each turn would wait for a
thread and for the loop to hand that thread the GIL. These tests hold every node and branch of the
Baton graph to a coroutine, and the entry branch to the one field it decides on.
"""

from __future__ import annotations

from functools import partial

from langchain_core.runnables.config import run_in_executor
from langgraph._internal._runnable import RunnableCallable
from langgraph.graph import START

from graph.builder import build_graph
from graph.runtime import BatonRuntime
from graph.state import EntryState


def _on_pool(runnable: object) -> bool:
    """Whether LangGraph would run ``runnable`` on its thread pool from an async run."""
    afunc = getattr(runnable, "afunc", None)
    return (
        isinstance(runnable, RunnableCallable)
        and isinstance(afunc, partial)
        and afunc.func is run_in_executor
    )


def test_every_node_and_branch_runs_on_the_event_loop() -> None:
    builder = build_graph().builder
    branches = [
        (f"{src}->{name}", spec.path)
        for src, specs in builder.branches.items()
        for name, spec in specs.items()
    ]
    nodes = [(name, spec.runnable) for name, spec in builder.nodes.items()]
    assert branches
    assert nodes
    assert [name for name, runnable in branches + nodes if _on_pool(runnable)] == []


def test_a_plain_function_would_be_caught() -> None:
    """The check above can fail: a plain function is put on the pool."""
    from langgraph._internal._runnable import coerce_to_runnable

    def plain(state: EntryState) -> str:
        return "router"

    assert _on_pool(coerce_to_runnable(plain, name=None, trace=False))


def test_the_entry_reads_only_whether_a_person_holds_the_thread() -> None:
    (spec,) = build_graph().builder.branches[START].values()
    assert spec.input_schema is EntryState
    assert set(EntryState.__annotations__) == {"status"}


async def test_the_entry_still_sends_held_threads_to_the_person(
    runtime: BatonRuntime, conversation_id: str
) -> None:
    first = await runtime.post_message(conversation_id, "Hi")
    assert first.pending_interrupt is None
    held = await runtime.post_message(conversation_id, "I want to talk to a human")
    assert held.pending_interrupt is not None
    again = await runtime.post_message(conversation_id, "hello? anyone there?")
    assert again.pending_interrupt is not None  # recorded, paused again: not routed
    assert again.replies == []
    view = await runtime.get(conversation_id)
    assert view.status == "awaiting_human"
    assert view.transcript[-1].text == "hello? anyone there?"
