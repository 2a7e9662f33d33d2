"""Desk configuration, loaded from YAML (see ``desk/desk.yaml`` for the defaults, commented)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from desk.errors import ConfigError

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "desk.yaml"
NoAgentPolicy = Literal["queue", "callback", "ai"]
StuckAction = Literal["escalate", "requeue"]


class Weights(BaseModel):
    """Scoring weights; they must sum to 1 so scores stay in 0-1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skill: float = Field(default=0.40, ge=0.0, le=1.0)
    performance: float = Field(default=0.25, ge=0.0, le=1.0)
    availability: float = Field(default=0.20, ge=0.0, le=1.0)
    load: float = Field(default=0.15, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.skill + self.performance + self.availability + self.load
        if abs(total - 1.0) > 1e-6:
            msg = f"scoring weights must sum to 1.0, got {total:.3f}"
            raise ValueError(msg)
        return self


class DeskConfig(BaseModel):
    """Timers, policies and weights of the desk. Frozen; unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: Weights = Field(default_factory=Weights)
    accept_timeout_s: float = Field(default=30.0, gt=0, description="Offer -> accept deadline.")
    max_offers: int = Field(default=3, ge=1, description="Offers per round before the no-agent policy.")
    expires_after_s: float = Field(default=300.0, gt=0, description="Wait before the no-agent policy.")
    relax_after_s: float = Field(default=60.0, ge=0, description="Wait after which optional skills drop.")
    heartbeat_ttl_s: float = Field(default=30.0, gt=0, description="Heartbeat age that counts as gone.")
    stuck_after_s: float = Field(default=120.0, gt=0, description="Pending/offered age that alerts.")
    stuck_action: StuckAction = "escalate"
    stuck_priority_bump: int = Field(default=10, ge=0, le=99)
    no_agent_policy: NoAgentPolicy = "ai"
    auto_start_on_accept: bool = Field(default=False, description="accept() also moves to active.")
    availability_horizon_s: float = Field(default=1800.0, gt=0, description="Slot time that scores 1.")
    acceptance_share: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of the performance sub-score given to the acceptance rate (0: seed 000's formula).",
    )
    default_handle_time_s: float = Field(default=300.0, gt=0, description="Wait estimate fallback.")


def load_config(path: str | Path | None = None) -> DeskConfig:
    """Load a ``DeskConfig`` from YAML.

    Args:
        path: YAML file; ``None`` loads the shipped ``desk/desk.yaml``.

    Returns:
        The validated, frozen configuration.

    Raises:
        ConfigError: The file is missing, is not a mapping, or fails validation.
    """
    file = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        msg = f"cannot read desk config {file}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"desk config {file} must be a YAML mapping, got {type(raw).__name__}"
        raise ConfigError(msg)
    try:
        return DeskConfig.model_validate(raw)
    except ValidationError as exc:
        msg = f"invalid desk config {file}: {exc}"
        raise ConfigError(msg) from exc
