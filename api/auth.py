"""Bearer tokens per role: admin, supervisor (the desk, not its settings), customer (one
conversation), agent (their handoffs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import Request

from api.errors import ApiError
from api.store import ApiStore
from api.supervisor_store import SupervisorStore
from graph.private_files import make_private_dir
from graph.settings import Settings

Role = Literal["admin", "supervisor", "customer", "agent"]
CUSTOMER_PREFIX = "cus_"
AGENT_PREFIX = "agt_"
SUPERVISOR_PREFIX = "sup_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role and what it is bound to (conversation or agent id)."""

    role: Role
    subject: str = ""
    # The client address the request came from (api/client_limits.py); not part of who it is.
    client: str | None = field(default=None, compare=False)

    def is_customer_of(self, conversation_id: str) -> bool:
        """True for the customer token of ``conversation_id``."""
        return self.role == "customer" and self.subject == conversation_id

    def is_agent(self, agent_id: str) -> bool:
        """True for ``agent_id``'s token."""
        return self.role == "agent" and self.subject == agent_id

    @property
    def oversees(self) -> bool:
        """The admin or a supervisor: sees the whole desk, its briefs, notes and analytics."""
        return self.role in ("admin", "supervisor")

    @property
    def actor(self) -> str:
        """Who did something, for notes and audit trails: 'admin', or the agent's or supervisor's id."""
        return "admin" if self.role == "admin" else self.subject


def new_token(prefix: str) -> str:
    """A fresh random token with a role prefix."""
    return prefix + secrets.token_urlsafe(24)


def load_admin_token(configured: str | None, data_dir: Path) -> tuple[str, bool]:
    """The admin token: configured, or read from / generated into ``data_dir/admin_token`` (0600).

    Returns:
        The token and whether it was generated now.
    """
    if configured:
        return configured, False
    path = data_dir / "admin_token"
    make_private_dir(data_dir)
    token = new_token("adm_")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token)
    return token, True


async def resolve(
    token: str | None,
    admin_token: str,
    store: ApiStore,
    supervisors: SupervisorStore,
    client: str | None = None,
) -> Principal:
    """Map a token to a principal; ``client`` is the address it was sent from.

    Raises:
        ApiError: 401 when the token is missing or unknown.
    """
    if not token:
        raise ApiError(
            401, "unauthorized", "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal("admin", client=client)
    if token.startswith(CUSTOMER_PREFIX):
        cid = await store.conversation_for_token(token)
        if cid:
            return Principal("customer", cid, client)
    elif token.startswith(AGENT_PREFIX):
        agent_id = await store.agent_by_token(token)
        if agent_id:
            return Principal("agent", agent_id, client)
    elif token.startswith(SUPERVISOR_PREFIX):
        supervisor = await supervisors.by_token(token)
        if supervisor:
            return Principal("supervisor", supervisor.id, client)
    raise ApiError(401, "invalid_token", "the token is not valid", headers={"WWW-Authenticate": "Bearer"})


def forbidden(what: str) -> ApiError:
    """A 403 naming what the token may not do."""
    return ApiError(403, "forbidden", f"this token may not {what}")


def require_admin(principal: Principal, what: str) -> None:
    """Only the admin token passes."""
    if principal.role != "admin":
        raise forbidden(what)


def require_oversight(principal: Principal, what: str) -> None:
    """The admin and supervisors pass (the desk's live view, reassignments, analytics)."""
    if not principal.oversees:
        raise forbidden(what)


def require_conversation(principal: Principal, conversation_id: str, *, admin: bool = True) -> None:
    """The conversation's customer (or the admin when ``admin``) passes."""
    if principal.is_customer_of(conversation_id) or (admin and principal.role == "admin"):
        return
    raise forbidden(f"access conversation {conversation_id}")


# Profile fields a customer may state about themselves; the rest can change routing.
SELF_DECLARED = frozenset({"name", "phone", "email"})  # the customer's own details; they route nothing


def profile_signature(profile: dict[str, Any], secret: str) -> str:
    """``sha256=<hex>`` HMAC of the profile's canonical JSON (sorted keys, no spaces).

    The site that embeds the widget computes it server-side with ``BATON_PROFILE_SECRET``, so a
    customer cannot make themselves a VIP by editing the request.
    """
    canonical = json.dumps(profile, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256=" + hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _bearer(request: Request) -> str | None:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.headers.get("x-api-key") or "").strip() or None


def sent_admin_token(request: Request) -> bool:
    """True when the request carries the admin token."""
    token = _bearer(request)
    return token is not None and hmac.compare_digest(token.encode(), request.app.state.admin_token.encode())


async def trusted_profile(
    request: Request, settings: Settings, sent: dict[str, Any], signature: str | None
) -> dict[str, Any]:
    """The profile to store: trusted from the admin or with a valid signature, else a claim.

    Self-declared fields (the name) are kept as they are; every other field of an unverified profile
    moves under ``claimed``, which routing treats as evidence, never as a trigger.

    Raises:
        ApiError: 401 for a token that is not the admin's, 422 for a signature that does not verify.
    """
    token = _bearer(request)
    if token is not None:
        admin = request.app.state.admin_token
        if not hmac.compare_digest(token.encode(), admin.encode()):
            raise ApiError(
                401, "invalid_token", "only the admin token may create conversations with a profile"
            )
        return sent
    if signature is not None:
        secret = settings.profile_secret.get_secret_value() if settings.profile_secret else ""
        if not secret or not hmac.compare_digest(signature, profile_signature(sent, secret)):
            raise ApiError(422, "invalid_signature", "profile_signature does not match the profile")
        return sent
    kept = {k: v for k, v in sent.items() if k in SELF_DECLARED}
    claims = {k: v for k, v in sent.items() if k not in SELF_DECLARED}
    return {**kept, "claimed": claims} if claims else kept
