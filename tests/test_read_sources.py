"""Many sources at once, and snapshots: one consistent view over files in different states."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from wfhist.demo import create_sample_db
from wfhist.exceptions import UsageError
from wfhist.read import connect, summarize

TEMPORAL = "SELECT adw_id, hour_of_day, day_of_week, temporal_source FROM history"


def _to_state(path: Path, state: str) -> Path:
    with sqlite3.connect(path) as con:
        if state in ("post-006", "renamed"):
            con.execute(
                "ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'"
            )
        if state == "renamed":
            con.execute("ALTER TABLE workflow_history RENAME COLUMN submission_hour TO hour_of_day")
            con.execute(
                "ALTER TABLE workflow_history RENAME COLUMN submission_day_of_week TO day_of_week"
            )
    return path


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hosts")
    out = {}
    for seed, state in enumerate(["pre-006", "post-006", "renamed"], start=1):
        path = create_sample_db(d / f"host{seed}.db", rows=60, seed=seed)
        out[state] = _to_state(path, state)
    return out


def test_three_states_one_view(hosts: dict[str, Path]) -> None:
    files = list(hosts.values())
    con = connect(files, tz="America/Los_Angeles")
    states = dict(con.execute("SELECT source, state FROM wfhist_sources").fetchall())
    assert sorted(states.values()) == ["post-006", "pre-006", "renamed"]
    assert con.execute("SELECT count(*) FROM history").fetchone()[0] == 180
    cols = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()]
    assert "submission_hour" not in cols and cols.count("hour_of_day") == 1
    # each file alone gives exactly the rows it contributes to the union
    for path in files:
        alone = connect(path, tz="America/Los_Angeles").execute(TEMPORAL).fetchall()
        mine = con.execute(f"{TEMPORAL} WHERE source = ?", [path.stem]).fetchall()
        assert sorted(alone) == sorted(mine)
    versions = dict(
        con.execute("SELECT source, count(scoring_version) FROM history GROUP BY 1").fetchall()
    )
    assert versions == {"host1": 0, "host2": 60, "host3": 60}


def test_glob_and_duplicates(hosts: dict[str, Path], tmp_path: Path) -> None:
    d = tmp_path / "histories"
    d.mkdir()
    shutil.copyfile(hosts["pre-006"], d / "a.db")
    shutil.copyfile(hosts["pre-006"], d / "b.db")  # same runs reported by two hosts
    shutil.copyfile(hosts["renamed"], d / "c.db")
    info = summarize(str(d / "*.db"))
    assert info["rows"] == 180
    assert [s["source"] for s in info["sources"]] == ["a", "b", "c"]
    dups = info["duplicate_adw_ids"]
    assert len(dups) == 60 and all(x["sources"] == ["a", "b"] for x in dups)


def test_glob_without_match_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="matches no file"):
        connect(str(tmp_path / "*.db"))
    with pytest.raises(UsageError, match="no database given"):
        connect([])


def test_same_stem_in_two_folders_gets_distinct_labels(
    hosts: dict[str, Path], tmp_path: Path
) -> None:
    for host in ("x", "y"):
        (tmp_path / host).mkdir()
        shutil.copyfile(hosts["post-006"], tmp_path / host / "workflow_history.db")
    con = connect(str(tmp_path / "*" / "workflow_history.db"))
    labels = sorted(r[0] for r in con.execute("SELECT DISTINCT source FROM history").fetchall())
    assert labels == ["x/workflow_history", "y/workflow_history"]


def test_snapshot_equals_live_and_cache_follows_changes(
    hosts: dict[str, Path], tmp_path: Path
) -> None:
    db = shutil.copyfile(hosts["post-006"], tmp_path / "live.db")
    live = connect(db).execute(f"{TEMPORAL} ORDER BY adw_id").fetchall()
    snap = connect(db, snapshot=True)
    assert snap.execute(f"{TEMPORAL} ORDER BY adw_id").fetchall() == live
    taken = snap.execute("SELECT snapshot_taken_at FROM wfhist_sources").fetchone()[0]
    assert taken is not None
    cache = tmp_path / "snap.duckdb"
    first = connect(db, snapshot=cache)
    first.close()
    mtime = cache.stat().st_mtime_ns
    again = connect(db, snapshot=cache)  # unchanged source: the cache is reused as is
    assert again.execute("SELECT count(*) FROM history").fetchone()[0] == 60
    again.close()
    assert cache.stat().st_mtime_ns == mtime
    with sqlite3.connect(db) as con:
        con.execute(
            "DELETE FROM workflow_history WHERE id IN (SELECT id FROM workflow_history LIMIT 5)"
        )
    rebuilt = connect(db, snapshot=cache)
    assert rebuilt.execute("SELECT count(*) FROM history").fetchone()[0] == 55
