"""Issue 17's figures on the own folders, before and after, as the markdown table of styles/README.md.

Reads what ``make bench-own-folders`` wrote for each folder and label (``bench/results/own/eval-LABEL-FOLDER.json``,
``band-…``, ``long-…``) and prints one row per figure: each folder's real value, before, after, and the
goal with whether the after value meets it.

    python -m bench.own_folders_table --folders freedoom1,freedoom2 --labels before,after
"""
from __future__ import annotations

import argparse
import json

from bench.band_bench import BAND_GOALS
from bench.common import RESULTS

OWN = RESULTS / "own"


def _load(kind: str, label: str, folder: str) -> dict:
    path = OWN / f"{kind}-{label}-{folder}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _band(r: dict, name: str, side: str = "generated") -> float | None:
    return (r.get(side, {}).get(name) or {}).get("mean")


def _long(r: dict, name: str) -> float | None:
    windows = r.get("windows", {})
    return (next(iter(windows.values()))["figures"][name]["mean"]) if windows else None


def _ratio(goal: float):
    return lambda g, real: abs(g / real - 1) <= goal


# (label, where the figure is, its real counterpart, goal text, test on (after, real))
ROWS = [
    ("`eval` mean overlap (real-vs-real ceiling)", lambda e, b, l: e["distribution"]["mean"]["overlap"]["value"],
     lambda e, b, l: e["distribution"]["mean"]["ceiling"]["value"], ">= 0.85", lambda g, r: g >= 0.85),
    ("real-vs-generated accuracy", lambda e, b, l: e["style_match"]["real_vs_generated"]["accuracy"]["value"], None, "<= 0.70",
     lambda g, r: g <= 0.70),
    *[(label, lambda e, b, l, n=name: _band(b, n), lambda e, b, l, n=name: _band(b, n, "real"), goal, test)
      for name, (label, goal, test) in BAND_GOALS.items()],
    ("32 bars: parts of bars 1-4 still in the last 4", lambda e, b, l: _long(l, "parts_stay"),
     lambda e, b, l: l.get("real", {}).get("parts_stay", {}).get("mean"), ">= real", lambda g, r: g >= r),
    ("32 bars: top part's mean interval", lambda e, b, l: _long(l, "top_part_interval"),
     lambda e, b, l: l.get("real", {}).get("top_part_interval", {}).get("mean"), "within 20 %", _ratio(0.20)),
    ("32 bars: pitches per part, last 8 bars", lambda e, b, l: _long(l, "last8_pitches_per_part"),
     lambda e, b, l: l.get("real", {}).get("last8_pitches_per_part", {}).get("mean"), "within 25 %", _ratio(0.25)),
    ("32 bars: drum sounds, last 8 bars", lambda e, b, l: _long(l, "last8_drum_sounds"),
     lambda e, b, l: l.get("real", {}).get("last8_drum_sounds", {}).get("mean"), "within 25 %", _ratio(0.25)),
    ("takes sharing a 32-note run with the folder", lambda e, b, l: e["originality"]["generated"]["shares_32"]["value"],
     lambda e, b, l: e["originality"]["held_out"]["shares_32"]["value"], "<= real", lambda g, r: g <= r),
    ("whole copies", lambda e, b, l: e["originality"]["generated"]["whole_copies"], None, "0", lambda g, r: g == 0),
    ("test bits/note (4-gram)", lambda e, b, l: e["likelihood"]["model"]["bits_per_note"]["value"],
     lambda e, b, l: e["likelihood"]["ngram4"]["bits_per_note"]["value"], "—", None),
]


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(folders: list[str], labels: list[str]) -> list[str]:
    head = "| figure | goal | " + " | ".join(f"{f} real | " + " | ".join(f"{f} {lab}" for lab in labels) for f in folders) + " |"
    lines = [head, "|" + "---|" * (2 + len(folders) * (1 + len(labels)))]
    data = {(f, lab): (_load("eval", lab, f), _load("band", lab, f), _load("long", lab, f)) for f in folders for lab in labels}
    for name, value, real, goal, test in ROWS:
        cells = []
        for f in folders:
            after = data[(f, labels[-1])]
            real_value = real(*after) if real and all(after) else None
            cells.append(_cell(real_value))
            for lab in labels:
                got = value(*data[(f, lab)]) if all(data[(f, lab)]) else None
                text = _cell(got)
                if lab == labels[-1] and test is not None and got is not None:
                    text = f"**{text}**" if test(got, real_value if real_value is not None else 0.0) else f"{text} (not met)"
                cells.append(text)
        lines.append(f"| {name} | {goal} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", default="freedoom1,freedoom2")
    parser.add_argument("--labels", default="before,after")
    args = parser.parse_args()
    print("\n".join(table(args.folders.split(","), args.labels.split(","))))


if __name__ == "__main__":
    main()
