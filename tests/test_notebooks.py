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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import numpy as np
import papermill
import pytest
from reportruns import (
    MISSING_ID,
    OTHER_TZ,
    OUT_OF_RANGE_ID,
    ROWS,
    SOURCE_TZ,
    STATUS,
    V2_WHERE,
    Run,
    executed_reports,
    expected_heatmap,
    visible_text,
)

from wfhist.cli import main
from wfhist.report import NOTEBOOK_DIR, REPORTS, report_parameters

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
    # wfhist reads the cell itself (no papermill import before refusing a bad value): same view
    mine = report_parameters(path.stem)
    assert list(mine) == list(inspected)
    for name, info in inspected.items():
        ours = mine[name]
        assert (ours.type, ours.default, ours.help) == (
            info["inferred_type_name"],
            info["default"],
            info["help"],
        ), name


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


def _instants(db: Path) -> dict[int, datetime]:
    """Each run's instant (start_time, else created_at), derived here with zoneinfo."""
    src, utc = ZoneInfo(SOURCE_TZ), ZoneInfo("UTC")
    out = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        for rid, start, created in con.execute(
            "SELECT id, start_time, created_at FROM workflow_history"
        ):
            if start:
                out[rid] = datetime.fromisoformat(start).replace(tzinfo=src)
            elif "T" in created:
                out[rid] = datetime.fromisoformat(created).replace(tzinfo=src)
            else:
                out[rid] = datetime.fromisoformat(created).replace(tzinfo=utc)
    return out


@pytest.mark.slow
def test_every_successful_run_leaves_notebook_html_json(runs: dict[str, Run]) -> None:
    for key in ("temporal", "scoring_two", "verify_pass", "empty"):
        run = runs[key]
        assert run.returncode == 0, f"{key}: {run.stderr}"
        for path in (run.ipynb, run.html, run.json):
            assert path.is_file() and path.stat().st_size > 0, path
        assert str(run.html) in run.stdout and str(run.ipynb) in run.stdout
        nb = nbformat.read(run.ipynb, as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, key
        assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
        assert not list(run.out.glob(".*.tmp*")), "temporary file left behind"


#: Reports rendered for readers (--no-input): the code, with its parameters, is hidden.
READER_PAGES = ("temporal_tokyo", "empty", "verify_plan_fail", "verify_done_fail")


@pytest.mark.slow
def test_no_warning_traceback_or_local_path_reaches_any_report(runs: dict[str, Run]) -> None:
    pages = [r.html for r in runs.values() if r.html.exists()]
    pages += sorted(runs["all"].out.glob("*.html"))
    for page in pages:
        text = visible_text(page)
        for word in ("Warning", "Traceback", "Exception", "VerificationFailed", "papermill"):
            assert word not in text, f"{page.name}: {word!r} in the page"
        if page.parent == runs["all"].out or page.stem in READER_PAGES:
            assert str(runs["temporal"].out.parent) not in text, f"{page.name}: a local path"
        nb = page.with_suffix(".ipynb")
        if nb.exists():
            streams = [
                o
                for c in nbformat.read(nb, as_version=4).cells
                for o in c.get("outputs", [])
                if o.output_type == "stream" and o.get("name") == "stderr"
            ]
            assert not streams, f"{nb.name}: stderr output {streams[:1]}"


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
    rates = np.array(figures["success_rate"]["percent"], dtype=float)
    counts = np.array(heat["counts"])
    assert np.all(rates[counts >= 3] == 100.0)
    assert np.all(np.isnan(rates[counts < 3]))
    assert heat["counts"] != expected_heatmap(run.db, "America/Los_Angeles", STATUS)


@pytest.mark.slow
def test_headline_figures_equal_values_computed_with_sqlite(runs: dict[str, Run]) -> None:
    run = runs["temporal"]
    head = _json(run)["headline"]
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as con:
        costs = sorted(
            r[0]
            for r in con.execute(
                "SELECT actual_cost_total FROM workflow_history "
                "WHERE status = ? AND actual_cost_total > 0",
                (STATUS,),
            )
        )
        ids = [
            r[0] for r in con.execute("SELECT id FROM workflow_history WHERE status = ?", (STATUS,))
        ]
    when = _instants(run.db)
    days = sorted(when[i].astimezone(ZoneInfo(OTHER_TZ)).date().isoformat() for i in ids)
    assert head["runs"] == len(ids) and head["completed"] == len(ids) and head["failed"] == 0
    assert head["success_rate"] == 1.0
    assert (head["first_day"], head["last_day"]) == (days[0], days[-1])
    assert head["cost_total"] == pytest.approx(round(sum(costs), 2))
    assert head["cost_median"] == pytest.approx(round(float(np.median(costs)), 2))
    text = visible_text(run.html)
    assert f"{len(ids):,}" in text and f"{days[0]} – {days[-1]}" in text
    assert f"${sum(costs):,.2f}" in text and "100.0%" in text
    # the headline is the first thing after the title
    assert text.index("runs") < text.index("Selection")


@pytest.mark.slow
def test_scoring_two_versions_compared_over_their_common_period(runs: dict[str, Run]) -> None:
    run = runs["scoring_two"]
    figures = _json(run)
    when = {
        i: t.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
        for i, t in _instants(run.db).items()
    }
    with sqlite3.connect(f"file:{run.db}?mode=ro", uri=True) as con:
        versions = dict(
            con.execute("SELECT scoring_version, count(*) FROM workflow_history GROUP BY 1")
        )
        rows = con.execute(
            "SELECT id, scoring_version, quality_score FROM workflow_history"
        ).fetchall()
        placeholders = con.execute(
            "SELECT count(*) FROM workflow_history WHERE cost_efficiency_score = 0 "
            "AND coalesce(estimated_cost_total, 0) = 0"
        ).fetchone()[0]
        moved = con.execute(f"SELECT count(*) FROM workflow_history WHERE {V2_WHERE}").fetchone()
    assert figures["versions"] == versions and versions["2.0"] == moved[0]
    span = {v: [when[i] for i, ver, _ in rows if ver == v] for v in ("1.0", "2.0")}
    start = max(min(span["1.0"]), min(span["2.0"]))
    end = min(max(span["1.0"]), max(span["2.0"]))
    q = {
        v: [
            s
            for i, ver, s in rows
            if ver == v and s is not None and 0 <= s <= 100 and start <= when[i] <= end
        ]
        for v in ("1.0", "2.0")
    }
    shift = next(s for s in figures["median_shifts"] if s["score"] == "quality_score")
    assert shift["version"] == "2.0" and shift["period compared"] == f"{start} – {end}"
    assert shift["n baseline"] == len(q["1.0"]) and shift["n version"] == len(q["2.0"])
    assert shift["shift"] == pytest.approx(np.median(q["2.0"]) - np.median(q["1.0"]))
    assert shift["ci low"] <= shift["shift"] <= shift["ci high"]
    assert shift["shift"] < 0 and shift["ci high"] < 0 and shift["significant"]
    problems = figures["problems"]
    assert problems["quality_score"] == {"missing": 1, "placeholder": 0, "out of range": 1}
    assert problems["cost_efficiency_score"]["placeholder"] == placeholders > 0
    text = visible_text(run.html)
    assert str(OUT_OF_RANGE_ID) in text and str(MISSING_ID) in text
    assert "populations differ" in text or "different runs" in text
    assert "one scoring version" not in text
    assert "placeholder zero" in text and "end_time" in text


@pytest.mark.slow
def test_report_set_with_index_and_one_version_note(runs: dict[str, Run]) -> None:
    run = runs["all"]
    assert run.returncode == 0, run.stderr
    index = run.out / "index.html"
    text = visible_text(index)
    for name in ("temporal_analytics", "scoring_versions"):
        assert (run.out / f"{name}.html").is_file()
        assert f'href="{name}.html"' in index.read_text()
    assert "Hour and weekday analytics" in text and "Scoring versions" in text
    assert f"{ROWS}" in text
    figures = json.loads((run.out / "scoring_versions.json").read_text())
    assert figures["versions"] == {"before 006": ROWS} and figures["median_shifts"] == []
    scoring = visible_text(run.out / "scoring_versions.html")
    assert f"one scoring version only: before 006 ({ROWS} rows)" in scoring


@pytest.mark.slow
def test_empty_selection_is_a_short_page_without_figures(runs: dict[str, Run]) -> None:
    run = runs["empty"]
    assert run.returncode == 0, run.stderr
    page = run.html.read_text()
    assert not re.findall(r"<img[^>]+data:image/png", page)
    text = visible_text(run.html)
    assert "No runs match this selection" in text and "since=2031-01-01" in text
    assert "Runs by weekday and hour" not in text and len(text) < 1500  # a short page
    assert _json(run)["rows_selected"] == 0


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
    assert "PASS — no value lost" in visible_text(run.html)
    assert "<title>Demo 006+007</title>" in run.html.read_text()


@pytest.mark.slow
def test_fail_report_reads_as_a_result_not_a_crash(runs: dict[str, Run]) -> None:
    run = runs["verify_plan_fail"]
    assert run.returncode == 1
    assert "verdict FAIL" in run.stderr and "Traceback" not in run.stderr
    doc = _json(run)
    assert doc["verdict"] == "FAIL" and doc["mode"] == "plan"
    dropped = {d["column"]: d["non_null"] for d in doc["verification"]["columns_dropped"]}
    assert len(dropped) == 49
    text = visible_text(run.html)
    # the verdict comes right after the title, with every finding in full
    title_end = text.index("Migration verification") + len("Migration verification")
    found = re.search(r"FAIL — \d+ columns dropped holding", text)
    assert found and found.start() < title_end + 400
    check = next(c for c in doc["verification"]["checks"] if c["name"] == "columns_dropped")
    assert " ".join(check["detail"].split()) in text
    assert "columns of workflow_history kept every value" not in text
    values = next(c for c in doc["verification"]["checks"] if c["name"] == "values")
    if values["status"] == "PASS":  # beside lost columns, a PASS must say what it covers
        assert "only the values still present were compared" in text
    assert "PRAGMA integrity_check" in text
    assert not (run.out / f"{run.stem}.failed.html").exists()


@pytest.mark.slow
def test_failing_done_migration_via_library(runs: dict[str, Run]) -> None:
    run = runs["verify_done_fail"]
    result = run.result
    assert result is not None and not result.ok
    assert result.verdict == "FAIL" and result.json == run.json and result.failed_cell is None
    assert result.html.is_file() and result.ipynb.is_file()
    doc = _json(run)
    changed = {v["column"]: v["changed"] for v in doc["values_changed"]}
    assert changed["model_used"] >= 1
    text = visible_text(result.html)
    assert text.index("FAIL — ") < 200 and "values changed or lost" in text
    assert "columns of workflow_history kept every value" not in text


@pytest.mark.slow
def test_cell_failure_keeps_the_last_good_report_and_writes_a_failure_page(
    runs: dict[str, Run],
) -> None:
    run = runs["cell_fails"]
    assert run.returncode == 1
    assert re.search(r"cell \d+ \(In \[\d+\]", run.stderr)
    for name, data in run.extra["before"].items():
        assert (run.out / name).read_bytes() == data, f"{name} changed by a failed run"
    failed = run.out / f"{run.stem}.failed.html"
    assert failed.is_file() and "FAILED" in failed.read_text()


@pytest.mark.slow
def test_bad_parameter_exits_2_and_keeps_the_previous_report(
    runs: dict[str, Run], capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs["temporal"]
    before = {p: p.read_bytes() for p in (run.ipynb, run.html, run.json)}
    for key, value in (
        ("tz", "Mars/Olympus_Mons"),
        ("status", "done"),
        ("since", "2025-13-01"),
        ("model", "gpt-9"),
    ):
        argv = [
            "report",
            "temporal_analytics",
            "--db",
            str(run.db),
            "--out",
            str(run.out),
            "--stem",
            run.stem,
            "-p",
            key,
            value,
        ]
        assert main(argv) == 2, key
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and value in err, err
    for path, data in before.items():
        assert path.read_bytes() == data
