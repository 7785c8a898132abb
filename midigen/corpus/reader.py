"""Find the music files in a folder and load each one as quantized Pieces.

MIDI files go through ``midi.files``; MusicXML, ABC and Humdrum **kern files go through music21 (slow:
~0.3 s a piece), which exports them to MIDI in memory first. An ABC book (several ``X:`` tunes in one
file) or a music21 opus gives one piece per tune, named ``file#N`` (N: the tune's ``X:`` number); a tune
that cannot be read is skipped with its reason and the others are kept.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import MidigenError, file_error
from ..midi.files import read_midi
from ..music.chords import analyse
from ..music.grid import MAX_BAR_QUARTERS
from ..music.keys import DEFAULT_KEY_PROFILE, decide_piece_key
from ..music.piece import Piece, drums_first

MIDI_SUFFIXES = frozenset({".mid", ".midi"})
SCORE_SUFFIXES = frozenset({".musicxml", ".mxl", ".xml", ".abc", ".krn"})
SUPPORTED_SUFFIXES = MIDI_SUFFIXES | SCORE_SUFFIXES


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True, eq=False)
class LoadedPiece:
    """One piece of a file: ``tune`` is "" for a whole file, else the tune's name inside it ("2" for X:2)."""

    path: str
    tune: str
    piece: Piece
    n_in: int  # notes in the file (or tune) before quantization

    @property
    def name(self) -> str:
        return f"{self.path}#{self.tune}" if self.tune else self.path


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


def abc_tunes(text: str) -> list[tuple[str, str]]:
    """(X: number, text) of each tune of an ABC file, each with the file's header (what comes before the
    first ``X:``); one ("", whole text) for a file of at most one tune. A number used twice gets ".2"."""
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    if len(starts) <= 1:
        return [("", text)]
    header, tunes, seen = text[: starts[0]], [], {}
    for start, stop in zip(starts, starts[1:] + [len(text)]):
        body = text[start:stop]
        number = re.match(r"X:[ \t]*(\S*)", body).group(1)[:20] or str(len(tunes) + 1)
        seen[number] = seen.get(number, 0) + 1
        tunes.append((number if seen[number] == 1 else f"{number}.{seen[number]}", header + body))
    return tunes


def _music21_scores(path: Path) -> list[tuple[str, Callable[[], object]]]:
    """(tune, its music21 score when called) of a score file: each tune of an ABC book (parsed one by
    one, so that a tune music21 cannot parse costs that tune only) or each score of an opus."""
    from music21 import converter, stream

    if path.suffix.lower() == ".abc":
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise file_error(path, f"cannot read: {e.strerror or e}") from e
        tunes = abc_tunes(text)
        if len(tunes) > 1:
            return [(number, lambda t=tune: converter.parseData(t, format="abc")) for number, tune in tunes]
    parsed = converter.parse(str(path))
    if isinstance(parsed, stream.Opus):
        return [(str(score.metadata.number) if score.metadata and score.metadata.number else str(i + 1),
                 lambda s=score: s) for i, score in enumerate(parsed.scores)]
    return [("", lambda: parsed)]


def score_to_midi_bytes(score) -> tuple[bytes, dict]:
    """(MIDI bytes, what was decided) for one music21 score, with bar lines on the grid as the corpus
    importers write them: a pickup padded to a full bar, meter changes kept, repeats played out where
    music21 can expand them and otherwise played once through (``{"repeats_expanded": False}``)."""
    from .music21_score import copy_repeated_time_signatures, pickup_padding_quarters, score_midi_bytes, shift_midi_bytes

    copy_repeated_time_signatures(score)
    padding_quarters = pickup_padding_quarters(score)
    data, repeats_expanded = score_midi_bytes(score, padding_quarters)
    if padding_quarters:
        data = shift_midi_bytes(data, padding_quarters)
    return data, {} if repeats_expanded else {"repeats_expanded": False}


def _read_score(path: Path) -> list[LoadedPiece | Skipped]:
    try:
        scores = _music21_scores(path)
    except MidigenError:
        raise
    except Exception as e:  # music21 raises many unrelated types for bad scores
        raise file_error(path, f"music21 cannot read it: {type(e).__name__}: {e}") from e
    out: list[LoadedPiece | Skipped] = []
    for tune, score in scores:
        name = Path(f"{path}#{tune}") if tune else path
        try:
            try:
                data, notes = score_to_midi_bytes(score())
            except Exception as e:  # music21, as above
                raise file_error(name, f"music21 cannot read it: {type(e).__name__}: {e}") from e
            piece, n_in = read_midi(name, data=data)
            out.append(LoadedPiece(str(path), tune, piece.replace(meta={**piece.meta, **notes}), n_in))
        except MidigenError as e:
            if not tune:
                raise
            out.append(Skipped(str(name), str(e).removeprefix(f"{name}: ")))
    return out


def load_pieces(path: str | Path, key_profile: str = DEFAULT_KEY_PROFILE) -> list[LoadedPiece | Skipped]:
    """The pieces of one file in file order, as training sees them (the key decided from signature and notes,
    the chords analysed, drum tracks first: ``piece.drums_first``): one for a MIDI file or a score, one per
    tune of an ABC book, a tune that cannot be read as ``Skipped``. MidigenError naming the file when none
    of it can be read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        piece, n_in = read_midi(path)
        loaded: list[LoadedPiece | Skipped] = [LoadedPiece(str(path), "", piece, n_in)]
    elif suffix in SCORE_SUFFIXES:
        loaded = _read_score(path)
    else:
        raise file_error(path, f"unsupported file type {suffix or '(none)'} (use .mid, .midi, .musicxml, .mxl, .xml, .abc or .krn)")
    out: list[LoadedPiece | Skipped] = []
    for item in loaded:
        if isinstance(item, LoadedPiece):
            piece = item.piece
            key, how = decide_piece_key(piece, piece.key, key_profile)
            piece = piece.replace(key=key, meta={**piece.meta, "key_decided": how, "key_signature": piece.key})
            item = LoadedPiece(item.path, item.tune, drums_first(piece.replace(chords=analyse(piece))), item.n_in)
        out.append(item)
    if not any(isinstance(item, LoadedPiece) for item in out):
        reasons = "; ".join(f"#{s.path.rpartition('#')[2]}: {s.reason}" for s in out[:3])
        raise file_error(path, f"no tune could be read ({reasons}{'; ...' if len(out) > 3 else ''})")
    return out


def load_piece(path: str | Path, key_profile: str = DEFAULT_KEY_PROFILE) -> tuple[Piece, int]:
    """(quantized piece, notes in the file) of a file's first piece (``load_pieces``): the whole file, or
    the first tune of an ABC book; MidigenError naming the file (and tune) if it cannot be read."""
    first = load_pieces(path, key_profile)[0]
    if isinstance(first, Skipped):
        raise MidigenError(f"{first.path}: {first.reason}")
    return first.piece, first.n_in


def reading_notes(piece: Piece) -> list[str]:
    """What reading changed or could not keep, one phrase each (empty when the file was read as it is)."""
    meta, notes = piece.meta, []
    if meta.get("clamped_data_bytes"):
        notes.append(f"{meta['clamped_data_bytes']} data bytes above 127 (velocities, controller values) clamped to 127")
    for meter, parts in meta.get("split_meters", {}).items():
        notes.append(f"{meter} bars read as {parts} (the tokens' longest bar is {MAX_BAR_QUARTERS} quarter notes)")
    if meta.get("repeats_expanded") is False:
        notes.append("repeats not expanded (played once through)")
    return notes
