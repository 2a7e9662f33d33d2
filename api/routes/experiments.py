"""Policy experiments (admin): read one, start, stop, promote a variant, and its per-variant analytics.

Start, stop and promote publish a new version of the serving policy through ``publish_version`` (the
one path the policy editor publishes with), so each is validated, swapped in on every worker that
reads the file, and recorded in the policy's version history with who, when and a note
(``experiment <id>: start``). Start and stop change only the experiment's ``status:`` line; promotion
publishes the variant's policy with the experiment removed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require_admin, require_oversight
from api.deps import PrincipalDep, RuntimeDep, SettingsDep, StoreDep
from api.errors import ApiError, error_responses
from api.experiments import ExperimentAnalytics, compare, observe
from api.policy_admin import VersionOut, _history, publish_version
from graph.policy_store import PolicyStore
from policies.experiments import (
    Experiment,
    ExperimentPolicy,
    ExperimentStatus,
    VariantName,
    experiment_of,
    promoted_text,
    with_status,
)
from policies.limits import MAX_NAME, NAME_PATTERN
from policies.loader import PolicyError, parse_policy

router = APIRouter(
    prefix="/v1/experiments", tags=["experiments"], responses=error_responses(401, 403, 404, 422)
)

ExperimentId = Annotated[
    str,
    PathParam(
        pattern=NAME_PATTERN,
        max_length=MAX_NAME,
        description="The experiment's id (its `experiment.id` in the policy).",
        examples=["luxury_threshold"],
    ),
]


class VariantOut(BaseModel):
    """One declared variant."""

    name: str = Field(examples=["lower_threshold"])
    share: float = Field(examples=[0.5])
    description: str = ""
    changes: list[str] = Field(description="What it overrides.", examples=[["rule luxury_interest: when"]])


class ExperimentOut(BaseModel):
    """The experiment the serving policy declares."""

    id: str = Field(examples=["luxury_threshold"])
    policy: str = Field(examples=["real_estate"])
    policy_version: str = Field(examples=["3511a3976382"])
    status: ExperimentStatus
    description: str = ""
    control: str = Field(description="The first variant; the others are compared with it.")
    variants: list[VariantOut]
    history: list[VersionOut] = Field(description="Published versions that started, stopped or promoted it.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionIn(_Body):
    """Who starts or stops the experiment, and why (kept in the policy history)."""

    published_by: str = Field(default="admin", min_length=1, max_length=100, examples=["dana"])
    note: str = Field(default="", max_length=500, examples=["two weeks, then decide"])


class PromoteIn(ActionIn):
    """The variant whose policy becomes the policy."""

    variant: VariantName = Field(examples=["lower_threshold"])


def _changes(experiment: Experiment, name: str) -> list[str]:
    variant = experiment.variant(name)
    out = [f"rule {rule}: {', '.join(o.model_dump(exclude_none=True))}" for rule, o in variant.rules.items()]
    out += [f"target {t}: {', '.join(o.model_dump(exclude_none=True))}" for t, o in variant.targets.items()]
    if variant.default is not None and variant.default.narration is not None:
        out.append("default: narration")
    return out


def _serving(runtime: RuntimeDep, experiment_id: str) -> tuple[PolicyStore, Experiment]:
    """The store of the policy that declares ``experiment_id`` (else 404)."""
    store = runtime.context.policies
    experiment = experiment_of(store.current().policy)
    if experiment is None or experiment.id != experiment_id:
        raise ApiError(404, "not_found", f"the serving policy declares no experiment {experiment_id}")
    return store, experiment


def _out(store: PolicyStore, experiment: Experiment, settings: SettingsDep) -> ExperimentOut:
    current = store.current()
    entries = _history(settings.data_dir, store)
    tag = f"experiment {experiment.id}:"
    history = [
        VersionOut(
            version=e["version"],
            published_by=e["published_by"],
            published_at=e["published_at"],
            note=e.get("note", ""),
            current=e["version"] == current.version and i == len(entries) - 1,
        )
        for i, e in reversed(list(enumerate(entries)))
        if e.get("note", "").startswith(tag)
    ]
    return ExperimentOut(
        id=experiment.id,
        policy=current.policy.name,
        policy_version=current.version,
        status=experiment.status,
        description=experiment.description,
        control=experiment.variants[0].name,
        variants=[
            VariantOut(
                name=v.name, share=v.share, description=v.description, changes=_changes(experiment, v.name)
            )
            for v in experiment.variants
        ],
        history=history,
    )


def _note(experiment: Experiment, action: str, note: str) -> str:
    return f"experiment {experiment.id}: {action}" + (f" ({note})" if note else "")


@router.get("", summary="The experiment the serving policy declares (an empty list when none)")
async def list_experiments(
    principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> list[ExperimentOut]:
    """Its status, variants with shares and what each overrides, and its start/stop history."""
    require_admin(principal, "read experiments")
    store = runtime.context.policies
    experiment = experiment_of(store.current().policy)
    return [] if experiment is None else [_out(store, experiment, settings)]


@router.get("/{experiment_id}", summary="One experiment of the serving policy")
async def get_experiment(
    experiment_id: ExperimentId, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> ExperimentOut:
    """Status, variants and history."""
    require_admin(principal, "read experiments")
    store, experiment = _serving(runtime, experiment_id)
    return _out(store, experiment, settings)


async def _set_status(
    experiment_id: str, status: ExperimentStatus, body: ActionIn, runtime: RuntimeDep, settings: SettingsDep
) -> ExperimentOut:
    store, experiment = _serving(runtime, experiment_id)
    if (status == "running") == (experiment.status == "running"):
        state = "running" if experiment.status == "running" else f"not running ({experiment.status})"
        raise ApiError(409, "conflict", f"experiment {experiment_id} is already {state}")
    current = store.current()
    action = "start" if status == "running" else "stop"
    text = with_status(current.text, status)
    name = current.policy.name
    publish_version(
        settings.data_dir, store, name, text, body.published_by, _note(experiment, action, body.note)
    )
    updated = experiment_of(store.current().policy)
    assert updated is not None
    return _out(store, updated, settings)


@router.post("/{experiment_id}/start", responses=error_responses(409), summary="Start assigning variants")
async def start(
    experiment_id: ExperimentId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    body: ActionIn | None = None,
) -> ExperimentOut:
    """Publishes the policy with ``status: running``; new turns of every conversation route with its
    variant from then on."""
    require_admin(principal, "start experiments")
    return await _set_status(experiment_id, "running", body or ActionIn(), runtime, settings)


@router.post("/{experiment_id}/stop", responses=error_responses(409), summary="Stop assigning variants")
async def stop(
    experiment_id: ExperimentId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    body: ActionIn | None = None,
) -> ExperimentOut:
    """Publishes the policy with ``status: stopped``: every conversation routes with the policy as written."""
    require_admin(principal, "stop experiments")
    return await _set_status(experiment_id, "stopped", body or ActionIn(), runtime, settings)


@router.post("/{experiment_id}/promote", summary="Publish a variant's policy as the policy")
async def promote(
    experiment_id: ExperimentId,
    body: PromoteIn,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
) -> VersionOut:
    """The variant's overrides become the policy and the experiment ends (its analytics stay)."""
    require_admin(principal, "promote experiment variants")
    store, experiment = _serving(runtime, experiment_id)
    if body.variant not in {v.name for v in experiment.variants}:
        declared = ", ".join(v.name for v in experiment.variants)
        raise ApiError(
            422, "validation_error", f"experiment {experiment_id} has no variant {body.variant} ({declared})"
        )
    current = store.current()
    note = _note(experiment, f"promote {body.variant}", body.note)
    text = promoted_text(current.policy, body.variant, note=f"{note}; published by {body.published_by}")
    return publish_version(settings.data_dir, store, current.policy.name, text, body.published_by, note)[1]


def _declared_order(runtime: RuntimeDep, settings: SettingsDep, experiment_id: str) -> list[str]:
    """The variants in declared order (the control first), from the serving policy or its history."""
    store = runtime.context.policies
    experiment = experiment_of(store.current().policy)
    if experiment is not None and experiment.id == experiment_id:
        return [v.name for v in experiment.variants]
    for entry in reversed(_history(settings.data_dir, store)):
        try:
            policy, _ = parse_policy(entry["yaml"], "history")
        except PolicyError:
            continue
        old = experiment_of(policy) if isinstance(policy, ExperimentPolicy) else None
        if old is not None and old.id == experiment_id:
            return [v.name for v in old.variants]
    return []


@router.get("/{experiment_id}/analytics", summary="Outcomes per variant with 95% intervals and a verdict")
async def experiment_analytics(
    experiment_id: ExperimentId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    store: StoreDep,
) -> ExperimentAnalytics:
    """Handoff rate, time to accept, completion, rollbacks, CSAT and the repeat-question rate of every
    variant, each against the control; also for an experiment that was promoted or removed since."""
    require_oversight(principal, "read analytics")
    order = _declared_order(runtime, settings, experiment_id)
    observed = await observe(store, runtime, experiment_id)
    if not order and not observed:
        raise ApiError(404, "not_found", f"no experiment {experiment_id} was declared or observed")
    return compare(experiment_id, order, observed)
