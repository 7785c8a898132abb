"""``accompany``: new parts of a style (drums, bass, …) added under the user's clip, which is kept as it is.

The input is written into the model's sequence as kept notes (``sampling.locks.KeptNotesState``, the
machinery of ``infill --tracks``) and the added parts are sampled around them, so each new part hears
every input track, drums included. In the sequence the tracks stand in the order the style's pieces
have them (``parts.usual_places``: a band's drums first, its bass last, the input's comping between), the
only order the model knows its instruments in (with the drums after the input, the jazz style wrote
hand percussion); within a position tracks ascend, so a part later in that order also hears the input's
notes at its own onset, an earlier one the input up to the previous onset. In the file written the
added parts are new tracks after the input's.
The bars are written a few at a time in the infill form: ``header, bars before, Hole_k, Fill`` and then
the k bars, so each chunk hears as many bars before it (with the parts already added) as fit half the
model's context, and nothing after it (the bars after hold no added parts yet, which the model would
read as the parts falling silent). Chunks are as long as about half the context holds at the style's
density (2 bars of the jazz style, 16 of a folk tune). Tempo, meter and key are the input's; a meter
change inside the chosen bars is refused (the infill form cannot say one inside a hole), and where the
chosen bars start with one, the first chunk is written without the bars before it. The file written is the input file, every
event as it was, plus one new track per added part (``midi.patch``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MidigenError, file_error
from ..midi.patch import NewTrack, SourceMidi, patch, read_source
from ..music.chords import analyse
from ..music.grid import MAX_TRACKS
from ..music.piece import START, TRACK, Piece, crop_bars, sort_notes
from ..sampling.copyguard import CopyGuardState
from ..sampling.locks import KeptNotesState
from ..sampling.sampler import sample
from ..styles.bundle import Bundle
from ..styles.parts import Part, choose_parts, common_parts, style_parts, usual_places
from ..tokens.tokenizer import decode, encode
from ..tokens.vocab import MAX_HOLE_BARS, VOCAB
from .guard import copy_guard
from .infill import parse_bars, window_bars
from .request import RangedRequest
from .takes import Take, check_composable, drum_tracks, input_key, key_name, provenance, sampling_bundle, style_slot, write_take_files

TOKENS_PER_NOTE = 3.5  # a little above the tokenizer's 3.4 on the corpora


@dataclass(frozen=True, kw_only=True)
class AccompanyRequest(RangedRequest):
    """Which of the style's parts to add, over which bars (None: the whole clip), and how to sample them."""

    command: ClassVar[str] = "accompany"
    parts: tuple[str, ...]
    first_bar: int | None = None  # 0-based
    n_bars: int | None = None

    def __post_init__(self) -> None:
        if not self.parts or any(not p for p in self.parts):
            raise MidigenError("--add needs the names of the style's parts to add, separated by commas, e.g. drums,bass")
        if (self.first_bar is None) != (self.n_bars is None) or (self.first_bar is not None and (self.first_bar < 0 or self.n_bars < 1)):
            raise MidigenError("--bars must run forwards from bar 1 or later")
        super().__post_init__()

    def span(self, piece: Piece) -> tuple[int, int]:
        return (0, piece.n_bars) if self.first_bar is None else (self.first_bar, self.n_bars)

    def provenance_fields(self) -> dict:
        bars = None if self.first_bar is None else f"{self.first_bar + 1}-{self.first_bar + self.n_bars}"
        return {**super().provenance_fields(), "add": list(self.parts), "bars": bars}


def parse_add(text: str) -> tuple[str, ...]:
    """"drums, bass" -> ("drums", "bass")."""
    return tuple(name.strip().lower() for name in (text or "").split(","))


def request_from_strings(add: str, bars: str | None = None, **kwargs) -> AccompanyRequest:
    first, count = parse_bars(bars) if bars else (None, None)
    return AccompanyRequest(parts=parse_add(add), first_bar=first, n_bars=count, **kwargs)


def check_accompany(piece: Piece, request: AccompanyRequest, parts: tuple[Part, ...] | None = None) -> tuple[int, int]:
    """(first bar, bars) to accompany; MidigenError for a span outside the clip, a meter change inside it, or
    no room for the new tracks."""
    first, count = request.span(piece)
    label = f"{first + 1}-{first + count}"
    if first + count > piece.n_bars:
        raise MidigenError(f"bars {label} are not all inside the input's {piece.n_bars} bars")
    changes = [bar + 1 for bar, _, _ in piece.meters[1:] if first < bar < first + count]
    if changes:
        raise MidigenError(f"the meter changes at bar {changes[0]}, inside bars {label}: accompany the bars on either side "
                           "of the change separately (--bars)")
    if parts is not None and len(piece.tracks) + len(parts) > MAX_TRACKS:
        raise MidigenError(f"has {len(piece.tracks)} tracks: {len(parts)} more would pass the {MAX_TRACKS} a piece may have")
    return first, count


def chunk_bars(meta: dict, piece: Piece, first: int, count: int, added: int, parts: int, max_len: int) -> int:
    """Bars sampled per chunk: as many as about half the context holds, at the input's density in the chosen
    bars plus the style's density for the added parts."""
    stats = meta.get("corpus", {}).get("stats", {})
    style_per_bar = float(stats.get("notes", 0)) / max(float(stats.get("bars", 0)), 1.0)
    starts = piece.bar_starts_steps()
    inside = (piece.notes[:, START] >= starts[first]) & (piece.notes[:, START] < starts[first + count])
    per_bar = np.count_nonzero(inside) / count + style_per_bar * added / max(parts, 1)
    return int(max(1, min(MAX_HOLE_BARS, count, (max_len // 2) // max(1.0, TOKENS_PER_NOTE * per_bar))))


def _chunk_prompt(window: Piece, before: int, count: int, constraints, input_tracks: frozenset[int], index):
    """(prompt, state walked through it) of one row's chunk: ``window`` in the infill form with its last
    ``count`` bars as the hole, the input's notes in them kept, inside the copy guard (``index``) if any."""
    ids = encode(window, hole=(before, count)).tolist()
    prompt = ids[: ids.index(VOCAB.offsets["Fill"]) + 1]
    gap_start = int(window.bar_starts_steps()[before])
    kept = window.notes[(window.notes[:, START] >= gap_start) & np.isin(window.notes[:, TRACK], list(input_tracks))]
    state = KeptNotesState(constraints, kept, input_tracks)
    state = CopyGuardState(state, index) if index is not None else state
    for token in prompt:
        state.grammar.check(token)
        state.advance(token)
    return np.asarray(prompt), state


def accompany_piece(bundle: Bundle, piece: Piece, request: AccompanyRequest, *, source: dict | None = None,
                    device: str = "cpu") -> list[Take]:
    """``request.variations`` takes, each the input (on the grid) with the named parts of the style added."""
    check_composable(bundle)
    all_parts = style_parts(bundle.meta)
    added = choose_parts(all_parts, request.parts, bundle.name, option="--add")
    first, count = check_accompany(piece, request, added)
    key, key_from = input_key(piece, request.key)
    n_in = len(piece.tracks)
    given = piece.tracks + tuple(p.track() for p in added)  # input tracks, then the added parts
    places = usual_places(all_parts, [t.program_token_value for t in given])
    order = sorted(range(len(given)), key=lambda t: (places[t], t))  # the model's track order: the style's
    seq = np.empty(len(given), dtype=np.int64)
    seq[order] = np.arange(len(given))  # given track -> track in the model's sequence
    tracks = tuple(given[t] for t in order)
    input_seq = frozenset(int(seq[t]) for t in range(n_in))
    renumbered = piece.notes.copy()
    renumbered[:, TRACK] = seq[renumbered[:, TRACK]]
    base = piece.replace(notes=sort_notes(renumbered), tracks=tracks, key=key, style=style_slot(bundle))
    base = base.replace(chords=analyse(base))  # the input's harmony, as training pieces have theirs analysed
    meter = tuple([m for m in piece.meters if m[0] <= first][-1][1:])
    ranges = tuple((0, 127) if t < n_in else (added[t - n_in].pitch_low, added[t - n_in].pitch_high) for t in order)
    max_len = bundle.model.cfg.max_seq_len
    step = chunk_bars(bundle.meta, piece, first, count, len(added), len(common_parts(bundle.meta)), max_len)
    guard = copy_guard(bundle, request.max_copy)
    rows = request.variations
    notes = [base.notes.copy() for _ in range(rows)]
    gave_way = np.zeros(rows, dtype=np.int64)
    likelihood = np.zeros((rows, 2))
    starts = piece.bar_starts_steps()
    for c, c_first in enumerate(range(first, first + count, step)):
        c_count = min(step, first + count - c_first)
        contexts = [crop_bars(base.replace(notes=n), 0, c_first + c_count) for n in notes]
        left = max(window_bars(ctx, c_first, c_count, max_len - max_len // 2)[0] for ctx in contexts)  # one header length
        if any(bar == c_first for bar, _, _ in piece.meters[1:]):
            left = c_first  # a hole keeps the meter in force before it: a new meter starts with no bars before
        offset, gap_start = int(starts[left]), int(starts[c_first] - starts[left])
        constraints = request.constraints(bars=c_first - left + c_count, meter=meter, key=key, kept_bars=c_first - left,
                                          kept_steps=gap_start, drum_tracks=drum_tracks(tracks), track_ranges=ranges,
                                          end_with_sound=False)
        constraints.check()
        prompts, states = zip(*(_chunk_prompt(crop_bars(ctx, left, c_first + c_count), c_first - left, c_count, constraints,
                                              input_seq, guard.index) for ctx in contexts))
        sampled = sample(bundle.model, prompts, states, request.params(), seed=[request.seed, c], device=device,
                         likelihood=likelihood)
        for r, row in enumerate(sampled):
            new = decode(row).notes
            new = new[(new[:, START] >= gap_start) & ~np.isin(new[:, TRACK], list(input_seq))].copy()
            new[:, START] += offset
            notes[r] = sort_notes(np.concatenate([notes[r], new]))
            gave_way[r] += getattr(states[r], "gave_way", 0)
    names = list(piece.meta.get("track_names") or [""] * n_in) + [p.title for p in added]
    back = np.asarray(order, dtype=np.int64)  # track in the model's sequence -> given track
    record = {**(source or {}), "key": key_name(key), "key_from": key_from, "parts": [p.name for p in added],
              "bars": f"{first + 1}-{first + count}",
              "chunk_bars": step, "time_sig": f"{meter[0]}/{meter[1]}", "track_order": [int(t) + 1 for t in order]}
    takes = []
    for r in range(rows):
        given_notes = notes[r].copy()
        given_notes[:, TRACK] = back[given_notes[:, TRACK]]
        given_notes = sort_notes(given_notes)
        new = given_notes[given_notes[:, TRACK] >= n_in]
        meta = {"title": f"{bundle.name} accompaniment {r + 1}", "track_names": names, "new_notes": new, "input_tracks": n_in}
        taken = base.replace(notes=given_notes, tracks=given, style=None, meta=meta)
        extra = {**guard.record, **({"max_copy_gave_way": int(gave_way[r])} if gave_way[r] else {})}
        takes.append(Take(taken, request.seed, provenance(bundle, request, r + 1, **record, **extra),
                          (float(likelihood[r, 0]), int(likelihood[r, 1]))))
    return takes


def accompany_file(style: str | Bundle, path: str | Path, request: AccompanyRequest, *, styles_dir=None,
                   device: str = "cpu") -> tuple[SourceMidi, list[Take]]:
    """Read the user's MIDI file and add the parts (see ``accompany_piece``)."""
    source = read_source(path)
    try:
        check_accompany(source.piece, request)
    except MidigenError as e:
        raise file_error(source.path, str(e)) from e
    bundle = sampling_bundle(style, styles_dir, device)
    check_composable(bundle)
    added = choose_parts(style_parts(bundle.meta), request.parts, bundle.name, option="--add")
    try:
        check_accompany(source.piece, request, added)
    except MidigenError as e:
        raise file_error(source.path, str(e)) from e
    return source, accompany_piece(bundle, source.piece, request, source=source.provenance(), device=device)


def write_accompaniments(source: SourceMidi, takes: list[Take], out: str | Path, *, force: bool = False) -> list[Path]:
    """The input file plus each take's new parts as tracks of their own, one file per take."""

    def bytes_of(take: Take) -> bytes:
        n_in = take.piece.meta["input_tracks"]
        names = take.piece.meta["track_names"]
        targets = [NewTrack(names[t], take.piece.tracks[t].program_token_value) for t in range(n_in, len(take.piece.tracks))]
        new = take.piece.meta["new_notes"].copy()
        new[:, TRACK] -= n_in
        return patch(source, new, targets, text=take.provenance_text(), key=take.piece.key, end_steps=source.piece.end_steps)

    return write_take_files(takes, out, bytes_of, force=force)
