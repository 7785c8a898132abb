"""``accompany``: drums and bass added to held-out real band pieces, against the drums and bass they had.

    python -m bench.accompany_bench [--style jazz] [--pieces 24] [--bars 8] [--add drums,bass] [--plots DIR]

Each held-out piece (valid + test of the style's split, in order) that has a drum track and a bass track
(General MIDI programs 32-39) is cut to its first ``--bars`` bars; its drum and bass tracks are removed and
what is left (the comping, pads, any lead) is written as a MIDI file, which ``accompany_file`` accompanies
with ``--add`` (seed = the piece's index, the defaults otherwise, ``--max-copy`` at the style's default).
The added parts are set against the removed real ones, per part, with 95 % bootstrap intervals over pieces:

- notes per quarter note; polyphony (notes sounding at each of the part's onsets); groove consistency
  (1 - the mean Hamming distance between successive bars' onset patterns, as ``eval``);
- drums: the shares of kick (GM 35, 36), snare (37, 38, 40) and hi-hat (42, 44, 46) among the drum notes;
- bass: the chord-tone rate of the notes on downbeats (the first beat of each bar), against the chords
  ``midigen`` analyses from the remaining tracks (the same reference for the real and the added bass).

``--plots DIR`` draws the piano roll of the first few accompanied clips beside the real ones (to look at;
the bench cannot listen).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import ROOT, save  # noqa: E402

KICK, SNARE, HAT = (35, 36), (37, 38, 40), (42, 44, 46)


def is_bass(track) -> bool:
    return not track.is_drum and 32 <= track.program <= 39


def part_figures(piece, notes: np.ndarray, chords=None) -> dict:
    """The figures of one part (``notes``, rows of ``piece.notes``) of a piece."""
    from midigen.evalsuite.features import _groove_consistency, _polyphony
    from midigen.music.chord_symbols import chord_pitch_classes
    from midigen.music.chords import chords_at
    from midigen.music.piece import PITCH, START

    quarters = piece.end_steps / 12
    onsets = np.unique(notes[:, START]) if len(notes) else np.zeros(0, dtype=np.int64)
    out = {"notes_per_quarter": len(notes) / quarters, "polyphony": _polyphony(notes, onsets) if len(notes) else np.nan,
           "groove_consistency": _groove_consistency(piece, onsets) if len(notes) else np.nan}
    if chords is not None:  # a bass: chord tones on downbeats
        down = notes[np.isin(notes[:, START], piece.bar_starts_steps()[:-1])]
        values = chords_at(chords, down[:, START]) if len(down) else []
        tones = [int(p) % 12 in chord_pitch_classes(int(v)) for p, v in zip(down[:, PITCH], values) if chord_pitch_classes(int(v))]
        out["downbeat_chord_tone_rate"] = float(np.mean(tones)) if tones else np.nan
    else:
        pitches = notes[:, PITCH]
        for name, group in (("kick_share", KICK), ("snare_share", SNARE), ("hihat_share", HAT)):
            out[name] = float(np.isin(pitches, group).mean()) if len(notes) else np.nan
    return out


def summary(rows: list[dict], rng) -> dict:
    from midigen.evalsuite import bootstrap

    keys = rows[0].keys() if rows else []
    out = {}
    for key in keys:
        values = np.array([r[key] for r in rows], dtype=np.float64)
        values = values[np.isfinite(values)]
        out[key] = bootstrap.mean(values, rng).to_json(3) if len(values) else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--style", default="jazz")
    parser.add_argument("--pieces", type=int, default=24)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--add", default="drums,bass")
    parser.add_argument("--plots", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from midigen.evalsuite import realset
    from midigen.midi.files import midi_bytes
    from midigen.music.chords import analyse
    from midigen.music.piece import TRACK
    from midigen.tasks.accompany import accompany_file, request_from_strings
    from midigen.tasks.compose import keep_tracks
    from midigen.tasks.takes import sampling_bundle

    bundle = sampling_bundle(args.style, ROOT / "styles")
    real = realset.load_style_corpus(bundle.meta, bundle.path)
    added_names = [p.strip() for p in args.add.split(",")]
    figures = {name: {"real": [], "added": []} for name in added_names}
    used, seconds, tmp = [], 0.0, Path(tempfile.mkdtemp(prefix="accompany-bench-"))
    for i in real.held_out:
        if len(used) >= args.pieces:
            break
        piece = realset.excerpt(real.pieces([i])[0], args.bars)
        drums = [t for t, tr in enumerate(piece.tracks) if tr.is_drum]
        bass = [t for t, tr in enumerate(piece.tracks) if is_bass(tr)]
        keep = tuple(t for t in range(len(piece.tracks)) if t not in drums + bass)
        if not drums or not bass or not keep or len(piece.meters) > 1:
            continue
        clip = keep_tracks(piece, keep, [f"part {t + 1}" for t in keep])
        path = tmp / f"{len(used):03d}.mid"
        path.write_bytes(midi_bytes(clip))
        start = time.perf_counter()
        source, (take,) = accompany_file(bundle, path, request_from_strings(args.add, seed=len(used)))
        seconds += time.perf_counter() - start
        chords = analyse(source.piece)
        n_in = take.piece.meta["input_tracks"]
        new = take.piece.meta["new_notes"]
        for k, name in enumerate(take.provenance["parts"]):
            real_tracks = drums if name == "drums" else bass
            real_notes = piece.notes[np.isin(piece.notes[:, TRACK], real_tracks)]
            part_chords = None if name == "drums" else chords
            figures[name]["real"].append(part_figures(piece, real_notes, part_chords))
            figures[name]["added"].append(part_figures(take.piece, new[new[:, TRACK] == n_in + k], part_chords))
        used.append(real.dataset.records[i].path)
        print(f"{len(used)}/{args.pieces} {used[-1]}: {len(new)} new notes in {time.perf_counter() - start:.1f} s", flush=True)
        if args.plots and len(used) <= 4:
            from midigen.media.plot import plot_piano_roll

            args.plots.mkdir(parents=True, exist_ok=True)
            plot_piano_roll(take.piece, args.plots / f"{len(used)}-accompanied.png")
            plot_piano_roll(piece, args.plots / f"{len(used)}-real.png")
    rng = np.random.default_rng(0)
    result = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "pieces": used,
              "seconds_per_piece": round(seconds / max(len(used), 1), 2),
              "parts": {name: {side: summary(rows, rng) for side, rows in sides.items()} for name, sides in figures.items()}}
    for name, sides in result["parts"].items():
        for key in sides["real"]:
            print(f"{name:6s} {key:26s} real {sides['real'][key]}  added {sides['added'][key]}")
    print(save("accompany_bench", result, args.out))


if __name__ == "__main__":
    main()
