"""``harmonize``: the user's melody as the top part, the style's other parts written under it.

The melody (one track, one note at a time) takes the style's first part, the top voice of its corpus
(the soprano of the Bach chorales). Sampling runs under ``MelodyLockedState``: the melody's notes, on the
grid, are forced where they fall, and every other note stays under the melody note sounding with it and
inside its part's range (``parts``). Bars, meter and tempo are the melody file's; the key is ``--key``,
else the file's key signature, else found from the melody's notes. The model conditions on what comes
before each token only: it hears the melody up to the current position, never ahead of it. The file
written is the melody file, every event as it was, plus one new track per part (``midi.patch``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MidigenError, file_error
from ..midi.patch import NewTrack, SourceMidi, patch, read_source
from ..music.piece import DURATION, START, TRACK, Piece
from ..sampling.locks import MelodyLockedState
from ..styles.bundle import Bundle
from ..styles.parts import Part, common_parts
from ..tokens.tokenizer import decode
from .compose import header_ids
from .request import SamplingRequest
from .takes import Take, check_composable, drum_tracks, input_key, key_name, sample_for_file, sample_takes, style_slot, write_take_files


@dataclass(frozen=True, kw_only=True)
class HarmonizeRequest(SamplingRequest):
    """How to sample the new parts; bars, meter and tempo come from the melody, and the new notes stay in
    their parts' ranges (``strict_key`` leaves the melody as it is)."""

    command: ClassVar[str] = "harmonize"


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
    parts = common_parts(bundle.meta)  # the corpus's commonest instrumentation
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
    constraints = request.constraints(bars=melody.n_bars, meter=meter, key=key, drum_tracks=drum_tracks(parts),
                                      track_ranges=((0, 127),) + tuple((p.pitch_low, p.pitch_high) for p in parts[1:]))
    prompt = header_ids(key, meter, tempo_bpm, [p.track() for p in parts], style_slot(bundle))
    names = [(melody.meta.get("track_names") or [""])[0] or parts[0].title] + [p.title for p in parts[1:]]

    def to_piece(variation: int, row: np.ndarray) -> Piece:
        return decode(row).replace(tempos=melody.tempos, style=None,
                                   meta={"title": f"{bundle.name} harmonization {variation}", "track_names": names})

    record = {**(source or {}), "bars": melody.n_bars, "key": key_name(key), "key_from": key_from, "tempo_bpm": tempo_bpm,
              "time_sig": f"{meter[0]}/{meter[1]}", "parts": [p.name for p in parts]}
    return sample_takes(bundle, request, prompt, constraints, to_piece, record=record, device=device,
                        new_state=lambda c: MelodyLockedState(c, melody.notes))


def harmonize_file(style: str | Bundle, path: str | Path, request: HarmonizeRequest, *, styles_dir=None,
                   device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's melody file and harmonize it (see ``harmonize_piece``)."""
    source = read_source(path)
    try:
        check_melody(source.piece)
    except MidigenError as e:
        raise file_error(source.path, str(e)) from e
    return sample_for_file(harmonize_piece, style, source, request, styles_dir=styles_dir, device=device)


def write_harmonizations(source: SourceMidi, takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """The melody file plus each take's new parts as tracks of their own, one file per take."""
    return write_take_files(takes, out, lambda take: patch_new_parts(source, take), force=force)


def patch_new_parts(source: SourceMidi, take: Take) -> bytes:
    """The melody file's bytes with the take's parts below the melody (its tracks 1, 2, …) as new tracks."""
    names = take.piece.meta["track_names"]
    targets = [NewTrack(names[t], track.program_token_value) for t, track in enumerate(take.piece.tracks) if t > 0]
    notes = take.piece.notes[take.piece.notes[:, TRACK] > 0].copy()
    notes[:, TRACK] -= 1
    return patch(source, notes, targets, text=take.provenance_text(), key=take.piece.key, end_steps=take.piece.end_steps)
