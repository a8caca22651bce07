"""wfhist.verify: one hand-made pair per failure kind, then the acceptance pairs on the sample.

Every pair is two real SQLite files: BEFORE built here, AFTER a copy changed by
the SQL under test. Expected numbers are read from the files themselves.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from dbfiles import run_sql

from wfhist.backup import online_copy
from wfhist.cli import main
from wfhist.exceptions import UsageError
from wfhist.sqlscript import read_script, run_script
from wfhist.verify import (
    FAIL,
    PASS,
    WARN,
    affinity,
    check_clauses,
    format_result,
    integrity_method,
    merge_renames,
    parse_renames,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"

BASE_SCHEMA = [
    """CREATE TABLE parent (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        name TEXT COLLATE NOCASE,
        qty INTEGER DEFAULT 0 CHECK (qty >= 0),
        price REAL,
        raw,
        data BLOB,
        note TEXT,
        empty TEXT
    )""",
    "CREATE INDEX idx_parent_qty ON parent(qty)",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), "
    "label TEXT)",
    "CREATE TABLE pairs (a TEXT, b INTEGER, v REAL, PRIMARY KEY (a, b)) WITHOUT ROWID",
]
PARENTS = 20


def _scalar(path: Path, sql: str) -> object:
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def before(tmp_path: Path) -> Path:
    """A small file with every storage class, a NOCASE column, a FK, a WITHOUT ROWID table."""
    path = tmp_path / "before.db"
    con = sqlite3.connect(path)
    for stmt in BASE_SCHEMA:
        con.execute(stmt)
    con.executemany(
        "INSERT INTO parent (id, code, name, qty, price, raw, data, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (i, f"c{i}", f"Name{i}", i, i * 0.1 + 0.123456789, i, bytes([i]) * 4,
             None if i % 3 == 0 else f"note {i}")
            for i in range(1, PARENTS + 1)
        ],
    )  # fmt: skip
    con.executemany(
        "INSERT INTO child (parent_id, label) VALUES (?, ?)",
        [(1 + i % 10, f"label {i}") for i in range(30)],
    )
    con.executemany(
        "INSERT INTO pairs VALUES (?, ?, ?)", [(f"k{i % 3}", i, i / 7) for i in range(10)]
    )
    con.commit()
    con.close()
    return path


def _after(before: Path, *statements: str) -> Path:
    after = before.with_name("after.db")
    online_copy(before, after)
    run_sql(after, *statements)
    return after


def _values(result, column: str) -> dict:
    return next(v for v in result.values_changed if v["column"] == column)


# --- PASS cases ------------------------------------------------------------------------


def test_identical_copy_passes_with_every_value_compared(before: Path) -> None:
    result = verify(before, _after(before))
    assert result.verdict == PASS
    assert [c.status for c in result.checks] == [PASS] * len(result.checks)
    expected = sum(
        _scalar(before, f"SELECT count(*) FROM {t}")
        * _scalar(before, f"SELECT count(*) FROM pragma_table_info('{t}')")
        for t in ("parent", "child", "pairs")
    )
    assert result.check("values").numbers["values_compared"] == expected


def test_rows_only_in_after_are_reported_not_failed(before: Path) -> None:
    after = _after(before, "INSERT INTO parent (id, code) VALUES (100, 'new')")
    result = verify(before, after)
    assert result.verdict == PASS
    assert result.tables["parent"]["rows_only_after"] == 1
    assert result.tables["parent"]["only_after_samples"] == [{"id": 100}]
    assert "only in AFTER" in result.check("rows").detail


# --- one pair per failure kind -------------------------------------------------------------


def test_deleted_row_fails_with_its_key(before: Path) -> None:
    result = verify(before, _after(before, "DELETE FROM parent WHERE id = 14"))
    assert result.verdict == FAIL
    rows = result.check("rows")
    assert rows.status == FAIL
    assert rows.numbers["rows_missing"] == {"parent": 1}
    assert result.tables["parent"]["missing_samples"] == [{"id": 14}]
    # the values the row held are counted as lost, per column
    assert _values(result, "code")["lost"] == 1
    assert _values(result, "note")["lost"] == 1  # note 14 is not NULL
    assert result.check("values").status == FAIL


def test_one_changed_value_fails_with_sample(before: Path) -> None:
    result = verify(before, _after(before, "UPDATE parent SET qty = 99 WHERE id = 3"))
    assert result.verdict == FAIL
    entry = _values(result, "qty")
    assert (entry["changed"], entry["lost"]) == (1, 0)
    assert entry["samples"] == [
        {"key": {"id": 3}, "before": 3, "before_type": "integer", "after": 99,
         "after_type": "integer"}
    ]  # fmt: skip
    assert [v["column"] for v in result.values_changed] == ["qty"]


def test_integer_to_text_is_a_change(before: Path) -> None:
    # `raw` has no declared type, so SQLite stores exactly what it is given: '5' stays text.
    after = _after(before, "UPDATE parent SET raw = CAST(raw AS TEXT) WHERE id = 5")
    assert _scalar(after, "SELECT typeof(raw) FROM parent WHERE id = 5") == "text"
    result = verify(before, after)
    assert result.verdict == FAIL
    sample = _values(result, "raw")["samples"][0]
    assert (sample["before"], sample["before_type"]) == (5, "integer")
    assert (sample["after"], sample["after_type"]) == ("5", "text")


def test_null_to_empty_string_is_a_change(before: Path) -> None:
    nulls = _scalar(before, "SELECT count(*) FROM parent WHERE note IS NULL")
    assert nulls
    result = verify(before, _after(before, "UPDATE parent SET note = '' WHERE note IS NULL"))
    assert result.verdict == FAIL
    assert _values(result, "note")["changed"] == nulls


def test_real_precision_loss_is_a_change(before: Path) -> None:
    rounded = _scalar(before, "SELECT count(*) FROM parent WHERE round(price, 4) <> price")
    assert rounded
    result = verify(before, _after(before, "UPDATE parent SET price = round(price, 4)"))
    assert result.verdict == FAIL
    assert _values(result, "price")["changed"] == rounded


def test_case_change_in_nocase_column_is_a_change(before: Path) -> None:
    # name is COLLATE NOCASE: a plain `=` would call 'NAME4' equal to 'Name4'.
    result = verify(before, _after(before, "UPDATE parent SET name = upper(name) WHERE id = 4"))
    assert result.verdict == FAIL
    assert _values(result, "name")["changed"] == 1


def test_blob_change_is_a_change(before: Path) -> None:
    result = verify(before, _after(before, "UPDATE parent SET data = x'00' WHERE id = 2"))
    assert result.verdict == FAIL
    assert _values(result, "data")["samples"][0]["before"] == "x'02020202'"


def test_integer_to_real_is_a_change(before: Path) -> None:
    result = verify(before, _after(before, "UPDATE parent SET raw = raw + 0.0 WHERE id = 6"))
    assert result.verdict == FAIL
    assert _values(result, "raw")["samples"][0]["after_type"] == "real"


def test_dropped_all_null_column_warns(before: Path) -> None:
    assert _scalar(before, "SELECT count(empty) FROM parent") == 0
    result = verify(before, _after(before, "ALTER TABLE parent DROP COLUMN empty"))
    assert result.verdict == PASS
    assert result.check("columns_dropped").status == WARN
    assert result.columns_dropped == [
        {"table": "parent", "column": "empty", "type": "TEXT", "non_null": 0}
    ]


def test_dropped_column_with_values_fails_with_count(before: Path) -> None:
    held = _scalar(before, "SELECT count(note) FROM parent")
    result = verify(before, _after(before, "ALTER TABLE parent DROP COLUMN note"))
    assert result.verdict == FAIL
    assert result.check("columns_dropped").status == FAIL
    assert result.columns_dropped[0]["non_null"] == held


def test_dropped_index_fails(before: Path) -> None:
    result = verify(before, _after(before, "DROP INDEX idx_parent_qty"))
    check = result.check("indexes")
    assert check.status == FAIL  # a lost index (and, if UNIQUE, constraint) is a failure
    assert result.verdict == FAIL
    assert [i["name"] for i in result.indexes_dropped] == ["idx_parent_qty"]
    # UNIQUE(code) and the WITHOUT ROWID primary key give automatic indexes: counted, named
    assert (check.numbers["before"], check.numbers["before_automatic"]) == (3, 2)
    assert "sqlite_autoindex_parent_1" in check.detail
    assert "sqlite_autoindex_pairs_1" in check.detail


def test_renamed_index_is_not_a_drop(before: Path) -> None:
    after = _after(
        before, "DROP INDEX idx_parent_qty", "CREATE INDEX idx_qty_renamed ON parent(qty)"
    )
    result = verify(before, after)
    assert result.check("indexes").status == PASS
    assert result.indexes_renamed == [
        {"table": "parent", "before": "idx_parent_qty", "after": "idx_qty_renamed"}
    ]


def test_orphaned_foreign_key_fails(before: Path) -> None:
    after = _after(before, "INSERT INTO child (parent_id, label) VALUES (999, 'orphan')")
    result = verify(before, after)
    check = result.check("integrity")
    assert check.status == FAIL
    assert check.numbers["new_orphans"] == 1
    assert "orphaned" in check.detail
    assert result.verdict == FAIL


def test_orphan_already_in_before_only_warns(before: Path) -> None:
    run_sql(before, "INSERT INTO child (parent_id, label) VALUES (999, 'old orphan')")
    result = verify(before, _after(before))
    assert result.check("integrity").status == WARN
    assert result.verdict == PASS


def test_foreign_key_mismatch_is_a_failure_not_a_crash(before: Path) -> None:
    # child references parent(id); rebuilding parent without id leaves no parent key at all.
    after = _after(
        before,
        "CREATE TABLE p2 AS SELECT code, name FROM parent",
        "DROP TABLE parent",
        "ALTER TABLE p2 RENAME TO parent",
    )
    result = verify(before, after)
    check = result.check("integrity")
    assert check.status == FAIL
    assert "foreign key mismatch" in check.detail
    assert result.integrity["foreign_key_check"]["mismatches"]


def test_corrupt_after_is_a_clear_fail(sample_db: Path, tmp_path: Path) -> None:
    after = tmp_path / "damaged.db"
    online_copy(sample_db, after)
    size = after.stat().st_size
    with after.open("r+b") as fh:
        fh.seek(size // 2 // 4096 * 4096)
        fh.write(b"\xa5" * 4096)
    result = verify(sample_db, after)
    assert result.verdict == FAIL
    assert result.check("integrity").status == FAIL
    assert result.integrity["integrity_check"] != ["ok"]
    assert "verdict: FAIL" in format_result(result)


def test_damaged_header_fields_say_not_a_database(sample_db: Path, tmp_path: Path) -> None:
    after = tmp_path / "header.db"
    online_copy(sample_db, after)
    with after.open("r+b") as fh:
        fh.seek(16)  # keep the magic string, destroy page size and the rest of the header
        fh.write(b"\xff" * 84)
    result = verify(sample_db, after)
    assert result.verdict == FAIL
    assert "file is not a database" in result.check("integrity").detail
    assert main(["verify", str(sample_db), str(after)]) == 1


@pytest.mark.parametrize("kind", ["missing", "directory", "text"])
def test_bad_inputs_are_usage_errors(before: Path, tmp_path: Path, kind: str, capsys) -> None:
    bad = tmp_path / "bad.db"
    if kind == "directory":
        bad.mkdir()
    elif kind == "text":
        bad.write_text("id,name\n1,a\n")
    with pytest.raises(UsageError, match=r"bad\.db"):
        verify(before, bad)
    assert main(["verify", str(before), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wfhist: error:") and len(err.strip().splitlines()) == 1


def test_without_rowid_composite_key(before: Path) -> None:
    after = _after(before, "UPDATE pairs SET v = v + 1 WHERE a = 'k1' AND b = 4")
    result = verify(before, after)
    assert result.tables["pairs"]["key"].startswith("a, b (primary key)")
    assert _values(result, "v")["samples"][0]["key"] == {"a": "k1", "b": 4}


def test_check_constraint_change_is_reported(before: Path) -> None:
    after = _after(
        before,
        "CREATE TABLE x (id INTEGER PRIMARY KEY, n INTEGER CHECK (n > 0))",
    )
    run_sql(before, "CREATE TABLE x (id INTEGER PRIMARY KEY, n INTEGER CHECK (n >= 0))")
    result = verify(before, after)
    changes = {c["change"] for c in result.schema_changes if c["table"] == "x"}
    assert changes == {"check removed", "check added"}
    assert result.check("schema").status == WARN


def test_check_clauses_are_normalised() -> None:
    sql = "CREATE TABLE t (a INT CHECK( \"A\"  >0 ), b TEXT, CHECK (b IN ('X', 'y')))"
    assert check_clauses(sql) == ["check ( a > 0 )", "check ( b in ( 'X' , 'y' ) )"]
    assert check_clauses(sql, {"a": "z"})[0] == "check ( z > 0 )"


def test_type_change_rebuild_shows_type_and_values(before: Path) -> None:
    # A rebuild that turns qty into TEXT: the values become '1', '2' ... and must fail.
    after = _after(
        before,
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
        "name TEXT COLLATE NOCASE, qty TEXT, price REAL, raw, data BLOB, note TEXT, empty TEXT)",
        "INSERT INTO parent_new SELECT * FROM parent",
        "DROP TABLE parent",
        "ALTER TABLE parent_new RENAME TO parent",
    )
    result = verify(before, after)
    changes = {(c["change"], c["column"]) for c in result.schema_changes}
    assert ("type", "qty") in changes
    assert ("check removed", None) in changes
    assert _values(result, "qty")["changed"] == PARENTS


def test_added_column_counts_default_null_and_other(before: Path) -> None:
    after = _after(
        before,
        "ALTER TABLE parent ADD COLUMN version TEXT DEFAULT '1.0'",
        "ALTER TABLE parent ADD COLUMN extra INTEGER",
        "UPDATE parent SET version = '2.0', extra = 5 WHERE id = 1",
        "INSERT INTO parent (id, code, version) VALUES (100, 'new', NULL)",  # only in AFTER
    )
    result = verify(before, after)
    assert result.verdict == PASS
    got = {a["column"]: a for a in result.columns_added}
    rows = PARENTS + 1
    assert got["version"]["rows"] == rows
    assert (got["version"]["rows_default"], got["version"]["rows_null"]) == (PARENTS - 1, 1)
    assert got["version"]["rows_other"] == 1
    assert (got["extra"]["rows_null"], got["extra"]["rows_other"]) == (rows - 1, 1)


def test_table_without_a_common_key_cannot_pass(before: Path) -> None:
    # pairs is WITHOUT ROWID with PRIMARY KEY (a, b); dropping `a` leaves nothing to match on.
    after = _after(
        before,
        "CREATE TABLE p2 (b INTEGER, v REAL)",
        "INSERT INTO p2 SELECT b, v FROM pairs",
        "DROP TABLE pairs",
        "ALTER TABLE p2 RENAME TO pairs",
    )
    result = verify(before, after)
    assert result.tables["pairs"]["key"] is None
    assert result.check("values").status == FAIL
    assert "no key common" in result.check("values").detail


def test_integer_column_rebuilt_as_real_is_a_change(before: Path) -> None:
    # Same numbers, other storage class: 3 becomes 3.0. `IS` alone would call them equal.
    after = _after(
        before,
        "CREATE TABLE parent_new (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
        "name TEXT COLLATE NOCASE, qty REAL, price REAL, raw, data BLOB, note TEXT, empty TEXT)",
        "INSERT INTO parent_new SELECT * FROM parent",
        "DROP TABLE parent",
        "ALTER TABLE parent_new RENAME TO parent",
    )
    assert _scalar(after, "SELECT qty = 3 AND typeof(qty) = 'real' FROM parent WHERE id = 3")
    result = verify(before, after)
    assert _values(result, "qty")["changed"] == PARENTS
    assert result.verdict == FAIL


@pytest.mark.parametrize(
    ("declared", "expected"),
    [("INTEGER", "INTEGER"), ("BIGINT", "INTEGER"), ("VARCHAR(8)", "TEXT"), ("", "BLOB"),
     ("DOUBLE", "REAL"), ("DECIMAL(10,2)", "NUMERIC"), ("FLOATING POINT", "INTEGER")],
)  # fmt: skip
def test_affinity_follows_sqlite_rules(declared: str, expected: str) -> None:
    assert affinity(declared) == expected
    assert affinity("ANY", strict=True) == "BLOB"


@pytest.mark.parametrize("mode", ["full", "quick"])
def test_integrity_modes(before: Path, mode: str) -> None:
    result = verify(before, _after(before), integrity=mode)
    expected = "integrity_check" if mode == "full" else "quick_check"
    assert result.integrity["method"] == expected
    assert result.check("integrity").detail.startswith(f"{expected} ok")
    assert integrity_method(before, "auto") == "integrity_check"  # small file: full check
    with pytest.raises(UsageError, match="integrity mode"):
        verify(before, before, integrity="fast")


# --- renames ---------------------------------------------------------------------------------


def test_rename_must_be_declared(before: Path) -> None:
    after = _after(before, "ALTER TABLE parent RENAME COLUMN name TO title")
    undeclared = verify(before, after, renames={})
    assert undeclared.verdict == FAIL
    assert [d["column"] for d in undeclared.columns_dropped] == ["name"]
    assert [a["column"] for a in undeclared.columns_added] == ["title"]
    # never guessed, but the identical values are pointed out
    assert undeclared.rename_hints[0]["dropped"] == "name"
    for renames in ({"name": "title"}, {"parent": {"name": "title"}}):
        declared = verify(before, after, renames=renames)
        assert declared.verdict == PASS, renames
        assert declared.columns_renamed == [{"table": "parent", "old": "name", "new": "title"}]


def test_declared_rename_that_did_not_happen_warns(before: Path) -> None:
    result = verify(before, _after(before), renames={"parent": {"name": "title"}})
    assert result.check("columns_renamed").status == WARN
    assert result.verdict == PASS


def test_renames_recorded_by_the_runner_are_used(before: Path) -> None:
    after = _after(
        before,
        "ALTER TABLE parent RENAME COLUMN name TO title",
        "CREATE TABLE wfhist_migrations (version INTEGER PRIMARY KEY, name TEXT, renames TEXT)",
        'INSERT INTO wfhist_migrations VALUES (1, \'rename\', \'{"parent": {"name": "title"}}\')',
    )
    result = verify(before, after)
    assert result.verdict == PASS
    assert result.check("columns_renamed").numbers["source"] == "wfhist_migrations"
    assert "wfhist_migrations" in result.tables
    assert "wfhist_migrations" in result.check("tables").detail
    assert verify(before, after, renames={}).verdict == FAIL


def test_merge_and_parse_renames() -> None:
    assert merge_renames({"a": "b"}, {"b": "c"}) == {"a": "c"}
    assert merge_renames({"t": {"a": "b"}}, {"t": {"x": "y"}}) == {"t": {"a": "b", "x": "y"}}
    assert parse_renames(["old=new", "t.a=b"]) == {"old": "new", "t": {"a": "b"}}
    with pytest.raises(UsageError, match="OLD=NEW"):
        parse_renames(["nonsense"])


def test_table_filter(before: Path) -> None:
    after = _after(before, "UPDATE parent SET qty = 99 WHERE id = 3")
    assert verify(before, after, tables=["child"]).verdict == PASS
    assert verify(before, after, tables=["parent"]).verdict == FAIL
    with pytest.raises(UsageError, match="nope"):
        verify(before, after, tables=["nope"])


# --- files, output, CLI ----------------------------------------------------------------------


def test_both_files_untouched(before: Path) -> None:
    after = _after(before, "UPDATE parent SET qty = 99 WHERE id = 3")
    stat = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in (before, after)}
    verify(before, after)
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in (before, after)} == stat


def test_json_document_has_the_documented_keys(before: Path) -> None:
    data = verify(before, _after(before, "DELETE FROM parent WHERE id = 14")).to_dict()
    required = {
        "verdict", "checks", "tables", "columns_dropped", "columns_added", "columns_renamed",
        "values_changed", "indexes_dropped", "indexes_added", "integrity",
    }  # fmt: skip
    assert required <= set(data)
    assert data["verdict"] == FAIL
    assert {c["name"] for c in data["checks"]} >= {"integrity", "rows", "values"}
    json.dumps(data)  # serialisable as is


def test_cli_exit_codes_and_json(before: Path, tmp_path: Path, capsys) -> None:
    same = _after(before)
    assert main(["verify", str(before), str(same)]) == 0
    assert "verdict: PASS" in capsys.readouterr().out
    run_sql(same, "UPDATE parent SET qty = 99 WHERE id = 3")
    out = tmp_path / "result.json"
    assert main(["verify", str(before), str(same), "--json", str(out)]) == 1
    assert json.loads(out.read_text())["verdict"] == FAIL
    assert "verdict: FAIL" in capsys.readouterr().out
    assert main(["verify", str(before), str(same), "--json", "-"]) == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == FAIL


# --- acceptance on the 458-row sample --------------------------------------------------------


def _apply(path: Path, sql: str) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        run_script(con, sql, source="test")
    finally:
        con.close()


def _migrated(sample_db: Path, *names: str) -> Path:
    after = sample_db.with_name("migrated.db")
    online_copy(sample_db, after)
    for name in names:
        _apply(after, read_script(MIGRATIONS / name))
    return after


def test_006_passes_and_every_row_reads_the_default(sample_db: Path, capsys) -> None:
    rows = _scalar(sample_db, "SELECT count(*) FROM workflow_history")
    assert rows == 458
    after = _migrated(sample_db, "006_add_scoring_version.sql")
    result = verify(sample_db, after)
    assert result.verdict == PASS
    assert result.columns_added == [
        {"table": "workflow_history", "column": "scoring_version", "type": "TEXT",
         "default": "'1.0'", "rows": rows, "rows_default": rows, "rows_null": 0, "rows_other": 0}
    ]  # fmt: skip
    assert f"scoring_version {rows}/{rows} rows = '1.0'" in result.check("columns_added").detail
    assert result.after["schema_state"] == "post-006"
    assert main(["verify", str(sample_db), str(after)]) == 0
    assert "verdict: PASS" in capsys.readouterr().out


def test_008_rename_passes_only_when_declared(sample_db: Path) -> None:
    after = _migrated(sample_db, "006_add_scoring_version.sql", "008_rename_temporal_columns.sql")
    temporal = {"submission_hour": "hour_of_day", "submission_day_of_week": "day_of_week"}
    declared = verify(sample_db, after, renames={"workflow_history": temporal})
    assert declared.verdict == PASS
    assert {(r["old"], r["new"]) for r in declared.columns_renamed} == set(temporal.items())
    assert {(r["before"], r["after"]) for r in declared.indexes_renamed} == {
        ("idx_submission_hour", "idx_hour_of_day"),
        ("idx_submission_day_of_week", "idx_day_of_week"),
    }
    assert not declared.indexes_dropped

    undeclared = verify(sample_db, after, renames={})
    assert undeclared.verdict == FAIL
    assert {d["column"] for d in undeclared.columns_dropped} == set(temporal)
    assert {a["column"] for a in undeclared.columns_added} == {
        *temporal.values(),
        "scoring_version",
    }
    assert main(["verify", str(sample_db), str(after), "--no-recorded-renames"]) == 1
    rename_args = [a for old, new in temporal.items() for a in ("--rename", f"{old}={new}")]
    assert main(["verify", str(sample_db), str(after), *rename_args]) == 0


def test_008_rename_recorded_in_history_passes(sample_db: Path) -> None:
    after = _migrated(sample_db, "006_add_scoring_version.sql", "008_rename_temporal_columns.sql")
    recorded = {"workflow_history": {"submission_hour": "hour_of_day",
                                     "submission_day_of_week": "day_of_week"}}  # fmt: skip
    run_sql(
        after,
        "CREATE TABLE wfhist_migrations (version INTEGER PRIMARY KEY, name TEXT, sha256 TEXT, "
        "applied_at TEXT, duration_ms INTEGER, wfhist_version TEXT, kind TEXT, renames TEXT)",
        "INSERT INTO wfhist_migrations (version, name, kind, renames) VALUES "
        f"(8, '008_rename_temporal_columns', 'applied', '{json.dumps(recorded)}')",
    )
    assert verify(sample_db, after).verdict == PASS
    assert main(["verify", str(sample_db), str(after)]) == 0
