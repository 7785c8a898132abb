"""Keys: names, parsing, scales, key signatures, profile-based key finding, and deciding a piece's key.

A key is an int: ``tonic_pc`` for major keys (0..11) and ``12 + tonic_pc`` for minor keys, ``N_KEYS`` in
all. Tonics are spelled as every other note name is (``spelling``).

``decide_key`` says what a piece's key is from its key signature and its notes, and how it was decided
(``KEY_WAYS``): a signature gives only sharps or flats, so the notes choose between its major key and the
relative minor; where the notes fit some other key clearly better than both (``KEY_CONTRADICTION_MARGIN``),
the signature is taken for a sequencer's default and the notes decide; with no signature they decide alone.
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import MidigenError
from .piece import DURATION, PITCH, TRACK, Piece
from .spelling import KEY_ACCIDENTALS, PC_NAMES, alternation, pitch_class

MAJOR_TONICS = PC_NAMES
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
KEY_NAMES = tuple(f"{t} major" for t in MAJOR_TONICS) + tuple(f"{t} minor" for t in MINOR_TONICS)
N_KEYS = 24  # 12 major then 12 minor keys

_MODE_WORDS = {"": 0, "maj": 0, "major": 0, "m": 12, "min": 12, "minor": 12}
_KEY_RE = re.compile(rf"^\s*([A-Ga-g])({alternation(KEY_ACCIDENTALS)})?\s*({alternation(_MODE_WORDS)})?\s*$")

# Semitones above the tonic. Minor = natural minor plus the raised 6th and 7th (melodic/harmonic).
SCALE_DEGREES = {0: (0, 2, 4, 5, 7, 9, 11), 12: (0, 2, 3, 5, 7, 8, 9, 10, 11)}

# Key-finding profiles (major, minor), index 0 = tonic. Published weights: Krumhansl & Kessler (1982),
# Aarden (2003, from the Essen collection), Temperley (2007, Kostka-Payne corpus), Sapp's "simple".
PROFILES = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "aarden": (
        (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
         0.232998, 4.95122),
        (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
         7.37619, 1.75623),
    ),
    "temperley": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
    "simple": (
        (2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1),
        (2, 0, 1, 1, 0, 1, 0, 2, 1, 0, 0.5, 0.5),
    ),
}


def parse_key(text: str) -> int:
    """Parse "D minor", "Dm", "F# major", "Bb", "eb minor", "B-flat major" into a key int; MidigenError
    if not a key."""
    match = _KEY_RE.match(text or "")
    if not match:
        raise MidigenError(f"not a key: {text!r} (expected e.g. 'D minor', 'F# major', 'Bbm', 'B-flat major')")
    letter, accidental, mode = match.groups()
    return pitch_class(letter, accidental) + _MODE_WORDS[mode or ""]


def transpose_key(key: int, semitones: int) -> int:
    return (key % 12 + semitones) % 12 + (12 if key >= 12 else 0)


def scale_pitch_classes(key: int) -> frozenset[int]:
    """Pitch classes allowed by ``--strict-key`` in this key."""
    mode = 12 if key >= 12 else 0
    return frozenset((key % 12 + d) % 12 for d in SCALE_DEGREES[mode])


def key_from_signature(sharps: int, minor: bool) -> int:
    """Key from a key signature (negative = flats) and mode, as MIDI key-signature events give them."""
    major_pc = (7 * sharps) % 12
    return (major_pc + 9) % 12 + 12 if minor else major_pc


def signature_of_key(key: int) -> int:
    """Sharps (positive) or flats (negative) of the conventional key signature, -6..6."""
    major_pc = (key % 12 + 3) % 12 if key >= 12 else key % 12
    sharps = (7 * major_pc) % 12  # circle of fifths position, 0..11
    return sharps - 12 if sharps > 6 else sharps


def mido_key_name(key: int) -> str:
    """Key name as MIDI key-signature meta events spell it in mido ("Bb", "F#m")."""
    tonic = (MINOR_TONICS if key >= 12 else MAJOR_TONICS)[key % 12]
    return tonic + ("m" if key >= 12 else "")


def pitch_class_histogram(pitches: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(12,) histogram of pitch classes, weighted (e.g. by duration) when weights are given."""
    return np.bincount(np.asarray(pitches) % 12, weights=weights, minlength=12).astype(np.float64)


def _centred_profiles(profile: str) -> np.ndarray:
    """(N_KEYS, 12) the profile rotated to every key, each row centred and scaled to unit length."""
    rows = np.array([np.roll(np.asarray(weights, dtype=np.float64), pc) for weights in PROFILES[profile] for pc in range(12)])
    rows -= rows.mean(axis=1, keepdims=True)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


_PROFILE_ROWS = {name: _centred_profiles(name) for name in PROFILES}


def key_scores(histogram: np.ndarray, profile: str = "temperley") -> np.ndarray:
    """(N_KEYS,) correlation of a pitch-class histogram with the profile rotated to every key."""
    if profile not in PROFILES:
        raise MidigenError(f"unknown key profile {profile!r} (one of {', '.join(PROFILES)})")
    hist = np.asarray(histogram, dtype=np.float64)
    if hist.sum() <= 0 or np.allclose(hist, hist[0]):
        return np.full(N_KEYS, -np.inf)
    centred = hist - hist.mean()
    return _PROFILE_ROWS[profile] @ (centred / np.linalg.norm(centred))


def find_key(histogram: np.ndarray, profile: str = "temperley", candidates: tuple[int, ...] | None = None) -> int | None:
    """Best-correlating key (optionally among ``candidates``), or None for an empty histogram."""
    scores = key_scores(histogram, profile)
    if candidates is not None:
        mask = np.full(N_KEYS, -np.inf)
        mask[list(candidates)] = 0.0
        scores = scores + mask
    if not np.isfinite(scores).any():
        return None
    return int(np.argmax(scores))


DEFAULT_KEY_PROFILE = "temperley"


def pitched_histogram(piece: Piece) -> tuple[np.ndarray, int]:
    """(duration-weighted pitch-class histogram, number of notes) of a piece's pitched (non-drum) notes."""
    drums = np.array([t.is_drum for t in piece.tracks], dtype=bool)
    notes = piece.notes[~drums[piece.notes[:, TRACK]]] if len(piece.notes) else piece.notes
    return pitch_class_histogram(notes[:, PITCH], notes[:, DURATION]), len(notes)


def analyse_key(piece: Piece, profile: str = DEFAULT_KEY_PROFILE) -> int | None:
    """Key of a piece from its duration-weighted pitch classes (drum tracks left out)."""
    histogram, n_notes = pitched_histogram(piece)
    return find_key(histogram, profile) if n_notes else None


def relative_key(key: int) -> int:
    """The key of the other mode with the same signature: C major <-> A minor."""
    return (key + 9) % 12 + 12 if key < 12 else (key + 3) % 12


# How a piece's key was decided (``decide_key``); ``corpus stats`` counts pieces by these.
KEY_BY_SIGNATURE = "signature"
KEY_BY_SIGNATURE_MODE_FROM_NOTES = "signature, mode from notes"
KEY_BY_NOTES = "notes (no signature)"
KEY_SIGNATURE_CONTRADICTED = "notes (signature contradicted)"
KEY_UNDECIDED = "none (no signature, no key in the notes)"
KEY_WAYS = (KEY_BY_SIGNATURE, KEY_BY_SIGNATURE_MODE_FROM_NOTES, KEY_BY_NOTES, KEY_SIGNATURE_CONTRADICTED, KEY_UNDECIDED)

# A signature is contradicted when the best key's profile correlation beats the better of the signature's
# two keys (its major and relative minor) by more than this. Measured with the default (Temperley) profile
# (python -m bench.keys_bench) on music21's corpora, whose signatures are their editors': among the pieces
# that end in one of their signature's keys, 0.15 overrides at most 0.8 % of Bach's chorales, O'Neill's and
# Ryan's tunes and Essen's German songs (0.10: up to 1.2 %), and from C major written in place of their
# signature it finds their key again for 87-90 % of them (0.20: 78-85 %). (In an imported O'Neill corpus,
# where ``corpus import`` wrote a mixolydian tune in D as D major, 2.9 % are read as the key of their notes.)
KEY_CONTRADICTION_MARGIN = 0.15
# Fewer pitched notes than this never contradict a signature: a short riff or a fill on tuned drums can fit
# another key by chance, where a 16-note phrase (two bars of a tune) names its key.
MIN_NOTES_TO_CONTRADICT = 16


def decide_key(signature: int | None, histogram: np.ndarray, n_notes: int, profile: str = DEFAULT_KEY_PROFILE,
               margin: float = KEY_CONTRADICTION_MARGIN) -> tuple[int | None, str]:
    """(key, how it was decided, one of ``KEY_WAYS``) from the key a file's signature states (None: no
    signature) and the duration-weighted pitch-class histogram of its ``n_notes`` pitched notes.

    A signature that states a minor key is kept minor: sequencers write major unless told otherwise, so
    minor was someone's choice, and the notes alone take a minor piece for its relative major too often
    (14-20 % of the Bach chorales, O'Neill's and Ryan's tunes notated minor). One that states major gets its mode
    from the notes: the major key or its relative minor, whichever correlates better. Notes that name no
    key (none, or every pitch class alike) keep the signature (None without one)."""
    scores = key_scores(histogram, profile)
    if n_notes == 0 or not np.isfinite(scores).any():
        return signature, KEY_BY_SIGNATURE if signature is not None else KEY_UNDECIDED
    best = int(np.argmax(scores))
    if signature is None:
        return best, KEY_BY_NOTES
    fit = max(scores[signature], scores[relative_key(signature)])
    if n_notes >= MIN_NOTES_TO_CONTRADICT and scores[best] - fit > margin:
        return best, KEY_SIGNATURE_CONTRADICTED
    if signature >= 12 or scores[signature] >= scores[relative_key(signature)]:
        return signature, KEY_BY_SIGNATURE
    return relative_key(signature), KEY_BY_SIGNATURE_MODE_FROM_NOTES


def decide_piece_key(piece: Piece, signature: int | None, profile: str = DEFAULT_KEY_PROFILE) -> tuple[int | None, str]:
    """``decide_key`` on a piece's pitched notes (drum tracks left out)."""
    histogram, n_notes = pitched_histogram(piece)
    return decide_key(signature, histogram, n_notes, profile)
