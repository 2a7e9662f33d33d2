"""Similar resolved cases: an exact cosine search in memory over the cases a ``CaseRows`` table keeps.

Each case is embedded once, with the bundled MiniLM (unit-length float32 vectors, so a dot product is
the cosine), when it is stored; the vector is stored with it. A store holds the newest ``limit`` cases
as one matrix: a search is one matrix-vector product (20,000 cases: 7.7 M multiply-adds, about a
millisecond), with nothing to build or persist beside the table. A case another worker stored is read
within ``REFRESH_S`` of the next search.

This replaced an embedded chromadb (its search and upsert cost 4-7 and 8-17 ms of CPU per call at a
few thousand cases, it loaded ~30 MB into each worker, and two workers must not share its files);
cases a chromadb store holds under ``data_dir/chroma`` are read over once (``import_chroma``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from graph.case_rows import CaseRow, CaseRows, MetadataValue, chroma_cases
from graph.embeddings import DIMENSION, MODEL_ID, MiniLMEmbedder, get_embedder

REFRESH_S = 5.0  # how stale this worker's view of other workers' cases may get
DEFAULT_LIMIT = 20_000  # cases held in memory (1.5 KB each): the newest win

log = logging.getLogger(__name__)


class SimilarCase(BaseModel):
    """A past resolved conversation that resembles the current one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    summary: str
    resolution: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity, clipped to [0, 1].")
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)


def _clean_metadata(metadata: Mapping[str, Any]) -> dict[str, MetadataValue]:
    # None is dropped, so optional fields stay optional; anything else that is not a scalar is a
    # caller bug worth a clear message (the metadata is filtered on and shown as is).
    out: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            msg = f"metadata {key!r} must be str, int, float or bool, got {type(value).__name__}"
            raise TypeError(msg)
        out[key] = value
    return out


class _Index:
    """The held cases: one row of ``matrix`` per case, the newest ``limit`` by ``seq``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.most = limit + max(1, limit // 8)  # held before compacting: the limit and some slack
        self.matrix = np.zeros((min(16, self.most + 1), DIMENSION), dtype=np.float32)
        self.size = 0
        self.rows: list[CaseRow] = []  # row i of the matrix is rows[i]
        self.where: dict[str, int] = {}  # case id -> row
        self.high = 0  # the highest seq held or passed over

    def put(self, row: CaseRow, vector: np.ndarray) -> None:
        self.high = max(self.high, row.seq)
        at = self.where.get(row.id)
        if at is not None:
            if self.rows[at].seq >= row.seq:
                return  # already newer (a re-read, or this worker's own write read back)
        else:
            at = self.size
            if at == len(self.matrix):  # doubling, but never past what is held at most
                grown = max(at + 1, min(2 * at, self.most + 1))
                self.matrix = np.concatenate([self.matrix, np.zeros((grown - at, DIMENSION), np.float32)])
            self.size += 1
            self.rows.append(row)
            self.where[row.id] = at
        self.matrix[at] = vector
        self.rows[at] = row
        if self.size > self.most:  # compact now and then, not per case
            self._keep_newest()

    def _keep_newest(self) -> None:
        order = sorted(range(self.size), key=lambda i: self.rows[i].seq)[-self.limit :]
        self.matrix[: len(order)] = self.matrix[order]  # in place: the matrix keeps its size
        self.rows = [self.rows[i] for i in order]
        self.size = len(order)
        self.where = {row.id: i for i, row in enumerate(self.rows)}

    def search(
        self, query: np.ndarray, k: int, min_score: float, department: str | None
    ) -> list[tuple[CaseRow, float]]:
        if self.size == 0 or k <= 0:
            return []
        scores = self.matrix[: self.size] @ query
        if department is not None:
            keep = np.fromiter(
                (row.metadata.get("department") == department for row in self.rows), bool, self.size
            )
            scores = np.where(keep, scores, -np.inf)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top.tolist(), key=lambda i: (-scores[i], self.rows[i].seq))
        out = []
        for i in ranked:
            score = min(1.0, max(0.0, float(scores[i])))
            if np.isfinite(scores[i]) and score >= min_score:
                out.append((self.rows[i], score))
        return out


class CaseStore:
    """Resolved cases: written to ``rows``, searched in memory.

    Args:
        rows: The table (``SqliteCaseRows`` or ``PostgresCaseRows``).
        embedder: Embedder; the process-wide one when omitted.
        limit: Cases held in memory for search (the newest).
    """

    def __init__(
        self, rows: CaseRows, *, embedder: MiniLMEmbedder | None = None, limit: int = DEFAULT_LIMIT
    ) -> None:
        self._rows = rows
        self._embedder = embedder
        self._lock = threading.Lock()
        self._index = _Index(limit)
        self._read_at = time.monotonic()
        for row in rows.newest(limit):
            self._hold(row)

    @property
    def embedder(self) -> MiniLMEmbedder:
        return self._embedder or get_embedder()

    def _hold(self, row: CaseRow) -> None:
        if row.model == MODEL_ID and len(row.vector) == DIMENSION * 4:
            self._index.put(row, np.frombuffer(row.vector, dtype=np.float32))
        else:  # stored by another model: embed again, and store it so the next reader need not
            vector = self.embedder.embed_one(row.summary)
            self._write(row.id, row.summary, row.resolution, row.metadata, vector)

    def _write(
        self, case_id: str, summary: str, resolution: str, meta: dict[str, MetadataValue], vector: np.ndarray
    ) -> None:
        """Store a case with its vector and hold it (the caller holds ``_lock`` or owns the store)."""
        blob = vector.tobytes()
        seq = self._rows.put(case_id, summary, resolution, meta, MODEL_ID, blob)
        self._index.put(CaseRow(seq, case_id, summary, resolution, meta, MODEL_ID, blob), vector)

    def add_case(
        self, case_id: str, summary: str, resolution: str, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Insert or replace a resolved case (idempotent by ``case_id``).

        Args:
            case_id: Stable id of the conversation.
            summary: What the customer needed; this is the text that gets embedded and searched.
            resolution: How it was resolved.
            metadata: Scalar fields such as department or outcome (``None`` values are dropped).
        """
        meta = _clean_metadata(metadata or {})
        vector = self.embedder.embed_one(summary)
        with self._lock:
            self._write(case_id, summary, resolution, meta, vector)

    def count(self) -> int:
        """Cases stored (by every worker)."""
        return self._rows.count()

    def _refresh(self) -> None:
        """Read what other workers stored since the last read (at most every ``REFRESH_S``)."""
        now = time.monotonic()
        if now - self._read_at < REFRESH_S:
            return
        self._read_at = now
        for row in self._rows.after(self._index.high - self._rows.reread):
            self._hold(row)

    def similar_cases(
        self, query: str, k: int = 3, min_score: float = 0.3, department: str | None = None
    ) -> list[SimilarCase]:
        """Past resolved cases most similar to ``query``.

        Args:
            query: Current conversation summary or customer message.
            k: Maximum number of cases.
            min_score: Cases below this cosine similarity are left out (unrelated cases in a brief
                mislead more than they help).
            department: Only cases whose ``department`` metadata equals this, when given.

        Returns:
            Cases, best first.
        """
        if not query.strip():
            return []
        vector = self.embedder.embed_one(query)
        with self._lock:
            self._refresh()
            found = self._index.search(vector, k, min_score, department)
        return [
            SimilarCase(
                id=row.id, summary=row.summary, resolution=row.resolution, score=score, metadata=row.metadata
            )
            for row, score in found
        ]

    def import_chroma(self, path: Path) -> int:
        """Store the cases of an earlier release's chromadb file (``data_dir/chroma/chroma.sqlite3``).

        Returns:
            How many were stored.
        """
        cases = chroma_cases(path)
        for case in cases:
            self.add_case(case.id, case.summary, case.resolution, case.metadata)
        return len(cases)

    def close(self) -> None:
        """Close the table's connection."""
        self._rows.close()
