"""What the page shows: a take as piano-roll data, a style as a card, a take's equivalent CLI command.

A take's roll is read back from the very MIDI file the server wrote (``midi.files.read_midi``, the
defensive reader), not from the sampled ``Piece``: the page then shows exactly what a download or a
drag into the DAW holds, the same way for a composed take, a patched user file and an upload. Positions
stay on the grid (``STEPS_PER_QUARTER`` steps a quarter) with the bar and beat lines and the tempo map,
so the page can place notes, select whole bars and move a playhead without knowing any music rules.

The command line is built from the take's provenance, the record its MIDI file carries: running it
writes the same file, which is how a take made on the page is reproduced or scripted.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from ..errors import MidigenError
from ..media.render import RELEASE_S, piece_duration_s
from ..midi.files import read_midi, track_display_name
from ..music.grid import STEPS_PER_QUARTER
from ..music.keys import KEY_NAMES
from ..music.piece import DURATION, PITCH, START, TRACK, VELOCITY, Piece
from ..styles.bundle import read_meta
from ..tasks.compose import style_defaults
from .store import TakeRecord

TOP_STATS = 6  # the most common keys, meters, tempos a style card lists


def take_piece(record: TakeRecord) -> Piece:
    """The take's MIDI file read back (once), as long as the take's bars even where its last ones are silent."""
    if "piece" not in record.cache:
        piece, _ = read_midi(record.path)
        record.cache["piece"] = piece.replace(n_bars=max(piece.n_bars, record.bars))
    return record.cache["piece"]


def beat_starts(piece: Piece) -> list[int]:
    """Step of every beat: dotted quarters in compound meters (6/8, 9/8, 12/8), else the denominator's note
    (as ``media.plot`` draws them)."""
    bar_starts = piece.bar_starts_steps()
    meter_of_bar = {bar: (num, den) for bar, num, den in piece.meters}
    beats, meter = [], (4, 4)
    for bar in range(piece.n_bars):
        meter = meter_of_bar.get(bar, meter)
        num, den = meter
        compound = den >= 8 and num % 3 == 0 and num > 3
        step = (3 if compound else 1) * 4 * STEPS_PER_QUARTER // den
        beats.extend(range(int(bar_starts[bar]), int(bar_starts[bar + 1]), step))
    return beats


def roll(piece: Piece) -> dict:
    """Everything the page needs to draw and play a piano roll, in grid steps."""
    names = piece.meta.get("track_names") or []
    return {
        "steps_per_quarter": STEPS_PER_QUARTER,
        "bar_starts": [int(s) for s in piece.bar_starts_steps()],  # n_bars + 1: the end of the last bar too
        "beats": beat_starts(piece),
        "meters": [[int(b), int(n), int(d)] for b, n, d in piece.meters],
        "tempos": [[int(s), float(bpm)] for s, bpm in piece.tempos],
        "key": KEY_NAMES[piece.key] if piece.key is not None else None,
        "parts": [{"name": names[t] if t < len(names) and names[t] else track_display_name(track, t),
                   "program": track.program, "drum": track.is_drum} for t, track in enumerate(piece.tracks)],
        # [start, duration, pitch, velocity, track] per note
        "notes": piece.notes[:, [START, DURATION, PITCH, VELOCITY, TRACK]].tolist(),
        "duration_s": piece_duration_s(piece),
        "audio_s": piece_duration_s(piece) + RELEASE_S,  # a take's WAV: its bars plus the release
    }


def take_json(record: TakeRecord) -> dict:
    """A take as the API returns it."""
    piece = take_piece(record)
    return {"id": record.id, "kind": record.kind, "style": record.style, "parent": record.parent, "label": record.label,
            "bars": piece.n_bars, "notes": piece.n_notes, "provenance": record.provenance, "command": record.command,
            "download_name": record.download_name, "midi_url": f"/api/takes/{record.id}/midi",
            "audio_url": f"/api/takes/{record.id}/audio", "roll": roll(piece)}


def _top(counts: dict) -> list:
    return [[k, v] for k, v in sorted((counts or {}).items(), key=lambda kv: -kv[1])[:TOP_STATS]]


def style_card(path: Path) -> dict:
    """A style's card: what it learnt from, its parts and the defaults compose fills in."""
    try:
        meta = read_meta(path)
    except MidigenError as e:
        return {"name": path.name, "composable": False, "error": " ".join(str(e).split())}
    corpus, training = meta.get("corpus", {}), meta.get("training", {})
    stats = corpus.get("stats", {})
    metrics = meta.get("metrics", {})
    side = metrics.get("test") or metrics.get("valid") or {}
    card = {"name": meta["name"], "composable": not meta.get("corpora"), "pieces": corpus.get("pieces"),
            "collection": corpus.get("collection") or "own files", "root": corpus.get("root"), "licence": corpus.get("licence"),
            "keys": _top(stats.get("keys")), "meters": _top(stats.get("meters")), "tempos_bpm": _top(stats.get("tempos_bpm")),
            "params": meta.get("params"), "size": training.get("size"), "steps": training.get("steps_done"),
            "bits_per_note": (side.get("model") or {}).get("bits_per_note"),
            "ngram_bits_per_note": (side.get("ngram") or {}).get("bits_per_note")}
    if card["composable"]:
        defaults = style_defaults(meta)
        # no default key: compose draws each take's from the corpus's keys ("keys" lists the commonest)
        card["defaults"] = {"key": None, "tempo_bpm": defaults["tempo_bpm"], "time_sig": "{}/{}".format(*defaults["meter"]),
                            "range": list(defaults["pitch_range"])}
        card["parts"] = [{"name": p.name, "title": p.title, "program": p.program, "drum": p.is_drum,
                          "range": [p.pitch_low, p.pitch_high], "pieces": p.pieces, "notes_per_bar": p.notes_per_bar}
                         for p in defaults["parts"]]
    else:
        card["corpora"] = [c.get("label") for c in meta.get("corpora", [])]
    return card


def _number(x: float) -> str:
    return f"{x:.10g}"


def command_line(provenance: dict, *, variations: int, input_name: str | None = None, parts_given: bool = False) -> str:
    """The ``midigen`` command that writes this take again (the same input file, style and options)."""
    p = provenance
    cmd = ["midigen", p["command"]]
    if input_name is not None:
        cmd.append(input_name)
    if p["command"] == "infill":
        cmd += ["--bars", p["bars"]] + (["--tracks", ",".join(map(str, p["tracks"]))] if p.get("tracks") else [])
    elif p["command"] in ("compose", "continue"):
        cmd += ["--bars", str(p["bars"])]
    cmd += ["--style", p["style"]]
    if p["command"] == "compose":
        cmd += (["--key", p["key"]] if p.get("key") else []) + ["--tempo", _number(p["tempo_bpm"]), "--time-sig", p["time_sig"]]
        cmd += ["--parts", ",".join(p["parts"])] if parts_given else []
        cmd += ["--chords", p["chords"]] if p.get("chords") else []
        cmd += ["--chords-track"] if p.get("chords_track") else []
        cmd += ["--program", str(p["program"])] if p.get("program") is not None else []
    elif p.get("key_from") == "--key":
        cmd += ["--key", p["key"]]
    if p.get("range"):
        cmd += ["--range", "{}-{}".format(*p["range"])]
    cmd += ["--seed", str(p["seed"]), "--temperature", _number(p["temperature"]), "--top-p", _number(p["top_p"])]
    cmd += ["--strict-key"] if p.get("strict_key") else []
    if "max_copy" in p:  # the copy guard as it was resolved: N notes, or off (no index, or turned off)
        cmd += ["--max-copy", "off" if p["max_copy"] is None else str(p["max_copy"])]
    out = "take.mid"
    if variations > 1:
        cmd += ["--variations", str(variations)]
    line = shlex.join(cmd + ["-o", out])
    return line + (f"  # this take: take-{p['variation']}.mid" if variations > 1 else "")
