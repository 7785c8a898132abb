"""Tokenization throughput: midigen vs MidiTok REMI on the same MIDI files, in one process.

    python -m bench.tokenize_bench [--collection bach-chorales] [--repeat 3]

Both read the file from disk and tokenize it (MidiTok parses with symusic too). midigen's exactness
is checked on every file (decode(encode(p)) == quantize(p)) outside the timed loop.
"""
from __future__ import annotations

import argparse

from bench.common import Timer, corpus_dir, midi_files, save


def run(collection: str = "bach-chorales", repeat: int = 3) -> dict:
    from miditok import REMI, TokenizerConfig
    from symusic import Score

    from midigen.midi.files import read_midi
    from midigen.tokens.tokenizer import decode, encode

    files = midi_files(corpus_dir(collection))
    tokenizer = REMI(TokenizerConfig())
    notes = sum(sum(t.note_num() for t in Score(str(f)).tracks) for f in files)

    def ours() -> int:
        return sum(len(encode(read_midi(f)[0])) for f in files)

    def theirs() -> int:
        total = 0
        for f in files:
            out = tokenizer(f)
            total += sum(len(s.ids) for s in out) if isinstance(out, list) else len(out.ids)
        return total

    timings = {}
    for name, fn in (("midigen", ours), ("miditok_remi", theirs)):
        best = None
        for _ in range(repeat):
            with Timer() as t:
                tokens = fn()
            best = t.seconds if best is None else min(best, t.seconds)
        timings[name] = {"seconds": best, "files_per_s": len(files) / best, "tokens_per_s": tokens / best,
                         "tokens": tokens, "tokens_per_note": tokens / notes}
    exact = 0
    for f in files:
        piece, _ = read_midi(f)
        exact += decode(encode(piece)) == piece
    ratio = timings["midigen"]["files_per_s"] / timings["miditok_remi"]["files_per_s"]
    return {"collection": collection, "files": len(files), "notes": notes, "exact_round_trips": exact,
            "results": timings, "ratio_files_per_s": ratio, "goal": ">= 3x MidiTok files/s with exact round trip"}


def report(result: dict) -> list[str]:
    lines = [f"tokenize ({result['collection']}, {result['files']} files, {result['notes']} notes)"]
    for name, r in result["results"].items():
        lines.append(f"  {name:13s} {r['files_per_s']:8.0f} files/s {r['tokens_per_s'] / 1e3:8.0f}k tokens/s "
                     f"{r['tokens_per_note']:5.2f} tokens/note")
    lines.append(f"  ratio midigen/miditok files/s: {result['ratio_files_per_s']:.2f}x (goal >= 3x); "
                 f"exact round trips {result['exact_round_trips']}/{result['files']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="bach-chorales")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = run(args.collection, args.repeat)
    save("tokenize", result)
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
