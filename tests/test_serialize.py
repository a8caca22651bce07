"""wfhist.serialize: real verify results validate against the shipped JSON Schema."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from backup_dbs import make_db
from dbfiles import run_sql

from wfhist.backup import BackupResult, backup, online_copy, read_manifest
from wfhist.exceptions import BackupError
from wfhist.rollback import RollbackResult, rollback
from wfhist.serialize import SERIALIZERS, Kind, dumps, schema, to_json
from wfhist.verify import VerifyResult, verify, verify_connection

SETUP = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a, b TEXT, c INTEGER, d TEXT, "
    "keep TEXT)",
    "CREATE INDEX idx_c ON t(c)",
    "CREATE TABLE k (x, y)",
    "CREATE VIEW v AS SELECT id FROM t",
    "INSERT INTO t (a, b, c, d, keep) VALUES (-0.0, CAST(x'61ff' AS TEXT), 1, NULL, 'k'), "
    "(x'00ff', 'two', 2, '2', 'k'), (0.5, 'three', 3, '3', 'k')",
    "INSERT INTO k VALUES (1, 'a'), (1, 'a')",
]


@pytest.fixture
def before(tmp_path: Path) -> Path:
    path = tmp_path / "before.db"
    run_sql(path, *SETUP)
    return path


def _after(before: Path, *change: str, name: str = "after.db") -> Path:
    after = before.with_name(name)
    online_copy(before, after)
    run_sql(after, *change)
    return after


def _results(before: Path) -> list[VerifyResult]:
    """PASS, every kind of FAIL finding, an unreadable AFTER, and an in-connection run."""
    out = [verify(before, _after(before, name="same.db"))]
    after = _after(
        before,
        "UPDATE t SET a = 0.0, b = CAST(x'61fe' AS TEXT) WHERE id = 1",
        "UPDATE t SET a = x'01' WHERE id = 2",
        "DELETE FROM t WHERE id = 3",
        "ALTER TABLE t ADD COLUMN e TEXT DEFAULT 'x'",
        "ALTER TABLE t DROP COLUMN keep",
        "DROP INDEX idx_c",
        "DROP VIEW v",
        "CREATE VIEW v AS SELECT id, a FROM t",
        "INSERT INTO k VALUES (1, 'a')",
        "UPDATE sqlite_sequence SET seq = 1",
    )
    out.append(verify(before, after))
    out.append(verify(before, after, renames={"t": {"c": "d", "d": "d"}}))  # merge conflicts
    broken = before.with_name("broken.db")
    data = bytearray(before.read_bytes())
    data[100:] = b"\xee" * (len(data) - 100)
    broken.write_bytes(bytes(data))
    out.append(verify(before, broken))
    con = sqlite3.connect(after, isolation_level=None)
    con.execute("ATTACH DATABASE ? AS before", (f"{before.as_uri()}?mode=ro",))
    con.execute("BEGIN")
    out.append(verify_connection(con))
    con.execute("ROLLBACK")
    con.close()
    return out


def test_real_results_validate_against_the_schema(before: Path) -> None:
    results = _results(before)
    assert [r.verdict for r in results] == ["PASS", "FAIL", "FAIL", "FAIL", "FAIL"]
    assert results[2].merge_conflicts  # the merge case really produced conflicts
    validator = jsonschema.Draft202012Validator(schema("verify"))
    for result in results:
        doc = json.loads(dumps(result))  # through text: only JSON types survive
        assert doc["format"] == "wfhist-verify/1" and doc["kind"] == "verify"
        validator.validate(doc)


def test_the_schema_catches_a_renamed_key(before: Path) -> None:
    doc = to_json(verify(before, _after(before)))
    doc["values_modified"] = doc.pop("values_changed")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema("verify"))


def test_the_schema_is_valid_and_shipped_as_package_data() -> None:
    jsonschema.Draft202012Validator.check_schema(schema("verify"))
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"schemas/*.json"' in pyproject


def test_registry_adds_a_kind_and_refuses_unknown_types() -> None:
    @dataclass
    class Other:
        n: int

    with pytest.raises(TypeError, match="no serializer for Other"):
        to_json(Other(1))
    SERIALIZERS[Other] = Kind("other", 2, lambda r: {"n": r.n})
    try:
        assert to_json(Other(3)) == {"format": "wfhist-other/2", "kind": "other", "n": 3}
    finally:
        del SERIALIZERS[Other]


# --- backup and rollback -----------------------------------------------------------


def _backup_and_rollback(tmp_path: Path) -> tuple[BackupResult, RollbackResult]:
    """A real backup of a real-shaped file (foreign-key mismatch notes included), then a
    real rollback to it after a change."""
    db = make_db(tmp_path / "wf.db", rows=60)
    made = backup(db, tmp_path / "backups")
    run_sql(db, "DELETE FROM workflow_history WHERE id > 30")
    return made, rollback(db, made.path)


@pytest.mark.parametrize("which", ["backup", "rollback"])
def test_real_backup_and_rollback_results_validate(tmp_path: Path, which: str) -> None:
    made, restored = _backup_and_rollback(tmp_path)
    result = made if which == "backup" else restored
    doc = json.loads(dumps(result))
    assert doc["kind"] == which
    assert doc["format"] == {"backup": "wfhist-backup/3", "rollback": "wfhist-rollback/1"}[which]
    assert doc["rows"]["workflow_history"] == 60
    jsonschema.Draft202012Validator(schema(which)).validate(doc)


@pytest.mark.parametrize(
    ("which", "old", "new"),
    [("backup", "manifest", "manifest_path"), ("rollback", "kept_aside", "aside")],
)
def test_a_renamed_backup_or_rollback_key_fails_validation(
    tmp_path: Path, which: str, old: str, new: str
) -> None:
    made, restored = _backup_and_rollback(tmp_path)
    doc = to_json(made if which == "backup" else restored)
    doc[new] = doc.pop(old)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema(which))


def test_a_backup_result_document_is_not_taken_for_a_manifest(tmp_path: Path) -> None:
    """Result and manifest have different format strings: neither reads as the other."""
    made, _ = _backup_and_rollback(tmp_path)
    fake = tmp_path / "fake.db"
    fake.write_bytes(made.path.read_bytes())
    fake.with_suffix(".json").write_text(dumps(made))
    with pytest.raises(BackupError, match="not a wfhist backup manifest"):
        read_manifest(fake)
    manifest = json.loads(made.manifest_path.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, schema("backup"))


@pytest.mark.parametrize(
    "kind", ["verify", "plan", "migrate", "backup", "rollback", "status", "report"]
)
def test_every_shipped_schema_is_a_valid_schema(kind: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(kind))


# --- plan ------------------------------------------------------------------------------


def test_real_plan_results_validate_passing_losing_and_failing(sample_db: Path) -> None:
    """The shipped 006 (PASS), 005 restricted to existing columns (loses values), and 005
    as written (fails mid-script: partial state and a keep-going run)."""
    from conftest import FIXTURES, MIGRATIONS

    from wfhist.plan import plan_migration

    validator = jsonschema.Draft202012Validator(schema("plan"))
    verify_validator = jsonschema.Draft202012Validator(schema("verify"))
    runs = [
        plan_migration(sample_db, MIGRATIONS / "006_add_scoring_version.sql"),
        plan_migration(sample_db, FIXTURES / "005_restricted_to_existing_columns.sql"),
        plan_migration(sample_db, FIXTURES / "005_rename_temporal_columns.sql"),
    ]
    assert [r.verdict for r in runs] == ["PASS", "FAIL", "FAIL"]
    assert runs[2].error and runs[2].partial and runs[2].keep_going  # every branch is filled
    for result in runs:
        doc = json.loads(dumps(result))
        assert doc["format"] == "wfhist-plan/1" and doc["kind"] == "plan"
        validator.validate(doc)
        nested = [
            doc["verification"],
            doc["partial"],
            (doc["keep_going"] or {}).get("verification"),
        ]
        for verification in filter(None, nested):
            verify_validator.validate(verification)  # complete verify documents, not fragments
    broken = to_json(runs[2])
    broken["error"]["statement_no"] = broken["error"].pop("statement_number")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


# --- status ----------------------------------------------------------------------------


def test_real_status_results_validate_every_state_drift_and_a_stranger(
    tmp_path: Path, sample_db: Path
) -> None:
    import shutil

    from conftest import MIGRATIONS

    from wfhist.demo import create_sample_db
    from wfhist.migrate import migrate
    from wfhist.schema import STATES
    from wfhist.status import status

    results = [status(create_sample_db(tmp_path / f"{s}.db", rows=30, state=s)) for s in STATES]
    private = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, private)
    migrate(sample_db, migrations_dir=private)
    with (private / "006_add_scoring_version.sql").open("a") as fh:
        fh.write("\n-- edited after it was applied\n")
    (private / "007_schema_version_view.sql").unlink()
    drifted = status(sample_db, migrations_dir=private)
    assert {m.checksum for m in drifted.migrations} >= {"changed", "missing", "-"}
    stranger = tmp_path / "odd.db"
    run_sql(stranger, "CREATE TABLE workflow_history (id INTEGER PRIMARY KEY, colour TEXT)")
    results += [drifted, status(stranger)]
    assert results[-1].shape == "unknown" and results[-1].notes
    validator = jsonschema.Draft202012Validator(schema("status"))
    for result in results:
        doc = json.loads(dumps(result))
        assert doc["format"] == "wfhist-status/1" and doc["kind"] == "status"
        validator.validate(doc)
    doc = to_json(drifted)
    doc["migrations"][0]["sha"] = doc["migrations"][0].pop("checksum")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


# --- report ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_results(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Two real report runs: a migration verified PASS, and a notebook failing in a cell."""
    from reportruns import broken_history, migrated_with_backup

    from wfhist.demo import create_sample_db
    from wfhist.report import render_report

    work = tmp_path_factory.mktemp("report-json")
    pre006 = create_sample_db(work / "pre006.db", rows=60)
    migrated, backup_file = migrated_with_backup(pre006, work / "migrated.db", work / "backups")
    out = work / "reports"
    passed = render_report(
        "verify_migration", migrated, {"backup_path": str(backup_file)}, out_dir=out, no_input=True
    )
    failed = render_report("temporal_analytics", broken_history(work / "broken.db"), out_dir=out)
    return [passed, failed]


def test_real_report_results_validate(report_results: list[Any]) -> None:
    passed, failed = report_results
    assert passed.ok and passed.verdict == "PASS" and passed.json is not None
    assert not failed.ok and failed.failed_cell and failed.html.name.endswith(".failed.html")
    validator = jsonschema.Draft202012Validator(schema("report"))
    for result in report_results:
        doc = json.loads(dumps(result))
        assert doc["format"] == "wfhist-report/1" and doc["kind"] == "report"
        validator.validate(doc)
        assert doc["html"] == str(result.html)
    doc = to_json(failed)
    doc["failed"] = doc.pop("failed_cell")
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(doc)


def test_real_report_results_render_their_files(report_results: list[Any]) -> None:
    """The text ``wfhist report`` prints, from wfhist.render (runs shared with the test above)."""
    from wfhist.render import render

    passed, failed = report_results
    assert render(passed).splitlines() == [
        f"notebook {passed.ipynb}",
        f"html     {passed.html}",
        f"json     {passed.json}",
    ]
    assert render(failed).splitlines() == [f"notebook {failed.ipynb}", f"html     {failed.html}"]


# --- the CLI prints these documents ------------------------------------------------------


def test_cli_json_of_status_backup_rollback_and_plan_follow_the_schemas(
    sample_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import MIGRATIONS

    from wfhist.cli import main

    def run(*args: str, code: int = 0) -> dict[str, Any]:
        assert main([*args]) == code
        doc: dict[str, Any] = json.loads(capsys.readouterr().out)
        jsonschema.Draft202012Validator(schema(doc["kind"])).validate(doc)
        return doc

    assert run("status", str(sample_db), "--json")["kind"] == "status"
    made = run("backup", str(sample_db), "--out", str(tmp_path / "b"), "--json")
    assert made["format"] == "wfhist-backup/3" and Path(made["path"]).is_file()
    run_sql(sample_db, "DELETE FROM workflow_history WHERE id > 400")
    restored = run("rollback", str(sample_db), "--backup", made["path"], "--json")
    assert restored["format"] == "wfhist-rollback/1" and restored["backup"] == made["path"]
    out = tmp_path / "plan.json"
    migration = str(MIGRATIONS / "006_add_scoring_version.sql")
    assert main(["plan", str(sample_db), migration, "--json", str(out)]) == 0
    assert "plan verdict: PASS" in capsys.readouterr().out  # the text still goes to stdout
    doc = json.loads(out.read_text())
    assert doc["format"] == "wfhist-plan/1" and doc["verification"]["format"] == "wfhist-verify/1"
    jsonschema.Draft202012Validator(schema("plan")).validate(doc)
    plan_doc = run("plan", str(sample_db), migration, "--json", "-")
    assert plan_doc["verdict"] == "PASS"


def test_cli_report_json_is_the_document_and_a_failed_cell_still_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reportruns import broken_history

    from wfhist.cli import main

    db = broken_history(tmp_path / "broken.db")
    args = ["report", "temporal_analytics", "--db", str(db), "--out", str(tmp_path / "r")]
    assert main([*args, "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # stdout is the document alone
    jsonschema.Draft202012Validator(schema("report")).validate(doc)
    assert doc["ok"] is False and doc["failed_cell"] and doc["html"].endswith(".failed.html")
    assert "failed at" in captured.err  # the failure line still goes to stderr
