"""Find the music files in a folder and load each one as a quantized Piece.

MIDI files go through ``midi_io``; MusicXML, ABC and Humdrum **kern files go through music21 (slow:
~0.3 s a piece), which exports them to MIDI in memory first.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MidigenError, file_error
from ..midi.files import read_midi
from ..music.chords import analyse
from ..music.keys import DEFAULT_KEY_PROFILE, analyse_key
from ..music.piece import Piece

MIDI_SUFFIXES = frozenset({".mid", ".midi"})
SCORE_SUFFIXES = frozenset({".musicxml", ".mxl", ".xml", ".abc", ".krn"})
SUPPORTED_SUFFIXES = MIDI_SUFFIXES | SCORE_SUFFIXES


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def find_music_files(root: str | Path) -> list[Path]:
    """Supported files under ``root`` (or ``root`` itself), sorted, hidden folders skipped."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise MidigenError(f"{root}: no such file or folder")
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in SUPPORTED_SUFFIXES]
    return sorted(found)


def score_to_midi_bytes(path: Path) -> bytes:
    """Export a MusicXML/ABC/kern score to MIDI bytes through music21."""
    from music21 import converter, midi

    try:
        score = converter.parse(str(path))
        midi_file = midi.translate.streamToMidiFile(score)
        buffer = io.BytesIO()
        buffer.write(midi_file.writestr())
        return buffer.getvalue()
    except Exception as e:  # music21 raises many unrelated types for bad scores
        raise file_error(path, f"music21 cannot read it: {type(e).__name__}: {e}") from e


def load_piece(path: str | Path, key_profile: str = DEFAULT_KEY_PROFILE) -> tuple[Piece, int]:
    """(quantized piece, notes in the file), as training sees it: the key analysed where the file states
    none, and the chords analysed (``chords.analyse``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        piece, n_in = read_midi(path)
    elif suffix in SCORE_SUFFIXES:
        piece, n_in = read_midi(path, data=score_to_midi_bytes(path))
    else:
        raise file_error(path, f"unsupported file type {suffix or '(none)'} (use .mid, .midi, .musicxml, .mxl, .xml, .abc or .krn)")
    if piece.key is None:
        piece = piece.replace(key=analyse_key(piece, key_profile))
    return piece.replace(chords=analyse(piece)), n_in
