"""Routing eval: metrics against hand-computed values, fold hygiene, report files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import evals.routing as routing
from evals.report_routing import write_routing_report
from evals.routing import (
    calibration,
    classification_scores,
    cv_splits,
    run_routing_eval,
)
from graph.intent import IntentClassifier, IntentPrediction

INTENTS = {
    "card_arrival": ("cards", ["Where is my new card?", "My card has not arrived", "When will my card be delivered?",
                               "Still waiting for the card in the post", "Card delivery is late", "Has my card been sent?"]),
    "change_pin": ("cards", ["How do I change my PIN?", "I want a new PIN number", "Can I reset my PIN?",
                             "Change PIN code please", "Where can I update my PIN", "I forgot my PIN and want a new one"]),
    "request_refund": ("billing", ["I want my money back", "Please refund this purchase", "How do I get a refund?",
                                   "Refund my order", "Can I return this and get refunded", "I need a refund for a payment"]),
}  # fmt: skip
DEPARTMENTS = {label: dept for label, (dept, _) in INTENTS.items()}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "routing.jsonl"
    rows = [
        {"id": f"{label}-{i}", "text": text, "label": label, "department": dept, "extra": 1}
        for label, (dept, texts) in INTENTS.items()
        for i, text in enumerate(texts)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    (tmp_path / "departments.json").write_text(json.dumps({"banking77_label_to_department": DEPARTMENTS}))
    return path


def test_classification_scores_match_hand_computation() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    s = classification_scores(gold, pred)
    assert s.accuracy == pytest.approx(4 / 6)
    # a: P=2/2 R=2/3 F1=0.8; b: P=1/2 R=1/2 F1=0.5; c: P=1/2 R=1/1 F1=2/3
    assert s.per_class["a"].f1 == pytest.approx(0.8)
    assert s.per_class["b"].precision == pytest.approx(0.5)
    assert s.per_class["c"].recall == pytest.approx(1.0)
    assert s.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s.confusion.labels == ["a", "b", "c"]
    assert s.confusion.matrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert [c.support for c in s.per_class.values()] == [3, 2, 1]


def test_predicted_only_class_counts_in_macro_f1() -> None:
    s = classification_scores(["a", "a"], ["a", "x"])
    assert s.per_class["x"].f1 == 0.0
    assert s.macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)


def test_calibration_hand_computed() -> None:
    c = calibration([0.95, 0.92, 0.5, 0.3], [True, False, True, False], [True, True, True, False])
    assert c.coverage == pytest.approx(0.5)
    assert c.intent_accuracy_above == pytest.approx(0.5)
    assert c.department_accuracy_above == pytest.approx(1.0)
    # bins: 9 -> {0.95: 1, 0.92: 0} gap |0.5-0.935|; 5 -> gap 0.5; 3 -> gap 0.3
    assert c.ece == pytest.approx(0.5 * 0.435 + 0.25 * 0.5 + 0.25 * 0.3)


def test_cv_folds_are_disjoint_and_cover_every_row() -> None:
    labels = [label for label, (_, texts) in INTENTS.items() for _ in texts]
    splits = cv_splits(labels, 3, seed=0)
    tested = sorted(i for _, te in splits for i in te)
    assert tested == list(range(len(labels)))
    for tr, te in splits:
        assert not set(tr) & set(te)
        assert len(tr) + len(te) == len(labels)


def test_cv_never_scores_a_training_row(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[set[str], list[str]]] = []

    class Spy(IntentClassifier):
        @classmethod
        def fit(cls, texts: Sequence[str], labels: Sequence[str], **kwargs: Any) -> IntentClassifier:
            fitted = IntentClassifier.fit(texts, labels, **kwargs)
            original = fitted.predict_many

            def predict_many(batch: Sequence[str], **kw: Any) -> list[IntentPrediction]:
                if "embeddings" in kw:  # the scoring call; single predict() calls only time the router
                    seen.append((set(texts), list(batch)))
                return original(batch, **kw)

            fitted.predict_many = predict_many  # type: ignore[method-assign]
            return fitted

    monkeypatch.setattr(routing, "IntentClassifier", Spy)
    report = run_routing_eval(dataset, cv=3, progress=False)
    assert len(seen) == 3
    for trained_on, scored in seen:
        assert not trained_on & set(scored)
    assert sum(len(scored) for _, scored in seen) == report.n == 18


def test_report_keys_and_files(dataset: Path, tmp_path: Path) -> None:
    report = run_routing_eval(dataset, cv=3, progress=False)
    assert report.mode == "cv"
    assert report.accuracy >= report.intent_accuracy  # a right intent is always a right department
    assert sum(map(sum, report.confusion.matrix)) == report.n
    assert set(report.per_department) == {"cards", "billing"}
    assert 0.0 <= report.macro_f1 <= 1.0
    out = tmp_path / "out" / "routing.json"
    write_routing_report(report, out, tmp_path / "out" / "routing.html")
    data = json.loads(out.read_text())
    for key in ("accuracy", "macro_f1", "per_department", "confusion", "intent_accuracy", "intent_macro_f1",
                "n", "mode", "timings", "baselines", "calibration", "misroutes"):  # fmt: skip
        assert key in data
    assert set(data["timings"]) == {"fit_s", "predict_ms_per_message"}
    assert set(data["baselines"]["tfidf_logreg"]) >= {"accuracy", "macro_f1", "intent_macro_f1", "confusion"}
    page = (tmp_path / "out" / "routing.html").read_text()
    assert "routing.confusion.png" in page
    assert (tmp_path / "out" / "routing.confusion.png").read_bytes()[:4] == b"\x89PNG"
    write_routing_report(report, out, tmp_path / "out" / "routing.md")
    assert "| baton |" in (tmp_path / "out" / "routing.md").read_text()


def test_holdout_on_policy_examples(dataset: Path) -> None:
    examples = {label: texts[:2] for label, (_, texts) in INTENTS.items()}
    report = run_routing_eval(dataset, train_examples=examples, progress=False, departments=DEPARTMENTS)
    assert report.mode == "holdout"
    assert report.train == "policy examples"
    assert report.n == 18
    assert report.intent_accuracy > 0.7  # clear-cut intents: 2 examples each should carry the held-out ones


def test_unmapped_intent_is_an_error(dataset: Path) -> None:
    with pytest.raises(ValueError, match="card_arrival"):
        run_routing_eval(dataset, cv=3, progress=False, departments={"change_pin": "cards"})


def test_exactly_one_training_source(dataset: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        run_routing_eval(dataset, progress=False)
    with pytest.raises(ValueError, match="exactly one"):
        run_routing_eval(dataset, cv=3, train=dataset, progress=False)
