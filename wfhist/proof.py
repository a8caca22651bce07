"""Proving that a copy holds exactly the pages of a database snapshot, below Python's row level.

SQLite's online backup API copies *pages*: with ``pages=-1`` and a read
transaction held on the source, the copy's pages are the source's pages at that
snapshot, byte for byte, except a few header counters of page 1 that SQLite
rewrites in every file it writes (change counter, version-valid-for, the
journal-mode bytes, the in-header page count, the schema cookie). So a copy is proved equal to the
snapshot by comparing pages, which costs two sequential reads from the page
cache instead of rendering every row (per-row hashing in Python took minutes
at a million rows).

Where do the snapshot's pages live while the read transaction is held?

* rollback-journal mode (DELETE, the service's mode): in the database file.
  The held SHARED lock keeps every writer from changing it until we finish.
* WAL mode: a page's snapshot version is its latest frame in the ``-wal`` file
  up to the snapshot's commit frame, else the database file page. The held read
  lock stops a checkpoint from overwriting database pages the snapshot reads
  from the file, and stops the WAL from being restarted. The snapshot's commit
  frame is not visible from Python, so every commit point of the WAL is tried
  (newest first); the proof is that the copy equals the source at one commit
  point with the same page count, which is what the backup API promises.

The page proof only reads bytes; it never opens the files through SQLite. It
never opens or closes the *database file* itself either: POSIX drops all of a
process's locks on a file when any descriptor of it is closed, so closing our
own descriptor while SQLite holds the snapshot's lock would silently release
that lock and let a writer in. The caller opens the file before locking and
closes it after SQLite let go (:func:`open_for_proof`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from wfhist.schema import quote_ident

#: Bytes of page 1 that SQLite rewrites in any file it writes: not content.
#: 18-19 file format (1 = journal, 2 = WAL), 24-31 change counter and page
#: count, 40-43 schema cookie (the backup API bumps it so other connections
#: reload the schema), 92-99 version-valid-for and the writing library's version.
_VOLATILE = ((18, 20), (24, 32), (40, 44), (92, 100))
#: Read this many bytes at a time (sequential reads, RSS stays small).
_CHUNK = 8 << 20
_WAL_MAGIC = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24
#: json_array() takes at most 127 arguments in common builds: rows are rendered in chunks.
_ARGS_PER_CALL = 100


@dataclass(frozen=True)
class PageProof:
    """Outcome of comparing a copy with a snapshot, page by page."""

    equal: bool
    pages: int
    page_size: int
    sha256: str  # of the copy file, computed in the same pass
    detail: str = ""


def _normalized_page1(page: bytes) -> bytes:
    out = bytearray(page)
    for start, end in _VOLATILE:
        out[start:end] = bytes(end - start)
    return bytes(out)


def _digest(page: bytes, pgno: int) -> bytes:
    return hashlib.sha1(_normalized_page1(page) if pgno == 1 else page).digest()


@dataclass
class _Wal:
    """The valid frames of a ``-wal`` file: (page number, file offset, commit?) in order."""

    frames: list[tuple[int, int, bool]]


def _read_wal(wal: Path, page_size: int) -> _Wal:
    """Frames of ``wal`` whose salts match its header (older generations are ignored)."""
    try:
        fh = wal.open("rb")
    except FileNotFoundError:
        return _Wal([])
    with fh:
        head = fh.read(_WAL_HEADER)
        if len(head) < _WAL_HEADER:
            return _Wal([])
        magic, _, wal_page_size, _, salt1, salt2 = struct.unpack(">IIIIII", head[:24])
        if magic not in _WAL_MAGIC or wal_page_size != page_size:
            return _Wal([])
        frames = []
        offset = _WAL_HEADER
        while True:
            fh.seek(offset)
            fhead = fh.read(_FRAME_HEADER)
            if len(fhead) < _FRAME_HEADER:
                break
            pgno, commit, s1, s2 = struct.unpack(">IIII", fhead[:16])
            if (s1, s2) != (salt1, salt2) or pgno == 0:
                break
            frames.append((pgno, offset + _FRAME_HEADER, commit != 0))
            offset += _FRAME_HEADER + page_size
        return _Wal(frames)


def open_for_proof(db: Path) -> BinaryIO:
    """The database file, opened for :func:`compare_snapshot`: close it only once SQLite
    released its locks on the file (see the module docstring)."""
    return db.open("rb")


def compare_snapshot(source: BinaryIO, copy: Path, page_size: int, page_count: int) -> PageProof:
    """Is ``copy`` page-identical to ``source`` at one committed state of ``page_count`` pages?

    ``source`` is the database file from :func:`open_for_proof`; the caller
    holds a read transaction (or the write lock) on it, so its files are stable
    (see the module docstring), and passes the snapshot's ``PRAGMA page_size``
    and ``page_count``. Also returns the SHA-256 of the whole copy file, read in
    the same pass (the manifest records it; ``check_backup`` recomputes it).
    """
    wal = _read_wal(Path(f"{source.name}-wal"), page_size)
    in_wal = {pgno for pgno, _, _ in wal.frames} | {1}
    copy_size = copy.stat().st_size
    h = hashlib.sha256()
    copy_digests: dict[int, bytes] = {}
    sf = source
    with copy.open("rb") as cf:
        if copy_size != page_count * page_size:
            while block := cf.read(_CHUNK):
                h.update(block)
            return PageProof(False, page_count, page_size, h.hexdigest(), "page count differs")
        per_chunk = max(1, _CHUNK // page_size)
        for first in range(1, page_count + 1, per_chunk):
            n = min(per_chunk, page_count - first + 1)
            block = cf.read(n * page_size)
            h.update(block)
            sf.seek((first - 1) * page_size)
            src = sf.read(n * page_size)
            pages = range(first, first + n)
            if not in_wal.intersection(pages) and block == src:
                continue
            for pgno in pages:
                at = (pgno - first) * page_size
                page = block[at : at + page_size]
                if pgno in in_wal:
                    copy_digests[pgno] = _digest(page, pgno)
                elif page != src[at : at + page_size]:
                    return PageProof(
                        False, page_count, page_size, h.hexdigest(), f"page {pgno} differs"
                    )
    equal = _wal_pages_match(source, wal, copy_digests, page_size)
    detail = "" if equal else "no committed state of the source matches the copy's changed pages"
    return PageProof(equal, page_count, page_size, h.hexdigest(), detail)


def _wal_pages_match(
    source: BinaryIO, wal: _Wal, copy_digests: dict[int, bytes], page_size: int
) -> bool:
    """Do the copy's pages that have WAL frames (and page 1) match one commit point?

    The version of page P at commit point k is its latest frame at or before k,
    else its page in the database file. Commit points are tried newest first
    (the snapshot is nearly always the newest), the file alone last.
    """
    versions: dict[int, list[tuple[int, bytes]]] = {p: [] for p in copy_digests}
    for pgno in copy_digests:
        source.seek((pgno - 1) * page_size)
        versions[pgno].append((-1, _digest(source.read(page_size), pgno)))
    commits = [-1]
    if wal.frames:
        with Path(f"{source.name}-wal").open("rb") as wf:
            for index, (pgno, offset, commit) in enumerate(wal.frames):
                if pgno in versions:
                    wf.seek(offset)
                    versions[pgno].append((index, _digest(wf.read(page_size), pgno)))
                if commit:
                    commits.append(index)
    for k in reversed(commits):
        if all(_version_at(versions[p], k) == d for p, d in copy_digests.items()):
            return True
    return False


def _version_at(history: list[tuple[int, bytes]], k: int) -> bytes:
    """The digest of the latest version at or before frame ``k`` (history is in frame order)."""
    found = history[0][1]
    for index, digest in history:
        if index > k:
            break
        found = digest
    return found


# --- logical content hash (old manifests; the fallback when pages cannot be compared) ---


def list_tables(con: sqlite3.Connection) -> list[tuple[str, bool]]:
    """(name, without_rowid) of every ordinary table, by name."""
    rows = con.execute(
        "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
        "AND name NOT IN ('sqlite_schema', 'sqlite_master', 'sqlite_temp_schema', "
        "'sqlite_temp_master') ORDER BY name"
    ).fetchall()
    return [(name, bool(wr)) for name, wr in rows]


def _order_by(con: sqlite3.Connection, table: str, without_rowid: bool) -> str:
    if not without_rowid:
        return "_rowid_"
    pk = con.execute(
        "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,)
    ).fetchall()
    return ", ".join(quote_ident(r[0]) for r in pk)


class _Hasher(Protocol):
    """What :func:`_hash_table` feeds: any ``hashlib`` object."""

    def update(self, data: bytes, /) -> None: ...


def _render(column: str) -> str:
    """SQL rendering one value exactly: storage class and every byte.

    ``quote()`` is exact for numbers, NULL and BLOBs; TEXT is rendered as the hex
    of its bytes, so invalid UTF-8 and embedded NUL characters are compared too
    (``quote()`` would stop at a NUL, and Python cannot decode invalid UTF-8).
    """
    c = quote_ident(column)
    return f"CASE typeof({c}) WHEN 'text' THEN 't' || hex({c}) ELSE quote({c}) END"


def _hash_table(con: sqlite3.Connection, table: str, without_rowid: bool, h: _Hasher) -> int:
    """Feed one table's rows into ``h`` in key order; return the row count."""
    cols = [
        r[0] for r in con.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    ]
    h.update(("T" + json.dumps([table, cols]) + "\n").encode())
    if not cols:
        return 0
    rendered = [_render(c) for c in cols]
    chunks = [
        "json_array(" + ", ".join(rendered[i : i + _ARGS_PER_CALL]) + ")"
        for i in range(0, len(rendered), _ARGS_PER_CALL)
    ]
    expr = chunks[0] if len(chunks) == 1 else "json_array(" + ", ".join(chunks) + ")"
    sql = (
        f"SELECT {expr} || char(10) FROM {quote_ident(table)} "
        f"ORDER BY {_order_by(con, table, without_rowid)}"
    )
    n = 0
    cur = con.execute(sql)
    while batch := cur.fetchmany(4096):
        h.update("".join(r[0] for r in batch).encode())
        n += len(batch)
    return n


def logical_digest(con: sqlite3.Connection) -> tuple[str, dict[str, int]]:
    """Logical content hash and rows per table of the snapshot ``con`` currently reads.

    The schema (every ``CREATE`` statement, as hex of its bytes) is hashed too.
    Physical layout (page size, free pages, rowids of tables without an
    INTEGER PRIMARY KEY) is not content and is left out.
    """
    h = hashlib.sha256()
    for row in con.execute(
        "SELECT type, name, tbl_name, hex(sql) FROM sqlite_schema ORDER BY type, name"
    ):
        h.update(("S" + json.dumps(list(row)) + "\n").encode())
    rows = {}
    for table, without_rowid in list_tables(con):
        rows[table] = _hash_table(con, table, without_rowid, h)
    return "sha256:" + h.hexdigest(), rows


def file_sha256(path: Path) -> str:
    """SHA-256 of a whole file, read in large chunks (hashlib releases the GIL)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
