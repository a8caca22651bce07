"""Hidden temporary siblings (``.NAME.wfhist-tmp-PID``) and the clean-up of stale ones.

Exports and snapshot caches are built in a hidden folder next to their target
and moved into place when complete. A process killed meanwhile (``kill -9``,
power loss) leaves that folder behind; the next run removes every such folder
whose owner process no longer exists, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

_TAGS = ("wfhist-tmp", "wfhist-old")


def temp_sibling(target: Path, tag: str = "wfhist-tmp") -> Path:
    """The hidden sibling of ``target`` owned by this process."""
    return target.with_name(f".{target.name}.{tag}-{os.getpid()}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale(target: Path) -> list[Path]:
    """Remove ``target``'s temporary siblings left by processes that no longer run."""
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        for tag in _TAGS:
            prefix = f".{target.name}.{tag}-"
            pid_text = entry.name[len(prefix) :]
            if not entry.name.startswith(prefix) or not pid_text.isdigit():
                continue
            if int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(entry.lstat().st_mode):
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry)
    return removed


def chmod_tree(root: Path, file_mode: int) -> None:
    """Give every file under ``root`` ``file_mode`` and every folder the matching x bits."""
    dir_mode = file_mode | ((file_mode & 0o444) >> 2)
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, dir_mode)
        for name in files:
            os.chmod(os.path.join(folder, name), file_mode)
