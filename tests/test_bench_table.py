"""The benchmark table (``make bench``) is assembled correctly from each benchmark's result."""
from __future__ import annotations

import pytest

from bench.run_all import Goal, markdown_table, summary, table_rows


def _tokenize(ratio: float = 3.5, exact: int = 10) -> dict:
    return {"collection": "bach-chorales", "files": 10, "notes": 1000, "exact_round_trips": exact, "ratio_files_per_s": ratio,
            "results": {"midigen": {"files_per_s": 700.0, "tokens_per_note": 3.4},
                        "miditok_remi": {"files_per_s": 700.0 / ratio, "tokens_per_note": 4.4}}}


def _train(ratio: float = 1.5) -> dict:
    return {"device": "cpu", "size": "small", "batch": 8, "seq": 512, "ratio_vs_hf_eager": ratio,
            "results": {"midigen": {"tokens_per_s": 4200.0 * ratio / 1.5}, "hf_gpt2_eager": {"tokens_per_s": 2800.0}}}


def _compose(speedup: float = 2.0, wall_s: float = 3.4, eight_over_one: float = 1.8) -> dict:
    return {"midigen_ms_per_token": 1.7, "hf_generate_ms_per_token": 1.7 * speedup, "speedup_vs_hf": speedup,
            "compose_16_bars_wall_s": wall_s, "eight_over_one": eight_over_one}


def _quality(ratios: dict[str, float]) -> dict:
    corpora = {}
    for name, ratio in ratios.items():
        corpora[name] = {"ratio_midigen_over_gpt2": ratio, "goal_met": ratio <= 0.9,
                         "results": {"midigen": {"params": 3_301_632, "bits_per_note": 4.0 * ratio},
                                     "gpt2_remi": {"params": 3_316_480, "bits_per_note": 4.0}}}
    return {"device": "cpu", "date": "2026-11-24 20:00", "config": {"steps": 240, "tokens_per_step": 2048},
            "goal_ratio": 0.9, "corpora": corpora}


def test_goal_bounds():
    assert Goal("x", at_least=3.0).met(3.0) and not Goal("x", at_least=3.0).met(2.99)
    assert Goal("x", at_most=2.0).met(2.0) and not Goal("x", at_most=2.0).met(2.01)


def test_rows_carry_figures_ratios_and_goals():
    rows = table_rows({"tokenize": _tokenize(), "train": _train(), "compose": _compose()})
    by_name = {r["benchmark"].split(" (")[0]: r for r in rows}
    assert by_name["tokenize files/s"]["ratio"] == pytest.approx(3.5) and by_name["tokenize files/s"]["met"] is True
    assert by_name["tokenize files/s"]["peer"] == "MidiTok REMI 200"
    assert by_name["tokens per note"]["met"] is None  # informational: no goal
    assert by_name["exact round trips"]["midigen"] == "10/10" and by_name["exact round trips"]["met"] is True
    assert by_name["train tokens/s"]["met"] is False  # 1.5x < 2x
    assert by_name["sample ms/token"]["met"] is False  # 2.0x < 3x
    assert by_name["compose --bars 16 wall s"]["ratio"] is None and by_name["compose --bars 16 wall s"]["met"] is False
    assert by_name["8 variations / 1 take"]["met"] is True


def test_missing_benchmarks_are_left_out():
    assert table_rows({}) == []
    assert [r["benchmark"] for r in table_rows({"train": _train()})] == ["train tokens/s (cpu, small, 8x512)"]


def test_quality_rows_one_per_corpus_with_the_runs_own_goal():
    rows = table_rows({"quality": _quality({"bach-chorales": 0.85, "irish-oneills": 0.95})})
    assert len(rows) == 2
    bach, irish = rows
    assert bach["benchmark"].startswith("test bits/note, bach-chorales (cpu, 3.3M vs 3.3M, 240 steps x 2048 tokens, 2026-11-24")
    assert bach["midigen"] == "3.400" and bach["peer"] == "HF GPT-2 on REMI 4.000"
    assert bach["met"] is True and irish["met"] is False
    assert "0.90x" in bach["goal"]


def test_markdown_table_has_one_line_per_row_and_six_columns():
    rows = table_rows({"tokenize": _tokenize(exact=9), "compose": _compose()})
    lines = markdown_table(rows).splitlines()
    assert lines[0] == "| benchmark | midigen | peer (same run) | ratio | goal | met? |"
    assert len(lines) == 2 + len(rows)
    assert all(line.count("|") == 7 for line in lines)
    exact = next(line for line in lines if line.startswith("| exact round trips"))
    assert "9/10" in exact and exact.endswith("| **no** |")
    assert "| - |" in next(line for line in lines if line.startswith("| compose --bars 16"))  # no ratio


def test_summary_json_holds_rows_results_and_the_verdict():
    results = {"tokenize": _tokenize(), "quality": _quality({"bach-chorales": 0.8})}
    out = summary(results, {"cpu_count": 2})
    assert out["machine"] == {"cpu_count": 2} and out["results"] is results
    assert out["rows"] == table_rows(results)
    assert out["all_goals_met"] is True
    assert summary({"train": _train()}, {})["all_goals_met"] is False
