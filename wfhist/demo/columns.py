"""Rows ``[lo, hi)`` of ``workflow_history``, column by column, in readable steps.

One chunk is made from its own generator in a fixed order of draws:

1. :func:`_runs`     what each run was (template, model, status, phases reached);
2. :func:`_money`    its tokens and what they cost (consistent with each other);
3. :func:`_draws`    everything else random about it (ids, texts, scores, ...);

then pure functions turn those arrays into the stored columns, one group of
related columns each. Values are made with numpy, one column at a time, because a
million rows must be generated in seconds; the draw order is part of what makes a
seed reproduce a file, so a new random value goes at the end of :func:`_draws`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from wfhist.demo.facts import (
    ANOMALIES,
    CACHE_EFFICIENCY_RANGE,
    COMPLETED_COST_RANGE,
    COMPLETED_TOKENS_RANGE,
    ERRORS,
    MODELS,
    PHASES,
    RECOMMENDATIONS,
    REPOS,
    STATUSES,
    TEMPLATES,
    token_cost,
)
from wfhist.demo.timeline import US, Plan, iso_local, local_hour_weekday, utc_space

Columns = dict[str, list[Any]]

_LEVELS = ("low", "medium", "high")
_PHASE_WEIGHT = np.array([0.12, 0.35, 0.20, 0.13, 0.08, 0.04])  # in PHASES order
_COST_BREAKDOWN = (
    '{"estimated_total": %d.%06d, "actual_total": %d.%06d, "by_phase": {'
    + ", ".join(f'"{p}": %d.%06d' for p in PHASES)
    + "}}"
)
_TOKEN_BREAKDOWN = (
    '{"input_tokens": %d, "cache_creation_tokens": %d, "cache_read_tokens": %d, '
    '"output_tokens": %d, "total_tokens": %d}'
)
_STRUCTURED_INPUT = '{"issue_number": %d, "workflow": "%s", "model": "%s", "phases": %s}'
_RETRY_REASONS = (
    "[]",
    '["timeout"]',
    '["timeout", "api_quota"]',
    '["timeout", "api_quota", "api_quota"]',
)


# --- small vectorised helpers -----------------------------------------------------


def _pick(values: tuple[Any, ...] | list[Any], codes: np.ndarray) -> list[Any]:
    """``values[code]`` for each code, as a list (fast categorical columns)."""
    return np.array(values, dtype=object)[codes].tolist()


def _where(mask: np.ndarray, values: list[Any]) -> list[Any]:
    """``values`` where ``mask`` holds, else NULL."""
    return [v if m else None for v, m in zip(values, mask.tolist(), strict=True)]


def _json_options(options: tuple[str, ...]) -> list[str]:
    """JSON lists ``[]``, ``[options[0]]``, ... indexed by code + 1."""
    return ["[]", *(json.dumps([o]) for o in options)]


def _usd(micros: np.ndarray) -> list[float]:
    """Micro-dollar integers as dollars for REAL columns: ``m / 1e6`` is the double
    nearest to the decimal ``%d.%06d`` written into JSON, so both agree exactly."""
    return (micros / 1e6).tolist()


def _usd_json(template: str, micros: np.ndarray) -> list[str]:
    """Rows of ``template`` filled with each row's micro-dollar amounts as decimals.

    ``micros`` is n x k; ``template`` has k ``%d.%06d`` slots. Integer formatting is
    several times faster than float repr, which matters at a million rows.
    """
    whole, frac = np.divmod(micros, US)
    pairs = np.empty((len(micros), 2 * micros.shape[1]), dtype=np.int64)
    pairs[:, 0::2], pairs[:, 1::2] = whole, frac
    return [template % tuple(row) for row in pairs.tolist()]


def _weights(table: dict[str, Any], old: bool) -> np.ndarray:
    w = np.array([v[0 if old else 1] for v in table.values()], dtype=float)
    return w / w.sum()


def _choose(rng: np.random.Generator, table: dict[str, Any], n: int, n_old: int) -> np.ndarray:
    """Codes into ``table`` for ``n`` rows whose first ``n_old`` use the older mix."""
    old = rng.choice(len(table), size=n_old, p=_weights(table, True))
    new = rng.choice(len(table), size=n - n_old, p=_weights(table, False))
    return np.concatenate([old, new])


# --- step 1: what each run was --------------------------------------------------------


@dataclass
class _Runs:
    idx: np.ndarray  # row index in the file
    status: np.ndarray  # codes into STATUSES
    completed: np.ndarray
    failed: np.ndarray
    partial: np.ndarray  # failed or running: stopped inside a phase
    pending: np.ndarray
    template: np.ndarray  # codes into TEMPLATES
    model: np.ndarray  # codes into MODELS
    runs: np.ndarray  # n x 6: does the template run the phase
    pos: np.ndarray  # n x 6: its step number (0-based)
    steps_total: np.ndarray
    steps_done: np.ndarray
    ran: np.ndarray  # n x 6: phases that (partly) ran
    progress: np.ndarray  # share of the full run's work done
    last_ran: np.ndarray  # index into PHASES of the last phase that ran


def _runs(rng: np.random.Generator, plan: Plan, lo: int, hi: int) -> _Runs:
    """Template, model and how far each run got (its status comes from the plan)."""
    n = hi - lo
    status = plan.status[lo:hi]
    completed, failed, pending = status == 0, status == 1, status == 3
    partial = (status == 1) | (status == 2)
    n_old = max(0, min(plan.old_mix - lo, n))
    template = _choose(rng, TEMPLATES, n, n_old)
    model = _choose(rng, MODELS, n, n_old)
    table = np.array([[p in spec[2] for p in PHASES] for spec in TEMPLATES.values()])
    runs = table[template]
    pos = np.cumsum(runs, axis=1) - 1
    steps_total = runs.sum(axis=1)
    steps_done = np.where(
        completed, steps_total, np.where(partial, rng.integers(0, 10_000, n) % steps_total, 0)
    )
    # phases that ran (a partial run is inside the phase after its completed ones)
    ran_count = np.minimum(np.where(completed, steps_total, steps_done + 1), steps_total)
    ran = runs & (pos < ran_count[:, None])
    progress = np.where(
        completed, 1.0, np.where(partial, (steps_done + rng.uniform(0.2, 0.9, n)) / steps_total, 0)
    )
    return _Runs(
        idx=np.arange(lo, hi),
        status=status,
        completed=completed,
        failed=failed,
        partial=partial,
        pending=pending,
        template=template,
        model=model,
        runs=runs,
        pos=pos,
        steps_total=steps_total,
        steps_done=steps_done,
        ran=ran,
        progress=progress,
        last_ran=len(PHASES) - 1 - np.argmax(ran[:, ::-1], axis=1),
    )


# --- step 2: tokens and money ------------------------------------------------------------


def _completed_tokens(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Token counts of a full run, drawn until tokens, cost and efficiency are real-sized."""
    lo_t, hi_t = COMPLETED_TOKENS_RANGE
    lo_c, hi_c = COMPLETED_COST_RANGE
    lo_e, hi_e = (x / 100 for x in CACHE_EFFICIENCY_RANGE)
    out = {k: np.zeros(n, dtype=np.int64) for k in ("input", "write", "read", "output")}
    todo = np.arange(n)
    while len(todo):
        m = len(todo)
        total = np.exp(rng.uniform(np.log(lo_t), np.log(hi_t), m))
        output = np.round(total * rng.uniform(0.003, 0.012, m)).astype(np.int64)
        prompt = np.round(total).astype(np.int64) - output
        read = np.round(prompt * rng.uniform(lo_e + 0.001, hi_e - 0.001, m)).astype(np.int64)
        rest = prompt - read
        write = np.round(rest * rng.uniform(0.75, 0.95, m)).astype(np.int64)
        inp = rest - write
        tot = inp + write + read + output
        cost = token_cost(inp, write, read, output)
        eff = read / (inp + write + read)
        ok = (
            (tot >= lo_t) & (tot <= hi_t) & (cost >= lo_c) & (cost <= hi_c)
            & (eff >= lo_e) & (eff <= hi_e)
        )  # fmt: skip
        for key, arr in (("input", inp), ("write", write), ("read", read), ("output", output)):
            out[key][todo[ok]] = arr[ok]
        todo = todo[~ok]
    return out


def _phase_split(rng: np.random.Generator, ran: np.ndarray, micros: np.ndarray) -> np.ndarray:
    """``micros`` (integer micro-dollars) spread over the phases that ran (n x 6, PHASES
    order). The last phase that ran takes the remainder, so each row sums exactly."""
    w = _PHASE_WEIGHT * rng.uniform(0.7, 1.3, ran.shape) * ran
    w /= w.sum(axis=1, keepdims=True)
    split = np.floor(micros[:, None] * w).astype(np.int64)
    last = len(PHASES) - 1 - np.argmax(ran[:, ::-1], axis=1)
    rows = np.arange(len(micros))
    split[rows, last] = 0
    split[rows, last] = micros - split.sum(axis=1)
    return split


def _money(rng: np.random.Generator, plan: Plan, r: _Runs) -> Columns:
    """Token and cost columns: a partial run used ``progress`` of a full run's tokens;
    cost is priced from the tokens; the estimate is the full run's cost, off by a bit."""
    n = len(r.idx)
    full = _completed_tokens(rng, n)
    inp, write, read, out = (
        np.round(full[k] * r.progress).astype(np.int64)
        for k in ("input", "write", "read", "output")
    )
    prompt = inp + write + read
    total = prompt + out
    actual_m = np.round(token_cost(inp, write, read, out) * US).astype(np.int64)
    actual = actual_m / 1e6
    full_cost = token_cost(full["input"], full["write"], full["read"], full["output"])
    safe_prompt, safe_total = np.maximum(prompt, 1), np.maximum(total, 1)
    has_estimate = (r.idx >= int(plan.rows * 0.2)) & (rng.random(n) > 0.1)
    estimate_m = np.where(has_estimate, np.round(full_cost * rng.lognormal(0, 0.15, n) * US), 0)
    estimate_m = estimate_m.astype(np.int64)
    estimate = estimate_m / 1e6
    safe_estimate = np.where(has_estimate, estimate, 1.0)
    cost_score = np.where(
        has_estimate & (r.completed | r.failed),
        np.round(np.clip(100 - np.abs(actual - estimate) / safe_estimate * 100, 0, 100), 1),
        0.0,
    )
    by_phase = _phase_split(rng, r.ran, actual_m)
    breakdown = np.column_stack([estimate_m, actual_m, by_phase])
    return {
        "input_tokens": inp.tolist(),
        "output_tokens": out.tolist(),
        "cached_tokens": write.tolist(),  # cache write
        "cache_hit_tokens": read.tolist(),  # cache read
        "cache_miss_tokens": (inp + write).tolist(),
        "total_tokens": total.tolist(),
        "cache_efficiency_percent": np.where(
            prompt > 0, np.round(read / safe_prompt * 100, 2), 0.0
        ).tolist(),
        "estimated_cost_total": _usd(estimate_m),
        "actual_cost_total": _usd(actual_m),
        "estimated_cost_per_step": _usd(np.round(estimate_m / r.steps_total).astype(np.int64)),
        "actual_cost_per_step": _usd(np.round(actual_m / r.steps_total).astype(np.int64)),
        "cost_per_token": np.where(total > 0, actual / safe_total, 0.0).tolist(),
        "cost_breakdown": _usd_json(_COST_BREAKDOWN, breakdown),
        "token_breakdown": [
            _TOKEN_BREAKDOWN % row
            for row in zip(
                inp.tolist(),
                write.tolist(),
                read.tolist(),
                out.tolist(),
                total.tolist(),
                strict=True,
            )
        ],
        "cost_efficiency_score": cost_score.tolist(),
    }


# --- step 3: the remaining random values -------------------------------------------------


@dataclass
class _Draws:
    duration: np.ndarray  # seconds of a full run
    slack_s: np.ndarray  # seconds between the last step and the final update
    retry: np.ndarray
    port: np.ndarray
    merged: np.ndarray
    ids: str  # 48 hex chars per row: workflow_id (32) + input_hash (16)
    text_code: np.ndarray
    text_coin: np.ndarray
    u: np.ndarray  # 12 x n uniforms, each row of it used by one or two columns
    complexity: np.ndarray
    wtype: np.ndarray
    parent_back: np.ndarray
    error_code: np.ndarray
    repo: np.ndarray
    quality: np.ndarray
    performance: np.ndarray
    issue_jitter: np.ndarray


def _draws(rng: np.random.Generator, r: _Runs, n_texts: int) -> _Draws:
    """Every other random value of the chunk, drawn in one fixed order."""
    n = len(r.idx)
    duration = np.round(r.steps_total * np.exp(rng.normal(np.log(420), 0.45, n)))
    slack_s = rng.integers(5, 120, n)
    retry = np.where(rng.random(n) < 0.15, rng.integers(1, 4, n), 0)
    port = rng.integers(0, 15, n)
    merged = r.completed & (rng.random(n) < 0.8)
    return _Draws(
        duration=duration.astype(np.int64),
        slack_s=slack_s,
        retry=retry,
        port=port,
        merged=merged,
        ids=rng.bytes(24 * n).hex(),
        text_code=rng.integers(0, n_texts, n),
        text_coin=rng.random(n),
        u=rng.random((12, n)),
        complexity=rng.integers(0, 3, (2, n)),
        wtype=rng.choice(3, size=n, p=(0.6, 0.3, 0.1)),
        parent_back=rng.integers(1, 50, n),
        error_code=rng.integers(0, len(ERRORS), n),
        repo=rng.integers(0, len(REPOS), n),
        quality=np.where(r.completed, rng.normal(95, 2.5, n), rng.normal(60, 15, n)),
        performance=rng.normal(82, 9, n),
        issue_jitter=rng.integers(0, 3, n),
    )


# --- from arrays to stored columns ----------------------------------------------------------


def _identity_columns(plan: Plan, r: _Runs, d: _Draws, lo: int, hi: int) -> Columns:
    """Ids and the values derived from them (links to earlier runs, paths, ports, URLs)."""
    n = hi - lo
    adw = [f"{x:08x}" for x in plan.adw_ints[lo:hi].tolist()]
    wf_ids = ["wf-" + d.ids[48 * j : 48 * j + 32] for j in range(n)]
    issue = (12 + (r.idx * 0.9).astype(np.int64) + d.issue_jitter).tolist()
    similar_n = (d.u[1] * 4).astype(np.int64).tolist()
    parent_ok = (d.u[0] < 0.05) & (np.arange(n) >= d.parent_back)
    return {
        "id": (r.idx + 1).tolist(),
        "adw_id": adw,
        "issue_number": issue,
        "github_url": [
            f"https://github.com/{repo}/issues/{i}"
            for repo, i in zip(_pick(REPOS, d.repo), issue, strict=True)
        ],
        "worktree_path": [f"/home/dev/tac-webbuilder/trees/{a}" for a in adw],
        "backend_port": (9100 + d.port).tolist(),
        "frontend_port": (9200 + d.port).tolist(),
        "similar_workflow_ids": [
            '["' + '", "'.join(reversed(adw[max(0, j - k) : j])) + '"]' if k and j else "[]"
            for j, k in enumerate(similar_n)
        ],
        "parent_workflow_id": [
            wf_ids[j - b] if ok else None
            for j, (b, ok) in enumerate(
                zip(d.parent_back.tolist(), parent_ok.tolist(), strict=True)
            )
        ],
        "input_hash": [d.ids[48 * j + 32 : 48 * j + 48] for j in range(n)],
        "workflow_id": wf_ids,
    }


def _request_columns(plan: Plan, r: _Runs, d: _Draws, issue: list[int]) -> Columns:
    """What was asked: the request text (often empty on the oldest rows) and its inputs."""
    has_text = ~((r.idx < int(plan.rows * 0.25)) & (d.text_coin < 0.5))
    codes = d.text_code.tolist()
    nl_input = ["" if t is None else t for t in _where(has_text, [plan.texts[k] for k in codes])]
    tpl_names = _pick(list(TEMPLATES), r.template)
    mdl_names = _pick(list(MODELS), r.model)
    phases_json = _pick([json.dumps(list(spec[2])) for spec in TEMPLATES.values()], r.template)
    return {
        "nl_input": nl_input,
        "workflow_template": tpl_names,
        "model_used": mdl_names,
        "structured_input": [
            _STRUCTURED_INPUT % row
            for row in zip(issue, tpl_names, mdl_names, phases_json, strict=True)
        ],
        "nl_input_word_count": [
            plan.words[k] if t else 0 for k, t in zip(codes, nl_input, strict=True)
        ],
        "nl_input_clarity_score": np.where(has_text, np.round(40 + 60 * d.u[8], 1), 0.0).tolist(),
        "structured_input_completeness_percent": np.round(50 + 50 * d.u[9], 1).tolist(),
    }


def _time_columns(plan: Plan, r: _Runs, d: _Draws, lo: int, hi: int) -> Columns:
    """When: start (NULL on the oldest rows), created in two formats, last update (UTC)."""
    utc_us, local_us = plan.utc_us[lo:hi], plan.local_us[lo:hi]
    elapsed = np.where(r.completed, d.duration, (d.duration * r.progress).astype(np.int64))
    updated_us = np.minimum(utc_us + (elapsed + d.slack_s) * US, plan.window_end_us)
    n_utc = max(0, plan.utc_created - lo)
    return {
        "start_time": _where(r.idx >= plan.null_start, iso_local(local_us)),
        "end_time": [None] * (hi - lo),
        "duration_seconds": _where(r.completed, d.duration.tolist()),
        "created_at": utc_space(utc_us[:n_utc]) + iso_local(local_us[n_utc:]),
        "updated_at": utc_space(np.maximum(updated_us, utc_us)),
    }


def _progress_columns(r: _Runs, d: _Draws) -> Columns:
    """How far the run got, and how it failed or was retried."""
    failed = r.failed.tolist()
    cur_phase = _where(~r.pending, _pick(PHASES, r.last_ran))
    bottleneck_step = (d.u[9] * r.steps_total).astype(np.int64)
    bottleneck = np.argmax(r.runs & (r.pos == bottleneck_step[:, None]), axis=1)
    return {
        "status": _pick(STATUSES, r.status),
        "error_message": _where(r.failed, _pick(list(ERRORS.values()), d.error_code)),
        "phase_count": r.steps_total.tolist(),
        "current_phase": cur_phase,
        "success_rate": _where(
            ~r.pending, np.round(100.0 * r.steps_done / r.steps_total, 1).tolist()
        ),
        "retry_count": d.retry.tolist(),
        "concurrent_workflows": (d.u[6] * 5).astype(np.int64).tolist(),
        "worktree_reused": (d.u[7] < 0.3).astype(np.int64).tolist(),
        "steps_completed": r.steps_done.tolist(),
        "steps_total": r.steps_total.tolist(),
        "idle_time_seconds": (d.u[2] * 600).astype(np.int64).tolist(),
        "bottleneck_phase": _where(~r.pending, _pick(PHASES, bottleneck)),
        "error_category": _where(r.failed, _pick(list(ERRORS), d.error_code)),
        "retry_reasons": _pick(_RETRY_REASONS, d.retry),
        "error_phase_distribution": [
            f'{{"{p}": 1}}' if f else "{}" for p, f in zip(cur_phase, failed, strict=True)
        ],
        "recovery_time_seconds": _where(d.retry > 0, (30 + d.u[3] * 900).astype(np.int64).tolist()),
        "complexity_estimated": _pick(_LEVELS, d.complexity[0]),
        "complexity_actual": _where(r.completed, _pick(_LEVELS, d.complexity[1])),
        "workflow_type": _pick(("planning", "building", "testing"), d.wtype),
    }


def _outcome_columns(plan: Plan, r: _Runs, d: _Draws, cols: Columns) -> Columns:
    """What came out: the PR, test pass rate, scores computed once at insert, insights."""
    merged = d.merged
    ci_ran = r.runs[:, 2] & (r.pos[:, 2] < r.steps_done)
    anomaly = np.where(d.u[2] < 0.06, 1 + (d.u[3] * len(ANOMALIES)).astype(np.int64), 0)
    advice = np.where(d.u[4] < 0.4, 1 + (d.u[5] * len(RECOMMENDATIONS)).astype(np.int64), 0)
    summary = zip(
        cols["issue_number"],
        cols["nl_input_word_count"],
        r.steps_done.tolist(),
        r.completed.tolist(),
        strict=True,
    )
    return {
        "pr_merged": merged.astype(np.int64).tolist(),
        "time_to_merge_hours": _where(merged, np.round(0.2 + 47.8 * d.u[10] ** 2, 2).tolist()),
        "review_cycles": _where(r.completed, (d.u[11] * 4).astype(np.int64).tolist()),
        "ci_test_pass_rate": _where(ci_ran, np.round(80 + 20 * d.u[10], 1).tolist()),
        "performance_score": np.clip(d.performance, 0, 100).round(1).tolist(),
        "quality_score": np.clip(d.quality, 0, 100).round(1).tolist(),
        "anomaly_flags": _pick(_json_options(ANOMALIES), anomaly),
        "optimization_recommendations": _pick(_json_options(RECOMMENDATIONS), advice),
        "output_summary": [
            f"Opened PR for #{i}: {w} words of spec, {s} phases" if ok else None
            for i, w, s, ok in summary
        ],
        "gh_issue_state": _where(
            r.idx >= plan.old_mix // 2, _pick(("open", "closed"), merged.astype(np.int64))
        ),
    }


def _temporal_columns(plan: Plan, r: _Runs, lo: int, hi: int) -> Columns:
    """``submission_hour``/``submission_day_of_week``: stored on a few rows only, the
    wall-clock hour and weekday (Monday = 0) of ``start_time`` (see ``timeline``)."""
    hour, weekday = local_hour_weekday(plan.local_us[lo:hi])
    stored = np.isin(r.idx, plan.stored_temporal)
    return {
        "submission_hour": _where(stored, hour.tolist()),
        "submission_day_of_week": _where(stored, weekday.tolist()),
    }


def chunk_columns(rng: np.random.Generator, plan: Plan, lo: int, hi: int) -> Columns:
    """Rows ``[lo, hi)`` of the pre-006 table as name -> list of values.

    The state's own columns (``scoring_version``, the 2025-11-27 additions, the
    renames) are applied on top by :mod:`wfhist.demo.states`.
    """
    r = _runs(rng, plan, lo, hi)
    money = _money(rng, plan, r)
    d = _draws(rng, r, len(plan.texts))
    cols = {**money, **_identity_columns(plan, r, d, lo, hi)}
    cols |= _request_columns(plan, r, d, cols["issue_number"])
    cols |= _time_columns(plan, r, d, lo, hi)
    cols |= _progress_columns(r, d)
    cols |= _outcome_columns(plan, r, d, cols)
    cols |= _temporal_columns(plan, r, lo, hi)
    for i, (column, value) in plan.dirty.items():
        if lo <= i < hi:
            cols[column][i - lo] = value
    return cols
