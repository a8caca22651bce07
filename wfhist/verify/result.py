"""The result of a verification: checks with a status, and the findings behind them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass
class Check:
    """One finding: PASS / WARN / FAIL, a one-line detail, numbers and sample keys."""

    name: str
    status: str
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)
    samples: list[Any] = field(default_factory=list)


@dataclass
class VerifyResult:
    """Everything a verification found; ``to_dict()`` is the ``--json`` document."""

    before: dict[str, Any]
    after: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    columns_dropped: list[dict[str, Any]] = field(default_factory=list)
    columns_added: list[dict[str, Any]] = field(default_factory=list)
    columns_renamed: list[dict[str, Any]] = field(default_factory=list)
    values_changed: list[dict[str, Any]] = field(default_factory=list)
    merge_conflicts: list[dict[str, Any]] = field(default_factory=list)
    indexes_dropped: list[dict[str, Any]] = field(default_factory=list)
    indexes_added: list[dict[str, Any]] = field(default_factory=list)
    indexes_renamed: list[dict[str, Any]] = field(default_factory=list)
    schema_changes: list[dict[str, Any]] = field(default_factory=list)
    triggers_views: dict[str, list[str]] = field(default_factory=dict)
    sequences: list[dict[str, Any]] = field(default_factory=list)
    rename_hints: list[dict[str, Any]] = field(default_factory=list)
    integrity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        """PASS unless some check failed (WARNs do not fail: no value was lost)."""
        return FAIL if any(c.status == FAIL for c in self.checks) else PASS

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it was not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out = {"verdict": self.verdict, "checks": [asdict(c) for c in self.checks]}
        for key, value in asdict(self).items():
            if key != "checks":
                out[key] = value
        return out
