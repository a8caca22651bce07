"""Run the real ``wfhist`` command in a child process, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    @property
    def lines_of_error(self) -> list[str]:
        """The ``wfhist: error:`` lines on stderr (the one-line contract)."""
        return [line for line in self.lines if line.startswith("wfhist: error:")]


def wfhist(*args: str | Path, timeout: float = 120, cwd: Path | None = None) -> Run:
    """``python -m wfhist ARGS`` with a bounded wait; a hang fails the test, never the suite."""
    import time

    env = {**os.environ, "PYTHONWARNINGS": "default"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "wfhist", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def assert_one_clean_line(run: Run, *, codes: tuple[int, ...] = (2,)) -> str:
    """The contract for expected failures: one line on stderr, no traceback, a known code."""
    assert "Traceback" not in run.err + run.out, run.err
    assert run.code in codes, (run.code, run.err)
    error_lines = run.lines_of_error
    assert len(error_lines) == 1, run.err
    return error_lines[0]


class StderrLines:
    """A running command's stderr, line by line as it is written (a thread drains the pipe).

    For tests that act at a moment the command announces (kill -9 or Ctrl-C when it
    says "statement 3/4"), without ever blocking on a pipe.
    """

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import queue
        import threading

        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, needle: str, timeout: float = 30) -> None:
        """Return once a line containing ``needle`` was written; fail after ``timeout`` s."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if needle in line:
                return
        raise AssertionError(f"never saw {needle!r}; stderr was:\n{''.join(self.seen)}")

    def drain(self, timeout: float = 5) -> str:
        """Everything the command wrote to stderr, once it has closed the pipe."""
        while (line := self._lines.get(timeout=timeout)) is not None:
            self.seen.append(line)
        return "".join(self.seen)
