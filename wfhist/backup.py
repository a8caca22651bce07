"""Verified backups of a live SQLite file, and restoring one.

A plain file copy of a WAL-mode database misses committed rows that still live
in the ``-wal`` file and can tear a page a writer is changing, so every copy
here goes through SQLite's online backup API, which copies one consistent
snapshot.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _ro_uri(path: str | Path) -> str:
    """A read-only URI for ``path``: the source of a copy is never opened for writing."""
    return Path(path).resolve().as_uri() + "?mode=ro"


def online_copy(src: str | Path, dst: str | Path) -> None:
    """Copy ``src`` to a new file ``dst`` through SQLite's online backup API.

    ``src`` is opened read-only (URI ``mode=ro``), so its bytes and mtime are
    untouched; committed rows still in its ``-wal`` file are included. ``dst``
    must not exist yet: a copy never overwrites anything.
    """
    dst = Path(dst)
    if dst.exists():
        raise FileExistsError(f"{dst}: already exists; a copy never overwrites a file")
    source = sqlite3.connect(_ro_uri(src), uri=True)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
