"""``make bench``: every benchmark of the project in one run, one table (markdown + JSON).

    python -m bench.run_all [--only tokenize,train,compose] [--style bach-chorales] [--with-quality]

Each benchmark measures midigen and its peer in the same process; this collects them into one table
(benchmark, midigen's figure, the peer's, the ratio, the goal, whether it is met), printed and written to
bench/results/bench.md and bench/results/bench.json. The quality benchmark (``make bench-quality``, the
longest: it trains four models) is only rerun with ``--with-quality``; otherwise its last result, if there is one,
is read from bench/results/quality.json and its table rows say when it was measured.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

from bench.common import RESULTS, machine, save
from midigen.fsutil import atomic_write_json, atomic_write_text

QUALITY_RESULT = RESULTS / "quality.json"


@dataclass(frozen=True)
class Goal:
    """A goal from the issue tracker: a bound on one figure (a ratio, seconds)."""

    text: str
    at_least: float | None = None
    at_most: float | None = None

    def met(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (self.at_most is None or value <= self.at_most)


TOKENIZE_SPEED = Goal(">= 3x MidiTok files/s", at_least=3.0)
TRAIN_SPEED = Goal(">= 2x HF GPT-2 tokens/s (CPU)", at_least=2.0)
SAMPLE_SPEED = Goal(">= 3x HF generate", at_least=3.0)
COMPOSE_WALL_S = Goal("<= 3 s", at_most=3.0)
VARIATIONS = Goal("<= 2x one take", at_most=2.0)
EXACT = Goal("every file", at_least=1.0)  # the fraction of files whose round trip is exact


def _row(benchmark: str, midigen: str, peer: str, ratio: float | None, goal: Goal | str, value: float | None = None) -> dict:
    """One table row; ``value`` is the figure the goal bounds (default: the ratio). A str goal is not checked."""
    checked = value if value is not None else ratio
    met = goal.met(checked) if isinstance(goal, Goal) and checked is not None else None
    return {"benchmark": benchmark, "midigen": midigen, "peer": peer, "ratio": ratio,
            "goal": goal.text if isinstance(goal, Goal) else goal, "met": met}


def table_rows(results: dict) -> list[dict]:
    """The table's rows for whichever of tokenize, train, compose and quality ``results`` holds."""
    rows = []
    if "tokenize" in results:
        r = results["tokenize"]
        ours, theirs = r["results"]["midigen"], r["results"]["miditok_remi"]
        rows.append(_row(f"tokenize files/s ({r['collection']})", f"{ours['files_per_s']:.0f}", f"MidiTok REMI {theirs['files_per_s']:.0f}",
                         r["ratio_files_per_s"], TOKENIZE_SPEED))
        rows.append(_row("tokens per note", f"{ours['tokens_per_note']:.2f}", f"MidiTok REMI {theirs['tokens_per_note']:.2f}",
                         ours["tokens_per_note"] / theirs["tokens_per_note"], "-"))
        rows.append(_row("exact round trips", f"{r['exact_round_trips']}/{r['files']}", "-", None, EXACT,
                         r["exact_round_trips"] / r["files"]))
    if "train" in results:
        r = results["train"]
        ours, theirs = r["results"]["midigen"], r["results"]["hf_gpt2_eager"]
        rows.append(_row(f"train tokens/s ({r['device']}, {r['size']}, {r['batch']}x{r['seq']})", f"{ours['tokens_per_s']:.0f}",
                         f"HF GPT-2 {theirs['tokens_per_s']:.0f}", r["ratio_vs_hf_eager"], TRAIN_SPEED))
        loop = r["results"].get("midigen_train_step")
        if loop:  # the step as `midigen train` takes it: schedule, weight-decay groups, clipping
            rows.append(_row("train tokens/s, `midigen train`'s own step", f"{loop['tokens_per_s']:.0f}",
                             f"HF GPT-2 {theirs['tokens_per_s']:.0f}", r["train_step_ratio_vs_hf_eager"], "-"))
    if "compose" in results:
        r = results["compose"]
        rows.append(_row("sample ms/token (batch 1)", f"{r['midigen_ms_per_token']:.2f}",
                         f"HF generate {r['hf_generate_ms_per_token']:.2f}", r["speedup_vs_hf"], SAMPLE_SPEED))
        rows.append(_row("compose --bars 16 wall s", f"{r['compose_16_bars_wall_s']:.2f}", "-", None, COMPOSE_WALL_S,
                         r["compose_16_bars_wall_s"]))
        rows.append(_row("8 variations / 1 take", f"{r['eight_over_one']:.2f}x", "-", None, VARIATIONS, r["eight_over_one"]))
    if "quality" in results:
        r = results["quality"]
        c = r["config"]
        goal = Goal(f"<= {r['goal_ratio']:.2f}x GPT-2 bits/note", at_most=r["goal_ratio"])  # the ratio the run was held to
        when = f", {r['date']}" if r.get("date") else ""
        for corpus, q in r["corpora"].items():
            ours, theirs = q["results"]["midigen"], q["results"]["gpt2_remi"]
            rows.append(_row(f"test bits/note, {corpus} ({r['device']}, {ours['params'] / 1e6:.1f}M vs {theirs['params'] / 1e6:.1f}M, "
                             f"{c['steps']} steps x {c['tokens_per_step']} tokens{when})",
                             f"{ours['bits_per_note']:.3f}", f"HF GPT-2 on REMI {theirs['bits_per_note']:.3f}",
                             q["ratio_midigen_over_gpt2"], goal))
    return rows


def markdown_table(rows: list[dict]) -> str:
    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    def met(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "**no**")

    lines = ["| benchmark | midigen | peer (same run) | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['benchmark']} | {r['midigen']} | {r['peer']} | {ratio(r['ratio'])} | {r['goal']} | {met(r['met'])} |" for r in rows]
    return "\n".join(lines)


def summary(results: dict, machine_info: dict) -> dict:
    """What bench.json holds: the machine, the table's rows, and every benchmark's full result."""
    rows = table_rows(results)
    return {"machine": machine_info, "rows": rows, "all_goals_met": all(r["met"] is not False for r in rows), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="tokenize,train,compose")
    parser.add_argument("--style", default="bach-chorales")
    parser.add_argument("--with-quality", action="store_true", help="rerun the quality benchmark too (~15 min on a CPU)")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    results = {}
    if "tokenize" in wanted:
        from bench import tokenize_bench

        results["tokenize"] = tokenize_bench.run()
        save("tokenize", results["tokenize"])
        print("\n".join(tokenize_bench.report(results["tokenize"])), flush=True)
    if "train" in wanted:
        from bench import train_bench

        results["train"] = train_bench.run()
        save("train-cpu", results["train"])
        print("\n".join(train_bench.report(results["train"])), flush=True)
    if "compose" in wanted:
        from bench import compose_bench

        results["compose"] = compose_bench.run(args.style)
        save("compose", results["compose"])
        print("\n".join(compose_bench.report(results["compose"])), flush=True)
    if args.with_quality:
        from bench import quality_bench

        save("quality", quality_bench.run())
    if QUALITY_RESULT.is_file():
        results["quality"] = json.loads(QUALITY_RESULT.read_text())
    info = machine()
    table = markdown_table(table_rows(results))
    header = f"Measured {time.strftime('%Y-%m-%d')} on {info['cpu_count']} CPU cores, torch {info['torch']}.\n\n"
    atomic_write_text(RESULTS / "bench.md", header + table + "\n")
    atomic_write_json(RESULTS / "bench.json", summary(results, info))
    print("\n" + table)


if __name__ == "__main__":
    main()
