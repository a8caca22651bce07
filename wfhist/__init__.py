"""wfhist: read, migrate, back up and verify the workflow-history SQLite database.

Analysts: ``wfhist.connect(path)`` gives a DuckDB connection with a ``history``
view (compatibility mapping applied); ``wfhist.load_history(path, ...)`` gives a
filtered pandas DataFrame. Operators: ``wfhist.verify_files(before, after)``,
``wfhist.plan_migration``, ``wfhist.migrate.migrate``, ``wfhist.backup.backup``
and the ``wfhist`` command.

``wfhist.verify`` is the verification package (``from wfhist.verify import
verify, verify_connection, ...``); its two-file entry point is exported here as
``verify_files`` so that no function shadows a module. The analyst side loads
DuckDB, pandas and numpy, so it is imported on first use:
``wfhist backup`` does not pay for libraries it never touches.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from wfhist.exceptions import WfhistError
from wfhist.plan import plan_migration
from wfhist.schema import check_schema
from wfhist.verify import verify as verify_files

_LAZY = {
    "connect": "wfhist.read",
    "load_history": "wfhist.read",
    "summarize": "wfhist.read",
    "create_sample_db": "wfhist.demo",
    "render_report": "wfhist.report",
    "export_parquet": "wfhist.export",
}

__all__ = [
    "WfhistError",
    "__version__",
    "check_schema",
    "plan_migration",
    "verify_files",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wfhist' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
