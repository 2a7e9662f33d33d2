"""The offline MiniLM embedder: shape, normalisation, semantics, batching and the derived int8 encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graph.embeddings import (
    DIMENSION,
    MiniLMEmbedder,
    _fastest_model,
    cpu_flags,
    default_model_path,
    exact_int8_kernel_needed,
    get_embedder,
)
from graph.encoder_build import CACHE_ENV, quantized_path, weights_path


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return get_embedder()


def test_shape_dtype_and_unit_norm(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(["I lost my card", "", "what is the exchange rate for euros?"])
    assert vectors.shape == (3, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIMENSION)


def test_paraphrases_closer_than_unrelated(embedder: MiniLMEmbedder) -> None:
    a, b, c = embedder.embed(
        ["My card has not arrived yet", "I'm still waiting for my new card to be delivered", "How old do I need to be to open an account?"]
    )  # fmt: skip
    assert float(a @ b) > float(a @ c) + 0.2


def test_batched_equals_one_by_one(embedder: MiniLMEmbedder) -> None:
    texts = [
        f"{word} please, my transfer from yesterday is still pending" for word in ("help", "hi", "urgent")
    ]
    texts += [
        "short",
        "a much longer message about a refund that has not shown up in my account after two weeks",
    ]
    # The int8 encoder runs every text alone: its vector never depends on its batch neighbours.
    fresh = MiniLMEmbedder(cache_size=0)
    assert fresh.batch_size == 1
    single = np.stack([fresh.embed([t])[0] for t in texts])
    np.testing.assert_allclose(fresh.embed(texts), single, atol=1e-6)
    np.testing.assert_allclose(embedder.embed_one(texts[0]), single[0], atol=1e-6)
    # The float model batches; padding is masked out, so batch composition changes nothing that counts.
    shipped = default_model_path()
    batched = MiniLMEmbedder(shipped, batch_size=2, cache_size=0).embed(texts)
    one_by_one = MiniLMEmbedder(shipped, batch_size=1, cache_size=0)
    alone = np.stack([one_by_one.embed([t])[0] for t in texts])
    assert np.min(np.sum(batched * alone, axis=1)) > 0.999


def test_embed_one_cache_returns_same_vector(embedder: MiniLMEmbedder) -> None:
    first = embedder.embed_one("change my PIN")
    assert embedder.embed_one("change my PIN") is first
    assert not first.flags.writeable  # shared cache entries must not be mutated by a caller


def test_get_embedder_is_a_singleton() -> None:
    assert get_embedder() is get_embedder()


def test_cached_vector_equals_a_fresh_one() -> None:
    cached = MiniLMEmbedder()
    fresh = MiniLMEmbedder(cache_size=0)
    texts = ["Yes.", "I want to fly to Seattle on March 3rd", "Yes.", "my card is still not working"]
    first = cached.embed(texts)  # fills the cache (the repeated "Yes." is run once)
    again = cached.embed(list(reversed(texts)))  # all hits now
    alone = np.stack([fresh.embed([t])[0] for t in texts])
    np.testing.assert_allclose(first, alone, atol=1e-5)
    np.testing.assert_allclose(again[::-1], alone, atol=1e-5)


def test_cache_key_is_what_the_uncased_model_reads() -> None:
    embedder = MiniLMEmbedder()
    a = embedder.embed_one("Book a table  for TWO")
    assert embedder.embed_one("book a table for two") is a  # same tokens, one entry
    assert embedder.embed_one("book a table for two?") is not a  # the "?" is a token
    fresh = MiniLMEmbedder(cache_size=0)
    np.testing.assert_allclose(a, fresh.embed_one("book a table for two"), atol=1e-5)


def test_long_texts_are_not_cached() -> None:
    embedder = MiniLMEmbedder(cache_max_chars=10)
    first = embedder.embed_one("a text longer than ten characters")
    assert embedder.embed_one("a text longer than ten characters") is not first


def test_runs_are_cut_where_they_pay() -> None:
    from graph.embeddings import RUN_COST_TOKENS, _groups

    # Short clauses share a run; a long text next to one short one gets its own run.
    assert _groups([5, 6, 7], 16) == [slice(0, 3)]
    assert _groups([3, 3 * RUN_COST_TOKENS], 16) == [slice(0, 1), slice(1, 2)]
    # Every row is in exactly one run, and no run is longer than allowed.
    cuts = _groups(list(range(1, 41)), 4)
    assert [i for s in cuts for i in range(s.start, s.stop)] == list(range(40))
    assert max(s.stop - s.start for s in cuts) <= 4
    assert _groups([], 16) == []


def test_building_the_encoder_drops_what_earlier_releases_derived(tmp_path: Path) -> None:
    shipped = default_model_path()
    older = tmp_path / f"{shipped.stem}-dynint8-0123456789abcdef-ort1.20.0.onnx"
    older.write_bytes(b"an earlier release's encoder")
    other = tmp_path / "words-0123.npy"  # not the encoder's: kept
    other.write_bytes(b"x")
    derived = quantized_path(shipped, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [derived.name, weights_path(derived).name, other.name]
    )


def test_derived_encoder_keeps_the_word_table_outside_the_model(tmp_path: Path) -> None:
    """The word-embedding table is external data (onnxruntime maps it); a lost data file is rebuilt."""
    import onnx

    derived = quantized_path(default_model_path(), tmp_path)
    model = onnx.load(str(derived), load_external_data=False)
    external = [t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external == ["inner.embeddings.word_embeddings.weight_quantized"]
    assert weights_path(derived).stat().st_size == 30522 * 384
    weights_path(derived).unlink()
    assert quantized_path(default_model_path(), tmp_path) == derived
    assert weights_path(derived).stat().st_size == 30522 * 384
    vector = MiniLMEmbedder(derived, cache_size=0).embed(["Can I talk to a person?"])
    assert vector.shape == (1, 384)


def test_derived_int8_encoder_is_built_once_and_reads_like_the_shipped_one(tmp_path: Path) -> None:
    shipped = default_model_path()
    derived = quantized_path(shipped, tmp_path)
    assert derived.is_file()
    assert derived.parent == tmp_path
    built_at = derived.stat().st_mtime_ns
    assert quantized_path(shipped, tmp_path) == derived
    assert derived.stat().st_mtime_ns == built_at  # kept, not rebuilt
    # The model and its word-embedding table beside it (mapped at load, not copied); nothing else.
    assert sorted(p.name for p in tmp_path.iterdir()) == [derived.name, weights_path(derived).name]
    texts = [
        "Thanks",
        "Can you put me through to a real person?",
        "We're selling the condo on Courtland Court",
    ]
    fast = MiniLMEmbedder(derived, cache_size=0).embed(texts)
    exact = MiniLMEmbedder(shipped, cache_size=0).embed(texts)
    # int8 activations move a vector a little (most texts keep cosine > 0.99; a one-word turn less)
    assert np.min(np.sum(fast * exact, axis=1)) > 0.93


def test_an_unwritable_model_cache_runs_the_shipped_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "models"))
    assert _fastest_model() == default_model_path()


def _asks_for_exact_kernel(embedder: MiniLMEmbedder) -> bool:
    options = embedder._session.get_session_options()
    try:
        return options.get_session_config_entry("session.x64quantprecision") == "1"
    except RuntimeError:  # onnxruntime raises for an entry that was never set
        return False


def test_the_exact_int8_kernel_is_asked_for_unless_the_cpu_has_vnni(tmp_path: Path) -> None:
    # Without VNNI the default u8 x s8 kernel saturates and the same text gets another vector (a
    # request for a person fell under its threshold on an AVX2 host); with VNNI it is exact.
    assert exact_int8_kernel_needed(frozenset({"sse4_2", "avx2", "avx512f", "avx512bw"}))
    assert not exact_int8_kernel_needed(frozenset({"avx2", "avx512f", "avx512_vnni"}))
    assert not exact_int8_kernel_needed(frozenset({"avx2", "avx_vnni"}))
    assert exact_int8_kernel_needed(None)  # flags unknown (not Linux, not x86): the safe kernel
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_vnni\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == frozenset({"fpu", "avx2", "avx512_vnni"})
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp\n")  # aarch64 says Features
    assert cpu_flags(cpuinfo) is None
    assert cpu_flags(tmp_path / "missing") is None


def test_the_shared_embedder_follows_this_cpu(embedder: MiniLMEmbedder) -> None:
    assert _asks_for_exact_kernel(embedder) == exact_int8_kernel_needed(cpu_flags())


def test_vectors_do_not_depend_on_the_int8_kernel() -> None:
    # Where the default kernel runs (a VNNI CPU) it must give the exact kernel's vectors bit for bit:
    # prototypes, thresholds and cached vectors are shared by every machine.
    texts = [
        "Yes.",
        "whoever is in charge",
        "Can I talk to a real person please?",
        "I was charged twice for the same coffee and the app still shows the payment as pending",
        " ".join(["My card has not arrived yet and I am getting worried about it."] * 12),
    ]
    exact = MiniLMEmbedder(cache_size=0, exact_int8=True)
    assert _asks_for_exact_kernel(exact)
    np.testing.assert_array_equal(MiniLMEmbedder(cache_size=0).embed(texts), exact.embed(texts))
