"""Parquet export: SQLite -> Parquet -> view gives back every value; never half-written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_read_sources import _to_state  # files in pre-006 / post-006 / renamed states

from wfhist import export as export_mod
from wfhist.cli import main
from wfhist.demo import create_sample_db
from wfhist.exceptions import UsageError
from wfhist.export import export_parquet
from wfhist.read import connect, sql_literal

ORDERED = "SELECT * FROM history ORDER BY source, id"
LA = "America/Los_Angeles"


def _frame(source: object, tz: str) -> pd.DataFrame:
    con = connect(source, tz=tz)  # type: ignore[arg-type]
    try:
        return con.execute(ORDERED).df()
    finally:
        con.close()


def _assert_same_history(original: pd.DataFrame, exported: pd.DataFrame) -> None:
    """Every value equal: same columns in the same order, same types, timestamps as instants."""
    assert list(exported.columns) == list(original.columns)
    pd.testing.assert_frame_equal(exported, original, check_exact=True)


@pytest.fixture
def db_with_unparseable_created_at(sample_db: Path) -> tuple[Path, int]:
    """The sample with one row whose created_at no format parses (created_ts NULL)."""
    with sqlite3.connect(sample_db) as con:
        row_id = con.execute(
            "SELECT id FROM workflow_history WHERE start_time IS NULL ORDER BY id LIMIT 1"
        ).fetchone()[0]
        con.execute("UPDATE workflow_history SET created_at = 'yesterday' WHERE id = ?", [row_id])
    return sample_db, row_id


def test_round_trip_is_exact(db_with_unparseable_created_at: tuple[Path, int], tmp_path: Path):
    db, row_id = db_with_unparseable_created_at
    out = tmp_path / "export"
    result = export_parquet(db, out, tz=LA)
    original = _frame(db, LA)
    assert result.rows == len(original)
    assert result.files == len(list(out.rglob("*.parquet")))
    exported = _frame(out, LA)
    _assert_same_history(original, exported)
    # the row without a created instant survived, in Hive's NULL partition
    lost = exported[exported["id"] == row_id]
    assert len(lost) == 1 and pd.isna(lost["created_ts"].iloc[0])
    assert lost["created_at"].iloc[0] == "yesterday"
    assert (out / "year=__HIVE_DEFAULT_PARTITION__").is_dir()


def test_partitions_follow_created_ts_in_tz(sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_parquet(sample_db, out, tz=LA)
    con = connect(sample_db, tz=LA)
    expected = {
        f"year={y}/month={m}": n
        for y, m, n in con.execute(
            "SELECT year(created_ts), month(created_ts), count(*) FROM history GROUP BY 1, 2"
        ).fetchall()
    }
    reader = duckdb.connect()
    found = {}
    for f in out.rglob("*.parquet"):
        key = str(f.parent.relative_to(out))
        n = reader.execute(f"SELECT count(*) FROM read_parquet({sql_literal(str(f))})").fetchone()
        found[key] = found.get(key, 0) + n[0]
    assert found == expected


def test_metadata_lets_the_folder_reopen_and_refuses_another_zone(
    sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    export_parquet(sample_db, out, tz=LA, source_tz=LA)
    reader = duckdb.connect()
    pattern = sql_literal(str(out / "**" / "*.parquet"))
    meta = {
        bytes(k).decode(): bytes(v).decode()
        for k, v in reader.execute(
            f"SELECT DISTINCT key, value FROM parquet_kv_metadata({pattern})"
        ).fetchall()
    }
    con = connect(sample_db, tz=LA)
    columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()]
    assert meta["wfhist_tz"] == LA and meta["wfhist_source_tz"] == LA
    assert meta["wfhist_columns"].split(",") == columns
    assert meta["wfhist_state"] == "pre-006"
    assert "wfhist_exported_at" in meta
    with pytest.raises(UsageError, match="exported with tz"):
        connect(out, tz="UTC")


def test_round_trip_of_many_sources_in_different_states(tmp_path: Path) -> None:
    hosts = [
        _to_state(create_sample_db(tmp_path / f"host{n}.db", rows=80, seed=n), state)
        for n, state in enumerate(["pre-006", "post-006", "renamed"], start=1)
    ]
    out = tmp_path / "export"
    result = export_parquet(hosts, out)
    assert result.sources == ["host1", "host2", "host3"]
    original = _frame(hosts, "UTC")
    assert result.rows == len(original) == 240
    _assert_same_history(original, _frame(out, "UTC"))
    reopened = connect(out)
    labels = reopened.execute("SELECT source FROM wfhist_sources ORDER BY 1").fetchall()
    assert [r[0] for r in labels] == ["host1", "host2", "host3"]
    assert reopened.execute(
        "SELECT source, count(scoring_version) FROM history GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("host1", 0), ("host2", 80), ("host3", 80)]


def test_non_empty_folder_needs_overwrite_and_overwrite_replaces(
    sample_db: Path, tmp_path: Path
) -> None:
    small = create_sample_db(tmp_path / "small.db", rows=30, seed=7)
    out = tmp_path / "export"
    export_parquet(small, out)
    with pytest.raises(UsageError, match="--overwrite"):
        export_parquet(sample_db, out)
    assert len(_frame(out, "UTC")) == 30
    result = export_parquet(sample_db, out, overwrite=True)
    assert len(_frame(out, "UTC")) == result.rows == 458
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".export")) == []


def test_overwrite_never_replaces_a_folder_with_other_files(sample_db: Path, tmp_path: Path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.txt").write_text("not an export")
    with pytest.raises(UsageError, match="not part of a wfhist export"):
        export_parquet(sample_db, out, overwrite=True)
    assert (out / "thesis.txt").read_text() == "not an export"
    assert [p.name for p in out.iterdir()] == ["thesis.txt"]


def test_failed_export_keeps_the_earlier_one(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up after the new files were written: the old export stays intact."""
    out = tmp_path / "export"
    small = create_sample_db(tmp_path / "small.db", rows=30, seed=7)
    export_parquet(small, out)
    before = {p: p.read_bytes() for p in out.rglob("*.parquet")}
    real_copy = export_mod._copy_to_parquet

    def copy_then_fail(*args: object) -> tuple[int, int]:
        real_copy(*args)  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_mod, "_copy_to_parquet", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_parquet(sample_db, out, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*.parquet")} == before
    assert [p.name for p in tmp_path.iterdir() if "wfhist-tmp" in p.name] == []


def test_target_that_is_a_file_is_refused(sample_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "export"
    target.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        export_parquet(sample_db, target)


def test_cli_export(sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pq"
    assert main(["export", str(sample_db), "--parquet", str(out), "--tz", LA]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (
        f"exported 458 rows in {len(list(out.rglob('*.parquet')))} Parquet file(s) to {out}"
    )
    assert "export: wrote 458 rows" in captured.err  # progress goes to stderr
    assert main(["export", str(sample_db), "--parquet", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0]
    argv = ["export", str(sample_db), "--parquet", str(out), "--overwrite", "--tz", LA, "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 458 and result["tz"] == LA and result["out_dir"] == str(out)
    assert result["sources"] == ["workflow_history"]


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_killed_export_leftovers_are_removed_next_run(sample_db: Path, tmp_path: Path) -> None:
    """kill -9 during COPY leaves `.out.wfhist-tmp-PID`; the next export removes it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "export"
    code = (
        "import sys; from wfhist.export import export_parquet; "
        "export_parquet(sys.argv[1], sys.argv[2])"
    )
    killed = None
    for _ in range(20):  # bounded: catch the child while its temporary folder exists
        proc = subprocess.Popen([sys.executable, "-c", code, str(sample_db), str(out)])
        tmp = tmp_path / f".export.wfhist-tmp-{proc.pid}"
        deadline = time.monotonic() + 20
        while proc.poll() is None and not tmp.exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        if proc.poll() is None and tmp.exists():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = tmp
            break
        proc.wait()
        if out.exists():
            import shutil

            shutil.rmtree(out)
    assert killed is not None and killed.exists()
    foreign = tmp_path / ".export.wfhist-tmp-notapid"
    foreign.mkdir()
    alive = tmp_path / f".export.wfhist-tmp-{os.getppid()}"  # a running process: kept
    alive.mkdir()
    stale = tmp_path / f".export.wfhist-old-{_dead_pid()}"
    stale.mkdir()
    export_parquet(sample_db, out)
    assert not killed.exists() and not stale.exists()
    assert foreign.exists() and alive.exists()


def test_export_is_no_more_readable_than_its_source(sample_db: Path, tmp_path: Path) -> None:
    import os
    import stat

    os.chmod(sample_db, 0o600)
    out = tmp_path / "export"
    old = os.umask(0o022)
    try:
        export_parquet(sample_db, out)
    finally:
        os.umask(old)
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
