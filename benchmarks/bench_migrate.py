"""``wfhist migrate`` (006 + 007) against ``sqlite3 .backup`` + the same SQL by hand (issue 13).

Goal: migrating the 1M-row file with wfhist (verified backup, one write
transaction, verification before COMMIT, history records) costs at most 3x what
an operator would otherwise type: ``sqlite3 DB ".backup X"`` then the two
migration files through ``sqlite3 DB``. Each side works on its own fresh copy of
the pre-006 sample (copying it is not timed), as a child process with its peak
RSS, in one run. Everything is written below ``benchmarks/.data`` and removed
afterwards; figures are printed, never asserted::

    .venv/bin/python benchmarks/bench_migrate.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from _common import DATA, ROOT, WFHIST, mib, print_machine, print_table, run_measured

MIGRATIONS = ROOT / "migrations"
PEER = (
    'sqlite3 "$0" ".backup \'$1\'" && '
    'sqlite3 "$0" < "$2/006_add_scoring_version.sql" && '
    'sqlite3 "$0" < "$2/007_schema_version_view.sql"'
)


def sample(rows: int) -> Path:
    """A pre-006 sample of the real file's shape (DELETE mode), built once and cached."""
    path = DATA / f"migrate_sample_{rows}.db"
    if not path.exists():
        print(f"building {path} ({rows:,} rows, cached for later runs) ...", flush=True)
        subprocess.run([WFHIST, "demo", "--rows", str(rows), "--out", str(path)], check=True)
    return path


def _fresh_copy(src: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dst = work / "workflow_history.db"
    shutil.copyfile(src, dst)
    with dst.open("rb") as fh:  # warm: both sides start from the page cache
        while fh.read(1 << 24):
            pass
    return dst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    src = sample(args.rows)
    work = DATA / "migrate-bench"
    print_machine()
    print(f"file: {src} ({mib(src.stat().st_size)})")
    try:
        db = _fresh_copy(src, work)
        peer = run_measured(
            "sqlite3 .backup + 006 + 007",
            ["sh", "-c", PEER, str(db), str(work / "x.db"), str(MIGRATIONS)],
        )
        if peer.returncode:
            raise RuntimeError(f"peer failed: {peer.stderr[-1000:]}")
        db = _fresh_copy(src, work)
        ours = run_measured(
            "wfhist migrate", [WFHIST, "migrate", str(db), "--backup-dir", str(work / "backups")]
        )
        if ours.returncode:
            raise RuntimeError(f"wfhist migrate failed: {ours.stderr[-2000:]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\none run each, fresh copy, warm page cache")
    print_table(
        ["case", "seconds", "peak RSS MiB"],
        [[m.label, f"{m.seconds:.2f}", f"{m.max_rss_mib:.0f}"] for m in (peer, ours)],
    )
    print(f"  goal: wfhist migrate / peer = {ours.seconds / peer.seconds:.2f} (<= 3)")
    print("\nwfhist migrate said:")
    print("\n".join("  " + line for line in (ours.stdout + ours.stderr).strip().splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
