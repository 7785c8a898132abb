"""Files a DAW opens are read, nothing lost (issue 17, item 4): data bytes above 127 clamped and counted,
bars of up to 16 quarter notes, ABC books one piece per tune, repeats music21 cannot expand played once."""
from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from midigen.corpus.reader import LoadedPiece, Skipped, abc_tunes, load_piece, load_pieces, reading_notes
from midigen.errors import MidigenError
from midigen.midi.files import clamp_data_bytes, read_midi
from midigen.music.grid import METERS, split_bar
from midigen.music.piece import DURATION, PITCH, START, VELOCITY
from midigen.tokens.tokenizer import decode, encode


def _midi(messages, *, time_signature=None, changes=()) -> bytes:
    """A type-1 file at 480 ticks per quarter: a conductor track (meter at 0, then ``changes`` as
    (tick, numerator, denominator)) and one track of ``messages``."""
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor, now = mido.MidiTrack(), 0
    for tick, num, den in ([(0, *time_signature)] if time_signature else []) + list(changes):
        conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=tick - now))
        now = tick
    midi.tracks += [conductor, mido.MidiTrack(messages)]
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def _quarters(pitches, velocity=80):
    out = []
    for pitch in pitches:
        out += [mido.Message("note_on", note=pitch, velocity=velocity), mido.Message("note_off", note=pitch, time=480)]
    return out


def _poke(data: bytes, pattern: bytes, offset: int, value: int) -> bytes:
    """The file with the byte ``offset`` into the (only) occurrence of ``pattern`` set to ``value``."""
    assert data.count(pattern) == 1
    out = bytearray(data)
    out[data.index(pattern) + offset] = value
    return bytes(out)


# ---- (a) data bytes above 127 ---------------------------------------------------------------------------

def _hostile_velocities() -> bytes:
    messages = [mido.Message("control_change", control=7, value=100), mido.Message("pitchwheel", pitch=0)]
    messages += _quarters([60, 62, 64, 65], velocity=90)
    data = _midi(messages)
    data = _poke(data, bytes([0x90, 60, 90]), 2, 204)  # "Get velocity=204"
    data = _poke(data, bytes([0xB0, 7, 100]), 2, 200)  # controller value 200
    return _poke(data, bytes([0xE0, 0, 64]), 2, 0xC0)  # pitch bend MSB 192


def test_data_bytes_above_127_are_clamped_and_counted(tmp_path):
    data = _hostile_velocities()
    with pytest.raises(OSError, match="data byte must be in range"):
        mido.MidiFile(file=io.BytesIO(data))  # what refused the file before: a strict parser
    fixed, clamped = clamp_data_bytes(data)
    assert clamped == 3
    assert [m.velocity for m in mido.MidiFile(file=io.BytesIO(fixed)).tracks[1] if m.type == "note_on"] == [127, 90, 90, 90]
    path = tmp_path / "hot.mid"
    path.write_bytes(data)
    piece, n_in = read_midi(path)
    assert n_in == 4 and piece.n_bars == 1
    assert piece.notes[:, PITCH].tolist() == [60, 62, 64, 65]
    assert piece.notes[:, START].tolist() == [0, 12, 24, 36] and (piece.notes[:, DURATION] == 12).all()
    assert piece.notes[:, VELOCITY].tolist() == [127, 87, 87, 87]  # 204 clamped to 127; 90 on the velocity grid
    assert piece.meta["clamped_data_bytes"] == 3
    (loaded,) = load_pieces(path)
    assert reading_notes(loaded.piece) == ["3 data bytes above 127 (velocities, controller values) clamped to 127"]


def test_clamping_follows_running_status_and_skips_meta_and_sysex():
    messages = [mido.MetaMessage("text", text="\xff\xcc"), mido.Message("sysex", data=[1, 2, 3])]
    messages += _quarters([60, 62])
    data = _midi(messages)
    # running status: mido writes note_off 0x80 .. then note_on 0x90; poke the second note's velocity
    data = _poke(data, bytes([0x90, 62, 80]), 2, 0x99)
    fixed, clamped = clamp_data_bytes(data)
    assert clamped == 1 and fixed.count(b"\xff\xcc") == data.count(b"\xff\xcc")  # meta text left alone
    assert clamp_data_bytes(_midi(_quarters([60])))[1] == 0


def test_a_clean_file_is_read_without_notes(tmp_path):
    piece, _ = read_midi("clean.mid", data=_midi(_quarters([60, 64, 67]), time_signature=(3, 4)))
    assert reading_notes(piece) == [] and piece.meters == ((0, 3, 4),)


def test_hostile_bytes_in_a_broken_file_are_still_one_line(tmp_path):
    data = _hostile_velocities()
    path = tmp_path / "cut.mid"
    path.write_bytes(data[: len(data) - 12])  # cut inside the last note
    with pytest.raises(MidigenError) as info:
        read_midi(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


# ---- (b) bars of up to 16 quarter notes -----------------------------------------------------------------

@pytest.mark.parametrize("meter, parts", [((10, 4), ((5, 4), (5, 4))), ((6, 2), ((3, 2), (3, 2))),
                                          ((9, 4), ((5, 4), (4, 4))), ((16, 4), ((8, 4), (8, 4))),
                                          ((17, 8), ((9, 8), (8, 8))), ((64, 16), ((16, 16),) * 4)])
def test_long_bars_split_into_meters_the_tokens_say(meter, parts):
    assert split_bar(*meter) == parts and all(p in METERS for p in parts)
    assert sum(n * 48 // d for n, d in parts) == meter[0] * 48 // meter[1]


def test_a_10_4_file_is_read_as_pairs_of_5_4_bars(tmp_path):
    pitches = [48 + i for i in range(20)]  # two full bars of 10/4, one note a quarter
    path = tmp_path / "ten.mid"
    path.write_bytes(_midi(_quarters(pitches), time_signature=(10, 4)))
    piece, n_in = read_midi(path)
    assert n_in == 20 and piece.n_bars == 4 and piece.meters == ((0, 5, 4),)
    assert piece.notes[:, START].tolist() == [12 * i for i in range(20)] and piece.notes[:, PITCH].tolist() == pitches
    assert piece.end_steps == 2 * 10 * 12  # the file's two bars, every step kept
    assert piece.meta["split_meters"] == {"10/4": "5/4 5/4"}
    assert decode(encode(piece)) == piece
    (loaded,) = load_pieces(path)
    assert reading_notes(loaded.piece) == ["10/4 bars read as 5/4 5/4 (the tokens' longest bar is 8 quarter notes)"]


def test_a_6_2_change_and_an_odd_9_4_bar(tmp_path):
    # bar 1 in 4/4, then two bars of 6/2 (12 quarters each), then one bar of 9/4
    pitches = [60 + i % 24 for i in range(4 + 24 + 9)]
    data = _midi(_quarters(pitches), time_signature=(4, 4), changes=[(4 * 480, 6, 2), (28 * 480, 9, 4)])
    piece, n_in = read_midi("six.mid", data=data)
    assert n_in == 37 and piece.notes[:, START].tolist() == [12 * i for i in range(37)]
    assert piece.meters == ((0, 4, 4), (1, 3, 2), (5, 5, 4), (6, 4, 4))
    assert piece.n_bars == 7 and piece.end_steps == 37 * 12
    assert piece.meta["split_meters"] == {"6/2": "3/2 3/2", "9/4": "5/4 4/4"}
    assert decode(encode(piece)) == piece


@pytest.mark.parametrize("numerator, denominator, problem", [
    (9, 2, "a bar of 18 quarter notes"), (33, 8, "a bar of 16.5 quarter notes"), (3, 0, ""), (0, 4, ""),
])
def test_meters_beyond_16_quarters_name_the_limit(numerator, denominator, problem):
    note = b"\x00\x90\x3c\x40\x81\x70\x80\x3c\x00"
    meter = b"\x00\xff\x58\x04" + bytes([numerator, max(denominator, 1).bit_length() - 1 if denominator else 255, 24, 8])
    data = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x01\xe0"
    body = meter + note + b"\x00\xff\x2f\x00"
    data += b"MTrk" + len(body).to_bytes(4, "big") + body
    with pytest.raises(MidigenError) as info:
        read_midi("m.mid", data=data)
    message = str(info.value)
    assert message.startswith(f"m.mid: unsupported time signature {numerator}/") and problem in message
    assert "bars of at most 16 quarter notes" in message and "\n" not in message


def test_a_score_in_6_2_is_read_through_music21(tmp_path):
    abc = "X:1\nT:long bars\nM:6/2\nL:1/4\nK:C\nC D E F G A B c d e f g | g f e d c B A G F E D C |]\n"
    (tmp_path / "long.abc").write_text(abc)
    piece, n_in = load_piece(tmp_path / "long.abc")
    assert n_in == 24 and piece.n_bars == 4 and piece.meters == ((0, 3, 2),)
    assert piece.notes[:, START].tolist() == [12 * i for i in range(24)]
    assert piece.meta["split_meters"] == {"6/2": "3/2 3/2"}


# ---- (c) ABC books: one piece per tune ------------------------------------------------------------------

BOOK = """%abc-2.1
% a book of three tunes, as ABC collections are published
Z:the file header applies to every tune

X:1
T:First Tune
M:4/4
L:1/4
K:G
G A B c | d2 d2 | c B A G | G4 |]

X:2
T:Second Tune
M:3/4
L:1/4
K:D
|: D E F | A2 A | B A F | D3 :|

X:7
T:Only rests
M:2/4
L:1/4
K:C
z2 | z2 |]
"""


def test_an_abc_book_is_one_piece_per_tune(tmp_path):
    from music21 import converter, midi

    path = tmp_path / "book.abc"
    path.write_text(BOOK)
    with pytest.raises(Exception, match="cannot process repeats on Stream that does not contain measures"):
        midi.translate.streamToMidiFile(converter.parse(str(path)))  # how the whole book failed before
    assert [number for number, _ in abc_tunes(BOOK)] == ["1", "2", "7"]
    first, second, rests = load_pieces(path)
    assert isinstance(first, LoadedPiece) and first.name == f"{path}#1" and first.tune == "1"
    assert first.n_in == 11 and first.piece.n_bars == 4 and first.piece.meters == ((0, 4, 4),)
    assert first.piece.notes[:, PITCH].tolist() == [67, 69, 71, 72, 74, 74, 72, 71, 69, 67, 67]
    assert first.piece.key == 7  # G major, from K:G
    assert second.name == f"{path}#2" and second.piece.meters == ((0, 3, 4),) and second.piece.key == 2
    assert second.piece.n_bars == 8 and second.n_in == 18  # |: ... :| played twice
    assert second.piece.notes[:9, PITCH].tolist() == second.piece.notes[9:, PITCH].tolist() == [62, 64, 66, 69, 69, 71, 69, 66, 62]
    assert rests == Skipped(f"{path}#7", "no notes")
    piece, n_in = load_piece(path)  # the single-piece reader: the book's first tune
    assert n_in == 11 and piece == first.piece


def test_a_book_with_nothing_readable_is_one_error(tmp_path):
    path = tmp_path / "silent.abc"
    path.write_text("X:1\nM:2/4\nL:1/4\nK:C\nz2|]\n\nX:2\nM:2/4\nL:1/4\nK:C\nz2|]\n")
    with pytest.raises(MidigenError, match=r"silent\.abc: no tune could be read \(#1: no notes; #2: no notes\)$"):
        load_pieces(path)


def test_duplicate_tune_numbers_stay_apart():
    text = "X:3\nK:C\nC|]\nX:3\nK:C\nD|]\nX:\nK:C\nE|]\n"
    assert [number for number, _ in abc_tunes(text)] == ["3", "3.2", "3.3"]  # the third has no number: its place


# ---- (d) repeats music21 cannot expand ------------------------------------------------------------------

def _musicxml(measures: list[tuple[str, str | None]]) -> str:
    """One part, 4/4, a measure per (four note steps, left barline repeat direction or None)."""
    body = []
    for n, (steps, repeat) in enumerate(measures, start=1):
        attributes = ("<attributes><divisions>1</divisions><key><fifths>0</fifths></key><time><beats>4</beats>"
                      "<beat-type>4</beat-type></time></attributes>") if n == 1 else ""
        barline = f'<barline location="left"><repeat direction="{repeat}"/></barline>' if repeat else ""
        notes = "".join(f"<note><pitch><step>{s}</step><octave>4</octave></pitch><duration>1</duration>"
                        "<type>quarter</type></note>" for s in steps)
        body.append(f'<measure number="{n}">{attributes}{barline}{notes}</measure>')
    return ('<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
            '<score-part id="P1"><part-name>Flute</part-name></score-part></part-list>'
            f'<part id="P1">{"".join(body)}</part></score-partwise>')


def test_a_repeat_music21_cannot_expand_is_played_once_through(tmp_path):
    from music21 import converter, midi, repeat

    path = tmp_path / "odd.musicxml"
    path.write_text(_musicxml([("CDEF", None), ("GABC", "forward"), ("DEFG", None), ("AAAA", None)]))
    with pytest.raises(repeat.ExpanderException):  # a start repeat that nothing closes
        midi.translate.streamToMidiFile(converter.parse(str(path)))
    (loaded,) = load_pieces(path)
    piece = loaded.piece
    assert loaded.name == str(path) and loaded.n_in == 16 and piece.n_bars == 4
    assert piece.notes[:, PITCH].tolist() == [60, 62, 64, 65, 67, 69, 71, 60, 62, 64, 65, 67, 69, 69, 69, 69]
    assert piece.notes[:, START].tolist() == [12 * i for i in range(16)]
    assert piece.meta["repeats_expanded"] is False
    assert reading_notes(piece) == ["repeats not expanded (played once through)"]


def test_a_well_formed_repeat_is_still_expanded(tmp_path):
    path = tmp_path / "fine.musicxml"
    path.write_text(_musicxml([("CDEF", None), ("GABC", "forward"), ("DEFG", None)]).replace(
        '<measure number="3">', '<measure number="3"><barline location="right"><repeat direction="backward"/></barline>'))
    piece, n_in = load_piece(path)
    assert n_in == 20 and piece.n_bars == 5 and "repeats_expanded" not in piece.meta
    assert np.array_equal(piece.notes[4:12, PITCH], piece.notes[12:20, PITCH])


# ---- a folder for `midigen train DIR` / `corpus stats DIR` ---------------------------------------------

def _hostile_folder(folder):
    folder.mkdir()
    (folder / "hot.mid").write_bytes(_hostile_velocities())
    (folder / "ten.mid").write_bytes(_midi(_quarters([48 + i for i in range(20)]), time_signature=(10, 4)))
    (folder / "book.abc").write_text(BOOK)
    (folder / "odd.musicxml").write_text(_musicxml([("CDEF", None), ("GABC", "forward"), ("DEFG", None), ("AAAA", None)]))
    (folder / "nine-two.mid").write_bytes(_midi(_quarters([60] * 18), time_signature=(9, 2)))
    return folder


def test_a_folder_of_real_world_files_is_read_tune_by_tune(tmp_path):
    from midigen.corpus.dataset import build_dataset
    from midigen.corpus.stats import CorpusStats

    folder = _hostile_folder(tmp_path / "band")
    for run in range(2):  # the second run comes from the token cache and must say the same
        dataset = build_dataset(folder, cache_dir=tmp_path / "cache", workers=1)
        assert [r.path for r in dataset.records] == ["book.abc#1", "book.abc#2", "hot.mid", "odd.musicxml", "ten.mid"], run
        by_path = {r.path: r for r in dataset.records}
        assert by_path["book.abc#2"].tune == "2" and by_path["book.abc#2"].n_bars == 8 and by_path["book.abc#2"].meter == "3/4"
        assert by_path["ten.mid"].n_bars == 4 and by_path["ten.mid"].meter == "5/4" and by_path["hot.mid"].n_notes == 4
        assert {s.path: s.reason for s in dataset.skipped} == {
            f"{folder / 'book.abc'}#7": "no notes",
            str(folder / "nine-two.mid"): "unsupported time signature 9/2 (a bar of 18 quarter notes; a file's meter needs "
                                          "numerator 1 or more, denominator 1, 2, 4, 8 or 16, and bars of at most 16 quarter notes)"}
        stats = CorpusStats.of(dataset.records, dataset.skipped)
        assert {r["path"]: r["notes"] for r in stats.read_with_changes} == {
            "hot.mid": ["3 data bytes above 127 (velocities, controller values) clamped to 127"],
            "odd.musicxml": ["repeats not expanded (played once through)"],
            "ten.mid": ["10/4 bars read as 5/4 5/4 (the tokens' longest bar is 8 quarter notes)"]}
        lines = stats.summary_lines()
        assert "read with changes: 3" in lines and "skipped: 2" in lines
