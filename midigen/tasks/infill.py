"""``infill``: new music for chosen bars of the user's MIDI file; every other note stays exactly as it was.

The model is trained for this (``training.batches``: MMM-style infill examples): the prompt is the input in the
infill form, ``header, bars before, Hole_k, bars after, Fill`` (``grammar``), so the model has heard
both sides of the gap before it writes the gap's k bars. A long input is seen through a window of the
bars nearest the gap on both sides (``window_bars``), as training crops it. The input's chords are
analysed without the notes being replaced, as training pieces' are.

With ``tracks``, only those tracks are rewritten; the others' notes in the gap are written into the
sequence as they are (``sampling.locks``), so the new parts are sampled hearing them. The file written is the
input file with the replaced notes removed and the new ones added (``midi.patch``): every other event,
and every note outside the chosen bars and tracks, keeps its bytes and ticks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MidigenError, file_error
from ..midi.patch import SourceMidi, part_slots, patch, read_source
from ..music.chords import analyse
from ..music.piece import START, TRACK, Piece, crop_bars, sort_notes
from ..sampling.constraints import ConstrainedState
from ..sampling.locks import KeptNotesState
from ..styles.bundle import Bundle
from ..tokens.tokenizer import decode, encode
from ..tokens.vocab import MAX_HOLE_BARS, VOCAB
from .request import RangedRequest
from .takes import Take, check_composable, drum_tracks, input_key, key_name, sample_for_file, sample_takes, style_slot, write_take_files

HEADER_ROOM_TOKENS = 24  # Hole, Fill and the values restated after them


@dataclass(frozen=True, kw_only=True)
class InfillRequest(RangedRequest):
    """Which bars (and tracks) to rewrite and how to sample them; the rest comes from the input."""

    command: ClassVar[str] = "infill"
    first_bar: int  # 0-based
    n_bars: int
    tracks: tuple[int, ...] | None = None  # 0-based tracks of the input to rewrite (None: all)

    def __post_init__(self) -> None:
        if self.first_bar < 0:
            raise MidigenError(f"bars are numbered from 1, got {self.first_bar + 1}")
        if not 1 <= self.n_bars <= MAX_HOLE_BARS:
            raise MidigenError(f"infill rewrites 1 to {MAX_HOLE_BARS} bars at a time, not {self.n_bars}")
        if self.tracks is not None and (not self.tracks or len(set(self.tracks)) != len(self.tracks) or min(self.tracks) < 0):
            raise MidigenError("--tracks must name each track once, numbered from 1")
        super().__post_init__()

    @property
    def bars_label(self) -> str:
        return f"{self.first_bar + 1}-{self.first_bar + self.n_bars}"

    def provenance_fields(self) -> dict:
        return {**super().provenance_fields(), "bars": self.bars_label,
                "tracks": None if self.tracks is None else [t + 1 for t in self.tracks]}


def parse_bars(text: str) -> tuple[int, int]:
    """"5-8" -> (4, 4): the 0-based first bar and the number of bars; "5" is one bar."""
    match = re.match(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$", text or "")
    if not match:
        raise MidigenError(f"not a bar span: {text!r} (use FIRST-LAST, e.g. 5-8, bars numbered from 1)")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if first < 1 or last < first:
        raise MidigenError(f"bar span {text!r} must run forwards from bar 1 or later")
    return first - 1, last - first + 1


def parse_tracks(text: str | None) -> tuple[int, ...] | None:
    """"1,3" -> (0, 2): 1-based track numbers as ``midigen`` prints them."""
    if text is None:
        return None
    try:
        return tuple(int(t) - 1 for t in text.split(","))
    except ValueError:
        raise MidigenError(f"not a list of track numbers: {text!r} (e.g. 1,3)") from None


def check_span(piece: Piece, request: InfillRequest) -> None:
    first, count = request.first_bar, request.n_bars
    if first + count > piece.n_bars:
        raise MidigenError(f"bars {request.bars_label} are not all inside the input's {piece.n_bars} bars")
    changes = [bar + 1 for bar, _, _ in piece.meters[1:] if first <= bar < first + count]
    if changes:
        raise MidigenError(f"the meter changes at bar {changes[0]}, inside bars {request.bars_label}: rewrite the bars "
                           "on either side of the change separately")
    if request.tracks is not None and max(request.tracks) >= len(piece.tracks):
        raise MidigenError(f"--tracks {max(request.tracks) + 1}: the input has {len(piece.tracks)} tracks")


def window_bars(piece: Piece, first: int, count: int, room_tokens: int) -> tuple[int, int]:
    """(first bar, stop bar) of the bars around the gap that fit ``room_tokens``: one bar at a time on
    either side, nearest first, as long as both sides have bars left."""
    ids = encode(piece)
    bars = np.flatnonzero(ids == VOCAB.offsets["Bar"])
    ends = np.append(bars, len(ids) - 1)
    room = room_tokens - int(bars[0]) - HEADER_ROOM_TOKENS
    left, right = first, first + count

    def used(lo: int, hi: int) -> int:
        return int(ends[first] - ends[lo] + ends[hi] - ends[first + count])

    while True:
        grown = False
        if left > 0 and used(left - 1, right) <= room:
            left, grown = left - 1, True
        if right < piece.n_bars and used(left, right + 1) <= room:
            right, grown = right + 1, True
        if not grown:
            return left, right


def infill_piece(bundle: Bundle, piece: Piece, request: InfillRequest, *, source: dict | None = None,
                 device: str = "cpu") -> list[Take]:
    """``request.variations`` takes, each the input (on the grid) with the chosen bars and tracks rewritten."""
    check_composable(bundle)
    check_span(piece, request)
    first, count = request.first_bar, request.n_bars
    key, key_from = input_key(piece, request.key)
    rewrite = set(range(len(piece.tracks)) if request.tracks is None else request.tracks)
    starts = piece.bar_starts_steps()
    notes = piece.notes
    in_gap = (notes[:, START] >= starts[first]) & (notes[:, START] < starts[first + count])
    replaced = in_gap & np.isin(notes[:, TRACK], list(rewrite))
    context = piece.replace(notes=notes[~replaced], key=key, style=style_slot(bundle))
    context = context.replace(chords=analyse(context))

    max_len = bundle.model.cfg.max_seq_len
    gap_tokens = int(np.count_nonzero(in_gap)) * 3 + 16 * count  # about 3 tokens a note, and room for new ones
    fill_room = min(max_len // 2, max(256, 2 * gap_tokens))
    left, right = window_bars(context, first, count, max_len - fill_room)
    window = crop_bars(context, left, right)
    ids = encode(window, hole=(first - left, count)).tolist()
    prompt = ids[: ids.index(VOCAB.offsets["Fill"]) + 1]

    offset = int(starts[left])
    gap_start, gap_end = int(starts[first]) - offset, int(starts[first + count]) - offset  # in the window's steps
    kept = window.notes[(window.notes[:, START] >= gap_start) & (window.notes[:, START] < gap_end)]
    meter = tuple([m for m in piece.meters if m[0] <= first][-1][1:])
    constraints = request.constraints(bars=first - left + count, meter=meter, key=key, kept_bars=first - left,
                                      kept_steps=gap_start, drum_tracks=drum_tracks(piece.tracks), end_with_sound=False)
    locked = frozenset(range(len(piece.tracks))) - rewrite

    def to_piece(variation: int, row: np.ndarray) -> Piece:
        new = decode(row).notes
        new = new[(new[:, START] >= gap_start) & (new[:, START] < gap_end) & np.isin(new[:, TRACK], list(rewrite))].copy()
        new[:, START] += offset
        return piece.replace(notes=sort_notes(np.concatenate([notes[~replaced], new])), key=key, style=None,
                             meta={"title": f"{bundle.name} infill {variation}", "track_names": piece.meta.get("track_names") or [],
                                   "new_notes": new, "tokens": row, "prompt_length": len(prompt)})

    record = {**(source or {}), "key": key_name(key), "key_from": key_from, "context_bars": f"{left + 1}-{right}"}
    return sample_takes(bundle, request, prompt, constraints, to_piece, record=record, device=device,
                        new_state=(lambda c: KeptNotesState(c, kept, locked)) if locked else ConstrainedState)


def infill_file(style: str | Bundle, path: str | Path, request: InfillRequest, *, styles_dir=None,
                device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's MIDI file and rewrite the requested bars (see ``infill_piece``)."""
    source = read_source(path)
    part_slots(source)  # refuse a file whose parts cannot be told apart before sampling for it
    try:
        check_span(source.piece, request)
    except MidigenError as e:
        raise file_error(source.path, str(e)) from e
    return sample_for_file(infill_piece, style, source, request, styles_dir=styles_dir, device=device)


def write_infills(source: SourceMidi, takes: list[Take], request: InfillRequest, out: str | Path, *,
                  force: bool = False) -> list[Path]:
    """The input file with each take's bars in place of the chosen ones, one file per take."""
    slots = list(part_slots(source))
    starts = source.piece.bar_starts_steps()
    rewrite = range(len(slots)) if request.tracks is None else request.tracks
    span = (int(starts[request.first_bar]), int(starts[request.first_bar + request.n_bars]), [slots[t] for t in rewrite])

    def bytes_of(take: Take) -> bytes:
        return patch(source, take.piece.meta["new_notes"], slots, text=take.provenance_text(), key=take.piece.key,
                     end_steps=source.piece.end_steps, clear=span)

    return write_take_files(takes, out, bytes_of, force=force)
