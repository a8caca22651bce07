"""wfhist.proof on real files: the page proof a backup and a rollback rest on, the WAL
overlay it reads, and the logical digest of old manifests.

Each proof is shown to pass on a copy SQLite's backup API made and to fail on a
copy with one value changed, so neither can pass by accident.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_dbs import make_db

from wfhist.backup import Snapshot, online_copy, open_source, read_snapshot
from wfhist.proof import (
    PageProof,
    compare_snapshot,
    file_sha256,
    logical_digest,
    open_for_proof,
)


@contextlib.contextmanager
def _held(db: Path) -> Iterator[tuple[sqlite3.Connection, Snapshot]]:
    """A read transaction on ``db`` (the snapshot the proof compares against)."""
    con = open_source(db)
    try:
        with read_snapshot(con, db) as snap:
            yield con, snap
    finally:
        con.close()


def _prove(db: Path, copy: Path) -> PageProof:
    # the file is opened before and closed after SQLite's lock, as backup() does
    with open_for_proof(db) as raw, _held(db) as (_, snap):
        return compare_snapshot(raw, copy, snap.page_size, snap.page_count)


def _change(path: Path, sql: str) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        assert con.execute(sql).rowcount == 1
    finally:
        con.close()


def test_a_backup_api_copy_is_page_identical_and_its_sha256_is_the_files(tmp_path: Path) -> None:
    db = make_db(tmp_path / "wf.db")
    copy = tmp_path / "copy.db"
    online_copy(db, copy)
    assert db.read_bytes() != copy.read_bytes()  # header counters differ: not content
    proof = _prove(db, copy)
    assert proof.equal, proof.detail
    assert proof.sha256 == file_sha256(copy) == hashlib.sha256(copy.read_bytes()).hexdigest()
    assert proof.pages * proof.page_size == copy.stat().st_size


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE workflow_history SET cost = cost + 1e-12 WHERE id = 150",
        "UPDATE workflow_history SET nl_input = 'request' WHERE id = 1",
        "DELETE FROM pattern_occurrences WHERE note = 'orphan'",
    ],
    ids=["last-digit", "text", "one-row"],
)
def test_a_copy_with_one_changed_value_fails(tmp_path: Path, sql: str) -> None:
    db = make_db(tmp_path / "wf.db")
    copy = tmp_path / "copy.db"
    online_copy(db, copy)
    _change(copy, sql)
    proof = _prove(db, copy)
    assert not proof.equal
    assert proof.detail.startswith("page ") and proof.detail.endswith(" differs")


def test_page_1_header_counters_are_not_content_but_page_1_content_is(tmp_path: Path) -> None:
    db = make_db(tmp_path / "wf.db")
    copy = tmp_path / "copy.db"
    online_copy(db, copy)
    data = bytearray(copy.read_bytes())
    data[24:28] = (int.from_bytes(data[24:28], "big") + 7).to_bytes(4, "big")  # change counter
    copy.write_bytes(bytes(data))
    assert _prove(db, copy).equal
    data[20] ^= 0x01  # reserved bytes per page: part of the format, so content
    copy.write_bytes(bytes(data))
    assert not _prove(db, copy).equal


def test_a_missing_page_fails(tmp_path: Path) -> None:
    db = make_db(tmp_path / "wf.db")
    copy = tmp_path / "copy.db"
    online_copy(db, copy)
    size = _prove(db, copy).page_size
    copy.write_bytes(copy.read_bytes()[:-size])
    proof = _prove(db, copy)
    assert not proof.equal and proof.detail == "page count differs"


def _wal_db(tmp_path: Path) -> tuple[Path, sqlite3.Connection]:
    """A WAL file whose last 20 commits live only in its ``-wal`` (no checkpoint yet)."""
    db = make_db(tmp_path / "wal.db", journal="wal")
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(20):
        writer.execute("INSERT INTO workflow_history (adw_id) VALUES (?)", (f"walonly{i}",))
        writer.execute("UPDATE workflow_history SET retry_count = ? WHERE id = 3", (i,))
    assert Path(f"{db}-wal").stat().st_size > 0
    return db, writer


def test_the_proof_overlays_committed_wal_frames(tmp_path: Path) -> None:
    db, writer = _wal_db(tmp_path)
    try:
        copy = tmp_path / "copy.db"
        online_copy(db, copy)
        con = sqlite3.connect(copy)
        assert con.execute("SELECT retry_count FROM workflow_history WHERE id = 3").fetchone() == (
            19,
        )
        con.close()
        proof = _prove(db, copy)
        assert proof.equal, proof.detail
    finally:
        writer.close()


def test_a_changed_value_in_a_page_that_lives_in_the_wal_fails(tmp_path: Path) -> None:
    db, writer = _wal_db(tmp_path)
    try:
        copy = tmp_path / "copy.db"
        online_copy(db, copy)
        # a value no commit ever had, in a page whose versions live in the -wal
        _change(copy, "UPDATE workflow_history SET retry_count = 99 WHERE id = 3")
        proof = _prove(db, copy)
        assert not proof.equal
        assert proof.detail == "no committed state of the source matches the copy's changed pages"
    finally:
        writer.close()


def test_the_logical_digest_sees_values_not_layout(tmp_path: Path) -> None:
    """The old manifests' hash: equal after VACUUM (layout), not after one changed byte."""
    db = make_db(tmp_path / "wf.db", rows=80)
    copy = tmp_path / "copy.db"
    online_copy(db, copy)
    vacuumed = tmp_path / "vacuumed.db"
    con = sqlite3.connect(db)
    con.execute("VACUUM INTO ?", (str(vacuumed),))
    con.close()
    digests = {}
    for name, path in [("db", db), ("copy", copy), ("vacuumed", vacuumed)]:
        src = open_source(path)
        try:
            digests[name] = logical_digest(src)
        finally:
            src.close()
    assert digests["db"] == digests["copy"] == digests["vacuumed"]
    assert digests["db"][1]["workflow_history"] == 80
    # one byte of invalid UTF-8 text differs: rendered as hex, so seen
    _change(
        copy,
        "UPDATE workflow_history SET error_message = CAST(x'41ff00fe43' AS TEXT) WHERE id = 2",
    )
    src = open_source(copy)
    try:
        changed = logical_digest(src)
    finally:
        src.close()
    assert changed[0] != digests["db"][0] and changed[1] == digests["db"][1]
