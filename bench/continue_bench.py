"""Continue: bits/note of the bars ``midigen continue`` writes vs the real continuation, under the model.

    python -m bench.continue_bench [--style bach-chorales] [--corpus corpora/bach-chorales] [--cut 4] [--bars 4]
                                   [--variations 4] [--pieces N]

Each test piece of the style's own split (``style.json``) with at least CUT + BARS bars is cut after bar
CUT; ``continue_piece`` writes BARS more bars (VARIATIONS takes, seed 0). The generated bars and the real
bars CUT+1 .. CUT+BARS are scored under the model conditioned on the same prompt (header, bars 1..CUT,
the Bar token that opens bar CUT+1): bits per note = negative log2-likelihood of their tokens (up to,
not including, the token that closes the last bar) / their notes. Generated bars are drawn at the
sampler's defaults (temperature 1, top-p 0.95) and with plain sampling (top-p 1): the first should score
below the real bars (nucleus sampling drops the unlikely tail), the second about level with them if the
model's distribution over continuations matches the music's.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, save

SETTINGS = {"default (T=1, top-p 0.95)": 0.95, "plain sampling (T=1, top-p 1)": 1.0}
BOOTSTRAP_ROUNDS = 2000


def cut_piece(piece, bars: int):
    """The first ``bars`` bars of a quantized piece, tokens for tokens as they stand in the whole piece."""
    from midigen.music.piece import START

    end = int(piece.bar_starts_steps()[bars])
    return piece.replace(notes=piece.notes[piece.notes[:, START] < end], n_bars=bars,
                         meters=tuple(m for m in piece.meters if m[0] < bars), tempos=tuple(t for t in piece.tempos if t[0] < end))


def bar_tokens(ids: np.ndarray, first_bar: int, bars: int) -> tuple[int, int]:
    """[start, stop) of the tokens inside bars first_bar .. first_bar + bars - 1 (0-based), Bar tokens excluded
    at both ends: the opening Bar belongs to the prompt, the closing Bar or EOS to what follows."""
    from midigen.tokens.vocab import VOCAB

    marks = np.flatnonzero((ids == VOCAB.offsets["Bar"]) | (ids == VOCAB.offsets["EOS"]))
    return int(marks[first_bar]) + 1, int(marks[first_bar + bars])


@torch.no_grad()
def bits(model, ids: np.ndarray, start: int, stop: int) -> float:
    """NLL in bits of ids[start:stop] given everything before (the header and the latest tokens that fit)."""
    from midigen.sampling.sampler import _header_length

    header = _header_length(ids)
    room = model.cfg.max_seq_len - header
    first = max(header, stop - room)
    if first > start:
        raise ValueError("the scored bars do not fit in the model's context")
    window = np.concatenate([ids[:header], ids[first:stop]])
    logits = model(torch.as_tensor(window[None, :-1], dtype=torch.long))[0][0].float()
    targets = torch.as_tensor(window[1:], dtype=torch.long)
    nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    offset = header - first  # window index of ids[i] is i + offset for i >= first
    return float(nll[start + offset - 1: stop + offset - 1].sum()) / math.log(2)


def bootstrap(rows: list[dict], label: str, minus: str | None = None) -> list[float]:
    """95 % interval of the pooled bits/note of ``label`` (less that of ``minus``), pieces resampled."""
    rng = np.random.default_rng(0)
    totals = np.array([row[label] for row in rows], dtype=np.float64)  # (pieces, 2): bits, notes
    other = np.array([row[minus] for row in rows], dtype=np.float64) if minus else None
    figures = []
    for _ in range(BOOTSTRAP_ROUNDS):
        pick = rng.integers(0, len(rows), len(rows))
        value = totals[pick, 0].sum() / totals[pick, 1].sum()
        if other is not None:
            value -= other[pick, 0].sum() / other[pick, 1].sum()
        figures.append(value)
    return [round(float(v), 4) for v in np.percentile(figures, [2.5, 97.5])]


def run(style: str, corpus: Path, cut: int, bars: int, variations: int, pieces: int | None = None) -> dict:
    from midigen.corpus.reader import load_piece
    from midigen.music.chords import analyse
    from midigen.music.piece import normalise_changes
    from midigen.styles.bundle import load_bundle
    from midigen.styles.registry import find_style
    from midigen.tasks.continuation import ContinueRequest, continue_piece, prompt_of
    from midigen.tasks.takes import style_slot
    from midigen.tokens.tokenizer import encode, note_count

    torch.manual_seed(0)
    bundle = load_bundle(find_style(style))
    model, slot = bundle.model, style_slot(bundle)
    names = bundle.meta["corpus"]["split"]["test"][:pieces]
    totals = {"real": [0.0, 0]} | {name: [0.0, 0] for name in SETTINGS}
    per_piece, used, skipped = [], 0, []  # per piece: [bits, notes] of the real bars and of each setting's takes
    start_time = time.perf_counter()
    for name in names:
        piece, _ = load_piece(corpus / name)
        if piece.n_bars < cut + bars:
            skipped.append(name)
            continue
        head = cut_piece(piece, cut)
        prompt = prompt_of(head, head.key, slot)
        # the real bars after the prompt's chords (analysed on the input, as ``continue`` does), then the piece's own
        end = int(piece.bar_starts_steps()[cut])
        chords = [c for c in analyse(head) if c[0] < end] + [c for c in piece.chords if c[0] >= end]
        whole = encode(piece.replace(style=slot, chords=normalise_changes(chords, piece.end_steps)))
        a, b = bar_tokens(whole, cut, bars)
        assert list(whole[:a]) == prompt, name
        row = {"piece": name, "real": [bits(model, whole, a, b), note_count(whole[a:b])]}
        for label, top_p in SETTINGS.items():
            takes = continue_piece(bundle, head, ContinueRequest(bars=bars, seed=0, top_p=top_p, variations=variations))
            row[label] = [0.0, 0]
            for take in takes:
                ids = encode(take.piece.replace(style=slot))
                assert list(ids[:len(prompt)]) == prompt, name
                stop = len(ids) - 1  # the EOS
                row[label][0] += bits(model, ids, len(prompt), stop)
                row[label][1] += note_count(ids[len(prompt):stop])
        for label in totals:
            totals[label][0] += row[label][0]
            totals[label][1] += row[label][1]
        per_piece.append(row)
        used += 1
    pooled = {label: {"bits_per_note": round(t / max(n, 1), 4), "notes": n, "ci95": bootstrap(per_piece, label)}
              for label, (t, n) in totals.items()}
    for label in SETTINGS:
        pooled[label]["minus_real_ci95"] = bootstrap(per_piece, label, minus="real")
    return {"style": style, "bundle_sha256": bundle.weights_sha256[:16], "bundle_created": bundle.meta.get("created"),
            "corpus": str(corpus), "cut_after_bar": cut, "bars": bars, "variations": variations,
            "pieces": used, "skipped_short": skipped, "pooled": pooled, "per_piece": per_piece,
            "seconds": round(time.perf_counter() - start_time, 1),
            "unit": "bits per note: NLL (log2) of the tokens of the scored bars / notes in them, under the style's model"}


def report(r: dict) -> list[str]:
    lines = [f"continue ({r['style']}): {r['pieces']} test pieces cut after bar {r['cut_after_bar']}, "
             f"{r['bars']} bars continued x {r['variations']} takes; bits/note under the model given bars 1-{r['cut_after_bar']}"]
    real = r["pooled"]["real"]
    low, high = real["ci95"]
    span = f"{r['cut_after_bar'] + 1}-{r['cut_after_bar'] + r['bars']}"
    lines.append(f"  real bars {span:<31s} {real['bits_per_note']:6.3f} bits/note [{low:.3f}, {high:.3f}]  "
                 f"({real['notes'] / max(r['pieces'], 1):.1f} notes a piece)")
    for label in SETTINGS:
        g = r["pooled"][label]
        (low, high), (d_low, d_high) = g["ci95"], g["minus_real_ci95"]
        per_take = g["notes"] / max(r["pieces"] * r["variations"], 1)
        lines.append(f"  generated, {label:30s} {g['bits_per_note']:6.3f} bits/note [{low:.3f}, {high:.3f}]  "
                     f"({per_take:.1f} notes a take); minus real: {g['bits_per_note'] - real['bits_per_note']:+.3f} "
                     f"[{d_low:+.3f}, {d_high:+.3f}]")
    lines.append("  (95 % bootstrap intervals over pieces)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="bach-chorales")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "bach-chorales")
    parser.add_argument("--cut", type=int, default=4)
    parser.add_argument("--bars", type=int, default=4)
    parser.add_argument("--variations", type=int, default=4)
    parser.add_argument("--pieces", type=int, help="Only the first N test pieces (a quick look).")
    parser.add_argument("--json", type=Path, help="Write the result here (default: bench/results/continue.json).")
    args = parser.parse_args()
    result = run(args.style, args.corpus, args.cut, args.bars, args.variations, args.pieces)
    print(f"{save('continue', result, args.json)}:")
    print("\n".join(report(result)))


if __name__ == "__main__":
    main()
