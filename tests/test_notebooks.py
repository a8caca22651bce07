"""The report notebooks: committed clean, documented parameters, and what they produce when run.

Static checks read the committed ``.ipynb`` files. Execution checks use the
reports run once per session by :mod:`reportruns` (real sample files, non-default
parameters: another time zone, a status filter, a two-version scoring file, a
done migration, a failing dry run) and assert on the JSON each notebook wrote,
the exit codes and the files left behind.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest
from reportruns import (
    MISSING_ID,
    OTHER_TZ,
    OUT_OF_RANGE_ID,
    QUALITY_SHIFT,
    STATUS,
    V2_WHERE,
    Run,
    executed_reports,
    expected_heatmap,
)

from wfhist.report import NOTEBOOK_DIR, REPORTS

NOTEBOOKS = [NOTEBOOK_DIR / f"{name}.ipynb" for name in REPORTS]
_ASSIGNMENT = re.compile(r"^(\w+)\s*(?::\s*([\w\[\], ]+))?\s*=\s*(.+?)\s*(?:#\s*(.*))?$")


def _parameters_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


# --- committed notebooks ------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exactly_one_parameters_cell_every_parameter_typed_and_documented(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = _parameters_cells(nb)
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters'"
    lines = [ln for ln in cells[0].source.splitlines() if ln.strip() and not ln.startswith("#")]
    parsed = [_ASSIGNMENT.match(ln) for ln in lines]
    assert all(parsed), f"{path.name}: unparseable parameter line(s)"
    for m in parsed:
        name, annotation, _default, help_text = m.groups()
        assert annotation, f"{path.name}: parameter {name} has no type annotation"
        assert help_text and len(help_text) > 10, f"{path.name}: parameter {name} has no help"
    # papermill must see the same parameters (a second '=' on a line hides one from it)
    inspected = papermill.inspect_notebook(str(path))
    assert list(inspected) == [m.group(1) for m in parsed]
    for name, info in inspected.items():
        assert info["inferred_type_name"] not in (None, "None"), name
        assert info["help"], name
    assert "db_path" in inspected and "json_path" in inspected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_as_a_report(path: Path) -> None:
    """A title first, prose before every code cell, and no raw prints in between."""
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        assert nb.cells[i - 1].cell_type == "markdown", f"{path.name} cell {i}: no text before"
        assert "print(" not in cell.source, f"{path.name} cell {i} prints raw output"
    sections = [
        c.source for c in nb.cells if c.cell_type == "markdown" and "\n## " in "\n" + c.source
    ]
    assert len(sections) >= 4


# --- executed reports -----------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return executed_reports(tmp_path_factory.getbasetemp())


def _json(run: Run) -> dict:
    return json.loads(run.json.read_text())


@pytest.mark.slow
def test_every_successful_run_leaves_notebook_html_json(runs: dict[str, Run]) -> None:
    for key in ("temporal", "scoring_two", "scoring_one", "verify_pass"):
        run = runs[key]
        assert run.returncode == 0, f"{key}: {run.stderr}"
        for path in (run.ipynb, run.html, run.json):
            assert path.is_file() and path.stat().st_size > 0, path
        assert str(run.html) in run.stdout and str(run.ipynb) in run.stdout
        nb = nbformat.read(run.ipynb, as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, key
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells), (
            "papermill did not inject the parameters"
        )


@pytest.mark.slow
def test_temporal_heatmap_equals_independently_derived_counts(runs: dict[str, Run]) -> None:
    run = runs["temporal"]
    figures = _json(run)
    assert figures["tz"] == OTHER_TZ and figures["filters"] == {"status": STATUS}
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as con:
        selected = con.execute(
            "SELECT count(*) FROM workflow_history WHERE status = ?", (STATUS,)
        ).fetchone()[0]
        total = con.execute("SELECT count(*) FROM workflow_history").fetchone()[0]
    assert figures["rows_selected"] == selected < total == figures["rows_total"]
    heat = figures["heatmap"]
    assert heat["weekdays"][0] == "Mon" and len(heat["counts"]) == 7
    assert heat["total"] + figures["rows_without_hour_or_weekday"] == selected
    assert heat["counts"] == expected_heatmap(run.db, OTHER_TZ, STATUS)
    # with only completed runs, every shown success rate is 100 %, thin cells are null
    rates = np.array(figures["success_rate"]["percent"], dtype=float)
    counts = np.array(heat["counts"])
    assert np.all(rates[counts >= 3] == 100.0)
    assert np.all(np.isnan(rates[counts < 3]))


@pytest.mark.slow
def test_temporal_tz_changes_the_heatmap(runs: dict[str, Run]) -> None:
    """Guard against the zone being ignored: Tokyo and the host's zone must differ."""
    run = runs["temporal"]
    tokyo = _json(run)["heatmap"]["counts"]
    assert tokyo != expected_heatmap(run.db, "America/Los_Angeles", STATUS)


@pytest.mark.slow
def test_scoring_two_versions(runs: dict[str, Run]) -> None:
    run = runs["scoring_two"]
    figures = _json(run)
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as con:
        versions = dict(
            con.execute("SELECT scoring_version, count(*) FROM workflow_history GROUP BY 1")
        )
        q = {
            v: np.array(
                [
                    r[0]
                    for r in con.execute(
                        "SELECT quality_score FROM workflow_history WHERE scoring_version = ? "
                        "AND quality_score BETWEEN 0 AND 100",
                        (v,),
                    )
                ]
            )
            for v in ("1.0", "2.0")
        }
        moved = con.execute(f"SELECT count(*) FROM workflow_history WHERE {V2_WHERE}").fetchone()
    assert figures["versions"] == versions and versions["2.0"] == moved[0]
    shift = next(s for s in figures["median_shifts"] if s["score"] == "quality_score")
    assert shift["version"] == "2.0"
    assert shift["shift"] == pytest.approx(np.median(q["2.0"]) - np.median(q["1.0"]))
    assert shift["ci low"] <= shift["shift"] <= shift["ci high"]
    assert shift["shift"] < 0 and shift["ci high"] < 0 and shift["significant"]
    assert abs(shift["shift"] - QUALITY_SHIFT) < 3
    assert figures["problems"]["by_kind"] == {"missing": 1, "out of range": 1}
    nb = nbformat.read(run.ipynb, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert str(OUT_OF_RANGE_ID) in text and str(MISSING_ID) in text
    assert "one scoring version" not in text


@pytest.mark.slow
def test_scoring_one_version_says_so_instead_of_empty_plots(runs: dict[str, Run]) -> None:
    run = runs["scoring_one"]
    assert run.returncode == 0, run.stderr
    figures = _json(run)
    assert figures["versions"] == {"before 006": 200}
    assert figures["median_shifts"] == []
    nb = nbformat.read(run.ipynb, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "one scoring version only: before 006 (200 rows)" in text
    images = sum(
        1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    )
    assert images == 2  # versions over time and distributions; no empty shift plot


@pytest.mark.slow
def test_verify_done_migration_pass(runs: dict[str, Run]) -> None:
    run = runs["verify_pass"]
    doc = _json(run)
    assert doc["verdict"] == "PASS" and doc["mode"] == "verify"
    assert doc["backup_path"] == str(run.extra["backup"])
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT count(*) FROM workflow_history").fetchone()[0]
        ones = con.execute(
            "SELECT count(*) FROM workflow_history WHERE scoring_version = '1.0'"
        ).fetchone()[0]
    added = doc["columns_added"][0]
    assert added["column"] == "scoring_version"
    assert added["rows"] == added["rows_default"] == rows == ones
    assert "PASS — no value lost" in run.html.read_text()
    assert "<title>Demo 006+007</title>" in run.html.read_text()


@pytest.mark.slow
def test_failing_dry_run_exits_nonzero_with_html_and_json(runs: dict[str, Run]) -> None:
    run = runs["verify_plan_fail"]
    assert run.returncode == 1
    assert run.html.is_file() and run.ipynb.is_file()
    assert 'section "Result"' in run.stderr and "VerificationFailed" in run.stderr
    doc = _json(run)
    assert doc["verdict"] == "FAIL" and doc["mode"] == "plan"
    dropped = {d["column"]: d["non_null"] for d in doc["verification"]["columns_dropped"]}
    assert len(dropped) == 49
    assert {"id", "created_at", "model_used", "actual_cost_total"} <= set(dropped)
    html = run.html.read_text()
    assert "FAIL — 49 columns dropped holding" in html
    # everything before the raising cell rendered: the last section's table is there
    assert "PRAGMA integrity_check" in html


@pytest.mark.slow
def test_failing_done_migration_via_library(runs: dict[str, Run]) -> None:
    run = runs["verify_done_fail"]
    result = run.result
    assert result is not None and not result.ok
    assert result.verdict == "FAIL" and result.json == run.json
    assert result.failed_cell and "VerificationFailed" in result.failed_cell
    assert result.html.is_file() and result.ipynb.is_file()
    doc = _json(run)
    changed = {v["column"]: v["changed"] for v in doc["values_changed"]}
    assert changed["model_used"] >= 1
    assert "values changed or lost" in result.html.read_text()


@pytest.mark.slow
def test_cell_error_names_the_cell_and_still_writes_html(runs: dict[str, Run]) -> None:
    run = runs["bad_tz"]
    assert run.returncode == 1
    assert run.html.is_file()
    assert not run.json.exists()  # the notebook stopped before writing it
    assert "UsageError" in run.stderr and "Mars/Olympus_Mons" in run.stderr
    assert re.search(r"cell \d+ \(In \[\d+\]", run.stderr)


@pytest.mark.slow
def test_verify_defaults_dry_run_the_rename_migration(runs: dict[str, Run]) -> None:
    """With only --db, the notebook's own relative default (../migrations/008...) resolves."""
    run = runs["verify_default"]
    assert run.returncode == 0, run.stderr
    doc = _json(run)
    assert doc["mode"] == "plan" and doc["verdict"] == "PASS"
    assert doc["migration_path"] == str(
        NOTEBOOK_DIR.parent / "migrations" / "008_rename_temporal_columns.sql"
    )
    renamed = {(r["old"], r["new"]) for r in doc["verification"]["columns_renamed"]}
    assert renamed == {
        ("submission_hour", "hour_of_day"),
        ("submission_day_of_week", "day_of_week"),
    }
