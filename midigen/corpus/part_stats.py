"""Per-part corpus statistics: for each part a corpus's pieces have, how many pieces have it, the pitch range
of its notes and how many notes it plays a bar.

Parts are named from a piece's programs (``midi.instruments.part_names``: ``soprano``, ``drums``,
``guitar-2`` …), so the same name in two pieces is the same part. The range is a robust one, the
``RANGE_PERCENTILES`` of the part's notes, so that one stray note does not set it; notes per bar are the
part's notes over the bars of the pieces that have it. Everything is read from the pieces' token ids,
which hold every note exactly on the grid: no file is read again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..midi.instruments import part_names
from ..tokens.vocab import VOCAB

RANGE_PERCENTILES = (0.5, 99.5)  # lowest and highest pitch of a part: these percentiles of its notes
N_PITCHES = 128


def notes_by_track(ids) -> tuple[np.ndarray, np.ndarray]:
    """(track, pitch) of every note of a token sequence, in order: a note's track is the one the last Track
    token named (track 0 before the first)."""
    ids = np.asarray(ids, dtype=np.int64)
    track_span, pitch_span = VOCAB.span("Track"), VOCAB.span("Pitch")
    is_track = (ids >= track_span.start) & (ids < track_span.stop)
    last_track_token = np.maximum.accumulate(np.where(is_track, np.arange(len(ids)), 0))  # 0: BOS, never a Track token
    track = np.where(last_track_token > 0, ids[last_track_token] - track_span.start, 0)
    is_pitch = (ids >= pitch_span.start) & (ids < pitch_span.stop)
    return track[is_pitch], ids[is_pitch] - pitch_span.start


@dataclass
class PartTally:
    pieces: int = 0
    bars: int = 0  # of the pieces that have the part
    notes: int = 0
    pitch_counts: np.ndarray = field(default_factory=lambda: np.zeros(N_PITCHES, dtype=np.int64))

    def to_json(self) -> dict:
        out = {"pieces": self.pieces, "notes_per_bar": round(self.notes / max(self.bars, 1), 3)}
        if self.notes:
            cumulative = np.cumsum(self.pitch_counts)
            low, high = (int(np.searchsorted(cumulative, q / 100 * self.notes)) for q in RANGE_PERCENTILES)
            out.update(pitch_low=low, pitch_high=high)
        return out


class PartStats:
    """Tallies of every part seen, by name (``add`` one piece at a time)."""

    def __init__(self) -> None:
        self.tallies: dict[str, PartTally] = {}

    def __bool__(self) -> bool:
        return bool(self.tallies)

    def add(self, programs, n_bars: int, ids) -> None:
        """One piece: its tracks' programs, its bars and its token ids."""
        tracks, pitches = notes_by_track(ids)
        for track, name in enumerate(part_names(programs)):
            tally = self.tallies.setdefault(name, PartTally())
            mine = pitches[tracks == track]
            tally.pieces += 1
            tally.bars += int(n_bars)
            tally.notes += len(mine)
            tally.pitch_counts += np.bincount(mine, minlength=N_PITCHES)[:N_PITCHES]

    def to_json(self) -> dict[str, dict]:
        """{name: {"pieces", "notes_per_bar", "pitch_low", "pitch_high"}}, the commonest part first (a part
        with no notes has no range)."""
        order = sorted(self.tallies, key=lambda name: (-self.tallies[name].pieces, name))
        return {name: self.tallies[name].to_json() for name in order}

    def summary(self) -> str:
        """One line: ``soprano (364 pieces, 60-79, 3.1 notes a bar), …``."""
        def one(name: str, p: dict) -> str:
            pitches = f"{p['pitch_low']}-{p['pitch_high']}, " if "pitch_low" in p else ""
            return f"{name} ({p['pieces']} pieces, {pitches}{p['notes_per_bar']:g} notes a bar)"

        return ", ".join(one(name, p) for name, p in self.to_json().items())
