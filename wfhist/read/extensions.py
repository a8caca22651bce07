"""Loading DuckDB and its scanner extensions offline, by path, never from the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from wfhist.exceptions import ExtensionError

#: DuckDB settings for every connection wfhist opens: nothing is downloaded or auto-loaded.
OFFLINE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def sql_literal(value: str) -> str:
    """A SQL string literal. Only for statements that take no parameters (ATTACH, COPY)."""
    return "'" + value.replace("'", "''") + "'"


def packaged_extension(module: str, name: str) -> Path | None:
    """The DuckDB extension binary a pip package ships (``<module>/extensions/v<duckdb>/``).

    The ``duckdb-extension-*`` wheels carry signed binaries built for exactly one
    duckdb version, which is why the path includes it.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    return path if path.is_file() else None


def sqlite_scanner_path() -> Path | None:
    """The extension binary shipped by the ``duckdb-extension-sqlite-scanner`` wheel, if any."""
    return packaged_extension("duckdb_extension_sqlite_scanner", "sqlite_scanner")


def new_duckdb(path: str | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory unless ``path``) that never downloads extensions."""
    return duckdb.connect(path or ":memory:", config=dict(OFFLINE_CONFIG))


def load_sqlite_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """Load the sqlite scanner from the pip package by path; never from the network.

    Falls back to ``LOAD sqlite`` (an extension already installed in DuckDB's
    home directory). ``INSTALL sqlite`` is never tried: it downloads, and fails on
    locked-down machines.
    """
    path = sqlite_scanner_path()
    errors = []
    if path is not None:
        try:
            con.load_extension(str(path))
        except duckdb.Error as exc:
            errors.append(f"{path}: {exc}")
        else:
            con.execute("SET sqlite_disable_multithreaded_scans = true")
            return
    try:
        con.execute("LOAD sqlite")
    except duckdb.Error as exc:
        errors.append(f"LOAD sqlite: {exc}".splitlines()[0])
        raise ExtensionError(
            "DuckDB's sqlite scanner is not available offline; run "
            f"'pip install duckdb-extension-sqlite-scanner=={duckdb.__version__}' "
            f"(its version must equal duckdb's) [{'; '.join(errors)}]"
        ) from exc
    con.execute("SET sqlite_disable_multithreaded_scans = true")
