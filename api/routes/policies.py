"""Routing policies: read, replace (validated, atomically swapped) and explain (admin)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.auth import require_admin
from api.cli_policy import Explanation, explain_policy
from api.deps import PrincipalDep, RuntimeDep
from api.errors import ApiError
from api.schemas import ExplainIn, PolicyIn, PolicyOut
from graph.policy_store import PolicyStore
from policies.loader import LoadedPolicy

router = APIRouter(prefix="/v1/policies", tags=["policies"])

_YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml", "text/plain")


def _serving(store: PolicyStore, name: str) -> LoadedPolicy:
    loaded = store.current()
    if loaded.policy.name != name:
        raise ApiError(404, "not_found", f"no policy {name!r}; this service serves {loaded.policy.name!r}")
    return loaded


def _out(loaded: LoadedPolicy) -> PolicyOut:
    return PolicyOut(name=loaded.policy.name, version=loaded.version, yaml=loaded.text)


@router.get("/{name}")
async def get_policy(name: str, principal: PrincipalDep, runtime: RuntimeDep) -> PolicyOut:
    """The serving policy and its version (admin)."""
    require_admin(principal, "read policies")
    return _out(_serving(runtime.context.policies, name))


@router.put(
    "/{name}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": PolicyIn.model_json_schema()},
            },
        }
    },
)
async def put_policy(name: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep) -> PolicyOut:
    """Replace the policy (admin). Invalid text is refused with 422 listing every issue with its
    line and column; the old policy keeps serving. Valid text is swapped in atomically."""
    require_admin(principal, "change policies")
    store = runtime.context.policies
    _serving(store, name)
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in _YAML_TYPES:
            text = raw.decode("utf-8")
        else:
            text = PolicyIn.model_validate(json.loads(raw or b"null")).yaml
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(422, "validation_error", f"invalid request: body ({exc})") from exc
    except ValidationError as exc:
        details = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in exc.errors()
        ]
        names = ", ".join(d["field"] for d in details)
        raise ApiError(422, "validation_error", f"invalid request: {names}", details=details) from exc
    loaded = store.publish(text)  # PolicyError -> 422 with issues
    return _out(loaded)


@router.post("/{name}/explain")
async def explain(name: str, body: ExplainIn, principal: PrincipalDep, runtime: RuntimeDep) -> Explanation:
    """Which rule fires for ``message`` after ``history`` and why (admin)."""
    require_admin(principal, "explain policies")
    loaded = _serving(runtime.context.policies, name)
    return await explain_policy(loaded, [*body.history, body.message])
