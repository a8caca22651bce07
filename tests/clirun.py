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
