"""Reader correctness under bad or unusual input (issue 10): one line each, never a traceback."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from test_read import LA, make_db

from wfhist.exceptions import UsageError, WfhistError
from wfhist.read import STATUS_VALUES, connect, load_history, validate_tz
from wfhist.schema import schema_statements

TEXTS = ["istanbul", "İstanbul", "STRASSE", "straße", "ΣΊΣΥΦΟΣ", "σίσυφος", "plain", "100%_x"]


@pytest.fixture
def text_db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "t.db", [{"nl_input": t, "adw_id": f"run{i}"} for i, t in
                                       enumerate(TEXTS)])  # fmt: skip


@pytest.mark.parametrize(
    "needle", ["İ", "i", "I", "ss", "ß", "SS", "σ", "Σ", "ς", "%_", "İstanbul"]
)
def test_search_agrees_with_casefold(text_db: Path, needle: str) -> None:
    got = set(load_history(text_db, search=needle)["nl_input"])
    want = {
        t
        for i, t in enumerate(TEXTS)
        if needle.casefold() in t.casefold() or needle.casefold() in f"run{i}".casefold()
    }
    assert got == want


@pytest.fixture
def day_db(tmp_path: Path) -> Path:
    rows = [
        {"created_at": "2025-11-21 07:59:00"},  # 2025-11-20 23:59 in LA
        {"created_at": "2025-11-21 23:30:00"},  # 2025-11-21 15:30 in LA
        {"created_at": "2025-11-22T06:30:00Z"},  # UTC by its Z: 2025-11-21 22:30 in LA
        {"created_at": "2025-11-22T09:00:00Z"},  # 2025-11-22 01:00 in LA
    ]
    return make_db(tmp_path / "d.db", rows)


def test_compact_until_is_the_whole_day_like_iso(day_db: Path) -> None:
    iso = set(load_history(day_db, until="2025-11-21", tz=LA)["id"])
    compact = set(load_history(day_db, until="20251121", tz=LA)["id"])
    assert iso == compact == {1, 2, 3}


def test_zulu_timestamps_are_utc_and_classification_ignores_tz(tmp_path: Path) -> None:
    rows = [
        {"created_at": "2025-11-22T06:30:00Z"},
        {"created_at": "not a time", "submission_hour": 5, "submission_day_of_week": 2},
        {"created_at": "2025-11-22T06:30:00.250Z", "start_time": "2025-11-22T06:30:00Z"},
    ]
    path = make_db(tmp_path / "z.db", rows)
    seen = {}
    for tz in ("UTC", LA, "Asia/Tokyo"):
        con = connect(path, tz=tz, source_tz=LA)
        got = con.execute(
            "SELECT id, temporal_source, hour_of_day, epoch(created_ts) FROM history ORDER BY id"
        ).fetchall()
        seen[tz] = got
        assert [r[1] for r in got] == ["derived", "stored", "derived"]
    assert seen["UTC"][0][2] == 6 and seen[LA][0][2] == 22 and seen["Asia/Tokyo"][0][2] == 15
    assert seen["UTC"][0][3] == seen[LA][0][3]  # the same instant whatever the zone
    assert seen[LA][1][2] == 5  # stored values stay as stored in source_tz


def test_tz_of_a_connection_cannot_be_overridden(day_db: Path) -> None:
    con = connect(day_db, tz=LA)
    assert len(load_history(con)) == 4 and len(load_history(con, tz=LA)) == 4
    with pytest.raises(UsageError, match="tz='UTC' differs from the connection's tz="):
        load_history(con, tz="UTC")
    with pytest.raises(UsageError, match="source_tz='UTC' differs"):
        load_history(con, source_tz="UTC")


def test_status_values_are_the_check_constraint(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "c.db")
    for stmt in schema_statements():
        con.execute(stmt)
    for status in STATUS_VALUES:
        con.execute("INSERT INTO workflow_history (adw_id, status) VALUES (?, ?)", [status, status])
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO workflow_history (adw_id, status) VALUES ('x', 'complete')")


def test_empty_open_set_filter_names_the_closest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_db(tmp_path / "m.db", [{"model_used": "claude-sonnet-4"}, {"model_used": "opus"}])
    with caplog.at_level(logging.WARNING, logger="wfhist.read"):
        assert load_history(path, model="claude-sonet-4").empty
    assert "model='claude-sonet-4' matched no rows" in caplog.text
    assert "claude-sonnet-4" in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"status": "complete"}, "use one of pending, running, completed, failed"),
        ({"until": "9999-12-31"}, "until='9999-12-31' is the last representable day"),
        ({"until": "2025-13-01"}, "until='2025-13-01' is not a date"),
        ({"limit": 2**64}, "limit=18446744073709551616 must be a whole number"),
        ({"offset": 2**63}, "offset=9223372036854775808 must be a whole number"),
        ({"limit": -1}, "limit=-1 must be"),
        ({"offset": -5}, "offset=-5 must be"),
        ({"limit": True}, "limit=True must be"),
        ({"tz": "posixrules"}, "tz='posixrules' is a zone file DuckDB"),
        ({"tz": "right/UTC"}, "tz='right/UTC' is a zone file DuckDB"),
        ({"source_tz": "localtime"}, "source_tz='localtime'"),
        ({"tz": "Mars/Base"}, "tz='Mars/Base' is not a known time zone"),
        ({"sort_by": "id; DROP"}, "sort_by='id; DROP' is not allowed"),
    ],
)
def test_bad_inputs_are_one_line(day_db: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(UsageError) as err:
        load_history(day_db, **kwargs)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("zone", ["posixrules", "right/UTC", "localtime"])
def test_zone_checked_before_anything_is_read(tmp_path: Path, zone: str) -> None:
    with pytest.raises(UsageError, match="zone file DuckDB"):
        connect(tmp_path / "does-not-exist.db", tz=zone)
    with pytest.raises(UsageError, match="report_tz"):
        validate_tz(zone, "report_tz")


def test_history_that_is_a_view(tmp_path: Path) -> None:
    path = make_db(tmp_path / "v.db", [{}, {"status": "failed"}])
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE workflow_history RENAME TO workflow_history_data")
    con.execute("CREATE VIEW workflow_history AS SELECT * FROM workflow_history_data")
    con.commit()
    con.close()
    try:
        got = connect(path).execute("SELECT status FROM history ORDER BY id").fetchall()
    except WfhistError as exc:  # refusing is allowed, in one line that names the view
        assert "view" in str(exc) and "\n" not in str(exc)
    else:
        assert got == [("completed",), ("failed",)]


SECRET = "s3cr%40t-Pw"  # percent-encoded '@': masked raw and decoded


@pytest.mark.parametrize(
    "source",
    [
        f"postgresql://ana:{SECRET}@127.0.0.1:1/hist",
        f"postgresql://ana@127.0.0.1:1/hist?sslmode=disable&password={SECRET}",
        f"postgresql://ana:{SECRET}@[::1/hist",
        f"postgresql://ana@[::1/hist?password={SECRET}",
        f"host=127.0.0.1 port=1 dbname=hist user=ana password={SECRET}",
    ],
)
def test_postgres_password_masked_in_every_output(
    source: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from wfhist.cli import main

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(WfhistError) as err:
            connect(source)
        code = main(["summary", source])
    out = capsys.readouterr()
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in out.err
    assert code == 2
    for text in (message, out.out, out.err, caplog.text):
        assert "s3cr" not in text and "@t-Pw" not in text
    assert "***" in message


HOLD_LOCK = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")
print("released", flush=True)
time.sleep(30)
"""


def _hold_lock(path: Path, seconds: float):
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


@pytest.mark.parametrize("call", ["connect", "summarize", "load_history"])
def test_exclusive_lock_bounded_wait_then_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    import time

    from wfhist import files
    from wfhist.exceptions import LockedError
    from wfhist.read import summarize

    path = make_db(tmp_path / "l.db", [{}])
    monkeypatch.setattr(files, "BUSY_TIMEOUT_S", 1.0)
    proc = _hold_lock(path, 60)
    try:
        started = time.monotonic()
        with pytest.raises(LockedError) as err:
            {"connect": connect, "summarize": summarize, "load_history": load_history}[call](path)
        waited = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
    assert 1.0 <= waited < 10
    assert "another process holds a lock" in str(err.value) and "\n" not in str(err.value)


def test_lock_released_within_the_wait_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wfhist import files

    path = make_db(tmp_path / "l.db", [{}, {}])
    monkeypatch.setattr(files, "BUSY_TIMEOUT_S", 20.0)
    proc = _hold_lock(path, 1.0)
    try:
        assert len(load_history(path)) == 2
    finally:
        proc.kill()
        proc.wait()


def test_state_of_2025_11_27_coalesces_the_two_weekday_columns(tmp_path: Path) -> None:
    """`day_of_week` added beside `submission_day_of_week`, no `hour_of_day` yet."""
    rows = [
        {"start_time": "2025-11-17T10:15:00", "submission_hour": 10, "submission_day_of_week": 0},
        {"start_time": "2025-11-18T11:00:00", "submission_hour": 11, "submission_day_of_week": 1},
        {"start_time": "2025-11-19T12:00:00"},
    ]
    path = make_db(tmp_path / "h.db", rows)
    with sqlite3.connect(path) as con:
        con.execute("ALTER TABLE workflow_history ADD COLUMN day_of_week INTEGER")
        con.execute("UPDATE workflow_history SET day_of_week = 4 WHERE id = 2")
    got = connect(path, tz=LA, source_tz=LA).execute(
        "SELECT hour_of_day, day_of_week, temporal_source FROM history ORDER BY id"
    )
    assert got.fetchall() == [(10, 0, "stored"), (11, 4, "stored"), (12, 2, "derived")]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["summary", "{db}", "--tz", "posixrules"], "tz='posixrules'"),
        (["summary", "{db}", "--source-tz", "right/UTC"], "source_tz='right/UTC'"),
        (["export", "{db}", "--parquet", "{out}", "--tz", "localtime"], "tz='localtime'"),
        (["summary", "postgresql://u:pw9@[::1/db"], "not a valid postgresql:// address"),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(
    day_db: Path,
    tmp_path: Path,
    argv: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wfhist.cli import main

    args = [a.format(db=day_db, out=tmp_path / "out") for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "pw9" not in err[0]
    assert not (tmp_path / "out").exists()
