"""CPU of the language layer's two model calls on this machine, each beside its alternative.

* **the encoder's int8 kernel**: every Banking77 message of ``routing_dev.jsonl`` (and 20 long joins
  of them) embedded uncached with onnxruntime's exact u8 x u8 kernel, then with its default one (what
  a VNNI CPU runs since c09aa89), two passes each; whether the vectors are identical;
* **a parse in a fresh context** (what every call to the analysis threads is): the pipeline run with
  thinc's backend unset, so thinc looks it up again, and as ``Pipeline`` runs it, with the backend set
  (c8ee8b7); chunks of 20 messages alternate between the two.

* **the parser's matrix products**: the pipeline loaded while numpy's BLAS may run several threads
  (BLIS, thinc's default) and again once the process holds it to one thread (what a worker does since
  graph/blas.py: numpy's OpenBLAS); chunks of 20 messages alternate between the two, and each message's
  tags, dependencies, lemmas and entities are compared. Process CPU time here, so BLAS threads count.
* **the weights' layout** (``--parts gemm``): on numpy's one-thread BLAS, the pipeline with thinc's
  ``NumpyOps`` (each weight matrix handed to BLAS transposed, every call) vs ``InferenceOps`` (each
  transposed once and kept, ``graph/language/inference_ops.py``); chunks alternate; every customer turn
  of abcd_dev and sgd_dev too, each reading compared.
* **the token-to-vector networks** (``--parts fused``): both pipelines on ``InferenceOps``, one as
  spaCy loads it, one with its two token-to-vector networks compiled into plain functions
  (``graph/language/fused_tok2vec.py``); chunks alternate over the same turns; each reading compared,
  and each turn's tagger vectors (``doc.tensor``) compared bit for bit.
* **the attribute ruler** (``--parts rules``): the same, one pipeline with the ruler's ``Matcher``, one
  with its patterns looked up by word and tag (``graph/language/attribute_rules.py``); each reading
  compared, part of speech and morphology included.
* **the rule lemmatizer's word lists**: each message tagged once, then lemmatized by spaCy's
  lemmatizer as loaded (lists of words) and as ``Pipeline`` keeps it (sorted hashes,
  ``graph/language/lemma_index.py``), both with empty caches; chunks alternate; lemmas compared.
* **the slip corrector** (``graph/language/spelling.py``): every message as written (what most turns
  cost: a lookup of their words), then each with the middle letters of its longest word swapped (a
  guess per message), and one guess at a long unlisted word.

Thread CPU time (``time.thread_time``) elsewhere, one process, offline.

    .venv/bin/python benchmarks/language_cpu.py --json benchmarks/results/language_cpu.json
"""

from __future__ import annotations

import argparse
import contextvars
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import common
import numpy as np

from evals.context import load_rows
from graph import blas
from graph.embeddings import MiniLMEmbedder, cpu_flags, exact_int8_kernel_needed
from graph.language.lemma_index import compact_lemma_index
from graph.language.pipeline import LEFT_ON_DISK, Pipeline, model_path

DATASET = common.ROOT.parent / "shared" / "datasets" / "routing_dev.jsonl"


def _texts() -> list[str]:
    with DATASET.open(encoding="utf-8") as rows:
        return [json.loads(line)["text"] for line in rows if line.strip()]


def kernels(texts: list[str], passes: int) -> dict[str, Any]:
    """Seconds to embed ``texts`` with each kernel, per pass, and whether the vectors agree."""
    texts = texts + [" ".join(texts[i : i + 12]) for i in range(0, 240, 12)]
    exact, default = (
        MiniLMEmbedder(cache_size=0, exact_int8=True),
        MiniLMEmbedder(cache_size=0, exact_int8=False),
    )
    seconds: dict[str, list[float]] = {"exact": [], "default": []}
    vectors: dict[str, Any] = {}
    for _ in range(passes):
        for name, embedder in (("exact", exact), ("default", default)):
            started = time.thread_time()
            vectors[name] = embedder.embed(texts)
            seconds[name].append(round(time.thread_time() - started, 2))
    return {
        "texts": len(texts),
        "seconds": seconds,
        "identical_vectors": bool(np.array_equal(vectors["exact"], vectors["default"])),
        "this_cpu_asks_for_exact": exact_int8_kernel_needed(cpu_flags()),
    }


def parses(texts: list[str], chunk: int = 20) -> dict[str, float]:
    """Milliseconds per parse in a fresh context, thinc's backend looked up vs set."""
    pipeline = Pipeline()
    pipeline.warm()
    nlp = pipeline._nlp
    if nlp is None:
        raise RuntimeError("the pipeline did not load")
    spent = {"looked_up": 0.0, "set": 0.0}
    counted = dict.fromkeys(spent, 0)
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        order = ("looked_up", "set") if (start // chunk) % 2 == 0 else ("set", "looked_up")
        for mode in order:
            started = time.thread_time()
            for text in part:
                if mode == "looked_up":
                    contextvars.Context().run(nlp, text)
                else:
                    contextvars.Context().run(pipeline._run, nlp, text, True)
            spent[mode] += time.thread_time() - started
            counted[mode] += len(part)
    return {f"{mode}_ms_per_parse": round(spent[mode] / counted[mode] * 1000, 3) for mode in spent}


def _alternating(
    texts: list[str],
    readers: dict[str, Callable[[list[str]], list[Any]]],
    clock: Callable[[], float],
    chunk: int,
    checks: Mapping[str, Callable[[Any, Any], bool]] | None = None,
) -> dict[str, Any]:
    """Milliseconds per text of each of two readers over ``texts`` in chunks, the order alternating per
    chunk, how many texts the two read differently, and for each of ``checks`` (whether two docs agree
    on something more) how many they disagree on: ``<name>_that_differ``."""
    first, second = readers
    checks = checks or {}
    spent = dict.fromkeys(readers, 0.0)
    differ = 0
    disagree = dict.fromkeys(checks, 0)
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        names = [first, second] if (start // chunk) % 2 == 0 else [second, first]
        read: dict[str, list[Any]] = {}
        for name in names:
            started = clock()
            read[name] = readers[name](part)
            spent[name] += clock() - started
        for a, b in zip(read[first], read[second], strict=True):
            differ += _reading(a) != _reading(b)
            for check, same in checks.items():
                disagree[check] += not same(a, b)
    out: dict[str, Any] = {
        f"{name}_ms_per_parse": round(spent[name] / len(texts) * 1000, 3) for name in spent
    }
    extra = {f"{check}_that_differ": count for check, count in disagree.items()}
    return {**out, "parses_that_differ": differ, "texts": len(texts), **extra}


def backends(texts: list[str], chunk: int = 20) -> dict[str, Any]:
    """Milliseconds of process CPU per parse through BLIS and through numpy's one-thread BLAS."""
    blis = Pipeline()
    blis.warm()  # before the process holds BLAS to one thread: thinc's BLIS backend
    if not blas.hold_to_one_thread():
        raise RuntimeError("no BLAS to hold to one thread")
    one_thread = Pipeline()
    one_thread.warm()
    readers = {
        "blis": lambda part: [blis.parse(text) for text in part],
        "numpy_one_thread": lambda part: [one_thread.parse(text) for text in part],
    }
    return _alternating(texts, readers, time.process_time, chunk)


def _turns() -> list[str]:
    """Every customer turn of ``abcd_dev`` and ``sgd_dev``."""
    return [
        turn["text"]
        for name in ("abcd_dev.jsonl", "sgd_dev.jsonl")
        for row in load_rows(DATASET.parent / name)
        for turn in row.turns
        if turn["role"] == "customer"
    ]


def _pipelines(builds: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Each named ``(ops, change)`` loaded as a pipeline on its own ops, ``change`` applied to it."""
    import spacy
    from thinc.api import set_current_ops

    if not blas.hold_to_one_thread():
        raise RuntimeError("no BLAS to hold to one thread")
    out = {}
    for name, (ops, change) in builds.items():
        set_current_ops(ops)  # layers take the current backend when they are built
        nlp = spacy.load(model_path(), exclude=LEFT_ON_DISK)
        change(nlp)
        out[name] = (ops, nlp)
    return out


def _reader(ops: Any, nlp: Any) -> Callable[[list[str]], list[Any]]:
    from thinc.api import set_current_ops

    def read(part: list[str]) -> list[Any]:
        set_current_ops(ops)
        return [nlp(text) for text in part]

    return read


def gemm(texts: list[str], chunk: int = 20) -> dict[str, Any]:
    """Milliseconds per parse on numpy's one-thread BLAS, weights transposed per call vs kept transposed.

    Every customer turn of ``abcd_dev`` and ``sgd_dev`` is read as well as the Banking77 messages, and
    each turn's reading is compared between the two.
    """
    from thinc.api import NumpyOps

    from graph.language.inference_ops import InferenceOps

    pipelines = _pipelines(
        {"per_call": (NumpyOps(use_blis=False), _unchanged), "kept": (InferenceOps(), _unchanged)}
    )
    readers = {name: _reader(*pipeline) for name, pipeline in pipelines.items()}
    out = _alternating(texts + _turns(), readers, time.thread_time, chunk)
    kept_mb = sum(w.nbytes for _, w in pipelines["kept"][0]._transposed.values()) / 2**20
    return {**out, "kept_transposed_mb": round(kept_mb, 2)}


def fused(texts: list[str], chunk: int = 20) -> dict[str, Any]:
    """Milliseconds per parse with spaCy's token-to-vector networks as thinc runs them and compiled."""
    from graph.language.fused_tok2vec import fuse

    return _compare(texts, fuse, chunk, {"tensors": lambda a, b: np.array_equal(a.tensor, b.tensor)})


def rules(texts: list[str], chunk: int = 20) -> dict[str, Any]:
    """Milliseconds per parse with the attribute ruler's ``Matcher`` and with its patterns indexed."""
    from graph.language.attribute_rules import index_rules

    def morphology(doc: Any) -> list[tuple[str, str]]:
        return [(t.pos_, str(t.morph)) for t in doc]

    return _compare(
        texts, index_rules, chunk, {"pos_or_morphology": lambda a, b: morphology(a) == morphology(b)}
    )


def _compare(
    texts: list[str],
    change: Callable[[Any], Any],
    chunk: int,
    checks: Mapping[str, Callable[[Any, Any], bool]],
) -> dict[str, Any]:
    """Two pipelines on ``InferenceOps``, as loaded and with ``change``, alternating over ``texts`` and
    the datasets' customer turns, each doc compared by ``_reading`` and by ``checks``."""
    from graph.language.inference_ops import InferenceOps

    pipelines = _pipelines({"as_loaded": (InferenceOps(), _unchanged), "changed": (InferenceOps(), change)})
    readers = {name: _reader(*pipeline) for name, pipeline in pipelines.items()}
    return _alternating(texts + _turns(), readers, time.thread_time, chunk, checks)


def _unchanged(nlp: Any) -> None:
    """The pipeline as spaCy loads it."""


def lemmas(texts: list[str], chunk: int = 20) -> dict[str, Any]:
    """Milliseconds per message in the rule lemmatizer, over word lists and over sorted hashes."""
    import spacy

    lists = spacy.load(model_path(), exclude=LEFT_ON_DISK)
    hashes = spacy.load(model_path(), exclude=LEFT_ON_DISK)
    words = compact_lemma_index(hashes)
    tagged = [lists(text, disable=["lemmatizer", "ner"]) for text in texts]
    lemmatizers = {"lists": lists.get_pipe("lemmatizer"), "hashes": hashes.get_pipe("lemmatizer")}
    spent = dict.fromkeys(lemmatizers, 0.0)
    found: dict[str, list[list[str]]] = {name: [] for name in lemmatizers}
    for start in range(0, len(tagged), chunk):
        names = list(lemmatizers) if (start // chunk) % 2 == 0 else list(lemmatizers)[::-1]
        for name in names:
            docs = [doc.copy() for doc in tagged[start : start + chunk]]
            started = time.thread_time()
            for doc in docs:
                lemmatizers[name](doc)
            spent[name] += time.thread_time() - started
            found[name].extend([t.lemma_ for t in doc] for doc in docs)
    differ = sum(a != b for a, b in zip(found["lists"], found["hashes"], strict=True))
    out: dict[str, Any] = {
        f"lemmatizer_{name}_ms_per_text": round(spent[name] / len(texts) * 1000, 4) for name in spent
    }
    return {**out, "lemmatized_differently": differ, "index_words": words}


def spelling(texts: list[str]) -> dict[str, Any]:
    """Milliseconds per message in the slip corrector, as written and with a slip in every message."""
    from graph.language.spelling import likely_word, respell, zipf

    zipf("the")  # the word table: built or mapped once, not timed
    slipped = [_slip(text) for text in texts]
    spent: dict[str, float] = {}
    changed: dict[str, int] = {}
    for name, batch in (("as_written", texts), ("one_slip_each", slipped)):
        started = time.thread_time()
        found = [respell(text) for text in batch]
        spent[name] = time.thread_time() - started
        changed[name] = sum(r is not None for r in found)
    started = time.thread_time()
    for _ in range(200):
        likely_word("reprsentative")
    guess_ms = (time.thread_time() - started) / 200 * 1000
    return {
        **{f"respell_{name}_ms_per_text": round(v / len(texts) * 1000, 4) for name, v in spent.items()},
        **{f"respelled_{name}": v for name, v in changed.items()},
        "one_guess_ms (a 13-letter unlisted word)": round(guess_ms, 3),
    }


def _slip(text: str) -> str:
    """``text`` with the two middle letters of its longest word swapped (a typist's slip)."""
    words = text.split()
    longest = max(words, key=len)
    at = len(longest) // 2
    slipped = (
        longest[: at - 1] + longest[at] + longest[at - 1] + longest[at + 1 :] if len(longest) > 3 else longest
    )
    return text.replace(longest, slipped, 1)


def _reading(doc: Any) -> list[tuple[str, str, int, str, str]]:
    return [(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_) for t in doc]


PARTS: dict[str, Any] = {
    "kernels": kernels,
    "parses": parses,
    "lemmas": lemmas,
    "spelling": spelling,
    "backends": backends,
    "gemm": gemm,
    "fused": fused,
    "rules": rules,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=2, help="Embedding passes per kernel.")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="What to measure.")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    texts = _texts()
    result: dict[str, Any] = {}
    rows: list[tuple[str, Any]] = []
    if "kernels" in args.parts:
        k = result["kernels"] = kernels(texts, args.passes)
        rows += [
            (f"embed {k['texts']} texts, exact kernel (s)", " / ".join(map(str, k["seconds"]["exact"]))),
            (f"embed {k['texts']} texts, default kernel (s)", " / ".join(map(str, k["seconds"]["default"]))),
            ("identical vectors", k["identical_vectors"]),
            ("this CPU asks for the exact kernel", k["this_cpu_asks_for_exact"]),
        ]
    # The backends last: they hold this process's BLAS to one thread.
    for part in ("parses", "lemmas", "spelling", "backends", "gemm", "fused", "rules"):
        if part in args.parts:
            result[part] = PARTS[part](texts)
            rows += list(result[part].items())
    print(common.table(rows, "language_cpu"))
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
