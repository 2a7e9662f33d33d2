"""Routing policies: read, replace and explain (admin).

``PUT /v1/policies/{name}`` is ``POST /v1/policies/{name}/publish`` (api/policy_admin.py) with a plain
YAML body allowed: both go through ``publish_version``, so the same checks (the name included) and
the same history apply whichever one a client uses.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.auth import require_admin
from api.cli_policy import Explanation, explain_policy
from api.deps import PrincipalDep, RuntimeDep, SettingsDep
from api.errors import ApiError, error_responses
from api.policy_admin import PolicyName, PublishIn, publish_version, serving_store
from api.schemas import ExplainIn, PolicyOut
from policies.loader import LoadedPolicy

router = APIRouter(prefix="/v1/policies", tags=["policies"], responses=error_responses(401, 403, 404, 422))

_YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml", "text/plain")


def _out(loaded: LoadedPolicy) -> PolicyOut:
    return PolicyOut(name=loaded.policy.name, version=loaded.version, yaml=loaded.text)


async def _publish_body(request: Request) -> PublishIn:
    """The body as ``PublishIn``: YAML text as it is, or the JSON of ``POST .../publish``."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in _YAML_TYPES:
            return PublishIn(yaml=raw.decode("utf-8"))
        # Pydantic's JSON parser has a nesting limit; json.loads overflowed the stack (a 500).
        return PublishIn.model_validate_json(raw or b"null")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "validation_error", f"invalid request: body is not UTF-8 ({exc.reason})") from exc
    except ValidationError as exc:
        details = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in exc.errors()
        ]
        names = ", ".join(d["field"] for d in details)
        raise ApiError(422, "validation_error", f"invalid request: {names}", details=details) from exc


@router.get("/{name}")
async def get_policy(name: PolicyName, principal: PrincipalDep, runtime: RuntimeDep) -> PolicyOut:
    """The serving policy and its version (admin)."""
    require_admin(principal, "read policies")
    return _out(serving_store(runtime, name).current())


@router.put(
    "/{name}",
    summary="Publish a policy (POST .../publish with a plain YAML body allowed)",
    responses=error_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": PublishIn.model_json_schema()},
            },
        }
    },
)
async def put_policy(
    name: PolicyName, request: Request, principal: PrincipalDep, runtime: RuntimeDep, settings: SettingsDep
) -> PolicyOut:
    """Publish exactly as ``POST /v1/policies/{name}/publish`` does (admin): invalid text, or text that
    renames the policy, is refused with 422 listing every issue with its line and column and the old
    policy keeps serving; valid text is swapped in atomically and recorded in the history."""
    require_admin(principal, "publish policies")
    store = serving_store(runtime, name)
    body = await _publish_body(request)
    loaded, _ = publish_version(settings.data_dir, store, name, body.yaml, body.published_by, body.note)
    return _out(loaded)


@router.post("/{name}/explain", responses=error_responses(413))
async def explain(
    name: PolicyName, body: ExplainIn, principal: PrincipalDep, runtime: RuntimeDep
) -> Explanation:
    """Which rule fires for ``message`` after ``history`` and why (admin)."""
    require_admin(principal, "explain policies")
    loaded = serving_store(runtime, name).current()
    return await explain_policy(loaded, [*body.history, body.message])
