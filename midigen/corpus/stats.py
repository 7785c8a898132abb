"""Corpus statistics: what a folder holds (the sampler's defaults come from these too)."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from ..music.grid import DRUM_PROGRAM
from ..music.keys import KEY_NAMES
from .dataset import PieceRecord
from .reader import Skipped


@dataclass
class CorpusStats:
    pieces: int = 0
    notes: int = 0
    bars: int = 0
    keys: Counter = field(default_factory=Counter)
    meters: Counter = field(default_factory=Counter)
    tempos_bpm: Counter = field(default_factory=Counter)
    programs: Counter = field(default_factory=Counter)
    tracks_per_piece: Counter = field(default_factory=Counter)
    instrumentations: Counter = field(default_factory=Counter)  # "0,0,0,0": programs of a piece's tracks
    bars_per_piece: list[int] = field(default_factory=list)
    pitch_min: int = 127
    pitch_max: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    read_with_changes: list[dict] = field(default_factory=list)  # {"path", "notes"}: clamped bytes, split bars...

    def add(self, record: PieceRecord) -> None:
        self.pieces += 1
        self.notes += record.n_notes
        self.bars += record.n_bars
        self.bars_per_piece.append(record.n_bars)
        self.keys[KEY_NAMES[record.key] if record.key is not None else "unknown"] += 1
        self.meters[record.meter] += 1
        self.tempos_bpm[int(round(record.tempo_bpm))] += 1
        self.tracks_per_piece[len(record.programs)] += 1
        self.instrumentations[",".join("drums" if p == DRUM_PROGRAM else str(p) for p in record.programs)] += 1
        for program in record.programs:
            self.programs["drums" if program == DRUM_PROGRAM else str(program)] += 1
        if record.reading:
            self.read_with_changes.append({"path": record.path, "notes": list(record.reading)})
        if record.pitch_high:
            self.pitch_min = min(self.pitch_min, record.pitch_low)
            self.pitch_max = max(self.pitch_max, record.pitch_high)

    @classmethod
    def of(cls, records, skipped=()) -> CorpusStats:
        stats = cls(skipped=list(skipped))
        for record in records:
            stats.add(record)
        return stats

    def to_json(self) -> dict:
        out = asdict(self)
        for name in ("keys", "meters", "tempos_bpm", "programs", "tracks_per_piece", "instrumentations"):
            out[name] = {str(k): v for k, v in getattr(self, name).most_common()}
        bars = np.asarray(self.bars_per_piece or [0])
        out["bars_per_piece"] = {"median": float(np.median(bars)), "min": int(bars.min()), "max": int(bars.max())}
        out["skipped"] = [asdict(s) for s in self.skipped]
        return out

    def summary_lines(self) -> list[str]:
        """A short human-readable report."""
        def top(counter: Counter, n: int = 6) -> str:
            return ", ".join(f"{k} ({v})" for k, v in counter.most_common(n)) or "-"

        bars = self.to_json()["bars_per_piece"]
        lines = [
            f"pieces: {self.pieces}   notes: {self.notes}   bars: {self.bars} "
            f"(median {bars['median']:g} per piece)",
            f"keys: {top(self.keys)}",
            f"meters: {top(self.meters)}",
            f"tempos (bpm): {top(self.tempos_bpm)}",
            f"programs: {top(self.programs)}   tracks per piece: {top(self.tracks_per_piece)}",
        ]
        if self.pieces:
            lines.append(f"pitch range: {self.pitch_min}-{self.pitch_max}")
        if self.read_with_changes:
            lines.append(f"read with changes: {len(self.read_with_changes)}")
            lines += [f"  {r['path']}: {'; '.join(r['notes'])}" for r in self.read_with_changes]
        lines.append(f"skipped: {len(self.skipped)}")
        lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        return lines
