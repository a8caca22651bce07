"""wfhist.lock on real files and a real second process: bounded waits, links refused, modes.

The end-to-end cases (a second ``wfhist migrate`` refused while one runs, a run
that waits and then proceeds, a planted symlink refused by the command) stay in
tests/test_migrate.py; here the lock itself is attacked.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wfhist import files
from wfhist.exceptions import LockedError, UsageError
from wfhist.lock import lock_path, migration_lock

HOLDER = """\
import sys, time
from wfhist.lock import migration_lock
with migration_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    open(sys.argv[1] + ".holder-done", "w").close()  # the last thing done under the lock
"""


def _hold(db: Path, seconds: float = 60) -> subprocess.Popen[str]:
    """Another process holding the wfhist lock on ``db`` until it ends or is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "wf.db"
    path.write_bytes(b"")  # the lock never opens the database itself
    path.chmod(0o640)
    return path


def test_lock_path_is_next_to_the_resolved_database(db: Path, tmp_path: Path) -> None:
    link = tmp_path / "sub"
    link.symlink_to(tmp_path)
    assert lock_path(link / "wf.db") == tmp_path / "wf.db.wfhist-lock"


def test_a_second_process_holding_it_makes_the_wait_end_within_the_bound(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = _hold(db)
    try:
        started = time.monotonic()
        with (
            caplog.at_level(logging.INFO, logger="wfhist.lock"),
            pytest.raises(LockedError) as info,
            migration_lock(db, timeout=0.5),
        ):
            pytest.fail("the lock was taken while another process held it")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert 0.5 <= elapsed < 3, elapsed
    message = str(info.value)
    assert f"pid {holder.pid}" in message and "waited 0.5 s" in message
    assert "\n" not in message and "--busy-timeout" in message
    waiting = [r.getMessage() for r in caplog.records]
    assert waiting == [f"waiting for the wfhist lock held by pid {holder.pid} (up to 0.5 s)"]


def test_the_default_bound_is_read_at_call_time(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = _hold(db)
    try:
        monkeypatch.setattr(files, "BUSY_TIMEOUT_S", 0.3)
        started = time.monotonic()
        with pytest.raises(LockedError, match=r"waited 0\.3 s"), migration_lock(db):
            pass
        assert time.monotonic() - started < 3
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_kill_9_of_the_holder_frees_the_lock_at_once(db: Path) -> None:
    holder = _hold(db)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    started = time.monotonic()
    with migration_lock(db, timeout=5) as path:
        assert time.monotonic() - started < 1
        assert path.read_text() == f"pid {os.getpid()}\n"  # the dead holder's pid is replaced
    assert path.exists()  # the file stays: deleting it would race with a new holder


def test_a_waiter_gets_the_lock_when_the_holder_finishes(db: Path) -> None:
    holder = _hold(db, seconds=0.8)
    try:
        with migration_lock(db, timeout=30):
            assert Path(f"{db}.holder-done").exists()  # only after the holder let go
    finally:
        holder.wait(timeout=30)


def test_the_lock_is_released_when_the_block_raises(db: Path) -> None:
    with pytest.raises(RuntimeError), migration_lock(db):
        raise RuntimeError("boom")
    probe = subprocess.run(
        [sys.executable, "-c", HOLDER, str(db), "0"], capture_output=True, text=True, timeout=30
    )
    assert probe.returncode == 0 and probe.stdout.strip() == "holding"


def test_a_symlink_planted_as_the_lock_file_is_refused_and_its_target_untouched(
    db: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "passwd"
    victim.write_text("root:x:0:0\n")
    victim.chmod(0o644)
    before = victim.stat()
    lock_path(db).symlink_to(victim)
    with pytest.raises(UsageError, match="not a lock file wfhist made"), migration_lock(db):
        pytest.fail("locked through a symlink")
    after = victim.stat()
    assert victim.read_text() == "root:x:0:0\n"
    assert (after.st_mode, after.st_mtime_ns) == (before.st_mode, before.st_mtime_ns)
    dangling = tmp_path / "other.db"
    lock_path(dangling).symlink_to(tmp_path / "does-not-exist")
    with pytest.raises(UsageError, match="not a lock file"), migration_lock(dangling):
        pass
    assert not (tmp_path / "does-not-exist").exists()  # a dangling link is not followed either


def test_a_hard_link_or_a_fifo_as_the_lock_file_is_refused(db: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    os.link(victim, lock_path(db))
    with pytest.raises(UsageError, match="not a lock file"), migration_lock(db):
        pass
    assert victim.read_text() == "keep\n"
    fifo_db = tmp_path / "fifo.db"
    os.mkfifo(lock_path(fifo_db))
    started = time.monotonic()
    with pytest.raises(UsageError, match="not a lock file"), migration_lock(fifo_db):
        pass
    assert time.monotonic() - started < 2  # opened without blocking on a reader


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_the_lock_file_is_no_more_readable_than_the_database(tmp_path: Path, mode: int) -> None:
    db = tmp_path / "wf.db"
    db.write_bytes(b"")
    db.chmod(mode)
    lock = lock_path(db)
    lock.write_text("")
    lock.chmod(0o666)  # left wider by an older run: narrowed, not kept
    with migration_lock(db):
        pass
    assert lock.stat().st_mode & 0o777 == mode


def test_every_module_imports_without_posix_only_modules() -> None:
    """Windows has no fcntl, pwd or grp: importing wfhist (any module) must not need them."""
    code = (
        "import sys, pkgutil, importlib\n"
        "for name in ('fcntl', 'pwd', 'grp', 'termios', 'resource'):\n"
        "    sys.modules[name] = None  # import of it raises ImportError\n"
        "import wfhist\n"
        "for m in pkgutil.walk_packages(wfhist.__path__, 'wfhist.'):\n"
        "    if m.name != 'wfhist.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
