"""The one Baton graph, wired top to bottom: router -> bot | human_agent | consult -> END."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graph.deps import BatonContext
from graph.state import BatonState, ConsultTask, EntryState
from nodes.billing_bot import billing_bot
from nodes.buyer_bot import buyer_bot
from nodes.concierge_bot import concierge_bot
from nodes.consult import consult, consult_merge
from nodes.human_agent import human_agent
from nodes.luxury_specialist import luxury_specialist
from nodes.names import (
    BILLING_BOT,
    BOT_NODES,
    BUYER_BOT,
    CONCIERGE_BOT,
    CONSULT,
    CONSULT_MERGE,
    HUMAN_AGENT,
    LUXURY_SPECIALIST,
    ROUTER,
    SALES_BOT,
    SELLER_BOT,
    SUPPORT_BOT,
    TECH_BOT,
)
from nodes.router import DESTINATIONS, router
from nodes.sales_bot import sales_bot
from nodes.seller_bot import seller_bot
from nodes.support_bot import support_bot
from nodes.tech_bot import tech_bot

GRAPH_ID = "baton"

BOTS = {
    CONCIERGE_BOT: concierge_bot,
    SELLER_BOT: seller_bot,
    BUYER_BOT: buyer_bot,
    LUXURY_SPECIALIST: luxury_specialist,
    SUPPORT_BOT: support_bot,
    SALES_BOT: sales_bot,
    BILLING_BOT: billing_bot,
    TECH_BOT: tech_bot,
}
assert set(BOTS) == set(BOT_NODES)

BatonGraph = CompiledStateGraph[Any, BatonContext, Any, Any]


async def _entry(state: EntryState) -> str:
    """Where a run starts: a thread a person holds skips the router (the turn is recorded and the
    human node pauses again; nothing is routed while a person has the conversation).

    A coroutine because LangGraph runs a plain function on its thread pool: every turn waited for a
    thread, and for the event loop to hand it the GIL, to read one field. Typed with ``EntryState``,
    it reads that field alone instead of a copy of the whole state with the new turn applied.
    """
    return HUMAN_AGENT if state.get("status") in ("awaiting_human", "human") else ROUTER


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None = None) -> BatonGraph:
    """Compile the Baton graph; every bot answers once and ends the run for that turn."""
    builder = StateGraph(BatonState, context_schema=BatonContext)
    builder.add_node(ROUTER, router, destinations=DESTINATIONS)
    for name, node in BOTS.items():
        builder.add_node(name, node)
        builder.add_edge(name, END)
    builder.add_node(HUMAN_AGENT, human_agent, destinations=(HUMAN_AGENT, *BOT_NODES, END))
    # mypy cannot match a TypedDict-input node against the overloads; the runtime accepts it.
    builder.add_node(CONSULT, consult, input_schema=ConsultTask)  # type: ignore[call-overload]
    builder.add_node(CONSULT_MERGE, consult_merge)
    builder.add_conditional_edges(START, _entry, [ROUTER, HUMAN_AGENT])
    builder.add_edge(CONSULT, CONSULT_MERGE)
    builder.add_edge(CONSULT_MERGE, END)
    return builder.compile(checkpointer=checkpointer, name=GRAPH_ID)
