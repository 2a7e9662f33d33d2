"""Case memory: how past human handoffs ended, offered to later briefs as "similar case: ...".

Backed by the embedded chromadb store (``graph.retrieval.CaseStore``) under the data dir, embedding
offline with the bundled MiniLM model. Opened lazily: a process that never hands off, or hands off
before any case was remembered, never loads it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from graph.context import extract_facts
from graph.context.models import SimilarCase
from graph.state import HandoffRecord
from graph.transcript import Turn

if TYPE_CHECKING:
    from graph.retrieval import CaseStore

# What says whose case it was: who the customer is and how to reach them. Places, dates and the kinds
# of things discussed ("probate paperwork") are what makes a case similar, and stay.
IDENTIFYING = frozenset(
    {"customer_name", "person", "name", "username", "email", "phone", "url", "account_id", "order_id"}
    | {"ticket_id", "id", "street_address", "zip_code", "pin_number", "security_answer"}
)
_NUMBER = re.compile(r"[$€£]?\d[\d,.:/-]*(?:\s?(?:k|m|million|thousand)\b)?", re.IGNORECASE)


def scrub(text: str, facts: Iterable[tuple[str, str]]) -> str:
    """Replace what identifies a customer (their stated facts, names, ids, numbers) by ``[key]``.

    A similar case is shown to other customers' agents: it may say what kind of problem it was and
    how it was solved, never whose it was.
    """
    found = list(facts)
    stated = extract_facts([Turn(index=0, role="customer", text=text)])
    found += [(f.key, f.value) for f in stated if f.key in IDENTIFYING]
    for key, value in sorted(found, key=lambda kv: -len(kv[1])):
        if len(value) < 2:
            continue
        text = re.sub(re.escape(value), f"[{key}]", text, flags=re.IGNORECASE)
        if key in ("customer_name", "name", "username"):
            for part in value.split():
                if len(part) >= 3:
                    text = re.sub(rf"\b{re.escape(part)}\b", f"[{key}]", text, flags=re.IGNORECASE)
    return _NUMBER.sub("[number]", text)


log = logging.getLogger(__name__)


class CaseMemory:
    """Remembers resolved handoffs and finds the ones most like a new conversation."""

    def __init__(self, data_dir: Path, *, min_score: float = 0.45) -> None:
        self._data_dir = data_dir
        self._min_score = min_score
        self._store: CaseStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> CaseStore:
        """The chromadb-backed store, opened on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    # chromadb (~35 MB with its gRPC and telemetry modules) loads with the first brief.
                    from graph.retrieval import CaseStore

                    self._store = CaseStore(self._data_dir)
        return self._store

    def similar(self, query: str) -> list[SimilarCase]:
        """Resolved cases whose summary resembles ``query``, best first (the brief's retriever)."""
        if self._store is None and not (self._data_dir / "chroma").is_dir():
            # No case was ever remembered under this data dir (``CaseStore`` keeps its database in
            # ``chroma``): nothing to find, and a worker's first brief need not load chromadb (~31 MB,
            # ~0.4 s). A case another worker remembers creates the directory; it is looked for again.
            return []
        return [
            SimilarCase(case_id=c.id, summary=c.summary, resolution=c.resolution, score=round(c.score, 3))
            for c in self.store.similar_cases(query, k=3, min_score=self._min_score)
        ]

    def remember(self, record: HandoffRecord) -> None:
        """Index a human handoff that ended with a note (returned to AI or closed)."""
        brief = record.brief
        facts = [(str(f["key"]), str(f["value"])) for f in brief.get("facts", []) if f.get("value")]
        summary = scrub(str(brief.get("goal") or brief.get("summary") or "").strip(), facts)
        note = scrub(record.note.strip(), facts)
        if not summary or not note:
            return  # nothing a later agent could learn from
        try:
            self.store.add_case(
                record.id,
                summary,
                note,
                {"target": record.to, "trigger": record.trigger, "outcome": record.status},
            )
        except Exception:  # the conversation must go on even if the index is unavailable
            log.warning("could not index handoff %s in case memory", record.id, exc_info=True)
