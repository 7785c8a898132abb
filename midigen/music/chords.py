"""Chord analysis of a piece, the beats it is measured on, and block chords that sound a progression.

``analyse`` is template matching in the manner of Pardo & Birmingham (2002): each window's pitch-class
profile (how long each pitch class sounds in it, in steps x notes) plus extra weight for the bass (the
lowest sounding pitch class) and for notes attacked on the window's first step, scored against every
chord of ``chord_symbols.QUALITIES`` at every root as (weight of chord tones) - (weight of other tones)
- (a penalty per chord tone that does not sound) - (a small prior against sevenths, diminished,
augmented and suspended chords, so that a sparse window picks the plain triad), with a bonus when the
root is the bass. Each bar is then read as one chord, one per half bar (when its beats split evenly) or
one per beat, whichever scores best after a penalty per chord change: a folk tune gets a chord a bar or
half bar, a chorale one a beat. Every term is proportional to the window's length (and, for the
penalties, to the piece's mean number of sounding notes) so the choice does not depend on the note
values a piece happens to be written in or on its texture. Scores are exact (integers and quarters),
so ties are real ties; they go to the coarser reading, then to the root nearest above the bass, then
to the earlier quality in the table, which keeps the analysis transposition-equivariant.
"""
from __future__ import annotations

import numpy as np

from .chord_symbols import NO_CHORD, QUALITIES, chord_pitch_classes
from .grid import DURATIONS_STEPS, STEPS_PER_QUARTER, VELOCITY_LEVELS, nearest_index
from .piece import DURATION, PITCH, START, TRACK, Piece, bar_index_of, sort_notes

ANALYSIS_VERSION = 1  # in the token cache's key: bump it whenever a change here can change what analyse returns

# Weights, as fractions of the window's length x mean sounding notes (quarters keep the arithmetic exact).
ONSET_WEIGHT = 0.25  # added per note attacked on the window's first step
BASS_WEIGHT = 0.25  # added to the lowest sounding pitch class
ROOT_IS_BASS_BONUS = 0.125
MISSING_TONE_PENALTY = 0.25  # per chord tone that does not sound in the window
QUALITY_PRIOR = {"": 0.0, "m": 0.0, "7": -0.25, "maj7": -0.25, "m7": -0.25, "dim": -0.375, "m7b5": -0.5,
                 "dim7": -0.5, "aug": -0.375, "sus4": -0.375}
CHANGE_PENALTY_BEATS = 0.5  # per chord change inside a bar, in beats x mean sounding notes

_N_QUALITIES = len(QUALITIES)
_TONES = np.zeros((12, 12 * _N_QUALITIES))  # [pitch class, chord value]: 1 for a chord tone
for _value in range(12 * _N_QUALITIES):
    _TONES[list(chord_pitch_classes(_value)), _value] = 1.0
_MATCH = 2.0 * _TONES - 1.0  # +1 chord tone, -1 other tone
_IS_ROOT = np.repeat(np.eye(12), _N_QUALITIES, axis=1)  # [pitch class, chord value]: 1 for the root
_PRIOR = np.array([QUALITY_PRIOR[suffix] for suffix, _ in QUALITIES] * 12)
# Rows: weights (matched +1/-1), missing-tone penalties, root-is-bass bonus, window scale (times the prior).
_SCORING = np.vstack([_MATCH, _TONES, _IS_ROOT, _PRIOR])


def beat_steps_of_meter(numerator: int, denominator: int) -> int:
    """A beat is the denominator's note value; in compound meters (6/8, 9/8, 12/8, 6/16 ...) its dotted value."""
    unit = 4 * STEPS_PER_QUARTER // denominator
    return 3 * unit if denominator >= 8 and numerator % 3 == 0 and numerator > 3 else unit


def _bars_and_beats(piece: Piece, n_bars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bar starts (n_bars + 1,), beat starts (n_beats + 1,), bar of each beat (n_beats,))."""
    bar_starts = piece.bar_starts_steps(n_bars)
    beat_len = np.empty(n_bars, dtype=np.int64)
    for (bar, num, den), (next_bar, _, _) in zip(piece.meters, list(piece.meters[1:]) + [(n_bars, 0, 1)]):
        beat_len[bar:next_bar] = beat_steps_of_meter(num, den)
    per_bar = np.diff(bar_starts) // beat_len
    beat_bar = np.repeat(np.arange(n_bars), per_bar)
    index_in_bar = np.arange(len(beat_bar)) - np.repeat(np.cumsum(per_bar) - per_bar, per_bar)
    beat_starts = bar_starts[beat_bar] + index_in_bar * beat_len[beat_bar]
    return bar_starts, np.append(beat_starts, bar_starts[-1]), beat_bar


def _melodic(piece: Piece) -> np.ndarray:
    """The notes of the piece's non-drum tracks: drums have no pitch classes."""
    drums = [i for i, t in enumerate(piece.tracks) if t.is_drum]
    notes = np.asarray(piece.notes, dtype=np.int64).reshape(-1, 5)
    return notes[~np.isin(notes[:, TRACK], drums)]


def _n_bars(piece: Piece, notes: np.ndarray) -> int:
    last = int((notes[:, START] + np.maximum(notes[:, DURATION], 1)).max()) - 1 if len(notes) else 0
    return max(int(piece.n_bars), int(bar_index_of(last, piece.meters, 1)) + 1, 1)


def strong_beat_steps(piece: Piece) -> np.ndarray:
    """Sorted steps where a beat starts (see ``beat_steps_of_meter``), over the whole piece."""
    return _bars_and_beats(piece, _n_bars(piece, _melodic(piece)))[1][:-1]


def _beat_profiles(notes: np.ndarray, beat_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beat: (sounding steps per pitch class (n, 12), notes attacked on its first step per pitch class
    (n, 12), lowest sounding pitch (n,), 128 where silent)."""
    n_beats = len(beat_starts) - 1
    starts, ends = notes[:, START], notes[:, START] + np.maximum(notes[:, DURATION], 1)
    first = np.searchsorted(beat_starts, starts, side="right") - 1
    last = np.minimum(np.searchsorted(beat_starts, ends - 1, side="right") - 1, n_beats - 1)
    count = last - first + 1
    row = np.repeat(np.arange(len(notes)), count)
    beat = np.repeat(first, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    overlap = np.minimum(ends[row], beat_starts[beat + 1]) - np.maximum(starts[row], beat_starts[beat])
    pcs = notes[:, PITCH] % 12
    sounding = np.bincount(beat * 12 + pcs[row], overlap, minlength=12 * n_beats).reshape(n_beats, 12)
    on_beat = starts == beat_starts[first]
    onsets = np.bincount(first[on_beat] * 12 + pcs[on_beat], minlength=12 * n_beats).reshape(n_beats, 12)
    order = np.lexsort((notes[row, PITCH], beat))  # by beat, then pitch: each beat's first row is its bass
    first_of_beat = order[np.append(True, beat[order][1:] != beat[order][:-1])]
    lowest = np.full(n_beats, 128)
    lowest[beat[first_of_beat]] = notes[row[first_of_beat], PITCH]
    return sounding.astype(np.float64), onsets.astype(np.float64), lowest


def _best_chords(sounding, onsets, bass_steps, lowest, length_steps, voices) -> tuple[np.ndarray, np.ndarray]:
    """(chord value, score) of each window; chord -1 and score 0 for a silent window.

    ``bass_steps`` (n, 12) is how long each pitch class is the lowest sounding one in the window (summed
    beat by beat, so that one low note does not speak for a whole bar). Every pitch-class row is first
    turned so that column k is k semitones above the lowest note: one matrix product then scores every
    chord with roots counted up from the bass, and the first maximum breaks ties the same way in
    every transposition.
    """
    scale = (length_steps * voices)[:, None]
    turn = (lowest[:, None] + np.arange(12)) % 12
    weights = sounding + ONSET_WEIGHT * length_steps[:, None] * onsets + BASS_WEIGHT * voices * bass_steps
    features = np.hstack([weights, -MISSING_TONE_PENALTY * scale * (sounding == 0), ROOT_IS_BASS_BONUS * voices * bass_steps])
    features = np.take_along_axis(features.reshape(-1, 3, 12), turn[:, None, :], axis=2).reshape(-1, 36)
    scores = np.einsum("wf,fc->wc", np.hstack([features, scale]), _SCORING)  # not @: BLAS threads cost more here
    best = scores.argmax(axis=1)
    chords = ((best // _N_QUALITIES + lowest) % 12) * _N_QUALITIES + best % _N_QUALITIES
    silent = lowest == 128
    return np.where(silent, -1, chords), np.where(silent, 0.0, scores[np.arange(len(best)), best])


def analyse(piece: Piece) -> tuple[tuple[int, int], ...]:
    """Chord changes (step, chord value) of the melodic notes, the first at step 0 (method: module doc).

    A bar with no sounding note is NO_CHORD; a silent window inside a bar keeps the chord before it.
    """
    notes = _melodic(piece)
    if len(notes) == 0:
        return ((0, NO_CHORD),)
    n_bars = _n_bars(piece, notes)
    bar_starts, beat_starts, beat_bar = _bars_and_beats(piece, n_bars)
    sounding, onsets, lowest = _beat_profiles(notes, beat_starts)
    # Mean number of notes sounding together (over beats with any sound), to the quarter: exact arithmetic.
    heard_steps = (lowest < 128) @ np.diff(beat_starts)
    voices = max(1.0, round(4 * sounding.sum() / heard_steps) / 4)
    prefix = np.vstack([np.zeros(12), np.cumsum(sounding, axis=0)])
    heard_beats = np.flatnonzero(lowest < 128)
    bass_beats = np.zeros_like(sounding)
    bass_beats[heard_beats, lowest[heard_beats] % 12] = np.diff(beat_starts)[heard_beats]
    bass_prefix = np.vstack([np.zeros(12), np.cumsum(bass_beats, axis=0)])

    beats_per_bar = np.bincount(beat_bar, minlength=n_bars)
    bar_first = np.cumsum(beats_per_bar) - beats_per_bar
    halves = (beats_per_bar % 2 == 0) & (beats_per_bar >= 2)
    readings = {  # first beat of every window of each reading, and the bars where the reading applies
        "bar": (bar_first, np.ones(n_bars, bool)),
        "half": (np.sort(np.concatenate([bar_first, (bar_first + beats_per_bar // 2)[halves]])), halves),
        "beat": (np.arange(len(beat_bar)), np.ones(n_bars, bool)),
    }
    totals, choices = [], []
    for first, applies in readings.values():
        end = np.append(first[1:], len(beat_bar))
        chords, scores = _best_chords(prefix[end] - prefix[first], onsets[first], bass_prefix[end] - bass_prefix[first],
                                      np.minimum.reduceat(lowest, first), beat_starts[end] - beat_starts[first], voices)
        bar = beat_bar[first]
        heard = chords >= 0
        c, b = chords[heard], bar[heard]
        changed = (c[1:] != c[:-1]) & (b[1:] == b[:-1])
        change_cost = CHANGE_PENALTY_BEATS * voices * np.diff(beat_starts)[first[heard][1:]]
        bar_total = np.bincount(bar, scores, n_bars) - np.bincount(b[1:][changed], change_cost[changed], n_bars)
        totals.append(np.where(applies, bar_total, -np.inf))
        choices.append((beat_starts[first], chords, bar))
    chosen = np.argmax(np.stack(totals), axis=0)  # first maximum: the coarser reading wins ties
    steps = np.concatenate([s[chosen[b] == k] for k, (s, _, b) in enumerate(choices)])
    values = np.concatenate([c[chosen[b] == k] for k, (_, c, b) in enumerate(choices)])
    silent_bar = np.minimum.reduceat(lowest, bar_first) == 128
    values[np.isin(steps, bar_starts[:-1][silent_bar])] = NO_CHORD
    order = np.argsort(steps, kind="stable")
    steps, values = steps[order], values[order]
    steps, values = steps[values >= 0], values[values >= 0]  # silent windows keep the chord in force
    if len(steps) == 0 or steps[0] != 0:
        steps, values = np.append(0, steps), np.append(NO_CHORD, values)
    keep = np.append(True, values[1:] != values[:-1])
    return tuple(zip(steps[keep].tolist(), values[keep].tolist()))


def chords_at(changes, steps: np.ndarray) -> np.ndarray:
    """Chord value in force at each step (NO_CHORD before the first change)."""
    change_steps = np.array([s for s, _ in changes] or [0], dtype=np.int64)
    change_values = np.array([v for _, v in changes] or [NO_CHORD], dtype=np.int64)
    index = np.searchsorted(change_steps, steps, side="right") - 1
    return np.where(index >= 0, change_values[np.maximum(index, 0)], NO_CHORD)


def chord_tone_rate(piece: Piece, changes=None, tracks=None) -> tuple[int, int]:
    """(chord tones, notes) among the melodic notes attacked on a beat (of ``tracks`` if given), where a
    chord tone's pitch class is in the chord in force at its onset; notes under NO_CHORD are not counted.
    ``changes`` defaults to the piece's own chords."""
    notes = _melodic(piece)
    if tracks is not None:
        notes = notes[np.isin(notes[:, TRACK], list(tracks))]
    notes = notes[np.isin(notes[:, START], strong_beat_steps(piece))]
    chords = chords_at(piece.chords if changes is None else changes, notes[:, START])
    notes, chords = notes[chords != NO_CHORD], chords[chords != NO_CHORD]
    is_tone = _TONES[notes[:, PITCH] % 12, chords].astype(bool) if len(notes) else np.zeros(0, bool)
    return int(is_tone.sum()), len(notes)


def _movement(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Voice-leading distance of two chords of any sizes: how far each note is from the other chord."""
    return sum(min(abs(x - y) for y in b) for x in a) + sum(min(abs(x - y) for x in a) for y in b)


def _voicings(value: int, low: int) -> list[tuple[int, ...]]:
    """Close-position voicings of a chord, lowest note in [low, low + 12): root position first."""
    root = value // _N_QUALITIES
    intervals = QUALITIES[value % _N_QUALITIES][1]
    out = []
    for inversion in range(len(intervals)):
        pcs = [(root + i) % 12 for i in intervals[inversion:] + intervals[:inversion]]
        pitches = [low + (pcs[0] - low) % 12]
        for pc in pcs[1:]:
            pitches.append(pitches[-1] + (pc - pitches[-1]) % 12)
        out.append(tuple(pitches))
    return out


def _split_duration(length_steps: int) -> list[int]:
    """Table durations, longest first, that add up to ``length_steps`` (every 1..12 is in the table)."""
    table, parts = np.asarray(DURATIONS_STEPS), []
    while length_steps > 0:
        parts.append(int(table[np.searchsorted(table, length_steps, side="right") - 1]))
        length_steps -= parts[-1]
    return parts


def block_chord_notes(changes, end_steps: int, *, low: int = 48, velocity: int = 63, track: int = 0) -> np.ndarray:
    """(n, 5) notes (``piece.NOTE_COLUMNS``) sounding each chord as a close block from its change to the
    next (or ``end_steps``); NO_CHORD is silence. The first chord is in root position with its root in
    [low, low + 12) (C3..B3 by default); each later one takes the inversion, lowest note in the same octave,
    that moves least from the chord before (``_movement``), for smooth voice leading. Long chords are restruck in table
    durations and the velocity snaps to a level, so ``quantize`` leaves every note as it is."""
    velocity = int(np.asarray(VELOCITY_LEVELS)[nearest_index(VELOCITY_LEVELS, np.array([velocity]))[0]])
    spans = [(int(s), int(e), int(v)) for (s, v), (e, _) in zip(changes, list(changes[1:]) + [(end_steps, 0)])]
    rows, previous = [], None
    for start, end, value in spans:
        if value == NO_CHORD or end <= start:
            continue
        options = _voicings(value, low)
        if previous is not None:
            options.sort(key=lambda v: _movement(v, previous))  # stable: root position first among equals
        previous = options[0]
        at = start
        for length in _split_duration(end - start):
            rows += [(at, length, pitch, velocity, track) for pitch in previous]
            at += length
    notes = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return sort_notes(notes)
