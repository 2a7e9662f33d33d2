"""One settings object for the whole service, read from ``BATON_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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
    offline: bool = Field(default=False, description="Force the offline analyzers even if a model is set.")
    brief_budget_tokens: int = Field(default=400, description="Token budget of a handoff brief.")

    @property
    def model_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint or key is configured and offline mode is off."""
        return not self.offline and (self.openai_api_key is not None or self.openai_base_url is not None)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
