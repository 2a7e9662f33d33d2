"""Safe YAML with budgets: nesting depth and node count, aliases expanded, enforced while composing.

PyYAML composes a node graph before it builds Python objects. An alias is a reference to an anchored
node, so ten aliases to a list of ten aliases, nine levels up ("billion laughs"), compose into a few
hundred nodes, but everything that later walks the result as a tree (Pydantic, the evaluator, the
``repr`` in an error message) pays for 10**9. This loader counts nodes as a tree walk would see them
while it composes, and stops at the first event over a budget, so refusing a bomb costs at most the
budget. Depth is bounded on the way down, before PyYAML's recursive composer can overflow the stack.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

from policies.limits import MAX_DEPTH, MAX_NODES, quote

if yaml.__with_libyaml__:
    # libyaml scans and parses about 30x faster than pure Python; composing stays in Python (below).
    from yaml._yaml import CParser as _Parser
else:  # pragma: no cover - PyYAML wheels ship libyaml

    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


class LimitExceeded(yaml.MarkedYAMLError):
    """The document is over a budget; ``problem_mark`` points at the node or alias that crossed it."""

    # ``mark`` is a yaml.Mark or libyaml's own Mark class (the same fields), hence Any.
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class BoundedLoader(Composer, _Parser, SafeConstructor, Resolver):  # type: ignore[misc]
    """``yaml.SafeLoader`` semantics with depth and expanded-node budgets.

    Args:
        text: The YAML document.
        max_depth: Deepest nesting of collections allowed, aliases expanded.
        max_nodes: Most nodes allowed, every alias counted as a copy of its anchor's node.
    """

    def __init__(self, text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
        _Parser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.max_depth, self.max_nodes = max_depth, max_nodes
        self._depth = 0
        self._nodes = 0
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._shape: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, height), aliases expanded

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node after charging it (or, for an alias, its whole expansion) to the budgets."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._charge_alias(event)
            return super().compose_node(parent, index)
        mark = getattr(event, "start_mark", None)
        self._depth += 1
        if self._depth > self.max_depth:
            raise LimitExceeded(f"the document is nested deeper than {self.max_depth} levels", mark)
        self._charge(1, mark, "the document has more than {} nodes")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a scalar Python refuses (the date 2024-13-45, a 5,000-digit int) is a YAML error."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise ConstructorError(None, None, f"invalid value: {exc}", node.start_mark) from exc

    def _charge_alias(self, event: yaml.AliasEvent) -> None:
        anchor = event.anchor or ""
        if anchor in self._open:
            raise LimitExceeded(f"recursive alias *{quote(anchor)[1:-1]}", event.start_mark)
        node = self.anchors.get(anchor)
        if node is None:
            return  # an undefined alias: the composer reports it with its place
        nodes, height = self._measure(node)
        if self._depth + height > self.max_depth:
            msg = f"alias *{quote(anchor)[1:-1]} nests the document deeper than {self.max_depth} levels"
            raise LimitExceeded(msg, event.start_mark)
        self._charge(nodes, event.start_mark, "aliases expand the document past {} nodes")

    def _charge(self, nodes: int, mark: Any, message: str) -> None:
        self._nodes += nodes
        if self._nodes > self.max_nodes:
            raise LimitExceeded(message.format(self.max_nodes), mark)

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Nodes and height of ``node`` with aliases expanded; memoised, so linear in distinct nodes.

        Recursion is bounded: every node composed so far is at most ``max_depth`` high, aliases included.
        """
        known = self._shape.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        nodes, height = 1, 0
        for child in children:
            child_nodes, child_height = self._measure(child)
            nodes, height = nodes + child_nodes, max(height, child_height)
            if nodes > self.max_nodes:
                break  # over budget already; the caller refuses it
        self._shape[id(node)] = (nodes, height + 1)
        return nodes, height + 1


def load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node graph (for line numbers) and the Python value of a one-document ``text``, within budgets.

    Both are ``None`` for an empty document. Objects behind one anchor are shared, never copied.

    Raises:
        yaml.YAMLError: Invalid YAML, or ``LimitExceeded`` with the place that crossed a budget.
    """
    loader = BoundedLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node, (None if node is None else loader.construct_document(node))
    finally:
        loader.dispose()
