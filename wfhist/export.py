"""Export the mapped history as Hive-partitioned Parquet, for when one machine is not enough.

``wfhist export`` writes exactly what the ``history`` view shows -- mapping
applied, hours and weekdays derived in ``tz``, a ``source`` column -- so Spark,
Trino or DuckDB can take over without knowing anything about the SQLite files'
schema states or their two timestamp formats. Files are partitioned by
``year=/month=`` of ``created_ts`` in ``tz``; rows whose ``created_at`` cannot
be parsed land in ``__HIVE_DEFAULT_PARTITION__`` (read back as NULL), never
dropped. Each file's key-value metadata records the zones, columns, schema
state(s) and export time, which :func:`wfhist.read.connect_parquet` checks when
the folder is opened again.

An export never leaves a half-written folder: it is written into a temporary
sibling directory and moved into place only when complete; ``overwrite``
replaces an earlier export the same way, so a failure keeps the old one. A
temporary folder left by a killed export is removed by the next export to the
same place. The files are no more readable than the least readable source.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from wfhist.exceptions import UsageError
from wfhist.read import DEFAULT_SOURCE_TZ, SourceSpec, connect, resolve_sources, sql_literal
from wfhist.read.cache.snapshot import cache_mode, private_umask
from wfhist.read.cache.tempdirs import chmod_tree, remove_stale, temp_sibling

log = logging.getLogger("wfhist.export")

#: Partition directories an export consists of; nothing else is ever replaced.
PARTITION_PREFIX = "year="


@dataclass(frozen=True)
class ExportResult:
    rows: int
    files: int
    out_dir: Path
    sources: list[str]
    tz: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "files": self.files,
            "out_dir": str(self.out_dir),
            "sources": self.sources,
            "tz": self.tz,
        }


def _check_target(out: Path, overwrite: bool) -> None:
    """Refuse to write over anything that is not an earlier wfhist export.

    Even with ``overwrite``, a folder holding other files is refused: replacing
    it would delete them.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory; give a folder for the export")
    if not out.is_dir():
        return
    entries = sorted(out.iterdir())
    if not entries:
        return
    if not overwrite:
        raise UsageError(f"{out}: is not empty; pass --overwrite to replace an earlier export")
    foreign = [e.name for e in entries if not (e.is_dir() and e.name.startswith(PARTITION_PREFIX))]
    if foreign:
        raise UsageError(
            f"{out}: holds {foreign[0]!r}, which is not part of a wfhist export; "
            "choose an empty or new folder (nothing was replaced)"
        )


def _metadata(con: duckdb.DuckDBPyConnection, tz: str, source_tz: str) -> dict[str, str]:
    """Key-value metadata for every file: what connect_parquet needs to reopen the folder."""
    columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE history)").fetchall()]
    sources = con.execute(
        "SELECT source, kind, path, state, mapping FROM wfhist_sources ORDER BY rowid"
    ).fetchall()
    states = sorted({s[3] for s in sources})
    return {
        "wfhist_tz": tz,
        "wfhist_source_tz": source_tz,
        "wfhist_columns": ",".join(columns),
        "wfhist_state": states[0] if len(states) == 1 else "mixed: " + ", ".join(states),
        "wfhist_sources": json.dumps(
            [
                dict(zip(("source", "kind", "path", "state", "mapping"), s, strict=True))
                for s in sources
            ]
        ),
        "wfhist_exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _copy_to_parquet(
    con: duckdb.DuckDBPyConnection, tmp: Path, meta: dict[str, str]
) -> tuple[int, int]:
    """Write the history into ``tmp``; returns (rows, files).

    ``COPY`` takes no bound parameters, so the folder and metadata values go in
    as quoted literals (zones are validated names, the rest is ours).
    """
    kv = ", ".join(f"{k}: {sql_literal(v)}" for k, v in meta.items())
    row = con.execute(
        "COPY (SELECT *, year(created_ts) AS year, month(created_ts) AS month FROM history) "
        f"TO {sql_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd, "
        f"PARTITION_BY (year, month), KV_METADATA {{{kv}}}, RETURN_FILES true)"
    ).fetchone()
    rows, files = (int(row[0]), len(row[1])) if row else (0, 0)
    return rows, files


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Move the finished export to ``out``; an earlier export there is removed only afterwards."""
    old = temp_sibling(out, "wfhist-old")
    if out.is_dir() and any(out.iterdir()):
        os.replace(out, old)
    elif out.is_dir():
        out.rmdir()
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def export_parquet(
    source: SourceSpec | list[SourceSpec],
    out_dir: str | os.PathLike[str],
    *,
    tz: str = "UTC",
    source_tz: str = DEFAULT_SOURCE_TZ,
    overwrite: bool = False,
    progress: bool = False,
) -> ExportResult:
    """Write the ``history`` view of ``source`` (file, glob, list, DSN) to ``out_dir``.

    Stages are logged (``wfhist.export``, INFO). ``progress`` turns on DuckDB's
    progress bar for the long ``COPY`` when stdout is a terminal (DuckDB draws
    its bar there); a piped stdout stays clean.
    """
    out = Path(out_dir).expanduser().resolve()
    for stale in remove_stale(out):
        log.info("export: removed %s, left by an export that was killed", stale)
    _check_target(out, overwrite)
    mode = cache_mode(resolve_sources(source))
    con = connect(source, tz=tz, source_tz=source_tz)
    tmp = temp_sibling(out)
    try:
        labels = [r[0] for r in con.execute("SELECT source FROM wfhist_sources").fetchall()]
        meta = _metadata(con, tz, source_tz)
        if progress and sys.stdout.isatty():  # DuckDB draws its bar on stdout
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = true")
        log.info("export: reading %d source(s), writing Parquet to %s", len(labels), out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        with private_umask():
            rows, files = _copy_to_parquet(con, tmp, meta)
        if rows == 0:
            raise UsageError(f"{', '.join(labels)}: no rows to export; nothing was written")
        chmod_tree(tmp, mode)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        con.close()
    log.info("export: wrote %d rows in %d file(s)", rows, files)
    return ExportResult(rows=rows, files=files, out_dir=out, sources=labels, tz=tz)
