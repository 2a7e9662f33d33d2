"""Prompt templates live here as files so prompt engineers can edit them without touching code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent


class PromptNotFound(LookupError):
    """Raised when a template file does not exist."""


@lru_cache(maxsize=64)
def load_prompt(name: str) -> str:
    """Return the text of ``prompts/<name>.md``.

    Args:
        name: Template name without extension, e.g. ``"seller_bot"``.

    Raises:
        PromptNotFound: If no such template ships with Baton.
    """
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        msg = f"prompt template {name!r} not found in {PROMPTS_DIR}"
        raise PromptNotFound(msg)
    return path.read_text(encoding="utf-8")
