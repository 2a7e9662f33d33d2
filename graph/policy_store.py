"""The live routing policy: hot-reloaded when its file changes, never replaced by an invalid edit.

Reading the file is bounded like every other way a policy arrives (``policies.limits``): a file over
the size limit is refused without being read whole, and a bomb written to it is refused within
milliseconds while the previous policy keeps serving.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from graph.signals import CONDITION_FIELDS
from nodes.names import BOT_NODES
from policies.loader import FieldSpec, LoadedPolicy, PolicyError, load_policy, load_policy_text

log = logging.getLogger(__name__)


def check_policy_text(
    text: str,
    source: str,
    *,
    nodes: Iterable[str] = BOT_NODES,
    fields: Mapping[str, FieldSpec] = CONDITION_FIELDS,
    name: str | None = None,
) -> LoadedPolicy:
    """Validate policy text against the registered nodes and the signal fields (and ``name``, if given)."""
    return load_policy_text(text, source, nodes=nodes, fields=fields, name=name)


def check_policy_file(path: Path, *, nodes: Iterable[str] = BOT_NODES) -> LoadedPolicy:
    """Read and validate a policy file; unreadable, oversized or non-UTF-8 files raise ``PolicyError`` too."""
    return load_policy(path, nodes=nodes, fields=CONDITION_FIELDS)


class PolicyStore:
    """Holds the current policy for one file and reloads it when the file's mtime changes."""

    def __init__(self, path: Path, *, extra_targets: Iterable[str] = ()) -> None:
        self.path = path
        self.nodes = (*BOT_NODES, *extra_targets)
        self._lock = threading.Lock()
        self._mtime = self._stat()
        self._current = check_policy_file(path, nodes=self.nodes)
        self.last_error: PolicyError | None = None

    def _stat(self) -> float:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return 0.0

    def current(self) -> LoadedPolicy:
        """The policy to route with; a changed file is reloaded first, an invalid one is refused."""
        mtime = self._stat()
        if mtime != self._mtime:
            with self._lock:
                if mtime != self._mtime:
                    self._mtime = mtime
                    try:
                        self._current = check_policy_file(self.path, nodes=self.nodes)
                        self.last_error = None
                        log.info("reloaded policy %s (version %s)", self.path, self._current.version)
                        for warning in self._current.warnings:  # valid, but probably not what was meant
                            log.warning("policy %s", warning.render(str(self.path)))
                    except PolicyError as exc:
                        self.last_error = exc
                        log.error("rejected policy edit, still serving %s:\n%s", self._current.version, exc)
        return self._current

    def publish(self, text: str, *, name: str | None = None) -> LoadedPolicy:
        """Validate ``text`` and, only if valid, atomically replace the file and hot-swap.

        Args:
            text: The new policy.
            name: The name the policy must have (a published policy keeps its name); ``None``: any.

        Raises:
            PolicyError: The text is invalid; nothing changed.
        """
        loaded = check_policy_text(text, str(self.path), nodes=self.nodes, name=name)
        with self._lock:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".policy-", suffix=".yaml")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
            self._mtime = self._stat()
            self._current = loaded
            self.last_error = None
        return loaded
