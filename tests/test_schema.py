"""check_schema names the state of real files and says exactly what differs when it fails."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from wfhist.exceptions import SchemaError
from wfhist.schema import (
    COLUMNS_PRE_006,
    TABLE,
    TEMPORAL_RENAMES,
    check_schema,
    classify_columns,
    quote_ident,
)


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
