"""A small real filesystem for tests of full and read-only disks (root only)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """Mount a tmpfs with ``options`` (``size=64k``, ``size=1m,ro``) at the new folder ``path``.

    A full or read-only disk cannot be faked without mocking the OS; a tiny tmpfs is the
    real thing. Mounting needs root (CI runs as root); elsewhere the test is skipped with
    the reason, which ``WFHIST_NO_SKIP=1`` turns into a failure. Always unmounted.
    """
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"needs root to mount a tmpfs: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
