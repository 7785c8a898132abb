"""``make bench``: every benchmark of the project in one run, one table (markdown + JSON).

    python -m bench.run_all [--only tokenize,train,compose] [--style bach-chorales]

Each benchmark measures midigen and its peer in the same process and prints the ratio; this collects
them into bench/results/summary.md and summary.json so a reader sees every ratio at once.
"""
from __future__ import annotations

import argparse
import time

from bench import compose_bench, tokenize_bench, train_bench
from bench.common import RESULTS, machine, save
from midigen.fsutil import atomic_write_json, atomic_write_text


def _rows(results: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    if "tokenize" in results:
        r = results["tokenize"]
        ours, theirs = r["results"]["midigen"], r["results"]["miditok_remi"]
        rows.append(("tokenize files/s", f"{ours['files_per_s']:.0f}", f"MidiTok REMI {theirs['files_per_s']:.0f}",
                     f"{r['ratio_files_per_s']:.2f}x (goal >= 3x)"))
        rows.append(("tokens per note", f"{ours['tokens_per_note']:.2f}", f"MidiTok REMI {theirs['tokens_per_note']:.2f}",
                     f"exact round trips {r['exact_round_trips']}/{r['files']}"))
    if "train" in results:
        r = results["train"]
        rows.append((f"train tokens/s ({r['device']}, {r['batch']}x{r['seq']})", f"{r['results']['midigen']['tokens_per_s']:.0f}",
                     f"HF GPT-2 {r['results']['hf_gpt2_eager']['tokens_per_s']:.0f}", f"{r['ratio_vs_hf_eager']:.2f}x (goal >= 2x)"))
    if "compose" in results:
        r = results["compose"]
        rows.append(("sample ms/token (batch 1)", f"{r['midigen_ms_per_token']:.2f}", f"HF generate {r['hf_generate_ms_per_token']:.2f}",
                     f"{r['speedup_vs_hf']:.2f}x (goal >= 3x)"))
        rows.append(("compose --bars 16 wall s", f"{r['compose_16_bars_wall_s']:.2f}", "-", "goal <= 3 s"))
        rows.append(("8 variations / 1 take", f"{r['eight_over_one']:.2f}x", "-", "goal <= 2x"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="tokenize,train,compose")
    parser.add_argument("--style", default="bach-chorales")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    results = {}
    if "tokenize" in wanted:
        results["tokenize"] = tokenize_bench.run()
        save("tokenize", results["tokenize"])
        print("\n".join(tokenize_bench.report(results["tokenize"])), flush=True)
    if "train" in wanted:
        results["train"] = train_bench.run()
        save("train-cpu", results["train"])
        print("\n".join(train_bench.report(results["train"])), flush=True)
    if "compose" in wanted:
        results["compose"] = compose_bench.run(args.style)
        save("compose", results["compose"])
        print("\n".join(compose_bench.report(results["compose"])), flush=True)
    rows = _rows(results)
    table = ["| benchmark | midigen | peer (same run) | ratio / goal |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    header = f"Measured {time.strftime('%Y-%m-%d')} on {machine()['cpu_count']} CPU cores, torch {machine()['torch']}.\n\n"
    atomic_write_text(RESULTS / "summary.md", header + "\n".join(table) + "\n")
    atomic_write_json(RESULTS / "summary.json", {"machine": machine(), "results": results})
    print("\n" + "\n".join(table))


if __name__ == "__main__":
    main()
