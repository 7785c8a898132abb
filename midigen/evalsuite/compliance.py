"""Constraint compliance, read back from the MIDI bytes each take was written as.

*Exact bars*: every track ends exactly at the requested last bar line and no note sounds past it.
*Tempo* and *meter*: the file's tempo and time-signature events all state the requested values (the
tempo within 0.01 bpm, the rounding of whole microseconds per quarter note). *In-key rate*: the share of
melodic notes whose pitch class is in the requested key's scale, beside the same rate of the real
held-out pieces in their own keys: the target is a band around the real rate, not 1.0 (real Bach
chromaticism puts it near 0.93), unless the takes were asked for with ``--strict-key``. *Key agreement*:
the share of takes whose key, found by the style's key-finding profile, is the requested one, beside
the same share of real pieces against their labels (the ceiling a key finder allows).
"""
from __future__ import annotations

import io

import mido
import numpy as np

from ..midi.files import TICKS_PER_STEP, read_midi
from ..music.keys import analyse_key, scale_pitch_classes
from ..music.piece import PITCH, Piece, bar_starts_steps
from . import bootstrap
from .features import melodic_notes
from .generate import Sample

TEMPO_TOLERANCE_BPM = 0.01
IN_KEY_BAND = 0.05  # the in-key rate should lie within this of the real pieces' rate


def _conductor_events(midi: bytes) -> tuple[list[tuple[int, float]], list[tuple[int, int, int]], list[int]]:
    """(tempo events, time-signature events, end tick of each track) as absolute ticks."""
    f = mido.MidiFile(file=io.BytesIO(midi))
    tempos, meters, ends = [], [], []
    for track in f.tracks:
        now = 0
        for message in track:
            now += message.time
            if message.type == "set_tempo":
                tempos.append((now, mido.tempo2bpm(message.tempo)))
            elif message.type == "time_signature":
                meters.append((now, message.numerator, message.denominator))
        ends.append(now)
    return tempos, meters, ends


def check_sample(sample: Sample) -> dict[str, bool]:
    """Whether the written take has exactly the requested bars, tempo and meter."""
    piece, _ = read_midi("take.mid", data=sample.midi)
    tempos, meters, ends = _conductor_events(sample.midi)
    end_tick = int(bar_starts_steps(((0, *sample.meter),), sample.bars)[-1]) * TICKS_PER_STEP
    return {
        "bars": bool(ends) and all(e == end_tick for e in ends) and piece.n_bars <= sample.bars,
        "tempo": bool(tempos) and all(abs(bpm - sample.tempo_bpm) <= TEMPO_TOLERANCE_BPM for _, bpm in tempos),
        "meter": bool(meters) and all((n, d) == tuple(sample.meter) for _, n, d in meters),
    }


def in_key_counts(piece: Piece, key: int | None) -> tuple[int, int]:
    """(melodic notes in the key's scale, melodic notes)."""
    notes = melodic_notes(piece)
    if key is None or len(notes) == 0:
        return 0, 0
    scale = np.array(sorted(scale_pitch_classes(key)))
    return int(np.isin(notes[:, PITCH] % 12, scale).sum()), len(notes)


def _in_key(pieces: list[Piece], keys: list[int | None], rng) -> bootstrap.Estimate | None:
    counts = np.array([in_key_counts(p, k) for p, k in zip(pieces, keys)], dtype=np.float64).reshape(-1, 2)
    counts = counts[counts[:, 1] > 0]
    return bootstrap.ratio_of_sums(counts[:, 0], counts[:, 1], rng)


def _agreement(pieces: list[Piece], keys: list[int | None], profile: str, rng) -> bootstrap.Estimate | None:
    hits = [analyse_key(p, profile) == k for p, k in zip(pieces, keys) if k is not None]
    return bootstrap.mean(np.asarray(hits, dtype=np.float64), rng)


def compliance(samples: list[Sample], real: list[Piece], real_keys: list[int | None], profile: str,
               rng: np.random.Generator, strict_key: bool = False) -> dict:
    checks = [check_sample(s) for s in samples]
    exact = {name: bootstrap.mean(np.array([c[name] for c in checks], dtype=np.float64), rng) for name in ("bars", "tempo", "meter")}
    pieces, keys = [s.piece for s in samples], [s.key for s in samples]
    in_key, in_key_real = _in_key(pieces, keys, rng), _in_key(real, real_keys, rng)
    if strict_key:
        band = (1.0, 1.0)
    elif in_key_real is not None:
        band = (max(0.0, in_key_real.value - IN_KEY_BAND), min(1.0, in_key_real.value + IN_KEY_BAND))
    else:
        band = None
    return {
        "samples": len(samples),
        "exact": exact,
        "in_key_rate": in_key,
        "in_key_rate_real": in_key_real,
        "in_key_band": band,
        "in_key_in_band": None if band is None or in_key is None else bool(band[0] <= in_key.value <= band[1]),
        "key_profile": profile,
        "key_agreement": _agreement(pieces, keys, profile, rng),
        "key_agreement_real": _agreement(real, real_keys, profile, rng),
    }
