"""Per-chunk hashes of a source's rows: what lets a snapshot refresh re-read only changes.

Rows are grouped by ``id // CHUNK_ROWS``; each chunk's row count and XOR of
row hashes (every column as the view reads it) is stored with the snapshot.
On refresh the hashes are computed again from the live file in one pass and
compared: only chunks whose hash or count differ -- new rows, updated rows
(whatever ``updated_at`` says), deleted rows -- are read again, by id range.
"""

from __future__ import annotations

import duckdb

from wfhist.read.extensions import sql_literal
from wfhist.read.sources import SourceInfo
from wfhist.read.viewsql import column_exprs

#: Rows per chunk (2**CHUNK_SHIFT): small enough that 10 scattered updates re-read
#: ~40k rows of 1M, large enough that the hash table stays a few hundred rows.
CHUNK_SHIFT = 12
CHUNK_ROWS = 1 << CHUNK_SHIFT


def chunk_hashes_sql(infos: list[SourceInfo]) -> str:
    """(source, chunk, n, h) for every chunk of every SQLite source."""
    parts = [
        "SELECT NULL::VARCHAR AS source, NULL::BIGINT AS chunk, NULL::BIGINT AS n,"
        " NULL::UBIGINT AS h WHERE false"
    ]
    for info in infos:
        if info.kind != "sqlite":
            continue
        exprs, from_clause = column_exprs(info)
        parts.append(
            f"SELECT {sql_literal(info.label)} AS source, s.id >> {CHUNK_SHIFT} AS chunk,"
            f" count(*) AS n, bit_xor(hash({', '.join(exprs)})) AS h"
            f" FROM {from_clause} GROUP BY ALL"
        )
    return " UNION ALL ".join(parts)


def changed_ranges(con: duckdb.DuckDBPyConnection, label: str) -> list[tuple[int, int]]:
    """Inclusive id ranges of ``label``'s chunks that differ between stored and new hashes."""
    rows = con.execute(
        "SELECT DISTINCT chunk FROM ("
        " (SELECT chunk, n, h FROM wfhist_chunks WHERE source = ?"
        "  EXCEPT SELECT chunk, n, h FROM wfhist_new_chunks WHERE source = ?)"
        " UNION ALL"
        " (SELECT chunk, n, h FROM wfhist_new_chunks WHERE source = ?"
        "  EXCEPT SELECT chunk, n, h FROM wfhist_chunks WHERE source = ?)"
        ") ORDER BY chunk",
        [label, label, label, label],
    ).fetchall()
    ranges: list[tuple[int, int]] = []
    for (chunk,) in rows:
        lo = int(chunk) << CHUNK_SHIFT
        hi = lo + CHUNK_ROWS - 1
        if ranges and ranges[-1][1] + 1 == lo:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


def ranges_sql(ranges: list[tuple[int, int]]) -> str:
    """A WHERE condition on ``id`` for inclusive ranges (integers we computed, not user input)."""
    return " OR ".join(f"id BETWEEN {int(lo)} AND {int(hi)}" for lo, hi in ranges) or "false"
