"""``continue``: new bars after the user's own MIDI, which is kept exactly as it is.

The input, read as the tokenizer sees it (on the grid), is the prompt: its header (key, meter, tempo, one
Program per track), all its bars, then the Bar token of the first new bar. The sampler writes exactly
``bars`` more bars under the constraints ``compose`` uses, on the input's tracks, in the meter and tempo
in force at the end of the input: the grammar could say a meter or tempo change, but the corpora have
(almost) none for the model to have learnt them from, and a key change cannot be said at all (Key is a
header token), so neither is offered. The model's context is limited: a long input is seen through its
header and its latest bars (``sample``). The file written is the input file, every event as it was, with
the new notes after the input's last bar (``midi.patch``); the input's notes are never re-quantized.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MidigenError
from ..midi.patch import SourceMidi, part_slots, patch, read_source
from ..music.chords import analyse
from ..music.piece import START, Piece
from ..styles.bundle import Bundle
from ..tokens.tokenizer import decode, encode
from ..tokens.vocab import VOCAB
from .request import MAX_REQUEST_BARS, RangedRequest, check_request_bars
from .takes import Take, check_composable, drum_tracks, input_key, key_name, sample_for_file, sample_takes, style_slot, write_take_files


@dataclass(frozen=True, kw_only=True)
class ContinueRequest(RangedRequest):
    """How many bars to add and how to sample them; the rest comes from the input."""

    command: ClassVar[str] = "continue"
    bars: int

    def __post_init__(self) -> None:
        check_request_bars(self.bars)
        super().__post_init__()

    def provenance_fields(self) -> dict:
        return {**super().provenance_fields(), "bars": self.bars}


def prompt_of(piece: Piece, key: int | None, slot: int | None) -> list[int]:
    """The piece's tokens with the Style slot, key and analysed chords (as training pieces have them), up to
    the Bar token of the bar after its last."""
    ids = encode(piece.replace(key=key, style=slot, chords=analyse(piece))).tolist()
    return ids[:-1] + [VOCAB.offsets["Bar"]]  # EOS becomes the next bar line


def continue_piece(bundle: Bundle, piece: Piece, request: ContinueRequest, *, source: dict | None = None,
                   device: str = "cpu") -> list[Take]:
    """``request.variations`` continuations of a quantized piece: each take's piece is the input (on the
    grid, as given) followed by ``request.bars`` new bars. ``source`` is recorded in the provenance."""
    check_composable(bundle)
    key, key_from = input_key(piece, request.key)
    meter = tuple(piece.meters[-1][1:])
    if piece.n_bars + request.bars > MAX_REQUEST_BARS:
        raise MidigenError(f"{piece.n_bars} bars + {request.bars} is more than {MAX_REQUEST_BARS} bars")
    constraints = request.constraints(bars=piece.n_bars + request.bars, meter=meter, key=key, kept_bars=piece.n_bars,
                                      kept_steps=piece.end_steps, drum_tracks=drum_tracks(piece.tracks))
    names = piece.meta.get("track_names") or []

    def to_piece(variation: int, row: np.ndarray) -> Piece:
        return decode(row).replace(style=None, meta={"title": f"{bundle.name} continuation {variation}", "track_names": names})

    record = {**(source or {}), "input_bars": piece.n_bars, "key": key_name(key), "key_from": key_from,
              "tempo_bpm": float(piece.tempos[-1][1]), "time_sig": f"{meter[0]}/{meter[1]}"}
    prompt = prompt_of(piece, key, style_slot(bundle))
    return sample_takes(bundle, request, prompt, constraints, to_piece, record=record, device=device)


def new_notes(take: Take, kept_steps: int) -> np.ndarray:
    """The notes a take added: those starting at or after the end of the kept bars."""
    notes = take.piece.notes
    return notes[notes[:, START] >= kept_steps]


def continue_file(style: str | Bundle, path: str | Path, request: ContinueRequest, *, styles_dir=None,
                  device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's MIDI file and continue it (see ``continue_piece``)."""
    source = read_source(path)
    part_slots(source)  # refuse a file whose parts cannot be told apart before sampling for it
    return sample_for_file(continue_piece, style, source, request, styles_dir=styles_dir, device=device)


def write_continuations(source: SourceMidi, takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """The input file plus each take's new bars, one file per take (``out-1.mid`` … for several)."""
    kept, slots = source.piece.end_steps, list(part_slots(source))

    def bytes_of(take: Take) -> bytes:
        return patch(source, new_notes(take, kept), slots, text=take.provenance_text(), key=take.piece.key,
                     end_steps=take.piece.end_steps)

    return write_take_files(takes, out, bytes_of, force=force)
