"""Hand-written eval cases: prompt engineers describe a conversation and what the brief must carry.

A case is a YAML file (see ``evals/cases/*.yaml``)::

    id: seller-relocation
    description: Seller relocating for work; price and timeline stated early.
    policy: real_estate            # policy the route is checked against (file in policies/ or a path)
    route: seller_bot              # where the real router sends the customer turns (optional)
    sections: [motivation, timeline]
    turns:
      - {role: customer, text: "We're relocating and want to sell our house at 12 Oak Street"}
    expected_facts:
      - {key: street_address, value: 12 Oak Street}
    expected_sections:             # section -> substrings it must contain (optional)
      motivation: [relocating]

Models are frozen and forbid unknown fields, so a typo ("expected_fact:") is an error naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evals import metrics
from evals.context import BriefProvider, DirectProvider
from graph.context import KNOWN_SECTIONS
from graph.runtime import BatonRuntime
from graph.settings import get_settings
from graph.transcript import Turn

POLICIES = Path(__file__).resolve().parent.parent / "policies"


class CaseError(ValueError):
    """A case file is missing, unreadable or invalid; the message names the file."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseTurn(_Frozen):
    """One message of the scripted conversation."""

    role: Literal["customer", "bot", "agent", "system"]
    text: str = Field(min_length=1)


class ExpectedFact(_Frozen):
    """A value the brief's facts must carry (matched like the ABCD eval: normalised value)."""

    key: str
    value: str = Field(min_length=1)


class EvalCase(_Frozen):
    """A conversation plus what a correct handoff brief contains."""

    id: str
    description: str = ""
    policy: str = Field(default="real_estate", description="Policy name (policies/NAME.yaml) or a path.")
    route: str | None = Field(default=None, description="Where the router should hand the conversation.")
    sections: list[str] = Field(default_factory=list)
    turns: list[CaseTurn] = Field(min_length=1)
    expected_facts: list[ExpectedFact] = Field(default_factory=list)
    expected_sections: dict[str, list[str]] = Field(default_factory=dict)

    def policy_path(self) -> Path:
        """The policy file the route is checked against."""
        path = Path(self.policy)
        return path if path.suffix in (".yaml", ".yml") else POLICIES / f"{self.policy}.yaml"

    def as_turns(self) -> list[Turn]:
        """The conversation as indexed Baton turns."""
        return [Turn(index=i, role=t.role, text=t.text) for i, t in enumerate(self.turns)]


class CaseOutcome(BaseModel):
    """How one case scored."""

    case_id: str
    fact_recall: float
    grounding_precision: float
    missing_facts: list[str]
    route_ok: bool | None
    section_misses: list[str]

    @property
    def passed(self) -> bool:
        """All facts carried, route as expected (when given), every expected section snippet present."""
        return self.fact_recall == 1.0 and self.route_ok is not False and not self.section_misses


def load_case(path: Path) -> EvalCase:
    """Parse and validate one YAML case.

    Raises:
        CaseError: With the file name and what is wrong (YAML syntax, unknown field, unknown section).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{path}: cannot read case: {exc}"
        raise CaseError(msg) from exc
    if not isinstance(data, dict):
        msg = f"{path}: a case must be a YAML mapping, got {type(data).__name__}"
        raise CaseError(msg)
    try:
        case = EvalCase.model_validate(data)
    except ValidationError as exc:
        msg = f"{path}: invalid case:\n{exc}"
        raise CaseError(msg) from exc
    unknown = [s for s in [*case.sections, *case.expected_sections] if s not in KNOWN_SECTIONS]
    if unknown:
        msg = f"{path}: unknown section(s) {unknown}; known: {sorted(KNOWN_SECTIONS)}"
        raise CaseError(msg)
    return case


def case_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their ``*.yaml`` / ``*.yml`` files, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        else:
            out.append(path)
    return out


def load_cases(paths: Iterable[Path]) -> list[EvalCase]:
    """Load every case under ``paths``; duplicate ids are an error."""
    cases: list[EvalCase] = []
    seen: dict[str, Path] = {}
    for path in case_paths(paths):
        case = load_case(path)
        if case.id in seen:
            msg = f"{path}: duplicate case id {case.id!r} (also in {seen[case.id]})"
            raise CaseError(msg)
        seen[case.id] = path
        cases.append(case)
    return cases


async def run_cases(paths: Sequence[Path], provider: BriefProvider | None = None) -> list[CaseOutcome]:
    """Brief every case and score its facts, route and sections.

    Args:
        paths: Case files or directories of them.
        provider: Brief provider; by default a :class:`DirectProvider` per case, targeting the case's
            ``route`` (or ``human_agent``) with the case's ``sections``.
    """
    outcomes: list[CaseOutcome] = []
    cases = load_cases(paths)
    routes = await routes_through_graph(cases)
    for case in cases:
        turns = case.as_turns()
        run = provider or DirectProvider(target=case.route or "human_agent", sections=case.sections)
        brief = await run(turns, case.id)
        section_misses = [
            f"{name}: {snippet!r}"
            for name, snippets in case.expected_sections.items()
            for snippet in snippets
            if snippet.lower() not in str(brief.sections.get(name, "")).lower()
        ]
        outcomes.append(
            CaseOutcome(
                case_id=case.id,
                fact_recall=metrics.fact_recall(case.expected_facts, brief.facts),
                grounding_precision=metrics.grounding_precision(brief.facts, turns),
                missing_facts=[
                    f"{f.key}={f.value}" for f in case.expected_facts if not metrics.carried(f, brief.facts)
                ],
                route_ok=None if case.route is None else routes.get(case.id) == case.route,
                section_misses=section_misses,
            )
        )
    return outcomes


async def route_of(runtime: BatonRuntime, case: EvalCase) -> str:
    """Post the case's customer turns to the real graph; return who holds the conversation at the end
    (the human target when it is waiting for a person)."""
    thread = f"case-{case.id}"
    for turn in case.turns:
        if turn.role == "customer":
            result = await runtime.post_message(thread, turn.text)
    view = await runtime.get(thread)
    if view.pending_interrupt is not None and view.handoff is not None:
        return view.handoff.to
    return result.active_agent if case.turns else ""


async def routes_through_graph(cases: Sequence[EvalCase]) -> dict[str, str]:
    """Route every case that names an expected ``route``, one offline runtime per policy."""
    routes: dict[str, str] = {}
    by_policy: dict[Path, list[EvalCase]] = {}
    for case in cases:
        if case.route is not None:
            by_policy.setdefault(case.policy_path(), []).append(case)
    for policy, group in by_policy.items():
        if not policy.is_file():
            msg = f"case {group[0].id}: policy {policy} not found"
            raise CaseError(msg)
        settings = get_settings().model_copy(update={"policy": policy, "offline": True, "case_memory": False})
        async with BatonRuntime.open(settings, checkpoint_url="memory") as runtime:
            for case in group:
                routes[case.id] = await route_of(runtime, case)
    return routes
