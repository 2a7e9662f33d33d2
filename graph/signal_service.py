"""Signal extraction for the router: the model when configured, the offline analyzer otherwise.

Whatever the model returns that does not validate degrades to the offline analyzer with a logged
warning; a conversation never fails because an endpoint misbehaved. The offline analysis (and the
intent classifier's first fit for a policy version) runs in the analysis threads
(:func:`graph.textutil.off_loop_unless_cached`), so a long message never holds the event loop that
answers every other request; a turn whose every part was read before is assembled in place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from graph.analyzer import OfflineAnalyzer
from graph.chat_model import structured
from graph.language.cues import mentions_a_person
from graph.signals import Evidence, Signals
from graph.textutil import DigestCache, needs_work, off_loop_unless_cached
from policies.loader import LoadedPolicy
from prompts import load_prompt

log = logging.getLogger(__name__)


class _PolicyIntents:
    """Adapts the embedding classifier, trained on a policy's labelled examples, to the analyzer."""

    def __init__(self, examples: Mapping[str, Sequence[str]]) -> None:
        from graph.intent import IntentClassifier

        self._clf = IntentClassifier.from_examples(examples)
        # Each text is scored once (a turn, the turn joined with the one before, each clause); a new
        # one is a miss, so a reading tried in place (off_loop_unless_cached) never scores on the loop.
        self._seen: DigestCache[tuple[str, float]] = DigestCache(8192)

    def predict_intent(self, text: str) -> tuple[str, float]:
        return self._seen.get_or_compute(text, self._predict)

    def _predict(self, text: str) -> tuple[str, float]:
        prediction = self._clf.predict(text)
        return prediction.label, float(prediction.confidence)


class SignalService:
    """Extracts ``Signals`` for a turn; one instance per process, shared by every run."""

    def __init__(self, model: BaseChatModel | None = None) -> None:
        self.model = model
        self._analyzers: dict[str, OfflineAnalyzer] = {}
        self._lock = threading.Lock()

    def analyzer_for(self, loaded: LoadedPolicy) -> OfflineAnalyzer:
        """The offline analyzer whose intent classifier learned this policy version's examples."""
        analyzer = self._analyzers.get(loaded.version)
        if analyzer is None:
            needs_work("fitting the policy's intent classifier")
            with self._lock:
                analyzer = self._analyzers.get(loaded.version)
                if analyzer is None:
                    intents = loaded.policy.intents
                    examples = {name: spec.examples for name, spec in intents.items()}
                    analyzer = OfflineAnalyzer(_PolicyIntents(examples) if len(examples) >= 2 else None)
                    self._analyzers[loaded.version] = analyzer
        return analyzer

    async def extract(
        self,
        customer_turns: Sequence[str],
        customer: Mapping[str, Any] | None,
        loaded: LoadedPolicy,
        *,
        since: int = 0,
    ) -> Signals:
        """Signals for the latest customer turn; ``since`` as in ``OfflineAnalyzer.analyze``."""
        # The worker thread gets its own copies: it never reads state the event loop may change.
        offline = await off_loop_unless_cached(
            self._offline, list(customer_turns), dict(customer) if customer else None, loaded, since
        )
        if self.model is None or not customer_turns:
            return offline
        try:
            from_model = await self._from_model(customer_turns[since:] or customer_turns[-1:], loaded)
        except (ValidationError, ValueError, TypeError) as exc:
            log.warning("model signals did not validate, using offline analyzer: %s", exc)
            return offline
        except Exception as exc:  # network errors, timeouts, server 500s
            log.warning("model signal extraction failed, using offline analyzer: %s", exc)
            return offline
        names_a_person = await off_loop_unless_cached(mentions_a_person, customer_turns[-1])
        return merge_signals(from_model, offline, set(loaded.policy.intents), names_a_person=names_a_person)

    def _offline(
        self, customer_turns: list[str], customer: dict[str, Any] | None, loaded: LoadedPolicy, since: int
    ) -> Signals:
        return self.analyzer_for(loaded).analyze(customer_turns, customer, since=since)

    async def _from_model(self, customer_turns: Sequence[str], loaded: LoadedPolicy) -> Signals:
        assert self.model is not None
        intents = "\n".join(
            f"- {name}: {spec.description or spec.examples[0]}"
            for name, spec in loaded.policy.intents.items()
        )
        system = load_prompt("signals").format(intents=intents or "- unknown")
        history = "\n".join(f"customer: {t}" for t in customer_turns[-6:])
        schema = signals_schema(list(loaded.policy.intents))
        result = await structured(self.model, schema).ainvoke([SystemMessage(system), HumanMessage(history)])
        if isinstance(result, Mapping):
            return Signals.model_validate(result)
        msg = f"unexpected structured output {type(result).__name__}"
        raise TypeError(msg)


# The profile decides vip; amounts are values the patterns read from the text (a model's amount could
# only be trusted where the text states it, which is where the patterns find it); the needs of each
# clause are the layer's clauses classified; the merge writes its own evidence.
_NOT_ASKED = frozenset({"vip", "property_value", "budget", "intents", "evidence"})


SCORE_STEP = 0.05
MAX_COUNT = 9


def _bare(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` without title and default, a bounded number as the grid of values it may take.

    llama.cpp's schema-to-grammar converter ignores ``minimum``/``maximum``, so a small model wrote
    ``"complexity": 2`` and the whole answer failed; an ``enum`` is enforced by every constrained
    decoder (a score to 0.05 is finer than any policy threshold needs).
    """
    spec = {k: v for k, v in spec.items() if k not in {"title", "default"}}
    low, high = spec.get("minimum"), spec.get("maximum")
    if spec.get("type") == "number" and low is not None and high is not None:
        step = SCORE_STEP * max(1.0, (high - low) / 2)  # about 40 values whatever the range (0-10: 0.25)
        steps = round((high - low) / step)
        spec["enum"] = [round(low + i * step, 2) for i in range(steps + 1)]
    elif spec.get("type") == "integer" and low == 0 and high is None:
        spec["enum"] = list(range(MAX_COUNT + 1))
    return spec


def signals_schema(intents: Sequence[str]) -> dict[str, Any]:
    """The JSON schema the model fills: the judgement fields of :class:`Signals`, all required.

    ``intent`` may only be one of the policy's intents (or ``unknown``); what the merge takes from the
    trusted profile and the patterns (``vip``, the amounts, ``evidence``) is not asked for.
    """
    fields = Signals.model_json_schema()["properties"]
    properties = {name: _bare(spec) for name, spec in fields.items() if name not in _NOT_ASKED}
    properties["intent"] = {"type": "string", "enum": [*intents, "unknown"]}
    return {
        "title": "Signals",
        "description": "What the customer's messages say, for routing.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def merge_signals(
    model: Signals, offline: Signals, intents: set[str], *, names_a_person: bool = False
) -> Signals:
    """Trust the model for judgement calls, the language layer for what it reads reliably.

    An intent outside the policy's list is replaced by the offline classifier's; a human request or
    a failed attempt found by the layer is never dropped because the model overlooked it, and the
    model's human request counts only when the turn names a person or a call (``names_a_person``: a
    small model read one into "Hi") and the layer did not read it as declined; the amounts, ``vip``
    and the needs of each clause (``intents``) are the layer's and the profile's alone; sentiment is
    the mean of both readings and distress needs a negative reading of the layer too.
    """
    data = model.model_dump()
    if model.intent not in intents:
        data["intent"], data["intent_confidence"] = offline.intent, offline.intent_confidence
    declined = any(
        isinstance(e, Evidence) and e.signal == "explicit_human_request" and e.negated
        for e in offline.evidence
    )
    model_asks = model.explicit_human_request and names_a_person and not declined
    data["explicit_human_request"] = offline.explicit_human_request or model_asks
    data["vip"] = offline.vip  # the trusted profile decides, never the text or the model
    data["property_value"], data["budget"] = offline.property_value, offline.budget
    data["intents"] = offline.intents
    # A weak model can read hostility into "Hi"; sentiment and distress need the lexicon's agreement.
    data["sentiment"] = round((model.sentiment + offline.sentiment) / 2, 3)
    data["emotional_distress"] = offline.emotional_distress or (
        model.emotional_distress and offline.sentiment < 0
    )
    data["failed_attempts"] = max(model.failed_attempts, offline.failed_attempts)
    data["evidence"] = ["model signals", *offline.evidence]
    return Signals.model_validate(data)
