"""The reader against real SQLite files: mapping, derivation, filters, dirty values, locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import wfhist
from wfhist.exceptions import SchemaError, UsageError
from wfhist.read import SORT_COLUMNS, connect, load_history, profile_cache_dir, summarize
from wfhist.schema import schema_statements

LA = "America/Los_Angeles"


def make_db(path: Path, rows: list[dict], *, state: str = "pre-006") -> Path:
    """A real pre-006 file (full DDL) holding exactly ``rows``, then moved to ``state``."""
    con = sqlite3.connect(path)
    for stmt in schema_statements():
        con.execute(stmt)
    for i, row in enumerate(rows, start=1):
        values = {
            "adw_id": f"{i:08x}",
            "status": "completed",
            "created_at": "2025-11-19 22:03:11",
            **row,
        }
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        con.execute(
            f"INSERT INTO workflow_history ({cols}) VALUES ({marks})", list(values.values())
        )
    if state in ("post-006", "renamed"):
        con.execute("ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    if state == "renamed":
        con.execute("ALTER TABLE workflow_history RENAME COLUMN submission_hour TO hour_of_day")
        con.execute(
            "ALTER TABLE workflow_history RENAME COLUMN submission_day_of_week TO day_of_week"
        )
    if state == "both":
        con.execute("ALTER TABLE workflow_history ADD COLUMN hour_of_day INTEGER")
        con.execute("ALTER TABLE workflow_history ADD COLUMN day_of_week INTEGER")
    if state == "neither":
        con.execute("DROP INDEX idx_submission_hour")
        con.execute("DROP INDEX idx_submission_day_of_week")
        con.execute("ALTER TABLE workflow_history DROP COLUMN submission_hour")
        con.execute("ALTER TABLE workflow_history DROP COLUMN submission_day_of_week")
    con.commit()
    con.close()
    return path


def one(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchall()


# --- mapping --------------------------------------------------------------------

STORED_MIDNIGHT_MONDAY = {
    # Monday 2025-11-17, 00:15 local: the values `value or -1` used to destroy.
    "start_time": "2025-11-17T00:15:00.000000",
    "submission_hour": 0,
    "submission_day_of_week": 0,
}


@pytest.mark.parametrize("state", ["pre-006", "post-006", "renamed"])
def test_mapping_keeps_hour_zero_and_monday(tmp_path: Path, state: str) -> None:
    path = make_db(tmp_path / "h.db", [STORED_MIDNIGHT_MONDAY], state=state)
    con = connect(path, tz=LA, source_tz=LA)
    cols = [r[0] for r in one(con, "SELECT column_name FROM (DESCRIBE history)")]
    assert "hour_of_day" in cols and "day_of_week" in cols
    assert "submission_hour" not in cols and "submission_day_of_week" not in cols
    assert one(con, "SELECT hour_of_day, day_of_week, temporal_source FROM history") == [
        (0, 0, "stored")
    ]
    src = one(con, "SELECT state FROM wfhist_sources")[0][0]
    assert src == state


def test_legacy_sentinels_only_replace_unknown(tmp_path: Path) -> None:
    rows = [STORED_MIDNIGHT_MONDAY, {"start_time": None, "created_at": "garbage"}]
    path = make_db(tmp_path / "h.db", rows)
    con = connect(path, tz=LA, source_tz=LA, legacy_sentinels=True)
    got = one(con, "SELECT hour_of_day, day_of_week, temporal_source FROM history ORDER BY id")
    assert got == [(0, 0, "stored"), (-1, -1, "missing")]
    plain = connect(path, tz=LA, source_tz=LA)
    assert one(plain, "SELECT hour_of_day, day_of_week FROM history ORDER BY id")[1] == (None, None)


def test_both_names_prefer_canonical_then_stored(tmp_path: Path) -> None:
    path = make_db(
        tmp_path / "h.db",
        [{**STORED_MIDNIGHT_MONDAY, "submission_hour": 5}, STORED_MIDNIGHT_MONDAY],
        state="both",
    )
    con = sqlite3.connect(path)
    con.execute("UPDATE workflow_history SET hour_of_day = 0, day_of_week = 0 WHERE id = 1")
    con.commit()
    con.close()
    con = connect(path, tz=LA, source_tz=LA)
    got = one(con, "SELECT hour_of_day, day_of_week FROM history ORDER BY id")
    assert got == [(0, 0), (0, 0)]  # row 1: canonical 0 wins over stored 5; row 2: stored
    assert "both" in one(con, "SELECT mapping FROM wfhist_sources")[0][0]


def test_neither_column_stored_is_all_derived(tmp_path: Path) -> None:
    path = make_db(
        tmp_path / "h.db", [{"start_time": "2025-11-17T09:05:00.000000"}], state="neither"
    )
    con = connect(path, tz=LA, source_tz=LA)
    assert one(con, "SELECT hour_of_day, day_of_week, temporal_source FROM history") == [
        (9, 0, "derived")
    ]


def test_scoring_version_always_a_column(tmp_path: Path) -> None:
    pre = make_db(tmp_path / "pre.db", [{}])
    post = make_db(tmp_path / "post.db", [{}], state="post-006")
    assert one(connect(pre), "SELECT scoring_version FROM history") == [(None,)]
    assert one(connect(post), "SELECT scoring_version FROM history") == [("1.0",)]


# --- derivation and time zones ----------------------------------------------------


def test_derivation_both_formats_two_zones_across_dst(tmp_path: Path) -> None:
    rows = [
        # naive local start_time (PDT, UTC-7) the day before DST ends
        {"start_time": "2025-11-01T12:00:00.000000"},
        # naive local start_time (PST, UTC-8) after DST ended on 2025-11-02
        {"start_time": "2025-11-03T12:00:00.000000"},
        # no start_time: UTC created_at (Monday 2025-11-03 20:00 UTC)
        {"start_time": None, "created_at": "2025-11-03 20:00:00"},
        # no start_time: naive local created_at without fraction
        {"start_time": None, "created_at": "2025-11-03T23:30:00"},
    ]
    path = make_db(tmp_path / "h.db", rows)
    sql = "SELECT hour_of_day, day_of_week FROM history ORDER BY id"
    utc = one(connect(path, tz="UTC", source_tz=LA), sql)
    assert utc == [(19, 5), (20, 0), (20, 0), (7, 1)]
    local = one(connect(path, tz=LA, source_tz=LA), sql)
    assert local == [(12, 5), (12, 0), (12, 0), (23, 0)]
    kolkata = one(connect(path, tz="Asia/Kolkata", source_tz=LA), sql)
    assert kolkata == [(0, 6), (1, 1), (1, 1), (13, 1)]  # +05:30
    src = one(connect(path), "SELECT temporal_source FROM history")
    assert {s for (s,) in src} == {"derived"}


def test_stored_values_move_with_the_zone(tmp_path: Path) -> None:
    # stored 0/Monday in Los Angeles (PST) is 08:00 Monday in UTC
    path = make_db(tmp_path / "h.db", [STORED_MIDNIGHT_MONDAY])
    assert one(
        connect(path, tz="UTC", source_tz=LA), "SELECT hour_of_day, day_of_week FROM history"
    ) == [(8, 0)]


def test_bad_time_zone_is_a_usage_error(tmp_path: Path) -> None:
    path = make_db(tmp_path / "h.db", [{}])
    with pytest.raises(UsageError, match="tz='Mars/Olympus'"):
        connect(path, tz="Mars/Olympus")
    with pytest.raises(UsageError, match="source_tz"):
        connect(path, source_tz="nowhere")


# --- dirty values -------------------------------------------------------------------


def test_dirty_numeric_values_read_as_null_and_counted(tmp_path: Path) -> None:
    rows = [
        {"duration_seconds": "N/A", "actual_cost_total": 2.345678901234567},
        {"duration_seconds": "", "actual_cost_total": ""},
        {"duration_seconds": 42, "actual_cost_total": 1.1},
    ]
    path = make_db(tmp_path / "h.db", rows)
    con = connect(path)
    got = one(con, "SELECT duration_seconds, actual_cost_total FROM history ORDER BY id")
    assert got == [(None, 2.345678901234567), (None, None), (42, 1.1)]  # REAL exact
    bad = dict(one(con, "SELECT column_name, bad_values FROM wfhist_bad_values"))
    assert bad == {"duration_seconds": 2, "actual_cost_total": 1}
    assert summarize(path)["bad_values"] == bad


def test_sample_db_summary(sample_db: Path) -> None:
    info = summarize(sample_db)
    assert info["rows"] == 458
    assert info["columns"] == 69
    assert info["schema_state"] == "pre-006"
    assert info["journal_mode"] in ("wal", "delete")  # the sample follows the service
    t = info["temporal_sources"]
    assert t["stored"] > 0 and t["derived"] > 0 and sum(t.values()) == 458
    assert info["bad_values"]  # the sample carries a few dirty values on purpose
    with sqlite3.connect(sample_db) as con:
        stored = con.execute(
            "SELECT count(*) FROM workflow_history WHERE submission_hour IS NOT NULL"
            " AND submission_day_of_week IS NOT NULL"
        ).fetchone()[0]
    assert t["stored"] == stored


# --- filters ----------------------------------------------------------------------

HOSTILE = ["100%", "_", "'; DROP TABLE workflow_history; --", '"quoted"']


@pytest.fixture
def filter_db(tmp_path: Path) -> Path:
    rows = [
        {
            "nl_input": "raise coverage to 100% now",
            "model_used": "sonnet",
            "status": "completed",
            "workflow_template": "adw_sdlc_iso",
            "created_at": "2025-11-20 23:59:59",
        },
        {
            "nl_input": "snake_case rename",
            "model_used": "opus",
            "status": "failed",
            "workflow_template": "adw_patch_iso",
            "created_at": "2025-11-21T15:00:00.000001",
        },
        {
            "nl_input": "it's '; DROP TABLE workflow_history; -- here",
            "model_used": "haiku",
            "status": "running",
            "workflow_template": "adw_sdlc_iso",
            "created_at": "2025-11-22 00:00:00",
        },
        {
            "nl_input": 'say "quoted" things',
            "model_used": "sonnet",
            "status": "completed",
            "github_url": "https://github.com/Acme/Repo/issues/7",
            "created_at": "2025-11-19 08:00:00",
        },
        {
            "nl_input": "plain 1000 text",
            "model_used": "sonnet",
            "status": "completed",
            "created_at": "2025-11-18 08:00:00",
        },
    ]
    return make_db(tmp_path / "f.db", rows)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("100%", [1]),
        ("_", [2, 3]),
        ("'; DROP TABLE workflow_history; --", [3]),
        ('"quoted"', [4]),
        ("ACME/repo", [4]),
        ("00000005", [5]),
        ("%", [1]),
    ],
)
def test_search_is_literal_and_case_insensitive(
    filter_db: Path, needle: str, expected: list
) -> None:
    df = load_history(filter_db, search=needle, sort_by="adw_id", descending=False)
    assert df["id"].tolist() == expected
    with sqlite3.connect(filter_db) as con:  # the hostile string did nothing to the file
        assert con.execute("SELECT count(*) FROM workflow_history").fetchone()[0] == 5


def test_exact_filters(filter_db: Path) -> None:
    assert load_history(filter_db, status="failed")["id"].tolist() == [2]
    assert sorted(load_history(filter_db, model="sonnet")["id"]) == [1, 4, 5]
    assert sorted(load_history(filter_db, template="adw_sdlc_iso")["id"]) == [1, 3]
    assert load_history(filter_db, status="completed", model="SONNET").empty


def test_dates_are_instants_and_until_includes_the_day(filter_db: Path) -> None:
    # row 1 is 2025-11-20 23:59:59 UTC; row 2 is 2025-11-21 15:00 Pacific = 23:00 UTC;
    # row 3 is 2025-11-22 00:00:00 UTC
    df = load_history(filter_db, since="2025-11-20", until="2025-11-21", tz="UTC")
    assert sorted(df["id"]) == [1, 2]
    df = load_history(filter_db, since="2025-11-21T23:00:00", tz="UTC")
    assert sorted(df["id"]) == [2, 3]
    aware = datetime(2025, 11, 21, 15, 0, 0, 1, tzinfo=ZoneInfo(LA))  # row 2 exactly
    assert load_history(filter_db, until=aware, since=aware)["id"].tolist() == [2]
    # the same dates in Los Angeles: row 3 (16:00 on the 21st local) now falls inside
    df = load_history(filter_db, since="2025-11-21", until="2025-11-21", tz=LA)
    assert sorted(df["id"]) == [2, 3]


def test_sort_limit_offset(filter_db: Path) -> None:
    df = load_history(filter_db, sort_by="created_at", descending=True)
    assert df["id"].tolist() == [3, 2, 1, 4, 5]  # by instant, mixing both formats
    df = load_history(filter_db, sort_by="created_at", descending=False, limit=2, offset=1)
    assert df["id"].tolist() == [4, 1]


def test_unknown_sort_by_lists_allowed(filter_db: Path) -> None:
    with pytest.raises(UsageError) as err:
        load_history(filter_db, sort_by="id; DROP TABLE x")
    for name in SORT_COLUMNS:
        assert name in str(err.value)


def test_bad_dates_and_limits(filter_db: Path) -> None:
    with pytest.raises(UsageError, match="since="):
        load_history(filter_db, since="yesterday")
    with pytest.raises(UsageError, match="limit="):
        load_history(filter_db, limit=-1)


def test_load_history_from_connection(filter_db: Path) -> None:
    con = wfhist.connect(filter_db, tz="UTC")
    df = wfhist.load_history(con, status="completed")
    assert isinstance(df, pd.DataFrame) and sorted(df["id"]) == [1, 4, 5]


# --- opening files ------------------------------------------------------------------


def test_read_only_attach_never_writes(filter_db: Path) -> None:
    before = filter_db.read_bytes()
    con = connect(filter_db)
    with pytest.raises(Exception, match=r"read-only|read only"):
        con.execute("INSERT INTO src.workflow_history (adw_id, status) VALUES ('x', 'pending')")
    con.close()
    assert filter_db.read_bytes() == before


def test_path_with_quote(tmp_path: Path) -> None:
    d = tmp_path / "it's here"
    d.mkdir()
    path = make_db(d / "h.db", [{}])
    assert summarize(path)["rows"] == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.db", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "x.txt", (p / "x.txt").write_text("hello"))[0], "not a SQLite database"),
    ],
)
def test_bad_paths(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        connect(make(tmp_path))


def test_no_table_and_missing_columns(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE other (x)").connection.commit()
    with pytest.raises(SchemaError, match="no table 'workflow_history'"):
        connect(empty)
    thin = tmp_path / "thin.db"
    with sqlite3.connect(thin) as con:
        con.execute("CREATE TABLE workflow_history (id INTEGER PRIMARY KEY, adw_id TEXT)")
    with pytest.raises(SchemaError, match="status, start_time, created_at"):
        connect(thin)


WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO workflow_history (adw_id, status) VALUES ('uncommit', 'running')")
    print("locked", flush=True)
    sys.stdin.readline()
    con.execute("COMMIT")
    """
)


def test_reads_committed_data_during_foreign_write_transaction(sample_db: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(sample_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        info = summarize(sample_db)
        assert info["rows"] == 458  # the open transaction's row is invisible
        assert load_history(sample_db, search="uncommit").empty
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert summarize(sample_db)["rows"] == 459


def test_profile_is_cached_and_follows_changes(tmp_path: Path) -> None:
    path = make_db(tmp_path / "h.db", [{"duration_seconds": "N/A"}, {"duration_seconds": 5}])
    assert summarize(path)["bad_values"] == {"duration_seconds": 1}
    cached = list(profile_cache_dir().glob("*.json"))
    assert cached  # the profile was stored
    with sqlite3.connect(path) as con:
        con.execute("UPDATE workflow_history SET duration_seconds = 'x' WHERE id = 2")
    assert summarize(path)["bad_values"] == {"duration_seconds": 2}


def test_expected_schema_fails_fast(tmp_path: Path) -> None:
    pre = make_db(tmp_path / "pre.db", [{}])
    post = make_db(tmp_path / "post.db", [{}], state="post-006")
    assert one(connect(post, expected_schema="post-006"), "SELECT count(*) FROM history") == [(1,)]
    with pytest.raises(SchemaError, match=r"missing columns \[scoring_version\]"):
        connect(pre, expected_schema="post-006")


def test_columns_limit_the_frame(filter_db: Path) -> None:
    df = load_history(filter_db, status="completed", columns=["id", "hour_of_day"])
    assert list(df.columns) == ["id", "hour_of_day"] and sorted(df["id"]) == [1, 4, 5]
    with pytest.raises(UsageError, match="unknown nope"):
        load_history(filter_db, columns=["id", "nope"])
