"""Helpers for the tests of commands that keep the user's MIDI: build files by hand, compare events."""
from __future__ import annotations

from collections import Counter

import mido


def make_file(path, parts, *, tpq=96, meta=(), type_=1):
    """A MIDI file: ``parts`` is a list of (name, channel, program, notes) with notes as
    (start tick, end tick, pitch, velocity); ``meta`` are (tick, MetaMessage) for the first track."""
    midi = mido.MidiFile(type=type_, ticks_per_beat=tpq)
    conductor = [(tick, msg) for tick, msg in meta]
    chunks = [] if type_ == 0 else [conductor]
    for name, channel, program, notes in parts:
        events = [(0, mido.MetaMessage("track_name", name=name)), (0, mido.Message("program_change", program=program, channel=channel))]
        for start, end, pitch, velocity in notes:
            events.append((start, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
            events.append((end, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
        chunks.append(events)
    if type_ == 0:
        chunks = [conductor + [e for chunk in chunks for e in chunk]]
    for events in chunks:
        track, now = mido.MidiTrack(), 0
        for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
            track.append(msg.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def events(path) -> list[Counter]:
    """Per track chunk, the multiset of (absolute tick, message) without end_of_track."""
    out = []
    for chunk in mido.MidiFile(str(path)).tracks:
        tick, found = 0, Counter()
        for msg in chunk:
            tick += msg.time
            if msg.type != "end_of_track":
                found[(tick, str(msg.copy(time=0)))] += 1
        out.append(found)
    return out


def notes(path) -> list[tuple[int, int, int, int, int, int]]:
    """(chunk, channel, start tick, end tick, pitch, velocity) of every note, note-ons paired with offs."""
    out = []
    for c, chunk in enumerate(mido.MidiFile(str(path)).tracks):
        tick, sounding = 0, {}
        for msg in chunk:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding[(msg.channel, msg.note)] = (tick, msg.velocity)
            elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in sounding:
                start, velocity = sounding.pop((msg.channel, msg.note))
                out.append((c, msg.channel, start, tick, msg.note, velocity))
    return sorted(out)
