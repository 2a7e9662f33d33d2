"""The policy file as it is on disk, when the service refused it.

An edit made on disk (not through the editor) that does not validate is refused by the hot reload and
the previous version keeps serving; without this route nobody at the editor would know. The editor
shows the refused text and its problems so they can be fixed and published.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import require_admin
from api.deps import PrincipalDep, RuntimeDep
from api.errors import error_responses, policy_issues
from api.policy_admin import PolicyName, serving_store
from policies.limits import MAX_BYTES

router = APIRouter(
    prefix="/v1/policies", tags=["policy admin"], responses=error_responses(401, 403, 404, 422)
)


class DiskOut(BaseModel):
    """Whether the file on disk was refused, and if so its text and problems."""

    refused: bool = Field(description="The file on disk differs from the serving policy and is invalid.")
    serving_version: str = Field(examples=["3511a3976382"])
    yaml: str | None = Field(default=None, description="The refused text (at most the size limit).")
    issues: list[dict[str, Any]] = Field(default_factory=list, description="Line, column, path, message.")


@router.get("/{name}/disk", summary="The policy file on disk, if the hot reload refused it")
async def policy_on_disk(name: PolicyName, principal: PrincipalDep, runtime: RuntimeDep) -> DiskOut:
    """The refused file and its problems, or ``refused: false`` (admin)."""
    require_admin(principal, "read policies")
    store = serving_store(runtime, name)
    serving = store.current()  # notices a changed file now
    error = store.last_error
    if error is None:
        return DiskOut(refused=False, serving_version=serving.version)
    try:
        with store.path.open(encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_BYTES + 1)
    except OSError:
        text = None
    return DiskOut(refused=True, serving_version=serving.version, yaml=text, issues=policy_issues(error))
