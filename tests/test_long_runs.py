"""Long runs a customer can paste (4,000 emoji, apostrophes, asterisks) are read in linear work.

Before, one such message held an analysis thread for up to 38 s: a parse tree thousands deep walked
once per token, spaCy's tokenizer peeling a 4,000-character word a character at a time, and VADER
rereading every word for each word. Work is counted here, never timed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from api.app import create_app
from graph.language import grammar, scope
from graph.language.cues import read_cues, sentiment_score
from graph.language.pipeline import LEFT_ON_DISK, RECENT_MAX_CHARS, Pipeline, model_path, shared_pipeline
from graph.language.run_ons import MAX_RUN, MAX_RUN_CHARS, NAME, break_run_ons
from graph.language.statements import read_statements
from graph.language.turn_sentiment import LONG_TURN_TOKENS
from tests.test_api_support import api_settings, in_process

RUNS = {"emoji": "😀" * 3999, "apostrophes": "'" * 3999, "stars": "*" * 3999, "mixed": "(#?" * 1333}


def _depth(doc: Doc) -> int:
    deepest = 0
    for tok in doc:
        node, depth = tok, 0
        while node.head.i != node.i:
            node, depth = node.head, depth + 1
        deepest = max(deepest, depth)
    return deepest


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_long_run_is_tokenized_in_pieces_and_parsed_in_short_sentences(name: str) -> None:
    text = RUNS[name]
    doc = shared_pipeline().parse(text)
    assert doc.text == text  # the pieces join to the text as written
    assert max(len(t.text) for t in doc) <= MAX_RUN_CHARS
    assert all(len(s) <= MAX_RUN for s in doc.sents)
    assert _depth(doc) < MAX_RUN


def test_prose_parses_as_it_did_without_the_run_on_breaker() -> None:
    text = (
        "We bought the house on Elm Street in 2015, and since my husband passed away last spring I "
        "can't keep up with the mortgage, so I need to sell it quickly. My lawyer says there is a lien. "
        "Can someone call me back tomorrow morning?"
    )
    nlp = spacy.load(model_path(), exclude=LEFT_ON_DISK)
    plain = nlp(text)
    break_run_ons(nlp)
    assert NAME in nlp.pipe_names
    broken = nlp(text)
    assert [(t.text, t.dep_, t.head.i) for t in broken] == [(t.text, t.dep_, t.head.i) for t in plain]


def test_clauses_walk_each_token_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 2000
    # a chain: each word hangs off the next, the last is the root (what 4,000 emoji parsed as)
    doc = Doc(
        spacy.blank("en").vocab,
        words=["x"] * n,
        heads=[*range(1, n), n - 1],
        deps=["dep"] * (n - 1) + ["ROOT"],
    )
    calls = 0
    real = scope._is_clause_head

    def counted(tok: object) -> bool:
        nonlocal calls
        calls += 1
        return real(tok)  # type: ignore[arg-type]

    monkeypatch.setattr(scope, "_is_clause_head", counted)
    found = scope.clauses(doc)
    assert [len(c.tokens) for c in found] == [n]
    assert calls <= 2 * n  # was n * (n + 1) / 2


def test_a_long_turns_sentiment_is_its_sentences() -> None:
    sentence = "I am very angry with this service! "
    text = sentence * 60
    assert len(shared_pipeline().parse(text)) > LONG_TURN_TOKENS
    # whole-text VADER saturates near -1 on sixty angry sentences; the sentences' mean is one sentence's
    assert read_cues(text).sentiment == pytest.approx(sentiment_score(sentence.strip()), abs=0.01)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_long_run_reads_as_nothing_in_particular(name: str) -> None:
    text = RUNS[name]
    cues = read_cues(text)
    assert not [c for c in cues.cues if c.kind == "human_request"]
    said = read_statements(text)
    assert all(len(phrase.split()) <= 4 for _, phrase in said.nouns)


@pytest.mark.parametrize("name", sorted(RUNS))
async def test_a_long_run_is_answered_and_kept_as_written(tmp_path: Path, name: str) -> None:
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        reply = await api.say(cid, token, RUNS[name])
        assert reply["status"] == "bot"
        view = await api.http.get(f"/v1/conversations/{cid}", headers=api.auth(token))
    assert view.json()["transcript"][0]["text"] == RUNS[name]


def test_a_long_turn_is_parsed_once_for_all_its_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Texts over RECENT_MAX_CHARS were not kept, so each of a turn's ~ten readers parsed it again.
    text = "I can't pay the mortgage, please call me back at 555-123-4567 tomorrow! " * 60
    assert len(text) > RECENT_MAX_CHARS
    runs: list[str] = []
    original = Pipeline._run

    def counted(self: Pipeline, nlp: object, parsed: str, entities: bool) -> Doc:
        runs.append(parsed)
        return original(self, nlp, parsed, entities)  # type: ignore[arg-type]

    monkeypatch.setattr(Pipeline, "_run", counted)
    pipeline = Pipeline()
    first = pipeline.parse(text)
    assert pipeline.parse(text) is first
    assert pipeline.parse(text, entities=False) is first
    sentence = "please call me back at 555-123-4567 tomorrow!"
    part = pipeline.parse(sentence)  # one of its sentences, as the brief reads it: a copy of the parse
    assert [t.text for t in part][:3] == ["please", "call", "me"]
    assert (
        pipeline.sentences(text)[0]
        == "I can't pay the mortgage, please call me back at 555-123-4567 tomorrow!"
    )
    assert runs == [text]


def test_grammar_matches_in_windows_find_what_one_pass_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    # one pass over a run of numbers kept partial matches open across it (0.8 s for 2,000 numbers)
    text = " ".join(
        f"Call me at {d % 12 + 1}pm on March {d}, we owe ${d}40,000 on {d}2 Oak Street, {d} weeks."
        for d in range(1, 29)
    )
    doc = shared_pipeline().parse(text)
    assert len(doc) > 2 * grammar._WINDOW
    whole = grammar._matcher(doc.vocab)(doc)
    assert sorted(grammar.raw_matches(doc), key=lambda m: m[1:]) == sorted(whole, key=lambda m: m[1:])
    windows: list[int] = []
    real = grammar._matcher

    def counted(vocab: Vocab) -> Callable[[Span], list[tuple[int, int, int]]]:
        inner = real(vocab)  # here: the matching runs under the lock _matcher takes

        def match(span: Span) -> list[tuple[int, int, int]]:
            windows.append(len(span))
            return list(inner(span))

        return match

    monkeypatch.setattr(grammar, "_matcher", counted)
    grammar.raw_matches(shared_pipeline().parse("1 " * 1999))
    assert max(windows) <= grammar._WINDOW
    assert sum(windows) < 1.5 * 1999
