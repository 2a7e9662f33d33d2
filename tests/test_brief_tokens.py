"""Token counting must work with no network: the rank file comes from the bpe-openai wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tiktoken

from graph.context.tokens import count_tokens, encoder, seed_cache

ROOT = Path(__file__).resolve().parent.parent


def test_count_tokens_basic() -> None:
    assert count_tokens("") == 0
    assert 0 < count_tokens("Order 9342308357 is in transit.") < 15


def test_seed_cache_writes_the_file_tiktoken_expects(tmp_path: Path) -> None:
    path = seed_cache("o200k_base", tmp_path)
    assert path.parent == tmp_path
    assert len(path.name) == 40  # sha1 hex of the download URL
    assert path.stat().st_size > 1_000_000


def test_offline_with_empty_cache_dir(tmp_path: Path) -> None:
    # A fresh interpreter, so neither tiktoken's registry nor our lru_cache holds an encoder already;
    # a proxy that cannot connect makes any download attempt fail instead of silently succeeding.
    env = dict(os.environ, TIKTOKEN_CACHE_DIR=str(tmp_path), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="")
    code = "from graph.context.tokens import count_tokens; print(count_tokens('hello offline world'))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(out.stdout.strip()) == 3
    assert any(tmp_path.iterdir())


def test_the_lean_encoder_counts_as_tiktokens_own() -> None:
    # encoder() drops the Python copy of the ranks after building; the counts must not change.
    seed_cache("o200k_base")
    own = tiktoken.get_encoding("o200k_base")
    lean = encoder("o200k_base")
    assert lean is not own
    for text in [
        "Order 9342308357 is in transit.",
        "Quiero vender mi casa en Málaga — ÉTÉ ß İstanbul 🏠🏠",
        "<|endoftext|> is read as text, not as a special token",
        "word " * 500,
        "\t\n  mixed   whitespace\r\n",
    ]:
        assert lean.encode(text, disallowed_special=()) == own.encode(text, disallowed_special=()), text
        assert count_tokens(text) == len(own.encode(text, disallowed_special=()))
    assert lean.max_token_value == own.max_token_value
