"""Policy editing for the admin page: validate and diff a draft, try it, publish with history, roll back.

``publish_version`` is the one way a policy is published: ``POST /v1/policies/{name}/publish`` (the
canonical route), ``PUT /v1/policies/{name}`` (api/routes/policies.py, the same with a plain YAML body
allowed) and rollback all call it. It validates (the name included: a policy keeps its name), swaps
the policy in and records it in ``data_dir/policy_history/<name>.jsonl`` (one JSON object per version:
the text, its content hash, who published it and when), so any earlier version can be restored with
one call. A version that reached the file some other way (an edit on disk) is recorded the first time
the history is read. Policy names in paths follow the same rule as the ``name:`` field.
"""

from __future__ import annotations

import difflib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require_admin
from api.cli_policy import Explanation, explain_policy
from api.deps import PrincipalDep, RuntimeDep, SettingsDep
from api.errors import ApiError, error_responses, policy_issues
from graph.policy_store import PolicyStore, check_policy_text
from graph.runtime import BatonRuntime
from graph.turn_times import conversation_times
from policies.limits import MAX_BYTES, MAX_NAME, NAME_PATTERN
from policies.loader import LoadedPolicy, PolicyError, policy_version

router = APIRouter(
    prefix="/v1/policies", tags=["policy admin"], responses=error_responses(401, 403, 404, 422)
)
_history_lock = threading.Lock()

PolicyName = Annotated[
    str,
    PathParam(
        pattern=NAME_PATTERN,
        max_length=MAX_NAME,
        description="The policy's name (its `name:` field).",
        examples=["real_estate"],
    ),
]
Version = Annotated[str, PathParam(max_length=64, description="Content hash.", examples=["3511a3976382"])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftIn(_Body):
    """A draft policy."""

    yaml: str = Field(min_length=1, max_length=MAX_BYTES, description="Draft policy YAML text.")


class CheckOut(BaseModel):
    """Validation of a draft: no issues means it can be published."""

    ok: bool = Field(description="True when the draft is valid.")
    version: str = Field(description="Content hash the draft would have.", examples=["3511a3976382"])
    issues: list[dict[str, Any]] = Field(description="Each problem with line, column, path and message.")
    warnings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Valid but probably not meant: a comparison that can never be true for the field's "
        "range, or a value read on a field's old scale. Same shape as issues; they do not block publishing.",
    )


class DiffOut(BaseModel):
    """Unified diff of a draft against the published version."""

    published_version: str = Field(examples=["3511a3976382"])
    draft_version: str = Field(examples=["9c0e11f2a7b4"])
    changed: bool
    diff: str = Field(description="Unified diff text (empty when nothing changed).")


class DraftExplainIn(_Body):
    """Try a message (and optionally a past conversation) against a draft."""

    yaml: str | None = Field(
        default=None, max_length=MAX_BYTES, description="Draft YAML; default: published."
    )
    message: str = Field(default="", max_length=4000, examples=["Can I talk to a real person please?"])
    history: list[str] = Field(default_factory=list, max_length=200, description="Earlier customer turns.")
    conversation_id: str | None = Field(
        default=None, max_length=128, description="Use this conversation's customer turns as the history."
    )


class PublishIn(_Body):
    """Publish (hot-swap) a policy."""

    yaml: str = Field(min_length=1, max_length=MAX_BYTES, description="Policy YAML text.")
    published_by: str = Field(default="admin", min_length=1, max_length=100, examples=["dana"])
    note: str = Field(default="", max_length=500, examples=["route penguins to the luxury desk"])


class VersionOut(BaseModel):
    """One published version."""

    version: str = Field(examples=["3511a3976382"])
    published_by: str = Field(examples=["dana"])
    published_at: str = Field(description="ISO 8601 UTC.", examples=["2026-03-12T14:30:00+00:00"])
    note: str = ""
    current: bool = Field(default=False, description="True for the version serving now.")


class VersionText(VersionOut):
    """A published version with its text."""

    yaml: str


class RollbackIn(_Body):
    """Restore an earlier published version."""

    version: str = Field(min_length=1, max_length=64, examples=["3511a3976382"])
    published_by: str = Field(default="admin", min_length=1, max_length=100)


def serving_store(runtime: BatonRuntime, name: str) -> PolicyStore:
    """The policy store, when ``name`` is the policy this service routes with (else 404)."""
    store = runtime.context.policies
    if store.current().policy.name != name:
        raise ApiError(404, "not_found", f"policy {name} is not the one this service routes with")
    return store


def _check(text: str, store: PolicyStore, name: str | None = None) -> LoadedPolicy:
    return check_policy_text(text, "draft", nodes=store.nodes, name=name)


def _history_path(data_dir: Path, name: str) -> Path:
    return data_dir / "policy_history" / f"{name}.jsonl"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _append(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


def _history(data_dir: Path, store: PolicyStore) -> list[dict[str, Any]]:
    """The recorded versions, oldest first; the serving one is added when it is not the latest."""
    current = store.current()
    path = _history_path(data_dir, current.policy.name)
    with _history_lock:
        entries = _read(path)
        if not entries or entries[-1]["version"] != current.version:
            first = not entries
            entry = {
                "version": current.version,
                "published_by": "initial file" if first else "edited outside the editor",
                "published_at": _now(),
                "note": "",
                "yaml": current.text,
            }
            _append(path, entry)
            entries.append(entry)
    return entries


def _version_out(entry: dict[str, Any], current: str, latest: bool) -> VersionOut:
    return VersionOut(
        version=entry["version"],
        published_by=entry["published_by"],
        published_at=entry["published_at"],
        note=entry.get("note", ""),
        current=latest and entry["version"] == current,
    )


def publish_version(
    data_dir: Path, store: PolicyStore, name: str, text: str, who: str, note: str
) -> tuple[LoadedPolicy, VersionOut]:
    """Validate ``text`` (still named ``name``), swap it in and record it in the history.

    Raises:
        PolicyError: The text is invalid or renames the policy; nothing changed.
    """
    _history(data_dir, store)  # make sure the version being replaced is on record
    loaded = store.publish(text, name=name)
    entry = {
        "version": loaded.version,
        "published_by": who,
        "published_at": _now(),
        "note": note,
        "yaml": text,
    }
    with _history_lock:
        _append(_history_path(data_dir, name), entry)
    return loaded, _version_out(entry, loaded.version, latest=True)


@router.post(
    "/{name}/check", responses=error_responses(413), summary="Validate a draft without publishing it"
)
async def check_draft(
    name: PolicyName, body: DraftIn, principal: PrincipalDep, runtime: RuntimeDep
) -> CheckOut:
    """Every issue of the draft with its line and column; ``ok`` when it could be published."""
    require_admin(principal, "edit policies")
    store = serving_store(runtime, name)
    try:
        loaded = _check(body.yaml, store, name)
    except PolicyError as exc:
        return CheckOut(ok=False, version=policy_version(body.yaml), issues=policy_issues(exc))
    warnings = [
        {"line": w.line, "column": w.column, "path": w.path, "message": w.message} for w in loaded.warnings
    ]
    return CheckOut(ok=True, version=loaded.version, issues=[], warnings=warnings)


@router.post(
    "/{name}/diff", responses=error_responses(413), summary="Diff a draft against the published version"
)
async def diff_draft(
    name: PolicyName, body: DraftIn, principal: PrincipalDep, runtime: RuntimeDep
) -> DiffOut:
    """A unified diff, published first, draft second."""
    require_admin(principal, "edit policies")
    current = serving_store(runtime, name).current()
    lines = difflib.unified_diff(
        current.text.splitlines(keepends=True),
        body.yaml.splitlines(keepends=True),
        fromfile=f"published ({current.version})",
        tofile="draft",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    draft_version = policy_version(body.yaml)
    return DiffOut(
        published_version=current.version, draft_version=draft_version, changed=bool(text), diff=text
    )


@router.post(
    "/{name}/draft/explain",
    responses=error_responses(413),
    summary="Which rule of a draft fires for a message, and why",
)
async def explain_draft(
    name: PolicyName, body: DraftExplainIn, principal: PrincipalDep, runtime: RuntimeDep
) -> Explanation:
    """Trace every rule of the draft (or the published policy) for the message after the history."""
    require_admin(principal, "edit policies")
    store = serving_store(runtime, name)
    loaded = _check(body.yaml, store) if body.yaml else store.current()
    turns = list(body.history)
    times = None
    if body.conversation_id:
        view = await runtime.get(body.conversation_id)
        snap = await runtime.snapshot(body.conversation_id)  # its turn stamps: the time-based fields
        times = conversation_times(snap.values, runtime.context.clock())
        turns = [t.text for t in view.transcript if t.role == "customer"] + turns
    if body.message:
        turns.append(body.message)
    if not turns:
        raise ApiError(422, "validation_error", "give a message or a conversation with customer turns")
    return await explain_policy(loaded, turns, times)


@router.post(
    "/{name}/publish",
    responses=error_responses(413),
    summary="Validate, publish (hot-swap) and record a version",
)
async def publish(
    name: PolicyName, body: PublishIn, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> VersionOut:
    """Only a valid policy that keeps its name is published (else 422 with the issues, each with its
    line and column); the serving policy swaps at once."""
    require_admin(principal, "publish policies")
    store = serving_store(runtime, name)
    return publish_version(settings.data_dir, store, name, body.yaml, body.published_by, body.note)[1]


@router.get("/{name}/versions", summary="Every published version, newest first")
async def versions(
    name: PolicyName, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> list[VersionOut]:
    """Who published each version and when; ``current`` marks the serving one."""
    require_admin(principal, "read policy history")
    store = serving_store(runtime, name)
    entries = _history(settings.data_dir, store)
    current = store.current().version
    last = len(entries) - 1
    return [_version_out(e, current, latest=i == last) for i, e in reversed(list(enumerate(entries)))]


@router.get("/{name}/versions/{version}", summary="One published version with its text")
async def version_text(
    name: PolicyName, version: Version, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> VersionText:
    """The YAML of an earlier version."""
    require_admin(principal, "read policy history")
    store = serving_store(runtime, name)
    entries = _history(settings.data_dir, store)
    match = next((e for e in reversed(entries) if e["version"] == version), None)
    if match is None:
        raise ApiError(404, "not_found", f"policy {name} has no published version {version}")
    out = _version_out(match, store.current().version, latest=match is entries[-1])
    return VersionText(**out.model_dump(), yaml=match["yaml"])


@router.post("/{name}/rollback", responses=error_responses(413), summary="Publish an earlier version again")
async def rollback(
    name: PolicyName, body: RollbackIn, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> VersionOut:
    """The earlier text becomes the serving policy and a new entry in the history."""
    require_admin(principal, "publish policies")
    store = serving_store(runtime, name)
    entries = _history(settings.data_dir, store)
    match = next((e for e in reversed(entries) if e["version"] == body.version), None)
    if match is None:
        raise ApiError(404, "not_found", f"policy {name} has no published version {body.version}")
    note = f"rollback to {body.version}"
    return publish_version(settings.data_dir, store, name, match["yaml"], body.published_by, note)[1]
