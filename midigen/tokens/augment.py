"""Transposition augmentation on token ids: pitches of melodic tracks, the Key and the Chord roots move
together."""
from __future__ import annotations

import numpy as np

from ..music.chord_symbols import N_CHORDS, transpose_chord
from ..music.grid import DRUM_PROGRAM, MAX_PITCH
from ..music.keys import transpose_key
from .vocab import UNKNOWN_KEY, VOCAB, Vocab


def melodic_pitch_mask(ids: np.ndarray, vocab: Vocab = VOCAB) -> np.ndarray:
    """(T,) bool: Pitch tokens that belong to non-drum tracks (drum pitches name instruments)."""
    off, sizes = vocab.offsets, vocab.family_sizes
    ids = np.asarray(ids)
    is_pitch = (ids >= off["Pitch"]) & (ids < off["Pitch"] + sizes["Pitch"])
    programs = ids[(ids >= off["Program"]) & (ids < off["Program"] + sizes["Program"])] - off["Program"]
    drums = programs == DRUM_PROGRAM
    if not drums.any():
        return is_pitch
    is_track = (ids >= off["Track"]) & (ids < off["Track"] + sizes["Track"])
    restarts = (ids == off["Fill"]) | ((ids >= off["Hole"]) & (ids < off["Hole"] + sizes["Hole"]))
    # the current track at each token: the last Track token so far (track 0 before any, and again from
    # the start of an infill segment)
    last = np.maximum.accumulate(np.where(is_track | restarts, np.arange(len(ids)), -1))
    track = np.where((last >= 0) & ~restarts[np.maximum(last, 0)], ids[np.maximum(last, 0)] - off["Track"], 0)
    return is_pitch & ~drums[np.minimum(track, len(drums) - 1)]


def pitch_range(ids: np.ndarray, mask: np.ndarray, vocab: Vocab = VOCAB) -> tuple[int, int]:
    pitches = np.asarray(ids)[mask] - vocab.offsets["Pitch"]
    return (int(pitches.min()), int(pitches.max())) if len(pitches) else (60, 60)


def transpose_ids(ids: np.ndarray, semitones: int, mask: np.ndarray | None = None, vocab: Vocab = VOCAB) -> np.ndarray:
    """Ids moved by ``semitones``; ValueError if a pitch would leave 0..MAX_PITCH."""
    ids = np.asarray(ids).astype(np.int64)
    mask = melodic_pitch_mask(ids, vocab) if mask is None else mask
    low, high = pitch_range(ids, mask, vocab)
    if low + semitones < 0 or high + semitones > MAX_PITCH:
        raise ValueError(f"transposing by {semitones} leaves the MIDI pitch range")
    out = ids.copy()
    out[mask] += semitones
    key_off = vocab.offsets["Key"]
    is_key = (ids >= key_off) & (ids < key_off + UNKNOWN_KEY)
    out[is_key] = key_off + np.array([transpose_key(int(k - key_off), semitones) for k in ids[is_key]], dtype=np.int64)
    chord_off = vocab.offsets["Chord"]
    is_chord = (ids >= chord_off) & (ids < chord_off + N_CHORDS)
    out[is_chord] = chord_off + _CHORD_SHIFT[semitones % 12][ids[is_chord] - chord_off]
    return out


_CHORD_SHIFT = np.array([[transpose_chord(v, s) for v in range(N_CHORDS)] for s in range(12)], dtype=np.int64)


def transpositions(ids: np.ndarray, vocab: Vocab = VOCAB) -> list[int]:
    """The shifts in -6..+5 (all 12 keys) that keep every pitch inside 0..MAX_PITCH."""
    low, high = pitch_range(ids, melodic_pitch_mask(ids, vocab), vocab)
    return [s for s in range(-6, 6) if low + s >= 0 and high + s <= MAX_PITCH]


def all_transpositions(pieces: list[np.ndarray], transpose: bool = True, vocab: Vocab = VOCAB) -> list[np.ndarray]:
    """Each piece in every key ``transpositions`` allows (only as written when ``transpose`` is off).

    The data a baseline (the n-gram) is fitted on, so that it sees the keys the model was trained in and
    the comparison stays fair; training, the eval suite and bench/finetune_bench.py all take it from here.
    """
    out = []
    for ids in pieces:
        ids = np.asarray(ids, dtype=np.int64)
        mask = melodic_pitch_mask(ids, vocab)
        shifts = transpositions(ids, vocab) if transpose else [0]
        out += [transpose_ids(ids, s, mask, vocab) if s else ids.copy() for s in shifts]
    return out
