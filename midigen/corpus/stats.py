"""Corpus statistics: what a folder holds (the sampler's defaults come from these too)."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import repeat

import numpy as np

from ..music.grid import DRUM_PROGRAM
from ..music.keys import KEY_NAMES, KEY_SIGNATURE_CONTRADICTED
from .dataset import PieceRecord
from .part_stats import PartStats
from .reader import Skipped

MAX_LISTED_KEY_CHANGES = 20  # files listed whose signature the notes contradicted (all are counted)


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
    key_decided: Counter = field(default_factory=Counter)  # how each piece's key was decided (``keys.KEY_WAYS``)
    keys_contradicted: list[dict] = field(default_factory=list)  # {"path", "signature", "key"}, the first few
    parts: PartStats = field(default_factory=PartStats)  # per part: pieces, pitch range, notes per bar (from token ids)

    def add(self, record: PieceRecord, ids=None) -> None:
        """One piece; with its token ``ids``, its parts' statistics too."""
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
        self.key_decided[record.key_decided or "unrecorded"] += 1
        if record.key_decided == KEY_SIGNATURE_CONTRADICTED and len(self.keys_contradicted) < MAX_LISTED_KEY_CHANGES:
            self.keys_contradicted.append({"path": record.path, "signature": _key_name(record.key_signature),
                                           "key": _key_name(record.key)})
        if record.pitch_high:
            self.pitch_min = min(self.pitch_min, record.pitch_low)
            self.pitch_max = max(self.pitch_max, record.pitch_high)
        if ids is not None:
            self.parts.add(record.programs, record.n_bars, ids)

    @classmethod
    def of(cls, records, skipped=(), token_ids=None) -> CorpusStats:
        """Statistics of ``records``; ``token_ids`` (each record's ids, in order) adds the per-part ones."""
        stats = cls(skipped=list(skipped))
        for record, ids in zip(records, token_ids if token_ids is not None else repeat(None)):
            stats.add(record, ids)
        return stats

    @classmethod
    def of_dataset(cls, dataset) -> CorpusStats:
        """Statistics of a ``TokenDataset``, per-part ones included."""
        return cls.of_datasets([dataset])

    @classmethod
    def of_datasets(cls, datasets) -> CorpusStats:
        """Statistics of several ``TokenDataset``s together (a multi-style bundle's), per-part ones included."""
        records = [r for d in datasets for r in d.records]
        skipped = [s for d in datasets for s in d.skipped]
        return cls.of(records, skipped, (d.ids(i) for d in datasets for i in range(len(d))))

    def to_json(self) -> dict:
        out = asdict(self)
        for name in ("keys", "meters", "tempos_bpm", "programs", "tracks_per_piece", "instrumentations", "key_decided"):
            out[name] = {str(k): v for k, v in getattr(self, name).most_common()}
        bars = np.asarray(self.bars_per_piece or [0])
        out["bars_per_piece"] = {"median": float(np.median(bars)), "min": int(bars.min()), "max": int(bars.max())}
        out["skipped"] = [asdict(s) for s in self.skipped]
        out.pop("parts")
        if self.parts:  # older statistics have none: readers fall back (``styles.parts``)
            out["parts"] = self.parts.to_json()
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
            f"keys decided by: {top(self.key_decided)}",
            f"meters: {top(self.meters)}",
            f"tempos (bpm): {top(self.tempos_bpm)}",
            f"programs: {top(self.programs)}   tracks per piece: {top(self.tracks_per_piece)}",
        ]
        if self.pieces:
            lines.append(f"pitch range: {self.pitch_min}-{self.pitch_max}")
        if self.parts:
            lines.append(f"parts: {self.parts.summary()}")
        if self.read_with_changes:
            lines.append(f"read with changes: {len(self.read_with_changes)}")
            lines += [f"  {r['path']}: {'; '.join(r['notes'])}" for r in self.read_with_changes]
        contradicted = self.key_decided[KEY_SIGNATURE_CONTRADICTED]
        if contradicted:
            lines.append(f"key signatures the notes contradict: {contradicted}")
            lines += [f"  {c['path']}: signature {c['signature']}, notes {c['key']}" for c in self.keys_contradicted]
            if contradicted > len(self.keys_contradicted):
                lines.append(f"  ... and {contradicted - len(self.keys_contradicted)} more")
        lines.append(f"skipped: {len(self.skipped)}")
        lines += [f"  {s.path}: {s.reason}" for s in self.skipped]
        return lines


def _key_name(key: int | None) -> str:
    return KEY_NAMES[key] if key is not None else "none"
