"""The sample database must look like the real pre-006 file in every way the tools rely on."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wfhist import demo
from wfhist.demo import create_sample_db
from wfhist.exceptions import UsageError
from wfhist.schema import (
    COLUMNS_PRE_006,
    INDEXES_PRE_006,
    RELATED_TABLES,
    TABLE,
    classify_columns,
    column_names,
)

LOCAL_FMT = "%Y-%m-%dT%H:%M:%S.%f"
UTC_FMT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture
def con(sample_db: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(sample_db)
    c.row_factory = sqlite3.Row
    yield c
    c.close()


def _rows(con: sqlite3.Connection, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    return con.execute(sql, params).fetchall()


def _all_rows(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as c:
        return c.execute(f"SELECT * FROM {TABLE} ORDER BY id").fetchall()


def _scalar(path: Path, sql: str) -> object:
    with closing(sqlite3.connect(path)) as c:
        return c.execute(sql).fetchone()[0]


# --- schema -------------------------------------------------------------------------


def test_columns_order_types_and_defaults_match_the_real_table(con: sqlite3.Connection) -> None:
    info = _rows(con, f"PRAGMA table_info({TABLE})")
    assert [(r["name"], r["type"]) for r in info] == [(c.name, c.type) for c in COLUMNS_PRE_006]
    defaults = {r["name"]: r["dflt_value"] for r in info}
    assert defaults["workflow_type"] == "'planning'"
    assert defaults["created_at"] == "CURRENT_TIMESTAMP"
    assert defaults["retry_count"] == "0"
    assert "scoring_version" not in defaults
    assert classify_columns(column_names(con)) == "pre-006"


def test_indexes_are_the_16_named_plus_sqlite_autoindex(con: sqlite3.Connection) -> None:
    indexes = _rows(con, f"PRAGMA index_list({TABLE})")
    names = {r["name"] for r in indexes}
    named = {name for name, _, _ in INDEXES_PRE_006}
    assert len(indexes) == 17
    assert named <= names
    (auto,) = names - named
    assert auto.startswith("sqlite_autoindex_")
    assert [r["name"] for r in _rows(con, f"PRAGMA index_info({auto})")] == ["adw_id"]
    for name, column, _ in INDEXES_PRE_006:
        assert [r["name"] for r in _rows(con, f"PRAGMA index_info({name})")] == [column]


def test_related_tables_reference_existing_workflows(con: sqlite3.Connection) -> None:
    for table in RELATED_TABLES:
        fks = _rows(con, f"PRAGMA foreign_key_list({table})")
        assert [(f["table"], f["from"], f["to"]) for f in fks] == [
            (TABLE, "workflow_id", "workflow_id")
        ]
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    assert _rows(con, "PRAGMA foreign_key_check") == []
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_file_is_wal_with_user_version_zero_and_no_leftovers(tmp_path: Path) -> None:
    path = create_sample_db(tmp_path / "wh.db", rows=30)
    # checkpointed and closed: no -wal/-shm, no temp file left in the directory
    assert [p.name for p in tmp_path.iterdir()] == ["wh.db"]
    assert _scalar(path, "PRAGMA journal_mode") == "wal"
    assert _scalar(path, "PRAGMA user_version") == 0


# --- rows ---------------------------------------------------------------------------


def test_default_row_count_and_id_order(con: sqlite3.Connection) -> None:
    ids = [r[0] for r in _rows(con, f"SELECT id FROM {TABLE} ORDER BY rowid")]
    assert ids == list(range(1, demo.DEFAULT_ROWS + 1))
    assert demo.DEFAULT_ROWS == 458


def _instant(created_at: str) -> datetime:
    """The UTC instant of a created_at in either real format."""
    if "T" in created_at:
        local = datetime.strptime(created_at, LOCAL_FMT)
        return local.replace(tzinfo=ZoneInfo(demo.SOURCE_TZ)).astimezone(UTC)
    return datetime.strptime(created_at, UTC_FMT).replace(tzinfo=UTC)


def test_created_at_mixes_both_formats_oldest_first(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT created_at FROM {TABLE} ORDER BY id")
    kinds = ["local" if "T" in r[0] else "utc" for r in rows]
    n_utc = kinds.count("utc")
    assert 0 < n_utc < len(kinds)
    assert kinds == ["utc"] * n_utc + ["local"] * (len(kinds) - n_utc)
    instants = [_instant(r[0]) for r in rows]
    assert instants == sorted(instants)
    assert instants[0] >= datetime(2025, 10, 10, tzinfo=UTC)
    assert instants[-1] < datetime(2025, 11, 22, tzinfo=UTC)


def test_start_time_null_only_on_oldest_rows_and_same_instant_as_created(
    con: sqlite3.Connection,
) -> None:
    rows = _rows(con, f"SELECT start_time, created_at, updated_at FROM {TABLE} ORDER BY id")
    nulls = [r["start_time"] is None for r in rows]
    n_null = nulls.count(True)
    assert 0 < n_null < len(rows) // 4
    assert nulls == [True] * n_null + [False] * (len(rows) - n_null)
    zone = ZoneInfo(demo.SOURCE_TZ)
    for r in rows[n_null:]:
        if "T" in r["created_at"]:
            assert r["created_at"] == r["start_time"]
        else:  # UTC seconds: the same instant, truncated to the second
            start = datetime.strptime(r["start_time"], LOCAL_FMT).replace(tzinfo=zone)
            # a naive stamp in the repeated DST hour is either occurrence (fold 0 or 1)
            candidates = {
                start.replace(fold=fold).astimezone(UTC).replace(microsecond=0) for fold in (0, 1)
            }
            assert _instant(r["created_at"]) in candidates
    for r in rows:
        assert datetime.strptime(r["updated_at"], UTC_FMT).replace(tzinfo=UTC) >= _instant(
            r["created_at"]
        ).replace(microsecond=0)


def test_utc_conversion_is_dst_correct_around_november_2(con: sqlite3.Connection) -> None:
    """UTC created_at is 7 h ahead of the naive start_time before the 2025-11-02 DST end
    and 8 h after it; rows on both sides exist."""
    rows = _rows(
        con,
        f"SELECT start_time, created_at FROM {TABLE} WHERE start_time IS NOT NULL"
        " AND created_at NOT LIKE '%T%'",
    )
    offsets = set()
    for r in rows:
        local = datetime.strptime(r["start_time"], LOCAL_FMT).replace(microsecond=0)
        offset = (datetime.strptime(r["created_at"], UTC_FMT) - local).total_seconds() / 3600
        offsets.add(offset)
        if not datetime(2025, 11, 2, 1) <= local < datetime(2025, 11, 2, 2):  # repeated hour
            assert offset == (8 if local >= datetime(2025, 11, 2, 2) else 7), r["start_time"]
    assert offsets == {7.0, 8.0}


def test_office_hours_and_weekdays_dominate(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT start_time FROM {TABLE} WHERE start_time IS NOT NULL")
    local = [datetime.strptime(r[0], LOCAL_FMT) for r in rows]
    office = sum(1 for t in local if t.weekday() < 5 and 9 <= t.hour < 18)
    weekend = sum(1 for t in local if t.weekday() >= 5)
    assert office > len(local) / 2
    assert weekend < len(local) / 8


def test_stored_temporal_values_are_few_include_zero_and_match_start_time(
    con: sqlite3.Connection,
) -> None:
    rows = _rows(
        con,
        f"SELECT start_time, submission_hour AS h, submission_day_of_week AS d FROM {TABLE}"
        " WHERE submission_hour IS NOT NULL OR submission_day_of_week IS NOT NULL",
    )
    assert len(rows) == demo.STORED_TEMPORAL_ROWS
    for r in rows:
        local = datetime.strptime(r["start_time"], LOCAL_FMT)
        assert (r["h"], r["d"]) == (local.hour, local.weekday())
    assert 0 in {r["h"] for r in rows}
    assert 0 in {r["d"] for r in rows}


def test_identifiers_are_well_formed_and_unique(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT adw_id, workflow_id, issue_number, github_url FROM {TABLE}")
    adw = [r["adw_id"] for r in rows]
    wf = [r["workflow_id"] for r in rows]
    assert len(set(adw)) == len(set(wf)) == len(rows)
    for r in rows:
        assert len(r["adw_id"]) == 8 and int(r["adw_id"], 16) >= 0
        assert r["workflow_id"].startswith("wf-") and len(r["workflow_id"]) == 35
        int(r["workflow_id"][3:], 16)
        assert r["issue_number"] > 0
        assert r["github_url"].startswith("https://github.com/")
        assert r["github_url"].endswith(f"/issues/{r['issue_number']}")


def test_similar_and_parent_ids_point_to_earlier_runs(con: sqlite3.Connection) -> None:
    rows = _rows(
        con,
        f"SELECT id, adw_id, workflow_id, similar_workflow_ids, parent_workflow_id FROM {TABLE}",
    )
    adw_id = {r["adw_id"]: r["id"] for r in rows}
    workflow_id = {r["workflow_id"]: r["id"] for r in rows}
    similar = parents = 0
    for r in rows:
        for other in json.loads(r["similar_workflow_ids"]):
            assert adw_id[other] < r["id"]
            similar += 1
        if r["parent_workflow_id"] is not None:
            assert workflow_id[r["parent_workflow_id"]] < r["id"]
            parents += 1
    assert similar > 0 and 0 < parents < len(rows) / 10


def test_categorical_values_come_from_the_facts(con: sqlite3.Connection) -> None:
    def values(col: str) -> set:
        return {r[0] for r in _rows(con, f"SELECT DISTINCT {col} FROM {TABLE}")}

    assert values("workflow_template") <= set(demo.TEMPLATES)
    assert values("model_used") <= set(demo.MODELS)
    assert values("workflow_type") <= {"planning", "building", "testing"}
    assert values("gh_issue_state") <= {"open", "closed", None}
    assert values("error_category") <= {*demo.ERRORS, None}
    assert values("end_time") == {None}
    statuses = dict(_rows(con, f"SELECT status, count(*) FROM {TABLE} GROUP BY status"))
    assert statuses["completed"] > sum(statuses.values()) * 0.75
    assert statuses.get("failed", 0) > 0 and statuses.get("running", 0) > 0
    ports = _rows(con, f"SELECT min(backend_port), max(backend_port) FROM {TABLE}")[0]
    assert 9100 <= ports[0] <= ports[1] <= 9114
    ports = _rows(con, f"SELECT min(frontend_port), max(frontend_port) FROM {TABLE}")[0]
    assert 9200 <= ports[0] <= ports[1] <= 9214


def test_tokens_and_costs_are_real_sized_and_consistent(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT * FROM {TABLE}")
    lo_c, hi_c = demo.COMPLETED_COST_RANGE
    lo_t, hi_t = demo.COMPLETED_TOKENS_RANGE
    for r in rows:
        inp, write, read, out = (
            r["input_tokens"],
            r["cached_tokens"],
            r["cache_hit_tokens"],
            r["output_tokens"],
        )
        assert r["total_tokens"] == inp + write + read + out
        assert r["cache_miss_tokens"] == inp + write
        cost = r["actual_cost_total"]
        assert cost == pytest.approx(demo.token_cost(inp, write, read, out), abs=1e-6)
        if r["total_tokens"]:
            assert r["cost_per_token"] == pytest.approx(cost / r["total_tokens"])
            eff = read / (inp + write + read) * 100
            assert r["cache_efficiency_percent"] == pytest.approx(eff, abs=0.01)
        steps = r["steps_total"]
        assert r["actual_cost_per_step"] == pytest.approx(cost / steps, abs=1e-6)
        assert r["estimated_cost_per_step"] == pytest.approx(
            r["estimated_cost_total"] / steps, abs=1e-6
        )
        if r["estimated_cost_total"] == 0:
            assert r["cost_efficiency_score"] == 0
        if r["status"] == "completed":
            assert lo_t <= r["total_tokens"] <= hi_t
            assert lo_c <= cost <= hi_c
            assert 90 <= r["cache_efficiency_percent"] <= 96
            assert r["steps_completed"] == steps
        for score in ("cost_efficiency_score", "performance_score", "quality_score"):
            assert 0 <= r[score] <= 100
    quality = [r["quality_score"] for r in rows if r["status"] == "completed"]
    assert 93 <= sum(quality) / len(quality) <= 97


def test_json_columns_are_valid_and_cost_breakdown_sums(con: sqlite3.Connection) -> None:
    json_cols = [
        "structured_input",
        "cost_breakdown",
        "token_breakdown",
        "similar_workflow_ids",
        "anomaly_flags",
        "optimization_recommendations",
        "retry_reasons",
        "error_phase_distribution",
    ]
    rows = _rows(con, f"SELECT actual_cost_total, {', '.join(json_cols)} FROM {TABLE}")
    empty_flags = 0
    for r in rows:
        parsed = {c: json.loads(r[c]) for c in json_cols}
        by_phase = parsed["cost_breakdown"]["by_phase"]
        assert set(by_phase) == set(demo.PHASES)
        assert sum(by_phase.values()) == pytest.approx(r["actual_cost_total"], abs=1e-6)
        assert parsed["cost_breakdown"]["actual_total"] == r["actual_cost_total"]
        assert isinstance(parsed["anomaly_flags"], list)
        empty_flags += parsed["anomaly_flags"] == []
    assert empty_flags > len(rows) * 0.8


def test_nl_input_long_texts_and_word_counts(con: sqlite3.Connection) -> None:
    rows = _rows(con, f"SELECT id, nl_input, nl_input_word_count FROM {TABLE} ORDER BY id")
    for r in rows:
        assert len(r["nl_input"]) <= 500
        assert r["nl_input_word_count"] == len(r["nl_input"].split())
    empty_ids = [r["id"] for r in rows if r["nl_input"] == ""]
    assert empty_ids and max(empty_ids) <= len(rows) // 4
    assert max(len(r["nl_input"]) for r in rows) > 400


def test_dirty_values_sit_in_numeric_columns(con: sqlite3.Connection) -> None:
    found = []
    for col, value in set(demo.DIRTY_VALUES):
        hits = _rows(
            con,
            f"SELECT count(*) FROM {TABLE} WHERE typeof({col}) = 'text' AND {col} = ?",
            (value,),
        )
        found.extend([(col, value)] * hits[0][0])
    assert sorted(found) == sorted(demo.DIRTY_VALUES)
    types = {c.name: c.type for c in COLUMNS_PRE_006}
    assert all(types[col] in ("INTEGER", "REAL") for col, _ in demo.DIRTY_VALUES)


# --- determinism and arguments ---------------------------------------------------------


def test_same_seed_gives_identical_rows_other_seed_differs(
    tmp_path: Path, sample_db_template: Path
) -> None:
    again = create_sample_db(tmp_path / "again.db")
    other = create_sample_db(tmp_path / "other.db", seed=demo.DEFAULT_SEED + 1)
    assert _all_rows(again) == _all_rows(sample_db_template)
    assert _all_rows(other) != _all_rows(sample_db_template)


def test_rows_argument_and_small_files(tmp_path: Path) -> None:
    for n in (1, 25):
        path = create_sample_db(tmp_path / f"n{n}.db", rows=n)
        assert _scalar(path, f"SELECT count(*) FROM {TABLE}") == n
        with closing(sqlite3.connect(path)) as c:
            assert c.execute("PRAGMA foreign_key_check").fetchall() == []


def test_returns_resolved_path_and_creates_missing_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = create_sample_db(Path("new") / "dir" / "wh.db", rows=3)
    assert path == (tmp_path / "new" / "dir" / "wh.db")
    assert path.is_absolute() and path.exists()


def test_existing_file_needs_force(tmp_path: Path) -> None:
    path = create_sample_db(tmp_path / "wh.db", rows=2)
    before = path.read_bytes()
    with pytest.raises(UsageError, match=r"wh\.db exists; pass --force to replace it"):
        create_sample_db(path, rows=5)
    assert path.read_bytes() == before
    create_sample_db(path, rows=5, force=True)
    assert _scalar(path, f"SELECT count(*) FROM {TABLE}") == 5


@pytest.mark.parametrize("rows", [0, -1])
def test_rows_below_one_is_a_usage_error(tmp_path: Path, rows: int) -> None:
    with pytest.raises(UsageError, match="rows"):
        create_sample_db(tmp_path / "wh.db", rows=rows)
    assert list(tmp_path.iterdir()) == []


def test_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash mid-build (here: in the related tables) leaves neither target nor temp file."""

    def boom(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_insert_related", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        create_sample_db(tmp_path / "wh.db", rows=10)
    assert list(tmp_path.iterdir()) == []


def test_progress_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_sample_db(tmp_path / "wh.db", rows=10, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "10/10 rows" in captured.err


def test_parallel_build_gives_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Large files are made by two processes; the merged rows equal a one-process build."""
    monkeypatch.setattr(demo, "_CHUNK", 100)
    one = create_sample_db(tmp_path / "one.db", rows=1000, seed=7)
    monkeypatch.setattr(demo, "_PARALLEL_MIN_ROWS", 1)
    two = create_sample_db(tmp_path / "two.db", rows=1000, seed=7, progress=True)
    assert "helper process" in capsys.readouterr().err
    assert _all_rows(two) == _all_rows(one)
    for table in RELATED_TABLES:
        sql = f"SELECT * FROM {table} ORDER BY id"
        with closing(sqlite3.connect(one)) as a, closing(sqlite3.connect(two)) as b:
            assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.db", "two.db"]


def test_parent_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")
    with pytest.raises(UsageError, match="cannot create directory"):
        create_sample_db(tmp_path / "plain" / "wh.db", rows=2)


def test_directory_as_output_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        create_sample_db(tmp_path, rows=2, force=True)
