"""Similar resolved cases and knowledge snippets, in an embedded chromadb under the data directory.

Both collections embed with :class:`MiniLMEmbeddingFunction` (the bundled MiniLM) (chromadb's default
embedder downloads a model at run time, which a production box must never do) and use cosine space,
so a hit's score is ``1 - cosine distance``, clipped to [0, 1].
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.config import Settings
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import BaseModel, ConfigDict, Field

from graph.embeddings import MODEL_ID, MiniLMEmbedder, get_embedder
from graph.private_files import make_private_dir

CASES = "resolved_cases"
KNOWLEDGE = "knowledge"
_RECOUNT_S = 5.0  # how stale a small count may be before it is read again

MetadataValue = str | int | float | bool


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """chromadb embedding function backed by :class:`MiniLMEmbedder`.

    Passing it to every collection keeps chromadb from reaching for its default embedder, which
    downloads a model at run time.

    Args:
        embedder: Embedder to use; the process-wide one when omitted.
    """

    def __init__(self, embedder: MiniLMEmbedder | None = None) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:
        """Embed documents for chromadb.

        Args:
            input: Document texts.

        Returns:
            One float32 vector per document.
        """
        embedder = self._embedder or get_embedder()
        return list(embedder.embed(list(input)))

    @staticmethod
    def name() -> str:
        """Name chromadb stores in the collection config."""
        return "baton-minilm-int8"

    def default_space(self) -> Space:
        """Cosine: the vectors are normalised sentence embeddings."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Spaces in which these vectors are meaningful."""
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
        """Rebuild from a stored config (there is nothing to configure)."""
        return MiniLMEmbeddingFunction()

    def get_config(self) -> dict[str, Any]:
        """Serializable config; the model id lets a reader notice a model change."""
        return {"model_id": MODEL_ID}


class SimilarCase(BaseModel):
    """A past resolved conversation that resembles the current one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    summary: str
    resolution: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity, clipped to [0, 1].")
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)


class KnowledgeHit(BaseModel):
    """A knowledge snippet relevant to a query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    text: str
    source: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity, clipped to [0, 1].")


def _score(distance: float) -> float:
    return min(1.0, max(0.0, 1.0 - distance))


def _clean_metadata(metadata: Mapping[str, Any]) -> dict[str, MetadataValue]:
    # chromadb rejects None and nested values; dropping None keeps optional fields optional, while
    # anything else unsupported is a caller bug worth a clear message.
    out: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        if not isinstance(value, str | int | float | bool):
            msg = f"metadata {key!r} must be str, int, float or bool, got {type(value).__name__}"
            raise TypeError(msg)
        out[key] = value
    return out


class CaseStore:
    """Resolved cases and knowledge snippets in a persistent, embedded chromadb.

    Args:
        data_dir: Service data directory; the database lives in ``data_dir / "chroma"``.
        embedder: Embedder; the process-wide one when omitted.
    """

    def __init__(self, data_dir: Path, *, embedder: MiniLMEmbedder | None = None) -> None:
        path = Path(data_dir) / "chroma"
        make_private_dir(Path(data_dir))
        make_private_dir(path)  # resolved cases: chromadb creates its files world-readable
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        embedding_function = MiniLMEmbeddingFunction(embedder)
        self._sizes: dict[str, tuple[int, float]] = {}  # collection -> (count, when)
        self._cases = self._collection(CASES, embedding_function)
        self._knowledge = self._collection(KNOWLEDGE, embedding_function)

    def _collection(self, name: str, embedding_function: MiniLMEmbeddingFunction) -> Collection:
        return self._client.get_or_create_collection(
            name,
            embedding_function=embedding_function,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )

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
        meta["resolution"] = resolution
        self._cases.upsert(ids=[case_id], documents=[summary], metadatas=[meta])
        self._sizes.pop(CASES, None)

    def add_knowledge(self, doc_id: str, text: str, source: str) -> None:
        """Insert or replace a knowledge snippet (idempotent by ``doc_id``).

        Args:
            doc_id: Stable id of the snippet.
            text: Snippet text.
            source: Where it comes from (file, URL, policy name).
        """
        self._knowledge.upsert(ids=[doc_id], documents=[text], metadatas=[{"source": source}])
        self._sizes.pop(KNOWLEDGE, None)

    def count(self) -> dict[str, int]:
        """Number of stored items per collection."""
        return {CASES: self._cases.count(), KNOWLEDGE: self._knowledge.count()}

    def _size(self, collection: Collection, k: int) -> int:
        """``collection.count()``, cached: counting on every brief cost a chromadb call per handoff.

        Nothing deletes from these collections, so a count of ``k`` or more stays good for ranking;
        below that it is re-read after this process adds a case or once it is a few seconds old
        (another worker may have added some).
        """
        known = self._sizes.get(collection.name)
        now = time.monotonic()
        if known is None or (known[0] < k and now - known[1] > _RECOUNT_S):
            known = (collection.count(), now)
            self._sizes[collection.name] = known
        return known[0]

    def _query(
        self, collection: Collection, query: str, k: int, where: dict[str, Any] | None
    ) -> list[tuple[str, str, dict[str, Any], float]]:
        n = min(k, self._size(collection, k))
        if n <= 0 or not query.strip():
            return []
        result = collection.query(
            query_texts=[query],
            n_results=n,
            where=where,  # type: ignore[arg-type]
            include=["documents", "metadatas", "distances"],
        )
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (id_, doc or "", dict(meta or {}), _score(float(dist)))
            for id_, doc, meta, dist in zip(result["ids"][0], documents, metadatas, distances, strict=True)
        ]

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
        where = {"department": department} if department else None
        out = []
        for id_, doc, meta, score in self._query(self._cases, query, k, where):
            if score < min_score:
                continue
            resolution = str(meta.pop("resolution", ""))
            out.append(SimilarCase(id=id_, summary=doc, resolution=resolution, score=score, metadata=meta))
        return out

    def knowledge(self, query: str, k: int = 3, min_score: float = 0.0) -> list[KnowledgeHit]:
        """Knowledge snippets most relevant to ``query``.

        Args:
            query: Question or customer message.
            k: Maximum number of snippets.
            min_score: Snippets below this cosine similarity are left out.

        Returns:
            Snippets, best first.
        """
        return [
            KnowledgeHit(id=id_, text=doc, source=str(meta.get("source", "")), score=score)
            for id_, doc, meta, score in self._query(self._knowledge, query, k, None)
            if score >= min_score
        ]
