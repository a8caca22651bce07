"""Damaged files: truncated at many offsets or with flipped bytes, never a traceback or a hang.

Each damaged copy of the sample goes through the read-only commands an operator would
run first (``summary``, ``status``, ``verify``, ``backup``, ``plan``). Whatever SQLite
or DuckDB make of the damage, the command ends within its bound with exit 0 (the damage
was in bytes no query needed), or 1/2 with exactly one ``wfhist: error:`` line -- and the
damaged file itself is never changed, and no backup of it is ever published.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.clirun import Run, assert_one_clean_line, wfhist

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_006 = ROOT / "migrations" / "006_add_scoring_version.sql"


def _truncated(sample: Path, dst: Path, fraction: float) -> Path:
    data = sample.read_bytes()
    dst.write_bytes(data[: max(512, int(len(data) * fraction)) // 512 * 512])
    return dst


def _flipped(sample: Path, dst: Path, offset: int) -> Path:
    data = bytearray(sample.read_bytes())
    offset = offset if offset >= 0 else len(data) + offset
    data[offset] ^= 0xFF
    data[offset + 1] ^= 0x5A
    dst.write_bytes(bytes(data))
    return dst


def _damaged_copies(sample: Path, d: Path) -> list[Path]:
    page = 4096
    out = [_truncated(sample, d / f"trunc_{f}.db", f) for f in (0.01, 0.2, 0.5, 0.9)]
    # page 1's b-tree header, the schema table's cells, an interior page, the last page
    for n, offset in enumerate((100, 105, page + 8, 3 * page + 3, -page + 12)):
        out.append(_flipped(sample, d / f"flip_{n}.db", offset))
    return out


def _commands(db: Path, d: Path) -> list[list[str | Path]]:
    return [
        ["summary", db],
        ["status", db],
        ["verify", d / "good.db", db],
        ["backup", db, "--out", d / f"backups_{db.stem}"],
        ["plan", db, MIGRATION_006],
    ]


@pytest.mark.slow
def test_damaged_files_end_cleanly(sample_db_template: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    shutil.copyfile(sample_db_template, good)
    damaged = _damaged_copies(sample_db_template, tmp_path)
    originals = {p: p.read_bytes() for p in damaged}
    jobs = [(db, args) for db in damaged for args in _commands(db, tmp_path)]

    def run(job: tuple[Path, list[str | Path]]) -> tuple[list[str | Path], Run]:
        return job[1], wfhist(*job[1], timeout=90)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(run, jobs))
    problems = []
    for args, result in results:
        try:
            if args[0] in ("verify", "plan") and result.code == 1 and not result.lines_of_error:
                # the README's exit 1: the comparison ran and its verdict is FAIL (the damage)
                assert "Traceback" not in result.err and "verdict: FAIL" in result.out
            elif result.code != 0 or "Traceback" in result.err:
                assert_one_clean_line(result, codes=(1, 2))
        except AssertionError as exc:
            problems.append(f"{' '.join(map(str, args))}: {exc}")
    assert not problems, "\n".join(problems)
    for db, data in originals.items():
        assert db.read_bytes() == data, f"{db.name} was changed"
        published = list((tmp_path / f"backups_{db.stem}").glob("*_backup_*.db"))
        backup_made = any(a[0] == "backup" and r.code == 0 for a, r in results if a[1] == db)
        assert bool(published) == backup_made, f"{db.name}: backup published without success"
