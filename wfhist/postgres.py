"""The history table in PostgreSQL, read through DuckDB's postgres scanner.

The service later moved ``workflow_history`` to PostgreSQL with the same table
and columns, so a ``postgresql://`` DSN is just another source for
:func:`wfhist.read.connect`: the database is attached **read-only** and the same
``history`` view (mapping, derived hours, filters) is built over it.

Like the sqlite scanner, the extension is loaded by path from the PyPI package
``duckdb-extension-postgres-scanner`` (its version must equal duckdb's); DuckDB
never downloads anything.

PostgreSQL is strictly typed, so the dirty-value profiling the SQLite reader
needs does not apply: a BIGINT column cannot hold ``'N/A'``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import duckdb

from wfhist.exceptions import ExtensionError, SchemaError, UsageError
from wfhist.read.extensions import packaged_extension, sql_literal
from wfhist.read.sources import REQUIRED_COLUMNS, SourceInfo, mapping_name
from wfhist.schema import TABLE, classify_columns, quote_ident

PIP_PACKAGE = "duckdb-extension-postgres-scanner"
SCHEMA = "public"
#: The reader parses these columns as text in the service's formats.
TEXT_TIMESTAMPS = ("start_time", "created_at")
_TEXT_TYPES = ("text", "character varying", "character")


def postgres_scanner_path() -> Path | None:
    """The extension binary shipped by the ``duckdb-extension-postgres-scanner`` wheel, if any."""
    return packaged_extension("duckdb_extension_postgres_scanner", "postgres_scanner")


def load_postgres_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """Load the postgres scanner from the pip package by path; never from the network."""
    path = postgres_scanner_path()
    hint = (
        f"run 'pip install {PIP_PACKAGE}=={duckdb.__version__}' (its version must equal duckdb's)"
    )
    if path is None:
        raise ExtensionError(f"DuckDB's postgres scanner is not installed; {hint}")
    try:
        con.load_extension(str(path))
    except duckdb.Error as exc:
        raise ExtensionError(
            f"{path}: cannot be loaded ({str(exc).splitlines()[0]}); {hint}"
        ) from exc


def _secrets(dsn: str) -> list[str]:
    """Every password the DSN carries (userinfo and ``?password=``), raw and decoded."""
    found: list[str] = []
    netloc = dsn.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    query = dsn.split("?", 1)[1] if "?" in dsn else ""
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if unquote(key).strip() == "password" and value:
            found.append(value)
    found += [unquote(f) for f in found]
    return sorted({f for f in found if f}, key=len, reverse=True)


def mask_secret_text(text: str, dsn: str) -> str:
    """``text`` (an error message, a log line) with every password of ``dsn`` replaced."""
    for secret in _secrets(dsn):
        text = text.replace(secret, "***")
    return text


def mask_dsn(dsn: str) -> str:
    """The DSN with any password (in the userinfo or ``?password=``) replaced by ``***``.

    Works on malformed DSNs too (an unclosed ``[`` in an IPv6 host): the
    password is masked by its text, never by a parser that may refuse the DSN.
    """
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return mask_secret_text(dsn, dsn)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_dsn(dsn: str) -> None:
    """Refuse a DSN Python cannot parse, in one line with its password masked."""
    try:
        parts = urlsplit(dsn)
        _ = parts.port
    except ValueError as exc:
        raise UsageError(
            f"{mask_dsn(dsn)}: not a valid postgresql:// address ({exc}); write it as "
            "postgresql://user@host:port/database, an IPv6 host in [brackets]"
        ) from exc


def dsn_label(dsn: str) -> str:
    """The ``source`` value for a DSN: the database name, else the host."""
    parts = urlsplit(dsn)
    name = unquote(parts.path.lstrip("/"))
    return name or parts.hostname or "postgres"


def _one_line(exc: Exception, dsn: str) -> str:
    """The first line of a driver error, with every password masked should it appear."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return mask_secret_text(text, dsn)


def attach_postgres(con: duckdb.DuckDBPyConnection, dsn: str, alias: str) -> SourceInfo:
    """Attach the PostgreSQL database ``dsn`` read-only as ``alias`` and describe its table.

    The table is looked up in schema ``public``, which is also where DuckDB
    resolves ``alias.workflow_history``. ``start_time`` and ``created_at`` must be
    text (the service's two formats); a table that stores them as ``timestamp``
    is refused with the column named rather than silently mis-read.
    """
    check_dsn(dsn)
    masked = mask_dsn(dsn)
    load_postgres_scanner(con)
    try:
        con.execute(f"ATTACH {sql_literal(dsn)} AS {quote_ident(alias)} (TYPE postgres, READ_ONLY)")
    except duckdb.Error as exc:
        raise UsageError(
            f"{masked}: cannot connect to PostgreSQL ({_one_line(exc, dsn)}); "
            "check host, port, database, user and password"
        ) from exc
    sql = (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{SCHEMA}' AND table_name = '{TABLE}' ORDER BY ordinal_position"
    )
    try:
        declared = con.execute(
            f"SELECT * FROM postgres_query({sql_literal(alias)}, {sql_literal(sql)})"
        ).fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"{masked}: cannot be read ({_one_line(exc, dsn)})") from exc
    if not declared:
        raise SchemaError(
            f"{masked}: has no table {SCHEMA}.{TABLE}; is this the service's history database?"
        )
    names = [str(n) for n, _ in declared]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError(
            f"{masked}: {SCHEMA}.{TABLE} lacks required column(s) {', '.join(missing)}; "
            "check that this is the service's history table"
        )
    types = dict(declared)
    for name in TEXT_TIMESTAMPS:
        if str(types[name]) not in _TEXT_TYPES:
            raise SchemaError(
                f"{masked}: {SCHEMA}.{TABLE}.{name} is {types[name]}, not text; wfhist reads "
                "the service's text timestamps (ask for timestamp column support)"
            )
    duck_types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = ? AND table_name = ?",
            [alias, SCHEMA, TABLE],
        ).fetchall()
    )
    return SourceInfo(
        path=masked,
        alias=alias,
        columns=[(n, str(t), str(duck_types.get(n, ""))) for n, t in declared],
        state=classify_columns(names),
        mapping=mapping_name(names),
        has_scoring_version="scoring_version" in names,
        label=dsn_label(dsn),
        kind="postgres",
    )
