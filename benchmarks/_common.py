"""What every benchmark script shares: cached sample files, measured children, the machine.

Each case runs as its own child process so that its peak memory is its own:
:func:`run_measured` reads the child's ``ru_maxrss`` from ``os.wait4`` (the
parent's ``RUSAGE_CHILDREN`` would be the maximum over all children).

Linux counts the launching process's RSS into a child's ``ru_maxrss`` (the
memory map the child had before ``exec``), so the parent stays lean: it never
imports duckdb, pandas or wfhist (samples are built in a child too), and
:func:`rss_floor_mib` -- the smallest figure any child can show -- is printed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
PYTHON = sys.executable
WFHIST = str(Path(PYTHON).with_name("wfhist"))  # the console script of this venv


def sample_db(rows: int, data: Path = DATA) -> Path:
    """The ``create_sample_db`` file with ``rows`` runs, built once (minutes for 1M) and cached.

    Built in a child process, so this (measuring) process stays small.
    """
    path = data / f"sample_{rows}.db"
    if not path.exists():
        print(f"building {path} ({rows:,} rows, cached for later runs) ...", flush=True)
        code = "import sys; from wfhist.demo import create_sample_db as c; "
        code += "c(sys.argv[1], rows=int(sys.argv[2]))"
        subprocess.run([PYTHON, "-c", code, str(path), str(rows)], check=True)
    return path


def warm_page_cache(path: Path) -> None:
    """Read ``path`` once so every case starts from the same (warm) page cache."""
    with path.open("rb") as fh:
        while fh.read(1 << 20):
            pass


def rss_floor_mib() -> float:
    """This process's peak RSS: every child's ``ru_maxrss`` is at least this."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Measured:
    label: str
    seconds: float  # wall time of the whole child process
    max_rss_mib: float
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        """The child's last stdout line, parsed (the ``--case`` protocol)."""
        if self.returncode:
            raise RuntimeError(f"{self.label} failed ({self.returncode}): {self.stderr[-2000:]}")
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_measured(label: str, argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` as a child: wall seconds, that child's peak RSS, its output.

    ``env`` adds to (not replaces) this process's environment.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            label,
            seconds,
            usage.ru_maxrss / 1024,  # KiB on Linux
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def emit(data: dict) -> None:
    """A ``--case`` child's result: one JSON line on stdout, read by :meth:`Measured.json`."""
    print(json.dumps(data), flush=True)


def machine() -> dict[str, str]:
    """The facts a figure needs to be reproducible: CPU, cores, RAM, versions."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "ram": f"{mem_kib / 1024**2:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "duckdb": version("duckdb"),
        "pandas": version("pandas"),
    }


def print_machine() -> None:
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print_load()
    print(f"RSS floor of every child (this launcher's own peak): {rss_floor_mib():.0f} MiB")


def print_load() -> None:
    """Other work on the machine skews every figure: say how busy it was."""
    one, five, _ = os.getloadavg()
    print(f"load average: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores")


def print_table(header: list[str], rows: list[list[object]]) -> None:
    """A plain aligned table (copied as is into benchmarks/README.md)."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, r in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def mib(n_bytes: int) -> str:
    return f"{n_bytes / 1024**2:,.0f} MiB"
