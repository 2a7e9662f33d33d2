"""One settings object for the whole service, read from ``BATON_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration; every field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="BATON_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".baton"), description="Where embedded state lives.")
    policy: Path = Field(
        default=Path(__file__).resolve().parent.parent / "policies" / "real_estate.yaml",
        description="Routing policy YAML file.",
    )
    checkpoint_url: str = Field(
        default="",
        description="'' for SQLite under data_dir, 'memory', or a postgresql:// URL.",
    )
    checkpoint_durability: Literal["sync", "exit"] = Field(
        default="sync",
        description=(
            "'sync': a checkpoint after every step of a routed run, committed together when the run"
            " ends; time travel (fork before the router, rollback to the pre-handoff checkpoint,"
            " per-step history) starts from those."
            " 'exit': one checkpoint per run, written before the turn is answered, so an answered turn"
            " still survives kill -9, for less CPU per turn; a rollback then forks from the end of the"
            " run before the handoff turn. Runs on a thread a person holds write one checkpoint per run"
            " in both modes (benchmarks/README.md)."
        ),
    )
    redis_url: str = Field(default="", description="redis:// URL for the scaled desk; '' = in-process.")
    model: str = Field(default="gpt-4o-mini", description="Chat model name for langchain-openai.")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BATON_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BATON_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    model_timeout_s: float = Field(default=30.0, description="Per-call timeout for the chat model.")
    model_max_tokens: int = Field(default=512, description="Completion token cap for the chat model.")
    model_structured_output: Literal["auto", "json_schema", "function_calling", "json_object"] = Field(
        default="auto",
        description="How briefs and signals ask for JSON: auto = json_schema for OpenAI itself, "
        "function_calling (a forced tool call) for any other endpoint.",
    )
    model_quote_values: bool = Field(
        default=False,
        description="Offer the brief's fact values to the model as an enum of the customer's phrases, so "
        "a grammar-constrained endpoint can only quote them (for small local models).",
    )
    offline: bool = Field(default=False, description="Force the offline analyzers even if a model is set.")
    brief_budget_tokens: int = Field(default=400, description="Token budget of a handoff brief.")
    case_memory: bool = Field(default=True, description="Index resolved handoffs and cite similar cases.")
    # -- API service (api/) --
    admin_token: SecretStr | None = Field(
        default=None, description="Admin bearer token; unset = generated into data_dir/admin_token."
    )
    redis_prefix: str = Field(
        default="baton:", description="Key prefix of everything the API keeps in Redis."
    )
    desk_config: Path | None = Field(default=None, description="Desk YAML (default: desk/desk.yaml).")
    desk_tick_s: float = Field(default=1.0, gt=0, description="Desk timer interval (offers, expiry).")
    gc_freeze: bool = Field(
        default=True,
        description="Move start-up objects out of the garbage collector's way once the service is up.",
    )
    blas_one_thread: bool = Field(
        default=True,
        description="Hold numpy's BLAS to one thread per worker (its threads spin between calls); spaCy"
        " then multiplies through it instead of BLIS.",
    )
    gc_young_threshold: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        description=(
            "Allocations between young garbage collections (0: Python's own, 700). A request alive"
            " across awaits outlived 700 and was promoted, so full collections came every few seconds."
        ),
    )
    gc_after_run: bool = Field(
        default=True,
        description=(
            "Collect the young generation when a graph run ends. A LangGraph run leaves ~360 objects"
            " in reference cycles (its loop, runner, channels, an interrupt's traceback); left to the"
            " young threshold, one collection freed ~25 runs' worth at once and paused the loop 5-12 ms."
        ),
    )
    desk_recover_s: float = Field(
        default=30.0, gt=0, description="How often the desk is re-checked against the checkpoints."
    )
    max_message_chars: int = Field(
        default=4000, ge=1, le=100_000, description="Longest customer/agent message (every door; else 422)."
    )
    max_body_bytes: int = Field(default=256_000, ge=1024, description="Largest request body (else 413).")
    rate_limit_per_minute: int = Field(default=30, ge=1, description="Messages per conversation per minute.")
    # Per client address (api/client_limits.py): anyone may start a conversation, so the limit per
    # conversation alone bounds nothing. Behind a proxy, set uvicorn's FORWARDED_ALLOW_IPS to it.
    client_conversations_per_minute: int = Field(
        default=30,
        ge=0,
        description="New conversations per client address per minute, admin token aside (0: off).",
    )
    client_messages_per_minute: int = Field(
        default=300, ge=0, description="Customer messages per client address per minute (0: off)."
    )
    client_chars_per_minute: int = Field(
        default=40_000,
        ge=0,
        description="Characters of customer messages per client address per minute (0: off); a message"
        " longer than this passes alone.",
    )
    # 8 gave the most handoffs/s at R=100 on 2 cores (4: 41/s, 8: 48/s, 16: 28/s, none: 21/s).
    max_concurrent_turns: int = Field(
        default=8,
        ge=0,
        description="Customer turns run at once per worker before new ones get 503 (0: no limit).",
    )
    webhook_urls: str = Field(default="", description="Comma-separated URLs that receive handoff events.")
    handoff_modules: str = Field(
        default="",
        description="Comma-separated modules with code handoffs (register(registry), a registry, or the "
        "@handoff decorators); entry points of the group baton.handoffs load too.",
    )
    profile_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for signed customer profiles (vip, plan...): only a profile signed with it, "
        "or sent with the admin token, changes routing.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of X-Baton-Signature."
    )
    webhook_max_attempts: int = Field(default=5, ge=1, description="Delivery attempts per webhook event.")
    webhook_backoff_s: float = Field(default=0.5, gt=0, description="First retry delay; doubles each time.")
    ws_ping_s: float = Field(default=10.0, gt=0, description="WebSocket ping interval.")
    ws_idle_s: float = Field(default=30.0, gt=0, description="A WebSocket silent this long is closed.")
    ws_max_sockets: int = Field(
        default=10,
        ge=0,
        description="WebSockets open at once per conversation's customer, per agent and per supervisor in"
        " one worker; past it a new one is closed with 4429 (0: no limit; the admin has none).",
    )
    ws_max_sockets_per_client: int = Field(
        default=200,
        ge=0,
        description="Customers' WebSockets open at once per client address in one worker (0: off).",
    )

    @property
    def model_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint or key is configured and offline mode is off."""
        return not self.offline and (self.openai_api_key is not None or self.openai_base_url is not None)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
