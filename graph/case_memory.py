"""Case memory: how past human handoffs ended, offered to later briefs as "similar case: ...".

Backed by ``graph.retrieval.CaseStore`` (an exact cosine search in memory, embedding offline with the
bundled MiniLM) over a table in the data dir's ``cases.sqlite`` or, in the scaled profile, in Postgres.
Opened lazily: an embedded worker that hands off before any case was remembered opens nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from graph.case_rows import PostgresCaseRows, SqliteCaseRows
from graph.checkpointer import describe
from graph.context import extract_facts
from graph.context.models import SimilarCase
from graph.retrieval import CaseStore
from graph.state import HandoffRecord
from graph.transcript import Turn

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
SQLITE_FILE = "cases.sqlite"


class CaseMemory:
    """Remembers resolved handoffs and finds the ones most like a new conversation.

    Args:
        data_dir: The service's data directory (the SQLite table, and an earlier release's chromadb).
        url: The checkpointer's URL: a ``postgresql://`` one keeps the cases in that database, shared
            by every worker; anything else in ``data_dir / "cases.sqlite"``.
        min_score: The least cosine similarity a cited case has.
    """

    def __init__(self, data_dir: Path, url: str = "", *, min_score: float = 0.45) -> None:
        self._data_dir = data_dir
        self._url = url
        self._min_score = min_score
        self._store: CaseStore | None = None
        self._lock = threading.Lock()

    @property
    def _postgres(self) -> bool:
        return describe(self._url) == "postgres"  # the checkpointer's own reading of the URL

    @property
    def _sqlite(self) -> Path:
        return self._data_dir / SQLITE_FILE

    @property
    def _chroma(self) -> Path:
        return self._data_dir / "chroma" / "chroma.sqlite3"

    @property
    def store(self) -> CaseStore:
        """The case store, opened on first use (cases an earlier release kept in chromadb read over)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._open()
        return self._store

    def _open(self) -> CaseStore:
        store = CaseStore(PostgresCaseRows(self._url) if self._postgres else SqliteCaseRows(self._sqlite))
        if self._chroma.is_file() and store.count() == 0:
            try:
                moved = store.import_chroma(self._chroma)
            except Exception:  # an unreadable old store must not keep the new one from working
                log.warning("could not read the cases of %s", self._chroma, exc_info=True)
            else:
                log.info("read %d resolved cases over from %s", moved, self._chroma)
        return store

    def similar(self, query: str) -> list[SimilarCase]:
        """Resolved cases whose summary resembles ``query``, best first (the brief's retriever)."""
        if (
            self._store is None
            and not self._postgres
            and not (self._sqlite.is_file() or self._chroma.is_file())
        ):
            # No case was ever remembered under this data dir: nothing to find, nothing to open.
            return []
        return [
            SimilarCase(case_id=c.id, summary=c.summary, resolution=c.resolution, score=round(c.score, 3))
            for c in self.store.similar_cases(query, k=3, min_score=self._min_score)
        ]

    def close(self) -> None:
        """Close the store's connection, if it was opened."""
        if self._store is not None:
            self._store.close()
            self._store = None

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
