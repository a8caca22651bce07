"""wfhist: read, migrate, back up and verify the workflow-history SQLite database.

Analysts: ``wfhist.connect(path)`` gives a DuckDB connection with a ``history``
view (compatibility mapping applied); ``wfhist.load_history(path, ...)`` gives a
filtered pandas DataFrame. Operators: see the ``wfhist`` command.
"""

from __future__ import annotations

__version__ = "0.1.0"

from wfhist.exceptions import WfhistError
from wfhist.read import connect, load_history, summarize
from wfhist.schema import check_schema

__all__ = ["WfhistError", "__version__", "check_schema", "connect", "load_history", "summarize"]
