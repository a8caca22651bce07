"""wfhist.migrations: discovering migration files (names, numbers, checksums, the guard,
opt-in markers), the runner's history and baselines, on real files and databases."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from conftest import MIGRATIONS

from wfhist.exceptions import MigrationError, SchemaError, UsageError
from wfhist.migrations import (
    BASELINES,
    HISTORY_DDL,
    baseline_for,
    discover,
    read_history,
    resolve_migrations_dir,
)
from wfhist.model import MIGRATIONS_TABLE


def _dir(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    d = tmp_path / "migrations"
    d.mkdir()
    for name, text in files.items():
        (d / name).write_bytes(text.encode() if isinstance(text, str) else text)
    return d


def test_the_shipped_migrations_are_found_in_order_with_their_checksums() -> None:
    found = discover()
    assert [m.version for m in found] == [6, 7, 8]
    for m in found:
        assert m.path.parent == MIGRATIONS
        assert m.sha256 == hashlib.sha256(m.path.read_bytes()).hexdigest()
    assert [m.opt_in is not None for m in found] == [False, False, True]
    assert found[2].opt_in is not None and "running service" in found[2].opt_in
    assert found[2].renames() == {
        "workflow_history": {
            "submission_hour": "hour_of_day",
            "submission_day_of_week": "day_of_week",
        }
    }


def test_versions_sort_by_number_not_by_name_and_other_files_are_ignored(tmp_path: Path) -> None:
    d = _dir(
        tmp_path,
        {
            "10_later.sql": "SELECT 1;",
            "9_earlier.sql": "SELECT 1;",
            "README.md": "not a migration",
            "011_x.sql.bak": "BEGIN;",
        },
    )
    assert [(m.version, m.name) for m in discover(d)] == [
        (9, "9_earlier.sql"),
        (10, "10_later.sql"),
    ]


@pytest.mark.parametrize(
    "name", ["abc.sql", "006-add.sql", "006_.sql", "006.sql", "_006_x.sql", "006_ä.sql"]
)
def test_a_badly_named_file_is_refused_with_its_path(tmp_path: Path, name: str) -> None:
    d = _dir(tmp_path, {"006_ok.sql": "SELECT 1;", name: "SELECT 1;"})
    with pytest.raises(MigrationError, match=r"must be named NNN_description\.sql") as info:
        discover(d)
    assert str(d / name) in str(info.value)


def test_two_files_with_one_number_are_refused_naming_both(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"006_a.sql": "SELECT 1;", "6_b.sql": "SELECT 2;"})
    with pytest.raises(MigrationError, match="version 6 is also used by") as info:
        discover(d)
    message = str(info.value)
    assert "006_a.sql" in message and "6_b.sql" in message and "renumber" in message


def test_the_checksum_is_of_the_bytes_so_any_edit_changes_it(tmp_path: Path) -> None:
    d = _dir(tmp_path, {"006_x.sql": "ALTER TABLE t ADD COLUMN a TEXT;\n"})
    first = discover(d)[0].sha256
    (d / "006_x.sql").write_bytes(b"ALTER TABLE t ADD COLUMN a TEXT;\r\n")  # line ends only
    second = discover(d)[0].sha256
    (d / "006_x.sql").write_bytes(b"ALTER TABLE t ADD COLUMN a TEXT;\n")
    assert first != second and discover(d)[0].sha256 == first


@pytest.mark.parametrize(
    "sql",
    ["BEGIN; ALTER TABLE t ADD COLUMN a TEXT; COMMIT;", "VACUUM;", "ATTACH 'x.db' AS x;"],
)
def test_a_file_the_guard_refuses_stops_discovery_before_anything_runs(
    tmp_path: Path, sql: str
) -> None:
    d = _dir(tmp_path, {"006_ok.sql": "SELECT 1;", "007_bad.sql": sql})
    with pytest.raises(MigrationError, match=r"007_bad\.sql"):
        discover(d)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("-- wfhist-opt-in: deploy the new code first\nSELECT 1;", "deploy the new code first"),
        ("SELECT 1;\n--wfhist-opt-in:   spaced  \n", "spaced"),
        ("SELECT 1; -- wfhist-opt-in: after a statement", "after a statement"),
        # the same words inside a string literal or a block comment are not a marker
        ("INSERT INTO t VALUES ('a\n-- wfhist-opt-in: inside a string');", None),
        ("/*\n-- wfhist-opt-in: inside a block comment\n*/ SELECT 1;", None),
        ("-- wfhist-opt-out: no\nSELECT 1;", None),
    ],
)
def test_the_opt_in_marker_is_a_line_comment(tmp_path: Path, sql: str, reason: str | None) -> None:
    d = _dir(tmp_path, {"009_x.sql": sql})
    assert discover(d)[0].opt_in == reason


def test_a_missing_directory_is_one_usage_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="migrations directory not found; pass --migrations"):
        resolve_migrations_dir(tmp_path / "nope")
    assert discover(_dir(tmp_path, {})) == []


def test_history_is_none_before_the_runner_and_its_rows_after(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    try:
        assert read_history(con) is None
        con.execute(HISTORY_DDL)
        assert read_history(con) == []
        con.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name, sha256, applied_at, kind) "
            "VALUES (7, '007_b.sql', 'ab', 't2', 'applied'), (5, 'baseline', NULL, 't1', "
            "'baseline')"
        )
        got = read_history(con)
        assert got is not None and [(a.version, a.kind) for a in got] == [
            (5, "baseline"),
            (7, "applied"),
        ]
        with pytest.raises(sqlite3.IntegrityError):  # the table refuses an unknown kind
            con.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at, kind) "
                "VALUES (8, 'x', 't', 'guessed')"
            )
    finally:
        con.close()


def test_baselines_come_from_the_shape_and_a_hand_renamed_file_is_refused(
    sample_db_template: Path,
) -> None:
    from wfhist.schema import EXPECTED_BY_STATE

    names = EXPECTED_BY_STATE["pre-006"]
    assert baseline_for(sample_db_template, names) == BASELINES["pre-006"]
    assert baseline_for(sample_db_template, EXPECTED_BY_STATE["post-006"])[0] == 6
    renamed = EXPECTED_BY_STATE["renamed"]
    with pytest.raises(SchemaError, match="already renamed but the file has no wfhist_migrations"):
        baseline_for(sample_db_template, renamed)
