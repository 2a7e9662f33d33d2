"""Offline signal analyzer: lexicons, patterns, amounts and a nearest-neighbour intent classifier.

Works with no model endpoint. Every signal it sets leaves a line in ``Signals.evidence`` so a routing
decision can be explained to a product owner.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from graph.lexicon import (
    CONTACT_RE,
    DISTRESS_PATTERNS,
    HUMAN_REQUEST_PATTERNS,
    LEGAL_PATTERNS,
    any_match,
    sentiment_score,
)
from graph.signals import Signals, Timeline
from graph.textutil import DigestCache, parse_money


class IntentPredictor(Protocol):
    """Anything that maps a text to (intent, confidence)."""

    def predict_intent(self, text: str) -> tuple[str, float]:
        """Return the best intent label and a confidence in [0, 1]."""
        ...


_BUDGET_CUE = re.compile(
    r"\b(budget|afford|up to|spend|price range|pre-?approved for|approved for|looking (?:at|in) the)\b", re.I
)
_VIP = re.compile(
    r"\b(vip|platinum (?:member|client|tier)|premier (?:client|member)|private client|concierge client)\b",
    re.I,
)
_FINANCING_YES = re.compile(
    r"\b(pre-?approved|pre-?qualified|cash buyer|paying (?:in )?cash|all[- ]cash|mortgage (?:is )?approved|"
    r"approved for a (?:loan|mortgage)|financing (?:is )?(?:ready|in place|sorted|secured))\b",
    re.I,
)
_FINANCING_NO = re.compile(
    r"\b(not (?:yet )?(?:pre-?approved|approved)|haven'?t (?:been )?(?:pre-?approved|approved)|"
    r"need (?:a|to get a) (?:mortgage|loan)|no financing)\b",
    re.I,
)
_TIMELINES: tuple[tuple[Timeline, re.Pattern[str]], ...] = (
    (
        "immediate",
        re.compile(
            r"\b(asap|as soon as possible|immediately|right away|urgent(?:ly)?|this (?:week|month)|"
            r"within (?:a|one|two|three|\d+) (?:days?|weeks?)|in (?:\d+|a few|two|three) (?:days|weeks)|"
            r"next (?:week|month)|in 30 days|by the end of the month|quickly|fast)\b",
            re.I,
        ),
    ),
    (
        "moderate",
        re.compile(
            r"\b(in (?:\d|two|three|four|five|six|a few|a couple of) months|next few months|"
            r"this (?:year|spring|summer|fall|autumn|winter)|by (?:spring|summer|fall|winter|"
            r"january|february|march|april|may|june|july|august|september|october|november|december)|"
            r"within (?:\d|two|three|six) months|in the next (?:few|couple of) months)\b",
            re.I,
        ),
    ),
    (
        "long",
        re.compile(
            r"\b(next year|in a year|a year or (?:two|so)|no rush|not in a hurry|just (?:browsing|looking)|"
            r"someday|eventually|long[- ]term|in (?:\d+|a couple of) years)\b",
            re.I,
        ),
    ),
)
_SOPHISTICATED = re.compile(
    r"\b(cap rate|1031|portfolio|roi|noi|llc|family trust|off[- ]market|comps|jumbo|"
    r"cash[- ]on[- ]cash|yield|appreciation|tax strategy|investment propert\w*|multi[- ]family)\b",
    re.I,
)
_TRANSACTION_CUES = re.compile(
    r"\b(1031 exchange|multiple properties|several properties|contingen\w+|short sale|probate|trust|llc|"
    r"international|overseas|commercial|tenants?|subdivid\w+|new construction|relocat\w+|estate sale|"
    r"bridge loan|co-?owners?|partners?|lien|easement|zoning)\b",
    re.I,
)
_FAILED = re.compile(
    r"\b(still (?:not|doesn'?t|isn'?t|won'?t|can'?t|broken|failing)|didn'?t (?:work|help)|doesn'?t work|"
    r"tried (?:that|it|this) already|already tried|same (?:problem|error|issue)|not working again|"
    r"keeps? (?:failing|happening|crashing))\b",
    re.I,
)
_STRONG_LEGAL = re.compile(r"\b(lawsuit|suing|sue|probate|lien|title dispute|litigation|court)\b", re.I)


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _first_timeline(text: str) -> Timeline:
    for label, pattern in _TIMELINES:
        if pattern.search(text):
            return label
    return "unknown"


@dataclass(frozen=True)
class TurnFeatures:
    """What one customer turn says, read once; :class:`OfflineAnalyzer` aggregates these per turn.

    Every field depends on the turn's text alone, so a turn analysed on an earlier call is never
    scanned again: a conversation's 25th turn costs what its first did.
    """

    sentiment: float
    human_request: tuple[str, ...]
    vip_claim: bool
    amounts: tuple[float, ...]  # money amounts of 10,000 and more
    budget_cue: bool
    legal: tuple[str, ...]
    strong_legal: bool
    distress: tuple[str, ...]
    financing_yes: bool
    financing_no: bool
    timeline: Timeline  # the first timeline label that matches, in _TIMELINES order
    sophistication: frozenset[str]
    transaction: frozenset[str]
    failed: bool
    contact: bool
    questions: int
    words: int


def read_turn(text: str) -> TurnFeatures:
    """Scan one customer turn for every cue the analyzer uses (each pattern runs in linear time)."""
    return TurnFeatures(
        sentiment=sentiment_score(text),
        human_request=tuple(any_match(HUMAN_REQUEST_PATTERNS, text)),
        vip_claim=_VIP.search(text) is not None,
        amounts=tuple(a for a in parse_money(text) if a >= 10_000),
        budget_cue=_BUDGET_CUE.search(text) is not None,
        legal=tuple(any_match(LEGAL_PATTERNS, text)),
        strong_legal=_STRONG_LEGAL.search(text) is not None,
        distress=tuple(any_match(DISTRESS_PATTERNS, text)),
        financing_yes=_FINANCING_YES.search(text) is not None,
        financing_no=_FINANCING_NO.search(text) is not None,
        timeline=_first_timeline(text),
        sophistication=frozenset(m.group(0).lower() for m in _SOPHISTICATED.finditer(text)),
        transaction=frozenset(m.group(0).lower() for m in _TRANSACTION_CUES.finditer(text)),
        failed=_FAILED.search(text) is not None,
        contact=CONTACT_RE.search(text) is not None,
        questions=text.count("?"),
        words=len(text.split()),
    )


class OfflineAnalyzer:
    """Derives ``Signals`` from the customer's turns without any model endpoint.

    Thread-safe: the router runs it in worker threads. Each distinct turn text is read once
    (:func:`read_turn`) and kept in a bounded cache keyed by a digest of the text.
    """

    def __init__(self, intents: IntentPredictor | None = None, *, cache_size: int = 8192) -> None:
        self._intents = intents
        self._turns: DigestCache[TurnFeatures] = DigestCache(cache_size)

    def features(self, text: str) -> TurnFeatures:
        """The cues of one customer turn, read on first sight and cached."""
        return self._turns.get_or_compute(text, read_turn)

    def analyze(
        self, customer_turns: Sequence[str], customer: Mapping[str, Any] | None = None, *, since: int = 0
    ) -> Signals:
        """Analyze a conversation; ``customer_turns[-1]`` is the turn being routed.

        Args:
            customer_turns: Everything the customer said, oldest first.
            customer: Profile the chat widget sent (``vip``, ``plan``...), trusted over text cues.
            since: Index of the first turn after the last human handoff ended. Cues about the case
                (legal, distress, complexity, failures) are read from there on, because the human
                already dealt with what came before; facts (amounts, financing, timeline) from all turns.
        """
        if not customer_turns:
            return Signals()
        turns = [self.features(t) for t in customer_turns]
        latest = turns[-1]
        case_turns = turns[since:] or [latest]
        recent = case_turns[-3:]
        evidence: list[str] = []

        intent, confidence = self._intent(customer_turns, latest.words, evidence)

        earlier = [t.sentiment for t in case_turns[-4:-1]]
        # How the customer feels now: earlier anger makes it worse, earlier calm does not dilute it.
        sentiment = latest.sentiment + 0.3 * min(0.0, *earlier) if earlier else latest.sentiment
        if sentiment <= -0.3:
            evidence.append(f"negative sentiment {sentiment:.2f}")

        human = latest.human_request
        if human:
            evidence.append(f"asked for a human: {human[0]!r}")

        # VIP comes from the trusted profile only: typing "I'm a VIP" must not jump the queue.
        vip = bool(customer and customer.get("vip"))
        if vip:
            evidence.append("VIP customer (profile)")
        elif any(t.vip_claim for t in turns):
            evidence.append("claims VIP status (not verified)")

        amounts = [a for t in turns for a in t.amounts]
        property_value = max(amounts) if amounts else None
        budget = next((max(t.amounts) for t in reversed(turns) if t.budget_cue and t.amounts), None)
        if property_value:
            evidence.append(f"amount {property_value:,.0f}")

        legal_hits = [h for t in case_turns for h in t.legal]
        strong_legal = any(t.strong_legal for t in case_turns)
        legal = "high" if len(legal_hits) >= 2 or strong_legal else "low" if legal_hits else "none"
        if legal != "none":
            evidence.append(f"legal ({legal}): {', '.join(legal_hits[:3])}")

        distress_hits = [h for t in recent for h in t.distress]
        distress = bool(distress_hits) or latest.sentiment <= -0.6
        if distress:
            evidence.append(f"distress: {', '.join(distress_hits[:2]) or 'very negative turn'}")

        financing = any(t.financing_yes for t in turns) and not any(t.financing_no for t in turns[-2:])
        # The latest statement wins: "no rush... actually we need to move next month" is immediate.
        timeline = next((t.timeline for t in reversed(turns) if t.timeline != "unknown"), "unknown")

        soph_hits = frozenset().union(*(t.sophistication for t in turns))
        big = property_value is not None and property_value > 1_000_000
        sophistication = (
            "high" if len(soph_hits) >= 2 or (soph_hits and big) else "medium" if soph_hits else "low"
        )

        cues = frozenset().union(*(t.transaction for t in case_turns))
        transaction = _clamp(
            0.25 * len(cues) + (0.2 if property_value and property_value > 2_000_000 else 0.0)
        )
        if cues:
            evidence.append(f"complex transaction: {', '.join(sorted(cues)[:4])}")

        complexity = _clamp(
            0.5 * transaction
            + {"high": 0.5, "low": 0.2, "none": 0.0}[legal]
            + (0.2 if distress else 0.0)
            + (0.1 if latest.questions >= 2 else 0.0)
            + (0.1 if latest.words > 60 else 0.0)
        )
        failed = sum(1 for t in case_turns if t.failed)
        if failed:
            evidence.append(f"{failed} turn(s) saying it still fails")

        contact = any(t.contact for t in turns)
        lead = _clamp(
            (0.25 if property_value or budget else 0.0)
            + {"immediate": 0.25, "moderate": 0.15, "long": 0.0, "unknown": 0.0}[timeline]
            + (0.25 if financing else 0.0)
            + (0.15 if confidence >= 0.8 else 0.0)
            + (0.1 if contact else 0.0)
        )
        return Signals(
            intent=intent,
            intent_confidence=_clamp(confidence),
            sentiment=max(-1.0, min(1.0, sentiment)),
            complexity=complexity,
            explicit_human_request=bool(human),
            vip=vip,
            property_value=property_value,
            budget=budget,
            legal_complexity=legal,
            emotional_distress=distress,
            lead_score=lead,
            financing_ready=financing,
            timeline=timeline,
            buyer_sophistication=sophistication,
            transaction_complexity=transaction,
            failed_attempts=failed,
            evidence=evidence,
        )

    def _intent(
        self, customer_turns: Sequence[str], latest_words: int, evidence: list[str]
    ) -> tuple[str, float]:
        if self._intents is None:
            return "unknown", 0.0
        intent, confidence = self._intents.predict_intent(customer_turns[-1])
        if latest_words <= 3 and len(customer_turns) > 1:
            # "gold", "Joyce Wu", "Order ID: 7878573121" answer a question; they state no new intent.
            confidence *= 0.5
            evidence.append("short answer: intent confidence halved")
        elif confidence < 0.5 and len(customer_turns) > 1:
            # A bare "yes, 2 million" needs the previous turn to mean anything.
            joined = " ".join(customer_turns[-2:])
            alt_intent, alt_conf = self._intents.predict_intent(joined)
            if alt_conf > confidence:
                intent, confidence = alt_intent, alt_conf
        evidence.append(f"intent {intent} ({confidence:.2f})")
        return intent, confidence
