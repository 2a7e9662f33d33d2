"""One scripted fake chat model for every LLM-dependent unit test.

``ScriptedChatModel(responses=[...])`` replies with the scripted responses in order and raises
:class:`ScriptExhausted` when the script runs out, so a test that makes one call too many fails loudly.
It implements what Baton's nodes use and langchain_core's fakes do not: ``bind_tools`` (records the
tools), ``with_structured_output`` (parses the next response into the schema, honouring
``include_raw``), tool calls that survive streaming, and a record of every call's messages in ``.calls``
and of every structured-output request (schema, method, extra arguments) in ``.structured``.

A scripted response may be an ``AIMessage``, a string (content), a dict (structured output; sent as a
tool call when tools or a schema are bound, else as JSON content), or an exception instance (raised).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, NamedTuple

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field, PrivateAttr


class StructuredRequest(NamedTuple):
    """One ``with_structured_output`` call: what a real endpoint would have been asked for."""

    schema: Any
    method: str
    kwargs: dict[str, Any]


class ScriptExhausted(AssertionError):
    """The test made more model calls than it scripted."""


def tool_call(name: str, args: dict[str, Any], call_id: str | None = None) -> AIMessage:
    """An AI message that calls one tool (for scripting tool-using nodes)."""
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": call_id or f"call_{uuid.uuid4().hex[:8]}"}]
    )


class ScriptedChatModel(BaseChatModel):
    """Replies with ``responses`` in order; raises :class:`ScriptExhausted` after the last one."""

    responses: list[Any]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    structured: list[StructuredRequest] = Field(default_factory=list)
    _cursor: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def remaining(self) -> int:
        """Scripted responses not yet used."""
        return len(self.responses) - self._cursor

    def _next(self, messages: Sequence[BaseMessage]) -> AIMessage:
        self.calls.append(list(messages))
        if self._cursor >= len(self.responses):
            msg = f"ScriptedChatModel: call {self._cursor + 1} but only {len(self.responses)} responses scripted"
            raise ScriptExhausted(msg)
        item = self.responses[self._cursor]
        self._cursor += 1
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, AIMessage):
            return item
        if isinstance(item, dict):
            if self.tools:
                return tool_call(self.tools[0]["function"]["name"], item)
            return AIMessage(content=json.dumps(item))
        return AIMessage(content=str(item))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._generate(messages, stop, **kwargs)

    def _chunks(self, message: AIMessage) -> Iterator[ChatGenerationChunk]:
        # Content in word pieces, then the tool calls as chunks, so streamed runs keep them.
        words = str(message.content).split(" ") if message.content else []
        for i, word in enumerate(words):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
        if message.tool_calls:
            chunks = [
                tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c.get("id"), index=i)
                for i, c in enumerate(message.tool_calls)
            ]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
        if not words and not message.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content=""))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(self._next(messages))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(self._next(messages)):
            yield chunk

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        """Record the tools (as OpenAI tool dicts) and return this model, which now answers with tool calls."""
        self.tools = [convert_to_openai_tool(t) for t in tools]
        return self

    def with_structured_output(
        self, schema: Any, *, method: str = "function_calling", include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        """Parse the next scripted response into ``schema`` (a Pydantic class or a JSON-schema dict)."""
        self.structured.append(StructuredRequest(schema, method, dict(kwargs)))
        self.bind_tools([schema])
        parse = _parser(schema)

        def finish(message: AIMessage) -> Any:
            try:
                parsed = parse(_payload(message))
            except Exception as exc:
                if include_raw:
                    return {"raw": message, "parsed": None, "parsing_error": exc}
                raise
            return {"raw": message, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        def run(value: Any) -> Any:
            return finish(self.invoke(value))

        async def arun(value: Any) -> Any:
            return finish(await self.ainvoke(value))

        return RunnableLambda(run, afunc=arun)


def _payload(message: AIMessage) -> Any:
    if message.tool_calls:
        return message.tool_calls[0]["args"]
    text = str(message.content).strip()
    return json.loads(text)  # a JSONDecodeError is a ValueError, as a real parser would raise


def _parser(schema: Any) -> Callable[[Any], Any]:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_validate
    return lambda payload: payload
