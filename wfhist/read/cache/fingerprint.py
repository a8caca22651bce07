"""The identity of a source file's state, for caches that must follow every commit."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import UTC, datetime
from pathlib import Path

from wfhist import __version__
from wfhist.read.sources import is_postgres_dsn


def fingerprint(paths: list[str], settings: list[str]) -> str:
    """Identity of the sources: inode, size, mtime and change counter of each file.

    ``PRAGMA data_version`` only compares within one connection, so across
    processes the file's own change counter (header bytes 24-27, bumped on each
    commit in rollback-journal mode) plus size and mtime of the file and its
    ``-wal`` (where WAL-mode commits land) identify a state instead. A DSN has
    no such identity: its fingerprint never matches (it is never cached).
    """
    parts = [__version__, *settings]
    for text in paths:
        if is_postgres_dsn(text):
            parts.append(f"{text}:uncacheable:{datetime.now(UTC).isoformat()}")
            continue
        p = Path(text).resolve()
        for f in (p, Path(f"{p}-wal")):
            if f.exists():
                st = f.stat()
                parts.append(f"{f}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}")
        with contextlib.suppress(OSError), p.open("rb") as fh:
            fh.seek(24)
            parts.append(fh.read(4).hex())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
