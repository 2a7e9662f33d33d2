"""Routing eval on Banking77: does the intent classifier send a message to the right department?

The classifier (:class:`graph.intent.IntentClassifier`) predicts the intent; the department is the
mapped department of that intent (``departments.json``). It never learns from the rows it is scored
on: either it is fitted on a separate ``train`` file or on policy examples and scores ``dataset``
(``mode="holdout"``), or ``cv=K`` runs stratified K-fold over ``dataset`` and pools the held-out
predictions (``mode="cv"``). A TF-IDF + logistic-regression baseline is scored on the same split.

Run: ``python -m evals.routing --dataset routing_dev.jsonl --cv 5 --out test-artifacts/routing.json``.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from graph.embeddings import FloatArray, MiniLMEmbedder, get_embedder
from graph.intent import IntentClassifier, IntentConfig

DEPARTMENTS_KEY = "banking77_label_to_department"
HIGH_CONFIDENCE = 0.9
MAX_ERRORS = 50
TIMED_MESSAGES = 50


class RoutingRow(BaseModel):
    """One labelled message (fields beyond these are ignored: the file is not ours)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    text: str
    label: str
    department: str | None = None


class ClassScores(BaseModel):
    """Precision, recall and F1 of one class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    precision: float
    recall: float
    f1: float
    support: int


class Confusion(BaseModel):
    """Confusion matrix: ``matrix[i][j]`` counts gold ``labels[i]`` predicted as ``labels[j]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: list[str]
    matrix: list[list[int]]


class ClassificationScores(BaseModel):
    """Accuracy, macro-F1, per-class scores and confusion of one labelling."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    confusion: Confusion


class SystemScores(BaseModel):
    """Department- and intent-level scores of one system on one split."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accuracy: float = Field(description="Department accuracy.")
    macro_f1: float = Field(description="Department macro-F1.")
    per_department: dict[str, ClassScores]
    confusion: Confusion = Field(description="Department confusion matrix.")
    intent_accuracy: float
    intent_macro_f1: float
    timings: dict[str, float] = Field(description="fit_s (mean per fit), predict_ms_per_message.")


class Calibration(BaseModel):
    """How far the classifier's confidence can be trusted by a policy threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: float
    coverage: float = Field(description="Share of messages with confidence >= threshold.")
    intent_accuracy_above: float = Field(description="Intent accuracy on those messages (NaN if none).")
    department_accuracy_above: float
    ece: float = Field(description="Expected calibration error of the intent confidence (10 bins).")


class Misroute(BaseModel):
    """A message sent to the wrong department."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    text: str
    gold_intent: str
    predicted_intent: str
    gold_department: str
    predicted_department: str
    confidence: float


class RoutingReport(SystemScores):
    """Result of :func:`run_routing_eval`; ``model_dump()`` is the JSON report."""

    n: int
    mode: Literal["cv", "holdout"]
    folds: int | None = None
    seed: int
    dataset: str
    train: str | None = None
    embed_s: float = Field(description="Time to embed the data set once (bulk, all cores).")
    calibration: Calibration
    worst_intents: dict[str, ClassScores] = Field(description="The ten intents with the lowest F1.")
    misroutes: list[Misroute] = Field(description="Most confident department errors first.")
    baselines: dict[str, SystemScores]


def load_rows(path: Path) -> list[RoutingRow]:
    """Read a routing JSONL file (``id``, ``text``, ``label``, optional ``department``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [RoutingRow.model_validate_json(line) for line in lines if line.strip()]


def load_departments(path: Path) -> dict[str, str]:
    """Intent -> department map from ``departments.json`` (its Banking77 section) or a flat JSON map."""
    data = json.loads(path.read_text(encoding="utf-8"))
    mapping = data.get(DEPARTMENTS_KEY, data)
    return {str(k): str(v) for k, v in mapping.items()}


def classification_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> ClassificationScores:
    """Score a labelling.

    Args:
        gold: Gold labels.
        predicted: Predicted labels, same length.
        labels: Classes to report, in order; the sorted union of gold and predicted when omitted.
            Macro-F1 averages over these (a class that is only ever predicted counts, with F1 0).

    Returns:
        Accuracy, macro-F1, per-class scores and the confusion matrix.
    """
    if len(gold) != len(predicted) or not gold:
        msg = f"need equally many gold and predicted labels, got {len(gold)} and {len(predicted)}"
        raise ValueError(msg)
    classes = list(labels) if labels is not None else sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=classes, zero_division=0
    )
    per_class = {
        c: ClassScores(precision=float(p), recall=float(r), f1=float(f), support=int(s))
        for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    matrix = confusion_matrix(gold, predicted, labels=classes)
    return ClassificationScores(
        accuracy=float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)])),
        macro_f1=float(np.mean(f1)),
        per_class=per_class,
        confusion=Confusion(labels=classes, matrix=[[int(x) for x in row] for row in matrix]),
    )


def cv_splits(labels: Sequence[str], folds: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """Stratified K-fold (train, test) index lists over ``labels``; test folds partition the rows."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    dummy = np.zeros(len(labels))
    return [(tr.tolist(), te.tolist()) for tr, te in splitter.split(dummy, list(labels))]


def calibration(
    confidence: Sequence[float], intent_ok: Sequence[bool], dept_ok: Sequence[bool]
) -> Calibration:
    """Coverage and accuracy above :data:`HIGH_CONFIDENCE`, and the 10-bin expected calibration error."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(intent_ok, dtype=float)
    above = conf >= HIGH_CONFIDENCE
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = sum(abs(ok[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean() for b in set(bins))
    return Calibration(
        threshold=HIGH_CONFIDENCE,
        coverage=float(above.mean()),
        intent_accuracy_above=float(ok[above].mean()) if above.any() else float("nan"),
        department_accuracy_above=float(np.asarray(dept_ok)[above].mean()) if above.any() else float("nan"),
        ece=float(ece),
    )


def _system_scores(
    gold: Sequence[RoutingRow],
    intents: Sequence[str],
    departments: Mapping[str, str],
    timings: dict[str, float],
) -> SystemScores:
    gold_depts = [departments[r.label] for r in gold]
    dept = classification_scores(gold_depts, [departments[i] for i in intents])
    intent = classification_scores([r.label for r in gold], intents)
    return SystemScores(
        accuracy=dept.accuracy,
        macro_f1=dept.macro_f1,
        per_department=dept.per_class,
        confusion=dept.confusion,
        intent_accuracy=intent.accuracy,
        intent_macro_f1=intent.macro_f1,
        timings=timings,
    )


def _tfidf_logreg(
    train_texts: Sequence[str], train_labels: Sequence[str]
) -> Callable[[list[str]], list[str]]:
    # The classic lexical baseline: word unigrams and bigrams, no embeddings.
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=3000).fit(vectorizer.fit_transform(train_texts), train_labels)
    return lambda texts: [str(x) for x in model.predict(vectorizer.transform(texts))]


@functools.cache
def _bulk_embedder() -> MiniLMEmbedder:
    # All cores for the one-off bulk embedding; the classifier itself uses the shared one-thread embedder.
    return MiniLMEmbedder(intra_op_num_threads=os.cpu_count() or 1)


def _bulk_embed(embedder: MiniLMEmbedder, texts: Sequence[str], progress: bool) -> FloatArray:
    chunks = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    parts = [embedder.embed(c) for c in tqdm(chunks, desc="embedding", unit="x64", disable=not progress)]
    return np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)


def _splits(
    rows: Sequence[RoutingRow], train_rows: Sequence[RoutingRow] | None, cv: int | None, seed: int
) -> Iterator[tuple[list[int], list[int]]]:
    # Indices into train_rows + rows (the eval's pool): holdout fits on the first part, scores the rest.
    if train_rows is not None:
        yield list(range(len(train_rows))), list(range(len(train_rows), len(train_rows) + len(rows)))
        return
    assert cv is not None
    yield from cv_splits([r.label for r in rows], cv, seed)


def run_routing_eval(
    dataset: Path,
    *,
    train: Path | None = None,
    train_examples: Mapping[str, Sequence[str]] | None = None,
    cv: int | None = None,
    seed: int = 0,
    progress: bool = True,
    departments: Mapping[str, str] | None = None,
    config: IntentConfig | None = None,
) -> RoutingReport:
    """Fit the intent classifier without ever seeing the scored rows, and score the routing.

    Args:
        dataset: JSONL of messages to score.
        train: JSONL to fit on (holdout mode).
        train_examples: Policy examples ``intent -> texts`` to fit on (holdout mode).
        cv: Number of stratified folds over ``dataset`` (cv mode).
        seed: Fold shuffling seed.
        progress: Show progress bars.
        departments: Intent -> department map; ``departments.json`` beside ``dataset`` when omitted.
        config: Classifier hyper-parameters.

    Returns:
        The report, with a TF-IDF + LR baseline scored on the same split.

    Raises:
        ValueError: If not exactly one of ``train``, ``train_examples`` and ``cv`` is given.
    """
    if sum(x is not None for x in (train, train_examples, cv)) != 1:
        msg = "give exactly one of train, train_examples or cv"
        raise ValueError(msg)
    rows = load_rows(dataset)
    if train is not None:
        train_rows: list[RoutingRow] | None = load_rows(train)
    elif train_examples is not None:
        train_rows = [
            RoutingRow(id=f"example-{label}-{i}", text=t, label=label)
            for label, texts in train_examples.items()
            for i, t in enumerate(texts)
        ]
    else:
        train_rows = None
    if departments is None:
        departments = load_departments(dataset.parent / "departments.json")
    unmapped = sorted({r.label for r in [*rows, *(train_rows or [])]} - set(departments))
    if unmapped:
        msg = f"intents without a department: {', '.join(unmapped[:10])}"
        raise ValueError(msg)
    # One pool, embedded once: in cv mode it is the dataset, in holdout mode the training rows followed
    # by the dataset, so split indices address both the rows and their vectors.
    pool = [*(train_rows or []), *rows]

    t0 = time.perf_counter()
    vectors = _bulk_embed(_bulk_embedder(), [r.text for r in pool], progress)
    embed_s = time.perf_counter() - t0

    embedder = get_embedder()
    predicted: dict[int, tuple[str, float]] = {}
    baseline: dict[int, str] = {}
    fit_s: list[float] = []
    base_fit_s: list[float] = []
    classifier: IntentClassifier | None = None
    splits = list(_splits(rows, train_rows, cv, seed))
    for tr, te in tqdm(splits, desc="routing eval", unit="fold", disable=not progress):
        t0 = time.perf_counter()
        classifier = IntentClassifier.fit(
            [pool[i].text for i in tr],
            [pool[i].label for i in tr],
            config=config,
            embedder=embedder,
            embeddings=vectors[tr],
        )
        fit_s.append(time.perf_counter() - t0)
        test_texts = [pool[i].text for i in te]
        for i, p in zip(te, classifier.predict_many(test_texts, embeddings=vectors[te]), strict=True):
            predicted[i] = (p.label, p.confidence)
        t0 = time.perf_counter()
        lexical = _tfidf_logreg([pool[i].text for i in tr], [pool[i].label for i in tr])
        base_fit_s.append(time.perf_counter() - t0)
        baseline.update(zip(te, lexical(test_texts), strict=True))

    scored = sorted(predicted)
    gold = [pool[i] for i in scored]
    intents = [predicted[i][0] for i in scored]
    assert classifier is not None
    classifier.predict("warm-up")  # the first call loads the one-thread ONNX session; not a message cost
    t0 = time.perf_counter()
    timed = test_texts[:TIMED_MESSAGES]  # the last fold's held-out texts: not in the embedding caches
    for text in timed:  # end to end as the router runs it: one turn, one-thread embedder, no batching
        classifier.predict(text)
    predict_ms = (time.perf_counter() - t0) * 1000 / max(1, len(timed))
    t0 = time.perf_counter()
    for text in timed:
        lexical([text])
    base_ms = (time.perf_counter() - t0) * 1000 / max(1, len(timed))

    scores = _system_scores(
        gold, intents, departments, {"fit_s": float(np.mean(fit_s)), "predict_ms_per_message": predict_ms}
    )
    intent_scores = classification_scores([r.label for r in gold], intents)
    confidences = [predicted[i][1] for i in scored]
    dept_ok = [departments[g.label] == departments[p] for g, p in zip(gold, intents, strict=True)]
    misroutes = [
        Misroute(
            id=g.id,
            text=g.text,
            gold_intent=g.label,
            predicted_intent=p,
            gold_department=departments[g.label],
            predicted_department=departments[p],
            confidence=c,
        )
        for g, p, c, ok in zip(gold, intents, confidences, dept_ok, strict=True)
        if not ok
    ]
    misroutes.sort(key=lambda m: -m.confidence)
    baseline_scores = _system_scores(
        gold,
        [baseline[i] for i in scored],
        departments,
        {"fit_s": float(np.mean(base_fit_s)), "predict_ms_per_message": base_ms},
    )
    return RoutingReport(
        **scores.model_dump(),
        n=len(gold),
        mode="cv" if train_rows is None else "holdout",
        folds=cv,
        seed=seed,
        dataset=str(dataset),
        train=str(train) if train is not None else ("policy examples" if train_examples else None),
        embed_s=embed_s,
        calibration=calibration(
            confidences, [g.label == p for g, p in zip(gold, intents, strict=True)], dept_ok
        ),
        worst_intents=dict(sorted(intent_scores.per_class.items(), key=lambda kv: kv[1].f1)[:10]),
        misroutes=misroutes[:MAX_ERRORS],
        baselines={"tfidf_logreg": baseline_scores},
    )
