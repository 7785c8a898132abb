"""Reading files: every bad input is one domain error naming the file; folders skip and say why."""
from __future__ import annotations

import struct

import mido
import numpy as np
import pytest

from midigen.corpus.reader import find_music_files, load_piece
from midigen.errors import MidigenError
from midigen.midi.files import midi_bytes, read_midi, to_midi_file
from midigen.music.piece import Piece, quantize


def _header(fmt=1, n_tracks=1, division=480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n_tracks, division)


@pytest.mark.parametrize("data, problem", [
    (b"", "empty file"),
    (b"hello world, not midi at all", "no MThd header"),
    (_header(division=0x8000 | 0x1E28), "SMPTE"),
    (_header(n_tracks=0), "no tracks"),
    (_header(n_tracks=65535), "65535 tracks"),
    (_header(division=0), "ticks per quarter note is 0"),
])
def test_bad_files_raise_one_line_naming_the_file(tmp_path, data, problem):
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    with pytest.raises(MidigenError, match=problem) as info:
        read_midi(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_truncated_and_noteless_files(tmp_path):
    good = midi_bytes(quantize(Piece(notes=np.array([[0, 12, 60, 80, 0], [12, 12, 62, 80, 0]]))))
    path = tmp_path / "cut.mid"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(MidigenError, match="cut.mid"):
        read_midi(path)
    silent = mido.MidiFile(type=1)
    silent.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track")]))
    silent.save(tmp_path / "silent.mid")
    with pytest.raises(MidigenError, match="no notes"):
        read_midi(tmp_path / "silent.mid")


def test_absurd_tick_values_are_refused(tmp_path):
    midi = to_midi_file(quantize(Piece(notes=np.array([[0, 12, 60, 80, 0]]))))
    midi.tracks[1].insert(2, mido.MetaMessage("text", text="far", time=2**27))
    midi.tracks[1].append(mido.Message("note_on", note=61, velocity=80, time=2**27))
    midi.tracks[1].append(mido.Message("note_off", note=61, velocity=0, time=10))
    midi.save(tmp_path / "far.mid")
    with pytest.raises(MidigenError, match="bars"):
        read_midi(tmp_path / "far.mid")


def test_unsupported_suffix_and_missing_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MidigenError, match="unsupported file type .txt"):
        load_piece(tmp_path / "notes.txt")
    with pytest.raises(MidigenError, match="no such file"):
        find_music_files(tmp_path / "nowhere")


def test_scores_are_read_through_music21(tmp_path):
    abc = "X:1\nT:test\nM:3/4\nL:1/8\nK:G\nG2 B2 d2 | g4 f2 | e2 d2 B2 | G6 |]\n"
    (tmp_path / "tune.abc").write_text(abc)
    piece, n_in = load_piece(tmp_path / "tune.abc")
    assert n_in == 9 and piece.n_bars == 4
    assert piece.meters[0][1:] == (3, 4)
    assert piece.key == 7  # G major, from the key signature music21 writes


def test_key_is_analysed_when_the_file_has_none(tmp_path):
    # a D minor arpeggio figure with a C#: no key signature event in the file
    notes = np.array([[i * 6, 6, p, 80, 0] for i, p in enumerate([62, 65, 69, 74, 73, 69, 65, 62, 57, 61, 62, 62])])
    path = tmp_path / "dminor.mid"
    path.write_bytes(midi_bytes(quantize(Piece(notes=notes))))
    assert read_midi(path)[0].key is None
    assert load_piece(path)[0].key == 12 + 2


def test_training_reads_a_band_with_its_drums_first(tmp_path):
    """Drums on the third track of the file: the piece training sees has them first, the rest in file order,
    every note on the part it belongs to."""
    from midigen.corpus.reader import load_pieces
    from midigen.music.piece import PITCH, TRACK

    from .midi_events import make_file

    path = make_file(tmp_path / "band.mid", [
        ("Guitar", 0, 29, [(0, 96, 52, 90), (96, 192, 55, 90)]),
        ("Bass", 1, 33, [(0, 192, 40, 90)]),
        ("Kit", 9, 0, [(0, 24, 36, 100), (48, 72, 38, 100), (96, 120, 36, 100)]),
    ])
    piece = load_pieces(path)[0].piece
    assert [t.is_drum for t in piece.tracks] == [True, False, False]
    assert [t.program for t in piece.tracks[1:]] == [29, 33]
    assert piece.meta["track_names"] == ["Kit", "Guitar", "Bass"]
    by_track = {t: sorted(piece.notes[piece.notes[:, TRACK] == t, PITCH].tolist()) for t in range(3)}
    assert by_track == {0: [36, 36, 38], 1: [52, 55], 2: [40]}
