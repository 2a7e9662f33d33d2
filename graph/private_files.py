"""Private files under the data dir: transcripts and tokens are readable by the service's user only.

A directory Baton creates is 0700; a SQLite database is 0600, and so are its ``-wal``, ``-shm`` and
``-journal`` side files (SQLite gives new side files the database's own permission bits). Files that
already exist with looser modes are tightened when they are opened.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) with mode 0700; a directory that exists is left as it is.

    Args:
        path: The directory (its missing parents get the default mode).
    """
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        return
    path.chmod(0o700)  # after mkdir: its mode argument is masked by the umask


def private_sqlite(path: Path) -> Path:
    """Create the SQLite file ``path`` as 0600 unless it exists; tighten it and its side files to 0600.

    Call it before SQLite opens the file, so the side files it creates later inherit 0600.

    Args:
        path: The database file (its directory is created private when missing).

    Returns:
        ``path``.
    """
    make_private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, *(path.with_name(path.name + side) for side in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            name.chmod(0o600)
    return path
