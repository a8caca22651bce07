"""check_schema names the state of real files and says exactly what differs when it fails."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from wfhist import schema
from wfhist.exceptions import SchemaError
from wfhist.schema import (
    COLUMNS_POST_006,
    COLUMNS_PRE_006,
    INDEXES_BY_STATE,
    INDEXES_PRE_006,
    OTHER_INDEXES,
    STATES,
    TABLE,
    TEMPORAL_RENAMES,
    TRIGGERS,
    VIEWS,
    check_schema,
    classify_columns,
    other_tables,
    quote_ident,
    schema_statements,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _execute(path: Path, *statements: str) -> None:
    with closing(sqlite3.connect(path)) as con:
        for sql in statements:
            con.execute(sql)
        con.commit()


ADD_SCORING_VERSION = f"ALTER TABLE {TABLE} ADD COLUMN scoring_version TEXT DEFAULT '1.0'"


def _rename_temporal() -> list[str]:
    return [
        f"ALTER TABLE {TABLE} RENAME COLUMN {quote_ident(old)} TO {quote_ident(new)}"
        for old, new in TEMPORAL_RENAMES.items()
    ]


def test_sample_is_pre_006(sample_db: Path) -> None:
    assert check_schema(sample_db) == "pre-006"
    assert check_schema(sample_db, expected="pre-006") == "pre-006"
    assert check_schema(sample_db, expected=[c.name for c in COLUMNS_PRE_006]) == "pre-006"


def test_migration_006_makes_it_post_006(sample_db: Path) -> None:
    _execute(sample_db, ADD_SCORING_VERSION)
    assert check_schema(sample_db) == "post-006"
    assert check_schema(sample_db, expected="post-006") == "post-006"


def test_renamed_temporal_columns_are_recognised(sample_db: Path) -> None:
    _execute(sample_db, ADD_SCORING_VERSION, *_rename_temporal())
    assert check_schema(sample_db) == "renamed"


def test_renaming_without_006_is_unknown_and_names_the_difference(sample_db: Path) -> None:
    _execute(sample_db, *_rename_temporal())
    with pytest.raises(SchemaError) as err:
        check_schema(sample_db)
    message = str(err.value)
    # reported against the closest known shape: renamed, which also has scoring_version
    assert "renamed schema" in message
    assert "missing columns [scoring_version], extra columns [-]" in message
    assert "\n" not in message


def test_dropped_column_is_listed_as_missing(sample_db: Path) -> None:
    _execute(sample_db, f"ALTER TABLE {TABLE} DROP COLUMN output_summary")
    with pytest.raises(SchemaError, match=r"missing columns \[output_summary\]") as err:
        check_schema(sample_db)
    assert str(sample_db) in str(err.value)
    assert "extra columns [-]" in str(err.value)


def test_expected_post_006_on_pre_006_file_names_scoring_version(sample_db: Path) -> None:
    with pytest.raises(SchemaError, match=r"post-006.*missing columns \[scoring_version\]"):
        check_schema(sample_db, expected="post-006")


def test_expected_pre_006_on_post_006_file_names_the_extra_column(sample_db: Path) -> None:
    _execute(sample_db, ADD_SCORING_VERSION)
    with pytest.raises(SchemaError, match=r"extra columns \[scoring_version\]"):
        check_schema(sample_db, expected="pre-006")


def test_unknown_expected_state_is_an_error(sample_db: Path) -> None:
    with pytest.raises(SchemaError, match="unknown expected schema 'post-007'"):
        check_schema(sample_db, expected="post-007")


def test_database_without_the_table(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    _execute(other, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    with pytest.raises(SchemaError, match=f"no table '{TABLE}'"):
        check_schema(other)


def test_user_version_is_reported(sample_db: Path) -> None:
    _execute(sample_db, "PRAGMA user_version = 7")
    with pytest.raises(SchemaError, match=r"user_version 7"):
        check_schema(sample_db, expected="post-006")


def test_classify_columns_is_about_the_exact_set() -> None:
    pre = [c.name for c in COLUMNS_PRE_006]
    assert classify_columns(pre) == "pre-006"
    assert classify_columns(list(reversed(pre))) == "pre-006"
    assert classify_columns([*pre, "scoring_version"]) == "post-006"
    assert classify_columns(pre[:-1]) == "unknown"
    assert classify_columns([*pre, "scoring_version", "extra"]) == "unknown"
    assert classify_columns([]) == "unknown"


# --- the reference schema as data ---------------------------------------------------------


def test_classify_columns_names_every_state() -> None:
    post = [c.name for c in COLUMNS_POST_006]
    assert classify_columns(post) == "post-006"
    assert (
        classify_columns([*post, "phase_number", "is_multi_phase", "day_of_week"]) == "2025-11-27"
    )
    renamed = [TEMPORAL_RENAMES.get(n, n) for n in post]
    assert classify_columns(renamed) == "renamed"
    # near misses stay unknown: 2025-11-27 without its partial-005 column, renamed + extras
    assert classify_columns([*post, "phase_number", "is_multi_phase"]) == "unknown"
    assert classify_columns([*renamed, "phase_number", "is_multi_phase"]) == "unknown"
    assert "SCHEMA_STATES" not in dir(schema) and "HISTORY_TABLE" not in dir(schema)


@pytest.mark.parametrize("state", STATES)
def test_schema_statements_build_an_empty_file_of_that_state(tmp_path: Path, state: str) -> None:
    path = tmp_path / "empty.db"
    _execute(path, *schema_statements(state))
    assert check_schema(path) == state
    assert check_schema(path, expected=state) == state
    with closing(sqlite3.connect(path)) as con:
        named = {r[1] for r in con.execute(f"PRAGMA index_list({TABLE})") if r[3] == "c"}
        assert named == {i.name for i in INDEXES_BY_STATE[state]}
        columns = {r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")}
        assert {i.column for i in INDEXES_BY_STATE[state]} <= columns
        for view in VIEWS:  # every view compiles against the tables
            con.execute(f"SELECT * FROM {view}").fetchall()
        triggers = {r[0]: r[1] for r in con.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
        )}  # fmt: skip
        assert triggers == {name: table for name, (table, _) in TRIGGERS.items()}
        assert set(other_tables(state)) <= {
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }


def test_index_counts_match_the_reference() -> None:
    assert len(INDEXES_PRE_006) == 16
    assert len(INDEXES_BY_STATE["2025-11-27"]) == 17
    assert len(INDEXES_BY_STATE["renamed"]) == 16
    counts = {t: len(ix) for t, ix in OTHER_INDEXES.items()}
    assert counts == {
        "tool_calls": 4,
        "operation_patterns": 4,
        "pattern_occurrences": 3,
        "hook_events": 6,
        "adw_tools": 2,
        "cost_savings_log": 3,
        "workflow_history_archive": 3,
    }
    assert "idx_workflow_history_workflow_id" in {i.name for i in INDEXES_PRE_006}
    assert all("UNIQUE" not in i.ddl() for i in INDEXES_PRE_006)


def test_2025_11_27_file_is_recognised_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "nov27.db"
    _execute(path, *schema_statements("2025-11-27"))
    assert check_schema(path) == "2025-11-27"
    with pytest.raises(SchemaError, match=r"extra columns \[phase_number, is_multi_phase"):
        check_schema(path, expected="post-006")


def test_renamed_statements_match_migration_008() -> None:
    """The renamed state is what wfhist's 008 makes of post-006: its statements say so."""
    sql = (MIGRATIONS / "008_rename_temporal_columns.sql").read_text(encoding="utf-8")
    for old, new in TEMPORAL_RENAMES.items():
        assert f"RENAME COLUMN {old} TO {new}" in sql
    for index in INDEXES_BY_STATE["renamed"]:
        if index.column in TEMPORAL_RENAMES.values():
            assert f"CREATE INDEX {index.name} ON {TABLE}({index.column})" in sql
