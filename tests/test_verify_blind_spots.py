"""The verifier's former blind spots (issue 9 item 6), one hand-made pair of real files each.

Each losing pair PASSed with no warning before the verifier compared virtual
tables, definitions, collations, sqlite_sequence, keyless multisets, the sign of
zero and TEXT as bytes; each harmless twin must still PASS.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from wfhist.backup import online_copy
from wfhist.serialize import to_json
from wfhist.verify import FAIL, PASS, WARN, format_result, verify


def _exec(path: Path, *statements: str, params: tuple = ()) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for stmt in statements:
            con.execute(stmt, params) if params else con.execute(stmt)
    finally:
        con.close()


def _pair(tmp_path: Path, setup: list[str], change: list[str]) -> tuple[Path, Path]:
    before = tmp_path / "before.db"
    _exec(before, *setup)
    after = tmp_path / "after.db"
    online_copy(before, after)
    _exec(after, *change)
    return before, after


def _statuses(result) -> dict[str, str]:
    return {c.name: c.status for c in result.checks}


def _explain(result) -> str:
    return format_result(result, width=200, max_lines=20)


# --- virtual tables ----------------------------------------------------------------------

FTS = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "INSERT INTO t VALUES (1, 'x')",
    "CREATE VIRTUAL TABLE notes USING fts5(title, body)",
    "INSERT INTO notes (rowid, title, body) VALUES (1, 'a', 'first note'), (2, 'b', 'second'),"
    " (3, 'c', 'third one')",
]
RTREE = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "INSERT INTO t VALUES (1, 'x')",
    "CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1)",
    "INSERT INTO boxes VALUES (1, 0, 1, 0, 1), (2, 5, 6, 5, 6)",
]


def test_dropped_fts5_table_fails(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, FTS, ["DROP TABLE notes"]))
    assert result.verdict == FAIL, _explain(result)
    assert result.check("tables").status == FAIL
    assert "notes (3 rows)" in result.check("tables").detail


def test_changed_fts5_row_fails_and_shadow_tables_are_not_compared(tmp_path: Path) -> None:
    before, after = _pair(tmp_path, FTS, ["UPDATE notes SET body = 'edited' WHERE rowid = 2"])
    result = verify(before, after)
    assert result.verdict == FAIL
    assert result.check("values").status == FAIL
    assert not any(name.startswith("notes_") for name in result.tables)


def test_fts5_optimize_changes_only_internals_and_passes(tmp_path: Path) -> None:
    before, after = _pair(tmp_path, FTS, ["INSERT INTO notes (notes) VALUES ('optimize')"])
    result = verify(before, after)
    assert result.verdict == PASS, _explain(result)
    assert result.tables["notes"]["status"] == "compared"


def test_dropped_rtree_fails(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, RTREE, ["DROP TABLE boxes"]))
    assert result.verdict == FAIL
    assert "boxes (2 rows)" in result.check("tables").detail


def test_changed_rtree_coordinate_fails(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, RTREE, ["UPDATE boxes SET x1 = 7 WHERE id = 2"]))
    assert result.verdict == FAIL
    assert result.check("rows").status == FAIL or result.check("values").status == FAIL


# --- triggers and views by definition ----------------------------------------------------

OBJECTS = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INTEGER DEFAULT 0)",
    "CREATE TABLE log (id INTEGER PRIMARY KEY, msg TEXT)",
    "INSERT INTO t (v) VALUES ('a'), ('b')",
    "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log (msg) VALUES (new.v); END",
    "CREATE VIEW big AS SELECT id, v FROM t WHERE n > 10",
]


def test_trigger_redefined_under_the_same_name_warns(tmp_path: Path) -> None:
    result = verify(
        *_pair(
            tmp_path,
            OBJECTS,
            [
                "DROP TRIGGER t_ins",
                "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN SELECT 1; END",  # logs nothing now
            ],
        )
    )
    check = result.check("triggers_views")
    assert check.status == WARN, _explain(result)
    assert "redefined under the same name: t_ins" in check.detail
    assert result.triggers_views["triggers_changed"] == ["t_ins"]


def test_view_redefined_under_the_same_name_warns(tmp_path: Path) -> None:
    change = ["DROP VIEW big", "CREATE VIEW big AS SELECT id, v FROM t WHERE n > 100"]
    result = verify(*_pair(tmp_path, OBJECTS, change))
    assert result.check("triggers_views").status == WARN
    assert result.triggers_views["views_changed"] == ["big"]


def test_same_definition_spelled_differently_passes(tmp_path: Path) -> None:
    change = [
        "DROP VIEW big",
        'create view "big" as   select ID, V /* same */ from T where N > 10',
    ]
    result = verify(*_pair(tmp_path, OBJECTS, change))
    assert result.check("triggers_views").status == PASS, _explain(result)


# --- collation ---------------------------------------------------------------------------


def test_changed_collation_is_reported(tmp_path: Path) -> None:
    setup = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE)",
        "INSERT INTO t VALUES (1, 'Ann'), (2, 'bob')",
    ]
    change = [
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO t2 SELECT * FROM t",
        "DROP TABLE t",
        "ALTER TABLE t2 RENAME TO t",
    ]
    result = verify(*_pair(tmp_path, setup, change))
    schema = result.check("schema")
    assert schema.status == WARN, _explain(result)
    assert "collation name NOCASE -> BINARY" in schema.detail
    assert {"change": "collation", "before": "NOCASE", "after": "BINARY"}.items() <= next(
        c for c in result.schema_changes if c["change"] == "collation"
    ).items()


# --- sqlite_sequence -----------------------------------------------------------------------

SEQ = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)",
    "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')",
    "DELETE FROM t WHERE id = 3",  # seq stays 3: id 3 must never be handed out again
]


def test_sqlite_sequence_reset_fails(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, SEQ, ["UPDATE sqlite_sequence SET seq = 2 WHERE name = 't'"]))
    check = result.check("sequences")
    assert check.status == FAIL, _explain(result)
    assert "t 3 -> 2" in check.detail
    assert result.verdict == FAIL


def test_rebuild_without_autoincrement_fails(tmp_path: Path) -> None:
    change = [
        "CREATE TABLE t2 (id INTEGER PRIMARY KEY, v TEXT)",
        "INSERT INTO t2 SELECT * FROM t",
        "DROP TABLE t",
        "ALTER TABLE t2 RENAME TO t",
    ]
    result = verify(*_pair(tmp_path, SEQ, change))
    assert result.check("sequences").status == FAIL
    assert "t 3 -> gone" in result.check("sequences").detail


def test_sequence_moving_forward_passes(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, SEQ, ["INSERT INTO t (v) VALUES ('d')"]))
    assert result.check("sequences").status == PASS
    assert result.verdict == PASS


# --- keyless tables as multisets ----------------------------------------------------------

KEYLESS = [
    "CREATE TABLE events (kind TEXT, at TEXT, n)",
    "INSERT INTO events VALUES ('a', '2025-01-01', 1), ('b', '2025-01-02', 2), "
    "('a', '2025-01-01', 1)",  # one row twice already: counts must match exactly
]


def test_duplicated_row_in_keyless_table_fails(tmp_path: Path) -> None:
    change = ["INSERT INTO events SELECT * FROM events WHERE kind = 'b'"]
    result = verify(*_pair(tmp_path, KEYLESS, change))
    rows = result.check("rows")
    assert rows.status == FAIL, _explain(result)
    assert "duplicated in AFTER" in rows.detail
    assert result.tables["events"]["rows_duplicated"] == 1
    assert result.tables["events"]["duplicated_samples"][0]["kind"] == "b"


def test_one_of_two_identical_rows_lost_fails(tmp_path: Path) -> None:
    change = ["DELETE FROM events WHERE rowid = 3"]
    result = verify(*_pair(tmp_path, KEYLESS, change))
    assert result.check("rows").status == FAIL
    assert result.tables["events"]["rows_missing"] == 1


def test_keyless_table_rebuilt_in_another_order_passes(tmp_path: Path) -> None:
    change = [
        "CREATE TABLE e2 (kind TEXT, at TEXT, n)",
        "INSERT INTO e2 SELECT * FROM events ORDER BY kind DESC",  # every rowid renumbered
        "DROP TABLE events",
        "ALTER TABLE e2 RENAME TO events",
    ]
    result = verify(*_pair(tmp_path, KEYLESS, change))
    assert result.verdict == PASS, _explain(result)


def test_keyless_value_change_fails(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, KEYLESS, ["UPDATE events SET n = '2' WHERE kind = 'b'"]))
    assert result.verdict == FAIL  # 2 -> '2': another storage class, another row


# --- the sign of zero ---------------------------------------------------------------------


@pytest.mark.parametrize("keyed", [True, False])
def test_negative_zero_is_not_zero(tmp_path: Path, keyed: bool) -> None:
    key = "id INTEGER PRIMARY KEY, " if keyed else ""
    setup = [f"CREATE TABLE z ({key}x, label TEXT)", "INSERT INTO z (x, label) VALUES (-0.0, 'm')"]
    result = verify(*_pair(tmp_path, setup, ["UPDATE z SET x = 0.0"]))
    assert result.verdict == FAIL, _explain(result)
    if keyed:
        sample = result.values_changed[0]["samples"][0]
        assert (sample["before"], sample["after"]) == ("-0.0", 0.0)
    json.dumps(to_json(result))  # the sample serializes


def test_zero_in_a_real_column_passes(tmp_path: Path) -> None:
    # A REAL column stores a whole number as an integer: -0.0 reads back as 0.0 on
    # both sides, so nothing is lost and nothing may be reported.
    setup = ["CREATE TABLE z (id INTEGER PRIMARY KEY, x REAL)", "INSERT INTO z VALUES (1, 0.0)"]
    result = verify(*_pair(tmp_path, setup, ["UPDATE z SET x = -0.0"]))
    assert result.verdict == PASS


# --- TEXT that is not UTF-8 ---------------------------------------------------------------

BAD_TEXT = [
    "CREATE TABLE u (id INTEGER PRIMARY KEY, t TEXT)",
    "CREATE TABLE k (t TEXT)",
    "INSERT INTO u VALUES (1, CAST(x'6361ff' AS TEXT)), (2, 'ok')",
    "INSERT INTO k VALUES (CAST(x'c328' AS TEXT))",
]


def test_invalid_utf8_identical_passes(tmp_path: Path) -> None:
    result = verify(*_pair(tmp_path, BAD_TEXT, []))
    assert result.verdict == PASS, _explain(result)


def test_invalid_utf8_changed_bytes_fail_without_crashing(tmp_path: Path) -> None:
    change = [
        "UPDATE u SET t = CAST(x'6361fe' AS TEXT) WHERE id = 1",
        "UPDATE k SET t = CAST(x'c329' AS TEXT)",
    ]
    result = verify(*_pair(tmp_path, BAD_TEXT, change))
    assert result.verdict == FAIL
    sample = result.values_changed[0]["samples"][0]
    assert sample["before"] == "ca\\xff" and sample["after"] == "ca\\xfe"
    assert result.tables["k"]["rows_missing"] == 1
    json.dumps(to_json(result))
    format_result(result)


def test_virtual_table_this_sqlite_cannot_read_fails_with_the_reason(tmp_path: Path) -> None:
    setup = [
        "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        "PRAGMA writable_schema = ON",
        "INSERT INTO sqlite_master VALUES "
        "('table', 'vx', 'vx', 0, 'CREATE VIRTUAL TABLE vx USING nosuchmod(a)')",
    ]
    result = verify(*_pair(tmp_path, setup, []))
    assert result.verdict == FAIL  # nothing proves vx kept its rows
    assert "vx: no such module: nosuchmod" in result.check("read").detail


# --- hostile names --------------------------------------------------------------------------

NAMES = [
    'CREATE TABLE "we""ird t" ("id x" INTEGER PRIMARY KEY, "sel;ect" TEXT, [a"b] REAL)',
    'CREATE TABLE "no key" ("v ""q""", "w--x")',
    "INSERT INTO \"we\"\"ird t\" VALUES (1, 'a', 1.5), (2, 'b', 2.5)",
    "INSERT INTO \"no key\" VALUES (1, '/*'), (1, '/*')",
]


def test_quoted_names_are_compared_not_executed(tmp_path: Path) -> None:
    same = verify(*_pair(tmp_path, NAMES, []))
    assert same.verdict == PASS, _explain(same)
    changed_dir = tmp_path / "changed"
    changed_dir.mkdir()
    change = [
        'UPDATE "we""ird t" SET "sel;ect" = \'B\' WHERE "id x" = 2',
        'DELETE FROM "no key" WHERE rowid = 1',
    ]
    result = verify(*_pair(changed_dir, NAMES, change))
    assert result.verdict == FAIL
    assert result.values_changed[0]["samples"][0]["key"] == {"id x": 2}
    assert result.tables["no key"]["rows_missing"] == 1
