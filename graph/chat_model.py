"""Chat-model factory and structured output: models are built from settings on demand, never at import.

Briefs and signals ask the model for JSON that fits a schema. How depends on the endpoint
(``BATON_MODEL_STRUCTURED_OUTPUT``): OpenAI itself takes ``response_format`` of type ``json_schema``;
most other OpenAI-compatible servers take a forced tool call (llama-cpp-python turns the tool's
parameters into a grammar, vLLM into guided decoding); llama-cpp-python and llama.cpp's own server also
take ``response_format`` ``{"type": "json_object", "schema": ...}``. The chosen method travels in the
model's ``metadata``, so every caller of :func:`structured` asks the same way; so does
``BATON_MODEL_QUOTE_VALUES`` (:func:`quotes_values`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.runnables import Runnable

from graph.settings import Settings

StructuredMethod = Literal["json_schema", "function_calling", "json_object"]
METHOD_KEY = "baton_structured_output"
QUOTE_KEY = "baton_quote_values"
DEFAULT_METHOD: StructuredMethod = "function_calling"


def structured_method(settings: Settings) -> StructuredMethod:
    """The structured-output method for the configured endpoint (see the module docstring).

    ``auto`` picks ``json_schema`` for OpenAI's own API (no base URL, or ``api.openai.com``) and a
    forced tool call for anything else, which vLLM, llama.cpp and most other servers constrain.
    """
    if settings.model_structured_output != "auto":
        return settings.model_structured_output
    base = settings.openai_base_url
    host = (urlsplit(base).hostname or "") if base else "api.openai.com"
    return "json_schema" if host == "api.openai.com" else DEFAULT_METHOD


def method_of(model: BaseChatModel) -> StructuredMethod:
    """The method :func:`make_chat_model` chose for ``model`` (a forced tool call when unset)."""
    method = (model.metadata or {}).get(METHOD_KEY, DEFAULT_METHOD)
    return method if method in get_args(StructuredMethod) else DEFAULT_METHOD


def quotes_values(model: BaseChatModel) -> bool:
    """Whether ``model``'s fact values are to be quoted from the customer's turns (an enum)."""
    return bool((model.metadata or {}).get(QUOTE_KEY, False))


def structured(model: BaseChatModel, schema: Mapping[str, Any]) -> Runnable[LanguageModelInput, Any]:
    """``model`` bound to answer with JSON fitting ``schema`` (a JSON schema with a ``title``).

    The runnable returns the parsed JSON (a dict, or ``None`` when a tool call is missing); callers
    validate it with their own Pydantic model, so every method is checked the same way.
    """
    schema = dict(schema)
    method = method_of(model)
    if method == "json_object":
        # langchain-openai's json_mode sends {"type": "json_object"}; a response_format kwarg replaces
        # it with one that carries the schema, which llama.cpp turns into a grammar.
        response_format = {"type": "json_object", "schema": schema}
        return model.with_structured_output(schema, method="json_mode", response_format=response_format)
    return model.with_structured_output(schema, method=method)


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
        metadata={METHOD_KEY: structured_method(settings), QUOTE_KEY: settings.model_quote_values},
    )
