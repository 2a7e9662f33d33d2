"""spaCy's token-to-vector networks run as plain functions when the pipeline only predicts.

``en_core_web_sm`` embeds a turn's tokens twice per parse: the shared ``tok2vec`` (tagger, parser) and
the entity recogniser's own. Each is ~30 thinc layers (hash embeddings, maxout, layer norm, residual
CNN blocks) over a handful of rows, and at that size a good part of each call is the layers'
bookkeeping, not arithmetic: every layer builds a backprop closure, looks its weights up by name,
wraps sequences in ``Ragged`` objects and checks each reshape. :func:`fuse` compiles such a network
into closures that make the same numpy and ``Ops`` calls in the same order on weights looked up once,
so the vectors are the same bit for bit (``tests/test_fused_tok2vec.py``): on Banking77's messages
0.84 -> 0.66 ms per call of the shared network and 0.79 -> 0.62 ms of the recogniser's, a whole parse
3.35 -> 2.99 ms (``benchmarks/language_cpu.py --parts fused``). Training (``is_train``) and any layer
it does not know still run thinc's own code. The weights are read by reference, not copied: a
pipeline that only predicts never changes them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.ml import featureextractor
from thinc.api import Model, Ragged

Step = Callable[[Any], Any]
AnyModel = Model[Any, Any]


class NotFusable(Exception):
    """A layer (or a use of one) the compiler does not reproduce exactly."""


def fuse(nlp: Language) -> int:
    """Give every token-to-vector network of ``nlp`` its compiled forward pass; returns how many.

    A network is fused only when the compiler knows each of its layers; others are left as they are.
    """
    fused = 0
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if not isinstance(model, Model):
            continue
        # The tok2vec component's model is one; a component with a network of its own keeps it as its
        # "tok2vec" reference (the others' is a listener to the shared one, which does not compile).
        networks = [model, model.get_ref("tok2vec")] if model.has_ref("tok2vec") else [model]
        for network in networks:
            fused += _install(network)
    return fused


def _install(model: AnyModel) -> int:
    if getattr(model._func, "fused", False):
        return 0
    try:
        step = _compile(model)
    except NotFusable:
        return 0
    thinc_forward = model._func

    def forward(m: AnyModel, docs: Any, is_train: bool) -> tuple[Any, Callable[..., Any]]:
        if not is_train and m is model:
            try:
                return step(docs), _no_backprop
            except NotFusable:  # an empty doc, a span: thinc's own code handles those
                pass
        return thinc_forward(m, docs, is_train)  # type: ignore[no-any-return]

    forward.fused = True  # type: ignore[attr-defined]
    model._func = forward
    return 1


def _no_backprop(_: Any) -> Any:
    msg = "a fused token-to-vector network only predicts"
    raise RuntimeError(msg)


def _compile(model: AnyModel) -> Step:
    build = _BUILDERS.get(model._func)
    if build is None:
        raise NotFusable(model.name)
    return build(model)


def _identity(_: AnyModel) -> Step:
    return lambda x: x  # dropout when not training


def _chain(model: AnyModel) -> Step:
    return _sequence([_compile(layer) for layer in model.layers])


def _sequence(steps: list[Step]) -> Step:
    def run(x: Any) -> Any:
        for step in steps:
            x = step(x)
        return x

    return run


def _features(model: AnyModel) -> Step:
    columns = model.attrs["columns"]
    ops: Any = model.ops

    def run(docs: Any) -> Any:
        out = []
        for doc in docs:
            if not hasattr(doc, "to_array"):
                raise NotFusable("a span")
            attrs = doc.to_array(columns)
            if attrs.ndim == 1:
                attrs = attrs.reshape((attrs.shape[0], 1))
            out.append(ops.asarray2i(attrs, dtype="uint64"))
        return out

    return run


def _list2ragged(model: AnyModel) -> Step:
    ops: Any = model.ops
    return lambda xs: Ragged(ops.flatten(xs), ops.asarray1i([len(x) for x in xs]))


def _ragged2list(model: AnyModel) -> Step:
    ops: Any = model.ops
    return lambda xr: ops.unflatten(xr.dataXd, xr.lengths)


def _with_array(model: AnyModel) -> Step:
    inner = _compile(model.layers[0])
    pad = model.attrs["pad"]
    ops: Any = model.layers[0].ops

    def run(x: Any) -> Any:
        if isinstance(x, Ragged):
            return Ragged(inner(x.dataXd), x.lengths)
        if not isinstance(x, (list, tuple)):
            raise NotFusable(type(x).__name__)
        lengths = [len(seq) for seq in x]
        return ops.unflatten(inner(ops.flatten(x, pad=pad)), np.asarray(lengths, dtype="int32"), pad=pad)

    return run


def _concatenate(model: AnyModel) -> Step:
    # Only the embedding's form: each branch picks one column of the features and hashes it.
    branches = []
    for layer in model.layers:
        if layer._func is not _forward_of("chain") or len(layer.layers) != 2:
            raise NotFusable(layer.name)
        pick, embed = layer.layers
        if pick._func is not _forward_of("array_getitem") or embed._func is not _forward_of("hashembed"):
            raise NotFusable(layer.name)
        branches.append((pick.attrs["index"], _hash_embed(embed)))
    xp: Any = model.ops.xp

    def run(x: Any) -> Any:
        if len(x) == 0:
            raise NotFusable("no tokens")
        return xp.hstack([embed(x[index]) for index, embed in branches])

    return run


def _hash_embed(model: AnyModel) -> Step:
    table: Any = model.get_param("E")
    rows = table.shape[0]
    seed = model.attrs["seed"]
    ops: Any = model.ops

    def run(ids: Any) -> Any:
        keys = ops.hash(ops.as_contig(ids, dtype="uint64"), seed) % rows
        return ops.gather_add(table, keys)

    return run


def _maxout(model: AnyModel) -> Step:
    n_out, pieces, n_in = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    ops: Any = model.ops
    weights = ops.reshape2f(model.get_param("W"), n_out * pieces, n_in)
    bias = ops.reshape1f(model.get_param("b"), n_out * pieces)

    def run(x: Any) -> Any:
        y = ops.gemm(x, weights, trans2=True)
        y += bias
        best, _ = ops.maxout(y.reshape((y.shape[0], n_out, pieces)))
        return best

    return run


def _layernorm(model: AnyModel) -> Step:
    gain: Any = model.get_param("G")
    shift: Any = model.get_param("b")

    def run(x: Any) -> Any:
        # thinc takes ``x.mean`` and ``x.var``, and numpy's var sums x for its mean again: the same
        # reductions and divisions once, by numpy's own ufuncs (an intp count, float32 results).
        count = np.intp(x.shape[1])
        mu = np.add.reduce(x, axis=1, keepdims=True)
        np.true_divide(mu, count, out=mu, casting="unsafe")
        centred = np.subtract(x, mu)
        var = np.add.reduce(np.square(centred), axis=1, keepdims=True)
        np.true_divide(var, count, out=var, casting="unsafe")
        var += 1e-08
        y = centred * var ** (-1.0 / 2.0) * gain
        y += shift
        return y

    return run


def _residual(model: AnyModel) -> Step:
    inner = _compile(model.layers[0])

    def run(x: Any) -> Any:
        if not isinstance(x, np.ndarray):
            raise NotFusable(type(x).__name__)
        return x + inner(x)

    return run


def _expand_window(model: AnyModel) -> Step:
    width = model.attrs["window_size"]
    ops: Any = model.ops

    def run(x: Any) -> Any:
        if isinstance(x, Ragged) or len(x) == 0:
            raise NotFusable("ragged or empty window")
        return ops.seq2col(x, width)

    return run


def _list2array(model: AnyModel) -> Step:
    ops: Any = model.ops
    return lambda xs: ops.flatten(xs)


def _linear(model: AnyModel) -> Step:
    weights: Any = model.get_param("W")
    bias: Any = model.get_param("b")
    ops: Any = model.ops

    def run(x: Any) -> Any:
        y = ops.gemm(x, weights, trans2=True)
        y += bias
        return y

    return run


def _forward_of(layer: str) -> Callable[..., Any]:
    # ``thinc.layers`` re-exports each layer's constructor under its module's name, so import the module.
    forward: Callable[..., Any] = importlib.import_module(f"thinc.layers.{layer}").forward
    return forward


# What each layer's forward function (thinc's own, looked up by identity) compiles to.
_BUILDERS: dict[Callable[..., Any], Callable[[AnyModel], Step]] = {
    featureextractor.forward: _features,
    **{
        _forward_of(layer): build
        for layer, build in (
            ("chain", _chain),
            ("list2ragged", _list2ragged),
            ("ragged2list", _ragged2list),
            ("with_array", _with_array),
            ("concatenate", _concatenate),
            ("maxout", _maxout),
            ("layernorm", _layernorm),
            ("dropout", _identity),
            ("residual", _residual),
            ("expand_window", _expand_window),
            ("list2array", _list2array),
            ("linear", _linear),
        )
    },
}
