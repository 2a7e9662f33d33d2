"""Prototype descriptions of each cue: what a clause that carries it says, in plain words.

A clause of a customer turn is compared, by MiniLM sentence embeddings, with every prototype; the cue
of the nearest prototypes wins if it is close enough and closer than ordinary talk (``NEUTRAL``). The
prototypes describe kinds of statement, not phrasings seen in any eval row: each is a short, generic
sentence, several per cue so that a paraphrase lands near one of them. Negation is not read from the
embedding (it barely moves it): the parse tells whether a clause and its nearest prototype are both
affirmed, both denied, or opposite (:mod:`graph.language.scope`).

``SEEDS`` are a few words per cue that point at the word carrying it in a clause, so that its negation
and whether it is part of a place name can be checked on that word ("without going to *court*",
"*Probate* Lane"). They never decide a cue: the embedding and the parse do.
"""

from __future__ import annotations

from typing import Literal

CueKind = Literal[
    "human_request",
    "distress",
    "legal",
    "failure",
    "impatience",
    "clarify",
    "financing",
    "timeline",
    "vip_claim",
    "budget",
    "sophistication",
    "transaction",
    "sentiment",
]

# kind -> label -> prototypes. Labels of one kind are alternatives (legal high or low, a timeline).
PROTOTYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "human_request": {
        "ask": (
            "I want to talk to a real person",
            "Can I speak to a human please",
            "Connect me with an agent",
            "Put me through to someone on your team",
            "Could someone call me back",
            "Is there a real person I can talk to",
            "Get me your manager",
            "I need to speak with a representative",
            "Transfer me to a live agent",
            "Have one of your agents phone me",
            "I'd rather deal with a person than a bot",
            "A human please",
            "Can a person contact me about this",
            "I want to escalate this to a supervisor",
        ),
    },
    # Talking about a person is not asking for one.
    "about_person": {
        "about": (
            "My agent told me the house is worth more",
            "I already have a real estate agent",
            "I talked to someone at the bank yesterday",
            "Someone stole my card",
            "My husband will call you tomorrow",
            "The staff at the open house were helpful",
            "How many people can live in this house",
            "Someone else is using my account",
        ),
    },
    "distress": {
        "distress": (
            "I'm overwhelmed and don't know what to do",
            "My husband passed away",
            "We're going through a painful divorce",
            "I lost my job and can't pay the mortgage",
            "The bank is foreclosing on our home",
            "I'm so stressed and scared",
            "I can't cope with this anymore",
            "We're desperate and have nowhere to go",
            "I've been crying all day",
            "I haven't slept in weeks from worrying",
            "We are being evicted",
            "This is a nightmare and everything is falling apart",
            "I am so upset",
            "My mother died last month",
            "I'm really anxious and afraid we will lose everything",
        ),
    },
    "legal": {
        "high": (
            "There's a lien on the property",
            "We're being sued",
            "The estate is still in probate",
            "There's a dispute over the title",
            "My ex's lawyer is contesting the sale",
            "The neighbours took us to court",
            "We have to evict the tenant",
            "There is an ongoing lawsuit",
            "The tax authority put a lien on our house",
            "There is a court judgment against the property",
            "The boundary with the neighbour is in legal dispute",
            "The sale is tied up in litigation",
        ),
        "low": (
            "Do I need a lawyer to sell my house",
            "My attorney will review the contract",
            "Who handles the legal paperwork",
            "Is the purchase agreement legally binding",
            "The house is held in a family trust",
        ),
    },
    "failure": {
        "failure": (
            "It still doesn't work",
            "I tried that already",
            "That didn't help",
            "Same error again",
            "It keeps failing",
            "I've tried several times and it won't go through",
            "I did what you said and it's still broken",
            "Nothing changed, the problem is still there",
            "I restarted it but it still isn't working",
            "My payment keeps getting declined",
            "It got rejected again",
            "The page won't load no matter what I do",
        ),
    },
    # Impatience with the conversation itself (slow, repetitive, no help): a complaint about the
    # service, not news about the customer's case, so it is no answer to a question either.
    "impatience": {
        "impatient": (
            "This is taking too long",
            "Why is this taking so long",
            "You already asked me that",
            "I already told you that",
            "I have to keep saying the same thing",
            "I've asked this several times already",
            "This is a waste of my time",
            "You're not helping at all",
            "This bot is useless",
            "Stop asking me so many questions",
            "How many more questions are there",
            "Can we hurry this up",
            "This is ridiculous",
        ),
    },
    # The customer did not understand what was just said to them: a question about the question.
    "clarify": {
        "clarify": (
            "What do you mean?",
            "I don't understand the question",
            "Can you explain that?",
            "Sorry, what are you asking?",
            "What does that mean?",
            "I'm not sure what you're asking me",
            "Could you say that another way?",
        ),
    },
    "financing": {
        "ready": (
            "We're pre-approved for a mortgage",
            "I'm a cash buyer",
            "Our financing is in place",
            "The bank approved our loan",
            "We have the funds ready to buy",
            "We're paying in cash",
        ),
        "not_ready": (
            "We haven't been pre-approved yet",
            "I still need to get a mortgage",
            "We're waiting for the bank to approve the loan",
            "I'm not sure I can get financing",
        ),
    },
    # Time phrases, not clauses: a timeline is read from the phrase that says when (timeframe.py).
    "timeline": {
        "immediate": (
            "as soon as possible",
            "asap",
            "right away",
            "immediately",
            "urgently",
            "this week",
            "within days",
            "quickly",
            "it's urgent",
            "in a hurry",
            "by the end of the month",
        ),
        "moderate": (
            "in a few months",
            "this spring",
            "later this year",
            "by the end of the year",
            "sometime this summer",
        ),
        "long": (
            "no rush",
            "not in a hurry",
            "someday",
            "eventually",
            "just browsing",
            "in the long term",
            "no fixed date",
            "whenever it suits us",
        ),
    },
    "vip_claim": {
        "vip": (
            "I'm a VIP client",
            "I'm a platinum member",
            "I'm one of your premier private clients",
            "As a valued top-tier customer I expect priority",
        ),
    },
    "budget": {
        "budget": (
            "Our budget is up to 800,000",
            "We can afford around 500k",
            "We're pre-approved for 600,000",
            "We don't want to spend more than a million",
            "We're looking in the 700k price range",
        ),
        "value": (
            "The house is worth about 900,000",
            "We paid 500k for it",
            "We hope to get 850,000 for the condo",
            "The asking price is 1.2 million",
            "Similar homes sold for 700k",
        ),
    },
}

# Ordinary talk: a clause must be nearer a cue than all of these to carry it.
NEUTRAL: tuple[str, ...] = (
    "I want to sell my house",
    "I'm looking for a house to buy",
    "What are your fees",
    "We have three bedrooms and two baths",
    "Hello",
    "Thanks for your help",
    "We're selling the condo on Main Street",
    "How does this work",
    "How long does it usually take",
    "What is my home worth",
    "My email is sam@example.com",
    "I want to check the status of my order",
    "Can you tell me more about this listing",
    "The kitchen was renovated last year",
    "I'd like to schedule a showing",
    "How do I reset my password",
    "My card payment was declined",
    "We're relocating for a new job",
)

# Words that point at the word carrying a cue (see the module docstring); lemmas, lower case.
SEEDS: dict[str, frozenset[str]] = {
    "human_request": frozenset(
        {"human", "person", "people", "agent", "staff", "representative", "rep", "someone", "somebody"}
        | {"anyone", "anybody", "manager", "supervisor", "operator", "realtor", "broker", "advisor"}
        | {"adviser", "specialist", "employee", "colleague", "team", "callback", "individual", "being"}
        | {"whoever", "whomever"}
    ),
    "legal": frozenset(
        {"lawsuit", "sue", "court", "lien", "probate", "litigation", "lawyer", "attorney", "legal"}
        | {"dispute", "evict", "eviction", "judgment", "judge", "easement", "contest", "executor"}
    ),
}
# Verbs that ask for a call when their object is the customer ("call me back", "ring us").
CALL_VERBS = frozenset({"call", "ring", "phone"})
# Verbs that pass the customer on to someone ("transfer me", "connect us"; "put me through"), and
# "escalate", which passes a matter up to someone ("escalate this").
TRANSFER_VERBS = frozenset({"transfer", "connect"})
ESCALATE_VERBS = frozenset({"escalate"})
THROUGH_WORDS = frozenset({"through", "thru"})  # "put me through", "put me thru"
IN_TOUCH_WORDS = frozenset({"touch", "contact"})  # "put me in touch with", "get us in contact with"
# The words a request for a person can rest on besides the seeds: a long turn keeps the clauses that
# hold one (``cues._chosen``), so "... Please transfer me." at the end of a long story is still read.
REQUEST_VERB_WORDS = CALL_VERBS | TRANSFER_VERBS | ESCALATE_VERBS | THROUGH_WORDS | IN_TOUCH_WORDS

# Domain terms of an experienced buyer and of a complex transaction: words of the trade, read as
# terms (not as paraphrases), each still subject to negation and to the place-name check.
SOPHISTICATION_TERMS: tuple[str, ...] = (
    "cap rate",
    "1031",
    "portfolio",
    "roi",
    "noi",
    "llc",
    "family trust",
    "off-market",
    "off market",
    "comps",
    "jumbo",
    "cash-on-cash",
    "cash on cash",
    "yield",
    "appreciation",
    "tax strategy",
    "investment property",
    "investment properties",
    "multi-family",
    "multifamily",
)
TRANSACTION_TERMS: tuple[str, ...] = (
    "1031 exchange",
    "multiple properties",
    "several properties",
    "contingency",
    "contingent",
    "short sale",
    "probate",
    "trust",
    "llc",
    "international",
    "overseas",
    "commercial",
    "tenant",
    "tenants",
    "subdivide",
    "new construction",
    "relocating",
    "relocation",
    "estate sale",
    "bridge loan",
    "co-owner",
    "co-owners",
    "partner",
    "partners",
    "lien",
    "easement",
    "zoning",
)
