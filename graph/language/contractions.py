"""Spoken contractions spaCy's English tokenizer leaves whole: "wanna", "lemme", "gimme", "hafta".

spaCy splits "gonna" and "gotta" into two tokens with the words they stand for as norms and lemmas, so
"I gotta ..." parses as "I got to ...". It has no such entry for the four here, so "I wanna talk to a
real person" parsed as an unknown verb with "talk" hanging off it and was not read as a request. The same
split is added for them: the written form stays (``orth``), the two words they stand for become the
tokens' norms, and the attribute ruler gives them as lemmas, which the readers compare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

# written form -> its two parts as written, and the words each part stands for ("me" keeps spaCy's own
# lemma, "I")
CONTRACTIONS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "wanna": (("wan", "want"), ("na", "to")),
    "lemme": (("lem", "let"), ("me", "me")),
    "gimme": (("gim", "give"), ("me", "me")),
    "hafta": (("haf", "have"), ("ta", "to")),
}


def split_contractions(nlp: Language) -> None:
    """Teach ``nlp``'s tokenizer and attribute ruler the contractions, in lower case and capitalised."""
    from spacy.symbols import NORM, ORTH
    from spacy.tokenizer import Tokenizer

    tokenizer = nlp.tokenizer
    assert isinstance(tokenizer, Tokenizer)  # the model's own, not a custom callable
    ruler = nlp.get_pipe("attribute_ruler")
    for written, ((first, first_word), (second, second_word)) in CONTRACTIONS.items():
        for form, lead in ((written, first), (written.capitalize(), first.capitalize())):
            tokenizer.add_special_case(
                form, [{ORTH: lead, NORM: first_word}, {ORTH: second, NORM: second_word}]
            )
        pattern = [{"LOWER": first}, {"LOWER": second}]
        ruler.add([pattern], {"LEMMA": first_word}, index=0)  # type: ignore[attr-defined]
        if second_word != "me":
            ruler.add([pattern], {"LEMMA": second_word}, index=1)  # type: ignore[attr-defined]
