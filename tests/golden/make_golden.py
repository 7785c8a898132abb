"""Write the golden MIDI files (hand-made, < 2 KB each) and, with --tokens, their expected tokens.

Run ``python tests/golden/make_golden.py --tokens`` only after checking a tokenizer change by ear and
eye: the .tokens.txt files are the reviewed expectation the tests hold the tokenizer to.
"""
from __future__ import annotations

import sys
from pathlib import Path

import mido

HERE = Path(__file__).parent
TPQ = 96


def _file(tracks: list[list[tuple[int, mido.Message | mido.MetaMessage]]]) -> mido.MidiFile:
    """Tracks of (absolute tick, message) into a type-1 file."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    for events in tracks:
        track, now = mido.MidiTrack(), 0
        for tick, msg in sorted(events, key=lambda e: e[0]):
            track.append(msg.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    return midi


def note(start_q: float, length_q: float, pitch: int, velocity: int = 80, channel: int = 0):
    on, off = round(start_q * TPQ), round((start_q + length_q) * TPQ)
    return [(on, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)),
            (off, mido.Message("note_off", note=pitch, velocity=0, channel=channel))]


def scale_in_c() -> mido.MidiFile:
    """One bar of 4/4 in C major at 120 bpm: quarter, two 8ths, a 16th run, a half note held to the end."""
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (0, mido.MetaMessage("key_signature", key="C")),
            (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)))]
    notes = note(0, 1, 60) + note(1, 0.5, 62) + note(1.5, 0.25, 64) + note(1.75, 0.25, 65) + note(2, 2, 67, 100)
    return _file([meta, [(0, mido.Message("program_change", program=73, channel=0))] + notes])


def triplets_tempo_meter_change() -> mido.MidiFile:
    """6/8 in E minor, triplet 8ths against a dotted quarter, then a bar of 9/8 with a tempo change."""
    meta = [(0, mido.MetaMessage("time_signature", numerator=6, denominator=8)),
            (0, mido.MetaMessage("key_signature", key="Em")),
            (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(92))),
            (3 * TPQ, mido.MetaMessage("time_signature", numerator=9, denominator=8)),
            (3 * TPQ + TPQ // 2, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(80)))]
    third = 1 / 3
    notes = (note(0, third, 64) + note(third, third, 66) + note(2 * third, third, 67)
             + note(1.5, 1.5, 71, 64) + note(3, 1.5, 72) + note(4.5, 3, 64, 96))
    return _file([meta, notes])


def band_with_drums() -> mido.MidiFile:
    """Bass, a piano chord with one note repeated on top of itself, and drums on channel 10."""
    meta = [(0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
            (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))]
    bass = [(0, mido.Message("program_change", program=33, channel=1))] + note(0, 2, 36, 90, 1) + note(2, 2, 43, 70, 1)
    piano = ([(0, mido.Message("program_change", program=0, channel=0))]
             + note(0, 4, 60, 60) + note(0, 4, 64, 60) + note(0, 4, 67, 60) + note(2, 1, 67, 60))
    drums = note(0, 0.25, 36, 110, 9) + note(1, 0.25, 38, 100, 9) + note(2, 0.25, 36, 110, 9) + note(3, 0.25, 38, 100, 9)
    return _file([meta, bass, piano, drums])


GOLDEN = {"scale_in_c": scale_in_c, "triplets_tempo_meter_change": triplets_tempo_meter_change,
          "band_with_drums": band_with_drums}


def main() -> None:
    for name, make in GOLDEN.items():
        path = HERE / f"{name}.mid"
        make().save(path)
        if "--tokens" in sys.argv:
            from midigen.corpus.reader import load_piece
            from midigen.tokens.tokenizer import encode, token_names

            piece, _ = load_piece(path)  # as training reads it: with its key and analysed chords
            (HERE / f"{name}.tokens.txt").write_text("\n".join(token_names(encode(piece))) + "\n")


if __name__ == "__main__":
    main()
