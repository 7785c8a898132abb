"""``harmonize``: the user's melody as the top part, the style's other parts written under it.

The melody (one track, one note at a time) takes the style's first part, the top voice of its corpus
(the soprano of the Bach chorales). Sampling runs under ``MelodyLockedState``: the melody's notes, on the
grid, are forced where they fall, and every other note stays under the melody note sounding with it and
inside its part's range (``parts``). Bars, meter and tempo are the melody file's; the key is ``--key``,
else the file's key signature, else found from the melody's notes. The model conditions on what comes
before each token only: it hears the melody up to the current position, never ahead of it. The file
written is the melody file, every event as it was, plus one new track per part (``midi_patch``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MidigenError, file_error
from ..fsutil import atomic_write_bytes
from ..midi.patch import NewTrack, SourceMidi, patch, read_source
from ..music.keys import KEY_NAMES
from ..music.piece import DURATION, START, TRACK, Piece
from ..sampling.constraints import Constraints
from ..sampling.locks import MelodyLockedState
from ..sampling.sampler import SamplingParams, sample_prompted
from ..styles.bundle import Bundle
from ..styles.parts import Part, style_parts
from ..tokens.tokenizer import decode
from .compose import (
    Take,
    check_composable,
    check_outputs,
    check_sampling,
    header_ids,
    output_paths,
    provenance,
    sampling_bundle,
    style_slot,
)
from .continuation import input_key


@dataclass(frozen=True)
class HarmonizeRequest:
    """How to sample the new parts; bars, meter and tempo come from the melody."""

    key: int | None = None  # the melody's key, where its file states none or a wrong one
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    variations: int = 1
    strict_key: bool = False  # every new note in the key (the melody stays as it is)

    def __post_init__(self) -> None:
        if self.key is not None and not 0 <= self.key < 24:
            raise MidigenError(f"key must be 0-23, got {self.key}")
        check_sampling(self.temperature, self.top_p, self.variations)


def check_melody(melody: Piece) -> None:
    """MidigenError unless the piece is one melodic track, one note at a time, in one meter."""
    if len(melody.tracks) != 1 or melody.tracks[0].is_drum:
        kinds = f"{len(melody.tracks)} tracks" if len(melody.tracks) != 1 else "a drum track"
        raise MidigenError(f"has {kinds}: harmonize needs a melody on one melodic track")
    if len(melody.meters) > 1:
        raise MidigenError(f"changes meter at bar {melody.meters[1][0] + 1}: harmonize keeps one meter")
    notes = melody.notes
    overlap = np.flatnonzero(notes[1:, START] < notes[:-1, START] + notes[:-1, DURATION])
    if len(overlap):
        bar = int(np.searchsorted(melody.bar_starts_steps(), notes[overlap[0] + 1, START], side="right"))
        raise MidigenError(f"has two notes sounding together in bar {bar}: harmonize needs one note at a time")


def harmony_parts(bundle: Bundle) -> tuple[Part, ...]:
    parts = style_parts(bundle.meta)
    if len(parts) < 2 or parts[0].is_drum:
        raise MidigenError(f"style {bundle.name} has the parts {', '.join(p.name for p in parts)}: harmonize needs a "
                           "style whose pieces have several parts, the top one melodic")
    return parts


def harmonize_piece(bundle: Bundle, melody: Piece, request: HarmonizeRequest, *, source: dict | None = None,
                    device: str = "cpu") -> list[Take]:
    """``request.variations`` harmonizations of a quantized one-track melody: each take's piece holds the
    melody (on the grid) as track 0 and the style's other parts as tracks 1, 2, …"""
    check_composable(bundle)
    check_melody(melody)
    parts = harmony_parts(bundle)
    key, key_from = input_key(melody, request.key)
    meter, tempo_bpm = tuple(melody.meters[0][1:]), float(melody.tempos[0][1])
    tracks = [p.track() for p in parts]
    constraints = Constraints(bars=melody.n_bars, meter=meter, key=key, strict_key=request.strict_key,
                              drum_tracks=frozenset(i for i, p in enumerate(parts) if p.is_drum),
                              track_ranges=((0, 127),) + tuple((p.pitch_low, p.pitch_high) for p in parts[1:]))
    constraints.check()
    prompt = header_ids(key, meter, tempo_bpm, tracks, style_slot(bundle))
    params = SamplingParams(temperature=request.temperature, top_p=request.top_p)
    rows = sample_prompted(bundle.model, prompt, lambda: MelodyLockedState(constraints, melody.notes), request.variations,
                           params, seed=request.seed, device=device)
    names = [(melody.meta.get("track_names") or [""])[0] or parts[0].title] + [p.title for p in parts[1:]]
    takes = []
    for i, ids in enumerate(rows):
        piece = decode(ids).replace(tempos=melody.tempos, style=None,
                                    meta={"title": f"{bundle.name} harmonization {i + 1}", "track_names": names})
        record = provenance(
            bundle, "harmonize", request.seed, i + 1, request.temperature, request.top_p, **(source or {}),
            bars=melody.n_bars, key=KEY_NAMES[key] if key is not None else None, key_from=key_from, tempo_bpm=tempo_bpm,
            time_sig=f"{meter[0]}/{meter[1]}", strict_key=request.strict_key, parts=[p.name for p in parts])
        takes.append(Take(piece, request.seed, record))
    return takes


def harmonize_file(style: str | Bundle, path: str | Path, request: HarmonizeRequest, *, styles_dir=None,
                   device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's melody file and harmonize it (see ``harmonize_piece``)."""
    source = read_source(path)
    try:
        check_melody(source.piece)
    except MidigenError as e:
        raise file_error(source.path, str(e)) from e
    bundle = sampling_bundle(style, styles_dir, device)
    info = source.provenance()
    return source, harmonize_piece(bundle, source.piece, request, source=info, device=device)


def write_harmonizations(source: SourceMidi, takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """The melody file plus each take's new parts as tracks of their own, one file per take."""
    paths = output_paths(out, len(takes))
    check_outputs(paths, force)
    for take, path in zip(takes, paths):
        text = take.provenance_text()
        names = take.piece.meta["track_names"]
        targets = [NewTrack(names[t], track.program_token_value) for t, track in enumerate(take.piece.tracks) if t > 0]
        notes = take.piece.notes[take.piece.notes[:, TRACK] > 0].copy()
        notes[:, TRACK] -= 1
        data = patch(source, notes, targets, text=text, key=take.piece.key, end_steps=take.piece.end_steps)
        atomic_write_bytes(path, data)
    return paths
