"""Slips of the keyboard: read as the word meant by the cue reader, quoted as the customer wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from graph.language import spelling
from graph.language.cues import read_cues
from graph.language.spelling import likely_word, respell, zipf
from tests.test_api_support import ADMIN, Api, api_settings, in_process


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("cna I talk to a humna", "can I talk to a human"),
        ("Cna you help?", "Can you help?"),
        ("talk to a reprsentative", "talk to a representative"),
        ("I'm devestated, my lawyr called", "I'm devastated, my lawyer called"),
        # an apostrophe left out: the contraction, not the commoner word one edit away
        ("weve tried resetting it", "we've tried resetting it"),
        ("wheres my order?", "where's my order?"),
        ("Hows the refund going", "How's the refund going"),
    ],
)
def test_slips_are_read_as_the_words_meant(written: str, meant: str) -> None:
    respelled = respell(written)
    assert respelled is not None
    assert respelled.text == meant
    assert respelled.original == written


@pytest.mark.parametrize(
    "text",
    [
        "There's a lien on the house",  # common enough to be a word, though "line" is one edit away
        "an easement dispute with the neighbours",  # rare, and nothing near it is far more common
        "We saw it on Zillow, near Brookline",  # names inside a sentence
        "My card hasn't arrived",  # a contraction is one word
        "my iPhone and USD account",
        "i wnat to talk",  # "want" or "what": no clear winner, so neither
        "Hi, I want to sell my house at 12 Elm Street",
        # letters of a user name or an address are no words ("jbanter9" was read as "banter9")
        "Username: jbanter9",
        "my email is normanb6@email.com",
        "it's rdomingo@gmail.com",
    ],
)
def test_words_and_unclear_slips_stay_as_written(text: str) -> None:
    assert respell(text) is None


def test_spans_map_back_to_the_words_written() -> None:
    text = "pls cna someone call me, my lawyr says the humna at the bank is gone"
    respelled = respell(text)
    assert respelled is not None
    for new_start, new_end, old_start, old_end in respelled.spans:
        assert respelled.original_span(new_start, new_end) == (old_start, old_end)
    # a span over several corrections and the text between them
    start, end = respelled.text.index("can"), respelled.text.index("human") + len("human")
    assert (
        text[slice(*respelled.original_span(start, end))] == text[text.index("cna") : text.index("humna") + 5]
    )
    # text after the last correction keeps its own words
    at = respelled.text.index("bank")
    assert text[slice(*respelled.original_span(at, at + 4))] == "bank"


@pytest.mark.parametrize(
    "text",
    [
        "cna I talk to a human",
        "i need a humna",
        "can I talk to somone",
        "can i speak to an agnet",
        "talk to a reprsentative please",
    ],
)
def test_a_request_for_a_person_with_a_typo_is_read_and_quoted_as_written(text: str) -> None:
    found = read_cues(text).find("human_request")
    assert found, read_cues(text)
    for cue in read_cues(text).cues:
        assert text[cue.start : cue.end] == cue.text  # the customer's own words


def test_frequencies_come_from_the_shipped_list() -> None:
    assert zipf("the") > 7 > zipf("lawyer") > 4 > zipf("cna") > 2
    assert zipf("xqzvw") == 0.0
    assert likely_word("humna") == "human"
    assert likely_word("hi") is None  # too short to guess


def test_the_table_is_built_once_per_machine_and_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr(spelling, "_table", None)
    assert likely_word("agnet") == "agent"
    [table] = tmp_path.glob("words-*.npy")
    built = table.stat().st_mtime_ns
    monkeypatch.setattr(spelling, "_table", None)  # another process: maps the same file
    assert likely_word("agnet") == "agent"
    assert table.stat().st_mtime_ns == built


def test_an_unwritable_cache_keeps_the_table_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would go")  # mkdir fails, as on a read-only home
    monkeypatch.setenv("BATON_MODEL_CACHE", str(blocked))
    monkeypatch.setattr(spelling, "_table", None)
    assert likely_word("agnet") == "agent"
    assert blocked.read_text().startswith("a file")


def test_a_long_text_of_made_up_words_costs_a_bounded_number_of_guesses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    guessed: list[str] = []
    original = spelling.likely_word

    def counted(word: str, written: float | None = None) -> str | None:
        guessed.append(word)
        return original(word, written)

    monkeypatch.setattr(spelling, "likely_word", counted)
    # 4,000+ characters of made-up words (letters only: letters glued to digits are a name's, not guessed)
    junk = " ".join("zq" + chr(97 + i % 26) + chr(97 + i // 26 % 26) + "xw" for i in range(600))
    respell(junk + " cna you help")
    assert len(guessed) == spelling.MAX_GUESSES


def test_a_word_longer_than_any_slip_is_not_guessed_at(monkeypatch: pytest.MonkeyPatch) -> None:
    edits: list[str] = []
    original = spelling._one_edit

    def counted(word: str) -> list[str]:
        edits.append(word)
        return original(word)

    monkeypatch.setattr(spelling, "_one_edit", counted)
    long_word = "a" * 3998  # a pasted run: its one-edit candidates would be ~200,000 of 4,000 letters
    assert likely_word(long_word) is None
    assert respell(f"{long_word} cna you help") is not None  # the slip after it is still read
    assert edits == ["cna"]
    assert likely_word("x" * spelling.MAX_LETTERS) is None  # at the limit: guessed at, nothing near


async def test_a_customer_who_mistypes_a_request_for_a_person_is_handed_to_one(tmp_path: Path) -> None:
    async with in_process(create_app(api_settings(tmp_path))) as api:
        cid, token = await api.conversation()
        await api.say(cid, token, "Hi")
        turn = await api.say(cid, token, "cna I tlak to a humna plz")
        assert turn["handoff"]["trigger"] == "explicit_request"
        detail = await api.http.get(f"/v1/handoffs/{turn['handoff']['handoff_id']}", headers=Api.auth(ADMIN))
    # the agent reads why in the customer's own words
    assert "asked for a person: 'cna I tlak to a humna plz'" in detail.json()["handoff"]["reason"]
