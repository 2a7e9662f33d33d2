"""A reading whose parts are all cached is assembled on the event loop; anything else runs in a thread.

``off_loop_unless_cached`` tries in place with every reader set to refuse work (a parse, an embedding,
a fit, a cache miss, a busy pipeline); the first refusal sends the call to the analysis threads.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import graph.textutil as textutil
from graph.embeddings import get_embedder
from graph.language.pipeline import shared_pipeline
from graph.runtime import BatonRuntime
from graph.signal_service import SignalService
from graph.textutil import DigestCache, NotCached, cached_only, off_loop_unless_cached
from tests.conftest import make_settings


def fresh(text: str) -> str:
    """``text`` with a number no other test used, so no cache has seen it."""
    return f"{text} {random.randrange(10**6, 10**7)}"


def in_attempt(fn: Callable[[], Any]) -> Any:
    """``fn()`` as an attempt in place runs it (readers refuse work)."""
    token = textutil._CACHED_ONLY.set(True)
    try:
        return fn()
    finally:
        textutil._CACHED_ONLY.reset(token)


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the functions sent to the analysis threads (the attempt's fallback)."""
    sent: list[str] = []
    real = textutil.off_loop

    async def counting(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(textutil, "off_loop", counting)
    return sent


async def test_cached_work_runs_in_place_and_uncached_work_in_a_thread() -> None:
    cache: DigestCache[str] = DigestCache(16)
    cache.get_or_compute("seen", str.upper)
    where: list[str] = []

    def read(text: str) -> str:
        where.append(threading.current_thread().name)
        return cache.get_or_compute(text, str.upper)

    assert await off_loop_unless_cached(read, "seen") == "SEEN"
    assert where == [threading.current_thread().name]  # the loop's own thread: no hop
    where.clear()
    assert await off_loop_unless_cached(read, "unseen") == "UNSEEN"
    # tried in place, refused at the miss, then made again in an analysis thread
    assert where[0] == threading.current_thread().name
    assert where[1].startswith("baton-analysis")
    assert not cached_only()  # the flag does not outlive the attempt


def test_a_miss_in_place_raises_past_except_exception_and_stores_nothing() -> None:
    cache: DigestCache[str] = DigestCache(16)

    def degrading_reader() -> str:
        try:
            return cache.get_or_compute("new text", str.upper)
        except Exception:  # a reader's fallback for a failing model must not swallow the refusal
            return "degraded"

    with pytest.raises(NotCached):
        in_attempt(degrading_reader)
    assert degrading_reader() == "NEW TEXT"  # nothing half-stored: computed now, outside the attempt


def test_the_pipeline_parses_only_outside_an_attempt_and_never_waits_for_its_lock() -> None:
    pipeline = shared_pipeline()
    text = fresh("We would like to see the apartment on Monday")
    with pytest.raises(NotCached):
        in_attempt(lambda: pipeline.parse(text))
    doc = pipeline.parse(text)
    assert in_attempt(lambda: pipeline.parse(text)) is doc  # a recent parse is served in place
    part = text.split(" on ")[0]
    assert [t.text for t in in_attempt(lambda: pipeline.parse(part))] == part.split()  # a part of one too

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pipeline._held():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with pytest.raises(NotCached):  # another thread parses: give up at once, do not block the loop
            in_attempt(lambda: pipeline.parse(text))
    finally:
        release.set()
        holder.join()


def test_the_embedder_runs_its_model_only_outside_an_attempt() -> None:
    embedder = get_embedder()
    text = fresh("the garden faces south")
    with pytest.raises(NotCached):
        in_attempt(lambda: embedder.embed([text]))
    vector = embedder.embed([text])
    assert (in_attempt(lambda: embedder.embed([text])) == vector).all()


async def test_signals_in_place_equal_signals_from_a_thread(tmp_path: Path, hops: list[str]) -> None:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as runtime:
        loaded = runtime.context.policies.current()
        turns = ["Hi", fresh("I want to sell my house, it is worth 2 million, call me at 555-123-4567")]
        first = await runtime.context.signals.extract(turns, None, loaded)
        assert "_offline" in hops  # the new text was read in a thread
        hops.clear()
        again = await runtime.context.signals.extract(turns, None, loaded)
        assert hops == []  # every part cached: assembled in place
        assert again == first
        assert first.intent != "unknown"  # a real reading
        assert first.property_value == 2_000_000


async def test_a_new_policy_version_is_fitted_in_a_thread(tmp_path: Path, hops: list[str]) -> None:
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as runtime:
        loaded = runtime.context.policies.current()
        service = SignalService()  # knows no policy version yet
        signals = await service.extract(["Hi"], None, loaded)
        assert hops == ["_offline"]
        assert signals == await runtime.context.signals.extract(["Hi"], None, loaded)


async def test_a_conversation_said_again_takes_no_hop_and_gets_the_same_answers(
    tmp_path: Path, hops: list[str]
) -> None:
    script = ["Hi", fresh("I want to sell my house at 12 Elm Street for"), "What does your fee cover?"]
    async with BatonRuntime.open(make_settings(tmp_path), checkpoint_url="memory") as runtime:
        replies: list[list[str]] = []
        for cid in ("first", "second"):
            hops.clear()
            said = []
            for text in script:
                result = await runtime.post_message(cid, text)
                said.append(" ".join(r.text for r in result.replies))
            replies.append(said)
            if cid == "first":
                assert "_offline" in hops
                assert "_read" in hops
        assert hops == []  # the second conversation's turns were all read before: no thread
        assert replies[0] == replies[1]
