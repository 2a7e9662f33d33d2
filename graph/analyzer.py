"""Offline signal analyzer: the language layer's cues per turn, aggregated over the conversation.

Works with no model endpoint. Each turn is read once by :func:`graph.language.cues.read_cues`
(negation, clauses, place names, paraphrase); this module only decides which turns count for which
signal and how cues combine. Every signal it sets leaves an :class:`~graph.signals.Evidence` item with
the customer's words, their offsets and the turn they came from, so a routing decision can be
explained to a product owner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from graph.language.cues import Cue, TurnCues, only, read_cues
from graph.language.needs import need_clauses
from graph.language.patterns import CONTACT_RE
from graph.language.prototypes import CueKind
from graph.signals import LEAD_SCORE_MAX, Evidence, LegalComplexity, Signals, Timeline

# How the evidence line of each cue reads; the second item is the Signals field it supports.
_NOTES: dict[str, tuple[str, str]] = {
    "human_request": ("asked for a person", "explicit_human_request"),
    "distress": ("distress", "emotional_distress"),
    "legal": ("legal", "legal_complexity"),
    "failure": ("says it still fails", "failed_attempts"),
    "financing": ("financing", "financing_ready"),
    "timeline": ("timeline", "timeline"),
    "vip_claim": ("claims VIP status (not verified)", "vip"),
    "sentiment": ("negative sentiment", "sentiment"),
    "transaction": ("complex transaction", "transaction_complexity"),
    "sophistication": ("sophisticated buyer", "buyer_sophistication"),
}


# A clause's intent is a need of its own only when the classifier is this sure of it: a turn's clauses
# are short, and "I want it now" must not read as a second request.
NEED_CONFIDENCE = 0.7


class IntentPredictor(Protocol):
    """Anything that maps a text to (intent, confidence)."""

    def predict_intent(self, text: str) -> tuple[str, float]:
        """Return the best intent label and a confidence in [0, 1]."""
        ...


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _evidence(cue: Cue, turn: int, note: str | None = None) -> Evidence:
    what, signal = _NOTES[cue.kind]
    label = "" if cue.label in ("ask", "distress", "failure", "vip", "negative") else f" ({cue.label})"
    line = note or f"{'denied: ' if cue.negated else ''}{what}{label}: {cue.text!r}"
    return Evidence(
        note=line,
        signal=signal,
        text=cue.text,
        start=cue.start,
        end=cue.end,
        turn=turn,
        negated=cue.negated,
    )


class _Collector:
    """The evidence of one analysis: set signals first, denied cues after them."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []
        self.denied: list[Evidence] = []

    def note(self, line: str) -> None:
        self.items.append(Evidence(note=line))

    def cue(self, cue: Cue, turn: int, note: str | None = None) -> None:
        (self.denied if cue.negated else self.items).append(_evidence(cue, turn, note))

    def first(
        self,
        turns: Sequence[TurnCues],
        offset: int,
        kind: CueKind,
        *,
        label: str | None = None,
        limit: int = 1,
    ) -> list[Cue]:
        """Record and return up to ``limit`` affirmed cues of ``kind`` in ``turns`` (newest first)."""
        found: list[Cue] = []
        for i in range(len(turns) - 1, -1, -1):
            for cue in sorted(turns[i].find(kind, label), key=lambda c: -c.score):
                if len(found) < limit:
                    found.append(cue)
                    self.cue(cue, offset + i)
        return found

    def denials(self, turn: TurnCues, index: int, kind: CueKind) -> None:
        for cue in turn.find(kind, negated=True)[:1]:
            self.cue(cue, index)


class OfflineAnalyzer:
    """Derives ``Signals`` from the customer's turns without any model endpoint.

    Thread-safe: the router runs it in worker threads. Each distinct turn text is read once by the
    language layer, which caches it by a digest of the text.
    """

    def __init__(self, intents: IntentPredictor | None = None) -> None:
        self._intents = intents

    def features(self, text: str) -> TurnCues:
        """The cues of one customer turn (read on first sight, then cached)."""
        return read_cues(text)

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
        turns = [self.features(t) for t in customer_turns[:-1]]
        turns.append(read_cues(customer_turns[-1], with_turn=self._intents is not None))
        last = len(turns) - 1
        latest = turns[-1]
        start = since if since < len(turns) else last
        case_turns = turns[start:]
        recent_start = max(start, len(turns) - 3)
        out = _Collector()

        intent, confidence = self._intent(customer_turns, latest, out)
        needs = self._needs(customer_turns[-1], intent, confidence, last, out)

        earlier = [t.sentiment for t in case_turns[-4:-1]]
        # How the customer feels now: earlier anger makes it worse, earlier calm does not dilute it.
        sentiment = latest.sentiment + 0.3 * min(0.0, *earlier) if earlier else latest.sentiment
        if sentiment <= -0.3:
            worst = latest.find("sentiment")
            if worst:
                out.cue(worst[0], last, f"negative sentiment {sentiment:.2f}: {worst[0].text!r}")
            else:
                out.note(f"negative sentiment {sentiment:.2f}")

        human = out.first([latest], last, "human_request")
        if not human:
            out.denials(latest, last, "human_request")

        # VIP comes from the trusted profile only: typing "I'm a VIP" must not jump the queue.
        vip = bool(customer and customer.get("vip"))
        if vip:
            out.note("VIP customer (profile)")
        else:
            out.first(turns, 0, "vip_claim")

        amounts = [a for t in turns for a in t.amounts]
        property_value = max(amounts) if amounts else None
        budget = next((max(t.budget_amounts) for t in reversed(turns) if t.budget_amounts), None)
        if property_value:
            out.note(f"amount {property_value:,.0f}")

        legal = self._legal(case_turns, start, out)

        distress_cues = out.first(turns[recent_start:], recent_start, "distress", limit=2)
        distress = bool(distress_cues) or latest.sentiment <= -0.6
        if distress and not distress_cues:
            out.note(f"distress: very negative turn ({latest.sentiment:.2f})")

        financing = self._financing(turns, out)
        timeline = self._timeline(turns, out)

        soph_hits = frozenset().union(*(t.terms.get("sophistication", frozenset()) for t in turns))
        big = property_value is not None and property_value > 1_000_000
        sophistication = (
            "high" if len(soph_hits) >= 2 or (soph_hits and big) else "medium" if soph_hits else "low"
        )
        if soph_hits:
            out.note(f"sophisticated buyer: {', '.join(sorted(soph_hits)[:4])}")

        cues = frozenset().union(*(t.terms.get("transaction", frozenset()) for t in case_turns))
        transaction = _clamp(
            0.25 * len(cues) + (0.2 if property_value and property_value > 2_000_000 else 0.0)
        )
        if cues:
            out.note(f"complex transaction: {', '.join(sorted(cues)[:4])}")

        complexity = _clamp(
            0.5 * transaction
            + {"high": 0.5, "low": 0.2, "none": 0.0}[legal]
            + (0.2 if distress else 0.0)
            + (0.1 if latest.questions >= 2 else 0.0)
            + (0.1 if latest.words > 60 else 0.0)
        )
        failing = [i for i, t in enumerate(case_turns) if t.find("failure")]
        for i in failing[-2:]:
            out.cue(case_turns[i].find("failure")[0], start + i)

        contact = any(CONTACT_RE.search(t) for t in customer_turns)
        lead = LEAD_SCORE_MAX * _clamp(  # the cues add up to a fraction; the score runs 0-10
            (0.25 if property_value or budget else 0.0)
            + {"immediate": 0.25, "moderate": 0.15, "long": 0.0, "unknown": 0.0}[timeline]
            + (0.25 if financing else 0.0)
            + (0.15 if confidence >= 0.8 else 0.0)
            + (0.1 if contact else 0.0)
        )
        return Signals(
            intent=intent,
            intent_confidence=_clamp(confidence),
            intents=needs,
            sentiment=max(-1.0, min(1.0, sentiment)),
            complexity=complexity,
            explicit_human_request=bool(human),
            vip=vip,
            property_value=property_value,
            budget=budget,
            legal_complexity=legal,
            emotional_distress=distress,
            lead_score=round(lead, 2),
            financing_ready=financing,
            timeline=timeline,
            buyer_sophistication=sophistication,
            transaction_complexity=transaction,
            failed_attempts=len(failing),
            evidence=[*out.items, *out.denied],
        )

    @staticmethod
    def _legal(case_turns: Sequence[TurnCues], start: int, out: _Collector) -> LegalComplexity:
        high = out.first(case_turns, start, "legal", label="high")
        if high:
            return "high"
        low = out.first(case_turns, start, "legal", label="low", limit=2)
        if len(low) >= 2:
            return "high"  # two legal matters make a complicated case
        if not low and case_turns:
            out.denials(case_turns[-1], start + len(case_turns) - 1, "legal")
        return "low" if low else "none"

    @staticmethod
    def _financing(turns: Sequence[TurnCues], out: _Collector) -> bool:
        """Ready when a turn says so and neither of the last two says it is not (latest wins)."""
        for i in range(len(turns) - 1, -1, -1):
            turn = turns[i]
            not_ready = turn.find("financing", "not_ready") + turn.find("financing", "ready", negated=True)
            if not_ready and i >= len(turns) - 2:
                out.cue(not_ready[0], i, f"financing not ready: {not_ready[0].text!r}")
                return False
            ready = turn.find("financing", "ready")
            if ready:
                out.cue(ready[0], i)
                return True
        return False

    @staticmethod
    def _timeline(turns: Sequence[TurnCues], out: _Collector) -> Timeline:
        """The latest statement wins: "no rush... actually we need to move next month" is immediate."""
        for i in range(len(turns) - 1, -1, -1):
            for cue in reversed(turns[i].find("timeline")):
                out.cue(cue, i)
                return cue.label  # type: ignore[return-value]
            # "it's not urgent", "we don't need to move right away": a denied hurry is no hurry
            for cue in turns[i].find("timeline", "immediate", negated=True)[:1]:
                out.cue(cue, i, f"timeline (long): not urgent: {cue.text!r}")
                return "long"
        return "unknown"

    def _intent(self, customer_turns: Sequence[str], latest: TurnCues, out: _Collector) -> tuple[str, float]:
        if self._intents is None:
            return "unknown", 0.0
        intent, confidence = self._intents.predict_intent(customer_turns[-1])
        if latest.words <= 3 and len(customer_turns) > 1:
            # "gold", "Joyce Wu", "Order ID: 7878573121" answer a question; they state no new intent.
            confidence *= 0.5
            out.note("short answer: intent confidence halved")
        elif len(customer_turns) > 1 and (
            only("impatience", customer_turns[-1]) or only("clarify", customer_turns[-1])
        ):
            # "this is the third time I'm asking" complains of the conversation, "what do you mean?" asks
            # about it: neither names a new need
            confidence *= 0.5
            out.note("about the conversation itself: intent confidence halved")
        elif confidence < 0.5 and len(customer_turns) > 1:
            # A bare "yes, 2 million" needs the previous turn to mean anything.
            joined = " ".join(customer_turns[-2:])
            alt_intent, alt_conf = self._intents.predict_intent(joined)
            if alt_conf > confidence:
                intent, confidence = alt_intent, alt_conf
        out.note(f"intent {intent} ({confidence:.2f})")
        return intent, confidence

    def _needs(self, text: str, intent: str, confidence: float, turn: int, out: _Collector) -> list[str]:
        """The needs the latest turn states, one per clause, in the order said (``Signals.intents``).

        Each clause the turn splits into is classified on its own; the clauses are the ones the cue
        reader embedded with the turn, so their vectors come from the embedder's cache (no model run).
        """
        if self._intents is None:
            return []
        parts = need_clauses(text)
        found: list[str] = []
        for part in parts if len(parts) > 1 else ():
            label, score = self._intents.predict_intent(part.masked)
            if score < NEED_CONFIDENCE and not part.declined:
                continue
            what = "declined" if part.declined else "need"
            evidence = Evidence(
                note=f"{what} {label} ({score:.2f}): {part.text!r}",
                signal="intents",
                text=part.text,
                start=part.start,
                end=part.end,
                turn=turn,
                negated=part.declined,
                value=label,
            )
            (out.denied if part.declined else out.items).append(evidence)
            if not part.declined and label not in found:
                found.append(label)
        if not found and confidence >= NEED_CONFIDENCE and not any(p.declined for p in parts):
            found = [intent]  # one clause, or none sure on its own: the turn's own intent
        return found
