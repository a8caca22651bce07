"""A throwaway PostgreSQL server for the tests, from the Debian ``postgresql`` package.

Not a mock: ``initdb`` into a fresh directory, ``postgres`` listening on a free
loopback port only (unix socket inside the same directory), password
authentication over TCP so DSNs carry a real password, ``pg_ctl stop`` at the
end. PostgreSQL refuses to run as root, so when the tests run as root the
server runs as the ``postgres`` system user the package creates.

:func:`find_pg_bin` returns None (and the tests skip, saying why) only when the
binaries are missing; every other failure to start is an error, so a broken
server can never pass as a skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from wfhist.postgres import load_postgres_scanner
from wfhist.read import new_duckdb, sql_literal
from wfhist.schema import COLUMNS_POST_006, COLUMNS_PRE_006, TABLE, quote_ident

PASSWORD = "s3cret-pw"
DATABASE = "wfhist"
_PG_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "TEXT": "TEXT"}
_PANDAS_TYPES = {"INTEGER": "Int64", "REAL": "Float64", "TEXT": "object"}


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<ver>/bin`` holding initdb and pg_ctl, if any."""
    env = os.environ.get("WFHIST_PG_BIN")
    candidates = [env] if env else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )[::-1]
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], **kw: object) -> None:
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()}")


@dataclass(frozen=True)
class PgServer:
    """A running server: where its binaries and socket are, and its port."""

    bin_dir: Path
    socket_dir: Path
    port: int

    def dsn(self, database: str = DATABASE, password: str = PASSWORD) -> str:
        """A TCP DSN (password authenticated) for ``database``."""
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` as the superuser over the unix socket (outside any transaction)."""
        _run([str(self.bin_dir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port),
              "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql])  # fmt: skip


@contextlib.contextmanager
def running_server(bin_dir: Path) -> Iterator[PgServer]:
    """Start a server with an empty database ``wfhist``, yield it, stop it, remove its files."""
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "running as root and there is no 'postgres' user to run the server as; "
                "install the Debian package 'postgresql' (it creates the user)"
            ) from None
    base = Path(tempfile.mkdtemp(prefix="wfhist-pg-"))
    data, log, pwfile = base / "data", base / "server.log", base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (base, pwfile):
            os.chown(path, user.pw_uid, user.pw_gid)
    server = PgServer(bin_dir, base, _free_port())
    started = False
    try:
        try:
            _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                  f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                  "--encoding=UTF8", "--locale=C"])  # fmt: skip
            options = (
                f"-c listen_addresses=127.0.0.1 -p {server.port} -k {base} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                  "-w", "-t", "60", "start"])  # fmt: skip
            started = True
            server.psql(f"CREATE DATABASE {DATABASE}")
        except RuntimeError as exc:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n--- server log ---\n{tail}") from exc
        yield server
    finally:
        if started:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def _clean(value: object, declared: str) -> object:
    """A SQLite value as a strictly typed column would hold it: wrong storage class -> None.

    PostgreSQL cannot store ``'N/A'`` in a BIGINT column, so the dirty cells of the
    sample become NULL, exactly as wfhist's SQLite reader shows them.
    """
    if value is None:
        return None
    if declared == "INTEGER":
        return value if isinstance(value, int) else None
    if declared == "REAL":
        return float(value) if isinstance(value, int | float) else None
    return value if isinstance(value, str) else None


def load_sqlite_into_postgres(sqlite_path: Path, dsn: str, *, post_006: bool = False) -> int:
    """Copy ``workflow_history`` of a sample file into a new typed PostgreSQL table.

    The DDL runs inside PostgreSQL (``postgres_execute``) so the column types are
    PostgreSQL's own; rows go through DuckDB's postgres extension attached
    read-write -- for this test loader only; wfhist itself attaches read-only.
    """
    columns = COLUMNS_POST_006 if post_006 else COLUMNS_PRE_006
    con = sqlite3.connect(f"{sqlite_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        have = [r[1] for r in con.execute(f"PRAGMA table_info({TABLE})")]
        names = [c.name for c in columns if c.name in have]
        rows = con.execute(
            f"SELECT {', '.join(quote_ident(n) for n in names)} FROM {TABLE} ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    decl = {c.name: c.type for c in columns}
    frame = pd.DataFrame(
        {
            n: pd.array([_clean(r[k], decl[n]) for r in rows], dtype=_PANDAS_TYPES[decl[n]])
            for k, n in enumerate(names)
        }
    )
    ddl = ", ".join(
        f"{quote_ident(n)} {_PG_TYPES[decl[n]]}" + (" PRIMARY KEY" if n == "id" else "")
        for n in names
    )
    duck: duckdb.DuckDBPyConnection = new_duckdb()
    try:
        load_postgres_scanner(duck)
        duck.execute(f"ATTACH {sql_literal(dsn)} AS pgw (TYPE postgres)")
        duck.execute(
            "CALL postgres_execute('pgw', ?)",
            [f"DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} ({ddl})"],
        )
        duck.register("frame", frame)
        duck.execute(f"INSERT INTO pgw.public.{TABLE} BY NAME SELECT * FROM frame")
    finally:
        duck.close()
    return len(rows)
