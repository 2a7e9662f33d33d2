"""Few-shot intent classifier on tiny hand-made example sets."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from graph.embeddings import FloatArray, get_embedder
from graph.intent import IntentClassifier, IntentConfig, IntentPrediction

EXAMPLES = {
    "seller": [
        "I want to sell my house",
        "How much is my flat worth?",
        "I am thinking of listing my apartment",
        "Can you give me a valuation of my property?",
    ],
    "buyer": [
        "I am looking for a 3 bedroom house to buy",
        "Can I book a viewing of the flat on Main Street?",
        "What properties are for sale near the park?",
        "I'd like to buy a home with a garden",
    ],
    "human": [
        "Let me talk to a person",
        "I want a real agent, not a bot",
        "Connect me to a human please",
        "Can I speak to someone from your team?",
    ],
}


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.from_examples(EXAMPLES)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Could you tell me what my home would go for if I put it on the market?", "seller"),
        ("We're hunting for a family house to purchase", "buyer"),
        ("Please transfer me to a human being", "human"),
        ("Are there any two-bed flats for sale in the city centre?", "buyer"),
    ],
)
def test_held_out_paraphrases(classifier: IntentClassifier, text: str, label: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.label == label
    assert prediction.scores[label] == prediction.confidence


def test_prediction_shape(classifier: IntentClassifier) -> None:
    p = classifier.predict("I need to sell my apartment quickly")
    assert isinstance(p, IntentPrediction)
    assert 0.0 <= p.confidence <= 1.0
    assert list(p.scores) == sorted(p.scores, key=lambda k: -p.scores[k])
    assert sum(p.scores.values()) == pytest.approx(1.0)  # all three classes fit in the top-k
    assert len(p.neighbours) == 3
    assert p.neighbours[0][0] in EXAMPLES["seller"]
    assert p.neighbours[0][1] >= p.neighbours[1][1] >= p.neighbours[2][1]


def test_clear_text_more_confident_than_ambiguous(classifier: IntentClassifier) -> None:
    clear = classifier.predict("Connect me to a real person please")
    ambiguous = classifier.predict("I want to sell my flat and buy a bigger house")
    assert clear.confidence > ambiguous.confidence


def test_predict_many_matches_predict(classifier: IntentClassifier) -> None:
    texts = ["sell my house", "buy a flat", "talk to a person"]
    batch = classifier.predict_many(texts)
    for text, many in zip(texts, batch, strict=True):
        one = classifier.predict(text)
        assert one.label == many.label
        assert one.confidence == pytest.approx(many.confidence, abs=1e-3)
    assert classifier.predict_many([]) == []


def test_tiny_sets_do_not_crash() -> None:
    tiny = IntentClassifier.fit(["sell", "selling my flat", "buy", "buying a flat"], ["s", "s", "b", "b"])
    assert tiny.predict("I am selling").label in {"s", "b"}
    single_class = IntentClassifier.from_examples({"only": ["hello there"]})
    p = single_class.predict("anything at all")
    assert (p.label, p.confidence) == ("only", 1.0)


def test_knn_only_and_lr_only_configs_agree_on_clear_text() -> None:
    text = "get me a human agent"
    for config in (IntentConfig(knn_weight=1.0), IntentConfig(knn_weight=0.0, char_ngrams=None)):
        assert IntentClassifier.from_examples(EXAMPLES, config=config).predict(text).label == "human"


def test_mismatched_lengths_rejected() -> None:
    with pytest.raises(ValueError, match="differ"):
        IntentClassifier.fit(["a", "b"], ["x"])


def test_example_embeddings_are_cached_by_content(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder()
    calls: list[int] = []
    real_embed = embedder.embed

    def counting(texts: Sequence[str]) -> FloatArray:
        calls.append(len(texts))
        return real_embed(texts)

    monkeypatch.setattr(embedder, "embed", counting)
    examples = {"a": ["cache probe one", "cache probe two"], "b": ["cache probe three"]}
    IntentClassifier.from_examples(examples)
    IntentClassifier.from_examples(examples)
    assert calls == [3]
    IntentClassifier.from_examples({**examples, "c": ["cache probe four"]})
    assert calls == [3, 4]


def test_an_example_set_is_embedded_once_per_process() -> None:
    from graph.intent import embed_examples

    runs: list[int] = []

    class Counting:
        def embed(self, texts: Sequence[str]) -> FloatArray:
            runs.append(len(texts))
            return get_embedder().embed(texts)

    counting = Counting()
    texts = ["I want to sell my flat by the canal", "Is the loft on Hale Road still for sale?"]
    first = embed_examples(texts, counting)  # type: ignore[arg-type]
    again = embed_examples(list(texts), counting)  # type: ignore[arg-type]
    assert again is first
    assert runs == [2]
    assert embed_examples([*texts, ""], counting).shape == (3, 384)  # type: ignore[arg-type]
    assert runs == [2, 3]  # one more (empty) example is another set
