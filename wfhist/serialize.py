"""The one JSON serializer of results: ``to_json(result)`` -> a versioned document.

Every document starts with ``"format": "wfhist-<kind>/<version>"`` and
``"kind"``, and is described by the JSON Schema ``wfhist/schemas/<kind>.json``
(the tests validate real results against it). Adding a result kind is one entry
in :data:`SERIALIZERS` and one schema file; bump the version when a key changes
meaning or goes away, so a reader (the report notebooks) can refuse a document
it does not understand instead of showing an empty table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from wfhist.backup import BackupResult
from wfhist.migrations import MigrateResult
from wfhist.plan import PlanResult
from wfhist.report.run import ReportResult
from wfhist.rollback import RollbackResult
from wfhist.status import StatusResult
from wfhist.verify.result import VerifyResult


@dataclass(frozen=True)
class Kind:
    """How one result type is written: its kind name, format version and body."""

    name: str
    version: int
    body: Callable[[Any], dict[str, Any]]

    @property
    def format(self) -> str:
        return f"wfhist-{self.name}/{self.version}"


#: Result type -> its kind. ``body`` returns the JSON-ready fields of the result.
SERIALIZERS: dict[type, Kind] = {
    VerifyResult: Kind("verify", 1, lambda r: r.to_dict()),
    PlanResult: Kind("plan", 1, lambda r: _plan_body(r)),
    MigrateResult: Kind("migrate", 1, lambda r: _migrate_body(r)),
    # 1 and 2 name the manifest written next to each backup (wfhist.backup.MANIFEST_FORMAT):
    # the result of a run starts at 3, so one format string never names two shapes
    BackupResult: Kind("backup", 3, lambda r: r.to_dict()),
    RollbackResult: Kind("rollback", 1, lambda r: r.to_dict()),
    StatusResult: Kind("status", 1, lambda r: r.to_dict()),
    ReportResult: Kind("report", 1, lambda r: _report_body(r)),
}


def _migrate_body(result: MigrateResult) -> dict[str, Any]:
    """A migrate run; its verification is a complete ``wfhist-verify`` document."""
    body = result.to_dict()
    body["verification"] = to_json(result.verification) if result.verification else None
    return body


def _plan_body(result: PlanResult) -> dict[str, Any]:
    """A dry run; each of its verifications is a complete ``wfhist-verify`` document."""
    body = result.to_dict()
    for key, verification in (("verification", result.verification), ("partial", result.partial)):
        body[key] = to_json(verification) if verification else None
    if result.keep_going:
        body["keep_going"]["verification"] = to_json(result.keep_going["verification"])
    return body


def _report_body(result: ReportResult) -> dict[str, Any]:
    """A report run: its files, whether the notebook ran to its end, the recorded verdict."""
    return {
        "name": result.name,
        "ok": result.ok,
        "verdict": result.verdict,
        "failed_cell": result.failed_cell,
        "ipynb": str(result.ipynb),
        "html": str(result.html),
        "json": str(result.json) if result.json else None,
        "seconds": result.seconds,
        # the values the notebook ran with, as JSON (a path or date as its text)
        "parameters": json.loads(json.dumps(result.parameters, default=str)),
    }


def kind_of(result: Any) -> Kind:
    for cls in type(result).__mro__:
        kind = SERIALIZERS.get(cls)
        if kind is not None:
            return kind
    raise TypeError(
        f"no serializer for {type(result).__name__}: add one to wfhist.serialize.SERIALIZERS"
    )


def to_json(result: Any) -> dict[str, Any]:
    """The JSON document of a registered result (``format`` and ``kind`` first)."""
    kind = kind_of(result)
    return {"format": kind.format, "kind": kind.name, **kind.body(result)}


def dumps(result: Any, **options: Any) -> str:
    """:func:`to_json` as text (``json.dumps`` options passed through)."""
    return json.dumps(to_json(result), **options)


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of a kind's documents, shipped as package data."""
    text = resources.files("wfhist").joinpath("schemas", f"{kind}.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
