"""Chat-model factory: models are built from settings on demand, never at import time."""

from __future__ import annotations

from langchain_core.language_models.chat_models import BaseChatModel

from graph.settings import Settings


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """Build the configured ``ChatOpenAI`` model, or ``None`` when Baton runs offline.

    ``max_tokens`` is also sent in ``extra_body`` because some OpenAI-compatible servers (llama.cpp)
    ignore ``max_completion_tokens``, which is what langchain-openai sends.
    """
    if not settings.model_configured:
        return None
    import httpx
    from langchain_openai import ChatOpenAI

    # Our own async client: langchain-openai otherwise shares one per base URL across the process,
    # and it breaks ("Event loop is closed") once the loop that opened it is gone (CLI, tests).
    return ChatOpenAI(
        http_async_client=httpx.AsyncClient(timeout=settings.model_timeout_s),
        model=settings.model,
        api_key=settings.openai_api_key or "not-needed",  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        timeout=settings.model_timeout_s,
        max_retries=1,
        temperature=0,
        max_tokens=settings.model_max_tokens,  # type: ignore[call-arg]
        extra_body={"max_tokens": settings.model_max_tokens},
    )
