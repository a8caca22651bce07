"""The PostgreSQL source against a real server: same view, mapping and filters as SQLite.

The server comes from the Debian package ``postgresql`` (see ``pg_server.py``);
the tests skip, saying so, only when its binaries are not installed. CI
installs them and turns any skip into a failure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pg_server import PASSWORD, PgServer, find_pg_bin, load_sqlite_into_postgres, running_server

from wfhist import postgres as postgres_mod
from wfhist.exceptions import ExtensionError, SchemaError, UsageError
from wfhist.export import export_parquet
from wfhist.postgres import dsn_label, mask_dsn
from wfhist.read import connect, load_history, summarize

LA = "America/Los_Angeles"


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin; "
            "install the Debian package 'postgresql' (make system-deps)"
        )
    with running_server(bin_dir) as server:
        yield server


@pytest.fixture(scope="module")
def pg_dsn(pg: PgServer, sample_db_template: Path) -> str:
    """Database ``wfhist`` holding the 458-row sample in a typed table."""
    dsn = pg.dsn()
    assert load_sqlite_into_postgres(sample_db_template, dsn) == 458
    return dsn


@pytest.fixture(scope="module")
def pg_con(pg_dsn: str) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(pg_dsn, tz=LA)
    yield con
    con.close()


@pytest.fixture(scope="module")
def lite_con(sample_db_template: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(sample_db_template, tz=LA)
    yield con
    con.close()


def _drop_source(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="source")


def test_view_equals_the_sqlite_view(
    pg_con: duckdb.DuckDBPyConnection, lite_con: duckdb.DuckDBPyConnection
) -> None:
    """Every column and value, dirty cells included: SQLite's reader reads them as NULL and
    the typed PostgreSQL table could only store NULL there."""
    sql = "SELECT * FROM history ORDER BY id"
    from_pg, from_lite = pg_con.execute(sql).df(), lite_con.execute(sql).df()
    assert set(from_pg["source"]) == {"wfhist"}
    pd.testing.assert_frame_equal(_drop_source(from_pg), _drop_source(from_lite), check_exact=True)
    # the dirty cells really were dirty in SQLite and are NULL on both sides
    bad = dict(lite_con.execute("SELECT column_name, bad_values FROM wfhist_bad_values").fetchall())
    assert bad and all(n > 0 for n in bad.values())
    assert pg_con.execute("SELECT count(*) FROM wfhist_bad_values").fetchone()[0] == 0
    # stored hours are mapped, hour 0 / Monday 0 kept (not turned into -1)
    stored = "SELECT count(*) FROM history WHERE temporal_source = 'stored'"
    assert pg_con.execute(stored).fetchone() == lite_con.execute(stored).fetchone() != (0,)


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "failed"},
        {"model": "sonnet", "sort_by": "actual_cost_total"},
        {"template": "adw_sdlc_iso", "descending": False},
        {"search": "GITHUB.COM/example-org/portfolio"},
        {"since": "2025-11-01", "until": "2025-11-10", "sort_by": "start_time"},
        {"sort_by": "total_tokens", "limit": 25, "offset": 10},
    ],
)
def test_filters_match_sqlite(
    pg_con: duckdb.DuckDBPyConnection, lite_con: duckdb.DuckDBPyConnection, filters: dict
) -> None:
    from_pg = load_history(pg_con, **filters)
    from_lite = load_history(lite_con, **filters)
    assert 0 < len(from_pg) < 458
    pd.testing.assert_frame_equal(_drop_source(from_pg), _drop_source(from_lite))


def test_attached_read_only(pg_con: duckdb.DuckDBPyConnection) -> None:
    kind = pg_con.execute("SELECT kind FROM wfhist_sources").fetchone()[0]
    assert kind == "postgres"
    with pytest.raises(duckdb.Error, match=r"read-only|read only"):
        pg_con.execute(
            "INSERT INTO src.workflow_history (id, adw_id, status) VALUES (-1, 'x', 'x')"
        )
    with pytest.raises(duckdb.Error, match=r"read-only|read only"):
        pg_con.execute("DELETE FROM src.workflow_history")
    assert pg_con.execute("SELECT count(*) FROM history").fetchone()[0] == 458


def test_postgres_and_sqlite_in_one_view(pg_dsn: str, sample_db_template: Path) -> None:
    info = summarize([str(sample_db_template), pg_dsn])
    assert info["rows"] == 916
    assert [(s["source"], s["kind"]) for s in info["sources"]] == [
        ("workflow_history", "sqlite"),
        ("wfhist", "postgres"),
    ]
    assert len(info["duplicate_adw_ids"]) == 458  # same runs in both: reported, not merged
    assert PASSWORD not in str(info)
    assert info["sources"][1]["path"] == mask_dsn(pg_dsn)


def test_snapshot_and_export_from_postgres(
    pg_dsn: str, pg_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    live = pg_con.execute("SELECT * FROM history ORDER BY id").df()
    snap = connect(pg_dsn, tz=LA, snapshot=True)
    assert snap.execute("SELECT snapshot_taken_at FROM wfhist_sources").fetchone()[0]
    pd.testing.assert_frame_equal(snap.execute("SELECT * FROM history ORDER BY id").df(), live)
    out = tmp_path / "pq"
    assert export_parquet(pg_dsn, out, tz=LA).rows == 458
    back = connect(out, tz=LA).execute("SELECT * FROM history ORDER BY id").df()
    pd.testing.assert_frame_equal(back, live, check_exact=True)


def test_post_006_table(pg: PgServer, sample_db: Path) -> None:
    with sqlite3.connect(sample_db) as con:
        con.execute("ALTER TABLE workflow_history ADD COLUMN scoring_version TEXT DEFAULT '1.0'")
    pg.psql("CREATE DATABASE post006")
    dsn = pg.dsn("post006")
    load_sqlite_into_postgres(sample_db, dsn, post_006=True)
    con = connect(dsn)
    assert con.execute("SELECT state FROM wfhist_sources").fetchone()[0] == "post-006"
    assert con.execute("SELECT scoring_version, count(*) FROM history GROUP BY 1").fetchall() == [
        ("1.0", 458)
    ]


def test_wrong_password_is_one_clear_line_without_the_password(pg: PgServer) -> None:
    dsn = pg.dsn(password="wrong-pw-123")
    with pytest.raises(UsageError) as err:
        connect(dsn)
    message = str(err.value)
    assert "wrong-pw-123" not in message and "\n" not in message
    assert "cannot connect to PostgreSQL" in message and "postgres:***@" in message


def test_database_without_the_table(pg: PgServer) -> None:
    with pytest.raises(SchemaError, match=r"has no table public\.workflow_history"):
        connect(pg.dsn("postgres"))


def test_timestamp_typed_columns_are_refused_by_name(pg: PgServer) -> None:
    pg.psql("CREATE DATABASE typed")
    pg.psql(
        "CREATE TABLE workflow_history (id BIGINT, adw_id TEXT, status TEXT,"
        " start_time TIMESTAMP, created_at TEXT)",
        database="typed",
    )
    with pytest.raises(SchemaError, match=r"workflow_history\.start_time is timestamp"):
        connect(pg.dsn("typed"))


def test_missing_extension_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the wheel the error says what to install (no server needed)."""
    monkeypatch.setattr(postgres_mod, "postgres_scanner_path", lambda: None)
    with pytest.raises(ExtensionError, match="pip install duckdb-extension-postgres-scanner=="):
        connect("postgresql://u@127.0.0.1:1/db")


@pytest.mark.parametrize(
    ("dsn", "masked", "label"),
    [
        ("postgresql://ana:pw@db.example:5432/hist", "postgresql://ana:***@db.example:5432/hist",
         "hist"),
        ("postgres://ana@db.example/hist?sslmode=require&password=pw",
         "postgres://ana@db.example/hist?sslmode=require&password=***", "hist"),
        ("postgresql://db.example", "postgresql://db.example", "db.example"),
    ],
)  # fmt: skip
def test_mask_and_label(dsn: str, masked: str, label: str) -> None:
    assert mask_dsn(dsn) == masked
    assert dsn_label(dsn) == label
