"""CaseStore on a real embedded chromadb under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.retrieval import CASES, KNOWLEDGE, CaseStore

CASES_DATA = [
    ("c-login", "Customer locked out of online banking after a password reset", "Unlocked and resent link", "account"),
    ("c-refund", "Refund from a merchant has not appeared in the account", "Explained 5-day refund window", "billing"),
    ("c-card", "New debit card never arrived in the post", "Cancelled and reissued card", "cards"),
]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    s = CaseStore(tmp_path)
    for case_id, summary, resolution, dept in CASES_DATA:
        s.add_case(case_id, summary, resolution, {"department": dept, "outcome": "resolved", "note": None})
    s.add_knowledge(
        "kb-refund", "Refunds usually take up to 5 business days to show on a statement.", "faq.md"
    )
    s.add_knowledge(
        "kb-pin", "You can change your PIN at any ATM or in the app under Card settings.", "faq.md"
    )
    return s


def test_similar_case_ranks_first_with_highest_score(store: CaseStore) -> None:
    hits = store.similar_cases("my card still hasn't been delivered", k=3, min_score=0.0)
    assert hits[0].id == "c-card"
    assert hits[0].resolution == "Cancelled and reissued card"
    assert hits[0].metadata == {"department": "cards", "outcome": "resolved"}
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_min_score_and_department_filter(store: CaseStore) -> None:
    assert store.similar_cases("what's the weather on Mars tomorrow", min_score=0.6) == []
    only_billing = store.similar_cases(
        "my card still hasn't been delivered", min_score=0.0, department="billing"
    )
    assert [h.id for h in only_billing] == ["c-refund"]


def test_knowledge_lookup(store: CaseStore) -> None:
    hits = store.knowledge("how do I change my pin number", k=1)
    assert [(h.id, h.source) for h in hits] == [("kb-pin", "faq.md")]
    assert hits[0].score > 0.3


def test_upsert_is_idempotent(store: CaseStore) -> None:
    before = store.count()
    store.add_case("c-card", "New debit card never arrived in the post", "Sent a replacement by courier", {})
    store.add_knowledge("kb-pin", "Change your PIN in the app.", "app.md")
    assert store.count() == before == {CASES: 3, KNOWLEDGE: 2}
    top = store.similar_cases("card not delivered", k=1, min_score=0.0)[0]
    assert top.resolution == "Sent a replacement by courier"


def test_persists_across_reopen(tmp_path: Path) -> None:
    CaseStore(tmp_path).add_case("c-1", "Transfer to a friend is still pending", "Released the hold", {})
    reopened = CaseStore(tmp_path)
    assert reopened.count()[CASES] == 1
    assert reopened.similar_cases("pending transfer", min_score=0.0)[0].id == "c-1"


def test_bad_metadata_is_rejected(store: CaseStore) -> None:
    with pytest.raises(TypeError, match="must be str"):
        store.add_case("c-x", "summary", "resolution", {"tags": ["a", "b"]})
