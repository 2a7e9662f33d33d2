"""What a bot or agent message asks for, read from its parse, not from keywords.

A question's wh-word and the noun it asks about say what kind of value answers it: "Which city" and
"Where" ask for a place, "What time" for a time, "How many people" for a number, "What type of car" for
a category, "checking or savings?" offers a choice, "Do you want ...?" asks yes or no. The noun also
names the slot ("departure city" -> ``departure_city``, "type of car" -> ``car_type``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.language.grammar import words
from graph.language.spans import Question

if TYPE_CHECKING:
    from spacy.tokens import Span as SpacySpan
    from spacy.tokens import Token

# The kind of value a slot noun asks for. Nouns are the heads of the question's noun phrase; the
# classes are semantic (what answers "which X?"), not values of any data set.
NOUN_KINDS: dict[str, str] = {
    **dict.fromkeys(
        words("city town place location destination origin area address airport station"), "place"
    ),
    **dict.fromkeys(words("country state neighborhood neighbourhood venue region spot street"), "place"),
    **dict.fromkeys(["time", "hour"], "time"),
    **dict.fromkeys(["date", "day", "month"], "date"),
    **dict.fromkeys(words("timeline timeframe deadline schedule"), "when"),
    **dict.fromkeys(words("person recipient contact friend"), "person"),
    **dict.fromkeys(words("price cost amount budget fee fare total sum"), "money"),
    **dict.fromkeys(["name", "title"], "name"),
    **dict.fromkeys(["email", "e-mail", "mail"], "email"),
    **dict.fromkeys(["phone", "telephone", "cell", "mobile"], "phone"),
    **dict.fromkeys(["zip", "postcode"], "zip"),
    **dict.fromkeys(words("type kind sort category genre class style range level"), "category"),
}
ID_HEADS = {"id", "number", "no", "#", "code"}
_WH_KINDS = {"where": "place", "when": "when", "who": "person", "whom": "person"}
_WH_KEYS = {"where": "location", "when": "date", "who": "person", "whom": "person"}
_REQUEST_VERBS = {"tell", "give", "share", "provide", "know", "specify", "enter", "send", "confirm"}
_TAKING_VERBS = {"have", "get", "take", "grab", "ask"}
_GENERIC_OPTIONS = {"other", "one", "type", "kind", "anything", "something", "else", "thing", "all", "both"}


# The key a question for a count gives: "How many tickets?" -> number_of_tickets (COUNT_PREFIX + noun).
COUNT = "number_of"
COUNT_PREFIX = f"{COUNT}_"


def _snake(*words: str) -> str:
    return "_".join(w.lower().replace("-", "_") for w in words if w).strip("_")


def _noun_phrase_key(noun: Token) -> tuple[str, str]:
    """``(kind, key)`` asked by a noun: "departure city" -> place, "type of car" -> category, car_type."""
    lemma = noun.lemma_.lower()
    compounds = [c.lemma_.lower() for c in noun.lefts if c.dep_ in ("compound", "amod") and c.is_alpha]
    of_object = next(
        (g for c in noun.rights if c.lower_ == "of" for g in c.children if g.dep_ == "pobj"), None
    )
    if lemma in ID_HEADS and compounds:
        owner = compounds[-1]
        kind = NOUN_KINDS.get(owner, "id")
        return (kind if kind in ("phone", "zip", "email") else "id"), _snake(
            owner, "id" if kind == "id" else ""
        )
    kind = NOUN_KINDS.get(lemma, "other")
    if compounds and NOUN_KINDS.get(compounds[-1]) in ("email", "phone", "zip"):
        owner = NOUN_KINDS[compounds[-1]]
        return owner, owner if owner != "zip" else "zip_code"  # "email address" is an e-mail, not a place
    if (
        kind == "category"
        and compounds
        and NOUN_KINDS.get(compounds[-1], "other") not in ("other", "category")
    ):
        return NOUN_KINDS[compounds[-1]], _snake(*compounds, lemma)  # "price range" asks for money
    if kind == "category" and of_object is not None:
        return "category", _snake(of_object.lemma_, lemma)  # "type of car" -> car_type
    if kind == "name" and of_object is not None:
        return "name", _snake(of_object.lemma_, "name")  # "name of the alarm" -> alarm_name
    if kind == "name" and any(c.lower_ in ("your", "you") for c in noun.lefts):
        return "person", "customer_name"
    return kind, _snake(*compounds, lemma)


def _conjuncts(first: Token) -> list[Token]:
    """``first`` and the words joined to it in a list, in order ("A, B, and C", "checking or savings")."""
    chain = [first]
    while (nxt := next((c for c in chain[-1].children if c.dep_ == "conj"), None)) is not None:
        chain.append(nxt)
    return chain


def _options(sent: SpacySpan) -> tuple[str, ...]:
    """The choices a question offers: "checking or savings", "Music, Sports or any other type"."""
    for token in sent:
        conjs = [c for c in token.children if c.dep_ == "conj"]
        if not conjs or not any(c.lower_ == "or" for c in (*token.children, *conjs[0].children)):
            continue
        options = []
        for option in _conjuncts(token):
            words = [c for c in option.lefts if c.dep_ in ("compound", "amod") and c.i == option.i - 1]
            phrase = " ".join([*(w.text for w in words), option.text])
            if option.pos_ == "PROPN":
                phrase = _name_phrase(option)  # "A Madea Family Funeral", whole
            if (
                option.lower_ not in _GENERIC_OPTIONS
                and option.pos_ not in ("PRON", "DET")
                and option.is_alpha
            ):
                options.append(phrase)
        if len(options) >= 2:
            return tuple(options)
    return ()


def _name_phrase(noun: Token) -> str:
    """A named thing as offered: the noun and the words of its phrase just before it, with a
    capitalised article inside a sentence ("A Madea Family Funeral") but not a lowercase one
    ("Maybe a Family Counselor", "the Kitchen speaker")."""
    doc = noun.doc
    start = noun.i
    while start > noun.sent.start:
        left = doc[start - 1]
        if left.dep_ not in ("compound", "amod", "nummod", "det") or not noun.is_ancestor(left):
            break
        if left.dep_ == "det" and not (left.is_title and left.i > left.sent.start):
            break
        start -= 1
    return doc[start : noun.i + 1].text


def _offered(sent: SpacySpan) -> tuple[str, ...]:
    """The named things an offer proposes: "How about A, B, and C?", "What about X?", "How does X
    sound?". Only names (proper nouns), so "How about tomorrow?" offers nothing to pick."""
    for token in sent:
        about = token.lower_ == "about" and any(c.lower_ in ("how", "what") for c in token.children)
        sound = token.lemma_.lower() == "sound" and any(c.lower_ == "how" for c in token.children)
        if not (about or sound):
            continue
        dep = "pobj" if about else "nsubj"
        first = next((c for c in token.children if c.dep_ == dep), None)
        chain = _conjuncts(first) if first is not None else []
        names = [
            _name_phrase(n) for n in chain if n.pos_ == "PROPN" or any(c.pos_ == "PROPN" for c in n.lefts)
        ]
        if names:
            return tuple(names)
    return ()


def _proposed(sent: SpacySpan) -> tuple[str, ...]:
    """The named things a yes/no question puts to the customer: "Are you interested in watching Green
    Book?", "Would you like to try Sushi Zone?"."""
    root = sent.root
    if not any(c.dep_ == "nsubj" and c.lower_ == "you" for c in root.children):
        return ()
    if root.lemma_.lower() in _REQUEST_VERBS:
        return ()  # "Could you provide your order ID?" asks for a value
    objects = [
        t
        for t in root.subtree
        if t.dep_ in ("dobj", "pobj")
        and t.pos_ == "PROPN"
        and not any(c.dep_ == "poss" for c in t.subtree)  # "your Username": asked for, not offered
    ]
    return tuple(_name_phrase(t) for t in objects)


def read_sentence(sent: SpacySpan) -> Question:
    """The question one sentence asks (:data:`graph.language.spans.NO_QUESTION`-like when none)."""
    tokens = [t for t in sent if not t.is_punct]
    if not tokens:
        return Question()
    options = _options(sent)
    offered = () if options else _offered(sent)
    if offered:
        return Question("offer", "", offered)  # answered only by naming one of them
    wh = next((t for t in tokens if t.tag_ in ("WDT", "WP", "WRB", "WP$")), None)
    if wh is not None:
        lower = wh.lower_
        if lower in ("which", "what", "whose") and wh.dep_ == "det":
            kind, key = _noun_phrase_key(wh.head)
            return Question(kind if not options else "choice", key, options)
        if lower == "how":
            nxt = wh.nbor(1) if wh.i + 1 < sent.end else None
            if nxt is not None and nxt.lower_ == "much":
                return Question("money", "amount", options)
            if nxt is not None and nxt.lower_ == "many":
                noun = nxt.head if nxt.head.pos_ in ("NOUN", "PROPN") else None
                return Question("number", _snake(COUNT, noun.lower_ if noun is not None else ""), options)
            if nxt is not None and nxt.lower_ == "long":
                return Question("when", "duration", options)
        if lower in _WH_KINDS:
            return Question(_WH_KINDS[lower], _WH_KEYS[lower], options)
        if lower in ("what", "which"):
            # "What is the name of the alarm?", "What is your destination?": the noun is the subject.
            noun = next(
                (t for t in tokens if t.dep_ in ("nsubj", "attr", "nsubjpass") and t.pos_ == "NOUN"), None
            )
            if noun is not None:
                kind, key = _noun_phrase_key(noun)
                return Question(kind if not options else "choice", key, options)
            return Question("choice" if options else "other", "", options)
    if options:
        return Question("choice", "", options)
    asked = _requested(sent)
    if asked is not None:
        return asked
    root = sent.root
    if (
        sent.text.rstrip().endswith("?")
        and root.pos_ in ("NOUN", "PROPN")
        and tokens[0].pos_ not in ("AUX", "VERB")
    ):
        kind, key = _noun_phrase_key(root)  # "Departure date?", "Number of tickets?"
        if root.lemma_.lower() == "number" and key == "number":
            of_object = next((g for c in root.rights if c.lower_ == "of" for g in c.children), None)
            return Question("number", _snake(COUNT, of_object.lower_ if of_object is not None else ""))
        return Question(kind, key)
    if (
        sent.text.rstrip().endswith("?")
        and tokens[-1].pos_ == "ADP"
        and tokens[-1].lower_ in ("from", "to", "in", "at")
    ):
        return Question("place", "location")  # "Departing from?"
    if sent.text.rstrip().endswith("?") or tokens[0].lemma_.lower() in ("confirm", "verify"):
        slot = _slot_in_yes_no(sent)
        if slot is not None:
            return slot
        proposed = _proposed(sent)
        return Question("offer", "", proposed) if proposed else Question("yes_no")
    return Question()


def _requested(sent: SpacySpan) -> Question | None:
    """A request for a value: "Tell me the type of movie", "Let me know your budget", and the polite
    question form "May I have your name?" / "Could we get your phone number?" (asks for *your* X)."""
    for token in sent:
        if token.dep_ != "dobj" or token.pos_ != "NOUN":
            continue
        verb = token.head
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
        polite = (
            verb.lemma_.lower() in _TAKING_VERBS
            and any(c.dep_ == "aux" and c.tag_ == "MD" for c in verb.children)
            and any(s.lower_ in ("i", "we") for s in subjects)
            and any(c.dep_ == "poss" and c.lower_ == "your" for c in token.children)
        )
        if not polite and verb.lemma_.lower() not in _REQUEST_VERBS:
            continue
        if not polite and any(s.lower_ != "you" for s in subjects):
            continue  # "I know the time" states, it does not ask
        kind, key = _noun_phrase_key(token)
        if kind != "other":
            return Question(kind, key)
    return None


def _slot_in_yes_no(sent: SpacySpan) -> Question | None:
    """A yes/no question that names an open slot: "Is there a particular genre you like?"."""
    for token in sent:
        if token.pos_ != "NOUN" or NOUN_KINDS.get(token.lemma_.lower(), "other") in ("other", "name"):
            continue
        dets = {c.lower_ for c in token.children if c.dep_ == "det"}
        modifiers = {c.lower_ for c in token.children if c.dep_ == "amod"}
        if dets & {"a", "an", "any"} or modifiers & {
            "particular",
            "preferred",
            "specific",
            "favorite",
            "favourite",
        }:
            kind, key = _noun_phrase_key(token)
            return Question(kind, key)
    return None
