"""What nodes need, passed in through LangGraph's ``context_schema`` instead of module globals."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.language_models.chat_models import BaseChatModel

from graph.handoffs import HandoffRegistry
from graph.settings import Settings

if TYPE_CHECKING:
    from graph.context.history import CustomerHistory
    from graph.context.models import SimilarCase
    from graph.policy_store import PolicyStore
    from graph.signal_service import SignalService


@dataclass
class BatonContext:
    """Per-run dependencies: the live policy, the signal extractor, the model and the hooks."""

    settings: Settings
    policies: PolicyStore
    signals: SignalService
    model: BaseChatModel | None = None
    registry: HandoffRegistry = field(default_factory=HandoffRegistry)
    retriever: Callable[[str], Sequence[SimilarCase]] | None = None
    history: CustomerHistory | None = None
    """Earlier conversations of a conversation's customer, for briefs (the service sets it)."""
    clock: Callable[[], float] = time.time
    """Unix time for turn stamps and time-based rules (tests pass a fake clock)."""
