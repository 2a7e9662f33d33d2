"""numpy's BLAS held to one thread in a worker, and spaCy multiplying through it there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blis.py
import httpx
import pytest
from threadpoolctl import threadpool_limits

from api.app import create_app
from graph import blas
from graph.language.pipeline import Pipeline
from tests.test_api_support import api_settings, serve_in_thread

TEXTS = (
    "My card was charged twice at the airport in Lisbon.",
    "Hi, I want to sell my house at 12 Elm Street in Brookline for $500,000 before March.",
)


@pytest.fixture
def blas_threads() -> Iterator[None]:
    """Put the process's BLAS threads back as they were (the limit is process-wide), and let any
    thread limit them again."""
    with threadpool_limits(limits=None):
        yield


@pytest.fixture
def blis_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts thinc's calls into BLIS's gemm."""
    calls: list[int] = []
    real = blis.py.gemm

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(blis.py, "gemm", counted)
    return calls


def _let_blas_run_two_threads() -> None:
    threadpool_limits(limits=2, user_api="blas")
    if blas.single_threaded():  # OpenBLAS never runs more threads than the machine has cores
        pytest.skip("this machine's BLAS runs one thread whatever it is allowed")


def _reading(pipeline: Pipeline, text: str) -> list[tuple[str, str, int, str, str]]:
    return [(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_) for t in pipeline.parse(text)]


def test_holding_blas_to_one_thread(blas_threads: None) -> None:
    _let_blas_run_two_threads()
    assert blas.hold_to_one_thread()
    assert blas.single_threaded()


def test_on_one_blas_thread_the_pipeline_multiplies_through_numpy_with_the_same_parses(
    blas_threads: None, blis_calls: list[int]
) -> None:
    _let_blas_run_two_threads()
    through_blis = Pipeline()
    expected = [_reading(through_blis, text) for text in TEXTS]
    assert blis_calls, "BLIS is the backend while BLAS may run several threads"
    blis_calls.clear()
    blas.hold_to_one_thread()
    through_numpy = Pipeline()
    assert [_reading(through_numpy, text) for text in TEXTS] == expected
    assert blis_calls == []


def test_a_worker_holds_blas_to_one_thread_unless_told_not_to(tmp_path: Path, blas_threads: None) -> None:
    for held in (False, True):
        _let_blas_run_two_threads()
        with serve_in_thread(create_app(api_settings(tmp_path / str(held), blas_one_thread=held))) as url:
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            assert blas.single_threaded() is held
