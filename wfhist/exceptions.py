"""Errors an operator or analyst can act on.

Every expected mistake (bad path, wrong file, unknown option value) raises a
:class:`WfhistError` whose message is one line naming the file, column or
parameter and what to do. The CLI prints that line to stderr and exits with
``exit_code`` -- never a traceback.
"""

from __future__ import annotations


class WfhistError(Exception):
    """Base class: an expected failure with a one-line, actionable message."""

    exit_code = 2


class UsageError(WfhistError):
    """Bad input from the user: a path, option value or parameter."""


class SchemaError(WfhistError):
    """The database's shape is not one wfhist knows or expects."""


class ExtensionError(WfhistError):
    """DuckDB's sqlite scanner could not be loaded offline."""


class LockedError(WfhistError):
    """Another wfhist process holds the migration lock on this file."""


class BackupError(WfhistError):
    """A backup could not be written or did not verify; nothing was left behind."""

    exit_code = 1


class MigrationError(WfhistError):
    """A migration failed; the database is unchanged (or was restored)."""

    exit_code = 1
