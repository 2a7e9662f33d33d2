"""The peer server's graph for ``peer_langgraph_api.py``: Baton's shape in plain LangGraph.

router -> bot (a canned reply) | human (``interrupt``; a resume appends the human's reply and pauses
again for the next one, as Baton's human node does). Imports only ``langgraph``, since it runs inside
``langgraph dev`` in its own venv.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt


class State(MessagesState):
    """Messages plus who holds the conversation."""

    status: str


def router(state: State) -> dict[str, Any]:
    """A person is asked for by name; everything else stays with the bot."""
    text = str(state["messages"][-1].content).lower()
    asks = any(word in text for word in ("person", "human", "agent"))
    return {"status": "human" if asks or state.get("status") == "human" else "bot"}


def route(state: State) -> Literal["bot", "human"]:
    """The branch the router chose."""
    return "human" if state["status"] == "human" else "bot"


def bot(state: State) -> dict[str, Any]:
    """The bot's reply."""
    return {"messages": [{"role": "assistant", "content": "Happy to help. What are you looking for?"}]}


def human(state: State) -> dict[str, Any]:
    """Wait for the human's action; a reply is appended and the node waits again."""
    action = interrupt({"waiting_for": "human", "messages": len(state["messages"])})
    return {"messages": [{"role": "assistant", "content": str(action.get("text", ""))}]}


def after_human(state: State) -> Literal["human", "__end__"]:
    """A human-held conversation pauses for the next action."""
    return "human" if state["status"] == "human" else END


builder = StateGraph(State)
builder.add_node("router", router)
builder.add_node("bot", bot)
builder.add_node("human", human)
builder.add_edge(START, "router")
builder.add_conditional_edges("router", route)
builder.add_edge("bot", END)
builder.add_conditional_edges("human", after_human)
graph = builder.compile()
