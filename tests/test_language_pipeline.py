"""The shared spaCy pipeline: the installed model is the one whose provenance was checked, and it runs
offline without executing any code of its package."""

from __future__ import annotations

import contextvars
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import spacy
import thinc.backends
from spacy.tokens import Doc

from evals.context import load_rows
from graph.language.contractions import split_contractions
from graph.language.pipeline import MODEL_FILES, MODEL_PACKAGE, Pipeline, model_path


def test_installed_model_files_are_the_checked_ones() -> None:
    root = model_path()
    found = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    assert found == MODEL_FILES
    meta = json.loads((root / "meta.json").read_text())
    assert (meta["version"], meta["spacy_git_version"], meta["author"]) == ("3.8.0", "5010fcbd3", "Explosion")
    assert meta["performance"]["ents_f"] == 0.8433119744  # Explosion's published figure for 3.8.0


def test_pipeline_reads_entities_without_importing_the_model_package() -> None:
    pipeline = Pipeline()
    doc = pipeline.parse("I'd like to transfer sixty dollars to Khadija in San Lorenzo on Friday.")
    labels = {(e.text, e.label_) for e in doc.ents}
    assert ("Khadija", "PERSON") in labels
    assert ("San Lorenzo", "GPE") in labels
    assert MODEL_PACKAGE not in sys.modules


class _NoModelRuns:
    """Stands in for the loaded pipeline: its vocabulary is there, running it is a test failure."""

    def __init__(self, nlp: object) -> None:
        self.vocab = nlp.vocab  # type: ignore[attr-defined]

    def __call__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran for a part of a text parsed just before")


def test_a_part_of_a_recent_parse_is_copied_from_it_not_parsed_again() -> None:
    pipeline = Pipeline()
    turn = pipeline.parse("Hi there. I want to watch some nice movies by Peter Farrelly in London.")
    pipeline._nlp = _NoModelRuns(pipeline._nlp)  # type: ignore[assignment]
    clause = pipeline.parse("watch some nice movies by Peter Farrelly")
    assert [t.tag_ for t in clause] == [t.tag_ for t in turn[6:13]]  # the tags it had in its sentence
    assert [t.dep_ for t in clause].count("ROOT") == 1  # "watch" heads the part now
    assert clause[0].dep_ == "ROOT"
    assert [e.text for e in clause.ents] == ["Peter Farrelly"]
    sentence = pipeline.parse("I want to watch some nice movies by Peter Farrelly in London.", entities=False)
    assert sentence.text.startswith("I want")


def test_text_not_on_token_edges_of_a_recent_parse_is_parsed() -> None:
    pipeline = Pipeline()
    pipeline.parse("We're selling the condo on Courtland Court.")
    part = pipeline.parse("lling the condo")  # inside a word: no copy can give these tokens
    assert part[0].text == "lling"


def test_a_parse_in_a_fresh_context_does_not_look_up_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each call to the analysis threads runs in a fresh copy of the event loop's context, where thinc's
    # backend variable is unset; thinc then looked the backend up again on every parse (entry points
    # scanned, optional backends imported): ~3% of a real turn's CPU.
    pipeline = Pipeline()
    pipeline.warm()
    lookups: list[Any] = []
    real = thinc.backends.get_ops
    monkeypatch.setattr(thinc.backends, "get_ops", lambda *a, **k: lookups.append(a) or real(*a, **k))
    doc = contextvars.Context().run(pipeline.parse, "My card was charged twice at the airport in Lisbon.")
    assert [e.text for e in doc.ents] == ["Lisbon"]
    assert any(t.dep_ == "ROOT" for t in doc)
    assert lookups == []


SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _customer_turns(name: str, limit: int) -> list[str]:
    """The first ``limit`` customer turns of a dataset (``limit`` conversations hold at least that many)."""
    rows = load_rows(SHARED_DATASETS / name, limit=limit)
    return [t["text"] for row in rows for t in row.turns if t["role"] == "customer"][:limit]


def test_the_pipeline_parses_as_the_whole_model_without_its_vocabulary_strings() -> None:
    # The training vocabulary's strings (~14 MB) stay on disk; every reading of a text must not change.
    pipeline = Pipeline()
    pipeline.warm()
    assert pipeline._nlp is not None
    assert len(pipeline._nlp.vocab.strings) < 5_000
    assert "senter" not in pipeline._nlp.component_names
    whole = spacy.load(model_path())
    split_contractions(whole)
    assert len(whole.vocab.strings) > 80_000
    texts = _customer_turns("abcd_dev.jsonl", 200) + _customer_turns("sgd_dev.jsonl", 200)

    def reading(doc: Doc) -> list[tuple[str, ...]]:
        return [
            (t.text, t.tag_, t.pos_, t.dep_, str(t.head.i), t.lemma_, t.norm_, t.ent_type_, t.ent_iob_)
            for t in doc
        ]

    differ = [text for text in texts if reading(pipeline._nlp(text)) != reading(whole(text))]
    assert len(texts) == 400
    assert differ == []


@pytest.mark.parametrize(
    ("text", "lemmas"),
    [
        ("I wanna go", ["I", "want", "to", "go"]),
        ("Lemme see", ["let", "I", "see"]),
        ("gimme it", ["give", "I", "it"]),
        ("we hafta leave", ["we", "have", "to", "leave"]),
        ("I gotta go", ["I", "get", "to", "go"]),  # spaCy's own split, for comparison
    ],
)
def test_spoken_contractions_split_into_the_words_they_stand_for(text: str, lemmas: list[str]) -> None:
    doc = Pipeline().parse(text)
    assert [t.lemma_ for t in doc] == lemmas
    assert doc.text == text  # the customer's words as written
