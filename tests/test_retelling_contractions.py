"""A contraction typed without its apostrophe ("ive", "youre", "id", "dont") is retold like the
written one.

spaCy splits it into the pronoun and a bare piece ("i" + "ve"); the piece was retold as a verb of its
own ("Dana ves been waiting", "Danad likes to cancel", "were charging them"). A negative ("dont",
"cant") is split into the auxiliary and "nt": the auxiliary agreed and "nt" stayed ("Crystal doesnt
understand").
"""

from __future__ import annotations

import pytest

from graph.context.prose import retell
from graph.context.retelling import Person


@pytest.mark.parametrize(
    ("text", "person", "who", "told"),
    [
        ("ive been waiting for three weeks", "third", "Dana", "Dana has been waiting for three weeks"),
        ("ive been waiting for three weeks", "second", "", "you've been waiting for three weeks"),
        ("weve been charged twice", "second", "", "you've been charged twice"),
        ("id like to cancel my order", "third", "Dana", "Dana would like to cancel their order"),
        ("id like to cancel my order", "third", "", "they'd like to cancel their order"),
        ("Id rather wait", "second", "", "you'd rather wait"),
        ("youre charging me twice", "third", "", "we're charging them twice"),
        ("youll get it tomorrow", "third", "", "we'll get it tomorrow"),
        ("theyre not answering my emails", "third", "", "they're not answering their emails"),
        ("im moving to Denver", "third", "Dana", "Dana is moving to Denver"),
    ],
)
def test_a_contraction_without_its_apostrophe_is_retold_as_written_with_it(
    text: str, person: Person, who: str, told: str
) -> None:
    assert retell(text, person, who)[0] == told
    written = text.replace("ive", "I've").replace("weve", "we've").replace("youre", "you're")
    written = written.replace("youll", "you'll").replace("theyre", "they're").replace("im ", "I'm ")
    written = written.replace("Id ", "I'd ").replace("id ", "I'd ")
    assert retell(written, person, who)[0] == told  # the same as with the apostrophe typed


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("my account id is 438704", "their account id is 438704"),  # spaCy splits the noun too
        ("I lost my id", "they lost their id"),
        ("order id is 4727556983", "order id is 4727556983"),
    ],
)
def test_the_noun_id_is_no_contraction(text: str, told: str) -> None:
    assert retell(text, "third")[0] == told


@pytest.mark.parametrize(
    ("text", "person", "who", "told"),
    [
        ("I dont understand", "third", "Crystal", "Crystal doesn't understand"),
        ("I dont understand", "second", "", "you don't understand"),
        ("I cant log in", "third", "Dana", "Dana can't log in"),
        ("I wont pay that", "third", "", "they won't pay that"),
        ("my card doesnt work", "second", "", "your card doesn't work"),
        ("it isnt working", "third", "", "it isn't working"),
        ("we havent heard back", "third", "Dana", "Dana hasn't heard back"),
        ("I didnt get my refund", "third", "Dana", "Dana didn't get their refund"),
    ],
)
def test_a_negative_typed_without_its_apostrophe_is_retold_with_it(
    text: str, person: Person, who: str, told: str
) -> None:
    assert retell(text, person, who)[0] == told
    written = text.replace("nt ", "n't ")
    assert retell(written, person, who)[0] == told  # the same as with the apostrophe typed
