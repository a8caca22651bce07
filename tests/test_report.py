"""wfhist.report without a kernel: notebooks found, parameters checked and converted, HTML offline.

Executions of the real notebooks are in test_notebooks.py (slow, shared runs).
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import zlib
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from wfhist.cli import main
from wfhist.demo import create_sample_db
from wfhist.exceptions import UsageError
from wfhist.report import (
    REPORTS,
    Parameter,
    ReportResult,
    coerce_parameter,
    describe_failed_cell,
    format_report_list,
    index_html,
    list_reports,
    notebook_path,
    notebook_to_html,
    prepare_parameters,
    render_report,
    validate_values,
)


def _png(width: int = 4, height: int = 3) -> str:
    """A real (tiny, grey) PNG, base64-encoded as notebooks store it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(
            b"IHDR", width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x00\x00\x00\x00"
        )
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


# --- finding reports -----------------------------------------------------------------


def test_list_reports_has_every_notebook_with_parameters() -> None:
    reports = list_reports()
    assert [r.name for r in reports] == list(REPORTS)
    for r in reports:
        assert r.path.is_file() and r.title and r.description
        assert "db_path" in r.parameters and "json_path" in r.parameters
    temporal = next(r for r in reports if r.name == "temporal_analytics")
    assert temporal.parameters["min_runs"].type == "int"
    assert temporal.parameters["tz"].default == '""'  # wfhist's one default zone
    text = format_report_list(reports)
    for r in reports:
        for p in r.parameters.values():
            assert p.help in text
    assert "--db PATH" in text and "-p min_runs VALUE" in text


def test_notebook_name_with_or_without_suffix_and_unknown_name() -> None:
    assert notebook_path("scoring_versions") == notebook_path("scoring_versions.ipynb")
    with pytest.raises(UsageError, match="reports are verify_migration"):
        notebook_path("temporal")


# --- parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "text", "value"),
    [
        ("str", "1", "1"),
        ("str", " Asia/Tokyo", " Asia/Tokyo"),
        ("int", "3", 3),
        ("float", "0.9", 0.9),
        ("bool", "yes", True),
        ("bool", "False", False),
        ("list", '["a", "b"]', ["a", "b"]),
        ("list", "a, b", ["a", "b"]),
        ("list[str]", "['x']", ["x"]),
        ("dict", '{"old": "new"}', {"old": "new"}),
        ("None", "12", 12),
        ("None", "text", "text"),
    ],
)
def test_coerce_parameter_to_annotated_type(type_: str, text: str, value: object) -> None:
    assert coerce_parameter(Parameter("x", type_, "", ""), text) == value


@pytest.mark.parametrize(
    ("type_", "text"), [("int", "3.5"), ("float", "x"), ("bool", "maybe"), ("dict", "[1]")]
)
def test_coerce_parameter_refuses_what_does_not_fit(type_: str, text: str) -> None:
    with pytest.raises(UsageError, match=f"parameter x \\({type_}\\)"):
        coerce_parameter(Parameter("x", type_, "", ""), text)


def test_unknown_parameter_is_an_error_listing_the_parameters(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        prepare_parameters("temporal_analytics", "x.db", {"timezone": "UTC"})
    message = str(err.value)
    assert "timezone" in message and "tz, source_tz, since" in message


def test_prepare_parameters_converts_and_makes_paths_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    values = prepare_parameters(
        "verify_migration", "after.db", {"backup_path": "bk/before.db", "title": "T"}
    )
    assert values["db_path"] == str(tmp_path / "after.db")
    assert values["backup_path"] == str(tmp_path / "bk" / "before.db")
    values = prepare_parameters("temporal_analytics", ["a.db", "hist/*.db"], {"min_runs": "2"})
    assert values["db_path"] == [str(tmp_path / "a.db"), str(tmp_path / "hist" / "*.db")]
    assert values["min_runs"] == 2
    dsn = "postgresql://u@h/db"
    assert prepare_parameters("temporal_analytics", dsn)["db_path"] == dsn


def test_prepare_parameters_refuses_ambiguous_verification() -> None:
    with pytest.raises(UsageError, match="not both"):
        prepare_parameters(
            "verify_migration", "a.db", {"backup_path": "b.db", "migration_path": "m.sql"}
        )
    with pytest.raises(UsageError, match="--db"):
        prepare_parameters("verify_migration", "a.db", {"db_path": "b.db"})


def test_render_report_checks_before_running(tmp_path: Path) -> None:
    """Bad input fails fast: no kernel started, no output directory created."""
    out = tmp_path / "out"
    with pytest.raises(UsageError, match="unknown parameter"):
        render_report("scoring_versions", "x.db", {"nope": "1"}, out_dir=out)
    with pytest.raises(UsageError, match="stem"):
        render_report("scoring_versions", "x.db", out_dir=out, stem="../escape")
    assert not out.exists()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_sample_db(tmp_path_factory.mktemp("params") / "history.db", rows=40)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("temporal_analytics", {"tz": "Mars/Olympus_Mons"}, "tz='Mars/Olympus_Mons'"),
        ("temporal_analytics", {"source_tz": "posixrules"}, "source_tz="),
        ("temporal_analytics", {"since": "2025-13-01"}, "since='2025-13-01'"),
        ("temporal_analytics", {"until": "yesterday"}, "until='yesterday'"),
        ("temporal_analytics", {"status": "done"}, "status='done' is not one of completed"),
        ("temporal_analytics", {"model": "gpt-9"}, "model='gpt-9': no run in history.db"),
        ("temporal_analytics", {"template": "nope"}, "template='nope'"),
        ("temporal_analytics", {"min_runs": "0"}, "min_runs=0"),
        ("scoring_versions", {"confidence": "1.5"}, "confidence=1.5"),
        ("scoring_versions", {"bootstrap_samples": "10"}, "bootstrap_samples=10"),
    ],
)
def test_bad_value_is_refused_before_any_kernel(
    sample: Path, tmp_path: Path, name: str, params: dict, message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=re.escape(message)):
        render_report(name, sample, params, out_dir=out)
    assert not out.exists(), "nothing may be written for a refused run"


def test_good_values_pass_validation(sample: Path) -> None:
    with sqlite3.connect(sample) as con:
        model = con.execute("SELECT model_used FROM workflow_history LIMIT 1").fetchone()[0]
    values = prepare_parameters(
        "temporal_analytics",
        str(sample),
        {"tz": "Asia/Tokyo", "since": "2025-11-01", "status": "failed", "model": model},
    )
    validate_values("temporal_analytics", values)


def test_database_must_exist_be_sqlite_and_hold_the_history(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database, just text that is long enough to look like one" * 4)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE something (x)")
    con.close()
    for db, message in (
        (tmp_path / "missing.db", "missing.db"),
        (text, "notes.db"),
        (other, "no table workflow_history"),
    ):
        with pytest.raises(UsageError, match=re.escape(message)):
            validate_values("temporal_analytics", {"db_path": str(db)})


def test_cli_bad_value_one_line_exit_2(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "temporal_analytics", "--db", str(sample), "-p", "status", "done"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "status='done'" in err and "Traceback" not in err


def test_index_page_links_reports_with_headline_and_status(tmp_path: Path) -> None:
    sidecar = tmp_path / "temporal_analytics.json"
    sidecar.write_text(
        json.dumps(
            {
                "headline": {
                    "runs": 1234,
                    "first_day": "2025-10-01",
                    "last_day": "2025-11-21",
                    "tz": "UTC",
                    "success_rate": 0.9,
                    "cost_total": 99.5,
                    "cost_median": 2.25,
                }
            }
        )
    )
    ok = ReportResult(
        "temporal_analytics",
        tmp_path / "t.ipynb",
        tmp_path / "temporal_analytics.html",
        sidecar,
        True,
    )
    bad = ReportResult(
        "scoring_versions",
        tmp_path / "s.failed.html",
        tmp_path / "scoring_versions.failed.html",
        None,
        False,
        failed_cell="cell 3: boom",
    )
    page = index_html([ok, bad], "history.db")
    assert '<a href="temporal_analytics.html">Hour and weekday analytics</a>' in page
    assert "1234" in page and "90.0%" in page and "$99.50" in page and "$2.25" in page
    assert "2025-10-01 – 2025-11-21 (UTC)" in page
    assert "FAILED to render" in page and 'href="scoring_versions.failed.html"' in page
    assert "<title>Reports on history.db</title>" in page


# --- HTML and failed cells ---------------------------------------------------------------


def _executed_like(tmp_path: Path) -> Path:
    """A notebook shaped like an executed report: a figure, then a cell that raised."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Report\n\nIntro."),
            new_code_cell("secret_code_line = 1", execution_count=1),
            new_markdown_cell("## Figures\n\nOne figure."),
            new_code_cell(
                "fig",
                execution_count=2,
                outputs=[
                    new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"})
                ],
            ),
            new_markdown_cell("## Result\n\nRaises on FAIL."),
            new_code_cell(
                "raise VerificationFailed('FAIL')",
                execution_count=3,
                outputs=[
                    new_output(
                        "error",
                        ename="VerificationFailed",
                        evalue="FAIL — 2 columns dropped",
                        traceback=["VerificationFailed: FAIL — 2 columns dropped"],
                    )
                ],
            ),
        ]
    )
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def test_describe_failed_cell_names_index_prompt_and_section(tmp_path: Path) -> None:
    text = describe_failed_cell(_executed_like(tmp_path))
    assert text == 'cell 5 (In [3], section "Result"): VerificationFailed: FAIL — 2 columns dropped'


def test_describe_failed_cell_none_when_clean(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("1", execution_count=1)])
    nbformat.write(nb, tmp_path / "ok.ipynb")
    assert describe_failed_cell(tmp_path / "ok.ipynb") is None


@pytest.mark.parametrize("no_input", [False, True])
def test_html_is_self_contained_and_hides_code_on_request(tmp_path: Path, no_input: bool) -> None:
    html = notebook_to_html(
        _executed_like(tmp_path), tmp_path / "r.html", no_input=no_input, title="My report"
    ).read_text()
    assert "<title>My report</title>" in html
    assert "@media print" in html and "overflow: visible" in html  # whole tables on paper
    assert "beforeprint" in html  # folded sections open for printing
    assert 'src="data:image/png;base64,' in html
    assert "<script src=" not in html and "cdnjs" not in html  # opens offline
    assert "FAIL — 2 columns dropped" in html  # the error is shown either way
    assert ("secret_code_line" in html) is not no_input
    assert not list(tmp_path.glob(".r.html*")), "temporary file left behind"


# --- command line ----------------------------------------------------------------------------


def test_cli_report_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--list"]) == 0
    out = capsys.readouterr().out
    for name in REPORTS:
        assert name in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "temporal_analytics"], "give NAME and --db"),
        (["report", "temporal_analytics", "--db", "x.db", "-p", "tzz", "UTC"], "unknown parameter"),
        (["report", "temporal_analytics", "--db", "x.db", "-p", "min_runs", "many"], "as int"),
        (["report", "no_such", "--db", "x.db"], "does not exist"),
    ],
)
def test_cli_report_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
