"""``continue``: new bars after the user's own MIDI, which is kept exactly as it is.

The input, read as the tokenizer sees it (on the grid), is the prompt: its header (key, meter, tempo, one
Program per track), all its bars, then the Bar token of the first new bar. The sampler writes exactly
``bars`` more bars under the constraints ``compose`` uses, on the input's tracks, in the meter and tempo
in force at the end of the input: the grammar could say a meter or tempo change, but the corpora have
(almost) none for the model to have learnt them from, and a key change cannot be said at all (Key is a
header token), so neither is offered. The model's context is limited: a long input is seen through its
header and its latest bars (``sample``). The file written is the input file, every event as it was, with
the new notes after the input's last bar (``midi_patch``); the input's notes are never re-quantized.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..corpus.reader import analyse_key
from ..errors import MidigenError
from ..fsutil import atomic_write_bytes
from ..midi.patch import SourceMidi, part_slots, patch, read_source
from ..music.chords import analyse
from ..music.keys import KEY_NAMES
from ..music.piece import START, Piece
from ..sampling.constraints import ConstrainedState, Constraints
from ..sampling.sampler import SamplingParams, sample_prompted
from ..styles.bundle import Bundle
from ..tokens.tokenizer import decode, encode
from ..tokens.vocab import VOCAB
from .compose import MAX_BARS, Take, check_composable, check_outputs, check_sampling, output_paths, provenance, sampling_bundle, style_slot


@dataclass(frozen=True, kw_only=True)
class SketchOptions:
    """What every command that writes into the user's own file (``continue``, ``infill``) takes besides
    its span: the input's key and how to sample the new notes."""

    key: int | None = None  # the input's key, where its file states none or a wrong one
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.95
    variations: int = 1
    strict_key: bool = False
    pitch_range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.key is not None and not 0 <= self.key < 24:
            raise MidigenError(f"key must be 0-23, got {self.key}")
        check_sampling(self.temperature, self.top_p, self.variations)


@dataclass(frozen=True, kw_only=True)
class ContinueRequest(SketchOptions):
    """How many bars to add and how to sample them; the rest comes from the input."""

    bars: int

    def __post_init__(self) -> None:
        if not 1 <= self.bars <= MAX_BARS:
            raise MidigenError(f"--bars must be between 1 and {MAX_BARS}, got {self.bars}")
        super().__post_init__()


def input_key(piece: Piece, key: int | None) -> tuple[int | None, str]:
    """(key, where it came from): ``--key``, the file's key signature, else found from the notes as the
    corpus reader does for training pieces."""
    if key is not None:
        return key, "--key"
    if piece.key is not None:
        return piece.key, "key signature"
    return analyse_key(piece), "found from the notes"


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
    low, high = request.pitch_range or (0, 127)
    constraints = Constraints(bars=piece.n_bars + request.bars, meter=meter, key=key, strict_key=request.strict_key,
                              pitch_low=low, pitch_high=high, kept_bars=piece.n_bars, kept_steps=piece.end_steps,
                              drum_tracks=frozenset(i for i, t in enumerate(piece.tracks) if t.is_drum))
    constraints.check()
    if constraints.bars > MAX_BARS:
        raise MidigenError(f"{piece.n_bars} bars + {request.bars} is more than {MAX_BARS} bars")
    params = SamplingParams(temperature=request.temperature, top_p=request.top_p)
    rows = sample_prompted(bundle.model, prompt_of(piece, key, style_slot(bundle)), lambda: ConstrainedState(constraints),
                           request.variations, params, seed=request.seed, device=device)
    names = piece.meta.get("track_names") or []
    takes = []
    for i, ids in enumerate(rows):
        out = decode(ids).replace(style=None, meta={"title": f"{bundle.name} continuation {i + 1}", "track_names": names})
        record = provenance(
            bundle, "continue", request.seed, i + 1, request.temperature, request.top_p, **(source or {}),
            input_bars=piece.n_bars, bars=request.bars, key=KEY_NAMES[key] if key is not None else None, key_from=key_from,
            tempo_bpm=float(piece.tempos[-1][1]), time_sig=f"{meter[0]}/{meter[1]}", strict_key=request.strict_key,
            range=list(request.pitch_range) if request.pitch_range else None)
        takes.append(Take(out, request.seed, record))
    return takes


def new_notes(take: Take, kept_steps: int) -> np.ndarray:
    """The notes a take added: those starting at or after the end of the kept bars."""
    notes = take.piece.notes
    return notes[notes[:, START] >= kept_steps]


def continue_file(style: str | Bundle, path: str | Path, request: ContinueRequest, *, styles_dir=None,
                  device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's MIDI file and continue it (see ``continue_piece``)."""
    source = read_source(path)
    part_slots(source)  # refuse a file whose parts cannot be told apart before sampling for it
    bundle = sampling_bundle(style, styles_dir, device)
    info = source.provenance()
    return source, continue_piece(bundle, source.piece, request, source=info, device=device)


def write_continuations(source: SourceMidi, takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """The input file plus each take's new bars, one file per take (``out-1.mid`` … for several)."""
    paths = output_paths(out, len(takes))
    check_outputs(paths, force)
    kept, slots = source.piece.end_steps, list(part_slots(source))
    for take, path in zip(takes, paths):
        text = take.provenance_text()
        notes = new_notes(take, kept)
        data = patch(source, notes, slots, text=text, key=take.piece.key, end_steps=take.piece.end_steps)
        atomic_write_bytes(path, data)
    return paths
